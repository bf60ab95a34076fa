/*
 * ntlm.c - NTLMSSP with NTLMv2 ([MS-NLMP]): message codec, server
 * verification, client responses, and the extended-session-security
 * signature used for SPNEGO's mechListMIC (see ntlm.h).
 *
 * Invariants:
 *  - Every field read from a message goes through msg_field(), which checks
 *    offset + length against the message; AV pairs through av_next(), which
 *    checks each pair against its buffer.  Nothing else indexes wire data.
 *  - MD4 and RC4 are implemented here (OpenSSL 3 keeps them in the legacy
 *    provider, which this process does not load); HMAC-MD5 and MD5 come
 *    from the default provider via EVP.  Temporaries holding keys, hashes
 *    or key streams are wiped before return.
 *  - An unknown user costs the same HMAC work as a known one (a random
 *    stand-in hash), and both failures leave the same observable state
 *    apart from the return code.
 *
 * Never: log; accept LM/NTLMv1; compare secrets with memcmp.
 */
#include "ntlm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "smb2_pdu.h"
#include "util.h"

static const uint8_t ntlmssp_signature[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };

enum { MSG_NEGOTIATE = 1, MSG_CHALLENGE = 2, MSG_AUTHENTICATE = 3 };

/* AV pair ids ([MS-NLMP] 2.2.2.1). */
enum {
	AV_EOL = 0,
	AV_NB_COMPUTER = 1,
	AV_NB_DOMAIN = 2,
	AV_DNS_COMPUTER = 3,
	AV_DNS_DOMAIN = 4,
	AV_FLAGS = 6,
	AV_TIMESTAMP = 7,
};
#define AV_FLAG_MIC_PRESENT 0x00000002u

/* Fixed layouts ([MS-NLMP] 2.2.1). */
#define NEG_FLAGS 12
#define NEG_HEADER 32 /* without Version */
#define CHAL_TARGET_NAME 12
#define CHAL_FLAGS 20
#define CHAL_CHALLENGE 24
#define CHAL_TARGET_INFO 40
#define CHAL_VERSION 48
#define CHAL_HEADER 56
#define AUTH_LM 12
#define AUTH_NT 20
#define AUTH_DOMAIN 28
#define AUTH_USER 36
#define AUTH_WORKSTATION 44
#define AUTH_SESSION_KEY 52
#define AUTH_FLAGS 60
#define AUTH_VERSION 64
#define AUTH_MIC 72
#define AUTH_HEADER 64       /* minimum, without Version/MIC */
#define AUTH_HEADER_MIC 88   /* with Version and MIC */
#define NTLMV2_BLOB_MIN 28   /* RespType .. Z(4) before the AV pairs */
#define NTLMV2_RESPONSE_MIN (16 + NTLMV2_BLOB_MIN)
#define MAX_NAME_BYTES 512   /* user/domain/workstation in UTF-16 */

/* Version structure we send: 10.0 build 20348, NTLM revision 15. */
static const uint8_t our_version[8] = { 10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f };

/* Flags each side offers; the server answers with the intersection. */
#define CLIENT_FLAGS                                                                           \
	(NTLM_NEGOTIATE_UNICODE | NTLM_REQUEST_TARGET | NTLM_NEGOTIATE_SIGN |                  \
	 NTLM_NEGOTIATE_SEAL | NTLM_NEGOTIATE_NTLM | NTLM_NEGOTIATE_ALWAYS_SIGN |              \
	 NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLM_NEGOTIATE_VERSION | NTLM_NEGOTIATE_128 | \
	 NTLM_NEGOTIATE_KEY_EXCH | NTLM_NEGOTIATE_56)
#define SERVER_ECHO_FLAGS                                                                      \
	(NTLM_REQUEST_TARGET | NTLM_NEGOTIATE_SIGN | NTLM_NEGOTIATE_SEAL |                     \
	 NTLM_NEGOTIATE_ALWAYS_SIGN | NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY |                 \
	 NTLM_NEGOTIATE_VERSION | NTLM_NEGOTIATE_128 | NTLM_NEGOTIATE_KEY_EXCH |                \
	 NTLM_NEGOTIATE_56)

/* ---- helpers (byte order: smb2_pdu.h) ---- */

static void freep_wipe(uint8_t **p, size_t len) {
	if (*p) {
		OPENSSL_cleanse(*p, len);
		free(*p);
		*p = NULL;
	}
}

/* ---- MD4 (RFC 1320) ---- */

#define MD4_F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define MD4_G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))
#define ROTL32(v, s) (((v) << (s)) | ((v) >> (32 - (s))))

static void md4_block(uint32_t st[4], const uint8_t blk[64]) {
	static const uint8_t r1[4] = { 3, 7, 11, 19 }, r2[4] = { 3, 5, 9, 13 },
			     r3[4] = { 3, 9, 11, 15 };
	static const uint8_t o2[16] = { 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15 };
	static const uint8_t o3[16] = { 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15 };
	uint32_t x[16], v[4] = { st[0], st[1], st[2], st[3] };
	for (int i = 0; i < 16; i++)
		x[i] = smb2_le32(blk + 4 * i);
	/* v[(4 - i) % 4] is the word each step updates: a, d, c, b, ... */
	for (int i = 0; i < 16; i++) {
		uint32_t *a = &v[(4 - i % 4) % 4], b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
			 d = v[(7 - i % 4) % 4];
		*a = ROTL32(*a + MD4_F(b, c, d) + x[i], r1[i % 4]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t *a = &v[(4 - i % 4) % 4], b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
			 d = v[(7 - i % 4) % 4];
		*a = ROTL32(*a + MD4_G(b, c, d) + x[o2[i]] + 0x5a827999u, r2[i % 4]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t *a = &v[(4 - i % 4) % 4], b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
			 d = v[(7 - i % 4) % 4];
		*a = ROTL32(*a + MD4_H(b, c, d) + x[o3[i]] + 0x6ed9eba1u, r3[i % 4]);
	}
	for (int i = 0; i < 4; i++)
		st[i] += v[i];
	OPENSSL_cleanse(x, sizeof x);
}

static void md4(const uint8_t *data, size_t len, uint8_t out[16]) {
	uint32_t st[4] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u };
	size_t off = 0;
	for (; len - off >= 64; off += 64)
		md4_block(st, data + off);
	uint8_t tail[128] = { 0 };
	size_t rest = len - off;
	memcpy(tail, data + off, rest);
	tail[rest] = 0x80;
	size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tail_len - 8 + i] = (uint8_t)(bits >> (8 * i));
	md4_block(st, tail);
	if (tail_len == 128)
		md4_block(st, tail + 64);
	for (int i = 0; i < 4; i++)
		smb2_put32(out + 4 * i, st[i]);
	OPENSSL_cleanse(tail, sizeof tail);
	OPENSSL_cleanse(st, sizeof st);
}

