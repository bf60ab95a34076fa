/*
 * diag.c - the list of diagnostics every validation step writes to.
 *
 * Purpose: collect "FILE:LINE: SETTING: MESSAGE" entries and print them as
 * text or JSON.  Invariants: at most DIAG_MAX entries are kept; when an entry
 * is lost (limit or ENOMEM) the list says so through `truncated`, and
 * diag_print() mentions it.  Must never print unless asked, never abort on
 * allocation failure, never lose the fact that an error happened.
 */
#include "diag.h"

#include <stdarg.h>

#include "strbuf.h"

static void diag_item_free(Diag *d) {
	free(d->file);
	free(d->setting);
	free(d->message);
}

void diag_add(DiagList *l, const char *file, unsigned line, const char *setting,
	      const char *fmt, ...) {
	if (!l)
		return;
	if (l->n >= DIAG_MAX) {
		l->truncated = true;
		return;
	}
	Diag *items = realloc(l->items, (l->n + 1) * sizeof(Diag));
	if (!items) {
		l->truncated = true;
		return;
	}
	l->items = items;

	Diag d = { .line = line };
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&d.message, fmt, ap) < 0)
		d.message = NULL;
	va_end(ap);
	d.file = file ? strdup(file) : NULL;
	d.setting = setting ? strdup(setting) : NULL;
	if (!d.message || (file && !d.file) || (setting && !d.setting)) {
		diag_item_free(&d);
		l->truncated = true;
		return;
	}
	l->items[l->n++] = d;
}

void diag_clear(DiagList *l) {
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		diag_item_free(&l->items[i]);
	free(l->items);
	*l = (DiagList){ 0 };
}

void diag_print(const DiagList *l, FILE *f) {
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		const Diag *d = &l->items[i];
		if (d->file)
			fprintf(f, d->line ? "%s:%u: " : "%s: ", d->file, d->line);
		if (d->setting)
			fprintf(f, "%s: ", d->setting);
		fprintf(f, "%s\n", d->message);
	}
	if (l->truncated)
		fputs("(further diagnostics were dropped)\n", f);
}

void diag_print_json(const DiagList *l, FILE *f) {
	_cleanup_(strbuf_free) StrBuf b = { 0 };
	strbuf_append(&b, "[");
	for (size_t i = 0; l && i < l->n; i++) {
		const Diag *d = &l->items[i];
		strbuf_append(&b, i ? ",{\"file\":" : "{\"file\":");
		if (d->file)
			strbuf_json_string(&b, d->file);
		else
			strbuf_append(&b, "null");
		if (d->line)
			strbuf_printf(&b, ",\"line\":%u,\"setting\":", d->line);
		else
			strbuf_append(&b, ",\"line\":null,\"setting\":");
		if (d->setting)
			strbuf_json_string(&b, d->setting);
		else
			strbuf_append(&b, "null");
		strbuf_append(&b, ",\"message\":");
		strbuf_json_string(&b, d->message);
		strbuf_append(&b, "}");
	}
	strbuf_append(&b, "]");
	if (!b.failed)
		fputs(b.data, f);
}
