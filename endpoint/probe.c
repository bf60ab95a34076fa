/*
 * probe.c - `smbpolicy probe`'s measurements (see probe.h) and their
 * comparison with a policy's server settings.
 *
 * Measurements, one connection each:
 *   dialects    one NEGOTIATE offering a single dialect, per dialect;
 *   ciphers     one 3.1.1 NEGOTIATE per cipher (encryption context with
 *               that cipher alone): accepted when the server picks it;
 *               then the accepted ones offered together, the server's
 *               pick removed each round: its order of preference;
 *   signing     SecurityMode of the NEGOTIATE response, then (with
 *               credentials) a CREATE sent unsigned after session setup
 *               and a signed TREE_CONNECT: refused when the server
 *               enforces signing;
 *   encryption  with credentials: the session's ENCRYPT_DATA flag or the
 *               share's, then one CREATE sent unencrypted (but signed):
 *               refused when the server rejects unencrypted access;
 *   logons      NTLM with the credentials; an unknown user (guest mapping);
 *               an anonymous session and a tree connect on it (the share,
 *               else IPC$); one failed logon timed (the rate limiter's
 *               delay);
 *   QUIC        with a QUIC port: the handshake (TLS version, ALPN, cipher)
 *               and a 3.1.1 NEGOTIATE over it without a client
 *               certificate: a server requiring one closes the handshake
 *               (ECONNREFUSED from the transport) or the stream;
 *   SMB Direct  with an RDMA port: the SMB Direct negotiate (its values:
 *               MaxReadWriteSize, credits, sizes) and an SMB2 NEGOTIATE
 *               (3.x) over it; a machine without an RDMA device (or the
 *               named libfabric provider) measures nothing: unknown.
 * The comparison is one table: setting id -> observed value (text in the
 * policy's spelling) -> equality with the policy value.
 *
 * Must never: log; count an unknown measurement as a difference.
 */
#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <time.h>

#include "catalog.h"
#include "client.h"
#include "crypto.h"
#include "policy.h"
#include "probe.h"
#include "quic_client.h"
#include "rdma_client.h"
#include "strbuf.h"

static const uint16_t probe_dialects[PROBE_N_DIALECTS] = {
	SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300, SMB2_DIALECT_302, SMB2_DIALECT_311,
};
static const uint16_t probe_ciphers[PROBE_N_CIPHERS] = {
	SMB2_CRYPTO_CIPHER_AES128_CCM, SMB2_CRYPTO_CIPHER_AES128_GCM,
	SMB2_CRYPTO_CIPHER_AES256_CCM, SMB2_CRYPTO_CIPHER_AES256_GCM,
};

const char *probe_dialect_name(unsigned i) {
	return i < PROBE_N_DIALECTS ? smb2_dialect_to_string(probe_dialects[i]) : NULL;
}

/* The policy spells ciphers as crypto.h's names in lower case. */
const char *probe_cipher_name(unsigned i) {
	static char names[PROBE_N_CIPHERS][16];
	if (i >= PROBE_N_CIPHERS)
		return NULL;
	if (!names[i][0]) {
		const char *n = smb2_crypto_cipher_name(probe_ciphers[i]);
		for (size_t k = 0; n && n[k] && k < sizeof(names[i]) - 1; k++)
			names[i][k] = (char)tolower((unsigned char)n[k]);
	}
	return names[i];
}

static ProbeTri tri(bool b) { return b ? PROBE_YES : PROBE_NO; }

