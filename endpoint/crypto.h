/*
 * crypto.h - SMB2/3 message security: signing, key derivation, the SMB
 * 3.1.1 pre-authentication integrity hash and SMB3 encryption
 * (TRANSFORM_HEADER), shared by the server (smbrefd) and the client.
 *
 * Purpose: one implementation of [MS-SMB2] 3.1.4.1 (signing), 3.1.4.2
 * (key derivation, SP800-108 counter mode with HMAC-SHA256), 3.1.4.3
 * (encryption) and 3.2.5.2 / 3.3.5.4 (pre-auth integrity, SHA-512), on
 * OpenSSL 3 EVP.  Callers pass wire values (dialect 0x0202..0x0311, cipher
 * and signing algorithm ids of the negotiate contexts) so no translation
 * table is needed elsewhere.
 *
 * Invariants:
 *  - A Smb2Keys is filled completely by smb2_crypto_derive_keys() or not at
 *    all; an unset Smb2Keys (all zero, .dialect == 0) signs nothing.
 *  - An Smb3Cipher and its copies (smb3_cipher_dup) never encrypt two
 *    messages with the same nonce: the nonce is a per-key random prefix
 *    plus a 64-bit counter they share atomically; when the counter would
 *    wrap, smb3_encrypt fails with -EOVERFLOW instead.
 *  - Signature and tag comparisons are constant time (CRYPTO_memcmp).
 *
 * Never: log, print or return key material except through the structures
 * given by the caller; keep plaintext keys in memory it does not own after
 * free (every free wipes with OPENSSL_cleanse).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Wire values of SMB2_ENCRYPTION_CAPABILITIES ciphers ([MS-SMB2] 2.2.3.1.2). */
enum {
	SMB2_CRYPTO_CIPHER_NONE = 0x0000,
	SMB2_CRYPTO_CIPHER_AES128_CCM = 0x0001,
	SMB2_CRYPTO_CIPHER_AES128_GCM = 0x0002,
	SMB2_CRYPTO_CIPHER_AES256_CCM = 0x0003,
	SMB2_CRYPTO_CIPHER_AES256_GCM = 0x0004,
};

/* Wire values of SMB2_SIGNING_CAPABILITIES algorithms ([MS-SMB2] 2.2.3.1.7). */
enum {
	SMB2_CRYPTO_SIGN_HMAC_SHA256 = 0x0000,
	SMB2_CRYPTO_SIGN_AES_CMAC = 0x0001,
	SMB2_CRYPTO_SIGN_AES_GMAC = 0x0002,
};

#define SMB2_CRYPTO_SIGNATURE_SIZE 16
#define SMB2_CRYPTO_PREAUTH_SIZE 64   /* SHA-512 */
#define SMB2_CRYPTO_MAX_KEY_SIZE 32   /* AES-256 cipher keys */
#define SMB2_CRYPTO_HEADER_SIZE 64    /* SMB2 sync/async header */
#define SMB2_CRYPTO_SIGNATURE_OFFSET 48
#define SMB3_TRANSFORM_HEADER_SIZE 52
#define SMB3_TRANSFORM_PROTOCOL_ID 0x424d53fdu /* 0xFD 'S' 'M' 'B' read as LE u32 */

/*
 * Keys of one session on one connection, as seen from one role.
 * encrypt_key encrypts what this side sends (server: ServerOut /
 * SMBS2CCipherKey; client: ServerIn / SMBC2SCipherKey), decrypt_key what it
 * receives.  cipher_key_len is 16 or 32 (0 when cipher is NONE).
 */
typedef struct Smb2Keys {
	uint16_t dialect;   /* 0x0202 .. 0x0311; 0 = no keys (anonymous/guest) */
	uint16_t sign_alg;  /* SMB2_CRYPTO_SIGN_* actually used for this dialect */
	uint16_t cipher;    /* SMB2_CRYPTO_CIPHER_* or NONE */
	bool server;        /* role: true on smbrefd */
	uint8_t signing_key[16];
	uint8_t application_key[16];
	uint8_t encrypt_key[SMB2_CRYPTO_MAX_KEY_SIZE];
	uint8_t decrypt_key[SMB2_CRYPTO_MAX_KEY_SIZE];
	size_t cipher_key_len;
} Smb2Keys;

