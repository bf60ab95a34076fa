/*
 * asn1.c - the strict DER reader and the DER writer of asn1.h.
 *
 * Invariants: read_tlv() is the only function that interprets identifier
 * and length octets; it refuses multi-byte tags, indefinite and non-minimal
 * lengths, lengths past the enclosing value and nesting past
 * ASN1_MAX_DEPTH.  The writer encodes lengths minimally by moving a closed
 * value's contents once it knows their size.
 *
 * Never: read outside the reader's window; allocate while reading.
 */
#include "asn1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One TLV from r: tag, contents window; advances r.  -ENODATA at end. */
static int read_tlv(Asn1Reader *r, uint8_t *ret_tag, Asn1Reader *ret_content) {
	if (r->len == 0)
		return -ENODATA;
	if (r->depth >= ASN1_MAX_DEPTH || r->len < 2)
		return -EBADMSG;
	uint8_t tag = r->p[0];
	if ((tag & 0x1f) == 0x1f)
		return -EBADMSG; /* high tag numbers: never used by SPNEGO */
	size_t len, hdr;
	uint8_t l = r->p[1];
	if (l < 0x80) {
		len = l;
		hdr = 2;
	} else {
		size_t n = l & 0x7f;
		if (n == 0 || n > 4 || r->len < 2 + n || r->p[2] == 0)
			return -EBADMSG; /* indefinite, too long, or leading zero */
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | r->p[2 + i];
		if (len < 0x80)
			return -EBADMSG; /* long form where the short one fits */
		hdr = 2 + n;
	}
	if (len > r->len - hdr)
		return -EBADMSG;
	*ret_tag = tag;
	*ret_content = (Asn1Reader){ .p = r->p + hdr, .len = len, .depth = r->depth + 1 };
	r->p += hdr + len;
	r->len -= hdr + len;
	return 0;
}

int asn1_peek_tag(const Asn1Reader *r) {
	return r->len == 0 ? -ENODATA : r->p[0];
}

int asn1_read_any(Asn1Reader *r, uint8_t *ret_tag, Asn1Reader *ret_content) {
	return read_tlv(r, ret_tag, ret_content);
}

int asn1_read(Asn1Reader *r, uint8_t tag, Asn1Reader *ret_content) {
	uint8_t t;
	int ret = read_tlv(r, &t, ret_content);
	if (ret < 0 || t != tag)
		return -EBADMSG;
	return 0;
}

int asn1_read_optional(Asn1Reader *r, uint8_t tag, Asn1Reader *ret_content) {
	if (asn1_peek_tag(r) != tag)
		return 0;
	int ret = asn1_read(r, tag, ret_content);
	return ret < 0 ? ret : 1;
}

int asn1_get_uint(const Asn1Reader *c, uint32_t *ret) {
	if (c->len == 0 || c->len > 5 || (c->p[0] & 0x80))
		return -EBADMSG;
	if (c->len > 1 && c->p[0] == 0 && !(c->p[1] & 0x80))
		return -EBADMSG; /* non-minimal */
	if (c->len == 5 && c->p[0] != 0)
		return -EBADMSG;
	uint64_t v = 0;
	for (size_t i = 0; i < c->len; i++)
		v = v << 8 | c->p[i];
	*ret = (uint32_t)v;
	return 0;
}

/* ---- writer ---- */

static bool reserve(Asn1Writer *w, size_t extra) {
	if (w->failed)
		return false;
	if (w->len + extra <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 64;
	while (cap < w->len + extra)
		cap *= 2;
	uint8_t *b = realloc(w->buf, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static size_t length_octets(size_t len) {
	size_t n = 1;
	if (len >= 0x80)
		for (size_t v = len; v; v >>= 8)
			n++;
	return n;
}

static void put_length(uint8_t *p, size_t len) {
	size_t n = length_octets(len);
	if (n == 1) {
		p[0] = (uint8_t)len;
		return;
	}
	p[0] = (uint8_t)(0x80 | (n - 1));
	for (size_t i = 1; i < n; i++)
		p[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
}

void asn1_begin(Asn1Writer *w, uint8_t tag) {
	if (w->depth >= ASN1_MAX_DEPTH) {
		w->failed = true;
		return;
	}
	if (!reserve(w, 2))
		return;
	w->buf[w->len++] = tag;
	w->buf[w->len++] = 0; /* placeholder: short-form length */
	w->open_tag[w->depth] = tag;
	w->open[w->depth++] = w->len;
}

void asn1_end(Asn1Writer *w) {
	if (w->failed)
		return;
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	size_t start = w->open[--w->depth], len = w->len - start, n = length_octets(len);
	if (!reserve(w, n - 1))
		return;
	memmove(w->buf + start + n - 1, w->buf + start, len);
	put_length(w->buf + start - 1, len);
	w->len += n - 1;
}

void asn1_put(Asn1Writer *w, uint8_t tag, const void *data, size_t len) {
	size_t n = length_octets(len);
	if (len > UINT32_MAX || !reserve(w, 1 + n + len))
		return;
	w->buf[w->len++] = tag;
	put_length(w->buf + w->len, len);
	w->len += n;
	if (len)
		memcpy(w->buf + w->len, data, len);
	w->len += len;
}

void asn1_put_raw(Asn1Writer *w, const void *data, size_t len) {
	if (!reserve(w, len))
		return;
	if (len)
		memcpy(w->buf + w->len, data, len);
	w->len += len;
}

void asn1_put_enumerated(Asn1Writer *w, uint32_t v) {
	uint8_t b[5];
	size_t n = 0;
	/* minimal two's complement, non-negative */
	int i = 4;
	b[0] = 0;
	for (; i > 0 && ((v >> (8 * (i - 1))) & 0xff) == 0; i--)
		;
	if (i == 0) {
		b[n++] = 0;
	} else {
		if ((v >> (8 * (i - 1))) & 0x80)
			b[n++] = 0;
		for (; i > 0; i--)
			b[n++] = (uint8_t)(v >> (8 * (i - 1)));
	}
	asn1_put(w, ASN1_TAG_ENUMERATED, b, n);
}

void asn1_writer_free(Asn1Writer *w) {
	free(w->buf);
	*w = (Asn1Writer){ 0 };
}

int asn1_writer_finish(Asn1Writer *w, uint8_t **ret, size_t *ret_len) {
	int r = w->failed ? -ENOMEM : w->depth != 0 ? -EINVAL : 0;
	if (r == 0 && !w->buf)
		r = -EINVAL;
	if (r < 0) {
		asn1_writer_free(w);
		return r;
	}
	*ret = w->buf;
	*ret_len = w->len;
	*w = (Asn1Writer){ 0 };
	return 0;
}
