/*
 * auditdb.c - SQLite storage of audit events, ingestion cursors and the
 * agent's actual state.  See auditdb.h for the contract.
 *
 * Invariants: every statement is prepared once at open and reset after use;
 * schema changes happen only in auditdb_migrate(), in one transaction; the
 * indexes exist for the report queries (by time, by host, by kind).
 * Must never: build SQL from input text (only bound parameters).
 */
#include "auditdb.h"

#include <sqlite3.h>

#include "audit_event_parse.h"
#include "strbuf.h"

#define AUDITDB_VERSION 1
/* Up to this many fields per event are keyed and read back (audit_emit
 * writes at most 32). */
#define AUDITDB_FIELDS_MAX 64

/* Prepared statements, by role. */
enum {
	Q_ADD,
	Q_CURSOR_GET,
	Q_CURSOR_SET,
	Q_ACTUAL_DEL,
	Q_ACTUAL_ADD,
	Q_COUNT,
	_Q_MAX,
};

static const char *const auditdb_sql[_Q_MAX] = {
	[Q_ADD] = "INSERT OR IGNORE INTO events(time, host, source, event_id, peer, fields, ukey) "
		  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_CURSOR_GET] = "SELECT cursor FROM cursors WHERE origin = ?1",
	[Q_CURSOR_SET] = "INSERT INTO cursors(origin, cursor) VALUES (?1, ?2) "
			 "ON CONFLICT(origin) DO UPDATE SET cursor = excluded.cursor",
	[Q_ACTUAL_DEL] = "DELETE FROM actual WHERE host = ?1",
	[Q_ACTUAL_ADD] = "INSERT OR REPLACE INTO actual(host, time, setting, plugin, actual, desired, status) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_COUNT] = "SELECT count(*) FROM events",
};

static const char auditdb_schema[] =
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"      /* usec since the epoch, UTC */
	" host TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" event_id INTEGER NOT NULL,"
	" peer TEXT NOT NULL,"
	" fields TEXT NOT NULL,"       /* JSON object of strings */
	" ukey INTEGER NOT NULL);"
	/* Dedup and the reports' time ranges in one index; events arrive
	 * mostly in time order, so inserting into it is an append. */
	"CREATE UNIQUE INDEX events_time_key ON events(time, ukey);"
	"CREATE TABLE cursors (origin TEXT PRIMARY KEY, cursor TEXT NOT NULL);"
	"CREATE TABLE actual ("
	" host TEXT NOT NULL, time INTEGER NOT NULL, setting TEXT NOT NULL, plugin TEXT NOT NULL,"
	" actual TEXT NOT NULL, desired TEXT NOT NULL, status TEXT NOT NULL,"
	" PRIMARY KEY (host, setting, plugin));";

struct AuditDb {
	sqlite3 *db;
	sqlite3_stmt *stmt[_Q_MAX];
	StrBuf scratch;
};

const char *auditdb_errmsg(AuditDb *db) {
	return db && db->db ? sqlite3_errmsg(db->db) : "out of memory";
}

