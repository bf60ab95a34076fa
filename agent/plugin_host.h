/*
 * plugin_host.h - loads the target plugins (plugins/plugin.h ABI) with
 * dlopen from one directory.
 *
 * Invariants: a loaded plugin's abi_version equals
 * SMBPOLICY_PLUGIN_ABI_VERSION and its name is unique in the host; plugins
 * are ordered by name so every cycle runs them in the same order; the
 * SmbpolicyPlugin pointers stay valid until plugin_host_free().
 * Must never: call a plugin that failed the ABI check, or dlclose while a
 * plugin's data is still referenced.
 */
#pragma once

#include "plugin.h"
#include "util.h"

typedef struct PluginHandle {
	void *dl;
	const SmbpolicyPlugin *plugin;
	char *path;
} PluginHandle;

typedef struct PluginHost {
	PluginHandle *items;
	size_t n;
} PluginHost;

/* $SMBPOLICY_PLUGIN_DIR, else the build-time SMBPOLICY_PLUGINDIR. */
const char *plugin_host_default_dir(void);

/* Load every *.so of dir.  A file that does not load or has the wrong ABI
 * is skipped with a journal message (the others still load); returns the
 * number loaded, -errno when dir cannot be read. */
int plugin_host_load(const char *dir, PluginHost **ret);
void plugin_host_free(PluginHost *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(PluginHost *, plugin_host_free)

/* Check one plugin's descriptor: -EPROTO on ABI mismatch, -EINVAL when a
 * mandatory op or the name is missing. */
int plugin_host_check(const SmbpolicyPlugin *p);

const SmbpolicyPlugin *plugin_host_find(const PluginHost *h, const char *name);
