/*
 * test_ntlm.c - unit tests of endpoint/ntlm.c: MD4/RC4 primitives, the
 * [MS-NLMP] 4.2.4 NTLMv2 test vectors (client and server side), the
 * 4.2.4.4 signing/sealing example, a real Windows AUTHENTICATE with MIC and
 * its mechListMIC signatures (from Microsoft's SMB 3.1.1 pre-auth integrity
 * walkthrough), client <-> server round trips, and every refusal path.
 *
 * Includes ntlm.c to reach the static primitives and to fix the random
 * inputs the vectors use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../endpoint/ntlm.c"
#include "test_common.h"
#include "test_ntlm_common.h"

/* ---- a user table for the server ---- */

static int lookup_calls;

static int test_lookup(void *userdata, const char *user, const char *domain, uint8_t h[16]) {
	(void)domain;
	lookup_calls++;
	if (userdata)
		return *(int *)userdata;
	if (strcasecmp(user, "User") == 0)
		return ntlm_nt_hash("Password", h);
	if (strcmp(user, "jürgen") == 0)
		return ntlm_nt_hash("Grüße€😀", h);
	return -ENOENT;
}

static NtlmServerConfig server_cfg(void) {
	return (NtlmServerConfig){
		.netbios_computer = "SMBREF",
		.netbios_domain = "WORKGROUP",
		.dns_computer = "smbref.example",
		.dns_domain = "example",
		.lookup = test_lookup,
	};
}

/* ---- primitives ---- */

static void test_md4(void **state) {
	(void)state;
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "31d6cfe0d16ae931b73c59d7e0c089c0" },
		{ "a", "bde52cb31de33e46245e05fbdbd6fb24" },
		{ "abc", "a448017aaf21d8525fc10ae87aa6729d" },
		{ "message digest", "d9130a8164549fe818874806e1c7014b" },
		{ "abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "043f8582f241db351ce627e153e7f0e4" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "e33b4ddc9c38f2199c3e7b164fcc0536" },
	};
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		uint8_t out[16];
		md4((const uint8_t *)v[i].in, strlen(v[i].in), out);
		test_assert_hex(out, 16, v[i].out);
	}
}

static void test_rc4(void **state) {
	(void)state;
	static const struct {
		const char *key, *in, *out;
	} v[] = {
		{ "Key", "Plaintext", "bbf316e8d940af0ad3" },
		{ "Wiki", "pedia", "1021bf0420" },
		{ "Secret", "Attack at dawn", "45a01f645fc35b383552544b9bf5" },
	};
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		uint8_t out[32];
		rc4_oneshot((const uint8_t *)v[i].key, strlen(v[i].key), (const uint8_t *)v[i].in, out,
			    strlen(v[i].in));
		test_assert_hex(out, strlen(v[i].in), v[i].out);
	}
}

static void test_nt_hash(void **state) {
	(void)state;
	uint8_t h[16];
	assert_int_equal(ntlm_nt_hash("Password", h), 0); /* [MS-NLMP] 4.2.2.1.2 */
	test_assert_hex(h, 16, "a4f49c406510bdcab6824ee7c30fd852");
	assert_int_equal(ntlm_nt_hash("password", h), 0);
	test_assert_hex(h, 16, "8846f7eaee8fb117ad06bdd830b7586c");
	assert_int_equal(ntlm_nt_hash("", h), 0);
	test_assert_hex(h, 16, "31d6cfe0d16ae931b73c59d7e0c089c0");
	assert_int_equal(ntlm_nt_hash("\xff", h), -EINVAL);
	assert_int_equal(ntlm_nt_hash("\xc0\x80", h), -EINVAL);       /* overlong NUL */
	assert_int_equal(ntlm_nt_hash("\xed\xa0\x80", h), -EINVAL);   /* surrogate */
	assert_int_equal(ntlm_nt_hash("\xe2\x82", h), -EINVAL);       /* truncated */
	assert_int_equal(ntlm_nt_hash(NULL, h), -EINVAL);
}

