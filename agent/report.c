/*
 * report.c - the cycle result model: rows, status names, rendering.
 *
 * Invariants: see report.h.  Status names live in the tables below and
 * nowhere else; renderers never print partial output (StrBuf, one write).
 * Must never: interpret a plugin's values (they are opaque text here).
 */
#include "report.h"

#include "strbuf.h"

static const char *const kind_names[_REPORT_KIND_MAX] = {
	[REPORT_PLAN] = "plan",
	[REPORT_APPLY] = "apply",
	[REPORT_VERIFY] = "verify",
};

static const char *const plugin_status_names[_RP_MAX] = {
	[RP_OK] = "ok",
	[RP_CHANGED] = "changed",
	[RP_PENDING] = "pending",
	[RP_DRIFT] = "drift",
	[RP_FAILED] = "failed",
	[RP_UNAVAILABLE] = "unavailable",
};

/* Per setting status: its name and whether it counts against compliance. */
static const struct {
	const char *name;
	bool noncompliant;
} setting_status_table[_RS_MAX] = {
	[RS_OK] = { "ok", false },
	[RS_CHANGE] = { "change", true },
	[RS_CHANGED] = { "changed", false },
	[RS_DRIFT] = { "drift", true },
	[RS_FAILED] = { "failed", true },
	[RS_SKIPPED] = { "skipped", false },
};

