/*
 * test_rdma_ofi.c - endpoint/rdma_ofi.c, the libfabric stack, for real:
 * a listener and a client on 127.0.0.1 over libfabric's "tcp" provider
 * (one-sided RMA over ordinary sockets, no RDMA device needed), both in
 * this process (the client connects from a thread while the main thread
 * accepts).  SMB Direct negotiates over it; 64 MiB go client -> server
 * and 8 MiB back as 1 MiB messages (fragmented into 8 KiB sends) and
 * arrive checksum-equal; the server pulls 1 MiB from and pushes 1 MiB into
 * buffers the client registered (smbd_rdma_pull/push through buffer
 * descriptors, the client's region registered from another thread than
 * the one reaping its completions, as the client's READ/WRITE path does);
 * an RDMA read the client never serves times out and closes the endpoint
 * before its buffer is given back; a client that goes away is seen by the
 * server as an abort; a request
 * the server refuses (SMB Direct disabled) is -ECONNREFUSED at the client,
 * as is a port nobody listens on; a missing provider is -ENODEV.
 *
 * Skipped (reason printed) only when libfabric has no tcp provider.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdatomic.h>

#include "rdma_ofi.c"

#define PROVIDER "tcp"
#define MiB (1024u * 1024u)
#define HANG_GUARD_USEC (120ULL * 1000000ULL) /* only so a broken stack cannot hang the suite */

static bool no_tcp;

/* One side's upper layer: what arrived. */
typedef struct Side {
	SmbdQp qp;
	SmbdConn *c;
	int result; /* the last process() */
	EVP_MD_CTX *sha;
	size_t bytes, count;
	uint8_t last[64];
	size_t last_len;
} Side;

typedef struct Fixture {
	SmbdListener sl;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	Side side[2]; /* 0: client, 1: server */
	atomic_bool connect_done;
	int connect_r;
} Fixture;

static EVP_MD_CTX *sha_new(void) {
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	assert_non_null(m);
	assert_int_equal(EVP_DigestInit_ex(m, EVP_sha256(), NULL), 1);
	return m;
}

/* The digest of m, which is freed. */
static void sha_end(EVP_MD_CTX *m, uint8_t out[32]) {
	assert_int_equal(EVP_DigestFinal_ex(m, out, NULL), 1);
	EVP_MD_CTX_free(m);
}

static int deliver(void *userdata, const uint8_t *msg, size_t len) {
	Side *s = userdata;
	EVP_DigestUpdate(s->sha, msg, len);
	s->bytes += len;
	s->count++;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, msg, s->last_len);
	return 0;
}

static void conn_new(Side *s, bool server) {
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.max_send_size = 8192;
	cfg.deliver = deliver;
	cfg.userdata = s;
	s->sha = sha_new();
	assert_int_equal(smbd_conn_new(&cfg, s->qp.ops, s->qp.qp, server, now_mono_usec(), &s->c), 0);
}

static void process(Side *s) {
	if (s->qp.qp)
		s->result = s->qp.process(s->qp.qp, s->c, now_mono_usec());
}

/* Run both sides until done(f) holds. */
static void pump(Fixture *f, bool (*done)(const Fixture *f)) {
	uint64_t guard = now_mono_usec() + HANG_GUARD_USEC;
	while (!done(f)) {
		if (now_mono_usec() > guard)
			fail_msg("nothing moved for %llu s", HANG_GUARD_USEC / 1000000);
		struct pollfd p[2] = { { .fd = f->side[0].qp.qp ? f->side[0].qp.fd : -1, .events = POLLIN },
				       { .fd = f->side[1].qp.fd, .events = POLLIN } };
		(void)poll(p, 2, 20);
		process(&f->side[0]);
		process(&f->side[1]);
	}
}

static void *connect_thread(void *userdata) {
	Fixture *f = userdata;
	f->connect_r = rdma_ofi_connect((struct sockaddr *)&f->addr, f->addr_len, PROVIDER, 10000, &f->side[0].qp);
	atomic_store(&f->connect_done, true);
	return NULL;
}

