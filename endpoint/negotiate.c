/*
 * negotiate.c - NEGOTIATE ([MS-SMB2] 3.3.5.3, 3.3.5.4): dialect selection
 * within server.dialect.min/max, the SMB1 multi-protocol negotiate answered
 * with the SMB2 wildcard (0x02FF) as Windows and Samba do, and the SMB 3.1.1
 * negotiate contexts (pre-auth integrity SHA-512, encryption cipher chosen
 * in server.encryption.ciphers order, signing algorithm).  Over QUIC
 * (Conn.quic) only 3.1.1 is served, and the transport capabilities context
 * lets a client that offers SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY rely on
 * QUIC's TLS instead of SMB encryption (Windows'
 * DisableSmbEncryptionOnSecureConnection, on by default).
 *
 * Per-dialect differences live in the table below (sizes, capabilities),
 * not in branches.
 *
 * Invariants: a connection negotiates once; the dialect chosen is always
 * inside the policy's range; the 3.1.1 pre-auth hash covers exactly the
 * request and response of the NEGOTIATE that picked 3.1.1.
 * Must never: pick a dialect or cipher the policy excludes; answer SMB1
 * commands (SMB1 is not served: such connections are dropped).
 */
#include <openssl/rand.h>
#include <stdio.h>

#include "server.h"
#include "smbdirect.h"

#define MAX_IO_MULTI_CREDIT SMB2_SERVER_MAX_IO
/* Room for the TRANSFORM, SMB2 and READ response headers (132 bytes),
 * rounded up to a page. */
#define SMBD_IO_HEADROOM 4096u

/* Per-dialect properties ([MS-SMB2] 3.3.5.4). */
static const struct {
	uint16_t dialect;
	uint32_t max_io;
	uint32_t caps;
	bool cap_encryption; /* advertises SMB2_GLOBAL_CAP_ENCRYPTION when the client does */
} dialect_table[] = {
	{ SMB2_DIALECT_202, 65536, 0, false },
	{ SMB2_DIALECT_210, MAX_IO_MULTI_CREDIT, SMB2_GLOBAL_CAP_LARGE_MTU, false },
	{ SMB2_DIALECT_300, MAX_IO_MULTI_CREDIT, SMB2_GLOBAL_CAP_LARGE_MTU, true },
	{ SMB2_DIALECT_302, MAX_IO_MULTI_CREDIT, SMB2_GLOBAL_CAP_LARGE_MTU, true },
	{ SMB2_DIALECT_311, MAX_IO_MULTI_CREDIT, SMB2_GLOBAL_CAP_LARGE_MTU, false },
};

/* Signing algorithms in the server's order of preference. */
static const uint16_t signing_preference[] = {
	SMB2_CRYPTO_SIGN_AES_GMAC,
	SMB2_CRYPTO_SIGN_AES_CMAC,
	SMB2_CRYPTO_SIGN_HMAC_SHA256,
};

static size_t dialect_index(uint16_t d) {
	for (size_t i = 0; i < ELEMENTSOF(dialect_table); i++)
		if (dialect_table[i].dialect == d)
			return i;
	return SIZE_MAX;
}

static bool config_has_cipher(const Config *cfg, uint16_t cipher) {
	for (size_t i = 0; i < cfg->n_ciphers; i++)
		if (cfg->ciphers[i] == cipher)
			return true;
	return false;
}

static void negotiate_context(Smb2Buf *b, uint16_t type, const uint8_t *data, uint16_t len,
			      uint16_t *count) {
	smb2_buf_align(b, 8);
	uint8_t *p = smb2_buf_extend(b, 8);
	if (!p)
		return;
	smb2_put16(p, type);
	smb2_put16(p + 2, len);
	smb2_buf_append(b, data, len);
	(*count)++;
}

