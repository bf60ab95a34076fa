/*
 * cmd_report.c - `smbpolicy report`: the compliance report (fleet summary,
 * hosts, per-setting evidence, audit statistics) as HTML, JSON or CSV, or a
 * one-screen text summary.
 *
 *   smbpolicy report [--format text|html|json|csv] [--since TIME]
 *                    [--group PATH] [-o FILE] [--audit-db PATH]
 *                    [--journal-dir DIR...] [--jsonl FILE...]
 *   smbpolicy report --output-dir DIR [--keep-days N]    (scheduled use)
 *
 * --output-dir writes DIR/smbpolicy-report-YYYY-MM-DD.html and .json (UTC
 * date; a second run the same day replaces them) and then deletes dated
 * reports older than --keep-days (default 90) - what
 * smbpolicy-report.service runs daily.
 * Hosts' groups come from the store when it exists (--store); without it
 * every host is in "/".  -o writes the file atomically (format from its
 * extension unless --format); without -o the document goes to stdout.
 * Exit: 0 written and no host is not compliant, 1 some host is not
 * compliant (the report is still written) or an error, 2 usage.
 * Never: compute verdicts or statistics here (audit/ does).
 */
#include <dirent.h>
#include <time.h>

#include "audit_report.h"
#include "cmd_audit.h"
#include "output.h"

#define REPORT_HELP                                                             \
	CLI_AUDIT_SOURCE_HELP                                                   \
	"  --format FORMAT  text (default without -o), html, json or csv\n"     \
	"  --group PATH     only hosts in this group and below\n"               \
	"  -o, --output FILE  write the report to FILE (atomically)\n"         \
	"  --output-dir DIR write dated HTML and JSON reports into DIR\n"      \
	"  --keep-days N    with --output-dir: delete dated reports older than N\n" \
	"                   days (default 90)\n"

#define REPORT_PREFIX "smbpolicy-report-"

typedef int (*ReportWriter)(const AuditReport *r, char **ret);

static int report_text(const AuditReport *r, char **ret);

static const struct {
	const char *name;
	const char *extension;
	ReportWriter write;
} report_formats[] = {
	{"text", ".txt", report_text},
	{"html", ".html", audit_report_html},
	{"json", ".json", audit_report_json},
	{"csv", ".csv", audit_report_csv},
};

static int report_format(const char *name, const char *path) {
	for (size_t i = 0; i < ELEMENTSOF(report_formats); i++) {
		if (name && streq(name, report_formats[i].name))
			return (int)i;
		size_t n = path ? strlen(path) : 0, e = strlen(report_formats[i].extension);
		if (!name && n > e && streq(path + n - e, report_formats[i].extension))
			return (int)i;
	}
	return name ? -EINVAL : path ? 1 /* html */ : 0;
}

