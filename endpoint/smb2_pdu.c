/*
 * smb2_pdu.c - SMB2/3 wire format: header, command table, request parsers,
 * compound chaining, dialect/cipher names, UTF-16 conversion, byte buffer.
 *
 * Invariants: see smb2_pdu.h.  Every offset check is done in 64-bit
 * arithmetic so no sum can wrap; a parser succeeds only when every field it
 * returns lies inside the message.
 * Must never: allocate in a parser, log, or read past len.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smb2_pdu.h"
#include "util.h"

/* [MS-SMB2] 2.2: StructureSize of each request and success response. */
static const Smb2CommandInfo command_table[_SMB2_COMMAND_MAX] = {
	[SMB2_NEGOTIATE] = { "NEGOTIATE", 36, 65 },
	[SMB2_SESSION_SETUP] = { "SESSION_SETUP", 25, 9 },
	[SMB2_LOGOFF] = { "LOGOFF", 4, 4 },
	[SMB2_TREE_CONNECT] = { "TREE_CONNECT", 9, 16 },
	[SMB2_TREE_DISCONNECT] = { "TREE_DISCONNECT", 4, 4 },
	[SMB2_CREATE] = { "CREATE", 57, 89 },
	[SMB2_CLOSE] = { "CLOSE", 24, 60 },
	[SMB2_FLUSH] = { "FLUSH", 24, 4 },
	[SMB2_READ] = { "READ", 49, 17 },
	[SMB2_WRITE] = { "WRITE", 49, 17 },
	[SMB2_LOCK] = { "LOCK", 48, 4 },
	[SMB2_IOCTL] = { "IOCTL", 57, 49 },
	[SMB2_CANCEL] = { "CANCEL", 4, 0 },
	[SMB2_ECHO] = { "ECHO", 4, 4 },
	[SMB2_QUERY_DIRECTORY] = { "QUERY_DIRECTORY", 33, 9 },
	[SMB2_CHANGE_NOTIFY] = { "CHANGE_NOTIFY", 32, 9 },
	[SMB2_QUERY_INFO] = { "QUERY_INFO", 41, 9 },
	[SMB2_SET_INFO] = { "SET_INFO", 33, 2 },
	[SMB2_OPLOCK_BREAK] = { "OPLOCK_BREAK", 24, 24 },
};

const Smb2CommandInfo *smb2_command_info(uint16_t command) {
	if (command >= _SMB2_COMMAND_MAX)
		return NULL;
	return &command_table[command];
}

const char *smb2_command_name(uint16_t command) {
	const Smb2CommandInfo *i = smb2_command_info(command);
	return i ? i->name : "UNKNOWN";
}

int smb2_check_request_size(uint16_t command, const uint8_t *body, size_t len) {
	const Smb2CommandInfo *i = smb2_command_info(command);
	if (!i || len < 2)
		return -EBADMSG;
	/* An odd StructureSize counts one byte of the variable part, which may
	 * be absent on the wire ([MS-SMB2] 2.2). */
	if (smb2_le16(body) != i->request_size || len < (size_t)(i->request_size & ~1u))
		return -EBADMSG;
	return 0;
}

int smb2_header_parse(const uint8_t *buf, size_t len, Smb2Header *ret) {
	if (len < SMB2_HDR_SIZE || memcmp(buf, SMB2_MAGIC, 4) != 0 || smb2_le16(buf + 4) != 64)
		return -EBADMSG;
	Smb2Header h = {
		.credit_charge = smb2_le16(buf + 6),
		.status = smb2_le32(buf + 8),
		.command = smb2_le16(buf + 12),
		.credits = smb2_le16(buf + 14),
		.flags = smb2_le32(buf + 16),
		.next_command = smb2_le32(buf + 20),
		.message_id = smb2_le64(buf + 24),
		.session_id = smb2_le64(buf + 40),
	};
	if (h.flags & SMB2_FLAGS_ASYNC_COMMAND)
		h.async_id = smb2_le64(buf + 32);
	else {
		h.process_id = smb2_le32(buf + 32);
		h.tree_id = smb2_le32(buf + 36);
	}
	memcpy(h.signature, buf + 48, 16);
	*ret = h;
	return 0;
}

