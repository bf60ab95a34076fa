/*
 * client_policy.c - the client settings of a resolved policy (one table:
 * setting id -> ClientPolicy field + value parser) and their enforcement
 * around the client library's connect / negotiate / session setup.
 *
 * Order of checks (each refusal names its setting):
 *   transport   client.quic.enabled, client.quic.servers refuse before
 *               any packet; a QUIC connection is audited (client.audit.quic,
 *               event 30832) once its handshake completed;
 *   port        client.ports.alternate.mappings picks the port when none
 *               was given (the first mapping for the server and transport);
 *               a port other than the transport's default (TCP 445, QUIC
 *               443, RDMA 5445) needs client.ports.alternate.allowed and,
 *               when listed, client.ports.alternate.servers;
 *   negotiate   only dialects within client.dialect.min..max are offered
 *               (3.x only under client.encryption.required, 3.1.1 only
 *               over QUIC);
 *               client.encryption.required refuses a server without a
 *               cipher; client.audit.server-no-encryption audits it;
 *   auth        client.ntlm.block (unless client.ntlm.exceptions lists the
 *               server): Kerberos only; client.guest.insecure-logons
 *               refuses a guest session; client.signing.required refuses a
 *               session without keys; client.audit.server-no-signing.
 * client.mailslots.enabled needs nothing: the client has no NetBIOS or
 * mailslot code, so it never sends such traffic (see client_policy.h).
 *
 * Must never: invent defaults (the catalog's come through
 * policy_effective_values); log (refusals go back in ClientRefusal and to
 * the audit emitter; the caller prints).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>
#include <strings.h>

#include "catalog.h"
#include "client_policy.h"
#include "crypto.h"
#include "policy.h"
#include "quic_client.h"
#include "rdma_client.h"
#include "setting_value.h"

/* ---- the settings table -------------------------------------------------- */

#define S(id, field, parser) { id, offsetof(ClientPolicy, field), parser }
static const SettingField setting_table[] = {
	S("client.signing.required", signing_required, setting_value_bool),
	S("client.encryption.required", encryption_required, setting_value_bool),
	S("client.dialect.min", dialect_min, setting_value_dialect),
	S("client.dialect.max", dialect_max, setting_value_dialect),
	S("client.guest.insecure-logons", guest_insecure_logons, setting_value_bool),
	S("client.ntlm.block", ntlm_block, setting_value_bool),
	S("client.ntlm.exceptions", ntlm_exceptions, setting_value_strv),
	S("client.ports.alternate.allowed", ports_alternate_allowed, setting_value_bool),
	S("client.ports.alternate.servers", ports_alternate_servers, setting_value_strv),
	S("client.ports.alternate.mappings", ports_alternate_mappings, setting_value_strv),
	S("client.quic.enabled", quic_enabled, setting_value_bool),
	S("client.quic.servers", quic_servers, setting_value_strv),
	S("client.mailslots.enabled", mailslots_enabled, setting_value_bool),
	S("client.audit.server-no-signing", audit_server_no_signing, setting_value_bool),
	S("client.audit.server-no-encryption", audit_server_no_encryption, setting_value_bool),
	S("client.audit.quic", audit_quic, setting_value_bool),
};
#undef S

/* The setting ids the checks below name (rows of the table). */
enum {
	SET_SIGNING, SET_ENCRYPTION, SET_DIALECT_MIN, SET_DIALECT_MAX, SET_GUEST, SET_NTLM_BLOCK,
	SET_NTLM_EXCEPTIONS, SET_ALT_ALLOWED, SET_ALT_SERVERS, SET_ALT_MAPPINGS, SET_QUIC_ENABLED,
	SET_QUIC_SERVERS, SET_MAILSLOTS, SET_AUDIT_SIGNING, SET_AUDIT_ENCRYPTION, SET_AUDIT_QUIC,
};
_Static_assert(ELEMENTSOF(setting_table) == SET_AUDIT_QUIC + 1, "one enum value per table row");
#define SETTING(i) (setting_table[i].id)

void client_policy_free(ClientPolicy *p) {
	if (!p)
		return;
	strv_free(p->ntlm_exceptions);
	strv_free(p->ports_alternate_servers);
	strv_free(p->ports_alternate_mappings);
	strv_free(p->quic_servers);
	free(p);
}

