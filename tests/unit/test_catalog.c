/*
 * test_catalog.c - unit tests for the settings catalog: the shipped catalog
 * loads and holds every DESIGN.md setting id with its Windows default; every
 * type and item syntax accepts its canonical values and rejects the rest;
 * every declared constraint passes on a valid combination and fails, naming
 * the setting and the constraint, on a violating one; broken catalogs (bad
 * default, duplicate id, unknown setting in a constraint, operator that does
 * not fit, defaults that break a constraint) are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "catalog.h"
#include "test_common.h"

static Catalog *cat;

static int setup_catalog(void **state) {
	(void)state;
	return catalog_load_default(&cat) == 0 ? 0 : -1;
}

static int teardown_catalog(void **state) {
	(void)state;
	catalog_free(cat);
	cat = NULL;
	return 0;
}

static bool diag_has(const DiagList *d, const char *setting, const char *needle) {
	for (size_t i = 0; i < d->n; i++)
		if ((!setting || streq_ptr(d->items[i].setting, setting)) &&
		    (!needle || strstr(d->items[i].message, needle)))
			return true;
	return false;
}

/* The fixed ids of DESIGN.md (outside tools use them) and their defaults. */
static const struct {
	const char *id;
	const char *dflt; /* scalar default, or items joined by '|' for lists */
} design_ids[] = {
	{ "server.signing.required", "true" },
	{ "client.signing.required", "true" },
	{ "server.transport.tcp.enabled", "true" },
	{ "server.transport.tcp.port", "445" },
	{ "server.transport.quic.enabled", "false" },
	{ "server.transport.quic.port", "443" },
	{ "server.transport.rdma.enabled", "false" },
	{ "server.transport.rdma.port", "5445" },
	{ "client.ports.alternate.allowed", "true" },
	{ "client.ports.alternate.servers", "" },
	{ "client.ports.alternate.mappings", "" },
	{ "server.audit.client-no-signing", "false" },
	{ "server.audit.client-no-encryption", "false" },
	{ "client.audit.server-no-signing", "false" },
	{ "client.audit.server-no-encryption", "false" },
	{ "client.audit.quic", "false" },
	{ "server.auth-rate-limiter.enabled", "true" },
	{ "server.auth-rate-limiter.delay-ms", "2000" },
	{ "client.encryption.required", "false" },
	{ "server.encryption.required", "false" },
	{ "server.encryption.reject-unencrypted", "true" },
	{ "server.encryption.ciphers", "aes-128-gcm|aes-128-ccm|aes-256-gcm|aes-256-ccm" },
	{ "server.dialect.min", "2.0.2" },
	{ "server.dialect.max", "3.1.1" },
	{ "client.dialect.min", "2.0.2" },
	{ "client.dialect.max", "3.1.1" },
	{ "firewall.netbios.legacy", "false" },
	{ "client.guest.insecure-logons", "false" },
	{ "server.guest.allowed", "false" },
	{ "client.ntlm.block", "false" },
	{ "client.ntlm.exceptions", "" },
	{ "server.quic.client-access.required", "false" },
	{ "server.quic.client-access.allow", "" },
	{ "server.quic.client-access.block", "" },
	{ "client.quic.enabled", "true" },
	{ "client.quic.servers", "" },
	{ "client.mailslots.enabled", "false" },
	{ "server.quic.certificate", "" },
	{ "server.quic.key", "" },
};

/* Split "a|b" into a strv; for a scalar the whole text is one item. */
static char **value_of(const CatalogSetting *s, const char *text) {
	char **v = calloc(1, sizeof(char *));
	assert_non_null(v);
	if (s->type != CATALOG_LIST) {
		assert_int_equal(strv_push_dup(&v, text), 0);
		return v;
	}
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;
	for (char *w = strtok_r(copy, "|", &save); w; w = strtok_r(NULL, "|", &save))
		assert_int_equal(strv_push_dup(&v, w), 0);
	return v;
}

