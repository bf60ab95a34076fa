/*
 * digest.c - SHA-256 through libgcrypt (contract, and why libgcrypt rather
 * than OpenSSL, in digest.h).
 *
 * Invariants: libgcrypt is initialised once per process (pthread_once),
 * and only if nobody did it before us (libsystemd initialises it the same
 * way when it needs it): no secure memory (we hash public data), then
 * GCRYCTL_INITIALIZATION_FINISHED.
 * Must never: hash before the library is initialised.
 */
#include "digest.h"

#include <gcrypt.h>
#include <pthread.h>

#include "util.h"

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;

static void gcrypt_init(void) {
	if (gcry_control(GCRYCTL_ANY_INITIALIZATION_P))
		return;
	(void)gcry_check_version(NULL);
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]) {
	(void)pthread_once(&gcrypt_once, gcrypt_init);
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, data, len);
}

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN + 1]) {
	unsigned char md[DIGEST_SHA256_LEN];
	digest_sha256(data, len, md);
	hex_encode(md, sizeof(md), out);
}