/* One screen: verdict counts, groups, the first findings, bad hosts. */
static int report_text(const AuditReport *r, char **ret) {
	StrBuf b = {0};
	char t1[48], t2[48];
	strbuf_printf(&b, "Compliance report (%s): %llu audit events", r->group_filter ? r->group_filter : "whole fleet",
		      r->events);
	if (r->events)
		strbuf_printf(&b, ", %s .. %s", format_rfc3339(r->first_usec, t1, sizeof t1),
			      format_rfc3339(r->last_usec, t2, sizeof t2));
	strbuf_printf(&b, "\nHosts: %zu  compliant %llu  not compliant %llu  unknown %llu\n", r->n_hosts,
		      r->hosts_by_verdict[AUDIT_COMPLIANT], r->hosts_by_verdict[AUDIT_NOT_COMPLIANT],
		      r->hosts_by_verdict[AUDIT_UNKNOWN]);
	for (size_t i = 0; i < r->n_groups && i < 5; i++)
		strbuf_printf(&b, "  group %-24s compliant %llu, not %llu, unknown %llu\n", r->groups[i].name,
			      r->groups[i].n[AUDIT_COMPLIANT], r->groups[i].n[AUDIT_NOT_COMPLIANT],
			      r->groups[i].n[AUDIT_UNKNOWN]);
	strbuf_append(&b, "Findings:\n");
	bool any = false;
	for (size_t s = 0; s < _AUDIT_SEC_MAX; s++) {
		const AuditSection *sec = &r->sections[s];
		if (s == AUDIT_SEC_KINDS || s == AUDIT_SEC_DAYS || !sec->n_rows)
			continue;
		any = true;
		strbuf_printf(&b, "  %-40s", audit_section_info((AuditSectionId)s)->title);
		for (size_t i = 0; i < sec->n_rows && i < 3; i++) {
			const char *key = sec->rows[i]->key; /* certificate hashes: cut */
			strbuf_printf(&b, "%s%.*s%s x%llu", i ? ", " : " ", 16, key,
				      strlen(key) > 16 ? "..." : "", sec->rows[i]->count);
		}
		strbuf_printf(&b, "%s\n", sec->n_rows > 3 ? ", ..." : "");
	}
	if (!any)
		strbuf_append(&b, "  none\n");
	size_t shown = 0;
	for (size_t i = 0; i < r->n_hosts && shown < 8; i++) {
		const AuditHostResult *h = &r->hosts[i];
		if (h->verdict != AUDIT_NOT_COMPLIANT)
			continue;
		if (!shown++)
			strbuf_append(&b, "Not compliant:\n");
		strbuf_printf(&b, "  %s:", h->host);
		for (size_t k = 0, n = 0; k < h->n_settings && n < 3; k++)
			if (h->settings[k].verdict == AUDIT_NOT_COMPLIANT)
				strbuf_printf(&b, "%s %s", n++ ? "," : "", h->settings[k].setting);
		strbuf_append(&b, "\n");
	}
	return strbuf_finish(&b, ret);
}

/* host -> group from the store, when there is one. */
static int load_groups(Cli *cli, AuditTally *groups, bool *ret_have) {
	*ret_have = false;
	if (access(cli->store_path, F_OK) < 0)
		return 0;
	Store *s;
	int r = cli_store(cli, false, &s);
	if (r < 0)
		return r;
	StoreHost *hosts = NULL;
	size_t n = 0;
	r = store_host_list(s, &hosts, &n);
	if (r < 0)
		return -cli_store_error(cli, r, "hosts");
	for (size_t i = 0; i < n; i++)
		if (!audit_tally_add(groups, hosts[i].name, hosts[i].group, NULL, 0)) {
			store_hosts_free(hosts, n);
			return -cli_error("out of memory");
		}
	store_hosts_free(hosts, n);
	*ret_have = true;
	return 0;
}

/* Dated files of DIR older than keep_days (by the date in their name). */
static void report_prune(const char *dir, long long keep_days) {
	DIR *d = opendir(dir);
	time_t cutoff = time(NULL) - (time_t)keep_days * 86400;
	char oldest[16];
	strftime(oldest, sizeof oldest, "%Y-%m-%d", gmtime(&cutoff));
	for (struct dirent *de; d && (de = readdir(d));) {
		const char *date = de->d_name + strlen(REPORT_PREFIX);
		if (!startswith(de->d_name, REPORT_PREFIX) || strlen(date) < 10 ||
		    strncmp(date, oldest, 10) >= 0)
			continue;
		_cleanup_free_ char *path = strdup_printf("%s/%s", dir, de->d_name);
		if (path && unlink(path) < 0)
			cli_error("%s: cannot delete: %s", path, strerror(errno));
	}
	if (d)
		closedir(d);
}

/* DIR/smbpolicy-report-DATE.html and .json. */
static int report_write_dated(const AuditReport *r, const char *dir, long long keep_days) {
	static const ReportWriter writers[] = {audit_report_html, audit_report_json};
	static const char *const ext[] = {"html", "json"};
	char date[16];
	time_t now = (time_t)(r->generated_usec / 1000000ULL);
	strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
	for (size_t i = 0; i < ELEMENTSOF(writers); i++) {
		_cleanup_free_ char *doc = NULL;
		_cleanup_free_ char *path = strdup_printf("%s/" REPORT_PREFIX "%s.%s", dir, date, ext[i]);
		if (!path || writers[i](r, &doc) < 0)
			return cli_error("out of memory");
		int k = write_file_atomic(path, doc, strlen(doc), 0644);
		if (k < 0)
			return cli_error("%s: cannot write: %s", path, strerror(-k));
		printf("%s\n", path);
	}
	report_prune(dir, keep_days);
	return 0;
}

