/*
 * smbdirect_loopback.c - the in-process queue pair pair (see
 * smbdirect_loopback.h): message queues, posted receive buffers, memory
 * regions by token, fault injection.
 *
 * Invariants: posted[end] counts receive buffers that end posted and no
 * message consumed yet; a region is reachable only through the end that did
 * not register it (the remote side), with the access it was registered for.
 * Must never: call into an SmbdConn from post_send (delivery happens in
 * smbd_loopback_run only).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smbdirect_loopback.h"
#include "util.h"

typedef struct LoopMsg {
	struct LoopMsg *next;
	size_t len;
	uint8_t data[];
} LoopMsg;

typedef struct LoopRegion {
	struct LoopRegion *next;
	uint8_t *buf;
	size_t len;
	uint32_t token;
	unsigned access;
} LoopRegion;

typedef struct LoopEnd {
	SmbdLoopback *lb;
	unsigned index;
	SmbdConn *conn;
	unsigned posted;
	size_t buf_size; /* of the posted buffers (the last post_recv's) */
	LoopMsg *in_head, *in_tail;
	size_t pending;
	LoopRegion *regions;
	SmbdLoopFaults faults;
	unsigned sends;
} LoopEnd;

struct SmbdLoopback {
	LoopEnd end[2];
	bool disconnected;
	uint32_t next_token;
};

int smbd_loopback_new(SmbdLoopback **ret) {
	SmbdLoopback *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	for (unsigned i = 0; i < 2; i++)
		lb->end[i] = (LoopEnd){ .lb = lb, .index = i };
	lb->next_token = 0x1000;
	*ret = lb;
	return 0;
}

static void end_clear(LoopEnd *e) {
	while (e->in_head) {
		LoopMsg *m = e->in_head;
		e->in_head = m->next;
		free(m);
	}
	e->in_tail = NULL;
	e->pending = 0;
	while (e->regions) {
		LoopRegion *r = e->regions;
		e->regions = r->next;
		free(r);
	}
}

void smbd_loopback_free(SmbdLoopback *lb) {
	if (!lb)
		return;
	end_clear(&lb->end[0]);
	end_clear(&lb->end[1]);
	free(lb);
}

void *smbd_loopback_end(SmbdLoopback *lb, unsigned end) { return &lb->end[end & 1]; }
void smbd_loopback_attach(SmbdLoopback *lb, unsigned end, SmbdConn *c) { lb->end[end & 1].conn = c; }
SmbdLoopFaults *smbd_loopback_faults(SmbdLoopback *lb, unsigned end) { return &lb->end[end & 1].faults; }
unsigned smbd_loopback_posted(const SmbdLoopback *lb, unsigned end) { return lb->end[end & 1].posted; }
size_t smbd_loopback_pending(const SmbdLoopback *lb, unsigned end) { return lb->end[end & 1].pending; }
bool smbd_loopback_disconnected(const SmbdLoopback *lb) { return lb->disconnected; }

static int enqueue(LoopEnd *to, const uint8_t *msg, size_t len) {
	LoopMsg *m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->data, msg, len);
	if (to->in_tail)
		to->in_tail->next = m;
	else
		to->in_head = m;
	to->in_tail = m;
	to->pending++;
	return 0;
}

int smbd_loopback_inject(SmbdLoopback *lb, unsigned end, const uint8_t *msg, size_t len) {
	return enqueue(&lb->end[end & 1], msg, len);
}

int smbd_loopback_take(SmbdLoopback *lb, unsigned end, uint8_t *buf, size_t cap) {
	LoopEnd *e = &lb->end[end & 1];
	LoopMsg *m = e->in_head;
	if (!m)
		return -ENOENT;
	if (m->len > cap)
		return -ENOBUFS;
	memcpy(buf, m->data, m->len);
	int n = (int)m->len;
	e->in_head = m->next;
	if (!e->in_head)
		e->in_tail = NULL;
	e->pending--;
	free(m);
	return n;
}

static LoopEnd *peer_of(LoopEnd *e) { return &e->lb->end[e->index ^ 1]; }

static int lo_post_send(void *qp, const uint8_t *msg, size_t len) {
	LoopEnd *e = qp;
	if (e->lb->disconnected)
		return -ENOTCONN;
	e->sends++;
	if (e->faults.fail_send_at && e->sends == e->faults.fail_send_at)
		return -EIO;
	size_t n = peer_of(e)->faults.truncate && peer_of(e)->faults.truncate < len ? peer_of(e)->faults.truncate : len;
	return enqueue(peer_of(e), msg, n);
}