static int open_negotiated(const ProbeParams *p, const uint16_t *dialects, size_t n,
			   const uint16_t *ciphers, size_t n_ciphers, SmbClient **ret,
			   SmbNegotiateInfo *ni) {
	_cleanup_(smb_client_freep) SmbClient *c = NULL;
	int r = smb_client_connect(SMB_TRANSPORT_TCP, p->host, NULL, p->port ? p->port : 445,
				   p->timeout_ms ? p->timeout_ms : 15000, &c);
	if (r < 0)
		return r;
	SmbNegotiateParams np = { .dialects = dialects, .n_dialects = n, .ciphers = ciphers,
				  .n_ciphers = n_ciphers };
	r = smb_client_negotiate(c, &np, ni);
	if (r < 0)
		return r == -ECONNRESET ? -EREMOTEIO : r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* Negotiate the best dialect and log on; *ret_ms: time of the session setup. */
static int open_session(const ProbeParams *p, const char *user, const char *password, bool encrypt,
			SmbClient **ret, SmbSessionInfo *si, int *ret_ms) {
	_cleanup_(smb_client_freep) SmbClient *c = NULL;
	SmbNegotiateInfo ni;
	int r = open_negotiated(p, probe_dialects, PROBE_N_DIALECTS, NULL, 0, &c, &ni);
	if (r < 0)
		return r;
	SmbAuthParams a = { .user = user, .password = password, .ntlm_allowed = true };
	unsigned long long t0 = now_mono_usec();
	r = smb_client_session_setup(c, &a, encrypt && ni.cipher != SMB2_CRYPTO_CIPHER_NONE, si);
	if (ret_ms)
		*ret_ms = (int)((now_mono_usec() - t0) / 1000);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* Offer the accepted ciphers together; the server's pick is its most
 * preferred; drop it and offer the rest again. */
static void probe_cipher_order(const ProbeParams *p, ProbeResult *r) {
	unsigned left[PROBE_N_CIPHERS], n = 0;
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++)
		if (r->cipher[i] == PROBE_YES)
			left[n++] = i;
	unsigned order[PROBE_N_CIPHERS], n_order = 0;
	while (n > 1) {
		uint16_t offer[PROBE_N_CIPHERS];
		for (unsigned i = 0; i < n; i++)
			offer[i] = probe_ciphers[left[i]];
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbNegotiateInfo ni;
		if (open_negotiated(p, &probe_dialects[PROBE_N_DIALECTS - 1], 1, offer, n, &c, &ni) < 0)
			return;
		unsigned k = 0;
		while (k < n && offer[k] != ni.cipher)
			k++;
		if (k == n)
			return; /* picked nothing offered: no order */
		order[n_order++] = left[k];
		left[k] = left[--n];
		/* keep the rest in probe order so the offer order stays fixed */
		for (unsigned a = 0; a + 1 < n; a++)
			for (unsigned b = a + 1; b < n; b++)
				if (left[b] < left[a]) {
					unsigned t = left[a];
					left[a] = left[b];
					left[b] = t;
				}
	}
	if (n == 1)
		order[n_order++] = left[0];
	memcpy(r->cipher_order, order, sizeof(order));
	r->n_cipher_order = n_order;
}

static void probe_dialects_and_ciphers(const ProbeParams *p, ProbeResult *r) {
	for (unsigned i = 0; i < PROBE_N_DIALECTS; i++) {
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbNegotiateInfo ni;
		int k = open_negotiated(p, &probe_dialects[i], 1, NULL, 0, &c, &ni);
		r->dialect[i] = tri(k >= 0 && ni.dialect == probe_dialects[i]);
		if (k >= 0)
			r->signing_required = tri(ni.security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED);
	}
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++) {
		if (r->dialect[PROBE_N_DIALECTS - 1] != PROBE_YES)
			break;
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbNegotiateInfo ni;
		int k = open_negotiated(p, &probe_dialects[PROBE_N_DIALECTS - 1], 1, &probe_ciphers[i], 1, &c, &ni);
		r->cipher[i] = tri(k >= 0 && ni.cipher == probe_ciphers[i]);
	}
	probe_cipher_order(p, r);
}

/* A request the server refuses: an error status, or the connection dropped. */
static ProbeTri refused(int k) {
	return k >= 0 ? PROBE_NO : (k == -EREMOTEIO || k == -ECONNRESET || k == -EPIPE) ? PROBE_YES : PROBE_UNKNOWN;
}

