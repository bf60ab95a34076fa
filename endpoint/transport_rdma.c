/*
 * transport_rdma.c - SMB Direct over librdmacm/libibverbs (see
 * transport_rdma.h): the RDMA CM listener and event channel, one RC queue
 * pair per connection, its completion queues polled from the worker's
 * sd-event loop through the completion channel fd, and the SmbdQpOps the
 * protocol layer (smbdirect.c) drives.
 *
 * Each connection has two CQs: receives complete on recv_cq, which is armed
 * on the completion channel and reaped by the event loop; sends and RDMA
 * reads/writes complete on send_cq, which is polled directly (a finished
 * send frees its buffer; an RDMA read/write waits for its own completion,
 * at most RDMA_OP_TIMEOUT_USEC).  The SMB2 side is a Conn on a socketpair:
 * a reassembled SMB Direct message goes to it with a Direct TCP header
 * ([MS-SMB2] 2.1), and a frame it writes goes out as one message.
 *
 * This machine kind has no RDMA device: only the start-up refusal is
 * exercised (tests/integration/rdma_nodevice.sh); the protocol layer is
 * tested over smbdirect_loopback.c.
 *
 * Invariants: every buffer handed to the HCA stays registered until its
 * completion was reaped; a connection is freed only after its QP is gone.
 * The READ/WRITE handlers reach the SmbdConn through Conn.smbd (set by
 * rdma_link, cleared by rdma_unlink on the same worker thread) for the
 * RDMA channel (transport_rdma_channel/_pull/_push).
 *
 * Must never: hand the HCA unregistered memory; touch a Conn beyond its
 * smbd link (conn.c owns it; the socketpair carries the SMB2 frames).
 */
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <stdio.h>
#include <sys/socket.h>

#include "smb2_pdu.h"
#include "smbdirect.h"
#include "transport_rdma.h"

#define RDMA_CQ_DEPTH 512
#define RDMA_MAX_WR 256
#define RDMA_OP_TIMEOUT_USEC (5ULL * 1000000ULL)
#define RDMA_BRIDGE_MAX (16u * 1024u * 1024u) /* largest SMB2 frame from the Conn */

typedef struct RdmaConn RdmaConn;

typedef struct RdmaListener {
	Worker *worker;
	const Listen *listen;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	sd_event_source *io;
} RdmaListener;

typedef struct RdmaWorker {
	RdmaListener *listeners;
	size_t n_listeners;
	RdmaConn *conns;
} RdmaWorker;

/* A buffer registered with the HCA: a posted receive, a send in flight,
 * or memory registered for the peer. */
typedef struct RdmaBuf {
	struct RdmaBuf *next;
	struct ibv_mr *mr;
	uint8_t *data; /* owned unless borrowed */
	bool borrowed;
} RdmaBuf;

struct RdmaConn {
	RdmaConn *next;
	RdmaWorker *rw;
	Worker *worker;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *channel;
	struct ibv_cq *send_cq, *recv_cq;
	sd_event_source *cq_io, *timer, *bridge_io;
	SmbdConn *smbd;
	int bridge_fd; /* our end of the socketpair; the Conn has the other */
	uint8_t *in;   /* frames from the Conn */
	size_t in_len, in_cap;
	uint8_t *out;  /* messages to the Conn not yet written */
	size_t out_len, out_cap;
	RdmaBuf *regions; /* registered for the peer, by rkey */
	uint64_t op_done; /* wr_id of the last finished RDMA read/write */
};

/* By worker index; only worker 0's is set (RDMA CM has no SO_REUSEPORT to
 * spread connections), and only that worker's thread touches it once the
 * workers run (the main thread attaches before and detaches after). */
static RdmaWorker *rdma_workers[64];

bool transport_rdma_is_listen(const char *text, const char **ret_rest) {
	if (!startswith(text, "rdma:"))
		return false;
	*ret_rest = text + 5;
	return true;
}

