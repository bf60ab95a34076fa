/*
 * event_parse.c - the fast path for audit event JSON: one line (the form
 * audit_emit writes) or one flat fields object (the audit DB's fields
 * column), parsed without allocating: strings are unescaped into a scratch
 * buffer the caller provides (at least len + 1 bytes; unescaped text is
 * never longer than its JSON form).
 *
 * Why not audit_json.c: ingesting 200,000 events/s leaves ~5 us per event
 * for parsing and storing; a DOM with one allocation per node takes half of
 * that.  The grammar accepted is the same strict RFC 8259 (values of
 * unknown members are skipped, nested at most AUDIT_JSON_MAX_DEPTH deep).
 *
 * Invariants: never reads past len; every returned string points into the
 * scratch buffer and is NUL-terminated; on error nothing is returned but
 * the reason.
 */
#include "audit_event_parse.h"
#include "audit_json.h"

typedef struct Lex {
	const char *p, *end;
	char *out; /* next free byte of the scratch buffer */
} Lex;

static void ws(Lex *l) {
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
		l->p++;
}

static bool take(Lex *l, char c) {
	ws(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return true;
	}
	return false;
}

/* A string literal into the scratch buffer. */
static int string(Lex *l, const char **ret) {
	ws(l);
	if (l->p >= l->end || *l->p != '"')
		return -EINVAL;
	l->p++;
	char *start = l->out;
	for (;;) {
		/* Copy a run of plain bytes at once. */
		const char *q = l->p;
		while (q < l->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			q++;
		memcpy(l->out, l->p, (size_t)(q - l->p));
		l->out += q - l->p;
		l->p = q;
		if (l->p >= l->end || (unsigned char)*l->p < 0x20)
			return -EINVAL;
		if (*l->p == '"') {
			l->p++;
			*l->out++ = 0;
			*ret = start;
			return 0;
		}
		/* Backslash. */
		size_t len;
		int used = audit_json_unescape(l->p, l->end, l->out, &len);
		if (used < 0)
			return used;
		l->p += used;
		l->out += len;
	}
}

/* A number's text into the scratch buffer. */
static int number(Lex *l, const char **ret) {
	ws(l);
	const char *s = l->p;
	bool ok;
	l->p += audit_json_scan_number(l->p, l->end, &ok);
	if (!ok)
		return -EINVAL;
	memcpy(l->out, s, (size_t)(l->p - s));
	*ret = l->out;
	l->out += l->p - s;
	*l->out++ = 0;
	return 0;
}

static bool word(Lex *l, const char *w) {
	size_t n = strlen(w);
	if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0)
		return false;
	l->p += n;
	return true;
}

/* Skip any value (members of no interest). */
static int skip(Lex *l, unsigned depth) {
	const char *s;
	ws(l);
	if (l->p >= l->end || depth > AUDIT_JSON_MAX_DEPTH)
		return -EINVAL;
	char c = *l->p;
	if (c == '"')
		return string(l, &s);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(l, &s);
	if (word(l, "true") || word(l, "false") || word(l, "null"))
		return 0;
	if (c != '{' && c != '[')
		return -EINVAL;
	char close = c == '{' ? '}' : ']';
	l->p++;
	if (take(l, close))
		return 0;
	do {
		if (c == '{' && (string(l, &s) < 0 || !take(l, ':')))
			return -EINVAL;
		if (skip(l, depth + 1) < 0)
			return -EINVAL;
	} while (take(l, ','));
	return take(l, close) ? 0 : -EINVAL;
}

/* A flat object of string (or number) members into fields. */
static int flat_object(Lex *l, bool check_names, AuditField *fields, size_t max, size_t *ret_n,
		       const char **why) {
	size_t n = 0;
	if (!take(l, '{'))
		return *why = "\"fields\" is not an object", -EINVAL;
	if (take(l, '}')) {
		*ret_n = 0;
		return 0;
	}
	do {
		const char *name, *value;
		if (string(l, &name) < 0 || !take(l, ':'))
			return *why = "malformed JSON", -EINVAL;
		ws(l);
		if (l->p < l->end && *l->p == '"') {
			if (string(l, &value) < 0)
				return *why = "malformed JSON", -EINVAL;
		} else if (number(l, &value) < 0)
			return *why = "field value is not a string", -EINVAL;
		if (check_names && !audit_field_name_valid(name))
			return *why = "invalid field name", -EINVAL;
		if (n >= max)
			return *why = "too many fields", -EINVAL;
		fields[n++] = (AuditField){name, value};
	} while (take(l, ','));
	if (!take(l, '}'))
		return *why = "malformed JSON", -EINVAL;
	*ret_n = n;
	return 0;
}