void smb2_header_build(uint8_t *buf, const Smb2Header *h) {
	memcpy(buf, SMB2_MAGIC, 4);
	smb2_put16(buf + 4, 64);
	smb2_put16(buf + 6, h->credit_charge);
	smb2_put32(buf + 8, h->status);
	smb2_put16(buf + 12, h->command);
	smb2_put16(buf + 14, h->credits);
	smb2_put32(buf + 16, h->flags);
	smb2_put32(buf + 20, h->next_command);
	smb2_put64(buf + 24, h->message_id);
	if (h->flags & SMB2_FLAGS_ASYNC_COMMAND)
		smb2_put64(buf + 32, h->async_id);
	else {
		smb2_put32(buf + 32, h->process_id);
		smb2_put32(buf + 36, h->tree_id);
	}
	smb2_put64(buf + 40, h->session_id);
	memcpy(buf + 48, h->signature, 16);
}

int smb2_compound_next(const uint8_t *msg, size_t len, size_t *ret_elem_len) {
	if (len < SMB2_HDR_SIZE)
		return -EBADMSG;
	uint32_t next = smb2_le32(msg + 20);
	if (next == 0) {
		*ret_elem_len = len;
		return 0;
	}
	if (next < SMB2_HDR_SIZE || next % 8 != 0 || next > len)
		return -EBADMSG;
	*ret_elem_len = next;
	return 0;
}

/* ---- names ------------------------------------------------------------------ */
static const struct {
	uint16_t id;
	const char *name;
} dialect_names[] = {
	{ SMB2_DIALECT_202, "2.0.2" }, { SMB2_DIALECT_210, "2.1" }, { SMB2_DIALECT_300, "3.0" },
	{ SMB2_DIALECT_302, "3.0.2" }, { SMB2_DIALECT_311, "3.1.1" },
};

int smb2_dialect_from_string(const char *s, uint16_t *ret) {
	for (size_t i = 0; i < ELEMENTSOF(dialect_names); i++)
		if (streq(dialect_names[i].name, s)) {
			*ret = dialect_names[i].id;
			return 0;
		}
	return -EINVAL;
}

const char *smb2_dialect_to_string(uint16_t d) {
	for (size_t i = 0; i < ELEMENTSOF(dialect_names); i++)
		if (dialect_names[i].id == d)
			return dialect_names[i].name;
	return NULL;
}

#define FILETIME_UNIX_EPOCH 116444736000000000ULL

uint64_t smb2_filetime(const struct timespec *ts) {
	if (ts->tv_sec < 0)
		return FILETIME_UNIX_EPOCH;
	return FILETIME_UNIX_EPOCH + (uint64_t)ts->tv_sec * 10000000ULL + (uint64_t)ts->tv_nsec / 100;
}

uint64_t smb2_filetime_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return smb2_filetime(&ts);
}

/* ---- buffer ------------------------------------------------------------------- */
int smb2_buf_reserve(Smb2Buf *b, size_t cap) {
	if (b->failed)
		return -ENOMEM;
	if (cap <= b->cap)
		return 0;
	size_t n = b->cap ? b->cap : 256;
	while (n < cap)
		n *= 2;
	uint8_t *d = realloc(b->data, n);
	if (!d) {
		b->failed = true;
		return -ENOMEM;
	}
	b->data = d;
	b->cap = n;
	return 0;
}

