/*
 * test_audit_event.c - unit tests for audit/audit_event.c: the C table of
 * event kinds agrees with schema/audit-events.xml (ids, names, MESSAGE_IDs,
 * priorities, summaries, no duplicates), and the emitter writes exactly one
 * complete JSON line per event, dropping bad field names and cutting huge
 * values without losing the event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "audit_event.h"

static char *xml_attr(xmlNode *n, const char *name) {
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static void test_table_matches_xml(void **state) {
	(void)state;
	xmlDoc *doc = xmlReadFile(SMBPOLICY_SRCDIR "/schema/audit-events.xml", NULL,
				  XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	assert_non_null(doc);
	size_t n_kinds, seen = 0;
	const AuditKind *kinds = audit_kinds(&n_kinds);
	for (xmlNode *n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		char *id = xml_attr(n, "id"), *name = xml_attr(n, "name");
		char *mid = xml_attr(n, "message-id"), *prio = xml_attr(n, "priority");
		char *summary = (char *)xmlNodeGetContent(n);
		const AuditKind *k = audit_kind_by_id((AuditEventId)atoi(id));
		if (!k)
			fail_msg("event %s in XML is missing from the C table", id);
		assert_string_equal(k->name, name);
		assert_string_equal(k->message_id, mid);
		assert_int_equal(k->priority, atoi(prio));
		assert_string_equal(k->summary, summary);
		assert_ptr_equal(audit_kind_by_name(name), k);
		assert_ptr_equal(audit_kind_by_message_id(mid), k);
		seen++;
		xmlFree(id), xmlFree(name), xmlFree(mid), xmlFree(prio), xmlFree(summary);
	}
	assert_int_equal(seen, n_kinds);
	for (size_t i = 0; i < n_kinds; i++) {
		assert_int_equal(strlen(kinds[i].message_id), 32);
		for (size_t j = i + 1; j < n_kinds; j++) {
			assert_int_not_equal(kinds[i].id, kinds[j].id);
			assert_string_not_equal(kinds[i].name, kinds[j].name);
			assert_string_not_equal(kinds[i].message_id, kinds[j].message_id);
		}
	}
	xmlFreeDoc(doc);
}

static void test_emit_json_lines(void **state) {
	(void)state;
	char path[] = "/tmp/test-audit-event.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	_cleanup_(audit_emitter_freep) AuditEmitter *e = NULL;
	assert_int_equal(audit_emitter_new("h1", "smbrefd", path, false, &e), 0);
	AuditField f[] = {{"user", "alice"}, {"dialect", "3.1.1"}, {"Bad-Name", "x"}};
	audit_emit(e, AUDIT_SERVER_CLIENT_NO_ENCRYPTION, "127.0.0.1:40000", f, ELEMENTSOF(f));
	_cleanup_free_ char *huge = malloc(100000);
	memset(huge, 'a', 99999);
	huge[99999] = 0;
	AuditField g[] = {{"user", huge}};
	audit_emit(e, AUDIT_SERVER_SESSION, NULL, g, 1);
	audit_emit(e, (AuditEventId)12345, NULL, NULL, 0); /* unknown: counted, not written */
	assert_int_equal(audit_emitter_errors(e), 2);   /* bad name + unknown id */

	_cleanup_free_ char *buf = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &buf, &len), 0);
	unlink(path);
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	*nl = 0;
	assert_non_null(strstr(buf, "\"host\":\"h1\",\"source\":\"smbrefd\",\"event_id\":3021,"
				    "\"event\":\"client-no-encryption\",\"peer\":\"127.0.0.1:40000\","
				    "\"fields\":{\"user\":\"alice\",\"dialect\":\"3.1.1\"}}"));
	assert_true(startswith(buf, "{\"time\":\"20"));
	char *second = nl + 1;
	nl = strchr(second, '\n');
	assert_non_null(nl);
	assert_true((size_t)(nl - second) < AUDIT_LINE_MAX);
	assert_non_null(strstr(second, "\"event\":\"session\",\"peer\":\"\""));
	assert_string_equal(nl + 1, "");
}

static void test_field_names(void **state) {
	(void)state;
	assert_true(audit_field_name_valid("cert_sha256"));
	assert_false(audit_field_name_valid(""));
	assert_false(audit_field_name_valid("A"));
	assert_false(audit_field_name_valid("a=b"));
	char tb[48];
	assert_string_equal(audit_format_time(1764141000123456ULL, tb, sizeof tb),
			    "2025-11-26T07:10:00.123456Z");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_xml),
		cmocka_unit_test(test_emit_json_lines),
		cmocka_unit_test(test_field_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
