/*
 * fuzz_smb2_dispatch.c - libFuzzer harness for smbrefd's whole request
 * path: the dispatcher (compound chains, transforms, SMB1 detection,
 * enforcement) and every command handler, on a real share directory.
 *
 * Input: byte 0 picks the negotiated dialect (or none: NEGOTIATE itself is
 * then fuzzed); the rest is a sequence of frames, each a 2-byte big-endian
 * length and the frame.  Each run gets a fresh connection holding one
 * VALID session (id 1, no signing, so handlers are reachable without an
 * NTLM exchange) with tree 1 on the share; responses are queued and
 * dropped with the connection.
 *
 * Invariant checked: nothing crashes, leaks or reads out of bounds
 * (ASan/UBSan); the share directory is a scratch directory.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "server.h"

static Server server;
static Worker worker;
static Share share;
static Config config;

static char dir[] = "/tmp/fuzz_smb2_dispatch.XXXXXX";

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f) {
	(void)st, (void)type, (void)f;
	return remove(path) < 0 ? 0 : 0;
}

/* The scratch share goes when the fuzzer exits. */
static void cleanup(void) {
	(void)nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void init(void) {
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	share = (Share) { .name = "share", .path = dir, .dirfd = open(dir, O_PATH | O_DIRECTORY) };
	atomic_init(&config.refcount, 1000000);
	config = (Config) { .policy_name = "fuzz", .dialect_min = SMB2_DIALECT_202,
			    .dialect_max = SMB2_DIALECT_311, .encryption_required = false,
			    .ciphers = { SMB2_CRYPTO_CIPHER_AES128_GCM, SMB2_CRYPTO_CIPHER_AES128_CCM },
			    .n_ciphers = 2, .ratelimit_delay_ms = 100, .tcp_enabled = true };
	atomic_init(&config.refcount, 1000000);
	pthread_mutex_init(&server.lock, NULL);
	server.config = &config;
	server.shares = &share;
	server.n_shares = 1;
	server.netbios_name = "FUZZ";
	char users[] = "alice:Secret-1\n";
	if (users_parse(users, sizeof(users) - 1, false, "fuzz", NULL, &server.users) < 0 ||
	    ratelimit_new(&server.ratelimit) < 0 || sd_event_new(&worker.event) < 0)
		abort();
	worker.server = &server;
	worker.config = &config;
}

static const uint16_t dialects[] = { 0, SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300,
				     SMB2_DIALECT_302, SMB2_DIALECT_311 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static bool initialized;
	if (!initialized) {
		init();
		initialized = true;
	}
	if (size < 1)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	close(sv[1]);
	struct sockaddr_storage addr = { .ss_family = AF_INET };
	Conn *c;
	if (conn_new(&worker, sv[0], &addr, &c) < 0)
		return 0;
	uint16_t d = dialects[data[0] % ELEMENTSOF(dialects)];
	if (d) {
		c->negotiated = true;
		c->dialect = d;
		c->max_io = d == SMB2_DIALECT_202 ? 65536u : SMB2_SERVER_MAX_IO; /* as negotiate.c offers */
		c->cipher = d == SMB2_DIALECT_311 ? SMB2_CRYPTO_CIPHER_AES128_GCM : 0;
		Session *s = calloc(1, sizeof(*s));
		Tree *t = calloc(1, sizeof(*t));
		if (!s || !t)
			abort();
		*s = (Session) { .conn = c, .id = 1, .state = SESSION_VALID, .user = strdup("fuzz"),
				 .trees = t, .next_tree_id = 2 };
		*t = (Tree) { .id = 1, .share = &share };
		c->sessions = s;
	}
	size_t pos = 1;
	while (pos + 2 <= size) {
		size_t n = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		uint8_t *frame = malloc(n ? n : 1);
		if (!frame)
			abort();
		memcpy(frame, data + pos, n);
		pos += n;
		int r = smb2_dispatch_frame(c, frame, n);
		free(frame);
		if (r < 0 || c->closing)
			break;
	}
	conn_free(c);
	return 0;
}
