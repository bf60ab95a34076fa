/*
 * fuzz_audit_jsonl.c - libFuzzer harness for the audit event readers:
 * audit/event_parse.c (one JSON line, the ingest hot path; one flat fields
 * object, the report scan) and audit/audit_json.c (the DOM for smbstatus
 * and agent reports).
 *
 * Beyond "no crash, no leak, no UB, no read past the input": an accepted
 * line has a host, a positive event id and valid field names, and every
 * string it returns lies inside the scratch buffer; the two parsers agree
 * on whether a flat object of strings is valid JSON.  Never logs or touches
 * files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_event_parse.h"
#include "audit_json.h"

static void in_scratch(const char *s, const char *scratch, size_t len) {
	if (s && (s < scratch || s > scratch + len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size > AUDIT_LINE_MAX)
		return 0;
	/* Exact-size copies so ASan sees any read past the input. */
	char *line = malloc(size ? size : 1), *scratch = malloc(size + 1);
	if (!line || !scratch)
		abort();
	memcpy(line, data, size);

	AuditRecord rec;
	AuditField fields[64];
	const char *why = NULL;
	if (audit_event_parse_line(line, size, scratch, &rec, fields, 64, &why) == 0) {
		if (!rec.host || !*rec.host || rec.event_id <= 0)
			abort();
		in_scratch(rec.host, scratch, size);
		in_scratch(rec.peer, scratch, size);
		for (size_t i = 0; i < rec.n_fields; i++) {
			if (!audit_field_name_valid(fields[i].name))
				abort();
			in_scratch(fields[i].value, scratch, size);
		}
	} else if (!why)
		abort();

	size_t n = 0;
	int flat = audit_fields_parse(line, size, scratch, fields, 64, &n);
	AuditJson *j = NULL;
	int dom = audit_json_parse(line, size, &j);
	/* Whatever the flat reader accepts is JSON. */
	if (flat == 0 && dom < 0)
		abort();
	audit_json_free(j);
	free(line);
	free(scratch);
	return 0;
}
