/*
 * test_crypto.c - unit tests of endpoint/crypto.c: key derivation, signing,
 * pre-auth integrity and TRANSFORM_HEADER encryption against Microsoft's
 * published test vectors (Open Specifications blog: "Encryption in SMB 3.0:
 * a protocol perspective", "SMB 3.1.1 Encryption in Windows 10", "SMB 3.1.1
 * Pre-authentication integrity in Windows 10", "SMB 2 and SMB 3 security in
 * Windows 10: the anatomy of signing and cryptographic keys"), plus round
 * trips and every error path.
 *
 * Includes crypto.c to reach encrypt_with_nonce (fixed nonces of the
 * vectors).  Never prints key material beyond what cmocka shows on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/hmac.h>
#include <pthread.h>

#include "../../endpoint/crypto.c"
#include "test_common.h"

/* --- pre-auth integrity: the five messages of the 3.1.1 walkthrough --- */

static const char *const preauth_msgs[] = {
	"FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000"
	"00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32"
	"6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000"
	"010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000"
	"0200060000000000020002000100",
	"FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000"
	"000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
	"BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001"
	"80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
	"3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
	"60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51"
	"FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000"
	"5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
	"7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
	"3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
	"6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
	"626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4"
	"83CA5B65385A251117BEB30712E50000020004000000000001000200",
	"FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
	"00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
	"0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
	"04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
	"000F",
	"FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000"
	"190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
	"0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
	"00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53"
	"005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
	"00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1"
	"A1F5ADCBAED00100000000",
	"FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000"
	"1900000000100000000000000000000000000000000000001900000101000000000000005800CF01"
	"0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
	"001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
	"001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055"
	"005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
	"0056004500520033003100310000000000000000000000000000000000000000000000000063078E"
	"B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000"
	"0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
	"00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004"
	"00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
	"8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
	"0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F"
	"5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000",
};

static const char *const preauth_hashes[] = {
	"DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47122594CDE0"
	"CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426",
	"324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F36011E99"
	"7E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513",
	"AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED42C55E33"
	"197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9",
	"2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B88357"
	"40A73760085633364C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387",
	"0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB7928622DDDAD522D97"
	"51640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
};

static void test_preauth_vector(void **state) {
	(void)state;
	uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE], msg[1024];
	smb2_crypto_preauth_init(hash);
	for (size_t i = 0; i < ELEMENTSOF(preauth_msgs); i++) {
		size_t n = test_unhex(preauth_msgs[i], msg, sizeof msg);
		if (i == 2) {
			/* the iovec form must give the same hash */
			struct iovec iov[2] = { { msg, 10 }, { msg + 10, n - 10 } };
			assert_int_equal(smb2_crypto_preauth_update_iov(hash, iov, 2), 0);
		} else
			assert_int_equal(smb2_crypto_preauth_update(hash, msg, n), 0);
		test_assert_hex(hash, sizeof hash, preauth_hashes[i]);
	}
}

/* --- key derivation --- */

static void test_kdf_311_vector(void **state) {
	(void)state;
	uint8_t key[16], preauth[64];
	test_unhex("270E1BA896585EEB7AF3472D3B4C75A7", key, sizeof key);
	test_unhex(preauth_hashes[4], preauth, sizeof preauth);
	Smb2Keys srv, cli;
	assert_int_equal(smb2_crypto_derive_keys(&srv, 0x0311, SMB2_CRYPTO_SIGN_AES_CMAC,
						 SMB2_CRYPTO_CIPHER_AES128_GCM, true, key, 16, preauth),
			 0);
	assert_int_equal(smb2_crypto_derive_keys(&cli, 0x0311, SMB2_CRYPTO_SIGN_AES_CMAC,
						 SMB2_CRYPTO_CIPHER_AES128_GCM, false, key, 16, preauth),
			 0);
	test_assert_hex(srv.signing_key, 16, "73FE7A9A77BEF0BDE49C650D8CCB5F76");
	test_assert_hex(srv.application_key, 16, "6D7AD7954E9EC61E907B4D473DC178FF");
	/* The walkthrough's EncryptionKey is the client's (C2S) key. */
	test_assert_hex(cli.encrypt_key, 16, "629BCBC54422A0F572B97F45989B6073");
	test_assert_hex(cli.decrypt_key, 16, "E2AF0DCEFAC68DA71A0DFBD0D1350D74");
	assert_memory_equal(srv.decrypt_key, cli.encrypt_key, 16);
	assert_memory_equal(srv.encrypt_key, cli.decrypt_key, 16);
	assert_int_equal(srv.cipher_key_len, 16);
	assert_int_equal(srv.sign_alg, SMB2_CRYPTO_SIGN_AES_CMAC);
}

