/*
 * dlsyms.c - run-time loading of a library into a function table
 * (contract in dlsyms.h).
 *
 * Invariants: a symbol missing from the library closes it again, so a
 * failure maps nothing.
 * Must never: write the caller's table before every symbol resolved.
 */
#include "dlsyms.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dlsyms_open(const char *soname, const DlSymbol *syms, size_t n, void *table, void **ret_handle,
		const char **detail) {
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		if (detail)
			*detail = dlerror();
		return -ELIBACC;
	}
	void **f = calloc(n, sizeof(*f));
	if (!f) {
		dlclose(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!(f[i] = dlsym(h, syms[i].name))) {
			free(f);
			if (detail)
				*detail = dlerror();
			dlclose(h);
			return -ELIBACC;
		}
	/* POSIX: a void * from dlsym() holds a function pointer. */
	for (size_t i = 0; i < n; i++)
		memcpy((char *)table + syms[i].offset, &f[i], sizeof(f[i]));
	free(f);
	*ret_handle = h;
	return 0;
}