static void test_utf16(void **state) {
	(void)state;
	uint8_t *u = NULL;
	size_t n = 0;
	assert_int_equal(utf8_to_utf16le("aé€😀", true, &u, &n), 0);
	test_assert_hex(u, n, "4100c900ac203dd800de");
	char *s = NULL;
	assert_int_equal(utf16le_to_utf8(u, n, &s), 0);
	assert_string_equal(s, "AÉ€😀");
	free(s);
	assert_int_equal(utf16le_to_utf8(u, n - 1, &s), -EBADMSG);  /* odd */
	assert_int_equal(utf16le_to_utf8(u, n - 2, &s), -EBADMSG);  /* lone high surrogate */
	assert_int_equal(utf16le_to_utf8(u + 8, 2, &s), -EBADMSG);  /* lone low surrogate */
	uint8_t nul[2] = { 0, 0 };
	assert_int_equal(utf16le_to_utf8(nul, 2, &s), -EBADMSG);
	free(u);
	/* Greek and Cyrillic upper casing */
	assert_int_equal(utf8_to_utf16le("αжё", true, &u, &n), 0);
	test_assert_hex(u, n, "910316040104");
	free(u);
}

/* ---- [MS-NLMP] 4.2.4 ---- */

static const char nlmp_challenge[] =
	"4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044"
	"000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c005300"
	"6500720076006500720000000000";

static const char nlmp_authenticate[] =
	"4e544c4d5353500003000000180018006c00000054005400840000000c000c0048000000080008005400000010"
	"0010005c00000010001000d8000000358288e20501280a0000000f44006f006d00610069006e00550073006500"
	"720043004f004d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0a"
	"b851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c00"
	"44006f006d00610069006e0001000c005300650072007600650072000000000000000000c5dad2544fc9799094"
	"ce1ce90bc9d03e";

static void test_ntowfv2_vector(void **state) {
	(void)state;
	uint8_t nt[16], owf[16];
	assert_int_equal(ntlm_nt_hash("Password", nt), 0);
	assert_int_equal(ntowfv2(nt, "User", "Domain", owf), 0);
	test_assert_hex(owf, 16, "0c868a403bfd7a93a3001ef22ef02e3f");
	assert_int_equal(ntowfv2(nt, "user", "Domain", owf), 0); /* user upper-cased */
	test_assert_hex(owf, 16, "0c868a403bfd7a93a3001ef22ef02e3f");
}

static void test_client_vector(void **state) {
	(void)state;
	NtlmClientConfig cfg = { .user = "User", .domain = "Domain", .workstation = "COMPUTER",
				 .password = "Password" };
	_cleanup_(ntlm_client_freep) NtlmClient *c = NULL;
	assert_int_equal(ntlm_client_new(&cfg, &c), 0);
	c->test_fixed = true;
	memset(c->test_client_challenge, 0xaa, 8);
	memset(c->test_session_key, 0x55, 16);
	c->test_time = 0;
	_cleanup_free_ uint8_t *neg = NULL, *auth = NULL;
	size_t neg_len, auth_len;
	assert_int_equal(ntlm_client_negotiate(c, &neg, &neg_len), 0);
	uint8_t chal[512];
	size_t chal_len = test_unhex(nlmp_challenge, chal, sizeof chal);
	assert_int_equal(ntlm_client_authenticate(c, chal, chal_len, &auth, &auth_len), 0);

	AuthMsg m = { 0 };
	assert_int_equal(parse_authenticate(auth, auth_len, &m), 0);
	/* 4.2.4.2.1 LMv2, 4.2.4.2.2 NTLMv2 response, 4.2.4.2.3 session key */
	test_assert_hex(m.lm, m.lm_len, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
	test_assert_hex(m.nt, m.nt_len,
		   "68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa"
		   "0000000002000c0044006f006d00610069006e0001000c00530065007200760065007200000000"
		   "0000000000");
	test_assert_hex(m.enc_key, m.enc_key_len, "c5dad2544fc9799094ce1ce90bc9d03e");
	test_assert_hex(ntlm_client_session_key(c), 16, "55555555555555555555555555555555");
	/* No timestamp from the server: no MIC, header without the MIC field */
	assert_int_equal(smb2_le32(auth + AUTH_DOMAIN + 4), AUTH_VERSION + 8);
	assert_int_equal(ntlm_client_authenticate(c, chal, chal_len, &auth, &auth_len), -EALREADY);
}

/* The server checks the vector's AUTHENTICATE (LMv2 present, no MIC). */
static void test_server_vector(void **state) {
	(void)state;
	NtlmServerConfig cfg = server_cfg();
	_cleanup_(ntlm_server_freep) NtlmServer *s = NULL;
	assert_int_equal(ntlm_server_new(&cfg, &s), 0);
	uint8_t neg[40] = "NTLMSSP";
	smb2_put32(neg + 8, 1);
	smb2_put32(neg + 12, 0xe2088297);
	_cleanup_free_ uint8_t *chal = NULL;
	size_t chal_len;
	assert_int_equal(ntlm_server_negotiate(s, neg, sizeof neg, &chal, &chal_len), 0);
	test_unhex("0123456789abcdef", s->challenge, 8);
	uint8_t auth[512];
	size_t auth_len = test_unhex(nlmp_authenticate, auth, sizeof auth);
	assert_int_equal(ntlm_server_authenticate(s, auth, auth_len), 0);
	const NtlmAuthInfo *info = ntlm_server_info(s);
	assert_non_null(info);
	assert_string_equal(info->user, "User");
	assert_string_equal(info->domain, "Domain");
	assert_string_equal(info->workstation, "COMPUTER");
	assert_false(info->anonymous);
	assert_false(info->guest);
	assert_true(info->has_session_key);
	test_assert_hex(info->session_key, 16, "55555555555555555555555555555555");
	assert_false(ntlm_server_mic_present(s));
	assert_non_null(ntlm_server_session(s));
	assert_int_equal(ntlm_server_authenticate(s, auth, auth_len), -EALREADY);
}

/* [MS-NLMP] 4.2.4.4: seal "Plaintext" then sign, both directions. */
static void test_seal_sign_vector(void **state) {
	(void)state;
	uint8_t key[16];
	memset(key, 0x55, 16);
	uint32_t flags = NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLM_NEGOTIATE_KEY_EXCH |
			 NTLM_NEGOTIATE_128 | NTLM_NEGOTIATE_SEAL | NTLM_NEGOTIATE_SIGN;
	uint8_t plain[18], sealed[18], sig[16];
	size_t n = test_unhex("50006c00610069006e007400650078007400", plain, sizeof plain);
	static const struct {
		bool server;
		const char *sealed, *sig;
	} v[] = {
		{ false, "54e50165bf1936dc996020c1811b0f06fb5f", "010000007fb38ec5c55d497600000000" },
		{ true, "160871b730ba74e946c453d7465b54278dd0", "01000000b298b847ce7c580700000000" },
	};
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		NtlmSession *s = NULL;
		assert_int_equal(session_new(key, flags, v[i].server, &s), 0);
		rc4_crypt(&s->out_seal, plain, sealed, n);
		assert_int_equal(ntlm_session_sign(s, plain, n, sig), 0);
		test_assert_hex(sealed, n, v[i].sealed);
		test_assert_hex(sig, 16, v[i].sig);
		session_free(s);
	}
	/* client sign keys of 4.2.4.4 */
	NtlmSession *s = NULL;
	assert_int_equal(session_new(key, flags, false, &s), 0);
	test_assert_hex(s->out_sign_key, 16, "4788dc861b4782f35d43fd98fe1a2d39");
	session_free(s);
}