static void probe_credentials(const ProbeParams *p, ProbeResult *r) {
	const char *share = p->share ? p->share : "IPC$";
	{
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbSessionInfo si;
		int k = open_session(p, p->user, p->password, false, &c, &si, NULL);
		r->ntlm_accepted = k >= 0 ? PROBE_YES : k == -EACCES ? PROBE_NO : PROBE_UNKNOWN;
		if (k < 0)
			return;
		uint32_t share_flags = 0;
		k = smb_client_tree_connect(c, share, &share_flags);
		if (k >= 0 || (si.flags & SMB2_SESSION_FLAG_ENCRYPT_DATA))
			r->encryption_required = tri((si.flags & SMB2_SESSION_FLAG_ENCRYPT_DATA) ||
						     (share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA));
		if (k >= 0 && r->encryption_required == PROBE_YES) {
			Smb2FileId fid;
			smb_client_next_unprotected(c, SMB_NEXT_UNENCRYPTED);
			k = smb_client_open(c, "", SMB_OPEN_DIR, &fid, NULL);
			r->unencrypted_refused = refused(k);
		}
	}
	{
		/* An unsigned CREATE on a session that is not encrypted (after a
		 * signed TREE_CONNECT: 3.1.1 servers may insist on that one being
		 * signed whatever their signing setting). */
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbSessionInfo si;
		int k = open_session(p, p->user, p->password, false, &c, &si, NULL);
		if (k >= 0 && si.signing && smb_client_tree_connect(c, share, NULL) >= 0) {
			Smb2FileId fid;
			smb_client_next_unprotected(c, SMB_NEXT_UNSIGNED);
			r->unsigned_refused = refused(smb_client_open(c, "", SMB_OPEN_DIR, &fid, NULL));
		}
	}
	{
		/* One failed logon, timed. */
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbSessionInfo si;
		uint8_t rnd[8];
		char wrong[24];
		RAND_bytes(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), wrong);
		int ms = 0;
		int k = open_session(p, p->user, wrong, false, &c, &si, &ms);
		if (k == -EACCES)
			r->failed_login_delay_ms = ms;
	}
}

static void probe_guest_anonymous(const ProbeParams *p, ProbeResult *r) {
	{
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbSessionInfo si;
		uint8_t rnd[6];
		char user[32] = "probe-";
		RAND_bytes(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), user + 6);
		int ms = 0;
		int k = open_session(p, user, "x", false, &c, &si, &ms);
		r->guest_allowed = k >= 0 ? tri(si.flags & SMB2_SESSION_FLAG_IS_GUEST)
					  : k == -EACCES ? PROBE_NO : PROBE_UNKNOWN;
		if (k == -EACCES && r->failed_login_delay_ms < 0)
			r->failed_login_delay_ms = ms;
	}
	{
		_cleanup_(smb_client_freep) SmbClient *c = NULL;
		SmbSessionInfo si;
		int k = open_session(p, NULL, NULL, false, &c, &si, NULL);
		if (k >= 0) {
			/* A null session is only access once a tree connect works:
			 * Samba's "restrict anonymous = 2" refuses it there. */
			k = p->share ? smb_client_tree_connect(c, p->share, NULL) : -EREMOTEIO;
			if (k < 0)
				k = smb_client_tree_connect(c, "IPC$", NULL);
		}
		r->anonymous_allowed = k >= 0 ? PROBE_YES : k == -EACCES || k == -EREMOTEIO ? PROBE_NO : PROBE_UNKNOWN;
	}
}

static void probe_quic(const ProbeParams *p, ProbeResult *r) {
	_cleanup_(smb_client_freep) SmbClient *c = NULL;
	/* Not verified: the probe checks servers by IP, test certificates included. */
	int k = smb_client_connect_flags(SMB_TRANSPORT_QUIC, p->host, NULL, p->quic_port,
					 p->timeout_ms ? p->timeout_ms : 15000, SMB_CONNECT_QUIC_INSECURE, &c);
	if (k == -ECONNREFUSED) {
		/* A QUIC server closed the handshake: the probe offers TLS 1.3
		 * and ALPN "smb" and no certificate, so what it lacks is the
		 * client certificate the server's access control requires. */
		r->quic = PROBE_YES;
		r->quic_client_cert_required = PROBE_YES;
		return;
	}
	r->quic = tri(k >= 0);
	if (k < 0)
		return;
	const QuicClientInfo *qi = smb_client_quic_info(c);
	if (qi) {
		snprintf(r->quic_tls_version, sizeof(r->quic_tls_version), "%s", qi->tls_version);
		snprintf(r->quic_alpn, sizeof(r->quic_alpn), "%s", qi->alpn);
		snprintf(r->quic_cipher, sizeof(r->quic_cipher), "%s", qi->cipher);
	}
	static const uint16_t d311 = SMB2_DIALECT_311;
	SmbNegotiateParams np = { .dialects = &d311, .n_dialects = 1 };
	SmbNegotiateInfo ni;
	k = smb_client_negotiate(c, &np, &ni);
	r->quic_client_cert_required = k >= 0 ? PROBE_NO : refused(k == -EREMOTEIO ? k : -ECONNRESET);
}

