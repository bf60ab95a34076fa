/*
 * ntlm.h - NTLMSSP ([MS-NLMP]) with NTLMv2 only: server side (smbrefd's
 * SESSION_SETUP) and client side (the reference client), plus the NTLM
 * message signature used for SPNEGO's mechListMIC.
 *
 * Purpose: turn NEGOTIATE / CHALLENGE / AUTHENTICATE messages into an
 * authenticated identity and a 16-byte exported session key, and back.
 * Passwords never enter this module: users are looked up by a callback that
 * gives their NT hash (MD4 of the UTF-16LE password, ntlm_nt_hash()).
 *
 * Invariants:
 *  - A server accepts only NTLMv2 (an NtChallengeResponse longer than 24
 *    bytes whose NTProofStr matches); LM, NTLMv1 and NTLM2-session (v1)
 *    responses are refused with -EPROTONOSUPPORT, anonymous logons with
 *    -EPERM unless NtlmServerConfig.allow_anonymous.
 *  - Unknown user (-ENOENT) and wrong password (-EACCES) differ only in the
 *    return code, which is for logging/auditing: both must map to the same
 *    wire error (STATUS_LOGON_FAILURE).  Unknown users cost the same HMACs
 *    as known ones.
 *  - When the AUTHENTICATE message says a MIC is present (MsvAvFlags bit
 *    0x2 in the client's AV pairs), the MIC is checked; a wrong one fails
 *    with -EACCES.  All secret comparisons are constant time.
 *  - Each message buffer is bounds-checked before any field is read;
 *    nothing is read outside [in, in + len).
 *
 * Never: log or print hashes, keys, challenges' responses or passwords;
 * keep a password (the client config's password is hashed at
 * ntlm_client_new and the copy wiped).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTLM_HASH_SIZE 16
#define NTLM_SESSION_KEY_SIZE 16
#define NTLM_SIGNATURE_SIZE 16

/* NegotiateFlags ([MS-NLMP] 2.2.2.5) this module sets or reads. */
enum {
	NTLM_NEGOTIATE_UNICODE = 0x00000001u,
	NTLM_NEGOTIATE_OEM = 0x00000002u,
	NTLM_REQUEST_TARGET = 0x00000004u,
	NTLM_NEGOTIATE_SIGN = 0x00000010u,
	NTLM_NEGOTIATE_SEAL = 0x00000020u,
	NTLM_NEGOTIATE_LM_KEY = 0x00000080u,
	NTLM_NEGOTIATE_NTLM = 0x00000200u,
	NTLM_NEGOTIATE_ANONYMOUS = 0x00000800u,
	NTLM_NEGOTIATE_ALWAYS_SIGN = 0x00008000u,
	NTLM_TARGET_TYPE_DOMAIN = 0x00010000u,
	NTLM_TARGET_TYPE_SERVER = 0x00020000u,
	NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000u,
	NTLM_NEGOTIATE_TARGET_INFO = 0x00800000u,
	NTLM_NEGOTIATE_VERSION = 0x02000000u,
	NTLM_NEGOTIATE_128 = 0x20000000u,
	NTLM_NEGOTIATE_KEY_EXCH = 0x40000000u,
	NTLM_NEGOTIATE_56 = 0x80000000u,
};

/* Gives the NT hash of user (UTF-8, as the client sent it; domain may be
 * ""), or -ENOENT for an unknown user, or another -errno on failure. */
typedef int (*NtlmLookupFn)(void *userdata, const char *user, const char *domain,
			    uint8_t nt_hash[NTLM_HASH_SIZE]);

/* NT hash = MD4(UTF-16LE(password)); password is UTF-8.  Returns 0,
 * -EINVAL (invalid UTF-8), -ENOMEM. */
int ntlm_nt_hash(const char *password, uint8_t out[NTLM_HASH_SIZE]);

/*
 * Message signing/sealing state of an authenticated NTLM context
 * ([MS-NLMP] 3.4.4.2, extended session security with key exchange).  SMB
 * uses it only for SPNEGO's mechListMIC; each direction keeps its own
 * sequence number and RC4 state.
 */
typedef struct NtlmSession NtlmSession;
/* Signature (version 1, 8 bytes of checksum, seqnum) over data, for a
 * message this side sends; advances the outgoing sequence number. */
int ntlm_session_sign(NtlmSession *s, const uint8_t *data, size_t len,
		      uint8_t sig[NTLM_SIGNATURE_SIZE]);
/* Checks the peer's signature over data; advances the incoming sequence
 * number.  Returns 0 or -EBADMSG. */
int ntlm_session_verify(NtlmSession *s, const uint8_t *data, size_t len, const uint8_t *sig,
			size_t sig_len);

/* ---- server ---- */

typedef struct NtlmServerConfig {
	const char *netbios_computer; /* MsvAvNbComputerName, e.g. "SMBREF" (required) */
	const char *netbios_domain;   /* MsvAvNbDomainName, e.g. "WORKGROUP" (required) */
	const char *dns_computer;     /* MsvAvDnsComputerName, NULL = not sent */
	const char *dns_domain;       /* MsvAvDnsDomainName, NULL = not sent */
	bool allow_anonymous;         /* accept an anonymous AUTHENTICATE */
	bool map_unknown_to_guest;    /* unknown user -> success as guest (no key) */
	NtlmLookupFn lookup;
	void *userdata;
} NtlmServerConfig;

