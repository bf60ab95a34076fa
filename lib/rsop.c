/*
 * rsop.c - resultant set of policy: which value of every catalog setting a
 * group (and so each host in it) gets, and from which policy link.
 *
 * How: an RsopCache reads the store's groups, links and latest policy
 * versions once (in one snapshot), parses each linked policy version at most
 * once, and resolves each group at most once.  Resolving a group orders its
 * applicable links from the highest precedence down (see precedence_list())
 * and lets the first link that sets a setting win; settings nobody sets take
 * the catalog default.  Hosts only select a group's result, so 100k hosts
 * cost 100k lookups, not 100k resolutions.
 *
 * Invariants: every Rsop has exactly one entry per catalog setting, in
 * catalog order, each with a value; a source is NULL exactly when the value
 * is the catalog default.  The store is only read.
 *
 * Never: re-parse a policy version per host or per group, guess a value for
 * a setting a broken stored version sets (its link is ignored and the
 * problem reported), or print anything (diagnostics go to the DiagList).
 */
#include "rsop.h"

#include <sys/types.h>

#include "strbuf.h"

typedef struct RsopPolicy {
	const char *name; /* borrowed from the cache's StoreVersion */
	unsigned version; /* the latest: links follow the newest import */
	Policy *parsed;
	int status; /* 0 not loaded yet, 1 parsed, -errno failed */
} RsopPolicy;

typedef struct RsopGroup {
	const char *path; /* borrowed from the cache's StoreGroup */
	ssize_t parent;   /* index, -1 for "/" */
	bool block_inheritance;
	const StoreLink *links; /* this group's links, by order */
	size_t n_links;
	Rsop *result;
	int status;
	bool resolved;
} RsopGroup;

struct RsopCache {
	Store *store;
	const Catalog *catalog;
	StoreGroup *store_groups; /* sorted by path */
	RsopGroup *groups;        /* parallel to store_groups */
	size_t n_groups;
	StoreLink *links; /* sorted by group path, then order */
	size_t n_links;
	StoreVersion *versions; /* latest version per policy, sorted by name */
	RsopPolicy *policies;   /* parallel to versions */
	size_t n_policies;
};

/* ---- Rsop objects -------------------------------------------------------- */

static void rsop_source_free(RsopSource *src) {
	if (!src)
		return;
	free(src->policy);
	free(src->group);
	free(src);
}

void rsop_free(Rsop *r) {
	if (!r)
		return;
	for (size_t i = 0; r->entries && i < r->n_entries; i++) {
		strv_free(r->entries[i].value);
		rsop_source_free(r->entries[i].source);
	}
	free(r->entries);
	free(r->host);
	free(r->group);
	free(r);
}

/* ---- the cache ----------------------------------------------------------- */

void rsop_cache_free(RsopCache *cache) {
	if (!cache)
		return;
	for (size_t i = 0; cache->groups && i < cache->n_groups; i++)
		rsop_free(cache->groups[i].result);
	for (size_t i = 0; cache->policies && i < cache->n_policies; i++)
		policy_free(cache->policies[i].parsed);
	free(cache->groups);
	free(cache->policies);
	store_groups_free(cache->store_groups, cache->n_groups);
	store_links_free(cache->links, cache->n_links);
	store_versions_free(cache->versions, cache->n_policies);
	free(cache);
}

static int group_path_cmp(const void *key, const void *elem) {
	return strcmp(key, ((const StoreGroup *)elem)->path);
}

static ssize_t cache_group_index(const RsopCache *cache, const char *path) {
	const StoreGroup *g = bsearch(path, cache->store_groups, cache->n_groups,
				      sizeof(StoreGroup), group_path_cmp);
	return g ? g - cache->store_groups : -1;
}

static int version_name_cmp(const void *key, const void *elem) {
	return strcmp(key, ((const StoreVersion *)elem)->policy);
}

