/*
 * test_bundle.c - unit tests for fleet distribution: lib/keys.c (generate,
 * PEM round trip, key ids, trust rings from a file and a directory),
 * lib/bundle.c (sign/verify round trip; unsigned, unknown key, tampered
 * payload and header, expired, malformed and non-canonical input refused;
 * the serial rule; group file names), lib/publish.c (only changed bundles
 * rewritten, serials only grow, key rotation re-signs, partial publish,
 * removed groups) and agent/source.c over file:// URLs (accept, unchanged,
 * every bad bundle refused with the cached policy untouched, replay,
 * another group, backoff).
 *
 * Keys are generated per test; stores are real SQLite files in a scratch
 * directory; policies are real documents parsed with the real catalog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "bundle.c"
#include "../../agent/source.h"
#include "publish.h"

typedef struct Fixture {
	char dir[64];
	Key *key, *key2;
	KeyRing ring; /* key's public half only */
	Store *store;
	Catalog *catalog;
	DiagList diag;
} Fixture;

static char *path_in(Fixture *f, const char *name) {
	return strdup_printf("%s/%s", f->dir, name);
}

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test-bundle.XXXXXX");
	if (!mkdtemp(f->dir) || key_generate(&f->key) < 0 || key_generate(&f->key2) < 0)
		return -1;
	_cleanup_free_ char *pub = path_in(f, "k1.pub");
	if (key_write_public(f->key, pub) < 0 || key_ring_load(pub, &f->ring) < 0)
		return -1;
	_cleanup_free_ char *db = path_in(f, "store.db");
	if (catalog_load_default(&f->catalog) < 0 || store_open(db, &f->store) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	key_free(f->key);
	key_free(f->key2);
	key_ring_clear(&f->ring);
	store_close(f->store);
	catalog_free(f->catalog);
	diag_clear(&f->diag);
	_cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", f->dir);
	int r = system(cmd);
	free(f);
	return r == 0 ? 0 : -1;
}

/* A signed policy bundle for group with serial, valid for lifetime seconds. */
static char *make_bundle(const Key *k, const char *group, uint64_t serial, const char *payload,
			 uint64_t created, uint64_t lifetime, size_t *len) {
	Bundle b = { .type = BUNDLE_POLICY, .group = (char *)group, .serial = serial,
		     .created = created, .expires = created + lifetime,
		     .payload = (char *)payload, .payload_len = strlen(payload) };
	char *text = NULL;
	assert_int_equal(bundle_sign(&b, k, &text, len), 0);
	return text;
}

static uint64_t now_sec(void) {
	return now_usec() / 1000000ULL;
}

static void test_keys(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *priv = path_in(f, "k1"), *pub2 = path_in(f, "k2.pub");
	assert_int_equal(key_write_private(f->key, priv), 0);
	struct stat st;
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	_cleanup_(key_freep) Key *back = NULL;
	assert_int_equal(key_load_private(priv, &back), 0);
	assert_string_equal(key_id(back), key_id(f->key));
	assert_int_equal(strlen(key_id(back)), KEY_ID_LEN);
	assert_string_not_equal(key_id(f->key), key_id(f->key2));
	/* Signatures of the reloaded key verify with the public key. */
	unsigned char sig[64];
	assert_int_equal(key_sign(back, "abc", 3, sig), 0);
	assert_int_equal(key_verify(f->ring.keys[0], "abc", 3, sig, 64), 0);
	assert_int_equal(key_verify(f->ring.keys[0], "abd", 3, sig, 64), -EKEYREJECTED);
	/* A public key cannot sign; a public key file is no private key. */
	assert_int_equal(key_sign(f->ring.keys[0], "abc", 3, sig), -EINVAL);
	_cleanup_free_ char *pub = path_in(f, "k1.pub");
	_cleanup_(key_freep) Key *none = NULL;
	assert_int_equal(key_load_private(pub, &none), -EBADMSG);
	assert_int_equal(key_write_private(f->ring.keys[0], pub2), -EINVAL);
}

