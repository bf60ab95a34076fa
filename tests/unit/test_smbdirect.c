/*
 * test_smbdirect.c - endpoint/smbdirect.c over the in-process loopback
 * (endpoint/smbdirect_loopback.c): negotiate both ways (and every invalid
 * negotiate message), credits, fragmentation and reassembly, a 64 MiB
 * transfer through RDMA read/write buffer descriptors, every malformed data
 * transfer message dropping the connection, keep-alive, credit starvation.
 *
 * No RDMA device exists on the test machines: the loopback stands in for
 * the verbs queue pair; transport_rdma.c is tested only for its start-up
 * refusal (tests/integration/rdma_nodevice.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "smb2_pdu.h"
#include "smbdirect.h"
#include "smbdirect_loopback.h"
#include "util.h"

#define CLIENT 0
#define SERVER 1
#define SEC 1000000ULL

/* One side's upper layer: what was delivered, and for the server a
 * "file" that WRITE/READ requests move through RDMA. */
typedef struct Side {
	SmbdConn *c;
	uint8_t *last;
	size_t last_len, count;
	uint8_t *file;
	size_t file_len;
	int rdma_result;
} Side;

typedef struct Pair {
	SmbdLoopback *lb;
	Side side[2];
} Pair;

/* Upper-layer ops of the 64 MiB test: 'W' off len ndesc desc... (server
 * pulls), 'R' off len ndesc desc... (server pushes); answer "ok". */
static int deliver(void *userdata, const uint8_t *msg, size_t len) {
	Side *s = userdata;
	free(s->last);
	s->last = malloc(len);
	assert_non_null(s->last);
	memcpy(s->last, msg, len);
	s->last_len = len;
	s->count++;
	if (!s->file || len < 13 || (msg[0] != 'W' && msg[0] != 'R'))
		return 0;
	uint64_t off = smb2_le64(msg + 1);
	uint32_t n = smb2_le32(msg + 9);
	SmbdBufferDesc d[8];
	int k = smbd_buffer_desc_parse(msg + 13, len - 13, d, ELEMENTSOF(d));
	assert_true(k > 0);
	assert_true(off + n <= s->file_len);
	s->rdma_result = msg[0] == 'W' ? smbd_rdma_pull(s->c, d, (size_t)k, s->file + off, n)
				       : smbd_rdma_push(s->c, d, (size_t)k, s->file + off, n);
	return smbd_send(s->c, (const uint8_t *)"ok", 2, 0);
}

static void pair_config(SmbdConfig *cfg, Side *s) {
	smbd_config_default(cfg);
	cfg->deliver = deliver;
	cfg->userdata = s;
}

/* A pair of connections; negotiate unless cfg_server is for a test that
 * drives the negotiate by hand (then server == NULL conn). */
static void pair_open(Pair *p, const SmbdConfig *client_cfg, const SmbdConfig *server_cfg) {
	memset(p, 0, sizeof(*p));
	assert_int_equal(smbd_loopback_new(&p->lb), 0);
	SmbdConfig cfg[2];
	for (unsigned i = 0; i < 2; i++) {
		const SmbdConfig *given = i == CLIENT ? client_cfg : server_cfg;
		if (given)
			cfg[i] = *given;
		else
			smbd_config_default(&cfg[i]);
		cfg[i].deliver = deliver;
		cfg[i].userdata = &p->side[i];
	}
	assert_int_equal(smbd_conn_new(&cfg[SERVER], &smbd_loopback_ops, smbd_loopback_end(p->lb, SERVER), true,
				       0, &p->side[SERVER].c),
			 0);
	smbd_loopback_attach(p->lb, SERVER, p->side[SERVER].c);
	assert_int_equal(smbd_conn_new(&cfg[CLIENT], &smbd_loopback_ops, smbd_loopback_end(p->lb, CLIENT), false,
				       0, &p->side[CLIENT].c),
			 0);
	smbd_loopback_attach(p->lb, CLIENT, p->side[CLIENT].c);
}

static void pair_close(Pair *p) {
	for (unsigned i = 0; i < 2; i++) {
		smbd_conn_free(p->side[i].c);
		free(p->side[i].last);
	}
	smbd_loopback_free(p->lb);
}

static SmbdStats stats(const Pair *p, unsigned side) {
	SmbdStats s;
	smbd_stats(p->side[side].c, &s);
	return s;
}

/* ---- wire format ---- */

