/*
 * test_plugin_common.h - what the plugin unit tests (test_plugin_*.c)
 * share: a PluginContext over a scratch root that logs nothing.
 * Header-only; include after the plugin's .c.  Not a test itself.
 *
 * Invariants: the context carries the current ABI version and no tool
 * overrides (a test that needs one sets it after).
 * Never: point a context at a root outside the test's scratch directory.
 */
#pragma once

#include "plugin.h"
#include "test_common.h"

static inline void test_quiet_log(_unused_ void *u, _unused_ PluginLogLevel l,
				  _unused_ const char *p, _unused_ const char *id,
				  _unused_ const char *path, _unused_ const char *m) {}

/* A context for a plugin run under root (the test's scratch directory). */
static inline PluginContext test_plugin_context(const char *root) {
	return (PluginContext){ .abi_version = SMBPOLICY_PLUGIN_ABI_VERSION, .root = root,
				.log = test_quiet_log };
}
