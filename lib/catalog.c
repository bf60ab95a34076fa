/*
 * catalog.c - loads the settings catalog (schema/catalog/NAME.xml) into an
 * immutable, id-sorted Catalog.
 *
 * Every catalog file is read with the hardened reader, validated against
 * catalog.xsd, then checked for what XSD cannot say: ids unique across files,
 * type attributes that fit the type, defaults valid for their setting,
 * constraints that name known settings, and the defaults passing every
 * constraint.  The policy schema (policy.xsd beside catalog.xsd) is compiled
 * here once so that every policy parse reuses it.
 *
 * Invariants: a Catalog is returned only when all of the above hold; it is
 * never modified afterwards.  Must never carry setting ids in C: everything
 * about a setting comes from the XML.
 */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>

#include "catalog_internal.h"
#include "xmldoc.h"

#define CATALOG_NAMESPACE "urn:smbpolicy:catalog:1"
#define CATALOG_FILE_MAX_BYTES (4u * 1024u * 1024u)

typedef struct NameMap {
	const char *name;
	int value;
} NameMap;

static const NameMap scope_names[] = {
	{ "server", CATALOG_SCOPE_SERVER },
	{ "client", CATALOG_SCOPE_CLIENT },
	{ "firewall", CATALOG_SCOPE_FIREWALL },
};

static const NameMap type_names[] = {
	{ "bool", CATALOG_BOOL }, { "int", CATALOG_INT },       { "enum", CATALOG_ENUM },
	{ "string", CATALOG_STRING }, { "list", CATALOG_LIST },
};

static const NameMap item_names[] = {
	{ "string", CATALOG_ITEM_STRING },   { "enum", CATALOG_ITEM_ENUM },
	{ "host", CATALOG_ITEM_HOST },       { "cert-id", CATALOG_ITEM_CERT_ID },
	{ "port-mapping", CATALOG_ITEM_PORT_MAPPING }, { "path", CATALOG_ITEM_PATH },
};

static int name_lookup(const NameMap *m, size_t n, const char *name) {
	for (size_t i = 0; name && i < n; i++)
		if (streq(m[i].name, name))
			return m[i].value;
	return -EINVAL;
}

const char *catalog_scope_to_string(CatalogScope s) {
	for (size_t i = 0; i < ELEMENTSOF(scope_names); i++)
		if (scope_names[i].value == (int)s)
			return scope_names[i].name;
	return NULL;
}

static void setting_done(CatalogSetting *s) {
	free(s->id);
	strv_free(s->enum_values);
	strv_free(s->default_value);
	free(s->title);
	free(s->explanation);
	free(s->windows);
	free(s->feature);
	strv_free(s->targets);
	free(s->source_file);
}

void catalog_free(Catalog *c) {
	if (!c)
		return;
	for (size_t i = 0; i < c->n_settings; i++)
		setting_done(&c->settings[i]);
	for (size_t i = 0; i < c->n_constraints; i++)
		catalog_constraint_done(&c->constraints[i]);
	free(c->settings);
	free(c->constraints);
	if (c->policy_schema)
		xmlSchemaFree(c->policy_schema);
	free(c);
}

static int compare_settings(const void *a, const void *b) {
	return strcmp(((const CatalogSetting *)a)->id, ((const CatalogSetting *)b)->id);
}

int catalog_index(const Catalog *c, const char *id) {
	if (!c || !id)
		return -ENOENT;
	CatalogSetting key = { .id = (char *)id };
	const CatalogSetting *s =
		bsearch(&key, c->settings, c->n_settings, sizeof(CatalogSetting), compare_settings);
	return s ? (int)(s - c->settings) : -ENOENT;
}

const CatalogSetting *catalog_find(const Catalog *c, const char *id) {
	int i = catalog_index(c, id);
	return i >= 0 ? &c->settings[i] : NULL;
}

/* Levenshtein distance of a and b, giving up (returning max + 1) once it
 * exceeds max.  Ids are short (< 64 chars); longer input is "far". */
static size_t edit_distance(const char *a, const char *b, size_t max) {
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63 || (la > lb ? la - lb : lb - la) > max)
		return max + 1;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best = row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
	}
	return row[lb];
}

