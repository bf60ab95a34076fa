/*
 * smbdirect_loopback.h - an in-process pair of queue pairs that stands in
 * for verbs where no RDMA device exists (tests, fuzzing, benchmarks).
 *
 * Like a reliable-connected verbs QP pair it keeps message boundaries, needs
 * a posted receive buffer (of sufficient size) at the receiving end for
 * every message (else the pair breaks, as an RNR/length error would), and
 * moves bytes between registered regions by (address, token) with access
 * rights checked.  Messages are queued by post_send and delivered to the
 * attached SmbdConn by smbd_loopback_run(), so a peer's reply never runs
 * inside the sender's call.  Faults can be injected: a failing send, failing
 * RDMA, truncated messages, and raw bytes delivered as if the peer sent them.
 *
 * Invariants: a delivered message consumed exactly one posted buffer of its
 * end; after a disconnect of either end nothing more is delivered.
 * Must never: touch memory outside a registered region on behalf of the peer.
 */
#pragma once

#include "smbdirect.h"

typedef struct SmbdLoopback SmbdLoopback;

typedef struct SmbdLoopFaults {
	unsigned fail_send_at; /* the n-th post_send (1-based) fails with -EIO; 0: never */
	bool fail_rdma;        /* every rdma_read/rdma_write fails with -EIO */
	size_t truncate;       /* messages arrive cut to this many bytes; 0: whole */
} SmbdLoopFaults;

extern const SmbdQpOps smbd_loopback_ops;

int smbd_loopback_new(SmbdLoopback **ret);
void smbd_loopback_free(SmbdLoopback *lb);
/* End 0 or 1: the qp argument of smbd_loopback_ops. */
void *smbd_loopback_end(SmbdLoopback *lb, unsigned end);
/* Deliver end's receives to c (NULL: leave them queued). */
void smbd_loopback_attach(SmbdLoopback *lb, unsigned end, SmbdConn *c);
SmbdLoopFaults *smbd_loopback_faults(SmbdLoopback *lb, unsigned end);
/* Queue raw bytes for end as if its peer had sent them. */
int smbd_loopback_inject(SmbdLoopback *lb, unsigned end, const uint8_t *msg, size_t len);
/* Deliver queued messages (in order, alternating ends) until none is left
 * or the pair broke.  Returns the number delivered, -ENOBUFS when a message
 * found no posted buffer large enough (the pair is then disconnected). */
int smbd_loopback_run(SmbdLoopback *lb, uint64_t now);
/* Posted receive buffers of end; messages queued for end. */
unsigned smbd_loopback_posted(const SmbdLoopback *lb, unsigned end);
size_t smbd_loopback_pending(const SmbdLoopback *lb, unsigned end);
bool smbd_loopback_disconnected(const SmbdLoopback *lb);
/* Pop the oldest message queued for end into buf (tests that play the
 * peer by hand); returns its length, -ENOENT when none, -ENOBUFS if cap
 * is too small. */
int smbd_loopback_take(SmbdLoopback *lb, unsigned end, uint8_t *buf, size_t cap);
