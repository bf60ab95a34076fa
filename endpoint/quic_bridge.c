/*
 * quic_bridge.c - one QUIC stream <-> a local socket (see quic_bridge.h):
 * the buffers, flow-control credit, the packet writer and CONNECTION_CLOSE
 * that the SMB over QUIC server and client share.
 *
 * Invariants: a QuicTxChunk is freed only once the peer acknowledged all
 * of it; flow-control credit is given back only for bytes fd accepted.
 * Must never: block; free the ngtcp2_conn (its owner does).
 */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quic_bridge.h"

#define QUIC_TX_CHUNK (64u * 1024u)
#define QUIC_PKT_MAX 1500
#define QUIC_PKTS_PER_WRITE 64
#define QUIC_GSO_MAX 65000 /* below the 65507-byte UDP payload limit of one GSO send */

struct QuicTxChunk {
	QuicTxChunk *next;
	uint64_t offset; /* stream offset of data[0] */
	size_t len;
	uint8_t data[QUIC_TX_CHUNK];
};

uint64_t quic_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NGTCP2_SECONDS + (uint64_t)ts.tv_nsec;
}

void quic_bridge_transport_params(ngtcp2_transport_params *params) {
	ngtcp2_transport_params_default(params);
	params->initial_max_stream_data_bidi_local = 1024 * 1024;
	params->initial_max_stream_data_bidi_remote = 1024 * 1024;
	params->initial_max_data = 2 * 1024 * 1024;
	params->initial_max_streams_bidi = 100;
	params->initial_max_streams_uni = 0;
	params->max_idle_timeout = QUIC_IDLE_TIMEOUT;
}

void quic_bridge_settings(ngtcp2_settings *settings) {
	ngtcp2_settings_default(settings);
	settings->initial_ts = quic_now_ns();
	settings->max_window = 32u * 1024 * 1024; /* auto-tuned windows may grow to */
	settings->max_stream_window = 16u * 1024 * 1024;
}

int quic_bridge_flush_rx(QuicBridge *b) {
	if (b->fd < 0 || b->rx_len == 0)
		return 0;
	/* send, not write: a client process that does not ignore SIGPIPE must
	 * not die when its SMB side closed first */
	ssize_t k = send(b->fd, b->rx, b->rx_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	memmove(b->rx, b->rx + k, b->rx_len - (size_t)k);
	b->rx_len -= (size_t)k;
	if (b->stream_id >= 0)
		(void)ngtcp2_conn_extend_max_stream_offset(b->conn, b->stream_id, (uint64_t)k);
	ngtcp2_conn_extend_max_offset(b->conn, (uint64_t)k);
	return 0;
}

int quic_bridge_recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t offset,
				    const uint8_t *data, size_t len, void *user_data, void *stream_user_data) {
	QuicBridge *b = user_data; /* the owner's first member */
	(void)conn, (void)offset, (void)stream_user_data;
	if (b->stream_id < 0 && (stream_id & 0x3) == 0)
		b->stream_id = stream_id; /* the client's first bidirectional stream */
	if (stream_id != b->stream_id) {
		/* SMB uses one stream: refuse others, keep the connection's credit */
		(void)ngtcp2_conn_shutdown_stream(b->conn, stream_id, 0);
		ngtcp2_conn_extend_max_offset(b->conn, len);
		return 0;
	}
	if (b->rx_cap - b->rx_len < len) {
		size_t cap = b->rx_len + len + 64 * 1024;
		uint8_t *p = realloc(b->rx, cap);
		if (!p)
			return NGTCP2_ERR_CALLBACK_FAILURE;
		b->rx = p;
		b->rx_cap = cap;
	}
	memcpy(b->rx + b->rx_len, data, len);
	b->rx_len += len;
	if (flags & NGTCP2_STREAM_DATA_FLAG_FIN)
		b->fd_eof = true; /* the peer is done: finish once delivered */
	return 0; /* written to fd by quic_bridge_flush_rx once the datagrams at hand are read */
}

