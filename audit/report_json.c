/*
 * report_json.c - the compliance report as one JSON document, valid against
 * schema/report.schema.json (tests validate it with python3-jsonschema).
 *
 * Invariants: every string goes through strbuf_json_string (lib/strbuf);
 * times are RFC 3339 UTC with microseconds or null; the member order is
 * fixed, so two reports of the same data are byte-identical apart from
 * "generated".
 * Must never: leave out a host or setting the model has (no truncation).
 */
#include "audit_report.h"
#include "auditdb.h"
#include "strbuf.h"

#define REPORT_SCHEMA_ID "urn:smbpolicy:report:1"

static void json_time(StrBuf *b, unsigned long long usec) {
	char buf[48];
	if (!usec) {
		strbuf_append(b, "null");
		return;
	}
	audit_json_string(b, audit_format_time(usec, buf, sizeof buf));
}

static void json_key(StrBuf *b, const char *key, bool comma) {
	if (comma)
		strbuf_append(b, ",");
	audit_json_string(b, key);
	strbuf_append(b, ":");
}

static void json_str(StrBuf *b, const char *key, const char *v, bool comma) {
	json_key(b, key, comma);
	if (v)
		audit_json_string(b, v);
	else
		strbuf_append(b, "null");
}

static void json_counts(StrBuf *b, const unsigned long long n[_AUDIT_VERDICT_MAX]) {
	strbuf_printf(b, ",\"compliant\":%llu,\"not_compliant\":%llu,\"unknown\":%llu",
		      n[AUDIT_COMPLIANT], n[AUDIT_NOT_COMPLIANT], n[AUDIT_UNKNOWN]);
}

static void json_verdict_list(StrBuf *b, const char *name, const char *key,
			      const AuditVerdictCount *l, size_t n) {
	json_key(b, name, true);
	strbuf_append(b, "[");
	for (size_t i = 0; i < n; i++) {
		strbuf_append(b, i ? ",{" : "{");
		json_str(b, key, l[i].name, false);
		json_counts(b, l[i].n);
		strbuf_append(b, "}");
	}
	strbuf_append(b, "]");
}

static void json_host(StrBuf *b, const AuditHostResult *h) {
	strbuf_append(b, "{");
	json_str(b, "host", h->host, false);
	json_str(b, "group", h->group, true);
	json_str(b, "verdict", audit_verdict_to_string(h->verdict), true);
	strbuf_printf(b, ",\"events\":%llu,\"warnings\":%llu,\"unprotected\":%llu", h->events,
		      h->warnings, h->unprotected);
	json_key(b, "last_event", true);
	json_time(b, h->last_usec);
	json_key(b, "read_back", true);
	json_time(b, h->actual_usec);
	json_key(b, "settings", true);
	strbuf_append(b, "[");
	for (size_t i = 0; i < h->n_settings; i++) {
		const AuditSettingResult *s = &h->settings[i];
		strbuf_append(b, i ? ",{" : "{");
		json_str(b, "setting", s->setting, false);
		json_str(b, "feature", s->feature, true);
		json_str(b, "desired", s->desired, true);
		json_str(b, "actual", s->actual, true);
		json_str(b, "verdict", audit_verdict_to_string(s->verdict), true);
		json_str(b, "evidence", s->evidence, true);
		strbuf_append(b, "}");
	}
	strbuf_append(b, "]}");
}

static void json_section(StrBuf *b, AuditSectionId id, const AuditSection *sec) {
	const AuditSectionInfo *info = audit_section_info(id);
	strbuf_append(b, "{");
	json_str(b, "id", info->id, false);
	json_str(b, "title", info->title, true);
	json_key(b, "rows", true);
	strbuf_append(b, "[");
	for (size_t i = 0; i < sec->n_rows; i++) {
		const AuditTallyEntry *e = sec->rows[i];
		strbuf_append(b, i ? ",{" : "{");
		json_str(b, "key", e->key, false);
		json_str(b, "detail", info->detail_label ? e->detail : NULL, true);
		strbuf_printf(b, ",\"count\":%llu", e->count);
		json_key(b, "first", true);
		json_time(b, e->first_usec);
		json_key(b, "last", true);
		json_time(b, e->last_usec);
		json_str(b, "last_host", e->host, true);
		strbuf_append(b, "}");
	}
	strbuf_append(b, "]}");
}

int audit_report_json(const AuditReport *r, char **ret) {
	StrBuf b = {0};
	strbuf_append(&b, "{");
	json_str(&b, "schema", REPORT_SCHEMA_ID, false);
	json_key(&b, "generated", true);
	json_time(&b, r->generated_usec);
	json_key(&b, "since", true);
	json_time(&b, r->since_usec);
	json_str(&b, "group", r->group_filter, true);
	json_key(&b, "first_event", true);
	json_time(&b, r->first_usec);
	json_key(&b, "last_event", true);
	json_time(&b, r->last_usec);
	strbuf_printf(&b, ",\"events\":%llu,\"summary\":{\"hosts\":%zu", r->events, r->n_hosts);
	json_counts(&b, r->hosts_by_verdict);
	strbuf_append(&b, "}");
	json_verdict_list(&b, "groups", "group", r->groups, r->n_groups);
	json_verdict_list(&b, "features", "feature", r->features, r->n_features);
	json_key(&b, "hosts", true);
	strbuf_append(&b, "[");
	for (size_t i = 0; i < r->n_hosts; i++) {
		if (i)
			strbuf_append(&b, ",\n");
		json_host(&b, &r->hosts[i]);
	}
	strbuf_append(&b, "]");
	json_key(&b, "statistics", true);
	strbuf_append(&b, "[");
	for (size_t s = 0; s < _AUDIT_SEC_MAX; s++) {
		if (s)
			strbuf_append(&b, ",\n");
		json_section(&b, (AuditSectionId)s, &r->sections[s]);
	}
	strbuf_append(&b, "]}\n");
	return strbuf_finish(&b, ret);
}
