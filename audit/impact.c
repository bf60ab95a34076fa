/*
 * impact.c - the setting -> evidence table for the impact preview and for
 * compliance's "observed" part.  See audit_impact.h.
 *
 * Invariants: every rule names a catalog setting and a value valid for it
 * (tests/unit/test_audit_impact.c checks); ordered rules (dialects) compare
 * positions in the setting's own enum list, never strings.
 * Must never: treat a field it does not find as evidence (except the rules
 * whose test is "field missing").
 */
#include "audit_impact.h"

#include "strbuf.h"

typedef enum ImpactTest {
	IMPACT_ANY,           /* the event itself is the evidence */
	IMPACT_FIELD_EQ,      /* field == field_value */
	IMPACT_FIELD_BELOW,   /* field's enum position < new value's */
	IMPACT_FIELD_ABOVE,   /* field's enum position > new value's */
	IMPACT_FIELD_MISSING, /* field absent or empty */
	IMPACT_FIELD_OFF,     /* field present and one of impact_off_values */
	IMPACT_FIELD_PREFIX,  /* field starts with field_value ("2." = SMB 2.x) */
} ImpactTest;

/* How producers say "not used": smbrefd writes "off", Samba observations
 * "false". */
static const char *const impact_off_values[] = {"off", "false", "none", "-"};

typedef struct ImpactRule {
	const char *setting;
	const char *value; /* NULL: any value (ordered tests compare with it) */
	AuditEventId event;
	ImpactTest test;
	const char *field;
	const char *field_value;
	AuditPeerRole breaks;
	const char *why;
} ImpactRule;

static const ImpactRule impact_rules[] = {
	{"server.encryption.required", "true", AUDIT_SERVER_CLIENT_NO_ENCRYPTION, IMPACT_ANY, NULL, NULL,
	 AUDIT_PEER_CLIENT, "client does not encrypt"},
	/* Not the session's "encryption" field: a client that could encrypt
	 * but was not asked to is no evidence it cannot. */
	{"server.encryption.required", "true", AUDIT_SERVER_SESSION, IMPACT_FIELD_PREFIX, "dialect",
	 "2.", AUDIT_PEER_CLIENT, "SMB 2.x session: cannot encrypt"},
	{"server.encryption.required", "true", AUDIT_OBSERVED_SESSION_UNPROTECTED, IMPACT_ANY, NULL,
	 NULL, AUDIT_PEER_CLIENT, "unprotected session seen by Samba"},
	{"server.encryption.reject-unencrypted", "true", AUDIT_SERVER_CLIENT_NO_ENCRYPTION, IMPACT_ANY,
	 NULL, NULL, AUDIT_PEER_CLIENT, "client does not encrypt"},
	{"server.encryption.reject-unencrypted", "true", AUDIT_SERVER_SESSION, IMPACT_FIELD_PREFIX,
	 "dialect", "2.", AUDIT_PEER_CLIENT, "SMB 2.x session: cannot encrypt"},
	{"server.signing.required", "true", AUDIT_SERVER_CLIENT_NO_SIGNING, IMPACT_ANY, NULL, NULL,
	 AUDIT_PEER_CLIENT, "client does not sign"},
	{"server.signing.required", "true", AUDIT_SERVER_SESSION, IMPACT_FIELD_OFF, "signing", NULL,
	 AUDIT_PEER_CLIENT, "unsigned session"},
	{"server.signing.required", "true", AUDIT_OBSERVED_SESSION_UNPROTECTED, IMPACT_ANY, NULL, NULL,
	 AUDIT_PEER_CLIENT, "unprotected session seen by Samba"},
	{"server.dialect.min", NULL, AUDIT_SERVER_SESSION, IMPACT_FIELD_BELOW, "dialect", NULL,
	 AUDIT_PEER_CLIENT, "session dialect below the new minimum"},
	{"server.dialect.min", NULL, AUDIT_OBSERVED_SESSION_UNPROTECTED, IMPACT_FIELD_BELOW, "dialect",
	 NULL, AUDIT_PEER_CLIENT, "session dialect below the new minimum"},
	{"server.dialect.max", NULL, AUDIT_SERVER_SESSION, IMPACT_FIELD_ABOVE, "dialect", NULL,
	 AUDIT_PEER_CLIENT, "session dialect above the new maximum"},
	{"server.guest.allowed", "false", AUDIT_SERVER_SESSION, IMPACT_FIELD_EQ, "auth", "guest",
	 AUDIT_PEER_CLIENT, "guest session"},
	{"server.guest.allowed", "false", AUDIT_SERVER_SESSION, IMPACT_FIELD_EQ, "auth", "anonymous",
	 AUDIT_PEER_CLIENT, "anonymous session"},
	{"server.transport.quic.enabled", "false", AUDIT_SERVER_QUIC_CONNECTION, IMPACT_ANY, NULL, NULL,
	 AUDIT_PEER_CLIENT, "client connects over QUIC"},
	{"server.transport.tcp.enabled", "false", AUDIT_SERVER_SESSION, IMPACT_FIELD_EQ, "transport",
	 "tcp", AUDIT_PEER_CLIENT, "client connects over TCP"},
	{"server.quic.client-access.required", "true", AUDIT_SERVER_QUIC_CONNECTION,
	 IMPACT_FIELD_MISSING, "cert_sha256", NULL, AUDIT_PEER_CLIENT,
	 "QUIC client without a certificate"},
	{"client.ntlm.block", "true", AUDIT_SERVER_SESSION, IMPACT_FIELD_EQ, "auth", "ntlm",
	 AUDIT_PEER_CLIENT, "client authenticates with NTLM"},
	{"client.signing.required", "true", AUDIT_CLIENT_SERVER_NO_SIGNING, IMPACT_ANY, NULL, NULL,
	 AUDIT_PEER_SERVER, "server does not sign"},
	{"client.encryption.required", "true", AUDIT_CLIENT_SERVER_NO_ENCRYPTION, IMPACT_ANY, NULL,
	 NULL, AUDIT_PEER_SERVER, "server does not encrypt"},
	{"client.dialect.min", NULL, AUDIT_CLIENT_SERVER_NO_SIGNING, IMPACT_FIELD_BELOW, "dialect",
	 NULL, AUDIT_PEER_SERVER, "server dialect below the new minimum"},
	{"client.dialect.min", NULL, AUDIT_CLIENT_SERVER_NO_ENCRYPTION, IMPACT_FIELD_BELOW, "dialect",
	 NULL, AUDIT_PEER_SERVER, "server dialect below the new minimum"},
	{"client.guest.insecure-logons", "false", AUDIT_CLIENT_INSECURE_GUEST_USED, IMPACT_ANY, NULL,
	 NULL, AUDIT_PEER_SERVER, "server needs an insecure guest logon"},
	{"client.quic.enabled", "false", AUDIT_CLIENT_QUIC_CONNECTION, IMPACT_ANY, NULL, NULL,
	 AUDIT_PEER_SERVER, "server is reached over QUIC"},
};