static void test_key_ring(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *d = path_in(f, "trust"), *p1 = NULL, *p2 = NULL, *both = NULL;
	assert_int_equal(mkdir(d, 0755), 0);
	/* An empty directory: an empty ring. */
	KeyRing ring = {};
	assert_int_equal(key_ring_load(d, &ring), 0);
	assert_int_equal(ring.n, 0);
	p1 = strdup_printf("%s/old.pub", d);
	p2 = strdup_printf("%s/new.pem", d);
	assert_int_equal(key_write_public(f->key, p1), 0);
	assert_int_equal(key_write_public(f->key2, p2), 0);
	_cleanup_free_ char *junk = strdup_printf("%s/README", d);
	assert_int_equal(write_file_atomic(junk, "not a key", 9, 0644), 0);
	assert_int_equal(key_ring_load(d, &ring), 0);
	assert_int_equal(ring.n, 2);
	assert_non_null(key_ring_find(&ring, key_id(f->key)));
	assert_non_null(key_ring_find(&ring, key_id(f->key2)));
	key_ring_clear(&ring);
	/* One file with both keys (and a duplicate) works too. */
	_cleanup_free_ char *t1 = NULL, *t2 = NULL;
	size_t l1, l2;
	assert_int_equal(read_file(p1, 4096, &t1, &l1), 0);
	assert_int_equal(read_file(p2, 4096, &t2, &l2), 0);
	_cleanup_free_ char *cat = strdup_printf("%s%s%s", t1, t2, t1);
	both = path_in(f, "both.pem");
	assert_int_equal(write_file_atomic(both, cat, strlen(cat), 0644), 0);
	assert_int_equal(key_ring_load(both, &ring), 0);
	assert_int_equal(ring.n, 2);
	key_ring_clear(&ring);
	/* A file without keys is an error, not an empty ring. */
	assert_int_equal(key_ring_load(junk, &ring), -EBADMSG);
	_cleanup_free_ char *missing = path_in(f, "missing.pub");
	assert_int_equal(key_ring_load(missing, &ring), -ENOENT);
}

static void test_roundtrip(void **state) {
	Fixture *f = *state;
	size_t len;
	uint64_t now = now_sec();
	_cleanup_free_ char *text = make_bundle(f->key, "/paris/fs", 42, "<policy/>\n", now, 3600, &len);
	assert_int_equal(strlen(text), len);
	assert_true(startswith(text, BUNDLE_MAGIC "\ntype: policy\ngroup: /paris/fs\nserial: 42\n"));
	_cleanup_(bundle_freep) Bundle *b = NULL;
	assert_int_equal(bundle_verify(text, len, &f->ring, now, &b), 0);
	assert_int_equal(b->type, BUNDLE_POLICY);
	assert_string_equal(b->group, "/paris/fs");
	assert_int_equal(b->serial, 42);
	assert_int_equal(b->created, now);
	assert_int_equal(b->expires, now + 3600);
	assert_string_equal(b->payload, "<policy/>\n");
	assert_string_equal(b->key_id, key_id(f->key));
	/* The index type has no group header. */
	Bundle x = { .type = BUNDLE_INDEX, .serial = 7, .created = now, .expires = now + 60,
		     .payload = "", .payload_len = 0 };
	_cleanup_free_ char *idx = NULL;
	assert_int_equal(bundle_sign(&x, f->key, &idx, &len), 0);
	assert_null(strstr(idx, "group:"));
	_cleanup_(bundle_freep) Bundle *bi = NULL;
	assert_int_equal(bundle_verify(idx, len, &f->ring, now, &bi), 0);
	assert_int_equal(bi->type, BUNDLE_INDEX);
	assert_null(bi->group);
	/* A policy bundle needs a group, an index must not have one. */
	x.group = "/";
	assert_int_equal(bundle_sign(&x, f->key, &idx, &len), -EINVAL);
}

