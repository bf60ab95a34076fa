/*
 * test_rsop.c - unit tests for lib/rsop.c: the Group Policy precedence
 * matrix (defaults, inheritance, descendant wins, link order, enforced,
 * block inheritance, enforced across block inheritance, disabled links, a
 * host moved between groups, newest version followed), constraint
 * violations that only the combined result has, a stored version the
 * catalog no longer accepts, batch resolution of every host, and the JSON
 * and XML renderings.
 *
 * Policies are real documents parsed with the real catalog (schema/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "rsop.c"
#include "test_store_common.h"

#define DELAY "server.auth-rate-limiter.delay-ms"
#define PORT "server.transport.tcp.port"

typedef struct Fixture {
	char dir[TEST_DIR_MAX];
	Store *store;
	Catalog *catalog;
	DiagList diag;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(Fixture));
	if (!f || test_store_setup(f->dir, "rsop", NULL, &f->catalog, &f->store) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	diag_clear(&f->diag);
	int r = test_store_teardown(f->dir, f->store, f->catalog);
	free(f);
	return r;
}

/* Import a policy: name, then pairs of (setting id, value text), NULL. */
static unsigned import(Fixture *f, const char *name, ...) {
	StrBuf b = { 0 };
	strbuf_printf(&b, "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"%s\">\n", name);
	va_list ap;
	va_start(ap, name);
	for (const char *id; (id = va_arg(ap, const char *));)
		strbuf_printf(&b, "  <setting id=\"%s\">%s</setting>\n", id, va_arg(ap, const char *));
	va_end(ap);
	strbuf_append(&b, "</policy>\n");
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(strbuf_finish(&b, &xml), 0);
	_cleanup_(policy_freep) Policy *p = NULL;
	int r = policy_parse_memory(f->catalog, xml, strlen(xml), name, &p, &f->diag);
	diag_print(&f->diag, stderr);
	assert_int_equal(r, 0);
	unsigned v = 0;
	assert_int_equal(store_import(f->store, p, "test", NULL, &v, NULL), 0);
	return v;
}

static void groups(Fixture *f, const char *const *paths) {
	for (; *paths; paths++)
		assert_int_equal(store_group_add(f->store, *paths), 0);
}

static void link_(Fixture *f, const char *policy, const char *group, int order, bool enforced,
		  bool disabled) {
	assert_int_equal(store_link_add(f->store, policy, group, order, enforced, disabled), 0);
}

static const RsopEntry *entry(const Rsop *r, const Catalog *c, const char *id) {
	int i = catalog_index(c, id);
	assert_true(i >= 0 && (size_t)i < r->n_entries);
	assert_string_equal(r->entries[i].setting->id, id);
	return &r->entries[i];
}

/* Resolve host and check one setting's value and winner (policy NULL:
 * the catalog default). */
static void expect(Fixture *f, const char *host, const char *id, const char *value,
		   const char *policy, const char *group) {
	_cleanup_(rsop_freep) Rsop *r = NULL;
	int q = rsop_resolve(f->store, f->catalog, host, &r, &f->diag);
	diag_print(&f->diag, stderr);
	assert_int_equal(q, 0);
	assert_string_equal(r->host, host);
	const RsopEntry *e = entry(r, f->catalog, id);
	assert_int_equal(strv_length(e->value), 1);
	if (value)
		assert_string_equal(e->value[0], value);
	if (!policy) {
		assert_null(e->source);
		assert_true(strv_equal(e->value, e->setting->default_value));
		return;
	}
	assert_non_null(e->source);
	assert_string_equal(e->source->policy, policy);
	assert_string_equal(e->source->group, group);
}

static void test_defaults_when_unset(void **state) {
	Fixture *f = *state;
	assert_int_equal(store_host_add(f->store, "h", "/"), 0);
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "h", &r, &f->diag), 0);
	assert_int_equal(r->n_entries, f->catalog->n_settings);
	assert_string_equal(r->group, "/");
	for (size_t i = 0; i < r->n_entries; i++) {
		assert_ptr_equal(r->entries[i].setting, &f->catalog->settings[i]);
		assert_null(r->entries[i].source);
		assert_true(strv_equal(r->entries[i].value, f->catalog->settings[i].default_value));
	}
	assert_int_equal(rsop_resolve(f->store, f->catalog, "nobody", &r, &f->diag), -ENOENT);
	assert_int_equal(rsop_resolve(f->store, f->catalog, "bad host", &r, &f->diag), -EINVAL);
	assert_int_equal(rsop_resolve_group(f->store, f->catalog, "/x", &r, &f->diag), -ENOENT);
	assert_int_equal(rsop_resolve_group(f->store, f->catalog, "x", &r, &f->diag), -EINVAL);
}