static void test_catalog_has_every_design_setting(void **state) {
	(void)state;
	assert_int_equal(cat->n_settings, ELEMENTSOF(design_ids));
	for (size_t i = 0; i < ELEMENTSOF(design_ids); i++) {
		const CatalogSetting *s = catalog_find(cat, design_ids[i].id);
		assert_non_null(s);
		_cleanup_strv_free_ char **want = value_of(s, design_ids[i].dflt);
		assert_true(strv_equal(s->default_value, want));
		assert_non_null(s->title);
		assert_non_null(s->explanation);
		assert_non_null(s->windows);
		assert_non_null(s->feature);
		assert_true(strv_length(s->targets) > 0);
		assert_int_equal(catalog_index(cat, s->id), (int)(s - cat->settings));
	}
	for (size_t i = 1; i < cat->n_settings; i++)
		assert_true(strcmp(cat->settings[i - 1].id, cat->settings[i].id) < 0);
	assert_string_equal(catalog_suggest(cat, "server.dialect.mn"), "server.dialect.min");
	assert_string_equal(catalog_suggest(cat, "client.ntlm.blok"), "client.ntlm.block");
	assert_null(catalog_suggest(cat, "completely.different.thing"));
	assert_null(catalog_find(cat, "no.such.setting"));
	assert_int_equal(catalog_index(cat, "no.such.setting"), -ENOENT);
}

/* DESIGN.md's twelve seed features, each with at least one setting, and
 * no setting outside them. */
static void test_catalog_features(void **state) {
	(void)state;
	static const char *const features[] = {
		"signing", "alternative-ports", "auditing", "auth-rate-limiter", "encryption",
		"dialects", "firewall", "guest", "ntlm-blocking", "quic-client-access",
		"quic-server", "mailslots",
	};
	size_t used[ELEMENTSOF(features)] = { 0 };
	for (size_t i = 0; i < cat->n_settings; i++) {
		bool known = false;
		for (size_t f = 0; f < ELEMENTSOF(features); f++)
			if (streq(cat->settings[i].feature, features[f])) {
				used[f]++;
				known = true;
			}
		if (!known)
			fail_msg("%s: feature %s is not a seed feature", cat->settings[i].id,
				 cat->settings[i].feature);
	}
	for (size_t f = 0; f < ELEMENTSOF(features); f++)
		if (!used[f])
			fail_msg("seed feature %s has no setting", features[f]);
}

static void test_catalog_types(void **state) {
	(void)state;
	const CatalogSetting *d = catalog_find(cat, "server.auth-rate-limiter.delay-ms");
	assert_int_equal(d->type, CATALOG_INT);
	assert_int_equal(d->min, 0);
	assert_int_equal(d->max, 10000);
	assert_int_equal(d->step, 100);
	const CatalogSetting *m = catalog_find(cat, "server.dialect.min");
	assert_int_equal(m->type, CATALOG_ENUM);
	assert_int_equal(catalog_enum_index(m, "2.0.2"), 0);
	assert_int_equal(catalog_enum_index(m, "3.1.1"), 4);
	assert_int_equal(catalog_enum_index(m, "3.1"), -ENOENT);
	const CatalogSetting *c = catalog_find(cat, "server.encryption.ciphers");
	assert_int_equal(c->type, CATALOG_LIST);
	assert_int_equal(c->item_type, CATALOG_ITEM_ENUM);
	assert_true(c->unique_items);
	assert_int_equal(c->min_items, 1);
	assert_int_equal(catalog_find(cat, "server.quic.client-access.allow")->item_type,
			 CATALOG_ITEM_CERT_ID);
	assert_int_equal(catalog_find(cat, "client.ports.alternate.mappings")->item_type,
			 CATALOG_ITEM_PORT_MAPPING);
	assert_int_equal(catalog_find(cat, "server.quic.certificate")->type, CATALOG_STRING);
	assert_int_equal(catalog_find(cat, "server.quic.certificate")->item_type, CATALOG_ITEM_PATH);
	assert_int_equal(catalog_find(cat, "firewall.netbios.legacy")->scope, CATALOG_SCOPE_FIREWALL);
	assert_string_equal(catalog_type_to_string(CATALOG_LIST), "list");
	assert_string_equal(catalog_scope_to_string(CATALOG_SCOPE_CLIENT), "client");
	assert_string_equal(catalog_item_type_to_string(CATALOG_ITEM_CERT_ID), "cert-id");
	assert_true(strv_contains(catalog_find(cat, "firewall.netbios.legacy")->targets, "nftables"));
}

