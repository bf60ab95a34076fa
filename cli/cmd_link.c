/*
 * cmd_link.c - `smbpolicy link add|rm|list`: which policies apply to which
 * group, in which order, enforced or disabled (Group Policy links).
 *
 * Invariants: a link names a stored policy (any version: links follow the
 * latest) and an existing group; --order N >= 0 (lower wins within a group),
 * no --order appends after the group's last link.
 * Never: change precedence rules here: lib/rsop owns them.
 */
#include <limits.h>

#include "cmd_common.h"

#define LINK_ADD_HELP                                                            \
	"  --order N        position in the group, lower wins (default: last)\n"     \
	"  --enforced       win over every link below this group, pass blocks\n"     \
	"  --disabled       keep the link but ignore it\n"

static int link_add(Cli *cli, int argc, char *argv[]) {
	enum { OPT_ORDER = 0x300, OPT_ENFORCED, OPT_DISABLED };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "order", required_argument, NULL, OPT_ORDER },
		{ "enforced", no_argument, NULL, OPT_ENFORCED },
		{ "disabled", no_argument, NULL, OPT_DISABLED },
		{},
	};
	int order = -1, c, r;
	bool enforced = false, disabled = false;
	long long v;
	while ((c = cli_getopt(cli, argc, argv, options, LINK_ADD_HELP)) >= 0)
		switch (c) {
		case OPT_ORDER:
			if (parse_int64(optarg, &v) < 0 || v < 0 || v > INT_MAX)
				return cli_usage_error(cli, "--order needs a number >= 0, not '%s'", optarg);
			order = (int)v;
			break;
		case OPT_ENFORCED:
			enforced = true;
			break;
		case OPT_DISABLED:
			disabled = true;
			break;
		}
	if ((r = cli_getopt_finish(cli, c, argc, 2, 2)) != CLI_PROCEED)
		return r;
	const char *policy = argv[optind], *group = argv[optind + 1];
	Store *s;
	if ((r = cli_store(cli, true, &s)) < 0)
		return -r;
	r = store_link_add(s, policy, group, order, enforced, disabled);
	if (r == -ENOENT)
		return cli_error("link %s -> %s: no such policy or group", policy, group);
	if (r < 0)
		return cli_store_error(cli, r, "link %s -> %s", policy, group);
	output_message(cli->json, "linked %s to %s%s%s", policy, group,
		       enforced ? " (enforced)" : "", disabled ? " (disabled)" : "");
	return CLI_EXIT_OK;
}

static int link_rm(Cli *cli, int argc, char *argv[]) {
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 2, 2, true, &s);
	if (r != CLI_PROCEED)
		return r;
	const char *policy = argv[optind], *group = argv[optind + 1];
	r = store_link_rm(s, policy, group);
	if (r < 0)
		return cli_store_error(cli, r, "link %s -> %s", policy, group);
	output_message(cli->json, "unlinked %s from %s", policy, group);
	return CLI_EXIT_OK;
}

static int link_list(Cli *cli, int argc, char *argv[]) {
	static const OutputColumn columns[] = {
		{ "GROUP", "group", OUTPUT_STRING, 0 },
		{ "ORDER", "order", OUTPUT_UINT, 0 },
		{ "POLICY", "policy", OUTPUT_STRING, 0 },
		{ "ENFORCED", "enforced", OUTPUT_BOOL, 0 },
		{ "DISABLED", "disabled", OUTPUT_BOOL, 0 },
	};
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 0, 1, false, &s);
	if (r != CLI_PROCEED)
		return r;
	const char *group = optind < argc ? argv[optind] : NULL;
	StoreLink *links = NULL;
	size_t n = 0;
	r = store_link_list(s, group, &links, &n);
	if (r < 0)
		return cli_store_error(cli, r, "links of %s", group ? group : "all groups");
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t i = 0; i < n; i++)
		output_table_add(t, links[i].group, (unsigned)links[i].order, links[i].policy,
				 links[i].enforced, links[i].disabled);
	store_links_free(links, n);
	return cli_table_print(cli, t);
}

static const CliVerb link_verbs[] = {
	{ "add", link_add, "POLICY GROUP [--order N] [--enforced] [--disabled]",
	  "link a policy to a group" },
	{ "rm", link_rm, "POLICY GROUP", "remove a link" },
	{ "list", link_list, "[GROUP]", "list links (of one group)" },
};

int verb_link(Cli *cli, int argc, char *argv[]) {
	return cli_dispatch(cli, link_verbs, ELEMENTSOF(link_verbs), "link", argc - 1, argv + 1);
}
