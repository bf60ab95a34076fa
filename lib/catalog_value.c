/*
 * catalog_value.c - checks one value against its catalog setting: type,
 * range, step, enum membership, list item syntax, item count, uniqueness.
 *
 * Item syntaxes are a table indexed by CatalogItemType, types a table
 * indexed by CatalogType: a new syntax is a table row, never a branch in a
 * caller.  Invariants: checks never modify the value (canonicalisation is
 * the separate catalog_canonicalize_item) and report every problem through
 * diag naming the setting id and what was expected.  Must never accept a
 * value that is not in canonical form: values are compared and hashed as
 * text.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>

#include "catalog_internal.h"

/* ---- item syntaxes ---- */

typedef struct ItemSyntax {
	const char *name;
	/* true when s is valid; s is never NULL */
	bool (*valid)(const CatalogSetting *set, const char *s);
	const char *expected;
} ItemSyntax;

static bool has_control_chars(const char *s) {
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static bool valid_string(const CatalogSetting *set _unused_, const char *s) {
	return *s && strlen(s) <= 4096 && !has_control_chars(s);
}

static bool valid_enum(const CatalogSetting *set, const char *s) {
	return strv_contains(set->enum_values, s);
}

static bool valid_hostname(const char *s) {
	size_t len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	/* digits and dots only is a (bad) IPv4 address, not a name */
	if (strspn(s, "0123456789.") == len)
		return false;
	size_t label = 0;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == 0) {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == 0)
				return true;
			label = 0;
			continue;
		}
		bool ok = isalnum((unsigned char)*p) || *p == '_' || (*p == '-' && label > 0);
		if (!ok)
			return false;
		label++;
	}
}

static bool valid_host(const CatalogSetting *set _unused_, const char *s) {
	unsigned char addr[16];
	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1 ||
	       valid_hostname(s);
}

static bool valid_hex(const char *s, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[n] == 0;
}

static bool valid_cert_id(const CatalogSetting *set _unused_, const char *s) {
	if (startswith(s, "sha256:"))
		return strlen(s) == 7 + 64 && valid_hex(s + 7, 64);
	if (startswith(s, "issuer:")) {
		const char *dn = s + 7;
		return *dn && *dn != ' ' && strchr(dn, '=') && strlen(dn) <= 1024 &&
		       !has_control_chars(dn);
	}
	return false;
}

/* Canonical decimal: "0" or no leading zeros, optional '-', nothing else. */
static bool is_canonical_int(const char *s) {
	const char *d = s[0] == '-' ? s + 1 : s;
	if (!*d || (d[0] == '0' && (d[1] || s != d)))
		return false;
	for (const char *p = d; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return strlen(d) <= 19;
}

static bool valid_port(const char *s) {
	long long v;
	return is_canonical_int(s) && parse_int64(s, &v) == 0 && v >= 1 && v <= 65535;
}

static const char *const port_transports[] = { "tcp", "quic", "rdma", NULL };

/* server:transport:port, split from the right so IPv6 servers work. */
static bool valid_port_mapping(const CatalogSetting *set, const char *s) {
	const char *c2 = strrchr(s, ':');
	if (!c2 || c2 == s)
		return false;
	const char *c1 = c2 - 1;
	while (c1 > s && *c1 != ':')
		c1--;
	if (*c1 != ':' || c1 == s || strlen(s) > 300)
		return false;
	char server[301], transport[301];
	snprintf(server, sizeof server, "%.*s", (int)(c1 - s), s);
	snprintf(transport, sizeof transport, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	return valid_host(set, server) && strv_contains((char **)port_transports, transport) &&
	       valid_port(c2 + 1);
}

static bool valid_path(const CatalogSetting *set _unused_, const char *s) {
	if (s[0] != '/' || strlen(s) >= 4096 || has_control_chars(s))
		return false;
	/* no ".." component: a policy must not walk out of a directory */
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == 0))
			return false;
	return true;
}

static const ItemSyntax item_syntaxes[_CATALOG_ITEM_TYPE_MAX] = {
	[CATALOG_ITEM_STRING] = { "string", valid_string, "non-empty text without control characters" },
	[CATALOG_ITEM_ENUM] = { "enum", valid_enum, "one of the listed values" },
	[CATALOG_ITEM_HOST] = { "host", valid_host, "an IP address, NetBIOS name or FQDN" },
	[CATALOG_ITEM_CERT_ID] = { "cert-id", valid_cert_id,
				   "sha256:<64 hex digits> or issuer:<RFC 4514 DN>" },
	[CATALOG_ITEM_PORT_MAPPING] = { "port-mapping", valid_port_mapping,
					"server:tcp|quic|rdma:port (port 1..65535)" },
	[CATALOG_ITEM_PATH] = { "path", valid_path, "an absolute path without '..'" },
};

const char *catalog_item_type_to_string(CatalogItemType t) {
	return t < _CATALOG_ITEM_TYPE_MAX ? item_syntaxes[t].name : NULL;
}

