/*
 * rdma_ofi.c - the "ofi" RDMA stack (see rdma_ofi.h, smbd_qp.h):
 * libfabric FI_EP_MSG endpoints with FI_MSG|FI_RMA over a named provider.
 *
 * Listening is a passive endpoint whose EQ (FI_WAIT_FD) is the listener's
 * fd; each FI_CONNREQ becomes a queue pair (its own fabric, domain, EQ and
 * endpoint, enabled so receives can be posted) accepted with fi_accept
 * once the SmbdConn posted them.  A queue pair has two CQs, as the verbs
 * stack has: receives complete on rx_cq (FI_WAIT_FD), sends and RDMA
 * reads/writes on tx_cq (waited on with fi_cq_sread only while an RDMA
 * read/write is in flight, else reaped in passing), so waiting for an RDMA
 * operation never consumes a receive completion that process() owes the
 * SmbdConn.  The fd the owner waits on is an epoll fd holding rx_cq's and
 * the EQ's wait fds; process() ends with fi_trywait() so the fd is armed.
 *
 * Memory registration honours the domain's mr_mode as the provider reports
 * it: FI_MR_LOCAL (bounce buffers and RDMA buffers registered, descriptors
 * passed), FI_MR_VIRT_ADDR (descriptor offset = address, else 0-based
 * offsets into the region), FI_MR_PROV_KEY (the provider's key, which must
 * fit in 32 bits; else our 32-bit counter is the requested key),
 * FI_MR_ENDPOINT (regions bound to the endpoint and enabled),
 * FI_MR_ALLOCATED (all memory here is allocated).
 *
 * Invariants: a buffer handed to libfabric (posted receive, send in
 * flight) is on the inflight list until its completion was reaped or the
 * endpoint was closed; an RDMA read/write that times out closes the
 * endpoint before its local buffer goes back to the caller; regions are
 * listed under a mutex (register_mr and deregister_mr may come from
 * another thread; the domain is FI_THREAD_SAFE); the endpoint is closed
 * before its MRs, CQs, EQ, domain and fabric.
 * Must never: block in process(); register memory for the peer beyond
 * what register_mr was given.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "rdma_ofi.h"
#include "smbd_qp.h"
#include "util.h"

#define OFI_VERSION FI_VERSION(1, 9)
#define OFI_OP_TIMEOUT_USEC (5ULL * 1000000ULL)
static uint64_t ofi_op_timeout_usec = OFI_OP_TIMEOUT_USEC; /* tests shorten it */
#define OFI_CQ_DEPTH 512
#define OFI_MR_MODES (FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT)
#define OFI_TRYWAIT_ROUNDS 64

typedef enum OfiBufKind { OFI_RECV, OFI_SEND, OFI_OP, OFI_REGION } OfiBufKind;

/* A buffer libfabric knows of: a posted receive, a send in flight, the
 * local side of an RDMA read/write, or memory registered for the peer. */
typedef struct OfiBuf {
	SmbdQpBufLink link; /* OFI_RECV, OFI_SEND: the inflight list; OFI_REGION: regions (next only) */
	OfiBufKind kind;
	struct fid_mr *mr; /* NULL when the domain needs no local registration */
	uint8_t *data;     /* owned unless borrowed */
	bool borrowed;
	uint32_t token;    /* OFI_REGION: the key the peer uses */
	bool done;         /* OFI_OP: completed */
	int err;           /* OFI_OP: its result */
} OfiBuf;

typedef struct OfiQp {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_eq *eq;
	struct fid_ep *ep;
	struct fid_cq *rx_cq, *tx_cq;
	int epfd;
	uint64_t mr_mode;
	bool connected;
	SmbdQpBufLink *inflight; /* the process() thread's */
	pthread_mutex_t lock;    /* regions */
	SmbdQpBufLink *regions;
	uint32_t next_key;
} OfiQp;

static void qp_break(OfiQp *q);

