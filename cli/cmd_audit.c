/*
 * cmd_audit.c - `smbpolicy audit ingest|list|retain`: fill the audit DB
 * from JSON-lines logs, journal directories, Samba (smbstatus --json) and
 * the agent's actual-state reports; list stored events; apply retention.
 * Also the source options every audit verb shares (cmd_audit.h).
 *
 * Invariants: ingestion is idempotent (audit/ keeps cursors and unique
 * keys), so running `audit ingest` from a timer is always safe; a bad input
 * record is a warning, an unreadable input file an error (exit 1) after the
 * other inputs were still ingested.
 * Never: parse or aggregate events here (audit/ does), or create the default
 * DB from a reading verb.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include "audit_ingest.h"
#include "cmd_audit.h"
#include "output.h"

int cli_audit_parse_since(const char *s, unsigned long long *ret_usec) {
	static const struct {
		char unit;
		unsigned long long usec;
	} units[] = {
		{'s', 1000000ULL}, {'m', 60000000ULL}, {'h', 3600000000ULL},
		{'d', 86400000000ULL}, {'w', 604800000000ULL},
	};
	if (audit_parse_time(s, ret_usec) >= 0)
		return 0;
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end && !*end) {
		*ret_usec = (unsigned long long)timegm(&tm) * 1000000ULL;
		return 0;
	}
	char *e;
	errno = 0;
	unsigned long long n = strtoull(s, &e, 10);
	if (errno || e == s || !e[0] || e[1])
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (units[i].unit == e[0]) {
			unsigned long long age = n * units[i].usec, now = now_usec();
			*ret_usec = age < now ? now - age : 0;
			return 0;
		}
	return -EINVAL;
}

/* Handle one of the source options; returns 1 when c was one, 0 when not,
 * CLI_OPT_ERROR after printing a usage error. */
static int cli_audit_source_option(Cli *cli, CliAuditSources *src, int c, const char *arg) {
	switch (c) {
	case CLI_OPT_AUDIT_DB:
		src->db_path = arg;
		return 1;
	case CLI_OPT_JSONL:
		return strv_push_dup(&src->jsonl, arg) < 0 ? CLI_OPT_ERROR : 1;
	case CLI_OPT_JOURNAL_DIR:
		return strv_push_dup(&src->journal_dirs, arg) < 0 ? CLI_OPT_ERROR : 1;
	case CLI_OPT_JOURNAL:
		src->journal_local = true;
		return 1;
	case CLI_OPT_SINCE:
		if (cli_audit_parse_since(arg, &src->since_usec) < 0) {
			cli_usage_error(cli, "--since: cannot parse '%s'", arg);
			return CLI_OPT_ERROR;
		}
		return 1;
	}
	return 0;
}

int cli_audit_getopt(Cli *cli, CliAuditSources *src, int argc, char *argv[],
		     const struct option *options, const char *options_help) {
	int c;
	while ((c = cli_getopt(cli, argc, argv, options, options_help)) >= 0) {
		int r = cli_audit_source_option(cli, src, c, optarg);
		if (r == CLI_OPT_ERROR || r == 0)
			return r == 0 ? c : CLI_OPT_ERROR;
	}
	return c;
}

void cli_audit_sources_done(CliAuditSources *src) {
	strv_free(src->jsonl);
	strv_free(src->journal_dirs);
	*src = (CliAuditSources){0};
}

static bool dir_has_journal_files(const char *path) {
	DIR *d = opendir(path);
	bool found = false;
	for (struct dirent *de; d && !found && (de = readdir(d));) {
		const char *dot = strstr(de->d_name, ".journal");
		found = dot && (streq(dot, ".journal") || streq(dot, ".journal~"));
	}
	if (d)
		closedir(d);
	return found;
}

static void print_stats_warning(const char *what, const AuditIngestStats *st) {
	if (st->warned > AUDIT_INGEST_WARN_MAX)
		fprintf(stderr, "smbpolicy: audit: %s: %u problems in all\n", what, st->warned);
}

