/*
 * rdma_verbs.c - the "verbs" RDMA stack (see rdma_verbs.h, smbd_qp.h):
 * librdmacm for listen/accept/connect, libibverbs for the queue pair.
 *
 * Each queue pair has its own RDMA CM event channel (a connection request
 * is migrated off the listener's) and two CQs: receives complete on
 * recv_cq, armed on a completion channel; sends and RDMA reads/writes on
 * send_cq, polled (a finished send frees its buffer; an RDMA read/write
 * waits for its own completion, at most VERBS_OP_TIMEOUT_USEC).  The fd the
 * owner waits on is an epoll fd holding the completion channel and the
 * event channel, so one readiness covers completions and disconnects.
 *
 * No RDMA device exists where this is tested: only the -ENODEV paths ran.
 *
 * Invariants: every buffer handed to the HCA stays registered (and posted
 * ones listed in inflight) until its completion was reaped or the QP was
 * destroyed; an RDMA read/write that times out destroys the QP before its
 * local buffer goes back to the caller; the QP is destroyed before its
 * CQs, PD and id;
 * regions (memory registered for the peer) are listed under a mutex, as
 * register_mr/deregister_mr may come from another thread.
 * Must never: hand the HCA unregistered memory; block in process().
 */
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <pthread.h>
#include <rdma/rdma_cma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "rdma_verbs.h"
#include "smbd_qp.h"
#include "util.h"

#define VERBS_CQ_DEPTH 512
#define VERBS_MAX_WR 256
#define VERBS_OP_TIMEOUT_USEC (5ULL * 1000000ULL)

typedef enum VerbsBufKind { VERBS_RECV, VERBS_SEND, VERBS_OP, VERBS_REGION } VerbsBufKind;

/* A buffer registered with the HCA: a posted receive, a send in flight,
 * the local side of an RDMA read/write, or memory registered for the peer.
 * Told apart by kind, never by a completion's opcode (undefined when the
 * completion carries an error). */
typedef struct VerbsBuf {
	SmbdQpBufLink link; /* VERBS_RECV, VERBS_SEND: inflight; VERBS_REGION: regions (next only) */
	VerbsBufKind kind;
	struct ibv_mr *mr;
	uint8_t *data; /* owned unless borrowed */
	bool borrowed;
	bool done; /* VERBS_OP: completed, with err */
	int err;
} VerbsBuf;

typedef struct VerbsQp {
	struct rdma_event_channel *ec; /* this id's own */
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *channel;
	struct ibv_cq *send_cq, *recv_cq;
	int epfd;
	bool pending;   /* a connection request neither accepted nor rejected */
	bool connected; /* accepted or connected, not yet disconnected */
	SmbdQpBufLink *inflight; /* posted receives and sends: the process() thread's */
	pthread_mutex_t lock;    /* regions */
	SmbdQpBufLink *regions;  /* registered for the peer, by rkey */
} VerbsQp;

static void qp_break(VerbsQp *q);

int rdma_verbs_device_present(void) {
	int n = 0;
	struct ibv_device **list = ibv_get_device_list(&n);
	if (list)
		ibv_free_device_list(list);
	return list && n > 0 ? 0 : -ENODEV;
}

static void buf_free(VerbsBuf *b) {
	if (!b)
		return;
	if (b->mr)
		ibv_dereg_mr(b->mr);
	if (!b->borrowed)
		free(b->data);
	free(b);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VerbsBuf *, buf_free)

static void free_list(SmbdQpBufLink **head) {
	while (*head) {
		VerbsBuf *b = (VerbsBuf *)*head;
		*head = b->link.next;
		buf_free(b);
	}
}

/* A buffer of len bytes (copied from src when given, or borrowed when
 * borrow), registered with access. */
static VerbsBuf *buf_new(VerbsQp *q, VerbsBufKind kind, void *borrow, const void *src, size_t len, int access) {
	VerbsBuf *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->kind = kind;
	b->borrowed = borrow != NULL;
	b->data = borrow ? borrow : malloc(len ? len : 1);
	if (b->data && src)
		memcpy(b->data, src, len);
	if (b->data)
		b->mr = ibv_reg_mr(q->pd, b->data, len, access);
	if (!b->data || !b->mr) {
		buf_free(b);
		return NULL;
	}
	return b;
}

/* Reap send-side completions: free finished sends, mark RDMA operations
 * done.  A failed send fails the connection (-EIO); a failed RDMA
 * operation is that operation's result. */