/* id, value ("a|b" for lists), valid?, expected words in the error */
static const struct {
	const char *id, *value;
	bool ok;
	const char *why;
} value_cases[] = {
	{ "server.signing.required", "true", true, NULL },
	{ "server.signing.required", "false", true, NULL },
	{ "server.signing.required", "TRUE", false, "true or false" },
	{ "server.signing.required", "yes", false, "true or false" },
	{ "server.signing.required", "1", false, "true or false" },
	{ "server.signing.required", "", false, "true or false" },
	{ "server.transport.tcp.port", "445", true, NULL },
	{ "server.transport.tcp.port", "65535", true, NULL },
	{ "server.transport.tcp.port", "0", false, "out of range" },
	{ "server.transport.tcp.port", "65536", false, "out of range" },
	{ "server.transport.tcp.port", "-1", false, "out of range" },
	{ "server.transport.tcp.port", "+445", false, "decimal integer" },
	{ "server.transport.tcp.port", "0445", false, "decimal integer" },
	{ "server.transport.tcp.port", "44 5", false, "decimal integer" },
	{ "server.transport.tcp.port", "0x1bd", false, "decimal integer" },
	{ "server.transport.tcp.port", "99999999999999999999", false, "decimal integer" },
	{ "server.auth-rate-limiter.delay-ms", "0", true, NULL },
	{ "server.auth-rate-limiter.delay-ms", "100", true, NULL },
	{ "server.auth-rate-limiter.delay-ms", "10000", true, NULL },
	{ "server.auth-rate-limiter.delay-ms", "150", false, "multiple of 100" },
	{ "server.auth-rate-limiter.delay-ms", "10100", false, "out of range" },
	{ "server.dialect.min", "3.0.2", true, NULL },
	{ "server.dialect.min", "3.1", false, "one of 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1" },
	{ "server.dialect.min", "SMB311", false, "one of" },
	{ "server.encryption.ciphers", "aes-256-gcm", true, NULL },
	{ "server.encryption.ciphers", "aes-256-gcm|aes-128-ccm", true, NULL },
	{ "server.encryption.ciphers", "", false, "at least 1" },
	{ "server.encryption.ciphers", "aes-256-gcm|aes-256-gcm", false, "more than once" },
	{ "server.encryption.ciphers", "des-cbc", false, "one of" },
	{ "client.ntlm.exceptions", "legacy-nas.example.com|10.0.0.1|fe80::1|NAS01", true, NULL },
	{ "client.ntlm.exceptions", "bad host", false, "IP address, NetBIOS name or FQDN" },
	{ "client.ntlm.exceptions", "-bad.example.com", false, "FQDN" },
	{ "client.ntlm.exceptions", "a..b", false, "FQDN" },
	{ "client.ntlm.exceptions", "10.0.0.300", false, "IP address" },
	{ "client.ntlm.exceptions", "fe80::zz", false, "IP address" },
	{ "client.ntlm.exceptions", "host_1.example.com|xn--bcher-kva.example|a-b", true, NULL },
	{ "client.ntlm.exceptions", "a|a", false, "more than once" },
	{ "server.quic.client-access.allow",
	  "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", true, NULL },
	{ "server.quic.client-access.allow", "issuer:CN=Corp CA,O=Corp,C=FR", true, NULL },
	{ "server.quic.client-access.allow", "sha256:9f86", false, "sha256:<64 hex digits>" },
	{ "server.quic.client-access.allow",
	  "sha256:zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", false, "sha256:" },
	{ "server.quic.client-access.block", "issuer:", false, "issuer:<RFC 4514 DN>" },
	{ "server.quic.client-access.block", "issuer:no equals sign", false, "issuer:" },
	{ "server.quic.client-access.block", "CN=Corp CA", false, "issuer:" },
	{ "client.ports.alternate.mappings", "edgesrv1.corp.contoso.com:quic:450", true, NULL },
	{ "client.ports.alternate.mappings", "10.1.2.3:tcp:4455|fe80::1:rdma:5445", true, NULL },
	{ "client.ports.alternate.mappings", "edgesrv1:udp:450", false, "tcp|quic|rdma" },
	{ "client.ports.alternate.mappings", "edgesrv1:quic:0", false, "port 1..65535" },
	{ "client.ports.alternate.mappings", "edgesrv1:quic", false, "server:tcp|quic|rdma:port" },
	{ "client.ports.alternate.mappings", ":quic:443", false, "server:" },
	{ "server.quic.certificate", "", true, NULL },
	{ "server.quic.certificate", "/etc/smbpolicy/quic.crt", true, NULL },
	{ "server.quic.certificate", "quic.crt", false, "absolute path" },
	{ "server.quic.certificate", "/etc/../root/key", false, "'..'" },
};

