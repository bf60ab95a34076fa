/*
 * test_plugin_ksmbd.c - the ksmbd plugin against scratch roots: a
 * ksmbd.conf holding `required` (which ksmbd reads as disabled) is reported
 * with its line and rewritten to `mandatory`; comments, spacing and shares
 * are kept byte for byte; no table row can ever produce a value ksmbd does
 * not parse; without ksmbd.conf or tools, detect claims nothing; rollback
 * restores the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../plugins/ksmbd.c"
#include "test_plugin_common.h"

typedef struct Fixture {
	char dir[TEST_DIR_MAX];
	char *conf;
	PluginContext ctx;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	if (!f || test_mkdtemp(f->dir, "plugin-ksmbd") < 0)
		return -1;
	f->conf = strdup_printf("%s/etc/ksmbd/ksmbd.conf", f->dir);
	f->ctx = test_plugin_context(f->dir);
	f->ctx.tools.ksmbd_control = "";
	*state = f;
	return plugin_mkdir_parents(f->conf);
}

static int teardown(void **state) {
	Fixture *f = *state;
	int r = test_rm_rf(f->dir);
	free(f->conf), free(f);
	return r;
}

static char *v_true[] = { "true", NULL }, *v_false[] = { "false", NULL }, *v_311[] = { "3.1.1", NULL },
	    *v_port[] = { "4455", NULL };
static const PluginSetting strict[] = {
	{ "server.signing.required", v_true },   { "server.encryption.required", v_true },
	{ "server.dialect.min", v_311 },         { "server.guest.allowed", v_false },
	{ "server.transport.tcp.port", v_port },
};

static void test_required_reported_and_replaced(void **state) {
	Fixture *f = *state;
	const char *text = "; ksmbd.conf of the admin\n"
			   "[global]\n"
			   "\tnetbios name = NAS   \n"
			   "  server signing=required\n"
			   "\t# smb3 encryption = mandatory\n"
			   "\n"
			   "[pub]\n"
			   "\tpath = /srv/pub\n";
	test_put(f->conf, text);
	PluginPolicy p = { .settings = strict, .n_settings = ELEMENTSOF(strict) };
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(ksmbd_plan(&f->ctx, &p, &plan), 0);
	assert_int_equal(plan->n_findings, 1);
	assert_int_equal(plan->findings[0].level, PLUGIN_FINDING_WARNING);
	assert_string_equal(plan->findings[0].id, "server.signing.required");
	assert_int_equal(plan->findings[0].line, 4);
	assert_non_null(strstr(plan->findings[0].message, "disabled"));
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	assert_int_equal(ksmbd_apply(&f->ctx, plan, &b), 0);
	_cleanup_free_ char *after = NULL;
	assert_int_equal(read_file(f->conf, 1 << 20, &after, NULL), 0);
	assert_string_equal(after, "; ksmbd.conf of the admin\n"
				   "[global]\n"
				   "\tnetbios name = NAS   \n"
				   "  server signing=mandatory\n"
				   "  smb3 encryption = mandatory\n"
				   "  server min protocol = SMB3_11\n"
				   "  map to guest = never\n"
				   "  restrict anonymous = 2\n"
				   "  tcp port = 4455\n"
				   "\t# smb3 encryption = mandatory\n"
				   "\n"
				   "[pub]\n"
				   "\tpath = /srv/pub\n");
	assert_null(strstr(after, "required"));
	assert_int_equal(ksmbd_verify(&f->ctx, plan), 0);
	_cleanup_(plugin_plan_freep) PluginPlan *again = NULL;
	assert_int_equal(ksmbd_plan(&f->ctx, &p, &again), 0);
	assert_int_equal(again->n_changes, 0);
	assert_int_equal(again->n_findings, 0);
	assert_int_equal(ksmbd_rollback(&f->ctx, b), 0);
	_cleanup_free_ char *restored = NULL;
	assert_int_equal(read_file(f->conf, 1 << 20, &restored, NULL), 0);
	assert_string_equal(restored, text);
}

/* Whatever the policy, the tristate keys only get values ksmbd parses. */
static void test_tables_never_write_required(void **state) {
	(void)state;
	static const char *const inputs[] = { "true", "false" };
	for (size_t i = 0; i < ELEMENTSOF(ksmbd_settings); i++) {
		const KsmbdKey *k = ksmbd_settings[i].impl;
		if (!k->tristate)
			continue;
		for (size_t j = 0; j < ELEMENTSOF(inputs); j++) {
			char *v[] = { (char *)inputs[j], NULL };
			PluginSetting s = { ksmbd_settings[i].id, v };
			PluginPolicy p = { .settings = &s, .n_settings = 1 };
			_cleanup_free_ char *out = NULL;
			assert_int_equal(k->render(&p, s.id, k->arg, &out), 0);
			assert_true(strv_contains((char **)ksmbd_tristate_values, out));
		}
	}
}

static void test_verify_catches_required(void **state) {
	Fixture *f = *state;
	const char *text = "[global]\n\tserver signing = auto\n";
	test_put(f->conf, text);
	PluginPolicy p = { .settings = strict, .n_settings = 1 };
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	assert_int_equal(ksmbd_plan(&f->ctx, &p, &plan), 0);
	assert_int_equal(ksmbd_apply(&f->ctx, plan, &b), 0);
	const char *drift = "[global]\n\tserver signing = required\n";
	test_put(f->conf, drift);
	assert_int_equal(ksmbd_verify(&f->ctx, plan), -EBADE);
}

/* read_actual: every row unknown without ksmbd.conf; with one, the keys
 * [global] sets are SET with their text, the others UNSET. */
static void test_read_actual(void **state) {
	Fixture *f = *state;
	PluginActual *a = NULL;
	size_t n = 0;
	assert_int_equal(ksmbd_read_actual(&f->ctx, &a, &n), 0);
	assert_int_equal(n, ELEMENTSOF(ksmbd_settings));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(a[i].state, PLUGIN_VALUE_UNKNOWN);
	plugin_actual_free(a, n);
	test_put(f->conf, "[global]\n\tserver signing = mandatory\n[pub]\n\ttcp port = 1\n");
	assert_int_equal(ksmbd_read_actual(&f->ctx, &a, &n), 0);
	assert_int_equal(n, ELEMENTSOF(ksmbd_settings));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(a[i].id, ksmbd_settings[i].id);
		assert_string_equal(a[i].target, ksmbd_settings[i].target);
		if (streq(a[i].target, "server signing")) {
			assert_int_equal(a[i].state, PLUGIN_VALUE_SET);
			assert_string_equal(a[i].raw, "mandatory");
		} else
			assert_int_equal(a[i].state, PLUGIN_VALUE_UNSET);
	}
	plugin_actual_free(a, n);
}

static void test_detect_claims_nothing_without_ksmbd(void **state) {
	Fixture *f = *state;
	PluginDetect d = {};
	assert_int_equal(ksmbd_detect(&f->ctx, &d), 0);
	assert_false(d.applicable);
	assert_false(d.running);
	assert_non_null(strstr(d.detail, "not installed"));
	assert_non_null(strstr(d.detail, "not loaded"));
	plugin_detect_clear(&d);
	PluginPolicy p = { .settings = strict, .n_settings = ELEMENTSOF(strict) };
	PluginPlan *plan = NULL;
	assert_int_equal(ksmbd_plan(&f->ctx, &p, &plan), -ENOENT);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_required_reported_and_replaced, setup, teardown),
		cmocka_unit_test(test_tables_never_write_required),
		cmocka_unit_test_setup_teardown(test_verify_catches_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_actual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_claims_nothing_without_ksmbd, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
