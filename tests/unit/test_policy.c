/*
 * test_policy.c - unit tests for policy documents: the example policies
 * parse; canonical XML round-trips to the same hash; every structural and
 * value error names file, line, setting id and what was expected; hostile
 * inputs (XXE, billion laughs, external DTD, 100 MB, 10,000-deep nesting,
 * invalid UTF-8, wrong encoding, NUL bytes) fail fast, leak nothing from the
 * file system into diagnostics, and make libxml2 print nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "policy.h"
#include "strbuf.h"
#include "test_common.h"

static Catalog *cat;
static char tmpdir[TEST_DIR_MAX];

static int setup_all(void **state) {
	(void)state;
	if (test_mkdtemp(tmpdir, "policy") < 0)
		return -1;
	return catalog_load_default(&cat) == 0 ? 0 : -1;
}

static int teardown_all(void **state) {
	(void)state;
	catalog_free(cat);
	return test_rm_rf(tmpdir);
}

static char *example_path(const char *name) {
	return strdup_printf("%s/policies/%s", catalog_schema_dir(), name);
}

static int parse_text(const char *xml, Policy **ret, DiagList *d) {
	return policy_parse_memory(cat, xml, strlen(xml), "t.xml", ret, d);
}

static bool diag_has(const DiagList *d, const char *setting, unsigned line, const char *needle) {
	for (size_t i = 0; i < d->n; i++)
		if ((!setting || streq_ptr(d->items[i].setting, setting)) &&
		    (!line || d->items[i].line == line) &&
		    (!needle || strstr(d->items[i].message, needle)))
			return true;
	return false;
}

static void dump_diag(const DiagList *d) {
	diag_print(d, stderr);
}

/* ---- the example policies ---- */

static const char *const examples[] = { "windows-2025-defaults.xml", "strict.xml",
					"legacy-compat.xml" };

static void test_policy_examples_valid(void **state) {
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(examples); i++) {
		_cleanup_free_ char *path = example_path(examples[i]);
		_cleanup_(policy_freep) Policy *p = NULL;
		_cleanup_(diag_clear) DiagList d = { 0 };
		int r = policy_parse_file(cat, path, &p, &d);
		if (r < 0) {
			dump_diag(&d);
			fail_msg("%s does not parse: %d", path, r);
		}
		assert_int_equal(d.n, 0);
		assert_int_equal(strlen(p->hash), 64);
		assert_non_null(p->description);
		_cleanup_free_ char *base = strndup(examples[i], strlen(examples[i]) - 4);
		assert_string_equal(p->name, base);
		for (size_t j = 0; j < p->n_entries; j++)
			assert_true(p->entries[j].line > 0);
	}
}

static Policy *parse_example(const char *name) {
	_cleanup_free_ char *path = example_path(name);
	_cleanup_(diag_clear) DiagList d = { 0 };
	Policy *p = NULL;
	assert_int_equal(policy_parse_file(cat, path, &p, &d), 0);
	return p;
}

static void test_policy_defaults_example_is_catalog_defaults(void **state) {
	(void)state;
	_cleanup_(policy_freep) Policy *p = parse_example("windows-2025-defaults.xml");
	assert_int_equal(p->n_entries, cat->n_settings); /* every setting spelled out */
	for (size_t i = 0; i < p->n_entries; i++)
		if (!strv_equal(p->entries[i].value, p->entries[i].setting->default_value))
			fail_msg("%s differs from the catalog default", p->entries[i].setting->id);
}

static void test_policy_strict_contents(void **state) {
	(void)state;
	_cleanup_(policy_freep) Policy *p = parse_example("strict.xml");
	_cleanup_free_ char ***values = NULL;
	assert_int_equal(policy_effective_values(cat, p, &values), 0);
	assert_null(values[cat->n_settings]);
	const struct {
		const char *id, *value;
	} want[] = {
		{ "server.signing.required", "true" },   { "client.signing.required", "true" },
		{ "server.encryption.required", "true" }, { "client.encryption.required", "true" },
		{ "server.dialect.min", "3.1.1" },       { "server.dialect.max", "3.1.1" },
		{ "client.dialect.min", "3.1.1" },       { "client.dialect.max", "3.1.1" },
		{ "client.ntlm.block", "true" },          { "server.transport.quic.enabled", "true" },
		{ "server.quic.client-access.required", "true" },
	};
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		int k = catalog_index(cat, want[i].id);
		assert_true(k >= 0);
		assert_int_equal(strv_length(values[k]), 1);
		assert_string_equal(values[k][0], want[i].value);
	}
	const PolicyEntry *e = policy_find(p, "client.ntlm.exceptions");
	assert_non_null(e);
	assert_int_equal(strv_length(e->value), 1);
	assert_null(policy_find(p, "client.quic.servers"));
	assert_null(policy_find(p, "no.such.setting"));
	/* an unset setting falls back to the catalog default */
	int k = catalog_index(cat, "server.transport.tcp.port");
	assert_true(values[k] == cat->settings[k].default_value);
}

