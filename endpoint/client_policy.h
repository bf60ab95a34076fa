/*
 * client_policy.h - the client settings of a resolved policy, enforced by
 * the reference client while it connects: transport and port choice,
 * dialect range, encryption and signing mandates, NTLM blocking with
 * exceptions (Kerberos instead), insecure guest logons, and the client
 * audit events.
 *
 * Invariants: every refusal names the one setting that caused it (in
 * ClientRefusal.setting, an id from the settings table of
 * client_policy.c) and, with an emitter, is audited as setting-refused
 * (plus the specific event where Windows has one).  The client never sends
 * mailslot or browse traffic whatever client.mailslots.enabled says: it has
 * no NetBIOS code at all, so the setting can only be honoured.
 * Must never: invent a default (defaults are the catalog's); fall back to
 * NTLM for a server the policy blocks NTLM to.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "audit_event.h"
#include "client.h"

typedef struct ClientPolicy {
	bool signing_required;
	bool encryption_required;
	uint16_t dialect_min, dialect_max;
	bool guest_insecure_logons;
	bool ntlm_block;
	char **ntlm_exceptions;
	bool ports_alternate_allowed;
	char **ports_alternate_servers;
	char **ports_alternate_mappings; /* server:tcp|quic|rdma:port */
	bool quic_enabled;
	char **quic_servers;
	bool mailslots_enabled;          /* honoured by having no mailslot code */
	bool audit_server_no_signing;
	bool audit_server_no_encryption;
	bool audit_quic;
} ClientPolicy;

/* From a policy document (e.g. `smbpolicy rsop HOST --xml`); path NULL:
 * the catalog defaults.  Diagnostics go to stderr (file, line, setting).
 * Returns 0, -EINVAL (invalid policy or value), -ENOMEM, -errno. */
int client_policy_load(const char *path, ClientPolicy **ret);
void client_policy_free(ClientPolicy *p);
static inline void client_policy_freep(ClientPolicy **p) {
	if (*p)
		client_policy_free(*p);
}

typedef struct ClientConnectParams {
	const char *host;           /* the server's name (exceptions, lists, Kerberos) */
	const char *address;        /* where to connect; NULL: host */
	uint16_t port;              /* 0: from client.ports.alternate.mappings, else 445 (QUIC 443, RDMA 5445) */
	SmbTransportKind transport;
	const char *rdma_provider;  /* SMB Direct over libfabric's provider (smb_client_connect_opts) */
	SmbAuthParams auth;         /* ntlm_allowed/kerberos are set by the policy */
	bool kerberos;              /* the user asks for Kerberos */
	unsigned timeout_ms;
} ClientConnectParams;

typedef struct ClientRefusal {
	const char *setting;        /* setting id, NULL when the failure is not a policy refusal */
	char message[512];
} ClientRefusal;

/* Is host (as the user named it) in list?  Items are IPs, NetBIOS names or
 * FQDNs: equal ignoring case, equal to host's first label (NetBIOS), or an
 * address host resolves to. */
bool client_policy_host_listed(char *const *list, const char *host);

/* Connect, negotiate and authenticate under the policy.  On a policy
 * refusal returns -EPERM with *why naming the setting; on other failures
 * -errno with why->setting NULL and why->message saying what failed.
 * audit may be NULL.  *ret_session (may be NULL) describes the session. */
int client_policy_connect(const ClientPolicy *p, const ClientConnectParams *cp, AuditEmitter *audit,
			  SmbClient **ret, SmbSessionInfo *ret_session, ClientRefusal *why);
