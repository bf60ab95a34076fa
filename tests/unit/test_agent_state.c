/*
 * test_agent_state.c - the agent's SQLite state DB (agent/state.c): a
 * recorded report reads back equal; the newest of a kind is found; the last
 * apply time; managed paths
 * replace each other; a DB from a newer agent (higher user_version) is
 * refused; pruning keeps STATE_KEEP_RUNS runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "../../agent/state.c"

typedef struct Fixture {
	char dir[64];
	char *path;
	AgentState *s;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	strcpy(f->dir, "/tmp/test-agent-state.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = strdup_printf("%s/agent.db", f->dir);
	assert_int_equal(state_open(f->path, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	state_close(f->s);
	_cleanup_free_ char *cmd = strdup_printf("rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->path);
	free(f);
	return 0;
}

static Report *make(ReportKind kind, bool drift) {
	Report *r = NULL;
	assert_int_equal(report_new(kind, "h", "p", "v1", &r), 0);
	assert_int_equal(report_add_plugin(r, "samba", drift ? RP_DRIFT : RP_OK, "m'; DROP TABLE runs"),
			 0);
	assert_int_equal(report_add_setting(r, "samba", "server.signing.required", "server signing",
					    "auto", "mandatory", drift ? RS_DRIFT : RS_OK),
			 0);
	report_finish(r);
	return r;
}

static void test_record_and_read_back(void **state) {
	Fixture *f = *state;
	assert_int_equal(state_last(f->s, -1, &(Report *){ NULL }), -ENOENT);
	_cleanup_(report_freep) Report *a = make(REPORT_APPLY, false);
	_cleanup_(report_freep) Report *v = make(REPORT_VERIFY, true);
	int64_t id1 = 0, id2 = 0;
	assert_int_equal(state_record(f->s, a, &id1), 0);
	assert_int_equal(state_record(f->s, v, &id2), 0);
	assert_true(id2 > id1);

	_cleanup_(report_freep) Report *last = NULL, *last_apply = NULL;
	assert_int_equal(state_last(f->s, -1, &last), 0);
	assert_int_equal(last->kind, REPORT_VERIFY);
	assert_false(last->compliant);
	assert_int_equal(state_last(f->s, REPORT_APPLY, &last_apply), 0);
	_cleanup_free_ char *x = NULL, *y = NULL;
	assert_int_equal(report_to_json(a, &x), 0);
	assert_int_equal(report_to_json(last_apply, &y), 0);
	assert_string_equal(x, y);
	unsigned long long t = 0;
	assert_int_equal(state_last_applied_usec(f->s, &t), 0);
	assert_int_equal(t, a->finished_usec);
}

static void test_managed_paths(void **state) {
	Fixture *f = *state;
	char *p1[] = { "/a/smb.conf", "/b/ksmbd.conf", NULL }, *o1[] = { "samba", "ksmbd", NULL };
	char *p2[] = { "/c/x.conf", NULL }, *o2[] = { "cifs", NULL };
	assert_int_equal(state_managed_save(f->s, p1, o1), 0);
	assert_int_equal(state_managed_save(f->s, p2, o2), 0);
	_cleanup_strv_free_ char **paths = NULL, **owners = NULL;
	assert_int_equal(state_managed_load(f->s, &paths, &owners), 0);
	assert_true(strv_equal(paths, p2));
	assert_true(strv_equal(owners, o2));
}

static void test_newer_schema_refused(void **state) {
	Fixture *f = *state;
	state_close(f->s);
	f->s = NULL;
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(state_open(f->path, &f->s), -EPROTONOSUPPORT);
	assert_null(f->s);
}

static void test_prune(void **state) {
	Fixture *f = *state;
	_cleanup_(report_freep) Report *r = make(REPORT_VERIFY, false);
	for (int i = 0; i < STATE_KEEP_RUNS + 5; i++)
		assert_int_equal(state_record(f->s, r, NULL), 0);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(f->s->db, "SELECT count(*) FROM runs", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int(st, 0) <= STATE_KEEP_RUNS + 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(f->s->db,
					    "SELECT count(*) FROM setting_results WHERE run_id NOT IN"
					    " (SELECT id FROM runs)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0); /* cascaded */
	sqlite3_finalize(st);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_managed_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
