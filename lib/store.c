/*
 * store.c - the central policy store on SQLite: policies with immutable
 * versions, the group tree, hosts and links.
 *
 * Invariants:
 *  - the connection runs in WAL mode with foreign keys on and a busy
 *    timeout; store_open() leaves the schema at store_schema_version();
 *  - every public function that changes something runs in exactly one
 *    transaction (a savepoint inside a batch), STORE_IN_TX(): opened by
 *    store_tx_begin() and closed by store_tx_end(), which rolls back on any
 *    error: a failed call leaves the database as it was;
 *  - versions are only ever inserted (triggers in the schema refuse updates
 *    and deletes), so a version number names one content forever;
 *  - the group "/" exists in every store and is never removed.
 *
 * Never: build SQL from user input (everything is bound), log (the caller
 * reports; store_errmsg() keeps the reason), or leave a statement mid-step
 * (cached statements are reset by their cleanup attribute).
 */
#include "store.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>

#include "store_migrate.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_STMT_CACHE_MAX 64
#define STORE_NAME_COMPONENT_MAX 64
#define STORE_HOST_MAX 253

typedef enum StoreTx {
	STORE_TX_NONE,
	STORE_TX_BATCH,    /* BEGIN IMMEDIATE by store_batch_begin() */
	STORE_TX_SNAPSHOT, /* BEGIN (read) by store_snapshot_begin() */
} StoreTx;

typedef struct StoreStmt {
	const char *sql; /* a string literal: cached by its address */
	sqlite3_stmt *stmt;
} StoreStmt;

struct Store {
	sqlite3 *db;
	StoreTx tx;
	char errmsg[512];
	StoreStmt stmts[STORE_STMT_CACHE_MAX];
	size_t n_stmts;
};

/* ---- errors -------------------------------------------------------------- */

/* SQLite result codes -> errno; extended codes are looked up before their
 * primary code. */
static const struct {
	int sqlite;
	int err;
} store_errno_table[] = {
	{ SQLITE_CONSTRAINT_UNIQUE, EEXIST },
	{ SQLITE_CONSTRAINT_PRIMARYKEY, EEXIST },
	{ SQLITE_BUSY, EBUSY },
	{ SQLITE_LOCKED, EBUSY },
	{ SQLITE_NOMEM, ENOMEM },
	{ SQLITE_READONLY, EROFS },
	{ SQLITE_FULL, ENOSPC },
	{ SQLITE_NOTADB, EINVAL },
};

static int store_errno(int rc) {
	for (size_t i = 0; i < ELEMENTSOF(store_errno_table); i++)
		if (store_errno_table[i].sqlite == rc)
			return -store_errno_table[i].err;
	for (size_t i = 0; i < ELEMENTSOF(store_errno_table); i++)
		if (store_errno_table[i].sqlite == (rc & 0xff))
			return -store_errno_table[i].err;
	return -EIO;
}

static int store_fail(Store *s, int r, const char *fmt, ...) _printf_(3, 4);
static int store_fail(Store *s, int r, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return r;
}

/* Record SQLite's message for rc and return the errno for it. */
static int store_sqlite_fail(Store *s, int rc) {
	return store_fail(s, store_errno(rc), "%s", sqlite3_errmsg(s->db));
}

const char *store_errmsg(Store *s) {
	return s && s->errmsg[0] ? s->errmsg : "no error";
}

/* ---- statements ---------------------------------------------------------- */

