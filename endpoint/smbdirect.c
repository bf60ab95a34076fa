/*
 * smbdirect.c - the SMB Direct protocol layer ([MS-SMBD] 1.0) over an
 * abstract queue pair (smbdirect.h).
 *
 * Credits ([MS-SMBD] 3.1.5.1, 3.1.5.9): every message sent spends one send
 * credit granted by the peer; the last one is only spent by a message that
 * grants credits back (so neither side can end up with none to give); a
 * message spending the last credit asks for a response.  This side grants
 * one credit per receive buffer it posts, up to min(peer's CreditsRequested,
 * ReceiveCreditMax); a message with nothing but a grant is sent only when
 * the peer asked for a response, or when it sent data and now holds half or
 * less of what it asked for.  A message without data is never answered by
 * a grant of its own, so two peers never ping-pong empty messages.
 *
 * Invariants: receive_credits == receive buffers posted and granted, not
 * yet consumed; a reassembly in progress always has total <=
 * MaxFragmentedSize and len < total; once DISCONNECTED nothing is sent,
 * delivered or queued.
 * Must never: trust a length from the wire before the validation tables
 * below have accepted it; call the queue pair after disconnecting it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smb2_pdu.h"
#include "smbdirect.h"
#include "util.h"

typedef struct SendItem {
	struct SendItem *next;
	uint32_t remaining; /* RemainingDataLength of this fragment */
	size_t len;
	uint8_t data[];
} SendItem;

typedef enum KeepaliveState { KEEPALIVE_NONE, KEEPALIVE_SENT } KeepaliveState;

struct SmbdConn {
	SmbdConfig cfg;
	const SmbdQpOps *ops;
	void *qp;
	bool server;
	SmbdState state;
	int error;

	uint32_t max_send_size;       /* whole message, header included */
	uint32_t max_fragmented_send; /* the peer's MaxFragmentedSize */
	uint32_t max_read_write_size;
	uint16_t send_credits;
	uint16_t receive_credits;
	uint16_t receive_credit_target; /* the peer's last CreditsRequested */
	bool send_immediate;            /* the peer asked for a response */
	bool grant_due;                 /* the peer is sending data: keep it in credits */
	bool keepalive_due;             /* send a keep-alive with the next flush */
	KeepaliveState keepalive;
	uint64_t last_recv;

	SendItem *q_head, *q_tail;
	size_t queued;
	uint8_t *reasm; /* reassembly of a fragmented message */
	size_t reasm_len, reasm_total;
	uint64_t sent, received, delivered;
};

/* ---- wire format ---- */

int smbd_negotiate_req_parse(const uint8_t *p, size_t len, SmbdNegotiateReq *ret) {
	if (len < SMBD_NEGOTIATE_REQ_SIZE)
		return -EBADMSG;
	*ret = (SmbdNegotiateReq){
		.min_version = smb2_le16(p),
		.max_version = smb2_le16(p + 2),
		.credits_requested = smb2_le16(p + 6),
		.preferred_send_size = smb2_le32(p + 8),
		.max_receive_size = smb2_le32(p + 12),
		.max_fragmented_size = smb2_le32(p + 16),
	};
	return 0;
}

void smbd_negotiate_req_build(uint8_t out[SMBD_NEGOTIATE_REQ_SIZE], const SmbdNegotiateReq *q) {
	memset(out, 0, SMBD_NEGOTIATE_REQ_SIZE);
	smb2_put16(out, q->min_version);
	smb2_put16(out + 2, q->max_version);
	smb2_put16(out + 6, q->credits_requested);
	smb2_put32(out + 8, q->preferred_send_size);
	smb2_put32(out + 12, q->max_receive_size);
	smb2_put32(out + 16, q->max_fragmented_size);
}

int smbd_negotiate_resp_parse(const uint8_t *p, size_t len, SmbdNegotiateResp *ret) {
	if (len < SMBD_NEGOTIATE_RESP_SIZE)
		return -EBADMSG;
	*ret = (SmbdNegotiateResp){
		.min_version = smb2_le16(p),
		.max_version = smb2_le16(p + 2),
		.negotiated_version = smb2_le16(p + 4),
		.credits_requested = smb2_le16(p + 8),
		.credits_granted = smb2_le16(p + 10),
		.status = smb2_le32(p + 12),
		.max_read_write_size = smb2_le32(p + 16),
		.preferred_send_size = smb2_le32(p + 20),
		.max_receive_size = smb2_le32(p + 24),
		.max_fragmented_size = smb2_le32(p + 28),
	};
	return 0;
}

