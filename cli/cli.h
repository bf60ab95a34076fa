/*
 * cli.h - what every `smbpolicy` verb file (cli/cmd_*.c) shares: the Cli
 * context (global options, the lazily opened store and catalog), option
 * parsing with the common options, argument-count checks and error
 * reporting with the exit codes of DESIGN.md.
 *
 * Exit codes: CLI_EXIT_OK (0) success, CLI_EXIT_FAILED (1) a failed check or
 * an operation that could not be done, CLI_EXIT_USAGE (2) a usage error.
 * Verb handlers return one of these, never -errno.  Helpers that print
 * their own error return 0 or -(the exit code the verb should return), so a
 * verb writes "if (r < 0) return -r;".
 *
 * Invariants: the store is opened only when a verb asks for it, and only a
 * writing verb may create it (or its parent directory); reading verbs never
 * create files.  Errors are printed once, by the helper that detects them or
 * by the verb that handles them, as "smbpolicy: ..." on stderr.
 *
 * Never: print to stdout from these helpers (stdout belongs to the verb's
 * output, which scripts parse), or exit() from a verb.
 */
#pragma once

#include <getopt.h>

#include "catalog.h"
#include "diag.h"
#include "store.h"

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,
	CLI_EXIT_USAGE = 2,
};

typedef struct Cli Cli;

/* A verb handler: argv[0] is the verb's own name ("rsop", "add"). */
typedef int (*CliVerbFn)(Cli *cli, int argc, char *argv[]);

/* One row of a dispatch table (the top table in smbpolicy.c, and the
 * sub-verb tables of group/host/link). */
typedef struct CliVerb {
	const char *name;
	CliVerbFn run;
	const char *synopsis; /* arguments after the verb name */
	const char *summary;  /* one line, for --help listings */
} CliVerb;

struct Cli {
	const char *store_path; /* --store, $SMBPOLICY_STORE or the default */
	bool json;              /* --json */
	char *verb_name;        /* "group add": for messages and help */
	const CliVerb *verb;    /* row being run */
	Store *store;           /* see cli_store() */
	Catalog *catalog;       /* see cli_catalog() */
};

#define CLI_DEFAULT_STORE "/var/lib/smbpolicy/store.db"

/* Options every verb accepts; put first in a verb's option table:
 *   static const struct option options[] = { CLI_COMMON_OPTIONS, {...}, {} }; */
#define CLI_OPT_STORE 0x100
#define CLI_OPT_JSON 0x101
#define CLI_COMMON_OPTIONS                                        \
	{ "help", no_argument, NULL, 'h' },                       \
	{ "json", no_argument, NULL, CLI_OPT_JSON },              \
	{ "store", required_argument, NULL, CLI_OPT_STORE }

/* cli_getopt() results besides a verb option character. */
#define CLI_OPT_END (-1)  /* options done; positionals start at optind */
#define CLI_OPT_HELP (-2) /* help was printed: return CLI_EXIT_OK */
#define CLI_OPT_ERROR (-3) /* usage error was printed: return CLI_EXIT_USAGE */

/* getopt_long over a verb's arguments, handling the common options itself.
 * options_help: the verb's own option lines for --help (may be NULL).
 * Use:
 *	while ((c = cli_getopt(cli, argc, argv, options, HELP)) >= 0)
 *		switch (c) { ... }
 *	if (c != CLI_OPT_END)
 *		return cli_getopt_exit(c);
 */
int cli_getopt(Cli *cli, int argc, char *argv[], const struct option *options,
	       const char *options_help);
/* The exit code for CLI_OPT_HELP / CLI_OPT_ERROR. */
static inline int cli_getopt_exit(int c) {
	return c == CLI_OPT_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* The end of a verb's cli_getopt() loop that ended with c: the exit code
 * after --help or a usage error, a usage error unless min..max positionals
 * remain (max < 0: no upper bound), else CLI_PROCEED. */
int cli_getopt_finish(Cli *cli, int c, int argc, int min, int max);

/* For verbs without options of their own: parse the common options and
 * check that min..max positionals remain (they start at optind).  Returns
 * CLI_PROCEED, or the exit code to return (help shown, usage error). */
#define CLI_PROCEED (-1)
int cli_parse_plain(Cli *cli, int argc, char *argv[], const char *options_help, int min,
		    int max);

/* cli_parse_plain(), then cli_store(): the prologue of the option-less verbs
 * that work on the store.  Returns CLI_PROCEED with *ret set, or the exit
 * code to return. */
int cli_parse_store(Cli *cli, int argc, char *argv[], int min, int max, bool write,
		    Store **ret);

/* Check the number of positional arguments left after options; prints a
 * usage error and returns false when it is outside min..max (max < 0: no
 * upper bound). */
bool cli_check_args(Cli *cli, int n, int min, int max);

/* Run the row of table named by argv[0]; prints the table on --help or when
 * no sub-verb is given. parent: "group", for messages. */
int cli_dispatch(Cli *cli, const CliVerb *table, size_t n, const char *parent, int argc,
		 char *argv[]);
/* Print a verb table as help ("  NAME SYNOPSIS   SUMMARY"). */
void cli_print_verbs(const CliVerb *table, size_t n, const char *parent, FILE *f);

/* The store, opened on first use.  write: the verb changes it, so the store
 * (and its parent directory) may be created.  Errors are printed; returns
 * 0 or -CLI_EXIT_FAILED. */
int cli_store(Cli *cli, bool write, Store **ret);
/* The catalog, loaded on first use; errors are printed; 0 or -CLI_EXIT_FAILED. */
int cli_catalog(Cli *cli, const Catalog **ret);

/* "smbpolicy: MESSAGE" on stderr; returns CLI_EXIT_FAILED. */
int cli_error(const char *fmt, ...) _printf_(1, 2);
/* "smbpolicy: VERB: usage message" + a hint to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(Cli *cli, const char *fmt, ...) _printf_(2, 3);
/* Report a failed store call for an object (fmt: "group %s"), naming the
 * cause from the errno (store.h's error contract); returns CLI_EXIT_FAILED. */
int cli_store_error(Cli *cli, int r, const char *fmt, ...) _printf_(3, 4);
/* Every entry of diag as "smbpolicy: FILE:LINE: SETTING: message". */
void cli_print_diag(const DiagList *diag);

/* Who is importing: $SUDO_USER, else $USER, else the uid's name, else "uid N". */
const char *cli_author(void);

/* Parse a positive version number ("3"); prints a usage error and returns
 * -CLI_EXIT_USAGE on failure. */
int cli_parse_version(Cli *cli, const char *s, unsigned *ret);

void cli_done(Cli *cli);
