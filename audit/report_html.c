/*
 * report_html.c - the compliance report as one self-contained HTML file:
 * inline CSS, inline SVG charts, no scripts, no fonts or images from
 * anywhere, readable on a laptop screen and printable (A4, light colours,
 * tables that break across pages).
 *
 * Layout: header (period, scope) -> verdict cards and stacked bar ->
 * compliance by group and by seed feature -> hosts table -> per-setting
 * drill-down (hosts not compliant or unknown, open; capped at
 * HTML_DRILL_MAX hosts) -> audit statistics sections (bar chart + table,
 * capped at HTML_ROWS_MAX rows each, the rest counted) -> events per day.
 * Invariants: every text from data passes strbuf_xml_escape; unknown is
 * drawn grey, never green; caps are stated on the page ("N more in the
 * JSON/CSV report"), never silent.
 */
#include "audit_report.h"
#include "strbuf.h"

#define HTML_ROWS_MAX 50
#define HTML_CHART_BARS 10
#define HTML_DRILL_MAX 200
#define HTML_HOSTS_MAX 2000

static const char html_css[] =
	":root{--ok:#2e7d32;--bad:#c62828;--unk:#8d8d8d;--ink:#1d2330;--mute:#5b6475;"
	"--line:#dde2ea;--bg:#f6f8fb;--accent:#1f5fa8}"
	"*{box-sizing:border-box}"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"color:var(--ink);background:var(--bg)}"
	"main{max-width:1180px;margin:0 auto;padding:28px 32px 48px}"
	"header{border-bottom:3px solid var(--accent);padding-bottom:14px;margin-bottom:22px}"
	"h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:30px 0 10px}"
	"h3{font-size:15px;margin:18px 0 8px}"
	".meta{color:var(--mute);font-size:13px}.meta b{color:var(--ink);font-weight:600}"
	".cards{display:flex;gap:14px;flex-wrap:wrap;margin:8px 0 14px}"
	".card{flex:1 1 160px;background:#fff;border:1px solid var(--line);border-radius:10px;"
	"padding:14px 16px;border-top:5px solid var(--accent)}"
	".card .n{font-size:30px;font-weight:700}.card .l{color:var(--mute);font-size:13px}"
	".card.ok{border-top-color:var(--ok)}.card.bad{border-top-color:var(--bad)}"
	".card.unk{border-top-color:var(--unk)}"
	".card.small{border-top-width:3px;border-top-color:var(--line)}.card.small .n{font-size:22px}"
	".card.small.warn{border-top-color:#e09b1a}.card .l2{color:var(--mute);font-size:11px}"
	".panel{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 18px;"
	"margin:10px 0}"
	".grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}"
	"@media(max-width:900px){.grid{grid-template-columns:1fr}}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}"
	"th{background:#eef2f7;font-weight:600;color:#334}"
	"td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
	"tr:nth-child(even) td{background:#fafbfd}"
	".badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600;"
	"color:#fff;white-space:nowrap}"
	".b-compliant{background:var(--ok)}.b-not-compliant{background:var(--bad)}"
	".b-unknown{background:var(--unk)}"
	".mono{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}"
	".id{white-space:nowrap}"
	".note{color:var(--mute);font-size:12px;margin:6px 0 0}"
	".legend span{margin-right:14px;font-size:12px;color:var(--mute)}"
	".legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}"
	"details{background:#fff;border:1px solid var(--line);border-radius:8px;margin:8px 0;"
	"padding:6px 12px}summary{cursor:pointer;font-weight:600}"
	"svg text{font:11px system-ui,sans-serif;fill:#334}"
	"footer{margin-top:36px;color:var(--mute);font-size:12px}"
	"@media print{body{background:#fff}main{padding:0;max-width:none}"
	".panel,.card,details{break-inside:avoid;border-color:#bbb}"
	"h2{break-after:avoid}thead{display:table-header-group}tr{break-inside:avoid}"
	"@page{size:A4;margin:14mm}}";

static const char *const verdict_colour[_AUDIT_VERDICT_MAX] = {
	[AUDIT_COMPLIANT] = "#2e7d32",
	[AUDIT_NOT_COMPLIANT] = "#c62828",
	[AUDIT_UNKNOWN] = "#8d8d8d",
};

