/*
 * smbdirect.h - the SMB Direct protocol layer ([MS-SMBD] 1.0), independent
 * of verbs: negotiate, data transfer messages with credits, fragmentation
 * and reassembly, keep-alive, and the SMB2 READ/WRITE channel buffer
 * descriptors (SMB2_CHANNEL_RDMA_V1, [MS-SMBD] 2.2.3.1).
 *
 * The layer drives an abstract queue pair (SmbdQpOps): transport_rdma.c
 * binds it to librdmacm/libibverbs, smbdirect_loopback.c to an in-process
 * pair for tests.  The binding calls smbd_on_recv() for every completed
 * receive and smbd_on_timer() when smbd_next_timeout() is due; upper-layer
 * messages (SMB2 frames, no 4-byte Direct TCP header) come out through
 * SmbdConfig.deliver and go in through smbd_send().
 *
 * Invariants: one credit per message sent; the last send credit is only
 * spent by a message that grants credits ([MS-SMBD] 3.1.5.1); a receive
 * buffer is posted before the credit for it is granted; a delivered message
 * is whole (reassembled up to MaxFragmentedSize); any violation of
 * [MS-SMBD] 3.1.5.8 drops the connection and nothing more is delivered.
 * Must never: read past a received buffer; send without a credit; block.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMBD_VERSION_1 0x0100
#define SMBD_NEGOTIATE_REQ_SIZE 20  /* [MS-SMBD] 2.2.1 */
#define SMBD_NEGOTIATE_RESP_SIZE 32 /* [MS-SMBD] 2.2.2 */
#define SMBD_DATA_HDR_SIZE 20       /* [MS-SMBD] 2.2.3, without padding */
#define SMBD_DATA_OFFSET 24         /* first 8-byte aligned offset after the header */
#define SMBD_FLAG_RESPONSE_REQUESTED 0x0001u
#define SMBD_BUFFER_DESC_SIZE 16    /* [MS-SMBD] 2.2.3.1 */
#define SMBD_MIN_RECEIVE_SIZE 128   /* [MS-SMBD] 3.3.5.2: smaller MaxReceiveSize is refused */
#define SMBD_MIN_FRAGMENTED_SIZE 131072
#define SMBD_STATUS_NOT_SUPPORTED 0xC00000BBu

/* SMB2 READ/WRITE Channel values ([MS-SMB2] 2.2.19, 2.2.21). */
#define SMB2_CHANNEL_NONE 0u
#define SMB2_CHANNEL_RDMA_V1 1u
#define SMB2_CHANNEL_RDMA_V1_INVALIDATE 2u

/* Windows defaults (REFERENCE.md, [MS-SMBD] 3.1.1.1). */
#define SMBD_DEFAULT_RECEIVE_CREDIT_MAX 255
#define SMBD_DEFAULT_SEND_CREDIT_TARGET 255
#define SMBD_DEFAULT_MAX_SEND_SIZE 1364
#define SMBD_DEFAULT_MAX_RECEIVE_SIZE 8192
#define SMBD_DEFAULT_MAX_FRAGMENTED_SIZE (1024u * 1024u)
#define SMBD_DEFAULT_MAX_READ_WRITE_SIZE (1024u * 1024u)
#define SMBD_DEFAULT_KEEPALIVE_USEC (120ULL * 1000000ULL)

typedef struct SmbdNegotiateReq {
	uint16_t min_version, max_version, credits_requested;
	uint32_t preferred_send_size, max_receive_size, max_fragmented_size;
} SmbdNegotiateReq;

typedef struct SmbdNegotiateResp {
	uint16_t min_version, max_version, negotiated_version;
	uint16_t credits_requested, credits_granted;
	uint32_t status, max_read_write_size;
	uint32_t preferred_send_size, max_receive_size, max_fragmented_size;
} SmbdNegotiateResp;

typedef struct SmbdDataHdr {
	uint16_t credits_requested, credits_granted, flags;
	uint32_t remaining_data_length, data_offset, data_length;
} SmbdDataHdr;

typedef struct SmbdBufferDesc {
	uint64_t offset; /* the remote address of the registered buffer */
	uint32_t token;  /* the remote steering tag (rkey) */
	uint32_t length;
} SmbdBufferDesc;

/* ---- wire format: parse returns 0 or -EBADMSG, build writes the fixed size ---- */
int smbd_negotiate_req_parse(const uint8_t *p, size_t len, SmbdNegotiateReq *ret);
void smbd_negotiate_req_build(uint8_t out[SMBD_NEGOTIATE_REQ_SIZE], const SmbdNegotiateReq *q);
int smbd_negotiate_resp_parse(const uint8_t *p, size_t len, SmbdNegotiateResp *ret);
void smbd_negotiate_resp_build(uint8_t out[SMBD_NEGOTIATE_RESP_SIZE], const SmbdNegotiateResp *r);
/* Parse a data transfer message and check it against [MS-SMBD] 3.1.5.8
 * with max_fragment = Connection.MaxFragmentedSize (the receiver's). */
int smbd_data_parse(const uint8_t *p, size_t len, uint32_t max_fragment, SmbdDataHdr *ret);
/* The SMBD_DATA_HDR_SIZE header plus 4 bytes of padding (zero). */
void smbd_data_hdr_build(uint8_t out[SMBD_DATA_OFFSET], const SmbdDataHdr *h);
/* A buffer descriptor V1 list (len a non-zero multiple of 16, at most max
 * entries); returns the number of entries, or -EBADMSG. */
