/*
 * ingest.c - what every ingester shares: turning one event object into an
 * AuditRecord (checks included), batching inserts into transactions with
 * the cursor checkpoint, and bounded warnings.  See ingest.h.
 *
 * Invariants: a record is stored whole or not at all (event_parse.c and
 * the journal reader check it first).
 */
#include "audit_ingest.h"

void audit_ingest_warn(AuditIngestStats *stats, const char *where, unsigned long long line,
		       const char *why) {
	stats->skipped++;
	if (stats->warned++ >= AUDIT_INGEST_WARN_MAX)
		return;
	if (line)
		fprintf(stderr, "smbpolicy: audit: %s:%llu: skipped: %s\n", where, line, why);
	else
		fprintf(stderr, "smbpolicy: audit: %s: skipped: %s\n", where, why);
	if (stats->warned == AUDIT_INGEST_WARN_MAX)
		fprintf(stderr, "smbpolicy: audit: %s: further problems are only counted\n", where);
}

int audit_ingest_add(AuditDb *db, const AuditRecord *rec, AuditIngestStats *stats,
		     AuditCheckpointFn checkpoint, void *userdata) {
	int r = auditdb_add(db, rec);
	if (r < 0)
		return r;
	if (r > 0)
		stats->added++;
	else
		stats->duplicates++;
	if (++stats->in_batch < AUDIT_INGEST_BATCH)
		return 0;
	stats->in_batch = 0;
	if (checkpoint && (r = checkpoint(db, userdata)) < 0)
		return r;
	if (auditdb_commit(db) < 0 || auditdb_begin(db) < 0)
		return -EIO;
	return 0;
}