static const char *const verdict_label[_AUDIT_VERDICT_MAX] = {
	[AUDIT_COMPLIANT] = "Compliant",
	[AUDIT_NOT_COMPLIANT] = "Not compliant",
	[AUDIT_UNKNOWN] = "Unknown",
};

static void esc(StrBuf *b, const char *s) { strbuf_xml_escape(b, s ? s : ""); }

static void time_text(StrBuf *b, unsigned long long usec) {
	char buf[48];
	if (!usec) {
		strbuf_append(b, "&#8212;");
		return;
	}
	format_rfc3339(usec, buf, sizeof buf);
	buf[10] = ' ';                      /* "2026-11-26 07:30:00Z" reads better */
	esc(b, buf);
}

static void badge(StrBuf *b, AuditVerdict v) {
	strbuf_printf(b, "<span class=\"badge b-%s\">%s</span>", audit_verdict_to_string(v),
		      verdict_label[v]);
}

/* A horizontal bar split by verdict, width w px. */
static void stacked_bar(StrBuf *b, const unsigned long long n[_AUDIT_VERDICT_MAX], int w, int h) {
	unsigned long long total = n[0] + n[1] + n[2];
	/* w >= 1000: as wide as its box. */
	char width[16];
	snprintf(width, sizeof width, w >= 1000 ? "100%%" : "%d", w);
	strbuf_printf(b, "<svg width=\"%s\" height=\"%d\" viewBox=\"0 0 %d %d\" "
			 "preserveAspectRatio=\"none\" role=\"img\">",
		      width, h, w, h);
	if (!total)
		strbuf_printf(b, "<rect width=\"%d\" height=\"%d\" rx=\"3\" fill=\"#e5e8ee\"/>", w, h);
	double x = 0;
	static const AuditVerdict order[] = {AUDIT_COMPLIANT, AUDIT_UNKNOWN, AUDIT_NOT_COMPLIANT};
	for (size_t i = 0; total && i < ELEMENTSOF(order); i++) {
		double bw = (double)w * (double)n[order[i]] / (double)total;
		if (bw <= 0)
			continue;
		strbuf_printf(b, "<rect x=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", x, bw, h,
			      verdict_colour[order[i]]);
		x += bw;
	}
	strbuf_append(b, "</svg>");
}

static void legend(StrBuf *b) {
	strbuf_append(b, "<div class=\"legend\">");
	for (int v = 0; v < _AUDIT_VERDICT_MAX; v++)
		strbuf_printf(b, "<span><i style=\"background:%s\"></i>%s</span>", verdict_colour[v],
			      verdict_label[v]);
	strbuf_append(b, "</div>");
}

static void verdict_table(StrBuf *b, const char *title, const char *col,
			  const AuditVerdictCount *l, size_t n) {
	strbuf_printf(b, "<div class=\"panel\"><h3>%s</h3>", title);
	if (!n) {
		strbuf_append(b, "<p class=\"note\">No data.</p></div>");
		return;
	}
	strbuf_printf(b, "<table><thead><tr><th>%s</th><th class=\"num\">Compliant</th>"
			 "<th class=\"num\">Not</th><th class=\"num\">Unknown</th><th></th></tr></thead><tbody>",
		      col);
	for (size_t i = 0; i < n; i++) {
		strbuf_append(b, "<tr><td>");
		esc(b, l[i].name);
		strbuf_printf(b, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>"
				 "<td class=\"num\">%llu</td><td>",
			      l[i].n[AUDIT_COMPLIANT], l[i].n[AUDIT_NOT_COMPLIANT], l[i].n[AUDIT_UNKNOWN]);
		stacked_bar(b, l[i].n, 140, 12);
		strbuf_append(b, "</td></tr>");
	}
	strbuf_append(b, "</tbody></table></div>");
}

