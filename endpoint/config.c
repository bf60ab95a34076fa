/*
 * config.c - the policy settings smbrefd enforces, read from the resolved
 * policy document (`smbpolicy rsop HOST --xml`) through lib's catalog and
 * policy API.
 *
 * The one table below maps each setting id to a Config field and a value
 * parser; setting ids appear nowhere else in endpoint/.  Values come from
 * policy_effective_values(): the document's value or the catalog default,
 * already checked against the catalog (type, range, constraints).
 *
 * Invariants: a Config is immutable once config_load() returns it (shared
 * by every worker thread through its refcount); a failed load returns
 * nothing, so a bad policy on SIGHUP keeps the old config in force.
 * Must never: invent a default (defaults are the catalog's).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "catalog.h"
#include "policy.h"
#include "server.h"
#include "setting_value.h"

/* Policy spelling of ciphers -> wire ids (crypto.h). */
static const struct {
	const char *name;
	uint16_t id;
} cipher_names[] = {
	{ "aes-128-ccm", SMB2_CRYPTO_CIPHER_AES128_CCM },
	{ "aes-128-gcm", SMB2_CRYPTO_CIPHER_AES128_GCM },
	{ "aes-256-ccm", SMB2_CRYPTO_CIPHER_AES256_CCM },
	{ "aes-256-gcm", SMB2_CRYPTO_CIPHER_AES256_GCM },
};

static int parse_ciphers(char *const *v, void *field) {
	Config *c = (Config *)((char *)field - offsetof(Config, ciphers));
	c->n_ciphers = 0;
	STRV_FOREACH(s, v) {
		size_t i;
		for (i = 0; i < ELEMENTSOF(cipher_names); i++)
			if (streq(cipher_names[i].name, *s))
				break;
		if (i == ELEMENTSOF(cipher_names) || c->n_ciphers >= CONFIG_MAX_CIPHERS)
			return -EINVAL;
		c->ciphers[c->n_ciphers++] = cipher_names[i].id;
	}
	return 0;
}

static const SettingField setting_table[] = {
	{ "server.signing.required", offsetof(Config, signing_required), setting_value_bool },
	{ "server.guest.allowed", offsetof(Config, guest_allowed), setting_value_bool },
	{ "server.dialect.min", offsetof(Config, dialect_min), setting_value_dialect },
	{ "server.dialect.max", offsetof(Config, dialect_max), setting_value_dialect },
	{ "server.encryption.required", offsetof(Config, encryption_required), setting_value_bool },
	{ "server.encryption.reject-unencrypted", offsetof(Config, reject_unencrypted), setting_value_bool },
	{ "server.encryption.ciphers", offsetof(Config, ciphers), parse_ciphers },
	{ "server.auth-rate-limiter.enabled", offsetof(Config, ratelimit_enabled), setting_value_bool },
	{ "server.auth-rate-limiter.delay-ms", offsetof(Config, ratelimit_delay_ms), setting_value_uint },
	{ "server.audit.client-no-signing", offsetof(Config, audit_client_no_signing), setting_value_bool },
	{ "server.audit.client-no-encryption", offsetof(Config, audit_client_no_encryption), setting_value_bool },
	{ "server.transport.tcp.enabled", offsetof(Config, tcp_enabled), setting_value_bool },
	{ "server.transport.tcp.port", offsetof(Config, tcp_port), setting_value_uint },
	{ "server.transport.quic.enabled", offsetof(Config, quic_enabled), setting_value_bool },
	{ "server.transport.quic.port", offsetof(Config, quic_port), setting_value_uint },
	{ "server.transport.rdma.enabled", offsetof(Config, rdma_enabled), setting_value_bool },
	{ "server.transport.rdma.port", offsetof(Config, rdma_port), setting_value_uint },
	{ "server.quic.certificate", offsetof(Config, quic_certificate), setting_value_string },
	{ "server.quic.key", offsetof(Config, quic_key), setting_value_string },
	{ "server.quic.client-access.required", offsetof(Config, quic_client_access_required), setting_value_bool },
	{ "server.quic.client-access.allow", offsetof(Config, quic_allow), setting_value_strv },
	{ "server.quic.client-access.block", offsetof(Config, quic_block), setting_value_strv },
};

Config *config_ref(Config *c) {
	if (c)
		atomic_fetch_add(&c->refcount, 1);
	return c;
}

Config *config_unref(Config *c) {
	if (c && atomic_fetch_sub(&c->refcount, 1) == 1) {
		free(c->policy_name);
		free(c->quic_certificate);
		free(c->quic_key);
		strv_free(c->quic_allow);
		strv_free(c->quic_block);
		free(c);
	}
	return NULL;
}

int config_load(const char *path, Config **ret) {
	_cleanup_(catalog_freep) Catalog *cat = NULL;
	_cleanup_(policy_freep) Policy *pol = NULL;
	_cleanup_free_ char ***values = NULL; /* vector of borrowed strvs */
	int r = catalog_load_default(&cat);
	if (r < 0)
		return r;
	r = setting_value_read_policy(cat, path, &pol, &values);
	if (r < 0)
		return r;

	_cleanup_(config_unrefp) Config *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->refcount, 1);
	c->policy_name = strdup(pol->name ? pol->name : "");
	if (!c->policy_name)
		return -ENOMEM;
	if (setting_value_apply(setting_table, ELEMENTSOF(setting_table), cat, values, c, path, "smbrefd") < 0)
		return -EINVAL;
	if (c->dialect_min > c->dialect_max) {
		fprintf(stderr, "%s: dialect minimum above maximum\n", path);
		return -EINVAL;
	}
	if (!c->ratelimit_enabled)
		c->ratelimit_delay_ms = 0;
	*ret = TAKE_PTR(c);
	return 0;
}
