/*
 * store_migrate.h - the store's schema history, one SQL step per version.
 *
 * Purpose: store_open() brings any older store forward by running, in one
 * transaction, every step whose version is above PRAGMA user_version, then
 * sets user_version to the last step's version.
 *
 * Invariants: steps are ordered by version, starting at 1, without gaps; a
 * step, once released, is never edited (stores in the field were made by
 * it): a schema change is always a new step at the end.  Private to the
 * store (and its tests); nothing else may depend on the table layout.
 */
#pragma once

#include <stddef.h>

typedef struct StoreMigration {
	unsigned version;
	const char *what; /* one line, for error messages */
	const char *sql;
} StoreMigration;

extern const StoreMigration store_migrations[];
extern const size_t store_n_migrations;

/* The version a store has after store_open(). */
unsigned store_schema_version(void);