/* ---- RC4 ---- */

typedef struct Rc4 {
	uint8_t s[256];
	uint8_t i, j;
} Rc4;

static void rc4_init(Rc4 *r, const uint8_t *key, size_t len) {
	for (int i = 0; i < 256; i++)
		r->s[i] = (uint8_t)i;
	uint8_t j = 0;
	for (int i = 0; i < 256; i++) {
		j = (uint8_t)(j + r->s[i] + key[i % len]);
		uint8_t t = r->s[i];
		r->s[i] = r->s[j];
		r->s[j] = t;
	}
	r->i = r->j = 0;
}

static void rc4_crypt(Rc4 *r, const uint8_t *in, uint8_t *out, size_t len) {
	for (size_t k = 0; k < len; k++) {
		r->i = (uint8_t)(r->i + 1);
		r->j = (uint8_t)(r->j + r->s[r->i]);
		uint8_t t = r->s[r->i];
		r->s[r->i] = r->s[r->j];
		r->s[r->j] = t;
		out[k] = in[k] ^ r->s[(uint8_t)(r->s[r->i] + r->s[r->j])];
	}
}

/* One-shot RC4 with a fresh key schedule. */
static void rc4_oneshot(const uint8_t *key, size_t key_len, const uint8_t *in, uint8_t *out,
			size_t len) {
	Rc4 r;
	rc4_init(&r, key, key_len);
	rc4_crypt(&r, in, out, len);
	OPENSSL_cleanse(&r, sizeof r);
}

/* ---- HMAC-MD5 and MD5 over several parts ---- */

typedef struct Part {
	const void *p;
	size_t n;
} Part;

static int hmac_md5(const uint8_t *key, size_t key_len, const Part *parts, size_t n,
		    uint8_t out[16]) {
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return -EIO;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (!ctx)
		return -ENOMEM;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0),
		OSSL_PARAM_construct_end(),
	};
	int r = -EIO;
	size_t out_len = 0;
	if (!EVP_MAC_init(ctx, key, key_len, params))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (parts[i].n > 0 && !EVP_MAC_update(ctx, parts[i].p, parts[i].n))
			goto done;
	if (EVP_MAC_final(ctx, out, &out_len, 16) && out_len == 16)
		r = 0;
done:
	EVP_MAC_CTX_free(ctx);
	return r;
}

