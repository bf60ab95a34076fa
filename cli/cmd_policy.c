/*
 * cmd_policy.c - the policy verbs: `catalog`, `validate`, `import`, `list`,
 * `show`, `history`, `diff`, `rollback`.
 *
 * Invariants: a document is parsed and validated completely (lib/policy:
 * hardened libxml2, XSD, catalog) before the store is opened, so an invalid
 * or hostile file never touches the store; stored versions are immutable
 * (rollback adds a version); the author of a change is cli_author().
 * Never: check values or constraints here (lib/catalog does), or print a
 * version's XML other than as stored (it is the canonical form).
 */
#include "cli.h"
#include "output.h"

static bool is_list(const CatalogSetting *s) { return s->type == CATALOG_LIST; }

static void json_strv(StrBuf *b, char *const *l) { output_value_json(b, l, true); }

static void catalog_setting_json(StrBuf *b, const CatalogSetting *s) {
	strbuf_append(b, "{\"id\": ");
	strbuf_json_string(b, s->id);
	strbuf_append(b, ", \"scope\": ");
	strbuf_json_string(b, catalog_scope_to_string(s->scope));
	strbuf_append(b, ", \"type\": ");
	strbuf_json_string(b, catalog_type_to_string(s->type));
	if (s->type == CATALOG_LIST || s->type == CATALOG_STRING) {
		strbuf_append(b, ", \"item_type\": ");
		strbuf_json_string(b, catalog_item_type_to_string(s->item_type));
	}
	if (s->type == CATALOG_INT)
		strbuf_printf(b, ", \"min\": %lld, \"max\": %lld, \"step\": %lld", (long long)s->min,
			      (long long)s->max, (long long)s->step);
	if (s->enum_values) {
		strbuf_append(b, ", \"enum\": ");
		json_strv(b, s->enum_values);
	}
	if (is_list(s))
		strbuf_printf(b, ", \"unique_items\": %s", s->unique_items ? "true" : "false");
	strbuf_append(b, ", \"default\": ");
	output_value_json(b, s->default_value, is_list(s));
	const struct {
		const char *key, *value;
	} texts[] = {
		{ "title", s->title },     { "explanation", s->explanation },
		{ "windows", s->windows }, { "feature", s->feature },
	};
	for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
		strbuf_printf(b, ", \"%s\": ", texts[i].key);
		if (texts[i].value)
			strbuf_json_string(b, texts[i].value);
		else
			strbuf_append(b, "null");
	}
	strbuf_append(b, ", \"targets\": ");
	json_strv(b, s->targets);
	strbuf_append(b, "}");
}

/* {"id", "message", "rule"} of constraint i. */
static int catalog_constraint_json(StrBuf *b, const Catalog *c, size_t i) {
	_cleanup_free_ char *rule = NULL;
	int r = catalog_constraint_describe(c, i, &rule);
	if (r < 0)
		return r;
	const char *message = catalog_constraint_message(c, i);
	strbuf_append(b, "{\"id\": ");
	strbuf_json_string(b, catalog_constraint_id(c, i));
	strbuf_append(b, ", \"message\": ");
	strbuf_json_string(b, message ? message : "");
	strbuf_append(b, ", \"rule\": ");
	strbuf_json_string(b, rule);
	strbuf_append(b, "}");
	return 0;
}

static int catalog_print_json(const Catalog *c) {
	_cleanup_(strbuf_free) StrBuf b = {};
	int r = 0;
	strbuf_append(&b, "{\"settings\": [");
	for (size_t i = 0; i < c->n_settings; i++) {
		strbuf_append(&b, i ? ",\n  " : "\n  ");
		catalog_setting_json(&b, &c->settings[i]);
	}
	strbuf_append(&b, "\n ],\n \"constraints\": [");
	for (size_t i = 0; i < c->n_constraints && r >= 0; i++) {
		strbuf_append(&b, i ? ",\n  " : "\n  ");
		r = catalog_constraint_json(&b, c, i);
	}
	strbuf_append(&b, "\n ]}");
	_cleanup_free_ char *s = NULL;
	if (r >= 0)
		r = strbuf_finish(&b, &s);
	return r < 0 ? r : output_document(s, stdout);
}

