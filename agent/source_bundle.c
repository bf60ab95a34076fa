/*
 * source_bundle.c - dlopen() of the bundle verification module for the
 * bundle source (contract in source_bundle.h).
 *
 * Invariants: `api` is set only after the table passed every check; the
 * handle is never closed.  The agent runs on one sd-event thread, so no
 * lock.  Must never: hand out a table from another build, or call into
 * the module before its table was checked (RTLD_NOW resolves every symbol
 * at load; the table is plain data).
 */
#include "source_bundle.h"

#include <dlfcn.h>
#include <limits.h>

static const BundleApi *api;
static char module_path[PATH_MAX];

/* "<dir of the running program>/../lib/smbpolicy", or "" when unknown. */
static const char *program_relative_dir(void) {
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "";
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return "";
	*slash = 0;
	int w = snprintf(dir, sizeof(dir), "%s/../lib/smbpolicy", exe);
	return w > 0 && (size_t)w < sizeof(dir) ? dir : "";
}

const char *source_bundle_dir(void) {
	return lookup_dir("SMBPOLICY_MODULE_DIR", program_relative_dir(), SMBPOLICY_MODULEDIR);
}

static bool table_is_ours(const BundleApi *t) {
	return t && t->abi_version == SOURCE_BUNDLE_ABI_VERSION &&
	       t->bundle_size == sizeof(Bundle) && t->key_ring_size == sizeof(KeyRing) &&
	       t->key_ring_load && t->key_ring_clear && t->verify && t->check_serial &&
	       t->strerror && t->free;
}

int source_bundle_load(const BundleApi **ret, const char **path, const char **detail) {
	if (detail)
		*detail = NULL;
	if (!api) {
		int w = snprintf(module_path, sizeof(module_path), "%s/%s", source_bundle_dir(),
				 SOURCE_BUNDLE_MODULE);
		if (path)
			*path = module_path;
		if (w < 0 || (size_t)w >= sizeof(module_path))
			return -ENAMETOOLONG;
		void *h = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			if (detail)
				*detail = dlerror();
			return -ELIBACC;
		}
		const BundleApi *t = dlsym(h, SOURCE_BUNDLE_SYMBOL);
		if (!t) {
			/* dlclose() may free dlerror()'s text: keep a copy. */
			static char why[256];
			snprintf(why, sizeof(why), "%s", dlerror());
			if (detail)
				*detail = why;
			dlclose(h); /* nothing from it was used */
			return -ELIBACC;
		}
		if (!table_is_ours(t)) {
			dlclose(h);
			return -EPROTO;
		}
		api = t;
	}
	if (path)
		*path = module_path;
	*ret = api;
	return 0;
}

void source_bundle_free(Bundle *b) {
	/* A Bundle exists only when the module handed it out. */
	if (b)
		api->free(b);
}
