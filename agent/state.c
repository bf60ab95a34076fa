/*
 * state.c - the agent's local SQLite state DB (runs, per-plugin and
 * per-setting results, managed files).
 *
 * Invariants: see state.h.  Every write is one transaction rolled back on
 * any error; statements are finalised on every path (_cleanup_).  Migrations
 * are a table of SQL scripts indexed by the version they produce.
 * Must never: build SQL from data (always bind parameters).
 */
#include "state.h"

#include <sqlite3.h>

struct AgentState {
	sqlite3 *db;
};

/* migrations[i] brings the schema from version i to i + 1. */
static const char *const migrations[] = {
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL, host TEXT NOT NULL, policy TEXT NOT NULL,"
	"  version TEXT NOT NULL, started_usec INTEGER NOT NULL,"
	"  finished_usec INTEGER NOT NULL, compliant INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL, failed INTEGER NOT NULL);"
	"CREATE TABLE plugin_results ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, plugin TEXT NOT NULL, status TEXT NOT NULL,"
	"  message TEXT NOT NULL, PRIMARY KEY (run_id, seq));"
	"CREATE TABLE setting_results ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, plugin TEXT NOT NULL, setting TEXT NOT NULL,"
	"  target TEXT NOT NULL, actual TEXT NOT NULL, desired TEXT NOT NULL, status TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, seq));"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, time_usec INTEGER NOT NULL,"
	"  event_id INTEGER NOT NULL, name TEXT NOT NULL, peer TEXT NOT NULL);"
	"CREATE TABLE event_fields ("
	"  event INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (event, seq));"
	"CREATE INDEX events_time ON events(time_usec);",
	"CREATE TABLE managed (path TEXT PRIMARY KEY, plugin TEXT NOT NULL);",
	/* Audit events moved to the audit DB (collector.c). */
	"DROP TABLE event_fields; DROP TABLE events;",
};

static void finalizep(sqlite3_stmt **st) { sqlite3_finalize(*st); }
#define _cleanup_stmt_ _cleanup_(finalizep)