static void probe_rdma(const ProbeParams *p, ProbeResult *r) {
	_cleanup_(smb_client_freep) SmbClient *c = NULL;
	SmbConnectOptions o = { .timeout_ms = p->timeout_ms ? p->timeout_ms : 15000, .rdma_provider = p->rdma_provider };
	r->rdma_port = p->rdma_port;
	int k = smb_client_connect_opts(SMB_TRANSPORT_RDMA, p->host, NULL, p->rdma_port, &o, &c);
	const char *hint = rdma_client_error_hint(k, smb_client_rdma_provider(&o));
	if (hint) { /* nothing to measure with from here */
		snprintf(r->rdma_error, sizeof(r->rdma_error), "%s", hint);
		return;
	}
	r->rdma = tri(k >= 0);
	if (k < 0)
		return;
	const RdmaClientInfo *ri = smb_client_rdma_info(c);
	snprintf(r->rdma_stack, sizeof(r->rdma_stack), "%s", ri->stack);
	snprintf(r->rdma_provider, sizeof(r->rdma_provider), "%s", ri->provider);
	r->rdma_max_read_write_size = ri->max_read_write_size;
	r->rdma_max_send_size = ri->max_send_size;
	r->rdma_max_receive_size = ri->max_receive_size;
	r->rdma_max_fragmented_size = ri->max_fragmented_send;
	r->rdma_send_credits = ri->send_credits;
	r->rdma_receive_credits = ri->receive_credits;
	SmbNegotiateParams np = { .dialects = &probe_dialects[2], .n_dialects = PROBE_N_DIALECTS - 2 }; /* 3.x */
	SmbNegotiateInfo ni;
	if (smb_client_negotiate(c, &np, &ni) >= 0)
		r->rdma_dialect = ni.dialect;
}

int probe_run(const ProbeParams *p, ProbeResult *r) {
	*r = (ProbeResult){ .signing_required = PROBE_UNKNOWN, .unsigned_refused = PROBE_UNKNOWN,
			    .ntlm_accepted = PROBE_UNKNOWN, .encryption_required = PROBE_UNKNOWN,
			    .unencrypted_refused = PROBE_UNKNOWN, .guest_allowed = PROBE_UNKNOWN,
			    .anonymous_allowed = PROBE_UNKNOWN, .failed_login_delay_ms = -1,
			    .quic = PROBE_UNKNOWN, .quic_client_cert_required = PROBE_UNKNOWN,
			    .rdma = PROBE_UNKNOWN };
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++)
		r->cipher[i] = PROBE_UNKNOWN;
	_cleanup_(smb_client_freep) SmbClient *c = NULL;
	int k = smb_client_connect(SMB_TRANSPORT_TCP, p->host, NULL, p->port ? p->port : 445,
				   p->timeout_ms ? p->timeout_ms : 15000, &c);
	if (k < 0) {
		snprintf(r->error, sizeof(r->error), "cannot connect to %s:%u: %s", p->host,
			 p->port ? p->port : 445, strerror(-k));
		return k;
	}
	probe_dialects_and_ciphers(p, r);
	if (p->user)
		probe_credentials(p, r);
	probe_guest_anonymous(p, r);
	if (p->quic_port)
		probe_quic(p, r);
	if (p->rdma_port)
		probe_rdma(p, r);
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

