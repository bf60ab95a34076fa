/*
 * rdma_client.h - the SMB Direct ([MS-SMBD]) client transport of the
 * reference client (client.c): an RDMA stack's queue pair (smbd_qp.h),
 * the SMB Direct negotiate, then a small thread that bridges the
 * connection to one end of a socketpair (smbd_bridge.h), so the caller
 * reads and writes the other end exactly as it would a TCP socket to port
 * 445, 4-byte framing included.  Large READ/WRITE go around the socket:
 * the caller registers its buffer (rdma_client_register) and hands the
 * descriptor to the server in the request's channel info.
 *
 * Stacks: "verbs" (librdmacm/libibverbs, an RDMA NIC) by default; the
 * "ofi" stack (libfabric) when a provider is named ("tcp": real RDMA
 * reads and writes over ordinary sockets, for machines without an RDMA
 * NIC; not wire-compatible with Windows).
 *
 * Invariants: the socket is returned only once the SMB Direct negotiate
 * completed; after that only the bridge thread drives the queue pair,
 * except register/deregister (smbd_qp.h allows those from any thread).
 * Must never: log; let the peer reach memory after it was deregistered
 * (callers deregister before they free).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "smbdirect.h"

typedef struct RdmaClient RdmaClient;

/* What the SMB Direct negotiate settled ([MS-SMBD] 3.1.1.1), for the
 * caller's I/O sizes and for the probe. */
typedef struct RdmaClientInfo {
	char stack[8];                 /* "verbs" or "ofi" */
	char provider[32];             /* the ofi stack's libfabric provider, "" for verbs */
	uint32_t max_read_write_size;  /* largest RDMA transfer per READ/WRITE (the server's) */
	uint32_t max_send_size;        /* per SMB Direct message we send */
	uint32_t max_receive_size;     /* per message we receive */
	uint32_t max_fragmented_send;  /* largest upper-layer message the server reassembles */
	uint32_t max_fragmented_receive; /* largest one we reassemble */
	uint16_t send_credits;         /* granted by the server's negotiate response */
	uint16_t receive_credits;      /* receive buffers we posted */
} RdmaClientInfo;

/* Connect to addr with the verbs stack (provider NULL or "") or the ofi
 * stack with that libfabric provider; timeout_ms bounds the connection and
 * the SMB Direct negotiate.  On success *ret_fd is the caller's stream
 * socket (the caller closes it) and *ret the handle to free after that.
 * Errors: -ENODEV (no RDMA device, or no such provider: see
 * rdma_client_error_hint), -ECONNREFUSED, -ETIMEDOUT, -EPROTO (the
 * server refused the negotiate), -ENOMEM, -errno. */
int rdma_client_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
			unsigned timeout_ms, RdmaClient **ret, int *ret_fd, RdmaClientInfo *ret_info);
/* Stop the bridge thread (after the caller closed its fd) and free. */
void rdma_client_free(RdmaClient *rc);

/* Register len bytes at buf for the server: SMBD_ACCESS_REMOTE_WRITE for
 * a READ (the server writes into it), _READ for a WRITE.  *ret is the
 * buffer descriptor V1 for the request's channel info.  -ENOTCONN once
 * the connection is gone, -errno. */
int rdma_client_register(RdmaClient *rc, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret);
int rdma_client_deregister(RdmaClient *rc, const SmbdBufferDesc *d);

/* What to tell the user about error r of rdma_client_connect (one
 * sentence, no trailing period); NULL when strerror says it all. */
const char *rdma_client_error_hint(int r, const char *provider);
