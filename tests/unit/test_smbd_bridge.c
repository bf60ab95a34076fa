/*
 * test_smbd_bridge.c - endpoint/smbd_bridge.c over the in-process loopback
 * queue pair: two bridges (an SMB Direct client and server) each on a
 * socketpair whose other end plays the SMB2 side.  Frames go both ways
 * whole and in order, including one written before SMB Direct finished
 * negotiating, a 900 KiB one (fragmented and reassembled) and a burst the
 * socket cannot take at once (buffered until read); a frame header above
 * SMBD_BRIDGE_FRAME_MAX ends the connection; the socket's EOF ends it, and
 * so does a message for an SMB2 side that closed (EPIPE, not SIGPIPE).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smbd_bridge.h"
#include "smbdirect_loopback.h"
#include "util.h"

#define CLIENT 0
#define SERVER 1

/* One end: the bridge, the SMB2 side's socket and what it read. */
typedef struct End {
	SmbdBridge *b;
	int app;
	uint8_t *got;
	size_t got_len, got_cap;
	int result; /* the last smbd_bridge_run */
} End;

typedef struct Pair {
	SmbdLoopback *lb;
	End end[2];
} Pair;

static void end_new(Pair *p, unsigned e) {
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	SmbdQp qp = { .ops = &smbd_loopback_ops, .qp = smbd_loopback_end(p->lb, e), .fd = -1 };
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	assert_int_equal(smbd_bridge_new(&qp, sp[1], e == SERVER, &cfg, 0, &p->end[e].b), 0);
	smbd_loopback_attach(p->lb, e, smbd_bridge_conn(p->end[e].b));
	p->end[e].app = sp[0];
}

static int setup(void **state) {
	Pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(smbd_loopback_new(&p->lb), 0);
	end_new(p, SERVER); /* the server's receives are posted first, as before an accept */
	end_new(p, CLIENT);
	*state = p;
	return 0;
}

static int teardown(void **state) {
	Pair *p = *state;
	for (unsigned e = 0; e < 2; e++) {
		smbd_bridge_free(p->end[e].b);
		if (p->end[e].app >= 0)
			close(p->end[e].app);
		free(p->end[e].got);
	}
	smbd_loopback_free(p->lb);
	free(p);
	return 0;
}

/* Run both bridges and the loopback until nothing moves; the SMB2 sides
 * read whatever arrived. */
static void pump(Pair *p) {
	for (int idle = 0, i = 0; idle < 3 && i < 100000; i++) {
		bool moved = smbd_loopback_run(p->lb, 0) > 0;
		for (unsigned e = 0; e < 2; e++) {
			End *x = &p->end[e];
			x->result = smbd_bridge_run(x->b, 0);
			if (x->app < 0)
				continue;
			if (x->got_cap - x->got_len < 65536) {
				x->got_cap = x->got_cap ? x->got_cap * 2 : 65536;
				x->got = realloc(x->got, x->got_cap);
				assert_non_null(x->got);
			}
			ssize_t n = read(x->app, x->got + x->got_len, x->got_cap - x->got_len);
			if (n > 0) {
				x->got_len += (size_t)n;
				moved = true;
			}
		}
		idle = moved ? 0 : idle + 1;
	}
}

/* Write a Direct TCP frame of len bytes of pattern seed to the SMB2 side
 * of end e (what the socket does not take now is written while pumping). */
static void send_frame(Pair *p, unsigned e, size_t len, uint8_t seed) {
	uint8_t *f = malloc(4 + len);
	assert_non_null(f);
	f[0] = 0, f[1] = (uint8_t)(len >> 16), f[2] = (uint8_t)(len >> 8), f[3] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		f[4 + i] = (uint8_t)(seed + i * 7);
	for (size_t off = 0; off < 4 + len;) {
		ssize_t n = write(p->end[e].app, f + off, 4 + len - off);
		if (n > 0)
			off += (size_t)n;
		else
			pump(p);
	}
	free(f);
}

/* The next frame the SMB2 side of e read must be len bytes of seed. */
static void expect_frame(End *x, size_t *pos, size_t len, uint8_t seed) {
	assert_true(x->got_len - *pos >= 4 + len);
	const uint8_t *h = x->got + *pos;
	assert_int_equal((size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3], len);
	assert_int_equal(h[0], 0);
	for (size_t i = 0; i < len; i++)
		if (h[4 + i] != (uint8_t)(seed + i * 7))
			fail_msg("byte %zu of a %zu-byte frame differs", i, len);
	*pos += 4 + len;
}