int smbd_buffer_desc_parse(const uint8_t *p, size_t len, SmbdBufferDesc *ret, size_t max);
void smbd_buffer_desc_build(uint8_t *out, const SmbdBufferDesc *d, size_t n);
/* Is this SMB2 READ/WRITE Channel valid for the dialect (wire value)?
 * 0, or -EINVAL (unknown channel, or _INVALIDATE before 3.0.2). */
int smbd_channel_check(uint32_t channel, uint16_t dialect);

/* ---- the queue pair a binding provides ---- */
#define SMBD_ACCESS_REMOTE_READ 0x1u
#define SMBD_ACCESS_REMOTE_WRITE 0x2u
typedef struct SmbdQpOps {
	/* Send one message (the layer's buffer, copied or registered by the
	 * binding before it returns).  0 or -errno. */
	int (*post_send)(void *qp, const uint8_t *msg, size_t len);
	/* Post n more receive buffers of size bytes each. */
	int (*post_recv)(void *qp, unsigned n, size_t size);
	/* Register buf for remote access; the descriptor to hand the peer. */
	int (*register_mr)(void *qp, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret);
	int (*deregister_mr)(void *qp, uint32_t token);
	/* Copy len bytes between local and the peer's registered memory at
	 * (remote, token); return once complete.  0 or -errno. */
	int (*rdma_read)(void *qp, void *local, size_t len, uint64_t remote, uint32_t token);
	int (*rdma_write)(void *qp, const void *local, size_t len, uint64_t remote, uint32_t token);
	/* Tear the queue pair down (the layer saw a violation or a failure). */
	void (*disconnect)(void *qp);
} SmbdQpOps;

typedef struct SmbdConfig {
	uint16_t receive_credit_max;   /* receive buffers this side posts at most */
	uint16_t send_credit_target;   /* credits this side asks the peer for */
	uint32_t max_send_size;        /* preferred send size */
	uint32_t max_receive_size;     /* size of each posted receive buffer */
	uint32_t max_fragmented_size;  /* largest reassembled message accepted */
	uint32_t max_read_write_size;  /* server: largest RDMA transfer per request */
	uint64_t keepalive_usec;       /* idle time before a keep-alive; 0: never */
	/* A whole upper-layer message (borrowed for the call).  A negative
	 * return drops the connection. */
	int (*deliver)(void *userdata, const uint8_t *msg, size_t len);
	void *userdata;
} SmbdConfig;

/* The Windows defaults. */
void smbd_config_default(SmbdConfig *c);

typedef enum SmbdState {
	SMBD_NEGOTIATE_WAIT,  /* server: waiting for the negotiate request */
	SMBD_NEGOTIATE_SENT,  /* client: waiting for the negotiate response */
	SMBD_CONNECTED,
	SMBD_DISCONNECTED,
} SmbdState;

typedef struct SmbdConn SmbdConn;

/* A connection over qp (borrowed; ops stay valid while the conn lives).
 * A server waits for the negotiate request; a client sends it. */
int smbd_conn_new(const SmbdConfig *cfg, const SmbdQpOps *ops, void *qp, bool server, uint64_t now,
		  SmbdConn **ret);
void smbd_conn_free(SmbdConn *c);
SmbdState smbd_state(const SmbdConn *c);
/* Why the connection was dropped (-errno), 0 while it is not. */
int smbd_error(const SmbdConn *c);

/* A receive completed with len bytes.  0, or -errno once the connection
 * is dropped (a violation: -EPROTO / -EBADMSG / -EMSGSIZE). */
int smbd_on_recv(SmbdConn *c, const uint8_t *msg, size_t len, uint64_t now);
/* The queue pair failed (a completion error, the peer went away): drop
 * the connection with error.  Returns error. */
int smbd_abort(SmbdConn *c, int error);
/* Queue an upper-layer message (fragmented to the negotiated sizes) and
 * send what the credits allow.  -EMSGSIZE above the peer's
 * MaxFragmentedSize, -ENOTCONN once dropped. */
int smbd_send(SmbdConn *c, const uint8_t *msg, size_t len, uint64_t now);
/* Keep-alive ([MS-SMBD] 3.1.6.2): the monotonic time the binding must call
 * smbd_on_timer() at (UINT64_MAX: none). */
uint64_t smbd_next_timeout(const SmbdConn *c);
int smbd_on_timer(SmbdConn *c, uint64_t now);

/* Negotiated values and counters (tests, logs). */
typedef struct SmbdStats {
	uint32_t max_send_size, max_receive_size, max_fragmented_send, max_read_write_size;
	uint16_t send_credits, receive_credits, receive_credit_target;
	size_t queued;       /* messages waiting for credits */
	uint64_t sent, received, delivered;
} SmbdStats;
void smbd_stats(const SmbdConn *c, SmbdStats *ret);

/* ---- RDMA for SMB2 READ/WRITE (channel RDMA_V1) ---- */
/* Client side: register buf for the peer (remote read for a WRITE, remote
 * write for a READ). */
int smbd_register(SmbdConn *c, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret);
int smbd_deregister(SmbdConn *c, const SmbdBufferDesc *d);
/* Server side: pull (WRITE) or push (READ) len bytes through the peer's
 * descriptors, in order.  The descriptors must cover exactly len bytes and
 * len must not exceed MaxReadWriteSize: -EINVAL otherwise (the caller
 * answers STATUS_INVALID_PARAMETER); a transfer error drops the connection. */
int smbd_rdma_pull(SmbdConn *c, const SmbdBufferDesc *d, size_t n, uint8_t *dst, size_t len);
int smbd_rdma_push(SmbdConn *c, const SmbdBufferDesc *d, size_t n, const uint8_t *src, size_t len);
