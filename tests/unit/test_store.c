/*
 * test_store.c - unit tests for lib/store.c: schema creation and migration
 * from an older (v1) store, names, CRUD of groups, hosts, links and policy
 * versions with every error store.h promises, idempotent import, history
 * and rollback, and atomicity (a failed call leaves the file byte-identical;
 * a failed call inside a batch undoes only itself).
 *
 * Policies are parsed from XML with the real catalog (schema/), so the
 * store is tested with exactly what the CLI gives it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.c"
#include "test_store_common.h"

typedef struct Fixture {
	char dir[TEST_DIR_MAX];
	char *path;
	Store *store;
	Catalog *catalog;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	if (!f || test_store_setup(f->dir, "store", &f->path, &f->catalog, &f->store) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	int r = test_store_teardown(f->dir, f->store, f->catalog);
	free(f->path);
	free(f);
	return r;
}

/* A parsed policy named name setting server.auth-rate-limiter.delay-ms. */
static Policy *make_policy(Fixture *f, const char *name, int delay) {
	_cleanup_free_ char *xml = strdup_printf(
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"%s\">\n"
		"  <setting id=\"server.auth-rate-limiter.delay-ms\">%d</setting>\n"
		"</policy>\n",
		name, delay);
	DiagList diag = { 0 };
	Policy *p = NULL;
	int r = policy_parse_memory(f->catalog, xml, strlen(xml), "test.xml", &p, &diag);
	diag_print(&diag, stderr);
	diag_clear(&diag);
	assert_int_equal(r, 0);
	return p;
}

static unsigned import(Fixture *f, const char *name, int delay, bool expect_created) {
	_cleanup_(policy_freep) Policy *p = make_policy(f, name, delay);
	unsigned v = 0;
	bool created = !expect_created;
	assert_int_equal(store_import(f->store, p, "alice", "test", &v, &created), 0);
	assert_true(created == expect_created);
	return v;
}

