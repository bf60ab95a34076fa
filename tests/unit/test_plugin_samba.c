/*
 * test_plugin_samba.c - the samba plugin against scratch roots, with the
 * real testparm:
 *  - hostile smb.conf (include already present, comments, odd spacing,
 *    continuation lines): apply leaves it byte for byte, no second include;
 *  - a configuration testparm rejects (bad enum injected into the planned
 *    file, or an admin's broken smb.conf): apply fails, nothing changed;
 *  - an admin line after the include that overrides a value: verify fails;
 *  - kill -9 at random points of apply, 100 times: each managed file is its
 *    old or its new version and testparm accepts the result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "../../plugins/samba.c"
#include "test_plugin_common.h"

typedef struct Fixture {
	char dir[TEST_DIR_MAX];
	char *root;
	char *conf;
	char *owned;
	PluginContext ctx;
} Fixture;

static char *strict_values[][2] = {
	{ "server.signing.required", "true" },   { "client.signing.required", "true" },
	{ "server.encryption.required", "true" }, { "server.dialect.min", "3.1.1" },
	{ "server.dialect.max", "3.1.1" },        { "server.guest.allowed", "false" },
	{ "server.transport.tcp.port", "445" },   { "firewall.netbios.legacy", "false" },
};

/* A PluginPolicy over strict_values (static storage: tests are serial). */
static PluginPolicy strict_policy(void) {
	static char *vals[ELEMENTSOF(strict_values)][2];
	static PluginSetting s[ELEMENTSOF(strict_values)];
	for (size_t i = 0; i < ELEMENTSOF(strict_values); i++) {
		vals[i][0] = strict_values[i][1];
		vals[i][1] = NULL;
		s[i] = (PluginSetting){ strict_values[i][0], vals[i] };
	}
	return (PluginPolicy){ .name = "strict", .settings = s, .n_settings = ELEMENTSOF(s) };
}

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	if (!f || test_mkdtemp(f->dir, "plugin-samba") < 0)
		return -1;
	f->root = strdup_printf("%s/root", f->dir);
	f->conf = strdup_printf("%s/etc/samba/smb.conf", f->root);
	f->owned = strdup_printf("%s/etc/samba/smbpolicy.conf", f->root);
	if (plugin_mkdir_parents(f->conf) < 0)
		return -1;
	f->ctx = test_plugin_context(f->root);
	setenv("TMPDIR", f->dir, 1);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	int r = test_rm_rf(f->dir);
	free(f->root), free(f->conf), free(f->owned), free(f);
	return r;
}

static bool testparm_ok(const char *conf) {
	char *argv[] = { "testparm", "-s", (char *)conf, NULL };
	return plugin_run(argv, 30000, NULL, NULL) == 0;
}

static void test_include_already_present(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *text = strdup_printf("#  Admin's file; keep me\n"
						  "[global]\n"
						  "   workgroup =   ODD   \n"
						  "\t; server signing = disabled\n"
						  "  include=%s\n"
						  "  netbios aliases = a \\\n"
						  "     b\n"
						  "[data]\n"
						  "  path = /srv/data\n",
						  f->owned);
	test_put(f->conf, text);
	PluginPolicy p = strict_policy();
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &plan), 0);
	assert_true(plan->n_changes > 0);
	assert_int_equal(plan->n_files, 1); /* only the owned file */
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	assert_int_equal(samba_apply(&f->ctx, plan, &b), 0);
	_cleanup_free_ char *after = test_get(f->conf);
	assert_string_equal(after, text);
	assert_int_equal(samba_verify(&f->ctx, plan), 0);
	assert_true(testparm_ok(f->conf));
	/* A second plan is empty. */
	_cleanup_(plugin_plan_freep) PluginPlan *again = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &again), 0);
	assert_int_equal(again->n_changes, 0);
	assert_int_equal(again->n_files, 0);
	assert_int_equal(samba_rollback(&f->ctx, b), 0);
	assert_int_equal(access(f->owned, F_OK), -1);
}

static void test_include_added_once(void **state) {
	Fixture *f = *state;
	const char *text = "[global]\n\tworkgroup = W\n\n[data]\n\tpath = /srv\n";
	test_put(f->conf, text);
	PluginPolicy p = strict_policy();
	for (int i = 0; i < 2; i++) {
		_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
		_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
		assert_int_equal(samba_plan(&f->ctx, &p, &plan), 0);
		assert_int_equal(samba_apply(&f->ctx, plan, &b), 0);
	}
	_cleanup_free_ char *after = test_get(f->conf);
	_cleanup_free_ char *want =
		strdup_printf("[global]\n\tworkgroup = W\n\tinclude = %s\n\n[data]\n\tpath = /srv\n", f->owned);
	assert_string_equal(after, want);
}