static bool both_connected(const Fixture *f) {
	return smbd_state(f->side[0].c) == SMBD_CONNECTED && smbd_state(f->side[1].c) == SMBD_CONNECTED;
}

/* A fixture with a listener on 127.0.0.1, on a port the provider picked. */
static Fixture *listen_local(void) {
	Fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(rdma_ofi_listen((struct sockaddr *)&a, sizeof(a), PROVIDER, &f->sl), 0);
	size_t len = sizeof(f->addr);
	assert_int_equal(fi_getname(&((OfiListener *)f->sl.l)->pep->fid, &f->addr, &len), 0);
	f->addr_len = (socklen_t)len;
	assert_int_not_equal(((struct sockaddr_in *)&f->addr)->sin_port, 0);
	return f;
}

/* Wait for the next connection request on f's listener. */
static int next_request(Fixture *f, bool refuse, SmbdQp *ret) {
	uint64_t guard = now_mono_usec() + HANG_GUARD_USEC;
	int r;
	do {
		struct pollfd p = { .fd = f->sl.fd, .events = POLLIN };
		(void)poll(&p, 1, 100);
		r = f->sl.next(f->sl.l, refuse, ret);
		assert_true(now_mono_usec() < guard);
	} while (r == -EAGAIN);
	return r;
}

/* A listener on 127.0.0.1 (a port the provider picked), a client
 * connected to it, SMB Direct negotiated. */
static int setup(void **state) {
	if (no_tcp)
		return 0;
	Fixture *f = listen_local();
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, connect_thread, f), 0);
	assert_int_equal(next_request(f, false, &f->side[1].qp), 0);
	assert_non_null(f->side[1].qp.accept);
	conn_new(&f->side[1], true); /* receives posted before the accept */
	assert_int_equal(f->side[1].qp.accept(f->side[1].qp.qp), 0);
	while (!atomic_load(&f->connect_done)) { /* the handshake needs the server's progress */
		struct pollfd p = { .fd = f->side[1].qp.fd, .events = POLLIN };
		(void)poll(&p, 1, 20);
		process(&f->side[1]);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(f->connect_r, 0);
	assert_null(f->side[0].qp.accept);
	assert_true(f->side[0].qp.fd >= 0);
	assert_int_equal(f->side[1].qp.peer.ss_family, AF_INET);
	conn_new(&f->side[0], false);
	pump(f, both_connected);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	if (!f)
		return 0;
	for (unsigned i = 0; i < 2; i++) {
		EVP_MD_CTX_free(f->side[i].sha);
		smbd_conn_free(f->side[i].c);
		if (f->side[i].qp.qp)
			f->side[i].qp.destroy(f->side[i].qp.qp);
	}
	f->sl.destroy(f->sl.l);
	free(f);
	return 0;
}

static void fill(uint8_t *p, size_t len, uint32_t seed) {
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i + seed) * 2654435761u >> 13);
}

static size_t want_client_bytes, want_server_bytes;
static bool transferred(const Fixture *f) {
	return f->side[1].bytes >= want_server_bytes && f->side[0].bytes >= want_client_bytes;
}

