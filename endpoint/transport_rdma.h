/*
 * transport_rdma.h - SMB Direct server transport: librdmacm/libibverbs
 * bound to the SMB Direct layer (smbdirect.h).
 *
 * Worker 0 serves every `--listen rdma:ADDR:PORT` (an RDMA CM listener,
 * iWARP port space TCP, default port 5445); each accepted queue pair runs
 * an SmbdConn whose upper-layer messages are bridged to an ordinary Conn
 * through a socketpair (framed as Direct TCP), so the SMB2 machinery is
 * the one TCP uses.  Without an RDMA device the listen address is reported
 * ("no RDMA device") and left out; the other transports keep serving.
 *
 * Invariants: a connection request while server.transport.rdma.enabled is
 * false is rejected; completions are reaped on the worker's own loop.
 * Must never: block the event loop waiting for a peer (only for the
 * completion of an RDMA read/write already posted, bounded by a timeout).
 */
#pragma once

#include "server.h"

/* Does this --listen address belong to SMB Direct ("rdma:ADDR:PORT")?
 * Strips the prefix into *ret_rest. */
bool transport_rdma_is_listen(const char *text, const char **ret_rest);
/* Set up the RDMA listeners (worker 0 only; other workers: nothing).
 * A listen address that cannot be served is reported on stderr and marked
 * down; only a failure to allocate is returned (-errno). */
int transport_rdma_attach(Worker *w);
/* Close every SMB Direct connection and listener of the worker. */
void transport_rdma_detach(Worker *w);
