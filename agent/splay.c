/*
 * splay.c - the agent's scheduling randomness (contract in splay.h).
 *
 * Invariants: results stay inside the documented bounds for every rnd.
 * Must never: block on the entropy pool.
 */
#include "splay.h"

#include <sys/random.h>

#include "util.h"

uint64_t splay_random(void) {
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = now_usec() ^ (now_mono_usec() << 20);
	return rnd;
}

uint64_t splay_first_usec(uint64_t splay_usec, uint64_t rnd) {
	if (splay_usec == UINT64_MAX)
		return rnd;
	return rnd % (splay_usec + 1);
}

uint64_t splay_next_usec(uint64_t interval_usec, uint64_t rnd) {
	uint64_t j = interval_usec / SPLAY_JITTER_DIV;
	uint64_t d = interval_usec - j + rnd % (2 * j + 1);
	return d ? d : interval_usec;
}
