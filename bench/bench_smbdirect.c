/*
 * bench_smbdirect.c - the SMB Direct layer (endpoint/smbdirect.c) over the
 * in-process loopback queue pair, two ways:
 *
 *   bench_smbdirect
 *       throughput of upper-layer messages fragmented into SMB Direct
 *       sends (Windows' 1364-byte and an 8 KiB send size) and of RDMA reads
 *       through buffer descriptors, beside memcpy of the same bytes in the
 *       same run (no other SMB Direct implementation runs on a machine
 *       without an RDMA device, so memcpy is the reference).
 *   bench_smbdirect --proxy LISTEN_PORT TARGET_PORT
 *       a TCP proxy on 127.0.0.1:LISTEN_PORT that carries every SMB2 frame
 *       of each connection through an SMB Direct client/server pair over
 *       the loopback (negotiate, credits, fragmentation, reassembly) before
 *       handing it to 127.0.0.1:TARGET_PORT (smbrefd), and the responses
 *       back the same way: real SMB clients' traffic through the layer
 *       (tests/integration/rdma_loopback_smbclient.sh).
 *   bench_smbdirect --proxy LISTEN_PORT TARGET_PORT --rdma-provider NAME
 *       the same, but each connection is an SMB Direct client over the
 *       libfabric stack (rdma_ofi.c, provider NAME) to smbrefd's
 *       rdma:127.0.0.1:TARGET_PORT listener, bridged to the SMB client's
 *       socket by smbd_bridge.c (tests/integration/rdma_ofi_smbclient.sh).
 *
 * Invariants: a frame is forwarded only whole, in order; a connection
 * whose SMB Direct pair drops is closed on both sides.
 * Must never: listen on anything but 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smbd_bridge.h"
#include "smbd_qp.h"
#include "smbdirect.h"
#include "smbdirect_loopback.h"
#include "util.h"

#define PROXY_MAX_LINKS 32
#define PROXY_MAX_FRAME (9u * 1024u * 1024u) /* smbrefd's 8 MiB READ/WRITE plus headers */

/* ---- proxy ---- */

typedef struct Link Link;
typedef struct Side {
	Link *link;
	int fd;       /* the socket this side reads frames from */
	int peer_fd;  /* where what this side's SmbdConn delivers is written */
	SmbdConn *c;
	uint8_t *in;
	size_t in_len, in_cap;
} Side;

struct Link {
	SmbdLoopback *lb;
	Side side[2]; /* 0: the SMB client's socket and the SMB Direct client; 1: smbrefd's and the server */
	bool dead;
};