static void stmt_resetp(sqlite3_stmt **st) {
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

/* A prepared statement for sql (which must be a string literal: the cache
 * key is its address), bound from fmt: 's' text (NULL binds NULL), 'i' int64,
 * 'b' bool.  The statement stays owned by the cache; reset it after use (the
 * _cleanup_stmt_ attribute does). */
static int store_vprepare(Store *s, const char *sql, sqlite3_stmt **ret, const char *fmt,
			  va_list ap) {
	sqlite3_stmt *st = NULL;
	for (size_t i = 0; i < s->n_stmts; i++)
		if (s->stmts[i].sql == sql)
			st = s->stmts[i].stmt;
	if (!st) {
		if (s->n_stmts >= STORE_STMT_CACHE_MAX)
			return store_fail(s, -E2BIG, "statement cache full");
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK)
			return store_sqlite_fail(s, rc);
		s->stmts[s->n_stmts++] = (StoreStmt){ .sql = sql, .stmt = st };
	} else if (sqlite3_stmt_busy(st))
		/* Still stepping in a caller up the stack (e.g. a host walk's
		 * callback walking again): resetting it would break that walk. */
		return store_fail(s, -EBUSY, "re-entrant use of a store query");

	int rc = SQLITE_OK;
	for (int i = 1; fmt && fmt[i - 1] && rc == SQLITE_OK; i++)
		switch (fmt[i - 1]) {
		case 's':
			rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'b':
			rc = sqlite3_bind_int(st, i, va_arg(ap, int) ? 1 : 0);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	if (rc != SQLITE_OK) {
		stmt_resetp(&st);
		return store_sqlite_fail(s, rc);
	}
	*ret = st;
	return 0;
}

static int store_prepare(Store *s, const char *sql, sqlite3_stmt **ret, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	int r = store_vprepare(s, sql, ret, fmt, ap);
	va_end(ap);
	return r;
}

/* 1 for a row, 0 when done, -errno on error. */
static int store_step(Store *s, sqlite3_stmt *st) {
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlite_fail(s, sqlite3_extended_errcode(s->db));
}

/* store_prepare(), then its first store_step(): 1 when *ret is on a row, 0
 * when there is none (a write is done), -errno.  Reset *ret after use. */
static int store_run_sql(Store *s, const char *sql, sqlite3_stmt **ret, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	int r = store_vprepare(s, sql, ret, fmt, ap);
	va_end(ap);
	return r < 0 ? r : store_step(s, *ret);
}

static int store_exec(Store *s, const char *sql) {
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc);
}

static char *column_strdup(sqlite3_stmt *st, int col) {
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t ? strdup(t) : NULL;
}

/* How to read one kind of list item from a row (see rows_collect()). */
typedef struct StoreRowType {
	size_t size;
	/* Fill item from the current row; on failure leave nothing to free. */
	int (*from_row)(sqlite3_stmt *st, void *item);
	void (*free_list)(void *list, size_t n);
} StoreRowType;

/* Collect every remaining row of st as an array of type's items: 0 with
 * *ret (the caller frees it with type->free_list) and *ret_n set, or -errno
 * with nothing allocated. */
