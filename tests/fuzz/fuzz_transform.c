/*
 * fuzz_transform.c - libFuzzer harness for the SMB3 TRANSFORM_HEADER code
 * of endpoint/crypto.c.
 *
 * The first byte picks the cipher.  The rest is parsed and decrypted as a
 * received frame (it must be refused unless it carries a valid tag, which
 * random input cannot), and encrypted then decrypted as a message (the
 * round trip must give the same bytes back).  Signing runs over it too when
 * it is long enough to hold a header.  Beyond "no crash, no leak, no UB",
 * any accepted forgery or round-trip mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size < 1)
		return 0;
	uint16_t cipher = (uint16_t)(1 + data[0] % 4);
	data++;
	size--;
	int klen = smb2_crypto_cipher_key_len(cipher);
	Smb3Cipher *enc = NULL, *dec = NULL;
	if (klen < 0 || smb3_cipher_new(cipher, key, (size_t)klen, &enc) < 0 ||
	    smb3_cipher_new(cipher, key, (size_t)klen, &dec) < 0)
		abort();

	/* as a received frame */
	uint8_t *frame = malloc(size ? size : 1);
	if (!frame)
		abort();
	memcpy(frame, data, size);
	uint64_t sid;
	size_t mlen;
	(void)smb3_transform_parse(frame, size, &sid);
	if (smb3_decrypt(dec, frame, size, &mlen) == 0)
		abort(); /* forged tag accepted */
	free(frame);

	/* round trip */
	if (size > 0) {
		uint8_t *buf = malloc(size + SMB3_TRANSFORM_HEADER_SIZE);
		if (!buf)
			abort();
		memcpy(buf + SMB3_TRANSFORM_HEADER_SIZE, data, size);
		if (smb3_encrypt(enc, 42, buf, size) < 0 ||
		    smb3_transform_parse(buf, size + SMB3_TRANSFORM_HEADER_SIZE, &sid) < 0 || sid != 42 ||
		    smb3_decrypt(dec, buf, size + SMB3_TRANSFORM_HEADER_SIZE, &mlen) < 0 || mlen != size ||
		    memcmp(buf + SMB3_TRANSFORM_HEADER_SIZE, data, size) != 0)
			abort();
		free(buf);
	}

	/* signing: sign then verify must agree */
	if (size >= SMB2_CRYPTO_HEADER_SIZE) {
		uint8_t preauth[SMB2_CRYPTO_PREAUTH_SIZE] = { 0 };
		Smb2Keys k;
		uint16_t alg = (uint16_t)(data[1] % 3);
		if (smb2_crypto_derive_keys(&k, 0x0311, alg, cipher, true, key, 16, preauth) < 0)
			abort();
		uint8_t *msg = malloc(size);
		if (!msg)
			abort();
		memcpy(msg, data, size);
		if (smb2_crypto_sign(&k, msg, size) < 0 || smb2_crypto_verify(&k, msg, size) < 0)
			abort();
		free(msg);
	}
	smb3_cipher_free(enc);
	smb3_cipher_free(dec);
	return 0;
}
