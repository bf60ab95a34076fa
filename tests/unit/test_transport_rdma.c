/*
 * test_transport_rdma.c - endpoint/transport_rdma.c without an RDMA
 * device: the start-up refusal (no device, or no such libfabric provider:
 * the address is reported and marked down, nothing else fails), the
 * rdma: listen prefix, and a
 * connection as the transport builds it from a stack's queue pair (here
 * the loopback): an SMB2 NEGOTIATE sent by an SMB Direct client reaches the
 * real dispatcher through the bridge (smbd_bridge.c) and socketpair and
 * its response comes back as SMB Direct messages; a Conn that closes ends
 * the SMB Direct connection and frees it; a request while SMB Direct is
 * disabled is refused, else accepted after the bridge is up.  SMB2
 * WRITE then READ of 1 MiB with Channel RDMA_V1 (buffer descriptors V1)
 * through the real dispatcher and handlers: the data moves by RDMA over the loopback and
 * comes back equal; the same requests on a TCP Conn get
 * STATUS_INVALID_PARAMETER, as does _V1_INVALIDATE on 3.0.
 *
 * Then the same WRITE and READ through the transport's real listener over
 * libfabric's tcp provider (--rdma-provider tcp): a real SMB Direct client
 * on 127.0.0.1, the data moved by RDMA read/write of its registered memory
 * (skipped only without that provider).  The verbs stack itself
 * (rdma_verbs.c: QP, CQ, RDMA CM) cannot run here: no HCA, no rxe/siw.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <sys/stat.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rdma_ofi.h"
#include "rdma_verbs.h"
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
	if (rdma_verbs_device_present() == 0)
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

/* --rdma-provider naming a provider libfabric lacks: the same refusal,
 * saying which provider. */