static void test_inheritance_and_child_wins(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", "/a/b", NULL });
	import(f, "root", DELAY, "500", PORT, "1445", NULL);
	import(f, "mid", DELAY, "700", NULL);
	link_(f, "root", "/", -1, false, false);
	assert_int_equal(store_host_add(f->store, "h", "/a/b"), 0);
	expect(f, "h", DELAY, "500", "root", "/"); /* inherited from the root */
	link_(f, "mid", "/a", -1, false, false);
	expect(f, "h", DELAY, "700", "mid", "/a"); /* the nearer group wins */
	expect(f, "h", PORT, "1445", "root", "/"); /* ...only for what it sets */
	expect(f, "h", "server.signing.required", "true", NULL, NULL);
}

static void test_link_order(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", NULL });
	import(f, "first", DELAY, "100", NULL);
	import(f, "second", DELAY, "200", PORT, "2445", NULL);
	link_(f, "first", "/a", -1, false, false);
	link_(f, "second", "/a", -1, false, false);
	assert_int_equal(store_host_add(f->store, "h", "/a"), 0);
	expect(f, "h", DELAY, "100", "first", "/a"); /* order 1 beats order 2 */
	expect(f, "h", PORT, "2445", "second", "/a");
	/* Put "second" at order 1: it now wins. */
	assert_int_equal(store_link_rm(f->store, "second", "/a"), 0);
	link_(f, "second", "/a", 1, false, false);
	expect(f, "h", DELAY, "200", "second", "/a");
}

static void test_enforced(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", "/a/b", NULL });
	import(f, "corp", DELAY, "3000", NULL);
	import(f, "site", DELAY, "1000", NULL);
	import(f, "team", DELAY, "100", NULL);
	link_(f, "corp", "/", -1, true, false);
	link_(f, "site", "/a", -1, false, false);
	link_(f, "team", "/a/b", -1, false, false);
	assert_int_equal(store_host_add(f->store, "h", "/a/b"), 0);
	expect(f, "h", DELAY, "3000", "corp", "/"); /* enforced at the top beats the child */
	/* Between two enforced links the ancestor's wins... */
	assert_int_equal(store_link_rm(f->store, "team", "/a/b"), 0);
	link_(f, "team", "/a/b", -1, true, false);
	expect(f, "h", DELAY, "3000", "corp", "/");
	/* ...and an enforced link beats a non-enforced one of its own group. */
	assert_int_equal(store_link_rm(f->store, "corp", "/"), 0);
	link_(f, "corp", "/a/b", 1, false, false);
	expect(f, "h", DELAY, "100", "team", "/a/b");
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "h", &r, &f->diag), 0);
	assert_true(entry(r, f->catalog, DELAY)->source->enforced);
}

static void test_block_inheritance(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", "/a/b", NULL });
	import(f, "root", DELAY, "500", NULL);
	import(f, "mid", PORT, "1445", NULL);
	import(f, "corp", "server.transport.quic.port", "8443", NULL);
	link_(f, "root", "/", -1, false, false);
	link_(f, "mid", "/a", -1, false, false);
	link_(f, "corp", "/", -1, true, false);
	assert_int_equal(store_host_add(f->store, "h", "/a/b"), 0);
	assert_int_equal(store_group_block_inheritance(f->store, "/a", true), 0);
	expect(f, "h", DELAY, NULL, NULL, NULL);           /* blocked above /a */
	expect(f, "h", PORT, "1445", "mid", "/a");         /* /a's own links still apply */
	expect(f, "h", "server.transport.quic.port", "8443", "corp", "/"); /* enforced passes */
	/* Blocking at the host's own group cuts /a off too. */
	assert_int_equal(store_group_block_inheritance(f->store, "/a", false), 0);
	assert_int_equal(store_group_block_inheritance(f->store, "/a/b", true), 0);
	expect(f, "h", PORT, NULL, NULL, NULL);
	expect(f, "h", "server.transport.quic.port", "8443", "corp", "/");
	assert_int_equal(store_group_block_inheritance(f->store, "/a/b", false), 0);
	expect(f, "h", DELAY, "500", "root", "/");
}

