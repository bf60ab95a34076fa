/*
 * test_client_io.c - unit tests of endpoint/client.c's request/response
 * machinery against a scripted server on a socketpair: pipelined
 * multi-credit READs answered out of order (and one first with an interim
 * STATUS_PENDING) land at the right offsets; the credits granted bound how
 * many requests are in flight; message ids advance by the credit charge;
 * an error status comes back as -EREMOTEIO with the status kept; a
 * response to a request never sent is refused.
 *
 * Over SMB Direct: which requests take an RDMA channel (dialect,
 * encryption, threshold), the I/O size caps (MaxReadWriteSize, the SMB
 * Direct message size), and whole transfers against a scripted server
 * that does what smbrefd's file_ops.c + transport_rdma.c do: parses the
 * channel info with the server's own parser (smbd_buffer_desc_parse),
 * moves the bytes through the descriptor, and answers READ with
 * DataLength 0 / DataRemaining and WRITE with Count.  The RDMA stack is
 * what cannot run in a unit test: rdma_client.c's functions are defined
 * here instead (so the linker never pulls rdma_client.o), by a registry
 * of the client's buffers that checks the server only touches registered
 * memory with the right access, and that nothing stays registered after a
 * transfer, failed ones included.
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

/* The next request and its header; -1 once the client shut its end
 * (nothing to free then). */