static int catalog_print_table(const Catalog *c) {
	static const OutputColumn columns[] = {
		{ "SETTING", "id", OUTPUT_STRING, 0 },
		{ "TYPE", "type", OUTPUT_STRING, 0 },
		{ "DEFAULT", "default", OUTPUT_STRING, 0 },
		{ "TARGETS", "targets", OUTPUT_STRING, 0 },
	};
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t i = 0; i < c->n_settings; i++) {
		const CatalogSetting *s = &c->settings[i];
		_cleanup_free_ char *type = NULL, *def = output_value_text(s->default_value, is_list(s)),
				    *targets = strv_join(s->targets, ",");
		if (s->type == CATALOG_INT)
			type = strdup_printf("int %lld..%lld", (long long)s->min, (long long)s->max);
		else if (is_list(s))
			type = strdup_printf("list of %s", catalog_item_type_to_string(s->item_type));
		output_table_add(t, s->id, type ? type : catalog_type_to_string(s->type), def, targets);
	}
	int r = output_table_print(t, false, stdout);
	if (r < 0)
		return r;

	static const OutputColumn constraint_columns[] = {
		{ "CONSTRAINT", "id", OUTPUT_STRING, 0 },
		{ "RULE", "rule", OUTPUT_STRING, 0 },
	};
	_cleanup_(output_table_freep) OutputTable *ct =
		output_table_new(constraint_columns, ELEMENTSOF(constraint_columns));
	for (size_t i = 0; i < c->n_constraints; i++) {
		_cleanup_free_ char *rule = NULL;
		if ((r = catalog_constraint_describe(c, i, &rule)) < 0)
			return r;
		output_table_add(ct, catalog_constraint_id(c, i), rule);
	}
	putchar('\n');
	return output_table_print(ct, false, stdout);
}

int verb_catalog(Cli *cli, int argc, char *argv[]) {
	int r = cli_parse_plain(cli, argc, argv, NULL, 0, 0);
	if (r != CLI_PROCEED)
		return r;
	const Catalog *c;
	if ((r = cli_catalog(cli, &c)) < 0)
		return -r;
	r = cli->json ? catalog_print_json(c) : catalog_print_table(c);
	return r < 0 ? cli_error("cannot print the catalog: %s", strerror(-r)) : CLI_EXIT_OK;
}

/* Parse a policy file, or standard input when path is "-" (so that
 * `smbpolicy rsop HOST --xml | smbpolicy validate -` works).  Problems go to
 * diag; returns 0 or -errno. */
static int parse_policy(const Catalog *c, const char *path, Policy **ret, DiagList *diag) {
	if (!streq(path, "-"))
		return policy_parse_file(c, path, ret, diag);
	_cleanup_free_ char *buf = malloc(POLICY_MAX_BYTES + 1);
	if (!buf)
		return -ENOMEM;
	size_t len = fread(buf, 1, POLICY_MAX_BYTES + 1, stdin);
	if (ferror(stdin)) {
		diag_add(diag, "<stdin>", 0, NULL, "cannot read: %s", strerror(errno));
		return -EIO;
	}
	if (len > POLICY_MAX_BYTES) {
		diag_add(diag, "<stdin>", 0, NULL, "input is larger than the %u byte limit",
			 POLICY_MAX_BYTES);
		return -EFBIG;
	}
	return policy_parse_memory(c, buf, len, "<stdin>", ret, diag);
}

/* One file's verdict as a JSON object (diag_print_json writes the list). */
static void validate_print_json(const char *file, const Policy *p, const DiagList *diag,
				bool first) {
	_cleanup_(strbuf_free) StrBuf b = {};
	strbuf_append(&b, first ? "\n {\"file\": " : ",\n {\"file\": ");
	strbuf_json_string(&b, file);
	strbuf_printf(&b, ", \"valid\": %s, \"policy\": ", p ? "true" : "false");
	if (p)
		strbuf_json_string(&b, p->name);
	else
		strbuf_append(&b, "null");
	strbuf_append(&b, ", \"diagnostics\": ");
	fputs(b.data ? b.data : "", stdout);
	diag_print_json(diag, stdout);
	fputs("}", stdout);
}

