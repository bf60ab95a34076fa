/*
 * cmd_group.c - `smbpolicy group add|rm|list|block-inheritance`: the group
 * tree ("/", "/paris", "/paris/fileservers") that hosts and links hang on.
 *
 * Invariants: every change is one store call (one transaction); a refused
 * change (missing parent, group still in use) changes nothing and exits 1.
 * Never: decide tree rules here (path syntax, emptiness): lib/store does.
 */
#include "cmd_common.h"

static int group_add(Cli *cli, int argc, char *argv[]) {
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 1, 1, true, &s);
	if (r != CLI_PROCEED)
		return r;
	const char *path = argv[optind];
	r = store_group_add(s, path);
	if (r == -ENOENT)
		return cli_error("group %s: its parent group does not exist", path);
	if (r < 0)
		return cli_store_error(cli, r, "group %s", path);
	output_message(cli->json, "added group %s", path);
	return CLI_EXIT_OK;
}

static int group_rm(Cli *cli, int argc, char *argv[]) {
	return cli_store_rm(cli, argc, argv, store_group_rm, "group");
}

static int group_list(Cli *cli, int argc, char *argv[]) {
	static const OutputColumn columns[] = {
		{ "GROUP", "path", OUTPUT_STRING, 0 },
		{ "BLOCK-INHERITANCE", "block_inheritance", OUTPUT_BOOL, 0 },
	};
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 0, 0, false, &s);
	if (r != CLI_PROCEED)
		return r;
	StoreGroup *groups = NULL;
	size_t n = 0;
	r = store_group_list(s, &groups, &n);
	if (r < 0)
		return cli_store_error(cli, r, "listing groups");
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t i = 0; i < n; i++)
		output_table_add(t, groups[i].path, groups[i].block_inheritance);
	store_groups_free(groups, n);
	return cli_table_print(cli, t);
}

static int group_block_inheritance(Cli *cli, int argc, char *argv[]) {
	static const struct {
		const char *word;
		bool on;
	} words[] = { { "on", true }, { "off", false } };
	int r = cli_parse_plain(cli, argc, argv, NULL, 2, 2);
	if (r != CLI_PROCEED)
		return r;
	const char *path = argv[optind], *word = argv[optind + 1];
	size_t w = 0;
	while (w < ELEMENTSOF(words) && !streq(words[w].word, word))
		w++;
	if (w == ELEMENTSOF(words))
		return cli_usage_error(cli, "expected 'on' or 'off', not '%s'", word);
	Store *s;
	if ((r = cli_store(cli, true, &s)) < 0)
		return -r;
	r = store_group_block_inheritance(s, path, words[w].on);
	if (r < 0)
		return cli_store_error(cli, r, "group %s", path);
	output_message(cli->json, "group %s: block inheritance %s", path, word);
	return CLI_EXIT_OK;
}

static const CliVerb group_verbs[] = {
	{ "add", group_add, "PATH", "add a group (its parent must exist)" },
	{ "rm", group_rm, "PATH", "remove an empty group" },
	{ "list", group_list, "", "list groups" },
	{ "block-inheritance", group_block_inheritance, "PATH on|off",
	  "ignore the parents' non-enforced links" },
};

int verb_group(Cli *cli, int argc, char *argv[]) {
	return cli_dispatch(cli, group_verbs, ELEMENTSOF(group_verbs), "group", argc - 1, argv + 1);
}