static void test_kdf_300_vector(void **state) {
	(void)state;
	uint8_t key[16];
	test_unhex("7CD451825D0450D235424E44BA6E78CC", key, sizeof key);
	Smb2Keys cli;
	/* sign_alg is ignored below 3.1.1: CMAC whatever is passed */
	assert_int_equal(smb2_crypto_derive_keys(&cli, 0x0300, SMB2_CRYPTO_SIGN_AES_GMAC,
						 SMB2_CRYPTO_CIPHER_AES128_CCM, false, key, 16, NULL),
			 0);
	assert_int_equal(cli.sign_alg, SMB2_CRYPTO_SIGN_AES_CMAC);
	test_assert_hex(cli.signing_key, 16, "0B7E9C5CAC36C0F6EA9AB275298CEDCE");
	test_assert_hex(cli.encrypt_key, 16, "FAD27796665B313EBB578F388632B4F7");
	test_assert_hex(cli.decrypt_key, 16, "B0F0427F7CEB416D1D9DCC0CD4F99447");
	test_assert_hex(cli.application_key, 16, "BB23A4575AA26C721AF525AF15A87B4F");
}

static void test_kdf_2x_and_256(void **state) {
	(void)state;
	uint8_t key[32], preauth[64] = { 1 };
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)i;
	Smb2Keys k;
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0210, SMB2_CRYPTO_SIGN_AES_GMAC,
						 SMB2_CRYPTO_CIPHER_NONE, true, key, 16, NULL),
			 0);
	assert_int_equal(k.sign_alg, SMB2_CRYPTO_SIGN_HMAC_SHA256);
	assert_memory_equal(k.signing_key, key, 16);
	assert_int_equal(k.cipher_key_len, 0);

	/* AES-256: L = 256 from the full session key; 128-bit keys ignore
	 * the bytes past 16 */
	Smb2Keys a, b;
	assert_int_equal(smb2_crypto_derive_keys(&a, 0x0311, SMB2_CRYPTO_SIGN_AES_GMAC,
						 SMB2_CRYPTO_CIPHER_AES256_GCM, true, key, 32, preauth),
			 0);
	assert_int_equal(a.cipher_key_len, 32);
	uint8_t want[32];
	assert_int_equal(smb2_crypto_kdf(key, 32, "SMBS2CCipherKey", 16, preauth, 64, want, 32), 0);
	assert_memory_equal(a.encrypt_key, want, 32);
	assert_int_equal(smb2_crypto_kdf(key, 32, "SMBC2SCipherKey", 16, preauth, 64, want, 32), 0);
	assert_memory_equal(a.decrypt_key, want, 32);
	key[20] ^= 1;
	assert_int_equal(smb2_crypto_derive_keys(&b, 0x0311, SMB2_CRYPTO_SIGN_AES_GMAC,
						 SMB2_CRYPTO_CIPHER_AES256_GCM, true, key, 32, preauth),
			 0);
	assert_memory_equal(a.signing_key, b.signing_key, 16);
	assert_memory_not_equal(a.encrypt_key, b.encrypt_key, 32);
	smb2_crypto_keys_clear(&a);
	assert_int_equal(a.dialect, 0);
}