const char *catalog_suggest(const Catalog *c, const char *id) {
	const char *best = NULL;
	size_t best_d = 4;
	for (size_t i = 0; c && id && i < c->n_settings; i++) {
		size_t d = edit_distance(id, c->settings[i].id, best_d - 1);
		if (d < best_d) {
			best_d = d;
			best = c->settings[i].id;
		}
	}
	return best;
}

/* Split a whitespace-separated attribute into a strv. */
static int split_words(const char *s, char ***ret) {
	_cleanup_strv_free_ char **l = NULL;
	_cleanup_free_ char *copy = strdup(s ? s : "");
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save))
		if (strv_push_dup(&l, w) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static int attr_int64(const xmlNode *n, const char *name, int64_t dflt, int64_t *ret) {
	_cleanup_free_ char *v = xmldoc_attr(n, name);
	long long x = dflt;
	if (v && parse_int64(v, &x) < 0)
		return -EINVAL;
	*ret = x;
	return 0;
}

/* The <default> element: text for a scalar, <item>s for a list. */
static int parse_default(const xmlNode *n, const CatalogSetting *s, char ***ret) {
	_cleanup_strv_free_ char **v = NULL;
	if (s->type != CATALOG_LIST) {
		char *t = xmldoc_text(n);
		if (!t || strv_push(&v, t) < 0)
			return -ENOMEM;
	} else {
		for (const xmlNode *c = n->children; c; c = c->next) {
			if (!xmldoc_is(c, "item"))
				continue;
			char *t = xmldoc_text(c);
			if (!t || strv_push(&v, t) < 0)
				return -ENOMEM;
		}
		if (!v && !(v = calloc(1, sizeof(char *))))
			return -ENOMEM;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

/* Check what the XSD cannot: attributes that must (not) go with a type. */
static int setting_check_shape(const CatalogSetting *s, const char *file, DiagList *diag) {
	const char *why = NULL;
	bool has_enum = strv_length(s->enum_values) > 0;
	bool needs_enum = s->type == CATALOG_ENUM ||
			  (s->type == CATALOG_LIST && s->item_type == CATALOG_ITEM_ENUM);
	if (needs_enum != has_enum)
		why = needs_enum ? "needs <value> elements" : "must not have <value> elements";
	else if (s->type == CATALOG_INT && (s->min > s->max || s->step < 1))
		why = "needs min <= max and step >= 1";
	else if (s->type == CATALOG_STRING && s->item_type == CATALOG_ITEM_ENUM)
		why = "a string cannot have item=\"enum\"";
	else if (s->max_items && s->min_items > s->max_items)
		why = "needs min-items <= max-items";
	if (!why)
		return 0;
	diag_add(diag, file, s->source_line, s->id, "catalog setting %s", why);
	return -EINVAL;
}

static int setting_parse(const xmlNode *n, const char *file, CatalogSetting *s, DiagList *diag) {
	_cleanup_free_ char *scope = xmldoc_attr(n, "scope"), *type = xmldoc_attr(n, "type"),
			    *item = xmldoc_attr(n, "item"), *targets = xmldoc_attr(n, "targets"),
			    *unique = xmldoc_attr(n, "unique");
	int64_t min_items, max_items;

	s->id = xmldoc_attr(n, "id");
	s->feature = xmldoc_attr(n, "feature");
	s->source_file = strdup(file);
	s->source_line = (unsigned)xmlGetLineNo(n);
	if (!s->id || !s->feature || !s->source_file)
		return -ENOMEM;
	int sc = name_lookup(scope_names, ELEMENTSOF(scope_names), scope);
	int ty = name_lookup(type_names, ELEMENTSOF(type_names), type);
	int it = item ? name_lookup(item_names, ELEMENTSOF(item_names), item) : CATALOG_ITEM_STRING;
	if (sc < 0 || ty < 0 || it < 0 || attr_int64(n, "min", INT64_MIN, &s->min) < 0 ||
	    attr_int64(n, "max", INT64_MAX, &s->max) < 0 || attr_int64(n, "step", 1, &s->step) < 0 ||
	    attr_int64(n, "min-items", 0, &min_items) < 0 ||
	    attr_int64(n, "max-items", 0, &max_items) < 0 || min_items < 0 || max_items < 0 ||
	    min_items > UINT_MAX || max_items > UINT_MAX) {
		diag_add(diag, file, s->source_line, s->id, "bad catalog setting attributes");
		return -EINVAL;
	}
	s->scope = sc;
	s->type = ty;
	s->item_type = it;
	s->min_items = (unsigned)min_items;
	s->max_items = (unsigned)max_items;
	s->unique_items = unique && (streq(unique, "true") || streq(unique, "1"));
	if (split_words(targets, &s->targets) < 0)
		return -ENOMEM;

	const xmlNode *dflt = NULL;
	for (const xmlNode *c = n->children; c; c = c->next) {
		char **field = xmldoc_is(c, "title")	   ? &s->title
			       : xmldoc_is(c, "explanation") ? &s->explanation
			       : xmldoc_is(c, "windows")     ? &s->windows
							     : NULL;
		if (field) {
			if (!(*field = xmldoc_text(c)))
				return -ENOMEM;
		} else if (xmldoc_is(c, "value")) {
			char *v = xmldoc_text(c);
			if (!v || strv_push(&s->enum_values, v) < 0)
				return -ENOMEM;
		} else if (xmldoc_is(c, "default"))
			dflt = c;
	}
	if (!dflt) {
		diag_add(diag, file, s->source_line, s->id, "catalog setting has no <default>");
		return -EINVAL;
	}
	int r = setting_check_shape(s, file, diag);
	if (r < 0)
		return r;
	r = parse_default(dflt, s, &s->default_value);
	if (r < 0)
		return r;
	STRV_FOREACH(v, s->default_value)
		catalog_canonicalize_item(s, *v);
	return catalog_check_value(s, s->default_value, file, (unsigned)xmlGetLineNo(dflt), diag);
}

static int grow(void **arr, size_t n, size_t size) {
	void *a = realloc(*arr, (n + 1) * size);
	if (!a)
		return -ENOMEM;
	*arr = a;
	memset((char *)a + n * size, 0, size);
	return 0;
}

static int catalog_load_file(Catalog *c, xmlSchema *xsd, const char *file, DiagList *diag) {
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file(file, CATALOG_FILE_MAX_BYTES, &buf, &len);
	if (r < 0) {
		diag_add(diag, file, 0, NULL, "cannot read catalog file: %s", strerror(-r));
		return r;
	}
	_cleanup_xmldoc_ xmlDoc *doc = NULL;
	r = xmldoc_read(buf, len, CATALOG_FILE_MAX_BYTES, file, &doc, diag);
	if (r < 0)
		return r;
	xmlNode *root = xmlDocGetRootElement(doc);
	if (!xmldoc_is(root, "catalog") || !root->ns ||
	    !streq((const char *)root->ns->href, CATALOG_NAMESPACE)) {
		diag_add(diag, file, root ? (unsigned)xmlGetLineNo(root) : 0, NULL,
			 "expected a <catalog xmlns=\"%s\"> document", CATALOG_NAMESPACE);
		return -EINVAL;
	}
	r = xmldoc_validate(xsd, doc, file, diag);
	if (r < 0)
		return r;

	for (const xmlNode *n = root->children; n; n = n->next) {
		if (xmldoc_is(n, "setting")) {
			if ((r = grow((void **)&c->settings, c->n_settings, sizeof(CatalogSetting))) < 0)
				return r;
			CatalogSetting *s = &c->settings[c->n_settings++];
			if ((r = setting_parse(n, file, s, diag)) < 0)
				return r;
		} else if (xmldoc_is(n, "constraint")) {
			if ((r = grow((void **)&c->constraints, c->n_constraints,
				      sizeof(CatalogConstraint))) < 0)
				return r;
			r = catalog_constraint_parse(n, file, &c->constraints[c->n_constraints], diag);
			if (r < 0)
				return r;
			c->n_constraints++;
		}
	}
	return 0;
}

static bool is_dir(const char *p) {
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

const char *catalog_schema_dir(void) {
	return lookup_dir("SMBPOLICY_SCHEMA_DIR", SMBPOLICY_SRCDIR "/schema", SMBPOLICY_DATADIR);
}

/* The file NAME in the schema directory that holds path: path's parent (a
 * catalog dir) or grandparent (a catalog file), else catalog_schema_dir(). */
static char *schema_file(const char *path, bool path_is_dir, const char *name) {
	_cleanup_free_ char *p = strdup_printf("%s/%s%s", path, path_is_dir ? "../" : "../../", name);
	if (p && is_file(p))
		return TAKE_PTR(p);
	return strdup_printf("%s/%s", catalog_schema_dir(), name);
}

static int compare_strings(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_catalog_files(const char *dir, char ***ret) {
	_cleanup_strv_free_ char **files = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int r = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 5 || !streq(e->d_name + l - 4, ".xml"))
			continue;
		if ((r = strv_push(&files, strdup_printf("%s/%s", dir, e->d_name))) < 0)
			break;
	}
	closedir(d);
	if (r < 0)
		return r;
	size_t n = strv_length(files);
	if (n)
		qsort(files, n, sizeof(char *), compare_strings);
	*ret = TAKE_PTR(files);
	return (int)n;
}

static int catalog_check_unique(const Catalog *c, DiagList *diag) {
	int r = 0;
	for (size_t i = 1; i < c->n_settings; i++)
		if (streq(c->settings[i - 1].id, c->settings[i].id)) {
			const CatalogSetting *s = &c->settings[i];
			diag_add(diag, s->source_file, s->source_line, s->id,
				 "setting defined twice (also at %s:%u)", c->settings[i - 1].source_file,
				 c->settings[i - 1].source_line);
			r = -EINVAL;
		}
	return r;
}

int catalog_load(const char *path, Catalog **ret, DiagList *diag) {
	bool dir = is_dir(path);
	_cleanup_strv_free_ char **files = NULL;
	int r;
	if (dir) {
		r = list_catalog_files(path, &files);
		if (r <= 0) {
			diag_add(diag, path, 0, NULL, "%s", r < 0 ? strerror(-r) : "no catalog *.xml files");
			return r < 0 ? r : -ENOENT;
		}
	} else if ((r = strv_push_dup(&files, path)) < 0)
		return r;

	_cleanup_free_ char *xsd_path = schema_file(path, dir, "catalog.xsd");
	_cleanup_free_ char *policy_xsd = schema_file(path, dir, "policy.xsd");
	if (!xsd_path || !policy_xsd)
		return -ENOMEM;
	xmlSchema *xsd = NULL;
	r = xmldoc_schema_load(xsd_path, &xsd, diag);
	if (r < 0)
		return r;

	_cleanup_(catalog_freep) Catalog *c = calloc(1, sizeof(Catalog));
	if (!c) {
		xmlSchemaFree(xsd);
		return -ENOMEM;
	}
	STRV_FOREACH(f, files)
		if ((r = catalog_load_file(c, xsd, *f, diag)) < 0)
			break;
	xmlSchemaFree(xsd);
	if (r < 0)
		return r;

	if (c->n_settings)
		qsort(c->settings, c->n_settings, sizeof(CatalogSetting), compare_settings);
	if ((r = catalog_check_unique(c, diag)) < 0 || (r = catalog_constraints_resolve(c, diag)) < 0)
		return r;
	if (catalog_check_constraints(c, NULL, NULL, "catalog defaults", diag) < 0)
		return -EINVAL;

	xmlSchema *ps = NULL;
	if ((r = xmldoc_schema_load(policy_xsd, &ps, diag)) < 0)
		return r;
	c->policy_schema = ps;
	*ret = TAKE_PTR(c);
	return 0;
}

int catalog_load_default(Catalog **ret) {
	_cleanup_(diag_clear) DiagList diag = { 0 };
	_cleanup_free_ char *path = strdup_printf("%s/catalog", catalog_schema_dir());
	if (!path)
		return -ENOMEM;
	int r = catalog_load(path, ret, &diag);
	if (r < 0)
		diag_print(&diag, stderr);
	return r;
}
