/*
 * test_plugin_abi.c - every built plugin ($(BUILD)/plugins, NAME.so, beside this test's
 * build directory) loads with dlopen, exports `smbpolicy_plugin` with the
 * current ABI version and every op, and maps only setting ids the catalog
 * knows; each row names its target.  Settings the catalog assigns to a
 * plugin that the plugin does not map are printed (not failed: some need a
 * target feature that does not exist, e.g. Samba has no client guest
 * switch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <dlfcn.h>

#include "catalog.h"
#include "plugin.h"

static char *plugin_dir(void) {
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	/* $(BUILD)/tests/test_plugin_abi -> $(BUILD)/plugins */
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			return NULL;
		*slash = 0;
	}
	return strdup_printf("%s/plugins", exe);
}

static void test_every_plugin(void **state) {
	(void)state;
	_cleanup_(catalog_freep) Catalog *c = NULL;
	assert_int_equal(catalog_load_default(&c), 0);
	_cleanup_free_ char *dir = plugin_dir();
	assert_non_null(dir);
	DIR *d = opendir(dir);
	if (!d) {
		print_message("no plugin directory %s: nothing to check\n", dir);
		return;
	}
	unsigned loaded = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || !streq(de->d_name + len - 3, ".so"))
			continue;
		_cleanup_free_ char *path = strdup_printf("%s/%s", dir, de->d_name);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			fail_msg("%s: %s", path, dlerror());
		const SmbpolicyPlugin *p = dlsym(h, SMBPOLICY_PLUGIN_SYMBOL);
		assert_non_null(p);
		assert_int_equal(p->abi_version, SMBPOLICY_PLUGIN_ABI_VERSION);
		assert_non_null(p->name);
		assert_true(p->detect && p->read_actual && p->plan && p->apply && p->verify && p->rollback);
		assert_true(p->detect_clear && p->actual_free && p->plan_free && p->backup_free);
		assert_true(p->n_settings > 0);
		for (size_t i = 0; i < p->n_settings; i++) {
			if (!catalog_find(c, p->settings[i].id))
				fail_msg("%s: row %zu maps unknown setting %s", p->name, i, p->settings[i].id);
			assert_non_null(p->settings[i].target);
			assert_non_null(p->settings[i].transform);
		}
		for (size_t i = 0; i < c->n_settings; i++)
			if (strv_contains(c->settings[i].targets, p->name) && !plugin_implements(p, c->settings[i].id))
				print_message("note: catalog targets %s at %s, which does not map it\n",
					      c->settings[i].id, p->name);
		loaded++;
		dlclose(h);
	}
	closedir(d);
	print_message("%u plugin(s) checked in %s\n", loaded, dir);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_plugin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
