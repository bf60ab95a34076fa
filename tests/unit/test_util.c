/*
 * test_util.c - unit tests for lib/util.c and lib/strbuf.c: strv handling,
 * the atomic writer (old or new content, never a mix; no temp left behind
 * on failure), bounded file reads, and JSON/XML/CSV escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include "strbuf.h"
#include "util.h"
#include "test_common.h"

TEST_SCRATCH_DIR(tmpdir, "util", setup_tmpdir, teardown_tmpdir)

static void test_strv(void **state) {
	(void)state;
	_cleanup_strv_free_ char **l = NULL;
	assert_int_equal(strv_push_dup(&l, "a"), 0);
	assert_int_equal(strv_push_dup(&l, "b"), 0);
	assert_int_equal(strv_length(l), 2);
	assert_true(strv_contains(l, "b"));
	assert_false(strv_contains(l, "c"));
	_cleanup_strv_free_ char **c = strv_copy(l);
	assert_true(strv_equal(l, c));
	_cleanup_free_ char *j = strv_join(l, ", ");
	assert_string_equal(j, "a, b");
	assert_int_equal(strv_length(NULL), 0);
}

/* No write_file_atomic temp file is left in dir. */
static void assert_no_temp_files(const char *dir) {
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, "smbpolicy-tmp"));
	closedir(d);
}

static void test_atomic_write_and_read(void **state) {
	(void)state;
	_cleanup_free_ char *p = strdup_printf("%s/f", tmpdir);
	assert_int_equal(write_file_atomic(p, "old", 3, 0644), 0);
	assert_int_equal(write_file_atomic(p, "new content", 11, 0600), 0);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	assert_int_equal(read_file(p, 100, &buf, &len), 0);
	assert_int_equal(len, 11);
	assert_string_equal(buf, "new content");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *big = NULL;
	assert_int_equal(read_file(p, 5, &big, NULL), -EFBIG);
	assert_null(big);
}

static void test_atomic_write_failure_leaves_nothing(void **state) {
	(void)state;
	_cleanup_free_ char *p = strdup_printf("%s/missing-dir/f", tmpdir);
	assert_int_equal(write_file_atomic(p, "x", 1, 0644), -ENOENT);
	/* Renaming over a directory fails after the temp file was written. */
	_cleanup_free_ char *d = strdup_printf("%s/adir", tmpdir);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_true(write_file_atomic(d, "x", 1, 0644) < 0);
	assert_no_temp_files(tmpdir);
}

/* A device is written in place, never replaced by a regular file (as
 * root, renaming a temp file over /dev/null would replace the node). */
static void test_atomic_write_device(void **state) {
	(void)state;
	struct stat before, after;
	assert_int_equal(stat("/dev/null", &before), 0);
	assert_true(S_ISCHR(before.st_mode));
	assert_int_equal(write_file_atomic("/dev/null", "discarded", 9, 0600), 0);
	assert_int_equal(stat("/dev/null", &after), 0);
	assert_true(S_ISCHR(after.st_mode));
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_no_temp_files("/dev");
}

/* procfs reports size 0 and a sysctl answers only the first read: the
 * whole value must come back, not its first byte. */
static void test_read_file_sysctl(void **state) {
	(void)state;
	_cleanup_free_ char *text = NULL;
	size_t len;
	assert_int_equal(read_file("/proc/sys/net/ipv4/tcp_wmem", 256, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	unsigned long a, b, c;
	assert_int_equal(sscanf(text, "%lu %lu %lu", &a, &b, &c), 3);
	assert_true(a <= b && b <= c);
	assert_int_equal(text[len - 1], '\n');
}

static void test_parse_int64(void **state) {
	(void)state;
	long long v;
	assert_int_equal(parse_int64("2000", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(parse_int64("-5", &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_int64("", &v), -EINVAL);
	assert_int_equal(parse_int64("12a", &v), -EINVAL);
	assert_int_equal(parse_int64("99999999999999999999", &v), -ERANGE);
}

static void test_json_escape(void **state) {
	(void)state;
	StrBuf b = {0};
	strbuf_json_string(&b, "a\"b\\c\n\x01\xff\xc3\xa9");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(strbuf_finish(&b, &s), 0);
	assert_string_equal(s, "\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\"");
}

static void test_xml_csv_escape(void **state) {
	(void)state;
	StrBuf b = {0};
	strbuf_xml_escape(&b, "<a href=\"x\">&'");
	strbuf_append(&b, "|");
	strbuf_csv_field(&b, "plain");
	strbuf_append(&b, "|");
	strbuf_csv_field(&b, "with,comma \"q\"");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(strbuf_finish(&b, &s), 0);
	assert_string_equal(s, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;|plain|\"with,comma \"\"q\"\"\"");
}

static void test_hex_and_time(void **state) {
	(void)state;
	char out[9];
	hex_encode((const unsigned char *)"\x01\xab\xff\x00", 4, out);
	assert_string_equal(out, "01abff00");
	char buf[32];
	assert_string_equal(format_rfc3339(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
	assert_true(now_mono_usec() > 0);
}

static void test_host_or_local(void **state) {
	(void)state;
	char buf[256], want[256];
	const char *host = NULL;
	assert_int_equal(host_or_local("srv1", buf, sizeof buf, &host), 0);
	assert_string_equal(host, "srv1");
	assert_int_equal(host_or_local(NULL, buf, sizeof buf, &host), 0);
	assert_ptr_equal(host, buf);
	assert_int_equal(gethostname(want, sizeof want), 0);
	assert_string_equal(host, want);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_atomic_write_and_read),
		cmocka_unit_test(test_atomic_write_failure_leaves_nothing),
		cmocka_unit_test(test_atomic_write_device),
		cmocka_unit_test(test_read_file_sysctl),
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_xml_csv_escape),
		cmocka_unit_test(test_hex_and_time),
		cmocka_unit_test(test_host_or_local),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
