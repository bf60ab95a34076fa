/*
 * rdma_client.c - SMB Direct client transport: a stack's queue pair
 * (rdma_verbs.c or rdma_ofi.c), bridged by smbd_bridge.c to a socketpair
 * the SMB2 code reads like TCP.  See rdma_client.h.
 *
 * Threads: rdma_client_connect() drives the bridge itself until the SMB
 * Direct negotiate completed (so a refusal or a timeout comes back from
 * it), then starts the bridge thread; from then on only that thread runs
 * the bridge, until rdma_client_free() wakes it (eventfd) and joins it.
 * Register/deregister reach the SmbdConn from the caller's thread, which
 * smbd_qp.h allows.
 *
 * Invariants: when the connection ends, the bridge thread shuts the
 * socketpair down, so the caller's next read sees EOF instead of waiting
 * for its timeout.
 * Must never: log; block the bridge thread anywhere but in poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "rdma_client.h"
#include "smbd_bridge.h"
#include "smbd_qp.h"
#include "util.h"

#define RDMA_CLIENT_TIMEOUT_MS 10000
#define RDMA_CLIENT_SOCKBUF (4 * 1024 * 1024)

struct RdmaClient {
	SmbdBridge *bridge; /* owns the queue pair and our end of the socketpair */
	pthread_t thread;
	bool started;
	int wake;   /* eventfd: rdma_client_free asks the thread to stop */
	int app_fd; /* the caller's end until it is handed out */
};

/* The stacks, by what the caller asked for: no provider -> verbs. */
static const struct {
	const char *name;
	SmbdConnectFn connect;
} stacks[] = {
	{ "verbs", rdma_verbs_connect },
	{ "ofi", rdma_ofi_connect },
};

void rdma_client_free(RdmaClient *rc) {
	if (!rc)
		return;
	if (rc->started) {
		(void)eventfd_write(rc->wake, 1);
		pthread_join(rc->thread, NULL);
	}
	smbd_bridge_free(rc->bridge);
	if (rc->wake >= 0)
		close(rc->wake);
	if (rc->app_fd >= 0)
		close(rc->app_fd);
	free(rc);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(RdmaClient *, rdma_client_free)

/* Wait for what the bridge asks (at most max_ms; -1: no cap), then run it.
 * 1: stop requested; 0: go on; -errno: the connection is over. */
static int bridge_step(RdmaClient *rc, int max_ms) {
	SmbdBridgeWait w;
	smbd_bridge_wait(rc->bridge, &w);
	int timeout = max_ms;
	if (w.deadline != UINT64_MAX) {
		unsigned long long now = now_mono_usec();
		unsigned long long ms = w.deadline > now ? (w.deadline - now + 999) / 1000 : 0;
		if (timeout < 0 || ms < (unsigned long long)timeout)
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	struct pollfd pfd[3] = {
		{ .fd = w.socket_fd, .events = w.socket_events },
		{ .fd = w.qp_fd, .events = POLLIN },
		{ .fd = rc->wake, .events = POLLIN },
	};
	if (poll(pfd, ELEMENTSOF(pfd), timeout) < 0 && errno != EINTR)
		return -errno;
	if (pfd[2].revents & POLLIN)
		return 1;
	int r = smbd_bridge_run(rc->bridge, now_mono_usec());
	if (r < 0)
		(void)shutdown(w.socket_fd, SHUT_RDWR); /* the caller reads EOF */
	return r;
}

static void *bridge_main(void *userdata) {
	RdmaClient *rc = userdata;
	while (bridge_step(rc, -1) == 0)
		;
	return NULL;
}

static void fill_info(RdmaClient *rc, size_t stack, const char *provider, RdmaClientInfo *info) {
	SmbdStats st;
	smbd_stats(smbd_bridge_conn(rc->bridge), &st);
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	*info = (RdmaClientInfo){
		.max_read_write_size = st.max_read_write_size,
		.max_send_size = st.max_send_size,
		.max_receive_size = st.max_receive_size,
		.max_fragmented_send = st.max_fragmented_send,
		.max_fragmented_receive = cfg.max_fragmented_size,
		.send_credits = st.send_credits,
		.receive_credits = st.receive_credits,
	};
	snprintf(info->stack, sizeof(info->stack), "%s", stacks[stack].name);
	snprintf(info->provider, sizeof(info->provider), "%s", provider ? provider : "");
}

/* Our end of the socketpair, for the bridge: non-blocking, roomy. */
static int socket_pair(int *ret_app, int *ret_bridge) {
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	int size = RDMA_CLIENT_SOCKBUF;
	(void)setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (fcntl(sp[1], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	*ret_app = sp[0];
	*ret_bridge = sp[1];
	return 0;
}

int rdma_client_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
			unsigned timeout_ms, RdmaClient **ret, int *ret_fd, RdmaClientInfo *ret_info) {
	if (provider && !*provider)
		provider = NULL;
	size_t stack = provider ? 1 : 0;
	unsigned ms = timeout_ms ? timeout_ms : RDMA_CLIENT_TIMEOUT_MS;
	_cleanup_(rdma_client_freep) RdmaClient *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->wake = rc->app_fd = -1;
	unsigned long long deadline = now_mono_usec() + (unsigned long long)ms * 1000;

	SmbdQp qp = {};
	int r = stacks[stack].connect(addr, addrlen, provider, ms, &qp);
	if (r < 0)
		return r;
	int bridge_fd = -1;
	r = socket_pair(&rc->app_fd, &bridge_fd);
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	if (r >= 0) {
		r = smbd_bridge_new(&qp, bridge_fd, false, &cfg, now_mono_usec(), &rc->bridge);
		if (r < 0)
			close(bridge_fd);
	}
	if (r < 0) {
		qp.destroy(qp.qp);
		return r;
	}
	rc->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rc->wake < 0)
		return -errno;

	/* The SMB Direct negotiate, on this thread. */
	while (smbd_state(smbd_bridge_conn(rc->bridge)) != SMBD_CONNECTED) {
		unsigned long long now = now_mono_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = bridge_step(rc, (int)((deadline - now + 999) / 1000));
		if (r < 0) {
			int why = smbd_error(smbd_bridge_conn(rc->bridge));
			return why < 0 ? why : r;
		}
	}
	fill_info(rc, stack, provider, ret_info);
	r = -pthread_create(&rc->thread, NULL, bridge_main, rc);
	if (r < 0)
		return r;
	rc->started = true;
	*ret_fd = TAKE_FD(rc->app_fd);
	*ret = TAKE_PTR(rc);
	return 0;
}

int rdma_client_register(RdmaClient *rc, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	return smbd_register(smbd_bridge_conn(rc->bridge), buf, len, access, ret);
}

int rdma_client_deregister(RdmaClient *rc, const SmbdBufferDesc *d) {
	return smbd_deregister(smbd_bridge_conn(rc->bridge), d);
}

const char *rdma_client_error_hint(int r, const char *provider) {
	if (r != -ENODEV)
		return NULL;
	return provider && *provider
		       ? "no such libfabric provider on this machine (fi_info -l lists them; tcp is libfabric's "
			 "software RDMA)"
		       : "no RDMA device (SMB Direct needs an RDMA NIC, or --rdma-provider tcp for libfabric's "
			 "software RDMA)";
}
