/*
 * fuzz_smb2_header.c - libFuzzer harness for the SMB2 header, compound
 * chaining and the SMB1 negotiate detection (endpoint/smb2_pdu.c).
 *
 * Walks the input as a compound chain the way the dispatcher does; a
 * parsed header is rebuilt and must parse back to the same fields.
 */
#include <assert.h>
#include <string.h>

#include "smb2_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	unsigned offers;
	(void)smb1_parse_negotiate(data, size, &offers);
	size_t pos = 0;
	for (int i = 0; i < 64 && pos < size; i++) {
		size_t elen;
		if (smb2_compound_next(data + pos, size - pos, &elen) < 0)
			break;
		assert(elen >= SMB2_HDR_SIZE && elen <= size - pos);
		Smb2Header h, h2;
		if (smb2_header_parse(data + pos, elen, &h) < 0)
			break;
		uint8_t buf[SMB2_HDR_SIZE];
		smb2_header_build(buf, &h);
		assert(smb2_header_parse(buf, sizeof(buf), &h2) == 0);
		assert(h.command == h2.command && h.flags == h2.flags && h.status == h2.status &&
		       h.message_id == h2.message_id && h.session_id == h2.session_id &&
		       h.tree_id == h2.tree_id && h.async_id == h2.async_id &&
		       h.credits == h2.credits && h.next_command == h2.next_command &&
		       memcmp(h.signature, h2.signature, 16) == 0);
		(void)smb2_check_request_size(h.command, data + pos + SMB2_HDR_SIZE, elen - SMB2_HDR_SIZE);
		pos += elen;
	}
	return 0;
}
