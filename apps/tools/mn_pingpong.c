/* mn-pingpong: cross-core round-trip latency between two pinned threads, and
 * the vCPU mode it implies.
 *
 * The 2-vCPU VMs this project is benchmarked on switch by themselves between
 * a "fast" and a "slow" core-to-core mode (cache-line round trip p50
 * 60-90 ns vs 380-400 ns; docs/PERFORMANCE.md). Every cross-core number moves 4-5x with it, so the
 * benchmark records this mode beside every run and only compares numbers
 * taken in the same mode.
 *
 * Method: one 64-byte line holds a counter. The measuring thread (CPU A)
 * stores an odd value and spins until the peer (CPU B) has stored value + 1;
 * each round trip is timed with the TSC, converted to ns with a frequency
 * taken against CLOCK_MONOTONIC_RAW over the run itself. Every wait is
 * bounded by a deadline, so a descheduled peer ends the run early (the mode
 * is then "unknown") instead of hanging.
 *
 * Usage: mn-pingpong [--iters N] [--cpus A,B] [--json]
 * Exit: 0 on a result (any mode), 1 on bad usage or when threads cannot be
 * pinned.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mn_pp_stats.h"

#define MN_PP_WARMUP		1000
#define MN_PP_DEADLINE_NS	600000000ull	/* whole run, incl. thread start */
#define MN_PP_MAX_ITERS		10000000ul

struct mn_pp_line {
	_Alignas(128) _Atomic uint64_t seq;	/* 128: also keeps the adjacent-line prefetcher off */
	char pad[128 - sizeof(uint64_t)];
};

static struct mn_pp_line g_line;
static _Atomic int g_stop;
static uint64_t g_deadline_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return now_ns();
#endif
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Peer: answers every odd value with value + 1 until told to stop. */
static void *peer_main(void *arg)
{
	int cpu = *(int *)arg;
	unsigned spins = 0;

	if (pin_self(cpu) != 0) {
		atomic_store(&g_stop, 2);
		return NULL;
	}
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		uint64_t v = atomic_load_explicit(&g_line.seq, memory_order_acquire);

		if (v & 1) {
			atomic_store_explicit(&g_line.seq, v + 1, memory_order_release);
			continue;
		}
		cpu_relax();
		/* A clock read every 4096 idle spins bounds the peer's lifetime
		 * even if the measuring thread dies without telling it. */
		if (++spins % 4096 == 0 && now_ns() > g_deadline_ns)
			break;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mn-pingpong [--iters N] [--cpus A,B] [--json]\n"
		"  Cross-core round-trip latency (cache-line ping-pong) between\n"
		"  CPUs A and B (default 0,1) and the vCPU mode: fast if the round-\n"
		"  trip p50 is below %d ns, slow below %d ns, otherwise or with fewer\n"
		"  than %d samples unknown. Default 100000 iterations; the run is\n"
		"  cut at %llu ms.\n", MN_PP_FAST_RT_NS, MN_PP_BUSY_RT_NS,
		MN_PP_MIN_SAMPLES, MN_PP_DEADLINE_NS / 1000000ull);
}

