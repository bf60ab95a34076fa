/*
 * catalog_internal.h - what catalog.c, catalog_value.c and
 * catalog_constraint.c share and nobody else may use.
 *
 * Invariant: a CatalogConstraint's operand indexes are resolved (>= 0) once
 * catalog_constraints_resolve() succeeded; evaluation never sees an
 * unresolved operand.
 */
#pragma once

#include <libxml/tree.h>

#include "catalog.h"

typedef struct CatalogOp CatalogOp;

typedef struct CatalogOperand {
	char *setting_id;
	char *other_id;     /* NULL: compare with literal */
	char *literal[2];   /* value="..." as a one-item strv, or { NULL } */
	const CatalogOp *op;
	int setting;        /* resolved indexes into Catalog.settings */
	int other;          /* -1 without other */
	unsigned line;
} CatalogOperand;

struct CatalogConstraint {
	char *id;
	char *message;
	bool match_any;
	CatalogOperand *when;
	size_t n_when;
	CatalogOperand *require;
	size_t n_require;
	char *file;
	unsigned line;
};

/* Parse a <constraint> element (already XSD-valid) into *ret. */
int catalog_constraint_parse(const xmlNode *n, const char *file, CatalogConstraint *ret,
			     DiagList *diag);
/* Resolve setting ids and check operators fit the settings' types. */
int catalog_constraints_resolve(Catalog *c, DiagList *diag);
void catalog_constraint_done(CatalogConstraint *k);
