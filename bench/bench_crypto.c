/*
 * bench_crypto.c - throughput of smbrefd's message security per algorithm:
 * smb3_encrypt + smb3_decrypt (TRANSFORM_HEADER, each cipher) and
 * smb2_crypto_sign (each signing algorithm) on 64 KiB and 1 MiB messages,
 * printed beside the figure `openssl speed -evp` gives for the same
 * primitive in the same run (the peer: raw OpenSSL, no SMB framing).
 *
 * Both figures are bytes per CPU second (openssl speed's default), so a
 * busy machine does not skew the comparison.  Keeps the 2-core machine
 * usable: about 0.3 CPU s per measurement, one core.
 * Never prints key material.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "util.h"
#include "bench_common.h"

/* Runs are timed in CPU seconds of this process (bench_cpu_seconds):
 * `openssl speed` reports per CPU second too (user time), so the figures
 * compare on a loaded machine. */
#define BENCH_SECONDS 0.3

/* `openssl speed -evp NAME -bytes N -seconds 1`: bytes per second, or 0. */
static double openssl_speed(const char *evp, size_t bytes) {
	char cmd[256];
	snprintf(cmd, sizeof cmd,
		 "openssl speed -evp %s -bytes %zu -seconds 1 -mr 2>/dev/null | grep '^+F:'", evp,
		 bytes);
	FILE *f = popen(cmd, "r");
	if (!f)
		return 0;
	char line[512] = "";
	double v = 0;
	if (fgets(line, sizeof line, f)) {
		/* +F:N:name:bytes_per_second */
		char *last = strrchr(line, ':');
		if (last)
			v = strtod(last + 1, NULL);
	}
	pclose(f);
	return v;
}

typedef struct CipherCase {
	uint16_t id;
	const char *evp;
} CipherCase;

static const CipherCase cipher_cases[] = {
	{ SMB2_CRYPTO_CIPHER_AES128_GCM, "aes-128-gcm" },
	{ SMB2_CRYPTO_CIPHER_AES256_GCM, "aes-256-gcm" },
	{ SMB2_CRYPTO_CIPHER_AES128_CCM, "aes-128-ccm" },
	{ SMB2_CRYPTO_CIPHER_AES256_CCM, "aes-256-ccm" },
};

static double bench_cipher(uint16_t id, size_t size, bool decrypt) {
	uint8_t key[32];
	memset(key, 0x42, sizeof key);
	int klen = smb2_crypto_cipher_key_len(id);
	Smb3Cipher *enc = NULL, *dec = NULL;
	if (klen < 0 || smb3_cipher_new(id, key, (size_t)klen, &enc) < 0 ||
	    smb3_cipher_new(id, key, (size_t)klen, &dec) < 0)
		return 0;
	uint8_t *buf = calloc(1, size + SMB3_TRANSFORM_HEADER_SIZE);
	uint8_t *frame = malloc(size + SMB3_TRANSFORM_HEADER_SIZE);
	if (!buf || !frame)
		exit(2);
	if (smb3_encrypt(enc, 1, buf, size) < 0)
		exit(1);
	memcpy(frame, buf, size + SMB3_TRANSFORM_HEADER_SIZE);
	double start = bench_cpu_seconds(), end;
	size_t n = 0;
	do {
		if (decrypt) {
			/* in-place API: restore the frame first (a memcpy, well
			 * below the cipher's cost; included in the figure) */
			size_t mlen;
			memcpy(buf, frame, size + SMB3_TRANSFORM_HEADER_SIZE);
			if (smb3_decrypt(dec, buf, size + SMB3_TRANSFORM_HEADER_SIZE, &mlen) < 0)
				exit(1);
		} else if (smb3_encrypt(enc, 1, buf, size) < 0)
			exit(1);
		n++;
		end = bench_cpu_seconds();
	} while (end - start < BENCH_SECONDS);
	free(buf);
	free(frame);
	smb3_cipher_free(enc);
	smb3_cipher_free(dec);
	return (double)n * (double)size / (end - start);
}

static double bench_sign(uint16_t alg, size_t size) {
	uint8_t key[16], preauth[64] = { 0 };
	memset(key, 0x17, sizeof key);
	Smb2Keys k;
	if (smb2_crypto_derive_keys(&k, 0x0311, alg, SMB2_CRYPTO_CIPHER_NONE, true, key, 16, preauth) < 0)
		exit(1);
	uint8_t *msg = calloc(1, size);
	if (!msg)
		exit(2);
	memcpy(msg, "\xfeSMB", 4);
	double start = bench_cpu_seconds(), end;
	size_t n = 0;
	do {
		if (smb2_crypto_sign(&k, msg, size) < 0)
			exit(1);
		n++;
		end = bench_cpu_seconds();
	} while (end - start < BENCH_SECONDS);
	free(msg);
	return (double)n * (double)size / (end - start);
}

int main(void) {
	static const size_t sizes[] = { 64 * 1024, 1024 * 1024 };
	printf("%-26s %10s %12s %12s\n", "operation (one core)", "size", "smbrefd MB/s",
	       "openssl MB/s");
	for (size_t c = 0; c < ELEMENTSOF(cipher_cases); c++) {
		double peer = openssl_speed(cipher_cases[c].evp, 65536) / 1e6;
		for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
			char name[64];
			snprintf(name, sizeof name, "encrypt %s",
				 smb2_crypto_cipher_name(cipher_cases[c].id));
			printf("%-26s %9zuK %12.0f %12.0f\n", name, sizes[s] / 1024,
			       bench_cipher(cipher_cases[c].id, sizes[s], false) / 1e6, peer);
			snprintf(name, sizeof name, "decrypt %s",
				 smb2_crypto_cipher_name(cipher_cases[c].id));
			printf("%-26s %9zuK %12.0f %12.0f\n", name, sizes[s] / 1024,
			       bench_cipher(cipher_cases[c].id, sizes[s], true) / 1e6, peer);
		}
	}
	static const struct {
		uint16_t alg;
		const char *evp; /* closest `openssl speed` primitive */
	} signs[] = {
		{ SMB2_CRYPTO_SIGN_AES_GMAC, "aes-128-gcm" },
		{ SMB2_CRYPTO_SIGN_AES_CMAC, "aes-128-cbc" },
		{ SMB2_CRYPTO_SIGN_HMAC_SHA256, "sha256" },
	};
	for (size_t i = 0; i < ELEMENTSOF(signs); i++) {
		double peer = openssl_speed(signs[i].evp, 65536) / 1e6;
		for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
			char name[64];
			snprintf(name, sizeof name, "sign %s (vs %s)",
				 smb2_crypto_sign_alg_name(signs[i].alg), signs[i].evp);
			printf("%-26s %9zuK %12.0f %12.0f\n", name, sizes[s] / 1024,
			       bench_sign(signs[i].alg, sizes[s]) / 1e6, peer);
		}
	}
	return 0;
}