static void test_kdf_errors(void **state) {
	(void)state;
	uint8_t key[16] = { 0 }, out[33];
	Smb2Keys k;
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0311, 0, 0, true, key, 16, NULL), -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0301, 0, 0, true, key, 16, NULL), -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0300, 0, 0, true, key, 15, NULL), -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0300, 0, 0, true, NULL, 16, NULL), -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0300, 0, SMB2_CRYPTO_CIPHER_AES128_GCM, true,
						 key, 16, NULL),
			 -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0202, 0, SMB2_CRYPTO_CIPHER_AES128_CCM, true,
						 key, 16, NULL),
			 -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0311, 7, 0, true, key, 16, key), -EINVAL);
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0311, 0, 9, true, key, 16, key), -EINVAL);
	assert_int_equal(smb2_crypto_kdf(key, 16, "a", 2, "b", 2, out, 33), -EINVAL);
	assert_int_equal(smb2_crypto_kdf(key, 0, "a", 2, "b", 2, out, 16), -EINVAL);
	assert_int_equal(smb2_crypto_cipher_key_len(0), -EINVAL);
	assert_int_equal(smb2_crypto_cipher_key_len(SMB2_CRYPTO_CIPHER_AES256_CCM), 32);
	assert_string_equal(smb2_crypto_cipher_name(SMB2_CRYPTO_CIPHER_AES128_GCM), "AES-128-GCM");
	assert_null(smb2_crypto_cipher_name(5));
	assert_string_equal(smb2_crypto_sign_alg_name(SMB2_CRYPTO_SIGN_AES_GMAC), "AES-GMAC");
	assert_null(smb2_crypto_sign_alg_name(3));
}

/* --- signing --- */

/* Final SESSION_SETUP response of the 3.1.1 walkthrough, AES-CMAC signed. */
static const char setup_response[] =
	"FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000"
	"1900000000100000EBE146DA120BA25FC3376A49DFE31BC10900000048001D00A11B3019A0030A01"
	"00A3120410010000003B453CDC3524164200000000";

static void test_sign_cmac_vector(void **state) {
	(void)state;
	uint8_t key[16], preauth[64], msg[256];
	test_unhex("270E1BA896585EEB7AF3472D3B4C75A7", key, sizeof key);
	test_unhex(preauth_hashes[4], preauth, sizeof preauth);
	size_t n = test_unhex(setup_response, msg, sizeof msg);
	Smb2Keys k;
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0311, SMB2_CRYPTO_SIGN_AES_CMAC, 0, true, key,
						 16, preauth),
			 0);
	assert_int_equal(smb2_crypto_verify(&k, msg, n), 0);
	/* sign from scratch: the same bytes */
	uint8_t copy[256];
	memcpy(copy, msg, n);
	memset(copy + 48, 0xaa, 16);
	assert_int_equal(smb2_crypto_verify(&k, copy, n), -EBADMSG);
	assert_int_equal(smb2_crypto_sign(&k, copy, n), 0);
	assert_memory_equal(copy, msg, n);
	/* any flipped byte of header or body is caught */
	copy[70] ^= 1;
	assert_int_equal(smb2_crypto_verify(&k, copy, n), -EBADMSG);
	copy[70] ^= 1;
	copy[24] ^= 1;
	assert_int_equal(smb2_crypto_verify(&k, copy, n), -EBADMSG);
}

static void make_header(uint8_t *msg, size_t len, uint16_t cmd, uint32_t flags, uint64_t mid) {
	memset(msg, 0, len);
	memcpy(msg, "\xfeSMB", 4);
	smb2_put16(msg + 4, 64);
	smb2_put16(msg + HDR_COMMAND, cmd);
	smb2_put32(msg + HDR_FLAGS, flags);
	smb2_put64(msg + HDR_MESSAGE_ID, mid);
	for (size_t i = 64; i < len; i++)
		msg[i] = (uint8_t)(i * 7);
}

