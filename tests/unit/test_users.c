/*
 * test_users.c - unit tests of endpoint/users.c: the users file format,
 * every diagnostic (with its line number, never a secret), lookups, the
 * NtlmLookupFn adapter, and wiping of the caller's buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../endpoint/users.c"
#include "test_ntlm_common.h"

static void test_parse_ok(void **state) {
	(void)state;
	char text[] = "# smbrefd users\n"
		      "\n"
		      "   # indented comment\n"
		      "alice:s3cret:with:colons\r\n"
		      "  bob:nt:8846F7EAEE8FB117AD06BDD830B7586C\n"
		      "Jürgen:Grüße\n"
		      "carol:password";
	DiagList d = { 0 };
	_cleanup_(users_freep) Users *u = NULL;
	assert_int_equal(users_parse(text, strlen(text), false, "users", &d, &u), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(users_count(u), 4);
	uint8_t h[16], want[16];
	assert_int_equal(users_lookup(u, "alice", h), 0);
	assert_int_equal(ntlm_nt_hash("s3cret:with:colons", want), 0);
	assert_memory_equal(h, want, 16);
	assert_int_equal(users_lookup(u, "BOB", h), 0); /* case-insensitive */
	assert_int_equal(ntlm_nt_hash("password", want), 0);
	assert_memory_equal(h, want, 16);
	assert_int_equal(users_lookup(u, "carol", h), 0);
	assert_memory_equal(h, want, 16);
	assert_int_equal(users_lookup(u, "Jürgen", h), 0);
	assert_int_equal(users_lookup(u, "dave", h), -ENOENT);
	assert_int_equal(users_lookup(u, NULL, h), -ENOENT);
	assert_int_equal(users_lookup(NULL, "alice", h), -ENOENT);
	/* the adapter ignores the domain */
	assert_int_equal(users_ntlm_lookup(u, "alice", "ANYDOMAIN", h), 0);
	assert_int_equal(users_ntlm_lookup(u, "nobody", "", h), -ENOENT);
	/* buffer untouched when not asked to wipe */
	assert_non_null(strstr(text, "s3cret"));
}

static void test_wipe(void **state) {
	(void)state;
	char text[] = "alice:topsecret\n";
	_cleanup_(users_freep) Users *u = NULL;
	size_t n = strlen(text);
	assert_int_equal(users_parse(text, n, true, "f", NULL, &u), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(text[i], 0);
}

static void test_errors(void **state) {
	(void)state;
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{ "alice\n", 1, "expected user:password" },
		{ "\n:pw\n", 2, "invalid user name" },
		{ "al\tice:pw\n", 1, "invalid user name" },
		{ "alice:\n", 1, "empty password" },
		{ "alice:nt:1234\n", 1, "32 hex digits" },
		{ "alice:nt:8846F7EAEE8FB117AD06BDD830B7586X\n", 1, "32 hex digits" },
		{ "alice:\xff\xfe\n", 1, "not valid UTF-8" },
		{ "# x\nalice:a\nbob:b\nALICE:c\n", 4, "duplicate user 'ALICE' (first on line 2)" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		DiagList d = { 0 };
		Users *u = (Users *)0x1;
		char *copy = strdup(cases[i].text);
		assert_int_equal(users_parse(copy, strlen(copy), true, "users.txt", &d, &u), -EINVAL);
		assert_ptr_equal(u, (Users *)0x1); /* untouched */
		assert_int_equal(d.n, 1);
		assert_string_equal(d.items[0].file, "users.txt");
		assert_int_equal(d.items[0].line, cases[i].line);
		assert_non_null(strstr(d.items[0].message, cases[i].msg));
		/* never a secret in the message */
		assert_null(strstr(d.items[0].message, "pw"));
		diag_clear(&d);
		free(copy);
	}
	/* NUL inside the buffer, all errors reported, no Users; the line copy
	 * holding the NUL is wiped over its whole length (found by fuzz_users:
	 * wiping a strndup'ed copy overran it) */
	char text[] = "alice:a\nbo\0b:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nbad\n";
	DiagList d = { 0 };
	Users *u = NULL;
	assert_int_equal(users_parse(text, sizeof text - 1, false, "f", &d, &u), -EINVAL);
	assert_null(u);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.items[0].line, 2);
	assert_int_equal(d.items[1].line, 3);
	diag_clear(&d);
	assert_int_equal(users_parse(NULL, 0, false, "f", &d, &u), -EINVAL);
}

static void test_load(void **state) {
	(void)state;
	char path[] = "/tmp/test_users.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char content[] = "u1:p1\nu2:nt:31d6cfe0d16ae931b73c59d7e0c089c0\n";
	assert_int_equal(write(fd, content, sizeof content - 1), (ssize_t)(sizeof content - 1));
	close(fd);
	_cleanup_(users_freep) Users *u = NULL;
	assert_int_equal(users_load(path, NULL, &u), 0);
	assert_int_equal(users_count(u), 2);
	uint8_t h[16];
	assert_int_equal(users_lookup(u, "u2", h), 0);
	assert_int_equal(h[0], 0x31);
	unlink(path);
	Users *none = NULL;
	assert_int_equal(users_load(path, NULL, &none), -ENOENT);
	assert_int_equal(users_load("/", NULL, &none), -EISDIR);
	assert_int_equal(users_load(NULL, NULL, &none), -EINVAL);
	/* empty file: valid, nobody */
	_cleanup_(users_freep) Users *empty = NULL;
	char e[] = "";
	assert_int_equal(users_parse(e, 0, true, "f", NULL, &empty), 0);
	assert_int_equal(users_count(empty), 0);
	assert_int_equal(users_lookup(empty, "x", h), -ENOENT);
	users_free(NULL);
	assert_int_equal(users_count(NULL), 0);
}

/* The server authenticates against the users file. */
static void test_with_ntlm(void **state) {
	(void)state;
	char text[] = "alice:wonderland\nbob:nt:8846f7eaee8fb117ad06bdd830b7586c\n";
	_cleanup_(users_freep) Users *u = NULL;
	assert_int_equal(users_parse(text, strlen(text), true, "f", NULL, &u), 0);
	static const struct {
		const char *user, *pw;
		int want;
	} v[] = { { "alice", "wonderland", 0 },  { "ALICE", "wonderland", 0 },
		  { "bob", "password", 0 },     { "alice", "Wonderland", -EACCES },
		  { "carol", "x", -ENOENT } };
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		NtlmServerConfig sc = { .netbios_computer = "S", .netbios_domain = "W",
					.lookup = users_ntlm_lookup, .userdata = u };
		NtlmClientConfig cc = { .user = v[i].user, .password = v[i].pw };
		_cleanup_(ntlm_server_freep) NtlmServer *s = NULL;
		_cleanup_(ntlm_client_freep) NtlmClient *c = NULL;
		assert_int_equal(test_ntlm_exchange(&sc, &cc, &s, &c), v[i].want);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_with_ntlm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
