/*
 * fuzz_smbdirect.c - libFuzzer harness for the SMB Direct message parser
 * and connection state machine (endpoint/smbdirect.c) over the loopback
 * queue pair (endpoint/smbdirect_loopback.c).
 *
 * Input: byte 0 picks the role (bit 0: client, else server) and whether
 * delivered messages are echoed back (bit 1); the rest is a list of
 * messages, each a 16-bit little-endian length and that many bytes,
 * delivered in order to the connection as if the peer had sent them.
 * Every parser also runs on the whole input, and what parses must build
 * back to the same bytes.
 */
#include <assert.h>
#include <string.h>

#include "smb2_pdu.h"
#include "smbdirect.h"
#include "smbdirect_loopback.h"

typedef struct Fuzz {
	SmbdConn *c;
	bool echo;
	size_t delivered;
} Fuzz;

static int deliver(void *userdata, const uint8_t *msg, size_t len) {
	Fuzz *f = userdata;
	f->delivered += len;
	if (len >= 13 && msg[0] == 'W') { /* descriptors from the input: pull through RDMA */
		SmbdBufferDesc d[4];
		static uint8_t dst[1 << 16];
		int n = smbd_buffer_desc_parse(msg + 1, len - 1 < 64 ? len - 1 : 64, d, 4);
		if (n > 0)
			(void)smbd_rdma_pull(f->c, d, (size_t)n, dst, d[0].length < sizeof(dst) ? d[0].length : 0);
	}
	return f->echo ? smbd_send(f->c, msg, len, 0) : 0;
}

static void parsers(const uint8_t *data, size_t size) {
	uint8_t out[SMBD_NEGOTIATE_RESP_SIZE];
	SmbdNegotiateReq q;
	if (smbd_negotiate_req_parse(data, size, &q) == 0) {
		smbd_negotiate_req_build(out, &q);
		assert(memcmp(out, data, 4) == 0 && memcmp(out + 6, data + 6, 14) == 0);
	}
	SmbdNegotiateResp r;
	if (smbd_negotiate_resp_parse(data, size, &r) == 0) {
		smbd_negotiate_resp_build(out, &r);
		assert(memcmp(out, data, 6) == 0 && memcmp(out + 8, data + 8, 24) == 0);
	}
	SmbdDataHdr h;
	if (smbd_data_parse(data, size, 1 << 20, &h) == 0) {
		assert((uint64_t)h.data_offset + h.data_length <= size);
		assert(h.data_offset % 8 == 0 && h.credits_requested >= 1);
	}
	SmbdBufferDesc d[8];
	uint8_t back[8 * SMBD_BUFFER_DESC_SIZE];
	int n = smbd_buffer_desc_parse(data, size, d, 8);
	if (n > 0) {
		smbd_buffer_desc_build(back, d, (size_t)n);
		assert(memcmp(back, data, (size_t)n * SMBD_BUFFER_DESC_SIZE) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	parsers(data, size);
	if (size < 1)
		return 0;
	bool client = data[0] & 1;
	unsigned me = client ? 0 : 1;
	Fuzz f = { .echo = data[0] & 2 };
	SmbdConfig cfg;
	smbd_config_default(&cfg);
	cfg.keepalive_usec = 1000;
	cfg.deliver = deliver;
	cfg.userdata = &f;
	SmbdLoopback *lb;
	if (smbd_loopback_new(&lb) < 0)
		return 0;
	if (smbd_conn_new(&cfg, &smbd_loopback_ops, smbd_loopback_end(lb, me), !client, 0, &f.c) < 0) {
		smbd_loopback_free(lb);
		return 0;
	}
	smbd_loopback_attach(lb, me, f.c);
	uint64_t now = 0;
	for (size_t pos = 1; pos + 2 <= size && smbd_state(f.c) != SMBD_DISCONNECTED;) {
		size_t len = smb2_le16(data + pos);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		(void)smbd_loopback_inject(lb, me, data + pos, len);
		(void)smbd_loopback_run(lb, now);
		if (smbd_state(f.c) == SMBD_CONNECTED && len > 0 && data[pos] == 'S')
			(void)smbd_send(f.c, data + pos, len, now);
		now += 600;
		(void)smbd_on_timer(f.c, now);
		pos += len;
		uint8_t sink[9000];
		while (smbd_loopback_take(lb, me ^ 1, sink, sizeof(sink)) > 0) /* what the peer would get */
			;
	}
	smbd_conn_free(f.c);
	smbd_loopback_free(lb);
	return 0;
}
