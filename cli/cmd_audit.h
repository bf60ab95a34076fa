/*
 * cmd_audit.h - what the audit verbs (cmd_audit.c: `audit ingest|list|
 * retain`, cmd_report.c: `report`, cmd_impact.c: `impact`) share: the
 * options that name where audit events come from, and opening the audit DB
 * with those inputs ingested.
 *
 * Sources: --audit-db PATH (default $SMBPOLICY_AUDIT_DB, else
 * /var/lib/smbpolicy/audit.db), --journal (this machine's journal),
 * --jsonl FILE and --journal-dir DIR
 * (repeatable; a DIR whose subdirectories hold journal files, as
 * systemd-journal-remote writes one per host, is read per subdirectory).
 * When inputs are given and no DB is named, a scratch in-memory DB is used,
 * so `report --jsonl FILE` never needs root.
 *
 * Invariants: reading verbs never create the default DB; problems in the
 * inputs are warnings (audit/ ingesters), not failures.
 */
#pragma once

#include "auditdb.h"
#include "cli.h"

#define CLI_AUDIT_DEFAULT_DB "/var/lib/smbpolicy/audit.db"

enum {
	CLI_OPT_AUDIT_DB = 0x400,
	CLI_OPT_JSONL,
	CLI_OPT_JOURNAL_DIR,
	CLI_OPT_SINCE,
	CLI_OPT_JOURNAL,
};

#define CLI_AUDIT_SOURCE_OPTIONS                                                 \
	{ "audit-db", required_argument, NULL, CLI_OPT_AUDIT_DB },               \
	{ "jsonl", required_argument, NULL, CLI_OPT_JSONL },                     \
	{ "journal-dir", required_argument, NULL, CLI_OPT_JOURNAL_DIR },         \
	{ "journal", no_argument, NULL, CLI_OPT_JOURNAL },                       \
	{ "since", required_argument, NULL, CLI_OPT_SINCE }

#define CLI_AUDIT_SOURCE_HELP                                                    \
	"  --audit-db PATH  audit DB (default $SMBPOLICY_AUDIT_DB or " CLI_AUDIT_DEFAULT_DB ")\n" \
	"  --jsonl FILE     ingest a JSON-lines audit log first (repeatable)\n"   \
	"  --journal        ingest this machine's journal first\n"             \
	"  --journal-dir DIR  ingest journal files of DIR or of its per-host\n"   \
	"                   subdirectories first (repeatable)\n"                  \
	"  --since TIME     only events since TIME (RFC 3339, YYYY-MM-DD, or\n"  \
	"                   a relative age: 30m, 24h, 7d)\n"

typedef struct CliAuditSources {
	const char *db_path;
	char **jsonl;
	char **journal_dirs;
	bool journal_local;
	unsigned long long since_usec;
} CliAuditSources;

/* cli_getopt() for verbs that take CLI_AUDIT_SOURCE_OPTIONS: the source
 * options are stored in src; returns the verb's own next option, or
 * CLI_OPT_END / CLI_OPT_HELP / CLI_OPT_ERROR as cli_getopt() does (a bad
 * source option is a usage error, printed). */
int cli_audit_getopt(Cli *cli, CliAuditSources *src, int argc, char *argv[],
		     const struct option *options, const char *options_help);
/* Open the DB (creating it only when write or when inputs are given) and
 * ingest the inputs; prints errors; returns 0 or -CLI_EXIT_FAILED. */
int cli_audit_open(Cli *cli, CliAuditSources *src, bool write, AuditDb **ret);
void cli_audit_sources_done(CliAuditSources *src);
/* Parse --since: RFC 3339, YYYY-MM-DD or N[smhdw] ago. */
int cli_audit_parse_since(const char *s, unsigned long long *ret_usec);