static void test_negotiate_and_transfer(void **state) {
	if (no_tcp)
		skip();
	Fixture *f = *state;
	SmbdStats st;
	smbd_stats(f->side[0].c, &st);
	assert_int_equal(st.max_send_size, 8192);
	assert_true(st.send_credits > 0);

	uint8_t *buf = malloc(MiB);
	assert_non_null(buf);
	EVP_MD_CTX *up = sha_new(), *down = sha_new();
	for (uint32_t i = 0; i < 64; i++) {
		fill(buf, MiB, i);
		EVP_DigestUpdate(up, buf, MiB);
		assert_int_equal(smbd_send(f->side[0].c, buf, MiB, now_mono_usec()), 0);
	}
	for (uint32_t i = 0; i < 8; i++) {
		fill(buf, MiB, 1000 + i);
		EVP_DigestUpdate(down, buf, MiB);
		assert_int_equal(smbd_send(f->side[1].c, buf, MiB, now_mono_usec()), 0);
	}
	want_server_bytes = 64 * MiB;
	want_client_bytes = 8 * MiB;
	pump(f, transferred);
	assert_int_equal(f->side[1].count, 64);
	assert_int_equal(f->side[0].count, 8);
	uint8_t h1[32], h2[32];
	sha_end(up, h1);
	sha_end(f->side[1].sha, h2);
	f->side[1].sha = NULL;
	assert_memory_equal(h1, h2, sizeof(h1));
	sha_end(down, h1);
	sha_end(f->side[0].sha, h2);
	f->side[0].sha = NULL;
	assert_memory_equal(h1, h2, sizeof(h1));
	assert_int_equal(f->side[0].result, 0);
	assert_int_equal(f->side[1].result, 0);
	free(buf);
}

/* The client's side runs on a thread of its own while the server does
 * RDMA (as the reference client's bridge thread does). */
typedef struct Pumper {
	Side *side;
	atomic_bool stop;
} Pumper;

static void *pump_thread(void *userdata) {
	Pumper *p = userdata;
	while (!atomic_load(&p->stop)) {
		struct pollfd pf = { .fd = p->side->qp.fd, .events = POLLIN };
		(void)poll(&pf, 1, 20);
		process(p->side);
	}
	return NULL;
}

static void test_rdma_read_write(void **state) {
	if (no_tcp)
		skip();
	Fixture *f = *state;
	Pumper p = { .side = &f->side[0] };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, pump_thread, &p), 0);

	/* registered while the client's completions are reaped on its thread */
	uint8_t *src = malloc(MiB), *dst = calloc(1, MiB), *got = malloc(MiB);
	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(got);
	fill(src, MiB, 7);
	SmbdBufferDesc wd, rd;
	assert_int_equal(smbd_register(f->side[0].c, src, MiB, SMBD_ACCESS_REMOTE_READ, &wd), 0);
	assert_int_equal(smbd_register(f->side[0].c, dst, MiB, SMBD_ACCESS_REMOTE_WRITE, &rd), 0);
	assert_int_not_equal(wd.token, rd.token);
	const OfiQp *q = f->side[0].qp.qp;
	print_message("provider " PROVIDER ": mr_mode 0x%llx (%s addresses, %s keys), tokens %u and %u\n",
		      (unsigned long long)q->mr_mode, (q->mr_mode & FI_MR_VIRT_ADDR) ? "virtual" : "0-based",
		      (q->mr_mode & FI_MR_PROV_KEY) ? "provider" : "our", wd.token, rd.token);
	assert_int_equal(wd.length, MiB);

	/* WRITE's direction: the server pulls; READ's: it pushes */
	assert_int_equal(smbd_rdma_pull(f->side[1].c, &wd, 1, got, MiB), 0);
	assert_memory_equal(got, src, MiB);
	fill(got, MiB, 99);
	SmbdBufferDesc halves[2] = { rd, rd };
	halves[0].length = halves[1].length = MiB / 2;
	halves[1].offset += MiB / 2;
	assert_int_equal(smbd_rdma_push(f->side[1].c, halves, 2, got, MiB), 0);

	atomic_store(&p.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_memory_equal(dst, got, MiB);
	assert_int_equal(smbd_deregister(f->side[0].c, &wd), 0);
	assert_int_equal(smbd_deregister(f->side[0].c, &rd), 0);
	assert_int_equal(smbd_deregister(f->side[0].c, &rd), -ENOENT);
	assert_int_equal(smbd_state(f->side[1].c), SMBD_CONNECTED);
	free(src);
	free(dst);
	free(got);
}

static bool client_dropped(const Fixture *f) { return smbd_state(f->side[0].c) == SMBD_DISCONNECTED; }

/* An RDMA read the peer never serves (its side is not progressed here)
 * times out: the endpoint is closed before the buffer goes back, the
 * connection is dropped, the client hears of it; nothing is touched after
 * (ASan).  A provider that progresses on its own would serve it: fine too. */