/* ---- Windows 10 AUTHENTICATE with MIC (SMB 3.1.1 pre-auth walkthrough) ---- */

static const char win_negotiate[] =
	"4E544C4D5353500001000000978208E200000000000000000000000000000000060380250000000F";
static const char win_challenge[] =
	"4E544C4D53535000020000000C000C003800000015828AE20D1D8BA31179D008000000000000000050005000"
	"440000000A0092270000000F53005500540033003100310002000C0053005500540033003100310001000C00"
	"53005500540033003100310004000C0053005500540033003100310003000C00530055005400330031003100"
	"07000800A1A1F5ADCBAED00100000000";
static const char win_authenticate[] =
	"4E544C4D53535000030000001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000"
	"120012007E0000001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3"
	"530055005400330031003100610064006D0069006E006900730074007200610074006F007200440052004900"
	"56004500520033003100310000000000000000000000000000000000000000000000000063078EB639FE03E2"
	"0A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F0000000002000C0053005500"
	"540033003100310001000C0053005500540033003100310004000C0053005500540033003100310003000C00"
	"53005500540033003100310007000800A1A1F5ADCBAED0010600040002000000080030003000000000000000"
	"0000000000300000B61FEFCAA857EA57BF1EDCEBF8974B8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A001000"
	"000000000000000000000000000000000900160063006900660073002F005300550054003300310031000000"
	"000000000000000000003B9BDFF38F5EE8F9663F11A0F4C03A78";

static void load_windows_exchange(NtlmServer *s, uint8_t *auth, size_t *auth_len) {
	uint8_t buf[512];
	size_t n = test_unhex(win_negotiate, buf, sizeof buf);
	s->negotiate_msg = malloc(n);
	memcpy(s->negotiate_msg, buf, n);
	s->negotiate_len = n;
	n = test_unhex(win_challenge, buf, sizeof buf);
	s->challenge_msg = malloc(n);
	memcpy(s->challenge_msg, buf, n);
	s->challenge_len = n;
	memcpy(s->challenge, buf + CHAL_CHALLENGE, 8);
	s->state = SRV_CHALLENGED;
	s->flags = smb2_le32(buf + CHAL_FLAGS);
	*auth_len = test_unhex(win_authenticate, auth, 512);
}

