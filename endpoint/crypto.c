/*
 * crypto.c - SMB2/3 signing, key derivation, pre-auth integrity hash and
 * TRANSFORM_HEADER encryption on OpenSSL 3 EVP (see crypto.h).
 *
 * Invariants: the per-dialect differences live in two tables (kdf_labels
 * for the key derivation inputs, ciphers for the AEAD parameters); code
 * paths never branch on a dialect number elsewhere.  Every temporary that
 * held key material is wiped before return.  MAC and cipher algorithm
 * objects are fetched once per process (pthread_once) and shared
 * read-only, which OpenSSL allows across threads.
 *
 * Never: reuse a nonce under one key (an Smb3Cipher and its copies share
 * one atomic nonce sequence); return a partially decrypted
 * buffer as success; compare tags with memcmp.
 */
#include "crypto.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "smb2_pdu.h"
#include "util.h"

/* SMB2 header fields used here ([MS-SMB2] 2.2.1); byte order helpers,
 * flags and command numbers come from smb2_pdu.h. */
#define HDR_COMMAND 12
#define HDR_FLAGS 16
#define HDR_MESSAGE_ID 24

/* TRANSFORM_HEADER fields ([MS-SMB2] 2.2.41). */
#define TH_SIGNATURE 4
#define TH_NONCE 20
#define TH_ORIGINAL_SIZE 36
#define TH_FLAGS 42
#define TH_SESSION_ID 44
#define TH_AAD_LEN 32
#define TH_FLAGS_ENCRYPTED 0x0001

static inline void put_be32(uint8_t *p, uint32_t v) {
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * (3 - i)));
}

/* ---- algorithm objects, fetched once ---- */

static EVP_MAC *mac_hmac, *mac_cmac, *mac_gmac;
static EVP_MD *md_sha512;
static EVP_CIPHER *cipher_objs[5]; /* indexed by SMB2_CRYPTO_CIPHER_* */
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static bool algs_ok;

