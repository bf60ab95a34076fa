/*
 * bench_common.h - the clocks the C benchmarks (bench/bench_*.c) read:
 * wall seconds since a now_mono_usec() start, and this process's CPU
 * seconds.  Header-only; not a benchmark itself.
 *
 * Invariants: wall time is CLOCK_MONOTONIC (never jumps), CPU time is
 * CLOCK_PROCESS_CPUTIME_ID, the figure a shared machine does not skew.
 * Never: print; a benchmark says what it measured.
 */
#pragma once

#include <time.h>

#include "util.h"

/* Wall seconds since start (a now_mono_usec() value). */
static inline double bench_seconds_since(unsigned long long start) {
	return (double)(now_mono_usec() - start) / 1e6;
}

/* CPU seconds this process has used so far. */
static inline double bench_cpu_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