static int next_request(int fd, uint8_t **ret, size_t *len, Smb2Header *h) {
	*ret = NULL;
	if (read_frame(fd, ret, len) < 0) {
		free(*ret);
		return -1;
	}
	assert_int_equal(smb2_header_parse(*ret, *len, h), 0);
	return 0;
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
		uint8_t *m;
		size_t len;
		Smb2Header h;
		if (next_request(s->fd, &m, &len, &h) < 0)
			return NULL;
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

/* ==== READ/WRITE over SMB Direct (the RDMA channel) ==== */

/* ---- the fake registry (stands in for the RDMA stack) --------------------- */

typedef struct Region {
	uint8_t *buf;
	size_t len;
	unsigned access;
	uint32_t token;
} Region;

static struct {
	pthread_mutex_t lock;
	Region live[MAX_INFLIGHT * 2];
	size_t n;
	uint32_t next_token;
	unsigned registrations;
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

int rdma_client_connect(const struct sockaddr *addr, socklen_t addrlen, const char *provider,
			unsigned timeout_ms, RdmaClient **ret, int *ret_fd, RdmaClientInfo *ret_info) {
	(void)addr, (void)addrlen, (void)provider, (void)timeout_ms, (void)ret, (void)ret_fd, (void)ret_info;
	return -ENODEV;
}

void rdma_client_free(RdmaClient *rc) { (void)rc; }

int rdma_client_register(RdmaClient *rc, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	(void)rc;
	pthread_mutex_lock(&reg.lock);
	assert_true(reg.n < ELEMENTSOF(reg.live));
	Region *r = &reg.live[reg.n++];
	*r = (Region){ buf, len, access, ++reg.next_token };
	reg.registrations++;
	*ret = (SmbdBufferDesc){ .offset = (uintptr_t)buf, .token = r->token, .length = (uint32_t)len };
	pthread_mutex_unlock(&reg.lock);
	return 0;
}

int rdma_client_deregister(RdmaClient *rc, const SmbdBufferDesc *d) {
	(void)rc;
	pthread_mutex_lock(&reg.lock);
	int r = -ENOENT;
	for (size_t i = 0; i < reg.n; i++)
		if (reg.live[i].token == d->token) {
			reg.live[i] = reg.live[--reg.n];
			r = 0;
			break;
		}
	pthread_mutex_unlock(&reg.lock);
	return r;
}

/* The server's side of an RDMA read/write: the bytes of descriptor d,
 * which must lie in a region registered with access. */
static uint8_t *remote(const SmbdBufferDesc *d, unsigned access) {
	pthread_mutex_lock(&reg.lock);
	uint8_t *p = NULL;
	for (size_t i = 0; i < reg.n; i++) {
		Region *r = &reg.live[i];
		if (r->token == d->token && (r->access & access) && d->offset >= (uintptr_t)r->buf &&
		    d->offset + d->length <= (uintptr_t)r->buf + r->len)
			p = (uint8_t *)(uintptr_t)d->offset;
	}
	pthread_mutex_unlock(&reg.lock);
	return p;
}

/* ---- the scripted SMB Direct server ---------------------------------------------------- */

typedef struct Server {
	int fd;
	uint8_t *file;          /* what READ serves and WRITE fills */
	size_t size;
	uint32_t want_channel;  /* the Channel every large request must carry */
	uint32_t status;        /* non-zero: answer every request with it */
	unsigned rdma, plain;   /* requests seen by channel */
} Server;

/* Answer with 64 credits; the send fails once a client that gave up shut
 * its end, which is no error here. */
static void respond(int fd, const Smb2Header *req, uint32_t status, const uint8_t *body, size_t body_len) {
	send_response(fd, req, status, 64, 0, body, body_len);
}

/* The request's channel and its single buffer descriptor ([MS-SMB2]
 * 2.2.19/2.2.21 field offsets, as transport_rdma.c reads them). */
static uint32_t channel_of(const uint8_t *m, size_t len, size_t channel, size_t info_off, SmbdBufferDesc *d) {
	const uint8_t *b = m + SMB2_HDR_SIZE;
	uint32_t ch = smb2_le32(b + channel);
	if (ch == SMB2_CHANNEL_NONE)
		return ch;
	size_t off = smb2_le16(b + info_off), n = smb2_le16(b + info_off + 2);
	assert_true(off >= SMB2_HDR_SIZE && off + n <= len);
	assert_int_equal(smbd_buffer_desc_parse(m + off, n, d, 1), 1);
	return ch;
}

static void serve_read(Server *s, const Smb2Header *h, const uint8_t *m, size_t len) {
	Smb2ReadReq q;
	assert_int_equal(smb2_parse_read(m, len, &q), 0);
	assert_true(h->credit_charge >= smb2_credits_for_payload(q.length));
	SmbdBufferDesc d;
	uint32_t ch = channel_of(m, len, 36, 44, &d);
	assert_true(q.offset + q.length <= s->size);
	uint8_t body[17] = { 0 };
	smb2_put16(body, 17);
	body[2] = SMB2_HDR_SIZE + 16;
	if (ch) { /* push by RDMA: DataLength 0, DataRemaining = bytes */
		assert_int_equal(ch, s->want_channel);
		assert_int_equal(d.length, q.length);
		uint8_t *dst = remote(&d, SMBD_ACCESS_REMOTE_WRITE);
		assert_non_null(dst);
		memcpy(dst, s->file + q.offset, q.length);
		smb2_put32(body + 8, q.length);
		respond(s->fd, h, 0, body, sizeof(body));
		s->rdma++;
		return;
	}
	assert_true(q.length <= SMB_RDMA_THRESHOLD || !s->want_channel);
	uint8_t *out = malloc(16 + q.length);
	memcpy(out, body, 16);
	smb2_put32(out + 4, q.length);
	memcpy(out + 16, s->file + q.offset, q.length);
	respond(s->fd, h, 0, out, 16 + q.length);
	free(out);
	s->plain++;
}

static void serve_write(Server *s, const Smb2Header *h, const uint8_t *m, size_t len) {
	Smb2WriteReq q;
	assert_int_equal(smb2_parse_write(m, len, &q), 0);
	SmbdBufferDesc d;
	uint32_t ch = channel_of(m, len, 32, 40, &d);
	const uint8_t *src = q.data.data;
	size_t n = q.data.len;
	if (ch) { /* pull by RDMA: Length 0, RemainingBytes = bytes */
		assert_int_equal(ch, s->want_channel);
		assert_int_equal(q.data.len, 0);
		n = smb2_le32(m + SMB2_HDR_SIZE + 36);
		assert_int_equal(d.length, n);
		src = remote(&d, SMBD_ACCESS_REMOTE_READ);
		assert_non_null(src);
		s->rdma++;
	} else {
		assert_true(n <= SMB_RDMA_THRESHOLD || !s->want_channel);
		s->plain++;
	}
	assert_true(h->credit_charge >= smb2_credits_for_payload(n));
	assert_true(q.offset + n <= s->size);
	memcpy(s->file + q.offset, src, n);
	uint8_t body[17] = { 0 };
	smb2_put16(body, 17);
	smb2_put32(body + 4, (uint32_t)n);
	respond(s->fd, h, 0, body, sizeof(body));
}

static void *rdma_server(void *userdata) {
	Server *s = userdata;
	for (;;) {
		uint8_t *m;
		size_t len;
		Smb2Header h;
		if (next_request(s->fd, &m, &len, &h) < 0)
			return NULL;
		if (s->status)
			respond(s->fd, &h, s->status, (uint8_t[9]){ 9 }, 9);
		else if (h.command == SMB2_READ)
			serve_read(s, &h, m, len);
		else
			serve_write(s, &h, m, len);
		free(m);
	}
}

/* A client on fd that believes it runs over SMB Direct (c->rdma is only
 * tested for NULL: the registry above stands in for it). */
static SmbClient *rdma_client_on(int fd, uint16_t dialect) {
	SmbClient *c = client_on(fd, 256);
	c->neg.dialect = dialect;
	c->rdma = (RdmaClient *)(uintptr_t)1;
	c->rdma_info = (RdmaClientInfo){ .max_read_write_size = CHUNK, .max_fragmented_send = CHUNK,
					 .max_fragmented_receive = CHUNK };
	return c;
}

static void pattern(uint8_t *p, size_t n, unsigned seed) {
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 12));
}