/* Over SMB Direct a READ answered without RDMA (small, or on an encrypting
 * session) and any other response must fit one reassembled message of the
 * peer: its MaxFragmentedSize ([MS-SMBD] 3.1.1.1; Windows: 1 MiB). */
static uint32_t smbd_max_io(const Conn *c, uint32_t max_io) {
	if (!c->smbd)
		return max_io;
	SmbdStats st;
	smbd_stats(c->smbd, &st);
	uint32_t fit = st.max_fragmented_send > SMBD_IO_HEADROOM ? st.max_fragmented_send - SMBD_IO_HEADROOM : 0;
	return fit < max_io ? fit : max_io;
}

/* Write a NEGOTIATE response body for dialect at the end of out, whose
 * SMB2 header starts at hdr_off.  with_contexts: 3.1.1 contexts follow. */
static int negotiate_body(Conn *c, const Config *cfg, Smb2Buf *out, size_t hdr_off,
			  uint16_t dialect, bool has_enc_ctx, bool has_sign_ctx) {
	/* An SMB1 negotiate never carries contexts: start from "not agreed". */
	if (dialect != SMB2_DIALECT_311)
		c->transport_security = false;
	Server *srv = c->worker->server;
	size_t i = dialect_index(dialect);
	uint32_t max_io = smbd_max_io(c, i == SIZE_MAX ? 65536 : dialect_table[i].max_io);
	c->max_io = max_io;
	uint32_t caps = i == SIZE_MAX ? 0 : dialect_table[i].caps;
	if (i != SIZE_MAX && dialect_table[i].cap_encryption &&
	    (c->client_capabilities & SMB2_GLOBAL_CAP_ENCRYPTION) &&
	    config_has_cipher(cfg, SMB2_CRYPTO_CIPHER_AES128_CCM))
		caps |= SMB2_GLOBAL_CAP_ENCRYPTION;
	c->server_capabilities = caps;

	_cleanup_free_ uint8_t *hints = NULL;
	size_t hints_len = 0;
	int r = spnego_negotiate_hints_mechs(srv->keytab != NULL, &hints, &hints_len);
	if (r < 0)
		return r;

	size_t body_off = out->len;
	uint8_t *p = smb2_buf_extend(out, 64);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 65);
	smb2_put16(p + 2, SMB2_NEGOTIATE_SIGNING_ENABLED |
			      (cfg->signing_required ? SMB2_NEGOTIATE_SIGNING_REQUIRED : 0));
	smb2_put16(p + 4, dialect);
	memcpy(p + 8, srv->server_guid, 16);
	smb2_put32(p + 24, caps);
	smb2_put32(p + 28, max_io);
	smb2_put32(p + 32, max_io);
	smb2_put32(p + 36, max_io);
	smb2_put64(p + 40, smb2_filetime_now());
	smb2_put64(p + 48, 0);
	smb2_put16(p + 56, (uint16_t)(out->len - hdr_off));
	smb2_put16(p + 58, (uint16_t)hints_len);
	smb2_buf_append(out, hints, hints_len);
	if (dialect != SMB2_DIALECT_311)
		return out->failed ? -ENOMEM : 0;

	uint16_t count = 0;
	smb2_buf_align(out, 8);
	size_t ctx_off = out->len - hdr_off;
	uint8_t pre[4 + 2 + 32];
	smb2_put16(pre, 1);
	smb2_put16(pre + 2, 32);
	smb2_put16(pre + 4, SMB2_PREAUTH_HASH_SHA512);
	if (RAND_bytes(pre + 6, 32) != 1)
		return -EIO;
	negotiate_context(out, SMB2_PREAUTH_INTEGRITY_CAPABILITIES, pre, sizeof(pre), &count);
	if (has_enc_ctx) {
		uint8_t enc[4];
		smb2_put16(enc, 1);
		smb2_put16(enc + 2, c->cipher);
		negotiate_context(out, SMB2_ENCRYPTION_CAPABILITIES, enc, sizeof(enc), &count);
	}
	if (has_sign_ctx) {
		uint8_t sig[4];
		smb2_put16(sig, 1);
		smb2_put16(sig + 2, c->sign_alg);
		negotiate_context(out, SMB2_SIGNING_CAPABILITIES, sig, sizeof(sig), &count);
	}
	if (c->transport_security) {
		uint8_t tc[4];
		smb2_put32(tc, SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
		negotiate_context(out, SMB2_TRANSPORT_CAPABILITIES, tc, sizeof(tc), &count);
	}
	if (out->failed)
		return -ENOMEM;
	p = out->data + body_off;
	smb2_put16(p + 6, count);
	smb2_put32(p + 60, (uint32_t)ctx_off);
	return 0;
}

