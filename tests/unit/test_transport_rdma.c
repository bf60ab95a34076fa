/*
 * test_transport_rdma.c - endpoint/transport_rdma.c without an RDMA
 * device: the start-up refusal (no device: the address is reported and
 * marked down, nothing else fails), the rdma: listen prefix, and the bridge
 * between SMB Direct and smbrefd's Conn: an SMB2 NEGOTIATE sent by an SMB
 * Direct client over the loopback queue pair reaches the real dispatcher
 * through the socketpair and its response comes back as SMB Direct
 * messages; a Conn that closes ends the SMB Direct connection.
 *
 * The verbs calls themselves (QP, CQ, RDMA CM) cannot run here: no HCA,
 * no rxe/siw.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "smbdirect_loopback.h"
#include "transport_rdma.c"

static Server server;
static Worker worker;
static Config config;
static Share share;
static char dir[] = "/tmp/test_transport_rdma.XXXXXX";

static int setup(void **state) {
	(void)state;
	assert_non_null(mkdtemp(dir));
	share = (Share){ .name = "share", .path = dir, .dirfd = open(dir, O_PATH | O_DIRECTORY) };
	config = (Config){ .policy_name = "test", .dialect_min = SMB2_DIALECT_202, .dialect_max = SMB2_DIALECT_311,
			   .tcp_enabled = true, .rdma_enabled = true, .rdma_port = 5445 };
	atomic_init(&config.refcount, 1000000);
	pthread_mutex_init(&server.lock, NULL);
	server.config = &config;
	server.shares = &share;
	server.n_shares = 1;
	server.netbios_name = "TEST";
	char users[] = "alice:Secret-1\n";
	assert_int_equal(users_parse(users, sizeof(users) - 1, false, "test", NULL, &server.users), 0);
	assert_int_equal(ratelimit_new(&server.ratelimit), 0);
	assert_int_equal(sd_event_new(&worker.event), 0);
	worker.server = &server;
	worker.config = &config;
	return 0;
}

static int teardown(void **state) {
	(void)state;
	while (worker.conns)
		conn_free(worker.conns);
	sd_event_unref(worker.event);
	users_free(server.users);
	ratelimit_free(server.ratelimit);
	close(share.dirfd);
	rmdir(dir);
	return 0;
}

static void test_is_listen(void **state) {
	(void)state;
	const char *rest = NULL;
	assert_true(transport_rdma_is_listen("rdma:127.0.0.1:5445", &rest));
	assert_string_equal(rest, "127.0.0.1:5445");
	assert_false(transport_rdma_is_listen("tcp:127.0.0.1:445", &rest));
	assert_false(transport_rdma_is_listen("rdmax", &rest));
}

/* No device here: attach reports the address, marks it down, succeeds. */
static void test_attach_no_device(void **state) {
	(void)state;
	const char *why;
	if (rdma_device_present(&why) == 0)
		skip(); /* a machine with an HCA: nothing to refuse */
	Listen ls[2] = { { .text = "tcp:127.0.0.1:1445" }, { .text = "rdma:127.0.0.1:5445", .rdma = true } };
	struct sockaddr_in *a = (struct sockaddr_in *)&ls[1].addr;
	a->sin_family = AF_INET;
	a->sin_port = htons(5445);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls[1].addr_len = sizeof(*a);
	server.listens = ls;
	server.n_listens = 2;
	Worker other = { .server = &server, .index = 1, .event = worker.event };
	assert_int_equal(transport_rdma_attach(&other), 0); /* not worker 0: nothing */
	assert_false(ls[1].down);
	assert_int_equal(transport_rdma_attach(&worker), 0);
	assert_true(ls[1].down);
	assert_false(ls[0].down);
	assert_int_equal(rdma_workers[0]->n_listeners, 0);
	transport_rdma_detach(&worker);
	transport_rdma_detach(&other);
	assert_null(rdma_workers[0]);
	server.listens = NULL;
	server.n_listens = 0;
}

/* The client's upper layer: the last SMB2 message it got. */
typedef struct Got {
	uint8_t *msg;
	size_t len, count;
} Got;

static int client_deliver(void *userdata, const uint8_t *msg, size_t len) {
	Got *g = userdata;
	free(g->msg);
	g->msg = malloc(len);
	assert_non_null(g->msg);
	memcpy(g->msg, msg, len);
	g->len = len;
	g->count++;
	return 0;
}