/* What we ask of a provider; NULL on ENOMEM. */
static struct fi_info *ofi_hints(const char *provider) {
	struct fi_info *h = fi_allocinfo();
	if (!h)
		return NULL;
	h->caps = FI_MSG | FI_RMA;
	h->mode = 0;
	h->ep_attr->type = FI_EP_MSG;
	h->domain_attr->mr_mode = OFI_MR_MODES;
	h->domain_attr->threading = FI_THREAD_SAFE;
	h->fabric_attr->prov_name = strdup(provider);
	if (!h->fabric_attr->prov_name) {
		fi_freeinfo(h);
		return NULL;
	}
	return h;
}

/* fi_getinfo for provider, bound to src (listen) or aimed at dest
 * (connect), or neither.  -ENODEV: no such provider. */
static int ofi_getinfo(const char *provider, const struct sockaddr *src, const struct sockaddr *dest,
		       socklen_t addrlen, struct fi_info **ret) {
	struct fi_info *h = ofi_hints(provider);
	if (!h)
		return -ENOMEM;
	const struct sockaddr *a = src ? src : dest;
	if (a) {
		void *copy = malloc(addrlen);
		if (!copy) {
			fi_freeinfo(h);
			return -ENOMEM;
		}
		memcpy(copy, a, addrlen);
		h->addr_format = a->sa_family == AF_INET6 ? FI_SOCKADDR_IN6 : FI_SOCKADDR_IN;
		if (src)
			h->src_addr = copy, h->src_addrlen = addrlen;
		else
			h->dest_addr = copy, h->dest_addrlen = addrlen;
	}
	int r = fi_getinfo(OFI_VERSION, NULL, NULL, 0, h, ret);
	fi_freeinfo(h);
	return r == -FI_ENODATA ? -ENODEV : r;
}

int rdma_ofi_provider_present(const char *provider) {
	struct fi_info *info;
	int r = ofi_getinfo(provider, NULL, NULL, 0, &info);
	if (r < 0)
		return r;
	fi_freeinfo(info);
	return 0;
}

/* ---- buffers and memory regions ---- */

static int mr_reg(OfiQp *q, void *buf, size_t len, uint64_t access, struct fid_mr **ret) {
	uint64_t key = __atomic_add_fetch(&q->next_key, 1, __ATOMIC_RELAXED);
	int r = fi_mr_reg(q->domain, buf, len, access, 0, key, 0, ret, NULL);
	if (r < 0)
		return r;
	if (q->mr_mode & FI_MR_ENDPOINT) {
		r = q->ep ? fi_mr_bind(*ret, &q->ep->fid, 0) : -ENOTCONN;
		if (r >= 0)
			r = fi_mr_enable(*ret);
		if (r < 0) {
			fi_close(&(*ret)->fid);
			*ret = NULL;
		}
	}
	return r;
}