static void test_disabled_links(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", NULL });
	import(f, "root", DELAY, "500", NULL);
	import(f, "off", DELAY, "900", NULL);
	import(f, "offenforced", DELAY, "1100", NULL);
	link_(f, "root", "/", -1, false, false);
	link_(f, "off", "/a", -1, false, true);
	link_(f, "offenforced", "/", -1, true, true);
	assert_int_equal(store_host_add(f->store, "h", "/a"), 0);
	expect(f, "h", DELAY, "500", "root", "/");
}

static void test_host_moved(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/paris", "/lyon", NULL });
	import(f, "paris", DELAY, "100", NULL);
	import(f, "lyon", DELAY, "200", NULL);
	link_(f, "paris", "/paris", -1, false, false);
	link_(f, "lyon", "/lyon", -1, false, false);
	assert_int_equal(store_host_add(f->store, "h", "/paris"), 0);
	expect(f, "h", DELAY, "100", "paris", "/paris");
	assert_int_equal(store_host_move(f->store, "h", "/lyon"), 0);
	expect(f, "h", DELAY, "200", "lyon", "/lyon");
}

static void test_newest_version_wins(void **state) {
	Fixture *f = *state;
	import(f, "p", DELAY, "100", NULL);
	link_(f, "p", "/", -1, false, false);
	assert_int_equal(import(f, "p", DELAY, "400", NULL), 2);
	assert_int_equal(store_host_add(f->store, "h", "/"), 0);
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "h", &r, &f->diag), 0);
	const RsopEntry *e = entry(r, f->catalog, DELAY);
	assert_string_equal(e->value[0], "400");
	assert_int_equal(e->source->version, 2);
}

static bool diag_mentions(const DiagList *d, const char *setting, const char *text) {
	for (size_t i = 0; i < d->n; i++)
		if ((!setting || streq_ptr(d->items[i].setting, setting)) &&
		    (!text || strstr(d->items[i].message, text)))
			return true;
	return false;
}

/* Each policy is valid alone; together they break dialect min <= max. */
static void test_combined_constraint_violation(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", NULL });
	import(f, "modern", "server.dialect.min", "3.1.1", NULL);
	import(f, "old", "server.dialect.max", "3.0", NULL);
	link_(f, "modern", "/", -1, false, false);
	link_(f, "old", "/a", -1, false, false);
	assert_int_equal(store_host_add(f->store, "h", "/a"), 0);
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "h", &r, &f->diag), -EINVAL);
	assert_non_null(r); /* still shown */
	diag_print(&f->diag, stderr);
	assert_true(f->diag.n > 0);
	/* Both sides of the conflict are named. */
	assert_true(diag_mentions(&f->diag, "server.dialect.min", "policy 'modern' version 1"));
	assert_true(diag_mentions(&f->diag, "server.dialect.max", "policy 'old' version 1"));
	assert_string_equal(entry(r, f->catalog, "server.dialect.min")->value[0], "3.1.1");
	assert_string_equal(entry(r, f->catalog, "server.dialect.max")->value[0], "3.0");
	/* The root alone is fine. */
	diag_clear(&f->diag);
	assert_int_equal(store_host_move(f->store, "h", "/"), 0);
	expect(f, "h", "server.dialect.min", "3.1.1", "modern", "/");
}

/* A stored version the catalog no longer accepts: its link is ignored and
 * reported, the rest still resolves. */
static void test_unusable_stored_version(void **state) {
	Fixture *f = *state;
	import(f, "good", DELAY, "500", NULL);
	link_(f, "good", "/", -1, false, false);
	sqlite3 *db = store_db(f->store);
	assert_int_equal(
		sqlite3_exec(db,
			     "INSERT INTO policies (name) VALUES ('gone');"
			     "INSERT INTO versions (policy, version, hash, xml, time) SELECT id, 1,"
			     " 'x', '<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"gone\"><setting"
			     " id=\"server.no-such-setting\">1</setting></policy>', 0 FROM policies"
			     " WHERE name = 'gone'",
			     NULL, NULL, NULL),
		SQLITE_OK);
	link_(f, "gone", "/", 1, false, false);
	assert_int_equal(store_host_add(f->store, "h", "/"), 0);
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "h", &r, &f->diag), -EINVAL);
	assert_true(diag_mentions(&f->diag, NULL, "ignored"));
	assert_string_equal(entry(r, f->catalog, DELAY)->value[0], "500");
}