static int write_all(int fd, const uint8_t *p, size_t n) {
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A whole message from the SMB Direct pair: Direct TCP framing to the
 * other socket ([MS-SMB2] 2.1). */
static int deliver(void *userdata, const uint8_t *msg, size_t len) {
	Side *s = userdata;
	uint8_t h[4] = { 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	int r = write_all(s->peer_fd, h, 4);
	return r < 0 ? r : write_all(s->peer_fd, msg, len);
}

static void link_free(Link *l) {
	for (unsigned i = 0; i < 2; i++) {
		smbd_conn_free(l->side[i].c);
		free(l->side[i].in);
		if (l->side[i].fd >= 0)
			close(l->side[i].fd);
	}
	smbd_loopback_free(l->lb);
	free(l);
}

static int link_new(int client_fd, uint16_t target, Link **ret) {
	_cleanup_close_ int cfd = client_fd;
	_cleanup_close_ int sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(target),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (sfd < 0 || connect(sfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	Link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->side[0] = (Side){ .link = l, .fd = TAKE_FD(cfd), .peer_fd = -1 };
	l->side[1] = (Side){ .link = l, .fd = TAKE_FD(sfd), .peer_fd = -1 };
	l->side[0].peer_fd = l->side[0].fd; /* the client side delivers responses to the SMB client */
	l->side[1].peer_fd = l->side[1].fd; /* the server side delivers requests to smbrefd */
	int r = smbd_loopback_new(&l->lb);
	for (unsigned i = 0; r >= 0 && i < 2; i++) {
		unsigned end = i ^ 1; /* server first: it must wait for the negotiate */
		SmbdConfig cfg;
		smbd_config_default(&cfg);
		cfg.max_fragmented_size = PROXY_MAX_FRAME;
		cfg.deliver = deliver;
		cfg.userdata = &l->side[end];
		r = smbd_conn_new(&cfg, &smbd_loopback_ops, smbd_loopback_end(l->lb, end), end == 1, 0,
				  &l->side[end].c);
		if (r >= 0)
			smbd_loopback_attach(l->lb, end, l->side[end].c);
	}
	if (r >= 0)
		r = smbd_loopback_run(l->lb, now_mono_usec());
	if (r < 0 || smbd_state(l->side[0].c) != SMBD_CONNECTED || smbd_state(l->side[1].c) != SMBD_CONNECTED) {
		link_free(l);
		return r < 0 ? r : -EPROTO;
	}
	*ret = l;
	return 0;
}

/* Readable: take whole frames into the side's SmbdConn. */
static void side_read(Side *s) {
	Link *l = s->link;
	if (s->in_cap - s->in_len < 65536) {
		size_t cap = s->in_cap ? s->in_cap * 2 : 262144;
		uint8_t *p = cap <= 2 * PROXY_MAX_FRAME ? realloc(s->in, cap) : NULL;
		if (!p) {
			l->dead = true;
			return;
		}
		s->in = p;
		s->in_cap = cap;
	}
	ssize_t n = read(s->fd, s->in + s->in_len, s->in_cap - s->in_len);
	if (n <= 0) {
		l->dead = n == 0 || errno != EINTR;
		return;
	}
	s->in_len += (size_t)n;
	size_t used = 0;
	while (s->in_len - used >= 4) {
		const uint8_t *h = s->in + used;
		size_t len = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		if (h[0] != 0 || len > PROXY_MAX_FRAME) {
			l->dead = true;
			return;
		}
		if (s->in_len - used < 4 + len)
			break;
		if (smbd_send(s->c, h + 4, len, now_mono_usec()) < 0 ||
		    smbd_loopback_run(l->lb, now_mono_usec()) < 0) {
			l->dead = true;
			return;
		}
		used += 4 + len;
	}
	memmove(s->in, s->in + used, s->in_len - used);
	s->in_len -= used;
	for (unsigned i = 0; i < 2; i++)
		if (smbd_state(l->side[i].c) == SMBD_DISCONNECTED)
			l->dead = true;
}

/* The loopback kind of link: both SMB Direct ends in this process. */
static int loop_new(int cfd, uint16_t target, const char *provider, void **ret) {
	(void)provider;
	return link_new(cfd, target, (Link **)ret);
}

static uint64_t loop_fds(void *link, struct pollfd p[2]) {
	Link *l = link;
	for (unsigned k = 0; k < 2; k++)
		p[k] = (struct pollfd){ .fd = l->side[k].fd, .events = POLLIN };
	return UINT64_MAX;
}

static bool loop_run(void *link, const struct pollfd p[2]) {
	Link *l = link;
	for (unsigned k = 0; k < 2 && !l->dead; k++)
		if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
			side_read(&l->side[k]);
	return !l->dead;
}

static void loop_free(void *link) { link_free(link); }

/* The RDMA stack kind: this process is the SMB Direct client of smbrefd's
 * rdma: listener over libfabric's provider, bridged to the SMB client's
 * socket (smbd_bridge.c, as the reference client does). */
static int stack_new(int cfd, uint16_t target, const char *provider, void **ret) {
	_cleanup_close_ int fd = cfd;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(target),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SmbdQp qp;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	int r = rdma_ofi_connect((struct sockaddr *)&a, sizeof(a), provider, 10000, &qp);
	if (r < 0)
		return r;
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.max_fragmented_size = SMBD_BRIDGE_FRAME_MAX; /* smbrefd's 8 MiB READ/WRITE without RDMA channels */
	cfg.max_send_size = SMBD_DEFAULT_MAX_RECEIVE_SIZE; /* no Ethernet frame to fit in, as in transport_rdma.c */
	r = smbd_bridge_new(&qp, fd, false, &cfg, now_mono_usec(), (SmbdBridge **)ret);
	if (r < 0) {
		qp.destroy(qp.qp);
		return r;
	}
	TAKE_FD(fd);
	return 0;
}

static uint64_t stack_fds(void *link, struct pollfd p[2]) {
	SmbdBridgeWait w;
	smbd_bridge_wait(link, &w);
	p[0] = (struct pollfd){ .fd = w.socket_fd, .events = w.socket_events };
	p[1] = (struct pollfd){ .fd = w.qp_fd, .events = POLLIN };
	return w.deadline;
}

static bool stack_run(void *link, const struct pollfd p[2]) {
	(void)p;
	return smbd_bridge_run(link, now_mono_usec()) >= 0;
}

static void stack_free(void *link) { smbd_bridge_free(link); }

static const struct LinkKind {
	const char *name;
	int (*new)(int cfd, uint16_t target, const char *provider, void **ret); /* takes cfd */
	uint64_t (*fds)(void *link, struct pollfd p[2]); /* what to poll; returns a deadline */
	bool (*run)(void *link, const struct pollfd p[2]); /* false: the link is over */
	void (*free)(void *link);
} link_kinds[] = {
	[false] = { "SMB Direct loopback", loop_new, loop_fds, loop_run, loop_free },
	[true] = { "SMB Direct over libfabric", stack_new, stack_fds, stack_run, stack_free },
};

static int proxy(uint16_t listen_port, uint16_t target, const char *provider) {
	const struct LinkKind *kind = &link_kinds[provider != NULL];
	_cleanup_close_ int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(listen_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "bench_smbdirect: listen 127.0.0.1:%u: %m\n", listen_port);
		return 1;
	}
	fprintf(stderr, "bench_smbdirect: proxy 127.0.0.1:%u -> %s%s%s -> 127.0.0.1:%u\n", listen_port, kind->name,
		provider ? " " : "", provider ? provider : "", target);
	void *links[PROXY_MAX_LINKS] = {};
	for (;;) {
		struct pollfd p[1 + 2 * PROXY_MAX_LINKS] = { { .fd = lfd, .events = POLLIN } };
		uint64_t deadline = UINT64_MAX;
		for (size_t i = 0; i < PROXY_MAX_LINKS; i++) {
			p[1 + 2 * i] = p[2 + 2 * i] = (struct pollfd){ .fd = -1 };
			uint64_t d = links[i] ? kind->fds(links[i], &p[1 + 2 * i]) : UINT64_MAX;
			deadline = d < deadline ? d : deadline;
		}
		uint64_t now = now_mono_usec();
		int timeout = deadline == UINT64_MAX ? -1 : deadline <= now ? 0 : (int)((deadline - now) / 1000 + 1);
		if (poll(p, ELEMENTSOF(p), timeout) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (size_t i = 0; i < PROXY_MAX_LINKS; i++)
			if (links[i] && !kind->run(links[i], &p[1 + 2 * i])) {
				kind->free(links[i]);
				links[i] = NULL;
			}
		if (p[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			size_t slot = 0;
			while (slot < PROXY_MAX_LINKS && links[slot])
				slot++;
			if (cfd < 0)
				continue;
			if (slot == PROXY_MAX_LINKS) {
				close(cfd);
				continue;
			}
			int r = kind->new(cfd, target, provider, &links[slot]);
			if (r < 0)
				fprintf(stderr, "bench_smbdirect: connection not carried: %s\n", strerror(-r));
		}
	}
}

/* ---- throughput ---- */

static size_t bench_bytes;
static int count_deliver(void *userdata, const uint8_t *msg, size_t len) {
	(void)userdata, (void)msg;
	bench_bytes += len;
	return 0;
}

static double mbps(size_t bytes, uint64_t usec) { return usec ? (double)bytes / (double)usec : 0; }

/* A negotiated pair over the loopback: c[1] the server, c[0] the client;
 * send_size 0: the Windows defaults. */
static int pair_new(uint32_t send_size, SmbdLoopback **ret_lb, SmbdConn *c[2]) {
	SmbdLoopback *lb;
	if (smbd_loopback_new(&lb) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < 2; i++) {
		unsigned end = i ^ 1; /* the server first */
		SmbdConfig cfg;
		smbd_config_default(&cfg);
		if (send_size)
			cfg.max_send_size = cfg.max_receive_size = send_size;
		cfg.deliver = count_deliver;
		if (smbd_conn_new(&cfg, &smbd_loopback_ops, smbd_loopback_end(lb, end), end == 1, 0, &c[end]) < 0)
			return -ENOMEM;
		smbd_loopback_attach(lb, end, c[end]);
	}
	smbd_loopback_run(lb, 0);
	*ret_lb = lb;
	return 0;
}

/* total bytes as 1 MiB messages through fragmentation at send_size. */
static int bench_sends(size_t total, uint32_t send_size, const uint8_t *buf) {
	SmbdLoopback *lb;
	SmbdConn *c[2] = {};
	if (pair_new(send_size, &lb, c) < 0)
		return -ENOMEM;
	bench_bytes = 0;
	uint64_t t0 = now_mono_usec();
	for (size_t off = 0; off < total; off += 1u << 20) {
		if (smbd_send(c[0], buf + off, 1u << 20, 0) < 0)
			return -EIO;
		smbd_loopback_run(lb, 0);
	}
	uint64_t t = now_mono_usec() - t0;
	SmbdStats s;
	smbd_stats(c[0], &s);
	printf("SMB Direct sends, %4u-byte messages: %7.0f MB/s (%llu messages for %zu MiB)\n", send_size,
	       mbps(bench_bytes, t), (unsigned long long)s.sent, total >> 20);
	smbd_conn_free(c[0]);
	smbd_conn_free(c[1]);
	smbd_loopback_free(lb);
	return bench_bytes == total ? 0 : -EIO;
}

static int bench_rdma(size_t total, uint8_t *src, uint8_t *dst) {
	SmbdLoopback *lb;
	SmbdConn *c[2] = {};
	if (pair_new(0, &lb, c) < 0)
		return -ENOMEM;
	uint64_t t0 = now_mono_usec();
	for (size_t off = 0; off < total; off += 1u << 20) {
		SmbdBufferDesc d;
		if (smbd_register(c[0], src + off, 1u << 20, SMBD_ACCESS_REMOTE_READ, &d) < 0 ||
		    smbd_rdma_pull(c[1], &d, 1, dst + off, 1u << 20) < 0 || smbd_deregister(c[0], &d) < 0)
			return -EIO;
	}
	uint64_t t = now_mono_usec() - t0;
	printf("SMB Direct RDMA reads, 1 MiB descriptors: %7.0f MB/s\n", mbps(total, t));
	smbd_conn_free(c[0]);
	smbd_conn_free(c[1]);
	smbd_loopback_free(lb);
	return memcmp(src, dst, total) == 0 ? 0 : -EIO;
}

static int bench(void) {
	const size_t total = 256u << 20;
	_cleanup_free_ uint8_t *src = malloc(total), *dst = malloc(total);
	if (!src || !dst)
		return 1;
	for (size_t i = 0; i < total; i++)
		src[i] = (uint8_t)(i * 131u >> 7);
	memcpy(dst, src, total); /* fault the pages in first */
	src[0] ^= 1;
	uint64_t t0 = now_mono_usec();
	memcpy(dst, src, total);
	uint64_t t = now_mono_usec() - t0;
	printf("reference (no SMB Direct peer can run here): memcpy %7.0f MB/s\n", mbps(total, t));
	if (bench_sends(total, SMBD_DEFAULT_MAX_SEND_SIZE, src) < 0 || bench_sends(total, 8192, src) < 0 ||
	    bench_rdma(total, src, dst) < 0) {
		fprintf(stderr, "bench_smbdirect: a transfer failed\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	signal(SIGPIPE, SIG_IGN);
	bool stack = argc == 6 && streq(argv[4], "--rdma-provider");
	if ((argc == 4 || stack) && streq(argv[1], "--proxy")) {
		long long lp, tp;
		if (parse_int64(argv[2], &lp) < 0 || parse_int64(argv[3], &tp) < 0 || lp < 1 || lp > 65535 ||
		    tp < 1 || tp > 65535) {
			fprintf(stderr, "bench_smbdirect: --proxy LISTEN_PORT TARGET_PORT [--rdma-provider NAME]\n");
			return 2;
		}
		return proxy((uint16_t)lp, (uint16_t)tp, stack ? argv[5] : NULL);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: bench_smbdirect [--proxy LISTEN_PORT TARGET_PORT [--rdma-provider NAME]]\n");
		return 2;
	}
	return bench();
}
