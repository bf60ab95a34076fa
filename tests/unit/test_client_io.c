/*
 * test_client_io.c - unit tests of endpoint/client.c's request/response
 * machinery against a scripted server on a socketpair: pipelined
 * multi-credit READs answered out of order (and one first with an interim
 * STATUS_PENDING) land at the right offsets; the credits granted bound how
 * many requests are in flight; message ids advance by the credit charge;
 * an error status comes back as -EREMOTEIO with the status kept; a
 * response to a request never sent is refused.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../endpoint/client.c"

#define CHUNK (1024u * 1024u)
#define FILE_SIZE (5u * CHUNK + 12345u)

typedef struct Script {
	int fd;
	unsigned grant;          /* credits granted per response */
	unsigned max_inflight;   /* most READs seen outstanding at once */
	uint64_t mids[16];
	unsigned n_mids;
	bool bad_mid;            /* answer with an unknown message id */
	uint32_t status;         /* non-zero: answer every READ with it */
} Script;

static int read_frame(int fd, uint8_t **ret, size_t *len) {
	uint8_t nb[4];
	Transport t = { .fd = fd };
	if (tcp_recv(&t, nb, 4) < 0)
		return -1;
	*len = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
	*ret = malloc(*len);
	return tcp_recv(&t, *ret, *len);
}

static void send_response(int fd, const Smb2Header *req, uint32_t status, uint16_t credits,
			  uint32_t flags, const uint8_t *body, size_t body_len) {
	uint8_t *m = calloc(1, 4 + SMB2_HDR_SIZE + body_len);
	Smb2Header h = *req;
	h.status = status;
	h.credits = credits;
	h.flags = SMB2_FLAGS_SERVER_TO_REDIR | flags;
	size_t len = SMB2_HDR_SIZE + body_len;
	m[1] = (uint8_t)(len >> 16);
	m[2] = (uint8_t)(len >> 8);
	m[3] = (uint8_t)len;
	smb2_header_build(m + 4, &h);
	memcpy(m + 4 + SMB2_HDR_SIZE, body, body_len);
	Transport t = { .fd = fd };
	struct iovec iov = { m, 4 + len };
	tcp_send(&t, &iov, 1);
	free(m);
}

/* Collect every READ in flight, then answer them last-first. */
static void *server(void *userdata) {
	Script *s = userdata;
	Smb2Header pending[16];
	Smb2ReadReq reads[16];
	unsigned n = 0;
	bool interim_sent = false;
	for (;;) {
		uint8_t *m = NULL;
		size_t len;
		if (read_frame(s->fd, &m, &len) < 0) {
			free(m);
			return NULL;
		}
		Smb2Header h;
		assert_int_equal(smb2_header_parse(m, len, &h), 0);
		assert_int_equal(h.command, SMB2_READ);
		assert_int_equal(smb2_parse_read(m, len, &reads[n]), 0);
		assert_int_equal(h.credit_charge, smb2_credits_for_payload(reads[n].length));
		s->mids[s->n_mids++] = h.message_id;
		pending[n++] = h;
		free(m);
		if (n > s->max_inflight)
			s->max_inflight = n;
		/* More may follow while the client has credits: poll briefly. */
		struct timeval tv = { 0, 20000 };
		fd_set set;
		FD_ZERO(&set);
		FD_SET(s->fd, &set);
		if (select(s->fd + 1, &set, NULL, NULL, &tv) > 0)
			continue;
		while (n > 0) {
			n--;
			Smb2Header *q = &pending[n];
			if (s->bad_mid)
				q->message_id += 1000;
			if (s->status) {
				uint8_t err[9] = { 9 };
				send_response(s->fd, q, s->status, s->grant, 0, err, sizeof(err));
				continue;
			}
			if (!interim_sent) {
				Smb2Header a = *q;
				a.async_id = 7;
				send_response(s->fd, &a, NT_STATUS_PENDING, 0, SMB2_FLAGS_ASYNC_COMMAND,
					      (uint8_t[9]){ 9 }, 9);
				interim_sent = true;
			}
			uint32_t dlen = reads[n].length;
			uint8_t *body = calloc(1, 16 + dlen);
			smb2_put16(body, 17);
			body[2] = SMB2_HDR_SIZE + 16;
			smb2_put32(body + 4, dlen);
			for (uint32_t i = 0; i < dlen; i++)
				body[16 + i] = (uint8_t)((reads[n].offset + i) * 7 + 3);
			send_response(s->fd, q, 0, s->grant, 0, body, 16 + dlen);
			free(body);
		}
	}
}

