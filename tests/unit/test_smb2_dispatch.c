/*
 * test_smb2_dispatch.c - smbrefd's request path end to end on a real event
 * loop: a Conn on one end of a socketpair, requests written to the other
 * end, sd_event_run() until the answer arrives.  Covers the dispatcher's
 * rules (negotiate first, SMB1 wildcard, dialect floor, compound chains
 * and related failures, error bodies, enforcement) without NTLM: sessions
 * are made VALID directly, as the fuzzer does.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "server.h"

typedef struct Fixture {
	char dir[64];
	Server server;
	Worker worker;
	Share share;
	Config config;
	Conn *conn;
	int peer;
	uint64_t mid;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/test_smb2_dispatch.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->share = (Share) { .name = "share", .path = f->dir, .dirfd = open(f->dir, O_PATH | O_DIRECTORY) };
	f->config = (Config) { .policy_name = "unit", .signing_required = true,
			       .dialect_min = SMB2_DIALECT_300, .dialect_max = SMB2_DIALECT_311,
			       .ciphers = { SMB2_CRYPTO_CIPHER_AES128_GCM }, .n_ciphers = 1,
			       .tcp_enabled = true };
	atomic_init(&f->config.refcount, 1000);
	pthread_mutex_init(&f->server.lock, NULL);
	f->server.config = &f->config;
	f->server.shares = &f->share;
	f->server.n_shares = 1;
	f->server.netbios_name = "UNIT";
	assert_int_equal(ratelimit_new(&f->server.ratelimit), 0);
	assert_true(sd_event_new(&f->worker.event) >= 0);
	f->worker.server = &f->server;
	f->worker.config = &f->config;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	struct sockaddr_storage addr = { .ss_family = AF_INET };
	assert_int_equal(conn_new(&f->worker, sv[0], &addr, &f->conn), 0);
	f->peer = sv[1];
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *w) {
	(void)st, (void)type, (void)w;
	(void)remove(path);
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	while (f->worker.conns)
		conn_free(f->worker.conns);
	close(f->peer);
	sd_event_unref(f->worker.event);
	ratelimit_free(f->server.ratelimit);
	close(f->share.dirfd);
	nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Negotiated connection with VALID session 1 (signing as given) and tree 1. */
static void make_session(Fixture *f, bool signing) {
	Conn *c = f->conn;
	c->negotiated = true;
	c->dialect = SMB2_DIALECT_311;
	c->max_io = SMB2_SERVER_MAX_IO; /* what negotiate.c offers */
	Session *s = calloc(1, sizeof(*s));
	Tree *t = calloc(1, sizeof(*t));
	*s = (Session) { .conn = c, .id = 1, .state = SESSION_VALID, .user = strdup("unit"),
			 .trees = t, .next_tree_id = 2, .signing_required = signing, .has_keys = signing };
	if (signing)
		s->keys = (Smb2Keys) { .dialect = SMB2_DIALECT_311, .sign_alg = SMB2_CRYPTO_SIGN_AES_CMAC };
	*t = (Tree) { .id = 1, .share = &f->share };
	c->sessions = s;
}

/* Append one request element (header + body) to b; returns its offset. */
static size_t add_req(Fixture *f, Smb2Buf *b, uint16_t cmd, uint32_t flags, const uint8_t *body,
		      size_t len) {
	smb2_buf_align(b, 8);
	size_t at = b->len;
	Smb2Header h = { .command = cmd, .credits = 1, .flags = flags, .message_id = f->mid++,
			 .tree_id = 1, .session_id = 1 };
	uint8_t *p = smb2_buf_extend(b, SMB2_HDR_SIZE);
	assert_non_null(p);
	smb2_header_build(p, &h);
	smb2_buf_append(b, body, len);
	return at;
}

/* Chain elements: set NextCommand of each but the last. */
static void chain(Smb2Buf *b, const size_t *at, size_t n) {
	for (size_t i = 0; i + 1 < n; i++)
		smb2_put32(b->data + at[i] + 20, (uint32_t)(at[i + 1] - at[i]));
}

