/*
 * report.c - builds the compliance report model (audit_report.h) in one
 * pass over the audit DB's events plus the agent's actual state.
 *
 * Which event feeds which statistics section is the table report_feeds[]:
 * event kind, section, what the row key is (peer address or a field) and
 * which field is the detail.  Adding a statistic is a row here plus a row
 * in report_sections[]; renderers iterate the sections.
 *
 * Invariants: every event after --since of a host the group filter keeps is
 * counted exactly once per section that lists its kind; hosts known only
 * from the store or the agent's state are listed (as unknown when nothing
 * is known); sorting is deterministic.
 * Must never: count a host outside the group filter anywhere.
 */
#include <time.h>

#include "audit_impact.h"
#include "audit_report.h"

static const AuditSectionInfo report_sections[_AUDIT_SEC_MAX] = {
	[AUDIT_SEC_CLIENT_NO_SIGNING] = {"client-no-signing", "Clients that do not sign",
					 "Client address", "Last user", true},
	[AUDIT_SEC_CLIENT_NO_ENCRYPTION] = {"client-no-encryption", "Clients that do not encrypt",
					    "Client address", "Last user", true},
	[AUDIT_SEC_SERVER_NO_SIGNING] = {"server-no-signing", "Servers that do not sign",
					 "Server", "Dialect", false},
	[AUDIT_SEC_SERVER_NO_ENCRYPTION] = {"server-no-encryption", "Servers that do not encrypt",
					    "Server", "Dialect", false},
	[AUDIT_SEC_QUIC] = {"quic-connections", "SMB over QUIC connections by client certificate",
			    "Certificate SHA-256", "Issuer", false},
	[AUDIT_SEC_QUIC_DENIED] = {"quic-denied", "QUIC client certificates denied",
				   "Certificate SHA-256", "Issuer", false},
	[AUDIT_SEC_GUESTS] = {"guests-refused", "Refused guest logons", "Peer", "User", false},
	[AUDIT_SEC_RATE_LIMITED] = {"rate-limited", "Rate-limited sources", "Client address",
				    "Last user", true},
	[AUDIT_SEC_AUTH_FAILED] = {"auth-failed", "Authentication failures", "Client address",
				   "Last user", false},
	[AUDIT_SEC_DIALECTS] = {"dialects", "Dialects in use (sessions)", "Dialect", NULL, true},
	[AUDIT_SEC_KINDS] = {"event-kinds", "Events by kind", "Event", "Meaning", true},
	[AUDIT_SEC_DAYS] = {"days", "Events per day", "Day (UTC)", NULL, true},
};

const AuditSectionInfo *audit_section_info(AuditSectionId id) {
	return id < _AUDIT_SEC_MAX ? &report_sections[id] : NULL;
}

typedef enum FeedKey {
	FEED_PEER,  /* peer address without port */
	FEED_FIELD, /* a field's value ("(none)" when absent) */
} FeedKey;

static const struct {
	AuditEventId event;
	AuditSectionId section;
	FeedKey key;
	const char *key_field;
	const char *detail_field;
} report_feeds[] = {
	{AUDIT_SERVER_CLIENT_NO_SIGNING, AUDIT_SEC_CLIENT_NO_SIGNING, FEED_PEER, NULL, "user"},
	{AUDIT_OBSERVED_SESSION_UNPROTECTED, AUDIT_SEC_CLIENT_NO_SIGNING, FEED_PEER, NULL, "user"},
	{AUDIT_SERVER_CLIENT_NO_ENCRYPTION, AUDIT_SEC_CLIENT_NO_ENCRYPTION, FEED_PEER, NULL, "user"},
	{AUDIT_OBSERVED_SESSION_UNPROTECTED, AUDIT_SEC_CLIENT_NO_ENCRYPTION, FEED_PEER, NULL, "user"},
	{AUDIT_CLIENT_SERVER_NO_SIGNING, AUDIT_SEC_SERVER_NO_SIGNING, FEED_PEER, NULL, "dialect"},
	{AUDIT_CLIENT_SERVER_NO_ENCRYPTION, AUDIT_SEC_SERVER_NO_ENCRYPTION, FEED_PEER, NULL, "dialect"},
	{AUDIT_SERVER_QUIC_CONNECTION, AUDIT_SEC_QUIC, FEED_FIELD, "cert_sha256", "cert_issuer"},
	{AUDIT_CLIENT_QUIC_CONNECTION, AUDIT_SEC_QUIC, FEED_FIELD, "cert_sha256", "cert_issuer"},
	{AUDIT_SERVER_QUIC_ACCESS_DENIED, AUDIT_SEC_QUIC_DENIED, FEED_FIELD, "cert_sha256", "cert_issuer"},
	{AUDIT_SERVER_GUEST_REFUSED, AUDIT_SEC_GUESTS, FEED_PEER, NULL, "user"},
	{AUDIT_CLIENT_INSECURE_GUEST_REFUSED, AUDIT_SEC_GUESTS, FEED_PEER, NULL, "share"},
	{AUDIT_SERVER_RATE_LIMITED, AUDIT_SEC_RATE_LIMITED, FEED_PEER, NULL, "user"},
	{AUDIT_SERVER_AUTH_FAILED, AUDIT_SEC_AUTH_FAILED, FEED_PEER, NULL, "user"},
	{AUDIT_SERVER_SESSION, AUDIT_SEC_DIALECTS, FEED_FIELD, "dialect", NULL},
	{AUDIT_OBSERVED_SESSION_UNPROTECTED, AUDIT_SEC_DIALECTS, FEED_FIELD, "dialect", NULL},
};