/*
 * Derive every key of a session ([MS-SMB2] 3.3.5.5.3 server, 3.2.5.3.1
 * client).  session_key is the authentication's session key (NTLM: the
 * 16-byte exported session key; Kerberos: the full subkey, up to 32 bytes);
 * 128-bit keys use its first 16 bytes, AES-256 cipher keys the whole key.
 *   dialect 0x0202/0x0210: signing key = session key, HMAC-SHA256, no cipher.
 *   dialect 0x0300/0x0302: labels "SMB2AESCMAC"/"SmbSign", "SMB2AESCCM"/
 *     "ServerIn "/"ServerOut", "SMB2APP"/"SmbRpc"; AES-CMAC.
 *   dialect 0x0311: labels "SMBSigningKey", "SMBC2SCipherKey",
 *     "SMBS2CCipherKey", "SMBAppKey", context = preauth (the session's
 *     pre-auth integrity hash, required, 64 bytes); sign_alg as negotiated
 *     by the signing capabilities context (AES-CMAC when none was).
 * sign_alg is ignored below 3.1.1.  cipher NONE leaves the cipher keys zero.
 * Returns 0, -EINVAL (unknown dialect/cipher/algorithm, missing preauth,
 * session_key_len < 16 or > 32... ), -EIO (OpenSSL failure).
 */
int smb2_crypto_derive_keys(Smb2Keys *ret, uint16_t dialect, uint16_t sign_alg, uint16_t cipher,
			    bool server, const uint8_t *session_key, size_t session_key_len,
			    const uint8_t *preauth);

/* Wipe a Smb2Keys (OPENSSL_cleanse); safe on NULL. */
void smb2_crypto_keys_clear(Smb2Keys *k);

/*
 * SP800-108 KDF in counter mode, PRF HMAC-SHA256, r = 32, L = out_len * 8
 * ([MS-SMB2] 3.1.4.2): out = HMAC(key, i || label || 0x00 || context || L).
 * label and context are passed with their terminating NUL included where
 * MS-SMB2 says so (the wire labels above all include it).  out_len <= 32.
 * Returns 0, -EINVAL, -EIO.
 */
int smb2_crypto_kdf(const uint8_t *key, size_t key_len, const void *label, size_t label_len,
		    const void *context, size_t context_len, uint8_t *out, size_t out_len);

/*
 * Signing ([MS-SMB2] 3.1.4.1).  The message is the SMB2 header (64 bytes,
 * first iov must hold at least the whole header) followed by the body, for
 * one element of a compound (NextCommand padding included).  The Signature
 * field (bytes 48..63) is treated as zero whatever it holds.  For AES-GMAC
 * the nonce is the header's MessageId followed by a 32-bit word whose bit 0
 * is SMB2_FLAGS_SERVER_TO_REDIR of the header and bit 1 is set for a CANCEL
 * request.  Returns 0, -EINVAL (no keys, header too short), -EIO.
 */
int smb2_crypto_sign_iov(const Smb2Keys *k, const struct iovec *iov, size_t n,
			 uint8_t sig[SMB2_CRYPTO_SIGNATURE_SIZE]);
/* Contiguous variants: compute and store the signature into msg[48..63]
 * (the caller sets SMB2_FLAGS_SIGNED first), or check it. */
int smb2_crypto_sign(const Smb2Keys *k, uint8_t *msg, size_t len);
/* Returns 0 when msg's signature is right, -EBADMSG when not, -EINVAL/-EIO. */
int smb2_crypto_verify(const Smb2Keys *k, const uint8_t *msg, size_t len);
int smb2_crypto_verify_iov(const Smb2Keys *k, const struct iovec *iov, size_t n);

