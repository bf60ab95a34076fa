/*
 * test_audit_report.c - unit tests for the audit readers, the impact table,
 * compliance verdicts, the Samba observer and the report renderers:
 *   - the JSON DOM and the fast event parser accept exactly valid input;
 *   - every impact rule names a catalog setting and a valid value;
 *   - verdicts: drift -> not compliant, skipped only -> unknown (never
 *     compliant), a contradicting event after the read-back -> not
 *     compliant, one before it -> ignored;
 *   - smbstatus --json: only sessions that neither sign nor encrypt become
 *     events, once however often they are observed;
 *   - HTML escapes data and has no script, CSV rows have 14 fields, JSON
 *     parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../audit/impact.c"
#include "audit_event_parse.h"
#include "audit_ingest.h"
#include "audit_report.h"
#include "test_common.h"

static char dir[TEST_DIR_MAX];
static Catalog *catalog;

static int setup(void **state) {
	(void)state;
	if (test_mkdtemp(dir, "audit-report") < 0)
		return -1;
	if (!getenv("SMBPOLICY_SCHEMA_DIR"))
		setenv("SMBPOLICY_SCHEMA_DIR", SMBPOLICY_SRCDIR "/schema", 1);
	return catalog_load_default(&catalog) < 0 ? -1 : 0;
}

static int teardown(void **state) {
	(void)state;
	catalog_free(catalog);
	return test_rm_rf(dir);
}

static void test_json_dom(void **state) {
	(void)state;
	static const char *const good[] = {
		"{}", "[]", " {\"a\":[1,2.5e3,-0.1,true,false,null,\"x\\u00e9\\ud83d\\ude00\"]} ",
		"\"\\/\\b\\f\\n\\r\\t\"",
	};
	static const char *const bad[] = {
		"", "{", "{\"a\"}", "{\"a\":1,}", "[1 2]", "\"\\u0000\"", "\"\\ud800\"", "01x",
		"{\"a\":1} x", "\"\\x\"", "tru", "\"a\tb\"", "[1.]", "[1e+]", "[-]",
	};
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		AuditJson *j = NULL;
		if (audit_json_parse(good[i], strlen(good[i]), &j) < 0)
			fail_msg("rejected valid %s", good[i]);
		audit_json_free(j);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		AuditJson *j = NULL;
		if (audit_json_parse(bad[i], strlen(bad[i]), &j) >= 0)
			fail_msg("accepted invalid %s", bad[i]);
	}
	/* Depth limit. */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	AuditJson *j = NULL;
	assert_int_equal(audit_json_parse(deep, sizeof deep, &j), -EINVAL);
}

/* The number grammar both JSON readers share: length scanned and verdict. */
static void test_json_scan_number(void **state) {
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		bool ok;
	} v[] = {
		{ "0", 1, true },       { "-12", 3, true },   { "2.5e3,", 5, true }, { "1E-7]", 4, true },
		{ "-", 1, false },      { "1.", 2, false },   { "1.x", 2, false },   { "1e+", 3, false },
		{ "x", 0, false },      { "", 0, false },
	};
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		bool ok = !v[i].ok;
		size_t n = audit_json_scan_number(v[i].in, v[i].in + strlen(v[i].in), &ok);
		if (n != v[i].len || ok != v[i].ok)
			fail_msg("'%s': scanned %zu (%s), expected %zu (%s)", v[i].in, n, ok ? "ok" : "bad",
				 v[i].len, v[i].ok ? "ok" : "bad");
	}
}

/* The escape decoder both JSON readers share. */
static void test_json_unescape(void **state) {
	(void)state;
	static const struct {
		const char *in;
		int used;
		const char *out;
	} v[] = {
		{ "\\n", 2, "\n" },          { "\\/x", 2, "/" },
		{ "\\u00e9", 6, "\xc3\xa9" }, { "\\ud83d\\ude00", 12, "\xf0\x9f\x98\x80" },
		{ "\\u0000", -EINVAL, NULL }, { "\\ud800", -EINVAL, NULL },
		{ "\\ude00", -EINVAL, NULL }, { "\\x", -EINVAL, NULL },
		{ "\\", -EINVAL, NULL },      { "\\u12", -EINVAL, NULL },
	};
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		char out[4];
		size_t len = 0;
		int used = audit_json_unescape(v[i].in, v[i].in + strlen(v[i].in), out, &len);
		if (used != v[i].used)
			fail_msg("'%s': took %d, expected %d", v[i].in, used, v[i].used);
		if (v[i].out) {
			assert_int_equal(len, strlen(v[i].out));
			assert_memory_equal(out, v[i].out, len);
		}
	}
}