static const char *const verdict_names[_AUDIT_VERDICT_MAX] = {
	[AUDIT_COMPLIANT] = "compliant",
	[AUDIT_NOT_COMPLIANT] = "not-compliant",
	[AUDIT_UNKNOWN] = "unknown",
};

const char *audit_verdict_to_string(AuditVerdict v) {
	return v < _AUDIT_VERDICT_MAX ? verdict_names[v] : "unknown";
}

/* Per-host counters while scanning (tally entry data). */
typedef struct HostScan {
	unsigned long long events, warnings, unprotected, last_usec;
	void *compliance; /* the host's compliance state, found once */
} HostScan;

typedef struct Build {
	AuditReport *r;
	const AuditReportOptions *opt;
	AuditTally *hosts; /* the report's: key host, detail group, data HostScan */
	AuditCompliance *compliance;
	/* The last host looked up: events come in runs of one host often. */
	const char *last_host;
	AuditTallyEntry *last_entry;
	unsigned long long day; /* day number of day_entry */
	AuditTallyEntry *day_entry;
	/* Entries of the kinds section by position in the kinds table. */
	const AuditKind *kinds;
	AuditTallyEntry *kind_entry[64];
} Build;

static const char *host_group(const AuditReportOptions *opt, const char *host) {
	AuditTallyEntry *e = opt->host_groups && opt->host_groups->n
				     ? audit_tally_find(opt->host_groups, host)
				     : NULL;
	return e && e->detail ? e->detail : opt->host_groups ? "(unassigned)" : "/";
}

static bool group_keeps(const char *filter, const char *group) {
	if (!filter || streq(filter, "/"))
		return true;
	size_t n = strlen(filter);
	return strncmp(group, filter, n) == 0 && (group[n] == 0 || group[n] == '/');
}

/* The host's entry, created on first sight; NULL (errno-less) when the
 * group filter drops it, *ret_r < 0 on ENOMEM. */
static AuditTallyEntry *build_host(Build *b, const char *host, int *ret_r) {
	*ret_r = 0;
	if (b->last_host && streq(b->last_host, host))
		return b->last_entry;
	AuditTallyEntry *e = b->hosts->n ? audit_tally_find(b->hosts, host) : NULL;
	if (!e) {
		const char *group = host_group(b->opt, host);
		if (!group_keeps(b->opt->group, group))
			return NULL;
		e = audit_tally_add(b->hosts, host, group, NULL, 0);
		if (!e || !(e->data = calloc(1, sizeof(HostScan)))) {
			*ret_r = -ENOMEM;
			return NULL;
		}
		e->count = 0;
		((HostScan *)e->data)->compliance = audit_compliance_find(b->compliance, host);
	}
	b->last_host = e->key;
	b->last_entry = e;
	return e;
}