static void buf_free(RdmaBuf *b) {
	if (!b)
		return;
	if (b->mr)
		ibv_dereg_mr(b->mr);
	if (!b->borrowed)
		free(b->data);
	free(b);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(RdmaBuf *, buf_free)

/* A buffer of len bytes (copied from src when given, or borrowed when
 * borrow), registered with access. */
static RdmaBuf *buf_new(RdmaConn *rc, void *borrow, const void *src, size_t len, int access) {
	RdmaBuf *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->borrowed = borrow != NULL;
	b->data = borrow ? borrow : malloc(len ? len : 1);
	if (b->data && src)
		memcpy(b->data, src, len);
	if (b->data)
		b->mr = ibv_reg_mr(rc->pd, b->data, len, access);
	if (!b->data || !b->mr) {
		buf_free(b);
		return NULL;
	}
	return b;
}

/* Reap send-side completions: free finished sends, note finished RDMA
 * operations.  A failed one fails the connection. */
static int reap_sends(RdmaConn *rc) {
	struct ibv_wc wc[16];
	int n;
	while ((n = ibv_poll_cq(rc->send_cq, ELEMENTSOF(wc), wc)) > 0)
		for (int i = 0; i < n; i++) {
			if (wc[i].opcode == IBV_WC_SEND)
				buf_free((RdmaBuf *)(uintptr_t)wc[i].wr_id);
			else
				rc->op_done = wc[i].wr_id;
			if (wc[i].status != IBV_WC_SUCCESS)
				return -EIO;
		}
	return n < 0 ? -EIO : 0;
}

static int qp_post_send(void *qp, const uint8_t *msg, size_t len) {
	RdmaConn *rc = qp;
	int r = reap_sends(rc);
	if (r < 0)
		return r;
	RdmaBuf *b = buf_new(rc, NULL, msg, len, IBV_ACCESS_LOCAL_WRITE);
	if (!b)
		return -ENOMEM;
	struct ibv_sge sge = { .addr = (uintptr_t)b->data, .length = (uint32_t)len, .lkey = b->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = (uintptr_t)b, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	r = ibv_post_send(rc->id->qp, &wr, &bad);
	if (r != 0) {
		buf_free(b);
		return -r;
	}
	return 0;
}

static int qp_post_recv(void *qp, unsigned n, size_t size) {
	RdmaConn *rc = qp;
	for (unsigned i = 0; i < n; i++) {
		RdmaBuf *b = buf_new(rc, NULL, NULL, size, IBV_ACCESS_LOCAL_WRITE);
		if (!b)
			return -ENOMEM;
		struct ibv_sge sge = { .addr = (uintptr_t)b->data, .length = (uint32_t)size, .lkey = b->mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = (uintptr_t)b, .sg_list = &sge, .num_sge = 1 }, *bad;
		int r = ibv_post_recv(rc->id->qp, &wr, &bad);
		if (r != 0) {
			buf_free(b);
			return -r;
		}
	}
	return 0;
}

static int qp_register_mr(void *qp, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	RdmaConn *rc = qp;
	int flags = IBV_ACCESS_LOCAL_WRITE | ((access & SMBD_ACCESS_REMOTE_READ) ? IBV_ACCESS_REMOTE_READ : 0) |
		    ((access & SMBD_ACCESS_REMOTE_WRITE) ? IBV_ACCESS_REMOTE_WRITE : 0);
	RdmaBuf *b = buf_new(rc, buf, NULL, len, flags);
	if (!b)
		return -errno ? -errno : -ENOMEM;
	b->next = rc->regions;
	rc->regions = b;
	*ret = (SmbdBufferDesc){ .offset = (uintptr_t)buf, .token = b->mr->rkey, .length = (uint32_t)len };
	return 0;
}

static int qp_deregister_mr(void *qp, uint32_t token) {
	RdmaConn *rc = qp;
	for (RdmaBuf **p = &rc->regions; *p; p = &(*p)->next)
		if ((*p)->mr->rkey == token) {
			RdmaBuf *b = *p;
			*p = b->next;
			buf_free(b);
			return 0;
		}
	return -ENOENT;
}

/* Post one RDMA read or write and wait for its completion. */
static int rdma_op(RdmaConn *rc, enum ibv_wr_opcode op, void *local, size_t len, uint64_t remote, uint32_t token) {
	_cleanup_(buf_freep) RdmaBuf *b = NULL;
	b = buf_new(rc, local, NULL, len, IBV_ACCESS_LOCAL_WRITE);
	if (!b)
		return -ENOMEM;
	struct ibv_sge sge = { .addr = (uintptr_t)local, .length = (uint32_t)len, .lkey = b->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = (uintptr_t)b, .sg_list = &sge, .num_sge = 1, .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED,
				  .wr.rdma = { .remote_addr = remote, .rkey = token } }, *bad;
	int r = ibv_post_send(rc->id->qp, &wr, &bad);
	if (r != 0)
		return -r;
	uint64_t deadline = now_mono_usec() + RDMA_OP_TIMEOUT_USEC;
	while (rc->op_done != (uintptr_t)b) {
		r = reap_sends(rc);
		if (r < 0)
			return r;
		if (now_mono_usec() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

static int qp_rdma_read(void *qp, void *local, size_t len, uint64_t remote, uint32_t token) {
	return rdma_op(qp, IBV_WR_RDMA_READ, local, len, remote, token);
}

static int qp_rdma_write(void *qp, const void *local, size_t len, uint64_t remote, uint32_t token) {
	return rdma_op(qp, IBV_WR_RDMA_WRITE, (void *)local, len, remote, token);
}

static void qp_disconnect(void *qp) {
	RdmaConn *rc = qp;
	(void)rdma_disconnect(rc->id); /* RDMA_CM_EVENT_DISCONNECTED frees it */
}

static const SmbdQpOps rdma_qp_ops = {
	.post_send = qp_post_send,
	.post_recv = qp_post_recv,
	.register_mr = qp_register_mr,
	.deregister_mr = qp_deregister_mr,
	.rdma_read = qp_rdma_read,
	.rdma_write = qp_rdma_write,
	.disconnect = qp_disconnect,
};

/* ---- the bridge to the Conn ---- */

static int bridge_flush(RdmaConn *rc) {
	while (rc->out_len > 0) {
		ssize_t n = write(rc->bridge_fd, rc->out, rc->out_len);
		if (n < 0)
			return errno == EAGAIN ? sd_event_source_set_io_events(rc->bridge_io, EPOLLIN | EPOLLOUT) : -errno;
		memmove(rc->out, rc->out + n, rc->out_len - (size_t)n);
		rc->out_len -= (size_t)n;
	}
	return sd_event_source_set_io_events(rc->bridge_io, EPOLLIN);
}

/* SmbdConfig.deliver: one SMB2 message to the Conn, Direct TCP framed. */
static int bridge_deliver(void *userdata, const uint8_t *msg, size_t len) {
	RdmaConn *rc = userdata;
	if (len > 0xffffff)
		return -EMSGSIZE;
	if (rc->out_len + 4 + len > rc->out_cap) {
		size_t cap = (rc->out_len + 4 + len) * 2;
		uint8_t *p = realloc(rc->out, cap);
		if (!p)
			return -ENOMEM;
		rc->out = p;
		rc->out_cap = cap;
	}
	uint8_t *p = rc->out + rc->out_len;
	p[0] = 0, p[1] = (uint8_t)(len >> 16), p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
	memcpy(p + 4, msg, len);
	rc->out_len += 4 + len;
	return bridge_flush(rc);
}

/* Frames the Conn wrote: each goes out as one SMB Direct message. */
static int on_bridge(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	RdmaConn *rc = userdata;
	(void)s;
	if (revents & EPOLLOUT && bridge_flush(rc) < 0) {
		(void)smbd_abort(rc->smbd, -EPIPE);
		return 0;
	}
	if (!(revents & (EPOLLIN | EPOLLHUP)))
		return 0;
	for (;;) {
		if (rc->in_cap - rc->in_len < 65536) {
			size_t cap = rc->in_cap ? rc->in_cap * 2 : 131072;
			uint8_t *p = cap <= RDMA_BRIDGE_MAX + 4 ? realloc(rc->in, cap) : NULL;
			if (!p) {
				(void)smbd_abort(rc->smbd, -EMSGSIZE);
				return 0;
			}
			rc->in = p;
			rc->in_cap = cap;
		}
		ssize_t n = read(fd, rc->in + rc->in_len, rc->in_cap - rc->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			(void)smbd_abort(rc->smbd, -ECONNRESET); /* the Conn closed */
			return 0;
		}
		if (n < 0)
			break;
		rc->in_len += (size_t)n;
		size_t used = 0;
		while (rc->in_len - used >= 4) {
			const uint8_t *h = rc->in + used;
			size_t len = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
			if (rc->in_len - used < 4 + len)
				break;
			int r = smbd_send(rc->smbd, h + 4, len, now_mono_usec());
			if (r < 0) { /* e.g. larger than the peer's MaxFragmentedSize */
				fprintf(stderr, "smbrefd: SMB Direct: %zu-byte message not sent: %s\n", len, strerror(-r));
				(void)smbd_abort(rc->smbd, r);
				return 0;
			}
			used += 4 + len;
		}
		memmove(rc->in, rc->in + used, rc->in_len - used);
		rc->in_len -= used;
	}
	return 0;
}

/* ---- completions and timers ---- */

static int arm_timer(RdmaConn *rc) {
	uint64_t t = smbd_next_timeout(rc->smbd);
	if (t == UINT64_MAX)
		return sd_event_source_set_enabled(rc->timer, SD_EVENT_OFF);
	int r = sd_event_source_set_time(rc->timer, t);
	return r < 0 ? r : sd_event_source_set_enabled(rc->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
	RdmaConn *rc = userdata;
	(void)s;
	(void)smbd_on_timer(rc->smbd, usec);
	return arm_timer(rc);
}

static int on_completion(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	RdmaConn *rc = userdata;
	struct ibv_cq *cq;
	void *ctx;
	(void)s, (void)fd, (void)revents;
	if (ibv_get_cq_event(rc->channel, &cq, &ctx) == 0) {
		ibv_ack_cq_events(cq, 1);
		(void)ibv_req_notify_cq(cq, 0);
	}
	struct ibv_wc wc[16];
	int n;
	while ((n = ibv_poll_cq(rc->recv_cq, ELEMENTSOF(wc), wc)) > 0)
		for (int i = 0; i < n; i++) {
			_cleanup_(buf_freep) RdmaBuf *b = (RdmaBuf *)(uintptr_t)wc[i].wr_id;
			if (wc[i].status != IBV_WC_SUCCESS)
				(void)smbd_abort(rc->smbd, -EIO);
			else
				(void)smbd_on_recv(rc->smbd, b->data, wc[i].byte_len, now_mono_usec());
		}
	if (n < 0 || reap_sends(rc) < 0)
		(void)smbd_abort(rc->smbd, -EIO);
	return arm_timer(rc);
}

/* ---- connections ---- */

/* Conn.smbd: the SMB Direct side of c, for RDMA channel READ/WRITE. */
static void rdma_link(RdmaConn *rc, Conn *c) { c->smbd = rc->smbd; }

/* Before rc->smbd goes: the Conn (if still there) loses its link.  Both
 * live on the worker's thread, so the Conn is found by its link. */
static void rdma_unlink(RdmaConn *rc) {
	for (Conn *c = rc->worker ? rc->worker->conns : NULL; c && rc->smbd; c = c->next)
		if (c->smbd == rc->smbd)
			c->smbd = NULL;
}

static void rdma_conn_free(RdmaConn *rc) {
	if (!rc)
		return;
	rdma_unlink(rc);
	for (RdmaConn **p = &rc->rw->conns; *p; p = &(*p)->next)
		if (*p == rc) {
			*p = rc->next;
			break;
		}
	sd_event_source_disable_unref(rc->cq_io);
	sd_event_source_disable_unref(rc->timer);
	sd_event_source_disable_unref(rc->bridge_io);
	if (rc->bridge_fd >= 0)
		close(rc->bridge_fd); /* the Conn sees EOF and goes */
	smbd_conn_free(rc->smbd);
	if (rc->id && rc->id->qp)
		rdma_destroy_qp(rc->id);
	while (rc->regions) {
		RdmaBuf *b = rc->regions;
		rc->regions = b->next;
		buf_free(b);
	}
	if (rc->send_cq)
		ibv_destroy_cq(rc->send_cq);
	if (rc->recv_cq)
		ibv_destroy_cq(rc->recv_cq);
	if (rc->channel)
		ibv_destroy_comp_channel(rc->channel);
	if (rc->pd)
		ibv_dealloc_pd(rc->pd);
	free(rc->in);
	free(rc->out);
	free(rc);
}

/* A connection request on a listener: QP, SmbdConn, accept, bridge. */
static int rdma_conn_new(RdmaListener *l, struct rdma_cm_id *id) {
	Worker *w = l->worker;
	RdmaConn *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->rw = rdma_workers[w->index];
	rc->worker = w;
	rc->id = id;
	rc->bridge_fd = -1;
	id->context = rc;
	rc->next = rc->rw->conns;
	rc->rw->conns = rc;
	int r = -ENOMEM;
	rc->pd = ibv_alloc_pd(id->verbs);
	rc->channel = rc->pd ? ibv_create_comp_channel(id->verbs) : NULL;
	rc->recv_cq = rc->channel ? ibv_create_cq(id->verbs, RDMA_CQ_DEPTH, rc, rc->channel, 0) : NULL;
	rc->send_cq = rc->recv_cq ? ibv_create_cq(id->verbs, RDMA_CQ_DEPTH, rc, NULL, 0) : NULL;
	if (!rc->send_cq || ibv_req_notify_cq(rc->recv_cq, 0) != 0)
		goto fail;
	struct ibv_qp_init_attr qa = {
		.send_cq = rc->send_cq,
		.recv_cq = rc->recv_cq,
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = RDMA_MAX_WR, .max_recv_wr = RDMA_MAX_WR, .max_send_sge = 1, .max_recv_sge = 1 },
	};
	if (rdma_create_qp(id, rc->pd, &qa) != 0) {
		r = -errno;
		goto fail;
	}
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.receive_credit_max = RDMA_MAX_WR - 1;
	cfg.deliver = bridge_deliver;
	cfg.userdata = rc;
	r = smbd_conn_new(&cfg, &rdma_qp_ops, rc, true, now_mono_usec(), &rc->smbd);
	if (r < 0)
		goto fail;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		r = -errno;
		goto fail;
	}
	rc->bridge_fd = sp[1];
	struct sockaddr_storage peer = {};
	const struct sockaddr *pa = rdma_get_peer_addr(id);
	memcpy(&peer, pa, pa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	Conn *c;
	r = conn_new(w, sp[0], &peer, &c); /* takes sp[0] */
	if (r < 0)
		goto fail;
	rdma_link(rc, c);
	(void)fcntl(rc->channel->fd, F_SETFL, fcntl(rc->channel->fd, F_GETFL) | O_NONBLOCK);
	r = sd_event_add_io(w->event, &rc->cq_io, rc->channel->fd, EPOLLIN, on_completion, rc);
	if (r >= 0)
		r = sd_event_add_io(w->event, &rc->bridge_io, rc->bridge_fd, EPOLLIN, on_bridge, rc);
	if (r >= 0)
		r = sd_event_add_time(w->event, &rc->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, rc);
	if (r >= 0)
		r = arm_timer(rc);
	if (r < 0)
		goto fail;
	struct rdma_conn_param param = { .responder_resources = 1, .initiator_depth = 1, .rnr_retry_count = 7 };
	if (rdma_accept(id, &param) != 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail: /* a half-built QP has no single cleanup attribute: undone in one place */
	id->context = NULL;
	rc->id = NULL;
	if (id->qp)
		rdma_destroy_qp(id);
	rdma_conn_free(rc);
	return r;
}

/* RDMA CM events of a listener, by type. */
static void cm_connect_request(RdmaListener *l, struct rdma_cm_event *ev) {
	if (!l->worker->config->rdma_enabled) {
		(void)rdma_reject(ev->id, NULL, 0);
		return;
	}
	int r = rdma_conn_new(l, ev->id);
	if (r < 0) {
		fprintf(stderr, "smbrefd: %s: connection refused: %s\n", l->listen->text, strerror(-r));
		(void)rdma_reject(ev->id, NULL, 0);
	}
}

static void cm_disconnected(RdmaListener *l, struct rdma_cm_event *ev) {
	(void)l;
	rdma_conn_free(ev->id->context);
}

static const struct {
	enum rdma_cm_event_type type;
	void (*handle)(RdmaListener *l, struct rdma_cm_event *ev);
	bool destroy_id; /* the event ends the id's life (after the ack) */
} cm_events[] = {
	{ RDMA_CM_EVENT_CONNECT_REQUEST, cm_connect_request, false },
	{ RDMA_CM_EVENT_DISCONNECTED, cm_disconnected, true },
	{ RDMA_CM_EVENT_CONNECT_ERROR, cm_disconnected, true },
	{ RDMA_CM_EVENT_TIMEWAIT_EXIT, NULL, false },
	{ RDMA_CM_EVENT_ESTABLISHED, NULL, false },
};

static int on_cm_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	RdmaListener *l = userdata;
	struct rdma_cm_event *ev;
	(void)s, (void)fd, (void)revents;
	while (rdma_get_cm_event(l->ec, &ev) == 0) {
		struct rdma_cm_id *id = ev->id;
		bool destroy = false;
		for (size_t i = 0; i < ELEMENTSOF(cm_events); i++)
			if (cm_events[i].type == ev->event) {
				if (cm_events[i].handle)
					cm_events[i].handle(l, ev);
				destroy = cm_events[i].destroy_id;
			}
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST && !id->context)
			destroy = true; /* rejected */
		(void)rdma_ack_cm_event(ev);
		if (destroy && id != l->id)
			(void)rdma_destroy_id(id);
	}
	return 0;
}

/* ---- listeners ---- */

/* Is there an RDMA device at all?  -ENODEV with the reason. */
static int rdma_device_present(const char **ret_why) {
	int n = 0;
	struct ibv_device **list = ibv_get_device_list(&n);
	if (list)
		ibv_free_device_list(list);
	if (!list || n == 0) {
		*ret_why = "ibv_get_device_list returned none";
		return -ENODEV;
	}
	return 0;
}

static int listener_open(Worker *w, Listen *ls, RdmaListener *l) {
	*l = (RdmaListener){ .worker = w, .listen = ls };
	l->ec = rdma_create_event_channel();
	if (!l->ec)
		return -errno;
	if (rdma_create_id(l->ec, &l->id, l, RDMA_PS_TCP) != 0 ||
	    rdma_bind_addr(l->id, (struct sockaddr *)&ls->addr) != 0 || rdma_listen(l->id, 64) != 0)
		return -errno;
	(void)fcntl(l->ec->fd, F_SETFL, fcntl(l->ec->fd, F_GETFL) | O_NONBLOCK);
	return sd_event_add_io(w->event, &l->io, l->ec->fd, EPOLLIN, on_cm_event, l);
}

static void listener_close(RdmaListener *l) {
	sd_event_source_disable_unref(l->io);
	if (l->id)
		(void)rdma_destroy_id(l->id);
	if (l->ec)
		rdma_destroy_event_channel(l->ec);
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
		const char *why = NULL;
		int r = rdma_device_present(&why);
		if (r >= 0) {
			r = listener_open(w, ls, &rw->listeners[rw->n_listeners]);
			why = strerror(-r);
		}
		if (r < 0) {
			listener_close(&rw->listeners[rw->n_listeners]);
			fprintf(stderr, "smbrefd: %s: %s (%s); not listening there\n", ls->text,
				r == -ENODEV ? "no RDMA device" : "cannot listen", why);
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
	while (rw->conns) {
		struct rdma_cm_id *id = rw->conns->id;
		rdma_conn_free(rw->conns);
		if (id)
			(void)rdma_destroy_id(id);
	}
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
