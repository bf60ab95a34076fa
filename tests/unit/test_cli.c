/*
 * test_cli.c - unit tests for the CLI's shared machinery: cli/output.c (text
 * tables, JSON arrays, value formatting) and cli/cli.c (option parsing with
 * the common options, argument checks, sub-verb dispatch, author, version
 * numbers, parent-directory creation).  The .c files are included to reach
 * their static helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "../../cli/cli.c"
#include "../../cli/output.c"
#include "test_common.h"

/* Print a table into a string. */
static char *table_text(const OutputTable *t, bool json) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(output_table_print(t, json, f), 0);
	fclose(f);
	return buf;
}

static const OutputColumn columns[] = {
	{ "NAME", "name", OUTPUT_STRING, 0 },
	{ "N", "n", OUTPUT_UINT, 0 },
	{ "HASH", "hash", OUTPUT_STRING, 4 },
	{ "ON", "on", OUTPUT_BOOL, 0 },
};

static void test_table_text(void **state) {
	(void)state;
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	output_table_add(t, "alpha", 1u, "abcdef", true);
	output_table_add(t, NULL, 12u, "ab", false);
	_cleanup_free_ char *s = table_text(t, false);
	assert_string_equal(s, "NAME   N   HASH  ON\n"
			       "alpha  1   abcd  true\n"
			       "-      12  ab    false\n");
}

static void test_table_json(void **state) {
	(void)state;
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	_cleanup_free_ char *empty = table_text(t, true);
	assert_string_equal(empty, "[]\n");
	output_table_add(t, "a\"b", 7u, "abcdef", true);
	output_table_add(t, NULL, 0u, NULL, false);
	_cleanup_free_ char *s = table_text(t, true);
	assert_string_equal(s, "[\n"
			       " {\"name\": \"a\\\"b\", \"n\": 7, \"hash\": \"abcdef\", \"on\": true},\n"
			       " {\"name\": null, \"n\": 0, \"hash\": null, \"on\": false}\n"
			       "]\n");
}

static void test_values(void **state) {
	(void)state;
	char *list[] = { "a", "b c", NULL }, *none[] = { NULL }, *one[] = { "true", NULL };
	_cleanup_free_ char *l = output_value_text(list, true), *e = output_value_text(none, true),
			    *o = output_value_text(one, false);
	assert_string_equal(l, "a, b c");
	assert_string_equal(e, "(empty)");
	assert_string_equal(o, "true");
	_cleanup_(strbuf_free) StrBuf b = {};
	output_value_json(&b, list, true);
	strbuf_append(&b, " ");
	output_value_json(&b, none, true);
	strbuf_append(&b, " ");
	output_value_json(&b, one, false);
	assert_string_equal(b.data, "[\"a\", \"b c\"] [] \"true\"");
}

static void test_short_options(void **state) {
	(void)state;
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "x", required_argument, NULL, 'x' },
		{ "long-only", no_argument, NULL, 0x300 },
		{},
	};
	char buf[32];
	short_options(options, buf, sizeof(buf));
	assert_string_equal(buf, ":hx:");
}

static const struct option verb_options[] = {
	CLI_COMMON_OPTIONS,
	{ "comment", required_argument, NULL, 0x300 },
	{},
};

/* cli_getopt over a NULL-terminated argument list; returns the last result
 * and the count of verb options seen. */
static int getopt_all(Cli *cli, char **argv, int *n_verb) {
	int argc = 0, c;
	while (argv[argc])
		argc++;
	optind = 0;
	*n_verb = 0;
	while ((c = cli_getopt(cli, argc, argv, verb_options, NULL)) >= 0)
		(*n_verb)++;
	return c;
}

