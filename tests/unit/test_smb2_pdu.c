/*
 * test_smb2_pdu.c - endpoint/smb2_pdu.c: header round trip, StructureSize
 * checks, compound chaining, request parsers refusing out-of-bounds
 * offsets, negotiate contexts, SMB1 negotiate detection, UTF-16.
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

/* A request message: header for command + body (StructureSize first). */
static size_t make_msg(uint8_t *buf, uint16_t cmd, const uint8_t *body, size_t body_len) {
	Smb2Header h = { .command = cmd, .message_id = 7, .session_id = 0x1122334455667788ULL, .tree_id = 5 };
	memset(buf, 0, SMB2_HDR_SIZE);
	smb2_header_build(buf, &h);
	memcpy(buf + SMB2_HDR_SIZE, body, body_len);
	return SMB2_HDR_SIZE + body_len;
}

static void test_header_roundtrip(void **state) {
	(void)state;
	uint8_t buf[64];
	Smb2Header h = { .credit_charge = 3, .status = 0xc0000022, .command = SMB2_READ, .credits = 9,
			 .flags = SMB2_FLAGS_SIGNED, .next_command = 0, .message_id = 42, .process_id = 0xfeff,
			 .tree_id = 12, .session_id = 99 }, g;
	memset(h.signature, 0xab, 16);
	smb2_header_build(buf, &h);
	assert_int_equal(smb2_header_parse(buf, sizeof(buf), &g), 0);
	assert_int_equal(g.command, SMB2_READ);
	assert_int_equal(g.status, 0xc0000022);
	assert_int_equal(g.tree_id, 12);
	assert_true(g.session_id == 99 && g.message_id == 42);
	assert_memory_equal(g.signature, h.signature, 16);
	assert_int_equal(smb2_header_parse(buf, 63, &g), -EBADMSG);
	buf[0] = 0xff;
	assert_int_equal(smb2_header_parse(buf, sizeof(buf), &g), -EBADMSG);
}

static void test_structure_size(void **state) {
	(void)state;
	uint8_t body[64] = {};
	smb2_put16(body, 4);
	assert_int_equal(smb2_check_request_size(SMB2_ECHO, body, 4), 0);
	assert_int_equal(smb2_check_request_size(SMB2_ECHO, body, 3), -EBADMSG);
	smb2_put16(body, 5);
	assert_int_equal(smb2_check_request_size(SMB2_ECHO, body, 4), -EBADMSG);
	smb2_put16(body, 49); /* READ: odd size, 48 fixed bytes suffice */
	assert_int_equal(smb2_check_request_size(SMB2_READ, body, 48), 0);
	assert_int_equal(smb2_check_request_size(SMB2_READ, body, 47), -EBADMSG);
	assert_int_equal(smb2_check_request_size(0x99, body, 64), -EBADMSG);
}

static void test_compound(void **state) {
	(void)state;
	uint8_t buf[256] = {};
	size_t n;
	Smb2Header h = { .command = SMB2_ECHO, .next_command = 72 };
	smb2_header_build(buf, &h);
	assert_int_equal(smb2_compound_next(buf, 200, &n), 0);
	assert_int_equal(n, 72);
	h.next_command = 70; /* not 8-aligned */
	smb2_header_build(buf, &h);
	assert_int_equal(smb2_compound_next(buf, 200, &n), -EBADMSG);
	h.next_command = 256; /* beyond the message */
	smb2_header_build(buf, &h);
	assert_int_equal(smb2_compound_next(buf, 200, &n), -EBADMSG);
	h.next_command = 0;
	smb2_header_build(buf, &h);
	assert_int_equal(smb2_compound_next(buf, 200, &n), 0);
	assert_int_equal(n, 200);
}

static void test_parse_create_bounds(void **state) {
	(void)state;
	uint8_t body[56 + 8] = {}, msg[256];
	smb2_put16(body, 57);
	smb2_put32(body + 36, 1);
	smb2_put16(body + 44, SMB2_HDR_SIZE + 56);
	smb2_put16(body + 46, 8); /* "a\b" in UTF-16 is 6, use 8: "ab\c"? just bytes */
	memcpy(body + 56, "a\0b\0c\0d\0", 8);
	size_t n = make_msg(msg, SMB2_CREATE, body, sizeof(body));
	Smb2CreateReq q;
	assert_int_equal(smb2_parse_create(msg, n, &q), 0);
	assert_int_equal(q.name.len, 8);
	assert_int_equal(q.create_disposition, 1);
	/* name running past the end */
	smb2_put16(msg + SMB2_HDR_SIZE + 46, 10);
	assert_int_equal(smb2_parse_create(msg, n, &q), -EBADMSG);
	/* odd name length */
	smb2_put16(msg + SMB2_HDR_SIZE + 46, 7);
	assert_int_equal(smb2_parse_create(msg, n, &q), -EBADMSG);
	/* name offset inside the header */
	smb2_put16(msg + SMB2_HDR_SIZE + 46, 8);
	smb2_put16(msg + SMB2_HDR_SIZE + 44, 10);
	assert_int_equal(smb2_parse_create(msg, n, &q), -EBADMSG);
}

