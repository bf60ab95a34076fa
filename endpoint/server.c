/*
 * server.c - the Context's shared accessors used by every worker thread:
 * the current config, audit emission, share lookup, user lookup.
 *
 * Invariants: each accessor takes Server.lock for exactly the time it
 * reads the shared field, so a SIGHUP swap (smbrefd.c) is never seen half
 * done.  Must never: call back into a worker or hold the lock across I/O
 * other than the audit write.
 */
#include <strings.h>

#include "server.h"

Config *server_config(Server *s) {
	pthread_mutex_lock(&s->lock);
	Config *c = config_ref(s->config);
	pthread_mutex_unlock(&s->lock);
	return c;
}

void server_audit(Server *s, AuditEventId id, const char *peer, const AuditField *fields, size_t n) {
	if (!s->audit)
		return;
	pthread_mutex_lock(&s->lock);
	audit_emit(s->audit, id, peer, fields, n);
	pthread_mutex_unlock(&s->lock);
}

Share *server_find_share(Server *s, const char *name) {
	for (size_t i = 0; i < s->n_shares; i++)
		if (strcasecmp(s->shares[i].name, name) == 0)
			return &s->shares[i];
	return NULL;
}

int server_lookup_user(void *userdata, const char *user, const char *domain, uint8_t nt_hash[16]) {
	Server *s = userdata;
	pthread_mutex_lock(&s->lock);
	int r = users_ntlm_lookup(s->users, user, domain, nt_hash);
	pthread_mutex_unlock(&s->lock);
	return r;
}
