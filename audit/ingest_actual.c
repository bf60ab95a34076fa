/*
 * ingest_actual.c - the agent's read-back of each setting (its report JSON,
 * `smbpolicy apply --json` / the state DB's last report) into the audit
 * DB's actual table, for compliance.
 *
 * Input: {"host":H, "finished":TIME, "settings":[{"plugin","id","actual",
 * "desired","status"}]} (agent/report.c's form; "setting" is accepted for
 * "id", "time" for "finished").  The newest report of a host replaces the
 * older one as a whole.
 * Invariants: a report without a host or with a malformed settings array is
 * skipped with a warning and changes nothing.
 */
#include "audit_ingest.h"

#define ACTUAL_MAX (16u * 1024u * 1024u)

int audit_ingest_actual(AuditDb *db, const char *path, AuditIngestStats *stats) {
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, ACTUAL_MAX, &text, &len);
	if (r < 0)
		return r;
	_cleanup_(audit_json_freep) AuditJson *j = NULL;
	if (audit_json_parse(text, len, &j) < 0) {
		audit_ingest_warn(stats, path, 0, "malformed JSON");
		return 0;
	}
	const char *host = audit_json_get_str(j, "host");
	const char *time = audit_json_get_str(j, "finished");
	unsigned long long t = 0;
	if (!time)
		time = audit_json_get_str(j, "time");
	const AuditJson *settings = audit_json_get(j, "settings");
	if (!host || !*host || !settings || settings->type != AUDIT_JSON_ARRAY) {
		audit_ingest_warn(stats, path, 0, "not an agent report (host, settings)");
		return 0;
	}
	if (!time || audit_parse_time(time, &t) < 0)
		t = now_usec();
	size_t n = 0;
	for (const AuditJson *s = settings->child; s; s = s->next)
		n++;
	_cleanup_free_ AuditActual *rows = calloc(n + 1, sizeof *rows);
	if (!rows)
		return -ENOMEM;
	n = 0;
	for (const AuditJson *s = settings->child; s; s = s->next) {
		const char *id = audit_json_get_str(s, "id");
		if (!id)
			id = audit_json_get_str(s, "setting");
		if (!id) {
			audit_ingest_warn(stats, path, 0, "a setting without an id");
			return 0;
		}
		rows[n++] = (AuditActual){
			.setting = id,
			.plugin = audit_json_get_str(s, "plugin"),
			.actual = audit_json_get_str(s, "actual"),
			.desired = audit_json_get_str(s, "desired"),
			.status = audit_json_get_str(s, "status"),
		};
	}
	if (auditdb_begin(db) < 0)
		return -EIO;
	r = auditdb_set_actual_host(db, host, t, rows, n);
	if (r >= 0 && auditdb_commit(db) < 0)
		r = -EIO;
	if (r < 0)
		auditdb_rollback(db);
	return r;
}