void smbd_negotiate_resp_build(uint8_t out[SMBD_NEGOTIATE_RESP_SIZE], const SmbdNegotiateResp *r) {
	memset(out, 0, SMBD_NEGOTIATE_RESP_SIZE);
	smb2_put16(out, r->min_version);
	smb2_put16(out + 2, r->max_version);
	smb2_put16(out + 4, r->negotiated_version);
	smb2_put16(out + 8, r->credits_requested);
	smb2_put16(out + 10, r->credits_granted);
	smb2_put32(out + 12, r->status);
	smb2_put32(out + 16, r->max_read_write_size);
	smb2_put32(out + 20, r->preferred_send_size);
	smb2_put32(out + 24, r->max_receive_size);
	smb2_put32(out + 28, r->max_fragmented_size);
}

/* [MS-SMBD] 3.1.5.8: every rule a received data transfer message must
 * pass; any failure terminates the connection. */
typedef struct DataCheck {
	size_t len;
	uint32_t max_fragment;
	const SmbdDataHdr *h;
} DataCheck;

static bool data_credits_requested(const DataCheck *k) { return k->h->credits_requested >= 1; }
static bool data_offset_aligned(const DataCheck *k) { return k->h->data_offset % 8 == 0; }
static bool data_within_message(const DataCheck *k) {
	return (uint64_t)k->h->data_offset + k->h->data_length <= k->len;
}
/* not in 3.1.5.8's list, but a payload inside the header is no payload */
static bool data_after_header(const DataCheck *k) {
	return k->h->data_length == 0 || k->h->data_offset >= SMBD_DATA_HDR_SIZE;
}
static bool data_within_fragment_size(const DataCheck *k) {
	return (uint64_t)k->h->data_length + k->h->remaining_data_length <= k->max_fragment;
}

static const struct {
	bool (*ok)(const DataCheck *k);
} data_checks[] = {
	{ data_credits_requested },
	{ data_offset_aligned },
	{ data_within_message },
	{ data_after_header },
	{ data_within_fragment_size },
};

int smbd_data_parse(const uint8_t *p, size_t len, uint32_t max_fragment, SmbdDataHdr *ret) {
	if (len < SMBD_DATA_HDR_SIZE)
		return -EBADMSG;
	SmbdDataHdr h = {
		.credits_requested = smb2_le16(p),
		.credits_granted = smb2_le16(p + 2),
		.flags = smb2_le16(p + 4),
		.remaining_data_length = smb2_le32(p + 8),
		.data_offset = smb2_le32(p + 12),
		.data_length = smb2_le32(p + 16),
	};
	DataCheck k = { .len = len, .max_fragment = max_fragment, .h = &h };
	for (size_t i = 0; i < ELEMENTSOF(data_checks); i++)
		if (!data_checks[i].ok(&k))
			return -EBADMSG;
	*ret = h;
	return 0;
}

void smbd_data_hdr_build(uint8_t out[SMBD_DATA_OFFSET], const SmbdDataHdr *h) {
	memset(out, 0, SMBD_DATA_OFFSET);
	smb2_put16(out, h->credits_requested);
	smb2_put16(out + 2, h->credits_granted);
	smb2_put16(out + 4, h->flags);
	smb2_put32(out + 8, h->remaining_data_length);
	smb2_put32(out + 12, h->data_offset);
	smb2_put32(out + 16, h->data_length);
}

int smbd_buffer_desc_parse(const uint8_t *p, size_t len, SmbdBufferDesc *ret, size_t max) {
	if (len == 0 || len % SMBD_BUFFER_DESC_SIZE != 0 || len / SMBD_BUFFER_DESC_SIZE > max)
		return -EBADMSG;
	size_t n = len / SMBD_BUFFER_DESC_SIZE;
	for (size_t i = 0; i < n; i++, p += SMBD_BUFFER_DESC_SIZE) {
		ret[i] = (SmbdBufferDesc){ .offset = smb2_le64(p), .token = smb2_le32(p + 8),
					   .length = smb2_le32(p + 12) };
		if (ret[i].length == 0)
			return -EBADMSG;
	}
	return (int)n;
}

