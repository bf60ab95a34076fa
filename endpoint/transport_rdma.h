/*
 * transport_rdma.h - SMB Direct server transport: an RDMA stack
 * (smbd_qp.h: verbs by default, libfabric with --rdma-provider NAME) bound
 * to the SMB Direct layer (smbdirect.h).
 *
 * Worker 0 serves every `--listen rdma:ADDR:PORT` (verbs: an RDMA CM
 * listener, iWARP port space TCP, default port 5445; libfabric: a passive
 * endpoint of the provider); each accepted queue pair runs an SmbdConn
 * whose upper-layer messages are bridged (smbd_bridge.h) to an ordinary
 * Conn through a socketpair (framed as Direct TCP), so the SMB2 machinery
 * is the one TCP uses.  Without an RDMA device (or without the named
 * provider) the listen address is reported ("no RDMA device") and left
 * out; the other transports keep serving.
 *
 * Invariants: a connection request while server.transport.rdma.enabled is
 * false is rejected; completions are reaped on the worker's own loop; a
 * Conn's smbd link is cleared before its SmbdConn is freed.
 * Must never: block the event loop waiting for a peer (only for the
 * completion of an RDMA read/write already posted, bounded by a timeout).
 */
#pragma once

#include "server.h"
#include "smbdirect.h"

#define RDMA_CHANNEL_MAX_DESC 16 /* buffer descriptors accepted per READ/WRITE */

/* The RDMA channel of an SMB2 READ or WRITE ([MS-SMB2] 2.2.19, 2.2.21,
 * 3.3.5.12, 3.3.5.13; [MS-SMBD] 2.2.3.1): n descriptors for length bytes
 * (READ: Length, WRITE: RemainingBytes); n = 0 for SMB2_CHANNEL_NONE. */
typedef struct RdmaChannel {
	SmbdBufferDesc desc[RDMA_CHANNEL_MAX_DESC];
	size_t n;
	uint32_t length;
} RdmaChannel;
/* NT_STATUS_OK, or NT_STATUS_INVALID_PARAMETER: an RDMA channel over TCP
 * or QUIC, one the dialect lacks (_INVALIDATE before 3.0.2), an unknown
 * channel, or a bad descriptor list. */
uint32_t transport_rdma_channel(const Smb2Request *r, RdmaChannel *ret);
/* WRITE: pull the channel's bytes from the client into *ret (caller frees).
 * READ: push len (<= ch->length: a short read) bytes to the client.
 * 0, or -EINVAL (the caller answers STATUS_INVALID_PARAMETER), -ENOMEM; a
 * transfer error drops the SMB Direct connection. */
int transport_rdma_pull(const Smb2Request *r, const RdmaChannel *ch, uint8_t **ret);
int transport_rdma_push(const Smb2Request *r, const RdmaChannel *ch, const uint8_t *src, size_t len);

/* Does this --listen address belong to SMB Direct ("rdma:ADDR:PORT")?
 * Strips the prefix into *ret_rest. */
bool transport_rdma_is_listen(const char *text, const char **ret_rest);
/* Set up the RDMA listeners (worker 0 only; other workers: nothing).
 * A listen address that cannot be served is reported on stderr and marked
 * down; only a failure to allocate is returned (-errno). */
int transport_rdma_attach(Worker *w);
/* Close every SMB Direct connection and listener of the worker. */
void transport_rdma_detach(Worker *w);