static int md5_parts(const Part *parts, size_t n, uint8_t out[16]) {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	int r = -EIO;
	unsigned out_len = 0;
	if (!EVP_DigestInit_ex2(ctx, EVP_md5(), NULL))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (parts[i].n > 0 && !EVP_DigestUpdate(ctx, parts[i].p, parts[i].n))
			goto done;
	if (EVP_DigestFinal_ex(ctx, out, &out_len) && out_len == 16)
		r = 0;
done:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* ---- UTF-8 <-> UTF-16LE ---- */

/* Upper case of one UTF-16 code unit, for the user name in NTOWFv2.
 * Covers ASCII, Latin-1, Greek and Cyrillic; other scripts unchanged
 * (Windows' table is larger; names outside these are rare). */
static uint16_t upcase16(uint16_t c) {
	static const struct {
		uint16_t lo, hi;
		int16_t delta;
	} ranges[] = {
		{ 'a', 'z', -32 },     { 0x00e0, 0x00f6, -32 }, { 0x00f8, 0x00fe, -32 },
		{ 0x03b1, 0x03c1, -32 }, { 0x03c3, 0x03cb, -32 }, { 0x0430, 0x044f, -32 },
		{ 0x0450, 0x045f, -80 },
	};
	for (size_t i = 0; i < ELEMENTSOF(ranges); i++)
		if (c >= ranges[i].lo && c <= ranges[i].hi)
			return (uint16_t)(c + ranges[i].delta);
	return c;
}

/* UTF-8 string -> UTF-16LE (malloc'd, *ret_len bytes), optionally upper
 * cased.  Returns 0, -EINVAL (invalid UTF-8), -ENOMEM. */
static int utf8_to_utf16le(const char *s, bool upper, uint8_t **ret, size_t *ret_len) {
	size_t n = strlen(s);
	uint8_t *out = malloc(n * 4 + 2), *o = out;
	if (!out)
		return -ENOMEM;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		uint32_t cp;
		size_t extra;
		if (p[0] < 0x80) {
			cp = p[0];
			extra = 0;
		} else if ((p[0] & 0xe0) == 0xc0) {
			cp = p[0] & 0x1f;
			extra = 1;
		} else if ((p[0] & 0xf0) == 0xe0) {
			cp = p[0] & 0x0f;
			extra = 2;
		} else if ((p[0] & 0xf8) == 0xf0) {
			cp = p[0] & 0x07;
			extra = 3;
		} else
			goto bad;
		if ((size_t)(end - p) <= extra)
			goto bad;
		for (size_t k = 1; k <= extra; k++) {
			if ((p[k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[k] & 0x3f);
		}
		static const uint32_t min_cp[4] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		p += extra + 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			smb2_put16(o, (uint16_t)(0xd800 | cp >> 10));
			smb2_put16(o + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			o += 4;
		} else {
			smb2_put16(o, upper ? upcase16((uint16_t)cp) : (uint16_t)cp);
			o += 2;
		}
	}
	*ret_len = (size_t)(o - out);
	*ret = out;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

/* UTF-16LE (len bytes, even) -> NUL-terminated UTF-8.  Unpaired
 * surrogates and NUL characters are refused (-EBADMSG). */
static int utf16le_to_utf8(const uint8_t *in, size_t len, char **ret) {
	if (len % 2)
		return -EBADMSG;
	char *out = malloc(len / 2 * 3 + 1), *o = out;
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t cp = smb2_le16(in + i);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 4 > len || smb2_le16(in + i + 2) < 0xdc00 || smb2_le16(in + i + 2) > 0xdfff)
				goto bad;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (smb2_le16(in + i + 2) - 0xdc00u);
			i += 2;
		} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0)
			goto bad;
		if (cp < 0x80)
			*o++ = (char)cp;
		else if (cp < 0x800) {
			*o++ = (char)(0xc0 | cp >> 6);
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*o++ = (char)(0xe0 | cp >> 12);
			*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*o++ = (char)(0xf0 | cp >> 18);
			*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
			*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	*o = 0;
	*ret = out;
	return 0;
bad:
	free(out);
	return -EBADMSG;
}

/* ---- hashes of [MS-NLMP] 3.3.2 ---- */

int ntlm_nt_hash(const char *password, uint8_t out[NTLM_HASH_SIZE]) {
	if (!password)
		return -EINVAL;
	uint8_t *u = NULL;
	size_t n = 0;
	int r = utf8_to_utf16le(password, false, &u, &n);
	if (r < 0)
		return r;
	md4(u, n, out);
	freep_wipe(&u, n);
	return 0;
}

/* NTOWFv2 = HMAC-MD5(NT hash, UNICODE(Upper(user)) || UNICODE(domain)). */
static int ntowfv2(const uint8_t nt_hash[16], const char *user, const char *domain,
		   uint8_t out[16]) {
	_cleanup_free_ uint8_t *u = NULL, *d = NULL;
	size_t un = 0, dn = 0;
	int r = utf8_to_utf16le(user, true, &u, &un);
	if (r < 0)
		return r;
	r = utf8_to_utf16le(domain, false, &d, &dn);
	if (r < 0)
		return r;
	Part parts[] = { { u, un }, { d, dn } };
	return hmac_md5(nt_hash, 16, parts, ELEMENTSOF(parts), out);
}

/* NTProofStr = HMAC-MD5(NTOWFv2, ServerChallenge || blob) and
 * SessionBaseKey = HMAC-MD5(NTOWFv2, NTProofStr). */
static int ntlmv2_proof(const uint8_t owf[16], const uint8_t challenge[8], const uint8_t *blob,
			size_t blob_len, uint8_t proof[16], uint8_t session_base_key[16]) {
	Part parts[] = { { challenge, 8 }, { blob, blob_len } };
	int r = hmac_md5(owf, 16, parts, ELEMENTSOF(parts), proof);
	if (r < 0)
		return r;
	Part p2[] = { { proof, 16 } };
	return hmac_md5(owf, 16, p2, 1, session_base_key);
}

static uint64_t filetime_now(void) {
	return now_usec() * 10ULL + 116444736000000000ULL;
}

/* ---- message fields ---- */

/* The (len, maxlen, offset) field at field_off of msg: points *ret into
 * msg after checking the bounds. */
static int msg_field(const uint8_t *msg, size_t msg_len, size_t field_off, const uint8_t **ret,
		     size_t *ret_len) {
	if (field_off + 8 > msg_len)
		return -EBADMSG;
	size_t len = smb2_le16(msg + field_off), off = smb2_le32(msg + field_off + 4);
	if (len == 0) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (off > msg_len || len > msg_len - off)
		return -EBADMSG;
	*ret = msg + off;
	*ret_len = len;
	return 0;
}

/* Write a (len, maxlen, offset) field and its payload at *payload_off. */
static void put_field(uint8_t *msg, size_t field_off, size_t *payload_off, const void *data,
		      size_t len) {
	smb2_put16(msg + field_off, (uint16_t)len);
	smb2_put16(msg + field_off + 2, (uint16_t)len);
	smb2_put32(msg + field_off + 4, (uint32_t)*payload_off);
	if (len)
		memcpy(msg + *payload_off, data, len);
	*payload_off += len;
}

static bool msg_header_ok(const uint8_t *msg, size_t len, uint32_t type, size_t min) {
	return msg && len >= min && len >= 12 && memcmp(msg, ntlmssp_signature, 8) == 0 &&
	       smb2_le32(msg + 8) == type;
}

bool ntlm_is_ntlmssp(const uint8_t *buf, size_t len) {
	return buf && len >= 8 && memcmp(buf, ntlmssp_signature, 8) == 0;
}

/* Iterate AV pairs: returns 1 with id/value, 0 at MsvAvEOL, -EBADMSG when
 * a pair runs past the buffer or the list has no EOL. */
static int av_next(const uint8_t **p, const uint8_t *end, uint16_t *ret_id, const uint8_t **ret_val,
		   size_t *ret_len) {
	if (end - *p < 4)
		return -EBADMSG;
	uint16_t id = smb2_le16(*p);
	size_t len = smb2_le16(*p + 2);
	if ((size_t)(end - *p - 4) < len)
		return -EBADMSG;
	*ret_id = id;
	*ret_val = *p + 4;
	*ret_len = len;
	*p += 4 + len;
	return id == AV_EOL ? 0 : 1;
}

/* ---- session signing ([MS-NLMP] 3.4.4.2, 3.4.5) ---- */

struct NtlmSession {
	uint8_t out_sign_key[16], in_sign_key[16];
	Rc4 out_seal, in_seal;
	uint32_t out_seq, in_seq;
	bool key_exch;
};

static const char client_sign_magic[] = "session key to client-to-server signing key magic constant";
static const char server_sign_magic[] = "session key to server-to-client signing key magic constant";
static const char client_seal_magic[] = "session key to client-to-server sealing key magic constant";
static const char server_seal_magic[] = "session key to server-to-client sealing key magic constant";

static int derive_subkey(const uint8_t *key, size_t key_len, const char *magic, uint8_t out[16]) {
	Part parts[] = { { key, key_len }, { magic, strlen(magic) + 1 } };
	return md5_parts(parts, ELEMENTSOF(parts), out);
}

/* Keys for one side of an extended-session-security context. */
static int session_new(const uint8_t exported[16], uint32_t flags, bool server, NtlmSession **ret) {
	NtlmSession *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	size_t seal_len = (flags & NTLM_NEGOTIATE_128) ? 16 : (flags & NTLM_NEGOTIATE_56) ? 7 : 5;
	uint8_t cseal[16], sseal[16];
	int r = derive_subkey(exported, 16, server ? server_sign_magic : client_sign_magic,
			      s->out_sign_key);
	if (r >= 0)
		r = derive_subkey(exported, 16, server ? client_sign_magic : server_sign_magic,
				  s->in_sign_key);
	if (r >= 0)
		r = derive_subkey(exported, seal_len, client_seal_magic, cseal);
	if (r >= 0)
		r = derive_subkey(exported, seal_len, server_seal_magic, sseal);
	if (r < 0) {
		OPENSSL_cleanse(s, sizeof *s);
		free(s);
		return r;
	}
	rc4_init(&s->out_seal, server ? sseal : cseal, 16);
	rc4_init(&s->in_seal, server ? cseal : sseal, 16);
	s->key_exch = flags & NTLM_NEGOTIATE_KEY_EXCH;
	OPENSSL_cleanse(cseal, sizeof cseal);
	OPENSSL_cleanse(sseal, sizeof sseal);
	*ret = s;
	return 0;
}

static void session_free(NtlmSession *s) {
	if (s) {
		OPENSSL_cleanse(s, sizeof *s);
		free(s);
	}
}

static int session_mac(const uint8_t key[16], Rc4 *seal, bool key_exch, uint32_t seq,
		       const uint8_t *data, size_t len, uint8_t sig[16]) {
	uint8_t seqb[4], mac[16];
	smb2_put32(seqb, seq);
	Part parts[] = { { seqb, 4 }, { data, len } };
	int r = hmac_md5(key, 16, parts, ELEMENTSOF(parts), mac);
	if (r < 0)
		return r;
	smb2_put32(sig, 1);
	if (key_exch)
		rc4_crypt(seal, mac, sig + 4, 8);
	else
		memcpy(sig + 4, mac, 8);
	smb2_put32(sig + 12, seq);
	OPENSSL_cleanse(mac, sizeof mac);
	return 0;
}

int ntlm_session_sign(NtlmSession *s, const uint8_t *data, size_t len,
		      uint8_t sig[NTLM_SIGNATURE_SIZE]) {
	if (!s)
		return -EINVAL;
	int r = session_mac(s->out_sign_key, &s->out_seal, s->key_exch, s->out_seq, data, len, sig);
	if (r >= 0)
		s->out_seq++;
	return r;
}

int ntlm_session_verify(NtlmSession *s, const uint8_t *data, size_t len, const uint8_t *sig,
			size_t sig_len) {
	if (!s)
		return -EINVAL;
	if (!sig || sig_len != NTLM_SIGNATURE_SIZE)
		return -EBADMSG;
	uint8_t want[16];
	int r = session_mac(s->in_sign_key, &s->in_seal, s->key_exch, s->in_seq, data, len, want);
	if (r < 0)
		return r;
	s->in_seq++;
	return CRYPTO_memcmp(want, sig, sizeof want) == 0 ? 0 : -EBADMSG;
}

/* ---- server ---- */

typedef enum ServerState { SRV_INIT, SRV_CHALLENGED, SRV_DONE } ServerState;

struct NtlmServer {
	char *nb_computer, *nb_domain, *dns_computer, *dns_domain;
	bool allow_anonymous, map_unknown_to_guest;
	NtlmLookupFn lookup;
	void *userdata;

	ServerState state;
	uint32_t flags; /* as sent in CHALLENGE */
	uint8_t challenge[8];
	uint8_t *negotiate_msg, *challenge_msg;
	size_t negotiate_len, challenge_len;

	bool info_valid, mic_present;
	NtlmAuthInfo info;
	char *user, *domain, *workstation;
	NtlmSession *session;
};

int ntlm_server_new(const NtlmServerConfig *cfg, NtlmServer **ret) {
	if (!cfg || !ret || !cfg->netbios_computer || !cfg->netbios_domain || !cfg->lookup)
		return -EINVAL;
	NtlmServer *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->nb_computer = strdup(cfg->netbios_computer);
	s->nb_domain = strdup(cfg->netbios_domain);
	s->dns_computer = cfg->dns_computer ? strdup(cfg->dns_computer) : NULL;
	s->dns_domain = cfg->dns_domain ? strdup(cfg->dns_domain) : NULL;
	s->allow_anonymous = cfg->allow_anonymous;
	s->map_unknown_to_guest = cfg->map_unknown_to_guest;
	s->lookup = cfg->lookup;
	s->userdata = cfg->userdata;
	if (!s->nb_computer || !s->nb_domain || (cfg->dns_computer && !s->dns_computer) ||
	    (cfg->dns_domain && !s->dns_domain)) {
		ntlm_server_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void ntlm_server_free(NtlmServer *s) {
	if (!s)
		return;
	free(s->nb_computer);
	free(s->nb_domain);
	free(s->dns_computer);
	free(s->dns_domain);
	free(s->negotiate_msg);
	free(s->challenge_msg);
	free(s->user);
	free(s->domain);
	free(s->workstation);
	session_free(s->session);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

/* TargetInfo: the names we have, a timestamp, EOL.  *ret malloc'd. */
static int build_target_info(const NtlmServer *s, uint8_t **ret, size_t *ret_len) {
	const struct {
		uint16_t id;
		const char *value;
	} names[] = {
		{ AV_NB_DOMAIN, s->nb_domain },
		{ AV_NB_COMPUTER, s->nb_computer },
		{ AV_DNS_DOMAIN, s->dns_domain },
		{ AV_DNS_COMPUTER, s->dns_computer },
	};
	uint8_t *u16[ELEMENTSOF(names)] = { 0 };
	size_t u16_len[ELEMENTSOF(names)] = { 0 }, total = 4 + 12;
	int r = 0;
	for (size_t i = 0; i < ELEMENTSOF(names) && r >= 0; i++) {
		if (!names[i].value)
			continue;
		r = utf8_to_utf16le(names[i].value, false, &u16[i], &u16_len[i]);
		if (r >= 0 && u16_len[i] > MAX_NAME_BYTES)
			r = -EINVAL;
		total += 4 + u16_len[i];
	}
	uint8_t *out = r >= 0 ? malloc(total) : NULL, *p = out;
	if (r >= 0 && !out)
		r = -ENOMEM;
	if (r >= 0) {
		for (size_t i = 0; i < ELEMENTSOF(names); i++) {
			if (!u16[i])
				continue;
			smb2_put16(p, names[i].id);
			smb2_put16(p + 2, (uint16_t)u16_len[i]);
			memcpy(p + 4, u16[i], u16_len[i]);
			p += 4 + u16_len[i];
		}
		smb2_put16(p, AV_TIMESTAMP);
		smb2_put16(p + 2, 8);
		smb2_put64(p + 4, filetime_now());
		p += 12;
		smb2_put32(p, 0); /* MsvAvEOL */
		*ret = out;
		*ret_len = total;
	}
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		free(u16[i]);
	return r;
}

int ntlm_server_negotiate(NtlmServer *s, const uint8_t *in, size_t len, uint8_t **ret,
			  size_t *ret_len) {
	if (!s || !ret || !ret_len)
		return -EINVAL;
	if (s->state != SRV_INIT)
		return -EALREADY;
	if (!msg_header_ok(in, len, MSG_NEGOTIATE, 16))
		return -EBADMSG;
	uint32_t cflags = smb2_le32(in + NEG_FLAGS);
	if (!(cflags & NTLM_NEGOTIATE_UNICODE))
		return -EPROTONOSUPPORT;

	uint32_t flags = NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_NTLM | NTLM_NEGOTIATE_TARGET_INFO |
			 NTLM_TARGET_TYPE_SERVER | (cflags & SERVER_ECHO_FLAGS);
	_cleanup_free_ uint8_t *ti = NULL, *target = NULL;
	size_t ti_len = 0, target_len = 0;
	int r = build_target_info(s, &ti, &ti_len);
	if (r < 0)
		return r;
	r = utf8_to_utf16le(s->nb_computer, false, &target, &target_len);
	if (r < 0)
		return r;
	if (!(flags & NTLM_REQUEST_TARGET))
		target_len = 0;

	size_t total = CHAL_HEADER + target_len + ti_len, off = CHAL_HEADER;
	_cleanup_free_ uint8_t *msg = calloc(1, total);
	_cleanup_free_ uint8_t *neg = malloc(len);
	if (!msg || !neg)
		return -ENOMEM;
	memcpy(msg, ntlmssp_signature, 8);
	smb2_put32(msg + 8, MSG_CHALLENGE);
	put_field(msg, CHAL_TARGET_NAME, &off, target, target_len);
	smb2_put32(msg + CHAL_FLAGS, flags);
	if (RAND_bytes(s->challenge, sizeof s->challenge) != 1)
		return -EIO;
	memcpy(msg + CHAL_CHALLENGE, s->challenge, 8);
	put_field(msg, CHAL_TARGET_INFO, &off, ti, ti_len);
	memcpy(msg + CHAL_VERSION, our_version, 8);

	uint8_t *copy = malloc(total);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, msg, total);
	memcpy(neg, in, len);
	s->negotiate_msg = TAKE_PTR(neg);
	s->negotiate_len = len;
	s->challenge_msg = copy;
	s->challenge_len = total;
	s->flags = flags;
	s->state = SRV_CHALLENGED;
	*ret = TAKE_PTR(msg);
	*ret_len = total;
	return 0;
}

/* Parsed AUTHENTICATE message; pointers borrow from the message. */
typedef struct AuthMsg {
	const uint8_t *lm, *nt, *domain, *user, *workstation, *enc_key;
	size_t lm_len, nt_len, domain_len, user_len, workstation_len, enc_key_len;
	uint32_t flags;
} AuthMsg;

static int parse_authenticate(const uint8_t *in, size_t len, AuthMsg *m) {
	if (!msg_header_ok(in, len, MSG_AUTHENTICATE, AUTH_HEADER))
		return -EBADMSG;
	const struct {
		size_t off;
		const uint8_t **p;
		size_t *n;
	} fields[] = {
		{ AUTH_LM, &m->lm, &m->lm_len },
		{ AUTH_NT, &m->nt, &m->nt_len },
		{ AUTH_DOMAIN, &m->domain, &m->domain_len },
		{ AUTH_USER, &m->user, &m->user_len },
		{ AUTH_WORKSTATION, &m->workstation, &m->workstation_len },
		{ AUTH_SESSION_KEY, &m->enc_key, &m->enc_key_len },
	};
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		int r = msg_field(in, len, fields[i].off, fields[i].p, fields[i].n);
		if (r < 0)
			return r;
	}
	if (m->domain_len > MAX_NAME_BYTES || m->user_len > MAX_NAME_BYTES ||
	    m->workstation_len > MAX_NAME_BYTES)
		return -EBADMSG;
	m->flags = smb2_le32(in + AUTH_FLAGS);
	return 0;
}

/* Reads MsvAvFlags of the client's NTLMv2 blob.  Returns 0 or -EBADMSG. */
static int blob_av_flags(const uint8_t *blob, size_t blob_len, uint32_t *ret_flags) {
	const uint8_t *p = blob + NTLMV2_BLOB_MIN, *end = blob + blob_len;
	*ret_flags = 0;
	for (;;) {
		uint16_t id;
		const uint8_t *v;
		size_t vlen;
		int r = av_next(&p, end, &id, &v, &vlen);
		if (r <= 0)
			return r;
		if (id == AV_FLAGS) {
			if (vlen != 4)
				return -EBADMSG;
			*ret_flags = smb2_le32(v);
		}
	}
}

static int server_set_names(NtlmServer *s, const AuthMsg *m) {
	const struct {
		const uint8_t *p;
		size_t n;
		char **out;
	} names[] = {
		{ m->user, m->user_len, &s->user },
		{ m->domain, m->domain_len, &s->domain },
		{ m->workstation, m->workstation_len, &s->workstation },
	};
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		free(*names[i].out);
		*names[i].out = NULL;
		int r = utf16le_to_utf8(names[i].p ? names[i].p : (const uint8_t *)"", names[i].n,
					names[i].out);
		if (r < 0)
			return r;
	}
	s->info.user = s->user;
	s->info.domain = s->domain;
	s->info.workstation = s->workstation;
	s->info_valid = true;
	return 0;
}

/* Checks the NTLMv2 response with one candidate NTOWFv2 domain spelling
 * after another; constant work whatever matches.  Fills the session base
 * key on a match and returns 1; 0 when none matched. */
static int verify_ntlmv2(const uint8_t nt_hash[16], const char *user, const char *domain,
			 const uint8_t challenge[8], const uint8_t *nt, size_t nt_len,
			 uint8_t session_base_key[16]) {
	_cleanup_free_ char *upper = strdup(domain);
	if (!upper)
		return -ENOMEM;
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 32);
	const char *domains[] = { domain, upper, "" };
	int matched = 0;
	for (size_t i = 0; i < ELEMENTSOF(domains); i++) {
		uint8_t owf[16], proof[16], sbk[16];
		int r = ntowfv2(nt_hash, user, domains[i], owf);
		if (r >= 0)
			r = ntlmv2_proof(owf, challenge, nt + 16, nt_len - 16, proof, sbk);
		if (r < 0)
			return r;
		if (!matched && CRYPTO_memcmp(proof, nt, 16) == 0) {
			matched = 1;
			memcpy(session_base_key, sbk, 16);
		}
		OPENSSL_cleanse(owf, sizeof owf);
		OPENSSL_cleanse(sbk, sizeof sbk);
	}
	return matched;
}

