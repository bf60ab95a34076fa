/*
 * source_curl.c - dlopen() of libcurl for the bundle source (contract in
 * source_curl.h).
 *
 * Invariants: `loaded` is set only after every symbol resolved; the handle
 * is never closed.  The agent runs on one sd-event thread, so no lock.
 * Must never: hand out a partly filled table.
 */
#include "source_curl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "util.h"

static CurlApi api;
static bool loaded;

static const struct {
	const char *name;
	size_t offset;
} curl_symbols[] = {
	{ "curl_global_init", offsetof(CurlApi, global_init) },
	{ "curl_global_cleanup", offsetof(CurlApi, global_cleanup) },
	{ "curl_easy_init", offsetof(CurlApi, easy_init) },
	{ "curl_easy_cleanup", offsetof(CurlApi, easy_cleanup) },
	{ "curl_easy_reset", offsetof(CurlApi, easy_reset) },
	{ "curl_easy_setopt", offsetof(CurlApi, easy_setopt) },
	{ "curl_easy_perform", offsetof(CurlApi, easy_perform) },
	{ "curl_easy_getinfo", offsetof(CurlApi, easy_getinfo) },
	{ "curl_easy_strerror", offsetof(CurlApi, easy_strerror) },
	{ "curl_slist_append", offsetof(CurlApi, slist_append) },
	{ "curl_slist_free_all", offsetof(CurlApi, slist_free_all) },
};

int source_curl_load(const CurlApi **ret, const char **detail) {
	if (!loaded) {
		void *h = dlopen(SOURCE_CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			if (detail)
				*detail = dlerror();
			return -ELIBACC;
		}
		CurlApi t = {};
		for (size_t i = 0; i < ELEMENTSOF(curl_symbols); i++) {
			void *f = dlsym(h, curl_symbols[i].name);
			if (!f) {
				if (detail)
					*detail = dlerror();
				/* Left mapped: it may be the process's only copy. */
				return -ELIBACC;
			}
			/* POSIX: a void * from dlsym() holds a function pointer. */
			memcpy((char *)&t + curl_symbols[i].offset, &f, sizeof(f));
		}
		api = t;
		loaded = true;
	}
	*ret = &api;
	return 0;
}