/* Horizontal bar chart of the first rows of a section. */
static void bar_chart(StrBuf *b, const AuditSection *sec) {
	size_t n = sec->n_rows < HTML_CHART_BARS ? sec->n_rows : HTML_CHART_BARS;
	unsigned long long max = 1;
	for (size_t i = 0; i < n; i++)
		if (sec->rows[i]->count > max)
			max = sec->rows[i]->count;
	int row_h = 20, label_w = 190, w = 520, bar_w = w - label_w - 60;
	strbuf_printf(b, "<svg width=\"100%%\" viewBox=\"0 0 %d %zu\" role=\"img\" "
			 "preserveAspectRatio=\"xMinYMin meet\" style=\"max-width:%dpx\">",
		      w, n * (size_t)row_h + 4, w);
	for (size_t i = 0; i < n; i++) {
		const AuditTallyEntry *e = sec->rows[i];
		double bw = (double)bar_w * (double)e->count / (double)max;
		int y = (int)i * row_h;
		char label[40];
		snprintf(label, sizeof label, "%.28s%s", e->key, strlen(e->key) > 28 ? "…" : "");
		strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 6, y + 14);
		esc(b, label);
		strbuf_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" rx=\"2\" "
				 "fill=\"#1f5fa8\"/><text x=\"%.1f\" y=\"%d\">%llu</text>",
			      label_w, y + 3, bw < 1 ? 1 : bw, label_w + (bw < 1 ? 1 : bw) + 5, y + 14,
			      e->count);
	}
	strbuf_append(b, "</svg>");
}

/* Vertical bars, one per day. */
static void day_chart(StrBuf *b, const AuditSection *sec) {
	size_t n = sec->n_rows, first = n > 60 ? n - 60 : 0;
	unsigned long long max = 1;
	for (size_t i = first; i < n; i++)
		if (sec->rows[i]->count > max)
			max = sec->rows[i]->count;
	int w = 1000, h = 170, base = 140, plot = 120;
	double slot = (double)(w - 60) / (double)(n - first ? n - first : 1);
	if (slot > 48)
		slot = 48; /* a few days: narrow bars, not one wall */
	strbuf_printf(b, "<svg width=\"100%%\" viewBox=\"0 0 %d %d\" role=\"img\">"
			 "<line x1=\"50\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#99a\"/>"
			 "<text x=\"44\" y=\"%d\" text-anchor=\"end\">%llu</text>"
			 "<text x=\"44\" y=\"%d\" text-anchor=\"end\">0</text>",
		      w, h, base, w - 10, base, base - plot + 4, max, base);
	for (size_t i = first; i < n; i++) {
		const AuditTallyEntry *e = sec->rows[i];
		double bh = (double)plot * (double)e->count / (double)max, x = 52 + slot * (double)(i - first);
		strbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1f5fa8\">"
				 "<title>%s: %llu</title></rect>",
			      x, base - bh, slot * 0.8 > 1 ? slot * 0.8 : 1, bh, e->key, e->count);
		if (n - first <= 14 || (i - first) % ((n - first) / 7 + 1) == 0)
			strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\">%s</text>", x, base + 16, e->key + 5);
	}
	strbuf_append(b, "</svg>");
}

/* "N more WHAT in the JSON and CSV reports." where the HTML cut a list. */
static void more_note(StrBuf *b, size_t more, const char *what) {
	if (more)
		strbuf_printf(b, "<p class=\"note\">%zu more %s in the JSON and CSV reports.</p>", more,
			      what);
}

static void section(StrBuf *b, AuditSectionId id, const AuditSection *sec) {
	const AuditSectionInfo *info = audit_section_info(id);
	strbuf_append(b, "<div class=\"panel\"><h3>");
	esc(b, info->title);
	strbuf_printf(b, " <span class=\"meta\">(%zu)</span></h3>", sec->n_rows);
	if (!sec->n_rows) {
		strbuf_append(b, "<p class=\"note\">None seen.</p></div>");
		return;
	}
	if (info->chart && id != AUDIT_SEC_DAYS)
		bar_chart(b, sec);
	strbuf_append(b, "<table><thead><tr><th>");
	esc(b, info->key_label);
	strbuf_append(b, "</th>");
	if (info->detail_label) {
		strbuf_append(b, "<th>");
		esc(b, info->detail_label);
		strbuf_append(b, "</th>");
	}
	strbuf_append(b, "<th class=\"num\">Events</th><th>Last seen</th><th>Last on host</th></tr>"
			 "</thead><tbody>");
	size_t n = sec->n_rows < HTML_ROWS_MAX ? sec->n_rows : HTML_ROWS_MAX;
	for (size_t i = 0; i < n; i++) {
		const AuditTallyEntry *e = sec->rows[i];
		strbuf_append(b, "<tr><td class=\"mono\">");
		esc(b, e->key);
		strbuf_append(b, "</td>");
		if (info->detail_label) {
			strbuf_append(b, "<td>");
			esc(b, e->detail);
			strbuf_append(b, "</td>");
		}
		strbuf_printf(b, "<td class=\"num\">%llu</td><td>", e->count);
		time_text(b, e->last_usec);
		strbuf_append(b, "</td><td>");
		esc(b, e->host);
		strbuf_append(b, "</td></tr>");
	}
	strbuf_append(b, "</tbody></table>");
	more_note(b, sec->n_rows - n, "rows");
	strbuf_append(b, "</div>");
}