static int lookup(const char *const *names, size_t n, const char *s) {
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && streq(names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *report_kind_to_string(ReportKind k) {
	return k < _REPORT_KIND_MAX ? kind_names[k] : NULL;
}
int report_kind_from_string(const char *s) {
	return lookup(kind_names, _REPORT_KIND_MAX, s);
}
const char *report_plugin_status_to_string(ReportPluginStatus s) {
	return s < _RP_MAX ? plugin_status_names[s] : NULL;
}
int report_plugin_status_from_string(const char *s) {
	return lookup(plugin_status_names, _RP_MAX, s);
}
const char *report_setting_status_to_string(ReportSettingStatus s) {
	return s < _RS_MAX ? setting_status_table[s].name : NULL;
}
int report_setting_status_from_string(const char *s) {
	for (size_t i = 0; s && i < _RS_MAX; i++)
		if (streq(setting_status_table[i].name, s))
			return (int)i;
	return -EINVAL;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

int report_new(ReportKind kind, const char *host, const char *policy, const char *version,
	       Report **ret) {
	_cleanup_(report_freep) Report *r = calloc(1, sizeof(Report));
	if (!r)
		return -ENOMEM;
	r->kind = kind;
	r->host = dup_or_empty(host);
	r->policy = dup_or_empty(policy);
	r->version = dup_or_empty(version);
	if (!r->host || !r->policy || !r->version)
		return -ENOMEM;
	r->started_usec = now_usec();
	r->compliant = true;
	*ret = TAKE_PTR(r);
	return 0;
}

void report_free(Report *r) {
	if (!r)
		return;
	for (size_t i = 0; i < r->n_plugins; i++) {
		free(r->plugins[i].name);
		free(r->plugins[i].message);
	}
	for (size_t i = 0; i < r->n_settings; i++) {
		ReportSetting *s = &r->settings[i];
		free(s->plugin);
		free(s->setting);
		free(s->target);
		free(s->actual);
		free(s->desired);
	}
	free(r->plugins);
	free(r->settings);
	free(r->host);
	free(r->policy);
	free(r->version);
	free(r);
}

int report_add_plugin(Report *r, const char *name, ReportPluginStatus st, const char *message) {
	ReportPlugin *n = reallocarray(r->plugins, r->n_plugins + 1, sizeof(ReportPlugin));
	if (!n)
		return -ENOMEM;
	r->plugins = n;
	ReportPlugin p = { dup_or_empty(name), st, dup_or_empty(message) };
	if (!p.name || !p.message) {
		free(p.name);
		free(p.message);
		return -ENOMEM;
	}
	r->plugins[r->n_plugins++] = p;
	return 0;
}

int report_add_setting(Report *r, const char *plugin, const char *setting, const char *target,
		       const char *actual, const char *desired, ReportSettingStatus st) {
	ReportSetting *n = reallocarray(r->settings, r->n_settings + 1, sizeof(ReportSetting));
	if (!n)
		return -ENOMEM;
	r->settings = n;
	ReportSetting s = { dup_or_empty(plugin), dup_or_empty(setting), dup_or_empty(target),
			    dup_or_empty(actual), dup_or_empty(desired), st };
	if (!s.plugin || !s.setting || !s.target || !s.actual || !s.desired) {
		free(s.plugin);
		free(s.setting);
		free(s.target);
		free(s.actual);
		free(s.desired);
		return -ENOMEM;
	}
	r->settings[r->n_settings++] = s;
	return 0;
}

void report_finish(Report *r) {
	r->compliant = true;
	r->changed = r->failed = 0;
	for (size_t i = 0; i < r->n_settings; i++) {
		ReportSettingStatus st = r->settings[i].status;
		if (st < _RS_MAX && setting_status_table[st].noncompliant)
			r->compliant = false;
		if (st == RS_CHANGED)
			r->changed++;
	}
	for (size_t i = 0; i < r->n_plugins; i++)
		if (r->plugins[i].status == RP_FAILED) {
			r->failed++;
			r->compliant = false;
		}
	r->finished_usec = now_usec();
}

static void json_kv(StrBuf *b, const char *key, const char *value, bool comma) {
	strbuf_json_string(b, key);
	strbuf_append(b, ":");
	strbuf_json_string(b, value);
	if (comma)
		strbuf_append(b, ",");
}

static void report_json(const Report *r, StrBuf *b) {
	char started[64], finished[64];
	format_rfc3339(r->started_usec, started, sizeof(started));
	format_rfc3339(r->finished_usec, finished, sizeof(finished));
	strbuf_append(b, "{");
	json_kv(b, "kind", report_kind_to_string(r->kind), true);
	json_kv(b, "host", r->host, true);
	json_kv(b, "policy", r->policy, true);
	json_kv(b, "version", r->version, true);
	json_kv(b, "started", started, true);
	json_kv(b, "finished", finished, true);
	strbuf_printf(b, "\"compliant\":%s,\"changed\":%u,\"failed\":%u,\"plugins\":[",
		      r->compliant ? "true" : "false", r->changed, r->failed);
	for (size_t i = 0; i < r->n_plugins; i++) {
		const ReportPlugin *p = &r->plugins[i];
		strbuf_append(b, i ? ",{" : "{");
		json_kv(b, "name", p->name, true);
		json_kv(b, "status", report_plugin_status_to_string(p->status), true);
		json_kv(b, "message", p->message, false);
		strbuf_append(b, "}");
	}
	strbuf_append(b, "],\"settings\":[");
	for (size_t i = 0; i < r->n_settings; i++) {
		const ReportSetting *s = &r->settings[i];
		strbuf_append(b, i ? ",{" : "{");
		json_kv(b, "plugin", s->plugin, true);
		json_kv(b, "id", s->setting, true);
		json_kv(b, "target", s->target, true);
		json_kv(b, "actual", s->actual, true);
		json_kv(b, "desired", s->desired, true);
		json_kv(b, "status", report_setting_status_to_string(s->status), false);
		strbuf_append(b, "}");
	}
	strbuf_append(b, "]}");
}

int report_to_json(const Report *r, char **ret) {
	StrBuf b = {};
	report_json(r, &b);
	return strbuf_finish(&b, ret);
}

static void report_text(const Report *r, StrBuf *b, bool verbose) {
	char when[64];
	format_rfc3339(r->finished_usec ? r->finished_usec : r->started_usec, when, sizeof(when));
	strbuf_printf(b, "%s of policy %s (version %.12s) on %s at %s: ", report_kind_to_string(r->kind),
		      *r->policy ? r->policy : "-", *r->version ? r->version : "-",
		      *r->host ? r->host : "-", when);
	if (r->kind == REPORT_PLAN) {
		size_t pending = 0;
		for (size_t i = 0; i < r->n_settings; i++)
			pending += r->settings[i].status == RS_CHANGE;
		strbuf_printf(b, "%zu change(s) pending, %u plugin(s) failed\n", pending, r->failed);
	} else
		strbuf_printf(b, "%s, %u changed, %u failed\n",
			      r->compliant ? "compliant" : "NOT compliant", r->changed, r->failed);
	for (size_t i = 0; i < r->n_plugins; i++) {
		const ReportPlugin *p = &r->plugins[i];
		strbuf_printf(b, "  %-10s %-11s %s\n", p->name,
			      report_plugin_status_to_string(p->status), p->message);
		for (size_t j = 0; j < r->n_settings; j++) {
			const ReportSetting *s = &r->settings[j];
			if (!streq(s->plugin, p->name) || (!verbose && s->status == RS_OK))
				continue;
			strbuf_printf(b, "    %-8s %s [%s]: %s -> %s\n",
				      report_setting_status_to_string(s->status), s->setting, s->target,
				      *s->actual ? s->actual : "(unset)",
				      *s->desired ? s->desired : "(unset)");
		}
	}
}

int report_print(const Report *r, FILE *f, bool json, bool verbose) {
	StrBuf b = {};
	if (json) {
		report_json(r, &b);
		strbuf_append(&b, "\n");
	} else
		report_text(r, &b, verbose);
	_cleanup_free_ char *s = NULL;
	int k = strbuf_finish(&b, &s);
	if (k < 0)
		return k;
	if (fputs(s, f) == EOF || fflush(f) == EOF)
		return -EIO;
	return 0;
}