static ssize_t cache_policy_index(const RsopCache *cache, const char *name) {
	const StoreVersion *v = bsearch(name, cache->versions, cache->n_policies,
					sizeof(StoreVersion), version_name_cmp);
	return v ? v - cache->versions : -1;
}

/* Tie the store's lists together: parents, each group's run of links. */
static int cache_index(RsopCache *cache) {
	cache->groups = calloc(cache->n_groups ? cache->n_groups : 1, sizeof(RsopGroup));
	cache->policies = calloc(cache->n_policies ? cache->n_policies : 1, sizeof(RsopPolicy));
	if (!cache->groups || !cache->policies)
		return -ENOMEM;
	for (size_t i = 0; i < cache->n_policies; i++)
		cache->policies[i] = (RsopPolicy){ .name = cache->versions[i].policy,
						   .version = cache->versions[i].version };
	for (size_t i = 0; i < cache->n_groups; i++) {
		RsopGroup *g = &cache->groups[i];
		*g = (RsopGroup){ .path = cache->store_groups[i].path,
				  .parent = -1,
				  .block_inheritance = cache->store_groups[i].block_inheritance };
		const char *slash = strrchr(g->path, '/');
		if (!slash || streq(g->path, "/"))
			continue;
		_cleanup_free_ char *parent = slash == g->path
						      ? strdup("/")
						      : strndup(g->path, (size_t)(slash - g->path));
		if (!parent)
			return -ENOMEM;
		g->parent = cache_group_index(cache, parent);
		if (g->parent < 0)
			return -EIO; /* the store keeps every parent: corrupt */
	}
	for (size_t i = 0; i < cache->n_links;) {
		ssize_t gi = cache_group_index(cache, cache->links[i].group);
		size_t j = i;
		while (j < cache->n_links && streq(cache->links[j].group, cache->links[i].group))
			j++;
		if (gi < 0)
			return -EIO;
		cache->groups[gi].links = &cache->links[i];
		cache->groups[gi].n_links = j - i;
		i = j;
	}
	return 0;
}

int rsop_cache_new(Store *s, const Catalog *c, RsopCache **ret) {
	_cleanup_(rsop_cache_freep) RsopCache *cache = calloc(1, sizeof(RsopCache));
	if (!cache)
		return -ENOMEM;
	cache->store = s;
	cache->catalog = c;

	/* A snapshot unless the caller already holds one (or a batch). */
	int r = store_snapshot_begin(s);
	bool own_snapshot = r >= 0;
	if (r < 0 && r != -EBUSY)
		return r;
	r = store_group_list(s, &cache->store_groups, &cache->n_groups);
	if (r >= 0)
		r = store_link_list(s, NULL, &cache->links, &cache->n_links);
	if (r >= 0)
		r = store_policy_list(s, &cache->versions, &cache->n_policies);
	if (own_snapshot)
		store_snapshot_end(s);
	if (r < 0)
		return r;
	r = cache_index(cache);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(cache);
	return 0;
}

/* The parsed latest version of policy i, parsing it on first use.  A
 * version the catalog rejects is reported once and stays rejected. */
static int cache_policy(RsopCache *cache, size_t i, const Policy **ret, DiagList *diag) {
	RsopPolicy *p = &cache->policies[i];
	if (p->status == 0) {
		_cleanup_free_ char *xml = NULL;
		_cleanup_free_ char *label = strdup_printf("%s@v%u", p->name, p->version);
		if (!label)
			return -ENOMEM;
		int r = store_policy_xml(cache->store, p->name, p->version, &xml, NULL);
		if (r >= 0)
			r = policy_parse_memory(cache->catalog, xml, strlen(xml), label, &p->parsed,
						diag);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			diag_add(diag, label, 0, NULL,
				 "stored policy version cannot be used (%s); its links are ignored",
				 strerror(-r));
		p->status = r < 0 ? r : 1;
	}
	*ret = p->parsed;
	return p->status < 0 ? p->status : 0;
}

/* ---- precedence ---------------------------------------------------------- */