static int lo_post_recv(void *qp, unsigned n, size_t size) {
	LoopEnd *e = qp;
	if (e->lb->disconnected)
		return -ENOTCONN;
	e->posted += n;
	e->buf_size = size;
	return 0;
}

static int lo_register_mr(void *qp, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	LoopEnd *e = qp;
	LoopRegion *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (LoopRegion){ .next = e->regions, .buf = buf, .len = len, .token = e->lb->next_token++,
			   .access = access };
	e->regions = r;
	*ret = (SmbdBufferDesc){ .offset = (uint64_t)(uintptr_t)buf, .token = r->token, .length = (uint32_t)len };
	return 0;
}

static int lo_deregister_mr(void *qp, uint32_t token) {
	LoopEnd *e = qp;
	for (LoopRegion **p = &e->regions; *p; p = &(*p)->next)
		if ((*p)->token == token) {
			LoopRegion *r = *p;
			*p = r->next;
			free(r);
			return 0;
		}
	return -ENOENT;
}

/* The peer's region for (remote, len, token) with access, or NULL. */
static uint8_t *remote_memory(LoopEnd *e, uint64_t remote, size_t len, uint32_t token, unsigned access) {
	for (LoopRegion *r = peer_of(e)->regions; r; r = r->next) {
		uint64_t base = (uint64_t)(uintptr_t)r->buf;
		if (r->token != token)
			continue;
		if (!(r->access & access) || remote < base || len > r->len || remote - base > r->len - len)
			return NULL;
		return r->buf + (remote - base);
	}
	return NULL;
}

static int lo_rdma_read(void *qp, void *local, size_t len, uint64_t remote, uint32_t token) {
	LoopEnd *e = qp;
	if (e->lb->disconnected)
		return -ENOTCONN;
	uint8_t *src = remote_memory(e, remote, len, token, SMBD_ACCESS_REMOTE_READ);
	if (e->faults.fail_rdma || !src)
		return -EIO; /* a remote access error breaks a verbs QP too */
	memcpy(local, src, len);
	return 0;
}

static int lo_rdma_write(void *qp, const void *local, size_t len, uint64_t remote, uint32_t token) {
	LoopEnd *e = qp;
	if (e->lb->disconnected)
		return -ENOTCONN;
	uint8_t *dst = remote_memory(e, remote, len, token, SMBD_ACCESS_REMOTE_WRITE);
	if (e->faults.fail_rdma || !dst)
		return -EIO;
	memcpy(dst, local, len);
	return 0;
}

static void lo_disconnect(void *qp) {
	LoopEnd *e = qp;
	e->lb->disconnected = true;
}

const SmbdQpOps smbd_loopback_ops = {
	.post_send = lo_post_send,
	.post_recv = lo_post_recv,
	.register_mr = lo_register_mr,
	.deregister_mr = lo_deregister_mr,
	.rdma_read = lo_rdma_read,
	.rdma_write = lo_rdma_write,
	.disconnect = lo_disconnect,
};

/* Deliver one message queued for e; 1 delivered, 0 none, -errno. */
static int deliver_one(LoopEnd *e, uint64_t now) {
	LoopMsg *m = e->in_head;
	if (!m || !e->conn)
		return 0;
	e->in_head = m->next;
	if (!e->in_head)
		e->in_tail = NULL;
	e->pending--;
	_cleanup_free_ LoopMsg *msg = m;
	if (e->posted == 0 || msg->len > e->buf_size) {
		/* receiver not ready (RNR) / local length error: the QP breaks */
		int r = e->posted == 0 ? -ENOBUFS : -EMSGSIZE;
		e->lb->disconnected = true;
		(void)smbd_abort(e->conn, r);
		return r;
	}
	e->posted--;
	(void)smbd_on_recv(e->conn, msg->data, msg->len, now); /* a drop shows in the conn's state */
	return 1;
}

int smbd_loopback_run(SmbdLoopback *lb, uint64_t now) {
	int total = 0;
	for (;;) {
		int n = 0;
		for (unsigned i = 0; i < 2 && !lb->disconnected; i++) {
			int r = deliver_one(&lb->end[i], now);
			if (r < 0)
				return r;
			n += r;
		}
		if (n == 0 || lb->disconnected)
			return total + n;
		total += n;
	}
}
