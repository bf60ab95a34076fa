/*
 * endpoint_loadgen.c - load generator for bench/endpoint.sh: SMB 3.1.1
 * NTLMv2 session setups against any SMB server (smbrefd or Samba's smbd),
 * built on the reference endpoint's protocol core (smb2_pdu, spnego, ntlm).
 *
 *   endpoint_loadgen setups  HOST PORT USER PASS SECONDS
 *       sequential connect + NEGOTIATE + SESSION_SETUP (NTLMv2) + close;
 *       prints "setups N per_s R"
 *   endpoint_loadgen idle    HOST PORT USER PASS N
 *       opens N authenticated connections, prints "idle N ready", keeps
 *       them until stdin reaches EOF
 *   endpoint_loadgen wrong   HOST PORT USER PASS RATE SECONDS
 *       RATE wrong-password attempts per second (connect, negotiate,
 *       challenge, AUTHENTICATE sent, then close without waiting);
 *       prints "wrong N"
 *   endpoint_loadgen latency HOST PORT USER PASS N
 *       N sequential correct logins; prints "latency p50_ms X p99_ms Y"
 *
 * A session is closed by closing the connection (no LOGOFF: that would
 * need the session's signing/encryption keys, which a load generator does
 * not otherwise need).  Invariant: blocking sockets, one operation at a
 * time per thread; it never reads more than a frame's announced length.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smb2_pdu.h"
#include "spnego.h"
#include "util.h"

static const char *host, *user, *pass;
static int port;

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n) {
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		if (k <= 0)
			return k == 0 ? -ECONNRESET : -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Send one SMB2 message (header + body in b, NBSS header added). */
static int send_msg(int fd, Smb2Buf *b) {
	uint8_t nb[4] = { 0, (uint8_t)(b->len >> 16), (uint8_t)(b->len >> 8), (uint8_t)b->len };
	int r = send_all(fd, nb, 4);
	return r < 0 ? r : send_all(fd, b->data, b->len);
}

/* Receive one frame into *ret (malloc'd). */
static int recv_msg(int fd, uint8_t **ret, size_t *ret_len) {
	uint8_t nb[4];
	int r = recv_all(fd, nb, 4);
	if (r < 0)
		return r;
	size_t n = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return -ENOMEM;
	r = recv_all(fd, p, n);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	*ret_len = n;
	return 0;
}

static void put_header(Smb2Buf *b, uint16_t cmd, uint64_t mid, uint64_t sid) {
	Smb2Header h = { .command = cmd, .credits = 1, .message_id = mid, .session_id = sid };
	uint8_t *p = smb2_buf_extend(b, SMB2_HDR_SIZE);
	if (p)
		smb2_header_build(p, &h);
}

static int do_connect(void) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &a.sin_addr);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* NEGOTIATE for 3.0 .. 3.1.1 with the 3.1.1 contexts; returns the
 * response's security buffer (malloc'd). */
static int negotiate(int fd, uint8_t **ret_sec, size_t *ret_sec_len) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	put_header(&b, SMB2_NEGOTIATE, 0, 0);
	static const uint16_t dialects[] = { SMB2_DIALECT_300, SMB2_DIALECT_302, SMB2_DIALECT_311 };
	uint8_t *p = smb2_buf_extend(&b, 36);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 36);
	smb2_put16(p + 2, ELEMENTSOF(dialects));
	smb2_put16(p + 4, SMB2_NEGOTIATE_SIGNING_ENABLED);
	smb2_put32(p + 8, SMB2_GLOBAL_CAP_ENCRYPTION | SMB2_GLOBAL_CAP_LARGE_MTU);
	for (int i = 0; i < 16; i++)
		p[12 + i] = (uint8_t)rand();
	for (size_t i = 0; i < ELEMENTSOF(dialects); i++) {
		uint8_t *d = smb2_buf_extend(&b, 2);
		if (d)
			smb2_put16(d, dialects[i]);
	}
	smb2_buf_align(&b, 8);
	size_t ctx_off = b.len;
	/* preauth: SHA-512 + 32-byte salt */
	uint8_t pre[8 + 38] = {};
	smb2_put16(pre, SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
	smb2_put16(pre + 2, 38);
	smb2_put16(pre + 8, 1);
	smb2_put16(pre + 10, 32);
	smb2_put16(pre + 12, SMB2_PREAUTH_HASH_SHA512);
	smb2_buf_append(&b, pre, sizeof(pre));
	smb2_buf_align(&b, 8);
	uint8_t enc[8 + 6] = {};
	smb2_put16(enc, SMB2_ENCRYPTION_CAPABILITIES);
	smb2_put16(enc + 2, 6);
	smb2_put16(enc + 8, 2);
	smb2_put16(enc + 10, 0x0002); /* AES-128-GCM */
	smb2_put16(enc + 12, 0x0001); /* AES-128-CCM */
	smb2_buf_append(&b, enc, sizeof(enc));
	if (b.failed)
		return -ENOMEM;
	p = b.data + SMB2_HDR_SIZE;
	smb2_put32(p + 28, (uint32_t)ctx_off);
	smb2_put16(p + 32, 2);
	int r = send_msg(fd, &b);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *m = NULL;
	size_t n;
	r = recv_msg(fd, &m, &n);
	if (r < 0)
		return r;
	Smb2Header h;
	if (smb2_header_parse(m, n, &h) < 0 || h.status != 0 || n < SMB2_HDR_SIZE + 64)
		return -EPROTO;
	size_t off = smb2_le16(m + SMB2_HDR_SIZE + 56), len = smb2_le16(m + SMB2_HDR_SIZE + 58);
	if (off + len > n)
		return -EPROTO;
	*ret_sec = malloc(len ? len : 1);
	if (!*ret_sec)
		return -ENOMEM;
	memcpy(*ret_sec, m + off, len);
	*ret_sec_len = len;
	return 0;
}

