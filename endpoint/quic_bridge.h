/*
 * quic_bridge.h - one QUIC stream bridged to a local stream socket, shared
 * by the SMB over QUIC server (transport_quic.c) and client (quic_client.c).
 *
 * SMB over QUIC carries the same 4-byte-framed SMB2 messages on stream 0 as
 * TCP carries on port 445, so each side hands the SMB code one end of a
 * socketpair and the bridge moves bytes between the other end (fd) and the
 * stream: stream data goes to fd (QUIC flow control is extended only for
 * what fd took), fd data waits in chunks until the peer acknowledges it
 * (ngtcp2 keeps pointers into them for retransmission, so a chunk never
 * moves or goes before its ACK).
 *
 * Invariants: bytes leave in order, each exactly once per stream offset;
 * at most QUIC_BRIDGE_TX_MAX unacknowledged bytes are buffered.
 * Must never: block (fd and the UDP socket are non-blocking); call into
 * ngtcp2 from inside an ngtcp2 callback except what ngtcp2 allows there
 * (extending flow control).
 */
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_BRIDGE_TX_MAX (4u * 1024u * 1024u)
#define QUIC_ALPN "smb"
/* TLS 1.3 only, the groups and ciphers other QUIC stacks offer */
#define QUIC_TLS_PRIORITY                                                                         \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"+AES-128-CCM:-GROUP-ALL:+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1:"                \
	"+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE"
#define QUIC_IDLE_TIMEOUT (30 * NGTCP2_SECONDS)

typedef struct QuicTxChunk QuicTxChunk;

typedef struct QuicBridge {
	ngtcp2_conn *conn;
	int fd;            /* our end of the socketpair, -1 until connected */
	int64_t stream_id; /* -1 until known */
	uint8_t *rx;       /* stream -> fd, not yet written */
	size_t rx_len, rx_cap;
	QuicTxChunk *tx_head, *tx_tail, *tx_cur;
	uint64_t tx_end, tx_sent, tx_acked; /* stream offsets */
	bool fd_eof;       /* the local side closed (or the stream ended) */
	bool pace;         /* pace sent packets (after the handshake) */
	/* sends len bytes: one datagram, or datagrams of segsize bytes (the
	 * last may be shorter) when segsize < len (UDP GSO); loss is fine,
	 * QUIC resends */
	void (*send)(void *userdata, const uint8_t *pkts, size_t len, size_t segsize);
	void *userdata;
	uint8_t *batch; /* packets written but not yet sent */
} QuicBridge;

/* Receive into buf (65536 bytes) from a UDP socket with UDP_GRO on:
 * returns the byte count (several datagrams of *ret_segsize bytes each,
 * the last may be shorter) or -errno; addr may be NULL. */
ssize_t quic_recvmsg(int fd, uint8_t *buf, size_t len, struct sockaddr_storage *addr, socklen_t *addrlen,
		     size_t *ret_segsize);
/* UDP_GRO on, 4 MiB socket buffers (best effort: bursts of GSO sends
 * overflow the default ~200 KiB and every drop costs a retransmission). */
void quic_tune_socket(int fd);

/* Send len bytes of packets (segsize each, see QuicBridge.send) on a UDP
 * socket, to addr (NULL: the connected peer), with UDP_SEGMENT when there
 * are several, one by one where the kernel refuses GSO. */
void quic_sendmsg(int fd, const struct sockaddr *addr, socklen_t addrlen, const uint8_t *pkts, size_t len,
		  size_t segsize);

/* CLOCK_MONOTONIC in ngtcp2's nanoseconds. */
uint64_t quic_now_ns(void);

/* Transport parameters both sides use: 30 s idle, 100 bidi streams,
 * 2 MiB connection / 1 MiB stream initial windows. */
void quic_bridge_transport_params(ngtcp2_transport_params *params);
void quic_bridge_settings(ngtcp2_settings *settings);

/* ngtcp2 callbacks the server and the client share.  Those given a
 * connection's user_data need it to point to a struct whose FIRST member
 * is its QuicBridge (each owner checks that with a static assertion). */

/* recv_stream_data: queue data of our stream for fd (the first client
 * bidirectional stream is adopted when stream_id < 0); other streams are
 * refused.  The caller flushes (quic_bridge_flush_rx) after the datagrams
 * at hand: one write per batch, not per packet.
 * Returns 0 or NGTCP2_ERR_CALLBACK_FAILURE. */
int quic_bridge_recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t offset,
				    const uint8_t *data, size_t len, void *user_data, void *stream_user_data);
/* acked_stream_data_offset: free the chunks the peer acknowledged. */
int quic_bridge_acked_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset, uint64_t len, void *user_data,
			 void *stream_user_data);
/* The ngtcp2_callbacks entries every SMB over QUIC connection has, server
 * or client (ngtcp2_crypto's GnuTLS callbacks, the bridged stream,
 * GnuTLS randomness): an initializer starts with it and adds its role's
 * own entries.  Where it is used, ngtcp2/ngtcp2_crypto.h is included. */
#define QUIC_BRIDGE_CALLBACKS                                                      \
	.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,                      \
	.encrypt = ngtcp2_crypto_encrypt_cb,                                        \
	.decrypt = ngtcp2_crypto_decrypt_cb,                                        \
	.hp_mask = ngtcp2_crypto_hp_mask_cb,                                        \
	.recv_stream_data = quic_bridge_recv_stream_data_cb,                        \
	.acked_stream_data_offset = quic_bridge_acked_cb,                           \
	.rand = quic_bridge_rand_cb,                                                \
	.update_key = ngtcp2_crypto_update_key_cb,                                  \
	.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,          \
	.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,      \
	.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,        \
	.version_negotiation = ngtcp2_crypto_version_negotiation_cb

/* rand: GnuTLS's random generator. */
void quic_bridge_rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx);
/* For get_new_connection_id: fill cid (cidlen random bytes) and its
 * stateless reset token; 0, or NGTCP2_ERR_CALLBACK_FAILURE. */
int quic_bridge_new_cid(ngtcp2_cid *cid, uint8_t *token, size_t cidlen);

/* Write queued stream data to fd; -errno when fd is gone. */
int quic_bridge_flush_rx(QuicBridge *b);
/* Read what the local side wrote (up to the buffer limit); -errno on error. */
int quic_bridge_read_fd(QuicBridge *b);
/* Write every packet ngtcp2 has due (stream data, ACKs, control) through
 * send.  Returns 0 or an ngtcp2 error (then close with it). */
int quic_bridge_write(QuicBridge *b);
/* Send CONNECTION_CLOSE: for an ngtcp2 error, the matching transport error
 * (the TLS alert for NGTCP2_ERR_CRYPTO), else NO_ERROR.  Nothing for idle
 * close, draining or an already closing connection. */
void quic_bridge_close(QuicBridge *b, int liberr);
/* poll events fd needs now (POLLIN/POLLOUT bits, same as EPOLLIN/OUT). */
uint32_t quic_bridge_fd_events(const QuicBridge *b);
/* The local side is gone and every byte it sent was acknowledged. */
bool quic_bridge_finished(const QuicBridge *b);
/* Free the buffers and close fd (not the ngtcp2_conn). */
void quic_bridge_done(QuicBridge *b);
