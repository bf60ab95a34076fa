/*
 * cmd_common.h - verb bodies and tails that several cli/cmd_*.c files share
 * word for word: removing a store object named by one word, and printing a
 * verb's result table.
 *
 * Invariants: the same exit codes and messages as cli.h's helpers; output
 * goes to stdout only after the store call succeeded.
 * Never: hold verb-specific wording beyond the object kind the caller names.
 */
#pragma once

#include "cli.h"
#include "output.h"

/* A whole `KIND rm NAME` verb (group rm, host rm): rm is the store call;
 * messages name the object as "KIND NAME". */
typedef int (*CliStoreRmFn)(Store *s, const char *name);
int cli_store_rm(Cli *cli, int argc, char *argv[], CliStoreRmFn rm, const char *kind);

/* Print a list verb's table (text, or JSON with --json) and return the
 * verb's exit code. */
int cli_table_print(Cli *cli, const OutputTable *t);
