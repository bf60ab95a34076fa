/*
 * digest.h - SHA-256 (FIPS 180-4) for policy hashes, bundle payloads and
 * key ids.
 *
 * Implemented here rather than taken from a crypto library, so that a
 * program which only hashes policies (smbpolicyd on a local policy, issue
 * 5: idle RSS <= 10 MiB) neither links nor initialises one for it.
 * Measured in smbpolicyd (bench/agent.sh, bench/RESULTS.md "Agent"):
 * OpenSSL's EVP_Digest costs 3.3 MiB of RSS (linking libcrypto 1.4 MiB,
 * the default provider 2.0, openssl.cnf 0.6); libgcrypt's
 * gcry_md_hash_buffer, although libsystemd already maps libgcrypt, 0.55
 * MiB (gcry_check_version's initialisation and the pages the hash touches,
 * each fault bringing in 64 KiB around it); this file's code is a few KiB
 * of the program's own text.  Hashing public data needs no constant-time
 * care; keyed or secret uses (HMAC, signatures, key derivation) stay with
 * OpenSSL (keys.c, the endpoint's crypto.c).
 *
 * Invariants: the values are plain SHA-256, byte for byte what OpenSSL's
 * EVP_sha256() gives (tests/unit/test_digest.c compares them over many
 * lengths); hex is lower case.  Pure functions: no state, thread-safe.
 * Must never: be used where a MAC or a secret is involved, or log.
 */
#pragma once

#include <stddef.h>

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX_LEN (2 * DIGEST_SHA256_LEN)

/* SHA-256 of len bytes at data into out. */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* The same as lower-case hex into out (DIGEST_SHA256_HEX_LEN + 1 bytes). */
void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN + 1]);
