/*
 * bundle.c - writing, parsing and verifying signed policy bundles (format
 * in bundle.h).  Payload hashes through digest.h; base64 and signatures
 * through OpenSSL, which is why smbpolicyd does not link this file: its
 * bundle source reaches it through agent/bundle_module.c's shared object.
 *
 * Invariants: the parser reads headers from one table, in its order, each
 * exactly once, and never reads past len (input need not be
 * NUL-terminated); the signature is checked over the exact bytes received,
 * before anything in the payload is trusted.  Must never: accept trailing
 * bytes after the signature line, or compare signatures with anything but
 * the key's own verify call.
 */
#include "bundle.h"

#include <openssl/evp.h>
#include <time.h>

#include "digest.h"
#include "store.h"
#include "strbuf.h"

#define SIG_PREFIX "signature: ed25519 "
#define SIG_B64_LEN 88 /* base64 of 64 bytes */
#define BUNDLE_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z: 4-digit years */

static const struct {
	int error;
	const char *reason;
} bundle_errors[] = {
	{ BUNDLE_E_MALFORMED, "not a well-formed bundle" },
	{ BUNDLE_E_UNSIGNED, "bundle is not signed" },
	{ BUNDLE_E_UNKNOWN_KEY, "bundle is signed by a key that is not trusted" },
	{ BUNDLE_E_BAD_SIG, "signature does not match the content (tampered)" },
	{ BUNDLE_E_EXPIRED, "bundle has expired" },
	{ BUNDLE_E_REPLAY, "serial is not above the applied bundle's (replay or downgrade)" },
	{ BUNDLE_E_WRONG_GROUP, "bundle is for another group" },
};

const char *bundle_strerror(int r) {
	for (size_t i = 0; i < ELEMENTSOF(bundle_errors); i++)
		if (bundle_errors[i].error == r)
			return bundle_errors[i].reason;
	return strerror(r < 0 ? -r : r);
}

static const char *const bundle_type_names[_BUNDLE_TYPE_MAX] = {
	[BUNDLE_POLICY] = "policy",
	[BUNDLE_INDEX] = "index",
};

void bundle_free(Bundle *b) {
	if (!b)
		return;
	free(b->group);
	free(b->payload);
	free(b);
}

int bundle_parse_time(const char *s, uint64_t *ret) {
	struct tm tm = {};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t < 0 || t > BUNDLE_TIME_MAX)
		return -EINVAL;
	*ret = (uint64_t)t;
	return 0;
}

static void format_time(uint64_t sec, char buf[32]) {
	format_rfc3339(sec * 1000000ULL, buf, 32);
}

