/*
 * diag.h - diagnostics that name the file, line and setting id.
 *
 * Purpose: every validation error a user sees goes through a DiagList so
 * that the CLI, the agent and the endpoint print them the same way:
 *     FILE:LINE: SETTING: MESSAGE        (parts that are unknown are left out)
 * Invariant: adding to a DiagList never fails silently; on ENOMEM the list
 * records that it is truncated.  Nothing here prints unless asked.
 */
#pragma once

#include <stdio.h>

#include "util.h"

typedef struct Diag {
	char *file;    /* may be NULL */
	unsigned line; /* 0 = unknown */
	char *setting; /* may be NULL */
	char *message;
} Diag;

typedef struct DiagList {
	Diag *items;
	size_t n;
	bool truncated; /* an entry was lost to ENOMEM or the limit */
} DiagList;

#define DIAG_MAX 1000

void diag_add(DiagList *l, const char *file, unsigned line, const char *setting,
	      const char *fmt, ...) _printf_(5, 6);
void diag_clear(DiagList *l);
/* One line per entry in the format above. */
void diag_print(const DiagList *l, FILE *f);
/* JSON array of {"file","line","setting","message"} (no trailing newline). */
void diag_print_json(const DiagList *l, FILE *f);
