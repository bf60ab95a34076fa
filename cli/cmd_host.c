/*
 * cmd_host.c - `smbpolicy host add|move|rm|list`: hosts and the group each
 * one sits in (which decides its resultant policy).
 *
 * Invariants: a host is in exactly one group; every change is one store call.
 * Never: resolve policy here (that is `rsop`), or accept a group that does
 * not exist (lib/store refuses it; we say which object was missing).
 */
#include "cli.h"
#include "output.h"

typedef int (*HostPlaceFn)(Store *s, const char *name, const char *group);

/* add and move differ only in the store call and the words. */
static int host_place(Cli *cli, int argc, char *argv[], HostPlaceFn place, const char *done) {
	int r = cli_parse_plain(cli, argc, argv, NULL, 2, 2);
	if (r != CLI_PROCEED)
		return r;
	const char *name = argv[optind], *group = argv[optind + 1];
	Store *s;
	if ((r = cli_store(cli, true, &s)) < 0)
		return -r;
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
	int r = cli_parse_plain(cli, argc, argv, NULL, 1, 1);
	if (r != CLI_PROCEED)
		return r;
	const char *name = argv[optind];
	Store *s;
	if ((r = cli_store(cli, true, &s)) < 0)
		return -r;
	r = store_host_rm(s, name);
	if (r < 0)
		return cli_store_error(cli, r, "host %s", name);
	output_message(cli->json, "removed host %s", name);
	return CLI_EXIT_OK;
}

static int host_list(Cli *cli, int argc, char *argv[]) {
	static const OutputColumn columns[] = {
		{ "HOST", "name", OUTPUT_STRING, 0 },
		{ "GROUP", "group", OUTPUT_STRING, 0 },
	};
	int r = cli_parse_plain(cli, argc, argv, NULL, 0, 0);
	if (r != CLI_PROCEED)
		return r;
	Store *s;
	if ((r = cli_store(cli, false, &s)) < 0)
		return -r;
	StoreHost *hosts = NULL;
	size_t n = 0;
	r = store_host_list(s, &hosts, &n);
	if (r < 0)
		return cli_store_error(cli, r, "listing hosts");
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t i = 0; i < n; i++)
		output_table_add(t, hosts[i].name, hosts[i].group);
	store_hosts_free(hosts, n);
	return output_table_print(t, cli->json, stdout) < 0 ? cli_error("out of memory") : CLI_EXIT_OK;
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