static void test_event_parse(void **state) {
	(void)state;
	const char *line = "{\"time\":\"2026-11-26T07:30:00.5Z\",\"host\":\"h\\u00e9\",\"extra\":"
			   "[{\"x\":null}],\"event_id\":3021,\"peer\":\"p\",\"fields\":{\"user\":\"a\\\"b\"}}";
	char scratch[512];
	AuditRecord rec;
	AuditField f[8];
	const char *why = NULL;
	assert_int_equal(audit_event_parse_line(line, strlen(line), scratch, &rec, f, 8, &why), 0);
	assert_string_equal(rec.host, "h\xc3\xa9");
	assert_int_equal(rec.event_id, 3021);
	assert_int_equal(rec.time_usec % 1000000, 500000);
	assert_int_equal(rec.n_fields, 1);
	assert_string_equal(f[0].value, "a\"b");
	static const char *const bad[] = {
		"{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"h\",\"event_id\":\"3021\"}",
		"{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"\",\"event_id\":3021}",
		"{\"time\":\"2026-13-26T07:30:00Z\",\"host\":\"h\",\"event_id\":3021}",
		"{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"h\",\"event_id\":3021,\"fields\":{\"a\":{}}}",
		"{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"h\",\"event_id\":3021}x",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (audit_event_parse_line(bad[i], strlen(bad[i]), scratch, &rec, f, 8, &why) >= 0)
			fail_msg("accepted %s", bad[i]);
	size_t n;
	assert_int_equal(audit_fields_parse("{\"a\":\"1\",\"b\":\"2\"}", 17, scratch, f, 8, &n), 0);
	assert_int_equal(n, 2);
}

static void test_impact_table_in_catalog(void **state) {
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(impact_rules); i++) {
		const ImpactRule *rule = &impact_rules[i];
		const CatalogSetting *s = catalog_find(catalog, rule->setting);
		if (!s)
			fail_msg("impact rule for unknown setting %s", rule->setting);
		if (rule->value) {
			char *v[] = {(char *)rule->value, NULL};
			_cleanup_(diag_clear) DiagList d = {0};
			assert_int_equal(catalog_check_value(s, v, NULL, 0, &d), 0);
		} else
			assert_true(s->type == CATALOG_ENUM); /* ordered comparison */
		assert_non_null(audit_kind_by_id(rule->event));
	}
	char buf[64];
	assert_string_equal(audit_peer_address("10.0.0.1:445", buf, sizeof buf), "10.0.0.1");
	assert_string_equal(audit_peer_address("[::1]:445", buf, sizeof buf), "::1");
	assert_string_equal(audit_peer_address("fe80::1", buf, sizeof buf), "fe80::1");
	assert_string_equal(audit_peer_address("srv.example.com", buf, sizeof buf), "srv.example.com");
}

static AuditDb *fresh_db(const char *name) {
	_cleanup_free_ char *p = strdup_printf("%s/%s", dir, name);
	AuditDb *db = NULL;
	assert_int_equal(auditdb_open(p, &db), 0);
	return db;
}

static void add_event(AuditDb *db, unsigned long long t, const char *host, AuditEventId id,
		      const char *peer, const char *dialect) {
	AuditField f[] = {{"user", "u"}, {"dialect", dialect}};
	AuditRecord r = {.time_usec = t, .host = host, .source = "test", .peer = peer,
			 .event_id = (int)id, .fields = f, .n_fields = 2};
	assert_int_equal(auditdb_add(db, &r), 1);
}

static const AuditHostResult *host_of(const AuditReport *r, const char *name) {
	for (size_t i = 0; i < r->n_hosts; i++)
		if (streq(r->hosts[i].host, name))
			return &r->hosts[i];
	fail_msg("host %s not in the report", name);
	return NULL;
}

