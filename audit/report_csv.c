/*
 * report_csv.c - the compliance report as one RFC 4180 CSV table (CRLF line
 * ends, a header line, fields quoted by lib/strbuf's strbuf_csv_field).
 *
 * Columns: record,host,group,verdict,setting,feature,desired,actual,
 * evidence,key,detail,count,first,last.  "record" says what a row is:
 * "host" (one per host; count = its events), "setting" (one per host and
 * setting) or a statistics section id ("client-no-signing", "dialects",
 * ...; key/detail/count/first/last, host = last host seen).
 * Invariants: every row has exactly 14 fields; the same data as the JSON.
 */
#include "audit_report.h"
#include "strbuf.h"

enum { CSV_COLUMNS = 14 };

static const char *const csv_header[CSV_COLUMNS] = {
	"record", "host", "group", "verdict", "setting", "feature", "desired",
	"actual", "evidence", "key", "detail", "count", "first", "last",
};

static void csv_row(StrBuf *b, const char *const v[CSV_COLUMNS]) {
	for (size_t i = 0; i < CSV_COLUMNS; i++) {
		if (i)
			strbuf_append(b, ",");
		strbuf_csv_field(b, v[i] ? v[i] : "");
	}
	strbuf_append(b, "\r\n");
}

int audit_report_csv(const AuditReport *r, char **ret) {
	StrBuf b = {0};
	char n[32], t1[48], t2[48];
	csv_row(&b, csv_header);
	for (size_t i = 0; i < r->n_hosts; i++) {
		const AuditHostResult *h = &r->hosts[i];
		const char *verdict = audit_verdict_to_string(h->verdict);
		snprintf(n, sizeof n, "%llu", h->events);
		csv_row(&b, (const char *const[CSV_COLUMNS]){
				    "host", h->host, h->group, verdict, NULL, NULL, NULL, NULL, NULL,
				    NULL, NULL, n, NULL,
				    h->last_usec ? audit_format_time(h->last_usec, t2, sizeof t2) : NULL});
		for (size_t k = 0; k < h->n_settings; k++) {
			const AuditSettingResult *s = &h->settings[k];
			csv_row(&b, (const char *const[CSV_COLUMNS]){
					    "setting", h->host, h->group,
					    audit_verdict_to_string(s->verdict), s->setting, s->feature,
					    s->desired, s->actual, s->evidence, NULL, NULL, NULL, NULL,
					    NULL});
		}
	}
	for (size_t s = 0; s < _AUDIT_SEC_MAX; s++) {
		const AuditSection *sec = &r->sections[s];
		const AuditSectionInfo *info = audit_section_info((AuditSectionId)s);
		for (size_t i = 0; i < sec->n_rows; i++) {
			const AuditTallyEntry *e = sec->rows[i];
			snprintf(n, sizeof n, "%llu", e->count);
			csv_row(&b, (const char *const[CSV_COLUMNS]){
					    info->id, e->host, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
					    e->key, info->detail_label ? e->detail : NULL, n,
					    audit_format_time(e->first_usec, t1, sizeof t1),
					    audit_format_time(e->last_usec, t2, sizeof t2)});
		}
	}
	return strbuf_finish(&b, ret);
}
