/*
 * audit_json.c - strict recursive-descent JSON reader (RFC 8259) for the
 * audit inputs.  See audit_json.h for the contract.
 *
 * Invariants: every read checks p < end first; depth is bounded; on any
 * error the partial tree is freed by the caller's cleanup of the root.
 */
#include "audit_json.h"

typedef struct Parser {
	const char *p, *end;
	unsigned depth;
} Parser;

static void skip_ws(Parser *ps) {
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *s, unsigned *ret) {
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d > 15)
			return -EINVAL;
		v = v * 16 + d;
	}
	*ret = v;
	return 0;
}

static size_t utf8_put(unsigned cp, char *out) {
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Escape letter -> byte, for the simple escapes. */
static const struct {
	char esc, byte;
} simple_escapes[] = {
	{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', '\b'}, {'f', '\f'}, {'n', '\n'}, {'r', '\r'}, {'t', '\t'},
};

int audit_json_unescape(const char *p, const char *end, char out[static 4], size_t *ret_len) {
	if (end - p < 2)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(simple_escapes); i++)
		if (p[1] == simple_escapes[i].esc) {
			out[0] = simple_escapes[i].byte;
			*ret_len = 1;
			return 2;
		}
	unsigned cp, lo;
	if (p[1] != 'u' || end - p < 6 || hex4(p + 2, &cp) < 0)
		return -EINVAL;
	int used = 6;
	if (cp >= 0xD800 && cp < 0xDC00) {
		const char *q = p + 6;
		if (end - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) < 0 || lo < 0xDC00 ||
		    lo > 0xDFFF)
			return -EINVAL;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		used = 12;
	} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0)
		return -EINVAL;
	*ret_len = utf8_put(cp, out);
	return used;
}

static int parse_string(Parser *ps, char **ret) {
	if (ps->p >= ps->end || *ps->p != '"')
		return -EINVAL;
	ps->p++;
	const char *start = ps->p;
	while (ps->p < ps->end && *ps->p != '"') /* upper bound of the length */
		ps->p += (*ps->p == '\\' && ps->p + 1 < ps->end) ? 2 : 1;
	if (ps->p >= ps->end)
		return -EINVAL;
	_cleanup_free_ char *s = malloc((size_t)(ps->p - start) + 1);
	if (!s)
		return -ENOMEM;
	size_t n = 0;
	for (const char *q = start; q < ps->p;) {
		unsigned char c = (unsigned char)*q;
		if (c < 0x20)
			return -EINVAL;
		if (c != '\\') {
			s[n++] = (char)c;
			q++;
			continue;
		}
		size_t len;
		int used = audit_json_unescape(q, ps->p, s + n, &len);
		if (used < 0)
			return used;
		q += used;
		n += len;
	}
	s[n] = 0;
	ps->p++; /* closing quote */
	*ret = TAKE_PTR(s);
	return 0;
}

/* Skip a run of decimal digits; how many there were. */
static size_t skip_digits(const char **p, const char *end) {
	size_t d = 0;
	while (*p < end && **p >= '0' && **p <= '9')
		(*p)++, d++;
	return d;
}

size_t audit_json_scan_number(const char *p, const char *end, bool *ret_ok) {
	const char *start = p;
	*ret_ok = false;
	if (p < end && *p == '-')
		p++;
	if (skip_digits(&p, end) == 0)
		return (size_t)(p - start);
	if (p < end && *p == '.') {
		p++;
		if (skip_digits(&p, end) == 0)
			return (size_t)(p - start);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (skip_digits(&p, end) == 0)
			return (size_t)(p - start);
	}
	*ret_ok = true;
	return (size_t)(p - start);
}

static int parse_number(Parser *ps, char **ret) {
	const char *start = ps->p;
	bool ok;
	ps->p += audit_json_scan_number(ps->p, ps->end, &ok);
	if (!ok)
		return -EINVAL;
	*ret = strndup(start, (size_t)(ps->p - start));
	return *ret ? 0 : -ENOMEM;
}

static bool take_word(Parser *ps, const char *w) {
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int parse_value(Parser *ps, AuditJson **ret);

/* Elements of an array or members of an object, up to the closing char. */
static int parse_container(Parser *ps, AuditJson *j, char close, bool members) {
	AuditJson **tail = &j->child;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		_cleanup_free_ char *key = NULL;
		skip_ws(ps);
		if (members) {
			int r = parse_string(ps, &key);
			if (r < 0)
				return r;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return -EINVAL;
			ps->p++;
		}
		AuditJson *child = NULL;
		int r = parse_value(ps, &child);
		if (r < 0)
			return r;
		child->key = TAKE_PTR(key);
		*tail = child;
		tail = &child->next;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EINVAL;
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return -EINVAL;
		ps->p++;
	}
}

static int parse_value(Parser *ps, AuditJson **ret) {
	skip_ws(ps);
	if (ps->p >= ps->end || ps->depth >= AUDIT_JSON_MAX_DEPTH)
		return -EINVAL;
	_cleanup_(audit_json_freep) AuditJson *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	int r = 0;
	char c = *ps->p;
	ps->depth++;
	if (c == '{') {
		j->type = AUDIT_JSON_OBJECT;
		r = parse_container(ps, j, '}', true);
	} else if (c == '[') {
		j->type = AUDIT_JSON_ARRAY;
		r = parse_container(ps, j, ']', false);
	} else if (c == '"') {
		j->type = AUDIT_JSON_STRING;
		r = parse_string(ps, &j->text);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		j->type = AUDIT_JSON_NUMBER;
		r = parse_number(ps, &j->text);
	} else if (take_word(ps, "true"))
		j->type = AUDIT_JSON_BOOL, j->boolean = true;
	else if (take_word(ps, "false"))
		j->type = AUDIT_JSON_BOOL;
	else if (take_word(ps, "null"))
		j->type = AUDIT_JSON_NULL;
	else
		r = -EINVAL;
	ps->depth--;
	if (r < 0)
		return r;
	*ret = TAKE_PTR(j);
	return 0;
}

int audit_json_parse(const char *buf, size_t len, AuditJson **ret) {
	Parser ps = {.p = buf, .end = buf + len};
	_cleanup_(audit_json_freep) AuditJson *j = NULL;
	int r = parse_value(&ps, &j);
	if (r < 0)
		return r;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return -EINVAL;
	*ret = TAKE_PTR(j);
	return 0;
}

void audit_json_free(AuditJson *j) {
	while (j) {
		AuditJson *next = j->next;
		audit_json_free(j->child);
		free(j->key);
		free(j->text);
		free(j);
		j = next;
	}
}

const AuditJson *audit_json_get(const AuditJson *obj, const char *key) {
	if (!obj || obj->type != AUDIT_JSON_OBJECT)
		return NULL;
	for (const AuditJson *c = obj->child; c; c = c->next)
		if (streq(c->key, key))
			return c;
	return NULL;
}

const char *audit_json_get_str(const AuditJson *obj, const char *key) {
	const AuditJson *v = audit_json_get(obj, key);
	return v && (v->type == AUDIT_JSON_STRING || v->type == AUDIT_JSON_NUMBER) ? v->text : NULL;
}