static void test_refused(void **state) {
	Fixture *f = *state;
	size_t len;
	uint64_t now = now_sec();
	_cleanup_free_ char *good = make_bundle(f->key, "/", 5, "<policy>x</policy>\n", now, 3600, &len);
	_cleanup_(bundle_freep) Bundle *b = NULL;

	/* Unsigned: everything up to the signature line. */
	size_t unsigned_len = (size_t)(strstr(good, "signature: ") - good);
	assert_int_equal(bundle_verify(good, unsigned_len, &f->ring, now, &b), BUNDLE_E_UNSIGNED);
	/* Signed by a key the ring does not hold. */
	size_t l2;
	_cleanup_free_ char *other = make_bundle(f->key2, "/", 5, "<policy>x</policy>\n", now, 3600, &l2);
	assert_int_equal(bundle_verify(other, l2, &f->ring, now, &b), BUNDLE_E_UNKNOWN_KEY);
	/* Payload changed (hash and signature no longer match). */
	_cleanup_free_ char *t = strdup(good);
	*strstr(t, ">x<") = 'y';
	assert_int_equal(bundle_verify(t, len, &f->ring, now, &b), BUNDLE_E_BAD_SIG);
	/* Header changed: a higher serial. */
	free(t);
	t = strdup(good);
	strstr(t, "serial: 5\n")[8] = '9';
	assert_int_equal(bundle_verify(t, len, &f->ring, now, &b), BUNDLE_E_BAD_SIG);
	/* Expired (expires <= now). */
	assert_int_equal(bundle_verify(good, len, &f->ring, now + 3600, &b), BUNDLE_E_EXPIRED);
	/* Signature of another bundle spliced in. */
	free(t);
	size_t l3;
	_cleanup_free_ char *third = make_bundle(f->key, "/", 6, "<policy>x</policy>\n", now, 3600, &l3);
	t = strdup(good);
	memcpy(strstr(t, "signature: "), strstr(third, "signature: "), strlen("signature: ed25519 ") + 88);
	assert_int_equal(bundle_verify(t, len, &f->ring, now, &b), BUNDLE_E_BAD_SIG);
	assert_null(b);
	free(t);
	t = NULL;
}