static long long db_int(Store *s, const char *sql) {
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *db_text(Store *s, const char *sql) {
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void test_open_creates_schema(void **state) {
	Fixture *f = *state;
	assert_int_equal(db_int(f->store, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(db_int(f->store, "PRAGMA foreign_keys"), 1);
	_cleanup_free_ char *mode = db_text(f->store, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	StoreGroup *g = NULL;
	size_t n = 0;
	assert_int_equal(store_group_list(f->store, &g, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(g[0].path, "/");
	store_groups_free(g, n);
	/* Reopening an up-to-date store changes nothing. */
	store_close(f->store);
	assert_int_equal(store_open(f->path, &f->store), 0);
	assert_int_equal(db_int(f->store, "PRAGMA user_version"), store_schema_version());
}

static void test_open_refuses_foreign_and_newer(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *other = strdup_printf("%s/other.db", f->dir);
	_cleanup_free_ char *newer = strdup_printf("%s/newer.db", f->dir);
	_cleanup_free_ char *junk = strdup_printf("%s/junk.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sqlite3_open(newer, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(write_file_atomic(junk, "this is not sqlite, not at all, no no no", 40, 0644),
			 0);

	Store *s = NULL;
	assert_int_equal(store_open(other, &s), -EINVAL);
	assert_int_equal(store_open(newer, &s), -EPROTONOSUPPORT);
	assert_int_equal(store_open(junk, &s), -EINVAL);
	_cleanup_free_ char *missing_dir = strdup_printf("%s/no/such/dir.db", f->dir);
	assert_int_equal(store_open(missing_dir, &s), -ENOENT);
	assert_null(s);
}

/* A store as the first release wrote it: schema step v1 only, with data. */
static void test_migrate_from_v1(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *old = strdup_printf("%s/v1.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	assert_int_equal(store_migrations[0].version, 1);
	assert_int_equal(sqlite3_exec(db, store_migrations[0].sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "PRAGMA user_version = 1;"
			     "INSERT INTO policies (id, name) VALUES (7, 'base');"
			     "INSERT INTO versions VALUES (7, 1, 'aaaa', '<policy/>', 'bob', 1000, 'first');"
			     "INSERT INTO groups (id, path, parent) VALUES (2, '/paris', 1);"
			     "INSERT INTO hosts (name, group_id) VALUES ('fs1', 2);"
			     "INSERT INTO links (policy, group_id, ord, enforced) VALUES (7, 2, 1, 1);",
			     NULL, NULL, NULL),
		SQLITE_OK);
	/* v1 has neither column that v2 adds. */
	assert_int_not_equal(sqlite3_exec(db, "SELECT disabled FROM links", NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);

	Store *s = NULL;
	assert_int_equal(store_open(old, &s), 0);
	assert_int_equal(db_int(s, "PRAGMA user_version"), store_schema_version());
	StoreGroup *g = NULL;
	size_t n = 0;
	assert_int_equal(store_group_list(s, &g, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(g[1].path, "/paris");
	assert_false(g[1].block_inheritance);
	store_groups_free(g, n);
	StoreLink *l = NULL;
	assert_int_equal(store_link_list(s, "/paris", &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].policy, "base");
	assert_true(l[0].enforced);
	assert_false(l[0].disabled);
	store_links_free(l, n);
	_cleanup_free_ char *group = NULL, *xml = NULL;
	assert_int_equal(store_host_group(s, "fs1", &group), 0);
	assert_string_equal(group, "/paris");
	StoreVersion v;
	assert_int_equal(store_policy_xml(s, "base", 1, &xml, &v), 0);
	assert_string_equal(xml, "<policy/>");
	assert_string_equal(v.author, "bob");
	assert_string_equal(v.comment, "first");
	assert_string_equal(v.hash, "aaaa");
	store_version_clear(&v);
	/* The new columns work. */
	assert_int_equal(store_group_block_inheritance(s, "/paris", true), 0);
	assert_int_equal(store_link_rm(s, "base", "/paris"), 0);
	assert_int_equal(store_link_add(s, "base", "/paris", -1, false, true), 0);
	store_close(s);
}

static void test_names(void **state) {
	(void)state;
	static const char *const good_paths[] = { "/", "/a", "/paris/fileservers", "/a.b/c_d/e-f" };
	static const char *const bad_paths[] = { "",      "a",    "/a/",  "//",     "/a//b", "/./a",
						 "/a/..", "/a b", "/é",   "/a/b/", NULL };
	for (size_t i = 0; i < ELEMENTSOF(good_paths); i++)
		assert_true(store_group_path_is_valid(good_paths[i]));
	for (size_t i = 0; i < ELEMENTSOF(bad_paths); i++)
		assert_false(store_group_path_is_valid(bad_paths[i]));
	char longc[80];
	memset(longc, 'x', sizeof(longc));
	longc[0] = '/';
	longc[sizeof(longc) - 1] = 0;
	assert_false(store_group_path_is_valid(longc));

	static const char *const good_hosts[] = { "fs1", "fs1.example.com", "10.0.0.1", "::1",
						  "fe80::1", "LEGACY-NAS", "host_1" };
	static const char *const bad_hosts[] = { "", "-x", ".x", "x.", "a b", "a/b", "a;b", NULL };
	for (size_t i = 0; i < ELEMENTSOF(good_hosts); i++)
		assert_true(store_host_name_is_valid(good_hosts[i]));
	for (size_t i = 0; i < ELEMENTSOF(bad_hosts); i++)
		assert_false(store_host_name_is_valid(bad_hosts[i]));
}

static void test_groups(void **state) {
	Fixture *f = *state;
	Store *s = f->store;
	assert_int_equal(store_group_add(s, "/paris"), 0);
	assert_int_equal(store_group_add(s, "/paris/fs"), 0);
	assert_int_equal(store_group_add(s, "/paris"), -EEXIST);
	assert_int_equal(store_group_add(s, "/"), -EEXIST);
	assert_int_equal(store_group_add(s, "/lyon/fs"), -ENOENT);
	assert_int_equal(store_group_add(s, "/bad/"), -EINVAL);
	assert_int_equal(store_group_add(s, NULL), -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "invalid group path"));

	assert_int_equal(store_group_block_inheritance(s, "/paris/fs", true), 0);
	assert_int_equal(store_group_block_inheritance(s, "/nowhere", true), -ENOENT);
	StoreGroup *g = NULL;
	size_t n = 0;
	assert_int_equal(store_group_list(s, &g, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(g[0].path, "/");
	assert_string_equal(g[1].path, "/paris");
	assert_string_equal(g[2].path, "/paris/fs");
	assert_false(g[1].block_inheritance);
	assert_true(g[2].block_inheritance);
	store_groups_free(g, n);
	assert_int_equal(store_group_block_inheritance(s, "/paris/fs", false), 0);

	assert_int_equal(store_group_rm(s, "/paris"), -ENOTEMPTY); /* child */
	assert_int_equal(store_host_add(s, "fs1", "/paris/fs"), 0);
	assert_int_equal(store_group_rm(s, "/paris/fs"), -ENOTEMPTY); /* host */
	assert_int_equal(store_host_rm(s, "fs1"), 0);
	import(f, "base", 500, true);
	assert_int_equal(store_link_add(s, "base", "/paris/fs", -1, false, false), 0);
	assert_int_equal(store_group_rm(s, "/paris/fs"), -ENOTEMPTY); /* link */
	assert_non_null(strstr(store_errmsg(s), "1 links"));
	assert_int_equal(store_link_rm(s, "base", "/paris/fs"), 0);
	assert_int_equal(store_group_rm(s, "/paris/fs"), 0);
	assert_int_equal(store_group_rm(s, "/paris/fs"), -ENOENT);
	assert_int_equal(store_group_rm(s, "/"), -EINVAL);
	assert_int_equal(store_group_rm(s, "/paris"), 0);
}

static void test_hosts(void **state) {
	Fixture *f = *state;
	Store *s = f->store;
	assert_int_equal(store_group_add(s, "/a"), 0);
	assert_int_equal(store_group_add(s, "/b"), 0);
	assert_int_equal(store_host_add(s, "zeta", "/a"), 0);
	assert_int_equal(store_host_add(s, "Alpha.example.com", "/b"), 0);
	assert_int_equal(store_host_add(s, "ZETA", "/b"), -EEXIST); /* names ignore case */
	assert_int_equal(store_host_add(s, "bad name", "/a"), -EINVAL);
	assert_int_equal(store_host_add(s, "x", "/nowhere"), -ENOENT);
	assert_int_equal(store_host_add(s, "x", "nowhere"), -EINVAL);

	_cleanup_free_ char *g = NULL;
	assert_int_equal(store_host_group(s, "zeta", &g), 0);
	assert_string_equal(g, "/a");
	assert_int_equal(store_host_move(s, "Zeta", "/b"), 0);
	free(g);
	g = NULL;
	assert_int_equal(store_host_group(s, "zeta", &g), 0);
	assert_string_equal(g, "/b");
	assert_int_equal(store_host_move(s, "nobody", "/b"), -ENOENT);
	assert_int_equal(store_host_move(s, "zeta", "/nowhere"), -ENOENT);
	assert_int_equal(store_host_group(s, "nobody", &g), -ENOENT);

	StoreHost *h = NULL;
	size_t n = 0;
	assert_int_equal(store_host_list(s, &h, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].name, "Alpha.example.com");
	assert_string_equal(h[1].name, "zeta");
	assert_string_equal(h[1].group, "/b");
	store_hosts_free(h, n);

	assert_int_equal(store_host_rm(s, "zeta"), 0);
	assert_int_equal(store_host_rm(s, "zeta"), -ENOENT);
	assert_int_equal(store_host_rm(s, "a b"), -EINVAL);
}

static void expect_links(Store *s, const char *group, const char *const *policies,
			 const int *orders, size_t n_expect) {
	StoreLink *l = NULL;
	size_t n = 0;
	assert_int_equal(store_link_list(s, group, &l, &n), 0);
	assert_int_equal(n, n_expect);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(l[i].policy, policies[i]);
		assert_int_equal(l[i].order, orders[i]);
	}
	store_links_free(l, n);
}

static void test_links(void **state) {
	Fixture *f = *state;
	Store *s = f->store;
	import(f, "p1", 100, true);
	import(f, "p2", 200, true);
	import(f, "p3", 300, true);
	assert_int_equal(store_group_add(s, "/a"), 0);
	assert_int_equal(store_link_add(s, "nope", "/a", -1, false, false), -ENOENT);
	assert_int_equal(store_link_add(s, "p1", "/nowhere", -1, false, false), -ENOENT);
	assert_int_equal(store_link_add(s, "p1", "a", -1, false, false), -EINVAL);
	assert_int_equal(store_link_add(s, "p1", "/a", -1, false, false), 0);
	assert_int_equal(store_link_add(s, "p1", "/a", -1, true, false), -EEXIST);
	assert_int_equal(store_link_add(s, "p2", "/a", -1, true, false), 0);
	expect_links(s, "/a", (const char *const[]){ "p1", "p2" }, (const int[]){ 1, 2 }, 2);
	/* Order 1 is taken: p3 goes first, the others move down. */
	assert_int_equal(store_link_add(s, "p3", "/a", 1, false, true), 0);
	expect_links(s, "/a", (const char *const[]){ "p3", "p1", "p2" }, (const int[]){ 1, 2, 3 },
		     3);
	/* A free order is used as given. */
	assert_int_equal(store_link_add(s, "p1", "/", 10, false, false), 0);
	expect_links(s, "/", (const char *const[]){ "p1" }, (const int[]){ 10 }, 1);
	expect_links(s, NULL, (const char *const[]){ "p1", "p3", "p1", "p2" },
		     (const int[]){ 10, 1, 2, 3 }, 4);

	StoreLink *l = NULL;
	size_t n = 0;
	assert_int_equal(store_link_list(s, "/a", &l, &n), 0);
	assert_false(l[0].enforced);
	assert_true(l[0].disabled);
	assert_true(l[2].enforced);
	assert_false(l[2].disabled);
	store_links_free(l, n);
	assert_int_equal(store_link_list(s, "/nowhere", &l, &n), -ENOENT);

	assert_int_equal(store_link_rm(s, "p3", "/a"), 0);
	assert_int_equal(store_link_rm(s, "p3", "/a"), -ENOENT);
	assert_int_equal(store_link_rm(s, "nope", "/a"), -ENOENT);
	assert_int_equal(store_link_rm(s, "p1", "/nowhere"), -ENOENT);
	expect_links(s, "/a", (const char *const[]){ "p1", "p2" }, (const int[]){ 2, 3 }, 2);
}

static void test_import_history_rollback(void **state) {
	Fixture *f = *state;
	Store *s = f->store;
	assert_int_equal(import(f, "base", 100, true), 1);
	assert_int_equal(import(f, "base", 100, false), 1); /* same content: no version */
	assert_int_equal(import(f, "base", 200, true), 2);
	assert_int_equal(import(f, "other", 300, true), 1);

	StoreVersion *v = NULL;
	size_t n = 0;
	assert_int_equal(store_policy_history(s, "base", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].version, 1);
	assert_int_equal(v[1].version, 2);
	assert_string_equal(v[0].author, "alice");
	assert_string_equal(v[0].comment, "test");
	assert_string_not_equal(v[0].hash, v[1].hash);
	assert_true(v[0].created_usec > 0 && v[0].created_usec <= v[1].created_usec);
	char hash1[65];
	strcpy(hash1, v[0].hash);
	store_versions_free(v, n);
	assert_int_equal(store_policy_history(s, "nope", &v, &n), -ENOENT);

	assert_int_equal(store_policy_list(s, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].policy, "base");
	assert_int_equal(v[0].version, 2);
	assert_string_equal(v[1].policy, "other");
	store_versions_free(v, n);

	_cleanup_free_ char *xml1 = NULL, *latest = NULL;
	StoreVersion info;
	assert_int_equal(store_policy_xml(s, "base", 1, &xml1, NULL), 0);
	assert_non_null(strstr(xml1, ">100<"));
	assert_int_equal(store_policy_xml(s, "base", 0, &latest, &info), 0);
	assert_non_null(strstr(latest, ">200<"));
	assert_int_equal(info.version, 2);
	store_version_clear(&info);
	assert_int_equal(store_policy_xml(s, "base", 9, &latest, NULL), -ENOENT);
	assert_int_equal(store_policy_xml(s, "nope", 0, &latest, NULL), -ENOENT);

	/* The stored text is the canonical form: it parses back to the same hash. */
	DiagList diag = { 0 };
	_cleanup_(policy_freep) Policy *p = NULL;
	assert_int_equal(policy_parse_memory(f->catalog, xml1, strlen(xml1), "v1", &p, &diag), 0);
	assert_string_equal(p->hash, hash1);

	unsigned nv = 0;
	assert_int_equal(store_policy_rollback(s, "base", 1, "carol", &nv), 0);
	assert_int_equal(nv, 3);
	assert_int_equal(store_policy_history(s, "base", &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].hash, hash1);
	assert_string_equal(v[2].author, "carol");
	assert_non_null(strstr(v[2].comment, "rollback to version 1"));
	store_versions_free(v, n);
	/* Rolling back to what is already the latest content adds nothing. */
	assert_int_equal(store_policy_rollback(s, "base", 1, "carol", &nv), 0);
	assert_int_equal(nv, 3);
	assert_int_equal(store_policy_rollback(s, "base", 7, "carol", &nv), -ENOENT);
	assert_int_equal(store_policy_rollback(s, "nope", 1, "carol", &nv), -ENOENT);
	/* Re-importing version 2's content is new again (latest is v3 = v1). */
	assert_int_equal(import(f, "base", 200, true), 4);
}

static void test_versions_immutable(void **state) {
	Fixture *f = *state;
	import(f, "base", 100, true);
	sqlite3 *db = store_db(f->store);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE versions SET xml = 'x'", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM versions", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM groups WHERE path = '/'", NULL, NULL,
					  NULL),
			     SQLITE_OK);
}

static char *file_bytes(const char *path, size_t *len) {
	char *buf = NULL;
	assert_int_equal(read_file(path, 64 << 20, &buf, len), 0);
	return buf;
}

/* A call that fails after it already wrote (the link shift, the new policy
 * row) leaves the store file exactly as it was. */
static void test_failed_call_changes_nothing(void **state) {
	Fixture *f = *state;
	Store *s = f->store;
	import(f, "p1", 100, true);
	import(f, "p2", 200, true);
	assert_int_equal(store_group_add(s, "/a"), 0);
	assert_int_equal(store_link_add(s, "p1", "/a", 1, false, false), 0);
	sqlite3 *db = store_db(s);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TRIGGER fail_links BEFORE INSERT ON links"
				      " BEGIN SELECT RAISE(ABORT, 'injected'); END;"
				      "CREATE TRIGGER fail_versions BEFORE INSERT ON versions"
				      " BEGIN SELECT RAISE(ABORT, 'injected'); END;",
				      NULL, NULL, NULL),
		     SQLITE_OK);
	store_close(s);
	f->store = NULL;
	size_t len_before, len_after;
	_cleanup_free_ char *before = file_bytes(f->path, &len_before);

	assert_int_equal(store_open(f->path, &f->store), 0);
	s = f->store;
	assert_int_equal(store_link_add(s, "p2", "/a", 1, false, false), -EIO);
	assert_non_null(strstr(store_errmsg(s), "injected"));
	_cleanup_(policy_freep) Policy *p = make_policy(f, "p3", 300);
	assert_int_equal(store_import(s, p, "x", NULL, NULL, NULL), -EIO);
	assert_int_equal(store_policy_xml(s, "p3", 0, NULL, NULL), -ENOENT);
	expect_links(s, "/a", (const char *const[]){ "p1" }, (const int[]){ 1 }, 1);
	store_close(s);
	f->store = NULL;

	_cleanup_free_ char *after = file_bytes(f->path, &len_after);
	assert_int_equal(len_before, len_after);
	assert_memory_equal(before, after, len_before);
	assert_int_equal(store_open(f->path, &f->store), 0);
}

static void test_batch(void **state) {
	Fixture *f = *state;
	Store *s = f->store;
	assert_int_equal(store_batch_begin(s), 0);
	assert_int_equal(store_batch_begin(s), -EBUSY);
	assert_int_equal(store_group_add(s, "/a"), 0);
	assert_int_equal(store_host_add(s, "h1", "/a"), 0);
	assert_int_equal(store_host_add(s, "h1", "/a"), -EEXIST); /* undoes only itself */
	assert_int_equal(store_host_add(s, "h2", "/a"), 0);
	assert_int_equal(store_batch_commit(s), 0);
	StoreHost *h = NULL;
	size_t n = 0;
	assert_int_equal(store_host_list(s, &h, &n), 0);
	assert_int_equal(n, 2);
	store_hosts_free(h, n);

	assert_int_equal(store_batch_begin(s), 0);
	assert_int_equal(store_host_add(s, "h3", "/a"), 0);
	store_batch_rollback(s);
	assert_int_equal(store_host_group(s, "h3", NULL), -ENOENT);
	assert_int_equal(store_batch_commit(s), -EINVAL);

	assert_int_equal(store_snapshot_begin(s), 0);
	assert_int_equal(store_batch_begin(s), -EBUSY);
	store_snapshot_end(s);
}

static int count_host(const char *name, const char *group, void *userdata) {
	(void)name;
	(void)group;
	(*(int *)userdata)++;
	return *(int *)userdata == 2 ? -ECANCELED : 0;
}

static int walk_again(const char *name, const char *group, void *userdata) {
	(void)name;
	(void)group;
	Store *s = userdata;
	StoreHost *h = NULL;
	size_t n = 0;
	_cleanup_free_ char *g = NULL;
	assert_int_equal(store_host_group(s, "h2", &g), 0); /* other queries work */
	return store_host_list(s, &h, &n);
}

static void test_host_foreach_stops(void **state) {
	Fixture *f = *state;
	assert_int_equal(store_host_add(f->store, "h1", "/"), 0);
	assert_int_equal(store_host_add(f->store, "h2", "/"), 0);
	assert_int_equal(store_host_add(f->store, "h3", "/"), 0);
	int seen = 0;
	assert_int_equal(store_host_foreach(f->store, count_host, &seen), -ECANCELED);
	assert_int_equal(seen, 2);
	assert_int_equal(store_host_foreach(f->store, walk_again, f->store), -EBUSY);
	seen = 0; /* the failed walk left the query reusable */
	assert_int_equal(store_host_foreach(f->store, count_host, &seen), -ECANCELED);
}

/* Another writer holds the lock past the busy timeout: -EBUSY, and the
 * call changed nothing. */
static void test_busy(void **state) {
	Fixture *f = *state;
	sqlite3 *other;
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_busy_timeout(store_db(f->store), 50);
	assert_int_equal(store_group_add(f->store, "/a"), -EBUSY);
	assert_non_null(strstr(store_errmsg(f->store), "locked"));
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_group_add(f->store, "/a"), 0);
}

/* Opening an up-to-date store takes no write lock: readers open and read
 * while a writer holds the lock. */
static void test_open_while_locked(void **state) {
	Fixture *f = *state;
	assert_int_equal(store_group_add(f->store, "/a"), 0);
	sqlite3 *other;
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO groups (path, parent)"
					     " VALUES ('/uncommitted', 1)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	unsigned long long start = now_mono_usec();
	Store *s = NULL;
	assert_int_equal(store_open(f->path, &s), 0);
	StoreGroup *g = NULL;
	size_t n = 0;
	assert_int_equal(store_group_list(s, &g, &n), 0);
	assert_int_equal(n, 2); /* "/" and "/a", not the uncommitted one */
	store_groups_free(g, n);
	assert_true(now_mono_usec() - start < 1000000);
	store_close(s);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_foreign_and_newer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_history_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_immutable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_call_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_foreach_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_while_locked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