const char *audit_peer_role_to_string(AuditPeerRole r) {
	return r == AUDIT_PEER_SERVER ? "server" : "client";
}

const char *audit_peer_address(const char *peer, char *buf, size_t len) {
	if (!peer)
		return "";
	const char *colon = strrchr(peer, ':');
	size_t n;
	if (peer[0] == '[') {
		const char *close = strchr(peer, ']');
		if (!close)
			return peer;
		snprintf(buf, len, "%.*s", (int)(close - peer - 1), peer + 1);
		return buf;
	}
	/* One colon followed by digits only: host:port. */
	if (!colon || strchr(peer, ':') != colon || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return peer;
	n = (size_t)(colon - peer);
	snprintf(buf, len, "%.*s", (int)n, peer);
	return buf;
}

const char *audit_record_field(const AuditRecord *r, const char *name) {
	for (size_t i = 0; i < r->n_fields; i++)
		if (r->fields[i].name[0] == name[0] && streq(r->fields[i].name, name))
			return r->fields[i].value;
	return NULL;
}

bool audit_impact_event_relevant(int event_id) {
	for (size_t i = 0; i < ELEMENTSOF(impact_rules); i++)
		if ((int)impact_rules[i].event == event_id)
			return true;
	return false;
}

bool audit_impact_known(const char *setting_id) {
	for (size_t i = 0; i < ELEMENTSOF(impact_rules); i++)
		if (streq(impact_rules[i].setting, setting_id))
			return true;
	return false;
}

/* want: the new value's enum position when known (< 0: look it up). */
static bool impact_test(const ImpactRule *rule, const CatalogSetting *s, const char *value,
			int want, const AuditRecord *rec) {
	const char *f = rule->field ? audit_record_field(rec, rule->field) : NULL;
	int have;
	switch (rule->test) {
	case IMPACT_ANY:
		return true;
	case IMPACT_FIELD_EQ:
		return f && streq(f, rule->field_value);
	case IMPACT_FIELD_MISSING:
		return !f || !*f;
	case IMPACT_FIELD_PREFIX:
		return f && startswith(f, rule->field_value);
	case IMPACT_FIELD_OFF:
		for (size_t i = 0; f && i < ELEMENTSOF(impact_off_values); i++)
			if (streq(f, impact_off_values[i]))
				return true;
		return false;
	case IMPACT_FIELD_BELOW:
	case IMPACT_FIELD_ABOVE:
		if (want < 0)
			want = catalog_enum_index(s, value);
		if (!f || want < 0 || (have = catalog_enum_index(s, f)) < 0)
			return false;
		return rule->test == IMPACT_FIELD_BELOW ? have < want : have > want;
	}
	return false;
}

/* Does rule decide rec (NULL: no), noting a missing deciding field. */
static const char *impact_apply(const ImpactRule *rule, const CatalogSetting *s, const char *value,
				int want, const AuditRecord *rec, AuditPeerRole *ret_role,
				bool *ret_undecided) {
	if ((int)rule->event != rec->event_id)
		return NULL;
	if (!impact_test(rule, s, value, want, rec)) {
		/* The event kind is evidence but lacks the field that decides:
		 * the producer did not say. */
		if (ret_undecided && rule->field && rule->test != IMPACT_FIELD_MISSING &&
		    !audit_record_field(rec, rule->field))
			*ret_undecided = true;
		return NULL;
	}
	if (ret_role)
		*ret_role = rule->breaks;
	return rule->why;
}

static bool impact_rule_applies(const ImpactRule *rule, const CatalogSetting *s, const char *value) {
	return streq(rule->setting, s->id) && (!rule->value || streq(rule->value, value));
}

const char *audit_impact_match(const CatalogSetting *s, const char *value,
			       const AuditRecord *rec, AuditPeerRole *ret_role, bool *ret_undecided) {
	for (size_t i = 0; i < ELEMENTSOF(impact_rules); i++) {
		const ImpactRule *rule = &impact_rules[i];
		if ((int)rule->event != rec->event_id || !impact_rule_applies(rule, s, value))
			continue;
		const char *why = impact_apply(rule, s, value, -1, rec, ret_role, ret_undecided);
		if (why)
			return why;
	}
	return NULL;
}

size_t audit_impact_rules_for(const CatalogSetting *s, const char *value, AuditImpactRuleSet *ret) {
	size_t n_kinds;
	const AuditKind *kinds = audit_kinds(&n_kinds);
	*ret = (AuditImpactRuleSet){0};
	for (size_t i = 0; i < ELEMENTSOF(impact_rules) && ret->n < ELEMENTSOF(ret->idx); i++) {
		if (!impact_rule_applies(&impact_rules[i], s, value))
			continue;
		ret->want = s->enum_values ? catalog_enum_index(s, value) : -1;
		ret->idx[ret->n++] = (unsigned char)i;
		const AuditKind *k = audit_kind_by_id(impact_rules[i].event);
		size_t ki = k ? (size_t)(k - kinds) : 64;
		if (ki < 64)
			ret->kinds |= 1ULL << ki;
	}
	return ret->n;
}

const char *audit_impact_match_set(const AuditImpactRuleSet *set, const CatalogSetting *s,
				   const char *value, const AuditRecord *rec) {
	for (size_t i = 0; i < set->n; i++) {
		const char *why = impact_apply(&impact_rules[set->idx[i]], s, value, set->want, rec, NULL,
					       NULL);
		if (why)
			return why;
	}
	return NULL;
}

int audit_change_parse(const Catalog *c, const char *arg, AuditChange *ret, DiagList *diag) {
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		diag_add(diag, NULL, 0, NULL, "expected SETTING=VALUE, got '%s'", arg);
		return -EINVAL;
	}
	_cleanup_free_ char *id = strndup(arg, (size_t)(eq - arg));
	if (!id)
		return -ENOMEM;
	const CatalogSetting *s = catalog_find(c, id);
	if (!s) {
		diag_add(diag, NULL, 0, id, "unknown setting");
		return -EINVAL;
	}
	char *value[] = {(char *)eq + 1, NULL};
	int r = catalog_check_value(s, value, NULL, 0, diag);
	if (r < 0)
		return r;
	ret->setting = s;
	ret->value = strdup(eq + 1);
	return ret->value ? 0 : -ENOMEM;
}

