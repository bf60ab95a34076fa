/*
 * cmd_common.c - verb bodies shared by several `smbpolicy` verb files (see
 * cmd_common.h): `KIND rm NAME` and the tail of the list verbs.
 *
 * Invariants: a failed store call prints one error and writes nothing to
 * stdout; a refused removal changes nothing (one store call).
 * Never: open the store for writing before the arguments were checked.
 */
#include "cmd_common.h"

int cli_store_rm(Cli *cli, int argc, char *argv[], CliStoreRmFn rm, const char *kind) {
	Store *s;
	int r = cli_parse_store(cli, argc, argv, 1, 1, true, &s);
	if (r != CLI_PROCEED)
		return r;
	const char *name = argv[optind];
	r = rm(s, name);
	if (r < 0)
		return cli_store_error(cli, r, "%s %s", kind, name);
	output_message(cli->json, "removed %s %s", kind, name);
	return CLI_EXIT_OK;
}

int cli_table_print(Cli *cli, const OutputTable *t) {
	return output_table_print(t, cli->json, stdout) < 0 ? cli_error("out of memory") : CLI_EXIT_OK;
}
