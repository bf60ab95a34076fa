/*
 * spnego.h - SPNEGO ([RFC 4178], [MS-SPNG]) around NTLMSSP: the security
 * blobs of SMB2 NEGOTIATE and SESSION_SETUP, server and client side.
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
 *  - The mechanism is NTLMSSP (1.3.6.1.4.1.311.2.2.10).  A NegTokenInit
 *    that offers Kerberos first (optimistic token) is answered with
 *    accept-incomplete + supportedMech NTLMSSP and no token; a client that
 *    does not offer NTLMSSP at all gets a reject.
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

/* ---- server ---- */

typedef struct SpnegoServer SpnegoServer;

/* One per SESSION_SETUP exchange.  cfg is copied (see ntlm_server_new). */
int spnego_server_new(const NtlmServerConfig *cfg, SpnegoServer **ret);
void spnego_server_free(SpnegoServer *s);
static inline void spnego_server_freep(SpnegoServer **s) { spnego_server_free(*s); }

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
 * ntlm_server_info for what it holds after a failure). */
const NtlmAuthInfo *spnego_server_info(const SpnegoServer *s);

/* ---- client ---- */

typedef struct SpnegoClient SpnegoClient;

int spnego_client_new(const NtlmClientConfig *cfg, SpnegoClient **ret);
void spnego_client_free(SpnegoClient *c);
static inline void spnego_client_freep(SpnegoClient **c) { spnego_client_free(*c); }

/*
 * One round.  First call: in = the NEGOTIATE response's security buffer
 * (may be empty: then no hints are checked); output = NegTokenInit with
 * the NTLM NEGOTIATE.  Second call: the server's NegTokenResp with the
 * CHALLENGE; output = NegTokenResp with AUTHENTICATE and mechListMIC.
 * Third call: the final server token of the STATUS_SUCCESS response (may
 * be empty); checks accept-completed and the server's mechListMIC.
 * Returns SPNEGO_CONTINUE (send *ret), 0 (done; *ret NULL), -EBADMSG,
 * -EACCES (reject or bad mechListMIC), -EPROTONOSUPPORT (server offers no
 * NTLMSSP), -EALREADY, -ENOMEM, -EIO.
 */
int spnego_client_step(SpnegoClient *c, const uint8_t *in, size_t len, uint8_t **ret,
		       size_t *ret_len);
/* 16-byte session key once AUTHENTICATE has been produced; NULL before. */
const uint8_t *spnego_client_session_key(const SpnegoClient *c);
