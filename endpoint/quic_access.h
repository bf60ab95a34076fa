/*
 * quic_access.h - SMB over QUIC certificate policy: the client-certificate
 * access decision (server.quic.client-access.allow / .block) and the check
 * of the server's own certificate (server.quic.certificate).
 *
 * Both are pure functions over DER bytes and string lists: no I/O, no
 * TLS session, no global state, so they are unit tested and fuzzed alone.
 * transport_quic.c calls them from the GnuTLS verify callback and at start.
 *
 * The decision ([Windows] Grant-/Block-SmbClientAccessToServer semantics):
 *   - no certificate: denied;
 *   - the chain must be consistent: certificate i is issued and signed by
 *     certificate i+1 (else error, which denies);
 *   - a block entry matching any chain certificate denies;
 *   - the leaf must carry EKU clientAuth (1.3.6.1.5.5.7.3.2);
 *   - otherwise at least one allow entry must match some chain certificate.
 * Entries: "sha256:<64 hex>" matches a certificate whose DER hashes to it
 * (what `openssl x509 -fingerprint -sha256` prints, colons optional);
 * "issuer:<DN>" matches a certificate whose issuer, written as RFC 4514
 * (`openssl x509 -issuer -nameopt RFC2253`), is that DN, compared ASCII
 * case-insensitively and ignoring blanks around separators.  An issuer
 * entry is only as strong as the CA behind that name: nothing here knows a
 * trust store, so pair it with the CA's sha256 entry where it matters.
 *
 * Invariants: every verdict other than ALLOWED denies; the decision names
 * every entry that matched (for audit events 3007/3008).
 * Must never: allow on an error; read files; log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_event.h"

typedef enum QuicAccessVerdict {
	QUIC_ACCESS_ALLOWED,
	QUIC_ACCESS_DENIED,
	QUIC_ACCESS_ERROR,
} QuicAccessVerdict;

typedef struct QuicDer {
	const uint8_t *data;
	size_t len;
} QuicDer;

typedef struct QuicCertInfo {
	char *subject; /* RFC 4514 */
	char *issuer;  /* RFC 4514 */
	char *serial;  /* upper-case hex */
	char sha1[41];
	char sha256[65];
} QuicCertInfo;

typedef struct QuicAccessDecision {
	QuicAccessVerdict verdict;
	const char *reason; /* static English sentence */
	QuicCertInfo *certs; /* one per parsed chain certificate, leaf first */
	size_t n_certs;
	char **matched; /* strv: the allow or block entries that matched */
} QuicAccessDecision;

/* Decide on the client chain (leaf first) against the allow and block
 * lists (strv, may be NULL).  Fills *ret (release with
 * quic_access_decision_done); returns 0, or -ENOMEM (then *ret holds
 * nothing and the caller must deny). */
int quic_access_decide(const QuicDer *chain, size_t n, char *const *allow, char *const *block,
		       QuicAccessDecision *ret);
void quic_access_decision_done(QuicAccessDecision *d);

/* The audit fields of a decision: reason, matched, connection_id, and per
 * chain certificate certN_subject/_issuer/_serial/_sha1/_sha256.  The
 * strings stay owned by d (and connection_id by the caller); *ret is one
 * malloc'd array to free().  Returns the count or -ENOMEM. */
int quic_access_audit_fields(const QuicAccessDecision *d, const char *connection_id, char **ret_matched,
			     AuditField **ret);

/* Is der acceptable as the SMB over QUIC server certificate: ECDSA P-256,
 * P-384 or P-521, or RSA >= 2048 bits, with EKU serverAuth?  Returns 0, or
 * -EINVAL with *ret_reason (static) saying what is wrong. */
int quic_access_check_server_cert(const uint8_t *der, size_t len, const char **ret_reason);

/* Normalised RFC 4514 DN comparison used for issuer entries. */
bool quic_access_dn_equal(const char *a, const char *b);