static const char *tri_json(ProbeTri t) { return t == PROBE_UNKNOWN ? "null" : t ? "true" : "false"; }
static const char *tri_text(ProbeTri t, const char *yes, const char *no) {
	return t == PROBE_UNKNOWN ? "unknown" : t ? yes : no;
}

/* The boolean measurements as a table: JSON key, text label, words. */
#define BOOLS(X)                                                                               \
	X(signing_required, "signing required (negotiate)", "yes", "no")                       \
	X(unsigned_refused, "unsigned request", "refused", "accepted")                         \
	X(encryption_required, "encryption required", "yes", "no")                             \
	X(unencrypted_refused, "unencrypted request", "refused", "accepted")                   \
	X(ntlm_accepted, "NTLM logon", "accepted", "refused")                                  \
	X(guest_allowed, "guest logon (unknown user)", "accepted", "refused")                  \
	X(anonymous_allowed, "anonymous logon", "accepted", "refused")

int probe_to_json(const ProbeResult *r, char **ret) {
	StrBuf b = {};
	strbuf_append(&b, "{\"dialects\":{");
	for (unsigned i = 0; i < PROBE_N_DIALECTS; i++)
		strbuf_printf(&b, "%s\"%s\":%s", i ? "," : "", probe_dialect_name(i), tri_json(r->dialect[i]));
	strbuf_append(&b, "},\"ciphers\":{");
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++)
		strbuf_printf(&b, "%s\"%s\":%s", i ? "," : "", probe_cipher_name(i), tri_json(r->cipher[i]));
	strbuf_append(&b, "},\"cipher_order\":[");
	for (unsigned i = 0; i < r->n_cipher_order; i++) {
		strbuf_append(&b, i ? "," : "");
		strbuf_json_string(&b, probe_cipher_name(r->cipher_order[i]));
	}
	strbuf_append(&b, "]");
#define JSON_ROW(field, label, yes, no) strbuf_printf(&b, ",\"" #field "\":%s", tri_json(r->field));
	BOOLS(JSON_ROW)
#undef JSON_ROW
	if (r->failed_login_delay_ms >= 0)
		strbuf_printf(&b, ",\"failed_login_delay_ms\":%d", r->failed_login_delay_ms);
	else
		strbuf_append(&b, ",\"failed_login_delay_ms\":null");
	strbuf_printf(&b, ",\"quic\":%s", tri_json(r->quic));
	if (r->quic == PROBE_YES && r->quic_tls_version[0]) {
		strbuf_append(&b, ",\"quic_tls_version\":");
		strbuf_json_string(&b, r->quic_tls_version);
		strbuf_append(&b, ",\"quic_alpn\":");
		strbuf_json_string(&b, r->quic_alpn);
		strbuf_append(&b, ",\"quic_cipher\":");
		strbuf_json_string(&b, r->quic_cipher);
	}
	strbuf_printf(&b, ",\"quic_client_cert_required\":%s", tri_json(r->quic_client_cert_required));
	strbuf_printf(&b, ",\"rdma\":%s", tri_json(r->rdma));
	if (r->rdma_port)
		strbuf_printf(&b, ",\"rdma_port\":%u", r->rdma_port);
	if (r->rdma_error[0]) {
		strbuf_append(&b, ",\"rdma_error\":");
		strbuf_json_string(&b, r->rdma_error);
	}
	if (r->rdma == PROBE_YES) {
		strbuf_append(&b, ",\"rdma_stack\":");
		strbuf_json_string(&b, r->rdma_stack);
		strbuf_append(&b, ",\"rdma_provider\":");
		strbuf_json_string(&b, r->rdma_provider);
		strbuf_append(&b, ",\"rdma_dialect\":");
		if (r->rdma_dialect)
			strbuf_json_string(&b, smb2_dialect_to_string(r->rdma_dialect));
		else
			strbuf_append(&b, "null");
		strbuf_printf(&b, ",\"rdma_max_read_write_size\":%u,\"rdma_send_credits\":%u,"
			      "\"rdma_receive_credits\":%u,\"rdma_max_send_size\":%u,\"rdma_max_receive_size\":%u,"
			      "\"rdma_max_fragmented_size\":%u",
			      r->rdma_max_read_write_size, r->rdma_send_credits, r->rdma_receive_credits,
			      r->rdma_max_send_size, r->rdma_max_receive_size, r->rdma_max_fragmented_size);
	}
	strbuf_append(&b, "}");
	return strbuf_finish(&b, ret);
}