uint8_t *smb2_buf_extend(Smb2Buf *b, size_t n) {
	if (b->failed || n > SIZE_MAX / 2 - b->len || smb2_buf_reserve(b, b->len + n) < 0) {
		b->failed = true;
		return NULL;
	}
	uint8_t *p = b->data + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

void smb2_buf_append(Smb2Buf *b, const void *p, size_t n) {
	uint8_t *d = smb2_buf_extend(b, n);
	if (d && n)
		memcpy(d, p, n);
}

void smb2_buf_align(Smb2Buf *b, size_t align) {
	size_t pad = (align - b->len % align) % align;
	if (pad)
		smb2_buf_extend(b, pad);
}

void smb2_buf_free(Smb2Buf *b) {
	free(b->data);
	*b = (Smb2Buf) {};
}

uint8_t *smb2_buf_steal(Smb2Buf *b, size_t *ret_len) {
	uint8_t *d = b->data;
	if (ret_len)
		*ret_len = b->len;
	*b = (Smb2Buf) {};
	return d;
}

/* ---- parsers -------------------------------------------------------------------- */

/* A buffer given by offset (from the header) and length: empty when length
 * is 0, else it must lie within [min_off, len). */
static int get_blob(size_t len, const uint8_t *msg, uint64_t off, uint64_t n, Smb2Blob *ret) {
	if (n == 0) {
		*ret = (Smb2Blob) {};
		return 0;
	}
	if (off < SMB2_HDR_SIZE || off > len || n > len - off)
		return -EBADMSG;
	*ret = (Smb2Blob) { msg + off, (size_t)n };
	return 0;
}

static Smb2FileId get_fid(const uint8_t *p) {
	return (Smb2FileId) { smb2_le64(p), smb2_le64(p + 8) };
}

/* Checks header + StructureSize, returns the body. */
static const uint8_t *body_of(uint16_t command, const uint8_t *msg, size_t len) {
	if (len < SMB2_HDR_SIZE || smb2_check_request_size(command, msg + SMB2_HDR_SIZE, len - SMB2_HDR_SIZE) < 0)
		return NULL;
	return msg + SMB2_HDR_SIZE;
}

int smb2_parse_negotiate(const uint8_t *msg, size_t len, Smb2NegotiateReq *ret) {
	const uint8_t *b = body_of(SMB2_NEGOTIATE, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2NegotiateReq r = {
		.n_dialects = smb2_le16(b + 2),
		.security_mode = smb2_le16(b + 4),
		.capabilities = smb2_le32(b + 8),
	};
	memcpy(r.client_guid, b + 12, 16);
	size_t body_len = len - SMB2_HDR_SIZE;
	if (r.n_dialects == 0 || r.n_dialects > SMB2_MAX_DIALECTS || 36 + 2 * r.n_dialects > body_len)
		return -EBADMSG;
	bool has_311 = false;
	for (size_t i = 0; i < r.n_dialects; i++) {
		r.dialects[i] = smb2_le16(b + 36 + 2 * i);
		has_311 |= r.dialects[i] == SMB2_DIALECT_311;
	}
	if (has_311) {
		uint64_t off = smb2_le32(b + 28);
		size_t count = smb2_le16(b + 32);
		if (count > SMB2_MAX_NEG_CONTEXTS)
			return -EBADMSG;
		for (size_t i = 0; i < count; i++) {
			off = (off + 7) & ~(uint64_t)7;
			if (off < SMB2_HDR_SIZE || off > len || len - off < 8)
				return -EBADMSG;
			uint16_t type = smb2_le16(msg + off);
			uint16_t dlen = smb2_le16(msg + off + 2);
			if (len - off - 8 < dlen)
				return -EBADMSG;
			r.contexts[i] = (Smb2NegotiateContext) { type, { msg + off + 8, dlen } };
			off += 8 + dlen;
		}
		r.n_contexts = count;
	}
	*ret = r;
	return 0;
}

int smb2_parse_preauth_context(Smb2Blob d, uint16_t *algs, size_t max, size_t *ret_n) {
	/* HashAlgorithmCount(2) SaltLength(2) HashAlgorithms[] Salt[] */
	if (d.len < 4)
		return -EBADMSG;
	size_t n = smb2_le16(d.data), salt = smb2_le16(d.data + 2);
	if (n == 0 || 4 + 2 * n + salt > d.len)
		return -EBADMSG;
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++)
		algs[k++] = smb2_le16(d.data + 4 + 2 * i);
	*ret_n = k;
	return 0;
}

int smb2_parse_id_list_context(Smb2Blob d, uint16_t *ids, size_t max, size_t *ret_n) {
	/* Count(2) Ids[] : encryption and signing capabilities have this form */
	if (d.len < 2)
		return -EBADMSG;
	size_t n = smb2_le16(d.data);
	if (n == 0 || 2 + 2 * n > d.len)
		return -EBADMSG;
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++)
		ids[k++] = smb2_le16(d.data + 2 + 2 * i);
	*ret_n = k;
	return 0;
}

