/*
 * audit_impact.h - impact preview: which clients and servers seen in the
 * audit data would break if SETTING=VALUE were rolled out, and (reused by
 * compliance) which events contradict a setting's value being in force.
 *
 * The knowledge is one table in impact.c: setting, value (or an ordered
 * comparison for dialects), the event kind and field test that shows a peer
 * relying on the old behaviour, and which side (client or server peer)
 * would break.  Values are checked against the catalog before use.
 *
 * Invariants: a setting without a rule is reported as "cannot be predicted"
 * (never as "nothing breaks"); results are deterministic (sorted).
 * Must never: guess from events the table does not name.
 */
#pragma once

#include <stdint.h>

#include "audit_tally.h"
#include "auditdb.h"
#include "catalog.h"

typedef enum AuditPeerRole {
	AUDIT_PEER_CLIENT, /* the peer is an SMB client of the host */
	AUDIT_PEER_SERVER, /* the peer is an SMB server the host used */
} AuditPeerRole;

const char *audit_peer_role_to_string(AuditPeerRole r);

/* One proposed change, checked against the catalog. */
typedef struct AuditChange {
	const CatalogSetting *setting;
	char *value;
} AuditChange;

/* Parse "SETTING=VALUE"; errors (unknown setting, invalid value) go to
 * diag and return -EINVAL. */
int audit_change_parse(const Catalog *c, const char *arg, AuditChange *ret, DiagList *diag);
void audit_change_clear(AuditChange *ch);
/* Does the table know how to predict this setting's impact? */
bool audit_impact_known(const char *setting_id);
/* Is this event kind evidence for any rule? (fast skip for scans) */
bool audit_impact_event_relevant(int event_id);

/* The reason when rec shows a peer that setting=value would break (and
 * its role), else NULL.  *ret_undecided (may be NULL) is set when rec is
 * of a kind that could show it but lacks the deciding field (e.g. a
 * session event without "auth" for client.ntlm.block). */
const char *audit_impact_match(const CatalogSetting *s, const char *value,
			       const AuditRecord *rec, AuditPeerRole *ret_role, bool *ret_undecided);

/* The rules that apply to one setting=value, found once (compliance
 * checks every event of a host against each of its settings). */
typedef struct AuditImpactRuleSet {
	unsigned char idx[8];
	size_t n;
	uint64_t kinds; /* bit i: the rules look at audit_kinds()[i] */
	int want;       /* the value's position in the setting's enum (-1: none) */
} AuditImpactRuleSet;
size_t audit_impact_rules_for(const CatalogSetting *s, const char *value, AuditImpactRuleSet *ret);
const char *audit_impact_match_set(const AuditImpactRuleSet *set, const CatalogSetting *s,
				   const char *value, const AuditRecord *rec);

typedef struct AuditImpactRow {
	size_t change;       /* index into the changes given */
	AuditPeerRole role;
	char *peer;          /* address without port */
	char *user;          /* the user the events name ("" when none) */
	char *host;          /* host that saw it (last) */
	char *why;
	unsigned long long count, last_usec;
} AuditImpactRow;

typedef struct AuditImpact {
	AuditImpactRow *rows; /* sorted by change, role, count desc, peer */
	size_t n_rows;
	unsigned long long events_scanned;
	unsigned long long *undecided; /* per change: events that could not tell */
} AuditImpact;

int audit_impact_run(AuditDb *db, const AuditChange *changes, size_t n_changes,
		     unsigned long long since_usec, AuditImpact *ret);
void audit_impact_clear(AuditImpact *im);

/* "10.0.0.1:445" -> "10.0.0.1", "[::1]:445" -> "::1", others unchanged. */
const char *audit_peer_address(const char *peer, char *buf, size_t len);
/* A record's field value, or NULL. */
const char *audit_record_field(const AuditRecord *r, const char *name);
