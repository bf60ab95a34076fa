/*
 * fuzz_policy.c - libFuzzer harness for policy_parse_memory().
 *
 * Feeds arbitrary bytes to the hardened parser with the shipped catalog.
 * Invariants checked beyond "no crash, no leak, no UB": a failed parse
 * returns no Policy and at least one diagnostic; an accepted policy's
 * canonical XML parses again to the same hash (the round trip the store
 * relies on).  Must never touch the network or files other than the catalog.
 */
#include <stdint.h>

#include "policy.h"

static Catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc;
	(void)argv;
	if (catalog_load_default(&catalog) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	DiagList diag = { 0 };
	Policy *p = NULL;
	int r = policy_parse_memory(catalog, (const char *)data, size, "fuzz.xml", &p, &diag);
	if (r < 0 && (p || (diag.n == 0 && !diag.truncated && r != -ENOMEM)))
		abort();
	if (r >= 0) {
		char *xml = NULL;
		Policy *q = NULL;
		if (policy_to_xml(p, &xml) < 0)
			abort();
		DiagList d2 = { 0 };
		if (policy_parse_memory(catalog, xml, strlen(xml), "canonical.xml", &q, &d2) < 0 ||
		    !streq(p->hash, q->hash)) {
			diag_print(&d2, stderr);
			abort();
		}
		diag_clear(&d2);
		policy_free(q);
		free(xml);
	}
	policy_free(p);
	diag_clear(&diag);
	return 0;
}