/* Run one read (write false) or write of size bytes through server s. */
static int rdma_transfer(Server *s, bool write, size_t size, uint16_t dialect, SmbIoStats *st) {
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	s->fd = sp[1];
	s->file = calloc(1, size);
	s->size = size;
	FILE *f = tmpfile();
	assert_non_null(f);
	uint8_t *want = malloc(size);
	pattern(want, size, write ? 5 : 9);
	if (write)
		assert_int_equal(pwrite(fileno(f), want, size, 0), (ssize_t)size);
	else
		memcpy(s->file, want, size);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, rdma_server, s), 0);
	SmbClient *c = rdma_client_on(sp[0], dialect);
	Smb2FileId fid = { 1, 2 };
	int r = write ? smb_client_write_from_fd(c, &fid, fileno(f)) : smb_client_read_to_fd(c, &fid, size, fileno(f));
	shutdown(sp[0], SHUT_RDWR);
	pthread_join(th, NULL);
	close(sp[1]);
	if (r == 0) {
		uint8_t *got = malloc(size);
		if (write)
			memcpy(got, s->file, size);
		else
			assert_int_equal(pread(fileno(f), got, size, 0), (ssize_t)size);
		assert_memory_equal(got, want, size);
		free(got);
	}
	smb_client_io_stats(c, st);
	c->rdma = NULL; /* not a real one */
	smb_client_free(c);
	fclose(f);
	free(want);
	free(s->file);
	assert_int_equal(reg.n, 0); /* nothing left registered, whatever happened */
	return r;
}

static void test_channel_choice(void **state) {
	(void)state;
	static const struct {
		bool rdma, encrypting;
		uint16_t dialect;
		uint32_t len, want;
	} rows[] = {
		{ false, false, SMB2_DIALECT_311, CHUNK, SMB2_CHANNEL_NONE },   /* TCP / QUIC */
		{ true, false, SMB2_DIALECT_210, CHUNK, SMB2_CHANNEL_NONE },    /* before 3.0 */
		{ true, false, SMB2_DIALECT_300, SMB_RDMA_THRESHOLD, SMB2_CHANNEL_NONE },
		{ true, false, SMB2_DIALECT_300, SMB_RDMA_THRESHOLD + 1, SMB2_CHANNEL_RDMA_V1 },
		{ true, false, SMB2_DIALECT_302, CHUNK, SMB2_CHANNEL_RDMA_V1_INVALIDATE },
		{ true, false, SMB2_DIALECT_311, CHUNK, SMB2_CHANNEL_RDMA_V1_INVALIDATE },
		{ true, true, SMB2_DIALECT_311, CHUNK, SMB2_CHANNEL_NONE },     /* no clear data by RDMA */
	};
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		SmbClient c = { .rdma = rows[i].rdma ? (RdmaClient *)(uintptr_t)1 : NULL,
				.encrypting = rows[i].encrypting, .neg = { .dialect = rows[i].dialect } };
		assert_int_equal(io_channel(&c, rows[i].len), rows[i].want);
		/* the server's own check accepts what we pick */
		assert_int_equal(smbd_channel_check(rows[i].want, rows[i].dialect), 0);
	}
}

