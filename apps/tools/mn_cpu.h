/* mn_cpu: the clock and CPU pinning shared by the scheduling tools
 * (mn-yieldchain, mn-hiccup), header-only. */
#ifndef MN_CPU_H
#define MN_CPU_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC_RAW in ns: no NTP slewing inside a measurement. */
static inline uint64_t mn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pins the calling process (all of it, before any thread) to cpu: 0 or -1. */
static inline int mn_pin_cpu(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof(s), &s);
}

#endif