static int build_visit(const AuditRecord *rec, void *userdata) {
	Build *b = userdata;
	AuditReport *r = b->r;
	int ret;
	AuditTallyEntry *he = build_host(b, rec->host, &ret);
	if (!he)
		return ret;
	HostScan *hs = he->data;
	const AuditKind *k = audit_kind_by_id((AuditEventId)rec->event_id);
	hs->events++;
	hs->warnings += k && k->priority <= 4;
	if (rec->time_usec > hs->last_usec)
		hs->last_usec = rec->time_usec;
	if (r->events++ == 0 || rec->time_usec < r->first_usec)
		r->first_usec = rec->time_usec;
	if (rec->time_usec > r->last_usec)
		r->last_usec = rec->time_usec;

	char name[16], addr[256];
	const char *host = he->key; /* lives as long as the report */
	if (!k)
		snprintf(name, sizeof name, "%d", rec->event_id);
	AuditTally *kinds = &r->sections[AUDIT_SEC_KINDS].tally;
	size_t ki = k ? (size_t)(k - b->kinds) : 0;
	if (k && b->kind_entry[ki]) {
		if (!audit_tally_bump(kinds, b->kind_entry[ki], NULL, host, rec->time_usec))
			return -ENOMEM;
	} else {
		AuditTallyEntry *e = audit_tally_add(kinds, k ? k->name : name,
						     k ? k->summary : "unknown event kind", host,
						     rec->time_usec);
		if (!e)
			return -ENOMEM;
		if (k && ki < ELEMENTSOF(b->kind_entry))
			b->kind_entry[ki] = e;
	}
	AuditTally *days = &r->sections[AUDIT_SEC_DAYS].tally;
	unsigned long long day = rec->time_usec / 86400000000ULL;
	if (!b->day_entry || day != b->day) {
		char text[16];
		time_t t = (time_t)(day * 86400ULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(text, sizeof text, "%Y-%m-%d", &tm);
		b->day = day;
		if (!(b->day_entry = audit_tally_add(days, text, NULL, host, rec->time_usec)))
			return -ENOMEM;
	} else if (!audit_tally_bump(days, b->day_entry, NULL, host, rec->time_usec))
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(report_feeds); i++) {
		if ((int)report_feeds[i].event != rec->event_id)
			continue;
		const char *key = report_feeds[i].key == FEED_PEER
					  ? audit_peer_address(rec->peer, addr, sizeof addr)
					  : audit_record_field(rec, report_feeds[i].key_field);
		if (!key || !*key)
			key = "(none)";
		const char *detail = report_feeds[i].detail_field
					     ? audit_record_field(rec, report_feeds[i].detail_field)
					     : NULL;
		AuditSectionId sec = report_feeds[i].section;
		if (!audit_tally_add(&r->sections[sec].tally, key, detail, host, rec->time_usec))
			return -ENOMEM;
		hs->unprotected += sec <= AUDIT_SEC_CLIENT_NO_ENCRYPTION;
	}
	return hs->compliance ? audit_compliance_observe(b->compliance, hs->compliance, rec) : 0;
}

static int verdict_rank(AuditVerdict v) {
	return v == AUDIT_NOT_COMPLIANT ? 0 : v == AUDIT_UNKNOWN ? 1 : 2;
}

static int host_cmp(const void *a, const void *b) {
	const AuditHostResult *x = a, *y = b;
	int d = verdict_rank(x->verdict) - verdict_rank(y->verdict);
	return d ? d : strcmp(x->host, y->host);
}

static int count_cmp(const void *a, const void *b) {
	return strcmp(((const AuditVerdictCount *)a)->name, ((const AuditVerdictCount *)b)->name);
}

static int day_cmp(const void *a, const void *b) {
	return strcmp((*(AuditTallyEntry *const *)a)->key, (*(AuditTallyEntry *const *)b)->key);
}

/* Add one verdict to the named counter of a list (created on demand). */
static int count_verdict(AuditVerdictCount **list, size_t *n, const char *name, AuditVerdict v) {
	for (size_t i = 0; i < *n; i++)
		if (streq((*list)[i].name, name)) {
			(*list)[i].n[v]++;
			return 0;
		}
	AuditVerdictCount *nl = realloc(*list, (*n + 1) * sizeof *nl);
	if (!nl)
		return -ENOMEM;
	*list = nl;
	nl[*n] = (AuditVerdictCount){.name = strdup(name)};
	if (!nl[*n].name)
		return -ENOMEM;
	nl[(*n)++].n[v]++;
	return 0;
}