void audit_change_clear(AuditChange *ch) {
	free(ch->value);
	*ch = (AuditChange){0};
}

typedef struct ImpactScan {
	const AuditChange *changes;
	size_t n_changes;
	AuditTally tally; /* key "change\trole\tpeer\tuser" */
	unsigned long long scanned;
	unsigned long long *undecided; /* per change */
} ImpactScan;

static int impact_visit(const AuditRecord *rec, void *userdata) {
	ImpactScan *sc = userdata;
	sc->scanned++;
	for (size_t i = 0; i < sc->n_changes; i++) {
		AuditPeerRole role;
		bool undecided = false;
		const char *why = audit_impact_match(sc->changes[i].setting, sc->changes[i].value, rec,
						     &role, &undecided);
		if (!why) {
			sc->undecided[i] += undecided;
			continue;
		}
		char addr[256], key[600];
		const char *user = audit_record_field(rec, "user");
		snprintf(key, sizeof key, "%zu\t%d\t%s\t%.255s", i, (int)role,
			 audit_peer_address(rec->peer, addr, sizeof addr), user ? user : "");
		if (!audit_tally_add(&sc->tally, key, why, rec->host, rec->time_usec))
			return -ENOMEM;
	}
	return 0;
}

static int impact_row_cmp(const void *a, const void *b) {
	const AuditImpactRow *x = a, *y = b;
	if (x->change != y->change)
		return x->change < y->change ? -1 : 1;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	int d = strcmp(x->peer, y->peer);
	return d ? d : strcmp(x->user, y->user);
}

