/*
 * fuzz_quic_access.c - libFuzzer harness for the SMB over QUIC client
 * certificate decision (endpoint/quic_access.c).
 *
 * Input: records of a 2-byte big-endian length and that many bytes; the
 * first is the allow list, the second the block list (entries separated
 * by '\n'), the rest are the DER chain, leaf first.  Beyond "no crash, no
 * leak, no UB": ALLOWED needs a chain and names only allow entries; a
 * block refusal names only block entries; every described certificate's
 * own issuer entry matches it (the RFC 4514 comparison is reflexive); the
 * audit fields have valid names.  Each DER also goes through the server
 * certificate check.
 * Must never log or touch files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic_access.h"
#include "util.h"

#define MAX_RECORDS 20

static char **split_lines(const uint8_t *p, size_t n) {
	char **l = calloc(1, sizeof(char *));
	size_t start = 0;
	for (size_t i = 0; l && i <= n; i++)
		if (i == n || p[i] == '\n') {
			char *s = strndup((const char *)p + start, i - start);
			if (s && strlen(s) != i - start) { /* an embedded NUL: not a list */
				free(s);
				s = NULL;
			}
			if (!s || strv_push(&l, s) < 0) {
				strv_free(l);
				return NULL;
			}
			start = i + 1;
		}
	return l;
}

static bool all_in(char *const *sub, char *const *set) {
	STRV_FOREACH(s, sub)
		if (!strv_contains(set, *s))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	QuicDer rec[MAX_RECORDS];
	size_t n = 0, pos = 0;
	while (n < MAX_RECORDS && size - pos >= 2) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		rec[n++] = (QuicDer) { data + pos, len };
		pos += len;
	}
	if (n < 2)
		return 0;
	_cleanup_strv_free_ char **allow = split_lines(rec[0].data, rec[0].len);
	_cleanup_strv_free_ char **block = split_lines(rec[1].data, rec[1].len);
	if (!allow || !block)
		return 0;
	QuicAccessDecision d;
	if (quic_access_decide(rec + 2, n - 2, allow, block, &d) < 0)
		return 0;
	if (d.verdict == QUIC_ACCESS_ALLOWED && (n == 2 || !d.matched || !all_in(d.matched, allow)))
		abort();
	if (d.reason && streq(d.reason, "a block entry matches the client chain") &&
	    (d.verdict != QUIC_ACCESS_DENIED || !d.matched || !all_in(d.matched, block)))
		abort();
	for (size_t i = 0; i < d.n_certs; i++) {
		if (!quic_access_dn_equal(d.certs[i].issuer, d.certs[i].issuer))
			abort();
		_cleanup_free_ char *entry = strdup_printf("issuer:%s", d.certs[i].issuer);
		QuicAccessDecision one;
		char *list[] = { entry, NULL };
		if (entry && quic_access_decide(rec + 2 + i, 1, list, NULL, &one) == 0) {
			if (one.verdict == QUIC_ACCESS_ALLOWED && !strv_contains(one.matched, entry))
				abort();
			if (one.verdict == QUIC_ACCESS_DENIED && streq(one.reason, "no allow entry matches the client chain"))
				abort(); /* its own issuer must match */
			quic_access_decision_done(&one);
		}
	}
	_cleanup_free_ AuditField *f = NULL;
	_cleanup_free_ char *matched = NULL;
	int k = quic_access_audit_fields(&d, "00", &matched, &f);
	for (int i = 0; i < k; i++)
		if (!audit_field_name_valid(f[i].name) || !f[i].value)
			abort();
	quic_access_decision_done(&d);
	for (size_t i = 2; i < n; i++) {
		const char *why = NULL;
		if (quic_access_check_server_cert(rec[i].data, rec[i].len, &why) < 0 && !why)
			abort();
	}
	return 0;
}