static void test_testparm_rejects_nothing_changed(void **state) {
	Fixture *f = *state;
	const char *text = "[global]\n\tworkgroup = W\n";
	test_put(f->conf, text);
	PluginPolicy p = strict_policy();
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &plan), 0);
	/* Inject a bad enum into the file the plan would write. */
	PluginFile *owned = (PluginFile *)plan_file(plan, f->owned);
	assert_non_null(owned);
	char *bad = strdup_printf("%s\tserver signing = bogus\n", owned->data);
	free(owned->data);
	owned->data = bad;
	owned->len = strlen(bad);
	PluginBackup *b = (PluginBackup *)1;
	assert_int_equal(samba_apply(&f->ctx, plan, &b), -EBADMSG);
	assert_null(b);
	_cleanup_free_ char *after = test_get(f->conf);
	assert_string_equal(after, text);
	assert_int_equal(access(f->owned, F_OK), -1);

	/* An admin's smb.conf that testparm already rejects: plan refuses. */
	test_put(f->conf, "[global]\n\tserver signing = bogus\n");
	_cleanup_(plugin_plan_freep) PluginPlan *plan2 = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &plan2), -EBADMSG);
}

static void test_override_after_include_fails_verify(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *text = strdup_printf("[global]\n\tinclude = %s\n\tserver signing = disabled\n",
						  f->owned);
	test_put(f->conf, text);
	PluginPolicy p = strict_policy();
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &plan), 0);
	/* plan names the overriding line as an error... */
	bool named = false;
	for (size_t i = 0; i < plan->n_findings; i++)
		named = named || (plan->findings[i].level == PLUGIN_FINDING_ERROR && plan->findings[i].line == 3 &&
				  streq(plan->findings[i].id, "server.signing.required"));
	assert_true(named);
	/* ...and verify catches it if applied anyway. */
	assert_int_equal(samba_apply(&f->ctx, plan, &b), 0);
	assert_int_equal(samba_verify(&f->ctx, plan), -EBADE);
}

static void test_dry_run_writes_nothing(void **state) {
	Fixture *f = *state;
	const char *text = "[global]\n\tworkgroup = W\n";
	test_put(f->conf, text);
	PluginPolicy p = strict_policy();
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &plan), 0);
	PluginContext dry = f->ctx;
	dry.dry_run = true;
	PluginBackup *b = NULL;
	assert_int_equal(samba_apply(&dry, plan, &b), 0);
	assert_null(b);
	_cleanup_free_ char *after = test_get(f->conf);
	assert_string_equal(after, text);
	assert_int_equal(access(f->owned, F_OK), -1);
}

/* Kill -9 the applying child at random instants, 100 times. */
static void test_kill9_during_apply(void **state) {
	Fixture *f = *state;
	const char *old_conf = "# admin\n[global]\n   workgroup = W\n[s]\n path = /srv\n";
	PluginPolicy p = strict_policy();
	test_put(f->conf, old_conf);
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(samba_plan(&f->ctx, &p, &plan), 0);
	const PluginFile *nconf = plan_file(plan, f->conf), *nowned = plan_file(plan, f->owned);
	assert_non_null(nconf);
	assert_non_null(nowned);

	/* How long a whole apply takes here. */
	unsigned long long t0 = now_mono_usec();
	pid_t pid = fork();
	if (pid == 0) {
		PluginBackup *b = NULL;
		_exit(samba_apply(&f->ctx, plan, &b) == 0 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unsigned long long span = now_mono_usec() - t0;
	srand((unsigned)time(NULL));

	unsigned killed_mid = 0;
	for (int i = 0; i < 100; i++) {
		test_put(f->conf, old_conf);
		unlink(f->owned);
		pid = fork();
		if (pid == 0) {
			PluginBackup *b = NULL;
			_exit(samba_apply(&f->ctx, plan, &b) == 0 ? 0 : 1);
		}
		usleep((useconds_t)((unsigned long long)rand() % (span + span / 4 + 1)));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		bool conf_old = plugin_file_has(f->conf, old_conf, strlen(old_conf));
		bool conf_new = plugin_file_has(f->conf, nconf->data, nconf->len);
		bool owned_old = plugin_file_has(f->owned, NULL, 0);
		bool owned_new = plugin_file_has(f->owned, nowned->data, nowned->len);
		assert_true(conf_old || conf_new);
		assert_true(owned_old || owned_new);
		/* smb.conf never names a file that is not there yet. */
		assert_false(conf_new && owned_old);
		assert_true(testparm_ok(f->conf));
		killed_mid += (conf_old && owned_new);
	}
	print_message("apply takes %llu us; %u of 100 kills fell between the two renames\n", span,
		      killed_mid);

	/* One more apply after the carnage: it works and clears stale temps. */
	PluginBackup *b = NULL;
	assert_int_equal(samba_apply(&f->ctx, plan, &b), 0);
	plugin_backup_free(b);
	_cleanup_free_ char *cmd = strdup_printf("ls %s/etc/samba | grep -q smbpolicy-tmp", f->root);
	assert_int_not_equal(system(cmd), 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_include_already_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_added_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_testparm_rejects_nothing_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_after_include_fails_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_during_apply, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