static int rows_collect(Store *s, sqlite3_stmt *st, const StoreRowType *type, void **ret,
			size_t *ret_n) {
	char *list = NULL;
	size_t n = 0;
	int r;
	while ((r = store_step(s, st)) > 0) {
		char *nl = realloc(list, (n + 1) * type->size);
		if (!nl) {
			r = -ENOMEM;
			break;
		}
		list = nl;
		r = type->from_row(st, list + n * type->size);
		if (r < 0)
			break;
		n++;
	}
	if (r < 0) {
		type->free_list(list, n);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

/* ---- transactions -------------------------------------------------------- */

static int store_tx_begin(Store *s) {
	s->errmsg[0] = 0;
	return store_exec(s, s->tx == STORE_TX_NONE ? "BEGIN IMMEDIATE" : "SAVEPOINT store_call");
}

/* Commit when r >= 0, else roll back; returns r (or the commit's error).  A
 * rollback keeps the message of the error that caused it. */
static int store_tx_end(Store *s, int r) {
	bool outer = s->tx == STORE_TX_NONE;
	if (r >= 0) {
		int q = store_exec(s, outer ? "COMMIT" : "RELEASE store_call");
		if (q >= 0)
			return r;
		r = q;
	}
	if (outer) {
		if (!sqlite3_get_autocommit(s->db))
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	} else
		(void)sqlite3_exec(s->db, "ROLLBACK TO store_call; RELEASE store_call", NULL, NULL,
				   NULL);
	return r;
}

/* The value of expr (a call of a *_locked function, evaluated only once the
 * transaction is open) run in a transaction of its own: the body of every
 * public call that changes the store. */
#define STORE_IN_TX(s, expr)                                               \
	({                                                                 \
		int _tx_r = store_tx_begin(s);                             \
		_tx_r < 0 ? _tx_r : store_tx_end((s), (expr));             \
	})

static int store_outer_begin(Store *s, StoreTx kind, const char *sql) {
	if (s->tx != STORE_TX_NONE)
		return store_fail(s, -EBUSY, "a batch or snapshot is already open");
	int r = store_exec(s, sql);
	if (r < 0)
		return r;
	s->tx = kind;
	return 0;
}

int store_batch_begin(Store *s) {
	return store_outer_begin(s, STORE_TX_BATCH, "BEGIN IMMEDIATE");
}

int store_batch_commit(Store *s) {
	if (s->tx != STORE_TX_BATCH)
		return store_fail(s, -EINVAL, "no batch is open");
	int r = store_exec(s, "COMMIT");
	if (r < 0) {
		store_batch_rollback(s);
		return r;
	}
	s->tx = STORE_TX_NONE;
	return 0;
}

void store_batch_rollback(Store *s) {
	if (s->tx != STORE_TX_BATCH)
		return;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->tx = STORE_TX_NONE;
}

int store_snapshot_begin(Store *s) {
	int r = store_outer_begin(s, STORE_TX_SNAPSHOT, "BEGIN");
	if (r < 0)
		return r;
	/* BEGIN is deferred: read once so the snapshot starts now. */
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s, "SELECT 1 FROM groups LIMIT 1", &st, NULL);
	if (r < 0)
		store_snapshot_end(s);
	return r < 0 ? r : 0;
}

void store_snapshot_end(Store *s) {
	if (s->tx != STORE_TX_SNAPSHOT)
		return;
	(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	s->tx = STORE_TX_NONE;
}

/* ---- open, migrate, close ------------------------------------------------ */

static int store_pragma_int(Store *s, const char *sql, long long *ret) {
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	int r = rc == SQLITE_ROW ? 0 : store_sqlite_fail(s, sqlite3_extended_errcode(s->db));
	sqlite3_finalize(st);
	return r;
}

/* Run every migration step above the current user_version, in the one
 * transaction the caller opened. */
static int store_migrate_locked(Store *s) {
	long long have, objects;
	int r = store_pragma_int(s, "PRAGMA user_version", &have);
	if (r < 0)
		return r;
	if (have > (long long)store_schema_version())
		return store_fail(s, -EPROTONOSUPPORT,
				  "store schema version %lld is newer than this program's (%u)", have,
				  store_schema_version());
	if (have == 0) {
		r = store_pragma_int(s, "SELECT count(*) FROM sqlite_schema", &objects);
		if (r < 0)
			return r;
		if (objects > 0)
			return store_fail(s, -EINVAL, "database is not a smbpolicy store");
	}
	for (size_t i = 0; i < store_n_migrations; i++) {
		const StoreMigration *m = &store_migrations[i];
		if (m->version <= have)
			continue;
		int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return store_fail(s, store_errno(rc), "schema migration to v%u (%s): %s",
					  m->version, m->what, sqlite3_errmsg(s->db));
		_cleanup_free_ char *set = strdup_printf("PRAGMA user_version = %u", m->version);
		if (!set)
			return -ENOMEM;
		r = store_exec(s, set);
		if (r < 0)
			return r;
	}
	return 0;
}

int store_open(const char *path, Store **ret) {
	_cleanup_(store_closep) Store *s = calloc(1, sizeof(Store));
	if (!s)
		return -ENOMEM;
	int rc = sqlite3_open_v2(path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db)
			return -ENOMEM;
		/* The OS reason (ENOENT, EACCES...) says more than SQLITE_CANTOPEN. */
		int e = sqlite3_system_errno(s->db);
		return e > 0 ? -e : store_errno(rc);
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	long long fk;
	int r = store_exec(s, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON");
	if (r < 0)
		return r;
	r = store_pragma_int(s, "PRAGMA foreign_keys", &fk);
	if (r < 0)
		return r;
	if (fk != 1)
		return store_fail(s, -EIO, "SQLite without foreign key support");

	/* Only take the write lock when the schema must change, so an
	 * up-to-date store opens for reading even where it cannot be written.
	 * The version is read again under the lock: another process may have
	 * migrated in between. */
	long long have;
	r = store_pragma_int(s, "PRAGMA user_version", &have);
	if (r < 0)
		return r;
	if (have != (long long)store_schema_version()) {
		r = STORE_IN_TX(s, store_migrate_locked(s));
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

void store_close(Store *s) {
	if (!s)
		return;
	if (s->tx == STORE_TX_BATCH)
		store_batch_rollback(s);
	store_snapshot_end(s);
	for (size_t i = 0; i < s->n_stmts; i++)
		sqlite3_finalize(s->stmts[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

struct sqlite3 *store_db(Store *s) {
	return s->db;
}

/* ---- names --------------------------------------------------------------- */

static bool char_is_name(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool store_group_path_is_valid(const char *path) {
	if (!path || path[0] != '/' || strlen(path) > STORE_PATH_MAX)
		return false;
	if (streq(path, "/"))
		return true;
	for (const char *p = path + 1;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || n > STORE_NAME_COMPONENT_MAX)
			return false;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!char_is_name(p[i]))
				return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

bool store_host_name_is_valid(const char *name) {
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > STORE_HOST_MAX || name[n - 1] == '.')
		return false;
	if (!(char_is_name(name[0]) || name[0] == ':') || name[0] == '.' || name[0] == '-' ||
	    name[0] == '_')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!char_is_name(name[i]) && name[i] != ':')
			return false;
	return true;
}

/* Parent path of a valid non-root path ("/a" -> "/", "/a/b" -> "/a"). */
static char *group_parent(const char *path) {
	const char *slash = strrchr(path, '/');
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* ---- lookups ------------------------------------------------------------- */

/* The one integer of a query's first row; -ENOENT when there is no row. */
static int store_query_id(Store *s, const char *sql, const char *arg, int64_t *ret) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_run_sql(s, sql, &st, "s", arg);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static int store_group_id(Store *s, const char *path, int64_t *ret) {
	if (!store_group_path_is_valid(path))
		return store_fail(s, -EINVAL, "invalid group path '%s'", path ? path : "");
	int r = store_query_id(s, "SELECT id FROM groups WHERE path = ?", path, ret);
	return r == -ENOENT ? store_fail(s, r, "no such group '%s'", path) : r;
}

static int store_policy_id(Store *s, const char *name, int64_t *ret) {
	if (!name || !*name)
		return store_fail(s, -EINVAL, "empty policy name");
	int r = store_query_id(s, "SELECT id FROM policies WHERE name = ?", name, ret);
	return r == -ENOENT ? store_fail(s, r, "no such policy '%s'", name) : r;
}

/* ---- policies and versions ----------------------------------------------- */

void store_version_clear(StoreVersion *v) {
	if (!v)
		return;
	free(v->policy);
	free(v->author);
	free(v->comment);
	*v = (StoreVersion){ 0 };
}

void store_versions_free(StoreVersion *v, size_t n) {
	for (size_t i = 0; v && i < n; i++)
		store_version_clear(&v[i]);
	free(v);
}

/* Columns: name, version, hash, author, comment, time (the order of every
 * SELECT below that feeds this). */
static int version_from_row(sqlite3_stmt *st, void *item) {
	StoreVersion *v = item;
	const char *hash = (const char *)sqlite3_column_text(st, 2);
	*v = (StoreVersion){
		.policy = column_strdup(st, 0),
		.version = (unsigned)sqlite3_column_int64(st, 1),
		.author = column_strdup(st, 3),
		.comment = column_strdup(st, 4),
		.created_usec = (unsigned long long)sqlite3_column_int64(st, 5),
	};
	snprintf(v->hash, sizeof(v->hash), "%s", hash ? hash : "");
	if (!v->policy || (!v->author && sqlite3_column_type(st, 3) != SQLITE_NULL) ||
	    (!v->comment && sqlite3_column_type(st, 4) != SQLITE_NULL)) {
		store_version_clear(v);
		return -ENOMEM;
	}
	return 0;
}

static void versions_free(void *list, size_t n) {
	store_versions_free(list, n);
}

static const StoreRowType version_rows = { sizeof(StoreVersion), version_from_row,
					   versions_free };

/* Collect every row of st as StoreVersions. */
static int versions_collect(Store *s, sqlite3_stmt *st, StoreVersion **ret, size_t *ret_n) {
	void *list;
	int r = rows_collect(s, st, &version_rows, &list, ret_n);
	if (r >= 0)
		*ret = list;
	return r;
}

/* Latest version number and hash of a policy id (0 and "" when none). */
static int store_latest(Store *s, int64_t policy_id, unsigned *ret_version, char ret_hash[65]) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_run_sql(s,
			      "SELECT version, hash FROM versions WHERE policy = ?"
			      " ORDER BY version DESC LIMIT 1",
			      &st, "i", policy_id);
	if (r < 0)
		return r;
	*ret_version = r ? (unsigned)sqlite3_column_int64(st, 0) : 0;
	snprintf(ret_hash, 65, "%s", r ? (const char *)sqlite3_column_text(st, 1) : "");
	return 0;
}

/* Append a version with this content unless the latest has the same hash. */
static int store_add_version(Store *s, int64_t policy_id, const char *hash, const char *xml,
			     const char *author, const char *comment, unsigned *ret_version,
			     bool *ret_created) {
	unsigned latest;
	char latest_hash[65];
	int r = store_latest(s, policy_id, &latest, latest_hash);
	if (r < 0)
		return r;
	bool create = latest == 0 || !streq(latest_hash, hash);
	if (create) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		r = store_run_sql(s,
				  "INSERT INTO versions (policy, version, hash, xml, author, time, comment)"
				  " VALUES (?, ?, ?, ?, ?, ?, ?)",
				  &st, "iisssis", policy_id, (int64_t)latest + 1, hash, xml, author,
				  (int64_t)now_usec(), comment);
		if (r < 0)
			return r;
	}
	if (ret_version)
		*ret_version = create ? latest + 1 : latest;
	if (ret_created)
		*ret_created = create;
	return 0;
}

static int store_import_locked(Store *s, const Policy *p, const char *xml, const char *author,
			       const char *comment, unsigned *ret_version, bool *ret_created) {
	int64_t id;
	int r = store_query_id(s, "SELECT id FROM policies WHERE name = ?", p->name, &id);
	if (r == -ENOENT) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		r = store_run_sql(s, "INSERT INTO policies (name) VALUES (?)", &st, "s", p->name);
		if (r < 0)
			return r;
		id = sqlite3_last_insert_rowid(s->db);
	} else if (r < 0)
		return r;
	return store_add_version(s, id, p->hash, xml, author, comment, ret_version, ret_created);
}

int store_import(Store *s, const Policy *p, const char *author, const char *comment,
		 unsigned *ret_version, bool *ret_created) {
	if (!p || !p->name || !*p->name || strlen(p->hash) != 64)
		return store_fail(s, -EINVAL, "policy without name or content hash");
	_cleanup_free_ char *xml = NULL;
	int r = policy_to_xml(p, &xml);
	if (r < 0)
		return store_fail(s, r, "policy '%s': cannot serialise: %s", p->name, strerror(-r));
	return STORE_IN_TX(s, store_import_locked(s, p, xml, author, comment, ret_version,
						  ret_created));
}

#define VERSION_COLUMNS "p.name, v.version, v.hash, v.author, v.comment, v.time"

int store_policy_xml(Store *s, const char *policy, unsigned version, char **ret_xml,
		     StoreVersion *ret_info) {
	int64_t id;
	int r = store_policy_id(s, policy, &id);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s,
			  "SELECT " VERSION_COLUMNS ", v.xml FROM versions v"
			  " JOIN policies p ON p.id = v.policy"
			  " WHERE v.policy = ?1 AND (?2 = 0 OR v.version = ?2)"
			  " ORDER BY v.version DESC LIMIT 1",
			  &st, "ii", id, (int64_t)version);
	if (r < 0)
		return r;
	if (r == 0)
		return store_fail(s, -ENOENT, "policy '%s' has no version %u", policy, version);
	_cleanup_free_ char *xml = column_strdup(st, 6);
	if (!xml)
		return -ENOMEM;
	if (ret_info) {
		r = version_from_row(st, ret_info);
		if (r < 0)
			return r;
	}
	if (ret_xml)
		*ret_xml = TAKE_PTR(xml);
	return 0;
}

int store_policy_list(Store *s, StoreVersion **ret, size_t *ret_n) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s,
			      "SELECT " VERSION_COLUMNS " FROM policies p"
			      " JOIN versions v ON v.policy = p.id"
			      " AND v.version = (SELECT max(version) FROM versions WHERE policy = p.id)"
			      " ORDER BY p.name",
			      &st, NULL);
	return r < 0 ? r : versions_collect(s, st, ret, ret_n);
}

int store_policy_history(Store *s, const char *policy, StoreVersion **ret, size_t *ret_n) {
	int64_t id;
	int r = store_policy_id(s, policy, &id);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_prepare(s,
			  "SELECT " VERSION_COLUMNS " FROM versions v JOIN policies p ON p.id = v.policy"
			  " WHERE v.policy = ? ORDER BY v.version",
			  &st, "i", id);
	return r < 0 ? r : versions_collect(s, st, ret, ret_n);
}

static int store_rollback_locked(Store *s, const char *policy, unsigned v, const char *author,
				 unsigned *ret_version) {
	int64_t id;
	int r = store_policy_id(s, policy, &id);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s, "SELECT hash, xml FROM versions WHERE policy = ? AND version = ?", &st,
			  "ii", id, (int64_t)v);
	if (r <= 0)
		return r < 0 ? r : store_fail(s, -ENOENT, "policy '%s' has no version %u", policy, v);
	_cleanup_free_ char *comment = strdup_printf("rollback to version %u", v);
	_cleanup_free_ char *hash = column_strdup(st, 0);
	_cleanup_free_ char *xml = column_strdup(st, 1);
	if (!comment || !hash || !xml)
		return -ENOMEM;
	stmt_resetp(&st);
	return store_add_version(s, id, hash, xml, author, comment, ret_version, NULL);
}

int store_policy_rollback(Store *s, const char *policy, unsigned v, const char *author,
			  unsigned *ret_version) {
	return STORE_IN_TX(s, store_rollback_locked(s, policy, v, author, ret_version));
}

/* ---- groups -------------------------------------------------------------- */

void store_groups_free(StoreGroup *g, size_t n) {
	for (size_t i = 0; g && i < n; i++)
		free(g[i].path);
	free(g);
}

static int store_group_add_locked(Store *s, const char *path) {
	int64_t id, parent_id;
	int r = store_group_id(s, path, &id);
	if (r >= 0)
		return store_fail(s, -EEXIST, "group '%s' exists", path);
	if (r != -ENOENT)
		return r;
	_cleanup_free_ char *parent = group_parent(path);
	if (!parent)
		return -ENOMEM;
	r = store_group_id(s, parent, &parent_id);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	return store_run_sql(s, "INSERT INTO groups (path, parent) VALUES (?, ?)", &st, "si", path,
			  parent_id);
}

int store_group_add(Store *s, const char *path) {
	return STORE_IN_TX(s, store_group_add_locked(s, path));
}

static int store_group_rm_locked(Store *s, const char *path) {
	int64_t id;
	if (path && streq(path, "/"))
		return store_fail(s, -EINVAL, "the root group cannot be removed");
	int r = store_group_id(s, path, &id);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s,
			  "SELECT (SELECT count(*) FROM groups WHERE parent = ?1),"
			  " (SELECT count(*) FROM hosts WHERE group_id = ?1),"
			  " (SELECT count(*) FROM links WHERE group_id = ?1)",
			  &st, "i", id);
	if (r < 0)
		return r;
	if (sqlite3_column_int64(st, 0) || sqlite3_column_int64(st, 1) || sqlite3_column_int64(st, 2))
		return store_fail(s, -ENOTEMPTY,
				  "group '%s' still has %lld subgroups, %lld hosts, %lld links", path,
				  sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
				  sqlite3_column_int64(st, 2));
	stmt_resetp(&st);
	return store_run_sql(s, "DELETE FROM groups WHERE id = ?", &st, "i", id);
}

