/*
 * test_digest.c - unit tests for lib/digest.c (SHA-256 through
 * libgcrypt): the FIPS 180-4 example vectors (empty, "abc", the 448-bit
 * two-block message, one million 'a'), and byte-for-byte agreement with
 * OpenSSL's EVP_sha256() over every length around the one- and two-block
 * padding edges and over large inputs, so policy hashes, bundle payload
 * hashes and key ids are what they were when OpenSSL computed them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "digest.h"
#include "util.h"

static void test_fips_vectors(void **state) {
	(void)state;
	static const struct {
		const char *msg;
		const char *sha256;
	} vectors[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[DIGEST_SHA256_HEX_LEN + 1];
	for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
		digest_sha256_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
		assert_string_equal(hex, vectors[i].sha256);
	}
	_cleanup_free_ char *million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	digest_sha256_hex(million, 1000000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void assert_same_as_openssl(const unsigned char *data, size_t len) {
	unsigned char want[32], got[DIGEST_SHA256_LEN];
	assert_true(EVP_Digest(data, len, want, NULL, EVP_sha256(), NULL));
	digest_sha256(data, len, got);
	if (memcmp(want, got, sizeof(got)) != 0)
		fail_msg("SHA-256 of %zu bytes differs from OpenSSL's", len);
}

static void test_same_as_openssl(void **state) {
	(void)state;
	/* Every length up to 300 covers 0-4 whole blocks and both padding
	 * shapes (rest <= 55: one tail block; 56..63: two). */
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(buf); len++)
		assert_same_as_openssl(buf, len);
	/* Large inputs, as a policy document can be (lengths with rests on
	 * either side of the padding edge). */
	size_t big = 3u * 1024u * 1024u + 57u;
	_cleanup_free_ unsigned char *b = malloc(big);
	assert_non_null(b);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < big; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	assert_same_as_openssl(b, big);
	assert_same_as_openssl(b, big - 2);
	assert_same_as_openssl(b, 1u << 20);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_same_as_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
