/*
 * fuzz_smb2_request.c - libFuzzer harness for every SMB2 request parser
 * (endpoint/smb2_pdu.c): the input is one message; the command field of
 * its header picks the parser, as in the dispatcher.  Also the negotiate
 * context parsers and the UTF-16 names a parser returns.
 *
 * Checks: every blob a successful parser returns lies inside the input.
 */
#include <assert.h>
#include <stdlib.h>

#include "smb2_pdu.h"

static const uint8_t *lo, *hi;

static void check_blob(Smb2Blob b) {
	if (b.len == 0)
		return;
	assert(b.data >= lo && b.data + b.len <= hi);
}

static void name(Smb2Blob b) {
	char *s = NULL;
	check_blob(b);
	if (smb2_utf16_to_utf8(b.data, b.len, &s) == 0) {
		Smb2Buf out = {};
		(void)smb2_utf8_to_utf16(&out, s);
		smb2_buf_free(&out);
		free(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	Smb2Header h;
	lo = data;
	hi = data + size;
	if (smb2_header_parse(data, size, &h) < 0)
		return 0;
	switch (h.command) {
	case SMB2_NEGOTIATE: {
		Smb2NegotiateReq q;
		if (smb2_parse_negotiate(data, size, &q) == 0)
			for (size_t i = 0; i < q.n_contexts; i++) {
				uint16_t ids[16];
				size_t n;
				check_blob(q.contexts[i].data);
				(void)smb2_parse_preauth_context(q.contexts[i].data, ids, 16, &n);
				(void)smb2_parse_id_list_context(q.contexts[i].data, ids, 16, &n);
			}
		break;
	}
	case SMB2_SESSION_SETUP: {
		Smb2SessionSetupReq q;
		if (smb2_parse_session_setup(data, size, &q) == 0)
			check_blob(q.security);
		break;
	}
	case SMB2_TREE_CONNECT: {
		Smb2TreeConnectReq q;
		if (smb2_parse_tree_connect(data, size, &q) == 0)
			name(q.path);
		break;
	}
	case SMB2_CREATE: {
		Smb2CreateReq q;
		if (smb2_parse_create(data, size, &q) == 0) {
			name(q.name);
			for (size_t i = 0; i < q.n_contexts; i++) {
				check_blob(q.contexts[i].name);
				check_blob(q.contexts[i].data);
			}
		}
		break;
	}
	case SMB2_CLOSE: {
		Smb2CloseReq q;
		(void)smb2_parse_close(data, size, &q);
		break;
	}
	case SMB2_FLUSH: {
		Smb2FlushReq q;
		(void)smb2_parse_flush(data, size, &q);
		break;
	}
	case SMB2_READ: {
		Smb2ReadReq q;
		(void)smb2_parse_read(data, size, &q);
		break;
	}
	case SMB2_WRITE: {
		Smb2WriteReq q;
		if (smb2_parse_write(data, size, &q) == 0)
			check_blob(q.data);
		break;
	}
	case SMB2_LOCK: {
		Smb2LockReq q;
		if (smb2_parse_lock(data, size, &q) == 0)
			for (size_t i = 0; i < q.count; i++) {
				Smb2LockElement e;
				smb2_lock_element(&q, i, &e);
			}
		break;
	}
	case SMB2_IOCTL: {
		Smb2IoctlReq q;
		if (smb2_parse_ioctl(data, size, &q) == 0)
			check_blob(q.input);
		break;
	}
	case SMB2_QUERY_DIRECTORY: {
		Smb2QueryDirectoryReq q;
		if (smb2_parse_query_directory(data, size, &q) == 0)
			name(q.pattern);
		break;
	}
	case SMB2_QUERY_INFO: {
		Smb2QueryInfoReq q;
		if (smb2_parse_query_info(data, size, &q) == 0)
			check_blob(q.input);
		break;
	}
	case SMB2_SET_INFO: {
		Smb2SetInfoReq q;
		if (smb2_parse_set_info(data, size, &q) == 0)
			check_blob(q.data);
		break;
	}
	default:
		(void)smb2_parse_empty(h.command, data, size);
		break;
	}
	return 0;
}
