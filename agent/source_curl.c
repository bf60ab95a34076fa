/*
 * source_curl.c - dlopen() of libcurl for the bundle source (contract in
 * source_curl.h).
 *
 * Invariants: `loaded` is set only after every symbol resolved (dlsyms.h);
 * the handle is never closed.  The agent runs on one sd-event thread, so no lock.
 * Must never: hand out a partly filled table.
 */
#include "source_curl.h"

#include <stddef.h>

#include "dlsyms.h"
#include "util.h"

static CurlApi api;
static bool loaded;

static const DlSymbol curl_symbols[] = {
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
		void *h; /* never closed: see source_curl.h */
		int r = dlsyms_open(SOURCE_CURL_LIBRARY, curl_symbols, ELEMENTSOF(curl_symbols), &api, &h, detail);
		if (r < 0)
			return r;
		loaded = true;
	}
	*ret = &api;
	return 0;
}