static void rdma_text(const ProbeResult *r, StrBuf *b) {
	const char *label = "SMB Direct (RDMA)";
	if (!r->rdma_port)
		strbuf_printf(b, "%-30s not probed (--rdma-port)\n", label);
	else if (r->rdma_error[0])
		strbuf_printf(b, "%-30s port %u not measured: %s\n", label, r->rdma_port, r->rdma_error);
	else if (r->rdma != PROBE_YES)
		strbuf_printf(b, "%-30s no answer on port %u\n", label, r->rdma_port);
	else
		strbuf_printf(b,
			      "%-30s port %u (%s%s%s), SMB %s; MaxReadWriteSize %u, send credits %u, receive "
			      "credits %u, max send %u, max receive %u, max fragmented %u\n",
			      label, r->rdma_port, r->rdma_stack, r->rdma_provider[0] ? " provider " : "",
			      r->rdma_provider, r->rdma_dialect ? smb2_dialect_to_string(r->rdma_dialect) : "refused",
			      r->rdma_max_read_write_size, r->rdma_send_credits, r->rdma_receive_credits,
			      r->rdma_max_send_size, r->rdma_max_receive_size, r->rdma_max_fragmented_size);
}

int probe_to_text(const ProbeResult *r, char **ret) {
	StrBuf b = {};
	for (unsigned i = 0; i < PROBE_N_DIALECTS; i++)
		strbuf_printf(&b, "dialect %-6s %s\n", probe_dialect_name(i), tri_text(r->dialect[i], "accepted", "refused"));
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++)
		strbuf_printf(&b, "cipher %-12s %s\n", probe_cipher_name(i), tri_text(r->cipher[i], "accepted", "refused"));
	if (r->n_cipher_order) {
		strbuf_printf(&b, "%-30s", "cipher preference");
		for (unsigned i = 0; i < r->n_cipher_order; i++)
			strbuf_printf(&b, "%s%s", i ? ", " : " ", probe_cipher_name(r->cipher_order[i]));
		strbuf_append(&b, "\n");
	}
#define TEXT_ROW(field, label, yes, no) strbuf_printf(&b, "%-30s %s\n", label, tri_text(r->field, yes, no));
	BOOLS(TEXT_ROW)
#undef TEXT_ROW
	if (r->failed_login_delay_ms >= 0)
		strbuf_printf(&b, "%-30s %d ms\n", "delay after a failed logon", r->failed_login_delay_ms);
	else
		strbuf_printf(&b, "%-30s unknown\n", "delay after a failed logon");
	if (r->quic == PROBE_YES && !r->quic_tls_version[0])
		strbuf_printf(&b, "%-30s handshake refused without a client certificate\n", "SMB over QUIC");
	else if (r->quic == PROBE_YES)
		strbuf_printf(&b, "%-30s %s, ALPN %s, %s; client certificate %s\n", "SMB over QUIC", r->quic_tls_version,
			      r->quic_alpn, r->quic_cipher,
			      tri_text(r->quic_client_cert_required, "required", "not required"));
	else
		strbuf_printf(&b, "%-30s %s\n", "SMB over QUIC",
			      r->quic == PROBE_NO ? "no handshake" : "not probed (--quic-port)");
	rdma_text(r, &b);
	return strbuf_finish(&b, ret);
}

/* ---- comparison with a policy ----------------------------------------------------- */

#define RATE_LIMIT_MIN_MS 100  /* a delay below this is no rate limiter */
#define RATE_LIMIT_SLACK_MS 300