int audit_fields_parse(const char *json, size_t len, char *scratch, AuditField *fields,
		       size_t max, size_t *ret_n) {
	Lex l = {.p = json, .end = json + len, .out = scratch};
	const char *why;
	/* Names were checked when the event was stored. */
	int r = flat_object(&l, false, fields, max, ret_n, &why);
	ws(&l);
	return r < 0 || l.p != l.end ? -EINVAL : 0;
}

/* The members of an event line, by name. */
enum { M_TIME, M_HOST, M_SOURCE, M_PEER, M_EVENT_ID, M_EVENT, _M_MAX };
static const char *const event_members[_M_MAX] = {
	[M_TIME] = "time", [M_HOST] = "host", [M_SOURCE] = "source",
	[M_PEER] = "peer", [M_EVENT_ID] = "event_id", [M_EVENT] = "event",
};

int audit_event_parse_line(const char *line, size_t len, char *scratch, AuditRecord *rec,
			   AuditField *fields, size_t max, const char **ret_why) {
	Lex l = {.p = line, .end = line + len, .out = scratch};
	const char *m[_M_MAX] = {0};
	bool id_is_number = false;
	*rec = (AuditRecord){.fields = fields, .fields_json = "{}", .fields_json_len = 2};
	if (!take(&l, '{'))
		return *ret_why = l.p < l.end && *l.p == '[' ? "not a JSON object" : "malformed JSON",
		       -EINVAL;
	if (!take(&l, '}'))
		do {
			const char *name;
			if (string(&l, &name) < 0 || !take(&l, ':'))
				return *ret_why = "malformed JSON", -EINVAL;
			int which = -1;
			for (int i = 0; i < _M_MAX && which < 0; i++)
				if (name[0] == event_members[i][0] && streq(name, event_members[i]))
					which = i;
			ws(&l);
			if (streq(name, "fields")) {
				const char *start = l.p;
				if (flat_object(&l, true, fields, max, &rec->n_fields, ret_why) < 0)
					return -EINVAL;
				rec->fields_json = start;
				rec->fields_json_len = (size_t)(l.p - start);
			} else if (which >= 0 && l.p < l.end && *l.p == '"') {
				if (string(&l, &m[which]) < 0)
					return *ret_why = "malformed JSON", -EINVAL;
			} else if (which == M_EVENT_ID && l.p < l.end && *l.p != '"' &&
				   number(&l, &m[which]) >= 0)
				id_is_number = true;
			else if (skip(&l, 1) < 0)
				return *ret_why = "malformed JSON", -EINVAL;
		} while (take(&l, ','));
	if (!take(&l, '}'))
		return *ret_why = "malformed JSON", -EINVAL;
	ws(&l);
	if (l.p != l.end)
		return *ret_why = "malformed JSON", -EINVAL;

	if (audit_parse_time(m[M_TIME], &rec->time_usec) < 0)
		return *ret_why = "missing or invalid \"time\"", -EINVAL;
	if (!m[M_HOST] || !*m[M_HOST] || strlen(m[M_HOST]) > 255)
		return *ret_why = "missing or invalid \"host\"", -EINVAL;
	long long id;
	if (!id_is_number || parse_int64(m[M_EVENT_ID], &id) < 0 || id <= 0 || id > 1000000)
		return *ret_why = "missing or invalid \"event_id\"", -EINVAL;
	const AuditKind *k = audit_kind_by_id((AuditEventId)id);
	if (m[M_EVENT] && k && !streq(m[M_EVENT], k->name))
		return *ret_why = "\"event\" does not match \"event_id\"", -EINVAL;
	rec->host = m[M_HOST];
	rec->source = m[M_SOURCE];
	rec->peer = m[M_PEER];
	rec->event_id = (int)id;
	return 0;
}