static void test_policy_round_trip(void **state) {
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(examples); i++) {
		_cleanup_(policy_freep) Policy *p = parse_example(examples[i]);
		_cleanup_free_ char *xml = NULL, *xml2 = NULL;
		assert_int_equal(policy_to_xml(p, &xml), 0);
		_cleanup_(policy_freep) Policy *q = NULL;
		_cleanup_(diag_clear) DiagList d = { 0 };
		if (parse_text(xml, &q, &d) < 0) {
			dump_diag(&d);
			fail_msg("canonical form of %s does not parse:\n%s", examples[i], xml);
		}
		assert_string_equal(p->hash, q->hash);
		assert_int_equal(policy_to_xml(q, &xml2), 0);
		assert_string_equal(xml, xml2);
	}
}

static void test_policy_canonical_values(void **state) {
	(void)state;
	const char *loose =
		"<policy xmlns='urn:smbpolicy:policy:1' name='n'>\n"
		"  <setting id='server.signing.required'>\n   true\n  </setting>\n"
		"  <setting id='client.ntlm.exceptions'> <item> NAS1.Example.COM </item>\n"
		"    <item>10.0.0.1</item> </setting>\n"
		"  <setting id='client.ntlm.block'><![CDATA[true]]></setting>\n"
		"  <setting id='server.quic.client-access.block'><item>sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08</item></setting>\n"
		"</policy>\n";
	const char *tight =
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"n\">"
		"<setting id=\"server.quic.client-access.block\"><item>sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</item></setting>"
		"<setting id=\"client.ntlm.block\">true</setting>"
		"<setting id=\"client.ntlm.exceptions\"><item>nas1.example.com</item><item>10.0.0.1</item></setting>"
		"<setting id=\"server.signing.required\">true</setting></policy>";
	_cleanup_(policy_freep) Policy *a = NULL, *b = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	if (parse_text(loose, &a, &d) < 0) {
		dump_diag(&d);
		fail();
	}
	assert_int_equal(parse_text(tight, &b, &d), 0);
	assert_string_equal(a->hash, b->hash);
	assert_string_equal(policy_find(a, "client.ntlm.exceptions")->value[0], "nas1.example.com");
	/* document order is kept in entries; the canonical XML sorts by id */
	assert_string_equal(a->entries[0].setting->id, "server.signing.required");
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(policy_to_xml(a, &xml), 0);
	assert_true(strstr(xml, "client.ntlm.block") < strstr(xml, "server.signing.required"));
	/* list item order is meaningful: a different order is a different policy */
	const char *swapped =
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"n\">"
		"<setting id=\"server.quic.client-access.block\"><item>sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</item></setting>"
		"<setting id=\"client.ntlm.block\">true</setting>"
		"<setting id=\"client.ntlm.exceptions\"><item>10.0.0.1</item><item>nas1.example.com</item></setting>"
		"<setting id=\"server.signing.required\">true</setting></policy>";
	_cleanup_(policy_freep) Policy *c = NULL;
	assert_int_equal(parse_text(swapped, &c, &d), 0);
	assert_string_not_equal(a->hash, c->hash);
}