static SmbClient *client_on(int fd, unsigned credits) {
	SmbClient *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->t = (Transport){ .send = tcp_send, .recv = tcp_recv, .fd = fd };
	c->host = strdup("srv");
	c->credits = credits;
	c->next_mid = 5;
	c->negotiated = c->established = true;
	c->neg = (SmbNegotiateInfo){ .dialect = SMB2_DIALECT_311, .capabilities = SMB2_GLOBAL_CAP_LARGE_MTU,
				     .max_read = 8u * CHUNK, .max_write = 8u * CHUNK };
	return c;
}

static int run(Script *s, unsigned credits, int out_fd, SmbClient **ret_c) {
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	s->fd = sp[1];
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, server, s), 0);
	SmbClient *c = client_on(sp[0], credits);
	Smb2FileId fid = { 1, 2 };
	int r = smb_client_read_to_fd(c, &fid, FILE_SIZE, out_fd);
	shutdown(sp[0], SHUT_RDWR);
	pthread_join(th, NULL);
	close(sp[1]);
	*ret_c = c;
	return r;
}

static void test_pipelined_out_of_order(void **state) {
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	Script s = { .grant = 64 };
	SmbClient *c;
	assert_int_equal(run(&s, 256, fileno(f), &c), 0);
	assert_true(s.max_inflight >= 4); /* 6 chunks, 8 MiB in flight allowed */
	/* message ids advance by the charge (16 per 1 MiB) */
	for (unsigned i = 1; i < s.n_mids; i++)
		assert_int_equal(s.mids[i] - s.mids[i - 1], 16);
	uint8_t *buf = malloc(FILE_SIZE);
	assert_int_equal(pread(fileno(f), buf, FILE_SIZE, 0), FILE_SIZE);
	for (uint32_t i = 0; i < FILE_SIZE; i++)
		if (buf[i] != (uint8_t)(i * 7 + 3))
			fail_msg("byte %u wrong", i);
	free(buf);
	fclose(f);
	smb_client_free(c);
}

static void test_credits_bound_inflight(void **state) {
	(void)state;
	FILE *f = tmpfile();
	Script s = { .grant = 16 };
	SmbClient *c;
	/* 33 credits: two 1 MiB reads (16 each) at a time, never a third */
	assert_int_equal(run(&s, 33, fileno(f), &c), 0);
	assert_int_equal(s.max_inflight, 2);
	fclose(f);
	smb_client_free(c);
}

static void test_error_status(void **state) {
	(void)state;
	FILE *f = tmpfile();
	Script s = { .grant = 64, .status = NT_STATUS_ACCESS_DENIED };
	SmbClient *c;
	assert_int_equal(run(&s, 256, fileno(f), &c), -EREMOTEIO);
	assert_int_equal(smb_client_last_status(c), NT_STATUS_ACCESS_DENIED);
	char buf[16];
	assert_string_equal(smb_status_name(smb_client_last_status(c), buf), "STATUS_ACCESS_DENIED");
	assert_string_equal(smb_status_name(0xc0001234u, buf), "0xc0001234");
	fclose(f);
	smb_client_free(c);
}

static void test_unknown_message_id(void **state) {
	(void)state;
	FILE *f = tmpfile();
	Script s = { .grant = 64, .bad_mid = true };
	SmbClient *c;
	assert_int_equal(run(&s, 256, fileno(f), &c), -EBADMSG);
	fclose(f);
	smb_client_free(c);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_out_of_order),
		cmocka_unit_test(test_credits_bound_inflight),
		cmocka_unit_test(test_error_status),
		cmocka_unit_test(test_unknown_message_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
