/*
 * auditdb.h - the audit DB (SQLite): audit events from every source, the
 * ingestion cursors that make re-ingesting a no-op, and the per-host actual
 * state the agent reported (for compliance).
 *
 * Invariants: WAL mode; the schema version is PRAGMA user_version and
 * auditdb_open() creates or migrates it in one transaction; an event is
 * stored at most once (unique key: a 64-bit hash of time, host, source,
 * event id, peer and fields), so the same line or journal entry ingested
 * twice adds nothing; an ingestion cursor is written in the same
 * transaction as the events it covers.
 *
 * Must never: hold a transaction across calls other than begin..commit, or
 * print: errors are returned (-EIO with auditdb_errmsg()).
 */
#pragma once

#include <stdint.h>

#include "audit_event.h"
#include "strbuf.h"

typedef struct AuditDb AuditDb;

/* One event as stored and as read back.  Strings are borrowed. */
typedef struct AuditRecord {
	unsigned long long time_usec;
	const char *host;
	const char *source;
	const char *peer;
	int event_id;
	const AuditField *fields;
	size_t n_fields;
	/* Optional: the fields as one JSON object text, stored as is instead
	 * of re-serialising fields (the ingest fast path; it must be the
	 * canonical form audit_emit writes, or dedup against other copies of
	 * the same event fails). */
	const char *fields_json;
	size_t fields_json_len;
} AuditRecord;

int auditdb_open(const char *path, AuditDb **ret);
void auditdb_close(AuditDb *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditDb *, auditdb_close)
const char *auditdb_errmsg(AuditDb *db);

/* Batching: one transaction around many auditdb_add() calls. */
int auditdb_begin(AuditDb *db);
int auditdb_commit(AuditDb *db);
void auditdb_rollback(AuditDb *db);

/* Store one event: 1 added, 0 already there, -errno. */
int auditdb_add(AuditDb *db, const AuditRecord *r);

/* Where ingestion of an origin ("journal:DIR", "jsonl:PATH") stopped. */
int auditdb_get_cursor(AuditDb *db, const char *origin, char **ret); /* -ENOENT */
int auditdb_set_cursor(AuditDb *db, const char *origin, const char *cursor);
/* Delete the cursors whose origin starts with prefix and whose value is not
 * keep (mark and sweep of observations that ended, e.g. Samba sessions). */
int auditdb_sweep_cursors(AuditDb *db, const char *prefix, const char *keep);

/* Delete events older than max_age_usec (0: no age limit), then the oldest
 * until the file holds at most max_bytes (0: no size limit).  Returns the
 * number of events deleted. */
int auditdb_retain(AuditDb *db, unsigned long long max_age_usec, unsigned long long max_bytes);

typedef struct AuditQuery {
	unsigned long long since_usec; /* 0: from the start */
	const char *host;              /* NULL: every host */
	int event_id;                  /* 0: every kind */
	size_t limit;                  /* 0: no limit */
	bool newest_first;
	bool any_order;                /* storage order (fastest full scans) */
} AuditQuery;

/* Calls fn for each matching event in time order (any order with
 * any_order); a negative return of fn
 * stops and is returned.  The record is valid only during the call. */
typedef int (*AuditRecordFn)(const AuditRecord *r, void *userdata);
int auditdb_foreach(AuditDb *db, const AuditQuery *q, AuditRecordFn fn, void *userdata);
int auditdb_count(AuditDb *db, uint64_t *ret);

/* Actual state, as the agent read it back: one row per host, setting and
 * plugin.  auditdb_set_actual_host replaces all rows of the host, in one
 * transaction (its own, unless the caller's is open). */
typedef struct AuditActual {
	const char *setting;
	const char *plugin;
	const char *actual;
	const char *desired;
	const char *status; /* the agent's setting status: ok, drift, failed, ... */
} AuditActual;
int auditdb_set_actual_host(AuditDb *db, const char *host, unsigned long long time_usec,
			    const AuditActual *rows, size_t n);
typedef int (*AuditActualFn)(const char *host, unsigned long long time_usec,
			     const AuditActual *row, void *userdata);
int auditdb_foreach_actual(AuditDb *db, AuditActualFn fn, void *userdata);

/* A JSON string literal: strings that need no escaping are copied at once,
 * the rest go through strbuf_json_string (lib/strbuf, the one escaper). */
void audit_json_string(StrBuf *b, const char *s);
/* Fields of a record as one JSON object (the stored form). */
void auditdb_fields_json(StrBuf *b, const AuditField *fields, size_t n);