static void test_frames_both_ways(void **state) {
	Pair *p = *state;
	SmbdBridgeWait w;
	smbd_bridge_wait(p->end[SERVER].b, &w);
	assert_int_equal(w.socket_events & POLLIN, 0); /* not read before SMB Direct is up */
	assert_int_equal(w.qp_fd, -1);
	send_frame(p, CLIENT, 100, 1); /* before the negotiate finished */
	pump(p);
	assert_int_equal(smbd_state(smbd_bridge_conn(p->end[CLIENT].b)), SMBD_CONNECTED);
	smbd_bridge_wait(p->end[SERVER].b, &w);
	assert_true(w.socket_events & POLLIN);
	assert_int_equal(w.socket_events & POLLOUT, 0);
	size_t pos[2] = {};
	expect_frame(&p->end[SERVER], &pos[SERVER], 100, 1);

	send_frame(p, SERVER, 900 * 1024, 2);
	send_frame(p, CLIENT, 1, 3);
	pump(p);
	expect_frame(&p->end[CLIENT], &pos[CLIENT], 900 * 1024, 2);
	expect_frame(&p->end[SERVER], &pos[SERVER], 1, 3);

	/* a burst the SMB2 side does not read at once: buffered, then whole */
	int app = p->end[CLIENT].app;
	p->end[CLIENT].app = -1;
	for (uint8_t i = 0; i < 8; i++)
		send_frame(p, SERVER, 512 * 1024, (uint8_t)(10 + i));
	pump(p);
	smbd_bridge_wait(p->end[CLIENT].b, &w);
	assert_true(w.socket_events & POLLOUT);
	p->end[CLIENT].app = app;
	pump(p);
	for (uint8_t i = 0; i < 8; i++)
		expect_frame(&p->end[CLIENT], &pos[CLIENT], 512 * 1024, (uint8_t)(10 + i));
	assert_int_equal(pos[CLIENT], p->end[CLIENT].got_len);
	assert_int_equal(p->end[CLIENT].result, 0);
	assert_int_equal(p->end[SERVER].result, 0);
}

static void test_frame_too_long(void **state) {
	Pair *p = *state;
	pump(p);
	const uint8_t h[4] = { 1, 0, 0, 1 }; /* 16 MiB + 1: one byte over the maximum */
	assert_int_equal(write(p->end[CLIENT].app, h, 4), 4);
	pump(p);
	assert_int_equal(p->end[CLIENT].result, -EMSGSIZE);
	assert_int_equal(smbd_state(smbd_bridge_conn(p->end[CLIENT].b)), SMBD_DISCONNECTED);
	assert_true(smbd_loopback_disconnected(p->lb));
	SmbdBridgeWait w;
	smbd_bridge_wait(p->end[CLIENT].b, &w);
	assert_int_equal(w.socket_events, 0);
}

static void test_socket_eof(void **state) {
	Pair *p = *state;
	pump(p);
	close(p->end[SERVER].app); /* the SMB2 side (smbrefd's Conn) went */
	p->end[SERVER].app = -1;
	pump(p);
	assert_int_equal(p->end[SERVER].result, -ECONNRESET);
	assert_true(smbd_loopback_disconnected(p->lb));
	assert_int_equal(smbd_state(smbd_bridge_conn(p->end[SERVER].b)), SMBD_DISCONNECTED);
}

/* The SMB2 side stopped reading while a message for it arrives: the write fails
 * (EPIPE, no SIGPIPE killing the process) and the connection ends. */
static void test_write_to_closed(void **state) {
	Pair *p = *state;
	pump(p);
	assert_int_equal(shutdown(p->end[CLIENT].app, SHUT_RD), 0); /* writes to it fail, reads see no EOF */
	uint8_t h[4 + 16] = { 0, 0, 0, 16 };
	assert_int_equal(write(p->end[SERVER].app, h, sizeof(h)), (ssize_t)sizeof(h));
	pump(p);
	assert_true(p->end[CLIENT].result < 0);
	assert_true(smbd_loopback_disconnected(p->lb));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frames_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_to_closed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