static void hosts_table(StrBuf *b, const AuditReport *r) {
	strbuf_append(b, "<h2>Hosts</h2><div class=\"panel\"><table><thead><tr><th>Host</th>"
			 "<th>Group</th><th>Verdict</th><th class=\"num\">Settings</th>"
			 "<th class=\"num\">Events</th><th class=\"num\">Warnings</th>"
			 "<th class=\"num\">Unprotected peers' events</th><th>Read back</th></tr></thead><tbody>");
	size_t n = r->n_hosts < HTML_HOSTS_MAX ? r->n_hosts : HTML_HOSTS_MAX;
	for (size_t i = 0; i < n; i++) {
		const AuditHostResult *h = &r->hosts[i];
		strbuf_append(b, "<tr><td>");
		esc(b, h->host);
		strbuf_append(b, "</td><td>");
		esc(b, h->group);
		strbuf_append(b, "</td><td>");
		badge(b, h->verdict);
		strbuf_printf(b, "</td><td class=\"num\">%zu</td><td class=\"num\">%llu</td>"
				 "<td class=\"num\">%llu</td><td class=\"num\">%llu</td><td>",
			      h->n_settings, h->events, h->warnings, h->unprotected);
		time_text(b, h->actual_usec);
		strbuf_append(b, "</td></tr>");
	}
	strbuf_append(b, "</tbody></table>");
	more_note(b, r->n_hosts - n, "hosts");
	strbuf_append(b, "</div>");
}

static void drill_down(StrBuf *b, const AuditReport *r) {
	strbuf_append(b, "<h2>Per-setting evidence</h2>");
	size_t shown = 0, skipped = 0;
	for (size_t i = 0; i < r->n_hosts; i++) {
		const AuditHostResult *h = &r->hosts[i];
		if (shown >= HTML_DRILL_MAX) {
			skipped++;
			continue;
		}
		shown++;
		strbuf_printf(b, "<details%s><summary>", h->verdict == AUDIT_COMPLIANT ? "" : " open");
		esc(b, h->host);
		strbuf_append(b, " ");
		badge(b, h->verdict);
		strbuf_append(b, "</summary>");
		if (!h->n_settings) {
			strbuf_append(b, "<p class=\"note\">No read-back from the agent for this host: "
					 "nothing can be verified, so it is unknown.</p></details>");
			continue;
		}
		strbuf_append(b, "<table><thead><tr><th>Setting</th><th>Desired</th><th>Actual</th>"
				 "<th>Verdict</th><th>Evidence</th></tr></thead><tbody>");
		for (size_t k = 0; k < h->n_settings; k++) {
			const AuditSettingResult *s = &h->settings[k];
			strbuf_append(b, "<tr><td class=\"mono id\">");
			esc(b, s->setting);
			strbuf_append(b, "</td><td class=\"mono\">");
			esc(b, s->desired);
			strbuf_append(b, "</td><td class=\"mono\">");
			esc(b, s->actual);
			strbuf_append(b, "</td><td>");
			badge(b, s->verdict);
			strbuf_append(b, "</td><td>");
			esc(b, s->evidence);
			strbuf_append(b, "</td></tr>");
		}
		strbuf_append(b, "</tbody></table></details>");
	}
	if (!r->n_hosts)
		strbuf_append(b, "<p class=\"note\">No hosts.</p>");
	more_note(b, skipped, "hosts");
}