static void test_parse_write_read(void **state) {
	(void)state;
	uint8_t body[48 + 5] = {}, msg[256];
	smb2_put16(body, 49);
	smb2_put16(body + 2, SMB2_HDR_SIZE + 48);
	smb2_put32(body + 4, 5);
	smb2_put64(body + 8, 1000);
	memcpy(body + 48, "hello", 5);
	size_t n = make_msg(msg, SMB2_WRITE, body, sizeof(body));
	Smb2WriteReq w;
	assert_int_equal(smb2_parse_write(msg, n, &w), 0);
	assert_int_equal(w.data.len, 5);
	assert_memory_equal(w.data.data, "hello", 5);
	assert_true(w.offset == 1000);
	smb2_put32(msg + SMB2_HDR_SIZE + 4, 0xffffffffu); /* huge length */
	assert_int_equal(smb2_parse_write(msg, n, &w), -EBADMSG);

	uint8_t rb[49] = {};
	smb2_put16(rb, 49);
	smb2_put32(rb + 4, 65536);
	n = make_msg(msg, SMB2_READ, rb, 48); /* the one buffer byte may be absent */
	Smb2ReadReq r;
	assert_int_equal(smb2_parse_read(msg, n, &r), 0);
	assert_int_equal(r.length, 65536);
}

static void test_parse_negotiate(void **state) {
	(void)state;
	uint8_t body[256] = {}, msg[512];
	smb2_put16(body, 36);
	smb2_put16(body + 2, 2);
	smb2_put16(body + 36, SMB2_DIALECT_300);
	smb2_put16(body + 38, SMB2_DIALECT_311);
	/* contexts at body 40 = message offset 104 (8-aligned) */
	smb2_put32(body + 28, SMB2_HDR_SIZE + 40);
	smb2_put16(body + 32, 2);
	uint8_t *c = body + 40;
	smb2_put16(c, SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
	smb2_put16(c + 2, 6);
	smb2_put16(c + 8, 1);
	smb2_put16(c + 10, 0);
	smb2_put16(c + 12, SMB2_PREAUTH_HASH_SHA512);
	c = body + 56;
	smb2_put16(c, SMB2_ENCRYPTION_CAPABILITIES);
	smb2_put16(c + 2, 6);
	smb2_put16(c + 8, 2);
	smb2_put16(c + 10, 4);
	smb2_put16(c + 12, 2);
	size_t n = make_msg(msg, SMB2_NEGOTIATE, body, 70);
	Smb2NegotiateReq q;
	assert_int_equal(smb2_parse_negotiate(msg, n, &q), 0);
	assert_int_equal(q.n_dialects, 2);
	assert_int_equal(q.n_contexts, 2);
	uint16_t ids[8];
	size_t k;
	assert_int_equal(smb2_parse_preauth_context(q.contexts[0].data, ids, 8, &k), 0);
	assert_int_equal(k, 1);
	assert_int_equal(ids[0], SMB2_PREAUTH_HASH_SHA512);
	assert_int_equal(smb2_parse_id_list_context(q.contexts[1].data, ids, 8, &k), 0);
	assert_int_equal(k, 2);
	assert_int_equal(ids[0], 4);
	/* a context claiming more data than the message holds */
	smb2_put16(msg + SMB2_HDR_SIZE + 56 + 2, 200);
	assert_int_equal(smb2_parse_negotiate(msg, n, &q), -EBADMSG);
	/* zero dialects */
	smb2_put16(msg + SMB2_HDR_SIZE + 2, 0);
	assert_int_equal(smb2_parse_negotiate(msg, n, &q), -EBADMSG);
}

static void test_smb1_negotiate(void **state) {
	(void)state;
	static const char dialects[] = "\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???";
	uint8_t msg[128] = { 0xff, 'S', 'M', 'B', 0x72 };
	smb2_put16(msg + 33, sizeof(dialects));
	memcpy(msg + 35, dialects, sizeof(dialects));
	unsigned offers;
	assert_int_equal(smb1_parse_negotiate(msg, 35 + sizeof(dialects), &offers), 0);
	assert_int_equal(offers, SMB1_OFFERS_SMB202 | SMB1_OFFERS_SMB2_WILDCARD);
	smb2_put16(msg + 33, 200); /* ByteCount beyond the message */
	assert_int_equal(smb1_parse_negotiate(msg, 35 + sizeof(dialects), &offers), -EBADMSG);
}

static void test_utf16(void **state) {
	(void)state;
	Smb2Buf b = {};
	assert_int_equal(smb2_utf8_to_utf16(&b, "a\xc3\xa9\xf0\x9f\x98\x80"), 8);
	char *s = NULL;
	assert_int_equal(smb2_utf16_to_utf8(b.data, b.len, &s), 0);
	assert_string_equal(s, "a\xc3\xa9\xf0\x9f\x98\x80");
	free(s);
	/* unpaired surrogate and embedded NUL are refused */
	static const uint8_t lone[] = { 0x00, 0xd8, 'a', 0 }, nul[] = { 'a', 0, 0, 0 };
	assert_int_equal(smb2_utf16_to_utf8(lone, sizeof(lone), &s), -EILSEQ);
	assert_int_equal(smb2_utf16_to_utf8(nul, sizeof(nul), &s), -EILSEQ);
	smb2_buf_free(&b);
}

static void test_dialect_names(void **state) {
	(void)state;
	uint16_t d;
	assert_int_equal(smb2_dialect_from_string("3.0.2", &d), 0);
	assert_int_equal(d, SMB2_DIALECT_302);
	assert_string_equal(smb2_dialect_to_string(SMB2_DIALECT_202), "2.0.2");
	assert_int_equal(smb2_dialect_from_string("3.2", &d), -EINVAL);
	assert_null(smb2_dialect_to_string(0x02ff));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_structure_size),
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_parse_create_bounds),
		cmocka_unit_test(test_parse_write_read),
		cmocka_unit_test(test_parse_negotiate),
		cmocka_unit_test(test_smb1_negotiate),
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_dialect_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