static void send_frame(Fixture *f, const uint8_t *p, size_t n) {
	uint8_t nb[4] = { 0, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	assert_int_equal(write(f->peer, nb, 4), 4);
	assert_int_equal(write(f->peer, p, n), (ssize_t)n);
}

/* Run the loop until a whole frame arrives at the peer; returns its length
 * (frame in buf), 0 when the connection was closed. */
static size_t recv_frame(Fixture *f, uint8_t *buf, size_t cap) {
	size_t got = 0, need = 4;
	for (int i = 0; i < 200 && got < need; i++) {
		(void)sd_event_run(f->worker.event, 10000);
		ssize_t k = read(f->peer, buf + got, cap - got);
		if (k == 0)
			return 0;
		if (k > 0)
			got += (size_t)k;
		if (got >= 4)
			need = 4 + ((size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]);
	}
	assert_true(got >= need);
	memmove(buf, buf + 4, need - 4);
	return need - 4;
}

static void test_requires_negotiate(void **state) {
	Fixture *f = *state;
	Smb2Buf b = {};
	uint8_t echo[4] = { 4, 0 };
	add_req(f, &b, SMB2_ECHO, 0, echo, sizeof(echo));
	send_frame(f, b.data, b.len);
	uint8_t buf[4096];
	assert_int_equal(recv_frame(f, buf, sizeof(buf)), 0); /* dropped */
	smb2_buf_free(&b);
}

static void test_smb1_wildcard(void **state) {
	Fixture *f = *state;
	static const char dialects[] = "\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???";
	uint8_t msg[128] = { 0xff, 'S', 'M', 'B', 0x72 };
	smb2_put16(msg + 33, sizeof(dialects));
	memcpy(msg + 35, dialects, sizeof(dialects));
	send_frame(f, msg, 35 + sizeof(dialects));
	uint8_t buf[4096];
	size_t n = recv_frame(f, buf, sizeof(buf));
	Smb2Header h;
	assert_int_equal(smb2_header_parse(buf, n, &h), 0);
	assert_int_equal(h.command, SMB2_NEGOTIATE);
	assert_int_equal(h.status, NT_STATUS_OK);
	assert_int_equal(smb2_le16(buf + SMB2_HDR_SIZE + 4), SMB2_DIALECT_WILDCARD);
	/* signing required is announced */
	assert_true(smb2_le16(buf + SMB2_HDR_SIZE + 2) & SMB2_NEGOTIATE_SIGNING_REQUIRED);
	assert_false(f->conn->negotiated);
}

static void test_dialect_floor(void **state) {
	Fixture *f = *state;
	uint8_t body[40] = {};
	smb2_put16(body, 36);
	smb2_put16(body + 2, 2);
	smb2_put16(body + 36, SMB2_DIALECT_202);
	smb2_put16(body + 38, SMB2_DIALECT_210);
	Smb2Buf b = {};
	add_req(f, &b, SMB2_NEGOTIATE, 0, body, sizeof(body));
	send_frame(f, b.data, b.len);
	uint8_t buf[4096];
	size_t n = recv_frame(f, buf, sizeof(buf));
	Smb2Header h;
	assert_int_equal(smb2_header_parse(buf, n, &h), 0);
	assert_int_equal(h.status, NT_STATUS_NOT_SUPPORTED);
	assert_int_equal(n, SMB2_HDR_SIZE + 9); /* the error body */
	assert_false(f->conn->negotiated);
	smb2_buf_free(&b);
}

/* CREATE of a missing file + related QUERY_INFO + CLOSE: all three fail
 * with the CREATE's status, each response 8-aligned and chained. */
static void test_compound_related_failure(void **state) {
	Fixture *f = *state;
	make_session(f, false);
	uint8_t create[56 + 8] = {};
	smb2_put16(create, 57);
	smb2_put32(create + 24, 0x00120089); /* read */
	smb2_put32(create + 36, 1);          /* FILE_OPEN */
	smb2_put16(create + 44, SMB2_HDR_SIZE + 56);
	smb2_put16(create + 46, 8);
	memcpy(create + 56, "n\0o\0n\0e\0", 8);
	uint8_t qi[40] = {};
	smb2_put16(qi, 41);
	qi[2] = SMB2_0_INFO_FILE;
	qi[3] = 5;
	smb2_put32(qi + 4, 1024);
	memset(qi + 24, 0xff, 16); /* related file id */
	uint8_t cl[24] = {};
	smb2_put16(cl, 24);
	memset(cl + 8, 0xff, 16);
	Smb2Buf b = {};
	size_t at[3];
	at[0] = add_req(f, &b, SMB2_CREATE, 0, create, sizeof(create));
	at[1] = add_req(f, &b, SMB2_QUERY_INFO, SMB2_FLAGS_RELATED_OPERATIONS, qi, sizeof(qi));
	at[2] = add_req(f, &b, SMB2_CLOSE, SMB2_FLAGS_RELATED_OPERATIONS, cl, sizeof(cl));
	chain(&b, at, 3);
	send_frame(f, b.data, b.len);
	uint8_t buf[4096];
	size_t n = recv_frame(f, buf, sizeof(buf)), pos = 0;
	uint16_t cmds[3] = { SMB2_CREATE, SMB2_QUERY_INFO, SMB2_CLOSE };
	for (int i = 0; i < 3; i++) {
		Smb2Header h;
		assert_int_equal(smb2_header_parse(buf + pos, n - pos, &h), 0);
		assert_int_equal(h.command, cmds[i]);
		assert_int_equal(h.status, NT_STATUS_OBJECT_NAME_NOT_FOUND);
		assert_true(h.flags & SMB2_FLAGS_SERVER_TO_REDIR);
		if (i < 2) {
			assert_int_equal(h.next_command % 8, 0);
			assert_true(h.next_command >= SMB2_HDR_SIZE + 9);
			pos += h.next_command;
		} else
			assert_int_equal(h.next_command, 0);
	}
	smb2_buf_free(&b);
}

/* Regression: a warning without a body (NO_MORE_FILES) used to go out as a
 * bare header, which clients and tshark reject as malformed. */
static void test_warning_gets_error_body(void **state) {
	Fixture *f = *state;
	make_session(f, false);
	uint8_t create[56] = {};
	smb2_put16(create, 57);
	smb2_put32(create + 24, 0x00100081);
	smb2_put32(create + 36, 1);
	smb2_put32(create + 40, 1); /* directory */
	uint8_t qd[32 + 2] = {};
	smb2_put16(qd, 33);
	qd[2] = 0x25; /* FileIdBothDirectoryInformation */
	memset(qd + 8, 0xff, 16);
	smb2_put16(qd + 24, SMB2_HDR_SIZE + 32);
	smb2_put16(qd + 26, 2);
	smb2_put32(qd + 28, 65536);
	qd[32] = '*';
	Smb2Buf b = {};
	size_t at[3];
	at[0] = add_req(f, &b, SMB2_CREATE, 0, create, sizeof(create));
	at[1] = add_req(f, &b, SMB2_QUERY_DIRECTORY, SMB2_FLAGS_RELATED_OPERATIONS, qd, sizeof(qd));
	at[2] = add_req(f, &b, SMB2_QUERY_DIRECTORY, SMB2_FLAGS_RELATED_OPERATIONS, qd, sizeof(qd));
	chain(&b, at, 3);
	send_frame(f, b.data, b.len);
	uint8_t buf[65536 + 1024];
	size_t n = recv_frame(f, buf, sizeof(buf)), pos = 0;
	Smb2Header h;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(smb2_header_parse(buf + pos, n - pos, &h), 0);
		assert_int_equal(h.status, NT_STATUS_OK);
		pos += h.next_command;
	}
	assert_int_equal(smb2_header_parse(buf + pos, n - pos, &h), 0);
	assert_int_equal(h.command, SMB2_QUERY_DIRECTORY);
	assert_int_equal(h.status, NT_STATUS_NO_MORE_FILES);
	assert_int_equal(n - pos, SMB2_HDR_SIZE + 9);
	assert_int_equal(smb2_le16(buf + pos + SMB2_HDR_SIZE), 9);
	smb2_buf_free(&b);
}

