/*
 * output.h - the two output forms of every listing verb: an aligned text
 * table for people and a JSON array of objects for scripts (--json), from
 * one description, so both always carry the same data.
 *
 * A table has fixed columns (header, JSON key, type); rows are added with
 * one vararg per column, typed by the column: OUTPUT_STRING takes a
 * const char * (NULL prints "-" / null), OUTPUT_UINT an unsigned, OUTPUT_BOOL
 * a bool.  All escaping goes through lib/strbuf.
 *
 * Invariant: a failed allocation makes the table "failed"; later adds are
 * no-ops and output_table_print() returns -ENOMEM without printing, so a
 * truncated table is never shown as if it were complete.
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>

#include "strbuf.h"
#include "util.h"

typedef enum OutputType {
	OUTPUT_STRING,
	OUTPUT_UINT,
	OUTPUT_BOOL,
} OutputType;

typedef struct OutputColumn {
	const char *header; /* text form, e.g. "VERSION" */
	const char *key;    /* JSON key, e.g. "version" */
	OutputType type;
	unsigned text_width; /* text form shows at most this many chars (0: all) */
} OutputColumn;

typedef struct OutputTable OutputTable;

OutputTable *output_table_new(const OutputColumn *columns, size_t n_columns);
void output_table_free(OutputTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(OutputTable *, output_table_free)

/* One vararg per column, typed as described above. */
void output_table_add(OutputTable *t, ...);

/* Text: header line and aligned rows (last column unpadded).  JSON: an array
 * of objects and a newline.  Returns 0 or -ENOMEM / -EIO. */
int output_table_print(const OutputTable *t, bool json, FILE *f);

/* A setting value (strv) as text: scalars as is, lists joined by ", ",
 * an empty list as "(empty)".  NULL on ENOMEM. */
char *output_value_text(char *const *value, bool list);
/* A setting value as JSON: a string for scalars, an array for lists. */
void output_value_json(StrBuf *b, char *const *value, bool list);

/* A verb's one-line result: text as is, or {"message": "..."} with --json.
 * Returns 0 or -EIO. */
int output_message(bool json, const char *fmt, ...) _printf_(2, 3);

/* Print a finished document (XML, JSON from lib/) so that it ends with
 * exactly one newline.  Returns 0 or -EIO. */
int output_document(const char *text, FILE *f);