int smb2_parse_session_setup(const uint8_t *msg, size_t len, Smb2SessionSetupReq *ret) {
	const uint8_t *b = body_of(SMB2_SESSION_SETUP, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2SessionSetupReq r = {
		.flags = b[2],
		.security_mode = b[3],
		.capabilities = smb2_le32(b + 4),
		.previous_session_id = smb2_le64(b + 16),
	};
	if (get_blob(len, msg, smb2_le16(b + 12), smb2_le16(b + 14), &r.security) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_tree_connect(const uint8_t *msg, size_t len, Smb2TreeConnectReq *ret) {
	const uint8_t *b = body_of(SMB2_TREE_CONNECT, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2TreeConnectReq r = { .flags = smb2_le16(b + 2) };
	if (get_blob(len, msg, smb2_le16(b + 4), smb2_le16(b + 6), &r.path) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

static int parse_create_contexts(const uint8_t *msg, size_t len, uint64_t off, uint64_t n,
				 Smb2CreateReq *r) {
	Smb2Blob all;
	if (get_blob(len, msg, off, n, &all) < 0)
		return -EBADMSG;
	const uint8_t *p = all.data;
	size_t left = all.len;
	while (left > 0) {
		if (r->n_contexts >= SMB2_MAX_CREATE_CONTEXTS || left < 16)
			return -EBADMSG;
		uint32_t next = smb2_le32(p);
		uint16_t noff = smb2_le16(p + 4), nlen = smb2_le16(p + 6);
		uint16_t doff = smb2_le16(p + 10);
		uint32_t dlen = smb2_le32(p + 12);
		size_t elem = next ? next : left;
		if (elem > left || (next && next % 8) || elem < 16)
			return -EBADMSG;
		if ((uint64_t)noff + nlen > elem || (dlen && (uint64_t)doff + dlen > elem) || nlen == 0)
			return -EBADMSG;
		r->contexts[r->n_contexts++] = (Smb2CreateContext) {
			{ p + noff, nlen }, { dlen ? p + doff : NULL, dlen },
		};
		if (!next)
			break;
		p += next;
		left -= next;
	}
	return 0;
}

int smb2_parse_create(const uint8_t *msg, size_t len, Smb2CreateReq *ret) {
	const uint8_t *b = body_of(SMB2_CREATE, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2CreateReq r = {
		.oplock_level = b[3],
		.impersonation = smb2_le32(b + 4),
		.desired_access = smb2_le32(b + 24),
		.file_attributes = smb2_le32(b + 28),
		.share_access = smb2_le32(b + 32),
		.create_disposition = smb2_le32(b + 36),
		.create_options = smb2_le32(b + 40),
	};
	uint16_t nlen = smb2_le16(b + 46);
	if (nlen % 2 || get_blob(len, msg, smb2_le16(b + 44), nlen, &r.name) < 0)
		return -EBADMSG;
	if (parse_create_contexts(msg, len, smb2_le32(b + 48), smb2_le32(b + 52), &r) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_close(const uint8_t *msg, size_t len, Smb2CloseReq *ret) {
	const uint8_t *b = body_of(SMB2_CLOSE, msg, len);
	if (!b)
		return -EBADMSG;
	*ret = (Smb2CloseReq) { .flags = smb2_le16(b + 2), .fid = get_fid(b + 8) };
	return 0;
}

int smb2_parse_flush(const uint8_t *msg, size_t len, Smb2FlushReq *ret) {
	const uint8_t *b = body_of(SMB2_FLUSH, msg, len);
	if (!b)
		return -EBADMSG;
	*ret = (Smb2FlushReq) { .fid = get_fid(b + 8) };
	return 0;
}

int smb2_parse_read(const uint8_t *msg, size_t len, Smb2ReadReq *ret) {
	const uint8_t *b = body_of(SMB2_READ, msg, len);
	if (!b)
		return -EBADMSG;
	*ret = (Smb2ReadReq) {
		.flags = b[3],
		.length = smb2_le32(b + 4),
		.offset = smb2_le64(b + 8),
		.fid = get_fid(b + 16),
		.minimum_count = smb2_le32(b + 32),
		.channel = smb2_le32(b + 36),
	};
	return 0;
}

int smb2_parse_write(const uint8_t *msg, size_t len, Smb2WriteReq *ret) {
	const uint8_t *b = body_of(SMB2_WRITE, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2WriteReq r = {
		.offset = smb2_le64(b + 8),
		.fid = get_fid(b + 16),
		.channel = smb2_le32(b + 32),
		.flags = smb2_le32(b + 44),
	};
	if (get_blob(len, msg, smb2_le16(b + 2), smb2_le32(b + 4), &r.data) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_query_directory(const uint8_t *msg, size_t len, Smb2QueryDirectoryReq *ret) {
	const uint8_t *b = body_of(SMB2_QUERY_DIRECTORY, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2QueryDirectoryReq r = {
		.info_class = b[2],
		.flags = b[3],
		.file_index = smb2_le32(b + 4),
		.fid = get_fid(b + 8),
		.output_buffer_length = smb2_le32(b + 28),
	};
	uint16_t nlen = smb2_le16(b + 26);
	if (nlen % 2 || get_blob(len, msg, smb2_le16(b + 24), nlen, &r.pattern) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_query_info(const uint8_t *msg, size_t len, Smb2QueryInfoReq *ret) {
	const uint8_t *b = body_of(SMB2_QUERY_INFO, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2QueryInfoReq r = {
		.info_type = b[2],
		.info_class = b[3],
		.output_buffer_length = smb2_le32(b + 4),
		.additional_information = smb2_le32(b + 16),
		.flags = smb2_le32(b + 20),
		.fid = get_fid(b + 24),
	};
	if (get_blob(len, msg, smb2_le16(b + 8), smb2_le32(b + 12), &r.input) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_set_info(const uint8_t *msg, size_t len, Smb2SetInfoReq *ret) {
	const uint8_t *b = body_of(SMB2_SET_INFO, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2SetInfoReq r = {
		.info_type = b[2],
		.info_class = b[3],
		.additional_information = smb2_le32(b + 12),
		.fid = get_fid(b + 16),
	};
	if (get_blob(len, msg, smb2_le16(b + 8), smb2_le32(b + 4), &r.data) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_ioctl(const uint8_t *msg, size_t len, Smb2IoctlReq *ret) {
	const uint8_t *b = body_of(SMB2_IOCTL, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2IoctlReq r = {
		.ctl_code = smb2_le32(b + 4),
		.fid = get_fid(b + 8),
		.max_input_response = smb2_le32(b + 32),
		.max_output_response = smb2_le32(b + 44),
		.flags = smb2_le32(b + 48),
	};
	if (get_blob(len, msg, smb2_le32(b + 24), smb2_le32(b + 28), &r.input) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int smb2_parse_lock(const uint8_t *msg, size_t len, Smb2LockReq *ret) {
	const uint8_t *b = body_of(SMB2_LOCK, msg, len);
	if (!b)
		return -EBADMSG;
	Smb2LockReq r = { .count = smb2_le16(b + 2), .fid = get_fid(b + 8), .locks = b + 24 };
	if (r.count == 0 || (uint64_t)24 + 24 * (uint64_t)r.count > len - SMB2_HDR_SIZE)
		return -EBADMSG;
	*ret = r;
	return 0;
}

void smb2_lock_element(const Smb2LockReq *r, size_t i, Smb2LockElement *ret) {
	const uint8_t *p = r->locks + 24 * i;
	*ret = (Smb2LockElement) { smb2_le64(p), smb2_le64(p + 8), smb2_le32(p + 16) };
}

int smb2_parse_empty(uint16_t command, const uint8_t *msg, size_t len) {
	return body_of(command, msg, len) ? 0 : -EBADMSG;
}

int smb1_parse_negotiate(const uint8_t *msg, size_t len, unsigned *ret_offers) {
	/* 32-byte SMB1 header, Command 0x72, WordCount 0, ByteCount, then
	 * 0x02-prefixed NUL-terminated dialect strings ([MS-CIFS] 2.2.4.52). */
	if (len < 35 || memcmp(msg, SMB1_MAGIC, 4) != 0 || msg[4] != 0x72 || msg[32] != 0)
		return -EBADMSG;
	size_t n = smb2_le16(msg + 33);
	if (n > len - 35)
		return -EBADMSG;
	const uint8_t *p = msg + 35, *end = p + n;
	unsigned offers = 0;
	while (p < end) {
		if (*p != 0x02)
			return -EBADMSG;
		const uint8_t *z = memchr(p + 1, 0, (size_t)(end - p - 1));
		if (!z)
			return -EBADMSG;
		const char *s = (const char *)p + 1;
		if (streq(s, "SMB 2.002"))
			offers |= SMB1_OFFERS_SMB202;
		else if (streq(s, "SMB 2.???"))
			offers |= SMB1_OFFERS_SMB2_WILDCARD;
		p = z + 1;
	}
	*ret_offers = offers;
	return 0;
}

/* ---- UTF-16LE ---------------------------------------------------------------------- */
int smb2_utf16_to_utf8(const uint8_t *p, size_t len, char **ret) {
	if (len % 2)
		return -EILSEQ;
	char *out = malloc(len / 2 * 3 + 1);
	if (!out)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t c = smb2_le16(p + i);
		if (c >= 0xd800 && c < 0xdc00) {
			if (i + 4 > len)
				goto bad;
			uint32_t lo = smb2_le16(p + i + 2);
			if (lo < 0xdc00 || lo >= 0xe000)
				goto bad;
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if ((c >= 0xdc00 && c < 0xe000) || c == 0)
			goto bad;
		if (c < 0x80)
			out[o++] = (char)c;
		else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = 0;
	*ret = out;
	return 0;
bad:
	free(out);
	return -EILSEQ;
}

int smb2_utf8_to_utf16(Smb2Buf *b, const char *s) {
	size_t start = b->len;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c;
		int n;
		if (*p < 0x80) { c = *p; n = 0; }
		else if ((*p & 0xe0) == 0xc0) { c = *p & 0x1f; n = 1; }
		else if ((*p & 0xf0) == 0xe0) { c = *p & 0x0f; n = 2; }
		else if ((*p & 0xf8) == 0xf0) { c = *p & 0x07; n = 3; }
		else return -EILSEQ;
		p++;
		for (int k = 0; k < n; k++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -EILSEQ;
			c = c << 6 | (*p & 0x3f);
		}
		uint8_t *d;
		if (c >= 0x10000) {
			c -= 0x10000;
			d = smb2_buf_extend(b, 4);
			if (!d)
				return -ENOMEM;
			smb2_put16(d, (uint16_t)(0xd800 + (c >> 10)));
			smb2_put16(d + 2, (uint16_t)(0xdc00 + (c & 0x3ff)));
		} else {
			d = smb2_buf_extend(b, 2);
			if (!d)
				return -ENOMEM;
			smb2_put16(d, (uint16_t)c);
		}
	}
	return (int)(b->len - start);
}
