/*
 * asn1.h - a small, strict DER reader and writer for the SPNEGO tokens.
 *
 * Purpose: just what [RFC 4178] needs: single-byte tags (universal,
 * application and context classes, tag number < 31), definite lengths,
 * nested constructed values, OIDs compared as raw encodings.
 *
 * Invariants (reader): a value is accepted only when its length is in
 * minimal DER form (no indefinite length, no leading zero length bytes, at
 * most 4 length bytes) and fits inside its parent; nesting deeper than
 * ASN1_MAX_DEPTH is refused; nothing outside [p, p + len) is ever read.
 * Invariant (writer): after an allocation failure every later call is a
 * no-op and asn1_writer_finish() returns -ENOMEM, so callers check once.
 *
 * Never: allocate while reading; accept BER-only forms.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASN1_MAX_DEPTH 16

/* Tags (identifier octets) used by SPNEGO. */
enum {
	ASN1_TAG_BIT_STRING = 0x03,
	ASN1_TAG_OCTET_STRING = 0x04,
	ASN1_TAG_OID = 0x06,
	ASN1_TAG_ENUMERATED = 0x0a,
	ASN1_TAG_GENERAL_STRING = 0x1b,
	ASN1_TAG_SEQUENCE = 0x30,
	ASN1_TAG_APPLICATION0 = 0x60, /* [APPLICATION 0] constructed */
};
/* [n] constructed context tag. */
#define ASN1_TAG_CONTEXT(n) ((uint8_t)(0xa0 | (n)))

/* A view of DER bytes still to read, at some nesting depth. */
typedef struct Asn1Reader {
	const uint8_t *p;
	size_t len;
	unsigned depth;
} Asn1Reader;

static inline Asn1Reader asn1_reader(const uint8_t *p, size_t len) {
	return (Asn1Reader){ .p = p, .len = len, .depth = 0 };
}
static inline bool asn1_eof(const Asn1Reader *r) { return r->len == 0; }

/* Tag of the next value, or -ENODATA at the end. */
int asn1_peek_tag(const Asn1Reader *r);

/* Read the next value whatever its tag: *ret_tag and a reader over its
 * contents (depth + 1).  Returns 0, -ENODATA (at end), -EBADMSG. */
int asn1_read_any(Asn1Reader *r, uint8_t *ret_tag, Asn1Reader *ret_content);

/* Read the next value, which must have tag.  Returns 0 or -EBADMSG
 * (other tag, end of data, bad length, too deep). */
int asn1_read(Asn1Reader *r, uint8_t tag, Asn1Reader *ret_content);

/* If the next value has tag, read it (returns 1); else leave r (returns
 * 0); -EBADMSG when it is malformed. */
int asn1_read_optional(Asn1Reader *r, uint8_t tag, Asn1Reader *ret_content);

/* ENUMERATED/INTEGER content of 1..4 bytes, non-negative, minimal. */
int asn1_get_uint(const Asn1Reader *content, uint32_t *ret);

/* Growable DER output. */
typedef struct Asn1Writer {
	uint8_t *buf;
	size_t len, cap;
	size_t open[ASN1_MAX_DEPTH]; /* offsets of the contents of open values */
	uint8_t open_tag[ASN1_MAX_DEPTH];
	unsigned depth;
	bool failed;
} Asn1Writer;

/* Start a constructed value; its length is filled in by asn1_end(). */
void asn1_begin(Asn1Writer *w, uint8_t tag);
void asn1_end(Asn1Writer *w);
/* A whole primitive (or pre-encoded constructed) value. */
void asn1_put(Asn1Writer *w, uint8_t tag, const void *data, size_t len);
/* Raw bytes (an already encoded TLV such as an OID constant). */
void asn1_put_raw(Asn1Writer *w, const void *data, size_t len);
void asn1_put_enumerated(Asn1Writer *w, uint32_t v);
/* Hand the bytes out (all values must be closed).  Returns 0, -ENOMEM,
 * -EINVAL (unbalanced begin/end).  The writer is reset either way. */
int asn1_writer_finish(Asn1Writer *w, uint8_t **ret, size_t *ret_len);
void asn1_writer_free(Asn1Writer *w);