/* Choose cipher and signing algorithm from the client's 3.1.1 contexts. */
static uint32_t negotiate_contexts(Conn *c, const Config *cfg, const Smb2NegotiateReq *q,
				   bool *ret_enc, bool *ret_sign) {
	bool preauth = false;
	c->cipher = SMB2_CRYPTO_CIPHER_NONE;
	c->sign_alg = SMB2_CRYPTO_SIGN_AES_CMAC;
	*ret_enc = *ret_sign = false;
	c->transport_security = false;
	for (size_t i = 0; i < q->n_contexts; i++) {
		uint16_t ids[32];
		size_t n;
		const Smb2NegotiateContext *x = &q->contexts[i];
		switch (x->type) {
		case SMB2_PREAUTH_INTEGRITY_CAPABILITIES:
			if (smb2_parse_preauth_context(x->data, ids, ELEMENTSOF(ids), &n) < 0)
				return NT_STATUS_INVALID_PARAMETER;
			for (size_t k = 0; k < n; k++)
				preauth |= ids[k] == SMB2_PREAUTH_HASH_SHA512;
			break;
		case SMB2_ENCRYPTION_CAPABILITIES:
			if (smb2_parse_id_list_context(x->data, ids, ELEMENTSOF(ids), &n) < 0)
				return NT_STATUS_INVALID_PARAMETER;
			*ret_enc = true;
			for (size_t s = 0; s < cfg->n_ciphers && !c->cipher; s++)
				for (size_t k = 0; k < n; k++)
					if (ids[k] == cfg->ciphers[s])
						c->cipher = cfg->ciphers[s];
			break;
		case SMB2_SIGNING_CAPABILITIES: {
			if (smb2_parse_id_list_context(x->data, ids, ELEMENTSOF(ids), &n) < 0)
				return NT_STATUS_INVALID_PARAMETER;
			*ret_sign = true;
			bool found = false;
			for (size_t s = 0; s < ELEMENTSOF(signing_preference) && !found; s++)
				for (size_t k = 0; k < n; k++)
					if (ids[k] == signing_preference[s]) {
						c->sign_alg = signing_preference[s];
						found = true;
					}
			break;
		}
		case SMB2_TRANSPORT_CAPABILITIES:
			/* [MS-SMB2] 2.2.3.1.5, 3.3.5.4: agreed only on a transport
			 * that is itself secure (QUIC's TLS 1.3), never over TCP. */
			if (x->data.len < 4)
				return NT_STATUS_INVALID_PARAMETER;
			c->transport_security = c->quic && (smb2_le32(x->data.data) & SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
			break;
		default: /* compression, netname, RDMA: not used */
			break;
		}
	}
	return preauth ? NT_STATUS_OK : NT_STATUS_INVALID_PARAMETER;
}

static void audit_dialect_refused(Conn *c, const Config *cfg, const uint16_t *offered, size_t n) {
	char list[128] = "";
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof(list) - 8; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s0x%04x", i ? "," : "", offered[i]);
	const AuditField f[] = {
		{ "offered", list },
		{ "min", smb2_dialect_to_string(cfg->dialect_min) },
		{ "max", smb2_dialect_to_string(cfg->dialect_max) },
	};
	server_audit(c->worker->server, AUDIT_SERVER_DIALECT_REFUSED, c->peer, f, ELEMENTSOF(f));
}

int smb2_negotiate(Smb2Request *r) {
	Conn *c = r->conn;
	const Config *cfg = r->config;
	Smb2NegotiateReq q;
	if (c->negotiated)
		return -EPROTO; /* [MS-SMB2] 3.3.5.3.1: a second NEGOTIATE disconnects */
	if (smb2_parse_negotiate(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	uint16_t best = 0;
	for (size_t i = 0; i < q.n_dialects; i++) {
		uint16_t d = q.dialects[i];
		if (dialect_index(d) != SIZE_MAX && d >= cfg->dialect_min && d <= cfg->dialect_max && d > best)
			best = d;
	}
	if (c->quic && best != SMB2_DIALECT_311)
		best = 0; /* SMB over QUIC is 3.1.1 only ([MS-SMB2] 3.3.5.4) */
	if (!best) {
		audit_dialect_refused(c, cfg, q.dialects, q.n_dialects);
		r->status = NT_STATUS_NOT_SUPPORTED;
		return 0;
	}
	c->client_security_mode = q.security_mode;
	c->client_capabilities = q.capabilities;
	memcpy(c->client_guid, q.client_guid, 16);
	memcpy(c->client_dialects, q.dialects, q.n_dialects * sizeof(uint16_t));
	c->n_client_dialects = q.n_dialects;

	bool has_enc = false, has_sign = false;
	if (best == SMB2_DIALECT_311) {
		uint32_t st = negotiate_contexts(c, cfg, &q, &has_enc, &has_sign);
		if (st != NT_STATUS_OK) {
			r->status = st;
			return 0;
		}
		int k = smb2_crypto_preauth_update(c->preauth, r->msg, r->len);
		if (k < 0)
			return k;
		r->preauth_response = c->preauth;
	}
	int k = negotiate_body(c, cfg, r->out, r->out->len - SMB2_HDR_SIZE, best, has_enc, has_sign);
	if (k < 0)
		return k;
	c->dialect = best;
	c->negotiated = true;
	return 0;
}

int smb2_negotiate_smb1(Conn *c, const uint8_t *msg, size_t len, Smb2Buf *out) {
	const Config *cfg = c->config;
	unsigned offers;
	if (smb1_parse_negotiate(msg, len, &offers) < 0)
		return -EPROTO;
	uint16_t dialect;
	if ((offers & SMB1_OFFERS_SMB2_WILDCARD) && cfg->dialect_max >= SMB2_DIALECT_210)
		dialect = SMB2_DIALECT_WILDCARD;
	else if ((offers & (SMB1_OFFERS_SMB202 | SMB1_OFFERS_SMB2_WILDCARD)) &&
		 cfg->dialect_min <= SMB2_DIALECT_202 && !c->quic) /* QUIC: 3.1.1 only */
		dialect = SMB2_DIALECT_202;
	else {
		static const uint16_t smb1 = 0x0100;
		audit_dialect_refused(c, cfg, &smb1, 1);
		return -EPROTONOSUPPORT; /* SMB1 only: not served */
	}
	size_t hdr_off = out->len;
	uint8_t *h = smb2_buf_extend(out, SMB2_HDR_SIZE);
	if (!h)
		return -ENOMEM;
	Smb2Header hdr = { .command = SMB2_NEGOTIATE, .credits = 1, .flags = SMB2_FLAGS_SERVER_TO_REDIR };
	smb2_header_build(h, &hdr);
	int r = negotiate_body(c, cfg, out, hdr_off, dialect, false, false);
	if (r < 0)
		return r;
	if (dialect == SMB2_DIALECT_202) {
		c->dialect = dialect;
		c->negotiated = true;
	}
	c->credits_granted = 1;
	return 0;
}