static void test_policy_escaping_round_trip(void **state) {
	(void)state;
	const char *xml = "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"n\">"
			  "<description>a &lt;b&gt; &amp; \"c\" 'd' \xc3\xa9</description>"
			  "<setting id=\"server.quic.client-access.allow\"><item>issuer:CN=A &amp; B,O=\"Q\"</item></setting>"
			  "</policy>";
	_cleanup_(policy_freep) Policy *p = NULL, *q = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(parse_text(xml, &p, &d), 0);
	assert_string_equal(p->description, "a <b> & \"c\" 'd' \xc3\xa9");
	_cleanup_free_ char *out = NULL;
	assert_int_equal(policy_to_xml(p, &out), 0);
	assert_int_equal(parse_text(out, &q, &d), 0);
	assert_string_equal(p->hash, q->hash);
	assert_string_equal(q->entries[0].value[0], "issuer:CN=A & B,O=\"Q\"");
}

static void test_policy_empty_policy(void **state) {
	(void)state;
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(parse_text("<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"empty\"/>", &p, &d), 0);
	assert_int_equal(p->n_entries, 0);
	assert_null(p->description);
}

/* ---- errors: file, line, setting, what was expected ---- */

#define P(body) "<?xml version=\"1.0\"?>\n<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\">\n" body "</policy>\n"

static const struct {
	const char *name, *xml, *setting;
	unsigned line;
	const char *why;
} error_cases[] = {
	{ "unknown-id", P("<setting id=\"server.signing.requird\">true</setting>\n"),
	  "server.signing.requird", 3, "unknown setting id: did you mean server.signing.required?" },
	{ "unknown-id-far", P("<setting id=\"x.y\">true</setting>\n"), "x.y", 3,
	  "unknown setting id: expected one of the catalog's ids" },
	{ "duplicate", P("<setting id=\"client.ntlm.block\">true</setting>\n<setting id=\"client.ntlm.block\">false</setting>\n"),
	  "client.ntlm.block", 4, "twice (first at line 3)" },
	{ "wrong-namespace", "<policy xmlns=\"urn:smbpolicy:policy:2\" name=\"t\"/>", NULL, 1,
	  "expected root element <policy xmlns=\"urn:smbpolicy:policy:1\">" },
	{ "no-namespace", "<policy name=\"t\"/>", NULL, 1, "without a namespace" },
	{ "wrong-root", "<catalog xmlns=\"urn:smbpolicy:policy:1\"/>", NULL, 1, "found <catalog>" },
	{ "missing-name", "<policy xmlns=\"urn:smbpolicy:policy:1\">\n</policy>", NULL, 1,
	  "no name attribute" },
	{ "bad-name", "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"a b\"/>", NULL, 1, "name" },
	{ "missing-id", P("<setting>true</setting>\n"), NULL, 3, "'id' is required" },
	{ "unexpected-element", P("<settings id=\"a\"/>\n"), NULL, 3, "not expected" },
	{ "element-inside-setting", P("<setting id=\"client.ntlm.exceptions\"><host>a</host></setting>\n"),
	  "client.ntlm.exceptions", 3, "not expected" },
	{ "attribute-on-item", P("<setting id=\"client.ntlm.exceptions\">\n<item x=\"1\">a</item></setting>\n"),
	  "client.ntlm.exceptions", 4, "not allowed" },
	{ "description-after-settings",
	  P("<setting id=\"client.ntlm.block\">true</setting>\n<description>x</description>\n"), NULL, 4,
	  "not expected" },
	{ "text-in-list", P("<setting id=\"client.ntlm.exceptions\">nas1,nas2</setting>\n"),
	  "client.ntlm.exceptions", 3, "<item> elements, not text" },
	{ "item-in-scalar", P("<setting id=\"client.ntlm.block\"><item>true</item></setting>\n"),
	  "client.ntlm.block", 3, "not <item> elements" },
	{ "uppercase-bool", P("<setting id=\"server.signing.required\"> TRUE </setting>\n"),
	  "server.signing.required", 3, "expected true or false" },
	{ "int-garbage", P("<setting id=\"server.transport.tcp.port\">445x</setting>\n"),
	  "server.transport.tcp.port", 3, "decimal integer" },
	{ "delay-step", P("<setting id=\"server.auth-rate-limiter.delay-ms\">250</setting>\n"),
	  "server.auth-rate-limiter.delay-ms", 3, "multiple of 100" },
	{ "dialect-unknown", P("<setting id=\"server.dialect.min\">SMB311</setting>\n"),
	  "server.dialect.min", 3, "one of 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1" },
	{ "empty-item", P("<setting id=\"client.ntlm.exceptions\"><item/></setting>\n"),
	  "client.ntlm.exceptions", 3, "invalid item" },
	{ "cert-id", P("<setting id=\"server.quic.client-access.allow\"><item>thumbprint:ab</item></setting>\n"),
	  "server.quic.client-access.allow", 3, "sha256:<64 hex digits> or issuer:" },
	{ "dialect-order", P("<setting id=\"server.dialect.min\">3.1.1</setting>\n<setting id=\"server.dialect.max\">3.0</setting>\n"),
	  "server.dialect.min", 3, "server-dialect-order" },
	{ "constraint-blames-document-line",
	  P("<setting id=\"client.quic.enabled\">false</setting>\n<setting id=\"client.encryption.required\">true</setting>\n"
	    "<setting id=\"client.dialect.max\">2.1</setting>\n"),
	  "client.dialect.max", 5, "client-encryption-needs-smb3" },
	{ "guest-vs-signing", P("<setting id=\"server.guest.allowed\">true</setting>\n"),
	  "server.signing.required", 3, "contradicts server.signing.required" },
	{ "not-well-formed", P("<setting id=\"client.ntlm.block\">true</setting\n"), NULL, 0, "" },
	{ "empty", "", NULL, 0, "empty" },
	{ "plain-text", "hello", NULL, 1, "" },
};

