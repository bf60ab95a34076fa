/*
 * policy.c - policy documents: hardened parse, XSD + catalog validation,
 * canonical serialisation and content hash.
 *
 * Order of checks: size, well-formedness (xmldoc_read: no DOCTYPE, no
 * network, UTF-8, depth), root element and namespace, policy.xsd, then per
 * setting: known id, set once, text vs <item> shape, canonical form, type and
 * range (catalog_check_value), then the catalog constraints over the
 * complete value vector (document values over defaults).
 *
 * Invariants: a Policy is returned only when every check passed; its values
 * are canonical, so policy_to_xml() is a pure function of the settings and
 * parse(to_xml(p)) has the hash of p.  Must never return a partial Policy,
 * never let libxml2 print, never hold setting ids in C.
 */
#include "policy.h"

#include "digest.h"
#include "strbuf.h"
#include "xmldoc.h"

void policy_free(Policy *p) {
	if (!p)
		return;
	for (size_t i = 0; i < p->n_entries; i++)
		strv_free(p->entries[i].value);
	free(p->entries);
	free(p->name);
	free(p->description);
	free(p);
}

const PolicyEntry *policy_find(const Policy *p, const char *id) {
	for (size_t i = 0; p && id && i < p->n_entries; i++)
		if (streq(p->entries[i].setting->id, id))
			return &p->entries[i];
	return NULL;
}

int policy_effective_values(const Catalog *c, const Policy *p, char ****ret_values) {
	char ***v = calloc(c->n_settings + 1, sizeof(char **));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_settings; i++)
		v[i] = c->settings[i].default_value;
	for (size_t i = 0; p && i < p->n_entries; i++) {
		int k = catalog_index(c, p->entries[i].setting->id);
		if (k >= 0)
			v[k] = p->entries[i].value;
	}
	*ret_values = v;
	return 0;
}

static int compare_entry_ptrs(const void *a, const void *b) {
	const PolicyEntry *x = *(const PolicyEntry *const *)a, *y = *(const PolicyEntry *const *)b;
	return strcmp(x->setting->id, y->setting->id);
}

int policy_to_xml(const Policy *p, char **ret) {
	_cleanup_free_ const PolicyEntry **sorted = calloc(p->n_entries + 1, sizeof(PolicyEntry *));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_entries; i++)
		sorted[i] = &p->entries[i];
	if (p->n_entries)
		qsort(sorted, p->n_entries, sizeof(PolicyEntry *), compare_entry_ptrs);

	_cleanup_(strbuf_free) StrBuf b = { 0 };
	strbuf_append(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<policy xmlns=\"" POLICY_NAMESPACE
			  "\" name=\"");
	strbuf_xml_escape(&b, p->name);
	strbuf_append(&b, "\">\n");
	if (p->description) {
		strbuf_append(&b, "  <description>");
		strbuf_xml_escape(&b, p->description);
		strbuf_append(&b, "</description>\n");
	}
	for (size_t i = 0; i < p->n_entries; i++) {
		const PolicyEntry *e = sorted[i];
		strbuf_append(&b, "  <setting id=\"");
		strbuf_xml_escape(&b, e->setting->id);
		strbuf_append(&b, "\">");
		bool list = e->setting->type == CATALOG_LIST;
		STRV_FOREACH(v, e->value) {
			if (list)
				strbuf_append(&b, "<item>");
			strbuf_xml_escape(&b, *v);
			if (list)
				strbuf_append(&b, "</item>");
		}
		strbuf_append(&b, "</setting>\n");
	}
	strbuf_append(&b, "</policy>\n");
	return strbuf_finish(&b, ret);
}

static int policy_hash(Policy *p) {
	_cleanup_free_ char *xml = NULL;
	int r = policy_to_xml(p, &xml);
	if (r < 0)
		return r;
	digest_sha256_hex(xml, strlen(xml), p->hash);
	return 0;
}

/* True when the node's direct text children are all whitespace. */
static bool text_is_blank(const xmlNode *n) {
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			continue;
		for (const xmlChar *t = c->content; t && *t; t++)
			if (!strchr(" \t\r\n", *t))
				return false;
	}
	return true;
}

static bool has_items(const xmlNode *n) {
	for (const xmlNode *c = n->children; c; c = c->next)
		if (xmldoc_is(c, "item"))
			return true;
	return false;
}

/* The strv value of one <setting>: its text, or its <item>s for a list. */
static int setting_value(const CatalogSetting *s, const xmlNode *n, const char *file,
			 DiagList *diag, char ***ret) {
	unsigned line = (unsigned)xmlGetLineNo(n);
	size_t n_items = 0;
	for (const xmlNode *c = n->children; c; c = c->next)
		n_items += xmldoc_is(c, "item");
	/* sized once: strv_push per item would make long lists quadratic */
	_cleanup_strv_free_ char **v = calloc(n_items + 2, sizeof(char *));
	if (!v)
		return -ENOMEM;
	if (s->type == CATALOG_LIST) {
		if (!text_is_blank(n)) {
			diag_add(diag, file, line, s->id,
				 "a list setting takes <item> elements, not text (one <item> per entry)");
			return -EINVAL;
		}
		size_t i = 0;
		for (const xmlNode *c = n->children; c; c = c->next)
			if (xmldoc_is(c, "item") && !(v[i++] = xmldoc_text(c)))
				return -ENOMEM;
	} else {
		if (has_items(n)) {
			diag_add(diag, file, line, s->id,
				 "a %s setting takes one value as text, not <item> elements",
				 catalog_type_to_string(s->type));
			return -EINVAL;
		}
		if (strv_push(&v, xmldoc_text(n)) < 0)
			return -ENOMEM;
	}
	STRV_FOREACH(i, v)
		catalog_canonicalize_item(s, *i);
	int r = catalog_check_value(s, v, file, line, diag);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(v);
	return 0;
}