static void test_malformed(void **state) {
	Fixture *f = *state;
	size_t len;
	uint64_t now = now_sec();
	_cleanup_free_ char *good = make_bundle(f->key, "/", 5, "<policy/>\n", now, 3600, &len);
	_cleanup_(bundle_freep) Bundle *b = NULL;
	static const char *const bad[] = {
		"",
		"smbpolicy-bundle 2\n",
		"smbpolicy-bundle 1\ntype: other\n",
		"smbpolicy-bundle 1\ntype: policy\nserial: 1\n",          /* group missing */
		"smbpolicy-bundle 1\ntype: policy\ngroup: paris\n",       /* not a path */
		"smbpolicy-bundle 1\ntype: policy\ngroup: /\nserial: 0\n", /* serial 0 */
		"smbpolicy-bundle 1\ntype: policy\ngroup: /\nserial: -1\n",
		"smbpolicy-bundle 1\ntype: policy\ngroup: /\nserial: 1\ncreated: yesterday\n",
		"smbpolicy-bundle 1\ntype: index\ngroup: /\n", /* index with a group */
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(bundle_verify(bad[i], strlen(bad[i]), &f->ring, now, &b),
				 BUNDLE_E_MALFORMED);
	/* Trailing bytes after the signature line. */
	_cleanup_free_ char *trail = strdup_printf("%sX", good);
	assert_int_equal(bundle_verify(trail, len + 1, &f->ring, now, &b), BUNDLE_E_MALFORMED);
	/* Truncated in the middle of the payload or the signature. */
	assert_int_equal(bundle_verify(good, len - 10, &f->ring, now, &b), BUNDLE_E_MALFORMED);
	size_t hdr = (size_t)(strstr(good, "\n\n") - good) + 5;
	assert_int_equal(bundle_verify(good, hdr, &f->ring, now, &b), BUNDLE_E_MALFORMED);
	/* A NUL inside: never read as a string. */
	_cleanup_free_ char *nul = strdup(good);
	*strstr(nul, "<policy/>") = 0;
	assert_int_equal(bundle_verify(nul, len, &f->ring, now, &b), BUNDLE_E_MALFORMED);
	/* Non-canonical base64 (a padding character changed). */
	_cleanup_free_ char *pad = strdup(good);
	pad[len - 2] = 'A';
	assert_int_equal(bundle_verify(pad, len, &f->ring, now, &b), BUNDLE_E_MALFORMED);
	/* bundle_parse checks everything but the signature. */
	assert_int_equal(bundle_parse(good, len, &b), 0);
	assert_int_equal(b->serial, 5);
}

static void test_serial_rule(void **state) {
	Fixture *f = *state;
	size_t len;
	uint64_t now = now_sec();
	_cleanup_free_ char *text = make_bundle(f->key, "/", 10, "<policy/>\n", now, 60, &len);
	_cleanup_(bundle_freep) Bundle *b = NULL;
	assert_int_equal(bundle_verify(text, len, &f->ring, now, &b), 0);
	assert_int_equal(bundle_check_serial(b, 0, NULL), 0);
	assert_int_equal(bundle_check_serial(b, 9, "00"), 0);
	assert_int_equal(bundle_check_serial(b, 10, b->payload_sha256), 1);
	assert_int_equal(bundle_check_serial(b, 10, "0000"), BUNDLE_E_REPLAY);
	assert_int_equal(bundle_check_serial(b, 11, b->payload_sha256), BUNDLE_E_REPLAY);
	assert_string_equal(bundle_strerror(BUNDLE_E_REPLAY),
			    "serial is not above the applied bundle's (replay or downgrade)");
	assert_string_equal(bundle_strerror(-ENOENT), strerror(ENOENT));
}

static void test_group_file(void **state) {
	(void)state;
	static const char *const cases[][2] = {
		{ "/", "groups/@.bundle" },
		{ "/paris", "groups/@paris.bundle" },
		{ "/paris/fs", "groups/@paris@fs.bundle" },
		{ "/a.b/c-d_e", "groups/@a.b@c-d_e.bundle" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *p = bundle_group_file(cases[i][0]);
		assert_string_equal(p, cases[i][1]);
	}
	uint64_t t;
	assert_int_equal(bundle_parse_time("1970-01-02T00:00:00Z", &t), 0);
	assert_int_equal(t, 86400);
	assert_int_equal(bundle_parse_time("1970-01-02T00:00:00", &t), -EINVAL);
	assert_int_equal(bundle_parse_time("1970-01-02T00:00:00Zx", &t), -EINVAL);
}

/* --- publish ------------------------------------------------------------ */

static void import_policy(Fixture *f, const char *name, const char *setting, const char *value) {
	_cleanup_free_ char *xml = strdup_printf(
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"%s\">\n"
		"  <setting id=\"%s\">%s</setting>\n</policy>\n",
		name, setting, value);
	_cleanup_(policy_freep) Policy *p = NULL;
	assert_int_equal(policy_parse_memory(f->catalog, xml, strlen(xml), name, &p, &f->diag), 0);
	assert_int_equal(store_import(f->store, p, "test", NULL, NULL, NULL), 0);
}

static void build_tree(Fixture *f) {
	assert_int_equal(store_group_add(f->store, "/paris"), 0);
	assert_int_equal(store_group_add(f->store, "/paris/fs"), 0);
	assert_int_equal(store_group_add(f->store, "/lyon"), 0);
	import_policy(f, "delay", "server.auth-rate-limiter.delay-ms", "4000");
	assert_int_equal(store_link_add(f->store, "delay", "/paris", -1, false, false), 0);
}

static ino_t inode_of(Fixture *f, const char *file) {
	_cleanup_free_ char *p = strdup_printf("%s/pub/%s", f->dir, file);
	struct stat st;
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

static Bundle *read_bundle(Fixture *f, const char *file) {
	_cleanup_free_ char *p = strdup_printf("%s/pub/%s", f->dir, file), *text = NULL;
	size_t len;
	assert_int_equal(read_file(p, BUNDLE_MAX_BYTES, &text, &len), 0);
	Bundle *b = NULL;
	KeyRing both = {};
	both.keys = (Key *[]){ f->key, f->key2 };
	both.n = 2;
	assert_int_equal(bundle_verify(text, len, &both, now_sec(), &b), 0);
	return b;
}

static void test_publish(void **state) {
	Fixture *f = *state;
	build_tree(f);
	_cleanup_free_ char *dir = path_in(f, "pub");
	uint64_t t0 = 2000000000ULL;
	PublishOptions o = { .dir = dir, .key = f->key, .lifetime_sec = 7 * 86400, .now = t0 };
	PublishResult res;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.groups, 4);
	assert_int_equal(res.written, 4);
	assert_int_equal(res.serial, t0);
	ino_t paris = inode_of(f, "groups/@paris.bundle"), idx = inode_of(f, "index.bundle");
	assert_true(paris && idx);
	{
		_cleanup_(bundle_freep) Bundle *b = read_bundle(f, "groups/@paris@fs.bundle");
		assert_string_equal(b->group, "/paris/fs");
		assert_non_null(strstr(b->payload, "<setting id=\"server.auth-rate-limiter.delay-ms\">4000<"));
		_cleanup_(bundle_freep) Bundle *x = read_bundle(f, "index.bundle");
		assert_int_equal(x->type, BUNDLE_INDEX);
		assert_non_null(strstr(x->payload, "/paris/fs 2000000000 "));
	}

	/* Nothing changed: nothing is written, not even the index. */
	o.now = t0 + 60;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.written, 0);
	assert_int_equal(res.unchanged, 4);
	assert_int_equal(res.serial, t0);
	assert_true(inode_of(f, "groups/@paris.bundle") == paris && inode_of(f, "index.bundle") == idx);

	/* A change under /paris rewrites /paris and /paris/fs only, with a
	 * serial above the index's even when the clock went back. */
	import_policy(f, "delay", "server.auth-rate-limiter.delay-ms", "5000");
	ino_t lyon = inode_of(f, "groups/@lyon.bundle");
	o.now = t0 - 1000;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.written, 2);
	assert_int_equal(res.unchanged, 2);
	assert_int_equal(res.serial, t0 + 1);
	assert_true(inode_of(f, "groups/@lyon.bundle") == lyon);
	assert_true(inode_of(f, "groups/@paris.bundle") != paris);
	{
		_cleanup_(bundle_freep) Bundle *b = read_bundle(f, "groups/@paris.bundle");
		assert_int_equal(b->serial, t0 + 1);
		_cleanup_(bundle_freep) Bundle *l = read_bundle(f, "groups/@lyon.bundle");
		assert_int_equal(l->serial, t0);
	}

	/* Past half the lifetime: re-signed with a new expiry and serial. */
	o.now = t0 + 4 * 86400;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.written, 4);
	assert_int_equal(res.serial, t0 + 4 * 86400);

	/* A new key re-signs everything. */
	o.key = f->key2;
	o.now++;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.written, 4);
	{
		_cleanup_(bundle_freep) Bundle *b = read_bundle(f, "groups/@.bundle");
		assert_string_equal(b->key_id, key_id(f->key2));
	}

	/* Partial publish: only the named group is considered; the index
	 * keeps the others. */
	import_policy(f, "delay", "server.auth-rate-limiter.delay-ms", "6000");
	char *only[] = { "/paris/fs", NULL };
	o.groups = only;
	o.now++;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.groups, 1);
	assert_int_equal(res.written, 1);
	{
		_cleanup_(bundle_freep) Bundle *x = read_bundle(f, "index.bundle");
		assert_non_null(strstr(x->payload, "/lyon "));
		assert_non_null(strstr(x->payload, "/paris "));
	}
	/* A partial publish cannot switch keys (the others would keep the old). */
	o.key = f->key;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), -EKEYREJECTED);
	assert_non_null(strstr(f->diag.items[0].message, "publish every group"));
	diag_clear(&f->diag);
	o.key = f->key2;
	char *unknown[] = { "/nowhere", NULL };
	o.groups = unknown;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), -ENOENT);
	diag_clear(&f->diag);

	/* A removed group's bundle goes away with its index row. */
	o.groups = NULL;
	assert_int_equal(store_group_rm(f->store, "/lyon"), 0);
	o.now++;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.removed, 1);
	assert_int_equal(inode_of(f, "groups/@lyon.bundle"), 0);

	/* A group path too long for a file name fails alone. */
	char path[300] = "";
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(path);
		path[n] = '/';
		memset(path + n + 1, 'a' + i, 64);
		path[n + 65] = 0;
		assert_int_equal(store_group_add(f->store, path), 0);
	}
	o.now++;
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), 0);
	assert_int_equal(res.failed, 1);
	assert_non_null(strstr(f->diag.items[0].message, "too long"));
	diag_clear(&f->diag);

	/* One publisher at a time. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), -EBUSY);
	close(fd);

	/* A damaged index is reported, not silently replaced. */
	_cleanup_free_ char *ip = strdup_printf("%s/index.bundle", dir);
	assert_int_equal(write_file_atomic(ip, "garbage", 7, 0644), 0);
	assert_int_equal(publish_run(f->store, f->catalog, &o, &res, &f->diag), -EBADMSG);
}

