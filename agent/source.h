/*
 * source.h - where smbpolicyd gets its policy in a fleet: a signed bundle
 * (lib/bundle.h) at a URL (https://, http:// or file://), fetched with
 * libcurl, verified against the trusted public keys, and kept as the last
 * good policy in a cache directory the engine reads like --policy FILE.
 *
 * Each source_update():
 *   - skips the network while backing off after a failure (exponential,
 *     with jitter, so 100k agents do not retry in step);
 *   - sends If-None-Match with the ETag of the last good bundle: an
 *     unchanged bundle costs a 304 and no body;
 *   - refuses, logs why and keeps the last good policy when the bundle is
 *     unsigned, signed by a key not in --trusted-keys (re-read every time,
 *     so rotation needs no restart), tampered with, expired, for another
 *     group than the one this host follows, or has a serial not above the
 *     applied one (replay/downgrade; the same bundle again is "unchanged").
 *
 * Cache directory (0700, made with the first accepted bundle): "bundle"
 * (the last good bundle as received), "policy.xml" (its policy document:
 * source_policy_path()) and "state" (url, ETag, serial, payload hash,
 * group); the state is written last, so a crash in between only makes the
 * next fetch accept the same bundle again.
 * State recorded for another URL is ignored (the host was moved).
 *
 * Invariants: TLS peer and host verification are always on; a body larger
 * than BUNDLE_MAX_BYTES is cut off and refused; nothing in the cache
 * changes unless a bundle verified and passed the serial check.
 * Must never: follow a redirect to another scheme than http(s) (never to
 * file://), or write the policy file from an unverified bundle.
 */
#pragma once

#include <stdint.h>

#include "util.h"

typedef struct SourceConfig {
	const char *url;
	const char *trusted_keys; /* PEM file or directory of *.pub / *.pem */
	const char *cache_dir;    /* created when missing (not its parent) */
	const char *ca_file;      /* NULL: the system's CA store */
	unsigned connect_timeout_sec; /* 0: 10 s */
	unsigned timeout_sec;         /* 0: 60 s, the whole transfer */
	uint64_t backoff_min_usec;    /* 0: 30 s */
	uint64_t backoff_max_usec;    /* 0: 1 h */
} SourceConfig;

typedef struct Source Source;

enum {
	SOURCE_UNCHANGED = 0, /* 304, or the same bundle as applied */
	SOURCE_CHANGED = 1,   /* a newer bundle verified; policy file replaced */
};

/* The cache directory beside the agent's state DB: "DIR/bundle" for
 * "DIR/agent.db" (malloc'd; NULL on ENOMEM). */
char *source_default_cache_dir(const char *state_path);

int source_new(const SourceConfig *cfg, Source **ret);
void source_free(Source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Source *, source_free)

/* Fetch, verify, keep.  SOURCE_CHANGED / SOURCE_UNCHANGED, or -errno when
 * nothing new was taken (logged here, with the reason, once): -EAGAIN
 * while backing off (not logged), BUNDLE_E_* for a refused bundle, -EIO /
 * -ETIMEDOUT / -ECONNREFUSED / -ENOENT (HTTP 404) for a failed fetch. */
int source_update(Source *s);

/* Forget the backoff: the next source_update() fetches (an operator's
 * explicit reload, e.g. SIGHUP, should not wait). */
void source_retry_now(Source *s);
/* Fetch nothing for usec from now (the daemon's start-up splay, splay.h):
 * until then source_update() returns -EAGAIN and the cached last good
 * policy is what the engine loads.  source_retry_now() cancels it. */
void source_defer(Source *s, uint64_t usec);

/* The last good policy document (a file in the cache directory), whether
 * or not one exists yet (see source_has_policy()). */
const char *source_policy_path(const Source *s);
bool source_has_policy(const Source *s);
/* The applied bundle's serial (0: none) and the last transfer's HTTP status
 * and body size (for tests and the benchmark). */
uint64_t source_serial(const Source *s);
long source_last_status(const Source *s);
size_t source_last_body_bytes(const Source *s);