typedef struct Seen {
	size_t hosts, problems;
	const Catalog *catalog;
} Seen;

static int on_host(const Rsop *r, int status, void *userdata) {
	Seen *s = userdata;
	s->hosts++;
	if (status < 0)
		s->problems++;
	const RsopEntry *e = entry(r, s->catalog, DELAY);
	/* hosts are named after the value they must get */
	const char *want = strchr(r->host, '-') + 1;
	assert_string_equal(e->value[0], want);
	return 0;
}

static int stop_at_first(const Rsop *r, int status, void *userdata) {
	(void)r;
	(void)status;
	(void)userdata;
	return -ECANCELED;
}

static void test_resolve_all(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", "/a/b", "/c", NULL });
	import(f, "root", DELAY, "500", NULL);
	import(f, "b", DELAY, "700", NULL);
	link_(f, "root", "/", -1, false, false);
	link_(f, "b", "/a/b", -1, false, false);
	static const char *const hosts[][2] = {
		{ "x1-500", "/" },   { "x2-500", "/a" }, { "x3-700", "/a/b" },
		{ "x4-700", "/a/b" }, { "x5-500", "/c" }, { "x6-500", "/a" },
	};
	assert_int_equal(store_batch_begin(f->store), 0);
	for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
		assert_int_equal(store_host_add(f->store, hosts[i][0], hosts[i][1]), 0);
	assert_int_equal(store_batch_commit(f->store), 0);
	Seen seen = { .catalog = f->catalog };
	assert_int_equal(rsop_resolve_all(f->store, f->catalog, on_host, &seen, &f->diag), 0);
	assert_int_equal(seen.hosts, ELEMENTSOF(hosts));
	assert_int_equal(seen.problems, 0);
	assert_int_equal(rsop_resolve_all(f->store, f->catalog, stop_at_first, NULL, &f->diag),
			 -ECANCELED);

	/* The cache hands out one result per group. */
	_cleanup_(rsop_cache_freep) RsopCache *cache = NULL;
	assert_int_equal(rsop_cache_new(f->store, f->catalog, &cache), 0);
	const Rsop *r1 = NULL, *r2 = NULL;
	assert_int_equal(rsop_cache_group(cache, "/a/b", &r1, &f->diag), 0);
	assert_int_equal(rsop_cache_group(cache, "/a/b", &r2, &f->diag), 0);
	assert_ptr_equal(r1, r2);
	assert_null(r1->host);
	assert_int_equal(rsop_cache_group(cache, "/zz", &r1, &f->diag), -ENOENT);
	assert_int_equal(cache->policies[0].status, 1); /* parsed once, both used */
	assert_int_equal(cache->policies[1].status, 1);
}

static int count_problems(const Rsop *r, int status, void *userdata) {
	(void)r;
	Seen *s = userdata;
	s->hosts++;
	s->problems += status < 0;
	return 0;
}

/* Hosts of a group whose combined result breaks a constraint are counted,
 * and the group's problem is reported once, not once per host. */
static void test_resolve_all_problems(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/a", "/b", NULL });
	import(f, "modern", "server.dialect.min", "3.1.1", NULL);
	import(f, "old", "server.dialect.max", "3.0", NULL);
	link_(f, "modern", "/", -1, false, false);
	link_(f, "old", "/a", -1, false, false);
	static const char *const hosts[][2] = {
		{ "a1", "/a" }, { "a2", "/a" }, { "a3", "/a" }, { "b1", "/b" }, { "r1", "/" },
	};
	for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
		assert_int_equal(store_host_add(f->store, hosts[i][0], hosts[i][1]), 0);
	Seen seen = { .catalog = f->catalog };
	assert_int_equal(rsop_resolve_all(f->store, f->catalog, count_problems, &seen, &f->diag), 3);
	assert_int_equal(seen.hosts, 5);
	assert_int_equal(seen.problems, 3);
	size_t constraint_lines = 0;
	for (size_t i = 0; i < f->diag.n; i++)
		constraint_lines += strstr(f->diag.items[i].message, "server-dialect-order") != NULL;
	assert_int_equal(constraint_lines, 1);
}

