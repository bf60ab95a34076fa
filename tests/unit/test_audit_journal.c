/*
 * test_audit_journal.c - unit tests for audit/ingest_journal.c on journal
 * files made without journald (Journal Export Format fed to
 * systemd-journal-remote): smbpolicy entries are read by MESSAGE_ID and
 * other entries ignored; a second ingest adds nothing (cursor); new entries
 * in a later file are picked up; a corrupt journal file and an entry with an
 * oversized field are skipped while everything else is kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "audit_ingest.h"
#include "test_common.h"

#define JOURNAL_REMOTE "/lib/systemd/systemd-journal-remote"

TEST_SCRATCH_DIR(dir, "audit-journal", setup, teardown)

/* One export-format entry; seq makes timestamps distinct. */
static void export_entry(FILE *f, unsigned seq, const char *host, AuditEventId id,
			 const char *peer, const char *extra) {
	const AuditKind *k = audit_kind_by_id(id);
	fprintf(f,
		"__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%u\n"
		"_BOOT_ID=0f782408e9bd4417be1aade3494326e3\n_HOSTNAME=%s\n"
		"MESSAGE_ID=%s\nMESSAGE=%s\nSMBPOLICY_EVENT_ID=%d\nSMBPOLICY_PEER=%s\n"
		"SMBPOLICY_USER=alice\n%s\n",
		1764141000000000ULL + seq, 1000 + seq, host, k->message_id, k->summary, (int)id, peer,
		extra);
}

static void make_journal(const char *name, unsigned first, unsigned n, const char *host,
			 const char *extra_last) {
	_cleanup_free_ char *cmd = strdup_printf(JOURNAL_REMOTE " --output=%s/%s -", dir, name);
	FILE *f = popen(cmd, "w");
	assert_non_null(f);
	for (unsigned i = first; i < first + n; i++)
		export_entry(f, i, host, i % 2 ? AUDIT_SERVER_CLIENT_NO_SIGNING
					       : AUDIT_SERVER_CLIENT_NO_ENCRYPTION,
			     "10.0.0.9:50000", i + 1 == first + n && extra_last ? extra_last : "");
	/* Not ours: no smbpolicy MESSAGE_ID. */
	fprintf(f, "__REALTIME_TIMESTAMP=1764141000000000\n__MONOTONIC_TIMESTAMP=1\n"
		   "_BOOT_ID=0f782408e9bd4417be1aade3494326e3\nMESSAGE=unrelated\n\n");
	assert_int_equal(pclose(f), 0);
}

static void test_journal_ingest(void **state) {
	(void)state;
	if (access(JOURNAL_REMOTE, X_OK) < 0)
		skip();
	_cleanup_free_ char *jdir = strdup_printf("%s/h1", dir);
	_cleanup_free_ char *dbp = strdup_printf("%s/a.db", dir);
	assert_int_equal(mkdir(jdir, 0755), 0);
	make_journal("h1/remote-h1.journal", 0, 10, "h1", NULL);
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	assert_int_equal(auditdb_open(dbp, &db), 0);
	AuditIngestStats st = {0};
	assert_int_equal(audit_ingest_journal_dir(db, jdir, &st), 0);
	assert_int_equal(st.added, 10);
	assert_int_equal(st.skipped, 0);
	AuditIngestStats st2 = {0};
	assert_int_equal(audit_ingest_journal_dir(db, jdir, &st2), 0);
	assert_int_equal(st2.added + st2.duplicates, 0);

	/* A later file, a corrupt file, and an entry with a huge field. */
	_cleanup_free_ char *huge = malloc(AUDIT_LINE_MAX + 100);
	memcpy(huge, "SMBPOLICY_REASON=", 17);
	memset(huge + 17, 'z', AUDIT_LINE_MAX + 50);
	huge[AUDIT_LINE_MAX + 67] = '\n';
	huge[AUDIT_LINE_MAX + 68] = 0;
	make_journal("h1/remote-h1-b.journal", 10, 5, "h1", huge);
	_cleanup_free_ char *bad = strdup_printf(
		"head -c 100000 /dev/urandom > %s/h1/broken.journal", dir);
	assert_int_equal(system(bad), 0);
	AuditIngestStats st3 = {0};
	assert_int_equal(audit_ingest_journal_dir(db, jdir, &st3), 0);
	assert_int_equal(st3.added, 4);
	assert_int_equal(st3.skipped, 2); /* the corrupt file, the huge entry */
	uint64_t n;
	assert_int_equal(auditdb_count(db, &n), 0);
	assert_int_equal(n, 14);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_ingest),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