/* DIR itself when it holds journal files, and each subdirectory that does. */
static int ingest_journal_tree(AuditDb *db, const char *dir, AuditIngestStats *total) {
	int r = 0, ret = 0;
	AuditIngestStats st = {0};
	if (dir_has_journal_files(dir)) {
		r = audit_ingest_journal_dir(db, dir, &st);
		print_stats_warning(dir, &st);
		if (r < 0) {
			cli_error("%s: cannot read journal: %s", dir, strerror(-r));
			ret = r;
		}
	}
	DIR *d = opendir(dir);
	if (!d) {
		cli_error("%s: %s", dir, strerror(errno));
		return -errno;
	}
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *sub = strdup_printf("%s/%s", dir, de->d_name);
		struct stat sst;
		if (!sub || stat(sub, &sst) < 0 || !S_ISDIR(sst.st_mode) || !dir_has_journal_files(sub))
			continue;
		AuditIngestStats sst2 = {0};
		r = audit_ingest_journal_dir(db, sub, &sst2);
		print_stats_warning(sub, &sst2);
		st.added += sst2.added, st.duplicates += sst2.duplicates, st.skipped += sst2.skipped;
		if (r < 0) {
			cli_error("%s: cannot read journal: %s", sub, strerror(-r));
			ret = r;
		}
	}
	closedir(d);
	total->added += st.added, total->duplicates += st.duplicates, total->skipped += st.skipped;
	return ret;
}

static int ingest_sources(AuditDb *db, const CliAuditSources *src, AuditIngestStats *total) {
	int ret = 0;
	STRV_FOREACH(p, src->jsonl) {
		AuditIngestStats st = {0};
		int r = audit_ingest_jsonl(db, *p, &st);
		print_stats_warning(*p, &st);
		if (r < 0) {
			cli_error("%s: cannot ingest: %s", *p, strerror(-r));
			ret = r;
		}
		total->added += st.added, total->duplicates += st.duplicates, total->skipped += st.skipped;
	}
	STRV_FOREACH(p, src->journal_dirs) {
		int r = ingest_journal_tree(db, *p, total);
		if (r < 0)
			ret = r;
	}
	if (src->journal_local) {
		AuditIngestStats st = {0};
		int r = audit_ingest_journal_local(db, &st);
		print_stats_warning("local journal", &st);
		if (r < 0) {
			cli_error("cannot read this machine's journal: %s", strerror(-r));
			ret = r;
		}
		total->added += st.added, total->duplicates += st.duplicates, total->skipped += st.skipped;
	}
	return ret;
}

int cli_audit_open(Cli *cli, CliAuditSources *src, bool write, AuditDb **ret) {
	(void)cli;
	const char *path = src->db_path;
	bool inputs = src->jsonl || src->journal_dirs || src->journal_local;
	if (!path) {
		const char *env = getenv("SMBPOLICY_AUDIT_DB");
		path = env && *env ? env : inputs && !write ? ":memory:" : CLI_AUDIT_DEFAULT_DB;
	}
	if (!write && !inputs && !streq(path, ":memory:") && access(path, F_OK) < 0)
		return -cli_error("%s: no audit DB (ingest first, or give --audit-db, --jsonl or "
				  "--journal-dir)", path);
	int r = auditdb_open(path, ret);
	if (r < 0)
		return -cli_error("%s: cannot open the audit DB: %s", path, strerror(-r));
	AuditIngestStats st = {0};
	if (ingest_sources(*ret, src, &st) < 0)
		return -CLI_EXIT_FAILED;
	return 0;
}

/* --- audit ingest --- */

#define INGEST_HELP                                                                  \
	CLI_AUDIT_SOURCE_HELP                                                        \
	"  --samba[=FILE]   sessions from `smbstatus --json` (or FILE) that neither\n" \
	"                   sign nor encrypt\n"                                          \
	"  --samba-host NAME  host name for Samba observations (default: this host)\n" \
	"  --actual FILE    an agent report (JSON) with per-setting actual values\n" \
	"  --retain-days N  then delete events older than N days\n"                  \
	"  --retain-mb N    then delete the oldest events until the DB is under N MiB\n"