static int auditdb_exec(AuditDb *db, const char *sql) {
	return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int auditdb_migrate(AuditDb *db) {
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (version < 0)
		return -EIO;
	if (version > AUDITDB_VERSION)
		return -EPROTONOSUPPORT;
	if (version == AUDITDB_VERSION)
		return 0;
	if (auditdb_exec(db, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	_cleanup_free_ char *bump = strdup_printf("PRAGMA user_version = %d", AUDITDB_VERSION);
	if (!bump || auditdb_exec(db, auditdb_schema) < 0 || auditdb_exec(db, bump) < 0 ||
	    auditdb_exec(db, "COMMIT") < 0) {
		auditdb_exec(db, "ROLLBACK");
		return -EIO;
	}
	return 0;
}

int auditdb_open(const char *path, AuditDb **ret) {
	_cleanup_(auditdb_closep) AuditDb *db = calloc(1, sizeof *db);
	if (!db)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_busy_timeout(db->db, 10000);
	if (auditdb_exec(db, "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			     "PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 4096;"
			     "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA cache_size = -65536;") < 0)
		return -EIO;
	int r = auditdb_migrate(db);
	if (r < 0)
		return r;
	for (size_t i = 0; i < _Q_MAX; i++)
		if (sqlite3_prepare_v3(db->db, auditdb_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &db->stmt[i], NULL) != SQLITE_OK)
			return -EIO;
	*ret = TAKE_PTR(db);
	return 0;
}

void auditdb_close(AuditDb *db) {
	if (!db)
		return;
	for (size_t i = 0; i < _Q_MAX; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->db);
	strbuf_free(&db->scratch);
	free(db);
}

int auditdb_begin(AuditDb *db) { return auditdb_exec(db, "BEGIN IMMEDIATE"); }
int auditdb_commit(AuditDb *db) { return auditdb_exec(db, "COMMIT"); }
void auditdb_rollback(AuditDb *db) { (void)auditdb_exec(db, "ROLLBACK"); }

/* Run a prepared statement that returns no row; reset it. */
static int auditdb_step_done(AuditDb *db, sqlite3_stmt *st) {
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	(void)db;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Strings that need no escaping (printable ASCII but " and \) are copied
 * as they are: the common case, and the ingest hot path. */
void audit_json_string(StrBuf *b, const char *s) {
	const unsigned char *p = (const unsigned char *)s;
	while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	if (*p) {
		strbuf_json_string(b, s);
		return;
	}
	strbuf_append_len(b, "\"", 1);
	strbuf_append_len(b, s, (size_t)(p - (const unsigned char *)s));
	strbuf_append_len(b, "\"", 1);
}

void auditdb_fields_json(StrBuf *b, const AuditField *fields, size_t n) {
	strbuf_append_len(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_append_len(b, ",", 1);
		audit_json_string(b, fields[i].name);
		strbuf_append_len(b, ":", 1);
		audit_json_string(b, fields[i].value ? fields[i].value : "");
	}
	strbuf_append_len(b, "}", 1);
}

/* 64-bit multiply-xorshift hash, 8 bytes at a time (the unique key is
 * computed for every ingested event).  Changing it changes every stored
 * key: bump AUDITDB_VERSION then. */
static uint64_t key_mix(uint64_t h, uint64_t w) {
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t key_bytes(uint64_t h, const void *data, size_t n) {
	const unsigned char *p = data;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = key_mix(h, w);
	}
	uint64_t tail = 0x100; /* marks the length of the tail */
	for (size_t i = 0; i < n; i++)
		tail = (tail << 8) | p[i];
	return key_mix(h, tail);
}

/* The key covers the fields as a set (sorted by name), so the same event
 * read from the journal (whose field order is its own) and from the JSON
 * line gets the same key. */
static uint64_t auditdb_key(const AuditRecord *r) {
	uint64_t h = key_mix(0x2545f4914f6cdd1dULL, r->time_usec);
	h = key_mix(h, (uint64_t)r->event_id);
	h = key_bytes(h, r->host, strlen(r->host));
	h = key_bytes(h, r->source, strlen(r->source));
	h = key_bytes(h, r->peer, strlen(r->peer));
	size_t order[AUDITDB_FIELDS_MAX], n = 0;
	for (size_t i = 0; i < r->n_fields && n < AUDITDB_FIELDS_MAX; i++) {
		size_t k = n++;
		while (k > 0 && strcmp(r->fields[order[k - 1]].name, r->fields[i].name) > 0) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (size_t i = 0; i < n; i++) {
		const AuditField *f = &r->fields[order[i]];
		const char *v = f->value ? f->value : "";
		h = key_bytes(h, f->name, strlen(f->name) + 1);
		h = key_bytes(h, v, strlen(v) + 1);
	}
	return key_mix(h, n);
}

int auditdb_add(AuditDb *db, const AuditRecord *r) {
	sqlite3_stmt *st = db->stmt[Q_ADD];
	const char *fields = r->fields_json;
	size_t fields_len = r->fields_json_len;
	if (!fields) {
		db->scratch.len = 0;
		if (db->scratch.data)
			db->scratch.data[0] = 0;
		auditdb_fields_json(&db->scratch, r->fields, r->n_fields);
		if (db->scratch.failed)
			return -ENOMEM;
		fields = db->scratch.data;
		fields_len = db->scratch.len;
	}
	const char *host = r->host ? r->host : "", *source = r->source ? r->source : "";
	const char *peer = r->peer ? r->peer : "";
	AuditRecord k = *r;
	k.host = host, k.source = source, k.peer = peer;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->time_usec);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, r->event_id);
	sqlite3_bind_text(st, 5, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, fields, (int)fields_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)auditdb_key(&k));
	int r2 = auditdb_step_done(db, st);
	if (r2 < 0)
		return r2;
	return sqlite3_changes(db->db) > 0 ? 1 : 0;
}

int auditdb_get_cursor(AuditDb *db, const char *origin, char **ret) {
	sqlite3_stmt *st = db->stmt[Q_CURSOR_GET];
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), r = -ENOENT;
	if (rc == SQLITE_ROW) {
		*ret = strdup((const char *)sqlite3_column_text(st, 0));
		r = *ret ? 0 : -ENOMEM;
	} else if (rc != SQLITE_DONE)
		r = -EIO;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int auditdb_set_cursor(AuditDb *db, const char *origin, const char *cursor) {
	sqlite3_stmt *st = db->stmt[Q_CURSOR_SET];
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cursor, -1, SQLITE_STATIC);
	return auditdb_step_done(db, st);
}

int auditdb_sweep_cursors(AuditDb *db, const char *prefix, const char *keep) {
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db,
			       "DELETE FROM cursors WHERE substr(origin, 1, length(?1)) = ?1 "
			       "AND cursor != ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, keep, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db->db) : -EIO;
}

static int auditdb_int(AuditDb *db, const char *sql, long long *ret) {
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int auditdb_count(AuditDb *db, uint64_t *ret) {
	long long n;
	int r = auditdb_int(db, auditdb_sql[Q_COUNT], &n);
	if (r >= 0)
		*ret = (uint64_t)n;
	return r;
}

/* Bytes in use: pages minus free pages. */
static int auditdb_used_bytes(AuditDb *db, unsigned long long *ret) {
	long long pages, free_pages, page_size;
	if (auditdb_int(db, "PRAGMA page_count", &pages) < 0 ||
	    auditdb_int(db, "PRAGMA freelist_count", &free_pages) < 0 ||
	    auditdb_int(db, "PRAGMA page_size", &page_size) < 0)
		return -EIO;
	*ret = (unsigned long long)((pages - free_pages) * page_size);
	return 0;
}

static int auditdb_delete_before(AuditDb *db, const char *sql, long long arg) {
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, arg);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db->db) : -EIO;
}

int auditdb_retain(AuditDb *db, unsigned long long max_age_usec, unsigned long long max_bytes) {
	int deleted = 0, r;
	if (auditdb_begin(db) < 0)
		return -EIO;
	if (max_age_usec > 0) {
		r = auditdb_delete_before(db, "DELETE FROM events WHERE time < ?1",
					  (long long)(now_usec() - max_age_usec));
		if (r < 0)
			goto fail;
		deleted += r;
	}
	for (unsigned round = 0; max_bytes > 0 && round < 64; round++) {
		unsigned long long used;
		uint64_t n;
		if (auditdb_used_bytes(db, &used) < 0 || auditdb_count(db, &n) < 0) {
			r = -EIO;
			goto fail;
		}
		if (used <= max_bytes || n == 0)
			break;
		/* Delete the oldest share that should bring it under the limit,
		 * at least 1 %, then measure again. */
		unsigned long long drop = n - (unsigned long long)((double)n * max_bytes / used);
		drop = drop < n / 100 + 1 ? n / 100 + 1 : drop;
		r = auditdb_delete_before(db,
					  "DELETE FROM events WHERE id IN "
					  "(SELECT id FROM events ORDER BY time LIMIT ?1)",
					  (long long)drop);
		if (r < 0)
			goto fail;
		deleted += r;
	}
	if (auditdb_commit(db) < 0) {
		r = -EIO;
		goto fail;
	}
	(void)auditdb_exec(db, "PRAGMA incremental_vacuum");
	return deleted;
fail:
	auditdb_rollback(db);
	return r;
}


int auditdb_foreach(AuditDb *db, const AuditQuery *q, AuditRecordFn fn, void *userdata) {
	/* A whole-table scan in storage order reads the table once; going
	 * through the time index would look every row up by rowid. */
	bool scan = q->any_order && q->since_usec == 0;
	_cleanup_free_ char *sql = strdup_printf(
		"SELECT time, host, source, event_id, peer, fields FROM events%s "
		"WHERE time >= ?1 AND (?2 IS NULL OR host = ?2) AND (?3 = 0 OR event_id = ?3) "
		"%s%s%s LIMIT ?4",
		scan ? " NOT INDEXED" : "", q->any_order ? "" : "ORDER BY time ",
		q->any_order ? "" : q->newest_first ? "DESC, id DESC" : "ASC, id ASC", "");
	sqlite3_stmt *st;
	if (!sql)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->since_usec);
	if (q->host)
		sqlite3_bind_text(st, 2, q->host, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, q->event_id);
	sqlite3_bind_int64(st, 4, q->limit ? (sqlite3_int64)q->limit : -1);
	int r = 0, rc;
	_cleanup_free_ char *scratch = NULL;
	size_t scratch_len = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *fields_text = (const char *)sqlite3_column_text(st, 5);
		size_t len = (size_t)sqlite3_column_bytes(st, 5);
		AuditField fields[AUDITDB_FIELDS_MAX];
		size_t n = 0;
		if (len + 1 > scratch_len) {
			free(scratch);
			scratch_len = len + 1 > 4096 ? len + 1 : 4096;
			if (!(scratch = malloc(scratch_len))) {
				r = -ENOMEM;
				break;
			}
		}
		/* Stored by auditdb_add, so valid; a damaged row loses its fields,
		 * not the event. */
		if (fields_text &&
		    audit_fields_parse(fields_text, len, scratch, fields, AUDITDB_FIELDS_MAX, &n) < 0)
			n = 0;
		AuditRecord rec = {
			.time_usec = (unsigned long long)sqlite3_column_int64(st, 0),
			.host = (const char *)sqlite3_column_text(st, 1),
			.source = (const char *)sqlite3_column_text(st, 2),
			.event_id = sqlite3_column_int(st, 3),
			.peer = (const char *)sqlite3_column_text(st, 4),
			.fields = fields,
			.n_fields = n,
		};
		r = fn(&rec, userdata);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = -EIO;
	sqlite3_finalize(st);
	return r < 0 ? r : 0;
}