int audit_report_html(const AuditReport *r, char **ret) {
	StrBuf b = {0};
	strbuf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
			  "<title>SMB compliance report</title><style>%s</style></head><body><main>",
		      html_css);
	strbuf_append(&b, "<header><h1>SMB compliance report</h1><div class=\"meta\">Generated <b>");
	time_text(&b, r->generated_usec);
	strbuf_append(&b, "</b> &#183; scope <b>");
	esc(&b, r->group_filter ? r->group_filter : "whole fleet");
	strbuf_append(&b, "</b> &#183; events <b>");
	time_text(&b, r->first_usec);
	strbuf_append(&b, "</b> to <b>");
	time_text(&b, r->last_usec);
	strbuf_printf(&b, "</b> &#183; <b>%llu</b> audit events", r->events);
	if (r->since_usec) {
		strbuf_append(&b, " since ");
		time_text(&b, r->since_usec);
	}
	strbuf_append(&b, "</div></header>");

	strbuf_printf(&b, "<div class=\"cards\"><div class=\"card\"><div class=\"n\">%zu</div>"
			  "<div class=\"l\">Hosts</div></div>",
		      r->n_hosts);
	static const char *const card_class[_AUDIT_VERDICT_MAX] = {"ok", "bad", "unk"};
	for (int v = 0; v < _AUDIT_VERDICT_MAX; v++)
		strbuf_printf(&b, "<div class=\"card %s\"><div class=\"n\">%llu</div><div class=\"l\">%s"
				  "</div></div>",
			      card_class[v], r->hosts_by_verdict[v], verdict_label[v]);
	strbuf_append(&b, "</div><div class=\"panel\">");
	stacked_bar(&b, r->hosts_by_verdict, 1000, 18);
	legend(&b);
	strbuf_append(&b, "<p class=\"note\">A host is compliant only when every setting is "
			  "verified compliant; unknown means it could not be verified and is never "
			  "counted as compliant.</p></div>");

	/* What an auditor looks at first: the peers that weaken the fleet. */
	static const AuditSectionId highlights[] = {
		AUDIT_SEC_CLIENT_NO_SIGNING, AUDIT_SEC_CLIENT_NO_ENCRYPTION, AUDIT_SEC_GUESTS,
		AUDIT_SEC_RATE_LIMITED, AUDIT_SEC_QUIC_DENIED,
	};
	strbuf_append(&b, "<div class=\"cards\">");
	for (size_t i = 0; i < ELEMENTSOF(highlights); i++) {
		const AuditSection *sec = &r->sections[highlights[i]];
		unsigned long long events = 0;
		for (size_t k = 0; k < sec->n_rows; k++)
			events += sec->rows[k]->count;
		strbuf_printf(&b, "<div class=\"card small%s\"><div class=\"n\">%zu</div><div class=\"l\">",
			      sec->n_rows ? " warn" : "", sec->n_rows);
		esc(&b, audit_section_info(highlights[i])->title);
		strbuf_printf(&b, "</div><div class=\"l2\">distinct, in %llu event%s</div></div>", events,
			      events == 1 ? "" : "s");
	}
	strbuf_append(&b, "</div>");

	strbuf_append(&b, "<h2>Compliance</h2><div class=\"grid\">");
	verdict_table(&b, "By group", "Group", r->groups, r->n_groups);
	verdict_table(&b, "By feature", "Feature", r->features, r->n_features);
	strbuf_append(&b, "</div>");

	hosts_table(&b, r);
	drill_down(&b, r);

	strbuf_append(&b, "<h2>Audit statistics</h2>");
	strbuf_append(&b, "<div class=\"panel\"><h3>Events per day</h3>");
	if (r->sections[AUDIT_SEC_DAYS].n_rows)
		day_chart(&b, &r->sections[AUDIT_SEC_DAYS]);
	else
		strbuf_append(&b, "<p class=\"note\">No events.</p>");
	strbuf_append(&b, "</div><div class=\"grid\">");
	for (size_t s = 0; s < _AUDIT_SEC_MAX; s++)
		if (s != AUDIT_SEC_DAYS)
			section(&b, (AuditSectionId)s, &r->sections[s]);
	strbuf_append(&b, "</div><footer>smbpolicy &#183; the same data is available as JSON "
			  "(schema/report.schema.json) and CSV.</footer></main></body></html>\n");
	return strbuf_finish(&b, ret);
}