int store_group_rm(Store *s, const char *path) {
	return STORE_IN_TX(s, store_group_rm_locked(s, path));
}

/* Columns: path, block_inheritance. */
static int group_from_row(sqlite3_stmt *st, void *item) {
	StoreGroup *g = item;
	*g = (StoreGroup){ .path = column_strdup(st, 0),
			   .block_inheritance = sqlite3_column_int(st, 1) };
	return g->path ? 0 : -ENOMEM;
}

static void groups_free(void *list, size_t n) {
	store_groups_free(list, n);
}

static const StoreRowType group_rows = { sizeof(StoreGroup), group_from_row, groups_free };

int store_group_list(Store *s, StoreGroup **ret, size_t *ret_n) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, "SELECT path, block_inheritance FROM groups ORDER BY path", &st,
			      NULL);
	if (r < 0)
		return r;
	void *list;
	if ((r = rows_collect(s, st, &group_rows, &list, ret_n)) >= 0)
		*ret = list;
	return r;
}

static int store_block_locked(Store *s, const char *path, bool on) {
	int64_t id;
	int r = store_group_id(s, path, &id);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	return store_run_sql(s, "UPDATE groups SET block_inheritance = ? WHERE id = ?", &st, "bi", on,
			  id);
}

int store_group_block_inheritance(Store *s, const char *path, bool on) {
	return STORE_IN_TX(s, store_block_locked(s, path, on));
}

