/*
 * policy.h - policy documents (namespace urn:smbpolicy:policy:1): parse,
 * validate, serialise.
 *
 * Parsing is hardened: no network, no DTD loading, no entity expansion, a
 * size limit (POLICY_MAX_BYTES), a depth limit; then XSD validation
 * (schema/policy.xsd), then catalog checks (type, range, constraints).  Every
 * error names file, line, setting id and what was expected.
 *
 * A Policy holds only the settings the document sets, in document order,
 * with their source lines.  policy_to_xml() writes the canonical form (sorted
 * by id, fixed indentation), whose SHA-256 is the content hash.
 *
 * Invariant: a Policy returned by a parse function is valid against the
 * catalog it was parsed with; a failed parse returns nothing.
 */
#pragma once

#include "catalog.h"

#define POLICY_NAMESPACE "urn:smbpolicy:policy:1"
#define POLICY_MAX_BYTES (4u * 1024u * 1024u)

typedef struct PolicyEntry {
	const CatalogSetting *setting; /* points into the catalog */
	char **value;                  /* strv, canonical */
	unsigned line;
} PolicyEntry;

typedef struct Policy {
	char *name;
	char *description; /* may be NULL */
	PolicyEntry *entries;
	size_t n_entries;
	char hash[65]; /* sha256 hex of policy_to_xml() */
} Policy;

int policy_parse_file(const Catalog *c, const char *path, Policy **ret, DiagList *diag);
/* filename is only used in diagnostics. */
int policy_parse_memory(const Catalog *c, const char *buf, size_t len, const char *filename,
			Policy **ret, DiagList *diag);

/* Canonical XML text (malloc'd, NUL-terminated). */
int policy_to_xml(const Policy *p, char **ret);

void policy_free(Policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Policy *, policy_free)

/* The entry for a setting id, or NULL when the document does not set it. */
const PolicyEntry *policy_find(const Policy *p, const char *id);

/* A complete value vector indexed like c->settings: (*ret_values)[i] is the
 * document's strv for setting i or the catalog default, NULL-terminated after
 * the last setting.  Borrowed strvs, valid while p and c live; free only the
 * vector itself (free()).  Suits catalog_check_constraints(). */
int policy_effective_values(const Catalog *c, const Policy *p, char ****ret_values);