static int policy_check_root(const xmlNode *root, const char *file, DiagList *diag) {
	if (xmldoc_is(root, "policy") && root->ns &&
	    streq((const char *)root->ns->href, POLICY_NAMESPACE)) {
		if (xmlHasProp(root, (const xmlChar *)"name"))
			return 0;
		diag_add(diag, file, (unsigned)xmlGetLineNo(root), NULL,
			 "<policy> has no name attribute: expected name=\"POLICY-NAME\"");
		return -EINVAL;
	}
	diag_add(diag, file, root ? (unsigned)xmlGetLineNo(root) : 0, NULL,
		 "expected root element <policy xmlns=\"%s\">, found <%s>%s%s%s", POLICY_NAMESPACE,
		 root ? (const char *)root->name : "", root && root->ns ? " in namespace \"" : " without a namespace",
		 root && root->ns ? (const char *)root->ns->href : "", root && root->ns ? "\"" : "");
	return -EINVAL;
}

/* Walk the (XSD-valid) document into p; collects every error before failing.
 * *ret_bad_values tells whether a value was refused (then p lacks it and a
 * constraint check would judge the default instead). */
static int policy_from_doc(const Catalog *c, const xmlNode *root, const char *file, Policy *p,
			   unsigned *lines, bool *ret_bad_values, DiagList *diag) {
	int r = 0;
	*ret_bad_values = false;
	p->name = xmldoc_attr(root, "name");
	if (!p->name)
		return -ENOMEM;
	size_t n_settings = 0;
	for (const xmlNode *n = root->children; n; n = n->next)
		n_settings += xmldoc_is(n, "setting");
	p->entries = calloc(n_settings + 1, sizeof(PolicyEntry));
	if (!p->entries)
		return -ENOMEM;

	for (const xmlNode *n = root->children; n; n = n->next) {
		if (xmldoc_is(n, "description")) {
			if (!(p->description = xmldoc_text(n)))
				return -ENOMEM;
			continue;
		}
		if (!xmldoc_is(n, "setting"))
			continue;
		unsigned line = (unsigned)xmlGetLineNo(n);
		_cleanup_free_ char *id = xmldoc_attr(n, "id");
		if (!id)
			return -ENOMEM;
		int k = catalog_index(c, id);
		if (k < 0) {
			/* suggestions cost an edit distance per catalog id: not once
			 * the diagnostics are full anyway */
			const char *near = diag && diag->n < DIAG_MAX ? catalog_suggest(c, id) : NULL;
			if (near)
				diag_add(diag, file, line, id, "unknown setting id: did you mean %s?", near);
			else
				diag_add(diag, file, line, id,
					 "unknown setting id: expected one of the catalog's ids (smbpolicy catalog)");
			r = -EINVAL;
			continue;
		}
		if (lines[k]) {
			diag_add(diag, file, line, id, "setting given twice (first at line %u)", lines[k]);
			r = -EINVAL;
			continue;
		}
		lines[k] = line;
		char **value = NULL;
		int q = setting_value(&c->settings[k], n, file, diag, &value);
		if (q == -ENOMEM)
			return q;
		if (q < 0) {
			r = q;
			*ret_bad_values = true;
			continue;
		}
		p->entries[p->n_entries++] = (PolicyEntry){ .setting = &c->settings[k], .value = value, .line = line };
	}
	return r;
}

int policy_parse_memory(const Catalog *c, const char *buf, size_t len, const char *filename,
			Policy **ret, DiagList *diag) {
	const char *file = filename ? filename : "<policy>";
	if (!c->policy_schema) {
		diag_add(diag, file, 0, NULL, "catalog has no policy schema loaded");
		return -EINVAL;
	}
	_cleanup_xmldoc_ xmlDoc *doc = NULL;
	int r = xmldoc_read(buf, len, POLICY_MAX_BYTES, file, &doc, diag);
	if (r < 0)
		return r;
	const xmlNode *root = xmlDocGetRootElement(doc);
	if ((r = policy_check_root(root, file, diag)) < 0 ||
	    (r = xmldoc_validate(c->policy_schema, doc, file, diag)) < 0)
		return r;

	_cleanup_(policy_freep) Policy *p = calloc(1, sizeof(Policy));
	_cleanup_free_ unsigned *lines = calloc(c->n_settings + 1, sizeof(unsigned));
	if (!p || !lines)
		return -ENOMEM;
	bool bad_values;
	int doc_r = policy_from_doc(c, root, file, p, lines, &bad_values, diag);
	if (doc_r < 0 && (doc_r != -EINVAL || bad_values))
		return doc_r;

	/* Unknown or repeated ids leave the other values intact: check the
	 * constraints too, so one run shows every problem. */
	_cleanup_free_ char ***values = NULL;
	if ((r = policy_effective_values(c, p, &values)) < 0)
		return r;
	if ((r = catalog_check_constraints(c, values, lines, file, diag)) < 0 || doc_r < 0)
		return r < 0 ? r : doc_r;
	if ((r = policy_hash(p)) < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

int policy_parse_file(const Catalog *c, const char *path, Policy **ret, DiagList *diag) {
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = read_file(path, POLICY_MAX_BYTES, &buf, &len);
	if (r == -EFBIG) {
		diag_add(diag, path, 0, NULL, "file is larger than the %u byte limit", POLICY_MAX_BYTES);
		return r;
	}
	if (r < 0) {
		diag_add(diag, path, 0, NULL, "cannot read: %s", strerror(-r));
		return r;
	}
	return policy_parse_memory(c, buf, len, path, ret, diag);
}
