/*
 * transport_rdma.c - smbrefd's SMB Direct transport (see transport_rdma.h)
 * over any RDMA stack of smbd_qp.h: the listeners' sources on worker 0,
 * each connection request accepted as an SmbdQp, bridged (smbd_bridge.c)
 * to an ordinary Conn on a socketpair, and the RDMA channel of SMB2
 * READ/WRITE (transport_rdma_channel/_pull/_push, used by file_ops.c).
 *
 * The stack is verbs (rdma_verbs.c) unless a libfabric provider was named
 * (--rdma-provider: rdma_ofi.c).  A connection's three sd-event sources
 * (its socket, its queue pair's fd, its keep-alive timer) all just run the
 * bridge and re-arm from smbd_bridge_wait(); when the bridge reports the
 * end, the connection is freed (its socket closes: the Conn sees EOF).
 *
 * Invariants: a request is accepted only after the SmbdConn posted its
 * receives; Conn.smbd is set by rdma_link and cleared by rdma_unlink on
 * the worker's thread before the SmbdConn is freed.
 * Must never: touch a Conn beyond its smbd link (conn.c owns it; the
 * socketpair carries the SMB2 frames); block the loop.
 */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

#include "smb2_pdu.h"
#include "smbd_bridge.h"
#include "smbd_qp.h"
#include "smbdirect.h"
#include "transport_rdma.h"

#define RDMA_RECEIVE_CREDIT_MAX 255 /* below the stacks' receive queue depth (256) */

typedef struct RdmaConn RdmaConn;
typedef struct RdmaWorker RdmaWorker;

typedef struct RdmaListener {
	Worker *worker;
	const Listen *listen;
	SmbdListener sl;
	sd_event_source *io;
} RdmaListener;

struct RdmaWorker {
	RdmaListener *listeners;
	size_t n_listeners;
	RdmaConn *conns;
};

struct RdmaConn {
	RdmaConn *next;
	RdmaWorker *rw;
	Worker *worker;
	SmbdBridge *bridge;
	sd_event_source *sock_io, *qp_io, *timer;
};

/* By worker index; only worker 0's is set (RDMA CM has no SO_REUSEPORT to
 * spread connections), and only that worker's thread touches it once the
 * workers run (the main thread attaches before and detaches after). */
static RdmaWorker *rdma_workers[64];

/* The stacks, by whether a libfabric provider was named: what listens,
 * why a listen address has no device, and the send size we prefer
 * (verbs: Windows' 1364, one Ethernet frame on iWARP; libfabric has no
 * such frame, and the peer's MaxReceiveSize still bounds it). */
static const struct {
	SmbdListenFn listen;
	const char *nodev;
	uint32_t max_send_size;
} rdma_stacks[] = {
	[false] = { rdma_verbs_listen, "ibv_get_device_list returned none", SMBD_DEFAULT_MAX_SEND_SIZE },
	[true] = { rdma_ofi_listen, "libfabric has no FI_EP_MSG provider with FI_MSG and FI_RMA named ",
		   SMBD_DEFAULT_MAX_RECEIVE_SIZE },
};

bool transport_rdma_is_listen(const char *text, const char **ret_rest) {
	if (!startswith(text, "rdma:"))
		return false;
	*ret_rest = text + 5;
	return true;
}

/* ---- connections ---- */

/* Conn.smbd: the SMB Direct side of c, for RDMA channel READ/WRITE. */
static void rdma_link(RdmaConn *rc, Conn *c) { c->smbd = smbd_bridge_conn(rc->bridge); }

/* Before the SmbdConn goes: the Conn (if still there) loses its link.
 * Both live on the worker's thread, so the Conn is found by its link. */
static void rdma_unlink(RdmaConn *rc) {
	SmbdConn *smbd = rc->bridge ? smbd_bridge_conn(rc->bridge) : NULL;
	for (Conn *c = rc->worker ? rc->worker->conns : NULL; c && smbd; c = c->next)
		if (c->smbd == smbd)
			c->smbd = NULL;
}