void smbd_buffer_desc_build(uint8_t *out, const SmbdBufferDesc *d, size_t n) {
	for (size_t i = 0; i < n; i++, out += SMBD_BUFFER_DESC_SIZE) {
		smb2_put64(out, d[i].offset);
		smb2_put32(out + 8, d[i].token);
		smb2_put32(out + 12, d[i].length);
	}
}

/* [MS-SMB2] 2.2.19: which channel needs which dialect. */
static const struct {
	uint32_t channel;
	uint16_t min_dialect;
} channel_table[] = {
	{ SMB2_CHANNEL_NONE, 0 },
	{ SMB2_CHANNEL_RDMA_V1, 0x0300 },
	{ SMB2_CHANNEL_RDMA_V1_INVALIDATE, 0x0302 },
};

int smbd_channel_check(uint32_t channel, uint16_t dialect) {
	for (size_t i = 0; i < ELEMENTSOF(channel_table); i++)
		if (channel_table[i].channel == channel)
			return dialect >= channel_table[i].min_dialect ? 0 : -EINVAL;
	return -EINVAL;
}

/* ---- connection ---- */

void smbd_config_default(SmbdConfig *c) {
	*c = (SmbdConfig){
		.receive_credit_max = SMBD_DEFAULT_RECEIVE_CREDIT_MAX,
		.send_credit_target = SMBD_DEFAULT_SEND_CREDIT_TARGET,
		.max_send_size = SMBD_DEFAULT_MAX_SEND_SIZE,
		.max_receive_size = SMBD_DEFAULT_MAX_RECEIVE_SIZE,
		.max_fragmented_size = SMBD_DEFAULT_MAX_FRAGMENTED_SIZE,
		.max_read_write_size = SMBD_DEFAULT_MAX_READ_WRITE_SIZE,
		.keepalive_usec = SMBD_DEFAULT_KEEPALIVE_USEC,
	};
}

static void queue_clear(SmbdConn *c) {
	while (c->q_head) {
		SendItem *i = c->q_head;
		c->q_head = i->next;
		free(i);
	}
	c->q_tail = NULL;
	c->queued = 0;
	free(c->reasm);
	c->reasm = NULL;
	c->reasm_len = c->reasm_total = 0;
}

/* Drop the connection: the one place a violation or failure ends up. */
static int conn_drop(SmbdConn *c, int error) {
	if (c->state == SMBD_DISCONNECTED)
		return c->error;
	c->state = SMBD_DISCONNECTED;
	c->error = error;
	queue_clear(c);
	c->ops->disconnect(c->qp);
	return error;
}

int smbd_abort(SmbdConn *c, int error) {
	return conn_drop(c, error);
}

static uint16_t credit_want(const SmbdConn *c) {
	return c->receive_credit_target < c->cfg.receive_credit_max ? c->receive_credit_target
								    : c->cfg.receive_credit_max;
}

/* Post receive buffers for the credits to grant now (0 if none). */
static int grant_credits(SmbdConn *c, uint16_t *ret) {
	uint16_t want = credit_want(c), n = want > c->receive_credits ? want - c->receive_credits : 0;
	if (n > 0) {
		int r = c->ops->post_recv(c->qp, n, c->cfg.max_receive_size);
		if (r < 0)
			return r;
		c->receive_credits += n;
	}
	*ret = n;
	return 0;
}

/* Would an empty message be worth a credit now? */
static bool want_empty_message(const SmbdConn *c) {
	uint16_t want = credit_want(c);
	return c->send_immediate || c->keepalive_due ||
	       (c->grant_due && want > c->receive_credits && c->receive_credits <= want / 2);
}

