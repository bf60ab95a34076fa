/*
 * probe.h - measure over the wire what an SMB server really enforces, with
 * the reference client: dialects, signing, ciphers, encryption mandate and
 * refusal of unencrypted access, guest and anonymous sessions, NTLM, the
 * delay after a failed login, SMB over QUIC and SMB Direct; and compare
 * the measurements with the server settings of a resolved policy.
 *
 * Each measurement uses its own connection, so a server that drops a
 * connection after a refused request does not spoil the next one.  A
 * measurement that could not be made (no credentials, nothing to compare)
 * is PROBE_UNKNOWN and never counts as a difference.
 *
 * Must never: log (the CLI prints); send anything but SMB2/3 to the server
 * (no SMB1, no NetBIOS); retry a failed login (the rate limiter is timed
 * on exactly one failure).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"

typedef enum ProbeTri {
	PROBE_UNKNOWN = -1,
	PROBE_NO = 0,
	PROBE_YES = 1,
} ProbeTri;

#define PROBE_N_DIALECTS 5
#define PROBE_N_CIPHERS 4

typedef struct ProbeParams {
	const char *host;
	uint16_t port;          /* 0 = 445 */
	const char *share;      /* may be NULL: no tree connect measurements */
	const char *user;       /* NULL: no authenticated measurements */
	const char *password;
	uint16_t quic_port;     /* 0: SMB over QUIC not probed */
	uint16_t rdma_port;     /* 0: SMB Direct not probed */
	const char *rdma_provider; /* SMB Direct through this libfabric provider; NULL: verbs (an RDMA NIC) */
	unsigned timeout_ms;
} ProbeParams;

typedef struct ProbeResult {
	ProbeTri dialect[PROBE_N_DIALECTS];   /* 2.0.2 2.1 3.0 3.0.2 3.1.1 */
	ProbeTri cipher[PROBE_N_CIPHERS];     /* aes-128-ccm aes-128-gcm aes-256-ccm aes-256-gcm (3.1.1) */
	unsigned cipher_order[PROBE_N_CIPHERS]; /* accepted ones, server's preference first */
	unsigned n_cipher_order;              /* 0: not measured */
	ProbeTri signing_required;            /* NEGOTIATE SecurityMode */
	ProbeTri unsigned_refused;            /* unsigned request after session setup */
	ProbeTri ntlm_accepted;               /* NTLMv2 logon with the credentials */
	ProbeTri encryption_required;         /* session or share asks for encryption */
	ProbeTri unencrypted_refused;         /* unencrypted request refused (ACCESS_DENIED) */
	ProbeTri guest_allowed;               /* unknown user mapped to guest */
	ProbeTri anonymous_allowed;           /* anonymous (null) session */
	int failed_login_delay_ms;            /* -1 unknown */
	ProbeTri quic;                        /* a QUIC handshake (TLS 1.3, ALPN smb) completes */
	ProbeTri quic_client_cert_required;   /* without a client certificate SMB is refused */
	char quic_tls_version[16], quic_alpn[16], quic_cipher[32];
	ProbeTri rdma;                        /* SMB Direct negotiate (and an SMB2 NEGOTIATE over it) on rdma_port */
	uint16_t rdma_port;                   /* the port probed, 0: not probed */
	uint16_t rdma_dialect;                /* what SMB2 negotiated over SMB Direct, 0: none */
	char rdma_stack[8], rdma_provider[32];
	uint32_t rdma_max_read_write_size, rdma_max_send_size, rdma_max_receive_size, rdma_max_fragmented_size;
	uint16_t rdma_send_credits, rdma_receive_credits;
	char rdma_error[160];                 /* why SMB Direct could not be measured here (no RDMA device) */
	char error[256];                      /* why the basic connection failed, "" when it did not */
} ProbeResult;

/* Names of the dialect / cipher slots, in the policy's spelling. */
const char *probe_dialect_name(unsigned i);
const char *probe_cipher_name(unsigned i);

/* Run every measurement.  Returns 0 (results, some maybe unknown) or
 * -errno when the server cannot be reached at all (r->error says why). */
int probe_run(const ProbeParams *p, ProbeResult *r);

/* One-line JSON object / human text (malloc'd). */
int probe_to_json(const ProbeResult *r, char **ret);
int probe_to_text(const ProbeResult *r, char **ret);

/* Compare with the server settings of a policy document.  Every setting
 * whose measured value differs is added to diff (setting id, expected and
 * observed in the message).  Returns the number of differences, or -errno
 * (policy invalid: reported in diff with file and line). */
int probe_compare(const ProbeResult *r, const char *policy_path, DiagList *diff);
