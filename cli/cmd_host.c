/*
 * cmd_host.c - `smbpolicy host add|move|rm|list`: hosts and the group each
 * one sits in (which decides its resultant policy).
 *
 * Invariants: a host is in exactly one group; every change is one store call.
 * Never: resolve policy here (that is `rsop`), or accept a group that does
 * not exist (lib/store refuses it; we say which object was missing).
 */
#include "cmd_common.h"

typedef int (*HostPlaceFn)(Store *s, const char *name, const char *group);

/* add and move differ only in the store call and the words. */
static int host_place(Cli *cli, int argc, char *argv[], HostPlaceFn place, const char *done) {
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 2, 2, true, &s);
	if (r != CLI_PROCEED)
		return r;
	const char *name = argv[optind], *group = argv[optind + 1];
	r = place(s, name, group);
	if (r == -ENOENT)
		return cli_error("host %s: no such %s", name, place == store_host_add ? "group" : "host or group");
	if (r < 0)
		return cli_store_error(cli, r, "host %s", name);
	output_message(cli->json, "%s host %s in %s", done, name, group);
	return CLI_EXIT_OK;
}

static int host_add(Cli *cli, int argc, char *argv[]) {
	return host_place(cli, argc, argv, store_host_add, "added");
}

static int host_move(Cli *cli, int argc, char *argv[]) {
	return host_place(cli, argc, argv, store_host_move, "moved");
}

static int host_rm(Cli *cli, int argc, char *argv[]) {
	return cli_store_rm(cli, argc, argv, store_host_rm, "host");
}

static int host_list(Cli *cli, int argc, char *argv[]) {
	static const OutputColumn columns[] = {
		{ "HOST", "name", OUTPUT_STRING, 0 },
		{ "GROUP", "group", OUTPUT_STRING, 0 },
	};
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 0, 0, false, &s);
	if (r != CLI_PROCEED)
		return r;
	StoreHost *hosts = NULL;
	size_t n = 0;
	r = store_host_list(s, &hosts, &n);
	if (r < 0)
		return cli_store_error(cli, r, "listing hosts");
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t i = 0; i < n; i++)
		output_table_add(t, hosts[i].name, hosts[i].group);
	store_hosts_free(hosts, n);
	return cli_table_print(cli, t);
}

static const CliVerb host_verbs[] = {
	{ "add", host_add, "NAME GROUP", "add a host to a group" },
	{ "move", host_move, "NAME GROUP", "move a host to another group" },
	{ "rm", host_rm, "NAME", "remove a host" },
	{ "list", host_list, "", "list hosts and their groups" },
};

int verb_host(Cli *cli, int argc, char *argv[]) {
	return cli_dispatch(cli, host_verbs, ELEMENTSOF(host_verbs), "host", argc - 1, argv + 1);
}