static void test_catalog_check_value(void **state) {
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(value_cases); i++) {
		const CatalogSetting *s = catalog_find(cat, value_cases[i].id);
		assert_non_null(s);
		_cleanup_strv_free_ char **v = value_of(s, value_cases[i].value);
		_cleanup_(diag_clear) DiagList d = { 0 };
		int r = catalog_check_value(s, v, "f.xml", 7, &d);
		if (value_cases[i].ok != (r == 0))
			fail_msg("%s=\"%s\": expected %s, got %d", value_cases[i].id,
				 value_cases[i].value, value_cases[i].ok ? "valid" : "invalid", r);
		if (value_cases[i].ok)
			continue;
		assert_int_equal(r, -EINVAL);
		if (!diag_has(&d, s->id, value_cases[i].why))
			fail_msg("%s=\"%s\": no error mentioning \"%s\" (first: %s)", value_cases[i].id,
				 value_cases[i].value, value_cases[i].why, d.n ? d.items[0].message : "-");
		assert_string_equal(d.items[0].file, "f.xml");
		assert_int_equal(d.items[0].line, 7);
	}
}

static void test_catalog_scalar_needs_one_value(void **state) {
	(void)state;
	const CatalogSetting *s = catalog_find(cat, "server.signing.required");
	char *two[] = { "true", "false", NULL }, *none[] = { NULL };
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(catalog_check_value(s, two, NULL, 0, &d), -EINVAL);
	assert_int_equal(catalog_check_value(s, none, NULL, 0, &d), -EINVAL);
	assert_true(diag_has(&d, s->id, "exactly one"));
}

