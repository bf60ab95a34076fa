/*
 * test_plugin_util.c - unit tests for plugins/plugin_util.c: the
 * line-preserving ini editor (comments, odd spacing, continuation lines and
 * other sections kept byte for byte), value maps, list comparison, running a
 * tool, the multi-file apply/restore, and read_actual's row collector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plugin_util.h"
#include "test_common.h"

static const char hostile[] =
	"# admin comment\n"
	"   ; another = comment\n"
	"[global]\n"
	"   workgroup=  WG   \n"
	"\tServer   Signing = auto\n"
	"  netbios aliases = a \\\n"
	"      b\n"
	"\n"
	"[share]\n"
	"  server signing = per-share-nonsense\n"
	"  path = /srv\n";

static void test_ini_get(void **state) {
	(void)state;
	_cleanup_free_ char *v = NULL;
	unsigned line = 0;
	assert_int_equal(plugin_ini_get(hostile, "global", "server signing", &v, &line), 0);
	assert_string_equal(v, "auto");
	assert_int_equal(line, 5);
	free(v);
	v = NULL;
	assert_int_equal(plugin_ini_get(hostile, "global", "netbiosaliases", &v, NULL), 0);
	assert_string_equal(v, "a       b");
	free(v);
	v = NULL;
	assert_int_equal(plugin_ini_get(hostile, "global", "path", &v, NULL), -ENOENT);
	assert_int_equal(plugin_ini_get(hostile, "share", "path", &v, NULL), 0);
	assert_string_equal(v, "/srv");
	free(v);
	v = NULL;
	/* commented-out keys are not keys */
	assert_int_equal(plugin_ini_get(hostile, "global", "another", &v, NULL), -ENOENT);
}

static void test_ini_set_replace_keeps_bytes(void **state) {
	(void)state;
	_cleanup_free_ char *out = NULL;
	assert_int_equal(plugin_ini_set(hostile, "global", "server signing", "mandatory", &out), 0);
	const char *want =
		"# admin comment\n"
		"   ; another = comment\n"
		"[global]\n"
		"   workgroup=  WG   \n"
		"\tServer   Signing = mandatory\n"
		"  netbios aliases = a \\\n"
		"      b\n"
		"\n"
		"[share]\n"
		"  server signing = per-share-nonsense\n"
		"  path = /srv\n";
	assert_string_equal(out, want);
}

static void test_ini_add_after_last_key(void **state) {
	(void)state;
	_cleanup_free_ char *out = NULL;
	assert_int_equal(plugin_ini_add(hostile, "global", "include", "/etc/x.conf", &out), 0);
	const char *want =
		"# admin comment\n"
		"   ; another = comment\n"
		"[global]\n"
		"   workgroup=  WG   \n"
		"\tServer   Signing = auto\n"
		"  netbios aliases = a \\\n"
		"      b\n"
		"  include = /etc/x.conf\n"
		"\n"
		"[share]\n"
		"  server signing = per-share-nonsense\n"
		"  path = /srv\n";
	assert_string_equal(out, want);
}

static void test_ini_missing_section_and_no_newline(void **state) {
	(void)state;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(plugin_ini_set("[share]\npath = /x\n", "global", "k", "v", &a), 0);
	assert_string_equal(a, "[global]\n\tk = v\n[share]\npath = /x\n");
	assert_int_equal(plugin_ini_set("[global]\n a = 1", "global", "k", "v", &b), 0);
	assert_string_equal(b, "[global]\n a = 1\n k = v\n");
	assert_int_equal(plugin_ini_set("", "global", "k", "v", &c), 0);
	assert_string_equal(c, "[global]\n\tk = v\n");
}

static void test_ini_remove_and_replace_value(void **state) {
	(void)state;
	const char *t = "[global]\n a = 1\n include = /x\n include = /y\n b = 2\n";
	_cleanup_free_ char *r1 = NULL, *r2 = NULL;
	assert_int_equal(plugin_ini_set(t, "global", "include", NULL, &r1), 0);
	assert_string_equal(r1, "[global]\n a = 1\n b = 2\n");
	assert_int_equal(plugin_ini_replace_value(t, "global", "include", "/x", "/tmp/x", &r2), 0);
	assert_string_equal(r2, "[global]\n a = 1\n include = /tmp/x\n include = /y\n b = 2\n");
	char *r3 = NULL;
	assert_int_equal(plugin_ini_replace_value(t, "global", "include", "/z", "/q", &r3), -ENOENT);
}

static void test_value_maps_and_lists(void **state) {
	(void)state;
	static const PluginValueMap m[] = { { "true", "mandatory" }, { "false", "auto" },
					    PLUGIN_VALUE_MAP_END };
	assert_string_equal(plugin_value_map(m, "true"), "mandatory");
	assert_null(plugin_value_map(m, "maybe"));
	assert_string_equal(plugin_value_unmap(m, "AUTO"), "false");
	assert_true(plugin_list_equal("AES-256-GCM, AES-128-GCM", "aes-256-gcm,aes-128-gcm"));
	assert_false(plugin_list_equal("AES-256-GCM, AES-128-GCM", "AES-128-GCM, AES-256-GCM"));
	assert_false(plugin_list_equal("445", "445 139"));
	char *v1[] = { "true", NULL }, *v2[] = { "a", "b", NULL };
	PluginSetting s[] = { { "x.bool", v1 }, { "x.list", v2 } };
	PluginPolicy p = { .settings = s, .n_settings = 2 };
	bool b = false;
	assert_int_equal(plugin_policy_bool(&p, "x.bool", &b), 0);
	assert_true(b);
	assert_null(plugin_policy_scalar(&p, "x.list"));
	assert_int_equal(plugin_policy_bool(&p, "x.none", &b), -ENOENT);
	_cleanup_free_ char *r = NULL;
	static const PluginValueMap lm[] = { { "a", "A" }, { "b", "B" }, PLUGIN_VALUE_MAP_END };
	assert_int_equal(plugin_render_list_map(&p, "x.list", lm, &r), 0);
	assert_string_equal(r, "A, B");
}