static int check_mic(const NtlmServer *s, const uint8_t *in, size_t len, const uint8_t key[16]) {
	if (len < AUTH_HEADER_MIC)
		return -EBADMSG;
	_cleanup_free_ uint8_t *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, in, len);
	memset(copy + AUTH_MIC, 0, 16);
	Part parts[] = { { s->negotiate_msg, s->negotiate_len },
			 { s->challenge_msg, s->challenge_len },
			 { copy, len } };
	uint8_t mic[16];
	int r = hmac_md5(key, 16, parts, ELEMENTSOF(parts), mic);
	if (r < 0)
		return r;
	return CRYPTO_memcmp(mic, in + AUTH_MIC, 16) == 0 ? 0 : -EACCES;
}

static bool is_anonymous(const AuthMsg *m) {
	return m->user_len == 0 && m->nt_len == 0 &&
	       (m->lm_len == 0 || (m->lm_len == 1 && m->lm[0] == 0));
}

int ntlm_server_authenticate(NtlmServer *s, const uint8_t *in, size_t len) {
	if (!s)
		return -EINVAL;
	if (s->state == SRV_DONE)
		return -EALREADY;
	if (s->state != SRV_CHALLENGED)
		return -EPROTO;
	s->state = SRV_DONE;

	AuthMsg m = { 0 };
	int r = parse_authenticate(in, len, &m);
	if (r < 0)
		return r;
	r = server_set_names(s, &m);
	if (r < 0)
		return r;
	s->info.flags = s->flags & m.flags;

	if (is_anonymous(&m)) {
		if (!s->allow_anonymous)
			return -EPERM;
		s->info.anonymous = true;
		return 0;
	}
	if (m.nt_len == 0 || m.nt_len == 24)
		return -EPROTONOSUPPORT; /* LM only, NTLMv1 or NTLM2 session response */
	if (m.nt_len < NTLMV2_RESPONSE_MIN || m.nt[16] != 1 || m.nt[17] != 1)
		return -EBADMSG;
	uint32_t av_flags = 0;
	r = blob_av_flags(m.nt + 16, m.nt_len - 16, &av_flags);
	if (r < 0)
		return r;
	s->mic_present = av_flags & AV_FLAG_MIC_PRESENT;

	uint8_t nt_hash[16];
	int lr = s->lookup(s->userdata, s->user, s->domain, nt_hash);
	if (lr < 0 && lr != -ENOENT)
		return lr;
	if (lr == -ENOENT && RAND_bytes(nt_hash, sizeof nt_hash) != 1)
		return -EIO;
	uint8_t sbk[16] = { 0 };
	r = verify_ntlmv2(nt_hash, s->user, s->domain, s->challenge, m.nt, m.nt_len, sbk);
	OPENSSL_cleanse(nt_hash, sizeof nt_hash);
	if (r < 0)
		return r;
	if (lr == -ENOENT) {
		if (!s->map_unknown_to_guest)
			return -ENOENT;
		s->info.guest = true;
		return 0;
	}
	if (r == 0)
		return -EACCES;

	/* KeyExchangeKey = SessionBaseKey for NTLMv2 ([MS-NLMP] 3.4.5.1). */
	uint8_t exported[16];
	if (s->info.flags & NTLM_NEGOTIATE_KEY_EXCH) {
		if (m.enc_key_len != 16) {
			OPENSSL_cleanse(sbk, sizeof sbk);
			return -EBADMSG;
		}
		rc4_oneshot(sbk, 16, m.enc_key, exported, 16);
	} else
		memcpy(exported, sbk, 16);
	OPENSSL_cleanse(sbk, sizeof sbk);

	if (s->mic_present)
		r = check_mic(s, in, len, exported);
	if (r >= 0 && (s->info.flags & NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY))
		r = session_new(exported, s->info.flags, true, &s->session);
	if (r >= 0) {
		memcpy(s->info.session_key, exported, 16);
		s->info.session_key_len = 16;
		s->info.has_session_key = true;
	}
	OPENSSL_cleanse(exported, sizeof exported);
	return r < 0 ? r : 0;
}