int auditdb_set_actual_host(AuditDb *db, const char *host, unsigned long long time_usec,
			    const AuditActual *rows, size_t n) {
	sqlite3_stmt *del = db->stmt[Q_ACTUAL_DEL], *add = db->stmt[Q_ACTUAL_ADD];
	/* Its own transaction unless the caller has one: the host's rows are
	 * replaced whole or not at all. */
	bool own = sqlite3_get_autocommit(db->db);
	if (own && auditdb_begin(db) < 0)
		return -EIO;
	sqlite3_bind_text(del, 1, host, -1, SQLITE_STATIC);
	int r = auditdb_step_done(db, del);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		sqlite3_bind_text(add, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(add, 2, (sqlite3_int64)time_usec);
		sqlite3_bind_text(add, 3, rows[i].setting, -1, SQLITE_STATIC);
		sqlite3_bind_text(add, 4, rows[i].plugin ? rows[i].plugin : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(add, 5, rows[i].actual ? rows[i].actual : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(add, 6, rows[i].desired ? rows[i].desired : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(add, 7, rows[i].status ? rows[i].status : "", -1, SQLITE_STATIC);
		r = auditdb_step_done(db, add);
	}
	if (own && r >= 0 && auditdb_commit(db) < 0)
		r = -EIO;
	if (own && r < 0)
		auditdb_rollback(db);
	return r;
}

int auditdb_foreach_actual(AuditDb *db, AuditActualFn fn, void *userdata) {
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db,
			       "SELECT host, time, setting, plugin, actual, desired, status FROM actual "
			       "ORDER BY host, setting, plugin",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int r = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		AuditActual a = {
			.setting = (const char *)sqlite3_column_text(st, 2),
			.plugin = (const char *)sqlite3_column_text(st, 3),
			.actual = (const char *)sqlite3_column_text(st, 4),
			.desired = (const char *)sqlite3_column_text(st, 5),
			.status = (const char *)sqlite3_column_text(st, 6),
		};
		r = fn((const char *)sqlite3_column_text(st, 0),
		       (unsigned long long)sqlite3_column_int64(st, 1), &a, userdata);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = -EIO;
	sqlite3_finalize(st);
	return r < 0 ? r : 0;
}
