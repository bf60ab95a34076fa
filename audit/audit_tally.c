/*
 * audit_tally.c - open-addressing hash table of counters keyed by string.
 * See audit_tally.h.  Load factor stays <= 1/2; FNV-1a hashing.
 */
#include "audit_tally.h"

static size_t tally_hash(const char *s) {
	size_t h = (size_t)0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)0x100000001b3ULL;
	return h;
}

static AuditTallyEntry **tally_slot(AuditTallyEntry **slots, size_t cap, const char *key,
				    size_t hash) {
	for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i] || (slots[i]->hash == hash && streq(slots[i]->key, key)))
			return &slots[i];
}

static int tally_grow(AuditTally *t) {
	size_t cap = t->cap ? t->cap * 2 : 64;
	AuditTallyEntry **slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			*tally_slot(slots, cap, t->slots[i]->key, t->slots[i]->hash) = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

AuditTallyEntry *audit_tally_find(const AuditTally *t, const char *key) {
	return t->cap ? *tally_slot(t->slots, t->cap, key, tally_hash(key)) : NULL;
}

/* Replace *dst by a copy of src unless equal; false on ENOMEM. */
static bool set_str(char **dst, const char *src) {
	if (!src || streq_ptr(*dst, src))
		return true;
	char *c = strdup(src);
	if (!c)
		return false;
	free(*dst);
	*dst = c;
	return true;
}

bool audit_tally_bump(AuditTally *t, AuditTallyEntry *e, const char *detail, const char *host,
		      unsigned long long time_usec) {
	e->count++;
	if (time_usec < e->first_usec)
		e->first_usec = time_usec;
	if (time_usec >= e->last_usec) {
		e->last_usec = time_usec;
		if (t->borrow_host)
			e->host = (char *)host;
		else if (!set_str(&e->host, host))
			return false;
	}
	return e->detail || !detail || (e->detail = strdup(detail));
}

AuditTallyEntry *audit_tally_add(AuditTally *t, const char *key, const char *detail,
				 const char *host, unsigned long long time_usec) {
	if ((t->n + 1) * 2 > t->cap && tally_grow(t) < 0)
		return NULL;
	size_t hash = tally_hash(key);
	AuditTallyEntry **slot = tally_slot(t->slots, t->cap, key, hash);
	AuditTallyEntry *e = *slot;
	if (!e) {
		e = calloc(1, sizeof *e);
		if (!e || !(e->key = strdup(key))) {
			free(e);
			return NULL;
		}
		e->hash = hash;
		e->first_usec = time_usec;
		*slot = e;
		t->n++;
	}
	return audit_tally_bump(t, e, detail, host, time_usec) ? e : NULL;
}

static int tally_cmp(const void *a, const void *b) {
	const AuditTallyEntry *x = *(AuditTallyEntry *const *)a, *y = *(AuditTallyEntry *const *)b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

AuditTallyEntry **audit_tally_sorted(const AuditTally *t, size_t *ret_n) {
	AuditTallyEntry **v = malloc((t->n + 1) * sizeof *v);
	if (!v)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			v[n++] = t->slots[i];
	qsort(v, n, sizeof *v, tally_cmp);
	*ret_n = n;
	return v;
}

void audit_tally_clear(AuditTally *t) {
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i]) {
			free(t->slots[i]->key);
			free(t->slots[i]->detail);
			if (!t->borrow_host)
				free(t->slots[i]->host);
			free(t->slots[i]->data);
			free(t->slots[i]);
		}
	free(t->slots);
	*t = (AuditTally){.borrow_host = t->borrow_host};
}
