/*
 * output.c - text tables and JSON arrays for the CLI's listing verbs; see
 * output.h for the model.
 *
 * Invariant: cells are stored as text already formatted for the table; the
 * column type decides only how JSON writes them (string, number, boolean).
 * Never prints a partial table.
 */
#include "output.h"

#include "strbuf.h"

struct OutputTable {
	const OutputColumn *columns;
	size_t n_columns;
	char **cells; /* n_rows * n_columns, NULL = no value */
	size_t n_rows;
	bool failed;
};

OutputTable *output_table_new(const OutputColumn *columns, size_t n_columns) {
	OutputTable *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->columns = columns;
	t->n_columns = n_columns;
	return t;
}

void output_table_free(OutputTable *t) {
	if (!t)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* One cell as text, or NULL for "no value"; sets *oom on allocation failure. */
static char *format_cell(OutputType type, va_list *ap, bool *oom) {
	char *s = NULL;
	switch (type) {
	case OUTPUT_STRING: {
		const char *v = va_arg(*ap, const char *);
		if (!v)
			return NULL;
		s = strdup(v);
		break;
	}
	case OUTPUT_UINT:
		s = strdup_printf("%u", va_arg(*ap, unsigned));
		break;
	case OUTPUT_BOOL:
		s = strdup(va_arg(*ap, int) ? "true" : "false");
		break;
	}
	if (!s)
		*oom = true;
	return s;
}

void output_table_add(OutputTable *t, ...) {
	if (!t || t->failed)
		return;
	size_t base = t->n_rows * t->n_columns;
	char **cells = realloc(t->cells, (base + t->n_columns) * sizeof(char *));
	if (!cells) {
		t->failed = true;
		return;
	}
	t->cells = cells;
	bool oom = false;
	va_list ap;
	va_start(ap, t);
	for (size_t c = 0; c < t->n_columns; c++)
		cells[base + c] = format_cell(t->columns[c].type, &ap, &oom);
	va_end(ap);
	t->n_rows++;
	t->failed = oom;
}

static const char *cell(const OutputTable *t, size_t row, size_t col) {
	return t->cells[row * t->n_columns + col];
}

static void print_text(const OutputTable *t, StrBuf *b) {
	_cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));
	if (!width) {
		b->failed = true;
		return;
	}
	for (size_t c = 0; c < t->n_columns; c++) {
		width[c] = strlen(t->columns[c].header);
		for (size_t r = 0; r < t->n_rows; r++) {
			const char *v = cell(t, r, c);
			size_t w = v ? strlen(v) : 1;
			if (w > width[c])
				width[c] = w;
		}
		if (t->columns[c].text_width && width[c] > t->columns[c].text_width)
			width[c] = t->columns[c].text_width;
	}
	for (size_t r = 0; r <= t->n_rows; r++)
		for (size_t c = 0; c < t->n_columns; c++) {
			const char *v = r == 0 ? t->columns[c].header : cell(t, r - 1, c);
			bool last = c + 1 == t->n_columns;
			if (last)
				strbuf_printf(b, "%.*s\n", (int)width[c], v ? v : "-");
			else
				strbuf_printf(b, "%-*.*s  ", (int)width[c], (int)width[c], v ? v : "-");
		}
}

static void print_json(const OutputTable *t, StrBuf *b) {
	strbuf_append(b, "[");
	for (size_t r = 0; r < t->n_rows; r++) {
		strbuf_append(b, r ? ",\n {" : "\n {");
		for (size_t c = 0; c < t->n_columns; c++) {
			const char *v = cell(t, r, c);
			if (c)
				strbuf_append(b, ", ");
			strbuf_json_string(b, t->columns[c].key);
			strbuf_append(b, ": ");
			if (!v)
				strbuf_append(b, "null");
			else if (t->columns[c].type == OUTPUT_STRING)
				strbuf_json_string(b, v);
			else
				strbuf_append(b, v);
		}
		strbuf_append(b, "}");
	}
	strbuf_append(b, t->n_rows ? "\n]\n" : "]\n");
}

int output_table_print(const OutputTable *t, bool json, FILE *f) {
	if (!t || t->failed)
		return -ENOMEM;
	_cleanup_(strbuf_free) StrBuf b = {};
	if (json)
		print_json(t, &b);
	else
		print_text(t, &b);
	_cleanup_free_ char *s = NULL;
	int r = strbuf_finish(&b, &s);
	if (r < 0)
		return r;
	return fputs(s, f) < 0 ? -EIO : 0;
}

int output_document(const char *text, FILE *f) {
	size_t n = strlen(text);
	bool newline = n > 0 && text[n - 1] == '\n';
	return fputs(text, f) < 0 || (!newline && fputc('\n', f) == EOF) ? -EIO : 0;
}

char *output_value_text(char *const *value, bool list) {
	if (list && strv_length(value) == 0)
		return strdup("(empty)");
	return strv_join(value, ", ");
}

void output_value_json(StrBuf *b, char *const *value, bool list) {
	if (!list) {
		strbuf_json_string(b, value && value[0] ? value[0] : "");
		return;
	}
	strbuf_append(b, "[");
	STRV_FOREACH(v, value) {
		if (v != value)
			strbuf_append(b, ", ");
		strbuf_json_string(b, *v);
	}
	strbuf_append(b, "]");
}

int output_message(bool json, const char *fmt, ...) {
	_cleanup_(strbuf_free) StrBuf b = {};
	_cleanup_(strbuf_free) StrBuf msg = {};
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (json) {
		strbuf_append(&b, "{\"message\": ");
		strbuf_json_string(&b, msg.data ? msg.data : "");
		strbuf_append(&b, "}");
	} else
		strbuf_append(&b, msg.data ? msg.data : "");
	if (msg.failed || b.failed)
		return -ENOMEM;
	return printf("%s\n", b.data) < 0 ? -EIO : 0;
}