static int verb_audit_ingest(Cli *cli, int argc, char *argv[]) {
	enum { OPT_SAMBA = 0x500, OPT_SAMBA_HOST, OPT_ACTUAL, OPT_RETAIN_DAYS, OPT_RETAIN_MB };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_AUDIT_SOURCE_OPTIONS,
		{ "samba", optional_argument, NULL, OPT_SAMBA },
		{ "samba-host", required_argument, NULL, OPT_SAMBA_HOST },
		{ "actual", required_argument, NULL, OPT_ACTUAL },
		{ "retain-days", required_argument, NULL, OPT_RETAIN_DAYS },
		{ "retain-mb", required_argument, NULL, OPT_RETAIN_MB },
		{},
	};
	_cleanup_(cli_audit_sources_done) CliAuditSources src = {0};
	_cleanup_strv_free_ char **actual = NULL;
	bool samba = false;
	const char *samba_file = NULL, *samba_host = NULL;
	long long days = 0, mb = 0;
	int c, r;
	while ((c = cli_audit_getopt(cli, &src, argc, argv, options, INGEST_HELP)) >= 0) {
		switch (c) {
		case OPT_SAMBA:
			samba = true;
			samba_file = optarg;
			break;
		case OPT_SAMBA_HOST:
			samba_host = optarg;
			break;
		case OPT_ACTUAL:
			if (strv_push_dup(&actual, optarg) < 0)
				return cli_error("out of memory");
			break;
		case OPT_RETAIN_DAYS:
		case OPT_RETAIN_MB:
			if (parse_int64(optarg, c == OPT_RETAIN_DAYS ? &days : &mb) < 0 ||
			    (c == OPT_RETAIN_DAYS ? days : mb) < 0)
				return cli_usage_error(cli, "'%s' is not a count", optarg);
			break;
		}
	}
	if ((r = cli_getopt_finish(cli, c, argc, 0, 0)) != CLI_PROCEED)
		return r;
	/* The DB is written: inputs go into it, not into a scratch DB. */
	CliAuditSources none = {.db_path = src.db_path};
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	if ((r = cli_audit_open(cli, &none, true, &db)) < 0)
		return -r;
	AuditIngestStats total = {0};
	int failed = ingest_sources(db, &src, &total) < 0;
	if (samba) {
		AuditIngestStats st = {0};
		r = audit_ingest_samba(db, samba_file, samba_host, &st);
		if (r < 0)
			failed = cli_error("samba: cannot read smbstatus --json: %s", strerror(-r));
		total.added += st.added, total.duplicates += st.duplicates, total.skipped += st.skipped;
	}
	STRV_FOREACH(p, actual) {
		AuditIngestStats st = {0};
		r = audit_ingest_actual(db, *p, &st);
		if (r < 0)
			failed = cli_error("%s: cannot ingest the agent report: %s", *p, strerror(-r));
		total.skipped += st.skipped;
	}
	int deleted = 0;
	if (days > 0 || mb > 0) {
		deleted = auditdb_retain(db, (unsigned long long)days * 86400000000ULL,
					 (unsigned long long)mb * 1024ULL * 1024ULL);
		if (deleted < 0)
			return cli_error("retention failed: %s", auditdb_errmsg(db));
	}
	if (cli->json)
		printf("{\"added\":%llu,\"duplicates\":%llu,\"skipped\":%llu,\"deleted\":%d}\n",
		       total.added, total.duplicates, total.skipped, deleted);
	else
		printf("ingested %llu new events (%llu already stored, %llu skipped)%s\n", total.added,
		       total.duplicates, total.skipped, deleted > 0 ? "; retention deleted some" : "");
	return failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

/* --- audit list --- */

#define LIST_HELP                                                                 \
	CLI_AUDIT_SOURCE_HELP                                                     \
	"  --host NAME      only events of this host\n"                           \
	"  --event NAME|ID  only events of this kind\n"                           \
	"  --limit N        at most N events, newest first (default 100, 0: all)\n"

typedef struct ListCtx {
	OutputTable *t;
	StrBuf json;
	bool first;
} ListCtx;