int client_policy_load(const char *path, ClientPolicy **ret) {
	_cleanup_(catalog_freep) Catalog *cat = NULL;
	_cleanup_(policy_freep) Policy *pol = NULL;
	_cleanup_free_ char ***values = NULL;
	int r = catalog_load_default(&cat);
	if (r < 0)
		return r;
	if (path) {
		r = setting_value_read_policy(cat, path, &pol, &values);
		if (r < 0)
			return r;
	}
	_cleanup_(client_policy_freep) ClientPolicy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = setting_value_apply(setting_table, ELEMENTSOF(setting_table), cat, values, p,
				path ? path : "catalog", "the client");
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static bool host_resolves_to(const char *host, const char *addr) {
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai = NULL;
	unsigned char bin[16];
	if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
		return false;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return false;
	bool found = false;
	for (struct addrinfo *a = ai; a && !found; a = a->ai_next) {
		char text[INET6_ADDRSTRLEN];
		const void *src = a->ai_family == AF_INET
					  ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
					  : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
		if (inet_ntop(a->ai_family, src, text, sizeof(text)))
			found = strcasecmp(text, addr) == 0;
	}
	freeaddrinfo(ai);
	return found;
}

bool client_policy_host_listed(char *const *list, const char *host) {
	size_t label = strcspn(host, ".");
	STRV_FOREACH(item, list) {
		if (strcasecmp(*item, host) == 0)
			return true;
		if (strlen(*item) == label && strncasecmp(*item, host, label) == 0 &&
		    inet_pton(AF_INET, host, (unsigned char[4]){}) != 1)
			return true; /* NetBIOS name of an FQDN */
		if (host_resolves_to(host, *item))
			return true;
	}
	return false;
}

/* Default port of each transport, and its name in port mappings. */
static const struct {
	const char *name;
	uint16_t port;
} transports[] = {
	[SMB_TRANSPORT_TCP] = { "tcp", 445 },
	[SMB_TRANSPORT_QUIC] = { "quic", 443 },
	[SMB_TRANSPORT_RDMA] = { "rdma", 5445 },
};
_Static_assert(ELEMENTSOF(transports) == SMB_TRANSPORT_RDMA + 1, "a row per transport");

/* Port of the first mapping "server:transport:port" whose server matches
 * host and whose transport is the one used; 0 when none. */
static uint16_t mapped_port(const ClientPolicy *p, const char *host, SmbTransportKind kind) {
	STRV_FOREACH(m, p->ports_alternate_mappings) {
		const char *c2 = strrchr(*m, ':');
		if (!c2 || c2 == *m)
			continue;
		const char *c1 = c2 - 1;
		while (c1 > *m && *c1 != ':')
			c1--;
		if (c1 == *m)
			continue;
		_cleanup_free_ char *server = strndup(*m, (size_t)(c1 - *m));
		_cleanup_free_ char *transport = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		char *one[] = { server, NULL };
		long long port;
		if (!server || !transport || !streq(transport, transports[kind].name) ||
		    parse_int64(c2 + 1, &port) < 0 || port < 1 || port > 65535)
			continue;
		if (client_policy_host_listed(one, host))
			return (uint16_t)port;
	}
	return 0;
}

static int refuse(ClientRefusal *why, AuditEmitter *audit, const char *host, size_t setting,
		  AuditEventId extra, const char *fmt, ...) _printf_(6, 7);
static int refuse(ClientRefusal *why, AuditEmitter *audit, const char *host, size_t setting,
		  AuditEventId extra, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	why->setting = SETTING(setting);
	vsnprintf(why->message, sizeof(why->message), fmt, ap);
	va_end(ap);
	if (audit) {
		AuditField f[] = { { "setting", why->setting }, { "server", host }, { "reason", why->message } };
		if (extra)
			audit_emit(audit, extra, host, f, ELEMENTSOF(f));
		audit_emit(audit, AUDIT_CLIENT_SETTING_REFUSED, host, f, ELEMENTSOF(f));
	}
	return -EPERM;
}

static int failed(ClientRefusal *why, int r, const char *what) {
	why->setting = NULL;
	snprintf(why->message, sizeof(why->message), "%s: %s", what, strerror(-r));
	return r;
}

/* client.audit.quic: event 30832 for an SMB over QUIC connection. */
static void audit_quic(AuditEmitter *audit, bool enabled, const SmbClient *c, const char *host, uint16_t port) {
	const QuicClientInfo *q = smb_client_quic_info(c);
	if (!audit || !enabled || !q)
		return;
	char port_text[8];
	snprintf(port_text, sizeof(port_text), "%u", port);
	AuditField f[] = { { "server", host },		      { "port", port_text },
			   { "tls_version", q->tls_version }, { "cipher", q->cipher },
			   { "alpn", q->alpn },		      { "server_cert_sha256", q->server_sha256 } };
	audit_emit(audit, AUDIT_CLIENT_QUIC_CONNECTION, host, f, ELEMENTSOF(f));
}

static void audit_server(AuditEmitter *audit, bool enabled, AuditEventId id, const char *host,
			 const char *dialect) {
	if (!audit || !enabled)
		return;
	AuditField f[] = { { "server", host }, { "dialect", dialect } };
	audit_emit(audit, id, host, f, ELEMENTSOF(f));
}

/* ---- connect under the policy --------------------------------------------------- */

static int choose_port(const ClientPolicy *p, const ClientConnectParams *cp, AuditEmitter *audit,
		       uint16_t *ret, ClientRefusal *why) {
	uint16_t def = transports[cp->transport].port;
	uint16_t port = cp->port ? cp->port : mapped_port(p, cp->host, cp->transport);
	if (!port)
		port = def;
	if (port != def) {
		if (!p->ports_alternate_allowed)
			return refuse(why, audit, cp->host, SET_ALT_ALLOWED, 0,
				      "port %u is an alternative port and alternative ports are not allowed", port);
		if (p->ports_alternate_servers && p->ports_alternate_servers[0] &&
		    !client_policy_host_listed(p->ports_alternate_servers, cp->host))
			return refuse(why, audit, cp->host, SET_ALT_SERVERS, 0,
				      "alternative port %u is allowed only to listed servers; %s is not one",
				      port, cp->host);
	}
	*ret = port;
	return 0;
}

static int check_transport(const ClientPolicy *p, const ClientConnectParams *cp, AuditEmitter *audit,
			   ClientRefusal *why) {
	if (cp->transport != SMB_TRANSPORT_QUIC)
		return 0;
	if (!p->quic_enabled)
		return refuse(why, audit, cp->host, SET_QUIC_ENABLED, 0, "SMB over QUIC is disabled");
	if (p->quic_servers && p->quic_servers[0] && !client_policy_host_listed(p->quic_servers, cp->host))
		return refuse(why, audit, cp->host, SET_QUIC_SERVERS,
			      0, "SMB over QUIC is allowed only to listed servers; %s is not one", cp->host);
	return 0;
}

int client_policy_connect(const ClientPolicy *p, const ClientConnectParams *cp, AuditEmitter *audit,
			  SmbClient **ret, SmbSessionInfo *ret_session, ClientRefusal *why) {
	static const uint16_t dialects[] = { SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300,
					     SMB2_DIALECT_302, SMB2_DIALECT_311 };
	*why = (ClientRefusal){};
	int r = check_transport(p, cp, audit, why);
	if (r < 0)
		return r;
	uint16_t port = 0;
	r = choose_port(p, cp, audit, &port, why);
	if (r < 0)
		return r;

	uint16_t offer[ELEMENTSOF(dialects)];
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(dialects); i++)
		if (dialects[i] >= p->dialect_min && dialects[i] <= p->dialect_max &&
		    (!p->encryption_required || dialects[i] >= SMB2_DIALECT_300) &&
		    (cp->transport != SMB_TRANSPORT_QUIC || dialects[i] == SMB2_DIALECT_311))
			offer[n++] = dialects[i];
	if (n == 0)
		return refuse(why, audit, cp->host, p->encryption_required ? SET_ENCRYPTION : SET_DIALECT_MAX, 0,
			      "no dialect is left to offer");

	_cleanup_(smb_client_freep) SmbClient *c = NULL;
	SmbConnectOptions co = { .timeout_ms = cp->timeout_ms ? cp->timeout_ms : 30000,
				 .rdma_provider = cp->rdma_provider };
	r = smb_client_connect_opts(cp->transport, cp->host, cp->address, port, &co, &c);
	const char *hint = cp->transport == SMB_TRANSPORT_RDMA
				   ? rdma_client_error_hint(r, smb_client_rdma_provider(&co)) : NULL;
	if (hint) {
		why->setting = NULL;
		snprintf(why->message, sizeof(why->message), "connect: %s", hint);
		return r;
	}
	if (r < 0)
		return failed(why, r, "connect");
	audit_quic(audit, p->audit_quic, c, cp->host, port);
	SmbNegotiateParams np = { .dialects = offer, .n_dialects = n,
				  .signing_required = p->signing_required };
	SmbNegotiateInfo ni;
	r = smb_client_negotiate(c, &np, &ni);
	if (r == -EREMOTEIO || r == -ECONNRESET)
		return refuse(why, audit, cp->host,
			      p->encryption_required && p->dialect_min < SMB2_DIALECT_300 ? SET_ENCRYPTION
											  : SET_DIALECT_MIN,
			      0, "the server accepts no dialect in %s..%s%s",
			      smb2_dialect_to_string(offer[0]), smb2_dialect_to_string(offer[n - 1]),
			      p->encryption_required ? " (3.x only: client.encryption.required)" : "");
	if (r < 0)
		return failed(why, r, "negotiate");
	const char *dialect = smb2_dialect_to_string(ni.dialect);
	if (ni.cipher == SMB2_CRYPTO_CIPHER_NONE) {
		audit_server(audit, p->audit_server_no_encryption, AUDIT_CLIENT_SERVER_NO_ENCRYPTION, cp->host,
			     dialect);
		if (p->encryption_required)
			return refuse(why, audit, cp->host, SET_ENCRYPTION, 0,
				      "the server (dialect %s) does not offer SMB encryption", dialect);
	}

	SmbAuthParams a = cp->auth;
	bool ntlm_blocked = p->ntlm_block && !client_policy_host_listed(p->ntlm_exceptions, cp->host);
	a.ntlm_allowed = !ntlm_blocked;
	a.kerberos = cp->kerberos || ntlm_blocked;
	SmbSessionInfo si;
	r = smb_client_session_setup(c, &a, p->encryption_required, &si);
	if (r < 0 && ntlm_blocked)
		return refuse(why, audit, cp->host, SET_NTLM_BLOCK, AUDIT_CLIENT_NTLM_BLOCKED,
			      "NTLM is blocked for %s (not in client.ntlm.exceptions) and Kerberos failed: %s",
			      cp->host, *smb_client_auth_error(c) ? smb_client_auth_error(c)
			      : r == -EPROTONOSUPPORT ? "no Kerberos credentials for cifs/HOST, or the server offers no Kerberos"
						      : strerror(-r));
	if (r == -EPROTONOSUPPORT && p->encryption_required)
		return refuse(why, audit, cp->host, SET_ENCRYPTION, 0, "the session cannot be encrypted");
	if (r < 0) {
		char buf[16];
		why->setting = NULL;
		snprintf(why->message, sizeof(why->message), "session setup: %s%s%s",
			 r == -EACCES || r == -EREMOTEIO ? smb_status_name(smb_client_last_status(c), buf)
							 : strerror(-r),
			 *smb_client_auth_error(c) ? ": " : "", smb_client_auth_error(c));
		return r;
	}
	bool guest = si.flags & SMB2_SESSION_FLAG_IS_GUEST;
	if (guest && !p->guest_insecure_logons)
		return refuse(why, audit, cp->host, SET_GUEST, AUDIT_CLIENT_INSECURE_GUEST_REFUSED,
			      "the server offered an insecure guest logon");
	if (guest && audit) {
		AuditField f[] = { { "server", cp->host } };
		audit_emit(audit, AUDIT_CLIENT_INSECURE_GUEST_USED, cp->host, f, ELEMENTSOF(f));
	}
	if (!si.signing && !si.encrypting) {
		audit_server(audit, p->audit_server_no_signing, AUDIT_CLIENT_SERVER_NO_SIGNING, cp->host, dialect);
		if (p->signing_required)
			return refuse(why, audit, cp->host, SET_SIGNING, 0,
				      "the session cannot be signed (%s session)",
				      guest ? "guest" : "anonymous");
	}
	*ret = TAKE_PTR(c);
	if (ret_session)
		*ret_session = si;
	return 0;
}