static bool is_lower_hex(const char *s, size_t n) {
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Header value parsers: 0 or BUNDLE_E_MALFORMED (-ENOMEM possible). */
static int parse_type(Bundle *b, const char *v) {
	for (int t = 0; t < _BUNDLE_TYPE_MAX; t++)
		if (streq(v, bundle_type_names[t])) {
			b->type = (BundleType)t;
			return 0;
		}
	return BUNDLE_E_MALFORMED;
}

static int parse_group(Bundle *b, const char *v) {
	if (!store_group_path_is_valid(v))
		return BUNDLE_E_MALFORMED;
	b->group = strdup(v);
	return b->group ? 0 : -ENOMEM;
}

static int parse_serial(Bundle *b, const char *v) {
	long long n;
	if (parse_int64(v, &n) < 0 || n <= 0)
		return BUNDLE_E_MALFORMED;
	b->serial = (uint64_t)n;
	return 0;
}

static int parse_created(Bundle *b, const char *v) {
	return bundle_parse_time(v, &b->created) < 0 ? BUNDLE_E_MALFORMED : 0;
}

static int parse_expires(Bundle *b, const char *v) {
	return bundle_parse_time(v, &b->expires) < 0 ? BUNDLE_E_MALFORMED : 0;
}

static int parse_key_id(Bundle *b, const char *v) {
	if (!is_lower_hex(v, KEY_ID_LEN))
		return BUNDLE_E_MALFORMED;
	memcpy(b->key_id, v, KEY_ID_LEN + 1);
	return 0;
}

static int parse_sha(Bundle *b, const char *v) {
	if (!is_lower_hex(v, 64))
		return BUNDLE_E_MALFORMED;
	memcpy(b->payload_sha256, v, 65);
	return 0;
}

static int parse_length(Bundle *b, const char *v) {
	long long n;
	if (parse_int64(v, &n) < 0 || n < 0 || n > (long long)BUNDLE_MAX_BYTES)
		return BUNDLE_E_MALFORMED;
	b->payload_len = (size_t)n;
	return 0;
}

/* The headers, in the order they must appear.  only: the one type that
 * carries the header, or -1 for all. */
static const struct {
	const char *name;
	int (*parse)(Bundle *b, const char *value);
	int only;
} bundle_headers[] = {
	{ "type", parse_type, -1 },
	{ "group", parse_group, BUNDLE_POLICY },
	{ "serial", parse_serial, -1 },
	{ "created", parse_created, -1 },
	{ "expires", parse_expires, -1 },
	{ "key-id", parse_key_id, -1 },
	{ "payload-sha256", parse_sha, -1 },
	{ "payload-length", parse_length, -1 },
};

/* The next line of buf[*pos..len) without its '\n', as a new string;
 * BUNDLE_E_MALFORMED when there is no '\n', the line is long or holds
 * control characters. */
static int next_line(const char *buf, size_t len, size_t *pos, char **ret) {
	const char *start = buf + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	if (!nl || nl - start > 1024)
		return BUNDLE_E_MALFORMED;
	for (const char *p = start; p < nl; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return BUNDLE_E_MALFORMED;
	char *l = strndup(start, (size_t)(nl - start));
	if (!l)
		return -ENOMEM;
	*pos += (size_t)(nl - start) + 1;
	*ret = l;
	return 0;
}

/* Structure: headers, payload (hash checked), signature line.  *ret_signed
 * is the length of the signed prefix; sig gets the decoded signature. */
static int bundle_parse_full(const char *buf, size_t len, Bundle **ret, size_t *ret_signed,
			     unsigned char sig[64]) {
	if (len > BUNDLE_MAX_BYTES)
		return BUNDLE_E_MALFORMED;
	_cleanup_(bundle_freep) Bundle *b = calloc(1, sizeof(Bundle));
	if (!b)
		return -ENOMEM;
	size_t pos = 0;
	_cleanup_free_ char *magic = NULL;
	int r = next_line(buf, len, &pos, &magic);
	if (r < 0)
		return r;
	if (!streq(magic, BUNDLE_MAGIC))
		return BUNDLE_E_MALFORMED;
	for (size_t i = 0; i < ELEMENTSOF(bundle_headers); i++) {
		if (bundle_headers[i].only >= 0 && bundle_headers[i].only != (int)b->type)
			continue;
		_cleanup_free_ char *line = NULL;
		if ((r = next_line(buf, len, &pos, &line)) < 0)
			return r;
		size_t n = strlen(bundle_headers[i].name);
		if (strncmp(line, bundle_headers[i].name, n) != 0 || line[n] != ':' ||
		    line[n + 1] != ' ')
			return BUNDLE_E_MALFORMED;
		if ((r = bundle_headers[i].parse(b, line + n + 2)) < 0)
			return r;
	}
	if (pos >= len || buf[pos] != '\n')
		return BUNDLE_E_MALFORMED;
	pos++;
	if (len - pos < b->payload_len || memchr(buf + pos, 0, b->payload_len))
		return BUNDLE_E_MALFORMED;
	b->payload = strndup(buf + pos, b->payload_len);
	if (!b->payload)
		return -ENOMEM;
	char sha[65];
	digest_sha256_hex(b->payload, b->payload_len, sha);
	pos += b->payload_len;
	size_t signed_len = pos;

	if (pos == len)
		return BUNDLE_E_UNSIGNED;
	if (len - pos != strlen(SIG_PREFIX) + SIG_B64_LEN + 1 ||
	    memcmp(buf + pos, SIG_PREFIX, strlen(SIG_PREFIX)) != 0 || buf[len - 1] != '\n')
		return BUNDLE_E_MALFORMED;
	const char *b64 = buf + pos + strlen(SIG_PREFIX);
	unsigned char raw[SIG_B64_LEN];
	char again[SIG_B64_LEN + 1];
	/* Only the canonical encoding is accepted: decode, re-encode, compare. */
	if (EVP_DecodeBlock(raw, (const unsigned char *)b64, SIG_B64_LEN) != 66 ||
	    EVP_EncodeBlock((unsigned char *)again, raw, 64) != SIG_B64_LEN ||
	    memcmp(again, b64, SIG_B64_LEN) != 0)
		return BUNDLE_E_MALFORMED;
	if (!streq(sha, b->payload_sha256))
		return BUNDLE_E_BAD_SIG;
	memcpy(sig, raw, 64);
	*ret_signed = signed_len;
	*ret = TAKE_PTR(b);
	return 0;
}

int bundle_parse(const char *buf, size_t len, Bundle **ret) {
	size_t signed_len;
	unsigned char sig[64];
	return bundle_parse_full(buf, len, ret, &signed_len, sig);
}

int bundle_verify(const char *buf, size_t len, const KeyRing *ring, uint64_t now, Bundle **ret) {
	_cleanup_(bundle_freep) Bundle *b = NULL;
	size_t signed_len;
	unsigned char sig[64];
	int r = bundle_parse_full(buf, len, &b, &signed_len, sig);
	if (r < 0)
		return r;
	const Key *k = key_ring_find(ring, b->key_id);
	if (!k)
		return BUNDLE_E_UNKNOWN_KEY;
	if (key_verify(k, buf, signed_len, sig, 64) < 0)
		return BUNDLE_E_BAD_SIG;
	if (b->expires <= now)
		return BUNDLE_E_EXPIRED;
	*ret = TAKE_PTR(b);
	return 0;
}

int bundle_sign(Bundle *b, const Key *k, char **ret, size_t *ret_len) {
	if ((b->type == BUNDLE_POLICY) != (b->group != NULL) || b->serial == 0 ||
	    memchr(b->payload, 0, b->payload_len))
		return -EINVAL;
	memcpy(b->key_id, key_id(k), KEY_ID_LEN + 1);
	digest_sha256_hex(b->payload, b->payload_len, b->payload_sha256);
	char created[32], expires[32];
	format_time(b->created, created);
	format_time(b->expires, expires);
	_cleanup_(strbuf_free) StrBuf s = {};
	strbuf_printf(&s, "%s\ntype: %s\n", BUNDLE_MAGIC, bundle_type_names[b->type]);
	if (b->group)
		strbuf_printf(&s, "group: %s\n", b->group);
	strbuf_printf(&s,
		      "serial: %llu\ncreated: %s\nexpires: %s\nkey-id: %s\n"
		      "payload-sha256: %s\npayload-length: %zu\n\n",
		      (unsigned long long)b->serial, created, expires, b->key_id,
		      b->payload_sha256, b->payload_len);
	strbuf_append_len(&s, b->payload, b->payload_len);
	if (s.failed)
		return -ENOMEM;
	unsigned char sig[64];
	char b64[SIG_B64_LEN + 1];
	int r = key_sign(k, s.data, s.len, sig);
	if (r < 0)
		return r;
	EVP_EncodeBlock((unsigned char *)b64, sig, sizeof(sig));
	strbuf_printf(&s, "%s%s\n", SIG_PREFIX, b64);
	size_t n = s.len;
	if ((r = strbuf_finish(&s, ret)) < 0)
		return r;
	*ret_len = n;
	return 0;
}

int bundle_check_serial(const Bundle *b, uint64_t applied_serial, const char *applied_sha256) {
	if (b->serial > applied_serial)
		return 0;
	if (b->serial == applied_serial && streq_ptr(applied_sha256, b->payload_sha256))
		return 1;
	return BUNDLE_E_REPLAY;
}

char *bundle_group_file(const char *group) {
	char *f = strdup_printf("groups/%s.bundle", group);
	if (!f)
		return NULL;
	for (char *p = f + strlen("groups/"); *p; p++)
		if (*p == '/')
			*p = '@';
	return f;
}