static void test_windows_mic(void **state) {
	(void)state;
	NtlmServerConfig cfg = server_cfg();
	_cleanup_(ntlm_server_freep) NtlmServer *s = NULL;
	assert_int_equal(ntlm_server_new(&cfg, &s), 0);
	uint8_t auth[512];
	size_t auth_len;
	load_windows_exchange(s, auth, &auth_len);

	AuthMsg m = { 0 };
	assert_int_equal(parse_authenticate(auth, auth_len, &m), 0);
	uint32_t avf;
	assert_int_equal(blob_av_flags(m.nt + 16, m.nt_len - 16, &avf), 0);
	assert_int_equal(avf, AV_FLAG_MIC_PRESENT);
	/* ResponseKeyNT (NTOWFv2) as published; the password is not. */
	uint8_t owf[16], proof[16], sbk[16], exported[16];
	test_unhex("AEE3959B44A815F1EB28C9511B4F533B", owf, 16);
	assert_int_equal(ntlmv2_proof(owf, s->challenge, m.nt + 16, m.nt_len - 16, proof, sbk), 0);
	test_assert_hex(proof, 16, "63078EB639FE03E20A231C3AE3BF2308");
	test_assert_hex(sbk, 16, "B4CF22566926B1C069ACD80E4D73C814");
	rc4_oneshot(sbk, 16, m.enc_key, exported, 16);
	test_assert_hex(exported, 16, "270E1BA896585EEB7AF3472D3B4C75A7");
	assert_int_equal(check_mic(s, auth, auth_len, exported), 0);
	auth[200] ^= 1;
	assert_int_equal(check_mic(s, auth, auth_len, exported), -EACCES);
	auth[200] ^= 1;
	assert_int_equal(check_mic(s, auth, AUTH_HEADER_MIC - 1, exported), -EBADMSG);

	/* mechListMIC of the same exchange: over DER mechTypes, seq 0 */
	uint32_t flags = s->flags & m.flags;
	uint8_t mech_types[14], sig[16];
	size_t mt = test_unhex("300C060A2B06010401823702020A", mech_types, sizeof mech_types);
	NtlmSession *srv = NULL, *cli = NULL;
	assert_int_equal(session_new(exported, flags, true, &srv), 0);
	assert_int_equal(session_new(exported, flags, false, &cli), 0);
	assert_int_equal(ntlm_session_sign(cli, mech_types, mt, sig), 0);
	test_assert_hex(sig, 16, "0100000063775A9A5FD97F0600000000");
	assert_int_equal(ntlm_session_verify(srv, mech_types, mt, sig, 16), 0);
	assert_int_equal(ntlm_session_sign(srv, mech_types, mt, sig), 0);
	test_assert_hex(sig, 16, "010000003B453CDC3524164200000000");
	assert_int_equal(ntlm_session_verify(cli, mech_types, mt, sig, 16), 0);
	/* replayed: sequence numbers moved on */
	assert_int_equal(ntlm_session_verify(cli, mech_types, mt, sig, 16), -EBADMSG);
	assert_int_equal(ntlm_session_verify(cli, mech_types, mt, sig, 15), -EBADMSG);
	assert_int_equal(ntlm_session_sign(NULL, mech_types, mt, sig), -EINVAL);
	assert_int_equal(ntlm_session_verify(NULL, mech_types, mt, sig, 16), -EINVAL);
	session_free(srv);
	session_free(cli);
}

/* ---- round trips ---- */