static int exec(AgentState *s, const char *sql) {
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int prepare(AgentState *s, const char *sql, sqlite3_stmt **ret) {
	return sqlite3_prepare_v2(s->db, sql, -1, ret, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* Run fn inside BEGIN IMMEDIATE ... COMMIT; ROLLBACK when it fails. */
static int in_transaction(AgentState *s, int (*fn)(AgentState *, const void *, void *),
			  const void *in, void *out) {
	int r = exec(s, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = fn(s, in, out);
	if (r >= 0)
		r = exec(s, "COMMIT");
	if (r < 0)
		(void)exec(s, "ROLLBACK");
	return r;
}

static int migrate(AgentState *s, const void *in _unused_, void *out _unused_) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (prepare(s, "PRAGMA user_version", &st) < 0 || sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	int v = sqlite3_column_int(st, 0);
	sqlite3_reset(st); /* no statement may be active during DROP TABLE */
	if (v > (int)ELEMENTSOF(migrations))
		return -EPROTONOSUPPORT; /* written by a newer agent */
	for (; v < (int)ELEMENTSOF(migrations); v++)
		if (exec(s, migrations[v]) < 0)
			return -EIO;
	_cleanup_free_ char *set = strdup_printf("PRAGMA user_version=%zu", ELEMENTSOF(migrations));
	return set ? exec(s, set) : -ENOMEM;
}

void state_close(AgentState *s) {
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

int state_open(const char *path, AgentState **ret) {
	_cleanup_(state_closep) AgentState *s = calloc(1, sizeof(AgentState));
	if (!s)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL") <
	    0)
		return -EIO;
	int r = in_transaction(s, migrate, NULL, NULL);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v) {
	return sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -EIO;
}

static int step_done(sqlite3_stmt *st) {
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static int record_tx(AgentState *s, const void *in, void *out) {
	const Report *r = in;
	_cleanup_stmt_ sqlite3_stmt *run = NULL, *pl = NULL, *se = NULL, *prune = NULL;
	if (prepare(s,
		    "INSERT INTO runs (kind, host, policy, version, started_usec, finished_usec,"
		    " compliant, changed, failed) VALUES (?,?,?,?,?,?,?,?,?)",
		    &run) < 0 ||
	    prepare(s, "INSERT INTO plugin_results VALUES (?,?,?,?,?)", &pl) < 0 ||
	    prepare(s, "INSERT INTO setting_results VALUES (?,?,?,?,?,?,?,?)", &se) < 0 ||
	    prepare(s, "DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - ?", &prune) < 0)
		return -EIO;
	if (bind_text(run, 1, report_kind_to_string(r->kind)) < 0 || bind_text(run, 2, r->host) < 0 ||
	    bind_text(run, 3, r->policy) < 0 || bind_text(run, 4, r->version) < 0)
		return -EIO;
	sqlite3_bind_int64(run, 5, (sqlite3_int64)r->started_usec);
	sqlite3_bind_int64(run, 6, (sqlite3_int64)r->finished_usec);
	sqlite3_bind_int(run, 7, r->compliant);
	sqlite3_bind_int(run, 8, (int)r->changed);
	sqlite3_bind_int(run, 9, (int)r->failed);
	if (step_done(run) < 0)
		return -EIO;
	sqlite3_int64 id = sqlite3_last_insert_rowid(s->db);
	for (size_t i = 0; i < r->n_plugins; i++) {
		const ReportPlugin *p = &r->plugins[i];
		sqlite3_reset(pl);
		sqlite3_bind_int64(pl, 1, id);
		sqlite3_bind_int64(pl, 2, (sqlite3_int64)i);
		if (bind_text(pl, 3, p->name) < 0 ||
		    bind_text(pl, 4, report_plugin_status_to_string(p->status)) < 0 ||
		    bind_text(pl, 5, p->message) < 0 || step_done(pl) < 0)
			return -EIO;
	}
	for (size_t i = 0; i < r->n_settings; i++) {
		const ReportSetting *x = &r->settings[i];
		sqlite3_reset(se);
		sqlite3_bind_int64(se, 1, id);
		sqlite3_bind_int64(se, 2, (sqlite3_int64)i);
		if (bind_text(se, 3, x->plugin) < 0 || bind_text(se, 4, x->setting) < 0 ||
		    bind_text(se, 5, x->target) < 0 || bind_text(se, 6, x->actual) < 0 ||
		    bind_text(se, 7, x->desired) < 0 ||
		    bind_text(se, 8, report_setting_status_to_string(x->status)) < 0 ||
		    step_done(se) < 0)
			return -EIO;
	}
	sqlite3_bind_int(prune, 1, STATE_KEEP_RUNS);
	if (step_done(prune) < 0)
		return -EIO;
	if (out)
		*(int64_t *)out = id;
	return 0;
}

int state_record(AgentState *s, const Report *r, int64_t *ret_id) {
	return in_transaction(s, record_tx, r, ret_id);
}

static const char *col(sqlite3_stmt *st, int i) {
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

int state_last(AgentState *s, int kind, Report **ret) {
	_cleanup_stmt_ sqlite3_stmt *run = NULL, *pl = NULL, *se = NULL;
	if (prepare(s,
		    "SELECT id, kind, host, policy, version, started_usec, finished_usec,"
		    " compliant, changed, failed FROM runs WHERE (?1 IS NULL OR kind = ?1)"
		    " ORDER BY id DESC LIMIT 1",
		    &run) < 0 ||
	    prepare(s,
		    "SELECT plugin, status, message FROM plugin_results WHERE run_id = ?"
		    " ORDER BY seq",
		    &pl) < 0 ||
	    prepare(s,
		    "SELECT plugin, setting, target, actual, desired, status FROM setting_results"
		    " WHERE run_id = ? ORDER BY seq",
		    &se) < 0)
		return -EIO;
	if (kind >= 0 && bind_text(run, 1, report_kind_to_string(kind)) < 0)
		return -EIO;
	int k = sqlite3_step(run);
	if (k == SQLITE_DONE)
		return -ENOENT;
	if (k != SQLITE_ROW)
		return -EIO;
	int rk = report_kind_from_string(col(run, 1));
	_cleanup_(report_freep) Report *r = NULL;
	int e = report_new(rk < 0 ? REPORT_VERIFY : rk, col(run, 2), col(run, 3), col(run, 4), &r);
	if (e < 0)
		return e;
	r->started_usec = (unsigned long long)sqlite3_column_int64(run, 5);
	r->finished_usec = (unsigned long long)sqlite3_column_int64(run, 6);
	r->compliant = sqlite3_column_int(run, 7);
	r->changed = (unsigned)sqlite3_column_int(run, 8);
	r->failed = (unsigned)sqlite3_column_int(run, 9);
	sqlite3_int64 id = sqlite3_column_int64(run, 0);
	sqlite3_bind_int64(pl, 1, id);
	while ((k = sqlite3_step(pl)) == SQLITE_ROW) {
		int st = report_plugin_status_from_string(col(pl, 1));
		e = report_add_plugin(r, col(pl, 0), st < 0 ? RP_FAILED : st, col(pl, 2));
		if (e < 0)
			return e;
	}
	if (k != SQLITE_DONE)
		return -EIO;
	sqlite3_bind_int64(se, 1, id);
	while ((k = sqlite3_step(se)) == SQLITE_ROW) {
		int st = report_setting_status_from_string(col(se, 5));
		e = report_add_setting(r, col(se, 0), col(se, 1), col(se, 2), col(se, 3), col(se, 4),
				       st < 0 ? RS_FAILED : st);
		if (e < 0)
			return e;
	}
	if (k != SQLITE_DONE)
		return -EIO;
	*ret = TAKE_PTR(r);
	return 0;
}

int state_last_applied_usec(AgentState *s, unsigned long long *ret) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT coalesce(max(finished_usec), 0) FROM runs WHERE kind = 'apply'",
		    &st) < 0 ||
	    sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*ret = (unsigned long long)sqlite3_column_int64(st, 0);
	return 0;
}

typedef struct ManagedLists {
	char *const *paths, *const *owners;
} ManagedLists;

static int managed_save_tx(AgentState *s, const void *in, void *out _unused_) {
	const ManagedLists *m = in;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (exec(s, "DELETE FROM managed") < 0 ||
	    prepare(s, "INSERT OR REPLACE INTO managed VALUES (?,?)", &st) < 0)
		return -EIO;
	for (size_t i = 0; m->paths && m->paths[i] && m->owners[i]; i++) {
		sqlite3_reset(st);
		if (bind_text(st, 1, m->paths[i]) < 0 || bind_text(st, 2, m->owners[i]) < 0 ||
		    step_done(st) < 0)
			return -EIO;
	}
	return 0;
}

int state_managed_save(AgentState *s, char *const *paths, char *const *owners) {
	return in_transaction(s, managed_save_tx, &(ManagedLists){ paths, owners }, NULL);
}

int state_managed_load(AgentState *s, char ***ret_paths, char ***ret_owners) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT path, plugin FROM managed ORDER BY path", &st) < 0)
		return -EIO;
	_cleanup_strv_free_ char **paths = calloc(1, sizeof(char *));
	_cleanup_strv_free_ char **owners = calloc(1, sizeof(char *));
	if (!paths || !owners)
		return -ENOMEM;
	int k;
	while ((k = sqlite3_step(st)) == SQLITE_ROW)
		if (strv_push_dup(&paths, col(st, 0)) < 0 || strv_push_dup(&owners, col(st, 1)) < 0)
			return -ENOMEM;
	if (k != SQLITE_DONE)
		return -EIO;
	*ret_paths = TAKE_PTR(paths);
	*ret_owners = TAKE_PTR(owners);
	return 0;
}
