/*
 * test_agent_splay.c - the agent's poll scheduling (agent/splay.c): the
 * first periodic cycle's splay stays in [0, splay] and spreads over it;
 * every later period stays within the interval +- 10 % and is never 0;
 * splay_random() varies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../agent/splay.c"

static const uint64_t edge_rnd[] = { 0, 1, 2, 999, 1000000, UINT32_MAX, UINT64_MAX - 1,
				     UINT64_MAX };

static void test_first_bounded(void **state) {
	(void)state;
	static const uint64_t splays[] = { 0, 1, 1000000, 900ULL * 1000000ULL, UINT64_MAX };
	for (size_t i = 0; i < ELEMENTSOF(splays); i++)
		for (size_t j = 0; j < ELEMENTSOF(edge_rnd); j++)
			assert_true(splay_first_usec(splays[i], edge_rnd[j]) <= splays[i]);
	assert_int_equal(splay_first_usec(0, 12345), 0);
	assert_int_equal(splay_first_usec(10, 10), 10);
	assert_int_equal(splay_first_usec(10, 11), 0);
}

/* 10,000 agents with real randomness: a 900 s splay fills all ten 90 s
 * buckets, none with more than twice its share. */
static void test_first_spread(void **state) {
	(void)state;
	const uint64_t splay = 900ULL * 1000000ULL;
	unsigned buckets[10] = {};
	for (int i = 0; i < 10000; i++) {
		uint64_t d = splay_first_usec(splay, splay_random());
		assert_true(d <= splay);
		buckets[d * 10 / (splay + 1)]++;
	}
	for (size_t b = 0; b < ELEMENTSOF(buckets); b++) {
		assert_true(buckets[b] > 500);
		assert_true(buckets[b] < 2000);
	}
}

static void test_next_bounded(void **state) {
	(void)state;
	static const uint64_t intervals[] = { 1, 9, 10, 1000000, 900ULL * 1000000ULL,
					      7ULL * 24 * 3600 * 1000000ULL };
	for (size_t i = 0; i < ELEMENTSOF(intervals); i++) {
		uint64_t iv = intervals[i], j = iv / SPLAY_JITTER_DIV;
		for (size_t k = 0; k < ELEMENTSOF(edge_rnd); k++) {
			uint64_t d = splay_next_usec(iv, edge_rnd[k]);
			assert_true(d >= iv - j);
			assert_true(d <= iv + j);
			assert_true(d > 0);
		}
	}
	/* 1 s: 0.9 .. 1.1 s, both ends reachable. */
	assert_int_equal(splay_next_usec(1000000, 0), 900000);
	assert_int_equal(splay_next_usec(1000000, 200000), 1100000);
	assert_int_equal(splay_next_usec(1000000, 200001), 900000);
}

static void test_random_varies(void **state) {
	(void)state;
	uint64_t a = splay_random(), differ = 0;
	for (int i = 0; i < 8; i++)
		differ += splay_random() != a;
	assert_true(differ > 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_bounded),
		cmocka_unit_test(test_first_spread),
		cmocka_unit_test(test_next_bounded),
		cmocka_unit_test(test_random_varies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