static void test_roundtrip_ok(void **state) {
	(void)state;
	NtlmServerConfig scfg = server_cfg();
	static const NtlmClientConfig clients[] = {
		{ .user = "User", .domain = "Domain", .workstation = "WS", .password = "Password" },
		{ .user = "USER", .domain = "", .password = "Password" },
		{ .user = "user", .domain = "workgroup", .password = "Password" },
		{ .user = "jürgen", .domain = "Ünïcode", .password = "Grüße€😀" },
	};
	for (size_t i = 0; i < ELEMENTSOF(clients); i++) {
		NtlmServer *s;
		NtlmClient *c;
		assert_int_equal(test_ntlm_exchange(&scfg, &clients[i], &s, &c), 0);
		const NtlmAuthInfo *info = ntlm_server_info(s);
		assert_true(info->has_session_key);
		assert_memory_equal(info->session_key, ntlm_client_session_key(c), 16);
		assert_string_equal(info->user, clients[i].user);
		assert_true(ntlm_server_mic_present(s));
		assert_true(info->flags & NTLM_NEGOTIATE_KEY_EXCH);
		/* both sides' signatures check on the other side */
		uint8_t sig[16];
		const uint8_t data[] = "mechTypes";
		assert_int_equal(ntlm_session_sign(ntlm_client_session(c), data, 9, sig), 0);
		assert_int_equal(ntlm_session_verify(ntlm_server_session(s), data, 9, sig, 16), 0);
		assert_int_equal(ntlm_session_sign(ntlm_server_session(s), data, 9, sig), 0);
		assert_int_equal(ntlm_session_verify(ntlm_client_session(c), data, 9, sig, 16), 0);
		ntlm_server_free(s);
		ntlm_client_free(c);
	}
}

static void test_roundtrip_nt_hash_client(void **state) {
	(void)state;
	NtlmServerConfig scfg = server_cfg();
	uint8_t h[16];
	assert_int_equal(ntlm_nt_hash("Password", h), 0);
	NtlmClientConfig cc = { .user = "User", .nt_hash = h };
	NtlmServer *s;
	NtlmClient *c;
	assert_int_equal(test_ntlm_exchange(&scfg, &cc, &s, &c), 0);
	ntlm_server_free(s);
	ntlm_client_free(c);
}

static void test_wrong_password_and_unknown_user(void **state) {
	(void)state;
	NtlmServerConfig scfg = server_cfg();
	NtlmClientConfig wrong = { .user = "User", .password = "password" };
	NtlmClientConfig unknown = { .user = "nobody", .domain = "D", .workstation = "W",
				     .password = "x" };
	NtlmServer *s;
	NtlmClient *c;
	assert_int_equal(test_ntlm_exchange(&scfg, &wrong, &s, &c), -EACCES);
	assert_false(ntlm_server_info(s)->has_session_key);
	assert_null(ntlm_server_session(s));
	ntlm_server_free(s);
	ntlm_client_free(c);

	assert_int_equal(test_ntlm_exchange(&scfg, &unknown, &s, &c), -ENOENT);
	const NtlmAuthInfo *info = ntlm_server_info(s);
	assert_string_equal(info->user, "nobody"); /* for the audit log */
	assert_string_equal(info->domain, "D");
	assert_string_equal(info->workstation, "W");
	assert_false(info->has_session_key);
	assert_false(info->guest);
	ntlm_server_free(s);
	ntlm_client_free(c);

	/* guest mapping: unknown users only, never a wrong password */
	scfg.map_unknown_to_guest = true;
	assert_int_equal(test_ntlm_exchange(&scfg, &unknown, &s, &c), 0);
	assert_true(ntlm_server_info(s)->guest);
	assert_false(ntlm_server_info(s)->has_session_key);
	assert_null(ntlm_server_session(s));
	ntlm_server_free(s);
	ntlm_client_free(c);
	assert_int_equal(test_ntlm_exchange(&scfg, &wrong, &s, &c), -EACCES);
	ntlm_server_free(s);
	ntlm_client_free(c);

	/* lookup failures other than ENOENT pass through */
	int err = -EIO;
	scfg.userdata = &err;
	assert_int_equal(test_ntlm_exchange(&scfg, &wrong, &s, &c), -EIO);
	ntlm_server_free(s);
	ntlm_client_free(c);
}

static void test_anonymous(void **state) {
	(void)state;
	NtlmServerConfig scfg = server_cfg();
	NtlmClientConfig anon = { .user = "" };
	NtlmServer *s;
	NtlmClient *c;
	assert_int_equal(test_ntlm_exchange(&scfg, &anon, &s, &c), -EPERM);
	assert_null(ntlm_client_session_key(c));
	ntlm_server_free(s);
	ntlm_client_free(c);
	scfg.allow_anonymous = true;
	assert_int_equal(test_ntlm_exchange(&scfg, &anon, &s, &c), 0);
	assert_true(ntlm_server_info(s)->anonymous);
	assert_false(ntlm_server_info(s)->has_session_key);
	assert_string_equal(ntlm_server_info(s)->user, "");
	ntlm_server_free(s);
	ntlm_client_free(c);
}

