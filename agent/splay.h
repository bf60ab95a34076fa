/*
 * splay.h - when smbpolicyd polls: a random splay before the first
 * periodic cycle and a jitter on every period after it, so a fleet whose
 * agents start together (a mass reboot) does not poll its bundle server,
 * or its own targets, in lock-step.  The retry backoff of a failed fetch
 * (source.c) draws its randomness here too.
 *
 * Invariants: splay_first_usec() is in [0, splay]; splay_next_usec() is in
 * [interval - interval/SPLAY_JITTER_DIV, interval + interval/SPLAY_JITTER_DIV]
 * and never 0 for a non-zero interval.  Both are pure functions of their
 * random input, so tests pass the random value in.
 * Must never: block waiting for entropy (GRND_NONBLOCK, falls back to the
 * clock), or be used for anything secret.
 */
#pragma once

#include <stdint.h>

/* The period's jitter: +- interval / SPLAY_JITTER_DIV (10 %). */
#define SPLAY_JITTER_DIV 10

/* A random 64-bit value for scheduling (not for keys). */
uint64_t splay_random(void);

/* Delay before the first periodic cycle: uniform in [0, splay_usec]. */
uint64_t splay_first_usec(uint64_t splay_usec, uint64_t rnd);

/* Delay until the next periodic cycle: interval_usec +- 10 %, uniform. */
uint64_t splay_next_usec(uint64_t interval_usec, uint64_t rnd);
