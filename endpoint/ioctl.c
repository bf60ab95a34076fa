/*
 * ioctl.c - IOCTL ([MS-SMB2] 3.3.5.15): FSCTL_VALIDATE_NEGOTIATE_INFO (the
 * SMB 3.0/3.0.2 downgrade check), and clean refusals for the FSCTLs
 * clients probe (DFS referrals, pipe transceive, network interfaces).
 *
 * Invariants: a VALIDATE_NEGOTIATE_INFO whose fields differ from what the
 * connection negotiated drops the connection ([MS-SMB2] 3.3.5.15.12), so a
 * downgrade by a man in the middle cannot go on unnoticed.
 * Must never: answer VALIDATE_NEGOTIATE_INFO unsigned when the session
 * signs (the dispatcher signs every response of a signing session).
 */
#include "server.h"

static int validate_negotiate(Smb2Request *r, const Smb2IoctlReq *q, Smb2Buf *data) {
	Conn *c = r->conn;
	const uint8_t *in = q->input.data;
	if (q->input.len < 24 || q->max_output_response < 24) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	size_t n = smb2_le16(in + 22);
	if (24 + 2 * n > q->input.len || n != c->n_client_dialects)
		return -EPROTO;
	bool same = smb2_le32(in) == c->client_capabilities && memcmp(in + 4, c->client_guid, 16) == 0 &&
		    smb2_le16(in + 20) == c->client_security_mode;
	for (size_t i = 0; same && i < n; i++)
		same = smb2_le16(in + 24 + 2 * i) == c->client_dialects[i];
	if (!same)
		return -EPROTO; /* terminate the connection */
	uint8_t *p = smb2_buf_extend(data, 24);
	if (!p)
		return -ENOMEM;
	smb2_put32(p, c->server_capabilities);
	memcpy(p + 4, r->server->server_guid, 16);
	smb2_put16(p + 20, SMB2_NEGOTIATE_SIGNING_ENABLED |
				   (c->config->signing_required ? SMB2_NEGOTIATE_SIGNING_REQUIRED : 0));
	smb2_put16(p + 22, c->dialect);
	return 0;
}

int smb2_ioctl(Smb2Request *r) {
	Smb2IoctlReq q;
	if (smb2_parse_ioctl(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	if (!(q.flags & SMB2_IOCTL_FLAG_IS_FSCTL)) {
		r->status = NT_STATUS_NOT_SUPPORTED;
		return 0;
	}
	_cleanup_(smb2_buf_free) Smb2Buf data = {};
	switch (q.ctl_code) {
	case FSCTL_VALIDATE_NEGOTIATE_INFO: {
		int k = validate_negotiate(r, &q, &data);
		if (k < 0)
			return k;
		if (r->status != NT_STATUS_OK)
			return 0;
		break;
	}
	case FSCTL_DFS_GET_REFERRALS:
	case FSCTL_DFS_GET_REFERRALS_EX:
		r->status = NT_STATUS_NOT_FOUND; /* not a DFS server */
		return 0;
	case FSCTL_PIPE_TRANSCEIVE:
		r->status = NT_STATUS_NOT_SUPPORTED; /* IPC$ serves no pipes */
		return 0;
	default:
		r->status = r->tree->share ? NT_STATUS_INVALID_DEVICE_REQUEST : NT_STATUS_NOT_SUPPORTED;
		return 0;
	}
	uint8_t *p = smb2_buf_extend(r->out, 48);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 49);
	smb2_put32(p + 4, q.ctl_code);
	smb2_put64(p + 8, q.fid.persistent);
	smb2_put64(p + 16, q.fid.volatile_);
	smb2_put32(p + 24, SMB2_HDR_SIZE + 48); /* InputOffset, InputCount 0 */
	smb2_put32(p + 32, SMB2_HDR_SIZE + 48); /* OutputOffset */
	smb2_put32(p + 36, (uint32_t)data.len);
	smb2_buf_append(r->out, data.data, data.len);
	return r->out->failed ? -ENOMEM : 0;
}