/* One SESSION_SETUP round trip; *ret_status, response token malloc'd. */
static int setup_round(int fd, uint64_t mid, uint64_t *sid, const uint8_t *tok, size_t tok_len,
		       bool wait, uint32_t *ret_status, uint8_t **ret_tok, size_t *ret_tok_len) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	put_header(&b, SMB2_SESSION_SETUP, mid, *sid);
	uint8_t *p = smb2_buf_extend(&b, 24);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 25);
	p[3] = SMB2_NEGOTIATE_SIGNING_ENABLED;
	smb2_put16(p + 12, SMB2_HDR_SIZE + 24);
	smb2_put16(p + 14, (uint16_t)tok_len);
	smb2_buf_append(&b, tok, tok_len);
	if (b.failed)
		return -ENOMEM;
	int r = send_msg(fd, &b);
	if (r < 0 || !wait)
		return r;
	_cleanup_free_ uint8_t *m = NULL;
	size_t n;
	r = recv_msg(fd, &m, &n);
	if (r < 0)
		return r;
	Smb2Header h;
	if (smb2_header_parse(m, n, &h) < 0)
		return -EPROTO;
	*sid = h.session_id;
	*ret_status = h.status;
	*ret_tok = NULL;
	*ret_tok_len = 0;
	if (n >= SMB2_HDR_SIZE + 8) {
		size_t off = smb2_le16(m + SMB2_HDR_SIZE + 4), len = smb2_le16(m + SMB2_HDR_SIZE + 6);
		if (len && off + len <= n) {
			*ret_tok = malloc(len);
			if (!*ret_tok)
				return -ENOMEM;
			memcpy(*ret_tok, m + off, len);
			*ret_tok_len = len;
		}
	}
	return 0;
}

/* Connect and authenticate; returns the fd (kept open) or -errno.  With
 * wait_final false the AUTHENTICATE is sent and the fd returned at once. */