static void algs_fetch(void) {
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mac_cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	mac_gmac = EVP_MAC_fetch(NULL, "GMAC", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	cipher_objs[SMB2_CRYPTO_CIPHER_AES128_CCM] = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
	cipher_objs[SMB2_CRYPTO_CIPHER_AES128_GCM] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	cipher_objs[SMB2_CRYPTO_CIPHER_AES256_CCM] = EVP_CIPHER_fetch(NULL, "AES-256-CCM", NULL);
	cipher_objs[SMB2_CRYPTO_CIPHER_AES256_GCM] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	algs_ok = mac_hmac && mac_cmac && mac_gmac && md_sha512;
	for (size_t i = 1; i < ELEMENTSOF(cipher_objs); i++)
		algs_ok = algs_ok && cipher_objs[i];
}

static int algs_get(void) {
	pthread_once(&algs_once, algs_fetch);
	return algs_ok ? 0 : -EIO;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC_CTX *, EVP_MAC_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)

/* ---- tables ---- */

typedef struct CipherInfo {
	const char *name;
	size_t key_len;
	size_t nonce_len; /* bytes of the 16-byte Nonce field used */
	bool ccm;
} CipherInfo;

static const CipherInfo ciphers[] = {
	[SMB2_CRYPTO_CIPHER_AES128_CCM] = { "AES-128-CCM", 16, 11, true },
	[SMB2_CRYPTO_CIPHER_AES128_GCM] = { "AES-128-GCM", 16, 12, false },
	[SMB2_CRYPTO_CIPHER_AES256_CCM] = { "AES-256-CCM", 32, 11, true },
	[SMB2_CRYPTO_CIPHER_AES256_GCM] = { "AES-256-GCM", 32, 12, false },
};

static const CipherInfo *cipher_info(uint16_t cipher) {
	if (cipher >= ELEMENTSOF(ciphers) || !ciphers[cipher].name)
		return NULL;
	return &ciphers[cipher];
}

static const char *const sign_alg_names[] = {
	[SMB2_CRYPTO_SIGN_HMAC_SHA256] = "HMAC-SHA256",
	[SMB2_CRYPTO_SIGN_AES_CMAC] = "AES-CMAC",
	[SMB2_CRYPTO_SIGN_AES_GMAC] = "AES-GMAC",
};

/* Key derivation inputs per dialect ([MS-SMB2] 3.3.5.5.3).  A NULL label
 * means the key is the session key itself (SMB 2.x signing); a NULL
 * context with preauth_context means "the pre-auth integrity hash". */
typedef struct KdfLabel {
	const char *label; /* NUL included in the derivation */
	const char *context;
} KdfLabel;

typedef struct DialectInfo {
	uint16_t dialect;
	uint16_t sign_alg;     /* fixed algorithm, or UINT16_MAX = as negotiated */
	bool preauth_context;  /* contexts are the pre-auth hash (3.1.1) */
	bool any_cipher;       /* all four ciphers (3.1.1) or AES-128-CCM only */
	KdfLabel signing, application, c2s, s2c;
} DialectInfo;

static const DialectInfo dialects[] = {
	{ 0x0202, SMB2_CRYPTO_SIGN_HMAC_SHA256, false, false, { NULL, NULL }, { NULL, NULL },
	  { NULL, NULL }, { NULL, NULL } },
	{ 0x0210, SMB2_CRYPTO_SIGN_HMAC_SHA256, false, false, { NULL, NULL }, { NULL, NULL },
	  { NULL, NULL }, { NULL, NULL } },
	{ 0x0300, SMB2_CRYPTO_SIGN_AES_CMAC, false, false, { "SMB2AESCMAC", "SmbSign" },
	  { "SMB2APP", "SmbRpc" }, { "SMB2AESCCM", "ServerIn " }, { "SMB2AESCCM", "ServerOut" } },
	{ 0x0302, SMB2_CRYPTO_SIGN_AES_CMAC, false, false, { "SMB2AESCMAC", "SmbSign" },
	  { "SMB2APP", "SmbRpc" }, { "SMB2AESCCM", "ServerIn " }, { "SMB2AESCCM", "ServerOut" } },
	{ 0x0311, UINT16_MAX, true, true, { "SMBSigningKey", NULL }, { "SMBAppKey", NULL },
	  { "SMBC2SCipherKey", NULL }, { "SMBS2CCipherKey", NULL } },
};

static const DialectInfo *dialect_info(uint16_t dialect) {
	for (size_t i = 0; i < ELEMENTSOF(dialects); i++)
		if (dialects[i].dialect == dialect)
			return &dialects[i];
	return NULL;
}

int smb2_crypto_cipher_key_len(uint16_t cipher) {
	const CipherInfo *ci = cipher_info(cipher);
	return ci ? (int)ci->key_len : -EINVAL;
}

const char *smb2_crypto_cipher_name(uint16_t cipher) {
	const CipherInfo *ci = cipher_info(cipher);
	return ci ? ci->name : NULL;
}

const char *smb2_crypto_sign_alg_name(uint16_t sign_alg) {
	return sign_alg < ELEMENTSOF(sign_alg_names) ? sign_alg_names[sign_alg] : NULL;
}

/* ---- KDF ---- */

static int hmac_sha256_ctx(const uint8_t *key, size_t key_len, EVP_MAC_CTX **ret) {
	int r = algs_get();
	if (r < 0)
		return r;
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac_hmac);
	if (!ctx)
		return -ENOMEM;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(ctx, key, key_len, params))
		return -EIO;
	*ret = TAKE_PTR(ctx);
	return 0;
}

int smb2_crypto_kdf(const uint8_t *key, size_t key_len, const void *label, size_t label_len,
		    const void *context, size_t context_len, uint8_t *out, size_t out_len) {
	if (!key || key_len == 0 || out_len == 0 || out_len > 32)
		return -EINVAL;
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = NULL;
	int r = hmac_sha256_ctx(key, key_len, &ctx);
	if (r < 0)
		return r;
	uint8_t counter[4], zero = 0, bits[4], full[32];
	put_be32(counter, 1);
	put_be32(bits, (uint32_t)(out_len * 8));
	size_t full_len = 0;
	if (!EVP_MAC_update(ctx, counter, sizeof counter) || !EVP_MAC_update(ctx, label, label_len) ||
	    !EVP_MAC_update(ctx, &zero, 1) || !EVP_MAC_update(ctx, context, context_len) ||
	    !EVP_MAC_update(ctx, bits, sizeof bits) ||
	    !EVP_MAC_final(ctx, full, &full_len, sizeof full) || full_len != sizeof full)
		return -EIO;
	memcpy(out, full, out_len);
	OPENSSL_cleanse(full, sizeof full);
	return 0;
}

