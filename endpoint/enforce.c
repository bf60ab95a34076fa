/*
 * enforce.c - policy enforcement on every request of an established
 * session: encryption (server.encryption.required + reject-unencrypted) and
 * signing (server.signing.required), [MS-SMB2] 3.3.5.2.4 and 3.3.5.2.9.
 *
 * Called by the dispatcher after the session lookup and before the tree
 * lookup and the handler, so no handler ever runs for a refused request.
 *
 * Invariants: a request that arrived inside a TRANSFORM_HEADER is already
 * authenticated (the AEAD tag was checked when it was decrypted); any
 * other request of a signing session must carry a valid signature; a
 * request whose signature is present is always checked, required or not.
 * Must never: answer a refused request with anything but ACCESS_DENIED, or
 * refuse without emitting the audit event.
 */
#include "server.h"

static void audit_refusal(Smb2Request *r, AuditEventId id, const char *reason) {
	const AuditField f[] = {
		{ "user", r->session->user ? r->session->user : "" },
		{ "command", smb2_command_name(r->hdr.command) },
		{ "dialect", smb2_dialect_to_string(r->conn->dialect) },
		{ "reason", reason },
	};
	server_audit(r->server, id, r->conn->peer, f, ELEMENTSOF(f));
}

uint32_t enforce_request(Smb2Request *r) {
	Session *s = r->session;
	if (r->encrypted) {
		/* The transform authenticates the request for its own session
		 * only: another session's key must not stand in for this one's
		 * signature ([MS-SMB2] 3.3.5.2.9). */
		if (r->transform_session != s) {
			audit_refusal(r, AUDIT_SERVER_SIGNING_REFUSED, "encrypted for another session");
			return NT_STATUS_ACCESS_DENIED;
		}
		return NT_STATUS_OK;
	}
	if (s->encrypt && r->config->reject_unencrypted) {
		audit_refusal(r, AUDIT_SERVER_ENCRYPTION_REFUSED, "unencrypted request");
		return NT_STATUS_ACCESS_DENIED;
	}
	if (r->hdr.flags & SMB2_FLAGS_SIGNED) {
		if (!s->has_keys || smb2_crypto_verify(&s->keys, r->msg, r->len) < 0) {
			audit_refusal(r, AUDIT_SERVER_SIGNING_REFUSED, "bad signature");
			return NT_STATUS_ACCESS_DENIED;
		}
	} else if (s->signing_required) {
		audit_refusal(r, AUDIT_SERVER_SIGNING_REFUSED, "unsigned request");
		return NT_STATUS_ACCESS_DENIED;
	}
	return NT_STATUS_OK;
}