/* --- agent source over file:// ------------------------------------------ */

static int put(Fixture *f, const char *name, const char *text, size_t len) {
	_cleanup_free_ char *p = path_in(f, name);
	return write_file_atomic(p, text, len, 0644);
}

static char *policy_text(Fixture *f, Source *s) {
	(void)f;
	char *t = NULL;
	assert_int_equal(read_file(source_policy_path(s), 1 << 20, &t, NULL), 0);
	return t;
}

static void test_source(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *url = strdup_printf("file://%s/served", f->dir);
	_cleanup_free_ char *cache = path_in(f, "cache"), *trust = path_in(f, "k1.pub");
	SourceConfig cfg = { .url = url, .trusted_keys = trust, .cache_dir = cache,
			     .backoff_min_usec = 1, .backoff_max_usec = 2 };
	_cleanup_(source_freep) Source *s = NULL;
	assert_int_equal(source_new(&cfg, &s), 0);
	assert_false(source_has_policy(s));
	uint64_t now = now_sec();
	size_t len;

	/* Missing file: a failure, nothing kept. */
	assert_true(source_update(s) < 0);
	assert_false(source_has_policy(s));
	usleep(10);

	_cleanup_free_ char *v1 = make_bundle(f->key, "/paris", 100, "<policy>one</policy>\n", now, 3600, &len);
	assert_int_equal(put(f, "served", v1, len), 0);
	assert_int_equal(source_update(s), SOURCE_CHANGED);
	assert_int_equal(source_serial(s), 100);
	_cleanup_free_ char *p1 = policy_text(f, s);
	assert_string_equal(p1, "<policy>one</policy>\n");
	/* The same bundle again: unchanged. */
	assert_int_equal(source_update(s), SOURCE_UNCHANGED);

	/* Every bad bundle is refused and the policy file stays. */
	size_t l;
	_cleanup_free_ char *unknown = make_bundle(f->key2, "/paris", 101, "<policy>evil</policy>\n", now, 3600, &l);
	_cleanup_free_ char *expired = make_bundle(f->key, "/paris", 102, "<policy>old</policy>\n", now - 7200, 3600, &l);
	_cleanup_free_ char *replay = make_bundle(f->key, "/paris", 99, "<policy>zero</policy>\n", now, 3600, &l);
	_cleanup_free_ char *same_serial = make_bundle(f->key, "/paris", 100, "<policy>two</policy>\n", now, 3600, &l);
	_cleanup_free_ char *other_group = make_bundle(f->key, "/lyon", 103, "<policy>lyon</policy>\n", now, 3600, &l);
	_cleanup_free_ char *tampered = make_bundle(f->key, "/paris", 104, "<policy>good</policy>\n", now, 3600, &l);
	memcpy(strstr(tampered, "good"), "evil", 4);
	_cleanup_free_ char *unsigned_ = make_bundle(f->key, "/paris", 105, "<policy>nosig</policy>\n", now, 3600, &l);
	*strstr(unsigned_, "signature: ") = 0;
	const struct {
		const char *text;
		int error;
	} cases[] = {
		{ unknown, BUNDLE_E_UNKNOWN_KEY }, { expired, BUNDLE_E_EXPIRED },
		{ replay, BUNDLE_E_REPLAY },       { same_serial, BUNDLE_E_REPLAY },
		{ other_group, BUNDLE_E_WRONG_GROUP }, { tampered, BUNDLE_E_BAD_SIG },
		{ unsigned_, BUNDLE_E_UNSIGNED },  { "<html>404</html>", BUNDLE_E_MALFORMED },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		assert_int_equal(put(f, "served", cases[i].text, strlen(cases[i].text)), 0);
		usleep(10); /* past the (tiny) backoff */
		assert_int_equal(source_update(s), cases[i].error);
		assert_int_equal(source_serial(s), 100);
		_cleanup_free_ char *p = policy_text(f, s);
		assert_string_equal(p, "<policy>one</policy>\n");
	}

	/* A newer bundle is taken; the state survives a restart. */
	_cleanup_free_ char *v2 = make_bundle(f->key, "/paris", 200, "<policy>two</policy>\n", now, 3600, &len);
	assert_int_equal(put(f, "served", v2, len), 0);
	usleep(10);
	assert_int_equal(source_update(s), SOURCE_CHANGED);
	source_free(TAKE_PTR(s));
	assert_int_equal(source_new(&cfg, &s), 0);
	assert_true(source_has_policy(s));
	assert_int_equal(source_serial(s), 200);
	assert_int_equal(put(f, "served", v1, strlen(v1)), 0);
	assert_int_equal(source_update(s), BUNDLE_E_REPLAY);

	/* Backing off after a failure: the next call does not fetch. */
	source_free(TAKE_PTR(s));
	cfg.backoff_min_usec = cfg.backoff_max_usec = 3600ULL * 1000000ULL;
	assert_int_equal(source_new(&cfg, &s), 0);
	assert_int_equal(source_update(s), BUNDLE_E_REPLAY);
	assert_int_equal(put(f, "served", v2, strlen(v2)), 0);
	assert_int_equal(source_update(s), -EAGAIN);
	source_retry_now(s); /* an explicit reload fetches at once */
	assert_int_equal(source_update(s), SOURCE_UNCHANGED);

	/* Another URL: the recorded state is not used. */
	source_free(TAKE_PTR(s));
	_cleanup_free_ char *url2 = strdup_printf("file://%s/served2", f->dir);
	cfg.url = url2;
	assert_int_equal(source_new(&cfg, &s), 0);
	assert_false(source_has_policy(s));
	cfg.url = "ftp://example.com/x";
	Source *bad = NULL;
	assert_int_equal(source_new(&cfg, &bad), -EINVAL);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
