/*
 * audit_json.h - a small, strict JSON reader for the audit inputs: event
 * lines (audit_emit's JSON lines), the fields column of the audit DB, the
 * agent's per-host actual-state reports and smbstatus --json output.
 *
 * Invariants: the parser never reads past len, never recurses deeper than
 * AUDIT_JSON_MAX_DEPTH, rejects trailing garbage and invalid escapes, and
 * keeps strings NUL-terminated UTF-8 (\u0000 is refused so C strings are
 * exact).  A failed parse returns nothing.
 *
 * Must never: allocate without bound (input size bounds everything), or
 * print: callers decide how to report -EINVAL.
 */
#pragma once

#include "util.h"

#define AUDIT_JSON_MAX_DEPTH 32

typedef enum AuditJsonType {
	AUDIT_JSON_NULL,
	AUDIT_JSON_BOOL,
	AUDIT_JSON_NUMBER,
	AUDIT_JSON_STRING,
	AUDIT_JSON_ARRAY,
	AUDIT_JSON_OBJECT,
} AuditJsonType;

typedef struct AuditJson AuditJson;
struct AuditJson {
	AuditJsonType type;
	char *key;         /* member name when the parent is an object */
	char *text;        /* STRING: unescaped value; NUMBER: its text */
	bool boolean;
	AuditJson *child;  /* first element / member */
	AuditJson *next;   /* next sibling */
};

/* Scan a JSON number (-?digits[.digits][e[+-]digits], RFC 8259's grammar
 * save that leading zeros pass) at p, never past end; returns how many
 * bytes the scan took, *ret_ok whether they are a whole number (false: it
 * stopped at the first byte that breaks the grammar).  The one number
 * grammar of both audit JSON readers (audit_json.c, event_parse.c). */
size_t audit_json_scan_number(const char *p, const char *end, bool *ret_ok);

/* Decode the JSON string escape at p (p points at its backslash; nothing
 * at or past end is read): its UTF-8 bytes into out (at most 4), their
 * count into *ret_len.  Returns how many input bytes the escape took (2,
 * 6, or 12 for a surrogate pair), -EINVAL for an unknown escape, a lone
 * surrogate or \u0000.  Never writes more than it reads. */
int audit_json_unescape(const char *p, const char *end, char out[static 4], size_t *ret_len);

/* Parse exactly one JSON value (surrounding white space allowed). */
int audit_json_parse(const char *buf, size_t len, AuditJson **ret);
void audit_json_free(AuditJson *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditJson *, audit_json_free)

/* Member of an object by name, or NULL. */
const AuditJson *audit_json_get(const AuditJson *obj, const char *key);
/* Text of a string or number member; NULL when absent or another type. */
const char *audit_json_get_str(const AuditJson *obj, const char *key);
