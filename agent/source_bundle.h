/*
 * source_bundle.h - bundle verification for the bundle source (source.c):
 * lib/bundle.c and lib/keys.c built into a shared object of their own
 * (agent/bundle_module.c: $(PREFIX)/lib/smbpolicy/bundle.so, beside the
 * plugins/ directory), loaded with dlopen() the first time a source is set
 * up.  So smbpolicyd does not link OpenSSL's libcrypto at all, and an agent
 * that enforces a local policy (--policy, --store) never maps it (Ed25519
 * and PEM keys are its only use on the --source path; the policy hash is
 * libgcrypt's, lib/digest.h).  The CLI links lib/bundle.c and lib/keys.c
 * directly.
 *
 * Invariants: the module is taken only when its table's ABI version and
 * the sizes of the structures passed across (Bundle, KeyRing) are this
 * build's; the table is handed out whole or not at all; once loaded, the
 * module stays mapped for the life of the process (never dlclose()d: Bundles
 * and KeyRings it allocated may outlive any one source, and libcrypto keeps
 * process-wide state).
 * Must never: fall back to another copy of the module than the one found
 * in source_bundle_dir().
 */
#pragma once

#include "bundle.h"

/* Bump when BundleApi or the meaning of a member changes. */
#define SOURCE_BUNDLE_ABI_VERSION 1u
#define SOURCE_BUNDLE_SYMBOL "smbpolicy_bundle_api"
#define SOURCE_BUNDLE_MODULE "bundle.so"

/* lib/bundle.h and lib/keys.h, as the module exports them. */
typedef struct BundleApi {
	unsigned abi_version;
	size_t bundle_size, key_ring_size; /* sizeof(Bundle), sizeof(KeyRing) */
	int (*key_ring_load)(const char *path, KeyRing *ret);
	void (*key_ring_clear)(KeyRing *ring);
	int (*verify)(const char *buf, size_t len, const KeyRing *ring, uint64_t now,
		      Bundle **ret);
	int (*check_serial)(const Bundle *b, uint64_t applied_serial,
			    const char *applied_sha256);
	const char *(*strerror)(int r);
	void (*free)(Bundle *b);
} BundleApi;

/* The module's directory: $SMBPOLICY_MODULE_DIR when set and non-empty,
 * else ../lib/smbpolicy beside the running program when it exists (a build
 * tree: build/bin/smbpolicyd -> build/lib/smbpolicy; an install:
 * PREFIX/bin -> PREFIX/lib/smbpolicy), else the configured
 * PREFIX/lib/smbpolicy.  Not a copy. */
const char *source_bundle_dir(void);

/* Load the module (once per process) and hand out its table.  -ELIBACC
 * when it cannot be loaded or lacks the table, -EPROTO when the table is
 * from another build; *path (if not NULL) is the file tried, *detail (if
 * not NULL) the loader's reason, valid until the next call, or NULL. */
int source_bundle_load(const BundleApi **ret, const char **path, const char **detail);

/* bundle_free() through the loaded module; a no-op for NULL. */
void source_bundle_free(Bundle *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bundle *, source_bundle_free)
