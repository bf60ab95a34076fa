/*
 * source_curl.h - libcurl for the bundle source (source.c), loaded with
 * dlopen() the first time a source is set up, so an agent that enforces a
 * local policy (--policy, --store) never maps libcurl and its dependencies
 * (GnuTLS, LDAP, SSH, RTMP, Kerberos: about 4 MiB of RSS) and smbpolicyd has
 * no link-time dependency on it.
 *
 * Invariants: the table is filled completely or not at all; once loaded,
 * libcurl stays mapped for the life of the process (never dlclose()d:
 * libcurl and its TLS backend register process-wide state).  Calls through
 * the table have no compile-time type check of curl_easy_setopt()'s third
 * argument: pass exactly the type each option takes (long, pointer,
 * curl_off_t).
 * Must never: fall back to another libcurl flavour silently (the OpenSSL
 * build, libcurl.so.4, is the one the agent is tested with).
 */
#pragma once

#include <curl/curl.h>

typedef struct CurlApi {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} CurlApi;

/* The soname loaded. */
#define SOURCE_CURL_LIBRARY "libcurl.so.4"

/* Load libcurl (once per process) and hand out its table.  -ELIBACC when the
 * library or one of its symbols cannot be loaded (*detail, if not NULL,
 * borrows dlerror()'s text until the next call). */
int source_curl_load(const CurlApi **ret, const char **detail);
