/*
 * spnego.h - SPNEGO ([RFC 4178], [MS-SPNG]) around NTLMSSP and Kerberos:
 * the security blobs of SMB2 NEGOTIATE and SESSION_SETUP, server and
 * client side.
 *
 * Purpose: the session code hands every SESSION_SETUP security buffer to
 * spnego_server_step() and sends back what it returns; it never looks
 * inside a token.  Raw NTLMSSP tokens (no SPNEGO wrapper, as some clients
 * send) are accepted and answered raw.
 *
 * Invariants:
 *  - Tokens are parsed with the strict DER reader of asn1.h (bounds,
 *    lengths, nesting depth); anything malformed is -EBADMSG and the context
 *    is finished (no further step is accepted).
 *  - Mechanisms: NTLMSSP (1.3.6.1.4.1.311.2.2.10) always; Kerberos V5
 *    (1.2.840.113554.1.2.2 and Microsoft's 1.2.840.48018.1.2.2) once
 *    enabled (spnego_server_enable_kerberos) and when it is the client's
 *    first choice.  Otherwise NTLMSSP is selected; if it was not the
 *    client's first choice, with request-mic and no token, and its
 *    mechListMIC becomes mandatory.  A client that offers nothing usable
 *    gets a reject.
 *  - When NTLM's MIC was used, a client mechListMIC is verified and the
 *    server's own mechListMIC is sent with accept-completed ([MS-SPNG]
 *    3.2.5.1).
 *
 * Never: log or expose key material or tokens' secret parts; accept a step
 * after the context has finished (success or failure).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntlm.h"

typedef struct KerberosOps KerberosOps;

/* spnego_*_step() return value meaning "send the output token and expect
 * another round" (STATUS_MORE_PROCESSING_REQUIRED on the server). */
#define SPNEGO_CONTINUE 1

/*
 * The security buffer of the NEGOTIATE response: a NegTokenInit
 * (GSS-API InitialContextToken, OID 1.3.6.1.5.5.2) listing NTLMSSP as
 * mechanism, with the hint "not_defined_in_RFC4178@please_ignore" as a
 * [3] OCTET STRING (Samba's form, which tshark dissects without error).
 * *ret malloc'd.  Returns 0, -EINVAL or -ENOMEM.
 */
int spnego_negotiate_hints(uint8_t **ret, size_t *ret_len);
/* The same, also listing Kerberos (both OIDs) before NTLMSSP when
 * kerberos is true: for servers that enabled Kerberos. */
int spnego_negotiate_hints_mechs(bool kerberos, uint8_t **ret, size_t *ret_len);

/* ---- server ---- */

typedef struct SpnegoServer SpnegoServer;

/* One per SESSION_SETUP exchange.  cfg is copied (see ntlm_server_new). */
int spnego_server_new(const NtlmServerConfig *cfg, SpnegoServer **ret);
void spnego_server_free(SpnegoServer *s);
static inline void spnego_server_freep(SpnegoServer **s) { spnego_server_free(*s); }
/* Accept Kerberos too, with keys from keytab (NULL: KRB5_KTNAME or the
 * default keytab, read at the first Kerberos token).  Call before the
 * first step.  Returns 0, -EINVAL, -ENOMEM.  Defined in kerberos.c: a
 * program calling it links krb5-gssapi. */
int spnego_server_enable_kerberos(SpnegoServer *s, const char *keytab);
/* For kerberos.c: install the mechanism table (the function above). */
int spnego_server_set_kerberos(SpnegoServer *s, const KerberosOps *ops, const char *keytab);
/* Why Kerberos failed (GSS-API message, for the caller's log), or "". */
const char *spnego_server_error(const SpnegoServer *s);