/*
 * Pre-auth integrity ([MS-SMB2] 3.2.5.2, 3.3.5.4): hash starts as 64 zero
 * bytes (smb2_crypto_preauth_init) and becomes SHA-512(hash || message) for
 * every NEGOTIATE request/response and SESSION_SETUP request/response
 * (except the final successful response), whole messages without the
 * 4-byte transport header.  The connection hash is copied into the session
 * at its first SESSION_SETUP.  Returns 0 or -EIO.
 */
void smb2_crypto_preauth_init(uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE]);
int smb2_crypto_preauth_update(uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE], const void *msg, size_t len);
int smb2_crypto_preauth_update_iov(uint8_t hash[SMB2_CRYPTO_PREAUTH_SIZE], const struct iovec *iov,
				   size_t n);

/* Key length in bytes of a cipher (16/32) or -EINVAL when unknown or NONE. */
int smb2_crypto_cipher_key_len(uint16_t cipher);
/* Printable name ("AES-128-GCM"...) or NULL when unknown. */
const char *smb2_crypto_cipher_name(uint16_t cipher);
const char *smb2_crypto_sign_alg_name(uint16_t sign_alg);

/*
 * SMB3 encryption ([MS-SMB2] 2.2.41, 3.1.4.3).  An Smb3Cipher holds one
 * direction's key, ready for AES-CCM/GCM, and the nonce state.  One object
 * is used by one thread at a time; for several threads encrypting under
 * the same key, give each a copy made with smb3_cipher_dup(): copies share
 * the nonce sequence, so no nonce is ever used twice.  (Two separate
 * smb3_cipher_new() on the same key have independent random prefixes: a
 * collision, 2^-24 for CCM, would repeat nonces — do not do that.)
 */
typedef struct Smb3Cipher Smb3Cipher;

/* key_len must match the cipher.  Returns 0, -EINVAL, -ENOMEM, -EIO. */
int smb3_cipher_new(uint16_t cipher, const uint8_t *key, size_t key_len, Smb3Cipher **ret);
/* A copy for another thread: same key, same (shared, atomic) nonce
 * sequence.  Returns 0, -EINVAL, -ENOMEM. */
int smb3_cipher_dup(const Smb3Cipher *c, Smb3Cipher **ret);
/* Wipes the key; safe on NULL. */
void smb3_cipher_free(Smb3Cipher *c);
static inline void smb3_cipher_freep(Smb3Cipher **c) { smb3_cipher_free(*c); }

/*
 * Encrypt in place.  buf holds SMB3_TRANSFORM_HEADER_SIZE bytes reserved
 * for the transform header, then msg_len bytes of plaintext SMB2 message(s)
 * (a whole compound chain).  Fills the header (ProtocolId, Nonce, tag in
 * Signature, OriginalMessageSize, Flags = 0x0001, SessionId) and replaces
 * the plaintext with ciphertext.  AAD = header bytes 20..51.
 * Returns 0, -EINVAL (msg_len 0 or > UINT32_MAX), -EOVERFLOW (nonces
 * exhausted: the session must be torn down), -EIO.
 */
int smb3_encrypt(Smb3Cipher *c, uint64_t session_id, uint8_t *buf, size_t msg_len);

/*
 * Read a transform header without decrypting, to find the session whose
 * key decrypts it.  len is the whole transport frame.  Checks ProtocolId,
 * Flags == 0x0001 and OriginalMessageSize == len - 52 (and > 0).
 * Returns 0 or -EBADMSG.
 */
int smb3_transform_parse(const uint8_t *buf, size_t len, uint64_t *ret_session_id);

/*
 * Decrypt in place: buf/len as received (header + ciphertext).  After
 * success the plaintext SMB2 message(s) are at buf + 52, *ret_msg_len bytes.
 * Returns 0, -EBADMSG (malformed header or authentication tag mismatch:
 * the buffer content is then undefined), -EIO.
 */
int smb3_decrypt(Smb3Cipher *c, uint8_t *buf, size_t len, size_t *ret_msg_len);