int quic_bridge_acked_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset, uint64_t len, void *user_data,
			 void *stream_user_data) {
	QuicBridge *b = user_data; /* the owner's first member */
	(void)conn, (void)stream_user_data;
	if (stream_id != b->stream_id)
		return 0;
	if (offset + len > b->tx_acked)
		b->tx_acked = offset + len;
	while (b->tx_head && b->tx_head->offset + b->tx_head->len <= b->tx_acked && b->tx_head != b->tx_tail) {
		QuicTxChunk *t = b->tx_head;
		b->tx_head = t->next;
		if (b->tx_cur == t)
			b->tx_cur = t->next;
		free(t);
	}
	return 0;
}

void quic_bridge_rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
	(void)ctx;
	(void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

int quic_bridge_new_cid(ngtcp2_cid *cid, uint8_t *token, size_t cidlen) {
	if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) < 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) < 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	cid->datalen = cidlen;
	return 0;
}

int quic_bridge_read_fd(QuicBridge *b) {
	while (b->fd >= 0 && b->tx_end - b->tx_acked < QUIC_BRIDGE_TX_MAX && !b->fd_eof) {
		QuicTxChunk *t = b->tx_tail;
		if (!t || t->len == QUIC_TX_CHUNK) {
			t = malloc(sizeof(*t));
			if (!t)
				return -ENOMEM;
			*t = (QuicTxChunk) { .offset = b->tx_end };
			if (b->tx_tail)
				b->tx_tail->next = t;
			else
				b->tx_head = t;
			b->tx_tail = t;
			if (!b->tx_cur)
				b->tx_cur = t;
		}
		ssize_t k = read(b->fd, t->data + t->len, QUIC_TX_CHUNK - t->len);
		if (k == 0)
			b->fd_eof = true;
		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		t->len += (size_t)k;
		b->tx_end += (uint64_t)k;
	}
	return 0;
}

void quic_sendmsg(int fd, const struct sockaddr *addr, socklen_t addrlen, const uint8_t *pkts, size_t len,
		  size_t segsize) {
	struct iovec iov = { (void *)pkts, len };
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl = {};
	struct msghdr mh = { .msg_name = (void *)addr, .msg_namelen = addr ? addrlen : 0,
			     .msg_iov = &iov, .msg_iovlen = 1 };
	if (segsize < len) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		uint16_t seg = (uint16_t)segsize;
		memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT) >= 0 || segsize >= len || errno == EAGAIN)
		return;
	for (size_t off = 0; off < len; off += segsize) /* no GSO here: one by one */
		(void)sendto(fd, pkts + off, len - off < segsize ? len - off : segsize, MSG_DONTWAIT, addr,
			     addr ? addrlen : 0);
}