static int reap_sends(VerbsQp *q) {
	struct ibv_wc wc[16];
	int n, r = 0;
	while ((n = ibv_poll_cq(q->send_cq, ELEMENTSOF(wc), wc)) > 0)
		for (int i = 0; i < n; i++) {
			VerbsBuf *b = (VerbsBuf *)(uintptr_t)wc[i].wr_id;
			bool ok = wc[i].status == IBV_WC_SUCCESS;
			if (b->kind == VERBS_OP) {
				b->done = true;
				b->err = ok ? 0 : -EIO;
				continue;
			}
			smbd_qp_buf_remove(&q->inflight, &b->link);
			buf_free(b);
			if (!ok)
				r = -EIO;
		}
	return n < 0 ? -EIO : r;
}

/* Post b (taken: freed on failure) on the QP as a send or a receive of
 * len bytes. */
static int post(VerbsQp *q, VerbsBuf *b, size_t len) {
	if (!q->id->qp) {
		buf_free(b);
		return -ENOTCONN;
	}
	struct ibv_sge sge = { .addr = (uintptr_t)b->data, .length = (uint32_t)len, .lkey = b->mr->lkey };
	struct ibv_send_wr swr = { .wr_id = (uintptr_t)b, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *sbad;
	struct ibv_recv_wr rwr = { .wr_id = (uintptr_t)b, .sg_list = &sge, .num_sge = 1 }, *rbad;
	smbd_qp_buf_add(&q->inflight, &b->link);
	int r = b->kind == VERBS_SEND ? ibv_post_send(q->id->qp, &swr, &sbad) : ibv_post_recv(q->id->qp, &rwr, &rbad);
	if (r != 0) {
		smbd_qp_buf_remove(&q->inflight, &b->link);
		buf_free(b);
		return -r;
	}
	return 0;
}

static int qp_post_send(void *qp, const uint8_t *msg, size_t len) {
	VerbsQp *q = qp;
	int r = reap_sends(q);
	if (r < 0)
		return r;
	VerbsBuf *b = buf_new(q, VERBS_SEND, NULL, msg, len, IBV_ACCESS_LOCAL_WRITE);
	return b ? post(q, b, len) : -ENOMEM;
}

static int qp_post_recv(void *qp, unsigned n, size_t size) {
	VerbsQp *q = qp;
	for (unsigned i = 0; i < n; i++) {
		VerbsBuf *b = buf_new(q, VERBS_RECV, NULL, NULL, size, IBV_ACCESS_LOCAL_WRITE);
		int r = b ? post(q, b, size) : -ENOMEM;
		if (r < 0)
			return r;
	}
	return 0;
}

static int qp_register_mr(void *qp, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	VerbsQp *q = qp;
	int flags = IBV_ACCESS_LOCAL_WRITE | ((access & SMBD_ACCESS_REMOTE_READ) ? IBV_ACCESS_REMOTE_READ : 0) |
		    ((access & SMBD_ACCESS_REMOTE_WRITE) ? IBV_ACCESS_REMOTE_WRITE : 0);
	VerbsBuf *b = buf_new(q, VERBS_REGION, buf, NULL, len, flags);
	if (!b)
		return -errno ? -errno : -ENOMEM;
	pthread_mutex_lock(&q->lock);
	b->link.next = q->regions;
	q->regions = &b->link;
	pthread_mutex_unlock(&q->lock);
	*ret = (SmbdBufferDesc){ .offset = (uintptr_t)buf, .token = b->mr->rkey, .length = (uint32_t)len };
	return 0;
}

static int qp_deregister_mr(void *qp, uint32_t token) {
	VerbsQp *q = qp;
	VerbsBuf *found = NULL;
	pthread_mutex_lock(&q->lock);
	for (SmbdQpBufLink **p = &q->regions; *p; p = &(*p)->next)
		if (((VerbsBuf *)*p)->mr->rkey == token) {
			found = (VerbsBuf *)*p;
			*p = found->link.next;
			break;
		}
	pthread_mutex_unlock(&q->lock);
	buf_free(found);
	return found ? 0 : -ENOENT;
}

/* Post one RDMA read or write and wait (bounded) for its completion. */
static int rdma_op(VerbsQp *q, enum ibv_wr_opcode op, void *local, size_t len, uint64_t remote, uint32_t token) {
	if (!q->id->qp)
		return -ENOTCONN;
	_cleanup_(buf_freep) VerbsBuf *b = NULL;
	b = buf_new(q, VERBS_OP, local, NULL, len, IBV_ACCESS_LOCAL_WRITE);
	if (!b)
		return -ENOMEM;
	struct ibv_sge sge = { .addr = (uintptr_t)local, .length = (uint32_t)len, .lkey = b->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = (uintptr_t)b, .sg_list = &sge, .num_sge = 1, .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED,
				  .wr.rdma = { .remote_addr = remote, .rkey = token } }, *bad;
	int r = ibv_post_send(q->id->qp, &wr, &bad);
	if (r != 0)
		return -r;
	uint64_t deadline = now_mono_usec() + VERBS_OP_TIMEOUT_USEC;
	while (!b->done) {
		r = reap_sends(q);
		if (r < 0)
			return r;
		if (now_mono_usec() > deadline) { /* the HCA may still reach local: the QP goes first */
			qp_break(q);
			return -ETIMEDOUT;
		}
	}
	return b->err;
}

static int qp_rdma_read(void *qp, void *local, size_t len, uint64_t remote, uint32_t token) {
	return rdma_op(qp, IBV_WR_RDMA_READ, local, len, remote, token);
}

static int qp_rdma_write(void *qp, const void *local, size_t len, uint64_t remote, uint32_t token) {
	return rdma_op(qp, IBV_WR_RDMA_WRITE, (void *)local, len, remote, token);
}

static void qp_disconnect(void *qp) {
	VerbsQp *q = qp;
	if (q->connected)
		(void)rdma_disconnect(q->id); /* RDMA_CM_EVENT_DISCONNECTED follows */
	q->connected = false;
}

static const SmbdQpOps verbs_qp_ops = {
	.post_send = qp_post_send,
	.post_recv = qp_post_recv,
	.register_mr = qp_register_mr,
	.deregister_mr = qp_deregister_mr,
	.rdma_read = qp_rdma_read,
	.rdma_write = qp_rdma_write,
	.disconnect = qp_disconnect,
};

/* ---- the queue pair's life ---- */

/* Destroy the QP: the HCA touches none of our memory after this (queued
 * completions are dropped unread), so what was posted is freed.  Every
 * later operation fails with -ENOTCONN. */
static void qp_break(VerbsQp *q) {
	qp_disconnect(q);
	if (!q->id || !q->id->qp)
		return;
	rdma_destroy_qp(q->id);
	struct ibv_cq *cqs[] = { q->send_cq, q->recv_cq };
	struct ibv_wc wc[16];
	for (size_t i = 0; i < ELEMENTSOF(cqs); i++)
		while (ibv_poll_cq(cqs[i], ELEMENTSOF(wc), wc) > 0)
			;
	free_list(&q->inflight);
}

static void verbs_qp_destroy(void *qp) {
	VerbsQp *q = qp;
	if (!q)
		return;
	if (q->pending)
		(void)rdma_reject(q->id, NULL, 0);
	qp_break(q);
	free_list(&q->regions);
	if (q->send_cq)
		ibv_destroy_cq(q->send_cq);
	if (q->recv_cq)
		ibv_destroy_cq(q->recv_cq);
	if (q->channel)
		ibv_destroy_comp_channel(q->channel);
	if (q->pd)
		ibv_dealloc_pd(q->pd);
	if (q->id)
		(void)rdma_destroy_id(q->id);
	if (q->ec)
		rdma_destroy_event_channel(q->ec);
	if (q->epfd >= 0)
		close(q->epfd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VerbsQp *, verbs_qp_destroy)

/* RDMA CM events of a connected queue pair: 0, or -ECONNRESET once the
 * connection is gone. */
static int cm_events(VerbsQp *q) {
	struct rdma_cm_event *ev;
	int r = 0;
	while (rdma_get_cm_event(q->ec, &ev) == 0) {
		if (ev->event == RDMA_CM_EVENT_ESTABLISHED)
			q->connected = true;
		else if (ev->event != RDMA_CM_EVENT_TIMEWAIT_EXIT) {
			q->connected = false; /* DISCONNECTED, CONNECT_ERROR, DEVICE_REMOVAL... */
			r = -ECONNRESET;
		}
		(void)rdma_ack_cm_event(ev);
	}
	return r;
}

static int verbs_qp_process(void *qp, SmbdConn *c, uint64_t now) {
	VerbsQp *q = qp;
	if (!q->id->qp)
		return smbd_abort(c, -ECONNRESET);
	struct ibv_cq *cq;
	void *ctx;
	if (ibv_get_cq_event(q->channel, &cq, &ctx) == 0) {
		ibv_ack_cq_events(cq, 1);
		(void)ibv_req_notify_cq(cq, 0);
	}
	struct ibv_wc wc[16];
	int n;
	while ((n = ibv_poll_cq(q->recv_cq, ELEMENTSOF(wc), wc)) > 0)
		for (int i = 0; i < n; i++) {
			_cleanup_(buf_freep) VerbsBuf *b = (VerbsBuf *)(uintptr_t)wc[i].wr_id;
			smbd_qp_buf_remove(&q->inflight, &b->link);
			if (wc[i].status != IBV_WC_SUCCESS)
				return smbd_abort(c, -EIO);
			(void)smbd_on_recv(c, b->data, wc[i].byte_len, now);
		}
	int r = n < 0 ? -EIO : reap_sends(q);
	if (r >= 0)
		r = cm_events(q);
	return r < 0 ? smbd_abort(c, r) : 0;
}

static int verbs_qp_accept(void *qp) {
	VerbsQp *q = qp;
	struct rdma_conn_param param = { .responder_resources = 1, .initiator_depth = 1, .rnr_retry_count = 7 };
	if (rdma_accept(q->id, &param) != 0)
		return -errno;
	q->pending = false;
	q->connected = true;
	return 0;
}

static int set_nonblock(int fd) {
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* PD, CQs, QP, own event channel and the epoll fd for id (taken, with
 * ec).  ec NULL: id is a listener's connection request, moved to an event
 * channel of its own. */
static int verbs_qp_new(struct rdma_cm_id *id, struct rdma_event_channel *ec, VerbsQp **ret) {
	_cleanup_(verbs_qp_destroyp) VerbsQp *q = calloc(1, sizeof(*q));
	if (!q) {
		(void)rdma_destroy_id(id);
		if (ec)
			rdma_destroy_event_channel(ec);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->id = id;
	q->ec = ec;
	q->pending = !ec; /* a listener's request: rejected unless accepted */
	q->epfd = -1;
	id->context = q;
	if (!q->ec && (!(q->ec = rdma_create_event_channel()) || rdma_migrate_id(id, q->ec) != 0))
		return -errno;
	q->pd = ibv_alloc_pd(id->verbs);
	q->channel = q->pd ? ibv_create_comp_channel(id->verbs) : NULL;
	q->recv_cq = q->channel ? ibv_create_cq(id->verbs, VERBS_CQ_DEPTH, q, q->channel, 0) : NULL;
	q->send_cq = q->recv_cq ? ibv_create_cq(id->verbs, VERBS_CQ_DEPTH, q, NULL, 0) : NULL;
	if (!q->send_cq || ibv_req_notify_cq(q->recv_cq, 0) != 0)
		return -ENOMEM;
	struct ibv_qp_init_attr qa = {
		.send_cq = q->send_cq,
		.recv_cq = q->recv_cq,
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = VERBS_MAX_WR, .max_recv_wr = VERBS_MAX_WR, .max_send_sge = 1, .max_recv_sge = 1 },
	};
	if (rdma_create_qp(id, q->pd, &qa) != 0)
		return -errno;
	int r = set_nonblock(q->channel->fd);
	if (r >= 0)
		r = set_nonblock(q->ec->fd);
	if (r < 0)
		return r;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e1 = { .events = EPOLLIN }, e2 = { .events = EPOLLIN };
	if (q->epfd < 0 || epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->channel->fd, &e1) < 0 ||
	    epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->ec->fd, &e2) < 0)
		return -errno;
	*ret = TAKE_PTR(q);
	return 0;
}

static void verbs_qp_fill(VerbsQp *q, bool server, SmbdQp *ret) {
	*ret = (SmbdQp){ .ops = &verbs_qp_ops, .qp = q, .fd = q->epfd, .process = verbs_qp_process,
			 .destroy = verbs_qp_destroy, .accept = server ? verbs_qp_accept : NULL };
	const struct sockaddr *pa = rdma_get_peer_addr(q->id);
	memcpy(&ret->peer, pa, pa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
}

/* ---- server: the listener ---- */

typedef struct VerbsListener {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
} VerbsListener;

static void verbs_listener_destroy(void *l) {
	VerbsListener *vl = l;
	if (!vl)
		return;
	if (vl->id)
		(void)rdma_destroy_id(vl->id);
	if (vl->ec)
		rdma_destroy_event_channel(vl->ec);
	free(vl);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VerbsListener *, verbs_listener_destroy)

static int verbs_listener_next(void *l, bool refuse, SmbdQp *ret) {
	VerbsListener *vl = l;
	struct rdma_cm_event *ev;
	for (;;) {
		if (rdma_get_cm_event(vl->ec, &ev) != 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		struct rdma_cm_id *id = ev->event == RDMA_CM_EVENT_CONNECT_REQUEST ? ev->id : NULL;
		(void)rdma_ack_cm_event(ev); /* rdma_migrate_id waits for the ack */
		if (!id)
			continue; /* nothing else of interest reaches the listener */
		if (refuse) {
			(void)rdma_reject(id, NULL, 0);
			(void)rdma_destroy_id(id);
			return -ECONNREFUSED;
		}
		VerbsQp *q;
		int r = verbs_qp_new(id, NULL, &q);
		if (r < 0)
			return r; /* the id is gone: the peer sees a reject/timeout */
		verbs_qp_fill(q, true, ret);
		return 0;
	}
}

int rdma_verbs_listen(const struct sockaddr *addr, socklen_t addrlen, const char *provider, SmbdListener *ret) {
	(void)addrlen, (void)provider;
	int r = rdma_verbs_device_present();
	if (r < 0)
		return r;
	_cleanup_(verbs_listener_destroyp) VerbsListener *vl = calloc(1, sizeof(*vl));
	if (!vl)
		return -ENOMEM;
	vl->ec = rdma_create_event_channel();
	if (!vl->ec)
		return -errno;
	if (rdma_create_id(vl->ec, &vl->id, vl, RDMA_PS_TCP) != 0 || rdma_bind_addr(vl->id, (struct sockaddr *)addr) != 0 ||
	    rdma_listen(vl->id, 64) != 0)
		return -errno;
	r = set_nonblock(vl->ec->fd);
	if (r < 0)
		return r;
	*ret = (SmbdListener){ .l = vl, .fd = vl->ec->fd, .next = verbs_listener_next,
			       .destroy = verbs_listener_destroy };
	TAKE_PTR(vl);
	return 0;
}

/* ---- client: connect ---- */

/* Wait for the next RDMA CM event on ec until deadline; it must be want. */
static int wait_event(struct rdma_event_channel *ec, enum rdma_cm_event_type want, uint64_t deadline) {
	struct rdma_cm_event *ev;
	for (;;) {
		if (rdma_get_cm_event(ec, &ev) == 0)
			break;
		if (errno != EAGAIN)
			return -errno;
		uint64_t now = now_mono_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = ec->fd, .events = POLLIN };
		(void)poll(&p, 1, (int)((deadline - now + 999) / 1000));
	}
	enum rdma_cm_event_type got = ev->event;
	(void)rdma_ack_cm_event(ev);
	if (got == want)
		return 0;
	return got == RDMA_CM_EVENT_REJECTED || got == RDMA_CM_EVENT_UNREACHABLE ? -ECONNREFUSED : -EIO;
}

int rdma_verbs_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider, unsigned timeout_ms,
		       SmbdQp *ret) {
	(void)addrlen, (void)provider;
	int r = rdma_verbs_device_present();
	if (r < 0)
		return r;
	uint64_t deadline = now_mono_usec() + (uint64_t)timeout_ms * 1000;
	struct rdma_event_channel *ec = rdma_create_event_channel();
	struct rdma_cm_id *id;
	if (!ec)
		return -errno;
	if (set_nonblock(ec->fd) < 0 || rdma_create_id(ec, &id, NULL, RDMA_PS_TCP) != 0) {
		r = -errno;
		rdma_destroy_event_channel(ec);
		return r;
	}
	VerbsQp *q;
	r = rdma_resolve_addr(id, NULL, (struct sockaddr *)addr, (int)timeout_ms) != 0 ? -errno
	    : wait_event(ec, RDMA_CM_EVENT_ADDR_RESOLVED, deadline);
	if (r >= 0)
		r = rdma_resolve_route(id, (int)timeout_ms) != 0 ? -errno
		    : wait_event(ec, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline);
	if (r < 0) {
		(void)rdma_destroy_id(id);
		rdma_destroy_event_channel(ec);
		return r;
	}
	r = verbs_qp_new(id, ec, &q); /* takes id and ec */
	if (r < 0)
		return r;
	struct rdma_conn_param param = { .responder_resources = 1, .initiator_depth = 1, .retry_count = 7,
					 .rnr_retry_count = 7 };
	r = rdma_connect(id, &param) != 0 ? -errno : wait_event(ec, RDMA_CM_EVENT_ESTABLISHED, deadline);
	if (r < 0) {
		verbs_qp_destroy(q);
		return r;
	}
	q->connected = true;
	verbs_qp_fill(q, false, ret);
	return 0;
}
