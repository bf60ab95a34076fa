/*
 * test_plugin_common.h - what the plugin unit tests (test_plugin_*.c)
 * share: a PluginContext over a scratch root that logs nothing, and
 * writing/reading the target files a test plants and checks.
 * Header-only; include after the plugin's .c.  Not a test itself.
 *
 * Invariants: the context carries the current ABI version and no tool
 * overrides (a test that needs one sets it after).
 * Never: point a context at a root outside the test's scratch directory.
 */
#pragma once

#include "plugin_util.h"
#include "test_common.h"

static inline void test_quiet_log(_unused_ void *u, _unused_ PluginLogLevel l,
				  _unused_ const char *p, _unused_ const char *id,
				  _unused_ const char *path, _unused_ const char *m) {}

/* Write text to path, making its directory first; asserts both. */
static inline void test_put(const char *path, const char *text) {
	assert_int_equal(plugin_mkdir_parents(path), 0);
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

/* The contents of path (malloc'd), NULL when it cannot be read. */
static inline char *test_get(const char *path) {
	char *s = NULL;
	return read_file(path, 1u << 20, &s, NULL) < 0 ? NULL : s;
}

/* A context for a plugin run under root (the test's scratch directory). */
static inline PluginContext test_plugin_context(const char *root) {
	return (PluginContext){ .abi_version = SMBPOLICY_PLUGIN_ABI_VERSION, .root = root,
				.log = test_quiet_log };
}

/* The fixture of tests that need nothing but a scratch root and a context
 * on it: test_plugin_root_new() / _free() are their setup and teardown
 * (*state a TestPluginRoot). */
typedef struct TestPluginRoot {
	char dir[TEST_DIR_MAX];
	PluginContext ctx;
} TestPluginRoot;

static inline int test_plugin_root_new(void **state, const char *name) {
	TestPluginRoot *f = calloc(1, sizeof(TestPluginRoot));
	if (!f || test_mkdtemp(f->dir, name) < 0) {
		free(f);
		return -1;
	}
	f->ctx = test_plugin_context(f->dir);
	*state = f;
	return 0;
}

static inline int test_plugin_root_free(void **state) {
	TestPluginRoot *f = *state;
	int r = test_rm_rf(f->dir);
	free(f);
	return r;
}