static void test_sign_algorithms(void **state) {
	(void)state;
	uint8_t key[16] = "0123456789abcdef", preauth[64] = { 0 };
	static const uint16_t algs[] = { SMB2_CRYPTO_SIGN_HMAC_SHA256, SMB2_CRYPTO_SIGN_AES_CMAC,
					 SMB2_CRYPTO_SIGN_AES_GMAC };
	uint8_t sigs[3][16];
	for (size_t a = 0; a < ELEMENTSOF(algs); a++) {
		Smb2Keys k;
		assert_int_equal(smb2_crypto_derive_keys(&k, 0x0311, algs[a], 0, true, key, 16,
							 preauth),
				 0);
		uint8_t msg[200];
		make_header(msg, sizeof msg, 8, 0x9, 42);
		assert_int_equal(smb2_crypto_sign(&k, msg, sizeof msg), 0);
		memcpy(sigs[a], msg + 48, 16);
		assert_int_equal(smb2_crypto_verify(&k, msg, sizeof msg), 0);
		/* scattered form gives the same signature */
		struct iovec iov[3] = { { msg, 70 }, { msg + 70, 0 }, { msg + 70, 130 } };
		assert_int_equal(smb2_crypto_verify_iov(&k, iov, 3), 0);
		msg[199] ^= 0x80;
		assert_int_equal(smb2_crypto_verify(&k, msg, sizeof msg), -EBADMSG);
	}
	assert_memory_not_equal(sigs[0], sigs[1], 16);
	assert_memory_not_equal(sigs[1], sigs[2], 16);
}

static void test_sign_gmac_nonce(void **state) {
	(void)state;
	uint8_t key[16] = "fedcba9876543210", preauth[64] = { 2 };
	Smb2Keys k;
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0311, SMB2_CRYPTO_SIGN_AES_GMAC, 0, true, key,
						 16, preauth),
			 0);
	uint8_t a[100], b[100];
	/* The role bit (server-to-redir) and the cancel bit are part of the
	 * nonce: the same bytes otherwise must sign differently. */
	make_header(a, sizeof a, 5, 0x8, 7);
	assert_int_equal(smb2_crypto_sign(&k, a, sizeof a), 0);
	make_header(b, sizeof b, 5, 0x8, 8);
	assert_int_equal(smb2_crypto_sign(&k, b, sizeof b), 0);
	assert_memory_not_equal(a + 48, b + 48, 16);

	/* Independently: GMAC = GCM tag over AAD = message, nonce from header */
	uint8_t msg[100], nonce[12], tag[16];
	make_header(msg, sizeof msg, SMB2_CANCEL, 0x9, 0x1122334455667788ull);
	assert_int_equal(smb2_crypto_sign(&k, msg, sizeof msg), 0);
	memcpy(nonce, msg + 24, 8);
	smb2_put32(nonce + 8, 0x3);
	uint8_t zeroed[100];
	memcpy(zeroed, msg, sizeof zeroed);
	memset(zeroed + 48, 0, 16);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len;
	assert_true(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL));
	assert_true(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL));
	assert_true(EVP_EncryptInit_ex(ctx, NULL, NULL, k.signing_key, nonce));
	assert_true(EVP_EncryptUpdate(ctx, NULL, &len, zeroed, sizeof zeroed));
	assert_true(EVP_EncryptFinal_ex(ctx, tag, &len));
	assert_true(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag));
	EVP_CIPHER_CTX_free(ctx);
	assert_memory_equal(msg + 48, tag, 16);
}

static void test_sign_hmac_independent(void **state) {
	(void)state;
	uint8_t key[16] = "abcdefghijklmnop";
	Smb2Keys k;
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0202, 0, 0, false, key, 16, NULL), 0);
	uint8_t msg[90], zeroed[90], mac[32];
	make_header(msg, sizeof msg, 3, 0, 9);
	memset(msg + 48, 0x55, 16);
	memcpy(zeroed, msg, sizeof msg);
	memset(zeroed + 48, 0, 16);
	unsigned mlen = 0;
	assert_non_null(HMAC(EVP_sha256(), key, 16, zeroed, sizeof zeroed, mac, &mlen));
	assert_int_equal(smb2_crypto_sign(&k, msg, sizeof msg), 0);
	assert_memory_equal(msg + 48, mac, 16);
}

