/*
 * rsop.h - resultant set of policy: Group Policy precedence over the store.
 *
 * Rules: the links of the host's group and all its ancestors apply; ancestors
 * are applied before descendants so the descendant wins; within one group the
 * lowest link order wins; a group with block inheritance ignores ancestors'
 * links except enforced ones; enforced links win over everything below them
 * (an enforced link at an ancestor beats any descendant's link; between two
 * enforced links the ancestor's wins); disabled links are ignored; a setting
 * no applicable link sets falls back to the catalog default (source NULL).
 *
 * Invariant: an Rsop always has one value per catalog setting, in catalog
 * order, and the complete value vector passes the catalog constraints check
 * or rsop_resolve reports which policies conflict.
 */
#pragma once

#include "store.h"

typedef struct RsopSource {
	char *policy;
	unsigned version;
	char *group;
	bool enforced;
} RsopSource;

typedef struct RsopEntry {
	const CatalogSetting *setting;
	char **value;        /* strv */
	RsopSource *source;  /* NULL = catalog default */
} RsopEntry;

typedef struct Rsop {
	char *host;
	char *group;
	RsopEntry *entries; /* n = catalog->n_settings, catalog order */
	size_t n_entries;
} Rsop;

/* Resolve for one host.  Constraint violations of the combined result are
 * reported in diag (naming setting ids) and return -EINVAL; the Rsop is still
 * returned in *ret so callers can show it. */
int rsop_resolve(Store *s, const Catalog *c, const char *host, Rsop **ret, DiagList *diag);
/* Resolve for a group path (what a host in it gets). */
int rsop_resolve_group(Store *s, const Catalog *c, const char *group, Rsop **ret,
		       DiagList *diag);
void rsop_free(Rsop *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Rsop *, rsop_free)

/* Batch resolution: one snapshot of the store's groups and links, each
 * linked policy version parsed at most once, each group resolved at most
 * once.  Resolving every host of a large store goes through this.  The
 * cache borrows s and c, which must outlive it; the store must not change
 * while the cache is used (rsop_resolve_all holds a snapshot for that). */
typedef struct RsopCache RsopCache;
int rsop_cache_new(Store *s, const Catalog *c, RsopCache **ret);
void rsop_cache_free(RsopCache *cache);
DEFINE_TRIVIAL_CLEANUP_FUNC(RsopCache *, rsop_cache_free)
/* The result for a group (r->host NULL), owned by the cache.  Returns 0,
 * -EINVAL with *ret set (constraint violations, or a stored policy version
 * the catalog no longer accepts: reported in diag the first time only),
 * -ENOENT / -EINVAL for an unknown / invalid group. */
int rsop_cache_group(RsopCache *cache, const char *group, const Rsop **ret, DiagList *diag);

/* Called once per host; r->host is the host during the call only.  status
 * is rsop_cache_group's for the host's group.  A negative return stops. */
typedef int (*RsopHostFunc)(const Rsop *r, int status, void *userdata);
/* Resolve every host of the store, group by group.  Returns the number of
 * hosts whose result has problems (diag says which, once per group), or
 * -errno (a store error, or the callback's). */
int rsop_resolve_all(Store *s, const Catalog *c, RsopHostFunc cb, void *userdata,
		     DiagList *diag);

/* The complete policy document (every setting), valid against
 * schema/policy.xsd and parseable by policy_parse_memory().  Named
 * "rsop:HOST", or for a group result "rsop-group" + the path with '/' as
 * ':' ("rsop-group:paris:fs"), cut to the 128 bytes a policy name may have;
 * the description names host and group in full. */
int rsop_to_policy_xml(const Rsop *r, char **ret);
/* {"host":...,"settings":[{"id","value","source":{policy,version,group}|null}]}
 * in catalog order, on one line.  "value" follows the setting's type: bool ->
 * JSON true/false, int -> JSON number, enum and string -> JSON string, list
 * -> JSON array of strings (in policy order).  "host" is null for a group
 * result. */
int rsop_to_json(const Rsop *r, char **ret);
