/*
 * test_store_common.h - the fixture the store-backed unit tests share
 * (test_store.c, test_rsop.c): a scratch directory holding a fresh store
 * (DIR/store.db) and the default settings catalog.  Header-only; include
 * after the code under test.  Not a test itself.
 *
 * Invariants: the store is created empty (migrated to the current schema)
 * in the test's own scratch directory; teardown closes before removing.
 * Never: open a store outside the scratch directory.
 */
#pragma once

#include "catalog.h"
#include "store.h"
#include "test_common.h"

/* mkdtemp /tmp/test-NAME.XXXXXX into dir, load the catalog, open a new
 * store in it; *ret_path (may be NULL) gets the store's path.  0 or -1. */
static inline int test_store_setup(char dir[static TEST_DIR_MAX], const char *name,
				   char **ret_path, Catalog **ret_catalog, Store **ret_store) {
	if (test_mkdtemp(dir, name) < 0)
		return -1;
	_cleanup_free_ char *path = strdup_printf("%s/store.db", dir);
	if (!path || catalog_load_default(ret_catalog) < 0 || store_open(path, ret_store) < 0)
		return -1;
	if (ret_path)
		*ret_path = TAKE_PTR(path);
	return 0;
}

/* Close the store, free the catalog, remove the directory.  0 or -1. */
static inline int test_store_teardown(const char *dir, Store *store, Catalog *catalog) {
	store_close(store);
	catalog_free(catalog);
	return test_rm_rf(dir);
}