/* Run the loopback and the worker's loop until nothing moves. */
static void pump(SmbdLoopback *lb) {
	for (int i = 0; i < 200; i++) {
		int n = smbd_loopback_run(lb, 0);
		int r = sd_event_run(worker.event, 0);
		assert_true(r >= 0);
		if (n <= 0 && r == 0 && i > 3)
			return;
	}
}

static void test_bridge_negotiate(void **state) {
	(void)state;
	SmbdLoopback *lb;
	assert_int_equal(smbd_loopback_new(&lb), 0);
	/* the server side: an RdmaConn with the loopback as its queue pair */
	RdmaConn *rc = calloc(1, sizeof(*rc));
	assert_non_null(rc);
	SmbdConfig scfg, ccfg;
	smbd_config_default(&scfg);
	scfg.deliver = bridge_deliver;
	scfg.userdata = rc;
	assert_int_equal(smbd_conn_new(&scfg, &smbd_loopback_ops, smbd_loopback_end(lb, 1), true, 0, &rc->smbd), 0);
	smbd_loopback_attach(lb, 1, rc->smbd);
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	rc->bridge_fd = sp[1];
	struct sockaddr_storage peer = { .ss_family = AF_INET };
	Conn *c;
	assert_int_equal(conn_new(&worker, sp[0], &peer, &c), 0);
	assert_true(sd_event_add_io(worker.event, &rc->bridge_io, sp[1], EPOLLIN, on_bridge, rc) >= 0);
	/* the client */
	Got got = {};
	SmbdConn *cli;
	smbd_config_default(&ccfg);
	ccfg.deliver = client_deliver;
	ccfg.userdata = &got;
	assert_int_equal(smbd_conn_new(&ccfg, &smbd_loopback_ops, smbd_loopback_end(lb, 0), false, 0, &cli), 0);
	smbd_loopback_attach(lb, 0, cli);
	pump(lb);
	assert_int_equal(smbd_state(cli), SMBD_CONNECTED);

	/* SMB2 NEGOTIATE offering 3.0 and 3.0.2 ([MS-SMB2] 2.2.3) */
	uint8_t req[SMB2_HDR_SIZE + 40] = {};
	smb2_header_build(req, &(Smb2Header){ .command = SMB2_NEGOTIATE, .credits = 1 });
	uint8_t *b = req + SMB2_HDR_SIZE;
	smb2_put16(b, 36);
	smb2_put16(b + 2, 2);
	smb2_put16(b + 4, 1);
	memset(b + 12, 0x42, 16);
	smb2_put16(b + 36, SMB2_DIALECT_300);
	smb2_put16(b + 38, SMB2_DIALECT_302);
	assert_int_equal(smbd_send(cli, req, sizeof(req), 0), 0);
	pump(lb);
	assert_int_equal(got.count, 1);
	Smb2Header h;
	assert_int_equal(smb2_header_parse(got.msg, got.len, &h), 0);
	assert_int_equal(h.command, SMB2_NEGOTIATE);
	assert_int_equal(h.status, 0);
	assert_true(h.flags & SMB2_FLAGS_SERVER_TO_REDIR);
	assert_true(got.len >= SMB2_HDR_SIZE + 8);
	assert_int_equal(smb2_le16(got.msg + SMB2_HDR_SIZE), 65);
	assert_int_equal(smb2_le16(got.msg + SMB2_HDR_SIZE + 4), SMB2_DIALECT_302);

	/* garbage as SMB2: the Conn drops it, the bridge sees EOF and the SMB
	 * Direct connection ends */
	assert_int_equal(smbd_send(cli, (const uint8_t *)"\xfeSMBjunk", 8, 0), 0);
	pump(lb);
	assert_int_equal(smbd_state(rc->smbd), SMBD_DISCONNECTED);
	assert_true(smbd_loopback_disconnected(lb));

	sd_event_source_disable_unref(rc->bridge_io);
	close(rc->bridge_fd);
	smbd_conn_free(rc->smbd);
	free(rc->in);
	free(rc->out);
	free(rc);
	smbd_conn_free(cli);
	smbd_loopback_free(lb);
	free(got.msg);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_listen),
		cmocka_unit_test(test_attach_no_device),
		cmocka_unit_test(test_bridge_negotiate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