static void test_run(void **state) {
	(void)state;
	_cleanup_free_ char *out = NULL, *err = NULL;
	char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	assert_int_equal(plugin_run(argv, 10000, &out, &err), 3);
	assert_string_equal(out, "out\n");
	assert_string_equal(err, "err\n");
	char *missing[] = { "/nonexistent/tool", NULL };
	assert_int_equal(plugin_run(missing, 10000, NULL, NULL), -ENOENT);
	char *slow[] = { "sleep", "5", NULL };
	assert_int_equal(plugin_run(slow, 100, NULL, NULL), -ETIMEDOUT);
}

static void test_files_apply_restore(void **state) {
	(void)state;
	char dir[TEST_DIR_MAX];
	assert_int_equal(test_mkdtemp(dir, "plugin-util"), 0);
	_cleanup_free_ char *a = strdup_printf("%s/a", dir), *b = strdup_printf("%s/sub/b", dir);
	assert_int_equal(write_file_atomic(a, "old", 3, 0644), 0);
	PluginFile files[] = { { a, "new-a", 5, 0644 }, { b, "new-b", 5, 0600 } };
	PluginContext ctx = { .abi_version = SMBPOLICY_PLUGIN_ABI_VERSION };
	_cleanup_(plugin_backup_freep) PluginBackup *bk = NULL;
	assert_int_equal(plugin_backup_files("t", files, 2, &bk), 0);
	assert_true(bk->files[0].existed);
	assert_false(bk->files[1].existed);
	assert_int_equal(plugin_files_apply(&ctx, "t", files, 2, bk), 0);
	assert_true(plugin_file_has(a, "new-a", 5));
	assert_true(plugin_file_has(b, "new-b", 5));
	assert_int_equal(plugin_backup_restore(&ctx, bk), 0);
	assert_true(plugin_file_has(a, "old", 3));
	assert_true(plugin_file_has(b, NULL, 0));
	assert_int_equal(test_rm_rf(dir), 0);
}

static void test_plan_write(void **state) {
	(void)state;
	char dir[TEST_DIR_MAX];
	assert_int_equal(test_mkdtemp(dir, "plugin-util"), 0);
	_cleanup_free_ char *a = strdup_printf("%s/sub/a", dir);
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(plugin_plan_new(&plan), 0);
	assert_int_equal(plugin_plan_add_file(plan, a, strdup("new"), 3, 0644), 0);
	PluginContext ctx = { .abi_version = SMBPOLICY_PLUGIN_ABI_VERSION, .dry_run = true };
	PluginBackup *bk = (PluginBackup *)1;
	assert_int_equal(plugin_plan_write(&ctx, "t", plan, &bk), 0);
	assert_null(bk);
	assert_true(plugin_file_has(a, NULL, 0));
	ctx.dry_run = false;
	assert_int_equal(plugin_plan_write(&ctx, "t", plan, &bk), 0);
	assert_non_null(bk);
	assert_true(plugin_file_has(a, "new", 3));
	assert_int_equal(plugin_backup_restore(&ctx, bk), 0);
	assert_true(plugin_file_has(a, NULL, 0));
	plugin_backup_free(bk);
	assert_int_equal(test_rm_rf(dir), 0);
}

/* userdata: "id=value" lines; the value of the row's id, NULL when absent. */
static char *fake_value(const PluginSettingInfo *row, const void *userdata) {
	for (char *const *l = (char *const *)userdata; *l; l++)
		if (startswith(*l, row->id) && (*l)[strlen(row->id)] == '=')
			return strdup(*l + strlen(row->id) + 1);
	return NULL;
}

static void test_actual_collect(void **state) {
	(void)state;
	static const PluginSettingInfo rows[] = {
		{ .id = "a.b", .target = "key one" },
		{ .id = "c.d", .target = "key two" },
	};
	char *lines[] = { "a.b=yes", NULL };
	PluginActual *a = NULL;
	size_t n = 0;
	assert_int_equal(plugin_actual_collect(rows, 2, true, fake_value, lines, &a, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].id, "a.b");
	assert_string_equal(a[0].target, "key one");
	assert_int_equal(a[0].state, PLUGIN_VALUE_SET);
	assert_string_equal(a[0].raw, "yes");
	assert_string_equal(a[1].target, "key two");
	assert_int_equal(a[1].state, PLUGIN_VALUE_UNSET);
	assert_null(a[1].raw);
	plugin_actual_free(a, n);
	/* Target unreadable: every row unknown, value() not asked. */
	assert_int_equal(plugin_actual_collect(rows, 2, false, NULL, NULL, &a, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].state, PLUGIN_VALUE_UNKNOWN);
	assert_int_equal(a[1].state, PLUGIN_VALUE_UNKNOWN);
	assert_null(a[0].raw);
	plugin_actual_free(a, n);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_get),
		cmocka_unit_test(test_ini_set_replace_keeps_bytes),
		cmocka_unit_test(test_ini_add_after_last_key),
		cmocka_unit_test(test_ini_missing_section_and_no_newline),
		cmocka_unit_test(test_ini_remove_and_replace_value),
		cmocka_unit_test(test_value_maps_and_lists),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_files_apply_restore),
		cmocka_unit_test(test_plan_write),
		cmocka_unit_test(test_actual_collect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