/* Outcome of an authentication.  Strings are UTF-8, owned by the context.
 * SPNEGO reports Kerberos logons in the same form (kerberos set, user and
 * domain from the client principal, a 16- or 32-byte key). */
typedef struct NtlmAuthInfo {
	const char *user;        /* "" for anonymous */
	const char *domain;
	const char *workstation; /* "" for Kerberos */
	bool anonymous;
	bool guest;              /* unknown user mapped to guest */
	bool kerberos;           /* authenticated by Kerberos, not NTLM */
	bool has_session_key;    /* false for anonymous and guest */
	uint8_t session_key[32]; /* NTLM: exported session key (16 bytes) */
	size_t session_key_len;  /* 16 (NTLM), 16 or 32 (Kerberos), 0 without */
	uint32_t flags;          /* negotiated NegotiateFlags (NTLM) */
} NtlmAuthInfo;

typedef struct NtlmServer NtlmServer;

/* Copies cfg's strings.  Returns 0, -EINVAL (missing names/lookup), -ENOMEM. */
int ntlm_server_new(const NtlmServerConfig *cfg, NtlmServer **ret);
/* Wipes all secrets; safe on NULL. */
void ntlm_server_free(NtlmServer *s);
static inline void ntlm_server_freep(NtlmServer **s) { ntlm_server_free(*s); }

/*
 * NEGOTIATE in -> CHALLENGE out (*ret malloc'd, caller frees).  The
 * challenge carries a fresh random server challenge and TargetInfo
 * (NetBIOS/DNS names, MsvAvTimestamp).  Callable once per context.
 * Returns 0, -EBADMSG (malformed), -EPROTONOSUPPORT (client cannot do
 * Unicode/extended session security), -EALREADY, -ENOMEM, -EIO.
 */
int ntlm_server_negotiate(NtlmServer *s, const uint8_t *in, size_t len, uint8_t **ret,
			  size_t *ret_len);

/*
 * AUTHENTICATE in.  Returns 0 (identity and key in ntlm_server_info()),
 * -ENOENT (unknown user), -EACCES (wrong password or MIC), -EPERM
 * (anonymous refused), -EPROTONOSUPPORT (LM/NTLMv1), -EBADMSG, -ENOMEM,
 * -EIO, -EALREADY / -EPROTO (called out of order).  On -ENOENT/-EACCES the
 * info still names user/domain/workstation for the audit log.
 */
int ntlm_server_authenticate(NtlmServer *s, const uint8_t *in, size_t len);

/* Valid after ntlm_server_authenticate (also after a failure, see above);
 * NULL before. */
const NtlmAuthInfo *ntlm_server_info(const NtlmServer *s);
/* Signing state for mechListMIC, NULL unless authenticated with a key. */
NtlmSession *ntlm_server_session(NtlmServer *s);
/* True when the client sent a MIC in AUTHENTICATE (SPNEGO then expects a
 * mechListMIC exchange). */
bool ntlm_server_mic_present(const NtlmServer *s);

/* ---- client ---- */

typedef struct NtlmClientConfig {
	const char *user;        /* UTF-8; NULL or "" = anonymous */
	const char *domain;      /* NULL = "" */
	const char *workstation; /* NULL = "" */
	const char *password;    /* UTF-8, or NULL when nt_hash is given */
	const uint8_t *nt_hash;  /* NTLM_HASH_SIZE bytes, or NULL */
} NtlmClientConfig;

typedef struct NtlmClient NtlmClient;

/* Hashes the password at once.  Returns 0, -EINVAL, -ENOMEM. */
int ntlm_client_new(const NtlmClientConfig *cfg, NtlmClient **ret);
void ntlm_client_free(NtlmClient *c);
static inline void ntlm_client_freep(NtlmClient **c) { ntlm_client_free(*c); }

/* NEGOTIATE out (flags: Unicode, request target, sign, seal, NTLM, always
 * sign, extended session security, version, 128, 56, key exchange). */
int ntlm_client_negotiate(NtlmClient *c, uint8_t **ret, size_t *ret_len);
/*
 * CHALLENGE in -> AUTHENTICATE out: NTLMv2 response with the server's
 * TargetInfo plus MsvAvFlags (MIC present), a MIC, and a random exported
 * session key sent under RC4 when key exchange was negotiated.  Returns 0,
 * -EBADMSG, -EPROTONOSUPPORT (server without extended session security or
 * target info, i.e. no NTLMv2), -ENOMEM, -EIO.
 */
int ntlm_client_authenticate(NtlmClient *c, const uint8_t *challenge, size_t len, uint8_t **ret,
			     size_t *ret_len);
/* Exported session key (16 bytes) after ntlm_client_authenticate; NULL
 * before and for anonymous. */
const uint8_t *ntlm_client_session_key(const NtlmClient *c);
NtlmSession *ntlm_client_session(NtlmClient *c);
/* True when the AUTHENTICATE carried a MIC (the server sent a timestamp);
 * SPNEGO then sends a mechListMIC. */
bool ntlm_client_mic_sent(const NtlmClient *c);

/* True when buf starts with the "NTLMSSP\0" signature (raw NTLMSSP token,
 * no SPNEGO wrapper). */
bool ntlm_is_ntlmssp(const uint8_t *buf, size_t len);
