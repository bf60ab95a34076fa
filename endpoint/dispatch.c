/*
 * dispatch.c - from a transport frame to responses: SMB1 negotiate
 * detection, TRANSFORM_HEADER decryption, compound chains, the command
 * table (what each command needs before its handler runs), enforcement,
 * response headers, credits, signing and encryption of the reply.
 *
 * Order for each request ([MS-SMB2] 3.3.5.2): header checks -> compound
 * relation -> negotiated? -> StructureSize -> session lookup -> policy
 * enforcement (enforce.c: signing/encryption) -> tree lookup -> handler.
 * A malformed request is refused here, before any handler sees it.
 *
 * Invariants: a response is signed with the key of the session that owns it
 * and only once its bytes are final (padding included); a response is
 * encrypted when its request was, or its session encrypts; a related
 * request after a failed one in the same chain gets that failure.
 * Must never: call a handler for a command whose prerequisites failed; let
 * a handler's partial body leak into an error response.
 */
#include <stdio.h>

#include "server.h"

enum {
	NEED_NEGOTIATED = 1 << 0,
	NEED_SESSION = 1 << 1,
	NEED_TREE = 1 << 2,
};

static const struct {
	int (*fn)(Smb2Request *r);
	unsigned needs;
} handlers[_SMB2_COMMAND_MAX] = {
	[SMB2_NEGOTIATE] = { smb2_negotiate, 0 },
	[SMB2_SESSION_SETUP] = { smb2_session_setup, NEED_NEGOTIATED },
	[SMB2_LOGOFF] = { smb2_logoff, NEED_NEGOTIATED | NEED_SESSION },
	[SMB2_TREE_CONNECT] = { smb2_tree_connect, NEED_NEGOTIATED | NEED_SESSION },
	[SMB2_TREE_DISCONNECT] = { smb2_tree_disconnect, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_CREATE] = { smb2_create, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_CLOSE] = { smb2_close, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_FLUSH] = { smb2_flush, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_READ] = { smb2_read, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_WRITE] = { smb2_write, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_LOCK] = { smb2_lock, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_IOCTL] = { smb2_ioctl, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_CANCEL] = { smb2_cancel, NEED_NEGOTIATED },
	[SMB2_ECHO] = { smb2_echo, NEED_NEGOTIATED },
	[SMB2_QUERY_DIRECTORY] = { smb2_query_directory, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_CHANGE_NOTIFY] = { smb2_change_notify, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_QUERY_INFO] = { smb2_query_info, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_SET_INFO] = { smb2_set_info, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
	[SMB2_OPLOCK_BREAK] = { smb2_oplock_break, NEED_NEGOTIATED | NEED_SESSION | NEED_TREE },
};

#define FRAME_HEADROOM (4 + SMB3_TRANSFORM_HEADER_SIZE)
#define MAX_CHAIN 64
#define CREDITS_MAX 8192

void smb2_error_body(Smb2Request *r, uint32_t status) {
	r->status = status;
	/* StructureSize 9, ErrorContextCount 0, Reserved, ByteCount 0, one byte */
	uint8_t *p = smb2_buf_extend(r->out, 9);
	if (p)
		smb2_put16(p, 9);
}

static bool is_error(uint32_t status) {
	return (status & 0xc0000000u) == 0xc0000000u;
}

/* Runs the prerequisites and the handler; the body goes to r->out. */
static int run_request(Smb2Request *r) {
	Conn *c = r->conn;
	uint16_t cmd = r->hdr.command;
	if (cmd >= _SMB2_COMMAND_MAX) {
		smb2_error_body(r, NT_STATUS_INVALID_PARAMETER);
		return 0;
	}
	unsigned needs = handlers[cmd].needs;
	if ((needs & NEED_NEGOTIATED) && !c->negotiated)
		return -EPROTO; /* [MS-SMB2] 3.3.5.2: disconnect */
	if (smb2_check_request_size(cmd, r->msg + SMB2_HDR_SIZE, r->len - SMB2_HDR_SIZE) < 0) {
		smb2_error_body(r, NT_STATUS_INVALID_PARAMETER);
		return 0;
	}
	if (needs & NEED_SESSION) {
		r->session = session_find(c, r->hdr.session_id);
		if (!r->session || r->session->state != SESSION_VALID) {
			r->session = NULL;
			smb2_error_body(r, NT_STATUS_USER_SESSION_DELETED);
			return 0;
		}
		uint32_t st = enforce_request(r);
		if (st != NT_STATUS_OK) {
			smb2_error_body(r, st);
			return 0;
		}
	}
	if (needs & NEED_TREE) {
		r->tree = tree_find(r->session, r->hdr.tree_id);
		if (!r->tree) {
			smb2_error_body(r, NT_STATUS_NETWORK_NAME_DELETED);
			return 0;
		}
	}
	size_t start = r->out->len;
	r->status = NT_STATUS_OK;
	int k = handlers[cmd].fn(r);
	if (k < 0)
		return k;
	if (r->out->failed)
		return -ENOMEM;
	/* An error status, or a warning (NO_MORE_FILES...) without a body,
	 * is answered with the error body; BUFFER_OVERFLOW keeps its data. */
	bool failed = is_error(r->status) || (r->status != NT_STATUS_OK && r->out->len == start);
	if (failed && r->status != NT_STATUS_MORE_PROCESSING_REQUIRED && !r->no_response &&
	    !r->keep_error_body) {
		/* handlers only set the status on failure; the body is the error's */
		uint32_t st = r->status;
		r->out->len = start;
		smb2_error_body(r, st);
	}
	return 0;
}

static uint16_t grant_credits(Conn *c, const Smb2Header *h) {
	unsigned charge = smb2_credit_charge(h);
	c->credits_granted = c->credits_granted > charge ? c->credits_granted - charge : 0;
	unsigned want = h->credits ? h->credits : 1;
	unsigned room = CREDITS_MAX > c->credits_granted ? CREDITS_MAX - c->credits_granted : 0;
	unsigned grant = want < room ? want : room;
	if (grant == 0)
		grant = 1;
	c->credits_granted += grant;
	return (uint16_t)grant;
}

typedef struct Element {
	size_t start, len; /* in the output buffer, unpadded */
	Session *signer;
} Element;

/* Queue (or hold) the finished output: encrypt with enc when given. */
static int finish_frame(Conn *c, Smb2Buf *out, Session *enc, uint64_t delay_until) {
	size_t msg_len = out->len - FRAME_HEADROOM;
	size_t off, frame_len;
	bool pooled = false;
	if (enc) {
		/* Large frames (READ data) go to the crypto pool, so one
		 * connection's encryption spreads over the cores. */
		pooled = msg_len >= CRYPTO_POOL_MIN_BYTES && !delay_until &&
			 crypto_pool_size(c->worker->server->crypto_pool) > 0;
		if (!pooled) {
			int r = smb3_encrypt(enc->enc, enc->id, out->data + 4, msg_len);
			if (r < 0)
				return r;
		}
		off = 0;
		frame_len = SMB3_TRANSFORM_HEADER_SIZE + msg_len;
	} else {
		off = SMB3_TRANSFORM_HEADER_SIZE;
		frame_len = msg_len;
	}
	if (frame_len > 0xffffff)
		return -E2BIG;
	uint8_t *p = out->data + off;
	p[0] = 0;
	p[1] = (uint8_t)(frame_len >> 16);
	p[2] = (uint8_t)(frame_len >> 8);
	p[3] = (uint8_t)frame_len;
	size_t total;
	uint8_t *data = smb2_buf_steal(out, &total);
	if (pooled)
		return conn_send_encrypted(c, enc, data, off, 4 + frame_len, msg_len);
	if (delay_until)
		return conn_delay_frame(c, data, off, 4 + frame_len, delay_until);
	return conn_send(c, data, off, 4 + frame_len);
}

static int process_chain(Conn *c, const uint8_t *msg, size_t mlen, Session *transform_session) {
	Server *srv = c->worker->server;
	_cleanup_(smb2_buf_free) Smb2Buf out = {};
	if (!smb2_buf_extend(&out, FRAME_HEADROOM))
		return -ENOMEM;
	Element elems[MAX_CHAIN];
	size_t n_elems = 0;
	Smb2FileId related_fid = { SMB2_FILE_ID_RELATED, SMB2_FILE_ID_RELATED };
	uint64_t prev_sid = 0, delay_until = 0;
	uint32_t prev_tid = 0, chain_status = NT_STATUS_OK;
	Session *enc = transform_session, *logoff = NULL;
	bool encrypt_response = transform_session != NULL;

	for (size_t pos = 0; pos < mlen;) {
		size_t elen;
		if (n_elems >= MAX_CHAIN || smb2_compound_next(msg + pos, mlen - pos, &elen) < 0)
			return -EBADMSG;
		Smb2Request r = {
			.conn = c,
			.server = srv,
			.config = c->config,
			.msg = msg + pos,
			.len = elen,
			.encrypted = transform_session != NULL,
			.transform_session = transform_session,
			.related_fid = &related_fid,
			.out = &out,
		};
		if (smb2_header_parse(r.msg, elen, &r.hdr) < 0 || (r.hdr.flags & SMB2_FLAGS_SERVER_TO_REDIR))
			return -EBADMSG;
		bool related = r.hdr.flags & SMB2_FLAGS_RELATED_OPERATIONS;
		if (related && n_elems > 0) {
			r.hdr.session_id = prev_sid;
			r.hdr.tree_id = prev_tid;
		}
		if (!related)
			related_fid = (Smb2FileId) { SMB2_FILE_ID_RELATED, SMB2_FILE_ID_RELATED };

		size_t start = out.len;
		if (!smb2_buf_extend(&out, SMB2_HDR_SIZE))
			return -ENOMEM;
		int k = 0;
		if (related && n_elems == 0)
			smb2_error_body(&r, NT_STATUS_INVALID_PARAMETER);
		else if (related && is_error(chain_status))
			smb2_error_body(&r, chain_status);
		else
			k = run_request(&r);
		if (k < 0)
			return k;
		if (r.no_response) {
			out.len = start;
			pos += elen;
			continue;
		}
		if (r.hdr.command == SMB2_CREATE)
			chain_status = r.status;
		Smb2Header h = {
			.credit_charge = r.hdr.credit_charge,
			.status = r.status,
			.command = r.hdr.command,
			.credits = grant_credits(c, &r.hdr),
			.flags = SMB2_FLAGS_SERVER_TO_REDIR | (r.hdr.flags & (SMB2_FLAGS_RELATED_OPERATIONS |
									 SMB2_FLAGS_PRIORITY_MASK)),
			.message_id = r.hdr.message_id,
			.process_id = r.hdr.process_id,
			.tree_id = r.hdr.tree_id,
			.session_id = r.hdr.session_id,
		};
		smb2_header_build(out.data + start, &h);
		if (r.preauth_response)
			smb2_crypto_preauth_update(r.preauth_response, out.data + start, out.len - start);

		Session *s = r.session;
		if (s && s->state == SESSION_VALID && s->encrypt && r.hdr.command != SMB2_SESSION_SETUP) {
			encrypt_response = true;
			if (!enc)
				enc = s;
		}
		Session *signer = NULL;
		if (s && s->has_keys &&
		    (r.sign_with_session ||
		     (s->state == SESSION_VALID && (s->signing_required || (r.hdr.flags & SMB2_FLAGS_SIGNED)))))
			signer = s;
		elems[n_elems++] = (Element) { start, out.len - start, signer };
		prev_sid = r.hdr.session_id;
		prev_tid = r.hdr.tree_id;
		if (r.delay_until > delay_until)
			delay_until = r.delay_until;
		if (r.disconnect)
			c->closing = true;
		if (r.logoff)
			logoff = r.session;
		pos += elen;
	}
	if (n_elems == 0)
		return 0;

	/* Chain the responses (8-byte aligned), then sign each final element. */
	if (n_elems > 1) {
		/* rebuild with padding: elements were appended back to back */
		_cleanup_(smb2_buf_free) Smb2Buf chained = {};
		if (!smb2_buf_extend(&chained, FRAME_HEADROOM))
			return -ENOMEM;
		for (size_t i = 0; i < n_elems; i++) {
			size_t at = chained.len;
			smb2_buf_append(&chained, out.data + elems[i].start, elems[i].len);
			if (i + 1 < n_elems) {
				smb2_buf_align(&chained, 8);
				if (chained.failed)
					return -ENOMEM;
				smb2_put32(chained.data + at + 20, (uint32_t)(chained.len - at));
			}
			elems[i].start = at;
			elems[i].len = chained.len - at;
		}
		if (chained.failed)
			return -ENOMEM;
		smb2_buf_free(&out);
		out = chained;
		chained = (Smb2Buf) {};
	}
	if (!encrypt_response || !enc || !enc->enc) {
		encrypt_response = false;
		for (size_t i = 0; i < n_elems; i++) {
			if (!elems[i].signer)
				continue;
			uint8_t *p = out.data + elems[i].start;
			smb2_put32(p + 16, smb2_le32(p + 16) | SMB2_FLAGS_SIGNED);
			int k = smb2_crypto_sign(&elems[i].signer->keys, p, elems[i].len);
			if (k < 0)
				return k;
		}
	}
	int k = finish_frame(c, &out, encrypt_response ? enc : NULL, delay_until);
	session_free(logoff);
	return k;
}

int smb2_dispatch_frame(Conn *c, uint8_t *frame, size_t len) {
	if (len >= 4 && memcmp(frame, SMB1_MAGIC, 4) == 0) {
		_cleanup_(smb2_buf_free) Smb2Buf out = {};
		if (c->negotiated || !smb2_buf_extend(&out, FRAME_HEADROOM))
			return -EPROTO;
		int r = smb2_negotiate_smb1(c, frame, len, &out);
		if (r < 0)
			return r;
		return finish_frame(c, &out, NULL, 0);
	}
	if (len >= 4 && memcmp(frame, SMB2_TRANSFORM_MAGIC, 4) == 0) {
		uint64_t sid;
		size_t mlen;
		if (smb3_transform_parse(frame, len, &sid) < 0)
			return -EBADMSG;
		Session *s = session_find(c, sid);
		if (!s || !s->dec || smb3_decrypt(s->dec, frame, len, &mlen) < 0)
			return -EBADMSG; /* [MS-SMB2] 3.3.5.2.1.1: disconnect */
		return process_chain(c, frame + SMB3_TRANSFORM_HEADER_SIZE, mlen, s);
	}
	if (len >= 4 && memcmp(frame, SMB2_MAGIC, 4) == 0)
		return process_chain(c, frame, len, NULL);
	return -EBADMSG;
}