static void test_policy_errors(void **state) {
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
		_cleanup_(policy_freep) Policy *p = NULL;
		_cleanup_(diag_clear) DiagList d = { 0 };
		int r = parse_text(error_cases[i].xml, &p, &d);
		if (r >= 0 || p)
			fail_msg("%s: accepted", error_cases[i].name);
		bool ok = diag_has(&d, error_cases[i].setting, error_cases[i].line, error_cases[i].why);
		if (!ok) {
			dump_diag(&d);
			fail_msg("%s: no error for setting %s line %u mentioning \"%s\"",
				 error_cases[i].name, error_cases[i].setting ? error_cases[i].setting : "-",
				 error_cases[i].line, error_cases[i].why);
		}
		for (size_t j = 0; j < d.n; j++)
			assert_string_equal(d.items[j].file, "t.xml");
	}
}

static void test_policy_reports_all_setting_errors(void **state) {
	(void)state;
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(parse_text(P("<setting id=\"a.b\">1</setting>\n"
				      "<setting id=\"server.signing.required\">yes</setting>\n"
				      "<setting id=\"server.transport.tcp.port\">0</setting>\n"), &p, &d),
			 -EINVAL);
	assert_true(diag_has(&d, "a.b", 3, "unknown"));
	assert_true(diag_has(&d, "server.signing.required", 4, "true or false"));
	assert_true(diag_has(&d, "server.transport.tcp.port", 5, "out of range"));
}

static void test_policy_line_numbers_past_65535(void **state) {
	(void)state;
	StrBuf b = { 0 };
	strbuf_append(&b, "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\">");
	for (int i = 0; i < 70000; i++)
		strbuf_append(&b, "\n");
	strbuf_append(&b, "<setting id=\"server.signing.required\">maybe</setting></policy>");
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(strbuf_finish(&b, &xml), 0);
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(parse_text(xml, &p, &d), -EINVAL);
	assert_true(diag_has(&d, "server.signing.required", 70001, "true or false"));
}

/* Unknown ids do not hide constraint errors; refused values do (the
 * constraint would judge the default instead of what the admin wrote). */
static void test_policy_constraints_after_id_errors(void **state) {
	(void)state;
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 }, d2 = { 0 };
	assert_int_equal(parse_text(P("<setting id=\"server.dialect.min\">3.1.1</setting>\n"
				      "<setting id=\"server.dialect.max\">3.0</setting>\n"
				      "<setting id=\"a.b\">1</setting>\n"), &p, &d),
			 -EINVAL);
	assert_true(diag_has(&d, "a.b", 5, "unknown setting id"));
	assert_true(diag_has(&d, "server.dialect.min", 3, "server-dialect-order"));
	assert_int_equal(parse_text(P("<setting id=\"server.guest.allowed\">true</setting>\n"
				      "<setting id=\"server.signing.required\">flase</setting>\n"), &p, &d2),
			 -EINVAL);
	assert_null(p);
	assert_true(diag_has(&d2, "server.signing.required", 4, "true or false"));
	assert_false(diag_has(&d2, NULL, 0, "server-guest-contradicts-signing"));
}

