/*
 * test_agent_source_bundle.c - the bundle verification module loaded at
 * run time (agent/source_bundle.c, agent/bundle_module.c): a directory
 * without the module, and a shared object without its table, are refused
 * and leave nothing loaded; the module is found beside the program
 * ($(BUILD)/tests/../lib/smbpolicy) or where SMBPOLICY_MODULE_DIR says;
 * its table is complete and this build's; a second load hands out the same
 * table; and what it does is lib/bundle.c's: a bundle signed here verifies
 * through the module, a tampered one does not, the serial rule and the
 * reasons are the same.
 *
 * Tests run in table order: the refusals come before the first successful
 * load (a loaded module stays for the life of the process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "../../agent/source_bundle.c"
#include "test_common.h"

TEST_SCRATCH_DIR(tmpdir, "source-bundle", setup_tmpdir, teardown_tmpdir)

static bool ends_with(const char *s, const char *suffix) {
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && streq(s + n - m, suffix);
}

static void test_missing_module_refused(void **state) {
	(void)state;
	_cleanup_free_ char *empty = strdup_printf("%s/empty", tmpdir);
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(setenv("SMBPOLICY_MODULE_DIR", empty, 1), 0);
	const BundleApi *t = NULL;
	const char *path = NULL, *why = NULL;
	assert_int_equal(source_bundle_load(&t, &path, &why), -ELIBACC);
	assert_null(t);
	assert_non_null(why);
	assert_true(startswith(path, empty));
	assert_true(ends_with(path, "/" SOURCE_BUNDLE_MODULE));
}

static void test_object_without_table_refused(void **state) {
	(void)state;
	/* A real shared object that is not the module: a target plugin. */
	_cleanup_free_ char *dir = strdup_printf("%s/other", tmpdir);
	_cleanup_free_ char *cmd = strdup_printf("mkdir '%s' && cp '%s/../../plugins/cifs.so' '%s/%s'", dir,
						 program_relative_dir(), dir, SOURCE_BUNDLE_MODULE);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(setenv("SMBPOLICY_MODULE_DIR", dir, 1), 0);
	const BundleApi *t = NULL;
	const char *why = NULL;
	assert_int_equal(source_bundle_load(&t, NULL, &why), -ELIBACC);
	assert_null(t);
	assert_non_null(strstr(why, SOURCE_BUNDLE_SYMBOL));
}

static void test_found_beside_program(void **state) {
	(void)state;
	assert_int_equal(unsetenv("SMBPOLICY_MODULE_DIR"), 0);
	const char *dir = source_bundle_dir();
	assert_true(ends_with(dir, "/tests/../lib/smbpolicy"));
	const BundleApi *a = NULL, *b = NULL;
	const char *path = NULL;
	assert_int_equal(source_bundle_load(&a, &path, NULL), 0);
	assert_true(startswith(path, dir));
	assert_int_equal(a->abi_version, SOURCE_BUNDLE_ABI_VERSION);
	assert_true(table_is_ours(a));
	/* Not this program's own copy of lib/bundle.c: the module's. */
	assert_ptr_not_equal((void *)a->verify, (void *)bundle_verify);
	assert_int_equal(source_bundle_load(&b, NULL, NULL), 0);
	assert_ptr_equal(a, b);
}

/* A policy bundle for /g, serial 7, signed by k, unexpired. */
static char *signed_bundle(const Key *k, size_t *len) {
	Bundle b = { .type = BUNDLE_POLICY, .group = (char *)"/g", .serial = 7,
		     .created = now_usec() / 1000000ULL,
		     .expires = now_usec() / 1000000ULL + 3600,
		     .payload = (char *)"<policy/>\n", .payload_len = 10 };
	char *text = NULL;
	assert_int_equal(bundle_sign(&b, k, &text, len), 0);
	return text;
}

static void test_module_verifies(void **state) {
	(void)state;
	const BundleApi *bu = NULL;
	assert_int_equal(source_bundle_load(&bu, NULL, NULL), 0);
	_cleanup_(key_freep) Key *k = NULL;
	assert_int_equal(key_generate(&k), 0);
	_cleanup_free_ char *pub = strdup_printf("%s/k.pub", tmpdir);
	assert_int_equal(key_write_public(k, pub), 0);
	KeyRing ring = {};
	assert_int_equal(bu->key_ring_load(pub, &ring), 0);
	assert_int_equal(ring.n, 1);

	size_t len;
	_cleanup_free_ char *text = signed_bundle(k, &len);
	_cleanup_(source_bundle_freep) Bundle *b = NULL;
	uint64_t now = now_usec() / 1000000ULL;
	assert_int_equal(bu->verify(text, len, &ring, now, &b), 0);
	assert_string_equal(b->group, "/g");
	assert_int_equal(b->serial, 7);
	assert_string_equal(b->key_id, key_id(k));
	assert_int_equal(bu->check_serial(b, 7, b->payload_sha256), 1);
	assert_int_equal(bu->check_serial(b, 6, NULL), 0);
	assert_int_equal(bu->check_serial(b, 8, NULL), BUNDLE_E_REPLAY);

	/* One byte of the payload changed: refused, for the same reason. */
	size_t at = strcspn(text, "<");
	assert_true(at < len);
	text[at + 1] = 'P';
	Bundle *bad = NULL;
	int r = bu->verify(text, len, &ring, now, &bad);
	assert_int_equal(r, BUNDLE_E_BAD_SIG);
	assert_null(bad);
	assert_string_equal(bu->strerror(r), bundle_strerror(r));
	bu->key_ring_clear(&ring);
	assert_int_equal(ring.n, 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_module_refused),
		cmocka_unit_test(test_object_without_table_refused),
		cmocka_unit_test(test_found_beside_program),
		cmocka_unit_test(test_module_verifies),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
