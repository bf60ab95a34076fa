/*
 * cmd_impact.c - `smbpolicy impact SETTING=VALUE [...]`: before a rollout,
 * list the clients and servers in the audit data that would break.
 *
 * Output: one row per (change, peer, user): SETTING=VALUE, ROLE (client|server),
 * PEER, USER, SEEN-ON (host that saw it last), EVENTS, LAST-SEEN, WHY; then one
 * line per change saying how many peers would break, or that the audit data
 * cannot predict it (no rule in audit/impact.c, or the events lack the
 * field that decides, e.g. "auth").  Exit 0 when nothing would break, 1
 * when some peer would (or a change cannot be predicted),
 * 2 on usage errors (unknown setting, invalid value: checked against the
 * catalog).
 * Never: decide what breaks here (audit/impact.c's table does).
 */
#include "audit_impact.h"
#include "cmd_audit.h"
#include "output.h"

#define IMPACT_HELP CLI_AUDIT_SOURCE_HELP

static void impact_json(const AuditChange *ch, size_t n, const AuditImpact *im) {
	StrBuf b = {0};
	strbuf_printf(&b, "{\"events_scanned\":%llu,\"changes\":[", im->events_scanned);
	for (size_t i = 0; i < n; i++) {
		strbuf_append(&b, i ? ",{\"setting\":" : "{\"setting\":");
		strbuf_json_string(&b, ch[i].setting->id);
		strbuf_append(&b, ",\"value\":");
		strbuf_json_string(&b, ch[i].value);
		strbuf_printf(&b, ",\"predictable\":%s,\"undecided_events\":%llu,\"breaks\":[",
			      audit_impact_known(ch[i].setting->id) ? "true" : "false",
			      im->undecided[i]);
		bool first = true;
		for (size_t k = 0; k < im->n_rows; k++) {
			const AuditImpactRow *row = &im->rows[k];
			char tbuf[48];
			if (row->change != i)
				continue;
			strbuf_append(&b, first ? "{\"role\":" : ",{\"role\":");
			first = false;
			strbuf_json_string(&b, audit_peer_role_to_string(row->role));
			strbuf_append(&b, ",\"peer\":");
			strbuf_json_string(&b, row->peer);
			strbuf_append(&b, ",\"user\":");
			strbuf_json_string(&b, row->user);
			strbuf_append(&b, ",\"seen_on\":");
			strbuf_json_string(&b, row->host);
			strbuf_printf(&b, ",\"events\":%llu,\"last_seen\":", row->count);
			strbuf_json_string(&b, audit_format_time(row->last_usec, tbuf, sizeof tbuf));
			strbuf_append(&b, ",\"why\":");
			strbuf_json_string(&b, row->why);
			strbuf_append(&b, "}");
		}
		strbuf_append(&b, "]}");
	}
	strbuf_append(&b, "]}\n");
	_cleanup_free_ char *out = NULL;
	if (strbuf_finish(&b, &out) >= 0)
		fputs(out, stdout);
}

static int impact_text(const AuditChange *ch, size_t n, const AuditImpact *im) {
	static const OutputColumn columns[] = {
		{ "CHANGE", "change", OUTPUT_STRING, 0 },
		{ "ROLE", "role", OUTPUT_STRING, 0 },
		{ "PEER", "peer", OUTPUT_STRING, 0 },
		{ "USER", "user", OUTPUT_STRING, 0 },
		{ "SEEN-ON", "seen_on", OUTPUT_STRING, 0 },
		{ "EVENTS", "events", OUTPUT_UINT, 0 },
		{ "LAST-SEEN", "last_seen", OUTPUT_STRING, 0 },
		{ "WHY", "why", OUTPUT_STRING, 0 },
	};
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	for (size_t k = 0; k < im->n_rows; k++) {
		const AuditImpactRow *row = &im->rows[k];
		char tbuf[48];
		_cleanup_free_ char *change = strdup_printf("%s=%s", ch[row->change].setting->id,
							    ch[row->change].value);
		format_rfc3339(row->last_usec, tbuf, sizeof tbuf);
		output_table_add(t, change, audit_peer_role_to_string(row->role), row->peer,
				 *row->user ? row->user : NULL, row->host,
				 (unsigned)row->count, tbuf, row->why);
	}
	if (im->n_rows > 0 && output_table_print(t, false, stdout) < 0)
		return -EIO;
	printf("%s%llu audit events examined.\n", im->n_rows ? "\n" : "", im->events_scanned);
	for (size_t i = 0; i < n; i++) {
		size_t peers = 0;
		for (size_t k = 0; k < im->n_rows; k++)
			peers += im->rows[k].change == i;
		if (!audit_impact_known(ch[i].setting->id))
			printf("%s=%s: cannot be predicted from audit data\n", ch[i].setting->id, ch[i].value);
		else if (peers)
			printf("%s=%s: %zu peer%s would break\n", ch[i].setting->id, ch[i].value, peers,
			       peers == 1 ? "" : "s");
		else if (im->undecided[i])
			printf("%s=%s: nothing seen would break, but %llu event%s did not carry what "
			       "decides it: unknown\n",
			       ch[i].setting->id, ch[i].value, im->undecided[i],
			       im->undecided[i] == 1 ? "" : "s");
		else
			printf("%s=%s: nothing seen would break\n", ch[i].setting->id, ch[i].value);
	}
	return 0;
}

int verb_impact(Cli *cli, int argc, char *argv[]) {
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_AUDIT_SOURCE_OPTIONS,
		{},
	};
	_cleanup_(cli_audit_sources_done) CliAuditSources src = {0};
	int c, r;
	/* Only source options: none comes back here. */
	while ((c = cli_audit_getopt(cli, &src, argc, argv, options, IMPACT_HELP)) >= 0)
		;
	if ((r = cli_getopt_finish(cli, c, argc, 1, -1)) != CLI_PROCEED)
		return r;
	const Catalog *catalog;
	if ((r = cli_catalog(cli, &catalog)) < 0)
		return -r;
	size_t n = (size_t)(argc - optind);
	_cleanup_free_ AuditChange *changes = calloc(n, sizeof *changes);
	_cleanup_(diag_clear) DiagList diag = {};
	if (!changes)
		return cli_error("out of memory");
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		if (audit_change_parse(catalog, argv[optind + (int)i], &changes[i], &diag) < 0)
			bad = 1;
	if (bad) {
		cli_print_diag(&diag);
		for (size_t i = 0; i < n; i++)
			audit_change_clear(&changes[i]);
		return CLI_EXIT_USAGE;
	}
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	AuditImpact im = {0};
	if ((r = cli_audit_open(cli, &src, false, &db)) >= 0)
		r = audit_impact_run(db, changes, n, src.since_usec, &im);
	else
		r = -CLI_EXIT_FAILED;
	bool unknown = false;
	for (size_t i = 0; i < n; i++)
		unknown |= !audit_impact_known(changes[i].setting->id) || (im.undecided && im.undecided[i]);
	int ret = r == -CLI_EXIT_FAILED ? CLI_EXIT_FAILED
		  : r < 0 ? cli_error("cannot read the audit DB: %s", strerror(-r))
		  : im.n_rows > 0 || unknown ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	if (r >= 0) {
		if (cli->json)
			impact_json(changes, n, &im);
		else if (impact_text(changes, n, &im) < 0)
			ret = CLI_EXIT_FAILED;
	}
	audit_impact_clear(&im);
	for (size_t i = 0; i < n; i++)
		audit_change_clear(&changes[i]);
	return ret;
}