static void test_rdma_timeout(void **state) {
	if (no_tcp)
		skip();
	Fixture *f = *state;
	uint8_t *src = calloc(1, MiB), *got = malloc(MiB);
	assert_non_null(src);
	assert_non_null(got);
	SmbdBufferDesc wd;
	assert_int_equal(smbd_register(f->side[0].c, src, MiB, SMBD_ACCESS_REMOTE_READ, &wd), 0);
	ofi_op_timeout_usec = 200000;
	int r = smbd_rdma_pull(f->side[1].c, &wd, 1, got, MiB);
	ofi_op_timeout_usec = OFI_OP_TIMEOUT_USEC;
	free(got);
	if (r == 0) {
		free(src);
		skip(); /* the provider progressed the peer by itself */
	}
	assert_int_equal(r, -ETIMEDOUT);
	assert_int_equal(smbd_state(f->side[1].c), SMBD_DISCONNECTED);
	assert_null(((OfiQp *)f->side[1].qp.qp)->ep);
	process(&f->side[1]);
	assert_true(f->side[1].result < 0);
	SmbdQp qp = f->side[1].qp;
	assert_int_equal(qp.ops->post_send(qp.qp, (const uint8_t *)"x", 1), -ENOTCONN);
	pump(f, client_dropped);
	assert_int_equal(smbd_deregister(f->side[0].c, &wd), 0);
	free(src);
}

static bool server_dropped(const Fixture *f) { return smbd_state(f->side[1].c) == SMBD_DISCONNECTED; }

static void test_peer_disconnect(void **state) {
	if (no_tcp)
		skip();
	Fixture *f = *state;
	smbd_conn_free(f->side[0].c);
	f->side[0].c = NULL;
	f->side[0].qp.destroy(f->side[0].qp.qp); /* the client goes */
	f->side[0].qp.qp = NULL;
	pump(f, server_dropped);
	assert_int_equal(smbd_error(f->side[1].c), -ECONNRESET);
	assert_int_equal(f->side[1].result, -ECONNRESET);
}

/* A request the server refuses (server.transport.rdma.enabled=false) is
 * rejected before it has a queue pair; the client hears so. */
static void test_refuse_request(void **state) {
	(void)state;
	if (no_tcp)
		skip();
	Fixture *f = listen_local();
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, connect_thread, f), 0);
	SmbdQp qp;
	assert_int_equal(next_request(f, true, &qp), -ECONNREFUSED);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(f->connect_r, -ECONNREFUSED);
	f->sl.destroy(f->sl.l);
	free(f);
}

static void test_no_provider(void **state) {
	(void)state;
	if (no_tcp)
		skip();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(1) };
	SmbdQp qp;
	SmbdListener sl;
	assert_int_equal(rdma_ofi_provider_present("no-such-provider"), -ENODEV);
	assert_int_equal(rdma_ofi_connect((struct sockaddr *)&a, sizeof(a), "no-such-provider", 1000, &qp), -ENODEV);
	assert_int_equal(rdma_ofi_listen((struct sockaddr *)&a, sizeof(a), "no-such-provider", &sl), -ENODEV);
}

static void test_refused(void **state) {
	(void)state;
	if (no_tcp)
		skip();
	/* a port just freed: nobody listens there */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	SmbdQp qp;
	assert_int_equal(rdma_ofi_connect((struct sockaddr *)&a, sizeof(a), PROVIDER, 10000, &qp), -ECONNREFUSED);
}

int main(void) {
	if (rdma_ofi_provider_present(PROVIDER) < 0) {
		no_tcp = true;
		printf("libfabric has no \"" PROVIDER "\" provider with FI_EP_MSG, FI_MSG and FI_RMA: skipped\n");
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_negotiate_and_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rdma_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rdma_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_disconnect, setup, teardown),
		cmocka_unit_test(test_refuse_request),
		cmocka_unit_test(test_no_provider),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
