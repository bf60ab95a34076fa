/*
 * kerberos.h - the Kerberos V5 mechanism behind SPNEGO, through MIT
 * krb5's GSS-API: acceptor (smbrefd, keytab) and initiator (the reference
 * client, credential cache).
 *
 * Purpose: give spnego.c one small, mechanism-shaped interface (step,
 * session key, peer name, MIC) so SPNEGO never calls GSS-API itself.
 * spnego.c reaches it only through the KerberosOps table installed by
 * spnego_{server,client}_enable_kerberos() (defined here), so programs
 * that never enable Kerberos do not link libgssapi_krb5.
 * Tokens are whole GSS-API tokens (InitialContextToken framing, as they go
 * into SPNEGO's mechToken / responseToken).
 *
 * Invariants: a KerberosCtx is one security context; after a failed step
 * it accepts no further step.  The session key is the one SMB uses
 * ([MS-SMB2] 3.3.5.5.3: the GSS "SSPI session key", i.e. the acceptor or
 * initiator subkey when present), 16 or 32 bytes.
 *
 * Never: log (kerberos_error() gives the GSS-API message for the caller to
 * log once); print keys; read credentials other than the keytab or cache
 * named (or the krb5 defaults when NULL).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERBEROS_MAX_KEY_SIZE 32

typedef struct KerberosCtx KerberosCtx;

/* Acceptor using keytab (NULL: KRB5_KTNAME / the default keytab).
 * Returns 0, -ENOMEM, -EIO (no usable keytab; see kerberos_error()). */
int kerberos_acceptor_new(const char *keytab, KerberosCtx **ret);

/* Initiator for service "cifs" on host (a host name the KDC knows), with
 * the credentials of ccache (NULL: KRB5CCNAME / the default cache).
 * Returns 0, -EINVAL, -ENOMEM, -EIO (no credentials). */
int kerberos_initiator_new(const char *host, const char *ccache, KerberosCtx **ret);

void kerberos_free(KerberosCtx *k);
static inline void kerberos_freep(KerberosCtx **k) { kerberos_free(*k); }

/*
 * One context step.  in: the peer's token (NULL/0 for the initiator's first
 * step).  *ret: token to send (malloc'd) or NULL.  Returns 0 (context
 * established), 1 (send *ret and call again with the peer's answer),
 * -EACCES (authentication failed: bad ticket, wrong key, clock skew...),
 * -EALREADY (context finished), -ENOMEM, -EIO.
 */
int kerberos_step(KerberosCtx *k, const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len);

/* After success: the SMB session key.  Returns its length (16 or 32) or
 * -EINVAL before success / -EIO. */
int kerberos_session_key(KerberosCtx *k, uint8_t key[KERBEROS_MAX_KEY_SIZE]);
/* After acceptor success: the client principal ("alice@REALM"), NULL
 * before. */
const char *kerberos_peer_name(const KerberosCtx *k);

/* mechListMIC over data (GSS get_mic / verify_mic).  *ret malloc'd.
 * verify returns 0 or -EBADMSG. */
int kerberos_get_mic(KerberosCtx *k, const uint8_t *data, size_t len, uint8_t **ret,
		     size_t *ret_len);
int kerberos_verify_mic(KerberosCtx *k, const uint8_t *data, size_t len, const uint8_t *mic,
			size_t mic_len);

/* The GSS-API message of the last failure (static storage per context),
 * "" when none. */
const char *kerberos_error(const KerberosCtx *k);

/* The functions above as a table, for spnego.c. */
typedef struct KerberosOps {
	int (*acceptor_new)(const char *keytab, KerberosCtx **ret);
	int (*initiator_new)(const char *host, const char *ccache, KerberosCtx **ret);
	void (*free)(KerberosCtx *k);
	int (*step)(KerberosCtx *k, const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len);
	int (*session_key)(KerberosCtx *k, uint8_t key[KERBEROS_MAX_KEY_SIZE]);
	const char *(*peer_name)(const KerberosCtx *k);
	int (*verify_mic)(KerberosCtx *k, const uint8_t *data, size_t len, const uint8_t *mic,
			  size_t mic_len);
	const char *(*error)(const KerberosCtx *k);
} KerberosOps;