/* Build a server in CHALLENGED state and return its challenge. */
static NtlmServer *challenged_server(const NtlmServerConfig *cfg, uint8_t **chal, size_t *chal_len) {
	NtlmServer *s = NULL;
	assert_int_equal(ntlm_server_new(cfg, &s), 0);
	uint8_t neg[32] = "NTLMSSP";
	smb2_put32(neg + 8, 1);
	smb2_put32(neg + 12, CLIENT_FLAGS);
	assert_int_equal(ntlm_server_negotiate(s, neg, sizeof neg, chal, chal_len), 0);
	return s;
}

static void test_challenge_contents(void **state) {
	(void)state;
	NtlmServerConfig cfg = server_cfg();
	_cleanup_free_ uint8_t *chal = NULL;
	size_t chal_len;
	_cleanup_(ntlm_server_freep) NtlmServer *s = challenged_server(&cfg, &chal, &chal_len);
	assert_true(msg_header_ok(chal, chal_len, MSG_CHALLENGE, CHAL_HEADER));
	uint32_t flags = smb2_le32(chal + CHAL_FLAGS);
	static const uint32_t must[] = { NTLM_NEGOTIATE_UNICODE, NTLM_NEGOTIATE_TARGET_INFO,
					 NTLM_NEGOTIATE_KEY_EXCH, NTLM_NEGOTIATE_128,
					 NTLM_NEGOTIATE_SIGN, NTLM_NEGOTIATE_SEAL,
					 NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY,
					 NTLM_NEGOTIATE_VERSION };
	for (size_t i = 0; i < ELEMENTSOF(must); i++)
		assert_true(flags & must[i]);
	assert_false(flags & NTLM_NEGOTIATE_LM_KEY);
	const uint8_t *ti;
	size_t ti_len;
	assert_int_equal(msg_field(chal, chal_len, CHAL_TARGET_INFO, &ti, &ti_len), 0);
	bool seen[8] = { 0 };
	const uint8_t *p = ti, *v;
	uint16_t id;
	size_t vlen;
	int r;
	while ((r = av_next(&p, ti + ti_len, &id, &v, &vlen)) > 0)
		if (id < 8)
			seen[id] = true;
	assert_int_equal(r, 0);
	assert_true(seen[AV_NB_COMPUTER] && seen[AV_NB_DOMAIN] && seen[AV_DNS_COMPUTER] &&
		    seen[AV_DNS_DOMAIN] && seen[AV_TIMESTAMP]);
	uint64_t ts;
	assert_int_equal(find_timestamp(ti, ti_len, &ts), 1);
	assert_true(ts > 130000000000000000ULL);
	/* two servers never share a challenge */
	_cleanup_free_ uint8_t *chal2 = NULL;
	size_t chal2_len;
	_cleanup_(ntlm_server_freep) NtlmServer *s2 = challenged_server(&cfg, &chal2, &chal2_len);
	assert_memory_not_equal(s->challenge, s2->challenge, 8);
	assert_memory_not_equal(chal + CHAL_CHALLENGE, chal2 + CHAL_CHALLENGE, 8);
	/* once only */
	uint8_t *again;
	size_t again_len;
	assert_int_equal(ntlm_server_negotiate(s, chal, chal_len, &again, &again_len), -EALREADY);
}