static void test_verdicts(void **state) {
	(void)state;
	_cleanup_(auditdb_closep) AuditDb *db = fresh_db("v.db");
	const unsigned long long t0 = 1764000000000000ULL, readback = t0 + 1000000;
	const AuditActual ok[] = {{"server.dialect.min", "samba", "3.0", "3.0", "ok"}};
	const AuditActual drift[] = {{"server.signing.required", "samba", "false", "true", "drift"}};
	const AuditActual skipped[] = {{"server.signing.required", "ksmbd", "", "true", "skipped"}};
	assert_int_equal(auditdb_begin(db), 0);
	assert_int_equal(auditdb_set_actual_host(db, "good", readback, ok, 1), 0);
	assert_int_equal(auditdb_set_actual_host(db, "drifted", readback, drift, 1), 0);
	assert_int_equal(auditdb_set_actual_host(db, "unverified", readback, skipped, 1), 0);
	assert_int_equal(auditdb_set_actual_host(db, "contradicted", readback, ok, 1), 0);
	/* Before the read-back: ignored.  After: contradicts min 3.0. */
	add_event(db, t0, "good", AUDIT_SERVER_SESSION, "10.0.0.1:1", "2.1");
	add_event(db, readback + 5, "contradicted", AUDIT_SERVER_SESSION, "10.0.0.2:1", "2.1");
	add_event(db, readback + 6, "eventsonly", AUDIT_SERVER_CLIENT_NO_SIGNING, "10.0.0.3:1", "3.1.1");
	assert_int_equal(auditdb_commit(db), 0);

	_cleanup_(audit_report_freep) AuditReport *r = NULL;
	AuditReportOptions opt = {.catalog = catalog};
	assert_int_equal(audit_report_build(db, &opt, &r), 0);
	assert_int_equal(r->n_hosts, 5);
	assert_int_equal(host_of(r, "good")->verdict, AUDIT_COMPLIANT);
	assert_int_equal(host_of(r, "drifted")->verdict, AUDIT_NOT_COMPLIANT);
	assert_int_equal(host_of(r, "unverified")->verdict, AUDIT_UNKNOWN);
	assert_int_equal(host_of(r, "contradicted")->verdict, AUDIT_NOT_COMPLIANT);
	assert_int_equal(host_of(r, "eventsonly")->verdict, AUDIT_UNKNOWN);
	assert_non_null(strstr(host_of(r, "contradicted")->settings[0].evidence, "observed 1 event"));
	assert_int_equal(r->hosts_by_verdict[AUDIT_COMPLIANT], 1);
	assert_int_equal(r->hosts_by_verdict[AUDIT_NOT_COMPLIANT], 2);
	assert_int_equal(r->hosts_by_verdict[AUDIT_UNKNOWN], 2);
	/* Not compliant first, then unknown, then compliant. */
	assert_int_equal(r->hosts[0].verdict, AUDIT_NOT_COMPLIANT);
	assert_int_equal(r->hosts[r->n_hosts - 1].verdict, AUDIT_COMPLIANT);
	assert_int_equal(r->sections[AUDIT_SEC_CLIENT_NO_SIGNING].n_rows, 1);
	assert_string_equal(r->sections[AUDIT_SEC_CLIENT_NO_SIGNING].rows[0]->key, "10.0.0.3");

	/* Group filter: only hosts of /a count, anywhere. */
	AuditTally groups = {0};
	assert_non_null(audit_tally_add(&groups, "good", "/a/b", NULL, 0));
	assert_non_null(audit_tally_add(&groups, "eventsonly", "/ab", NULL, 0));
	_cleanup_(audit_report_freep) AuditReport *ra = NULL;
	AuditReportOptions opt_a = {.catalog = catalog, .group = "/a", .host_groups = &groups};
	assert_int_equal(audit_report_build(db, &opt_a, &ra), 0);
	assert_int_equal(ra->n_hosts, 1);
	assert_string_equal(ra->hosts[0].host, "good");
	assert_int_equal(ra->sections[AUDIT_SEC_CLIENT_NO_SIGNING].n_rows, 0);
	audit_tally_clear(&groups);
}

