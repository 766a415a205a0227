/* mn_pp_stats: the statistics and the verdict of mn-pingpong, apart from its
 * threads so that they can be tested.
 *
 * Promises: mn_pp_pct() picks the sample at rank floor(p/100 * n) of a sorted
 * array (the last one for p = 100, 0 for n = 0); mn_pp_mode() names the vCPU
 * mode from the round-trip p50 and the number of samples, with the
 * thresholds below and nothing else.
 */
#ifndef MN_PP_STATS_H
#define MN_PP_STATS_H

#include <stddef.h>
#include <stdint.h>

/* A round-trip p50 below this is "fast", above it "slow". Measured with
 * mn-pingpong's loop on the benchmark VM: fast mode 60-90 ns (rdtsc steps
 * of 10 ns included), slow mode 380-400 ns. 200 ns sits about 2x from each.
 */
#define MN_PP_FAST_RT_NS	200
/* A round-trip p50 at or above this is not a core-to-core mode at all: the
 * peer CPU was shared with other runnable work (the slow mode's p99 stays
 * below ~1 us). */
#define MN_PP_BUSY_RT_NS	4000
/* Too few samples to trust a p50 (peer descheduled, deadline hit). */
#define MN_PP_MIN_SAMPLES	1000

/* Value at percentile p (0..100) of n ascending samples. */
uint64_t mn_pp_pct(const uint64_t *sorted, size_t n, double p);

/* "fast", "slow" or "unknown" (a static string). */
const char *mn_pp_mode(size_t n_samples, double rt_p50_ns);

#endif
