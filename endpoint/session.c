/*
 * session.c - SESSION_SETUP and LOGOFF ([MS-SMB2] 3.3.5.5, 3.3.5.6):
 * SPNEGO/NTLMv2 rounds (spnego.c), the 3.1.1 pre-auth hash of the session,
 * key derivation (crypto.c), and the policy decisions taken when a session
 * is established: guest/anonymous refusal, signing, encryption (or refusal
 * of a client that cannot encrypt), the audit events, and the
 * authentication rate limiter's delay of a failed attempt.
 *
 * Invariants: a session becomes VALID only after every policy check
 * passed; its keys are derived before the final (signed) response; a failed
 * session is removed before its response goes out; a failed NTLM attempt's
 * response is held by a timer (never by sleeping), a success never is.
 * Must never: give a guest or anonymous session a signing key, or accept
 * one while signing is required; let binding (multichannel) through.
 */
#include <openssl/rand.h>
#include <stdio.h>

#include "server.h"

Session *session_find(Conn *c, uint64_t id) {
	for (Session *s = c->sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

void session_free(Session *s) {
	if (!s)
		return;
	Conn *c = s->conn;
	conn_wait_jobs(c); /* pool threads may be using s->pool_enc */
	for (Session **p = &c->sessions; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	open_close_all(c, s, NULL);
	while (s->trees)
		tree_free(s, s->trees);
	spnego_server_free(s->auth);
	smb3_cipher_free(s->enc);
	smb3_cipher_free(s->dec);
	for (size_t i = 0; i < CRYPTO_POOL_MAX; i++)
		smb3_cipher_free(s->pool_enc[i]);
	smb2_crypto_keys_clear(&s->keys);
	free(s->user);
	free(s);
}

static int session_new(Conn *c, Session **ret) {
	const Config *cfg = c->config;
	Server *srv = c->worker->server;
	size_t n = 0;
	for (Session *x = c->sessions; x; x = x->next)
		n++;
	if (n >= CONN_MAX_SESSIONS)
		return -EMFILE;
	Session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->conn = c;
	do {
		if (RAND_bytes((uint8_t *)&s->id, sizeof(s->id)) != 1) {
			free(s);
			return -EIO;
		}
	} while (s->id == 0 || s->id == UINT64_MAX || session_find(c, s->id));
	s->next_tree_id = 1;
	memcpy(s->preauth, c->preauth, sizeof(s->preauth));
	NtlmServerConfig ncfg = {
		.netbios_computer = srv->netbios_name,
		.netbios_domain = "WORKGROUP",
		.dns_computer = srv->host,
		.allow_anonymous = cfg->guest_allowed && !cfg->signing_required,
		.lookup = server_lookup_user,
		.userdata = srv,
	};
	int r = spnego_server_new(&ncfg, &s->auth);
	if (r >= 0 && srv->keytab)
		r = spnego_server_enable_kerberos(s->auth, srv->keytab);
	if (r < 0) {
		spnego_server_free(s->auth);
		free(s);
		return r;
	}
	s->next = c->sessions;
	c->sessions = s;
	*ret = s;
	return 0;
}

static int setup_body(Smb2Request *r, uint16_t flags, const uint8_t *tok, size_t tok_len) {
	uint8_t *p = smb2_buf_extend(r->out, 8);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 9);
	smb2_put16(p + 2, flags);
	smb2_put16(p + 4, tok_len ? SMB2_HDR_SIZE + 8 : 0);
	smb2_put16(p + 6, (uint16_t)tok_len);
	smb2_buf_append(r->out, tok, tok_len);
	if (!tok_len)
		smb2_buf_extend(r->out, 1);
	return r->out->failed ? -ENOMEM : 0;
}

static const char *auth_mech(const Session *s) {
	const NtlmAuthInfo *info = s && s->auth ? spnego_server_info(s->auth) : NULL;
	if (s && !s->auth)
		return s->kerberos ? "kerberos" : "ntlm";
	return info && info->kerberos ? "kerberos" : "ntlm";
}

static void audit_session(Smb2Request *r, AuditEventId id, const char *user, const char *reason) {
	Session *s = r->session;
	const AuditField f[] = {
		{ "user", user ? user : "" },
		{ "dialect", smb2_dialect_to_string(r->conn->dialect) },
		{ "signing", s && s->signing_required ? "required" : "off" },
		{ "encryption", s && s->encrypt ? smb2_crypto_cipher_name(s->keys.cipher) : "off" },
		{ "reason", reason ? reason : "" },
		{ "auth", auth_mech(s) },
		{ "transport_security", r->conn->transport_security ? "quic" : "off" },
	};
	server_audit(r->server, id, r->conn->peer, f, ELEMENTSOF(f));
}

/* Drop the session of r (its response is still sent, unsigned). */
static void session_fail(Smb2Request *r, uint32_t status) {
	session_free(r->session);
	r->session = NULL;
	r->status = status;
}

static uint16_t session_cipher(const Conn *c) {
	switch (c->dialect) {
	case SMB2_DIALECT_311:
		return c->cipher;
	case SMB2_DIALECT_300:
	case SMB2_DIALECT_302:
		return (c->server_capabilities & SMB2_GLOBAL_CAP_ENCRYPTION) ? SMB2_CRYPTO_CIPHER_AES128_CCM
									     : SMB2_CRYPTO_CIPHER_NONE;
	default:
		return SMB2_CRYPTO_CIPHER_NONE;
	}
}

/* The authentication succeeded: apply the policy and derive keys. */
static int session_established(Smb2Request *r, const Smb2SessionSetupReq *q, const uint8_t *tok,
			       size_t tok_len) {
	Session *s = r->session;
	Conn *c = r->conn;
	const Config *cfg = r->config;
	const NtlmAuthInfo *info = spnego_server_info(s->auth);
	if (!info)
		return -EPROTO;
	s->anonymous = info->anonymous;
	s->guest = info->guest;
	s->kerberos = info->kerberos;
	s->user = strdup_printf("%s%s%s", info->domain && *info->domain ? info->domain : "",
				info->domain && *info->domain ? "\\" : "", info->user ? info->user : "");
	if (!s->user)
		return -ENOMEM;
	uint16_t flags = 0;

	if (s->anonymous || s->guest || !info->has_session_key) {
		if (!cfg->guest_allowed || cfg->signing_required) {
			audit_session(r, AUDIT_SERVER_GUEST_REFUSED, s->user,
				      cfg->signing_required ? "signing required" : "guest not allowed");
			session_fail(r, NT_STATUS_ACCESS_DENIED);
			return 0;
		}
		flags = s->anonymous ? SMB2_SESSION_FLAG_IS_NULL : SMB2_SESSION_FLAG_IS_GUEST;
	} else {
		uint16_t cipher = session_cipher(c);
		int k = smb2_crypto_derive_keys(&s->keys, c->dialect, c->sign_alg, cipher, true,
						info->session_key, info->session_key_len, s->preauth);
		if (k < 0)
			return k;
		s->has_keys = true;
		s->signing_required = cfg->signing_required ||
				      (q->security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED) ||
				      (c->client_security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED);
		bool can_encrypt = cipher != SMB2_CRYPTO_CIPHER_NONE;
		if (!can_encrypt && cfg->audit_client_no_encryption)
			audit_session(r, AUDIT_SERVER_CLIENT_NO_ENCRYPTION, s->user, "client cannot encrypt");
		/* server.encryption.required is met by QUIC's TLS only when the
		 * client agreed to transport-level security in its NEGOTIATE
		 * ([MS-SMB2] 3.3.5.4, 3.3.5.5.3: Connection.AcceptTransportSecurity);
		 * a QUIC client that did not offer it is encrypted as over TCP. */
		if (cfg->encryption_required && !c->transport_security) {
			if (can_encrypt)
				s->encrypt = true;
			else if (cfg->reject_unencrypted) {
				audit_session(r, AUDIT_SERVER_ENCRYPTION_REFUSED, s->user, "client cannot encrypt");
				session_fail(r, NT_STATUS_ACCESS_DENIED);
				return 0;
			}
		}
		if (!s->signing_required && !s->encrypt && cfg->audit_client_no_signing)
			audit_session(r, AUDIT_SERVER_CLIENT_NO_SIGNING, s->user, "session not signed");
		/* A client may encrypt on its own whenever a cipher exists
		 * ([MS-SMB2] 3.3.5.2.1.1), so the ciphers are set up even when
		 * the policy does not ask for encryption. */
		if (can_encrypt) {
			k = smb3_cipher_new(cipher, s->keys.encrypt_key, s->keys.cipher_key_len, &s->enc);
			if (k >= 0)
				k = smb3_cipher_new(cipher, s->keys.decrypt_key, s->keys.cipher_key_len, &s->dec);
			if (k < 0)
				return k;
		}
		if (s->encrypt)
			flags |= SMB2_SESSION_FLAG_ENCRYPT_DATA;
		/* [MS-SMB2] 3.3.5.5.3: the final response of 3.1.1 is always signed */
		r->sign_with_session = c->dialect == SMB2_DIALECT_311 || s->signing_required ||
				       (r->hdr.flags & SMB2_FLAGS_SIGNED);
	}
	spnego_server_free(s->auth);
	s->auth = NULL;
	s->state = SESSION_VALID;
	conn_authenticated(c);
	audit_session(r, AUDIT_SERVER_SESSION, s->user, NULL);
	return setup_body(r, flags, tok, tok_len);
}

/* A failed authentication: audit, and hold the reply per the rate limiter. */
static int session_auth_failed(Smb2Request *r, int err, const uint8_t *tok, size_t tok_len) {
	const Config *cfg = r->config;
	Conn *c = r->conn;
	const NtlmAuthInfo *info = spnego_server_info(r->session->auth);
	bool kerberos = info && info->kerberos; /* the limiter is for NTLM failures only */
	char user[256]; /* the session (and info) go before the rate limiter's event */
	snprintf(user, sizeof(user), "%s", info && info->user ? info->user : "");
	if (err == -EPERM) {
		audit_session(r, AUDIT_SERVER_GUEST_REFUSED, user,
			      cfg->signing_required ? "anonymous logon: signing required"
						    : "anonymous logon: guest not allowed");
		session_fail(r, NT_STATUS_ACCESS_DENIED);
		return 0;
	}
	const char *reason = err == -ENOENT ? "unknown user" : err == -EACCES ? "wrong password" :
			     err == -EBADMSG ? "malformed token" :
			     err == -EPROTONOSUPPORT ? "LM/NTLMv1 or no common mechanism" : "authentication failed";
	const AuditField f[] = {
		{ "user", user },
		{ "domain", info && info->domain ? info->domain : "" },
		{ "workstation", info && info->workstation ? info->workstation : "" },
		{ "reason", reason },
	};
	server_audit(r->server, AUDIT_SERVER_AUTH_FAILED, c->peer, f, ELEMENTSOF(f));
	session_fail(r, err == -EBADMSG ? NT_STATUS_INVALID_PARAMETER : NT_STATUS_LOGON_FAILURE);
	(void)tok;
	(void)tok_len;
	if ((err == -ENOENT || err == -EACCES) && !kerberos && cfg->ratelimit_delay_ms > 0) {
		uint64_t release;
		int k = ratelimit_failure(r->server->ratelimit, &c->addr, now_mono_usec(),
					  (uint64_t)cfg->ratelimit_delay_ms * 1000, &release);
		if (k < 0)
			return k; /* too many pending failures from this address: drop */
		r->delay_until = release;
		char ms[16];
		snprintf(ms, sizeof(ms), "%u", cfg->ratelimit_delay_ms);
		const AuditField g[] = { { "user", user }, { "delay_ms", ms } };
		server_audit(r->server, AUDIT_SERVER_RATE_LIMITED, c->peer, g, ELEMENTSOF(g));
	}
	return 0;
}

int smb2_session_setup(Smb2Request *r) {
	Conn *c = r->conn;
	Smb2SessionSetupReq q;
	if (smb2_parse_session_setup(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	if (q.flags & SMB2_SESSION_FLAG_BINDING) {
		r->status = NT_STATUS_REQUEST_NOT_ACCEPTED; /* no multichannel */
		return 0;
	}
	Session *s;
	if (r->hdr.session_id == 0) {
		int k = session_new(c, &s);
		if (k == -EMFILE) {
			r->status = NT_STATUS_INSUFFICIENT_RESOURCES;
			return 0;
		}
		if (k < 0)
			return k;
	} else {
		s = session_find(c, r->hdr.session_id);
		if (!s) {
			r->status = NT_STATUS_USER_SESSION_DELETED;
			return 0;
		}
		if (s->state == SESSION_VALID) {
			r->status = NT_STATUS_REQUEST_NOT_ACCEPTED; /* re-authentication is not offered */
			return 0;
		}
	}
	r->session = s;
	r->hdr.session_id = s->id;
	if (c->dialect == SMB2_DIALECT_311) {
		int k = smb2_crypto_preauth_update(s->preauth, r->msg, r->len);
		if (k < 0)
			return k;
	}
	_cleanup_free_ uint8_t *tok = NULL;
	size_t tok_len = 0;
	int k = spnego_server_step(s->auth, q.security.data, q.security.len, &tok, &tok_len);
	if (k == SPNEGO_CONTINUE) {
		r->status = NT_STATUS_MORE_PROCESSING_REQUIRED;
		if (c->dialect == SMB2_DIALECT_311)
			r->preauth_response = s->preauth;
		return setup_body(r, 0, tok, tok_len);
	}
	if (k == 0)
		return session_established(r, &q, tok, tok_len);
	if (k == -ENOMEM || k == -EIO)
		return k;
	return session_auth_failed(r, k, tok, tok_len);
}

int smb2_logoff(Smb2Request *r) {
	if (smb2_parse_empty(SMB2_LOGOFF, r->msg, r->len) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	/* The session goes once its (signed) response is built. */
	r->logoff = true;
	uint8_t *p = smb2_buf_extend(r->out, 4);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 4);
	return 0;
}
