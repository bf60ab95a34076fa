/*
 * test_agent_engine.c - the agent cycle (agent/engine.c) over fake plugins:
 * a plugin whose verify fails is rolled back alone and the plugins after it
 * still run; a plugin whose apply fails is reported, not rolled back (it
 * restored itself); an inapplicable plugin claims nothing; plan and verify
 * cycles never call apply; reports and the state DB agree.  Also the plugin
 * host's ABI check.
 *
 * The fakes stand in for targets only where a real failure cannot be
 * provoked on demand (a verify mismatch right after a good apply); the
 * integration tests run the real plugins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../agent/engine.c"

/* What each fake did, by plugin index. */
typedef struct FakeCalls {
	int apply, verify, rollback, backup_free;
} FakeCalls;
static FakeCalls calls[8];

typedef struct FakeBehaviour {
	bool applicable;
	int apply_result;
	int verify_result;
} FakeBehaviour;

#define FAKE_SETTING_ROWS(n) \
	static const PluginSettingInfo n##_rows[] = { { "server.signing.required", n##_target, "t", NULL } }

static int fake_index(const char *name);
static const FakeBehaviour *fake_behaviour(const char *name);

static int fake_detect(const PluginContext *ctx, PluginDetect *ret) {
	(void)ctx;
	(void)ret;
	return 0;
}
static void fake_detect_clear(PluginDetect *d) {
	free(d->detail);
	free(d->version);
}
static void fake_plan_free(PluginPlan *p) {
	if (!p)
		return;
	for (size_t i = 0; i < p->n_changes; i++) {
		free(p->changes[i].id);
		free(p->changes[i].target);
		free(p->changes[i].actual);
		free(p->changes[i].desired);
	}
	free(p->changes);
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].data);
	}
	free(p->files);
	free(p);
}
static void fake_backup_free(PluginBackup *b) {
	if (!b)
		return;
	calls[fake_index(b->plugin)].backup_free++;
	free(b->plugin);
	free(b);
}