typedef struct Applied {
	const StoreLink *link;
	const RsopGroup *group;
} Applied;

/*
 * The links that apply to group gi, highest precedence first:
 *   1. enforced links, from "/" down to gi (the ancestor's wins), each
 *      group's by ascending order;
 *   2. the other links, from gi up to "/" (the descendant's wins), each
 *      group's by ascending order, stopping at the nearest group (gi
 *      included) that blocks inheritance: nothing above it is inherited.
 * Disabled links never apply.  Returns the count; *ret is malloc'd.
 */
static ssize_t precedence_list(const RsopCache *cache, size_t gi, Applied **ret) {
	size_t depth = 0, n_links = 0;
	for (ssize_t g = (ssize_t)gi; g >= 0; g = cache->groups[g].parent) {
		depth++;
		n_links += cache->groups[g].n_links;
	}
	_cleanup_free_ const RsopGroup **chain = calloc(depth, sizeof(*chain)); /* gi first */
	_cleanup_free_ Applied *list = calloc(n_links ? n_links : 1, sizeof(Applied));
	if (!chain || !list)
		return -ENOMEM;
	size_t k = 0, n = 0, inherit_depth = depth;
	for (ssize_t g = (ssize_t)gi; g >= 0; g = cache->groups[g].parent) {
		chain[k] = &cache->groups[g];
		if (chain[k]->block_inheritance && inherit_depth == depth)
			inherit_depth = k + 1;
		k++;
	}

	for (size_t d = depth; d-- > 0;)
		for (size_t i = 0; i < chain[d]->n_links; i++) {
			const StoreLink *l = &chain[d]->links[i];
			if (l->enforced && !l->disabled)
				list[n++] = (Applied){ l, chain[d] };
		}
	for (size_t d = 0; d < inherit_depth; d++)
		for (size_t i = 0; i < chain[d]->n_links; i++) {
			const StoreLink *l = &chain[d]->links[i];
			if (!l->enforced && !l->disabled)
				list[n++] = (Applied){ l, chain[d] };
		}
	*ret = TAKE_PTR(list);
	return (ssize_t)n;
}

static int rsop_entry_set(RsopEntry *e, char *const *value, const RsopPolicy *p,
			  const Applied *a) {
	e->value = strv_copy(value);
	if (!e->value)
		return -ENOMEM;
	if (!p)
		return 0;
	e->source = calloc(1, sizeof(RsopSource));
	if (!e->source)
		return -ENOMEM;
	*e->source = (RsopSource){ .policy = strdup(p->name),
				   .version = p->version,
				   .group = strdup(a->group->path),
				   .enforced = a->link->enforced };
	return e->source->policy && e->source->group ? 0 : -ENOMEM;
}

/* Whether diagnostic d is about setting id: it names it as its setting or
 * in its message (a constraint's message names both sides). */
static bool diag_names_setting(const Diag *d, const char *id) {
	if (streq_ptr(d->setting, id))
		return true;
	size_t n = strlen(id);
	for (const char *m = d->message ? strstr(d->message, id) : NULL; m; m = strstr(m + 1, id)) {
		char after = m[n];
		bool id_char = (after >= 'a' && after <= 'z') || (after >= '0' && after <= '9') ||
			       after == '.' || after == '-';
		if ((m == d->message || m[-1] == ' ' || m[-1] == '\'') && !id_char)
			return true;
	}
	return false;
}

/* After a failed constraint check: say where the value of each setting the
 * new diagnostics name came from, so the conflicting policies are named. */