static void test_samba(void **state) {
	(void)state;
	_cleanup_(auditdb_closep) AuditDb *db = fresh_db("s.db");
	_cleanup_free_ char *path = strdup_printf("%s/smbstatus.json", dir);
	const char *json =
		"{\"timestamp\":\"x\",\"version\":\"4.17.12\",\"sessions\":{"
		"\"1\":{\"session_id\":\"1\",\"server_id\":{\"pid\":\"100\"},\"username\":\"bob\","
		"\"remote_machine\":\"10.1.1.1\",\"hostname\":\"ipv4:10.1.1.1:5000\","
		"\"session_dialect\":\"SMB2_10\",\"encryption\":{\"cipher\":\"\",\"degree\":\"none\"},"
		"\"signing\":{\"cipher\":\"\",\"degree\":\"none\"}},"
		"\"2\":{\"session_id\":\"2\",\"server_id\":{\"pid\":\"101\"},\"username\":\"al\","
		"\"remote_machine\":\"::1\",\"hostname\":\"ipv6:::1:5001\","
		"\"session_dialect\":\"SMB3_11\",\"encryption\":{\"cipher\":\"\",\"degree\":\"none\"},"
		"\"signing\":{\"cipher\":\"AES-128-GMAC\",\"degree\":\"full\"}}}}";
	assert_int_equal(write_file_atomic(path, json, strlen(json), 0644), 0);
	AuditIngestStats st = {0};
	assert_int_equal(audit_ingest_samba(db, path, "nas1", &st), 0);
	assert_int_equal(st.added, 1);
	AuditIngestStats st2 = {0};
	assert_int_equal(audit_ingest_samba(db, path, "nas1", &st2), 0);
	assert_int_equal(st2.added, 0);
	assert_int_equal(st2.duplicates, 1);
	/* The session ends (forgotten), a new one with the same ids is new. */
	_cleanup_free_ char *empty = strdup_printf("%s/empty.json", dir);
	assert_int_equal(write_file_atomic(empty, "{\"sessions\":{}}", 15, 0644), 0);
	AuditIngestStats st3 = {0};
	assert_int_equal(audit_ingest_samba(db, empty, "nas1", &st3), 0);
	_cleanup_free_ char *cursor = NULL;
	assert_int_equal(auditdb_get_cursor(db, "samba:nas1:100:1", &cursor), -ENOENT);
	_cleanup_(audit_report_freep) AuditReport *r = NULL;
	AuditReportOptions opt = {.catalog = catalog};
	assert_int_equal(audit_report_build(db, &opt, &r), 0);
	const AuditSection *sec = &r->sections[AUDIT_SEC_CLIENT_NO_ENCRYPTION];
	assert_int_equal(sec->n_rows, 1);
	assert_string_equal(sec->rows[0]->key, "10.1.1.1");
	assert_string_equal(r->sections[AUDIT_SEC_DIALECTS].rows[0]->key, "2.1");
}

static void test_renderers(void **state) {
	(void)state;
	_cleanup_(auditdb_closep) AuditDb *db = fresh_db("r.db");
	add_event(db, 1764000000000000ULL, "<b>evil</b>", AUDIT_SERVER_CLIENT_NO_SIGNING,
		  "\"quoted\",peer:1", "3.0");
	_cleanup_(audit_report_freep) AuditReport *r = NULL;
	AuditReportOptions opt = {.catalog = catalog};
	assert_int_equal(audit_report_build(db, &opt, &r), 0);
	_cleanup_free_ char *html = NULL, *json = NULL, *csv = NULL;
	assert_int_equal(audit_report_html(r, &html), 0);
	assert_int_equal(audit_report_json(r, &json), 0);
	assert_int_equal(audit_report_csv(r, &csv), 0);
	assert_null(strstr(html, "<b>evil"));
	assert_non_null(strstr(html, "&lt;b&gt;evil"));
	assert_null(strstr(html, "<script"));
	AuditJson *j = NULL;
	assert_int_equal(audit_json_parse(json, strlen(json), &j), 0);
	assert_int_equal(audit_json_get(j, "hosts")->child->type, AUDIT_JSON_OBJECT);
	audit_json_free(j);
	/* Every CSV record has 14 fields (13 commas outside quotes). */
	unsigned records = 0;
	for (const char *p = csv; *p;) {
		unsigned commas = 0;
		bool quoted = false;
		for (; *p && !(p[0] == '\r' && p[1] == '\n' && !quoted); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == ',' && !quoted)
				commas++;
		}
		assert_int_equal(commas, 13);
		records++;
		p += *p ? 2 : 0;
	}
	assert_true(records >= 3);
	assert_non_null(strstr(csv, "\"\"\"quoted\"\",peer\""));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_dom),
		cmocka_unit_test(test_json_scan_number),
		cmocka_unit_test(test_json_unescape),
		cmocka_unit_test(test_event_parse),
		cmocka_unit_test(test_impact_table_in_catalog),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_samba),
		cmocka_unit_test(test_renderers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