/* One derived key: label/context from the table (or the pre-auth hash). */
static int derive_one(const DialectInfo *di, const KdfLabel *l, const uint8_t *key, size_t key_len,
		      const uint8_t *preauth, uint8_t *out, size_t out_len) {
	const void *ctx = di->preauth_context ? (const void *)preauth : (const void *)l->context;
	size_t ctx_len = di->preauth_context ? SMB2_CRYPTO_PREAUTH_SIZE : strlen(l->context) + 1;
	return smb2_crypto_kdf(key, key_len, l->label, strlen(l->label) + 1, ctx, ctx_len, out,
			       out_len);
}

void smb2_crypto_keys_clear(Smb2Keys *k) {
	if (k)
		OPENSSL_cleanse(k, sizeof *k);
}

int smb2_crypto_derive_keys(Smb2Keys *ret, uint16_t dialect, uint16_t sign_alg, uint16_t cipher,
			    bool server, const uint8_t *session_key, size_t session_key_len,
			    const uint8_t *preauth) {
	const DialectInfo *di = dialect_info(dialect);
	if (!ret || !di || !session_key || session_key_len < 16 || session_key_len > 32)
		return -EINVAL;
	if (di->preauth_context && !preauth)
		return -EINVAL;
	if (di->sign_alg != UINT16_MAX)
		sign_alg = di->sign_alg;
	else if (!smb2_crypto_sign_alg_name(sign_alg))
		return -EINVAL;
	const CipherInfo *ci = NULL;
	if (cipher != SMB2_CRYPTO_CIPHER_NONE) {
		ci = cipher_info(cipher);
		if (!ci || !di->signing.label)
			return -EINVAL;
		if (!di->any_cipher && cipher != SMB2_CRYPTO_CIPHER_AES128_CCM)
			return -EINVAL;
	}

	Smb2Keys k = { .dialect = dialect, .sign_alg = sign_alg, .cipher = cipher, .server = server };
	int r = 0;
	if (!di->signing.label) {
		memcpy(k.signing_key, session_key, 16);
		memcpy(k.application_key, session_key, 16);
	} else {
		r = derive_one(di, &di->signing, session_key, 16, preauth, k.signing_key, 16);
		if (r >= 0)
			r = derive_one(di, &di->application, session_key, 16, preauth,
				       k.application_key, 16);
	}
	if (r >= 0 && ci) {
		/* [MS-SMB2] 3.3.5.5.3: AES-256 keys come from the full session key. */
		size_t in_len = ci->key_len == 32 ? session_key_len : 16;
		uint8_t *c2s = server ? k.decrypt_key : k.encrypt_key;
		uint8_t *s2c = server ? k.encrypt_key : k.decrypt_key;
		k.cipher_key_len = ci->key_len;
		r = derive_one(di, &di->c2s, session_key, in_len, preauth, c2s, ci->key_len);
		if (r >= 0)
			r = derive_one(di, &di->s2c, session_key, in_len, preauth, s2c, ci->key_len);
	}
	if (r >= 0)
		*ret = k;
	OPENSSL_cleanse(&k, sizeof k);
	return r;
}

/* ---- signing ---- */

/* Feed iov to ctx with the header's signature field zeroed. */
static int mac_update_message(EVP_MAC_CTX *ctx, const uint8_t *hdr, const struct iovec *iov,
			      size_t n) {
	if (!EVP_MAC_update(ctx, hdr, SMB2_CRYPTO_HEADER_SIZE))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		if (i == 0) {
			p += SMB2_CRYPTO_HEADER_SIZE;
			len -= SMB2_CRYPTO_HEADER_SIZE;
		}
		if (len > 0 && !EVP_MAC_update(ctx, p, len))
			return -EIO;
	}
	return 0;
}