/* Send what the credits allow ([MS-SMBD] 3.1.5.1). */
static int flush(SmbdConn *c) {
	while (c->state == SMBD_CONNECTED && c->send_credits > 0 && (c->q_head || want_empty_message(c))) {
		uint16_t want = credit_want(c);
		uint16_t could_grant = want > c->receive_credits ? want - c->receive_credits : 0;
		if (c->send_credits == 1 && could_grant == 0)
			break; /* the last credit only goes with a grant */
		uint16_t granted;
		int r = grant_credits(c, &granted);
		if (r < 0)
			return conn_drop(c, r);
		SendItem *it = c->q_head;
		size_t len = it ? it->len : 0;
		SmbdDataHdr h = {
			.credits_requested = c->cfg.send_credit_target,
			.credits_granted = granted,
			.flags = (c->send_credits == 1 || c->keepalive_due) ? SMBD_FLAG_RESPONSE_REQUESTED : 0,
			.remaining_data_length = it ? it->remaining : 0,
			.data_offset = len ? SMBD_DATA_OFFSET : 0,
			.data_length = (uint32_t)len,
		};
		_cleanup_free_ uint8_t *msg = malloc(SMBD_DATA_OFFSET + len);
		if (!msg)
			return conn_drop(c, -ENOMEM);
		smbd_data_hdr_build(msg, &h);
		if (len)
			memcpy(msg + SMBD_DATA_OFFSET, it->data, len);
		r = c->ops->post_send(c->qp, msg, len ? SMBD_DATA_OFFSET + len : SMBD_DATA_HDR_SIZE);
		if (r < 0)
			return conn_drop(c, r);
		c->send_credits--;
		c->sent++;
		c->send_immediate = c->grant_due = false;
		if (c->keepalive_due) {
			c->keepalive_due = false;
			c->keepalive = KEEPALIVE_SENT;
		}
		if (it) {
			c->q_head = it->next;
			if (!c->q_head)
				c->q_tail = NULL;
			c->queued--;
			free(it);
		}
	}
	return c->state == SMBD_DISCONNECTED ? c->error : 0;
}

