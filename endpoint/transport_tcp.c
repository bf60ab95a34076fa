/*
 * transport_tcp.c - SMB2 Direct TCP transport ([MS-SMB2] 2.1): listening
 * sockets and accepting connections into a worker's event loop.
 *
 * Every worker has its own listening socket per --listen address, bound
 * with SO_REUSEPORT, so the kernel spreads connections over the workers and
 * each connection then stays on one thread.  Framing (the 4-byte header:
 * 0x00 + 24-bit big-endian length) is read in conn.c.
 *
 * Invariants: sockets are non-blocking and close-on-exec; a connection
 * accepted while the policy disables TCP (server.transport.tcp.enabled) is
 * closed at once; an accepted socket's send buffer is only ever made
 * larger than the kernel's autotuning would let it grow, never smaller.
 * Must never: block in accept; listen on an address not given by --listen.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

#include "server.h"

/* Send buffer wanted for an accepted socket: a whole READ response of the
 * largest size smbrefd offers (SMB2_SERVER_MAX_IO, plus headers) is handed
 * to the kernel in one writev, so the worker does not wait for the client
 * to drain the rest (bench/RESULTS.md "Endpoint": +5-10% for 8 MiB READs
 * on loopback).  Where autotuning already allows that (tcp_wmem's maximum,
 * 4 MiB by default, against 1 MiB READs) nothing is set. */
#define TCP_SNDBUF_WANT (SMB2_SERVER_MAX_IO + 65536u)

static pthread_once_t sndbuf_once = PTHREAD_ONCE_INIT;
static int sndbuf_request; /* SO_SNDBUF argument, 0: leave autotuning on */

/* The last number in a /proc/sys file, or -1. */
static long long sysctl_last(const char *path) {
	_cleanup_free_ char *text = NULL;
	size_t n;
	if (read_file(path, 256, &text, &n) < 0)
		return -1;
	char *p = text + n;
	while (p > text && (p[-1] == '\n' || p[-1] == ' ' || p[-1] == '\t'))
		*--p = '\0';
	while (p > text && p[-1] >= '0' && p[-1] <= '9')
		p--;
	long long v;
	return parse_int64(p, &v) < 0 ? -1 : v;
}

/* The kernel grants min(request, net.core.wmem_max) * 2 and turns
 * autotuning (up to the last field of net.ipv4.tcp_wmem) off for a socket
 * with an explicit SO_SNDBUF: ask only when that is larger. */
static void sndbuf_init(void) {
	long long wmem_max = sysctl_last("/proc/sys/net/core/wmem_max");
	long long auto_max = sysctl_last("/proc/sys/net/ipv4/tcp_wmem");
	if (wmem_max <= 0 || auto_max <= 0)
		return;
	long long req = wmem_max < TCP_SNDBUF_WANT / 2 ? wmem_max : TCP_SNDBUF_WANT / 2;
	if (req * 2 > auto_max)
		sndbuf_request = (int)req;
}

int transport_tcp_listen(const Listen *l, int *ret_fd) {
	_cleanup_close_ int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -errno;
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0)
		return -errno;
	if (listen(fd, 1024) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	Worker *w = userdata;
	(void)s;
	(void)revents;
	for (;;) {
		struct sockaddr_storage addr;
		socklen_t len = sizeof(addr);
		int cfd = accept4(fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "smbrefd: accept: %m\n");
			return 0;
		}
		if (!w->config->tcp_enabled) {
			close(cfd);
			continue;
		}
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_once(&sndbuf_once, sndbuf_init);
		if (sndbuf_request > 0)
			(void)setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf_request, sizeof(sndbuf_request));
		Conn *c;
		int r = conn_new(w, cfd, &addr, &c);
		if (r < 0)
			fprintf(stderr, "smbrefd: new connection: %s\n", strerror(-r));
		else
			c->tcp = true;
	}
}

int transport_tcp_attach(Worker *w) {
	for (size_t i = 0; i < w->n_listen; i++) {
		int r = sd_event_add_io(w->event, NULL, w->listen_fds[i], EPOLLIN, on_accept, w);
		if (r < 0)
			return r;
	}
	return 0;
}