static int mac_ctx_for(const Smb2Keys *k, const uint8_t *hdr, EVP_MAC_CTX **ret) {
	int r = algs_get();
	if (r < 0)
		return r;
	uint8_t nonce[12];
	OSSL_PARAM params[3];
	EVP_MAC *mac;
	switch (k->sign_alg) {
	case SMB2_CRYPTO_SIGN_HMAC_SHA256:
		mac = mac_hmac;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		break;
	case SMB2_CRYPTO_SIGN_AES_CMAC:
		mac = mac_cmac;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
							     (char *)"AES-128-CBC", 0);
		params[1] = OSSL_PARAM_construct_end();
		break;
	case SMB2_CRYPTO_SIGN_AES_GMAC: {
		uint32_t bits = 0;
		if (smb2_le32(hdr + HDR_FLAGS) & SMB2_FLAGS_SERVER_TO_REDIR)
			bits |= 0x1;
		if (smb2_le16(hdr + HDR_COMMAND) == SMB2_CANCEL)
			bits |= 0x2;
		memcpy(nonce, hdr + HDR_MESSAGE_ID, 8);
		smb2_put32(nonce + 8, bits);
		mac = mac_gmac;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
							     (char *)"AES-128-GCM", 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, nonce, sizeof nonce);
		params[2] = OSSL_PARAM_construct_end();
		break;
	}
	default:
		return -EINVAL;
	}
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		return -ENOMEM;
	if (!EVP_MAC_init(ctx, k->signing_key, sizeof k->signing_key, params))
		return -EIO;
	*ret = TAKE_PTR(ctx);
	return 0;
}

int smb2_crypto_sign_iov(const Smb2Keys *k, const struct iovec *iov, size_t n,
			 uint8_t sig[SMB2_CRYPTO_SIGNATURE_SIZE]) {
	if (!k || k->dialect == 0 || n == 0 || iov[0].iov_len < SMB2_CRYPTO_HEADER_SIZE)
		return -EINVAL;
	uint8_t hdr[SMB2_CRYPTO_HEADER_SIZE];
	memcpy(hdr, iov[0].iov_base, sizeof hdr);
	memset(hdr + SMB2_CRYPTO_SIGNATURE_OFFSET, 0, SMB2_CRYPTO_SIGNATURE_SIZE);

	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = NULL;
	int r = mac_ctx_for(k, hdr, &ctx);
	if (r < 0)
		return r;
	r = mac_update_message(ctx, hdr, iov, n);
	if (r < 0)
		return r;
	uint8_t out[32];
	size_t out_len = 0;
	if (!EVP_MAC_final(ctx, out, &out_len, sizeof out) || out_len < SMB2_CRYPTO_SIGNATURE_SIZE)
		return -EIO;
	memcpy(sig, out, SMB2_CRYPTO_SIGNATURE_SIZE);
	return 0;
}

int smb2_crypto_sign(const Smb2Keys *k, uint8_t *msg, size_t len) {
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	uint8_t sig[SMB2_CRYPTO_SIGNATURE_SIZE];
	int r = smb2_crypto_sign_iov(k, &iov, 1, sig);
	if (r < 0)
		return r;
	memcpy(msg + SMB2_CRYPTO_SIGNATURE_OFFSET, sig, sizeof sig);
	return 0;
}

int smb2_crypto_verify_iov(const Smb2Keys *k, const struct iovec *iov, size_t n) {
	uint8_t sig[SMB2_CRYPTO_SIGNATURE_SIZE];
	int r = smb2_crypto_sign_iov(k, iov, n, sig);
	if (r < 0)
		return r;
	const uint8_t *have = (const uint8_t *)iov[0].iov_base + SMB2_CRYPTO_SIGNATURE_OFFSET;
	return CRYPTO_memcmp(sig, have, sizeof sig) == 0 ? 0 : -EBADMSG;
}

int smb2_crypto_verify(const Smb2Keys *k, const uint8_t *msg, size_t len) {
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	return smb2_crypto_verify_iov(k, &iov, 1);
}

/* ---- pre-auth integrity ---- */

void smb2_crypto_preauth_init(uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE]) {
	memset(hash, 0, SMB2_CRYPTO_PREAUTH_SIZE);
}

int smb2_crypto_preauth_update_iov(uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE], const struct iovec *iov,
				   size_t n) {
	int r = algs_get();
	if (r < 0)
		return r;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex2(ctx, md_sha512, NULL) ||
	    !EVP_DigestUpdate(ctx, hash, SMB2_CRYPTO_PREAUTH_SIZE))
		return -EIO;
	for (size_t i = 0; i < n; i++)
		if (iov[i].iov_len > 0 && !EVP_DigestUpdate(ctx, iov[i].iov_base, iov[i].iov_len))
			return -EIO;
	unsigned out_len = 0;
	if (!EVP_DigestFinal_ex(ctx, hash, &out_len) || out_len != SMB2_CRYPTO_PREAUTH_SIZE)
		return -EIO;
	return 0;
}

int smb2_crypto_preauth_update(uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE], const void *msg, size_t len) {
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	return smb2_crypto_preauth_update_iov(hash, &iov, 1);
}

/* ---- encryption ---- */

