/*
 * smbd_bridge.h - an SMB Direct connection bridged to a stream socket, so
 * the SMB2 code on the other end reads and writes Direct TCP frames
 * ([MS-SMB2] 2.1: a 4-byte length, then the message) exactly as over TCP.
 *
 * smbrefd's SMB Direct transport (transport_rdma.c) bridges each accepted
 * queue pair to a Conn on its sd-event loop; the reference client
 * (rdma_client.c) bridges its queue pair to the socket SmbClient uses, on a
 * thread of its own with poll().  The bridge does not know which loop
 * drives it: the owner waits for what smbd_bridge_wait() asks and calls
 * smbd_bridge_run() on any readiness or when the deadline passed.
 *
 * Invariants: every message the SmbdConn delivers is written to the socket
 * whole and in order (buffered while the socket is full); every frame read
 * from the socket goes out as one SMB Direct message; once either side is
 * gone smbd_bridge_run() returns -errno and the owner frees the bridge.
 * Must never: block; read a frame longer than SMBD_BRIDGE_FRAME_MAX.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "smbd_qp.h"
#include "smbdirect.h"

#define SMBD_BRIDGE_FRAME_MAX (16u * 1024u * 1024u)

typedef struct SmbdBridge SmbdBridge;

/* Bridge qp (taken: destroyed by smbd_bridge_free) to the non-blocking
 * stream socket fd (taken: closed by smbd_bridge_free).  server: wait for
 * the peer's negotiate request; else send ours now.  cfg: the SMB Direct
 * sizes and credits (deliver/userdata are the bridge's own).  On failure
 * nothing is taken. */
int smbd_bridge_new(const SmbdQp *qp, int fd, bool server, const SmbdConfig *cfg, uint64_t now,
		    SmbdBridge **ret);
void smbd_bridge_free(SmbdBridge *b);

typedef struct SmbdBridgeWait {
	int socket_fd;  short socket_events; /* POLLIN, plus POLLOUT while output waits */
	int qp_fd;                           /* POLLIN */
	uint64_t deadline;                   /* monotonic usec; UINT64_MAX: none */
} SmbdBridgeWait;
void smbd_bridge_wait(const SmbdBridge *b, SmbdBridgeWait *ret);

/* Move whatever is ready both ways and run due timers.  0, or -errno once
 * the connection is over (the owner then frees the bridge). */
int smbd_bridge_run(SmbdBridge *b, uint64_t now);

/* The SMB Direct side, for RDMA channel READ/WRITE (register, pull, push). */
SmbdConn *smbd_bridge_conn(SmbdBridge *b);
