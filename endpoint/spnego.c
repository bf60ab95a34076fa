/*
 * spnego.c - SPNEGO tokens around NTLMSSP and Kerberos (see spnego.h):
 * NegTokenInit / NegTokenResp encoding and decoding, and the server and
 * client state machines of [RFC 4178] with [MS-SPNG]'s mechListMIC rules.
 *
 * Invariants:
 *  - Parsing is done by parse_init() and parse_resp() only, on the strict
 *    DER reader; they fill borrowed pointers and never allocate.
 *  - The raw DER of the client's mechTypes list is kept (server: as
 *    received; client: as sent) for the mechListMIC, which signs exactly
 *    those bytes.
 *  - A mechListMIC is required when the mechanism used was not the
 *    client's first choice (the server sent request-mic); otherwise it is
 *    verified when present and answered with ours.  Guest and anonymous
 *    logons have no key: their mechListMIC is neither checked nor sent.
 *  - Kerberos is used only when enabled on the context (a keytab on the
 *    server, a host name on the client) and, on the server, only as the
 *    client's first choice; NTLMSSP only when allowed.
 *
 * Never: reuse a context after success or failure; log.
 */
#include "spnego.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "asn1.h"
#include "kerberos.h"
#include "util.h"

/* Raw DER of the OIDs (tag, length, contents). */
static const uint8_t oid_spnego[] = { 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static const uint8_t oid_ntlmssp[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01,
				       0x82, 0x37, 0x02, 0x02, 0x0a };
/* Kerberos V5: Microsoft's 1.2.840.48018.1.2.2 and 1.2.840.113554.1.2.2. */
static const uint8_t oid_krb5_ms[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x82,
				       0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t oid_krb5[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
				    0xf7, 0x12, 0x01, 0x02, 0x02 };

static bool is_krb5_oid(const uint8_t *oid, size_t len) {
	return len == sizeof oid_krb5 - 2 && (memcmp(oid, oid_krb5 + 2, len) == 0 ||
					      memcmp(oid, oid_krb5_ms + 2, len) == 0);
}

/* negState ([RFC 4178] 4.2.2). */
enum { NEG_ACCEPT_COMPLETED = 0, NEG_ACCEPT_INCOMPLETE = 1, NEG_REJECT = 2, NEG_REQUEST_MIC = 3 };

#define MAX_MECHS 32
static const char hint_name[] = "not_defined_in_RFC4178@please_ignore";

/* ---- decoding ---- */

typedef struct InitToken {
	const uint8_t *mech_types; /* DER of the MechTypeList SEQUENCE */
	size_t mech_types_len;
	bool ntlm_offered, ntlm_first, krb_offered, krb_first;
	const uint8_t *first_mech; /* DER (tag, length, contents) of the first OID */
	size_t first_mech_len;
	const uint8_t *mech_token;
	size_t mech_token_len;
} InitToken;

typedef struct RespToken {
	bool has_state;
	uint32_t state;
	const uint8_t *supported_mech; /* contents of the OID */
	size_t supported_mech_len;
	const uint8_t *response_token, *mic;
	size_t response_token_len, mic_len;
} RespToken;

static bool is_ntlm_oid(const Asn1Reader *content) {
	return content->len == sizeof oid_ntlmssp - 2 &&
	       memcmp(content->p, oid_ntlmssp + 2, content->len) == 0;
}

/* [0] MechTypeList: SEQUENCE OF OID. */
static int parse_mech_types(Asn1Reader *field, InitToken *t) {
	t->mech_types = field->p;
	t->mech_types_len = field->len;
	Asn1Reader seq;
	if (asn1_read(field, ASN1_TAG_SEQUENCE, &seq) < 0 || !asn1_eof(field))
		return -EBADMSG;
	for (unsigned n = 0; !asn1_eof(&seq); n++) {
		Asn1Reader oid;
		const uint8_t *start = seq.p;
		if (n >= MAX_MECHS || asn1_read(&seq, ASN1_TAG_OID, &oid) < 0 || oid.len == 0)
			return -EBADMSG;
		if (n == 0) {
			t->first_mech = start;
			t->first_mech_len = (size_t)(seq.p - start);
		}
		if (is_ntlm_oid(&oid)) {
			t->ntlm_offered = true;
			t->ntlm_first = t->ntlm_first || n == 0;
		} else if (is_krb5_oid(oid.p, oid.len)) {
			t->krb_offered = true;
			t->krb_first = t->krb_first || n == 0;
		}
	}
	return 0;
}

/* InitialContextToken carrying a NegTokenInit (or NegTokenInit2). */
static int parse_init(const uint8_t *in, size_t len, InitToken *t) {
	*t = (InitToken){ 0 };
	Asn1Reader r = asn1_reader(in, len), app, oid, choice, seq;
	if (asn1_read(&r, ASN1_TAG_APPLICATION0, &app) < 0 || !asn1_eof(&r) ||
	    asn1_read(&app, ASN1_TAG_OID, &oid) < 0 ||
	    oid.len != sizeof oid_spnego - 2 || memcmp(oid.p, oid_spnego + 2, oid.len) != 0 ||
	    asn1_read(&app, ASN1_TAG_CONTEXT(0), &choice) < 0 || !asn1_eof(&app) ||
	    asn1_read(&choice, ASN1_TAG_SEQUENCE, &seq) < 0 || !asn1_eof(&choice))
		return -EBADMSG;
	Asn1Reader field;
	if (asn1_read(&seq, ASN1_TAG_CONTEXT(0), &field) < 0 || parse_mech_types(&field, t) < 0)
		return -EBADMSG;
	/* [1] reqFlags, [2] mechToken, then [3] mechListMIC (RFC 4178) or
	 * negHints (MS-SPNG NegTokenInit2), [4] mechListMIC: in order, each
	 * at most once; only the token is used. */
	int last = 0;
	while (!asn1_eof(&seq)) {
		uint8_t tag;
		if (asn1_read_any(&seq, &tag, &field) < 0)
			return -EBADMSG;
		int n = tag - ASN1_TAG_CONTEXT(0);
		if (n <= last || n > 4)
			return -EBADMSG;
		last = n;
		if (n == 2) {
			Asn1Reader octets;
			if (asn1_read(&field, ASN1_TAG_OCTET_STRING, &octets) < 0 || !asn1_eof(&field))
				return -EBADMSG;
			t->mech_token = octets.p;
			t->mech_token_len = octets.len;
		}
	}
	return 0;
}

/* NegotiationToken choice [1] NegTokenResp. */
static int parse_resp(const uint8_t *in, size_t len, RespToken *t) {
	*t = (RespToken){ 0 };
	Asn1Reader r = asn1_reader(in, len), choice, seq, field, v;
	if (asn1_read(&r, ASN1_TAG_CONTEXT(1), &choice) < 0 || !asn1_eof(&r) ||
	    asn1_read(&choice, ASN1_TAG_SEQUENCE, &seq) < 0 || !asn1_eof(&choice))
		return -EBADMSG;
	int last = -1;
	while (!asn1_eof(&seq)) {
		uint8_t tag;
		if (asn1_read_any(&seq, &tag, &field) < 0)
			return -EBADMSG;
		int n = tag - ASN1_TAG_CONTEXT(0);
		if (n <= last || n > 3)
			return -EBADMSG;
		last = n;
		static const uint8_t inner_tag[] = { ASN1_TAG_ENUMERATED, ASN1_TAG_OID,
						     ASN1_TAG_OCTET_STRING, ASN1_TAG_OCTET_STRING };
		if (asn1_read(&field, inner_tag[n], &v) < 0 || !asn1_eof(&field))
			return -EBADMSG;
		switch (n) {
		case 0:
			if (asn1_get_uint(&v, &t->state) < 0 || t->state > NEG_REQUEST_MIC)
				return -EBADMSG;
			t->has_state = true;
			break;
		case 1:
			t->supported_mech = v.p;
			t->supported_mech_len = v.len;
			break;
		case 2:
			t->response_token = v.p;
			t->response_token_len = v.len;
			break;
		case 3:
			t->mic = v.p;
			t->mic_len = v.len;
			break;
		}
	}
	return 0;
}

/* ---- encoding ---- */

/* NegTokenResp; negative neg_state / NULL mech, token or mic leave the
 * field out.  mech is the DER of the supportedMech OID. */
static int build_resp(int neg_state, const uint8_t *mech, size_t mech_len, const uint8_t *token,
		      size_t token_len, const uint8_t *mic, size_t mic_len, uint8_t **ret,
		      size_t *ret_len) {
	Asn1Writer w = { 0 };
	asn1_begin(&w, ASN1_TAG_CONTEXT(1));
	asn1_begin(&w, ASN1_TAG_SEQUENCE);
	if (neg_state >= 0) {
		asn1_begin(&w, ASN1_TAG_CONTEXT(0));
		asn1_put_enumerated(&w, (uint32_t)neg_state);
		asn1_end(&w);
	}
	if (mech) {
		asn1_begin(&w, ASN1_TAG_CONTEXT(1));
		asn1_put_raw(&w, mech, mech_len);
		asn1_end(&w);
	}
	if (token) {
		asn1_begin(&w, ASN1_TAG_CONTEXT(2));
		asn1_put(&w, ASN1_TAG_OCTET_STRING, token, token_len);
		asn1_end(&w);
	}
	if (mic) {
		asn1_begin(&w, ASN1_TAG_CONTEXT(3));
		asn1_put(&w, ASN1_TAG_OCTET_STRING, mic, mic_len);
		asn1_end(&w);
	}
	asn1_end(&w);
	asn1_end(&w);
	return asn1_writer_finish(&w, ret, ret_len);
}

/* MechTypeList DER: SEQUENCE of the mechanisms offered, Kerberos (both
 * OIDs, Microsoft's first, as Windows sends them) before NTLMSSP. */
static int build_mech_list(bool kerberos, bool ntlm, uint8_t **ret, size_t *ret_len) {
	Asn1Writer w = { 0 };
	asn1_begin(&w, ASN1_TAG_SEQUENCE);
	if (kerberos) {
		asn1_put_raw(&w, oid_krb5_ms, sizeof oid_krb5_ms);
		asn1_put_raw(&w, oid_krb5, sizeof oid_krb5);
	}
	if (ntlm)
		asn1_put_raw(&w, oid_ntlmssp, sizeof oid_ntlmssp);
	asn1_end(&w);
	return asn1_writer_finish(&w, ret, ret_len);
}

/* InitialContextToken { spnego, [0] NegTokenInit { [0] mech_list,
 * [2] token } } or, for the NEGOTIATE response, the hint in [3] as the
 * RFC 4178 mechListMIC OCTET STRING, the form Samba's smbd sends and
 * tshark dissects cleanly (Windows' NegTokenInit2 puts a negHints SEQUENCE
 * there, which RFC 4178 dissectors flag as malformed; clients ignore both). */
static int build_init(const uint8_t *mech_list, size_t mech_list_len, const uint8_t *token,
		      size_t token_len, bool hints, uint8_t **ret, size_t *ret_len) {
	Asn1Writer w = { 0 };
	asn1_begin(&w, ASN1_TAG_APPLICATION0);
	asn1_put_raw(&w, oid_spnego, sizeof oid_spnego);
	asn1_begin(&w, ASN1_TAG_CONTEXT(0));
	asn1_begin(&w, ASN1_TAG_SEQUENCE);
	asn1_begin(&w, ASN1_TAG_CONTEXT(0));
	asn1_put_raw(&w, mech_list, mech_list_len);
	asn1_end(&w);
	if (token) {
		asn1_begin(&w, ASN1_TAG_CONTEXT(2));
		asn1_put(&w, ASN1_TAG_OCTET_STRING, token, token_len);
		asn1_end(&w);
	}
	if (hints) {
		asn1_begin(&w, ASN1_TAG_CONTEXT(3));
		asn1_put(&w, ASN1_TAG_OCTET_STRING, hint_name, sizeof hint_name - 1);
		asn1_end(&w);
	}
	asn1_end(&w);
	asn1_end(&w);
	asn1_end(&w);
	return asn1_writer_finish(&w, ret, ret_len);
}

int spnego_negotiate_hints_mechs(bool kerberos, uint8_t **ret, size_t *ret_len) {
	if (!ret || !ret_len)
		return -EINVAL;
	_cleanup_free_ uint8_t *list = NULL;
	size_t list_len = 0;
	int r = build_mech_list(kerberos, true, &list, &list_len);
	if (r < 0)
		return r;
	return build_init(list, list_len, NULL, 0, true, ret, ret_len);
}

int spnego_negotiate_hints(uint8_t **ret, size_t *ret_len) {
	return spnego_negotiate_hints_mechs(false, ret, ret_len);
}

/* ---- server ---- */

typedef enum SrvState {
	SRV_START,          /* expecting NegTokenInit or raw NEGOTIATE */
	SRV_WANT_NEGOTIATE, /* NTLM chosen without a token yet */
	SRV_WANT_AUTH,      /* CHALLENGE sent */
	SRV_WANT_KRB,       /* Kerberos chosen, (more) tokens expected */
	SRV_FINISHED,
} SrvState;

struct SpnegoServer {
	NtlmServer *ntlm;
	SrvState state;
	bool raw;          /* bare NTLMSSP, no SPNEGO */
	bool mic_required; /* the mechanism used was not the client's first */
	uint8_t *mech_types;
	size_t mech_types_len;

	const KerberosOps *krb_ops; /* set when Kerberos is enabled */
	char *keytab;
	KerberosCtx *krb;
	uint8_t krb_mech[16]; /* DER of the Kerberos OID the client used */
	size_t krb_mech_len;
	NtlmAuthInfo krb_info;
	char *krb_user, *krb_realm;
};

int spnego_server_new(const NtlmServerConfig *cfg, SpnegoServer **ret) {
	if (!ret)
		return -EINVAL;
	SpnegoServer *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	int r = ntlm_server_new(cfg, &s->ntlm);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int spnego_server_set_kerberos(SpnegoServer *s, const KerberosOps *ops, const char *keytab) {
	if (!s || !ops || s->state != SRV_START)
		return -EINVAL;
	free(s->keytab);
	s->keytab = NULL;
	if (keytab && !(s->keytab = strdup(keytab)))
		return -ENOMEM;
	s->krb_ops = ops;
	return 0;
}

void spnego_server_free(SpnegoServer *s) {
	if (!s)
		return;
	ntlm_server_free(s->ntlm);
	if (s->krb)
		s->krb_ops->free(s->krb);
	free(s->mech_types);
	free(s->keytab);
	free(s->krb_user);
	free(s->krb_realm);
	OPENSSL_cleanse(&s->krb_info, sizeof s->krb_info);
	free(s);
}

const NtlmAuthInfo *spnego_server_info(const SpnegoServer *s) {
	if (!s)
		return NULL;
	if (s->krb_info.kerberos)
		return &s->krb_info;
	return ntlm_server_info(s->ntlm);
}

const char *spnego_server_error(const SpnegoServer *s) {
	return s && s->krb ? s->krb_ops->error(s->krb) : "";
}

/* NEGOTIATE -> CHALLENGE wrapped as this mode wants. */
static int server_challenge(SpnegoServer *s, const uint8_t *neg, size_t neg_len, bool first,
			    uint8_t **ret, size_t *ret_len) {
	_cleanup_free_ uint8_t *chal = NULL;
	size_t chal_len = 0;
	int r = ntlm_server_negotiate(s->ntlm, neg, neg_len, &chal, &chal_len);
	if (r < 0)
		return r;
	s->state = SRV_WANT_AUTH;
	if (s->raw) {
		*ret = TAKE_PTR(chal);
		*ret_len = chal_len;
		return SPNEGO_CONTINUE;
	}
	r = build_resp(NEG_ACCEPT_INCOMPLETE, first ? oid_ntlmssp : NULL, sizeof oid_ntlmssp, chal,
		       chal_len, NULL, 0, ret, ret_len);
	return r < 0 ? r : SPNEGO_CONTINUE;
}

/* Identity and key of a finished Kerberos context. */
static int server_krb_done(SpnegoServer *s) {
	const char *peer = s->krb_ops->peer_name(s->krb);
	const char *at = peer ? strrchr(peer, '@') : NULL;
	if (!peer)
		return -EIO;
	s->krb_user = at ? strndup(peer, (size_t)(at - peer)) : strdup(peer);
	s->krb_realm = strdup(at ? at + 1 : "");
	if (!s->krb_user || !s->krb_realm)
		return -ENOMEM;
	int n = s->krb_ops->session_key(s->krb, s->krb_info.session_key);
	if (n < 0)
		return n;
	s->krb_info.session_key_len = (size_t)n;
	s->krb_info.has_session_key = true;
	s->krb_info.user = s->krb_user;
	s->krb_info.domain = s->krb_realm;
	s->krb_info.workstation = "";
	s->krb_info.kerberos = true;
	return 0;
}

/* One Kerberos token in; AP-REP (or the next token) out. */
static int server_kerberos(SpnegoServer *s, const uint8_t *tok, size_t tok_len, bool first,
			   uint8_t **ret, size_t *ret_len) {
	int r;
	if (!s->krb) {
		r = s->krb_ops->acceptor_new(s->keytab, &s->krb);
		if (r < 0)
			return r == -ENOMEM ? r : -EACCES;
	}
	_cleanup_free_ uint8_t *out = NULL;
	size_t out_len = 0;
	r = s->krb_ops->step(s->krb, tok, tok_len, &out, &out_len);
	if (r < 0)
		return r;
	const uint8_t *mech = first ? s->krb_mech : NULL;
	if (r == 1) {
		s->state = SRV_WANT_KRB;
		r = build_resp(NEG_ACCEPT_INCOMPLETE, mech, s->krb_mech_len, out, out_len, NULL, 0, ret,
			       ret_len);
		return r < 0 ? r : SPNEGO_CONTINUE;
	}
	r = server_krb_done(s);
	if (r < 0)
		return r;
	r = build_resp(NEG_ACCEPT_COMPLETED, mech, s->krb_mech_len, out, out_len, NULL, 0, ret,
		       ret_len);
	return r < 0 ? r : 0;
}

static int server_start(SpnegoServer *s, const uint8_t *in, size_t len, uint8_t **ret,
			size_t *ret_len) {
	if (ntlm_is_ntlmssp(in, len)) {
		s->raw = true;
		return server_challenge(s, in, len, false, ret, ret_len);
	}
	InitToken t;
	if (parse_init(in, len, &t) < 0)
		return -EBADMSG;
	/* Kerberos only as the client's first choice: as a later choice its
	 * mechListMIC would need a third leg after the AP-REP, which SMB
	 * clients do not do (they list Kerberos first when they have it). */
	bool use_krb = s->krb_ops && t.krb_first;
	if (!t.ntlm_offered && !use_krb) {
		int r = build_resp(NEG_REJECT, NULL, 0, NULL, 0, NULL, 0, ret, ret_len);
		return r < 0 ? r : -EPROTONOSUPPORT;
	}
	s->mech_types = malloc(t.mech_types_len);
	if (!s->mech_types)
		return -ENOMEM;
	memcpy(s->mech_types, t.mech_types, t.mech_types_len);
	s->mech_types_len = t.mech_types_len;
	if (use_krb) {
		/* answer with the OID the client listed first (Microsoft's or
		 * the standard one), as Windows does */
		memcpy(s->krb_mech, t.first_mech, t.first_mech_len);
		s->krb_mech_len = t.first_mech_len;
		if (t.mech_token)
			return server_kerberos(s, t.mech_token, t.mech_token_len, true, ret, ret_len);
		s->state = SRV_WANT_KRB;
		int r = build_resp(NEG_ACCEPT_INCOMPLETE, s->krb_mech, s->krb_mech_len, NULL, 0, NULL,
				   0, ret, ret_len);
		return r < 0 ? r : SPNEGO_CONTINUE;
	}
	if (t.ntlm_first && t.mech_token)
		return server_challenge(s, t.mech_token, t.mech_token_len, true, ret, ret_len);
	/* The optimistic token (if any) is for another mechanism: select
	 * NTLMSSP and ask for its first token, and for a mechListMIC. */
	s->mic_required = !t.ntlm_first;
	s->state = SRV_WANT_NEGOTIATE;
	int r = build_resp(s->mic_required ? NEG_REQUEST_MIC : NEG_ACCEPT_INCOMPLETE, oid_ntlmssp,
			   sizeof oid_ntlmssp, NULL, 0, NULL, 0, ret, ret_len);
	return r < 0 ? r : SPNEGO_CONTINUE;
}

static int server_finish(SpnegoServer *s, const RespToken *t, uint8_t **ret, size_t *ret_len) {
	int r = ntlm_server_authenticate(s->ntlm, t->response_token, t->response_token_len);
	if (r < 0)
		return r;
	NtlmSession *ns = ntlm_server_session(s->ntlm);
	uint8_t mic[NTLM_SIGNATURE_SIZE];
	bool send_mic = false;
	/* A guest or anonymous logon has no key to check a mechListMIC with
	 * (nor anything for it to protect): it is ignored, and none is sent;
	 * whether such a session is acceptable is the caller's decision. */
	if (t->mic && ns) {
		r = ntlm_session_verify(ns, s->mech_types, s->mech_types_len, t->mic, t->mic_len);
		if (r < 0)
			return -EACCES;
		r = ntlm_session_sign(ns, s->mech_types, s->mech_types_len, mic);
		if (r < 0)
			return r;
		send_mic = true;
	} else if (s->mic_required && ntlm_server_info(s->ntlm)->has_session_key)
		return -EACCES; /* also without extended session security: no
				 * way to check the list, so no downgrade */
	r = build_resp(NEG_ACCEPT_COMPLETED, NULL, 0, NULL, 0, send_mic ? mic : NULL, sizeof mic,
		       ret, ret_len);
	return r < 0 ? r : 0;
}

int spnego_server_step(SpnegoServer *s, const uint8_t *in, size_t len, uint8_t **ret,
		       size_t *ret_len) {
	if (!s || !ret || !ret_len)
		return -EINVAL;
	*ret = NULL;
	*ret_len = 0;
	if (s->state == SRV_FINISHED)
		return -EALREADY;
	SrvState state = s->state;
	s->state = SRV_FINISHED; /* a failure below ends the context */
	int r;
	if (!in || len == 0)
		return -EBADMSG;
	if (state == SRV_START)
		return server_start(s, in, len, ret, ret_len);
	if (s->raw) {
		if (state != SRV_WANT_AUTH)
			return -EPROTO;
		r = ntlm_server_authenticate(s->ntlm, in, len);
		return r < 0 ? r : 0;
	}
	RespToken t;
	if (parse_resp(in, len, &t) < 0 || !t.response_token)
		return -EBADMSG;
	if (t.has_state && t.state != NEG_ACCEPT_INCOMPLETE && t.state != NEG_ACCEPT_COMPLETED)
		return -EACCES; /* the client gave up */
	if (state == SRV_WANT_KRB)
		return server_kerberos(s, t.response_token, t.response_token_len, s->krb == NULL, ret,
				       ret_len);
	if (state == SRV_WANT_NEGOTIATE)
		return server_challenge(s, t.response_token, t.response_token_len, false, ret, ret_len);
	return server_finish(s, &t, ret, ret_len);
}

/* ---- client ---- */

typedef enum CliState {
	CLI_START,
	CLI_SENT_INIT,     /* NegTokenInit sent (with NTLM NEGOTIATE or Kerberos AP-REQ) */
	CLI_SENT_NTLM_NEG, /* fell back to NTLM: NEGOTIATE sent in a NegTokenResp */
	CLI_SENT_AUTH,     /* AUTHENTICATE sent */
	CLI_FINISHED,
} CliState;

struct SpnegoClient {
	NtlmClient *ntlm;
	CliState state;
	bool sent_mic;
	bool ntlm_allowed;
	const KerberosOps *krb_ops;
	char *krb_host, *krb_ccache;
	KerberosCtx *krb;
	bool krb_sent, krb_done;
	uint8_t *mech_types; /* DER of the list we sent */
	size_t mech_types_len;
	uint8_t key[32];
	size_t key_len;
};

int spnego_client_new(const NtlmClientConfig *cfg, SpnegoClient **ret) {
	if (!ret)
		return -EINVAL;
	SpnegoClient *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	int r = ntlm_client_new(cfg, &c->ntlm);
	if (r < 0) {
		free(c);
		return r;
	}
	c->ntlm_allowed = true;
	*ret = c;
	return 0;
}

int spnego_client_set_kerberos(SpnegoClient *c, const KerberosOps *ops, const char *host,
			       const char *ccache, bool ntlm_allowed) {
	if (!c || !ops || !host || !*host || c->state != CLI_START)
		return -EINVAL;
	c->krb_ops = ops;
	free(c->krb_host);
	free(c->krb_ccache);
	c->krb_host = strdup(host);
	c->krb_ccache = ccache ? strdup(ccache) : NULL;
	if (!c->krb_host || (ccache && !c->krb_ccache))
		return -ENOMEM;
	c->ntlm_allowed = ntlm_allowed;
	return 0;
}

void spnego_client_free(SpnegoClient *c) {
	if (!c)
		return;
	ntlm_client_free(c->ntlm);
	if (c->krb)
		c->krb_ops->free(c->krb);
	free(c->krb_host);
	free(c->krb_ccache);
	free(c->mech_types);
	OPENSSL_cleanse(c->key, sizeof c->key);
	free(c);
}

const uint8_t *spnego_client_session_key(const SpnegoClient *c, size_t *ret_len) {
	if (!c)
		return NULL;
	if (c->krb_done) {
		if (ret_len)
			*ret_len = c->key_len;
		return c->key;
	}
	const uint8_t *k = ntlm_client_session_key(c->ntlm);
	if (k && ret_len)
		*ret_len = NTLM_SESSION_KEY_SIZE;
	return k;
}

bool spnego_client_used_kerberos(const SpnegoClient *c) {
	return c && c->krb_done;
}

const char *spnego_client_error(const SpnegoClient *c) {
	return c && c->krb ? c->krb_ops->error(c->krb) : "";
}

/* The first token: Kerberos AP-REQ when enabled and a ticket can be had,
 * else NTLM NEGOTIATE; the list offers what is allowed. */
static int client_start(SpnegoClient *c, const uint8_t *in, size_t len, uint8_t **ret,
			size_t *ret_len) {
	if (in && len > 0) {
		InitToken hints;
		if (parse_init(in, len, &hints) < 0)
			return -EBADMSG;
		bool usable = (hints.ntlm_offered && c->ntlm_allowed) ||
			      (hints.krb_offered && c->krb_host);
		if (!usable)
			return -EPROTONOSUPPORT;
	}
	_cleanup_free_ uint8_t *token = NULL;
	size_t token_len = 0;
	int r;
	if (c->krb_host) {
		r = c->krb_ops->initiator_new(c->krb_host, c->krb_ccache, &c->krb);
		if (r >= 0)
			r = c->krb_ops->step(c->krb, NULL, 0, &token, &token_len);
		if (r == 0)
			r = -EPROTO; /* krb5 always needs the AP-REP */
		if (r == 1)
			c->krb_sent = true;
		else if (r == -ENOMEM || !c->ntlm_allowed)
			return r == -ENOMEM ? r : -EACCES;
	}
	if (!c->krb_sent) {
		if (!c->ntlm_allowed)
			return -EPROTONOSUPPORT;
		free(TAKE_PTR(token));
		r = ntlm_client_negotiate(c->ntlm, &token, &token_len);
		if (r < 0)
			return r;
	}
	r = build_mech_list(c->krb_sent, c->ntlm_allowed, &c->mech_types, &c->mech_types_len);
	if (r < 0)
		return r;
	r = build_init(c->mech_types, c->mech_types_len, token, token_len, false, ret, ret_len);
	if (r < 0)
		return r;
	c->state = CLI_SENT_INIT;
	return SPNEGO_CONTINUE;
}

static bool is_ntlm_mech(const RespToken *t) {
	return t->supported_mech && t->supported_mech_len == sizeof oid_ntlmssp - 2 &&
	       memcmp(t->supported_mech, oid_ntlmssp + 2, t->supported_mech_len) == 0;
}

static int client_authenticate(SpnegoClient *c, const RespToken *t, uint8_t **ret,
			       size_t *ret_len) {
	_cleanup_free_ uint8_t *auth = NULL;
	size_t auth_len = 0;
	int r = ntlm_client_authenticate(c->ntlm, t->response_token, t->response_token_len, &auth,
					 &auth_len);
	if (r < 0)
		return r;
	uint8_t mic[NTLM_SIGNATURE_SIZE];
	NtlmSession *ns = ntlm_client_session(c->ntlm);
	bool want_mic = ns && (ntlm_client_mic_sent(c->ntlm) || c->krb_sent ||
			       t->state == NEG_REQUEST_MIC);
	if (want_mic) {
		r = ntlm_session_sign(ns, c->mech_types, c->mech_types_len, mic);
		if (r < 0)
			return r;
		c->sent_mic = true;
	}
	r = build_resp(-1, NULL, 0, auth, auth_len, want_mic ? mic : NULL, sizeof mic, ret, ret_len);
	if (r < 0)
		return r;
	c->state = CLI_SENT_AUTH;
	return SPNEGO_CONTINUE;
}

/* The server chose NTLMSSP after our Kerberos token: start NTLM. */
static int client_ntlm_fallback(SpnegoClient *c, uint8_t **ret, size_t *ret_len) {
	if (!c->ntlm_allowed)
		return -EPROTONOSUPPORT;
	_cleanup_free_ uint8_t *neg = NULL;
	size_t neg_len = 0;
	int r = ntlm_client_negotiate(c->ntlm, &neg, &neg_len);
	if (r < 0)
		return r;
	r = build_resp(-1, NULL, 0, neg, neg_len, NULL, 0, ret, ret_len);
	if (r < 0)
		return r;
	c->state = CLI_SENT_NTLM_NEG;
	return SPNEGO_CONTINUE;
}

/* The server's answer to our Kerberos AP-REQ. */
static int client_kerberos_reply(SpnegoClient *c, const RespToken *t) {
	if (!t->response_token || (t->has_state && t->state != NEG_ACCEPT_COMPLETED))
		return -EBADMSG;
	uint8_t *out = NULL;
	size_t out_len = 0;
	int r = c->krb_ops->step(c->krb, t->response_token, t->response_token_len, &out, &out_len);
	free(out);
	if (r != 0)
		return r < 0 ? r : -EPROTO;
	int n = c->krb_ops->session_key(c->krb, c->key);
	if (n < 0)
		return n;
	c->key_len = (size_t)n;
	if (t->mic && c->krb_ops->verify_mic(c->krb, c->mech_types, c->mech_types_len, t->mic,
					     t->mic_len) < 0)
		return -EACCES;
	c->krb_done = true;
	return 0;
}

int spnego_client_step(SpnegoClient *c, const uint8_t *in, size_t len, uint8_t **ret,
		       size_t *ret_len) {
	if (!c || !ret || !ret_len)
		return -EINVAL;
	*ret = NULL;
	*ret_len = 0;
	if (c->state == CLI_FINISHED)
		return -EALREADY;
	CliState state = c->state;
	c->state = CLI_FINISHED;
	if (state == CLI_START)
		return client_start(c, in, len, ret, ret_len);
	if (state == CLI_SENT_AUTH && (!in || len == 0))
		return 0; /* STATUS_SUCCESS without a final token */
	RespToken t;
	if (!in || parse_resp(in, len, &t) < 0)
		return -EBADMSG;
	if (t.has_state && t.state == NEG_REJECT)
		return -EACCES;
	bool krb_mech = t.supported_mech && is_krb5_oid(t.supported_mech,
								  t.supported_mech_len);
	if (t.supported_mech && !krb_mech && !is_ntlm_mech(&t))
		return -EPROTONOSUPPORT;
	if (state == CLI_SENT_INIT && c->krb_sent) {
		if (is_ntlm_mech(&t))
			return client_ntlm_fallback(c, ret, ret_len);
		return client_kerberos_reply(c, &t);
	}
	if (krb_mech)
		return -EPROTONOSUPPORT; /* we sent no Kerberos token */
	if (state == CLI_SENT_INIT || state == CLI_SENT_NTLM_NEG) {
		if (!t.response_token)
			return -EBADMSG; /* we always send NTLM's first token */
		return client_authenticate(c, &t, ret, ret_len);
	}
	if (t.has_state && t.state != NEG_ACCEPT_COMPLETED)
		return -EBADMSG;
	if (t.mic) {
		NtlmSession *ns = ntlm_client_session(c->ntlm);
		if (!ns || ntlm_session_verify(ns, c->mech_types, c->mech_types_len, t.mic,
					       t.mic_len) < 0)
			return -EACCES;
	}
	return 0;
}