static void test_chunk_caps(void **state) {
	(void)state;
	SmbClient c = { .rdma = (RdmaClient *)(uintptr_t)1,
			.neg = { .dialect = SMB2_DIALECT_311, .capabilities = SMB2_GLOBAL_CAP_LARGE_MTU },
			.rdma_info = { .max_read_write_size = 512 * 1024, .max_fragmented_send = CHUNK,
				       .max_fragmented_receive = 2 * CHUNK } };
	assert_int_equal(io_chunk(&c, 8 * CHUNK), 512 * 1024);   /* MaxReadWriteSize */
	c.encrypting = true;                                       /* in messages: what both reassemble */
	assert_int_equal(io_chunk(&c, 8 * CHUNK), CHUNK - 65536);
	c.rdma_info.max_fragmented_send = SMBD_MIN_FRAGMENTED_SIZE;
	assert_int_equal(io_chunk(&c, 8 * CHUNK), 65536);
	c.rdma = NULL;                                             /* TCP: unchanged */
	assert_int_equal(io_chunk(&c, 8 * CHUNK), CHUNK);
}

static void test_read_by_rdma(void **state) {
	(void)state;
	Server s = { .want_channel = SMB2_CHANNEL_RDMA_V1_INVALIDATE };
	SmbIoStats st;
	unsigned before = reg.registrations;
	/* 3 whole chunks by RDMA, a 1000-byte tail (under the threshold) in a message */
	assert_int_equal(rdma_transfer(&s, false, 3 * CHUNK + 1000, SMB2_DIALECT_311, &st), 0);
	assert_int_equal(s.rdma, 3);
	assert_int_equal(s.plain, 1);
	assert_int_equal(st.reads, 4);
	assert_int_equal(st.rdma_reads, 3);
	assert_int_equal(st.rdma_bytes, 3 * CHUNK);
	assert_int_equal(st.rdma_channel, SMB2_CHANNEL_RDMA_V1_INVALIDATE);
	assert_int_equal(reg.registrations - before, 3); /* one registration per request */
}

static void test_write_by_rdma(void **state) {
	(void)state;
	Server s = { .want_channel = SMB2_CHANNEL_RDMA_V1 };
	SmbIoStats st;
	/* 3.0: RDMA_V1; the 5000-byte tail is above the threshold: by RDMA too */
	assert_int_equal(rdma_transfer(&s, true, 2 * CHUNK + 5000, SMB2_DIALECT_300, &st), 0);
	assert_int_equal(s.rdma, 3);
	assert_int_equal(s.plain, 0);
	assert_int_equal(st.writes, 3);
	assert_int_equal(st.rdma_writes, 3);
	assert_int_equal(st.rdma_bytes, 2 * CHUNK + 5000);
	/* a small tail goes in the message */
	Server t = { .want_channel = SMB2_CHANNEL_RDMA_V1_INVALIDATE };
	assert_int_equal(rdma_transfer(&t, true, CHUNK + 100, SMB2_DIALECT_302, &st), 0);
	assert_int_equal(t.rdma, 1);
	assert_int_equal(t.plain, 1);
}

static void test_before_30_no_rdma(void **state) {
	(void)state;
	Server s = { .want_channel = SMB2_CHANNEL_NONE };
	SmbIoStats st;
	assert_int_equal(rdma_transfer(&s, false, 2 * CHUNK, SMB2_DIALECT_210, &st), 0);
	assert_int_equal(s.rdma, 0);
	assert_int_equal(st.rdma_reads, 0);
	assert_true(s.plain >= 2);
}

static void test_error_deregisters(void **state) {
	(void)state;
	Server s = { .want_channel = SMB2_CHANNEL_RDMA_V1_INVALIDATE, .status = NT_STATUS_ACCESS_DENIED };
	SmbIoStats st;
	/* several READs out at once, the first answer fails: every buffer is
	 * deregistered (transfer() checks) before it is freed */
	assert_int_equal(rdma_transfer(&s, false, 6 * CHUNK, SMB2_DIALECT_311, &st), -EREMOTEIO);
	assert_true(st.rdma_reads >= 2);
	assert_int_equal(rdma_transfer(&s, true, 6 * CHUNK, SMB2_DIALECT_311, &st), -EREMOTEIO);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_out_of_order),
		cmocka_unit_test(test_credits_bound_inflight),
		cmocka_unit_test(test_error_status),
		cmocka_unit_test(test_unknown_message_id),
		cmocka_unit_test(test_channel_choice),
		cmocka_unit_test(test_chunk_caps),
		cmocka_unit_test(test_read_by_rdma),
		cmocka_unit_test(test_write_by_rdma),
		cmocka_unit_test(test_before_30_no_rdma),
		cmocka_unit_test(test_error_deregisters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