static void test_unsigned_refused(void **state) {
	Fixture *f = *state;
	make_session(f, true);
	uint8_t cl[24] = {};
	smb2_put16(cl, 24);
	Smb2Buf b = {};
	add_req(f, &b, SMB2_CLOSE, 0, cl, sizeof(cl)); /* unsigned, needs the session */
	send_frame(f, b.data, b.len);
	uint8_t buf[4096];
	size_t n = recv_frame(f, buf, sizeof(buf));
	Smb2Header h;
	assert_int_equal(smb2_header_parse(buf, n, &h), 0);
	assert_int_equal(h.status, NT_STATUS_ACCESS_DENIED);
	/* a wrong signature is refused as well */
	smb2_buf_free(&b);
	add_req(f, &b, SMB2_CLOSE, SMB2_FLAGS_SIGNED, cl, sizeof(cl));
	memset(b.data + 48, 0x5a, 16);
	send_frame(f, b.data, b.len);
	n = recv_frame(f, buf, sizeof(buf));
	assert_int_equal(smb2_header_parse(buf, n, &h), 0);
	assert_int_equal(h.status, NT_STATUS_ACCESS_DENIED);
	/* an unknown session is USER_SESSION_DELETED */
	smb2_buf_free(&b);
	add_req(f, &b, SMB2_CLOSE, 0, cl, sizeof(cl));
	smb2_put64(b.data + 40, 77);
	send_frame(f, b.data, b.len);
	n = recv_frame(f, buf, sizeof(buf));
	assert_int_equal(smb2_header_parse(buf, n, &h), 0);
	assert_int_equal(h.status, NT_STATUS_USER_SESSION_DELETED);
	smb2_buf_free(&b);
}

static void test_credits_granted(void **state) {
	Fixture *f = *state;
	make_session(f, false);
	uint8_t echo[4] = { 4, 0 };
	Smb2Buf b = {};
	add_req(f, &b, SMB2_ECHO, 0, echo, sizeof(echo));
	smb2_put16(b.data + 14, 100); /* CreditRequest */
	send_frame(f, b.data, b.len);
	uint8_t buf[4096];
	size_t n = recv_frame(f, buf, sizeof(buf));
	Smb2Header h;
	assert_int_equal(smb2_header_parse(buf, n, &h), 0);
	assert_int_equal(h.status, NT_STATUS_OK);
	assert_int_equal(h.credits, 100);
	smb2_buf_free(&b);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requires_negotiate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smb1_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dialect_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compound_related_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning_gets_error_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credits_granted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
