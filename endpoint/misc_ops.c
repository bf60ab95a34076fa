/*
 * misc_ops.c - the small commands: ECHO, CANCEL, CHANGE_NOTIFY and
 * OPLOCK_BREAK ([MS-SMB2] 3.3.5.15 - 3.3.5.17, 3.3.5.22).
 *
 * smbrefd runs every request to completion at once (no async operations),
 * so CANCEL has nothing to cancel and gets no response; change
 * notification and oplock/lease breaks are not offered (no oplock is ever
 * granted, so a break acknowledgment is a protocol error).
 *
 * Invariants: none of these touches files.
 * Must never: answer a CANCEL ([MS-SMB2] 3.3.5.16: no response is sent).
 */
#include "server.h"

int smb2_echo(Smb2Request *r) {
	if (smb2_parse_empty(SMB2_ECHO, r->msg, r->len) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	uint8_t *p = smb2_buf_extend(r->out, 4);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 4);
	return 0;
}

int smb2_cancel(Smb2Request *r) {
	r->no_response = true;
	return 0;
}

int smb2_change_notify(Smb2Request *r) {
	r->status = NT_STATUS_NOT_SUPPORTED;
	return 0;
}

int smb2_oplock_break(Smb2Request *r) {
	r->status = NT_STATUS_INVALID_OPLOCK_PROTOCOL;
	return 0;
}