/* Observed value in the policy's spelling into buf; false when unknown. */
typedef bool (*Observe)(const ProbeResult *r, StrBuf *out);
/* Does the policy value equal the observation? */
typedef bool (*Same)(char *const *value, const char *observed, const ProbeResult *r);

static bool put_tri(ProbeTri t, StrBuf *out) {
	if (t == PROBE_UNKNOWN)
		return false;
	strbuf_append(out, t ? "true" : "false");
	return true;
}

static bool obs_dialect_min(const ProbeResult *r, StrBuf *out) {
	for (unsigned i = 0; i < PROBE_N_DIALECTS; i++)
		if (r->dialect[i] == PROBE_YES) {
			strbuf_append(out, probe_dialect_name(i));
			return true;
		}
	return false;
}

static bool obs_dialect_max(const ProbeResult *r, StrBuf *out) {
	for (unsigned i = PROBE_N_DIALECTS; i-- > 0;)
		if (r->dialect[i] == PROBE_YES) {
			strbuf_append(out, probe_dialect_name(i));
			return true;
		}
	return false;
}

static bool obs_signing(const ProbeResult *r, StrBuf *out) {
	if (r->signing_required == PROBE_YES && r->unsigned_refused == PROBE_NO) {
		strbuf_append(out, "false"); /* announced but not enforced */
		return true;
	}
	return put_tri(r->signing_required, out);
}

static bool obs_encryption(const ProbeResult *r, StrBuf *out) { return put_tri(r->encryption_required, out); }
static bool obs_reject(const ProbeResult *r, StrBuf *out) {
	return r->encryption_required == PROBE_YES && put_tri(r->unencrypted_refused, out);
}
/* Guest access: an unknown user mapped to guest, or an anonymous session. */
static bool obs_guest(const ProbeResult *r, StrBuf *out) {
	if (r->guest_allowed == PROBE_YES || r->anonymous_allowed == PROBE_YES)
		return put_tri(PROBE_YES, out);
	if (r->guest_allowed == PROBE_NO && r->anonymous_allowed == PROBE_NO)
		return put_tri(PROBE_NO, out);
	return false;
}

/* The accepted ciphers, in the server's order of preference when it was
 * measured (the policy's list order is the preference). */
static bool obs_ciphers(const ProbeResult *r, StrBuf *out) {
	if (r->n_cipher_order) {
		for (unsigned i = 0; i < r->n_cipher_order; i++)
			strbuf_printf(out, "%s%s", i ? "," : "", probe_cipher_name(r->cipher_order[i]));
		return true;
	}
	bool any = false;
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++) {
		if (r->cipher[i] == PROBE_UNKNOWN)
			return false;
		if (r->cipher[i] == PROBE_YES) {
			strbuf_printf(out, "%s%s", any ? "," : "", probe_cipher_name(i));
			any = true;
		}
	}
	return any;
}

static bool obs_quic(const ProbeResult *r, StrBuf *out) { return put_tri(r->quic, out); }
static bool obs_rdma(const ProbeResult *r, StrBuf *out) { return put_tri(r->rdma, out); }
/* The port SMB Direct answered on (a port without an answer says nothing
 * about where the server listens). */
static bool obs_rdma_port(const ProbeResult *r, StrBuf *out) {
	if (r->rdma != PROBE_YES)
		return false;
	strbuf_printf(out, "%u", r->rdma_port);
	return true;
}
static bool obs_quic_cert(const ProbeResult *r, StrBuf *out) { return put_tri(r->quic_client_cert_required, out); }

static bool obs_rate_enabled(const ProbeResult *r, StrBuf *out) {
	if (r->failed_login_delay_ms < 0)
		return false;
	strbuf_append(out, r->failed_login_delay_ms >= RATE_LIMIT_MIN_MS ? "true" : "false");
	return true;
}

static bool obs_rate_delay(const ProbeResult *r, StrBuf *out) {
	if (r->failed_login_delay_ms < RATE_LIMIT_MIN_MS)
		return false; /* disabled: the row above reports it */
	strbuf_printf(out, "%d", r->failed_login_delay_ms);
	return true;
}

