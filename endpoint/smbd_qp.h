/*
 * smbd_qp.h - what an RDMA stack hands the SMB Direct code: one connected
 * queue pair (the SmbdQpOps the protocol layer drives), an fd to wait on,
 * and a way to reap its completions; plus the stacks' table.
 *
 * Stacks: "verbs" (rdma_verbs.c: librdmacm/libibverbs, the production
 * stack for iWARP, RoCE and InfiniBand HCAs) and "ofi" (rdma_ofi.c:
 * libfabric FI_EP_MSG endpoints with FI_MSG|FI_RMA over a named provider;
 * its "tcp" provider does real one-sided RMA over ordinary sockets, so two
 * processes on a machine without an RDMA device still speak SMB Direct,
 * RDMA reads and writes included, to each other).  The ofi stack is not
 * wire-compatible with a Windows SMB Direct peer: interoperability needs
 * the verbs stack on a real HCA.
 *
 * Server side a stack also listens (SmbdListener): each connection request
 * comes out as an SmbdQp that is accepted in two steps, so the SmbdConn
 * posts its receives before the peer may send (create the queue pair ->
 * smbd_bridge_new -> accept()).
 *
 * Invariants: fd is readable (level-triggered) whenever process() has
 * completions or connection events to handle; process() never blocks and
 * hands every completed receive to smbd_on_recv() of the SmbdConn, and a
 * peer disconnect or a completion error to smbd_abort(); register_mr and
 * deregister_mr may be called from another thread than process() (the
 * client's READ/WRITE path), every other op only from the thread that
 * calls process().
 * Must never: block in process(); hand the peer access to memory that was
 * not registered for it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "smbdirect.h"

typedef struct SmbdQp {
	const SmbdQpOps *ops;
	void *qp;     /* the argument of ops and of the functions below */
	int fd;       /* wait for POLLIN, then call process() */
	/* Reap completions and connection events into c.  0, or -errno once
	 * the queue pair is gone (c is then aborted). */
	int (*process)(void *qp, SmbdConn *c, uint64_t now);
	/* Disconnect (if still connected) and free every resource. */
	void (*destroy)(void *qp);
	struct sockaddr_storage peer;
	/* Server side, a connection request not accepted yet: accept it once
	 * the SmbdConn posted its receives (a peer's first message needs a
	 * posted buffer).  NULL on a connected queue pair.  0 or -errno;
	 * destroy() without accept() rejects the request. */
	int (*accept)(void *qp);
} SmbdQp;

/* Client side: connect to addr and return the established queue pair
 * (receives may be posted at once; nothing is sent yet).  provider: the
 * ofi stack's libfabric provider ("tcp", "verbs", ...), unused by verbs.
 * -ENODEV: no RDMA device (verbs) or no such provider (ofi);
 * -ECONNREFUSED, -ETIMEDOUT, -errno. */
typedef int (*SmbdConnectFn)(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
			     unsigned timeout_ms, SmbdQp *ret);

int rdma_verbs_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
		       unsigned timeout_ms, SmbdQp *ret);
int rdma_ofi_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
		     unsigned timeout_ms, SmbdQp *ret);

/* Server side: a listening endpoint.  fd is readable (level-triggered)
 * while connection requests wait; next() never blocks. */
typedef struct SmbdListener {
	void *l;
	int fd;
	/* The next connection request as a queue pair whose accept is set;
	 * refuse: reject it instead, before any queue pair exists, and return
	 * -ECONNREFUSED.  -EAGAIN when none waits, -errno (the request is
	 * then rejected and the listener goes on). */
	int (*next)(void *l, bool refuse, SmbdQp *ret);
	/* Stop listening and free the listener (not its queue pairs). */
	void (*destroy)(void *l);
} SmbdListener;

/* Listen on addr.  -ENODEV: no RDMA device (verbs) or no such provider
 * (ofi); -EADDRINUSE, -errno. */
typedef int (*SmbdListenFn)(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
			    SmbdListener *ret);

int rdma_verbs_listen(const struct sockaddr *addr, socklen_t addrlen, const char *provider, SmbdListener *ret);
int rdma_ofi_listen(const struct sockaddr *addr, socklen_t addrlen, const char *provider, SmbdListener *ret);

/* For the stacks: the buffers a queue pair handed to the device or
 * provider (posted receives, sends in flight), so destroy() can free what
 * never completed.  A buffer embeds an SmbdQpBufLink as its first member. */
typedef struct SmbdQpBufLink {
	struct SmbdQpBufLink *next, *prev;
} SmbdQpBufLink;

static inline void smbd_qp_buf_add(SmbdQpBufLink **head, SmbdQpBufLink *b) {
	b->prev = NULL;
	b->next = *head;
	if (*head)
		(*head)->prev = b;
	*head = b;
}

static inline void smbd_qp_buf_remove(SmbdQpBufLink **head, SmbdQpBufLink *b) {
	if (b->prev)
		b->prev->next = b->next;
	else
		*head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->next = b->prev = NULL;
}
