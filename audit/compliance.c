/*
 * compliance.c - per host and setting: desired (the resultant policy the
 * agent enforced), actual (the agent's plugin read-back) and observed (audit
 * events that contradict the desired value, by audit/impact.c's table) ->
 * compliant / not compliant / unknown, with the evidence.
 *
 * Rules (one place):
 *   - a read-back row in a failing status (drift, failed, change) or a
 *     contradicting event after the read-back -> not compliant;
 *   - else at least one read-back row in force (ok, changed) -> compliant;
 *   - else (skipped, unavailable, no read-back) -> unknown.
 *   A host is compliant only when it has settings and all are compliant;
 *   any not compliant -> not compliant; else unknown.
 * Invariants: unknown is never turned into compliant; evidence names the
 * plugin, the values and the events (count, kind, last peer).
 * Must never: judge a setting from events older than its read-back.
 */
#include "audit_impact.h"
#include "audit_report.h"
#include "strbuf.h"

/* The agent's setting statuses: in force or not. */
static const struct {
	const char *status;
	AuditVerdict verdict;
} status_verdicts[] = {
	{"ok", AUDIT_COMPLIANT},          {"changed", AUDIT_COMPLIANT},
	{"drift", AUDIT_NOT_COMPLIANT},   {"failed", AUDIT_NOT_COMPLIANT},
	{"change", AUDIT_NOT_COMPLIANT},  {"skipped", AUDIT_UNKNOWN},
};

static AuditVerdict status_verdict(const char *status) {
	for (size_t i = 0; status && i < ELEMENTSOF(status_verdicts); i++)
		if (streq(status_verdicts[i].status, status))
			return status_verdicts[i].verdict;
	return AUDIT_UNKNOWN;
}

/* One setting of one host, built from its read-back rows. */
typedef struct CSetting {
	char *setting;
	const CatalogSetting *cs; /* NULL when the catalog does not know it */
	AuditImpactRuleSet rules; /* events that can contradict desired */
	char *desired;
	char *actual;
	AuditVerdict readback;
	StrBuf evidence;
	unsigned long long contradictions, last_contradiction;
	const char *why;      /* static, from the impact table */
	char *last_peer;
} CSetting;

typedef struct CHost {
	unsigned long long actual_usec;
	CSetting *settings;
	size_t n;
	bool judged; /* some setting has impact rules (events can contradict it) */
} CHost;

struct AuditCompliance {
	const Catalog *catalog;
	AuditTally hosts; /* key host, data CHost */
	bool relevant[64];   /* by position in the kinds table */
	const AuditKind *kinds;
	size_t n_kinds;
};

static int load_row(const char *host, unsigned long long time_usec, const AuditActual *row,
		    void *userdata) {
	AuditCompliance *c = userdata;
	AuditTallyEntry *e = audit_tally_add(&c->hosts, host, NULL, NULL, time_usec);
	if (!e)
		return -ENOMEM;
	if (!e->data && !(e->data = calloc(1, sizeof(CHost))))
		return -ENOMEM;
	CHost *h = e->data;
	h->actual_usec = time_usec;
	CSetting *s = NULL;
	for (size_t i = 0; i < h->n; i++)
		if (streq(h->settings[i].setting, row->setting))
			s = &h->settings[i];
	if (!s) {
		CSetting *ns = realloc(h->settings, (h->n + 1) * sizeof *ns);
		if (!ns)
			return -ENOMEM;
		h->settings = ns;
		s = &h->settings[h->n++];
		*s = (CSetting){.setting = strdup(row->setting), .desired = strdup(row->desired),
				.actual = strdup(row->actual), .readback = AUDIT_UNKNOWN,
				.cs = c->catalog ? catalog_find(c->catalog, row->setting) : NULL};
		if (!s->setting || !s->desired || !s->actual)
			return -ENOMEM;
		if (s->cs)
			audit_impact_rules_for(s->cs, s->desired, &s->rules);
		h->judged |= s->rules.n > 0;
	}
	AuditVerdict v = status_verdict(row->status);
	/* Worst wins: not compliant > compliant > unknown. */
	if (v == AUDIT_NOT_COMPLIANT || (v == AUDIT_COMPLIANT && s->readback == AUDIT_UNKNOWN))
		s->readback = v;
	strbuf_printf(&s->evidence, "%s%s read back \"%s\" (%s)", s->evidence.len ? "; " : "",
		      *row->plugin ? row->plugin : "agent", row->actual, row->status);
	return 0;
}