static bool same_text(char *const *v, const char *observed, _unused_ const ProbeResult *r) {
	_cleanup_free_ char *joined = strv_join(v, ",");
	return joined && streq(joined, observed);
}

static bool same_set(char *const *v, const char *observed, _unused_ const ProbeResult *r) {
	size_t n = 0;
	STRV_FOREACH(s, v) {
		size_t len = strlen(*s);
		const char *hit = strstr(observed, *s);
		if (!hit || (hit[len] != ',' && hit[len] != 0))
			return false;
		n++;
	}
	size_t commas = 0;
	for (const char *c = observed; *c; c++)
		commas += *c == ',';
	return n == commas + 1;
}

static bool same_delay(char *const *v, const char *observed, _unused_ const ProbeResult *r) {
	long long want, got;
	if (!v[0] || parse_int64(v[0], &want) < 0 || parse_int64(observed, &got) < 0)
		return false;
	return got + RATE_LIMIT_SLACK_MS >= want && got <= want + RATE_LIMIT_SLACK_MS;
}

/* Same list; in the same order too when the order was measured (the
 * observation then has it). */
static bool same_ciphers(char *const *v, const char *observed, const ProbeResult *r) {
	return r->n_cipher_order ? same_text(v, observed, r) : same_set(v, observed, r);
}

/* only_if: a boolean setting the row is compared under (a delay or port
 * the policy does not turn on says nothing); NULL: always. */
static const struct {
	const char *id;
	Observe observe;
	Same same;
	const char *only_if;
} compare_table[] = {
	{ "server.dialect.min", obs_dialect_min, same_text, NULL },
	{ "server.dialect.max", obs_dialect_max, same_text, NULL },
	{ "server.signing.required", obs_signing, same_text, NULL },
	{ "server.encryption.required", obs_encryption, same_text, NULL },
	{ "server.encryption.reject-unencrypted", obs_reject, same_text, NULL },
	{ "server.encryption.ciphers", obs_ciphers, same_ciphers, NULL },
	{ "server.guest.allowed", obs_guest, same_text, NULL },
	{ "server.auth-rate-limiter.enabled", obs_rate_enabled, same_text, NULL },
	{ "server.auth-rate-limiter.delay-ms", obs_rate_delay, same_delay, "server.auth-rate-limiter.enabled" },
	{ "server.transport.quic.enabled", obs_quic, same_text, NULL },
	{ "server.quic.client-access.required", obs_quic_cert, same_text, NULL },
	{ "server.transport.rdma.enabled", obs_rdma, same_text, NULL },
	{ "server.transport.rdma.port", obs_rdma_port, same_text, "server.transport.rdma.enabled" },
};

int probe_compare(const ProbeResult *r, const char *policy_path, DiagList *diff) {
	_cleanup_(catalog_freep) Catalog *cat = NULL;
	_cleanup_(policy_freep) Policy *pol = NULL;
	_cleanup_free_ char ***values = NULL;
	int k = catalog_load_default(&cat);
	if (k < 0)
		return k;
	k = policy_parse_file(cat, policy_path, &pol, diff);
	if (k < 0)
		return k;
	k = policy_effective_values(cat, pol, &values);
	if (k < 0)
		return k;
	int n = 0;
	for (size_t i = 0; i < ELEMENTSOF(compare_table); i++) {
		int idx = catalog_index(cat, compare_table[i].id);
		if (idx < 0)
			return -EINVAL;
		if (compare_table[i].only_if) {
			int en = catalog_index(cat, compare_table[i].only_if);
			if (en < 0 || !values[en][0] || !streq(values[en][0], "true"))
				continue;
		}
		StrBuf obs = {};
		bool known = compare_table[i].observe(r, &obs);
		_cleanup_free_ char *text = NULL;
		if (strbuf_finish(&obs, &text) < 0)
			return -ENOMEM;
		if (!known || compare_table[i].same(values[idx], text, r))
			continue;
		_cleanup_free_ char *want = strv_join(values[idx], ",");
		diag_add(diff, policy_path, 0, compare_table[i].id, "policy says %s, server does %s",
			 want ? want : "?", text);
		n++;
	}
	return n;
}
