/*
 * bundle_module.c - the table of $(BUILD)/lib/smbpolicy/bundle.so, the
 * shared object that holds lib/bundle.c and lib/keys.c (and OpenSSL's
 * libcrypto behind them) for the agent's bundle source; smbpolicyd loads it
 * only for --source (contract in source_bundle.h).  Linked like a plugin:
 * from libsmbpolicy.a, so it carries its own copy of what bundle.c needs
 * (store.c's group path check brings SQLite and libxml2, both already
 * mapped in the agent).
 *
 * Invariants: the only symbol the object exports is the table
 * (agent/bundle_module.map); the table names lib/'s own functions, so the
 * module adds no code of its own to what the CLI runs.
 * Must never: hold state of its own (every call gets what it works on).
 */
#include "source_bundle.h"

__attribute__((visibility("default"))) const BundleApi smbpolicy_bundle_api = {
	.abi_version = SOURCE_BUNDLE_ABI_VERSION,
	.bundle_size = sizeof(Bundle),
	.key_ring_size = sizeof(KeyRing),
	.key_ring_load = key_ring_load,
	.key_ring_clear = key_ring_clear,
	.verify = bundle_verify,
	.check_serial = bundle_check_serial,
	.strerror = bundle_strerror,
	.free = bundle_free,
};
