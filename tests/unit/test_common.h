/*
 * test_common.h - fixtures that several unit tests share: a scratch
 * directory under /tmp (made, then removed with everything in it), a
 * policy document in a scratch file, and hex test vectors (decode,
 * compare).  Header-only (static inline); include it
 * after <cmocka.h> and the code under test.  Not a test itself.
 *
 * Invariants: a scratch directory is always /tmp/test-NAME.XXXXXX, so a
 * failed run's leftovers say which test left them; the hex helpers assert
 * exactly what each test asserted before (length, every byte).
 *
 * Never: loosen a check, or remove anything but the directory it was given.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define TEST_DIR_MAX 64

/* mkdtemp of /tmp/test-NAME.XXXXXX into dir; 0, or -1 when it failed. */
static inline int test_mkdtemp(char dir[static TEST_DIR_MAX], const char *name) {
	int n = snprintf(dir, TEST_DIR_MAX, "/tmp/test-%s.XXXXXX", name);
	return n > 0 && n < TEST_DIR_MAX && mkdtemp(dir) ? 0 : -1;
}

/* rm -rf of a scratch directory; 0, or -1 when it failed. */
static inline int test_rm_rf(const char *dir) {
	_cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
	return cmd && system(cmd) == 0 ? 0 : -1;
}

/* A file-wide scratch directory: defines `static char dir[]` and the cmocka
 * setup and teardown functions that make it as /tmp/test-NAME.XXXXXX and
 * remove it. */
#define TEST_SCRATCH_DIR(dir, name, setup, teardown)                                  \
	static char dir[TEST_DIR_MAX];                                                \
	static int setup(void **state) {                                              \
		(void)state;                                                          \
		return test_mkdtemp(dir, name);                                       \
	}                                                                             \
	static int teardown(void **state) {                                           \
		(void)state;                                                          \
		return test_rm_rf(dir);                                               \
	}

/* A policy document holding the <setting> lines of body, written to a new
 * /tmp/test-NAME.XXXXXX; its path (the caller unlinks and frees it). */
static inline char *test_write_policy(const char *name, const char *body) {
	char *path = strdup_printf("/tmp/test-%s.XXXXXX", name);
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	_cleanup_free_ char *doc = strdup_printf(
		"<?xml version=\"1.0\"?>\n<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\">\n%s</policy>\n", body);
	assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	return path;
}

/* Decode a hex string into out (at most max bytes, asserted); its length. */
static inline size_t test_unhex(const char *hex, uint8_t *out, size_t max) {
	size_t n = strlen(hex) / 2;
	assert_true(n <= max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Assert that got[0..n) is the bytes of want_hex (at most 1024). */
static inline void test_assert_hex(const uint8_t *got, size_t n, const char *want_hex) {
	uint8_t want[1024];
	size_t wn = test_unhex(want_hex, want, sizeof want);
	assert_int_equal(n, wn);
	assert_memory_equal(got, want, n);
}