static void test_sign_errors(void **state) {
	(void)state;
	Smb2Keys none = { 0 };
	uint8_t msg[64] = { 0 }, sig[16];
	assert_int_equal(smb2_crypto_sign(&none, msg, sizeof msg), -EINVAL);
	assert_int_equal(smb2_crypto_verify(&none, msg, sizeof msg), -EINVAL);
	Smb2Keys k;
	uint8_t key[16] = { 1 };
	assert_int_equal(smb2_crypto_derive_keys(&k, 0x0300, 0, 0, true, key, 16, NULL), 0);
	assert_int_equal(smb2_crypto_sign(&k, msg, 63), -EINVAL);
	struct iovec iov = { msg, 64 };
	assert_int_equal(smb2_crypto_sign_iov(&k, &iov, 0, sig), -EINVAL);
	assert_int_equal(smb2_crypto_sign_iov(NULL, &iov, 1, sig), -EINVAL);
	k.sign_alg = 9;
	assert_int_equal(smb2_crypto_sign(&k, msg, sizeof msg), -EINVAL);
}

/* --- encryption --- */

typedef struct EncVector {
	const char *name;
	uint16_t dialect, cipher;
	const char *session_key, *preauth;
	uint64_t session_id;
	const char *nonce; /* 16-byte Nonce field */
	const char *plain, *transformed;
	bool server; /* role of the sender */
} EncVector;

static const EncVector enc_vectors[] = {
	{ "3.0 client request", 0x0300, SMB2_CRYPTO_CIPHER_AES128_CCM,
	  "B4546771B515F766A86735532DD6C4F0", NULL, 0x8E40014000011ull,
	  "66E69A111892584FB5ED524A744DA3EE",
	  "FE534D4240000100000000000900400008000000000000000400000000000000"
	  "FFFE0000010000001100001400E4080000000000000000000000000000000000"
	  "3100700017000000000000000000000015010000390000020100000039020000"
	  "00000000000000007000000000000000536D623320656E6372797074696F6E20"
	  "74657374696E67",
	  "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A"
	  "744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5"
	  "2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4"
	  "4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5"
	  "AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6"
	  "C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB",
	  false },
	{ "3.0 server response", 0x0300, SMB2_CRYPTO_CIPHER_AES128_CCM,
	  "B4546771B515F766A86735532DD6C4F0", NULL, 0x8E40014000011ull,
	  "86000000000000001100001400E40800",
	  "FE534D4240000100000000000900210009000000000000000400000000000000"
	  "FFFE0000010000001100001400E4080000000000000000000000000000000000"
	  "11000000170000000000000000000000",
	  "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
	  "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
	  "E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"
	  "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
	  "77309E5B",
	  true },
	{ "3.1.1 client request", 0x0311, SMB2_CRYPTO_CIPHER_AES128_GCM,
	  "419FDDF34C1E001909D362AE7FB6AF79",
	  "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9"
	  "77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
	  0x100000000025ull, "C7D6822D269CAF48904C664C00000000",
	  "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
	  "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
	  "0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"
	  "72797074696F6E2074657374696E67",
	  "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000"
	  "0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02"
	  "D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4"
	  "4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9"
	  "1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8",
	  false },
	{ "3.1.1 server response", 0x0311, SMB2_CRYPTO_CIPHER_AES128_GCM,
	  "419FDDF34C1E001909D362AE7FB6AF79",
	  "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9"
	  "77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
	  0x100000000025ull, "E06831DD2E8EB7B40000000000000000",
	  "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
	  "25000000001000000000000000000000000000000000000011000000170000000000000000000000",
	  "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000"
	  "00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8"
	  "F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B"
	  "82E03C9E18A050FF0EA1C967",
	  true },
};