int verb_validate(Cli *cli, int argc, char *argv[]) {
	int r = cli_parse_plain(cli, argc, argv, NULL, 1, -1);
	if (r != CLI_PROCEED)
		return r;
	const Catalog *c;
	if ((r = cli_catalog(cli, &c)) < 0)
		return -r;
	bool all_valid = true;
	if (cli->json)
		fputs("[", stdout);
	for (int i = optind; i < argc; i++) {
		_cleanup_(policy_freep) Policy *p = NULL;
		_cleanup_(diag_clear) DiagList diag = {};
		r = parse_policy(c, argv[i], &p, &diag);
		if (r < 0 && diag.n == 0) /* lib/policy reports everything in diag; be safe */
			diag_add(&diag, argv[i], 0, NULL, "%s", strerror(-r));
		all_valid = all_valid && r >= 0;
		if (cli->json)
			validate_print_json(argv[i], p, &diag, i == optind);
		else if (r >= 0)
			printf("%s: ok\n", argv[i]);
		else
			cli_print_diag(&diag);
	}
	if (cli->json)
		fputs("\n]\n", stdout);
	return all_valid ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

#define IMPORT_HELP "  --comment TEXT   why this version was made (kept in the history)\n"

int verb_import(Cli *cli, int argc, char *argv[]) {
	enum { OPT_COMMENT = 0x300 };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{},
	};
	const char *comment = NULL;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, IMPORT_HELP)) >= 0)
		if (c == OPT_COMMENT)
			comment = optarg;
	if ((r = cli_getopt_finish(cli, c, argc, 1, 1)) != CLI_PROCEED)
		return r;
	const char *file = argv[optind];

	const Catalog *catalog;
	if ((r = cli_catalog(cli, &catalog)) < 0)
		return -r;
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_(diag_clear) DiagList diag = {};
	r = parse_policy(catalog, file, &p, &diag);
	if (r < 0) {
		if (diag.n == 0)
			diag_add(&diag, file, 0, NULL, "%s", strerror(-r));
		cli_print_diag(&diag);
		return cli_error("%s: not imported", file);
	}
	/* Only a valid document gets this far: the store is opened now. */
	Store *s;
	if ((r = cli_store(cli, true, &s)) < 0)
		return -r;
	unsigned version = 0;
	bool created = false;
	r = store_import(s, p, cli_author(), comment, &version, &created);
	if (r < 0)
		return cli_store_error(cli, r, "importing %s", p->name);
	if (cli->json) {
		_cleanup_(strbuf_free) StrBuf b = {};
		strbuf_append(&b, "{\"policy\": ");
		strbuf_json_string(&b, p->name);
		strbuf_printf(&b, ", \"version\": %u, \"created\": %s, \"hash\": \"%s\"}", version,
			      created ? "true" : "false", p->hash);
		r = b.failed ? -ENOMEM : output_document(b.data, stdout);
	} else if (created)
		r = printf("imported %s version %u\n", p->name, version) < 0 ? -EIO : 0;
	else
		r = printf("%s unchanged (version %u)\n", p->name, version) < 0 ? -EIO : 0;
	return r < 0 ? cli_error("%s", strerror(-r)) : CLI_EXIT_OK;
}

static const OutputColumn version_columns[] = {
	{ "POLICY", "policy", OUTPUT_STRING, 0 },
	{ "VERSION", "version", OUTPUT_UINT, 0 },
	{ "HASH", "hash", OUTPUT_STRING, 12 },
	{ "AUTHOR", "author", OUTPUT_STRING, 0 },
	{ "CREATED", "created", OUTPUT_STRING, 0 },
	{ "COMMENT", "comment", OUTPUT_STRING, 0 },
};

static int print_versions(Cli *cli, const StoreVersion *v, size_t n) {
	_cleanup_(output_table_freep) OutputTable *t =
		output_table_new(version_columns, ELEMENTSOF(version_columns));
	for (size_t i = 0; i < n; i++) {
		char when[64];
		output_table_add(t, v[i].policy, v[i].version, v[i].hash, v[i].author,
				 format_rfc3339(v[i].created_usec, when, sizeof(when)), v[i].comment);
	}
	int r = output_table_print(t, cli->json, stdout);
	return r < 0 ? cli_error("%s", strerror(-r)) : CLI_EXIT_OK;
}

int verb_list(Cli *cli, int argc, char *argv[]) {
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 0, 0, false, &s);
	if (r != CLI_PROCEED)
		return r;
	StoreVersion *v = NULL;
	size_t n = 0;
	r = store_policy_list(s, &v, &n);
	if (r < 0)
		return cli_store_error(cli, r, "listing policies");
	r = print_versions(cli, v, n);
	store_versions_free(v, n);
	return r;
}

int verb_history(Cli *cli, int argc, char *argv[]) {
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 1, 1, false, &s);
	if (r != CLI_PROCEED)
		return r;
	const char *policy = argv[optind];
	StoreVersion *v = NULL;
	size_t n = 0;
	r = store_policy_history(s, policy, &v, &n);
	if (r >= 0 && n == 0)
		r = -ENOENT;
	if (r < 0)
		return cli_store_error(cli, r, "policy %s", policy);
	r = print_versions(cli, v, n);
	store_versions_free(v, n);
	return r;
}