/* ---- hosts --------------------------------------------------------------- */

void store_hosts_free(StoreHost *h, size_t n) {
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].name);
		free(h[i].group);
	}
	free(h);
}

static int store_host_check(Store *s, const char *name) {
	return store_host_name_is_valid(name)
		       ? 0
		       : store_fail(s, -EINVAL, "invalid host name '%s'", name ? name : "");
}

static int store_host_exists(Store *s, const char *name) {
	int64_t dummy;
	int r = store_query_id(s, "SELECT group_id FROM hosts WHERE name = ?", name, &dummy);
	return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

/* Insert (move = false) or re-home (move = true) a host. */
static int store_host_put_locked(Store *s, const char *name, const char *group, bool move) {
	int64_t gid;
	int r = store_host_check(s, name);
	if (r < 0)
		return r;
	r = store_group_id(s, group, &gid);
	if (r < 0)
		return r;
	r = store_host_exists(s, name);
	if (r < 0)
		return r;
	if (r && !move)
		return store_fail(s, -EEXIST, "host '%s' exists", name);
	if (!r && move)
		return store_fail(s, -ENOENT, "no such host '%s'", name);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	return move ? store_run_sql(s, "UPDATE hosts SET group_id = ? WHERE name = ?", &st, "is",
				    gid, name)
		    : store_run_sql(s, "INSERT INTO hosts (group_id, name) VALUES (?, ?)", &st, "is",
				    gid, name);
}

int store_host_add(Store *s, const char *name, const char *group) {
	return STORE_IN_TX(s, store_host_put_locked(s, name, group, false));
}

int store_host_move(Store *s, const char *name, const char *group) {
	return STORE_IN_TX(s, store_host_put_locked(s, name, group, true));
}

static int store_host_rm_locked(Store *s, const char *name) {
	int r = store_host_check(s, name);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s, "DELETE FROM hosts WHERE name = ?", &st, "s", name);
	if (r < 0)
		return r;
	return sqlite3_changes(s->db) == 1 ? 0 : store_fail(s, -ENOENT, "no such host '%s'", name);
}