/*
 * One SESSION_SETUP round.  in/len: the request's security buffer.  Output
 * (*ret, malloc'd, may be NULL with *ret_len 0) is the response's security
 * buffer; on failure it is NULL except for -EPROTONOSUPPORT, where it is a
 * reject NegTokenResp the caller may send with the error status.
 * Returns:
 *   SPNEGO_CONTINUE  STATUS_MORE_PROCESSING_REQUIRED with the output;
 *   0                authenticated: STATUS_SUCCESS with the output;
 *                    identity and key in spnego_server_info();
 *   -ENOENT, -EACCES unknown user / wrong password (STATUS_LOGON_FAILURE,
 *                    the same on the wire for both);
 *   -EPERM           anonymous refused (STATUS_LOGON_FAILURE);
 *   -EPROTONOSUPPORT no usable mechanism, LM/NTLMv1 (STATUS_LOGON_FAILURE
 *                    or STATUS_NOT_SUPPORTED);
 *   -EBADMSG         malformed token (STATUS_INVALID_PARAMETER);
 *   -EALREADY        context already finished;
 *   -ENOMEM, -EIO.
 */
int spnego_server_step(SpnegoServer *s, const uint8_t *in, size_t len, uint8_t **ret,
		       size_t *ret_len);

/* NULL until the NTLM AUTHENTICATE message was processed (see
 * ntlm_server_info for what it holds after a failure); after a Kerberos
 * logon: kerberos set, user and domain (realm) from the client principal,
 * session_key_len 16 or 32. */
const NtlmAuthInfo *spnego_server_info(const SpnegoServer *s);

/* ---- client ---- */

typedef struct SpnegoClient SpnegoClient;

int spnego_client_new(const NtlmClientConfig *cfg, SpnegoClient **ret);
void spnego_client_free(SpnegoClient *c);
static inline void spnego_client_freep(SpnegoClient **c) { spnego_client_free(*c); }
/* Try Kerberos first, for service cifs/host with the tickets of ccache
 * (NULL: KRB5CCNAME / default).  ntlm_allowed false (client.ntlm.block)
 * makes a server or client without Kerberos fail with -EPROTONOSUPPORT /
 * -EACCES instead of falling back to NTLMSSP.  Call before the first
 * step.  Returns 0, -EINVAL, -ENOMEM.  Defined in kerberos.c. */
int spnego_client_enable_kerberos(SpnegoClient *c, const char *host, const char *ccache,
				  bool ntlm_allowed);
int spnego_client_set_kerberos(SpnegoClient *c, const KerberosOps *ops, const char *host,
			       const char *ccache, bool ntlm_allowed);
/* Why Kerberos failed (GSS-API message), or "". */
const char *spnego_client_error(const SpnegoClient *c);
/* True once the context was established by Kerberos. */
bool spnego_client_used_kerberos(const SpnegoClient *c);

/*
 * One round.  First call: in = the NEGOTIATE response's security buffer
 * (may be empty: then no hints are checked); output = NegTokenInit with
 * the NTLM NEGOTIATE.  Second call: the server's NegTokenResp with the
 * CHALLENGE; output = NegTokenResp with AUTHENTICATE and mechListMIC.
 * Third call: the final server token of the STATUS_SUCCESS response (may
 * be empty); checks accept-completed and the server's mechListMIC.
 * With Kerberos enabled the first output carries the AP-REQ and the second
 * call checks the server's AP-REP (done), or falls back to NTLMSSP when the
 * server selected it and NTLM is allowed.
 * Returns SPNEGO_CONTINUE (send *ret), 0 (done; *ret NULL), -EBADMSG,
 * -EACCES (reject, bad mechListMIC, Kerberos failure), -EPROTONOSUPPORT
 * (no mechanism in common), -EALREADY, -ENOMEM, -EIO.
 */
int spnego_client_step(SpnegoClient *c, const uint8_t *in, size_t len, uint8_t **ret,
		       size_t *ret_len);
/* Session key once AUTHENTICATE has been produced (NTLM, 16 bytes) or the
 * Kerberos context is established (16 or 32 bytes); *ret_len (may be NULL)
 * gets its length.  NULL before and for anonymous. */
const uint8_t *spnego_client_session_key(const SpnegoClient *c, size_t *ret_len);