static void buf_free(OfiBuf *b) {
	if (!b)
		return;
	if (b->mr)
		fi_close(&b->mr->fid);
	if (!b->borrowed)
		free(b->data);
	free(b);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(OfiBuf *, buf_free)

/* A buffer of len bytes (copied from src when given, or borrowed when
 * borrow), registered with access when the domain needs local
 * registration or always (a region for the peer). */
static int buf_new(OfiQp *q, OfiBufKind kind, void *borrow, const void *src, size_t len, uint64_t access,
		   OfiBuf **ret) {
	_cleanup_(buf_freep) OfiBuf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->kind = kind;
	b->borrowed = borrow != NULL;
	b->data = borrow ? borrow : malloc(len ? len : 1);
	if (!b->data)
		return -ENOMEM;
	if (src)
		memcpy(b->data, src, len);
	if (kind == OFI_REGION || (q->mr_mode & FI_MR_LOCAL)) {
		int r = mr_reg(q, b->data, len, access, &b->mr);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(b);
	return 0;
}

static void *buf_desc(const OfiBuf *b) { return b->mr ? fi_mr_desc(b->mr) : NULL; }

static void inflight_add(OfiQp *q, OfiBuf *b) { smbd_qp_buf_add(&q->inflight, &b->link); }
static void inflight_remove(OfiQp *q, OfiBuf *b) { smbd_qp_buf_remove(&q->inflight, &b->link); }

static void free_list(SmbdQpBufLink **head) {
	while (*head) {
		OfiBuf *b = (OfiBuf *)*head;
		*head = b->link.next;
		buf_free(b);
	}
}

/* ---- completions ---- */

/* A transmit-side completion (err 0: success): a send's buffer goes, an
 * RDMA operation is marked done. */
static void tx_done(OfiQp *q, OfiBuf *b, int err) {
	if (b->kind == OFI_OP) {
		b->done = true;
		b->err = err;
		return;
	}
	inflight_remove(q, b);
	buf_free(b);
}

/* Handle what fi_cq_read/fi_cq_sread returned on tx_cq: 0 (nothing more
 * now), or -EIO after a failed send (an RDMA operation's failure is its
 * own result). */
static int tx_handle(OfiQp *q, ssize_t n, const struct fi_cq_entry *e) {
	if (n == -FI_EAVAIL) {
		struct fi_cq_err_entry err = {};
		if (fi_cq_readerr(q->tx_cq, &err, 0) < 0 || !err.op_context)
			return -EIO;
		OfiBuf *b = err.op_context;
		bool send = b->kind == OFI_SEND;
		tx_done(q, b, -(err.err ? err.err : EIO));
		return send ? -EIO : 0;
	}
	for (ssize_t i = 0; i < n; i++)
		tx_done(q, e[i].op_context, 0);
	return 0;
}

static int reap_tx(OfiQp *q) {
	struct fi_cq_entry e[16];
	for (;;) {
		ssize_t n = fi_cq_read(q->tx_cq, e, ELEMENTSOF(e));
		if (n == -FI_EAGAIN)
			return 0;
		if (n < 0 && n != -FI_EAVAIL)
			return (int)n;
		int r = tx_handle(q, n, e);
		if (r < 0)
			return r;
	}
}

/* Completed receives to c; -ECONNRESET/-EIO when one failed. */
static int drain_rx(OfiQp *q, SmbdConn *c, uint64_t now) {
	struct fi_cq_msg_entry e[16];
	for (;;) {
		ssize_t n = fi_cq_read(q->rx_cq, e, ELEMENTSOF(e));
		if (n == -FI_EAGAIN)
			return 0;
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry err = {};
			if (fi_cq_readerr(q->rx_cq, &err, 0) >= 0 && err.op_context) {
				inflight_remove(q, err.op_context);
				buf_free(err.op_context);
			}
			return err.err == FI_ECANCELED ? -ECONNRESET : -EIO;
		}
		if (n < 0)
			return (int)n;
		for (ssize_t i = 0; i < n; i++) {
			_cleanup_(buf_freep) OfiBuf *b = e[i].op_context;
			inflight_remove(q, b);
			(void)smbd_on_recv(c, b->data, e[i].len, now);
		}
	}
}

/* Connection events: 0, or -ECONNRESET once the peer is gone. */
static int eq_events(OfiQp *q) {
	for (;;) {
		uint32_t event;
		struct fi_eq_cm_entry entry;
		ssize_t n = fi_eq_read(q->eq, &event, &entry, sizeof(entry), 0);
		if (n == -FI_EAGAIN)
			return 0;
		if (n == -FI_EAVAIL) {
			struct fi_eq_err_entry err = {};
			(void)fi_eq_readerr(q->eq, &err, 0);
			q->connected = false;
			return -ECONNRESET;
		}
		if (n < 0)
			return (int)n;
		if (event == FI_SHUTDOWN) {
			q->connected = false;
			return -ECONNRESET;
		}
	}
}

/* ---- SmbdQpOps ---- */

/* Post with fn, reaping transmit completions while the queue is full. */
#define OFI_RETRY(q, call)                                                            \
	({                                                                            \
		ssize_t _r;                                                           \
		uint64_t _deadline = now_mono_usec() + ofi_op_timeout_usec;           \
		while ((_r = (call)) == -FI_EAGAIN && now_mono_usec() < _deadline) { \
			int _e = reap_tx(q);                                          \
			if (_e < 0) {                                                 \
				_r = _e;                                              \
				break;                                                \
			}                                                             \
		}                                                                     \
		_r == -FI_EAGAIN ? -ETIMEDOUT : (int)_r;                              \
	})

/* Hand b to the endpoint: send its len bytes, or receive up to len into
 * it.  On failure b is freed. */
static int post(OfiQp *q, OfiBuf *b, size_t len) {
	if (!q->ep) {
		buf_free(b);
		return -ENOTCONN;
	}
	inflight_add(q, b);
	int r = b->kind == OFI_SEND ? OFI_RETRY(q, fi_send(q->ep, b->data, len, buf_desc(b), 0, b))
				    : OFI_RETRY(q, fi_recv(q->ep, b->data, len, buf_desc(b), 0, b));
	if (r < 0) {
		inflight_remove(q, b);
		buf_free(b);
	}
	return r;
}

static int qp_post_send(void *qp, const uint8_t *msg, size_t len) {
	OfiQp *q = qp;
	int r = reap_tx(q);
	OfiBuf *b;
	if (r >= 0)
		r = buf_new(q, OFI_SEND, NULL, msg, len, FI_SEND, &b);
	return r < 0 ? r : post(q, b, len);
}

static int qp_post_recv(void *qp, unsigned n, size_t size) {
	OfiQp *q = qp;
	for (unsigned i = 0; i < n; i++) {
		OfiBuf *b;
		int r = buf_new(q, OFI_RECV, NULL, NULL, size, FI_RECV, &b);
		if (r >= 0)
			r = post(q, b, size);
		if (r < 0)
			return r;
	}
	return 0;
}

static int qp_register_mr(void *qp, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	OfiQp *q = qp;
	uint64_t fa = ((access & SMBD_ACCESS_REMOTE_READ) ? FI_REMOTE_READ : 0) |
		      ((access & SMBD_ACCESS_REMOTE_WRITE) ? FI_REMOTE_WRITE : 0);
	OfiBuf *b;
	int r = buf_new(q, OFI_REGION, buf, NULL, len, fa, &b);
	if (r < 0)
		return r;
	uint64_t key = fi_mr_key(b->mr);
	if (key > UINT32_MAX) { /* the provider's own key: SMB Direct carries 32 bits */
		buf_free(b);
		return -EOVERFLOW;
	}
	b->token = (uint32_t)key;
	pthread_mutex_lock(&q->lock);
	b->link.next = q->regions;
	q->regions = &b->link;
	pthread_mutex_unlock(&q->lock);
	*ret = (SmbdBufferDesc){ .offset = (q->mr_mode & FI_MR_VIRT_ADDR) ? (uintptr_t)buf : 0,
				 .token = b->token, .length = (uint32_t)len };
	return 0;
}

static int qp_deregister_mr(void *qp, uint32_t token) {
	OfiQp *q = qp;
	OfiBuf *found = NULL;
	pthread_mutex_lock(&q->lock);
	for (SmbdQpBufLink **p = &q->regions; *p; p = &(*p)->next)
		if (((OfiBuf *)*p)->token == token) {
			found = (OfiBuf *)*p;
			*p = found->link.next;
			break;
		}
	pthread_mutex_unlock(&q->lock);
	buf_free(found);
	return found ? 0 : -ENOENT;
}

/* Post one RDMA read or write and wait (bounded) for its completion; a
 * write completes once it was placed in the peer's memory
 * (FI_DELIVERY_COMPLETE), as an RC verbs write does once acknowledged. */
static int rdma_op(OfiQp *q, bool read, void *local, size_t len, uint64_t remote, uint32_t token) {
	_cleanup_(buf_freep) OfiBuf *b = NULL;
	int r = q->ep ? buf_new(q, OFI_OP, local, NULL, len, read ? FI_READ : FI_WRITE, &b) : -ENOTCONN;
	if (r < 0)
		return r;
	struct iovec iov = { .iov_base = local, .iov_len = len };
	void *desc = buf_desc(b);
	struct fi_rma_iov rma = { .addr = remote, .len = len, .key = token };
	struct fi_msg_rma msg = { .msg_iov = &iov, .desc = &desc, .iov_count = 1, .rma_iov = &rma,
				  .rma_iov_count = 1, .context = b };
	r = read ? OFI_RETRY(q, fi_readmsg(q->ep, &msg, FI_COMPLETION))
		 : OFI_RETRY(q, fi_writemsg(q->ep, &msg, FI_COMPLETION | FI_DELIVERY_COMPLETE));
	if (r < 0)
		return r;
	uint64_t deadline = now_mono_usec() + ofi_op_timeout_usec;
	while (!b->done) {
		uint64_t now = now_mono_usec();
		if (now >= deadline) { /* the operation may still reach local: the endpoint goes first */
			qp_break(q);
			return -ETIMEDOUT;
		}
		struct fi_cq_entry e[16];
		ssize_t n = fi_cq_sread(q->tx_cq, e, ELEMENTSOF(e), NULL, (int)((deadline - now + 999) / 1000));
		if (n == -FI_EAGAIN)
			continue;
		if (n < 0 && n != -FI_EAVAIL)
			return (int)n;
		r = tx_handle(q, n, e);
		if (r < 0)
			return r;
	}
	return b->err;
}

static int qp_rdma_read(void *qp, void *local, size_t len, uint64_t remote, uint32_t token) {
	return rdma_op(qp, true, local, len, remote, token);
}

static int qp_rdma_write(void *qp, const void *local, size_t len, uint64_t remote, uint32_t token) {
	return rdma_op(qp, false, (void *)local, len, remote, token);
}

static void qp_disconnect(void *qp) {
	OfiQp *q = qp;
	if (q->connected)
		(void)fi_shutdown(q->ep, 0); /* the peer sees FI_SHUTDOWN */
	q->connected = false;
}

static const SmbdQpOps ofi_qp_ops = {
	.post_send = qp_post_send,
	.post_recv = qp_post_recv,
	.register_mr = qp_register_mr,
	.deregister_mr = qp_deregister_mr,
	.rdma_read = qp_rdma_read,
	.rdma_write = qp_rdma_write,
	.disconnect = qp_disconnect,
};

/* ---- the queue pair's life ---- */

#define CLOSE_FID(p)                         \
	do {                                 \
		if (p)                       \
			fi_close(&(p)->fid); \
		(p) = NULL;                  \
	} while (0)

/* Close the endpoint: the provider touches none of our memory after this
 * (completions it still queued are dropped unread), so what was in flight
 * is freed.  Every later operation fails with -ENOTCONN. */
static void qp_break(OfiQp *q) {
	qp_disconnect(q);
	if (!q->ep)
		return;
	CLOSE_FID(q->ep);
	struct fid_cq *cqs[] = { q->rx_cq, q->tx_cq };
	for (size_t i = 0; i < ELEMENTSOF(cqs); i++) {
		struct fi_cq_msg_entry e[16];
		struct fi_cq_err_entry err;
		ssize_t n;
		while (cqs[i] && ((n = fi_cq_read(cqs[i], e, ELEMENTSOF(e))) > 0 ||
				  (n == -FI_EAVAIL && fi_cq_readerr(cqs[i], &err, 0) >= 0)))
			;
	}
	free_list(&q->inflight);
}

static void ofi_qp_destroy(void *qp) {
	OfiQp *q = qp;
	if (!q)
		return;
	qp_break(q); /* a request never accepted just closes: its handle went to the endpoint */
	free_list(&q->regions);
	CLOSE_FID(q->rx_cq);
	CLOSE_FID(q->tx_cq);
	CLOSE_FID(q->eq);
	CLOSE_FID(q->domain);
	CLOSE_FID(q->fabric);
	if (q->info)
		fi_freeinfo(q->info);
	if (q->epfd >= 0)
		close(q->epfd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(OfiQp *, ofi_qp_destroy)

static int ofi_qp_process(void *qp, SmbdConn *c, uint64_t now) {
	OfiQp *q = qp;
	if (!q->ep)
		return smbd_abort(c, -ECONNRESET);
	struct fid *fids[] = { &q->rx_cq->fid, &q->eq->fid };
	for (int i = 0; i < OFI_TRYWAIT_ROUNDS; i++) {
		int r = drain_rx(q, c, now);
		if (r >= 0)
			r = reap_tx(q);
		if (r >= 0)
			r = eq_events(q);
		if (r < 0)
			return smbd_abort(c, r);
		if (fi_trywait(q->fabric, fids, ELEMENTSOF(fids)) != -FI_EAGAIN)
			break; /* the fd will say when there is more */
	}
	return 0;
}

static int ofi_qp_accept(void *qp) {
	OfiQp *q = qp;
	int r = fi_accept(q->ep, NULL, 0);
	if (r < 0)
		return r;
	q->connected = true;
	return 0;
}

/* The wait fd of fid, added to epfd. */
static int add_wait_fd(int epfd, struct fid *fid) {
	int fd = -1;
	int r = fi_control(fid, FI_GETWAIT, &fd);
	if (r < 0)
		return r;
	struct epoll_event e = { .events = EPOLLIN };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

/* Fabric, domain, EQ, endpoint and CQs for info (taken), enabled. */
static int ofi_qp_new(struct fi_info *info, OfiQp **ret) {
	OfiQp *raw = calloc(1, sizeof(*raw));
	if (!raw) {
		fi_freeinfo(info);
		return -ENOMEM;
	}
	_cleanup_(ofi_qp_destroyp) OfiQp *q = raw;
	pthread_mutex_init(&q->lock, NULL);
	q->info = info;
	q->epfd = -1;
	q->mr_mode = info->domain_attr->mr_mode;
	struct fi_eq_attr eqa = { .size = 16, .wait_obj = FI_WAIT_FD };
	struct fi_cq_attr rxa = { .size = OFI_CQ_DEPTH, .format = FI_CQ_FORMAT_MSG, .wait_obj = FI_WAIT_FD };
	struct fi_cq_attr txa = { .size = OFI_CQ_DEPTH, .format = FI_CQ_FORMAT_CONTEXT, .wait_obj = FI_WAIT_UNSPEC };
	int r = fi_fabric(info->fabric_attr, &q->fabric, NULL);
	if (r >= 0)
		r = fi_domain(q->fabric, info, &q->domain, NULL);
	if (r >= 0)
		r = fi_eq_open(q->fabric, &eqa, &q->eq, NULL);
	if (r >= 0)
		r = fi_endpoint(q->domain, info, &q->ep, NULL);
	if (r >= 0)
		r = fi_cq_open(q->domain, &rxa, &q->rx_cq, NULL);
	if (r >= 0)
		r = fi_cq_open(q->domain, &txa, &q->tx_cq, NULL);
	if (r >= 0)
		r = fi_ep_bind(q->ep, &q->eq->fid, 0);
	if (r >= 0)
		r = fi_ep_bind(q->ep, &q->rx_cq->fid, FI_RECV);
	if (r >= 0)
		r = fi_ep_bind(q->ep, &q->tx_cq->fid, FI_TRANSMIT);
	if (r >= 0)
		r = fi_enable(q->ep);
	if (r < 0)
		return r;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		return -errno;
	r = add_wait_fd(q->epfd, &q->rx_cq->fid);
	if (r >= 0)
		r = add_wait_fd(q->epfd, &q->eq->fid);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(q);
	return 0;
}

static void ofi_qp_fill(OfiQp *q, bool server, SmbdQp *ret) {
	*ret = (SmbdQp){ .ops = &ofi_qp_ops, .qp = q, .fd = q->epfd, .process = ofi_qp_process,
			 .destroy = ofi_qp_destroy, .accept = server ? ofi_qp_accept : NULL };
	size_t len = sizeof(ret->peer);
	if (fi_getpeer(q->ep, &ret->peer, &len) < 0 && q->info->dest_addr &&
	    q->info->dest_addrlen <= sizeof(ret->peer))
		memcpy(&ret->peer, q->info->dest_addr, q->info->dest_addrlen);
}

/* ---- server: the listener ---- */

typedef struct OfiListener {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_eq *eq;
	struct fid_pep *pep;
} OfiListener;

static void ofi_listener_destroy(void *l) {
	OfiListener *ol = l;
	if (!ol)
		return;
	CLOSE_FID(ol->pep);
	CLOSE_FID(ol->eq);
	CLOSE_FID(ol->fabric);
	if (ol->info)
		fi_freeinfo(ol->info);
	free(ol);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(OfiListener *, ofi_listener_destroy)

static int ofi_listener_next(void *l, bool refuse, SmbdQp *ret) {
	OfiListener *ol = l;
	struct fid *fids[] = { &ol->eq->fid };
	for (;;) {
		uint32_t event;
		struct fi_eq_cm_entry entry;
		ssize_t n = fi_eq_read(ol->eq, &event, &entry, sizeof(entry), 0);
		if (n == -FI_EAGAIN) {
			if (fi_trywait(ol->fabric, fids, 1) == -FI_EAGAIN)
				continue;
			return -EAGAIN;
		}
		if (n == -FI_EAVAIL) {
			struct fi_eq_err_entry err = {};
			(void)fi_eq_readerr(ol->eq, &err, 0);
			continue;
		}
		if (n < 0)
			return (int)n;
		if (event != FI_CONNREQ)
			continue;
		if (refuse) { /* before fi_endpoint takes the request's handle */
			(void)fi_reject(ol->pep, entry.info->handle, NULL, 0);
			fi_freeinfo(entry.info);
			return -ECONNREFUSED;
		}
		OfiQp *q;
		int r = ofi_qp_new(entry.info, &q); /* takes entry.info */
		if (r < 0)
			return r; /* the request's socket closes with it: the peer sees a reset */
		ofi_qp_fill(q, true, ret);
		return 0;
	}
}

int rdma_ofi_listen(const struct sockaddr *addr, socklen_t addrlen, const char *provider, SmbdListener *ret) {
	_cleanup_(ofi_listener_destroyp) OfiListener *ol = calloc(1, sizeof(*ol));
	if (!ol)
		return -ENOMEM;
	int r = ofi_getinfo(provider, addr, NULL, addrlen, &ol->info);
	if (r < 0)
		return r;
	struct fi_eq_attr eqa = { .size = 64, .wait_obj = FI_WAIT_FD };
	int fd = -1;
	r = fi_fabric(ol->info->fabric_attr, &ol->fabric, NULL);
	if (r >= 0)
		r = fi_eq_open(ol->fabric, &eqa, &ol->eq, NULL);
	if (r >= 0)
		r = fi_passive_ep(ol->fabric, ol->info, &ol->pep, NULL);
	if (r >= 0)
		r = fi_pep_bind(ol->pep, &ol->eq->fid, 0);
	if (r >= 0)
		r = fi_listen(ol->pep);
	if (r >= 0)
		r = fi_control(&ol->eq->fid, FI_GETWAIT, &fd);
	if (r < 0)
		return r;
	*ret = (SmbdListener){ .l = ol, .fd = fd, .next = ofi_listener_next, .destroy = ofi_listener_destroy };
	TAKE_PTR(ol);
	return 0;
}

/* ---- client: connect ---- */

int rdma_ofi_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider, unsigned timeout_ms,
		     SmbdQp *ret) {
	struct fi_info *info;
	int r = ofi_getinfo(provider, NULL, addr, addrlen, &info);
	if (r < 0)
		return r;
	_cleanup_(ofi_qp_destroyp) OfiQp *q = NULL;
	r = ofi_qp_new(info, &q); /* takes info */
	if (r < 0)
		return r;
	r = fi_connect(q->ep, q->info->dest_addr, NULL, 0);
	if (r < 0)
		return r;
	uint64_t deadline = now_mono_usec() + (uint64_t)timeout_ms * 1000;
	for (;;) {
		uint64_t now = now_mono_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		uint32_t event;
		struct fi_eq_cm_entry entry;
		ssize_t n = fi_eq_sread(q->eq, &event, &entry, sizeof(entry), (int)((deadline - now + 999) / 1000), 0);
		if (n == -FI_EAGAIN || n == -FI_ETIMEDOUT)
			continue;
		if (n == -FI_EAVAIL) {
			struct fi_eq_err_entry err = {};
			(void)fi_eq_readerr(q->eq, &err, 0);
			return err.err == FI_ECONNREFUSED || err.err == FI_ECONNRESET ? -ECONNREFUSED
			       : -(err.err ? err.err : EIO);
		}
		if (n < 0)
			return (int)n;
		if (event == FI_CONNECTED)
			break;
		if (event == FI_SHUTDOWN)
			return -ECONNREFUSED;
	}
	q->connected = true;
	ofi_qp_fill(q, false, ret);
	TAKE_PTR(q);
	return 0;
}
