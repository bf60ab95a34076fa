/*
 * digest.h - SHA-256 (FIPS 180-4) for policy hashes, bundle payloads and
 * key ids.
 *
 * Through libgcrypt, not OpenSSL, so that a program which only hashes
 * policies (smbpolicyd on a local policy, issue 5: idle RSS <= 10 MiB)
 * neither links nor initialises libcrypto for it: libsystemd already maps
 * libgcrypt.  Measured in smbpolicyd (bench/agent.sh, bench/RESULTS.md
 * "Agent"): OpenSSL's EVP_Digest costs 3.3 MiB of RSS (linking libcrypto
 * 1.4 MiB, the default provider 2.0, openssl.cnf 0.6), libgcrypt's
 * gcry_md_hash_buffer 0.55 MiB.  Keyed or secret uses (HMAC, signatures,
 * key derivation) stay with OpenSSL (keys.c, the endpoint's crypto.c).
 *
 * Invariants: the values are plain SHA-256, byte for byte what OpenSSL's
 * EVP_sha256() gives (tests/unit/test_digest.c compares them over many
 * lengths); hex is lower case.  Thread-safe (libgcrypt is initialised
 * once, digest.c).
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
