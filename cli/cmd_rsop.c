/*
 * cmd_rsop.c - `smbpolicy rsop HOST [--json | --xml]`: the resultant policy
 * of a host, per setting the value and where it came from (like gpresult);
 * `rsop --group PATH` shows what any host in that group gets.
 *
 * Forms: a table SETTING VALUE SOURCE ("POLICY vN @ GROUP", "(enforced)",
 * or "default"); --json and --xml exactly as lib/rsop writes them (the XML
 * is the complete policy document the endpoint and agent read).
 *
 * Invariants: when the combined result breaks a catalog constraint the
 * problems are printed and the exit status is 1; the table and JSON are still
 * shown (to find the culprit) but the XML is not, since readers would apply it.
 * Never: resolve anything here: lib/rsop owns precedence.
 */
#include "cli.h"
#include "output.h"
#include "rsop.h"

#define RSOP_HELP                                                             \
	"  --xml            the resultant policy as a complete policy document\n" \
	"  --group PATH     resolve for a group instead of a host (no HOST)\n"

/* Host or group being resolved, for messages. */
typedef struct RsopTarget {
	const char *kind; /* "host" / "group" */
	const char *name;
} RsopTarget;

static char *source_text(const RsopSource *src) {
	if (!src)
		return strdup("default");
	return strdup_printf("%s v%u @ %s%s", src->policy, src->version, src->group,
			     src->enforced ? " (enforced)" : "");
}

static int print_table(const Rsop *rsop) {
	static const OutputColumn columns[] = {
		{ "SETTING", "id", OUTPUT_STRING, 0 },
		{ "VALUE", "value", OUTPUT_STRING, 0 },
		{ "SOURCE", "source", OUTPUT_STRING, 0 },
	};
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t i = 0; i < rsop->n_entries; i++) {
		const RsopEntry *e = &rsop->entries[i];
		_cleanup_free_ char *value = output_value_text(e->value, e->setting->type == CATALOG_LIST);
		_cleanup_free_ char *source = source_text(e->source);
		output_table_add(t, e->setting->id, value, source);
	}
	if (rsop->host)
		printf("Resultant policy for host %s (group %s)\n\n", rsop->host, rsop->group);
	else
		printf("Resultant policy for group %s\n\n", rsop->group);
	return output_table_print(t, false, stdout);
}

int verb_rsop(Cli *cli, int argc, char *argv[]) {
	enum { OPT_XML = 0x300, OPT_GROUP };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "xml", no_argument, NULL, OPT_XML },
		{ "group", required_argument, NULL, OPT_GROUP },
		{},
	};
	bool xml = false;
	const char *group = NULL;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, RSOP_HELP)) >= 0)
		if (c == OPT_XML)
			xml = true;
		else if (c == OPT_GROUP)
			group = optarg;
	if ((r = cli_getopt_finish(cli, c, argc, group ? 0 : 1, group ? 0 : 1)) != CLI_PROCEED)
		return r;
	if (xml && cli->json)
		return cli_usage_error(cli, "--json and --xml exclude each other");
	RsopTarget target = group ? (RsopTarget){ "group", group } : (RsopTarget){ "host", argv[optind] };

	const Catalog *catalog;
	Store *s;
	if ((r = cli_catalog(cli, &catalog)) < 0 || (r = cli_store(cli, false, &s)) < 0)
		return -r;
	_cleanup_(rsop_freep) Rsop *rsop = NULL;
	_cleanup_(diag_clear) DiagList diag = {};
	r = group ? rsop_resolve_group(s, catalog, group, &rsop, &diag)
		  : rsop_resolve(s, catalog, target.name, &rsop, &diag);
	if (r < 0 && !rsop)
		return r == -ENOENT ? cli_error("%s %s: not found", target.kind, target.name)
				    : cli_store_error(cli, r, "%s %s", target.kind, target.name);
	bool conflict = r < 0;
	if (conflict)
		cli_print_diag(&diag);
	if (conflict && xml)
		return cli_error("%s %s: the resultant policy is invalid; no XML written",
				 target.kind, target.name);

	_cleanup_free_ char *text = NULL;
	if (xml || cli->json) {
		r = xml ? rsop_to_policy_xml(rsop, &text) : rsop_to_json(rsop, &text);
		if (r >= 0)
			r = output_document(text, stdout);
	} else
		r = print_table(rsop);
	if (r < 0)
		return cli_error("%s %s: cannot write the resultant policy: %s", target.kind,
				 target.name, strerror(-r));
	return conflict ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
