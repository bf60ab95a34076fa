/*
 * ratelimit.c - the authentication rate limiter (server.auth-rate-limiter.*):
 * when a failed NTLM authentication may be answered.
 *
 * Each failure is held for delay; failures from one source address are also
 * serialised, so a client opening many connections gains nothing: the k-th
 * pending failure of an address is released k * delay after the first.  The
 * caller (session.c) holds the response with a timer and keeps serving
 * everything else; a successful login is never delayed.
 *
 * Invariants: the table has a fixed size (no growth under attack); an entry
 * whose release time has passed is free for reuse; the backlog per address
 * is bounded (RATELIMIT_MAX_BACKLOG_USEC), beyond it the caller drops the
 * connection instead of queueing.
 * Must never: sleep, or keep a lock while calling out.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define RATELIMIT_SLOTS 4096

typedef struct Slot {
	uint8_t key[16];
	uint64_t release; /* monotonic usec of the last held failure's release */
} Slot;

struct RateLimiter {
	pthread_mutex_t lock;
	Slot slots[RATELIMIT_SLOTS];
};

int ratelimit_new(RateLimiter **ret) {
	RateLimiter *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	pthread_mutex_init(&rl->lock, NULL);
	*ret = rl;
	return 0;
}

void ratelimit_free(RateLimiter *rl) {
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* IPv4 as v4-mapped IPv6, so both families share one key space. */
static void addr_key(const struct sockaddr_storage *a, uint8_t key[16]) {
	memset(key, 0, 16);
	if (a->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)a)->sin_addr, 4);
	} else if (a->ss_family == AF_INET6)
		memcpy(key, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
}

static size_t addr_hash(const uint8_t key[16]) {
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return (size_t)(h % RATELIMIT_SLOTS);
}

int ratelimit_failure(RateLimiter *rl, const struct sockaddr_storage *addr, uint64_t now,
		      uint64_t delay, uint64_t *ret_release) {
	uint8_t key[16];
	addr_key(addr, key);
	size_t h = addr_hash(key);

	pthread_mutex_lock(&rl->lock);
	/* Linear probing over a few slots; an expired slot is free. */
	Slot *slot = NULL, *free_slot = NULL;
	for (size_t i = 0; i < 8; i++) {
		Slot *s = &rl->slots[(h + i) % RATELIMIT_SLOTS];
		if (memcmp(s->key, key, 16) == 0 && s->release > now) {
			slot = s;
			break;
		}
		if (!free_slot && s->release <= now)
			free_slot = s;
	}
	uint64_t release = now + delay;
	if (slot && slot->release + delay > release)
		release = slot->release + delay;
	if (release - now > RATELIMIT_MAX_BACKLOG_USEC) {
		pthread_mutex_unlock(&rl->lock);
		return -EBUSY;
	}
	if (!slot)
		slot = free_slot;
	if (slot) { /* when every probed slot is busy, the address is only delayed per connection */
		memcpy(slot->key, key, 16);
		slot->release = release;
	}
	pthread_mutex_unlock(&rl->lock);
	*ret_release = release;
	return 0;
}