static void rdma_conn_free(RdmaConn *rc) {
	if (!rc)
		return;
	rdma_unlink(rc);
	for (RdmaConn **p = rc->rw ? &rc->rw->conns : NULL; p && *p; p = &(*p)->next)
		if (*p == rc) {
			*p = rc->next;
			break;
		}
	sd_event_source_disable_unref(rc->sock_io);
	sd_event_source_disable_unref(rc->qp_io);
	sd_event_source_disable_unref(rc->timer);
	smbd_bridge_free(rc->bridge); /* the Conn sees EOF and goes; the queue pair is destroyed */
	free(rc);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(RdmaConn *, rdma_conn_free)

/* Point the sources at what the bridge waits for. */
static int rdma_conn_arm(RdmaConn *rc) {
	SmbdBridgeWait w;
	smbd_bridge_wait(rc->bridge, &w);
	uint32_t ev = (w.socket_events & POLLIN ? EPOLLIN : 0) | (w.socket_events & POLLOUT ? EPOLLOUT : 0);
	int r = ev ? sd_event_source_set_io_events(rc->sock_io, ev) : 0;
	if (r >= 0)
		r = sd_event_source_set_enabled(rc->sock_io, ev ? SD_EVENT_ON : SD_EVENT_OFF);
	if (r >= 0 && w.deadline != UINT64_MAX)
		r = sd_event_source_set_time(rc->timer, w.deadline);
	if (r >= 0)
		r = sd_event_source_set_enabled(rc->timer, w.deadline == UINT64_MAX ? SD_EVENT_OFF : SD_EVENT_ONESHOT);
	return r;
}

/* Run the bridge; free the connection once it is over. */
static void rdma_conn_run(RdmaConn *rc) {
	int r = smbd_bridge_run(rc->bridge, now_mono_usec());
	if (r >= 0)
		r = rdma_conn_arm(rc);
	if (r < 0) {
		if (r != -ECONNRESET)
			fprintf(stderr, "smbrefd: SMB Direct connection dropped: %s\n", strerror(-r));
		rdma_conn_free(rc);
	}
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	(void)s, (void)fd, (void)revents;
	rdma_conn_run(userdata);
	return 0;
}

static int on_conn_timer(sd_event_source *s, uint64_t usec, void *userdata) {
	(void)s, (void)usec;
	rdma_conn_run(userdata);
	return 0;
}

/* Bridge qp (taken) to a new Conn of w on a socketpair and watch both;
 * the request is not accepted yet. */
static int rdma_conn_start(Worker *w, RdmaWorker *rw, const SmbdQp *qp, RdmaConn **ret) {
	_cleanup_(rdma_conn_freep) RdmaConn *rc = calloc(1, sizeof(*rc));
	int sp[2];
	if (!rc || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		int r = rc ? -errno : -ENOMEM;
		qp->destroy(qp->qp);
		return r;
	}
	rc->worker = w;
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.receive_credit_max = RDMA_RECEIVE_CREDIT_MAX;
	cfg.max_send_size = rdma_stacks[w->server->rdma_provider != NULL].max_send_size;
	cfg.max_fragmented_size = SMBD_BRIDGE_FRAME_MAX; /* room for any READ/WRITE negotiate.c offers */
	int r = smbd_bridge_new(qp, sp[1], true, &cfg, now_mono_usec(), &rc->bridge);
	if (r < 0) {
		qp->destroy(qp->qp);
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	struct sockaddr_storage peer = qp->peer;
	Conn *c;
	r = conn_new(w, sp[0], &peer, &c); /* takes sp[0] */
	if (r < 0)
		return r;
	rdma_link(rc, c);
	r = sd_event_add_io(w->event, &rc->sock_io, sp[1], EPOLLIN, on_conn_io, rc);
	if (r >= 0 && qp->fd >= 0)
		r = sd_event_add_io(w->event, &rc->qp_io, qp->fd, EPOLLIN, on_conn_io, rc);
	if (r >= 0)
		r = sd_event_add_time(w->event, &rc->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_conn_timer, rc);
	if (r >= 0)
		r = rdma_conn_arm(rc);
	if (r < 0)
		return r;
	rc->rw = rw;
	if (rw) {
		rc->next = rw->conns;
		rw->conns = rc;
	}
	*ret = TAKE_PTR(rc);
	return 0;
}

/* A connection request on l: bridged to a Conn and accepted. */
static int rdma_conn_request(RdmaListener *l, const SmbdQp *qp) {
	RdmaConn *rc = NULL;
	int r = rdma_conn_start(l->worker, rdma_workers[l->worker->index], qp, &rc);
	if (r >= 0 && qp->accept && (r = qp->accept(qp->qp)) < 0)
		rdma_conn_free(rc);
	else if (r >= 0)
		rdma_conn_run(rc); /* reap what the accept started; arms the queue pair's fd */
	return r;
}

static int on_listener(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	RdmaListener *l = userdata;
	(void)s, (void)fd, (void)revents;
	for (;;) {
		SmbdQp qp;
		/* while server.transport.rdma.enabled is false every request is rejected */
		int r = l->sl.next(l->sl.l, !l->worker->config->rdma_enabled, &qp);
		if (r == -EAGAIN)
			break;
		if (r >= 0)
			r = rdma_conn_request(l, &qp);
		if (r < 0 && (r != -ECONNREFUSED || l->worker->config->rdma_enabled))
			fprintf(stderr, "smbrefd: %s: connection refused: %s\n", l->listen->text, strerror(-r));
	}
	return 0;
}

/* ---- listeners ---- */

static int listener_open(Worker *w, Listen *ls, RdmaListener *l) {
	*l = (RdmaListener){ .worker = w, .listen = ls };
	const char *provider = w->server->rdma_provider;
	int r = rdma_stacks[provider != NULL].listen((struct sockaddr *)&ls->addr, ls->addr_len, provider, &l->sl);
	if (r < 0)
		return r;
	return sd_event_add_io(w->event, &l->io, l->sl.fd, EPOLLIN, on_listener, l);
}

static void listener_close(RdmaListener *l) {
	sd_event_source_disable_unref(l->io);
	if (l->sl.destroy)
		l->sl.destroy(l->sl.l);
	*l = (RdmaListener){};
}

int transport_rdma_attach(Worker *w) {
	Server *s = w->server;
	size_t n = 0;
	for (size_t i = 0; i < s->n_listens; i++)
		n += s->listens[i].rdma;
	if (n == 0 || w->index != 0)
		return 0; /* one worker accepts SMB Direct: RDMA CM has no SO_REUSEPORT */
	RdmaWorker *rw = calloc(1, sizeof(*rw));
	if (!rw || !(rw->listeners = calloc(n, sizeof(RdmaListener)))) {
		free(rw);
		return -ENOMEM;
	}
	rdma_workers[w->index] = rw;
	for (size_t i = 0; i < s->n_listens; i++) {
		Listen *ls = &s->listens[i];
		if (!ls->rdma)
			continue;
		int r = listener_open(w, ls, &rw->listeners[rw->n_listeners]);
		if (r < 0) {
			listener_close(&rw->listeners[rw->n_listeners]);
			fprintf(stderr, "smbrefd: %s: %s (%s%s); not listening there\n", ls->text,
				r == -ENODEV ? "no RDMA device" : "cannot listen",
				r == -ENODEV ? rdma_stacks[s->rdma_provider != NULL].nodev : strerror(-r),
				r == -ENODEV && s->rdma_provider ? s->rdma_provider : "");
			ls->down = true;
			continue;
		}
		rw->n_listeners++;
	}
	return 0;
}

void transport_rdma_detach(Worker *w) {
	if (w->index >= ELEMENTSOF(rdma_workers) || !rdma_workers[w->index])
		return;
	RdmaWorker *rw = rdma_workers[w->index];
	while (rw->conns)
		rdma_conn_free(rw->conns);
	for (size_t i = 0; i < rw->n_listeners; i++)
		listener_close(&rw->listeners[i]);
	free(rw->listeners);
	free(rw);
	rdma_workers[w->index] = NULL;
}

/* ---- the RDMA channel of SMB2 READ/WRITE ------------------------------- */

/* Where READ and WRITE keep their channel fields, as body offsets
 * ([MS-SMB2] 2.2.19, 2.2.21); the channel info offset counts from the
 * SMB2 header. */
static const struct {
	uint16_t command;
	size_t channel, length, info_off, info_len, body_size;
} channel_fields[] = {
	{ SMB2_READ, 36, 4 /* Length */, 44, 46, 48 },
	{ SMB2_WRITE, 32, 36 /* RemainingBytes */, 40, 42, 48 },
};

uint32_t transport_rdma_channel(const Smb2Request *r, RdmaChannel *ret) {
	*ret = (RdmaChannel){};
	for (size_t i = 0; i < ELEMENTSOF(channel_fields); i++) {
		if (channel_fields[i].command != r->hdr.command)
			continue;
		if (r->len < SMB2_HDR_SIZE + channel_fields[i].body_size)
			return NT_STATUS_INVALID_PARAMETER;
		const uint8_t *b = r->msg + SMB2_HDR_SIZE;
		uint32_t channel = smb2_le32(b + channel_fields[i].channel);
		if (channel == SMB2_CHANNEL_NONE)
			return NT_STATUS_OK;
		/* an RDMA channel needs an SMB Direct connection ([MS-SMB2] 3.3.5.12) */
		if (!r->conn->smbd || smbd_channel_check(channel, r->conn->dialect) < 0)
			return NT_STATUS_INVALID_PARAMETER;
		size_t off = smb2_le16(b + channel_fields[i].info_off), len = smb2_le16(b + channel_fields[i].info_len);
		if (off < SMB2_HDR_SIZE || off > r->len || len > r->len - off)
			return NT_STATUS_INVALID_PARAMETER;
		int n = smbd_buffer_desc_parse(r->msg + off, len, ret->desc, ELEMENTSOF(ret->desc));
		if (n <= 0)
			return NT_STATUS_INVALID_PARAMETER;
		ret->n = (size_t)n;
		ret->length = smb2_le32(b + channel_fields[i].length);
		return NT_STATUS_OK;
	}
	return NT_STATUS_INVALID_PARAMETER;
}

int transport_rdma_pull(const Smb2Request *r, const RdmaChannel *ch, uint8_t **ret) {
	if (!r->conn->smbd || ch->n == 0)
		return -EINVAL;
	_cleanup_free_ uint8_t *buf = malloc(ch->length ? ch->length : 1);
	if (!buf)
		return -ENOMEM;
	int k = smbd_rdma_pull(r->conn->smbd, ch->desc, ch->n, buf, ch->length);
	if (k < 0)
		return k;
	*ret = TAKE_PTR(buf);
	return 0;
}

int transport_rdma_push(const Smb2Request *r, const RdmaChannel *ch, const uint8_t *src, size_t len) {
	if (!r->conn->smbd || ch->n == 0 || len > ch->length)
		return -EINVAL;
	/* A short read fills the first len bytes the descriptors cover. */
	SmbdBufferDesc d[RDMA_CHANNEL_MAX_DESC];
	size_t n = 0, left = len;
	for (; n < ch->n && left > 0; n++) {
		d[n] = ch->desc[n];
		if (d[n].length > left)
			d[n].length = (uint32_t)left;
		left -= d[n].length;
	}
	if (left > 0)
		return -EINVAL;
	return n == 0 ? 0 : smbd_rdma_push(r->conn->smbd, d, n, src, len);
}