static void test_attach_no_provider(void **state) {
	(void)state;
	Listen ls = { .text = "rdma:127.0.0.1:5445", .rdma = true, .addr_len = sizeof(struct sockaddr_in) };
	struct sockaddr_in *a = (struct sockaddr_in *)&ls.addr;
	a->sin_family = AF_INET;
	a->sin_port = htons(5445);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server.listens = &ls;
	server.n_listens = 1;
	server.rdma_provider = "no-such-provider";
	assert_int_equal(transport_rdma_attach(&worker), 0);
	assert_true(ls.down);
	assert_int_equal(rdma_workers[0]->n_listeners, 0);
	transport_rdma_detach(&worker);
	server.listens = NULL;
	server.n_listens = 0;
	server.rdma_provider = NULL;
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

/* Run the loopback, its connections' bridges (the loopback has no fd to
 * wake them) and the worker's loop until nothing moves. */
static void pump(SmbdLoopback *lb, RdmaWorker *rw) {
	for (int i = 0; i < 200; i++) {
		int n = smbd_loopback_run(lb, 0);
		for (RdmaConn *rc = rw->conns, *next; rc; rc = next) {
			next = rc->next;
			rdma_conn_run(rc);
		}
		int r = sd_event_run(worker.event, 0);
		assert_true(r >= 0);
		if (n <= 0 && r == 0 && i > 3)
			return;
	}
}

/* The server side over end 1 of the loopback: an RdmaConn (bridge, Conn
 * on a socketpair, sources on the worker's loop) as a request leaves it. */
static RdmaConn *loopback_conn(SmbdLoopback *lb, RdmaWorker *rw) {
	SmbdQp qp = { .ops = &smbd_loopback_ops, .qp = smbd_loopback_end(lb, 1), .fd = -1,
		      .peer = { .ss_family = AF_INET } };
	RdmaConn *rc;
	assert_int_equal(rdma_conn_start(&worker, rw, &qp, &rc), 0);
	smbd_loopback_attach(lb, 1, smbd_bridge_conn(rc->bridge));
	return rc;
}

static SmbdConn *loopback_client(SmbdLoopback *lb, Got *got) {
	SmbdConfig ccfg;
	SmbdConn *cli;
	smbd_config_default(&ccfg);
	ccfg.deliver = client_deliver;
	ccfg.userdata = got;
	assert_int_equal(smbd_conn_new(&ccfg, &smbd_loopback_ops, smbd_loopback_end(lb, 0), false, 0, &cli), 0);
	smbd_loopback_attach(lb, 0, cli);
	return cli;
}

static void test_bridge_negotiate(void **state) {
	(void)state;
	SmbdLoopback *lb;
	assert_int_equal(smbd_loopback_new(&lb), 0);
	RdmaWorker rw = {};
	RdmaConn *rc = loopback_conn(lb, &rw);
	assert_ptr_equal(rw.conns, rc);
	assert_non_null(worker.conns);
	assert_ptr_equal(worker.conns->smbd, smbd_bridge_conn(rc->bridge));
	Got got = {};
	SmbdConn *cli = loopback_client(lb, &got);
	pump(lb, &rw);
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
	pump(lb, &rw);
	assert_int_equal(got.count, 1);
	Smb2Header h;
	assert_int_equal(smb2_header_parse(got.msg, got.len, &h), 0);
	assert_int_equal(h.command, SMB2_NEGOTIATE);
	assert_int_equal(h.status, 0);
	assert_true(h.flags & SMB2_FLAGS_SERVER_TO_REDIR);
	assert_true(got.len >= SMB2_HDR_SIZE + 8);
	assert_int_equal(smb2_le16(got.msg + SMB2_HDR_SIZE), 65);
	assert_int_equal(smb2_le16(got.msg + SMB2_HDR_SIZE + 4), SMB2_DIALECT_302);
	/* MaxTransact/Read/WriteSize fit the client's MaxFragmentedSize (the
	 * Windows default, 1 MiB) with room for the headers */
	assert_true(got.len >= SMB2_HDR_SIZE + 40);
	for (size_t off = 28; off <= 36; off += 4)
		assert_int_equal(smb2_le32(got.msg + SMB2_HDR_SIZE + off), SMBD_DEFAULT_MAX_FRAGMENTED_SIZE - 4096);

	/* garbage as SMB2: the Conn drops it, the bridge sees EOF, the SMB
	 * Direct connection ends and the RdmaConn is freed */
	assert_int_equal(smbd_send(cli, (const uint8_t *)"\xfeSMBjunk", 8, 0), 0);
	pump(lb, &rw);
	assert_null(rw.conns);
	assert_true(smbd_loopback_disconnected(lb));
	assert_null(worker.conns);

	smbd_conn_free(cli);
	smbd_loopback_free(lb);
	free(got.msg);
}

/* A listener as a stack would give it: one request (over end 1 of the
 * loopback) that next() rejects itself when asked to refuse. */
typedef struct FakeListener {
	SmbdLoopback *lb;
	bool waiting, refused;
} FakeListener;
static int accepted;

static int fake_accept(void *qp) {
	(void)qp;
	accepted++;
	return 0;
}

static int fake_next(void *l, bool refuse, SmbdQp *ret) {
	FakeListener *fl = l;
	if (!fl->waiting)
		return -EAGAIN;
	fl->waiting = false;
	if (refuse) {
		fl->refused = true;
		return -ECONNREFUSED;
	}
	*ret = (SmbdQp){ .ops = &smbd_loopback_ops, .qp = smbd_loopback_end(fl->lb, 1), .fd = -1,
			 .accept = fake_accept, .peer = { .ss_family = AF_INET } };
	return 0;
}

/* While server.transport.rdma.enabled is false a request is refused by
 * the stack before any queue pair exists; enabled, it is bridged to a
 * Conn and then accepted. */
static void test_request_disabled(void **state) {
	(void)state;
	FakeListener fl = { .waiting = true };
	assert_int_equal(smbd_loopback_new(&fl.lb), 0);
	RdmaWorker rw = {};
	Listen ls = { .text = "rdma:127.0.0.1:5445", .rdma = true };
	RdmaListener l = { .worker = &worker, .listen = &ls, .sl = { .l = &fl, .fd = -1, .next = fake_next } };
	rdma_workers[0] = &rw;
	config.rdma_enabled = false;
	assert_int_equal(on_listener(NULL, -1, EPOLLIN, &l), 0);
	assert_true(fl.refused);
	assert_int_equal(accepted, 0);
	assert_null(worker.conns);
	assert_null(rw.conns);

	config.rdma_enabled = true;
	fl.waiting = true;
	fl.refused = false;
	assert_int_equal(on_listener(NULL, -1, EPOLLIN, &l), 0);
	assert_false(fl.refused);
	assert_int_equal(accepted, 1);
	assert_non_null(rw.conns);
	assert_non_null(worker.conns);
	rdma_conn_free(rw.conns);
	pump(fl.lb, &rw);
	assert_null(worker.conns); /* the Conn saw EOF */
	rdma_workers[0] = NULL;
	smbd_loopback_free(fl.lb);
}

/* An SMB2 WRITE or READ of len bytes at offset 0 of fid 1/1 whose data
 * goes by RDMA through descriptor d ([MS-SMB2] 2.2.19, 2.2.21). */
static size_t rdma_request(uint8_t *msg, uint16_t command, uint32_t channel, uint32_t len, const SmbdBufferDesc *d) {
	memset(msg, 0, SMB2_HDR_SIZE + 48 + SMBD_BUFFER_DESC_SIZE);
	smb2_header_build(msg, &(Smb2Header){ .command = command, .credits = 1,
					      .credit_charge = (uint16_t)smb2_credits_for_payload(len),
					      .session_id = 7, .tree_id = 1 });
	uint8_t *b = msg + SMB2_HDR_SIZE;
	smb2_put16(b, 49);
	smb2_put64(b + 16, 1); /* FileId persistent, volatile */
	smb2_put64(b + 24, 1);
	if (command == SMB2_WRITE) {
		smb2_put16(b + 2, SMB2_HDR_SIZE + 48); /* DataOffset; Length 0 */
		smb2_put32(b + 32, channel);
		smb2_put32(b + 36, len); /* RemainingBytes */
		smb2_put16(b + 40, SMB2_HDR_SIZE + 48);
		smb2_put16(b + 42, SMBD_BUFFER_DESC_SIZE);
	} else {
		smb2_put32(b + 4, len);
		smb2_put32(b + 36, channel);
		smb2_put16(b + 44, SMB2_HDR_SIZE + 48);
		smb2_put16(b + 46, SMBD_BUFFER_DESC_SIZE);
	}
	smbd_buffer_desc_build(b + 48, d, 1);
	return SMB2_HDR_SIZE + 48 + SMBD_BUFFER_DESC_SIZE;
}

/* Run one request through the Conn's socket and the real dispatcher
 * (session, tree and open lookup, enforcement, handler); the response
 * comes back on the socket: its status, and its body in body[] (SMB2 header stripped). */
static uint32_t run_rdma(int peer, const uint8_t *msg, size_t len, uint8_t *body, size_t cap) {
	uint8_t frame[4 + SMB2_HDR_SIZE + 48 + SMBD_BUFFER_DESC_SIZE] = { 0, 0, 0, (uint8_t)len };
	memcpy(frame + 4, msg, len);
	assert_int_equal(write(peer, frame, 4 + len), (ssize_t)(4 + len));
	uint8_t resp[4096];
	ssize_t n = -1;
	for (int i = 0; i < 50 && n < 0; i++) {
		assert_true(sd_event_run(worker.event, 10000) >= 0);
		n = read(peer, resp, sizeof(resp));
	}
	assert_true(n >= 4 + SMB2_HDR_SIZE + 8);
	Smb2Header h;
	assert_int_equal(smb2_header_parse(resp + 4, (size_t)n - 4, &h), 0);
	size_t blen = (size_t)n - 4 - SMB2_HDR_SIZE;
	memcpy(body, resp + 4 + SMB2_HDR_SIZE, blen < cap ? blen : cap);
	return h.status;
}

/* A session (id 7), a tree (id 1) on the share and one open file (fid
 * 1/1) on c, as CREATE would leave them; conn_with_open: on a new Conn on
 * a socketpair. */
static void conn_add_open(Conn *c) {
	c->negotiated = true;
	c->dialect = SMB2_DIALECT_302;
	c->max_io = SMB2_SERVER_MAX_IO; /* what negotiate.c offers over TCP */
	Session *s = calloc(1, sizeof(*s));
	Tree *t = calloc(1, sizeof(*t));
	assert_non_null(s);
	assert_non_null(t);
	*t = (Tree){ .id = 1, .share = &share };
	*s = (Session){ .conn = c, .id = 7, .state = SESSION_VALID, .trees = t, .next_tree_id = 2 };
	c->sessions = s;
	Open *o = calloc(1, sizeof(*o));
	assert_non_null(o);
	*o = (Open){ .persistent = 1, .volatile_ = 1, .session = s, .tree = t, .path = strdup("f"),
		     .access = 0x001f01ffu /* FILE_ALL_ACCESS */ };
	o->fd = openat(share.dirfd, "f", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(o->fd >= 0);
	c->opens = calloc(1, sizeof(Open *));
	assert_non_null(c->opens);
	c->opens[0] = o;
	c->n_opens = 1;
}

static Conn *conn_with_open(int *ret_peer) {
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	struct sockaddr_storage peer = { .ss_family = AF_INET };
	Conn *c;
	assert_int_equal(conn_new(&worker, sp[0], &peer, &c), 0);
	*ret_peer = sp[1];
	conn_add_open(c);
	return c;
}

static void test_rdma_read_write(void **state) {
	(void)state;
	enum { MiB = 1024 * 1024 };
	SmbdLoopback *lb;
	assert_int_equal(smbd_loopback_new(&lb), 0);
	RdmaWorker rw = {};
	RdmaConn *rc = loopback_conn(lb, &rw);
	Got got = {};
	SmbdConn *cli = loopback_client(lb, &got);
	for (int i = 0; i < 20; i++)
		smbd_loopback_run(lb, 0);
	assert_int_equal(smbd_state(cli), SMBD_CONNECTED);
	assert_int_equal(smbd_state(smbd_bridge_conn(rc->bridge)), SMBD_CONNECTED);

	/* the SMB2 requests go through a Conn of their own, linked to the
	 * SMB Direct side as rdma_conn_start links the bridged one */
	int peer_fd;
	Conn *c = conn_with_open(&peer_fd);
	rdma_link(rc, c);
	assert_ptr_equal(c->smbd, smbd_bridge_conn(rc->bridge));

	/* the client's buffers, registered for the server */
	uint8_t *src = malloc(MiB), *dst = calloc(1, MiB);
	assert_non_null(src);
	assert_non_null(dst);
	for (size_t i = 0; i < MiB; i++)
		src[i] = (uint8_t)(i * 2654435761u >> 13);
	SmbdBufferDesc wd, rd;
	assert_int_equal(smbd_register(cli, src, MiB, SMBD_ACCESS_REMOTE_READ, &wd), 0);
	assert_int_equal(smbd_register(cli, dst, MiB, SMBD_ACCESS_REMOTE_WRITE, &rd), 0);
	uint8_t msg[SMB2_HDR_SIZE + 48 + SMBD_BUFFER_DESC_SIZE], out[64];

	/* WRITE: the server pulls the 1 MiB; Count says so */
	size_t n = rdma_request(msg, SMB2_WRITE, SMB2_CHANNEL_RDMA_V1, MiB, &wd);
	assert_int_equal(run_rdma(peer_fd, msg, n, out, sizeof(out)), NT_STATUS_OK);
	assert_int_equal(smb2_le16(out), 17);
	assert_int_equal(smb2_le32(out + 4), MiB);
	struct stat st;
	assert_int_equal(fstatat(share.dirfd, "f", &st, 0), 0);
	assert_int_equal(st.st_size, MiB);

	/* READ: the server pushes it back; DataLength 0, DataRemaining 1 MiB */
	n = rdma_request(msg, SMB2_READ, SMB2_CHANNEL_RDMA_V1_INVALIDATE, MiB, &rd);
	assert_int_equal(run_rdma(peer_fd, msg, n, out, sizeof(out)), NT_STATUS_OK);
	assert_int_equal(smb2_le16(out), 17);
	assert_int_equal(smb2_le32(out + 4), 0);
	assert_int_equal(smb2_le32(out + 8), MiB);
	uint8_t h1[SHA256_DIGEST_LENGTH], h2[SHA256_DIGEST_LENGTH];
	SHA256(src, MiB, h1);
	SHA256(dst, MiB, h2);
	assert_memory_equal(h1, h2, sizeof(h1));

	/* _V1_INVALIDATE needs 3.0.2; a descriptor that does not cover the
	 * length is refused; nothing was sent to the client for either */
	c->dialect = SMB2_DIALECT_300;
	n = rdma_request(msg, SMB2_READ, SMB2_CHANNEL_RDMA_V1_INVALIDATE, MiB, &rd);
	assert_int_equal(run_rdma(peer_fd, msg, n, out, sizeof(out)), NT_STATUS_INVALID_PARAMETER);
	c->dialect = SMB2_DIALECT_302;
	SmbdBufferDesc short_d = wd;
	short_d.length = MiB / 2;
	n = rdma_request(msg, SMB2_WRITE, SMB2_CHANNEL_RDMA_V1, MiB, &short_d);
	assert_int_equal(run_rdma(peer_fd, msg, n, out, sizeof(out)), NT_STATUS_INVALID_PARAMETER);

	/* the same requests on a TCP (or QUIC) Conn: no SMB Direct under it */
	int tcp_peer;
	Conn *tcp = conn_with_open(&tcp_peer);
	tcp->tcp = true;
	n = rdma_request(msg, SMB2_WRITE, SMB2_CHANNEL_RDMA_V1, MiB, &wd);
	assert_int_equal(run_rdma(tcp_peer, msg, n, out, sizeof(out)), NT_STATUS_INVALID_PARAMETER);
	n = rdma_request(msg, SMB2_READ, SMB2_CHANNEL_RDMA_V1, MiB, &rd);
	assert_int_equal(run_rdma(tcp_peer, msg, n, out, sizeof(out)), NT_STATUS_INVALID_PARAMETER);

	/* the SMB Direct side goes first: the Conns lose their link */
	rdma_conn_free(rc);
	assert_null(c->smbd);
	assert_null(rw.conns);
	conn_free(tcp);
	conn_free(c);
	close(tcp_peer);
	close(peer_fd);
	smbd_conn_free(cli);
	smbd_loopback_free(lb);
	free(src);
	free(dst);
	free(got.msg);
	unlinkat(share.dirfd, "f", 0);
}

/* ---- the same through smbrefd's listener over a real RDMA stack ---- */

/* The SMB Direct client of the libfabric test, on a thread of its own (its
 * queue pair must progress while smbrefd reads and writes its memory):
 * WRITE then READ of len bytes with RDMA_V1 channels.  No cmocka asserts
 * here (not on the test's thread): results for the main thread. */
typedef struct OfiClient {
	struct sockaddr_in addr;
	size_t len;
	atomic_bool server_ready, done;
	int result; /* 0, or where it failed (-errno) */
	uint32_t status[2];
	bool equal;
} OfiClient;

static bool client_wait(SmbdQp *qp, SmbdConn *c, Got *got, size_t count, OfiClient *oc) {
	uint64_t guard = now_mono_usec() + 120 * 1000000ULL; /* only against a hang */
	while ((got->count < count || !atomic_load(&oc->server_ready) || smbd_state(c) != SMBD_CONNECTED) &&
	       smbd_state(c) != SMBD_DISCONNECTED && now_mono_usec() < guard) {
		struct pollfd p = { .fd = qp->fd, .events = POLLIN };
		(void)poll(&p, 1, 20);
		(void)qp->process(qp->qp, c, now_mono_usec());
	}
	return got->count >= count && smbd_state(c) == SMBD_CONNECTED;
}

static void *ofi_client(void *userdata) {
	OfiClient *oc = userdata;
	SmbdQp qp = {};
	SmbdConn *c = NULL;
	Got got = {};
	uint8_t *src = malloc(oc->len), *dst = calloc(1, oc->len);
	oc->result = src && dst ? rdma_ofi_connect((struct sockaddr *)&oc->addr, sizeof(oc->addr), "tcp", 10000, &qp)
				: -ENOMEM;
	if (oc->result < 0)
		goto out;
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.deliver = client_deliver;
	cfg.userdata = &got;
	SmbdBufferDesc wd, rd;
	uint8_t msg[SMB2_HDR_SIZE + 48 + SMBD_BUFFER_DESC_SIZE];
	for (size_t i = 0; i < oc->len; i++)
		src[i] = (uint8_t)(i * 2654435761u >> 11);
	if ((oc->result = smbd_conn_new(&cfg, qp.ops, qp.qp, false, now_mono_usec(), &c)) < 0 ||
	    (oc->result = client_wait(&qp, c, &got, 0, oc) ? 0 : -ENOTCONN) < 0 ||
	    (oc->result = smbd_register(c, src, oc->len, SMBD_ACCESS_REMOTE_READ, &wd)) < 0 ||
	    (oc->result = smbd_register(c, dst, oc->len, SMBD_ACCESS_REMOTE_WRITE, &rd)) < 0)
		goto out;
	for (unsigned k = 0; k < 2; k++) {
		size_t n = rdma_request(msg, k == 0 ? SMB2_WRITE : SMB2_READ, SMB2_CHANNEL_RDMA_V1, (uint32_t)oc->len,
					k == 0 ? &wd : &rd);
		if ((oc->result = smbd_send(c, msg, n, now_mono_usec())) < 0 ||
		    (oc->result = client_wait(&qp, c, &got, k + 1, oc) ? 0 : -EPROTO) < 0)
			goto out;
		Smb2Header h;
		oc->status[k] = smb2_header_parse(got.msg, got.len, &h) == 0 ? h.status : 0xffffffffu;
	}
	oc->equal = memcmp(src, dst, oc->len) == 0;
out:
	smbd_conn_free(c);
	if (qp.qp)
		qp.destroy(qp.qp);
	free(src);
	free(dst);
	free(got.msg);
	atomic_store(&oc->done, true);
	return NULL;
}

/* smbrefd's transport with --rdma-provider tcp: its listener accepts a
 * real SMB Direct client (libfabric tcp on 127.0.0.1), and an SMB2 WRITE
 * then READ of 1 MiB (MaxReadWriteSize) with Channel RDMA_V1 move the data by RDMA read and
 * write of the client's registered memory through the real dispatcher. */
static void test_ofi_read_write(void **state) {
	(void)state;
	if (rdma_ofi_provider_present("tcp") < 0) {
		print_message("libfabric has no tcp provider with FI_MSG and FI_RMA\n");
		skip();
	}
	OfiClient oc = { .addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
			 .len = SMBD_DEFAULT_MAX_READ_WRITE_SIZE }; /* what the server negotiates */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* a free port, as tests/integration/lib.sh */
	socklen_t alen = sizeof(oc.addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&oc.addr, sizeof(oc.addr)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&oc.addr, &alen), 0);
	close(fd);
	Listen ls = { .text = "rdma:127.0.0.1", .rdma = true, .addr_len = sizeof(oc.addr) };
	memcpy(&ls.addr, &oc.addr, sizeof(oc.addr));
	server.listens = &ls;
	server.n_listens = 1;
	server.rdma_provider = "tcp";
	assert_int_equal(transport_rdma_attach(&worker), 0);
	assert_false(ls.down);
	assert_int_equal(rdma_workers[0]->n_listeners, 1);

	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, ofi_client, &oc), 0);
	while (!atomic_load(&oc.done)) {
		assert_true(sd_event_run(worker.event, 20000) >= 0);
		if (!atomic_load(&oc.server_ready) && worker.conns && worker.conns->smbd) {
			conn_add_open(worker.conns); /* the bridged Conn: session, tree, open as CREATE leaves them */
			atomic_store(&oc.server_ready, true);
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(oc.result, 0);
	assert_int_equal(oc.status[0], NT_STATUS_OK);
	assert_int_equal(oc.status[1], NT_STATUS_OK);
	assert_true(oc.equal);
	struct stat st;
	assert_int_equal(fstatat(share.dirfd, "f", &st, 0), 0);
	assert_int_equal(st.st_size, oc.len);

	transport_rdma_detach(&worker);
	assert_null(rdma_workers[0]);
	server.listens = NULL;
	server.n_listens = 0;
	server.rdma_provider = NULL;
	unlinkat(share.dirfd, "f", 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_listen),
		cmocka_unit_test(test_attach_no_device),
		cmocka_unit_test(test_attach_no_provider),
		cmocka_unit_test(test_bridge_negotiate),
		cmocka_unit_test(test_request_disabled),
		cmocka_unit_test(test_rdma_read_write),
		cmocka_unit_test(test_ofi_read_write),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