/* Nonce sequence of one key, shared by an Smb3Cipher and its copies
 * (smb3_cipher_dup) so that copies used by different threads never hand
 * out the same nonce. */
typedef struct NonceSeq {
	_Atomic uint64_t next;   /* next counter value; UINT64_MAX = exhausted */
	_Atomic unsigned refs;
	uint8_t prefix[4];       /* random per key: 3 bytes used for CCM, 4 for GCM */
} NonceSeq;

struct Smb3Cipher {
	const CipherInfo *info;
	EVP_CIPHER *evp; /* borrowed from cipher_objs */
	EVP_CIPHER_CTX *ctx;
	int ctx_dir; /* direction ctx holds the key for: 1 encrypt, 0 decrypt, -1 none yet */
	uint8_t key[SMB2_CRYPTO_MAX_KEY_SIZE];
	NonceSeq *nonce;
};

/* A cipher object over key with the given nonce sequence (referenced). */
static int cipher_alloc(const CipherInfo *ci, EVP_CIPHER *evp, const uint8_t *key,
			NonceSeq *seq, Smb3Cipher **ret) {
	Smb3Cipher *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->info = ci;
	c->evp = evp;
	c->ctx = EVP_CIPHER_CTX_new();
	c->ctx_dir = -1;
	if (!c->ctx) {
		free(c);
		return -ENOMEM;
	}
	memcpy(c->key, key, ci->key_len);
	atomic_fetch_add(&seq->refs, 1);
	c->nonce = seq;
	*ret = c;
	return 0;
}

int smb3_cipher_new(uint16_t cipher, const uint8_t *key, size_t key_len, Smb3Cipher **ret) {
	const CipherInfo *ci = cipher_info(cipher);
	if (!ci || !key || key_len != ci->key_len || !ret)
		return -EINVAL;
	int r = algs_get();
	if (r < 0)
		return r;
	NonceSeq *seq = calloc(1, sizeof *seq);
	if (!seq)
		return -ENOMEM;
	if (RAND_bytes(seq->prefix, sizeof seq->prefix) != 1) {
		free(seq);
		return -EIO;
	}
	r = cipher_alloc(ci, cipher_objs[cipher], key, seq, ret);
	if (r < 0)
		free(seq);
	return r;
}

int smb3_cipher_dup(const Smb3Cipher *c, Smb3Cipher **ret) {
	if (!c || !ret)
		return -EINVAL;
	return cipher_alloc(c->info, c->evp, c->key, c->nonce, ret);
}

void smb3_cipher_free(Smb3Cipher *c) {
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	if (c->nonce && atomic_fetch_sub(&c->nonce->refs, 1) == 1)
		free(c->nonce);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

/* Next counter of the sequence, or -EOVERFLOW once all 2^64 - 1 are used
 * (the counter never wraps). */
static int nonce_next(NonceSeq *seq, uint64_t *ret) {
	uint64_t n = atomic_load(&seq->next);
	do {
		if (n == UINT64_MAX)
			return -EOVERFLOW;
	} while (!atomic_compare_exchange_weak(&seq->next, &n, n + 1));
	*ret = n;
	return 0;
}

/* Set up c->ctx for one message with nonce (direction enc). For CCM the
 * total length must be announced before AAD.  The cipher, nonce length,
 * CCM tag length and key schedule are set once per direction and kept:
 * a message only sets its nonce (and the tag it checks), which saves the
 * AES key expansion and GHASH table of every small message. */
static int aead_init(Smb3Cipher *c, const uint8_t *nonce, int enc, const uint8_t *tag,
		     size_t msg_len) {
	EVP_CIPHER_CTX *ctx = c->ctx;
	int len;
	if (c->ctx_dir != enc) {
		c->ctx_dir = -1;
		if (!EVP_CipherInit_ex2(ctx, c->evp, NULL, NULL, enc, NULL) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)c->info->nonce_len, NULL))
			return -EIO;
		if (c->info->ccm &&
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SMB2_CRYPTO_SIGNATURE_SIZE, NULL))
			return -EIO;
		if (!EVP_CipherInit_ex2(ctx, NULL, c->key, NULL, enc, NULL))
			return -EIO;
		c->ctx_dir = enc;
	}
	if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SMB2_CRYPTO_SIGNATURE_SIZE,
					 (void *)tag))
		return -EIO;
	if (!EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, enc, NULL))
		return -EIO;
	if (c->info->ccm && !EVP_CipherUpdate(ctx, NULL, &len, NULL, (int)msg_len))
		return -EIO;
	return 0;
}