int store_host_rm(Store *s, const char *name) {
	return STORE_IN_TX(s, store_host_rm_locked(s, name));
}

int store_host_foreach(Store *s, StoreHostFunc cb, void *userdata) {
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s,
			      "SELECT h.name, g.path FROM hosts h JOIN groups g ON g.id = h.group_id"
			      " ORDER BY h.group_id, h.name",
			      &st, NULL);
	if (r < 0)
		return r;
	while ((r = store_step(s, st)) > 0) {
		r = cb((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), userdata);
		if (r < 0)
			return r;
	}
	return r;
}

typedef struct HostCollect {
	StoreHost *list;
	size_t n;
} HostCollect;

static int host_collect(const char *name, const char *group, void *userdata) {
	HostCollect *c = userdata;
	StoreHost *nl = realloc(c->list, (c->n + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	c->list = nl;
	c->list[c->n] = (StoreHost){ .name = strdup(name), .group = strdup(group) };
	if (!c->list[c->n].name || !c->list[c->n].group) {
		free(c->list[c->n].name);
		free(c->list[c->n].group);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

static int host_cmp(const void *a, const void *b) {
	return strcasecmp(((const StoreHost *)a)->name, ((const StoreHost *)b)->name);
}

int store_host_list(Store *s, StoreHost **ret, size_t *ret_n) {
	HostCollect c = { 0 };
	int r = store_host_foreach(s, host_collect, &c);
	if (r < 0) {
		store_hosts_free(c.list, c.n);
		return r;
	}
	if (c.n > 1)
		qsort(c.list, c.n, sizeof(*c.list), host_cmp);
	*ret = c.list;
	*ret_n = c.n;
	return 0;
}

int store_host_group(Store *s, const char *name, char **ret_group) {
	int r = store_host_check(s, name);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s,
			  "SELECT g.path FROM hosts h JOIN groups g ON g.id = h.group_id"
			  " WHERE h.name = ?",
			  &st, "s", name);
	if (r <= 0)
		return r < 0 ? r : store_fail(s, -ENOENT, "no such host '%s'", name);
	if (!ret_group)
		return 0;
	char *g = column_strdup(st, 0);
	if (!g)
		return -ENOMEM;
	*ret_group = g;
	return 0;
}

/* ---- links --------------------------------------------------------------- */

void store_links_free(StoreLink *l, size_t n) {
	for (size_t i = 0; l && i < n; i++) {
		free(l[i].policy);
		free(l[i].group);
	}
	free(l);
}

/* The ids of a link's policy and group (each must exist). */
static int store_link_ids(Store *s, const char *policy, const char *group, int64_t *ret_pid,
			  int64_t *ret_gid) {
	int r = store_policy_id(s, policy, ret_pid);
	return r < 0 ? r : store_group_id(s, group, ret_gid);
}

static int store_link_add_locked(Store *s, const char *policy, const char *group, int order,
				 bool enforced, bool disabled) {
	int64_t pid, gid;
	int r = store_link_ids(s, policy, group, &pid, &gid);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s, "SELECT ord FROM links WHERE policy = ? AND group_id = ?", &st, "ii",
			  pid, gid);
	if (r != 0)
		return r < 0 ? r
			     : store_fail(s, -EEXIST, "policy '%s' is already linked to '%s'", policy,
					  group);
	stmt_resetp(&st);

	if (order < 0) {
		r = store_run_sql(s, "SELECT coalesce(max(ord) + 1, 1) FROM links WHERE group_id = ?",
				  &st, "i", gid);
		if (r < 0)
			return r;
		order = sqlite3_column_int(st, 0);
		stmt_resetp(&st);
	} else {
		/* Make room: the link at this order and those after it move down. */
		r = store_run_sql(s, "SELECT 1 FROM links WHERE group_id = ? AND ord = ?", &st, "ii",
				  gid, (int64_t)order);
		if (r < 0)
			return r;
		bool taken = r > 0;
		stmt_resetp(&st);
		if (taken) {
			r = store_run_sql(s,
					  "UPDATE links SET ord = ord + 1 WHERE group_id = ? AND ord >= ?",
					  &st, "ii", gid, (int64_t)order);
			if (r < 0)
				return r;
			stmt_resetp(&st);
		}
	}
	return store_run_sql(s,
			  "INSERT INTO links (policy, group_id, ord, enforced, disabled)"
			  " VALUES (?, ?, ?, ?, ?)",
			  &st, "iiibb", pid, gid, (int64_t)order, enforced, disabled);
}

int store_link_add(Store *s, const char *policy, const char *group, int order, bool enforced,
		   bool disabled) {
	return STORE_IN_TX(s, store_link_add_locked(s, policy, group, order, enforced, disabled));
}

static int store_link_rm_locked(Store *s, const char *policy, const char *group) {
	int64_t pid, gid;
	int r = store_link_ids(s, policy, group, &pid, &gid);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	r = store_run_sql(s, "DELETE FROM links WHERE policy = ? AND group_id = ?", &st, "ii", pid,
			  gid);
	if (r < 0)
		return r;
	return sqlite3_changes(s->db) == 1
		       ? 0
		       : store_fail(s, -ENOENT, "policy '%s' is not linked to '%s'", policy, group);
}

int store_link_rm(Store *s, const char *policy, const char *group) {
	return STORE_IN_TX(s, store_link_rm_locked(s, policy, group));
}

/* Columns: policy name, group path, order, enforced, disabled. */
static int link_from_row(sqlite3_stmt *st, void *item) {
	StoreLink *l = item;
	*l = (StoreLink){
		.policy = column_strdup(st, 0),
		.group = column_strdup(st, 1),
		.order = sqlite3_column_int(st, 2),
		.enforced = sqlite3_column_int(st, 3),
		.disabled = sqlite3_column_int(st, 4),
	};
	if (l->policy && l->group)
		return 0;
	free(l->policy);
	free(l->group);
	return -ENOMEM;
}

static void links_free(void *list, size_t n) {
	store_links_free(list, n);
}

static const StoreRowType link_rows = { sizeof(StoreLink), link_from_row, links_free };

int store_link_list(Store *s, const char *group, StoreLink **ret, size_t *ret_n) {
	int64_t gid = 0;
	if (group) {
		int r = store_group_id(s, group, &gid);
		if (r < 0)
			return r;
	}
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s,
			      "SELECT p.name, g.path, l.ord, l.enforced, l.disabled FROM links l"
			      " JOIN policies p ON p.id = l.policy JOIN groups g ON g.id = l.group_id"
			      " WHERE ?1 = 0 OR l.group_id = ?1 ORDER BY g.path, l.ord, p.name",
			      &st, "i", gid);
	if (r < 0)
		return r;
	void *list;
	if ((r = rows_collect(s, st, &link_rows, &list, ret_n)) >= 0)
		*ret = list;
	return r;
}
