/*
 * strbuf.c - growable string buffer with JSON, XML and CSV escaping.
 * See strbuf.h for the failure model (sticky 'failed' flag).
 */
#include "strbuf.h"

static bool strbuf_reserve(StrBuf *b, size_t extra) {
	if (b->failed)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->failed = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void strbuf_append_len(StrBuf *b, const char *s, size_t n) {
	if (!strbuf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void strbuf_append(StrBuf *b, const char *s) { strbuf_append_len(b, s, strlen(s)); }

void strbuf_vprintf(StrBuf *b, const char *fmt, va_list ap) {
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || !strbuf_reserve(b, (size_t)n)) {
		b->failed = true;
		return;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Length of a valid UTF-8 sequence starting at s, or 0. */
static size_t utf8_valid_len(const unsigned char *s) {
	if (s[0] < 0x80)
		return 1;
	size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || (n == 2 && s[0] < 0xC2))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* True for bytes that need no escaping and start no multi-byte sequence. */
static inline bool json_plain(unsigned char c) {
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void strbuf_json_string(StrBuf *b, const char *s) {
	strbuf_append_len(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; p && *p;) {
		const unsigned char *run = p;
		while (json_plain(*p))
			p++;
		if (p > run)
			strbuf_append_len(b, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		size_t n = utf8_valid_len(p);
		if (n == 0) {
			strbuf_append(b, "\\ufffd");
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};
			strbuf_append_len(b, esc, 2);
		} else if (*p == '\n')
			strbuf_append(b, "\\n");
		else if (*p == '\t')
			strbuf_append(b, "\\t");
		else if (*p == '\r')
			strbuf_append(b, "\\r");
		else if (*p < 0x20)
			strbuf_printf(b, "\\u%04x", *p);
		else
			strbuf_append_len(b, (const char *)p, n);
		p += n;
	}
	strbuf_append_len(b, "\"", 1);
}

void strbuf_xml_escape(StrBuf *b, const char *s) {
	static const struct {
		char c;
		const char *esc;
	} table[] = {
		{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&apos;"},
	};
	for (const char *p = s; p && *p; p++) {
		const char *esc = NULL;
		for (size_t i = 0; i < ELEMENTSOF(table); i++)
			if (table[i].c == *p)
				esc = table[i].esc;
		if (esc)
			strbuf_append(b, esc);
		else
			strbuf_append_len(b, p, 1);
	}
}

void strbuf_csv_field(StrBuf *b, const char *s) {
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		strbuf_append(b, s);
		return;
	}
	strbuf_append_len(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			strbuf_append_len(b, "\"", 1);
		strbuf_append_len(b, p, 1);
	}
	strbuf_append_len(b, "\"", 1);
}

int strbuf_finish(StrBuf *b, char **ret) {
	if (b->failed || !strbuf_reserve(b, 0)) {
		strbuf_free(b);
		return -ENOMEM;
	}
	*ret = b->data;
	*b = (StrBuf){0};
	return 0;
}

void strbuf_free(StrBuf *b) {
	free(b->data);
	*b = (StrBuf){0};
}
