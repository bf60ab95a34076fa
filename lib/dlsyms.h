/*
 * dlsyms.h - a library loaded at run time into a table of function
 * pointers, for the few libraries a long-running program needs only now
 * and then (smbpolicyd: libcurl for --source, agent/source_curl.c; the
 * nftables plugin: libnftables for the length of one nft run), so an idle
 * process does not keep them mapped.
 *
 * Invariants: the table is filled completely or not at all; a failure
 * leaves nothing open.
 * Must never: hand out a partly filled table.
 */
#pragma once

#include <stddef.h>

typedef struct DlSymbol {
	const char *name;
	size_t offset; /* of its function pointer in the table */
} DlSymbol;

/* dlopen(soname) and fill table from syms.  0 with *ret_handle (for
 * dlclose()), or -ELIBACC (*detail, if not NULL, borrows dlerror()'s text
 * until the next dl call). */
int dlsyms_open(const char *soname, const DlSymbol *syms, size_t n, void *table, void **ret_handle,
		const char **detail);