static void vector_keys(const EncVector *v, bool server, Smb2Keys *k) {
	uint8_t key[16], preauth[64];
	test_unhex(v->session_key, key, sizeof key);
	if (v->preauth)
		test_unhex(v->preauth, preauth, sizeof preauth);
	assert_int_equal(smb2_crypto_derive_keys(k, v->dialect, SMB2_CRYPTO_SIGN_AES_CMAC, v->cipher,
						 server, key, 16, v->preauth ? preauth : NULL),
			 0);
}

static void test_encrypt_vectors(void **state) {
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(enc_vectors); i++) {
		const EncVector *v = &enc_vectors[i];
		print_message("vector: %s\n", v->name);
		Smb2Keys sender, receiver;
		vector_keys(v, v->server, &sender);
		vector_keys(v, !v->server, &receiver);
		_cleanup_(smb3_cipher_freep) Smb3Cipher *enc = NULL, *dec = NULL;
		assert_int_equal(smb3_cipher_new(v->cipher, sender.encrypt_key, sender.cipher_key_len,
						 &enc),
				 0);
		assert_int_equal(smb3_cipher_new(v->cipher, receiver.decrypt_key,
						 receiver.cipher_key_len, &dec),
				 0);
		uint8_t buf[512], nonce[16] = { 0 }, want[512];
		size_t plen = test_unhex(v->plain, buf + 52, sizeof buf - 52);
		size_t tlen = test_unhex(v->transformed, want, sizeof want);
		test_unhex(v->nonce, nonce, sizeof nonce);
		assert_int_equal(encrypt_with_nonce(enc, v->session_id, buf, plen, nonce), 0);
		assert_int_equal(tlen, plen + 52);
		assert_memory_equal(buf, want, tlen);

		uint64_t sid = 0;
		assert_int_equal(smb3_transform_parse(want, tlen, &sid), 0);
		assert_int_equal(sid, v->session_id);
		size_t mlen = 0;
		assert_int_equal(smb3_decrypt(dec, want, tlen, &mlen), 0);
		assert_int_equal(mlen, plen);
		uint8_t plain[512];
		test_unhex(v->plain, plain, sizeof plain);
		assert_memory_equal(want + 52, plain, plen);
	}
}