static void test_wire_roundtrip(void **state) {
	(void)state;
	/* [MS-SMBD] 4.1's example negotiate request */
	static const uint8_t spec_req[20] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x04,
					      0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00 };
	SmbdNegotiateReq q;
	assert_int_equal(smbd_negotiate_req_parse(spec_req, sizeof(spec_req), &q), 0);
	assert_int_equal(q.min_version, 0x0100);
	assert_int_equal(q.credits_requested, 10);
	assert_int_equal(q.preferred_send_size, 1024);
	assert_int_equal(q.max_fragmented_size, 131072);
	uint8_t out[32];
	smbd_negotiate_req_build(out, &q);
	assert_memory_equal(out, spec_req, sizeof(spec_req));
	assert_int_equal(smbd_negotiate_req_parse(spec_req, 19, &q), -EBADMSG);

	SmbdNegotiateResp r = { 0x100, 0x100, 0x100, 10, 10, 0, 1 << 20, 1024, 1024, 131072 }, r2;
	smbd_negotiate_resp_build(out, &r);
	assert_int_equal(smbd_negotiate_resp_parse(out, 32, &r2), 0);
	assert_true(r2.min_version == 0x100 && r2.max_version == 0x100 && r2.negotiated_version == 0x100 &&
		    r2.credits_requested == 10 && r2.credits_granted == 10 && r2.status == 0 &&
		    r2.max_read_write_size == 1 << 20 && r2.preferred_send_size == 1024 &&
		    r2.max_receive_size == 1024 && r2.max_fragmented_size == 131072);
	assert_int_equal(smbd_negotiate_resp_parse(out, 31, &r2), -EBADMSG);

	uint8_t msg[64] = {};
	SmbdDataHdr h = { 5, 7, SMBD_FLAG_RESPONSE_REQUESTED, 9, 24, 40 }, h2;
	smbd_data_hdr_build(msg, &h);
	assert_int_equal(smbd_data_parse(msg, 64, 1 << 20, &h2), 0);
	assert_true(h2.credits_requested == 5 && h2.credits_granted == 7 &&
		    h2.flags == SMBD_FLAG_RESPONSE_REQUESTED && h2.remaining_data_length == 9 &&
		    h2.data_offset == 24 && h2.data_length == 40);

	SmbdBufferDesc d[2] = { { 0x1122334455667788ULL, 0xabcd, 4096 }, { 8, 9, 10 } }, e[4];
	uint8_t db[32];
	smbd_buffer_desc_build(db, d, 2);
	assert_int_equal(smbd_buffer_desc_parse(db, 32, e, 4), 2);
	assert_memory_equal(d, e, sizeof(d));
	assert_int_equal(smbd_buffer_desc_parse(db, 31, e, 4), -EBADMSG);
	assert_int_equal(smbd_buffer_desc_parse(db, 0, e, 4), -EBADMSG);
	assert_int_equal(smbd_buffer_desc_parse(db, 32, e, 1), -EBADMSG);
	smb2_put32(db + 12, 0); /* zero-length entry */
	assert_int_equal(smbd_buffer_desc_parse(db, 32, e, 4), -EBADMSG);
}