static void test_server_refusals(void **state) {
	(void)state;
	NtlmServerConfig cfg = server_cfg();
	_cleanup_free_ uint8_t *chal = NULL;
	size_t chal_len;
	NtlmServer *s;
	uint8_t *out;
	size_t out_len;

	/* config errors */
	NtlmServerConfig bad = cfg;
	bad.lookup = NULL;
	assert_int_equal(ntlm_server_new(&bad, &s), -EINVAL);
	bad = cfg;
	bad.netbios_computer = NULL;
	assert_int_equal(ntlm_server_new(&bad, &s), -EINVAL);

	/* NEGOTIATE: bad signature, type, size, no Unicode */
	assert_int_equal(ntlm_server_new(&cfg, &s), 0);
	uint8_t neg[32] = "NTLMSSP";
	smb2_put32(neg + 8, 1);
	smb2_put32(neg + 12, CLIENT_FLAGS);
	assert_int_equal(ntlm_server_negotiate(s, neg, 15, &out, &out_len), -EBADMSG);
	neg[0] = 'X';
	assert_int_equal(ntlm_server_negotiate(s, neg, sizeof neg, &out, &out_len), -EBADMSG);
	neg[0] = 'N';
	smb2_put32(neg + 8, 3);
	assert_int_equal(ntlm_server_negotiate(s, neg, sizeof neg, &out, &out_len), -EBADMSG);
	smb2_put32(neg + 8, 1);
	smb2_put32(neg + 12, NTLM_NEGOTIATE_OEM | NTLM_NEGOTIATE_NTLM);
	assert_int_equal(ntlm_server_negotiate(s, neg, sizeof neg, &out, &out_len),
			 -EPROTONOSUPPORT);
	/* AUTHENTICATE before CHALLENGE */
	assert_int_equal(ntlm_server_authenticate(s, neg, sizeof neg), -EPROTO);
	ntlm_server_free(s);

	/* AUTHENTICATE: truncated, bad field offsets, NTLMv1, LM only, bad blob */
	NtlmClientConfig cc = { .user = "User", .password = "Password" };
	static const struct {
		const char *what;
		size_t off;     /* byte to change, or SIZE_MAX for truncation */
		uint32_t value; /* new u32 (field offsets) or u16 */
		bool u16;
		int want;
	} cases[] = {
		{ "truncated header", SIZE_MAX, 63, false, -EBADMSG },
		{ "NT offset past end", AUTH_NT + 4, 0xfffffff0u, false, -EBADMSG },
		{ "user len past end", AUTH_USER, 0xffff, true, -EBADMSG },
		{ "NTLMv1 length", AUTH_NT, 24, true, -EPROTONOSUPPORT },
		{ "LM only", AUTH_NT, 0, true, -EPROTONOSUPPORT },
		{ "short NTLMv2", AUTH_NT, 43, true, -EBADMSG },
		{ "bad message type", 8, 2, false, -EBADMSG },
		{ "no key exchange key", AUTH_SESSION_KEY, 0, true, -EBADMSG },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		print_message("case: %s\n", cases[i].what);
		_cleanup_free_ uint8_t *neg2 = NULL, *chal2 = NULL, *auth = NULL;
		size_t neg2_len, chal2_len, auth_len;
		NtlmClient *c;
		assert_int_equal(ntlm_client_new(&cc, &c), 0);
		assert_int_equal(ntlm_server_new(&cfg, &s), 0);
		assert_int_equal(ntlm_client_negotiate(c, &neg2, &neg2_len), 0);
		assert_int_equal(ntlm_server_negotiate(s, neg2, neg2_len, &chal2, &chal2_len), 0);
		assert_int_equal(ntlm_client_authenticate(c, chal2, chal2_len, &auth, &auth_len), 0);
		if (cases[i].off == SIZE_MAX)
			auth_len = cases[i].value;
		else if (cases[i].u16)
			smb2_put16(auth + cases[i].off, (uint16_t)cases[i].value);
		else
			smb2_put32(auth + cases[i].off, cases[i].value);
		assert_int_equal(ntlm_server_authenticate(s, auth, auth_len), cases[i].want);
		ntlm_server_free(s);
		ntlm_client_free(c);
	}

	/* A flipped bit in the MIC, the blob, the encrypted key, the domain or
	 * the workstation (covered by the MIC only): all wrong credentials. */
	NtlmClientConfig named = { .user = "User", .domain = "D", .workstation = "W",
				   .password = "Password" };
	static const size_t fields[] = { 0, AUTH_NT, AUTH_SESSION_KEY, AUTH_DOMAIN, AUTH_WORKSTATION };
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		_cleanup_free_ uint8_t *neg2 = NULL, *chal2 = NULL, *auth = NULL;
		size_t neg2_len, chal2_len, auth_len;
		NtlmClient *c;
		assert_int_equal(ntlm_client_new(&named, &c), 0);
		assert_int_equal(ntlm_server_new(&cfg, &s), 0);
		assert_int_equal(ntlm_client_negotiate(c, &neg2, &neg2_len), 0);
		assert_int_equal(ntlm_server_negotiate(s, neg2, neg2_len, &chal2, &chal2_len), 0);
		assert_int_equal(ntlm_client_authenticate(c, chal2, chal2_len, &auth, &auth_len), 0);
		size_t at = fields[i] == 0 ? AUTH_MIC + 3 : smb2_le32(auth + fields[i] + 4);
		if (fields[i] == AUTH_NT)
			at += 16 + 8; /* the blob's timestamp */
		auth[at] ^= 1;
		assert_int_equal(ntlm_server_authenticate(s, auth, auth_len), -EACCES);
		ntlm_server_free(s);
		ntlm_client_free(c);
	}
	(void)chal;
	(void)chal_len;
}

