/*
 * ingest.c - what every ingester shares: turning one event object into an
 * AuditRecord (checks included), batching inserts into transactions with
 * the cursor checkpoint, and bounded warnings.  See ingest.h.
 *
 * Invariants: a record accepted here has a valid time, a non-empty host, a
 * positive event id and only valid field names with string values.
 * Must never: accept a record partly (fields dropped silently).
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

int audit_record_from_json(const AuditJson *j, AuditRecord *rec, AuditField *fields, size_t max,
			   const char **ret_why) {
	*rec = (AuditRecord){0};
	if (j->type != AUDIT_JSON_OBJECT)
		return *ret_why = "not a JSON object", -EINVAL;
	if (audit_parse_time(audit_json_get_str(j, "time"), &rec->time_usec) < 0)
		return *ret_why = "missing or invalid \"time\"", -EINVAL;
	rec->host = audit_json_get_str(j, "host");
	if (!rec->host || !*rec->host || strlen(rec->host) > 255)
		return *ret_why = "missing or invalid \"host\"", -EINVAL;
	rec->source = audit_json_get_str(j, "source");
	rec->peer = audit_json_get_str(j, "peer");
	long long id;
	const AuditJson *idj = audit_json_get(j, "event_id");
	if (!idj || idj->type != AUDIT_JSON_NUMBER || parse_int64(idj->text, &id) < 0 || id <= 0 ||
	    id > 1000000)
		return *ret_why = "missing or invalid \"event_id\"", -EINVAL;
	rec->event_id = (int)id;
	const char *name = audit_json_get_str(j, "event");
	const AuditKind *k = audit_kind_by_id((AuditEventId)id);
	if (name && k && !streq(name, k->name))
		return *ret_why = "\"event\" does not match \"event_id\"", -EINVAL;
	const AuditJson *f = audit_json_get(j, "fields");
	if (f && f->type != AUDIT_JSON_OBJECT)
		return *ret_why = "\"fields\" is not an object", -EINVAL;
	size_t n = 0;
	for (const AuditJson *c = f ? f->child : NULL; c; c = c->next) {
		if (!audit_field_name_valid(c->key))
			return *ret_why = "invalid field name", -EINVAL;
		if (c->type != AUDIT_JSON_STRING && c->type != AUDIT_JSON_NUMBER)
			return *ret_why = "field value is not a string", -EINVAL;
		if (n >= max)
			return *ret_why = "too many fields", -EINVAL;
		fields[n++] = (AuditField){c->key, c->text};
	}
	rec->fields = fields;
	rec->n_fields = n;
	return 0;
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