static void version_json(StrBuf *b, const StoreVersion *v) {
	char when[64];
	strbuf_append(b, "{\"policy\": ");
	strbuf_json_string(b, v->policy);
	strbuf_printf(b, ", \"version\": %u, \"hash\": \"%s\", \"author\": ", v->version, v->hash);
	strbuf_json_string(b, v->author ? v->author : "");
	strbuf_append(b, ", \"comment\": ");
	if (v->comment)
		strbuf_json_string(b, v->comment);
	else
		strbuf_append(b, "null");
	strbuf_append(b, ", \"created\": ");
	strbuf_json_string(b, format_rfc3339(v->created_usec, when, sizeof(when)));
}

#define SHOW_HELP "  --version N      that version (default: the latest)\n"

int verb_show(Cli *cli, int argc, char *argv[]) {
	enum { OPT_VERSION = 0x300 };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "version", required_argument, NULL, OPT_VERSION },
		{},
	};
	unsigned version = 0;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, SHOW_HELP)) >= 0)
		if (c == OPT_VERSION && (r = cli_parse_version(cli, optarg, &version)) < 0)
			return -r;
	if ((r = cli_getopt_finish(cli, c, argc, 1, 1)) != CLI_PROCEED)
		return r;
	const char *policy = argv[optind];
	Store *s;
	if ((r = cli_store(cli, false, &s)) < 0)
		return -r;
	_cleanup_free_ char *xml = NULL;
	_cleanup_(store_version_clear) StoreVersion info = {};
	r = store_policy_xml(s, policy, version, &xml, &info);
	if (r == -ENOENT && version)
		return cli_error("policy %s: no version %u", policy, version);
	if (r < 0)
		return cli_store_error(cli, r, "policy %s", policy);
	if (!cli->json)
		r = output_document(xml, stdout);
	else {
		_cleanup_(strbuf_free) StrBuf b = {};
		version_json(&b, &info);
		strbuf_append(&b, ", \"xml\": ");
		strbuf_json_string(&b, xml);
		strbuf_append(&b, "}");
		r = b.failed ? -ENOMEM : output_document(b.data, stdout);
	}
	return r < 0 ? cli_error("%s", strerror(-r)) : CLI_EXIT_OK;
}

/* A stored version parsed against today's catalog (diff compares values,
 * rollback refuses content the catalog no longer accepts). */
static int load_version(Cli *cli, const char *policy, unsigned version, Policy **ret) {
	const Catalog *catalog;
	Store *s;
	int r;
	if ((r = cli_catalog(cli, &catalog)) < 0 || (r = cli_store(cli, false, &s)) < 0)
		return r;
	_cleanup_free_ char *xml = NULL;
	_cleanup_(store_version_clear) StoreVersion info = {};
	r = store_policy_xml(s, policy, version, &xml, &info);
	if (r == -ENOENT)
		return -cli_error("policy %s: no version %u", policy, version);
	if (r < 0)
		return -cli_store_error(cli, r, "policy %s", policy);
	_cleanup_free_ char *name = strdup_printf("%s version %u", policy, version);
	_cleanup_(diag_clear) DiagList diag = {};
	r = policy_parse_memory(catalog, xml, strlen(xml), name ? name : policy, ret, &diag);
	if (r < 0) {
		cli_print_diag(&diag);
		return -cli_error("policy %s version %u does not validate against the current catalog",
				  policy, version);
	}
	return 0;
}

typedef enum DiffKind { DIFF_ADDED, DIFF_REMOVED, DIFF_CHANGED } DiffKind;

static const struct {
	const char *name, *mark;
} diff_kinds[] = {
	[DIFF_ADDED] = { "added", "+" },
	[DIFF_REMOVED] = { "removed", "-" },
	[DIFF_CHANGED] = { "changed", "~" },
};

static void diff_text(StrBuf *b, DiffKind k, const CatalogSetting *s, const PolicyEntry *a,
		      const PolicyEntry *z) {
	_cleanup_free_ char *old = a ? output_value_text(a->value, is_list(s)) : NULL;
	_cleanup_free_ char *new = z ? output_value_text(z->value, is_list(s)) : NULL;
	strbuf_printf(b, "%s %s: ", diff_kinds[k].mark, s->id);
	if (old)
		strbuf_append(b, old);
	if (old && new)
		strbuf_append(b, " -> ");
	if (new)
		strbuf_append(b, new);
	strbuf_append(b, "\n");
}

static void diff_json(StrBuf *b, DiffKind k, const CatalogSetting *s, const PolicyEntry *a,
		      const PolicyEntry *z, bool first) {
	strbuf_append(b, first ? "\n  {\"setting\": " : ",\n  {\"setting\": ");
	strbuf_json_string(b, s->id);
	strbuf_printf(b, ", \"change\": \"%s\", \"old\": ", diff_kinds[k].name);
	if (a)
		output_value_json(b, a->value, is_list(s));
	else
		strbuf_append(b, "null");
	strbuf_append(b, ", \"new\": ");
	if (z)
		output_value_json(b, z->value, is_list(s));
	else
		strbuf_append(b, "null");
	strbuf_append(b, "}");
}