static int report_sources(const Rsop *r, const Catalog *c, DiagList *diag, size_t first) {
	size_t end = diag->n;
	_cleanup_free_ bool *named = calloc(r->n_entries ? r->n_entries : 1, sizeof(bool));
	if (!named)
		return -ENOMEM;
	for (size_t i = first; i < end; i++)
		for (size_t si = 0; si < r->n_entries; si++)
			named[si] = named[si] || diag_names_setting(&diag->items[i], c->settings[si].id);
	for (size_t si = 0; si < r->n_entries; si++) {
		if (!named[si])
			continue;
		const RsopEntry *e = &r->entries[si];
		_cleanup_free_ char *v = strv_join(e->value, ",");
		if (e->source)
			diag_add(diag, r->group, 0, e->setting->id,
				 "value '%s' comes from policy '%s' version %u linked at '%s'%s",
				 v ? v : "?", e->source->policy, e->source->version,
				 e->source->group, e->source->enforced ? " (enforced)" : "");
		else
			diag_add(diag, r->group, 0, e->setting->id, "value '%s' is the catalog default",
				 v ? v : "?");
	}
	return 0;
}

/* Resolve group gi into a new Rsop.  Returns 0, -EINVAL (result returned:
 * a constraint fails or a linked version is unusable) or another -errno. */
static int resolve_group(RsopCache *cache, size_t gi, Rsop **ret, DiagList *diag) {
	const Catalog *c = cache->catalog;
	const RsopGroup *g = &cache->groups[gi];
	_cleanup_(rsop_freep) Rsop *r = calloc(1, sizeof(Rsop));
	if (!r)
		return -ENOMEM;
	r->group = strdup(g->path);
	r->entries = calloc(c->n_settings ? c->n_settings : 1, sizeof(RsopEntry));
	if (!r->group || !r->entries)
		return -ENOMEM;
	r->n_entries = c->n_settings;

	_cleanup_free_ Applied *applied = NULL;
	ssize_t n = precedence_list(cache, gi, &applied);
	if (n < 0)
		return (int)n;
	int status = 0;
	for (ssize_t i = 0; i < n; i++) {
		ssize_t pi = cache_policy_index(cache, applied[i].link->policy);
		const Policy *p = NULL;
		int q = pi < 0 ? -EIO : cache_policy(cache, (size_t)pi, &p, diag);
		if (q == -ENOMEM)
			return q;
		if (q < 0) {
			diag_add(diag, g->path, 0, NULL, "link to policy '%s' at '%s' ignored",
				 applied[i].link->policy, applied[i].group->path);
			status = -EINVAL;
			continue;
		}
		for (size_t j = 0; j < p->n_entries; j++) {
			const PolicyEntry *pe = &p->entries[j];
			ptrdiff_t si = pe->setting - c->settings;
			if (si < 0 || (size_t)si >= c->n_settings || r->entries[si].value)
				continue;
			r->entries[si].setting = pe->setting;
			q = rsop_entry_set(&r->entries[si], pe->value, &cache->policies[pi],
					   &applied[i]);
			if (q < 0)
				return q;
		}
	}

	_cleanup_free_ char ***values = calloc(c->n_settings ? c->n_settings : 1, sizeof(char **));
	if (!values)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_settings; i++) {
		RsopEntry *e = &r->entries[i];
		if (!e->value) {
			e->setting = &c->settings[i];
			int q = rsop_entry_set(e, c->settings[i].default_value, NULL, NULL);
			if (q < 0)
				return q;
		}
		values[i] = e->value;
	}
	size_t first = diag->n;
	if (catalog_check_constraints(c, values, NULL, g->path, diag) < 0) {
		status = report_sources(r, c, diag, first);
		if (status >= 0)
			status = -EINVAL;
	}
	*ret = TAKE_PTR(r);
	return status;
}

static int cache_resolve(RsopCache *cache, size_t gi, DiagList *diag) {
	RsopGroup *g = &cache->groups[gi];
	if (!g->resolved) {
		g->status = resolve_group(cache, gi, &g->result, diag);
		if (g->status < 0 && !g->result)
			return g->status; /* not cached: nothing was resolved */
		g->resolved = true;
	}
	return g->status;
}

static ssize_t cache_lookup(RsopCache *cache, const char *group) {
	if (!store_group_path_is_valid(group))
		return -EINVAL;
	ssize_t gi = cache_group_index(cache, group);
	return gi < 0 ? -ENOENT : gi;
}