static void test_policy_file_errors(void **state) {
	(void)state;
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(policy_parse_file(cat, "/nonexistent/p.xml", &p, &d), -ENOENT);
	assert_true(diag_has(&d, NULL, 0, "cannot read"));
	assert_string_equal(d.items[0].file, "/nonexistent/p.xml");
}

/* ---- hostile inputs ---- */

/* Run one parse with stderr redirected; assert it failed within 2 s and that
 * nothing was printed.  Returns the diagnostics for further checks. */
static void parse_hostile(const char *name, const char *buf, size_t len, DiagList *d) {
	_cleanup_free_ char *errpath = strdup_printf("%s/stderr", tmpdir);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	unsigned long long t0 = now_mono_usec();
	Policy *p = NULL;
	int r = policy_parse_memory(cat, buf, len, name, &p, d);
	unsigned long long dt = now_mono_usec() - t0;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	struct stat st;
	assert_int_equal(stat(errpath, &st), 0);
	if (st.st_size != 0)
		fail_msg("%s: libxml2 printed %lld bytes to stderr", name, (long long)st.st_size);
	if (r >= 0 || p)
		fail_msg("%s: hostile input accepted", name);
	if (dt > 2000000)
		fail_msg("%s: took %llu ms to fail", name, dt / 1000);
	if (d->n == 0)
		fail_msg("%s: failed without a diagnostic", name);
}

static void test_policy_xxe(void **state) {
	(void)state;
	_cleanup_free_ char *secret = strdup_printf("%s/secret", tmpdir);
	assert_int_equal(write_file_atomic(secret, "TOPSECRET", 9, 0600), 0);
	const char *forms[] = {
		"<?xml version=\"1.0\"?>\n<!DOCTYPE policy [<!ENTITY x SYSTEM \"file://%s\">]>\n"
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>&x;</description></policy>",
		"<!DOCTYPE policy SYSTEM \"%s\">\n<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"/>",
		"<!DOCTYPE policy [<!ENTITY %% p SYSTEM \"file://%s\"> %%p;]>\n"
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"/>",
		"<!DOCTYPE policy PUBLIC \"-//x//y\" \"http://127.0.0.1:1/%s\">\n"
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"/>",
	};
	for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
		_cleanup_free_ char *xml = strdup_printf(forms[i], secret);
		_cleanup_(diag_clear) DiagList d = { 0 };
		parse_hostile("xxe.xml", xml, strlen(xml), &d);
		assert_true(diag_has(&d, NULL, 0, "DOCTYPE"));
		for (size_t j = 0; j < d.n; j++)
			assert_null(strstr(d.items[j].message, "TOPSECRET"));
	}
}