/* Each fake is generated from its name; the name selects its behaviour. */
#define FAKE_PLUGIN(n)                                                                         \
	static const char n##_target[] = #n " key";                                            \
	FAKE_SETTING_ROWS(n);                                                                  \
	static int n##_detect(const PluginContext *ctx, PluginDetect *ret) {                   \
		fake_detect(ctx, ret);                                                         \
		ret->installed = ret->applicable = fake_behaviour(#n)->applicable;             \
		ret->detail = strdup(#n " detail");                                            \
		return 0;                                                                      \
	}                                                                                      \
	static int n##_plan(const PluginContext *ctx, const PluginPolicy *pol, PluginPlan **ret) { \
		(void)ctx;                                                                     \
		assert_non_null(pol->xml);                                                     \
		assert_true(pol->n_settings > 10);                                             \
		PluginPlan *p = calloc(1, sizeof(PluginPlan));                                 \
		p->changes = calloc(1, sizeof(PluginChange));                                  \
		p->changes[0] = (PluginChange){ strdup("server.signing.required"),            \
						strdup(n##_target), strdup("auto"),            \
						strdup("mandatory") };                         \
		p->n_changes = 1;                                                              \
		p->files = calloc(1, sizeof(PluginFile));                                      \
		p->files[0] = (PluginFile){ strdup_printf("%s/etc/" #n ".conf", ctx->root),    \
					    strdup("x"), 1, 0644 };                            \
		p->n_files = 1;                                                                \
		*ret = p;                                                                      \
		return 0;                                                                      \
	}                                                                                      \
	static int n##_apply(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **b) { \
		(void)plan;                                                                    \
		assert_false(ctx->dry_run);                                                    \
		calls[fake_index(#n)].apply++;                                                 \
		*b = NULL;                                                                     \
		if (fake_behaviour(#n)->apply_result < 0)                                      \
			return fake_behaviour(#n)->apply_result;                               \
		*b = calloc(1, sizeof(PluginBackup));                                          \
		(*b)->plugin = strdup(#n);                                                     \
		return 0;                                                                      \
	}                                                                                      \
	static int n##_verify(const PluginContext *ctx, const PluginPlan *plan) {              \
		(void)ctx;                                                                     \
		(void)plan;                                                                    \
		calls[fake_index(#n)].verify++;                                                \
		return fake_behaviour(#n)->verify_result;                                      \
	}                                                                                      \
	static int n##_rollback(const PluginContext *ctx, const PluginBackup *b) {             \
		(void)ctx;                                                                     \
		assert_string_equal(b->plugin, #n);                                            \
		calls[fake_index(#n)].rollback++;                                              \
		return 0;                                                                      \
	}                                                                                      \
	static const SmbpolicyPlugin n##_plugin = {                                            \
		.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,                                   \
		.name = #n,                                                                    \
		.settings = n##_rows,                                                          \
		.n_settings = 1,                                                               \
		.detect = n##_detect,                                                          \
		.plan = n##_plan,                                                              \
		.apply = n##_apply,                                                            \
		.verify = n##_verify,                                                          \
		.rollback = n##_rollback,                                                      \
		.detect_clear = fake_detect_clear,                                             \
		.plan_free = fake_plan_free,                                                   \
		.backup_free = fake_backup_free,                                               \
	};

/* Order = plugin order in the host (as if sorted by name). */
static const char *const fake_names[] = { "alpha", "beta", "delta", "gamma", "omega" };
static const FakeBehaviour behaviours[] = {
	{ true, 0, 0 },          /* alpha: fine */
	{ true, 0, -EBADE },     /* beta: verify mismatch -> rollback */
	{ false, 0, 0 },         /* delta: not installed */
	{ true, -EBADMSG, 0 },   /* gamma: validator refused, nothing changed */
	{ true, 0, 0 },          /* omega: fine, runs after the failures */
};

static int fake_index(const char *name) {
	for (size_t i = 0; i < ELEMENTSOF(fake_names); i++)
		if (streq(fake_names[i], name))
			return (int)i;
	fail_msg("unknown fake %s", name);
	return 0;
}
static const FakeBehaviour *fake_behaviour(const char *name) {
	return &behaviours[fake_index(name)];
}

FAKE_PLUGIN(alpha)
FAKE_PLUGIN(beta)
FAKE_PLUGIN(delta)
FAKE_PLUGIN(gamma)
FAKE_PLUGIN(omega)

typedef struct Fixture {
	char dir[64];
	Engine *engine;
	PluginHandle items[5];
	PluginHost host;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	strcpy(f->dir, "/tmp/test-agent-engine.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	const SmbpolicyPlugin *ps[] = { &alpha_plugin, &beta_plugin, &delta_plugin, &gamma_plugin,
					&omega_plugin };
	for (size_t i = 0; i < ELEMENTSOF(ps); i++) {
		assert_int_equal(plugin_host_check(ps[i]), 0);
		f->items[i] = (PluginHandle){ NULL, ps[i], NULL };
	}
	f->host = (PluginHost){ f->items, ELEMENTSOF(ps) };

	/* An engine over the fakes: what engine_new() does, minus dlopen. */
	Engine *e = calloc(1, sizeof(Engine));
	e->root = strdup(f->dir);
	e->host = strdup("testhost");
	e->policy_path = strdup(SMBPOLICY_SRCDIR "/schema/policies/strict.xml");
	e->managed = calloc(1, sizeof(char *));
	e->managed_owner = calloc(1, sizeof(char *));
	e->plugins = &f->host;
	assert_int_equal(catalog_load_default(&e->catalog), 0);
	_cleanup_free_ char *db = strdup_printf("%s/agent.db", f->dir);
	assert_int_equal(state_open(db, &e->state), 0);
	DiagList diag = {};
	assert_int_equal(engine_load_policy(e, &diag), 1);
	f->engine = e;
	memset(calls, 0, sizeof(calls));
	journal_set_stderr_level(-1);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	f->engine->plugins = NULL; /* not dlopen'ed: nothing to close */
	engine_free(f->engine);
	_cleanup_free_ char *cmd = strdup_printf("rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static const ReportPlugin *find_plugin(const Report *r, const char *name) {
	for (size_t i = 0; i < r->n_plugins; i++)
		if (streq(r->plugins[i].name, name))
			return &r->plugins[i];
	fail_msg("no plugin %s in report", name);
	return NULL;
}

static const ReportSetting *find_row(const Report *r, const char *plugin) {
	for (size_t i = 0; i < r->n_settings; i++)
		if (streq(r->settings[i].plugin, plugin))
			return &r->settings[i];
	return NULL;
}

static void test_failed_plugin_rolled_back_alone(void **state) {
	Fixture *f = *state;
	_cleanup_(report_freep) Report *r = NULL;
	assert_int_equal(engine_run(f->engine, REPORT_APPLY, &r), 0);

	assert_int_equal(find_plugin(r, "alpha")->status, RP_CHANGED);
	assert_int_equal(find_plugin(r, "beta")->status, RP_FAILED);
	assert_non_null(strstr(find_plugin(r, "beta")->message, "rolled back"));
	assert_int_equal(find_plugin(r, "delta")->status, RP_UNAVAILABLE);
	assert_string_equal(find_plugin(r, "delta")->message, "delta detail");
	assert_int_equal(find_plugin(r, "gamma")->status, RP_FAILED);
	assert_non_null(strstr(find_plugin(r, "gamma")->message, "nothing changed"));
	assert_int_equal(find_plugin(r, "omega")->status, RP_CHANGED);

	/* beta: applied, verified, rolled back once, backup freed; the others
	 * never rolled back; delta never applied. */
	assert_int_equal(calls[1].apply, 1);
	assert_int_equal(calls[1].rollback, 1);
	assert_int_equal(calls[1].backup_free, 1);
	assert_int_equal(calls[0].rollback + calls[3].rollback + calls[4].rollback, 0);
	assert_int_equal(calls[0].backup_free, 1);
	assert_int_equal(calls[2].apply, 0);
	assert_int_equal(calls[3].apply, 1);
	assert_int_equal(calls[3].verify, 0);
	assert_int_equal(calls[4].apply, 1);

	assert_int_equal(find_row(r, "alpha")->status, RS_CHANGED);
	assert_string_equal(find_row(r, "alpha")->target, "alpha key");
	assert_int_equal(find_row(r, "beta")->status, RS_FAILED);
	assert_null(find_row(r, "delta"));
	assert_false(r->compliant);
	assert_int_equal(r->failed, 2);
	assert_int_equal(r->changed, 2);
	assert_string_equal(r->policy, "strict");
	assert_int_equal(strlen(r->version), 64);

	/* The same report is in the state DB. */
	_cleanup_(report_freep) Report *back = NULL;
	assert_int_equal(state_last(f->engine->state, REPORT_APPLY, &back), 0);
	assert_int_equal(back->n_plugins, r->n_plugins);
	assert_int_equal(back->n_settings, r->n_settings);
	assert_int_equal(back->failed, 2);
	assert_false(back->compliant);

	/* Managed paths came from the plans, with their owners. */
	_cleanup_free_ char *omega = strdup_printf("%s/etc/omega.conf", f->dir);
	assert_string_equal(engine_path_owner(f->engine, omega), "omega");
}

static void test_cached_run_skips_unchanged_plugins(void **state) {
	Fixture *f = *state;
	_cleanup_(report_freep) Report *r1 = NULL, *r2 = NULL, *r3 = NULL;
	assert_int_equal(engine_run(f->engine, REPORT_APPLY, &r1), 0);
	/* Nothing changed: alpha and omega (good) are skipped, the failed
	 * ones run again. */
	assert_int_equal(engine_run_cached(f->engine, REPORT_APPLY, &r2), 0);
	assert_int_equal(calls[0].apply, 1);
	assert_int_equal(calls[4].apply, 1);
	assert_int_equal(calls[1].apply, 2);
	assert_int_equal(find_plugin(r2, "omega")->status, RP_OK);
	assert_int_equal(find_row(r2, "omega")->status, RS_OK);
	/* A managed file of omega appears: omega runs, alpha still skipped. */
	_cleanup_free_ char *etc = strdup_printf("%s/etc", f->dir);
	_cleanup_free_ char *omega = strdup_printf("%s/etc/omega.conf", f->dir);
	assert_int_equal(mkdir(etc, 0755), 0);
	assert_int_equal(write_file_atomic(omega, "y", 1, 0644), 0);
	assert_int_equal(engine_run_cached(f->engine, REPORT_APPLY, &r3), 0);
	assert_int_equal(calls[4].apply, 2);
	assert_int_equal(calls[0].apply, 1);
	/* The uncached run always runs everything. */
	Report *r4 = NULL;
	assert_int_equal(engine_run(f->engine, REPORT_APPLY, &r4), 0);
	assert_int_equal(calls[0].apply, 2);
	report_free(r4);
}

static void test_plan_and_verify_write_nothing(void **state) {
	Fixture *f = *state;
	_cleanup_(report_freep) Report *plan = NULL, *verify = NULL;
	assert_int_equal(engine_run(f->engine, REPORT_PLAN, &plan), 0);
	assert_int_equal(engine_run(f->engine, REPORT_VERIFY, &verify), 0);
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		assert_int_equal(calls[i].apply + calls[i].rollback, 0);
	assert_int_equal(find_plugin(plan, "alpha")->status, RP_PENDING);
	assert_int_equal(find_row(plan, "alpha")->status, RS_CHANGE);
	assert_int_equal(find_plugin(verify, "omega")->status, RP_DRIFT);
	assert_int_equal(find_row(verify, "omega")->status, RS_DRIFT);
	assert_false(verify->compliant);
	assert_int_equal(plan->failed, 0);
}

static void test_no_policy_no_cycle(void **state) {
	Fixture *f = *state;
	EnginePolicy *saved = f->engine->policy;
	f->engine->policy = NULL;
	Report *r = NULL;
	assert_int_equal(engine_run(f->engine, REPORT_APPLY, &r), -ENODATA);
	assert_null(r);
	f->engine->policy = saved;
}

static void test_bad_policy_keeps_old(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *bad = strdup_printf("%s/bad.xml", f->dir);
	assert_int_equal(write_file_atomic(bad, "<policy", 7, 0644), 0);
	free(f->engine->policy_path);
	f->engine->policy_path = strdup(bad);
	DiagList diag = {};
	assert_true(engine_load_policy(f->engine, &diag) < 0);
	assert_true(diag.n > 0);
	diag_clear(&diag);
	assert_string_equal(engine_policy_name(f->engine), "strict");
}

static void test_abi_check(void **state) {
	(void)state;
	SmbpolicyPlugin p = alpha_plugin;
	assert_int_equal(plugin_host_check(&p), 0);
	p.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION + 1;
	assert_int_equal(plugin_host_check(&p), -EPROTO);
	p = alpha_plugin;
	p.verify = NULL;
	assert_int_equal(plugin_host_check(&p), -EINVAL);
	assert_int_equal(plugin_host_check(NULL), -EINVAL);
}

static void test_plugin_dir_skips_bad_files(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *so = strdup_printf("%s/broken.so", f->dir);
	assert_int_equal(write_file_atomic(so, "not an ELF", 10, 0644), 0);
	PluginHost *h = NULL;
	assert_int_equal(plugin_host_load(f->dir, &h), 0);
	assert_int_equal(h->n, 0);
	plugin_host_free(h);
	_cleanup_free_ char *missing = strdup_printf("%s/nope", f->dir);
	assert_int_equal(plugin_host_load(missing, &h), -ENOENT);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_plugin_rolled_back_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_run_skips_unchanged_plugins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_and_verify_write_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_policy_no_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_policy_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_dir_skips_bad_files, setup, teardown),
		cmocka_unit_test(test_abi_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