int rsop_cache_group(RsopCache *cache, const char *group, const Rsop **ret, DiagList *diag) {
	ssize_t gi = cache_lookup(cache, group);
	if (gi < 0)
		return (int)gi;
	int r = cache_resolve(cache, (size_t)gi, diag);
	if (cache->groups[gi].result)
		*ret = cache->groups[gi].result;
	return r;
}

/* ---- one host, one group, every host ------------------------------------- */

int rsop_resolve_group(Store *s, const Catalog *c, const char *group, Rsop **ret,
		       DiagList *diag) {
	_cleanup_(rsop_cache_freep) RsopCache *cache = NULL;
	if (!store_group_path_is_valid(group))
		return -EINVAL;
	int r = rsop_cache_new(s, c, &cache);
	if (r < 0)
		return r;
	ssize_t gi = cache_lookup(cache, group);
	if (gi < 0)
		return (int)gi;
	r = cache_resolve(cache, (size_t)gi, diag);
	if (cache->groups[gi].result)
		*ret = TAKE_PTR(cache->groups[gi].result);
	return r;
}

int rsop_resolve(Store *s, const Catalog *c, const char *host, Rsop **ret, DiagList *diag) {
	_cleanup_free_ char *group = NULL;
	_cleanup_free_ char *name = strdup(host ? host : "");
	if (!name)
		return -ENOMEM;
	int r = store_host_group(s, host, &group);
	if (r < 0)
		return r;
	Rsop *result = NULL;
	r = rsop_resolve_group(s, c, group, &result, diag);
	if (result) {
		result->host = TAKE_PTR(name);
		*ret = result;
	}
	return r;
}

typedef struct ResolveAll {
	RsopCache *cache;
	RsopHostFunc cb;
	void *userdata;
	DiagList *diag;
	ssize_t last; /* group index of the previous host */
	int problems;
} ResolveAll;

static int resolve_all_host(const char *name, const char *group, void *userdata) {
	ResolveAll *ra = userdata;
	if (ra->last < 0 || !streq(ra->cache->groups[ra->last].path, group)) {
		ra->last = cache_group_index(ra->cache, group);
		if (ra->last < 0)
			return -EIO; /* the snapshot holds every group of every host */
	}
	int status = cache_resolve(ra->cache, (size_t)ra->last, ra->diag);
	Rsop *r = ra->cache->groups[ra->last].result;
	if (!r)
		return status;
	if (status < 0)
		ra->problems++;
	r->host = (char *)name;
	int q = ra->cb(r, status, ra->userdata);
	r->host = NULL;
	return q < 0 ? q : 0;
}

int rsop_resolve_all(Store *s, const Catalog *c, RsopHostFunc cb, void *userdata,
		     DiagList *diag) {
	int r = store_snapshot_begin(s);
	bool own_snapshot = r >= 0;
	if (r < 0 && r != -EBUSY)
		return r;
	_cleanup_(rsop_cache_freep) RsopCache *cache = NULL;
	r = rsop_cache_new(s, c, &cache);
	ResolveAll ra = { .cache = cache, .cb = cb, .userdata = userdata, .diag = diag, .last = -1 };
	if (r >= 0)
		r = store_host_foreach(s, resolve_all_host, &ra);
	if (own_snapshot)
		store_snapshot_end(s);
	return r < 0 ? r : ra.problems;
}

/* ---- output -------------------------------------------------------------- */

/* Policy names (schema/policy.xsd) allow no '/' and at most this many
 * bytes; host names and group paths may be longer. */
#define RSOP_NAME_MAX 128

/* "rsop:HOST", or for a group "rsop-group" + the path with '/' as ':'
 * ("/" -> "rsop-group:", "/paris/fs" -> "rsop-group:paris:fs"); cut to
 * RSOP_NAME_MAX (the description keeps the full name). */
