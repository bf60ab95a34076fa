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
 * closed at once.
 * Must never: block in accept; listen on an address not given by --listen.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "server.h"

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