void catalog_canonicalize_item(const CatalogSetting *s, char *item) {
	bool lower = s->item_type == CATALOG_ITEM_HOST ||
		     (s->item_type == CATALOG_ITEM_CERT_ID && startswith(item, "sha256:"));
	if (s->item_type == CATALOG_ITEM_PORT_MAPPING) {
		/* server part and transport are case-insensitive */
		for (char *p = item; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return;
	}
	if (lower && (s->type == CATALOG_LIST || s->type == CATALOG_STRING))
		for (char *p = item; *p; p++)
			*p = (char)tolower((unsigned char)*p);
}

/* ---- types ---- */

typedef struct CheckCtx {
	const CatalogSetting *s;
	const char *file;
	unsigned line;
	DiagList *diag;
} CheckCtx;

static int check_fail(const CheckCtx *k, const char *fmt, const char *got, const char *expected) {
	diag_add(k->diag, k->file, k->line, k->s->id, fmt, got, expected);
	return -EINVAL;
}

static char *enum_expectation(const CatalogSetting *s) {
	return strv_join(s->enum_values, ", ");
}

static int check_bool(const CheckCtx *k, const char *v) {
	if (streq(v, "true") || streq(v, "false"))
		return 0;
	return check_fail(k, "invalid value \"%s\": expected %s", v, "true or false (lower case)");
}

static int check_int(const CheckCtx *k, const char *v) {
	const CatalogSetting *s = k->s;
	long long n;
	if (!is_canonical_int(v) || parse_int64(v, &n) < 0)
		return check_fail(k, "invalid value \"%s\": expected %s", v,
				  "a decimal integer (no sign, no leading zeros)");
	if (n < s->min || n > s->max) {
		diag_add(k->diag, k->file, k->line, s->id,
			 "value %lld out of range: expected %" PRId64 "..%" PRId64, n, s->min, s->max);
		return -EINVAL;
	}
	if (s->step > 1 && (n - s->min) % s->step != 0) {
		diag_add(k->diag, k->file, k->line, s->id,
			 "value %lld is not a multiple of %" PRId64 " (range %" PRId64 "..%" PRId64 ")",
			 n, s->step, s->min, s->max);
		return -EINVAL;
	}
	return 0;
}

static int check_enum(const CheckCtx *k, const char *v) {
	if (strv_contains(k->s->enum_values, v))
		return 0;
	_cleanup_free_ char *exp = enum_expectation(k->s);
	return check_fail(k, "invalid value \"%s\": expected one of %s", v, exp ? exp : "?");
}

static int check_item(const CheckCtx *k, const char *v) {
	const ItemSyntax *syn = &item_syntaxes[k->s->item_type];
	if (syn->valid(k->s, v))
		return 0;
	if (k->s->item_type == CATALOG_ITEM_ENUM)
		return check_enum(k, v);
	return check_fail(k, "invalid item \"%s\": expected %s", v, syn->expected);
}

static int check_string(const CheckCtx *k, const char *v) {
	if (!*v)
		return 0; /* a string setting may be empty: "not set" */
	return check_item(k, v);
}

typedef struct TypeCheck {
	const char *name;
	bool list;
	int (*check)(const CheckCtx *k, const char *v);
} TypeCheck;

static const TypeCheck type_checks[_CATALOG_TYPE_MAX] = {
	[CATALOG_BOOL] = { "bool", false, check_bool },
	[CATALOG_INT] = { "int", false, check_int },
	[CATALOG_ENUM] = { "enum", false, check_enum },
	[CATALOG_STRING] = { "string", false, check_string },
	[CATALOG_LIST] = { "list", true, check_item },
};

const char *catalog_type_to_string(CatalogType t) {
	return t < _CATALOG_TYPE_MAX ? type_checks[t].name : NULL;
}

static int compare_str_ptrs(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Report each item that appears more than once.  Sorts a copy of the
 * pointers: O(n log n), so a hostile 4 MiB list cannot make this quadratic. */
static int check_unique(const CheckCtx *k, char *const *value, size_t n) {
	if (n < 2)
		return 0;
	_cleanup_free_ char **sorted = malloc(n * sizeof(char *));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, value, n * sizeof(char *));
	qsort(sorted, n, sizeof(char *), compare_str_ptrs);
	int r = 0;
	for (size_t i = 1; i < n; i++)
		if (streq(sorted[i], sorted[i - 1]) && (i < 2 || !streq(sorted[i - 1], sorted[i - 2]))) {
			diag_add(k->diag, k->file, k->line, k->s->id,
				 "item \"%s\" appears more than once: items must be unique", sorted[i]);
			r = -EINVAL;
		}
	return r;
}

static int check_list_shape(const CheckCtx *k, char *const *value, size_t n) {
	const CatalogSetting *s = k->s;
	if (n < s->min_items) {
		diag_add(k->diag, k->file, k->line, s->id, "list has %zu items: expected at least %u",
			 n, s->min_items);
		return -EINVAL;
	}
	if (s->max_items && n > s->max_items) {
		diag_add(k->diag, k->file, k->line, s->id, "list has %zu items: expected at most %u",
			 n, s->max_items);
		return -EINVAL;
	}
	return s->unique_items ? check_unique(k, value, n) : 0;
}

int catalog_check_value(const CatalogSetting *s, char *const *value, const char *file,
			unsigned line, DiagList *diag) {
	const CheckCtx k = { .s = s, .file = file, .line = line, .diag = diag };
	const TypeCheck *t = &type_checks[s->type];
	if (!t->list) {
		if (strv_length(value) != 1) {
			diag_add(diag, file, line, s->id, "expected exactly one %s value, got %zu",
				 t->name, strv_length(value));
			return -EINVAL;
		}
		return t->check(&k, value[0]);
	}
	size_t n = strv_length(value);
	int r = check_list_shape(&k, value, n);
	if (r < 0 && n > s->max_items && s->max_items)
		return r; /* too long: do not spend time on each item */
	STRV_FOREACH(v, value)
		if (t->check(&k, *v) < 0 && r >= 0)
			r = -EINVAL;
	return r;
}

int catalog_enum_index(const CatalogSetting *s, const char *v) {
	for (size_t i = 0; s->enum_values && s->enum_values[i]; i++)
		if (streq(s->enum_values[i], v))
			return (int)i;
	return -ENOENT;
}
