/*
 * audit_event_parse.h - allocation-free parsing of audit event JSON (one
 * event line, or a flat fields object), the hot path of ingestion and
 * report scans.  See event_parse.c.
 *
 * audit_fields_parse is for the audit DB's own column: it does not check
 * field names again.
 * scratch must hold at least len + 1 bytes; the strings returned point into
 * it.  Errors: -EINVAL (with the reason in *ret_why for lines).
 */
#pragma once

#include "auditdb.h"

int audit_event_parse_line(const char *line, size_t len, char *scratch, AuditRecord *rec,
			   AuditField *fields, size_t max, const char **ret_why);
int audit_fields_parse(const char *json, size_t len, char *scratch, AuditField *fields,
		       size_t max, size_t *ret_n);