static char *rsop_document_name(const Rsop *r) {
	char *name = r->host ? strdup_printf("rsop:%s", r->host)
			     : strdup_printf("rsop-group%s", r->group);
	if (!name)
		return NULL;
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = ':';
	if (strlen(name) > RSOP_NAME_MAX)
		name[RSOP_NAME_MAX] = 0;
	return name;
}

int rsop_to_policy_xml(const Rsop *r, char **ret) {
	_cleanup_free_ PolicyEntry *entries = calloc(r->n_entries ? r->n_entries : 1,
						     sizeof(PolicyEntry));
	_cleanup_free_ char *name = rsop_document_name(r);
	_cleanup_free_ char *description =
		r->host ? strdup_printf("Resultant policy of host %s (group %s)", r->host, r->group)
			: strdup_printf("Resultant policy of group %s", r->group);
	if (!entries || !name || !description)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_entries; i++)
		entries[i] = (PolicyEntry){ .setting = r->entries[i].setting,
					    .value = r->entries[i].value };
	/* Borrowed pointers only: this Policy is never freed with policy_free. */
	Policy p = {
		.name = name,
		.description = description,
		.entries = entries,
		.n_entries = r->n_entries,
	};
	return policy_to_xml(&p, ret);
}

typedef void (*JsonValueWriter)(StrBuf *b, char *const *value);

static void json_value_string(StrBuf *b, char *const *value) {
	if (value && value[0])
		strbuf_json_string(b, value[0]);
	else
		strbuf_append(b, "null");
}

static void json_value_bool(StrBuf *b, char *const *value) {
	if (value && value[0] && (streq(value[0], "true") || streq(value[0], "false")))
		strbuf_append(b, value[0]);
	else
		json_value_string(b, value);
}

static void json_value_int(StrBuf *b, char *const *value) {
	long long v;
	if (value && value[0] && parse_int64(value[0], &v) >= 0)
		strbuf_printf(b, "%lld", v);
	else
		json_value_string(b, value);
}

static void json_value_list(StrBuf *b, char *const *value) {
	strbuf_append(b, "[");
	STRV_FOREACH(item, value) {
		if (item != value)
			strbuf_append(b, ",");
		strbuf_json_string(b, *item);
	}
	strbuf_append(b, "]");
}

static const JsonValueWriter json_value_writers[_CATALOG_TYPE_MAX] = {
	[CATALOG_BOOL] = json_value_bool,     [CATALOG_INT] = json_value_int,
	[CATALOG_ENUM] = json_value_string,   [CATALOG_STRING] = json_value_string,
	[CATALOG_LIST] = json_value_list,
};

int rsop_to_json(const Rsop *r, char **ret) {
	StrBuf b = { 0 };
	strbuf_append(&b, "{\"host\":");
	if (r->host)
		strbuf_json_string(&b, r->host);
	else
		strbuf_append(&b, "null");
	strbuf_append(&b, ",\"settings\":[");
	for (size_t i = 0; i < r->n_entries; i++) {
		const RsopEntry *e = &r->entries[i];
		JsonValueWriter w = (unsigned)e->setting->type < _CATALOG_TYPE_MAX
					    ? json_value_writers[e->setting->type]
					    : NULL;
		strbuf_append(&b, i ? ",{\"id\":" : "{\"id\":");
		strbuf_json_string(&b, e->setting->id);
		strbuf_append(&b, ",\"value\":");
		(w ? w : json_value_string)(&b, e->value);
		strbuf_append(&b, ",\"source\":");
		if (e->source) {
			strbuf_append(&b, "{\"policy\":");
			strbuf_json_string(&b, e->source->policy);
			strbuf_printf(&b, ",\"version\":%u,\"group\":", e->source->version);
			strbuf_json_string(&b, e->source->group);
			strbuf_append(&b, "}");
		} else
			strbuf_append(&b, "null");
		strbuf_append(&b, "}");
	}
	strbuf_append(&b, "]}");
	return strbuf_finish(&b, ret);
}