static void test_json(void **state) {
	Fixture *f = *state;
	import(f, "p1", DELAY, "500", "client.ntlm.block", "true", "client.ntlm.exceptions",
	       "<item>nas1.example.com</item><item>10.0.0.2</item>", NULL);
	link_(f, "p1", "/", -1, false, false);
	assert_int_equal(store_host_add(f->store, "h1", "/"), 0);
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "h1", &r, &f->diag), 0);
	_cleanup_free_ char *json = NULL;
	assert_int_equal(rsop_to_json(r, &json), 0);
	assert_true(startswith(json, "{\"host\":\"h1\",\"settings\":[{\"id\":"));
	assert_non_null(strstr(json, "{\"id\":\"" DELAY "\",\"value\":500,\"source\":{\"policy\":"
				     "\"p1\",\"version\":1,\"group\":\"/\"}}"));
	assert_non_null(strstr(json, "{\"id\":\"client.ntlm.exceptions\",\"value\":"
				     "[\"nas1.example.com\",\"10.0.0.2\"],\"source\":{"));
	assert_non_null(strstr(json, "{\"id\":\"server.signing.required\",\"value\":true,"
				     "\"source\":null}"));
	assert_non_null(strstr(json, "{\"id\":\"server.dialect.min\",\"value\":\"2.0.2\","
				     "\"source\":null}"));
	assert_true(json[strlen(json) - 1] == '}' && strstr(json, "]}"));
}

static void test_policy_xml_roundtrip(void **state) {
	Fixture *f = *state;
	import(f, "p", DELAY, "500", "client.ntlm.block", "true", "client.ntlm.exceptions",
	       "<item>nas1.example.com</item>", NULL);
	link_(f, "p", "/", -1, false, false);
	assert_int_equal(store_host_add(f->store, "fs1.example.com", "/"), 0);
	_cleanup_(rsop_freep) Rsop *r = NULL;
	assert_int_equal(rsop_resolve(f->store, f->catalog, "fs1.example.com", &r, &f->diag), 0);
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(rsop_to_policy_xml(r, &xml), 0);
	_cleanup_(policy_freep) Policy *p = NULL;
	int q = policy_parse_memory(f->catalog, xml, strlen(xml), "rsop.xml", &p, &f->diag);
	diag_print(&f->diag, stderr);
	assert_int_equal(q, 0);
	assert_string_equal(p->name, "rsop:fs1.example.com");
	assert_int_equal(p->n_entries, f->catalog->n_settings); /* every setting, defaults too */
	for (size_t i = 0; i < r->n_entries; i++) {
		const PolicyEntry *e = policy_find(p, r->entries[i].setting->id);
		assert_non_null(e);
		assert_true(strv_equal(e->value, r->entries[i].value));
	}
}

static void expect_roundtrip_name(Fixture *f, const Rsop *r, const char *name) {
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(rsop_to_policy_xml(r, &xml), 0);
	_cleanup_(policy_freep) Policy *p = NULL;
	int q = policy_parse_memory(f->catalog, xml, strlen(xml), "rsop.xml", &p, &f->diag);
	diag_print(&f->diag, stderr);
	assert_int_equal(q, 0);
	assert_string_equal(p->name, name);
}

/* Group results and very long host names still make valid documents. */
static void test_policy_xml_names(void **state) {
	Fixture *f = *state;
	groups(f, (const char *const[]){ "/paris", "/paris/fs", NULL });
	_cleanup_(rsop_freep) Rsop *root = NULL, *fs = NULL, *longhost = NULL;
	assert_int_equal(rsop_resolve_group(f->store, f->catalog, "/", &root, &f->diag), 0);
	expect_roundtrip_name(f, root, "rsop-group:");
	assert_int_equal(rsop_resolve_group(f->store, f->catalog, "/paris/fs", &fs, &f->diag), 0);
	expect_roundtrip_name(f, fs, "rsop-group:paris:fs");
	char host[254];
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	assert_int_equal(store_host_add(f->store, host, "/paris"), 0);
	assert_int_equal(rsop_resolve(f->store, f->catalog, host, &longhost, &f->diag), 0);
	char want[129] = "rsop:";
	memset(want + 5, 'a', sizeof(want) - 6);
	want[128] = 0;
	expect_roundtrip_name(f, longhost, want);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_when_unset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inheritance_and_child_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_inheritance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newest_version_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_combined_constraint_violation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_stored_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_all_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_xml_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_xml_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