static int login(const char *password, bool wait_final, uint32_t *ret_status) {
	int fd = do_connect();
	if (fd < 0)
		return fd;
	_cleanup_free_ uint8_t *sec = NULL, *t1 = NULL, *c1 = NULL, *t2 = NULL, *c2 = NULL;
	size_t sec_len, t1_len, c1_len, t2_len, c2_len;
	_cleanup_(spnego_client_freep) SpnegoClient *sp = NULL;
	NtlmClientConfig cfg = { .user = user, .domain = "WORKGROUP", .password = password };
	uint64_t sid = 0;
	uint32_t st = 0;
	int r = negotiate(fd, &sec, &sec_len);
	if (r >= 0)
		r = spnego_client_new(&cfg, &sp);
	if (r >= 0)
		r = spnego_client_step(sp, sec, sec_len, &t1, &t1_len);
	if (r >= 0)
		r = setup_round(fd, 1, &sid, t1, t1_len, true, &st, &c1, &c1_len);
	if (r >= 0 && st != NT_STATUS_MORE_PROCESSING_REQUIRED)
		r = -EPROTO;
	if (r >= 0)
		r = spnego_client_step(sp, c1, c1_len, &t2, &t2_len);
	if (r >= 0)
		r = setup_round(fd, 2, &sid, t2, t2_len, wait_final, &st, &c2, &c2_len);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (ret_status)
		*ret_status = wait_final ? st : 0;
	return fd;
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int mode_setups(double seconds) {
	double t0 = now_s(), t;
	unsigned long n = 0, failed = 0;
	while ((t = now_s()) - t0 < seconds) {
		uint32_t st;
		int fd = login(pass, true, &st);
		if (fd < 0 || st != 0)
			failed++;
		else
			n++;
		if (fd >= 0)
			close(fd);
	}
	printf("setups %lu per_s %.1f failed %lu\n", n, (double)n / (t - t0), failed);
	return failed && !n ? 1 : 0;
}

static int mode_idle(unsigned n) {
	int *fds = calloc(n, sizeof(int));
	if (!fds)
		return 1;
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t st;
		int fd = login(pass, true, &st);
		if (fd < 0 || st != 0) {
			fprintf(stderr, "idle: connection %u failed (%s, status 0x%08x)\n", i,
				fd < 0 ? strerror(-fd) : "ok", st);
			if (fd >= 0)
				close(fd);
			break;
		}
		fds[ok++] = fd;
	}
	printf("idle %u ready\n", ok);
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	for (unsigned i = 0; i < ok; i++)
		close(fds[i]);
	free(fds);
	return ok == n ? 0 : 1;
}

typedef struct WrongCtx {
	double rate, seconds, start;
	unsigned threads;
	unsigned long sent;
	pthread_mutex_t lock;
	unsigned long next;
} WrongCtx;

static void *wrong_thread(void *userdata) {
	WrongCtx *w = userdata;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		unsigned long k = w->next++;
		pthread_mutex_unlock(&w->lock);
		double at = w->start + (double)k / w->rate;
		if (at - w->start >= w->seconds)
			return NULL;
		double d = at - now_s();
		if (d > 0)
			usleep((useconds_t)(d * 1e6));
		int fd = login("definitely-wrong", false, NULL);
		if (fd >= 0) {
			close(fd);
			pthread_mutex_lock(&w->lock);
			w->sent++;
			pthread_mutex_unlock(&w->lock);
		}
	}
}

static int mode_wrong(double rate, double seconds) {
	WrongCtx w = { .rate = rate, .seconds = seconds, .start = now_s(), .threads = 16 };
	pthread_mutex_init(&w.lock, NULL);
	pthread_t t[16];
	for (unsigned i = 0; i < w.threads; i++)
		pthread_create(&t[i], NULL, wrong_thread, &w);
	for (unsigned i = 0; i < w.threads; i++)
		pthread_join(t[i], NULL);
	printf("wrong %lu in %.1f s\n", w.sent, now_s() - w.start);
	return 0;
}

static int mode_latency(unsigned n) {
	double *ms = calloc(n, sizeof(double));
	if (!ms)
		return 1;
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		double t0 = now_s();
		uint32_t st;
		int fd = login(pass, true, &st);
		double t = (now_s() - t0) * 1000;
		if (fd >= 0)
			close(fd);
		if (fd >= 0 && st == 0)
			ms[ok++] = t;
		usleep(20000);
	}
	if (!ok) {
		printf("latency no successful login\n");
		free(ms);
		return 1;
	}
	qsort(ms, ok, sizeof(double), cmp_double);
	printf("latency n %u p50_ms %.1f p99_ms %.1f max_ms %.1f\n", ok, ms[ok / 2],
	       ms[(size_t)((ok - 1) * 0.99)], ms[ok - 1]);
	free(ms);
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 7) {
		fprintf(stderr, "usage: endpoint_loadgen setups|idle|wrong|latency HOST PORT USER PASS ARG [ARG]\n");
		return 2;
	}
	host = argv[2];
	port = atoi(argv[3]);
	user = argv[4];
	pass = argv[5];
	srand((unsigned)getpid());
	if (streq(argv[1], "setups"))
		return mode_setups(atof(argv[6]));
	if (streq(argv[1], "idle"))
		return mode_idle((unsigned)atoi(argv[6]));
	if (streq(argv[1], "wrong") && argc >= 8)
		return mode_wrong(atof(argv[6]), atof(argv[7]));
	if (streq(argv[1], "latency"))
		return mode_latency((unsigned)atoi(argv[6]));
	fprintf(stderr, "endpoint_loadgen: unknown mode %s\n", argv[1]);
	return 2;
}