static void test_encrypt_roundtrip_all(void **state) {
	(void)state;
	static const uint16_t all[] = { SMB2_CRYPTO_CIPHER_AES128_CCM, SMB2_CRYPTO_CIPHER_AES128_GCM,
					SMB2_CRYPTO_CIPHER_AES256_CCM, SMB2_CRYPTO_CIPHER_AES256_GCM };
	uint8_t key[32], preauth[64] = { 3 };
	RAND_bytes(key, sizeof key);
	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		Smb2Keys s, c;
		assert_int_equal(smb2_crypto_derive_keys(&s, 0x0311, SMB2_CRYPTO_SIGN_AES_GMAC, all[i],
							 true, key, 32, preauth),
				 0);
		assert_int_equal(smb2_crypto_derive_keys(&c, 0x0311, SMB2_CRYPTO_SIGN_AES_GMAC, all[i],
							 false, key, 32, preauth),
				 0);
		_cleanup_(smb3_cipher_freep) Smb3Cipher *se = NULL, *cd = NULL;
		assert_int_equal(smb3_cipher_new(all[i], s.encrypt_key, s.cipher_key_len, &se), 0);
		assert_int_equal(smb3_cipher_new(all[i], c.decrypt_key, c.cipher_key_len, &cd), 0);
		size_t sizes[] = { 1, 64, 1000, 70000 };
		for (size_t j = 0; j < ELEMENTSOF(sizes); j++) {
			size_t n = sizes[j];
			uint8_t *buf = malloc(n + 52), *orig = malloc(n);
			assert_non_null(buf);
			assert_non_null(orig);
			RAND_bytes(orig, (int)n);
			memcpy(buf + 52, orig, n);
			assert_int_equal(smb3_encrypt(se, 77, buf, n), 0);
			uint8_t first_nonce[16];
			memcpy(first_nonce, buf + 20, 16);
			/* unused nonce bytes are zero */
			size_t used = ciphers[all[i]].nonce_len;
			for (size_t b = used; b < 16; b++)
				assert_int_equal(buf[20 + b], 0);
			size_t mlen;
			assert_int_equal(smb3_decrypt(cd, buf, n + 52, &mlen), 0);
			assert_int_equal(mlen, n);
			assert_memory_equal(buf + 52, orig, n);
			/* next message: another nonce */
			assert_int_equal(smb3_encrypt(se, 77, buf, n), 0);
			assert_memory_not_equal(buf + 20, first_nonce, 16);
			/* tampering anywhere is refused */
			size_t spots[] = { 4, 20, 40, 44, 52, 52 + n - 1 };
			for (size_t t = 0; t < ELEMENTSOF(spots); t++) {
				uint8_t *tmp = malloc(n + 52);
				memcpy(tmp, buf, n + 52);
				tmp[spots[t]] ^= 0x01;
				assert_int_equal(smb3_decrypt(cd, tmp, n + 52, &mlen), -EBADMSG);
				free(tmp);
			}
			/* the wrong direction's key does not decrypt */
			_cleanup_(smb3_cipher_freep) Smb3Cipher *wrong = NULL;
			assert_int_equal(smb3_cipher_new(all[i], s.decrypt_key, s.cipher_key_len,
							 &wrong),
					 0);
			assert_int_equal(smb3_decrypt(wrong, buf, n + 52, &mlen), -EBADMSG);
			free(buf);
			free(orig);
		}
	}
}

/* Copies for other threads share the nonce sequence: no nonce repeats
 * across copies used concurrently, and the peer decrypts all of them. */
typedef struct DupArg {
	Smb3Cipher *c;
	uint8_t nonces[500][16];
} DupArg;

static void *dup_thread(void *userdata) {
	DupArg *a = userdata;
	for (size_t i = 0; i < ELEMENTSOF(a->nonces); i++) {
		uint8_t buf[52 + 32] = { 0 };
		if (smb3_encrypt(a->c, 9, buf, 32) < 0)
			abort();
		memcpy(a->nonces[i], buf + 20, 16);
	}
	return NULL;
}

static int cmp16(const void *a, const void *b) { return memcmp(a, b, 16); }

