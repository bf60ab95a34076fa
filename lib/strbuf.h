/*
 * strbuf.h - a growable string buffer and the JSON/XML writers built on it.
 *
 * Purpose: every machine-readable output (--json, reports, audit JSON lines,
 * rsop XML) is written through these helpers so escaping is done in one place.
 * Invariant: a StrBuf is always NUL-terminated; after an allocation failure it
 * is marked failed, later appends are no-ops, and strbuf_finish returns
 * -ENOMEM, so callers check once at the end.
 */
#pragma once

#include <stdarg.h>

#include "util.h"

typedef struct StrBuf {
	char *data;
	size_t len, cap;
	bool failed;
} StrBuf;

void strbuf_append(StrBuf *b, const char *s);
void strbuf_append_len(StrBuf *b, const char *s, size_t n);
void strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
void strbuf_vprintf(StrBuf *b, const char *fmt, va_list ap);
/* JSON string literal with quotes; invalid UTF-8 bytes become U+FFFD. */
void strbuf_json_string(StrBuf *b, const char *s);
/* XML text/attribute escaping (& < > " '). */
void strbuf_xml_escape(StrBuf *b, const char *s);
/* CSV field per RFC 4180 (quoted when needed). */
void strbuf_csv_field(StrBuf *b, const char *s);
/* Hand the string to the caller (or -ENOMEM); the buffer is reset. */
int strbuf_finish(StrBuf *b, char **ret);
void strbuf_free(StrBuf *b);