int audit_compliance_new(AuditDb *db, const Catalog *catalog, AuditCompliance **ret) {
	_cleanup_(audit_compliance_freep) AuditCompliance *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->catalog = catalog;
	c->kinds = audit_kinds(&c->n_kinds);
	for (size_t i = 0; i < c->n_kinds && i < ELEMENTSOF(c->relevant); i++)
		c->relevant[i] = audit_impact_event_relevant((int)c->kinds[i].id);
	int r = auditdb_foreach_actual(db, load_row, c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

void *audit_compliance_find(AuditCompliance *c, const char *host) {
	AuditTallyEntry *e = c && c->hosts.n ? audit_tally_find(&c->hosts, host) : NULL;
	return e ? e->data : NULL;
}

int audit_compliance_observe(AuditCompliance *c, void *host, const AuditRecord *rec) {
	CHost *h = host;
	if (!h || !h->judged || rec->time_usec < h->actual_usec)
		return 0;
	const AuditKind *k = audit_kind_by_id((AuditEventId)rec->event_id);
	size_t ki = k ? (size_t)(k - c->kinds) : 0;
	if (!k || ki >= ELEMENTSOF(c->relevant) || !c->relevant[ki])
		return 0;
	uint64_t bit = 1ULL << ki;
	for (size_t i = 0; i < h->n; i++) {
		CSetting *s = &h->settings[i];
		const char *why = s->rules.kinds & bit
					  ? audit_impact_match_set(&s->rules, s->cs, s->desired, rec)
					  : NULL;
		if (!why)
			continue;
		s->contradictions++;
		s->why = why;
		if (rec->time_usec >= s->last_contradiction) {
			s->last_contradiction = rec->time_usec;
			char *p = strdup(rec->peer ? rec->peer : "");
			if (!p)
				return -ENOMEM;
			free(s->last_peer);
			s->last_peer = p;
		}
	}
	return 0;
}

int audit_compliance_host(AuditCompliance *c, AuditHostResult *host) {
	AuditTallyEntry *e = c->hosts.n ? audit_tally_find(&c->hosts, host->host) : NULL;
	host->verdict = AUDIT_UNKNOWN;
	if (!e)
		return 0;
	CHost *h = e->data;
	host->actual_usec = h->actual_usec;
	host->settings = calloc(h->n + 1, sizeof *host->settings);
	if (!host->settings)
		return -ENOMEM;
	size_t n_ok = 0, n_bad = 0;
	for (size_t i = 0; i < h->n; i++) {
		CSetting *s = &h->settings[i];
		AuditSettingResult *out = &host->settings[host->n_settings++];
		AuditVerdict v = s->readback;
		StrBuf ev = {0};
		strbuf_append(&ev, s->evidence.data ? s->evidence.data : "");
		if (s->contradictions) {
			v = AUDIT_NOT_COMPLIANT;
			strbuf_printf(&ev, "; observed %llu event%s since the read-back: %s (last peer %s)",
				      s->contradictions, s->contradictions == 1 ? "" : "s", s->why,
				      s->last_peer ? s->last_peer : "");
		} else if (s->cs && audit_impact_known(s->setting))
			strbuf_append(&ev, "; no contradicting events observed");
		if (v == AUDIT_UNKNOWN)
			strbuf_append(&ev, "; not verified");
		*out = (AuditSettingResult){
			.setting = strdup(s->setting),
			.feature = strdup(s->cs && s->cs->feature ? s->cs->feature : ""),
			.desired = strdup(s->desired),
			.actual = strdup(s->actual),
			.verdict = v,
		};
		if (strbuf_finish(&ev, &out->evidence) < 0 || !out->setting || !out->feature ||
		    !out->desired || !out->actual)
			return -ENOMEM;
		n_ok += v == AUDIT_COMPLIANT;
		n_bad += v == AUDIT_NOT_COMPLIANT;
	}
	host->verdict = n_bad ? AUDIT_NOT_COMPLIANT
			: h->n > 0 && n_ok == h->n ? AUDIT_COMPLIANT
						   : AUDIT_UNKNOWN;
	return 0;
}

int audit_compliance_hosts(AuditCompliance *c, char ***ret) {
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < c->hosts.cap; i++)
		if (c->hosts.slots[i] && strv_push_dup(&l, c->hosts.slots[i]->key) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

void audit_compliance_free(AuditCompliance *c) {
	if (!c)
		return;
	for (size_t i = 0; i < c->hosts.cap; i++) {
		AuditTallyEntry *e = c->hosts.slots[i];
		CHost *h = e ? e->data : NULL;
		for (size_t k = 0; h && k < h->n; k++) {
			free(h->settings[k].setting);
			free(h->settings[k].desired);
			free(h->settings[k].actual);
			free(h->settings[k].last_peer);
			strbuf_free(&h->settings[k].evidence);
		}
		if (h)
			free(h->settings);
	}
	audit_tally_clear(&c->hosts);
	free(c);
}
