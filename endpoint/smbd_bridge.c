/*
 * smbd_bridge.c - an SmbdConn bridged to a non-blocking stream socket with
 * Direct TCP framing (see smbd_bridge.h).
 *
 * Messages the SmbdConn delivers are appended, framed, to an output buffer
 * and written to the socket as far as it takes them; the rest waits for
 * POLLOUT.  Bytes read from the socket collect in an input buffer until a
 * whole frame is there, which goes out through smbd_send().  The socket is
 * not read while SMB Direct is still negotiating (smbd_send would refuse)
 * or while more than SMBD_BRIDGE_QUEUE_MAX fragments wait for send credits
 * (back-pressure: the peer's credits, not our memory, pace the sender).
 *
 * Invariants: out holds whole frames in delivery order; in never holds
 * more than one partial frame beyond what a read brought; a frame header
 * announcing more than SMBD_BRIDGE_FRAME_MAX ends the connection before
 * its body is read; once the SmbdConn is disconnected, run only reports.
 * Must never: block; call into the queue pair after destroy; deliver a
 * partial frame; raise SIGPIPE (the owner's process may not ignore it).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smbd_bridge.h"
#include "util.h"

#define SMBD_BRIDGE_READ_CHUNK 65536u
#define SMBD_BRIDGE_QUEUE_MAX 4096u /* fragments waiting for credits before the socket is left unread */
#define DIRECT_TCP_HDR 4u

struct SmbdBridge {
	SmbdQp qp;
	int fd;
	SmbdConn *smbd;
	uint8_t *in; /* frames read from the socket, not yet sent */
	size_t in_len, in_cap;
	uint8_t *out; /* framed messages not yet written to the socket */
	size_t out_len, out_cap;
	bool socket_gone;
};

static int grow(uint8_t **buf, size_t *cap, size_t need) {
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : SMBD_BRIDGE_READ_CHUNK;
	while (c < need)
		c *= 2;
	uint8_t *p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

/* Write what the socket takes.  0 (EAGAIN included) or -errno. */
static int flush_out(SmbdBridge *b) {
	size_t done = 0;
	while (done < b->out_len) {
		ssize_t n = send(b->fd, b->out + done, b->out_len - done, MSG_NOSIGNAL); /* EPIPE, not SIGPIPE */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		done += (size_t)n;
	}
	if (done > 0) {
		memmove(b->out, b->out + done, b->out_len - done);
		b->out_len -= done;
	}
	return 0;
}

/* SmbdConfig.deliver: one whole message, Direct TCP framed ([MS-SMB2] 2.1). */
static int bridge_deliver(void *userdata, const uint8_t *msg, size_t len) {
	SmbdBridge *b = userdata;
	if (len > SMBD_BRIDGE_FRAME_MAX - 1) /* the 24-bit StreamProtocolLength */
		return -EMSGSIZE;
	int r = grow(&b->out, &b->out_cap, b->out_len + DIRECT_TCP_HDR + len);
	if (r < 0)
		return r;
	uint8_t *p = b->out + b->out_len;
	p[0] = 0, p[1] = (uint8_t)(len >> 16), p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
	memcpy(p + DIRECT_TCP_HDR, msg, len);
	b->out_len += DIRECT_TCP_HDR + len;
	return flush_out(b);
}

int smbd_bridge_new(const SmbdQp *qp, int fd, bool server, const SmbdConfig *cfg, uint64_t now,
		    SmbdBridge **ret) {
	_cleanup_free_ SmbdBridge *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->qp = *qp;
	b->fd = fd;
	SmbdConfig c = *cfg;
	c.deliver = bridge_deliver;
	c.userdata = b;
	int r = smbd_conn_new(&c, qp->ops, qp->qp, server, now, &b->smbd);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

void smbd_bridge_free(SmbdBridge *b) {
	if (!b)
		return;
	smbd_conn_free(b->smbd);
	if (b->qp.destroy)
		b->qp.destroy(b->qp.qp);
	if (b->fd >= 0)
		close(b->fd);
	free(b->in);
	free(b->out);
	free(b);
}

SmbdConn *smbd_bridge_conn(SmbdBridge *b) { return b->smbd; }

/* May the socket be read now (SMB Direct up, send queue not backed up)? */
static bool want_input(const SmbdBridge *b) {
	if (b->socket_gone || smbd_state(b->smbd) != SMBD_CONNECTED)
		return false;
	SmbdStats st;
	smbd_stats(b->smbd, &st);
	return st.queued < SMBD_BRIDGE_QUEUE_MAX;
}

void smbd_bridge_wait(const SmbdBridge *b, SmbdBridgeWait *ret) {
	bool up = smbd_state(b->smbd) != SMBD_DISCONNECTED;
	*ret = (SmbdBridgeWait){
		.socket_fd = b->fd,
		.socket_events = (short)((want_input(b) ? POLLIN : 0) | (up && b->out_len > 0 ? POLLOUT : 0)),
		.qp_fd = b->qp.fd,
		.deadline = smbd_next_timeout(b->smbd),
	};
}

/* Send every whole frame in the input buffer that SMB Direct takes now. */
static int send_frames(SmbdBridge *b, uint64_t now) {
	size_t used = 0;
	int r = 0;
	while (b->in_len - used >= DIRECT_TCP_HDR && want_input(b)) {
		const uint8_t *h = b->in + used;
		size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		if (len > SMBD_BRIDGE_FRAME_MAX) {
			r = -EMSGSIZE;
			break;
		}
		if (b->in_len - used < DIRECT_TCP_HDR + len)
			break;
		r = smbd_send(b->smbd, h + DIRECT_TCP_HDR, len, now);
		if (r < 0) /* e.g. larger than the peer's MaxFragmentedSize */
			break;
		used += DIRECT_TCP_HDR + len;
	}
	if (used > 0) {
		memmove(b->in, b->in + used, b->in_len - used);
		b->in_len -= used;
	}
	return r;
}

/* Read the socket while SMB Direct takes frames. */
static int read_socket(SmbdBridge *b, uint64_t now) {
	while (want_input(b)) {
		int r = grow(&b->in, &b->in_cap, b->in_len + SMBD_BRIDGE_READ_CHUNK);
		if (r < 0)
			return r;
		ssize_t n = read(b->fd, b->in + b->in_len, b->in_cap - b->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			b->socket_gone = true;
			return n < 0 ? -errno : -ECONNRESET; /* the socket's owner closed it */
		}
		b->in_len += (size_t)n;
		r = send_frames(b, now);
		if (r < 0)
			return r;
	}
	return 0;
}

int smbd_bridge_run(SmbdBridge *b, uint64_t now) {
	int r = 0;
	if (b->qp.process && smbd_state(b->smbd) != SMBD_DISCONNECTED)
		r = b->qp.process(b->qp.qp, b->smbd, now);
	if (r >= 0 && smbd_next_timeout(b->smbd) <= now)
		r = smbd_on_timer(b->smbd, now);
	if (r >= 0)
		r = flush_out(b);
	if (r >= 0)
		r = send_frames(b, now); /* frames read while negotiating or backed up */
	if (r >= 0)
		r = read_socket(b, now);
	if (r < 0)
		(void)smbd_abort(b->smbd, r);
	if (smbd_state(b->smbd) == SMBD_DISCONNECTED)
		return smbd_error(b->smbd) < 0 ? smbd_error(b->smbd) : -ECONNRESET;
	return 0;
}