int audit_impact_run(AuditDb *db, const AuditChange *changes, size_t n_changes,
		     unsigned long long since_usec, AuditImpact *ret) {
	_cleanup_free_ unsigned long long *undecided = calloc(n_changes + 1, sizeof *undecided);
	if (!undecided)
		return -ENOMEM;
	ImpactScan sc = {.changes = changes, .n_changes = n_changes, .undecided = undecided};
	AuditQuery q = {.since_usec = since_usec, .any_order = true};
	int r = auditdb_foreach(db, &q, impact_visit, &sc);
	if (r < 0) {
		audit_tally_clear(&sc.tally);
		return r;
	}
	*ret = (AuditImpact){.events_scanned = sc.scanned, .undecided = TAKE_PTR(undecided)};
	ret->rows = calloc(sc.tally.n + 1, sizeof *ret->rows);
	if (!ret->rows) {
		audit_tally_clear(&sc.tally);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sc.tally.cap; i++) {
		AuditTallyEntry *e = sc.tally.slots[i];
		if (!e)
			continue;
		AuditImpactRow *row = &ret->rows[ret->n_rows++];
		size_t change;
		int role, off = 0;
		sscanf(e->key, "%zu\t%d\t%n", &change, &role, &off);
		row->change = change;
		row->role = (AuditPeerRole)role;
		const char *tab = strchr(e->key + off, '\t');
		row->peer = tab ? strndup(e->key + off, (size_t)(tab - e->key - off)) : strdup(e->key + off);
		row->user = strdup(tab ? tab + 1 : "");
		row->host = e->host ? strdup(e->host) : strdup("");
		row->why = strdup(e->detail ? e->detail : "");
		row->count = e->count;
		row->last_usec = e->last_usec;
		if (!row->peer || !row->user || !row->host || !row->why) {
			audit_tally_clear(&sc.tally);
			audit_impact_clear(ret);
			return -ENOMEM;
		}
	}
	audit_tally_clear(&sc.tally);
	qsort(ret->rows, ret->n_rows, sizeof *ret->rows, impact_row_cmp);
	return 0;
}

void audit_impact_clear(AuditImpact *im) {
	for (size_t i = 0; i < im->n_rows; i++) {
		free(im->rows[i].peer);
		free(im->rows[i].user);
		free(im->rows[i].host);
		free(im->rows[i].why);
	}
	free(im->rows);
	free(im->undecided);
	*im = (AuditImpact){0};
}