static void test_getopt(void **state) {
	(void)state;
	static const CliVerb verb = { "import", NULL, "FILE", "x" };
	Cli cli = { .store_path = "default", .verb = &verb, .verb_name = (char *)"import" };
	int n;
	char *ok[] = { "import", "f.xml", "--json", "--store", "/s.db", "--comment", "hi", NULL };
	assert_int_equal(getopt_all(&cli, ok, &n), CLI_OPT_END);
	assert_int_equal(n, 1);
	assert_true(cli.json);
	assert_string_equal(cli.store_path, "/s.db");
	assert_string_equal(ok[optind], "f.xml"); /* positionals permuted to the end */

	char *unknown[] = { "import", "--frob", NULL };
	assert_int_equal(getopt_all(&cli, unknown, &n), CLI_OPT_ERROR);
	assert_int_equal(cli_getopt_exit(CLI_OPT_ERROR), CLI_EXIT_USAGE);
	char *missing[] = { "import", "--comment", NULL };
	assert_int_equal(getopt_all(&cli, missing, &n), CLI_OPT_ERROR);
	char *help[] = { "import", "-h", NULL };
	assert_int_equal(getopt_all(&cli, help, &n), CLI_OPT_HELP);
	assert_int_equal(cli_getopt_exit(CLI_OPT_HELP), CLI_EXIT_OK);

	assert_true(cli_check_args(&cli, 1, 1, 1));
	assert_false(cli_check_args(&cli, 0, 1, 1));
	assert_false(cli_check_args(&cli, 2, 1, 1));
	assert_true(cli_check_args(&cli, 9, 1, -1));
}

static int seen_argc;
static const char *seen_arg;
static int fake_add(Cli *cli, int argc, char *argv[]) {
	seen_argc = argc;
	seen_arg = argv[argc - 1];
	assert_string_equal(cli->verb_name, "group add");
	return 42;
}

static void test_dispatch(void **state) {
	(void)state;
	static const CliVerb table[] = { { "add", fake_add, "PATH", "add" } };
	Cli cli = {};
	char *add[] = { "add", "/paris", NULL };
	assert_int_equal(cli_dispatch(&cli, table, 1, "group", 2, add), 42);
	assert_int_equal(seen_argc, 2);
	assert_string_equal(seen_arg, "/paris");
	char *bad[] = { "frob", NULL };
	assert_int_equal(cli_dispatch(&cli, table, 1, "group", 1, bad), CLI_EXIT_USAGE);
	assert_int_equal(cli_dispatch(&cli, table, 1, "group", 0, bad), CLI_EXIT_USAGE);
	char *help[] = { "--help", NULL };
	assert_int_equal(cli_dispatch(&cli, table, 1, "group", 1, help), CLI_EXIT_OK);
	free(cli.verb_name);
}

static void test_version_and_author(void **state) {
	(void)state;
	Cli cli = {};
	unsigned v = 0;
	assert_int_equal(cli_parse_version(&cli, "3", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(cli_parse_version(&cli, "0", &v), -CLI_EXIT_USAGE);
	assert_int_equal(cli_parse_version(&cli, "-1", &v), -CLI_EXIT_USAGE);
	assert_int_equal(cli_parse_version(&cli, "2x", &v), -CLI_EXIT_USAGE);
	assert_int_equal(cli_parse_version(&cli, "99999999999", &v), -CLI_EXIT_USAGE);

	setenv("SUDO_USER", "alice", 1);
	setenv("USER", "root", 1);
	assert_string_equal(cli_author(), "alice");
	unsetenv("SUDO_USER");
	assert_string_equal(cli_author(), "root");
	unsetenv("USER");
	assert_non_null(cli_author());
}

static void test_mkdir_parents(void **state) {
	(void)state;
	char dir[TEST_DIR_MAX];
	assert_int_equal(test_mkdtemp(dir, "cli"), 0);
	_cleanup_free_ char *path = strdup_printf("%s/a/b/c/store.db", dir);
	assert_int_equal(mkdir_parents(path), 0);
	_cleanup_free_ char *parent = strdup_printf("%s/a/b/c", dir);
	struct stat st;
	assert_int_equal(stat(parent, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_parents(path), 0); /* idempotent */
	assert_int_equal(mkdir_parents("store.db"), 0);
	assert_int_equal(test_rm_rf(dir), 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_text),
		cmocka_unit_test(test_table_json),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_short_options),
		cmocka_unit_test(test_getopt),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_version_and_author),
		cmocka_unit_test(test_mkdir_parents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
