/*
 * fuzz_users.c - libFuzzer harness for the users file parser
 * (endpoint/users.c).
 *
 * Beyond "no crash, no leak, no UB": a rejected file yields no Users and at
 * least one diagnostic; an accepted one finds each of its users again by
 * name; the input buffer is wiped when asked.  Never prints diagnostics
 * (they could echo user names, never secrets).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	DiagList d = { 0 };
	Users *u = NULL;
	int r = users_parse(text, size, true, "fuzz", &d, &u);
	for (size_t i = 0; i < size; i++)
		if (text[i] != 0)
			abort(); /* not wiped */
	if (r < 0 && (u || (r == -EINVAL && d.n == 0 && !d.truncated)))
		abort();
	if (r == 0) {
		/* every non-comment line's name resolves */
		const char *p = (const char *)data, *end = p + size;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *line_end = nl ? nl : end;
			const char *q = p;
			while (q < line_end && (*q == ' ' || *q == '\t'))
				q++;
			const char *colon = memchr(q, ':', (size_t)(line_end - q));
			if (q < line_end && *q != '#' && colon) {
				char *name = strndup(q, (size_t)(colon - q));
				uint8_t h[NTLM_HASH_SIZE];
				if (!name || users_lookup(u, name, h) < 0)
					abort();
				free(name);
			}
			p = line_end + 1;
		}
	}
	users_free(u);
	diag_clear(&d);
	free(text);
	return 0;
}