static void test_encrypt_dup_threads(void **state) {
	(void)state;
	uint8_t key[16] = "k3y-for-threads!";
	Smb3Cipher *base = NULL;
	assert_int_equal(smb3_cipher_new(SMB2_CRYPTO_CIPHER_AES128_CCM, key, 16, &base), 0);
	enum { N = 4 };
	static DupArg args[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		assert_int_equal(smb3_cipher_dup(base, &args[i].c), 0);
		assert_int_equal(pthread_create(&t[i], NULL, dup_thread, &args[i]), 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	smb3_cipher_free(base); /* copies keep the shared sequence alive */
	static uint8_t all[N * 500][16];
	for (int i = 0; i < N; i++)
		memcpy(all[i * 500], args[i].nonces, sizeof args[i].nonces);
	qsort(all, N * 500, 16, cmp16);
	for (size_t i = 1; i < N * 500; i++)
		assert_memory_not_equal(all[i - 1], all[i], 16);
	/* a copy's output decrypts with an independent cipher on the key */
	_cleanup_(smb3_cipher_freep) Smb3Cipher *dec = NULL;
	assert_int_equal(smb3_cipher_new(SMB2_CRYPTO_CIPHER_AES128_CCM, key, 16, &dec), 0);
	uint8_t buf[52 + 5] = { 0 };
	memcpy(buf + 52, "hello", 5);
	assert_int_equal(smb3_encrypt(args[0].c, 3, buf, 5), 0);
	size_t mlen;
	assert_int_equal(smb3_decrypt(dec, buf, sizeof buf, &mlen), 0);
	assert_memory_equal(buf + 52, "hello", 5);
	for (int i = 0; i < N; i++)
		smb3_cipher_free(args[i].c);
}

static void test_encrypt_errors(void **state) {
	(void)state;
	uint8_t key[32] = { 0 }, buf[100] = { 0 };
	Smb3Cipher *c = NULL;
	assert_int_equal(smb3_cipher_new(0, key, 16, &c), -EINVAL);
	assert_int_equal(smb3_cipher_new(5, key, 16, &c), -EINVAL);
	assert_int_equal(smb3_cipher_new(SMB2_CRYPTO_CIPHER_AES256_GCM, key, 16, &c), -EINVAL);
	assert_int_equal(smb3_cipher_new(SMB2_CRYPTO_CIPHER_AES128_GCM, NULL, 16, &c), -EINVAL);
	assert_int_equal(smb3_cipher_new(SMB2_CRYPTO_CIPHER_AES128_GCM, key, 16, &c), 0);
	assert_int_equal(smb3_encrypt(c, 1, buf, 0), -EINVAL);
	assert_int_equal(smb3_encrypt(NULL, 1, buf, 10), -EINVAL);
	/* counter exhaustion is refused, never wrapped */
	c->nonce->next = UINT64_MAX - 1;
	assert_int_equal(smb3_encrypt(c, 1, buf, 10), 0);
	assert_int_equal(smb3_encrypt(c, 1, buf, 10), -EOVERFLOW);
	assert_int_equal(smb3_encrypt(c, 1, buf, 10), -EOVERFLOW);
	assert_int_equal(smb3_cipher_dup(NULL, &c), -EINVAL);

	/* malformed transform headers */
	size_t mlen;
	uint8_t good[100] = { 0 };
	smb2_put32(good, SMB3_TRANSFORM_PROTOCOL_ID);
	smb2_put32(good + TH_ORIGINAL_SIZE, 48);
	smb2_put16(good + TH_FLAGS, 1);
	assert_int_equal(smb3_transform_parse(good, 100, NULL), 0);
	assert_int_equal(smb3_transform_parse(good, 99, NULL), -EBADMSG);
	assert_int_equal(smb3_transform_parse(good, 52, NULL), -EBADMSG);
	assert_int_equal(smb3_transform_parse(NULL, 100, NULL), -EBADMSG);
	good[0] = 0xfe;
	assert_int_equal(smb3_transform_parse(good, 100, NULL), -EBADMSG);
	good[0] = 0xfd;
	smb2_put16(good + TH_FLAGS, 2);
	assert_int_equal(smb3_transform_parse(good, 100, NULL), -EBADMSG);
	smb2_put16(good + TH_FLAGS, 1);
	assert_int_equal(smb3_decrypt(c, good, 100, &mlen), -EBADMSG); /* zero tag */
	assert_int_equal(smb3_decrypt(NULL, good, 100, &mlen), -EINVAL);
	smb3_cipher_free(c);
	smb3_cipher_free(NULL);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preauth_vector),
		cmocka_unit_test(test_kdf_311_vector),
		cmocka_unit_test(test_kdf_300_vector),
		cmocka_unit_test(test_kdf_2x_and_256),
		cmocka_unit_test(test_kdf_errors),
		cmocka_unit_test(test_sign_cmac_vector),
		cmocka_unit_test(test_sign_algorithms),
		cmocka_unit_test(test_sign_gmac_nonce),
		cmocka_unit_test(test_sign_hmac_independent),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_encrypt_vectors),
		cmocka_unit_test(test_encrypt_roundtrip_all),
		cmocka_unit_test(test_encrypt_dup_threads),
		cmocka_unit_test(test_encrypt_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