int verb_report(Cli *cli, int argc, char *argv[]) {
	enum { OPT_FORMAT = 0x500, OPT_GROUP, OPT_OUTPUT_DIR, OPT_KEEP_DAYS };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_AUDIT_SOURCE_OPTIONS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "output", required_argument, NULL, 'o' },
		{ "output-dir", required_argument, NULL, OPT_OUTPUT_DIR },
		{ "keep-days", required_argument, NULL, OPT_KEEP_DAYS },
		{},
	};
	_cleanup_(cli_audit_sources_done) CliAuditSources src = {0};
	const char *format = NULL, *group = NULL, *output = NULL, *output_dir = NULL;
	long long keep_days = 90;
	int c, r;
	while ((c = cli_audit_getopt(cli, &src, argc, argv, options, REPORT_HELP)) >= 0) {
		if (c == OPT_FORMAT)
			format = optarg;
		else if (c == OPT_GROUP)
			group = optarg;
		else if (c == 'o')
			output = optarg;
		else if (c == OPT_OUTPUT_DIR)
			output_dir = optarg;
		else if (c == OPT_KEEP_DAYS && (parse_int64(optarg, &keep_days) < 0 || keep_days < 1))
			return cli_usage_error(cli, "--keep-days: '%s' is not a number of days", optarg);
	}
	if ((r = cli_getopt_finish(cli, c, argc, 0, 0)) != CLI_PROCEED)
		return r;
	if (cli->json && format && !streq(format, "json"))
		return cli_usage_error(cli, "--json and --format %s exclude each other", format);
	int f = report_format(cli->json ? "json" : format, output);
	if (f < 0)
		return cli_usage_error(cli, "unknown format '%s' (text, html, json, csv)", format);
	if (output_dir && (output || format))
		return cli_usage_error(cli, "--output-dir writes HTML and JSON: no -o or --format");
	if (group && group[0] != '/')
		return cli_usage_error(cli, "--group: '%s' is not a group path", group);

	const Catalog *catalog;
	if ((r = cli_catalog(cli, &catalog)) < 0)
		return -r;
	AuditTally groups = {0};
	bool have_groups;
	if ((r = load_groups(cli, &groups, &have_groups)) < 0) {
		audit_tally_clear(&groups);
		return -r;
	}
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	_cleanup_(audit_report_freep) AuditReport *report = NULL;
	AuditReportOptions opt = {.since_usec = src.since_usec, .group = group, .catalog = catalog,
				  .host_groups = have_groups ? &groups : NULL};
	if ((r = cli_audit_open(cli, &src, false, &db)) >= 0) {
		r = audit_report_build(db, &opt, &report);
		if (r < 0)
			r = -cli_error("cannot build the report: %s",
				       r == -EIO ? auditdb_errmsg(db) : strerror(-r));
	}
	audit_tally_clear(&groups);
	if (r < 0)
		return -r;
	if (output_dir) {
		if (report_write_dated(report, output_dir, keep_days) < 0)
			return CLI_EXIT_FAILED;
		return report->hosts_by_verdict[AUDIT_NOT_COMPLIANT] ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	}
	_cleanup_free_ char *doc = NULL;
	if (report_formats[f].write(report, &doc) < 0)
		return cli_error("out of memory");
	if (output) {
		r = write_file_atomic(output, doc, strlen(doc), 0644);
		if (r < 0)
			return cli_error("%s: cannot write: %s", output, strerror(-r));
	} else if (fputs(doc, stdout) < 0)
		return cli_error("cannot write the report: %s", strerror(errno));
	return report->hosts_by_verdict[AUDIT_NOT_COMPLIANT] ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