void quic_tune_socket(int fd) {
	int one = 1, size = 4 * 1024 * 1024;
	(void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

ssize_t quic_recvmsg(int fd, uint8_t *buf, size_t len, struct sockaddr_storage *addr, socklen_t *addrlen,
		     size_t *ret_segsize) {
	struct iovec iov = { buf, len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_name = addr, .msg_namelen = addr ? sizeof(*addr) : 0, .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	*ret_segsize = (size_t)n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int seg;
			memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
			if (seg > 0)
				*ret_segsize = (size_t)seg;
		}
	if (addrlen)
		*addrlen = mh.msg_namelen;
	return n;
}

int quic_bridge_write(QuicBridge *b) {
	ngtcp2_path_storage ps;
	ngtcp2_path_storage_zero(&ps);
	ngtcp2_pkt_info pi;
	uint64_t ts = quic_now_ns();
	size_t max = ngtcp2_conn_get_path_max_tx_udp_payload_size(b->conn);
	bool blocked = false;
	int sent = 0;
	size_t blen = 0, seg = 0; /* batch: blen bytes of seg-sized packets */
	if (max > QUIC_PKT_MAX)
		max = QUIC_PKT_MAX;
	if (!b->batch && !(b->batch = malloc(QUIC_PKTS_PER_WRITE * QUIC_PKT_MAX)))
		return NGTCP2_ERR_NOMEM;
	for (int i = 0; i < QUIC_PKTS_PER_WRITE; i++) {
		if (blen > 0 && blen + max > QUIC_GSO_MAX) { /* one GSO send carries at most 64 KiB */
			b->send(b->userdata, b->batch, blen, seg);
			blen = 0;
		}
		uint8_t *buf = b->batch + blen;
		while (b->tx_cur && b->tx_sent >= b->tx_cur->offset + b->tx_cur->len && b->tx_cur->next)
			b->tx_cur = b->tx_cur->next;
		ngtcp2_vec v = {};
		int64_t sid = -1;
		if (!blocked && b->stream_id >= 0 && b->tx_cur && b->tx_sent < b->tx_end) {
			v.base = b->tx_cur->data + (b->tx_sent - b->tx_cur->offset);
			v.len = b->tx_cur->offset + b->tx_cur->len - b->tx_sent;
			sid = b->stream_id;
		}
		ngtcp2_ssize ndata = -1;
		ngtcp2_ssize n = ngtcp2_conn_writev_stream(b->conn, &ps.path, &pi, buf, max, &ndata,
							   NGTCP2_WRITE_STREAM_FLAG_NONE, sid, sid >= 0 ? &v : NULL,
							   sid >= 0 ? 1 : 0, ts);
		if (n < 0) {
			if (sid >= 0 && (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
					 n == NGTCP2_ERR_STREAM_NOT_FOUND)) {
				blocked = true;
				continue;
			}
			if (blen > 0)
				b->send(b->userdata, b->batch, blen, seg);
			return (int)n;
		}
		if (ndata > 0)
			b->tx_sent += (uint64_t)ndata;
		if (n == 0)
			break;
		sent++;
		if (blen > 0 && (size_t)n > seg) { /* bigger than the batch's: send both apart */
			b->send(b->userdata, b->batch, blen, seg);
			memmove(b->batch, buf, (size_t)n);
			blen = 0;
			buf = b->batch;
		}
		if (blen == 0)
			seg = (size_t)n;
		blen += (size_t)n;
		if ((size_t)n < seg) { /* a shorter packet ends a GSO batch */
			b->send(b->userdata, b->batch, blen, seg);
			blen = 0;
		}
	}
	if (blen > 0)
		b->send(b->userdata, b->batch, blen, seg);
	/* Pacing the handshake flight with the initial RTT guess (333 ms) held
	 * each first response ~20 ms: pace only once the handshake is done. */
	if (sent > 0 && b->pace)
		ngtcp2_conn_update_pkt_tx_time(b->conn, ts);
	return 0;
}

void quic_bridge_close(QuicBridge *b, int liberr) {
	if (!b->conn || liberr == NGTCP2_ERR_IDLE_CLOSE || liberr == NGTCP2_ERR_DRAINING ||
	    liberr == NGTCP2_ERR_DROP_CONN || ngtcp2_conn_is_in_closing_period(b->conn) ||
	    ngtcp2_conn_is_in_draining_period(b->conn))
		return;
	ngtcp2_connection_close_error ccerr;
	ngtcp2_connection_close_error_default(&ccerr);
	if (liberr == NGTCP2_ERR_CRYPTO) /* the TLS alert GnuTLS sent: 42, 116, 120 ... */
		ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, ngtcp2_conn_get_tls_alert(b->conn),
									    NULL, 0);
	else if (liberr < 0)
		ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, NULL, 0);
	uint8_t buf[QUIC_PKT_MAX];
	ngtcp2_path_storage ps;
	ngtcp2_path_storage_zero(&ps);
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n = ngtcp2_conn_write_connection_close(b->conn, &ps.path, &pi, buf, sizeof(buf), &ccerr,
							    quic_now_ns());
	if (n > 0)
		b->send(b->userdata, buf, (size_t)n, (size_t)n);
}

uint32_t quic_bridge_fd_events(const QuicBridge *b) {
	uint32_t ev = 0;
	if (!b->fd_eof && b->tx_end - b->tx_acked < QUIC_BRIDGE_TX_MAX)
		ev |= POLLIN;
	if (b->rx_len > 0)
		ev |= POLLOUT;
	return ev;
}

bool quic_bridge_finished(const QuicBridge *b) {
	return b->fd_eof && b->tx_acked == b->tx_end && b->rx_len == 0;
}

void quic_bridge_done(QuicBridge *b) {
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	while (b->tx_head) {
		QuicTxChunk *t = b->tx_head;
		b->tx_head = t->next;
		free(t);
	}
	b->tx_tail = b->tx_cur = NULL;
	free(b->rx);
	b->rx = NULL;
	free(b->batch);
	b->batch = NULL;
	b->rx_len = b->rx_cap = 0;
}
