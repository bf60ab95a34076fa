/*
 * test_audit_ingest.c - unit tests for the audit DB and the JSON-lines
 * ingester: events written by audit_emit are stored once (a second ingest
 * adds nothing), hostile lines (malformed JSON, overlong line, bad field,
 * wrong types) are skipped while every good line around them is kept, an
 * appended file resumes at its cursor, and retention deletes by age.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit_ingest.h"
#include "test_common.h"

TEST_SCRATCH_DIR(dir, "audit-ingest", setup, teardown)

static void append(const char *path, const char *text) {
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int count_cb(const AuditRecord *r, void *userdata) {
	(*(unsigned *)userdata)++;
	assert_non_null(r->host);
	return 0;
}

static void test_emit_then_ingest_once(void **state) {
	(void)state;
	_cleanup_free_ char *log = strdup_printf("%s/a.jsonl", dir);
	_cleanup_free_ char *dbp = strdup_printf("%s/a.db", dir);
	_cleanup_(audit_emitter_freep) AuditEmitter *e = NULL;
	assert_int_equal(audit_emitter_new("srv1", "smbrefd", log, false, &e), 0);
	AuditField f[] = {{"user", "bob"}, {"dialect", "3.0"}};
	for (int i = 0; i < 5; i++)
		audit_emit(e, AUDIT_SERVER_CLIENT_NO_ENCRYPTION, "10.0.0.1:445", f, 2);
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	assert_int_equal(auditdb_open(dbp, &db), 0);
	AuditIngestStats st = {0};
	assert_int_equal(audit_ingest_jsonl(db, log, &st), 0);
	assert_int_equal(st.added, 5);
	assert_int_equal(st.skipped, 0);
	/* Same file again: the cursor says everything is read. */
	AuditIngestStats st2 = {0};
	assert_int_equal(audit_ingest_jsonl(db, log, &st2), 0);
	assert_int_equal(st2.added + st2.duplicates, 0);
	/* A copy of it (new inode, no cursor): everything is a duplicate. */
	_cleanup_free_ char *copy = strdup_printf("cp %s %s/b.jsonl", log, dir);
	assert_int_equal(system(copy), 0);
	_cleanup_free_ char *copy_path = strdup_printf("%s/b.jsonl", dir);
	AuditIngestStats st3 = {0};
	assert_int_equal(audit_ingest_jsonl(db, copy_path, &st3), 0);
	assert_int_equal(st3.added, 0);
	assert_int_equal(st3.duplicates, 5);
	/* Appended lines are picked up from the cursor. */
	audit_emit(e, AUDIT_SERVER_CLIENT_NO_SIGNING, "10.0.0.2:445", f, 2);
	AuditIngestStats st4 = {0};
	assert_int_equal(audit_ingest_jsonl(db, log, &st4), 0);
	assert_int_equal(st4.added, 1);
	assert_int_equal(st4.duplicates, 0);
	uint64_t n;
	assert_int_equal(auditdb_count(db, &n), 0);
	assert_int_equal(n, 6);
	unsigned seen = 0;
	AuditQuery q = {.event_id = AUDIT_SERVER_CLIENT_NO_SIGNING};
	assert_int_equal(auditdb_foreach(db, &q, count_cb, &seen), 0);
	assert_int_equal(seen, 1);
}

static void test_hostile_lines(void **state) {
	(void)state;
	_cleanup_free_ char *log = strdup_printf("%s/h.jsonl", dir);
	_cleanup_free_ char *dbp = strdup_printf("%s/h.db", dir);
	const char *good = "{\"time\":\"2026-11-26T07:30:00.000001Z\",\"host\":\"h\",\"source\":\"s\","
			   "\"event_id\":3022,\"event\":\"client-no-signing\",\"peer\":\"p\","
			   "\"fields\":{\"user\":\"u\"}}\n";
	append(log, good);
	append(log, "{not json\n");
	append(log, "{\"time\":\"yesterday\",\"host\":\"h\",\"event_id\":3022}\n");
	append(log, "{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"h\",\"event_id\":3022,"
		    "\"fields\":{\"Bad\":\"x\"}}\n");
	append(log, "{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"h\",\"event_id\":3022,"
		    "\"event\":\"session\"}\n");
	append(log, "[1,2,3]\n");
	/* A line of 1 MiB: skipped without being kept. */
	_cleanup_free_ char *huge = malloc(1 << 20);
	memset(huge, 'x', (1 << 20) - 2);
	memcpy(huge, "{\"a\":\"", 6);
	huge[(1 << 20) - 2] = '\n';
	huge[(1 << 20) - 1] = 0;
	append(log, huge);
	/* A line of 200 kB: longer than AUDIT_LINE_MAX but read in one go. */
	huge[200000] = '\n';
	huge[200001] = 0;
	append(log, huge);
	append(log, "\n\n");
	append(log, "{\"time\":\"2026-11-26T07:30:01Z\",\"host\":\"h2\",\"event_id\":31999,"
		    "\"peer\":\"srv\",\"fields\":{\"dialect\":\"2.1\"}}\n");
	append(log, "{\"time\":\"2026-11-26T07:30:02Z\",\"host\":\"h3\",\"event_id\":3021}");
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	assert_int_equal(auditdb_open(dbp, &db), 0);
	AuditIngestStats st = {0};
	assert_int_equal(audit_ingest_jsonl(db, log, &st), 0);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.skipped, 7);
	/* The unterminated last line is read once its newline arrives. */
	append(log, "\n");
	AuditIngestStats st2 = {0};
	assert_int_equal(audit_ingest_jsonl(db, log, &st2), 0);
	assert_int_equal(st2.added, 1);
	assert_int_equal(st2.skipped, 0);
}

static void test_retention(void **state) {
	(void)state;
	_cleanup_free_ char *dbp = strdup_printf("%s/r.db", dir);
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	assert_int_equal(auditdb_open(dbp, &db), 0);
	unsigned long long now = now_usec();
	assert_int_equal(auditdb_begin(db), 0);
	for (int i = 0; i < 100; i++) {
		AuditRecord r = {.time_usec = now - (unsigned long long)i * 3600ULL * 1000000ULL,
				 .host = "h", .source = "s", .peer = "p", .event_id = 3021};
		assert_int_equal(auditdb_add(db, &r), 1);
		assert_int_equal(auditdb_add(db, &r), 0);
	}
	assert_int_equal(auditdb_commit(db), 0);
	/* Older than 50.5 hours: 49 of them (hours 51..99). */
	assert_int_equal(auditdb_retain(db, 505ULL * 360ULL * 1000000ULL, 0), 49);
	uint64_t n;
	assert_int_equal(auditdb_count(db, &n), 0);
	assert_int_equal(n, 51);
	assert_true(auditdb_retain(db, 0, 4096) > 0);
	assert_int_equal(auditdb_count(db, &n), 0);
	assert_true(n < 51);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emit_then_ingest_once),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_retention),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
