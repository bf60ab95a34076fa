/*
 * plugin_host.c - dlopen of target plugins and their ABI check.
 *
 * Invariants: see plugin_host.h.  Loading is all-or-skip per file: a
 * plugin is added only after every check passed.
 * Must never: run code from a plugin before its ABI version was checked
 * (RTLD_NOW resolves symbols, and the descriptor is plain data).
 */
#include "plugin_host.h"

#include <dirent.h>
#include <dlfcn.h>
#include <syslog.h>

#include "journal.h"

const char *plugin_host_default_dir(void) {
	return lookup_dir("SMBPOLICY_PLUGIN_DIR", SMBPOLICY_SRCDIR "/build/plugins", SMBPOLICY_PLUGINDIR);
}

int plugin_host_check(const SmbpolicyPlugin *p) {
	if (!p)
		return -EINVAL;
	if (p->abi_version != SMBPOLICY_PLUGIN_ABI_VERSION)
		return -EPROTO;
	if (!p->name || !*p->name || !p->detect || !p->plan || !p->apply || !p->verify ||
	    !p->rollback || !p->plan_free || !p->backup_free || !p->detect_clear)
		return -EINVAL;
	return 0;
}

const SmbpolicyPlugin *plugin_host_find(const PluginHost *h, const char *name) {
	for (size_t i = 0; h && i < h->n; i++)
		if (streq(h->items[i].plugin->name, name))
			return h->items[i].plugin;
	return NULL;
}

void plugin_host_free(PluginHost *h) {
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		dlclose(h->items[i].dl);
		free(h->items[i].path);
	}
	free(h->items);
	free(h);
}

static int load_one(PluginHost *h, const char *path) {
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = path },
			    "cannot load plugin: %s", dlerror());
		return -ELIBBAD;
	}
	const SmbpolicyPlugin *p = dlsym(dl, SMBPOLICY_PLUGIN_SYMBOL);
	int r = plugin_host_check(p);
	if (r == 0 && plugin_host_find(h, p->name))
		r = -EEXIST;
	if (r < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = path },
			    "refusing plugin: %s (host ABI %u, plugin ABI %u)", strerror(-r),
			    SMBPOLICY_PLUGIN_ABI_VERSION, p ? p->abi_version : 0);
		dlclose(dl);
		return r;
	}
	PluginHandle *n = reallocarray(h->items, h->n + 1, sizeof(PluginHandle));
	char *copy = strdup(path);
	if (!n || !copy) {
		if (n)
			h->items = n;
		free(copy);
		dlclose(dl);
		return -ENOMEM;
	}
	h->items = n;
	h->items[h->n++] = (PluginHandle){ dl, p, copy };
	return 0;
}

static int cmp_name(const void *a, const void *b) {
	return strcmp(((const PluginHandle *)a)->plugin->name, ((const PluginHandle *)b)->plugin->name);
}

static void closedirp(DIR **d) {
	if (*d)
		closedir(*d);
}

int plugin_host_load(const char *dir, PluginHost **ret) {
	_cleanup_(plugin_host_freep) PluginHost *h = calloc(1, sizeof(PluginHost));
	if (!h)
		return -ENOMEM;
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || !streq(de->d_name + len - 3, ".so"))
			continue;
		_cleanup_free_ char *path = strdup_printf("%s/%s", dir, de->d_name);
		if (!path)
			return -ENOMEM;
		if (load_one(h, path) == -ENOMEM)
			return -ENOMEM;
	}
	if (h->n > 1)
		qsort(h->items, h->n, sizeof(PluginHandle), cmp_name);
	int n = (int)h->n;
	*ret = TAKE_PTR(h);
	return n;
}