static void test_channel_check(void **state) {
	(void)state;
	static const struct {
		uint32_t channel;
		uint16_t dialect;
		int expect;
	} cases[] = {
		{ SMB2_CHANNEL_NONE, 0x0202, 0 },
		{ SMB2_CHANNEL_RDMA_V1, 0x0210, -EINVAL },
		{ SMB2_CHANNEL_RDMA_V1, 0x0300, 0 },
		{ SMB2_CHANNEL_RDMA_V1_INVALIDATE, 0x0300, -EINVAL },
		{ SMB2_CHANNEL_RDMA_V1_INVALIDATE, 0x0302, 0 },
		{ SMB2_CHANNEL_RDMA_V1_INVALIDATE, 0x0311, 0 },
		{ 3, 0x0311, -EINVAL },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		assert_int_equal(smbd_channel_check(cases[i].channel, cases[i].dialect), cases[i].expect);
}

/* ---- negotiate ---- */

static void test_negotiate(void **state) {
	(void)state;
	Pair p;
	pair_open(&p, NULL, NULL);
	assert_int_equal(smbd_state(p.side[CLIENT].c), SMBD_NEGOTIATE_SENT);
	assert_int_equal(smbd_state(p.side[SERVER].c), SMBD_NEGOTIATE_WAIT);
	assert_true(smbd_loopback_run(p.lb, 0) > 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(smbd_state(p.side[i].c), SMBD_CONNECTED);
		SmbdStats s = stats(&p, i);
		assert_int_equal(s.max_send_size, SMBD_DEFAULT_MAX_SEND_SIZE);
		assert_int_equal(s.max_fragmented_send, SMBD_DEFAULT_MAX_FRAGMENTED_SIZE);
		assert_int_equal(s.max_read_write_size, SMBD_DEFAULT_MAX_READ_WRITE_SIZE);
	}
	/* the client granted the server its credits in one message, and
	 * nothing ping-pongs afterwards */
	SmbdStats c = stats(&p, CLIENT), s = stats(&p, SERVER);
	assert_int_equal(c.send_credits, 254);
	assert_int_equal(s.send_credits, 255);
	assert_int_equal(c.receive_credits, 255);
	assert_int_equal(s.receive_credits, 254);
	assert_int_equal(smbd_loopback_posted(p.lb, CLIENT), 255);
	assert_int_equal(smbd_loopback_posted(p.lb, SERVER), 254);
	assert_int_equal(smbd_loopback_pending(p.lb, CLIENT) + smbd_loopback_pending(p.lb, SERVER), 0);
	pair_close(&p);
}

static void test_negotiate_sizes(void **state) {
	(void)state;
	Pair p;
	SmbdConfig cc, sc;
	smbd_config_default(&cc);
	smbd_config_default(&sc);
	cc.max_send_size = 4096;  /* capped by the server's receive size */
	cc.max_receive_size = 1024; /* caps the server's send size */
	sc.max_receive_size = 2048;
	sc.max_fragmented_size = 200000;
	sc.max_read_write_size = 8 << 20;
	cc.send_credit_target = 17;
	sc.receive_credit_max = 10;
	pair_open(&p, &cc, &sc);
	smbd_loopback_run(p.lb, 0);
	SmbdStats c = stats(&p, CLIENT), s = stats(&p, SERVER);
	assert_int_equal(c.max_send_size, 2048);
	assert_int_equal(s.max_send_size, 1024);
	assert_int_equal(c.max_fragmented_send, 200000);
	assert_int_equal(c.max_read_write_size, 8 << 20);
	/* the server posts at most ReceiveCreditMax although 17 were asked */
	assert_int_equal(s.receive_credits + 1, 10);
	assert_int_equal(c.send_credits + 1, 10);
	pair_close(&p);
}

/* The server's reaction to each invalid negotiate request. */
static void test_negotiate_request_invalid(void **state) {
	(void)state;
	static const struct {
		SmbdNegotiateReq q;
		size_t len;
		int error;
	} cases[] = {
		{ { 0x0200, 0x0200, 10, 1364, 8192, 1 << 20 }, 20, -EPROTONOSUPPORT },
		{ { 0x0100, 0x0100, 0, 1364, 8192, 1 << 20 }, 20, -EPROTO },
		{ { 0x0100, 0x0100, 10, 1364, 127, 1 << 20 }, 20, -EPROTO },
		{ { 0x0100, 0x0100, 10, 1364, 8192, 131071 }, 20, -EPROTO },
		{ { 0x0100, 0x0100, 10, 1364, 8192, 1 << 20 }, 19, -EBADMSG },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		SmbdLoopback *lb;
		SmbdConn *srv;
		SmbdConfig cfg;
		Side side = {};
		pair_config(&cfg, &side);
		assert_int_equal(smbd_loopback_new(&lb), 0);
		assert_int_equal(smbd_conn_new(&cfg, &smbd_loopback_ops, smbd_loopback_end(lb, SERVER), true, 0, &srv), 0);
		smbd_loopback_attach(lb, SERVER, srv);
		uint8_t m[20];
		smbd_negotiate_req_build(m, &cases[i].q);
		assert_int_equal(smbd_loopback_inject(lb, SERVER, m, cases[i].len), 0);
		smbd_loopback_run(lb, 0);
		assert_int_equal(smbd_state(srv), SMBD_DISCONNECTED);
		assert_int_equal(smbd_error(srv), cases[i].error);
		uint8_t resp[64];
		int n = smbd_loopback_take(lb, CLIENT, resp, sizeof(resp));
		if (cases[i].error == -EPROTONOSUPPORT) { /* answered, then dropped */
			SmbdNegotiateResp r;
			assert_int_equal(n, SMBD_NEGOTIATE_RESP_SIZE);
			assert_int_equal(smbd_negotiate_resp_parse(resp, (size_t)n, &r), 0);
			assert_int_equal(r.status, SMBD_STATUS_NOT_SUPPORTED);
		} else
			assert_int_equal(n, -ENOENT);
		smbd_conn_free(srv);
		smbd_loopback_free(lb);
	}
}

/* The client's reaction to each invalid negotiate response. */
static void test_negotiate_response_invalid(void **state) {
	(void)state;
	static const struct {
		SmbdNegotiateResp r;
		size_t len;
		int error;
	} cases[] = {
		{ { 0x100, 0x100, 0x200, 10, 10, 0, 1 << 20, 1364, 8192, 1 << 20 }, 32, -EPROTONOSUPPORT },
		{ { 0x100, 0x100, 0x100, 10, 10, SMBD_STATUS_NOT_SUPPORTED, 1 << 20, 1364, 8192, 1 << 20 }, 32,
		  -ECONNREFUSED },
		{ { 0x100, 0x100, 0x100, 0, 10, 0, 1 << 20, 1364, 8192, 1 << 20 }, 32, -EPROTO },
		{ { 0x100, 0x100, 0x100, 10, 0, 0, 1 << 20, 1364, 8192, 1 << 20 }, 32, -EPROTO },
		{ { 0x100, 0x100, 0x100, 10, 10, 0, 1 << 20, 8193, 8192, 1 << 20 }, 32, -EPROTO },
		{ { 0x100, 0x100, 0x100, 10, 10, 0, 1 << 20, 1364, 100, 1 << 20 }, 32, -EPROTO },
		{ { 0x100, 0x100, 0x100, 10, 10, 0, 1 << 20, 1364, 8192, 4096 }, 32, -EPROTO },
		{ { 0x100, 0x100, 0x100, 10, 10, 0, 1 << 20, 1364, 8192, 1 << 20 }, 31, -EBADMSG },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		SmbdLoopback *lb;
		SmbdConn *cli;
		SmbdConfig cfg;
		Side side = {};
		pair_config(&cfg, &side);
		assert_int_equal(smbd_loopback_new(&lb), 0);
		assert_int_equal(smbd_conn_new(&cfg, &smbd_loopback_ops, smbd_loopback_end(lb, CLIENT), false, 0, &cli), 0);
		smbd_loopback_attach(lb, CLIENT, cli);
		uint8_t req[64];
		assert_int_equal(smbd_loopback_take(lb, SERVER, req, sizeof(req)), SMBD_NEGOTIATE_REQ_SIZE);
		uint8_t m[32];
		smbd_negotiate_resp_build(m, &cases[i].r);
		assert_int_equal(smbd_loopback_inject(lb, CLIENT, m, cases[i].len), 0);
		smbd_loopback_run(lb, 0);
		assert_int_equal(smbd_state(cli), SMBD_DISCONNECTED);
		assert_int_equal(smbd_error(cli), cases[i].error);
		assert_int_equal(smbd_send(cli, (const uint8_t *)"x", 1, 0), -ENOTCONN);
		smbd_conn_free(cli);
		smbd_loopback_free(lb);
	}
}

/* ---- data transfer ---- */

static void test_small_messages(void **state) {
	(void)state;
	Pair p;
	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(smbd_send(p.side[CLIENT].c, (const uint8_t *)"hello", 5, 0), 0);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(p.side[SERVER].count, 1);
	assert_int_equal(p.side[SERVER].last_len, 5);
	assert_memory_equal(p.side[SERVER].last, "hello", 5);
	assert_int_equal(smbd_send(p.side[SERVER].c, (const uint8_t *)"world!", 6, 0), 0);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(p.side[CLIENT].count, 1);
	assert_memory_equal(p.side[CLIENT].last, "world!", 6);
	assert_int_equal(smbd_send(p.side[SERVER].c, (const uint8_t *)"", 0, 0), -EMSGSIZE);
	pair_close(&p);
}

static void test_fragmentation(void **state) {
	(void)state;
	Pair p;
	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	size_t len = SMBD_DEFAULT_MAX_FRAGMENTED_SIZE;
	uint8_t *big = malloc(len + 1);
	assert_non_null(big);
	for (size_t i = 0; i < len + 1; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	assert_int_equal(smbd_send(p.side[CLIENT].c, big, len + 1, 0), -EMSGSIZE);
	uint64_t before = stats(&p, CLIENT).sent;
	assert_int_equal(smbd_send(p.side[CLIENT].c, big, len, 0), 0);
	/* more fragments than credits: the rest waits for the server's grants */
	assert_true(stats(&p, CLIENT).queued > 0);
	smbd_loopback_run(p.lb, 0);
	size_t per = SMBD_DEFAULT_MAX_SEND_SIZE - SMBD_DATA_OFFSET;
	assert_int_equal(stats(&p, CLIENT).sent - before, (len + per - 1) / per);
	assert_int_equal(stats(&p, CLIENT).queued, 0);
	assert_int_equal(p.side[SERVER].count, 1);
	assert_int_equal(p.side[SERVER].last_len, len);
	assert_memory_equal(p.side[SERVER].last, big, len);
	/* and back, several in a row */
	for (int i = 0; i < 3; i++)
		assert_int_equal(smbd_send(p.side[SERVER].c, big + i, 300000, 0), 0);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(p.side[CLIENT].count, 3);
	assert_memory_equal(p.side[CLIENT].last, big + 2, 300000);
	assert_int_equal(smbd_state(p.side[CLIENT].c), SMBD_CONNECTED);
	assert_int_equal(smbd_state(p.side[SERVER].c), SMBD_CONNECTED);
	free(big);
	pair_close(&p);
}

/* Data message fields for injection. */
typedef struct Raw {
	uint16_t requested, granted, flags;
	uint32_t remaining, offset, length;
	size_t total; /* bytes on the wire */
} Raw;

static size_t raw_build(uint8_t *buf, const Raw *r) {
	memset(buf, 0x5a, r->total);
	SmbdDataHdr h = { r->requested, r->granted, r->flags, r->remaining, r->offset, r->length };
	uint8_t hdr[SMBD_DATA_OFFSET];
	smbd_data_hdr_build(hdr, &h);
	memcpy(buf, hdr, r->total < SMBD_DATA_HDR_SIZE ? r->total : SMBD_DATA_HDR_SIZE);
	return r->total;
}

/* Every malformed data transfer message drops the connection ([MS-SMBD]
 * 3.1.5.8) and delivers nothing. */
static void test_malformed_dropped(void **state) {
	(void)state;
	static const struct {
		const char *what;
		Raw first, second; /* second.total == 0: one message */
		int error;
	} cases[] = {
		{ "shorter than the header", { 1, 0, 0, 0, 0, 0, 19 }, {}, -EBADMSG },
		{ "CreditsRequested 0", { 0, 0, 0, 0, 24, 4, 28 }, {}, -EBADMSG },
		{ "DataOffset not 8-byte aligned", { 1, 0, 0, 0, 28, 4, 40 }, {}, -EBADMSG },
		{ "DataOffset + DataLength past the end", { 1, 0, 0, 0, 24, 100, 120 }, {}, -EBADMSG },
		{ "DataLength + Remaining above MaxFragmentedSize", { 1, 0, 0, 1 << 20, 24, 8, 32 }, {}, -EBADMSG },
		{ "payload inside the header", { 1, 0, 0, 0, 8, 8, 32 }, {}, -EBADMSG },
		{ "DataOffset overflowing", { 1, 0, 0, 0, 0xfffffff8u, 16, 64 }, {}, -EBADMSG },
		{ "longer than MaxReceiveSize", { 1, 0, 0, 0, 24, 8200, 8224 }, {}, -EMSGSIZE },
		{ "credits granted overflow", { 1, 65535, 0, 0, 0, 0, 20 }, {}, -EPROTO },
		{ "fragment with a wrong RemainingDataLength", { 1, 0, 0, 100, 24, 8, 32 },
		  { 1, 0, 0, 100, 24, 8, 32 }, -EPROTO },
		{ "fragment longer than announced", { 1, 0, 0, 8, 24, 8, 32 }, { 1, 0, 0, 0, 24, 16, 40 }, -EPROTO },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		Pair p;
		pair_open(&p, NULL, NULL);
		smbd_loopback_run(p.lb, 0);
		uint8_t buf[9000];
		assert_int_equal(smbd_loopback_inject(p.lb, SERVER, buf, raw_build(buf, &cases[i].first)), 0);
		if (cases[i].second.total)
			assert_int_equal(smbd_loopback_inject(p.lb, SERVER, buf, raw_build(buf, &cases[i].second)), 0);
		smbd_loopback_run(p.lb, 0);
		if (smbd_state(p.side[SERVER].c) != SMBD_DISCONNECTED)
			fail_msg("not dropped: %s", cases[i].what);
		assert_int_equal(smbd_error(p.side[SERVER].c), cases[i].error);
		assert_int_equal(p.side[SERVER].count, 0);
		assert_true(smbd_loopback_disconnected(p.lb));
		assert_int_equal(smbd_send(p.side[SERVER].c, (const uint8_t *)"x", 1, 0), -ENOTCONN);
		pair_close(&p);
	}
}

/* A peer that sends without a credit (the receive buffer was there, but
 * not granted) is dropped; a message with no posted buffer breaks the
 * queue pair itself. */
static void test_send_without_credit(void **state) {
	(void)state;
	Pair p;
	SmbdConfig sc;
	smbd_config_default(&sc);
	sc.receive_credit_max = 2;
	pair_open(&p, NULL, &sc);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(stats(&p, SERVER).receive_credits, 1); /* one spent by the client's grant */
	/* an extra buffer the server never granted */
	assert_int_equal(smbd_loopback_ops.post_recv(smbd_loopback_end(p.lb, SERVER), 1, 8192), 0);
	uint8_t buf[64];
	Raw r = { 1, 0, 0, 0, 0, 0, 20 };
	for (int i = 0; i < 2; i++)
		assert_int_equal(smbd_loopback_inject(p.lb, SERVER, buf, raw_build(buf, &r)), 0);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(smbd_state(p.side[SERVER].c), SMBD_DISCONNECTED);
	assert_int_equal(smbd_error(p.side[SERVER].c), -EPROTO);
	pair_close(&p);

	pair_open(&p, NULL, &sc);
	smbd_loopback_run(p.lb, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(smbd_loopback_inject(p.lb, SERVER, buf, raw_build(buf, &r)), 0);
	smbd_loopback_attach(p.lb, CLIENT, NULL); /* the client grants nothing back */
	assert_int_equal(smbd_loopback_run(p.lb, 0), -ENOBUFS);
	assert_true(smbd_loopback_disconnected(p.lb));
	pair_close(&p);
}

/* A fault in the queue pair (a failed send) drops the connection. */
static void test_send_failure(void **state) {
	(void)state;
	Pair p;
	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	smbd_loopback_faults(p.lb, CLIENT)->fail_send_at = 3; /* negotiate, grant, then this */
	assert_int_equal(smbd_send(p.side[CLIENT].c, (const uint8_t *)"hello", 5, 0), -EIO);
	assert_int_equal(smbd_state(p.side[CLIENT].c), SMBD_DISCONNECTED);
	pair_close(&p);

	/* truncation in flight: the header announces more than arrives */
	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	smbd_loopback_faults(p.lb, SERVER)->truncate = 30;
	assert_int_equal(smbd_send(p.side[CLIENT].c, (const uint8_t *)"0123456789abcdefghij", 20, 0), 0);
	smbd_loopback_run(p.lb, 0);
	assert_int_equal(smbd_state(p.side[SERVER].c), SMBD_DISCONNECTED);
	assert_int_equal(p.side[SERVER].count, 0);
	pair_close(&p);
}

/* ---- RDMA read/write through buffer descriptors ---- */

/* Client asks the server to pull (W) or push (R) [off, off+n) of its file
 * through buf, registered in two descriptors. */
static void rdma_op(Pair *p, char op, uint64_t off, uint8_t *buf, uint32_t n) {
	SmbdConn *c = p->side[CLIENT].c;
	SmbdBufferDesc d[2];
	uint32_t half = n / 2;
	unsigned access = op == 'W' ? SMBD_ACCESS_REMOTE_READ : SMBD_ACCESS_REMOTE_WRITE;
	assert_int_equal(smbd_register(c, buf, half, access, &d[0]), 0);
	assert_int_equal(smbd_register(c, buf + half, n - half, access, &d[1]), 0);
	uint8_t msg[13 + 2 * SMBD_BUFFER_DESC_SIZE];
	msg[0] = (uint8_t)op;
	smb2_put64(msg + 1, off);
	smb2_put32(msg + 9, n);
	smbd_buffer_desc_build(msg + 13, d, 2);
	size_t before = p->side[CLIENT].count;
	assert_int_equal(smbd_send(c, msg, sizeof(msg), 0), 0);
	smbd_loopback_run(p->lb, 0);
	assert_int_equal(p->side[SERVER].rdma_result, 0);
	assert_int_equal(p->side[CLIENT].count, before + 1);
	assert_memory_equal(p->side[CLIENT].last, "ok", 2);
	assert_int_equal(smbd_deregister(c, &d[0]), 0);
	assert_int_equal(smbd_deregister(c, &d[1]), 0);
}

static void test_rdma_64mib(void **state) {
	(void)state;
	const size_t total = 64u << 20, io = SMBD_DEFAULT_MAX_READ_WRITE_SIZE;
	Pair p;
	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	uint8_t *src = malloc(total), *back = malloc(total);
	p.side[SERVER].file = calloc(1, total);
	p.side[SERVER].file_len = total;
	assert_true(src && back && p.side[SERVER].file);
	uint32_t x = 0x12345678;
	for (size_t i = 0; i < total; i += 4) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		memcpy(src + i, &x, 4);
	}
	for (size_t off = 0; off < total; off += io)
		rdma_op(&p, 'W', off, src + off, (uint32_t)io);
	assert_memory_equal(p.side[SERVER].file, src, total);
	memset(back, 0, total);
	for (size_t off = 0; off < total; off += io)
		rdma_op(&p, 'R', off, back + off, (uint32_t)io);
	assert_memory_equal(back, src, total);
	/* 128 requests and 128 answers; the bulk never went through sends */
	assert_true(stats(&p, CLIENT).sent < 200);
	free(src);
	free(back);
	free(p.side[SERVER].file);
	pair_close(&p);
}

static void test_rdma_refused(void **state) {
	(void)state;
	Pair p;
	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	SmbdConn *cli = p.side[CLIENT].c, *srv = p.side[SERVER].c;
	static uint8_t buf[4096], dst[8192];
	SmbdBufferDesc d, w;
	assert_int_equal(smbd_register(cli, buf, sizeof(buf), SMBD_ACCESS_REMOTE_READ, &d), 0);
	/* descriptors that do not cover the length: refused, connection kept */
	assert_int_equal(smbd_rdma_pull(srv, &d, 1, dst, 4000), -EINVAL);
	assert_int_equal(smbd_rdma_pull(srv, &d, 0, dst, 0), -EINVAL);
	SmbdBufferDesc big = { d.offset, d.token, (uint32_t)(2u << 20) };
	static uint8_t huge[2u << 20];
	assert_int_equal(smbd_rdma_pull(srv, &big, 1, huge, sizeof(huge)), -EINVAL); /* > MaxReadWriteSize */
	assert_int_equal(smbd_state(srv), SMBD_CONNECTED);
	assert_int_equal(smbd_rdma_pull(srv, &d, 1, dst, sizeof(buf)), 0);
	/* writing into a region registered for remote read only: the queue
	 * pair breaks, the connection is dropped */
	assert_int_equal(smbd_rdma_push(srv, &d, 1, dst, sizeof(buf)), -EIO);
	assert_int_equal(smbd_state(srv), SMBD_DISCONNECTED);
	pair_close(&p);

	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	cli = p.side[CLIENT].c, srv = p.side[SERVER].c;
	assert_int_equal(smbd_register(cli, buf, sizeof(buf), SMBD_ACCESS_REMOTE_WRITE, &w), 0);
	SmbdBufferDesc past = { w.offset + 8, w.token, w.length }; /* runs past the region */
	assert_int_equal(smbd_rdma_push(srv, &past, 1, dst, past.length), -EIO);
	assert_int_equal(smbd_state(srv), SMBD_DISCONNECTED);
	pair_close(&p);

	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	cli = p.side[CLIENT].c, srv = p.side[SERVER].c;
	assert_int_equal(smbd_register(cli, buf, sizeof(buf), SMBD_ACCESS_REMOTE_WRITE, &w), 0);
	SmbdBufferDesc stale = w;
	assert_int_equal(smbd_deregister(cli, &w), 0);
	assert_int_equal(smbd_rdma_push(srv, &stale, 1, dst, stale.length), -EIO); /* invalidated token */
	pair_close(&p);

	pair_open(&p, NULL, NULL);
	smbd_loopback_run(p.lb, 0);
	cli = p.side[CLIENT].c, srv = p.side[SERVER].c;
	assert_int_equal(smbd_register(cli, buf, sizeof(buf), SMBD_ACCESS_REMOTE_WRITE, &w), 0);
	smbd_loopback_faults(p.lb, SERVER)->fail_rdma = true;
	assert_int_equal(smbd_rdma_push(srv, &w, 1, dst, w.length), -EIO);
	assert_int_equal(smbd_state(srv), SMBD_DISCONNECTED);
	pair_close(&p);
}

/* ---- keep-alive ([MS-SMBD] 3.1.6.2) ---- */

static void test_keepalive(void **state) {
	(void)state;
	Pair p;
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.keepalive_usec = 5 * SEC;
	pair_open(&p, &cfg, &cfg);
	smbd_loopback_run(p.lb, 0);
	SmbdConn *srv = p.side[SERVER].c;
	assert_int_equal(smbd_next_timeout(srv), 5 * SEC);
	assert_int_equal(smbd_on_timer(srv, 4 * SEC), 0); /* early: nothing */
	uint64_t sent = stats(&p, SERVER).sent, got = stats(&p, SERVER).received;
	assert_int_equal(smbd_on_timer(srv, 5 * SEC), 0);
	assert_int_equal(stats(&p, SERVER).sent, sent + 1);
	/* the keep-alive asks for a response; the client answers at once */
	uint8_t m[64];
	int n = smbd_loopback_take(p.lb, CLIENT, m, sizeof(m));
	assert_int_equal(n, SMBD_DATA_HDR_SIZE);
	SmbdDataHdr h;
	assert_int_equal(smbd_data_parse(m, (size_t)n, 1 << 20, &h), 0);
	assert_true(h.flags & SMBD_FLAG_RESPONSE_REQUESTED);
	assert_int_equal(h.data_length, 0);
	assert_int_equal(smbd_loopback_inject(p.lb, CLIENT, m, (size_t)n), 0);
	smbd_loopback_run(p.lb, 6 * SEC);
	assert_int_equal(stats(&p, SERVER).received, got + 1);
	assert_int_equal(smbd_next_timeout(srv), 11 * SEC);
	assert_int_equal(smbd_on_timer(srv, 11 * SEC), 0);
	assert_int_equal(smbd_state(srv), SMBD_CONNECTED);
	/* the client goes silent: the second expiry ends the connection */
	smbd_loopback_attach(p.lb, CLIENT, NULL);
	assert_int_equal(smbd_on_timer(srv, 16 * SEC), -ETIMEDOUT);
	assert_int_equal(smbd_state(srv), SMBD_DISCONNECTED);
	assert_int_equal(smbd_next_timeout(srv), UINT64_MAX);
	pair_close(&p);
}

/* ---- credit starvation ---- */

/* A client against a hand-played server that grants few credits: the
 * client never spends its last credit on a message that grants nothing,
 * queues the rest, and sends them once credits come. */
static void test_credit_starvation(void **state) {
	(void)state;
	SmbdLoopback *lb;
	SmbdConn *cli;
	SmbdConfig cfg;
	Side side = {};
	pair_config(&cfg, &side);
	assert_int_equal(smbd_loopback_new(&lb), 0);
	assert_int_equal(smbd_conn_new(&cfg, &smbd_loopback_ops, smbd_loopback_end(lb, CLIENT), false, 0, &cli), 0);
	smbd_loopback_attach(lb, CLIENT, cli);
	uint8_t m[9000];
	assert_int_equal(smbd_loopback_take(lb, SERVER, m, sizeof(m)), SMBD_NEGOTIATE_REQ_SIZE);
	/* the server grants 3 send credits and asks for 1 */
	SmbdNegotiateResp r = { 0x100, 0x100, 0x100, 1, 3, 0, 1 << 20, 1364, 8192, 1 << 20 };
	smbd_negotiate_resp_build(m, &r);
	assert_int_equal(smbd_loopback_inject(lb, CLIENT, m, SMBD_NEGOTIATE_RESP_SIZE), 0);
	smbd_loopback_run(lb, 0);
	assert_int_equal(smbd_state(cli), SMBD_CONNECTED);
	/* the client granted its one credit right away */
	SmbdStats s;
	smbd_stats(cli, &s);
	assert_int_equal(s.send_credits, 2);
	assert_int_equal(s.receive_credits, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(smbd_send(cli, (const uint8_t *)"ping", 4, 0), 0);
	smbd_stats(cli, &s);
	assert_int_equal(s.send_credits, 1); /* the last one is kept */
	assert_int_equal(s.queued, 9);
	assert_int_equal(smbd_loopback_pending(lb, SERVER), 2);
	SmbdDataHdr h;
	int n;
	while ((n = smbd_loopback_take(lb, SERVER, m, sizeof(m))) > 0)
		assert_int_equal(smbd_data_parse(m, (size_t)n, 1 << 20, &h), 0);
	/* nothing more goes out however long we wait */
	assert_int_equal(smbd_loopback_run(lb, 0), 0);
	smbd_stats(cli, &s);
	assert_int_equal(s.queued, 9);

	/* the server consumes the client's only receive credit with a message
	 * granting 4: now the client can grant again, so it spends credits
	 * down to the last, and that last one goes with a grant and asks for
	 * a response */
	Raw g = { 1, 4, 0, 0, 0, 0, 20 };
	assert_int_equal(smbd_loopback_inject(lb, CLIENT, m, raw_build(m, &g)), 0);
	smbd_loopback_run(lb, 0);
	smbd_stats(cli, &s);
	assert_int_equal(s.send_credits, 1);
	assert_int_equal(s.queued, 5);
	assert_int_equal(smbd_loopback_pending(lb, SERVER), 4);
	unsigned with_grant = 0;
	while ((n = smbd_loopback_take(lb, SERVER, m, sizeof(m))) > 0) {
		assert_int_equal(smbd_data_parse(m, (size_t)n, 1 << 20, &h), 0);
		assert_int_equal(h.data_length, 4);
		with_grant += h.credits_granted;
	}
	assert_int_equal(with_grant, 1);
	/* a grant of exactly one: spent only together with a grant */
	g.granted = 1;
	assert_int_equal(smbd_loopback_inject(lb, CLIENT, m, raw_build(m, &g)), 0);
	smbd_loopback_run(lb, 0);
	n = smbd_loopback_take(lb, SERVER, m, sizeof(m));
	assert_true(n > 0);
	assert_int_equal(smbd_data_parse(m, (size_t)n, 1 << 20, &h), 0);
	assert_int_equal(h.credits_granted, 1);
	assert_int_equal(smbd_loopback_take(lb, SERVER, m, sizeof(m)), -ENOENT);
	assert_int_equal(smbd_state(cli), SMBD_CONNECTED);
	smbd_conn_free(cli);
	smbd_loopback_free(lb);
	free(side.last);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_roundtrip),
		cmocka_unit_test(test_channel_check),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_negotiate_sizes),
		cmocka_unit_test(test_negotiate_request_invalid),
		cmocka_unit_test(test_negotiate_response_invalid),
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_malformed_dropped),
		cmocka_unit_test(test_send_without_credit),
		cmocka_unit_test(test_send_failure),
		cmocka_unit_test(test_rdma_64mib),
		cmocka_unit_test(test_rdma_refused),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_credit_starvation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