const NtlmAuthInfo *ntlm_server_info(const NtlmServer *s) {
	return s && s->info_valid ? &s->info : NULL;
}

NtlmSession *ntlm_server_session(NtlmServer *s) {
	return s && s->info.has_session_key ? s->session : NULL;
}

bool ntlm_server_mic_present(const NtlmServer *s) {
	return s && s->mic_present;
}

/* ---- client ---- */

typedef enum ClientState { CLI_INIT, CLI_NEGOTIATED, CLI_DONE } ClientState;

struct NtlmClient {
	char *user, *domain, *workstation;
	uint8_t nt_hash[16];
	bool anonymous;

	ClientState state;
	uint8_t *negotiate_msg;
	size_t negotiate_len;
	uint8_t session_key[16];
	bool has_key, mic_sent;
	NtlmSession *session;

	/* Fixed inputs for the [MS-NLMP] 4.2.4 test vectors (tests only). */
	bool test_fixed;
	uint8_t test_client_challenge[8], test_session_key[16];
	uint64_t test_time;
};

int ntlm_client_new(const NtlmClientConfig *cfg, NtlmClient **ret) {
	if (!cfg || !ret)
		return -EINVAL;
	bool anonymous = !cfg->user || !*cfg->user;
	if (!anonymous && !cfg->password && !cfg->nt_hash)
		return -EINVAL;
	NtlmClient *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->anonymous = anonymous;
	c->user = strdup(anonymous ? "" : cfg->user);
	c->domain = strdup(cfg->domain ? cfg->domain : "");
	c->workstation = strdup(cfg->workstation ? cfg->workstation : "");
	int r = (!c->user || !c->domain || !c->workstation) ? -ENOMEM : 0;
	if (r >= 0 && !anonymous) {
		if (cfg->nt_hash)
			memcpy(c->nt_hash, cfg->nt_hash, 16);
		else
			r = ntlm_nt_hash(cfg->password, c->nt_hash);
	}
	if (r < 0) {
		ntlm_client_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void ntlm_client_free(NtlmClient *c) {
	if (!c)
		return;
	free(c->user);
	free(c->domain);
	free(c->workstation);
	free(c->negotiate_msg);
	session_free(c->session);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

int ntlm_client_negotiate(NtlmClient *c, uint8_t **ret, size_t *ret_len) {
	if (!c || !ret || !ret_len)
		return -EINVAL;
	if (c->state != CLI_INIT)
		return -EALREADY;
	size_t total = NEG_HEADER + 8;
	_cleanup_free_ uint8_t *msg = calloc(1, total);
	uint8_t *copy = malloc(total);
	if (!msg || !copy) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(msg, ntlmssp_signature, 8);
	smb2_put32(msg + 8, MSG_NEGOTIATE);
	uint32_t flags = CLIENT_FLAGS | (c->anonymous ? NTLM_NEGOTIATE_ANONYMOUS : 0);
	smb2_put32(msg + NEG_FLAGS, flags);
	/* Domain and workstation fields empty, payload offset after Version. */
	smb2_put32(msg + 20, (uint32_t)total);
	smb2_put32(msg + 28, (uint32_t)total);
	memcpy(msg + NEG_HEADER, our_version, 8);
	memcpy(copy, msg, total);
	c->negotiate_msg = copy;
	c->negotiate_len = total;
	c->state = CLI_NEGOTIATED;
	*ret = TAKE_PTR(msg);
	*ret_len = total;
	return 0;
}

/* The client's AV pairs: the server's minus EOL and MsvAvFlags, then
 * MsvAvFlags (MIC present, when mic), then EOL.  Also reports the
 * server's timestamp. */
static int client_av_pairs(const uint8_t *ti, size_t ti_len, bool mic, uint8_t **ret,
			   size_t *ret_len) {
	uint8_t *out = malloc(ti_len + 12), *o = out;
	if (!out)
		return -ENOMEM;
	const uint8_t *p = ti, *end = ti + ti_len;
	for (;;) {
		const uint8_t *start = p, *v;
		uint16_t id;
		size_t vlen;
		int r = av_next(&p, end, &id, &v, &vlen);
		if (r < 0) {
			free(out);
			return r;
		}
		if (r == 0)
			break;
		if (id == AV_FLAGS)
			continue;
		memcpy(o, start, (size_t)(p - start));
		o += p - start;
	}
	if (mic) {
		smb2_put16(o, AV_FLAGS);
		smb2_put16(o + 2, 4);
		smb2_put32(o + 4, AV_FLAG_MIC_PRESENT);
		o += 8;
	}
	smb2_put32(o, 0);
	o += 4;
	*ret = out;
	*ret_len = (size_t)(o - out);
	return 0;
}

static int find_timestamp(const uint8_t *ti, size_t ti_len, uint64_t *ret) {
	const uint8_t *p = ti, *end = ti + ti_len;
	for (;;) {
		const uint8_t *v;
		uint16_t id;
		size_t vlen;
		int r = av_next(&p, end, &id, &v, &vlen);
		if (r <= 0)
			return r;
		if (id == AV_TIMESTAMP && vlen == 8) {
			*ret = (uint64_t)smb2_le32(v) | (uint64_t)smb2_le32(v + 4) << 32;
			return 1;
		}
	}
}

/* Everything the AUTHENTICATE message carries, computed from CHALLENGE. */
typedef struct ClientResponse {
	uint8_t *nt, lm[24], enc_key[16], exported[16];
	size_t nt_len, lm_len;
	bool mic;
} ClientResponse;

static int client_compute(NtlmClient *c, const uint8_t challenge[8], const uint8_t *ti,
			  size_t ti_len, uint32_t flags, ClientResponse *out) {
	uint64_t ts = 0;
	int has_ts = find_timestamp(ti, ti_len, &ts);
	if (has_ts < 0)
		return has_ts;
	uint8_t cchal[8], random_key[16];
	if (c->test_fixed) {
		memcpy(cchal, c->test_client_challenge, 8);
		memcpy(random_key, c->test_session_key, 16);
		ts = has_ts ? ts : c->test_time;
	} else {
		if (RAND_bytes(cchal, 8) != 1 || RAND_bytes(random_key, 16) != 1)
			return -EIO;
		if (!has_ts)
			ts = filetime_now();
	}
	out->mic = has_ts;

	_cleanup_free_ uint8_t *pairs = NULL;
	size_t pairs_len = 0;
	int r = client_av_pairs(ti, ti_len, out->mic, &pairs, &pairs_len);
	if (r < 0)
		return r;
	if (16 + NTLMV2_BLOB_MIN + pairs_len + 4 > UINT16_MAX)
		return -EBADMSG; /* the response would not fit its 16-bit length */
	/* temp = 1, 1, Z(6), time, client challenge, Z(4), AV pairs, Z(4) */
	size_t blob_len = NTLMV2_BLOB_MIN + pairs_len + 4;
	out->nt_len = 16 + blob_len;
	out->nt = calloc(1, out->nt_len);
	if (!out->nt)
		return -ENOMEM;
	uint8_t *blob = out->nt + 16;
	blob[0] = blob[1] = 1;
	smb2_put64(blob + 8, ts);
	memcpy(blob + 16, cchal, 8);
	memcpy(blob + NTLMV2_BLOB_MIN, pairs, pairs_len);

	uint8_t owf[16], sbk[16];
	r = ntowfv2(c->nt_hash, c->user, c->domain, owf);
	if (r >= 0)
		r = ntlmv2_proof(owf, challenge, blob, blob_len, out->nt, sbk);
	/* LMv2 only when the server sent no timestamp ([MS-NLMP] 3.1.5.2.1). */
	out->lm_len = 24;
	memset(out->lm, 0, 24);
	if (r >= 0 && !has_ts) {
		Part parts[] = { { challenge, 8 }, { cchal, 8 } };
		r = hmac_md5(owf, 16, parts, ELEMENTSOF(parts), out->lm);
		memcpy(out->lm + 16, cchal, 8);
	}
	if (r >= 0) {
		if (flags & NTLM_NEGOTIATE_KEY_EXCH) {
			memcpy(out->exported, random_key, 16);
			rc4_oneshot(sbk, 16, random_key, out->enc_key, 16);
		} else
			memcpy(out->exported, sbk, 16);
	}
	OPENSSL_cleanse(owf, sizeof owf);
	OPENSSL_cleanse(sbk, sizeof sbk);
	OPENSSL_cleanse(random_key, sizeof random_key);
	return r;
}

int ntlm_client_authenticate(NtlmClient *c, const uint8_t *chal, size_t len, uint8_t **ret,
			     size_t *ret_len) {
	if (!c || !ret || !ret_len)
		return -EINVAL;
	if (c->state != CLI_NEGOTIATED)
		return c->state == CLI_DONE ? -EALREADY : -EPROTO;
	c->state = CLI_DONE;
	if (!msg_header_ok(chal, len, MSG_CHALLENGE, CHAL_TARGET_INFO + 8))
		return -EBADMSG;
	const uint8_t *ti, *target;
	size_t ti_len, target_len;
	int r = msg_field(chal, len, CHAL_TARGET_INFO, &ti, &ti_len);
	if (r >= 0)
		r = msg_field(chal, len, CHAL_TARGET_NAME, &target, &target_len);
	if (r < 0)
		return r;
	uint32_t sflags = smb2_le32(chal + CHAL_FLAGS);
	uint32_t flags = (sflags & CLIENT_FLAGS) | NTLM_NEGOTIATE_NTLM;
	if (!(sflags & NTLM_NEGOTIATE_UNICODE))
		return -EPROTONOSUPPORT;
	if (!c->anonymous && (!(sflags & NTLM_NEGOTIATE_TARGET_INFO) || ti_len == 0))
		return -EPROTONOSUPPORT;

	_cleanup_free_ uint8_t *dom = NULL, *usr = NULL, *ws = NULL;
	size_t dom_len = 0, usr_len = 0, ws_len = 0;
	r = utf8_to_utf16le(c->domain, false, &dom, &dom_len);
	if (r >= 0)
		r = utf8_to_utf16le(c->user, false, &usr, &usr_len);
	if (r >= 0)
		r = utf8_to_utf16le(c->workstation, false, &ws, &ws_len);
	if (r < 0)
		return r;

	ClientResponse cr = { 0 };
	if (c->anonymous) {
		flags |= NTLM_NEGOTIATE_ANONYMOUS;
		flags &= ~(uint32_t)NTLM_NEGOTIATE_KEY_EXCH;
		cr.lm_len = 1; /* Z(1) */
	} else {
		r = client_compute(c, chal + CHAL_CHALLENGE, ti, ti_len, flags, &cr);
		if (r < 0) {
			free(cr.nt);
			OPENSSL_cleanse(&cr, sizeof cr);
			return r;
		}
	}
	size_t key_len = (flags & NTLM_NEGOTIATE_KEY_EXCH) ? 16 : 0;
	size_t header = cr.mic ? AUTH_HEADER_MIC : AUTH_VERSION + 8;
	size_t total = header + dom_len + usr_len + ws_len + cr.lm_len + cr.nt_len + key_len;
	uint8_t *msg = calloc(1, total);
	if (!msg) {
		free(cr.nt);
		OPENSSL_cleanse(&cr, sizeof cr);
		return -ENOMEM;
	}
	size_t off = header;
	memcpy(msg, ntlmssp_signature, 8);
	smb2_put32(msg + 8, MSG_AUTHENTICATE);
	put_field(msg, AUTH_DOMAIN, &off, dom, dom_len);
	put_field(msg, AUTH_USER, &off, usr, usr_len);
	put_field(msg, AUTH_WORKSTATION, &off, ws, ws_len);
	put_field(msg, AUTH_LM, &off, cr.lm, cr.lm_len);
	put_field(msg, AUTH_NT, &off, cr.nt, cr.nt_len);
	put_field(msg, AUTH_SESSION_KEY, &off, cr.enc_key, key_len);
	smb2_put32(msg + AUTH_FLAGS, flags);
	memcpy(msg + AUTH_VERSION, our_version, 8);
	free(cr.nt);

	if (cr.mic) {
		Part parts[] = { { c->negotiate_msg, c->negotiate_len }, { chal, len }, { msg, total } };
		r = hmac_md5(cr.exported, 16, parts, ELEMENTSOF(parts), msg + AUTH_MIC);
	}
	c->mic_sent = cr.mic && r >= 0;
	if (r >= 0 && !c->anonymous) {
		memcpy(c->session_key, cr.exported, 16);
		c->has_key = true;
		if (flags & NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)
			r = session_new(cr.exported, flags, false, &c->session);
	}
	OPENSSL_cleanse(&cr, sizeof cr);
	if (r < 0) {
		free(msg);
		return r;
	}
	*ret = msg;
	*ret_len = total;
	return 0;
}

const uint8_t *ntlm_client_session_key(const NtlmClient *c) {
	return c && c->has_key ? c->session_key : NULL;
}

NtlmSession *ntlm_client_session(NtlmClient *c) {
	return c ? c->session : NULL;
}

bool ntlm_client_mic_sent(const NtlmClient *c) {
	return c && c->mic_sent;
}