static int list_visit(const AuditRecord *r, void *userdata) {
	ListCtx *ctx = userdata;
	char tbuf[48];
	const AuditKind *k = audit_kind_by_id((AuditEventId)r->event_id);
	audit_format_time(r->time_usec, tbuf, sizeof tbuf);
	if (ctx->t) {
		StrBuf f = {0};
		for (size_t i = 0; i < r->n_fields; i++)
			strbuf_printf(&f, "%s%s=%s", i ? " " : "", r->fields[i].name, r->fields[i].value);
		_cleanup_free_ char *fields = NULL;
		if (strbuf_finish(&f, &fields) < 0)
			return -ENOMEM;
		char idbuf[16];
		snprintf(idbuf, sizeof idbuf, "%d", r->event_id);
		output_table_add(ctx->t, tbuf, r->host, k ? k->name : idbuf, r->peer, fields);
		return 0;
	}
	_cleanup_free_ char *line = NULL;
	AuditKind unknown = {.id = (AuditEventId)r->event_id, .name = ""};
	int n = audit_event_format_json(tbuf, r->host, r->source, k ? k : &unknown, r->peer,
					r->fields, r->n_fields, &line, NULL);
	if (n < 0)
		return n;
	line[strlen(line) - 1] = 0; /* the newline */
	strbuf_append(&ctx->json, ctx->first ? "" : ",\n");
	strbuf_append(&ctx->json, line);
	ctx->first = false;
	return 0;
}

static int verb_audit_list(Cli *cli, int argc, char *argv[]) {
	enum { OPT_HOST = 0x500, OPT_EVENT, OPT_LIMIT };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_AUDIT_SOURCE_OPTIONS,
		{ "host", required_argument, NULL, OPT_HOST },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{},
	};
	_cleanup_(cli_audit_sources_done) CliAuditSources src = {0};
	AuditQuery q = {.limit = 100, .newest_first = true};
	long long v;
	int c, r;
	while ((c = cli_audit_getopt(cli, &src, argc, argv, options, LIST_HELP)) >= 0) {
		if (c == OPT_HOST)
			q.host = optarg;
		else if (c == OPT_EVENT) {
			const AuditKind *k = audit_kind_by_name(optarg);
			if (k)
				q.event_id = (int)k->id;
			else if (parse_int64(optarg, &v) >= 0 && v > 0 && v < 1000000)
				q.event_id = (int)v;
			else
				return cli_usage_error(cli, "unknown event kind '%s'", optarg);
		} else if (c == OPT_LIMIT) {
			if (parse_int64(optarg, &v) < 0 || v < 0)
				return cli_usage_error(cli, "'%s' is not a count", optarg);
			q.limit = (size_t)v;
		}
	}
	if ((r = cli_getopt_finish(cli, c, argc, 0, 0)) != CLI_PROCEED)
		return r;
	q.since_usec = src.since_usec;
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	if ((r = cli_audit_open(cli, &src, false, &db)) < 0)
		return -r;
	static const OutputColumn columns[] = {
		{ "TIME", "time", OUTPUT_STRING, 0 },
		{ "HOST", "host", OUTPUT_STRING, 0 },
		{ "EVENT", "event", OUTPUT_STRING, 0 },
		{ "PEER", "peer", OUTPUT_STRING, 0 },
		{ "FIELDS", "fields", OUTPUT_STRING, 0 },
	};
	_cleanup_(output_table_freep) OutputTable *t =
		cli->json ? NULL : output_table_new(columns, ELEMENTSOF(columns));
	ListCtx ctx = {.t = t, .first = true};
	strbuf_append(&ctx.json, "[");
	r = auditdb_foreach(db, &q, list_visit, &ctx);
	if (r < 0) {
		strbuf_free(&ctx.json);
		return cli_error("cannot read the audit DB: %s", r == -EIO ? auditdb_errmsg(db) : strerror(-r));
	}
	if (t)
		return output_table_print(t, false, stdout) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	strbuf_append(&ctx.json, "]\n");
	_cleanup_free_ char *out = NULL;
	if (strbuf_finish(&ctx.json, &out) < 0)
		return cli_error("out of memory");
	fputs(out, stdout);
	return CLI_EXIT_OK;
}

static const CliVerb audit_verbs[] = {
	{ "ingest", verb_audit_ingest, "[--jsonl FILE] [--journal-dir DIR] [--samba[=FILE]] [--actual FILE]",
	  "store audit events (idempotent)" },
	{ "list", verb_audit_list, "[--since TIME] [--host H] [--event KIND] [--limit N]",
	  "show stored audit events, newest first" },
};

int verb_audit(Cli *cli, int argc, char *argv[]) {
	return cli_dispatch(cli, audit_verbs, ELEMENTSOF(audit_verbs), "audit", argc - 1, argv + 1);
}
