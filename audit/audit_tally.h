/*
 * audit_tally.h - counting by key for the reports: how often each client
 * address, certificate, dialect, host... was seen, with first/last time and
 * one detail, in one pass over the events.
 *
 * Invariants: keys are unique within a tally; a tally's memory is bounded by
 * its number of distinct keys; audit_tally_sorted() orders by count, then
 * key, so reports are deterministic.
 * Must never: keep pointers into the records it counts (everything copied).
 */
#pragma once

#include "util.h"

typedef struct AuditTallyEntry {
	char *key;
	char *detail;  /* first non-NULL detail given (e.g. user, issuer) */
	char *host;    /* last host the key was seen on (borrowed: see below) */
	unsigned long long count;
	unsigned long long first_usec, last_usec;
	unsigned long long aux;   /* caller's own counter (e.g. denied) */
	void *data;               /* caller's per-key data (freed by free()) */
	size_t hash;
} AuditTallyEntry;

typedef struct AuditTally {
	AuditTallyEntry **slots;
	size_t cap, n;
	/* true: host strings given to audit_tally_add outlive the tally and
	 * are kept as pointers, not copied (the report's host names). */
	bool borrow_host;
} AuditTally;

/* Count one sighting; detail/host may be NULL.  Returns the entry or NULL
 * on ENOMEM. */
AuditTallyEntry *audit_tally_add(AuditTally *t, const char *key, const char *detail,
				 const char *host, unsigned long long time_usec);
AuditTallyEntry *audit_tally_find(const AuditTally *t, const char *key);
/* Count one more sighting of an entry already found or added (callers that
 * cache entries skip the lookup); false on ENOMEM. */
bool audit_tally_bump(AuditTally *t, AuditTallyEntry *e, const char *detail, const char *host,
		      unsigned long long time_usec);
/* Entries sorted by count desc then key (array owned by caller, entries
 * by the tally).  NULL on ENOMEM; *ret_n = 0 for an empty tally. */
AuditTallyEntry **audit_tally_sorted(const AuditTally *t, size_t *ret_n);
void audit_tally_clear(AuditTally *t);