/* Encrypt with the given 16-byte Nonce field (the tests pass the
 * published vectors' nonces; smb3_encrypt passes a fresh one). */
static int encrypt_with_nonce(Smb3Cipher *c, uint64_t session_id, uint8_t *buf, size_t msg_len,
			      const uint8_t nonce[16]) {
	uint8_t *h = buf;
	memset(h, 0, SMB3_TRANSFORM_HEADER_SIZE);
	smb2_put32(h, SMB3_TRANSFORM_PROTOCOL_ID);
	memcpy(h + TH_NONCE, nonce, 16);
	smb2_put32(h + TH_ORIGINAL_SIZE, (uint32_t)msg_len);
	smb2_put16(h + TH_FLAGS, TH_FLAGS_ENCRYPTED);
	smb2_put64(h + TH_SESSION_ID, session_id);

	int r = aead_init(c, h + TH_NONCE, 1, NULL, msg_len);
	if (r < 0)
		return r;
	int len;
	uint8_t *msg = buf + SMB3_TRANSFORM_HEADER_SIZE;
	if (!EVP_CipherUpdate(c->ctx, NULL, &len, h + TH_NONCE, TH_AAD_LEN) ||
	    !EVP_CipherUpdate(c->ctx, msg, &len, msg, (int)msg_len) ||
	    !EVP_CipherFinal_ex(c->ctx, msg + len, &len) ||
	    !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, SMB2_CRYPTO_SIGNATURE_SIZE,
				 h + TH_SIGNATURE))
		return -EIO;
	return 0;
}

int smb3_encrypt(Smb3Cipher *c, uint64_t session_id, uint8_t *buf, size_t msg_len) {
	if (!c || !buf || msg_len == 0 || msg_len > INT32_MAX)
		return -EINVAL;
	uint64_t counter;
	int r = nonce_next(c->nonce, &counter);
	if (r < 0)
		return r;
	/* Nonce: random prefix then the little-endian counter; the unused
	 * tail of the 16-byte field stays zero as [MS-SMB2] 2.2.41 asks. */
	uint8_t nonce[16] = { 0 };
	size_t prefix = c->info->nonce_len - 8;
	memcpy(nonce, c->nonce->prefix, prefix);
	smb2_put64(nonce + prefix, counter);
	return encrypt_with_nonce(c, session_id, buf, msg_len, nonce);
}

int smb3_transform_parse(const uint8_t *buf, size_t len, uint64_t *ret_session_id) {
	if (!buf || len <= SMB3_TRANSFORM_HEADER_SIZE)
		return -EBADMSG;
	if (smb2_le32(buf) != SMB3_TRANSFORM_PROTOCOL_ID ||
	    smb2_le16(buf + TH_FLAGS) != TH_FLAGS_ENCRYPTED ||
	    smb2_le32(buf + TH_ORIGINAL_SIZE) != len - SMB3_TRANSFORM_HEADER_SIZE)
		return -EBADMSG;
	if (ret_session_id)
		*ret_session_id = smb2_le64(buf + TH_SESSION_ID);
	return 0;
}

int smb3_decrypt(Smb3Cipher *c, uint8_t *buf, size_t len, size_t *ret_msg_len) {
	if (!c)
		return -EINVAL;
	int r = smb3_transform_parse(buf, len, NULL);
	if (r < 0)
		return r;
	size_t msg_len = len - SMB3_TRANSFORM_HEADER_SIZE;
	if (msg_len > INT32_MAX)
		return -EBADMSG;
	r = aead_init(c, buf + TH_NONCE, 0, buf + TH_SIGNATURE, msg_len);
	if (r < 0)
		return r;
	int outl;
	uint8_t *msg = buf + SMB3_TRANSFORM_HEADER_SIZE;
	if (!EVP_CipherUpdate(c->ctx, NULL, &outl, buf + TH_NONCE, TH_AAD_LEN))
		return -EIO;
	/* CCM checks the tag inside this update; GCM in the final call. */
	if (!EVP_CipherUpdate(c->ctx, msg, &outl, msg, (int)msg_len))
		return -EBADMSG;
	if (!c->info->ccm && !EVP_CipherFinal_ex(c->ctx, msg + outl, &outl))
		return -EBADMSG;
	if (ret_msg_len)
		*ret_msg_len = msg_len;
	return 0;
}