int main(int argc, char **argv)
{
	unsigned long iters = 100000;
	int cpu_a = 0, cpu_b = 1, json = 0;
	uint64_t *samples;
	pthread_t peer;
	size_t n = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoul(argv[++i], &end, 10);
			if (*end || iters == 0 || iters > MN_PP_MAX_ITERS) {
				fprintf(stderr, "mn-pingpong: --iters must be 1..%lu\n",
					MN_PP_MAX_ITERS);
				return 1;
			}
		} else if (!strcmp(argv[i], "--cpus") && i + 1 < argc) {
			if (sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2 ||
			    cpu_a < 0 || cpu_b < 0 || cpu_a == cpu_b ||
			    cpu_a >= CPU_SETSIZE || cpu_b >= CPU_SETSIZE) {
				fprintf(stderr, "mn-pingpong: --cpus wants two different CPU numbers, e.g. 0,1\n");
				return 1;
			}
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 1;
		}
	}

	samples = calloc(iters, sizeof(*samples));
	if (!samples) {
		fprintf(stderr, "mn-pingpong: calloc(%lu samples) failed\n", iters);
		return 1;
	}
	if ((rc = pin_self(cpu_a)) != 0) {
		fprintf(stderr, "mn-pingpong: cannot pin to CPU %d: %s\n", cpu_a, strerror(-rc));
		free(samples);
		return 1;
	}
	g_deadline_ns = now_ns() + MN_PP_DEADLINE_NS;
	atomic_store(&g_line.seq, 0);
	if ((rc = pthread_create(&peer, NULL, peer_main, &cpu_b)) != 0) {
		fprintf(stderr, "mn-pingpong: pthread_create: %s\n", strerror(rc));
		free(samples);
		return 1;
	}

	uint64_t seq = 0, t_start_ns = 0, t_start_tk = 0;
	unsigned long total = iters + MN_PP_WARMUP, k;
	int cut = 0;

	for (k = 0; k < total && !cut; k++) {
		uint64_t t0, t1, want;
		unsigned spins = 0;

		if (k == MN_PP_WARMUP) {
			t_start_ns = now_ns();
			t_start_tk = ticks();
		}
		want = seq + 2;
		t0 = ticks();
		atomic_store_explicit(&g_line.seq, seq + 1, memory_order_release);
		while (atomic_load_explicit(&g_line.seq, memory_order_acquire) != want) {
			cpu_relax();
			if (++spins % 4096 == 0 &&
			    (now_ns() > g_deadline_ns || atomic_load(&g_stop))) {
				cut = 1;
				break;
			}
		}
		t1 = ticks();
		seq = want;
		if (!cut && k >= MN_PP_WARMUP)
			samples[n++] = t1 - t0;
		if ((k & 1023) == 0 && now_ns() > g_deadline_ns)
			cut = 1;
	}
	uint64_t t_end_tk = ticks(), t_end_ns = now_ns();
	int peer_failed = atomic_load(&g_stop) == 2;

	atomic_store(&g_stop, 1);
	pthread_join(peer, NULL);
	if (peer_failed) {
		fprintf(stderr, "mn-pingpong: cannot pin the peer to CPU %d\n", cpu_b);
		free(samples);
		return 1;
	}

	/* ticks per ns, measured over the sampled part of the run itself */
	double tk_per_ns = 1.0;

	if (n > 0 && t_end_ns > t_start_ns && t_end_tk > t_start_tk)
		tk_per_ns = (double)(t_end_tk - t_start_tk) / (double)(t_end_ns - t_start_ns);
	qsort(samples, n, sizeof(*samples), cmp_u64);

	double p50 = (double)mn_pp_pct(samples, n, 50) / tk_per_ns;
	double p99 = (double)mn_pp_pct(samples, n, 99) / tk_per_ns;
	double p999 = (double)mn_pp_pct(samples, n, 99.9) / tk_per_ns;
	double mn = n ? (double)samples[0] / tk_per_ns : 0;
	double mx = n ? (double)samples[n - 1] / tk_per_ns : 0;
	double oneway = p50 / 2;
	const char *mode = mn_pp_mode(n, p50);

	if (json)
		printf("{\"mode\": \"%s\", \"cpus\": [%d, %d], \"iters\": %lu, "
		       "\"samples\": %zu, \"cut_short\": %s, "
		       "\"rt_ns\": {\"p50\": %.0f, \"p99\": %.0f, \"p999\": %.0f, "
		       "\"min\": %.0f, \"max\": %.0f}, \"oneway_p50_ns\": %.0f, "
		       "\"fast_below_rt_ns\": %d, \"tsc_ghz\": %.3f}\n",
		       mode, cpu_a, cpu_b, iters, n, cut ? "true" : "false",
		       p50, p99, p999, mn, mx, oneway, MN_PP_FAST_RT_NS, tk_per_ns);
	else
		printf("mode=%s oneway_p50_ns=%.0f rt_p50_ns=%.0f rt_p99_ns=%.0f "
		       "rt_p999_ns=%.0f samples=%zu cpus=%d,%d%s\n",
		       mode, oneway, p50, p99, p999, n, cpu_a, cpu_b,
		       cut ? " (cut short: peer CPU busy)" : "");
	free(samples);
	return 0;
}