/* Per feature: the host's worst verdict over that feature's settings. */
static int count_features(AuditReport *r, const AuditHostResult *h) {
	for (size_t i = 0; i < h->n_settings; i++) {
		const char *f = h->settings[i].feature;
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= streq(h->settings[k].feature, f);
		if (seen || !*f)
			continue;
		AuditVerdict worst = AUDIT_COMPLIANT;
		for (size_t k = i; k < h->n_settings; k++)
			if (streq(h->settings[k].feature, f) &&
			    verdict_rank(h->settings[k].verdict) < verdict_rank(worst))
				worst = h->settings[k].verdict;
		int ret = count_verdict(&r->features, &r->n_features, f, worst);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int build_hosts(Build *b) {
	AuditReport *r = b->r;
	int ret;
	/* Hosts known only from the agent's state or the store. */
	_cleanup_strv_free_ char **extra = NULL;
	if (b->compliance && (ret = audit_compliance_hosts(b->compliance, &extra)) < 0)
		return ret;
	STRV_FOREACH(h, extra)
		if (!build_host(b, *h, &ret) && ret < 0)
			return ret;
	for (size_t i = 0; b->opt->host_groups && i < b->opt->host_groups->cap; i++) {
		AuditTallyEntry *e = b->opt->host_groups->slots[i];
		if (e && !build_host(b, e->key, &ret) && ret < 0)
			return ret;
	}
	r->hosts = calloc(b->hosts->n + 1, sizeof *r->hosts);
	if (!r->hosts)
		return -ENOMEM;
	for (size_t i = 0; i < b->hosts->cap; i++) {
		AuditTallyEntry *e = b->hosts->slots[i];
		if (!e)
			continue;
		HostScan *hs = e->data;
		AuditHostResult *h = &r->hosts[r->n_hosts++];
		*h = (AuditHostResult){.host = strdup(e->key), .group = strdup(e->detail),
				       .verdict = AUDIT_UNKNOWN, .events = hs->events,
				       .warnings = hs->warnings, .last_usec = hs->last_usec,
				       .unprotected = hs->unprotected};
		if (!h->host || !h->group)
			return -ENOMEM;
		if (b->compliance && (ret = audit_compliance_host(b->compliance, h)) < 0)
			return ret;
		r->hosts_by_verdict[h->verdict]++;
		if ((ret = count_verdict(&r->groups, &r->n_groups, h->group, h->verdict)) < 0 ||
		    (ret = count_features(r, h)) < 0)
			return ret;
	}
	/* The lists may be NULL when empty: qsort must not see NULL. */
	if (r->n_hosts)
		qsort(r->hosts, r->n_hosts, sizeof *r->hosts, host_cmp);
	if (r->n_groups)
		qsort(r->groups, r->n_groups, sizeof *r->groups, count_cmp);
	if (r->n_features)
		qsort(r->features, r->n_features, sizeof *r->features, count_cmp);
	return 0;
}

int audit_report_build(AuditDb *db, const AuditReportOptions *opt, AuditReport **ret) {
	_cleanup_(audit_report_freep) AuditReport *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->generated_usec = now_usec();
	r->since_usec = opt->since_usec;
	if (opt->group && !(r->group_filter = strdup(opt->group)))
		return -ENOMEM;
	size_t n_kinds;
	Build b = {.r = r, .opt = opt, .hosts = &r->host_names, .kinds = audit_kinds(&n_kinds)};
	for (size_t s = 0; s < _AUDIT_SEC_MAX; s++)
		r->sections[s].tally.borrow_host = true;
	int rr = audit_compliance_new(db, opt->catalog, &b.compliance);
	AuditQuery q = {.since_usec = opt->since_usec, .any_order = true};
	if (rr >= 0)
		rr = auditdb_foreach(db, &q, build_visit, &b);
	if (rr >= 0)
		rr = build_hosts(&b);
	for (size_t s = 0; rr >= 0 && s < _AUDIT_SEC_MAX; s++) {
		AuditSection *sec = &r->sections[s];
		sec->rows = audit_tally_sorted(&sec->tally, &sec->n_rows);
		if (!sec->rows)
			rr = -ENOMEM;
		else if (s == AUDIT_SEC_DAYS)
			qsort(sec->rows, sec->n_rows, sizeof *sec->rows, day_cmp);
	}
	audit_compliance_free(b.compliance);
	if (rr < 0)
		return rr;
	*ret = TAKE_PTR(r);
	return 0;
}

void audit_report_free(AuditReport *r) {
	if (!r)
		return;
	for (size_t i = 0; i < r->n_hosts; i++) {
		AuditHostResult *h = &r->hosts[i];
		for (size_t k = 0; k < h->n_settings; k++) {
			free(h->settings[k].setting);
			free(h->settings[k].feature);
			free(h->settings[k].desired);
			free(h->settings[k].actual);
			free(h->settings[k].evidence);
		}
		free(h->settings);
		free(h->host);
		free(h->group);
	}
	free(r->hosts);
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i].name);
	free(r->groups);
	for (size_t i = 0; i < r->n_features; i++)
		free(r->features[i].name);
	free(r->features);
	for (size_t s = 0; s < _AUDIT_SEC_MAX; s++) {
		free(r->sections[s].rows);
		audit_tally_clear(&r->sections[s].tally);
	}
	audit_tally_clear(&r->host_names); /* after the sections borrowing its keys */
	free(r->group_filter);
	free(r);
}
