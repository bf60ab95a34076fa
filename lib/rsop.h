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

/* The complete policy document (every setting) named "rsop:HOST". */
int rsop_to_policy_xml(const Rsop *r, char **ret);
/* {"host":...,"settings":[{"id","value","source":{policy,version,group}|null}]} */
int rsop_to_json(const Rsop *r, char **ret);
