/*
 * audit_event.h - the audit event model and its emitter.
 *
 * Every audit event smbpolicy produces (smbrefd server side, the reference
 * client, Samba observations) has a stable numeric id, modelled on the
 * Windows SMBServer/SMBClient event ids where one exists, a stable
 * MESSAGE_ID (128-bit, for `journalctl MESSAGE_ID=`), a name, and a set of
 * string fields.  The table of kinds is data: schema/audit-events.xml lists
 * them; audit_event.c holds the same table for C (a unit test checks the two
 * agree).
 *
 * An AuditEvent is written by audit_emit() to the journal (sd_journal_send:
 * MESSAGE_ID=, MESSAGE=, PRIORITY=, SMBPOLICY_EVENT_ID=, SMBPOLICY_EVENT=,
 * SMBPOLICY_HOST=, SMBPOLICY_PEER=, SMBPOLICY_SOURCE=, and one
 * SMBPOLICY_<FIELD>= per field, upper-cased) and, when the emitter has a
 * JSON-lines file, as one line:
 *   {"time":"2026-11-26T07:30:00.123456Z","host":"h1","source":"smbrefd",
 *    "event_id":3021,"event":"client-no-encryption","peer":"127.0.0.1:40000",
 *    "fields":{"user":"alice","dialect":"3.1.1",...}}
 * Invariants: one event = one write(2) of one complete line (O_APPEND), so
 * concurrent writers and crashes never leave half a line; field names are
 * [a-z0-9_]+; emitting never blocks on the network and never fails the
 * caller's operation (errors are counted, not propagated).
 */
#pragma once

#include "util.h"

typedef enum AuditEventId {
	/* server side (SMBServer/Audit, Connectivity, Security) */
	AUDIT_SERVER_AUTH_FAILED = 551,           /* NTLM/SPNEGO authentication failed */
	AUDIT_SERVER_QUIC_CONNECTION = 1913,      /* QUIC connection: peer, cert */
	AUDIT_SERVER_QUIC_ACCESS_ALLOWED = 3007,
	AUDIT_SERVER_QUIC_ACCESS_DENIED = 3008,
	AUDIT_SERVER_QUIC_ACCESS_ERROR = 3009,
	AUDIT_SERVER_CLIENT_NO_ENCRYPTION = 3021,
	AUDIT_SERVER_CLIENT_NO_SIGNING = 3022,
	AUDIT_SERVER_GUEST_REFUSED = 3023,
	AUDIT_SERVER_RATE_LIMITED = 40001,        /* a failed auth was delayed */
	AUDIT_SERVER_DIALECT_REFUSED = 40002,     /* no common dialect in policy range */
	AUDIT_SERVER_SESSION = 40003,             /* session set up: its security properties */
	AUDIT_SERVER_ENCRYPTION_REFUSED = 40004,  /* unencrypted request refused */
	AUDIT_SERVER_SIGNING_REFUSED = 40005,     /* unsigned/badly signed request refused */
	/* client side (SMBClient/Audit, Connectivity, Security) */
	AUDIT_CLIENT_INSECURE_GUEST_REFUSED = 31017,
	AUDIT_CLIENT_INSECURE_GUEST_USED = 31018,
	AUDIT_CLIENT_SERVER_NO_ENCRYPTION = 31998,
	AUDIT_CLIENT_SERVER_NO_SIGNING = 31999,
	AUDIT_CLIENT_QUIC_CONNECTION = 30832,
	AUDIT_CLIENT_NTLM_BLOCKED = 40101,
	AUDIT_CLIENT_SETTING_REFUSED = 40102,     /* a client setting refused the server */
	/* observations from other targets */
	AUDIT_OBSERVED_SESSION_UNPROTECTED = 40201, /* e.g. smbstatus: session neither signs nor encrypts */
} AuditEventId;

typedef struct AuditKind {
	AuditEventId id;
	const char *name;       /* "client-no-encryption" */
	const char *message_id; /* 32 lower-case hex digits */
	int priority;           /* syslog priority */
	const char *summary;    /* human sentence */
} AuditKind;

const AuditKind *audit_kind_by_id(AuditEventId id);
const AuditKind *audit_kind_by_name(const char *name);
/* All kinds, for tables and tests. */
const AuditKind *audit_kinds(size_t *ret_n);

typedef struct AuditField {
	const char *name;
	const char *value;
} AuditField;

typedef struct AuditEmitter AuditEmitter;

/* host NULL: gethostname(); source: "smbrefd", "smbrefc", "samba", ...;
 * json_path NULL: journal only; use_journal false: JSON only (tests). */
int audit_emitter_new(const char *host, const char *source, const char *json_path,
		      bool use_journal, AuditEmitter **ret);
/* Reopen the JSON file (after log rotation / SIGHUP). */
int audit_emitter_reopen(AuditEmitter *e);
void audit_emitter_free(AuditEmitter *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditEmitter *, audit_emitter_free)

/* Emit one event; fields may be NULL/0.  Never fails the caller. */
void audit_emit(AuditEmitter *e, AuditEventId id, const char *peer,
		const AuditField *fields, size_t n_fields);
/* How many events could not be written (for status/health). */
unsigned long long audit_emitter_errors(const AuditEmitter *e);

/* --- Extensions used by the collector, reports and tests. --- */

#define AUDIT_FIELD_NAME_MAX 48
/* Longest JSON line readers accept; longer lines are skipped with a warning. */
#define AUDIT_LINE_MAX (64u * 1024u)

/* The kind whose MESSAGE_ID (32 lower-case hex) is message_id, or NULL. */
const AuditKind *audit_kind_by_message_id(const char *message_id);
/* Field names are [a-z0-9_]+, at most AUDIT_FIELD_NAME_MAX long, and not
 * one of the common names (time, host, source, peer, event, event_id). */
bool audit_field_name_valid(const char *name);
/* RFC 3339 UTC with microseconds ("2026-11-26T07:30:00.123456Z"); buf >= 40. */
const char *audit_format_time(unsigned long long usec, char *buf, size_t len);
/* The JSON line (with trailing '\n') audit_emit writes.  Returns the number
 * of fields dropped (invalid names, over the limit) or -ENOMEM. */
int audit_event_format_json(const char *time, const char *host, const char *source,
			    const AuditKind *k, const char *peer, const AuditField *fields,
			    size_t n_fields, char **ret, size_t *ret_len);
/* Parse audit_format_time()'s form (fraction optional, 'Z' or "+00:00"). */
int audit_parse_time(const char *s, unsigned long long *ret_usec);