static void test_client_refusals(void **state) {
	(void)state;
	NtlmClient *c;
	NtlmClientConfig nopw = { .user = "u" };
	assert_int_equal(ntlm_client_new(&nopw, &c), -EINVAL);
	assert_int_equal(ntlm_client_new(NULL, &c), -EINVAL);
	NtlmClientConfig badutf = { .user = "u", .password = "\xff" };
	assert_int_equal(ntlm_client_new(&badutf, &c), -EINVAL);

	NtlmClientConfig cc = { .user = "User", .password = "Password" };
	uint8_t chal[512];
	size_t chal_len = test_unhex(nlmp_challenge, chal, sizeof chal);
	_cleanup_free_ uint8_t *neg = NULL;
	size_t neg_len;
	uint8_t *out;
	size_t out_len;
	/* out of order */
	assert_int_equal(ntlm_client_new(&cc, &c), 0);
	assert_int_equal(ntlm_client_authenticate(c, chal, chal_len, &out, &out_len), -EPROTO);
	ntlm_client_free(c);

	static const struct {
		const char *what;
		size_t off, len;
		uint32_t value;
		int want;
	} cases[] = {
		{ "truncated", 0, 47, 0, -EBADMSG },
		{ "wrong type", 8, 0, 3, -EBADMSG },
		{ "target info past end", CHAL_TARGET_INFO + 4, 0, 0xffff, -EBADMSG },
		{ "no unicode", CHAL_FLAGS, 0, 0xe28a8202, -EPROTONOSUPPORT },
		{ "no target info", CHAL_FLAGS, 0, 0xe20a8235, -EPROTONOSUPPORT },
		{ "AV pairs without EOL", 0, 1, 0, -EBADMSG },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		print_message("case: %s\n", cases[i].what);
		uint8_t copy[512];
		memcpy(copy, chal, chal_len);
		size_t len = cases[i].len ? cases[i].len : chal_len;
		if (cases[i].len == 0)
			smb2_put32(copy + cases[i].off, cases[i].value);
		else if (i == 5) {
			smb2_put16(copy + CHAL_TARGET_INFO, (uint16_t)(smb2_le16(copy + CHAL_TARGET_INFO) - 4));
			len = chal_len - 4;
		}
		assert_int_equal(ntlm_client_new(&cc, &c), 0);
		free(neg);
		neg = NULL;
		assert_int_equal(ntlm_client_negotiate(c, &neg, &neg_len), 0);
		assert_int_equal(ntlm_client_negotiate(c, &out, &out_len), -EALREADY);
		assert_int_equal(ntlm_client_authenticate(c, copy, len, &out, &out_len),
				 cases[i].want);
		assert_null(ntlm_client_session_key(c));
		ntlm_client_free(c);
	}
	/* target info so long that the NTLMv2 response would overflow its
	 * 16-bit length field */
	{
		size_t big_len = CHAL_HEADER + 65530;
		uint8_t *big = calloc(1, big_len);
		memcpy(big, chal, CHAL_HEADER);
		smb2_put16(big + CHAL_TARGET_NAME, 0);
		smb2_put16(big + CHAL_TARGET_INFO, 65530);
		smb2_put32(big + CHAL_TARGET_INFO + 4, CHAL_HEADER);
		uint8_t *p = big + CHAL_HEADER;
		smb2_put16(p, 0x7f); /* one big unknown pair, then EOL */
		smb2_put16(p + 2, 65530 - 8);
		assert_int_equal(ntlm_client_new(&cc, &c), 0);
		free(neg);
		neg = NULL;
		assert_int_equal(ntlm_client_negotiate(c, &neg, &neg_len), 0);
		assert_int_equal(ntlm_client_authenticate(c, big, big_len, &out, &out_len), -EBADMSG);
		ntlm_client_free(c);
		free(big);
	}
	assert_true(ntlm_is_ntlmssp(chal, chal_len));
	assert_false(ntlm_is_ntlmssp(chal, 7));
	assert_false(ntlm_is_ntlmssp(NULL, 8));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md4),
		cmocka_unit_test(test_rc4),
		cmocka_unit_test(test_nt_hash),
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_ntowfv2_vector),
		cmocka_unit_test(test_client_vector),
		cmocka_unit_test(test_server_vector),
		cmocka_unit_test(test_seal_sign_vector),
		cmocka_unit_test(test_windows_mic),
		cmocka_unit_test(test_roundtrip_ok),
		cmocka_unit_test(test_roundtrip_nt_hash_client),
		cmocka_unit_test(test_wrong_password_and_unknown_user),
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_challenge_contents),
		cmocka_unit_test(test_server_refusals),
		cmocka_unit_test(test_client_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
