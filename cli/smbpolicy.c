/*
 * smbpolicy.c - main() of the `smbpolicy` CLI: global options and the one
 * dispatch table of verbs.
 *
 * How the CLI is laid out:
 *   smbpolicy.c   global options (--store, --json, --help, --version) and the
 *                 verb table below; nothing verb-specific.
 *   cli.c/cli.h   what verbs share: option parsing with the common options,
 *                 sub-verb dispatch, lazy store/catalog, error printing.
 *   output.c      text tables and --json arrays from one description.
 *   cmd_*.c       one file per verb family (policy, group, host, link, rsop).
 *
 * ADDING A VERB (e.g. "status"):
 *   1. write cli/cmd_status.c with
 *        int verb_status(Cli *cli, int argc, char *argv[]);
 *      (argv[0] is "status"; parse options with cli_getopt(), check
 *      positionals with cli_check_args(), get the store with cli_store(),
 *      return CLI_EXIT_OK / CLI_EXIT_FAILED / CLI_EXIT_USAGE);
 *   2. add one row to SMBPOLICY_VERBS below:
 *        V("status", verb_status, "[--json]", "what the agent applied")
 *   cli/build.mk compiles every .c file in cli/; the declaration is generated from
 *   the row.  A family of sub-verbs ("group add") is one row whose handler
 *   calls cli_dispatch() over its own table (see cmd_group.c).
 *   3. document it in dist/man/smbpolicy.1.scd (tests/integration/
 *      cli_completion.sh fails for a verb missing there).  Bash completion
 *      reads verbs and options from --help: nothing to edit.
 *
 * Invariants: exit status is 0 success, 1 failed check or operation, 2 usage
 * error; every verb accepts --help, --json and --store.
 * Never: put verb logic here, or touch the store before a verb asks for it.
 */
#include <locale.h>

#include "cli.h"

#ifndef SMBPOLICY_VERSION
#define SMBPOLICY_VERSION "0.1"
#endif

/* V(name, handler, synopsis, summary): the verb table. */
#define SMBPOLICY_VERBS(V)                                                                  \
	V("catalog", verb_catalog, "[--json]", "list every setting the catalog defines")     \
	V("validate", verb_validate, "FILE...", "check policy documents")                     \
	V("import", verb_import, "FILE [--comment TEXT]", "store a policy as a new version")  \
	V("list", verb_list, "", "list stored policies (latest versions)")                    \
	V("show", verb_show, "POLICY [--version N]", "print a policy version's XML")          \
	V("history", verb_history, "POLICY", "list a policy's versions")                      \
	V("diff", verb_diff, "POLICY V1 V2 [--exit-code]", "compare two versions")            \
	V("rollback", verb_rollback, "POLICY V", "make version V's content the latest")       \
	V("group", verb_group, "add|rm|list|block-inheritance ...", "manage the group tree")  \
	V("host", verb_host, "add|move|rm|list ...", "manage hosts")                          \
	V("link", verb_link, "add|rm|list ...", "link policies to groups")                    \
	V("rsop", verb_rsop, "HOST [--json | --xml]", "resultant policy of a host")         \
	V("targets", verb_targets, "[--plugin-dir DIR]", "settings each plugin maps to its target") \
	V("plan", verb_plan, "[--local [--root DIR]]", "what the agent would change (dry run)")    \
	V("apply", verb_apply, "[--local [--root DIR]]", "apply the policy to this host")          \
	V("status", verb_status, "[--local [--root DIR]]", "the agent's latest result")            \
	V("drift", verb_drift, "[--local [--root DIR]]", "re-read the targets, list what differs") \
	V("audit", verb_audit, "ingest|list ...", "collect and list audit events")           \
	V("impact", verb_impact, "SETTING=VALUE...", "peers in the audit data a change would break") \
	V("keygen", verb_keygen, "--out KEY [--pub PUB]", "new Ed25519 key for signing bundles") \
	V("publish", verb_publish, "DIR --key KEY [--expires DUR] [--group PATH]...", "signed bundle per group for agents") \
	V("bundle", verb_bundle, "FILE [--trusted-keys PATH] [--policy]", "show and check a signed bundle") \
	V("probe", verb_probe, "//HOST[:PORT]/SHARE [--user U --password-file F] [--quic-port P] [--rdma-port P [--rdma-provider NAME]] [--against RSOP.xml]", "measure what an SMB server enforces") \
	V("report", verb_report, "[--format html|json|csv] [-o FILE]", "compliance report")

#define DECLARE_VERB(name, fn, synopsis, summary) int fn(Cli *cli, int argc, char *argv[]);
SMBPOLICY_VERBS(DECLARE_VERB)

#define VERB_ROW(name, fn, synopsis, summary) { name, fn, synopsis, summary },
static const CliVerb verbs[] = { SMBPOLICY_VERBS(VERB_ROW) };

static void help(void) {
	printf("usage: smbpolicy [--store PATH] [--json] VERB [ARGS...]\n\n"
	       "Manage SMB security policies: store, group tree, resultant policy.\n\n"
	       "Options (accepted before or after the verb):\n"
	       "  --store PATH     policy store (default $SMBPOLICY_STORE or %s)\n"
	       "  --json           machine-readable output\n"
	       "  -h, --help       this help; 'smbpolicy VERB --help' for a verb\n"
	       "  --version        print the version\n\n"
	       "Verbs:\n",
	       CLI_DEFAULT_STORE);
	cli_print_verbs(verbs, ELEMENTSOF(verbs), NULL, stdout);
	printf("\nExit status: 0 success, 1 failed check or operation, 2 usage error.\n");
}

static int run(int argc, char *argv[]) {
	enum { OPT_VERSION = 0x200 };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "version", no_argument, NULL, OPT_VERSION },
		{},
	};
	_cleanup_(cli_done) Cli cli = {};
	const char *env = getenv("SMBPOLICY_STORE");
	cli.store_path = env && *env ? env : CLI_DEFAULT_STORE;

	opterr = 0;
	int c;
	/* "+": stop at the verb; its arguments are the verb's to parse. */
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("smbpolicy %s\n", SMBPOLICY_VERSION);
			return CLI_EXIT_OK;
		case CLI_OPT_JSON:
			cli.json = true;
			break;
		case CLI_OPT_STORE:
			cli.store_path = optarg;
			break;
		case ':':
			return cli_usage_error(&cli, "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
		}
	return cli_dispatch(&cli, verbs, ELEMENTSOF(verbs), NULL, argc - optind, argv + optind);
}

int main(int argc, char *argv[]) {
	setlocale(LC_ALL, "");
	return run(argc, argv);
}