int smbd_conn_new(const SmbdConfig *cfg, const SmbdQpOps *ops, void *qp, bool server, uint64_t now,
		  SmbdConn **ret) {
	if (cfg->max_send_size <= SMBD_DATA_OFFSET || cfg->max_receive_size < SMBD_MIN_RECEIVE_SIZE ||
	    cfg->max_fragmented_size < SMBD_MIN_FRAGMENTED_SIZE || cfg->receive_credit_max == 0 ||
	    cfg->send_credit_target == 0)
		return -EINVAL;
	_cleanup_free_ SmbdConn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->ops = ops;
	c->qp = qp;
	c->server = server;
	c->last_recv = now;
	c->state = server ? SMBD_NEGOTIATE_WAIT : SMBD_NEGOTIATE_SENT;
	/* one buffer for the negotiate message: not a credit */
	int r = ops->post_recv(qp, 1, cfg->max_receive_size);
	if (r < 0)
		return r;
	if (!server) {
		uint8_t req[SMBD_NEGOTIATE_REQ_SIZE];
		smbd_negotiate_req_build(req, &(SmbdNegotiateReq){
			.min_version = SMBD_VERSION_1,
			.max_version = SMBD_VERSION_1,
			.credits_requested = cfg->send_credit_target,
			.preferred_send_size = cfg->max_send_size,
			.max_receive_size = cfg->max_receive_size,
			.max_fragmented_size = cfg->max_fragmented_size,
		});
		r = ops->post_send(qp, req, sizeof(req));
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

void smbd_conn_free(SmbdConn *c) {
	if (!c)
		return;
	queue_clear(c);
	free(c);
}

SmbdState smbd_state(const SmbdConn *c) { return c->state; }
int smbd_error(const SmbdConn *c) { return c->error; }


/* [MS-SMBD] 3.3.5.2 (server: negotiate request received): a version this
 * side lacks is answered with STATUS_NOT_SUPPORTED, then the connection
 * ends; any other invalid field ends it at once. */
static bool req_version_bad(const SmbdNegotiateReq *q) {
	return q->min_version > SMBD_VERSION_1 || q->max_version < SMBD_VERSION_1;
}
static bool req_no_credits(const SmbdNegotiateReq *q) { return q->credits_requested == 0; }
static bool req_receive_small(const SmbdNegotiateReq *q) { return q->max_receive_size < SMBD_MIN_RECEIVE_SIZE; }
static bool req_fragment_small(const SmbdNegotiateReq *q) {
	return q->max_fragmented_size < SMBD_MIN_FRAGMENTED_SIZE;
}

static const struct {
	bool (*bad)(const SmbdNegotiateReq *q);
	int error; /* -EPROTONOSUPPORT: answered with STATUS_NOT_SUPPORTED */
} negotiate_req_checks[] = {
	{ req_version_bad, -EPROTONOSUPPORT },
	{ req_no_credits, -EPROTO },
	{ req_receive_small, -EPROTO },
	{ req_fragment_small, -EPROTO },
};

/* [MS-SMBD] 3.2.5.2 (client: negotiate response received). */
static bool resp_version_bad(const SmbdConn *c, const SmbdNegotiateResp *p) {
	(void)c;
	return p->negotiated_version != SMBD_VERSION_1 || p->min_version > SMBD_VERSION_1 ||
	       p->max_version < SMBD_VERSION_1;
}
static bool resp_status_bad(const SmbdConn *c, const SmbdNegotiateResp *p) { (void)c; return p->status != 0; }
static bool resp_no_credits(const SmbdConn *c, const SmbdNegotiateResp *p) {
	(void)c;
	return p->credits_requested == 0 || p->credits_granted == 0;
}
static bool resp_send_too_big(const SmbdConn *c, const SmbdNegotiateResp *p) {
	return p->preferred_send_size > c->cfg.max_receive_size;
}
static bool resp_receive_small(const SmbdConn *c, const SmbdNegotiateResp *p) {
	(void)c;
	return p->max_receive_size < SMBD_MIN_RECEIVE_SIZE;
}
static bool resp_fragment_small(const SmbdConn *c, const SmbdNegotiateResp *p) {
	(void)c;
	return p->max_fragmented_size < SMBD_MIN_FRAGMENTED_SIZE;
}

static const struct {
	bool (*bad)(const SmbdConn *c, const SmbdNegotiateResp *p);
	int error;
} negotiate_resp_checks[] = {
	{ resp_version_bad, -EPROTONOSUPPORT },
	{ resp_status_bad, -ECONNREFUSED },
	{ resp_no_credits, -EPROTO },
	{ resp_send_too_big, -EPROTO },
	{ resp_receive_small, -EPROTO },
	{ resp_fragment_small, -EPROTO },
};

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static int on_negotiate_req(SmbdConn *c, const uint8_t *msg, size_t len) {
	SmbdNegotiateReq q;
	if (smbd_negotiate_req_parse(msg, len, &q) < 0)
		return conn_drop(c, -EBADMSG);
	SmbdNegotiateResp p = {
		.min_version = SMBD_VERSION_1,
		.max_version = SMBD_VERSION_1,
		.negotiated_version = SMBD_VERSION_1,
		.credits_requested = c->cfg.send_credit_target,
		.max_read_write_size = c->cfg.max_read_write_size,
		.preferred_send_size = min_u32(c->cfg.max_send_size, q.max_receive_size),
		.max_receive_size = c->cfg.max_receive_size,
		.max_fragmented_size = c->cfg.max_fragmented_size,
	};
	uint8_t out[SMBD_NEGOTIATE_RESP_SIZE];
	for (size_t i = 0; i < ELEMENTSOF(negotiate_req_checks); i++) {
		if (!negotiate_req_checks[i].bad(&q))
			continue;
		if (negotiate_req_checks[i].error == -EPROTONOSUPPORT) {
			p.negotiated_version = 0;
			p.status = SMBD_STATUS_NOT_SUPPORTED;
			smbd_negotiate_resp_build(out, &p);
			(void)c->ops->post_send(c->qp, out, sizeof(out));
		}
		return conn_drop(c, negotiate_req_checks[i].error);
	}
	c->max_send_size = p.preferred_send_size;
	c->max_fragmented_send = q.max_fragmented_size;
	c->max_read_write_size = c->cfg.max_read_write_size;
	c->receive_credit_target = q.credits_requested;
	int r = grant_credits(c, &p.credits_granted);
	if (r < 0)
		return conn_drop(c, r);
	smbd_negotiate_resp_build(out, &p);
	r = c->ops->post_send(c->qp, out, sizeof(out));
	if (r < 0)
		return conn_drop(c, r);
	c->state = SMBD_CONNECTED; /* send credits come with the client's first message */
	return 0;
}

static int on_negotiate_resp(SmbdConn *c, const uint8_t *msg, size_t len) {
	SmbdNegotiateResp p;
	if (smbd_negotiate_resp_parse(msg, len, &p) < 0)
		return conn_drop(c, -EBADMSG);
	for (size_t i = 0; i < ELEMENTSOF(negotiate_resp_checks); i++)
		if (negotiate_resp_checks[i].bad(c, &p))
			return conn_drop(c, negotiate_resp_checks[i].error);
	c->max_send_size = min_u32(c->cfg.max_send_size, p.max_receive_size);
	c->max_fragmented_send = p.max_fragmented_size;
	c->max_read_write_size = p.max_read_write_size;
	c->send_credits = p.credits_granted;
	c->receive_credit_target = p.credits_requested;
	c->grant_due = true;
	c->state = SMBD_CONNECTED;
	return flush(c); /* grants the server its first credits */
}

/* Reassembly ([MS-SMBD] 3.1.5.8, RemainingDataLength): each fragment's
 * DataLength + RemainingDataLength must equal what is still missing. */
static int reassemble(SmbdConn *c, const uint8_t *data, const SmbdDataHdr *h) {
	if (!c->reasm) {
		if (h->remaining_data_length == 0) {
			c->delivered++;
			return c->cfg.deliver(c->cfg.userdata, data, h->data_length);
		}
		c->reasm_total = (size_t)h->data_length + h->remaining_data_length;
		c->reasm = malloc(c->reasm_total);
		if (!c->reasm)
			return -ENOMEM;
		c->reasm_len = 0;
	} else if (c->reasm_total - c->reasm_len != (size_t)h->data_length + h->remaining_data_length)
		return -EPROTO;
	memcpy(c->reasm + c->reasm_len, data, h->data_length);
	c->reasm_len += h->data_length;
	if (h->remaining_data_length > 0)
		return 0;
	_cleanup_free_ uint8_t *whole = TAKE_PTR(c->reasm);
	size_t n = c->reasm_len;
	c->reasm_len = c->reasm_total = 0;
	c->delivered++;
	return c->cfg.deliver(c->cfg.userdata, whole, n);
}

static int on_data(SmbdConn *c, const uint8_t *msg, size_t len) {
	SmbdDataHdr h;
	if (smbd_data_parse(msg, len, c->cfg.max_fragmented_size, &h) < 0)
		return conn_drop(c, -EBADMSG);
	if (c->receive_credits == 0) /* sent without a credit */
		return conn_drop(c, -EPROTO);
	c->receive_credits--;
	if ((uint32_t)c->send_credits + h.credits_granted > UINT16_MAX)
		return conn_drop(c, -EPROTO);
	c->send_credits += h.credits_granted;
	c->receive_credit_target = h.credits_requested;
	if (h.flags & SMBD_FLAG_RESPONSE_REQUESTED)
		c->send_immediate = true;
	if (h.data_length > 0) {
		c->grant_due = true;
		int r = reassemble(c, msg + h.data_offset, &h);
		if (r < 0)
			return conn_drop(c, r);
		if (c->state == SMBD_DISCONNECTED)
			return c->error;
	}
	return flush(c);
}

int smbd_on_recv(SmbdConn *c, const uint8_t *msg, size_t len, uint64_t now) {
	if (c->state == SMBD_DISCONNECTED)
		return -ENOTCONN;
	if (len > c->cfg.max_receive_size)
		return conn_drop(c, -EMSGSIZE);
	c->received++;
	c->last_recv = now;
	c->keepalive = KEEPALIVE_NONE;
	switch (c->state) {
	case SMBD_NEGOTIATE_WAIT: return on_negotiate_req(c, msg, len);
	case SMBD_NEGOTIATE_SENT: return on_negotiate_resp(c, msg, len);
	default: return on_data(c, msg, len);
	}
}

int smbd_send(SmbdConn *c, const uint8_t *msg, size_t len, uint64_t now) {
	(void)now;
	if (c->state == SMBD_DISCONNECTED)
		return -ENOTCONN;
	if (c->state != SMBD_CONNECTED)
		return -EAGAIN;
	if (len == 0 || len > c->max_fragmented_send)
		return -EMSGSIZE;
	size_t chunk = c->max_send_size - SMBD_DATA_OFFSET;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		SendItem *it = malloc(sizeof(*it) + n);
		if (!it)
			return conn_drop(c, -ENOMEM);
		it->next = NULL;
		it->len = n;
		it->remaining = (uint32_t)(len - off - n);
		memcpy(it->data, msg + off, n);
		if (c->q_tail)
			c->q_tail->next = it;
		else
			c->q_head = it;
		c->q_tail = it;
		c->queued++;
	}
	return flush(c);
}

uint64_t smbd_next_timeout(const SmbdConn *c) {
	if (c->state != SMBD_CONNECTED || c->cfg.keepalive_usec == 0)
		return UINT64_MAX;
	return c->last_recv + c->cfg.keepalive_usec;
}

/* [MS-SMBD] 3.1.6.2 idle connection timer: the first expiry sends a
 * keep-alive asking for a response; a second one with nothing received
 * in between ends the connection. */
int smbd_on_timer(SmbdConn *c, uint64_t now) {
	if (c->state == SMBD_DISCONNECTED)
		return -ENOTCONN;
	if (now < smbd_next_timeout(c))
		return 0;
	if (c->keepalive == KEEPALIVE_SENT || c->keepalive_due)
		return conn_drop(c, -ETIMEDOUT);
	c->keepalive_due = true;
	c->last_recv = now;
	return flush(c);
}

void smbd_stats(const SmbdConn *c, SmbdStats *ret) {
	*ret = (SmbdStats){
		.max_send_size = c->max_send_size,
		.max_receive_size = c->cfg.max_receive_size,
		.max_fragmented_send = c->max_fragmented_send,
		.max_read_write_size = c->max_read_write_size,
		.send_credits = c->send_credits,
		.receive_credits = c->receive_credits,
		.receive_credit_target = c->receive_credit_target,
		.queued = c->queued,
		.sent = c->sent,
		.received = c->received,
		.delivered = c->delivered,
	};
}

int smbd_register(SmbdConn *c, void *buf, size_t len, unsigned access, SmbdBufferDesc *ret) {
	if (c->state != SMBD_CONNECTED)
		return -ENOTCONN;
	if (len == 0 || len > UINT32_MAX)
		return -EINVAL;
	return c->ops->register_mr(c->qp, buf, len, access, ret);
}

int smbd_deregister(SmbdConn *c, const SmbdBufferDesc *d) {
	return c->ops->deregister_mr(c->qp, d->token);
}

/* The descriptors must cover exactly len <= MaxReadWriteSize bytes. */
static int descs_check(const SmbdConn *c, const SmbdBufferDesc *d, size_t n, size_t len) {
	if (c->state != SMBD_CONNECTED)
		return -ENOTCONN;
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += d[i].length;
	return n > 0 && sum == len && len <= c->max_read_write_size ? 0 : -EINVAL;
}

int smbd_rdma_pull(SmbdConn *c, const SmbdBufferDesc *d, size_t n, uint8_t *dst, size_t len) {
	int r = descs_check(c, d, n, len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++, dst += d[i - 1].length) {
		r = c->ops->rdma_read(c->qp, dst, d[i].length, d[i].offset, d[i].token);
		if (r < 0)
			return conn_drop(c, r);
	}
	return 0;
}

int smbd_rdma_push(SmbdConn *c, const SmbdBufferDesc *d, size_t n, const uint8_t *src, size_t len) {
	int r = descs_check(c, d, n, len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++, src += d[i - 1].length) {
		r = c->ops->rdma_write(c->qp, src, d[i].length, d[i].offset, d[i].token);
		if (r < 0)
			return conn_drop(c, r);
	}
	return 0;
}