static void test_policy_billion_laughs(void **state) {
	(void)state;
	StrBuf b = { 0 };
	strbuf_append(&b, "<?xml version=\"1.0\"?>\n<!DOCTYPE policy [\n<!ENTITY lol0 \"lol\">\n");
	for (int i = 1; i < 10; i++)
		strbuf_printf(&b, "<!ENTITY lol%d \"&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;\">\n",
			      i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	strbuf_append(&b, "]>\n<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>&lol9;</description></policy>\n");
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(strbuf_finish(&b, &xml), 0);
	_cleanup_(diag_clear) DiagList d = { 0 };
	parse_hostile("laughs.xml", xml, strlen(xml), &d);
	assert_true(diag_has(&d, NULL, 2, "DOCTYPE"));
}

static void test_policy_undeclared_entity(void **state) {
	(void)state;
	const char *xml = "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>&x;</description></policy>";
	_cleanup_(diag_clear) DiagList d = { 0 };
	parse_hostile("ent.xml", xml, strlen(xml), &d);
	assert_true(diag_has(&d, NULL, 1, "x"));
}

static void test_policy_huge(void **state) {
	(void)state;
	/* in memory: refused on its length before any parsing */
	size_t len = 100u * 1024 * 1024;
	_cleanup_free_ char *buf = malloc(len);
	assert_non_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\">", 48);
	_cleanup_(diag_clear) DiagList d = { 0 };
	parse_hostile("huge.xml", buf, len, &d);
	assert_true(diag_has(&d, NULL, 0, "limit"));

	/* on disk: a sparse 100 MB file is refused on its size, not read */
	_cleanup_free_ char *path = strdup_printf("%s/huge.xml", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
	_cleanup_(diag_clear) DiagList d2 = { 0 };
	Policy *p = NULL;
	unsigned long long t0 = now_mono_usec();
	assert_int_equal(policy_parse_file(cat, path, &p, &d2), -EFBIG);
	assert_true(now_mono_usec() - t0 < 100000);
	assert_null(p);
	assert_true(diag_has(&d2, NULL, 0, "limit"));

	/* just over the limit, in memory */
	_cleanup_(diag_clear) DiagList d3 = { 0 };
	assert_int_equal(policy_parse_memory(cat, buf, POLICY_MAX_BYTES + 1, "big", &p, &d3), -EFBIG);
}

static void test_policy_deep_nesting(void **state) {
	(void)state;
	StrBuf b = { 0 };
	strbuf_append(&b, "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>");
	for (int i = 0; i < 10000; i++)
		strbuf_append(&b, "<a>");
	for (int i = 0; i < 10000; i++)
		strbuf_append(&b, "</a>");
	strbuf_append(&b, "</description></policy>");
	_cleanup_free_ char *xml = NULL;
	assert_int_equal(strbuf_finish(&b, &xml), 0);
	_cleanup_(diag_clear) DiagList d = { 0 };
	parse_hostile("deep.xml", xml, strlen(xml), &d);
	assert_true(diag_has(&d, NULL, 1, "nested too deeply"));

	/* below libxml2's limit but above ours */
	StrBuf c = { 0 };
	strbuf_append(&c, "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>");
	for (int i = 0; i < 40; i++)
		strbuf_append(&c, "<a>");
	for (int i = 0; i < 40; i++)
		strbuf_append(&c, "</a>");
	strbuf_append(&c, "</description></policy>");
	_cleanup_free_ char *xml2 = NULL;
	assert_int_equal(strbuf_finish(&c, &xml2), 0);
	_cleanup_(diag_clear) DiagList d2 = { 0 };
	parse_hostile("deep40.xml", xml2, strlen(xml2), &d2);
	assert_true(diag_has(&d2, NULL, 1, "nested deeper than"));
}

static void test_policy_bad_encoding(void **state) {
	(void)state;
	static const struct {
		const char *name;
		const char *xml;
		size_t len;
	} cases[] = {
#define C(n, s) { n, s, sizeof(s) - 1 }
		C("invalid-utf8", "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>\xff\xfe</description></policy>"),
		C("overlong-utf8", "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>\xc0\xaf</description></policy>"),
		C("surrogate-utf8", "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>\xed\xa0\x80</description></policy>"),
		C("truncated-utf8", "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>\xe2\x82</description></policy>"),
		C("latin1-declared", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>caf\xe9</description></policy>"),
		C("nul-byte", "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\"><description>a\0b</description></policy>"),
		C("utf16-bom", "\xff\xfe<\0p\0o\0l\0i\0c\0y\0/\0>\0"),
#undef C
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(diag_clear) DiagList d = { 0 };
		parse_hostile(cases[i].name, cases[i].xml, cases[i].len, &d);
	}
}

static void test_policy_no_network_no_xinclude(void **state) {
	(void)state;
	const char *xml = "<policy xmlns=\"urn:smbpolicy:policy:1\" xmlns:xi=\"http://www.w3.org/2001/XInclude\" name=\"t\">"
			  "<xi:include href=\"http://127.0.0.1:1/x.xml\"/></policy>";
	_cleanup_(diag_clear) DiagList d = { 0 };
	parse_hostile("xinclude.xml", xml, strlen(xml), &d);
	assert_true(diag_has(&d, NULL, 1, "not expected"));
}

/* xsi:schemaLocation must not make the validator load another schema: the
 * one named here would reject every <policy>. */
static void test_policy_ignores_schema_location(void **state) {
	(void)state;
	_cleanup_free_ char *evil = strdup_printf("%s/evil.xsd", tmpdir);
	const char *xsd = "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
			  "targetNamespace=\"urn:smbpolicy:policy:1\"><xs:element name=\"other\"/></xs:schema>";
	assert_int_equal(write_file_atomic(evil, xsd, strlen(xsd), 0644), 0);
	_cleanup_free_ char *xml = strdup_printf(
		"<policy xmlns=\"urn:smbpolicy:policy:1\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		"xsi:schemaLocation=\"urn:smbpolicy:policy:1 %s\" name=\"t\">"
		"<setting id=\"client.ntlm.block\">true</setting></policy>", evil);
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	if (parse_text(xml, &p, &d) < 0) {
		dump_diag(&d);
		fail();
	}
}

/* Near the size limit, documents built to make checks quadratic: a list of
 * 200,000 items, 80,000 unknown or duplicate settings. */
static char *repeat_doc(const char *head, const char *unit, unsigned n, const char *tail) {
	StrBuf b = { 0 };
	strbuf_append(&b, "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"t\">");
	strbuf_append(&b, head);
	for (unsigned i = 0; i < n; i++)
		strbuf_printf(&b, unit, i);
	strbuf_append(&b, tail);
	strbuf_append(&b, "</policy>");
	char *out = NULL;
	assert_int_equal(strbuf_finish(&b, &out), 0);
	assert_true(strlen(out) <= POLICY_MAX_BYTES);
	return out;
}

static void test_policy_algorithmic_complexity(void **state) {
	(void)state;
	static const struct {
		const char *head, *unit;
		unsigned n;
		const char *tail, *why;
	} cases[] = {
		{ "<setting id=\"client.ntlm.block\">true</setting><setting id=\"client.ntlm.exceptions\">",
		  "<item>h%u</item>", 200000, "</setting>", "expected at most 1024" },
		{ "", "<setting id=\"server.signing.requirex\">%u</setting>", 75000, "", "unknown setting id" },
		{ "", "<setting id=\"server.signing.required\">true</setting><!--%u-->", 60000, "", "given twice" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *xml = repeat_doc(cases[i].head, cases[i].unit, cases[i].n, cases[i].tail);
		_cleanup_(diag_clear) DiagList d = { 0 };
		parse_hostile("big.xml", xml, strlen(xml), &d);
		assert_true(diag_has(&d, NULL, 0, cases[i].why));
	}

	/* the longest allowed lists, with a duplicate at the end, and both
	 * QUIC access lists full and overlapping in one item */
	StrBuf b = { 0 };
	strbuf_append(&b, "<setting id=\"server.quic.client-access.allow\">");
	for (unsigned i = 0; i < 1024; i++)
		strbuf_printf(&b, "<item>issuer:CN=allow%u</item>", i);
	strbuf_append(&b, "</setting><setting id=\"server.quic.client-access.block\">");
	for (unsigned i = 0; i < 1023; i++)
		strbuf_printf(&b, "<item>issuer:CN=block%u</item>", i);
	strbuf_append(&b, "<item>issuer:CN=allow7</item></setting>");
	_cleanup_free_ char *body = NULL;
	assert_int_equal(strbuf_finish(&b, &body), 0);
	_cleanup_free_ char *xml = repeat_doc(body, "", 0, "");
	_cleanup_(diag_clear) DiagList d = { 0 };
	parse_hostile("lists.xml", xml, strlen(xml), &d);
	assert_true(diag_has(&d, "server.quic.client-access.block", 1, "quic-client-access-lists-disjoint"));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_examples_valid),
		cmocka_unit_test(test_policy_defaults_example_is_catalog_defaults),
		cmocka_unit_test(test_policy_strict_contents),
		cmocka_unit_test(test_policy_round_trip),
		cmocka_unit_test(test_policy_canonical_values),
		cmocka_unit_test(test_policy_escaping_round_trip),
		cmocka_unit_test(test_policy_empty_policy),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_policy_reports_all_setting_errors),
		cmocka_unit_test(test_policy_line_numbers_past_65535),
		cmocka_unit_test(test_policy_constraints_after_id_errors),
		cmocka_unit_test(test_policy_file_errors),
		cmocka_unit_test(test_policy_xxe),
		cmocka_unit_test(test_policy_billion_laughs),
		cmocka_unit_test(test_policy_undeclared_entity),
		cmocka_unit_test(test_policy_huge),
		cmocka_unit_test(test_policy_deep_nesting),
		cmocka_unit_test(test_policy_bad_encoding),
		cmocka_unit_test(test_policy_no_network_no_xinclude),
		cmocka_unit_test(test_policy_algorithmic_complexity),
		cmocka_unit_test(test_policy_ignores_schema_location),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