/* Writes the differences of a -> z (text or JSON); returns how many. */
static size_t diff_policies(const Catalog *c, const Policy *a, const Policy *z, bool json,
			    StrBuf *b) {
	size_t n = 0;
	for (size_t i = 0; i < c->n_settings; i++) {
		const CatalogSetting *s = &c->settings[i];
		const PolicyEntry *ea = policy_find(a, s->id), *ez = policy_find(z, s->id);
		if (!ea && !ez)
			continue;
		if (ea && ez && strv_equal(ea->value, ez->value))
			continue;
		DiffKind k = !ea ? DIFF_ADDED : !ez ? DIFF_REMOVED : DIFF_CHANGED;
		if (json)
			diff_json(b, k, s, ea, ez, n == 0);
		else
			diff_text(b, k, s, ea, ez);
		n++;
	}
	return n;
}

#define DIFF_HELP "  --exit-code      exit 1 when the versions differ (like diff(1))\n"

int verb_diff(Cli *cli, int argc, char *argv[]) {
	enum { OPT_EXIT_CODE = 0x300 };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "exit-code", no_argument, NULL, OPT_EXIT_CODE },
		{},
	};
	bool exit_code = false;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, DIFF_HELP)) >= 0)
		if (c == OPT_EXIT_CODE)
			exit_code = true;
	if ((r = cli_getopt_finish(cli, c, argc, 3, 3)) != CLI_PROCEED)
		return r;
	const char *policy = argv[optind];
	unsigned v1, v2;
	if ((r = cli_parse_version(cli, argv[optind + 1], &v1)) < 0 ||
	    (r = cli_parse_version(cli, argv[optind + 2], &v2)) < 0)
		return -r;
	_cleanup_(policy_freep) Policy *a = NULL, *z = NULL;
	if ((r = load_version(cli, policy, v1, &a)) < 0 || (r = load_version(cli, policy, v2, &z)) < 0)
		return -r;

	_cleanup_(strbuf_free) StrBuf b = {};
	bool description = !streq_ptr(a->description, z->description);
	if (cli->json) {
		strbuf_append(&b, "{\"policy\": ");
		strbuf_json_string(&b, policy);
		strbuf_printf(&b, ", \"from\": %u, \"to\": %u, \"description_changed\": %s, "
				  "\"changes\": [", v1, v2, description ? "true" : "false");
	} else {
		strbuf_printf(&b, "--- %s version %u\n+++ %s version %u\n", policy, v1, policy, v2);
		if (description)
			strbuf_printf(&b, "~ description: %s -> %s\n",
				      a->description ? a->description : "(none)",
				      z->description ? z->description : "(none)");
	}
	size_t n = diff_policies(cli->catalog, a, z, cli->json, &b);
	if (cli->json)
		strbuf_append(&b, n ? "\n]}" : "]}");
	if (b.failed || output_document(b.data, stdout) < 0)
		return cli_error("cannot print the differences");
	return exit_code && (n || description) ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

int verb_rollback(Cli *cli, int argc, char *argv[]) {
	int r = cli_parse_plain(cli, argc, argv, NULL, 2, 2);
	if (r != CLI_PROCEED)
		return r;
	const char *policy = argv[optind];
	unsigned v, created;
	if ((r = cli_parse_version(cli, argv[optind + 1], &v)) < 0)
		return -r;
	_cleanup_(policy_freep) Policy *old = NULL;
	if ((r = load_version(cli, policy, v, &old)) < 0)
		return -r;
	Store *s;
	if ((r = cli_store(cli, true, &s)) < 0)
		return -r;
	r = store_policy_rollback(s, policy, v, cli_author(), &created);
	if (r < 0)
		return cli_store_error(cli, r, "policy %s version %u", policy, v);
	if (cli->json) {
		_cleanup_(strbuf_free) StrBuf b = {};
		strbuf_append(&b, "{\"policy\": ");
		strbuf_json_string(&b, policy);
		strbuf_printf(&b, ", \"version\": %u, \"from\": %u}", created, v);
		r = b.failed ? -ENOMEM : output_document(b.data, stdout);
	} else
		r = printf("rolled back %s to the content of version %u as version %u\n", policy, v,
			   created) < 0 ? -EIO : 0;
	return r < 0 ? cli_error("%s", strerror(-r)) : CLI_EXIT_OK;
}