static void test_catalog_canonicalize(void **state) {
	(void)state;
	char host[] = "NAS01.Example.COM";
	catalog_canonicalize_item(catalog_find(cat, "client.ntlm.exceptions"), host);
	assert_string_equal(host, "nas01.example.com");
	char sha[] = "sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
	catalog_canonicalize_item(catalog_find(cat, "server.quic.client-access.allow"), sha);
	assert_string_equal(sha, "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	char dn[] = "issuer:CN=Corp CA";
	catalog_canonicalize_item(catalog_find(cat, "server.quic.client-access.allow"), dn);
	assert_string_equal(dn, "issuer:CN=Corp CA"); /* DNs keep their case */
	char b[] = "TRUE";
	catalog_canonicalize_item(catalog_find(cat, "server.signing.required"), b);
	assert_string_equal(b, "TRUE"); /* not normalised: rejected later */
}

/* ---- constraints ---- */

typedef struct Override {
	const char *id, *value;
} Override;

#define MAX_OVERRIDES 6

typedef struct ConstraintCase {
	const char *constraint;
	const char *blamed; /* setting named in the error */
	Override valid[MAX_OVERRIDES];
	Override violating[MAX_OVERRIDES];
} ConstraintCase;

#define QUIC_ON                                                                        \
	{ "server.transport.quic.enabled", "true" },                                    \
		{ "server.quic.certificate", "/etc/q.crt" }, { "server.quic.key", "/etc/q.key" }

static const ConstraintCase constraint_cases[] = {
	{ "server-dialect-order", "server.dialect.min",
	  { { "server.dialect.min", "3.0" }, { "server.dialect.max", "3.0" } },
	  { { "server.dialect.min", "3.1.1" }, { "server.dialect.max", "3.0" } } },
	{ "client-dialect-order", "client.dialect.min",
	  { { "client.dialect.min", "2.1" }, { "client.dialect.max", "3.1.1" } },
	  { { "client.dialect.min", "3.0.2" }, { "client.dialect.max", "2.1" }, { "client.quic.enabled", "false" } } },
	{ "client-encryption-needs-smb3", "client.dialect.max",
	  { { "client.encryption.required", "true" }, { "client.dialect.max", "3.1.1" } },
	  { { "client.encryption.required", "true" }, { "client.dialect.max", "2.1" }, { "client.quic.enabled", "false" } } },
	{ "server-encryption-needs-smb3", "server.dialect.max",
	  { { "server.encryption.required", "true" }, { "server.dialect.max", "3.0" } },
	  { { "server.encryption.required", "true" }, { "server.dialect.max", "2.1" } } },
	{ "server-guest-contradicts-signing", "server.signing.required",
	  { { "server.guest.allowed", "true" }, { "server.signing.required", "false" } },
	  { { "server.guest.allowed", "true" }, { "server.signing.required", "true" } } },
	{ "client-guest-contradicts-signing", "client.signing.required",
	  { { "client.guest.insecure-logons", "true" }, { "client.signing.required", "false" } },
	  { { "client.guest.insecure-logons", "true" } } },
	{ "server-needs-a-transport", "server.transport.tcp.enabled",
	  { { "server.transport.tcp.enabled", "false" }, { "server.transport.rdma.enabled", "true" } },
	  { { "server.transport.tcp.enabled", "false" } } },
	{ "server-tcp-rdma-ports-differ", "server.transport.rdma.port",
	  { { "server.transport.rdma.enabled", "true" }, { "server.transport.rdma.port", "5445" } },
	  { { "server.transport.rdma.enabled", "true" }, { "server.transport.rdma.port", "445" } } },
	{ "server-quic-needs-certificate", "server.quic.certificate",
	  { QUIC_ON },
	  { { "server.transport.quic.enabled", "true" } } },
	{ "server-quic-needs-smb311", "server.dialect.max",
	  { QUIC_ON, { "server.dialect.max", "3.1.1" } },
	  { QUIC_ON, { "server.dialect.max", "3.0.2" } } },
	{ "server-quic-key-needs-certificate", "server.quic.certificate",
	  { { "server.quic.key", "/etc/q.key" }, { "server.quic.certificate", "/etc/q.crt" } },
	  { { "server.quic.key", "/etc/q.key" } } },
	{ "server-quic-certificate-needs-key", "server.quic.key",
	  { { "server.quic.certificate", "/etc/q.crt" }, { "server.quic.key", "/etc/q.key" } },
	  { { "server.quic.certificate", "/etc/q.crt" } } },
	{ "quic-client-access-needs-quic", "server.transport.quic.enabled",
	  { QUIC_ON, { "server.quic.client-access.required", "true" }, { "server.quic.client-access.allow", "issuer:CN=CA" } },
	  { { "server.quic.client-access.required", "true" }, { "server.quic.client-access.allow", "issuer:CN=CA" } } },
	{ "quic-client-access-needs-allow", "server.quic.client-access.allow",
	  { QUIC_ON, { "server.quic.client-access.required", "true" }, { "server.quic.client-access.allow", "issuer:CN=CA" } },
	  { QUIC_ON, { "server.quic.client-access.required", "true" } } },
	{ "quic-client-access-lists-disjoint", "server.quic.client-access.block",
	  { { "server.quic.client-access.allow", "issuer:CN=CA" }, { "server.quic.client-access.block", "issuer:CN=Other" } },
	  { { "server.quic.client-access.allow", "issuer:CN=CA|issuer:CN=X" }, { "server.quic.client-access.block", "issuer:CN=X" } } },
	{ "client-quic-needs-smb311", "client.dialect.max",
	  { { "client.quic.enabled", "false" }, { "client.dialect.max", "3.0" } },
	  { { "client.quic.enabled", "true" }, { "client.dialect.max", "3.0" } } },
	{ "client-quic-servers-need-quic", "client.quic.enabled",
	  { { "client.quic.servers", "fs1.example.com" } },
	  { { "client.quic.servers", "fs1.example.com" }, { "client.quic.enabled", "false" } } },
	{ "client-alternate-servers-need-allowed", "client.ports.alternate.allowed",
	  { { "client.ports.alternate.servers", "fs1" } },
	  { { "client.ports.alternate.servers", "fs1" }, { "client.ports.alternate.allowed", "false" } } },
	{ "client-alternate-mappings-need-allowed", "client.ports.alternate.allowed",
	  { { "client.ports.alternate.mappings", "fs1:quic:8443" } },
	  { { "client.ports.alternate.mappings", "fs1:quic:8443" }, { "client.ports.alternate.allowed", "false" } } },
	{ "client-ntlm-exceptions-need-block", "client.ntlm.block",
	  { { "client.ntlm.exceptions", "nas1" }, { "client.ntlm.block", "true" } },
	  { { "client.ntlm.exceptions", "nas1" } } },
	{ "auth-rate-limiter-needs-delay", "server.auth-rate-limiter.delay-ms",
	  { { "server.auth-rate-limiter.enabled", "false" }, { "server.auth-rate-limiter.delay-ms", "0" } },
	  { { "server.auth-rate-limiter.delay-ms", "0" } } },
};

/* Build a complete value vector from overrides (defaults elsewhere), with
 * the line of each override = its position + 10, and check constraints. */
static int check_overrides(const Override *o, DiagList *d) {
	char ***values = calloc(cat->n_settings, sizeof(char **));
	unsigned *lines = calloc(cat->n_settings, sizeof(unsigned));
	assert_non_null(values);
	assert_non_null(lines);
	for (size_t i = 0; i < MAX_OVERRIDES && o[i].id; i++) {
		int k = catalog_index(cat, o[i].id);
		if (k < 0)
			fail_msg("unknown id %s in test table", o[i].id);
		values[k] = value_of(&cat->settings[k], o[i].value);
		_cleanup_(diag_clear) DiagList vd = { 0 };
		if (catalog_check_value(&cat->settings[k], values[k], NULL, 0, &vd) < 0)
			fail_msg("test table value %s=%s is not valid: %s", o[i].id, o[i].value,
				 vd.items[0].message);
		lines[k] = (unsigned)i + 10;
	}
	int r = catalog_check_constraints(cat, (char **const *)values, lines, "t.xml", d);
	for (size_t i = 0; i < cat->n_settings; i++)
		strv_free(values[i]);
	free(values);
	free(lines);
	return r;
}

static void test_catalog_constraints(void **state) {
	(void)state;
	/* every declared constraint has a case here */
	assert_int_equal(cat->n_constraints, ELEMENTSOF(constraint_cases));
	for (size_t i = 0; i < ELEMENTSOF(constraint_cases); i++) {
		const ConstraintCase *k = &constraint_cases[i];
		_cleanup_(diag_clear) DiagList ok = { 0 }, bad = { 0 };
		if (check_overrides(k->valid, &ok) != 0)
			fail_msg("%s: valid case rejected: %s", k->constraint, ok.items[0].message);
		assert_int_equal(check_overrides(k->violating, &bad), -EINVAL);
		bool found = false;
		for (size_t j = 0; j < bad.n; j++)
			if (strstr(bad.items[j].message, k->constraint)) {
				found = true;
				if (!streq_ptr(bad.items[j].setting, k->blamed))
					fail_msg("%s blames %s, expected %s", k->constraint,
						 bad.items[j].setting, k->blamed);
				assert_string_equal(bad.items[j].file, "t.xml");
				assert_true(bad.items[j].line >= 10);
			}
		if (!found)
			fail_msg("%s: violating case not reported (got %zu others: %s)", k->constraint,
				 bad.n, bad.n ? bad.items[0].message : "-");
	}
	for (size_t i = 0; i < cat->n_constraints; i++) {
		assert_non_null(catalog_constraint_id(cat, i));
		assert_non_null(catalog_constraint_message(cat, i));
	}
	assert_null(catalog_constraint_id(cat, cat->n_constraints));
	static const struct {
		const char *id, *text;
	} described[] = {
		{ "server-dialect-order", "server.dialect.min <= server.dialect.max" },
		{ "client-encryption-needs-smb3", "if client.encryption.required = true then client.dialect.max >= 3.0" },
		{ "server-needs-a-transport", "server.transport.tcp.enabled = true or server.transport.quic.enabled = true or server.transport.rdma.enabled = true" },
		{ "quic-client-access-lists-disjoint", "server.quic.client-access.block shares no item with server.quic.client-access.allow" },
	};
	for (size_t j = 0; j < ELEMENTSOF(described); j++)
		for (size_t i = 0; i < cat->n_constraints; i++)
			if (streq(catalog_constraint_id(cat, i), described[j].id)) {
				_cleanup_free_ char *text = NULL;
				assert_int_equal(catalog_constraint_describe(cat, i, &text), 0);
				assert_string_equal(text, described[j].text);
			}
	char *none = NULL;
	assert_int_equal(catalog_constraint_describe(cat, cat->n_constraints, &none), -ENOENT);
}

static void test_catalog_defaults_pass(void **state) {
	(void)state;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_int_equal(catalog_check_constraints(cat, NULL, NULL, NULL, &d), 0);
	assert_int_equal(d.n, 0);
}

/* ---- broken catalogs ---- */

TEST_SCRATCH_DIR(tmpdir, "catalog", setup_tmpdir, teardown_tmpdir)

#define HEAD "<?xml version=\"1.0\"?>\n<catalog xmlns=\"urn:smbpolicy:catalog:1\">\n"
#define SETTING(id, type, extra, dflt)                                                         \
	"<setting id=\"" id "\" scope=\"server\" type=\"" type "\" feature=\"f\" targets=\"endpoint\" " \
	extra "><title>t</title><explanation>e</explanation><windows>w</windows>" dflt "</setting>\n"
#define BOOL_A SETTING("a.one", "bool", "", "<default>true</default>")
#define BOOL_B SETTING("a.two", "bool", "", "<default>true</default>")

static const struct {
	const char *name, *xml, *why;
} broken_catalogs[] = {
	{ "bad-default", HEAD SETTING("a.one", "bool", "", "<default>yes</default>") "</catalog>",
	  "true or false" },
	{ "int-out-of-range",
	  HEAD SETTING("a.one", "int", "min=\"1\" max=\"5\"", "<default>9</default>") "</catalog>",
	  "out of range" },
	{ "duplicate-id", HEAD BOOL_A BOOL_A "</catalog>", "defined twice" },
	{ "enum-without-values", HEAD SETTING("a.one", "enum", "", "<default>x</default>") "</catalog>",
	  "<value>" },
	{ "unknown-setting-in-constraint",
	  HEAD BOOL_A "<constraint id=\"k\"><message>m</message><require setting=\"a.zzz\" op=\"eq\" "
		      "value=\"true\"/></constraint></catalog>",
	  "unknown setting" },
	{ "operator-does-not-fit",
	  HEAD BOOL_A BOOL_B "<constraint id=\"k\"><message>m</message><require setting=\"a.one\" "
			     "op=\"le\" other=\"a.two\"/></constraint></catalog>",
	  "does not apply" },
	{ "missing-operand",
	  HEAD BOOL_A "<constraint id=\"k\"><message>m</message><require setting=\"a.one\" "
		      "op=\"eq\"/></constraint></catalog>",
	  "exactly one of" },
	{ "bad-literal",
	  HEAD BOOL_A "<constraint id=\"k\"><message>m</message><require setting=\"a.one\" "
		      "op=\"eq\" value=\"maybe\"/></constraint></catalog>",
	  "true or false" },
	{ "defaults-break-constraint",
	  HEAD BOOL_A BOOL_B "<constraint id=\"k\"><message>one excludes two</message><when "
			     "setting=\"a.one\" op=\"eq\" value=\"true\"/><require setting=\"a.two\" "
			     "op=\"eq\" value=\"false\"/></constraint></catalog>",
	  "one excludes two" },
	{ "not-schema-valid", HEAD "<setting id=\"a.one\"/></catalog>", "" },
	{ "wrong-namespace", "<catalog xmlns=\"urn:other\"/>", "urn:smbpolicy:catalog:1" },
	{ "doctype", "<!DOCTYPE catalog [<!ENTITY x \"y\">]><catalog xmlns=\"urn:smbpolicy:catalog:1\"/>",
	  "DOCTYPE" },
};

static int write_text(const char *path, const char *text) {
	return write_file_atomic(path, text, strlen(text), 0644);
}

static void test_catalog_broken(void **state) {
	(void)state;
	_cleanup_free_ char *dir = strdup_printf("%s/catalog", tmpdir);
	_cleanup_free_ char *file = strdup_printf("%s/catalog/c.xml", tmpdir);
	_cleanup_free_ char *xsd = strdup_printf("%s/catalog.xsd", tmpdir);
	_cleanup_free_ char *pxsd = strdup_printf("%s/policy.xsd", tmpdir);
	_cleanup_free_ char *src = strdup_printf("%s/catalog.xsd", catalog_schema_dir());
	_cleanup_free_ char *psrc = strdup_printf("%s/policy.xsd", catalog_schema_dir());
	_cleanup_free_ char *x = NULL, *p = NULL;
	assert_int_equal(read_file(src, 1 << 20, &x, NULL), 0);
	assert_int_equal(read_file(psrc, 1 << 20, &p, NULL), 0);
	assert_int_equal(write_text(xsd, x), 0);
	assert_int_equal(write_text(pxsd, p), 0);
	assert_int_equal(mkdir(dir, 0755), 0);

	/* a minimal good catalog loads (and finds catalog.xsd beside it) */
	assert_int_equal(write_text(file, HEAD BOOL_A "</catalog>"), 0);
	{
		_cleanup_(catalog_freep) Catalog *c = NULL;
		_cleanup_(diag_clear) DiagList d = { 0 };
		assert_int_equal(catalog_load(dir, &c, &d), 0);
		assert_int_equal(c->n_settings, 1);
		catalog_free(TAKE_PTR(c));
		assert_int_equal(catalog_load(file, &c, &d), 0); /* a single file too */
		assert_int_equal(c->n_settings, 1);
	}
	for (size_t i = 0; i < ELEMENTSOF(broken_catalogs); i++) {
		assert_int_equal(write_text(file, broken_catalogs[i].xml), 0);
		_cleanup_(catalog_freep) Catalog *c = NULL;
		_cleanup_(diag_clear) DiagList d = { 0 };
		int r = catalog_load(dir, &c, &d);
		if (r >= 0 || c)
			fail_msg("%s: broken catalog accepted", broken_catalogs[i].name);
		if (!diag_has(&d, NULL, broken_catalogs[i].why))
			fail_msg("%s: no error mentioning \"%s\" (first: %s)", broken_catalogs[i].name,
				 broken_catalogs[i].why, d.n ? d.items[0].message : "-");
	}
	/* an empty directory is an error, not an empty catalog */
	unlink(file);
	_cleanup_(catalog_freep) Catalog *c = NULL;
	_cleanup_(diag_clear) DiagList d = { 0 };
	assert_true(catalog_load(dir, &c, &d) < 0);
	assert_null(c);
}

static void test_catalog_schema_dir(void **state) {
	(void)state;
	_cleanup_free_ char *old = getenv("SMBPOLICY_SCHEMA_DIR") ? strdup(getenv("SMBPOLICY_SCHEMA_DIR")) : NULL;
	setenv("SMBPOLICY_SCHEMA_DIR", "/nonexistent/x", 1);
	assert_string_equal(catalog_schema_dir(), "/nonexistent/x");
	unsetenv("SMBPOLICY_SCHEMA_DIR");
	assert_string_equal(catalog_schema_dir(), SMBPOLICY_SRCDIR "/schema");
	if (old)
		setenv("SMBPOLICY_SCHEMA_DIR", old, 1);
}

static void test_diag_print(void **state) {
	(void)state;
	_cleanup_(diag_clear) DiagList d = { 0 };
	diag_add(&d, "p.xml", 3, "server.signing.required", "bad \"%s\"", "x");
	diag_add(&d, NULL, 0, NULL, "plain");
	char buf[512] = { 0 };
	FILE *f = fmemopen(buf, sizeof buf, "w");
	diag_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "p.xml:3: server.signing.required: bad \"x\"\nplain\n");
	memset(buf, 0, sizeof buf);
	f = fmemopen(buf, sizeof buf, "w");
	diag_print_json(&d, f);
	fclose(f);
	assert_string_equal(buf, "[{\"file\":\"p.xml\",\"line\":3,\"setting\":\"server.signing.required\","
				 "\"message\":\"bad \\\"x\\\"\"},{\"file\":null,\"line\":null,"
				 "\"setting\":null,\"message\":\"plain\"}]");
	for (int i = 0; i < DIAG_MAX + 5; i++)
		diag_add(&d, NULL, 0, NULL, "n%d", i);
	assert_int_equal(d.n, DIAG_MAX);
	assert_true(d.truncated);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog_has_every_design_setting),
		cmocka_unit_test(test_catalog_features),
		cmocka_unit_test(test_catalog_types),
		cmocka_unit_test(test_catalog_check_value),
		cmocka_unit_test(test_catalog_scalar_needs_one_value),
		cmocka_unit_test(test_catalog_canonicalize),
		cmocka_unit_test(test_catalog_constraints),
		cmocka_unit_test(test_catalog_defaults_pass),
		cmocka_unit_test_setup_teardown(test_catalog_broken, setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test(test_catalog_schema_dir),
		cmocka_unit_test(test_diag_print),
	};
	return cmocka_run_group_tests(tests, setup_catalog, teardown_catalog);
}
