#include "mn_pp_stats.h"

uint64_t mn_pp_pct(const uint64_t *sorted, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	if (p <= 0)
		return sorted[0];
	i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return sorted[i];
}

const char *mn_pp_mode(size_t n_samples, double rt_p50_ns)
{
	if (n_samples < MN_PP_MIN_SAMPLES || !(rt_p50_ns < MN_PP_BUSY_RT_NS))
		return "unknown";
	return rt_p50_ns < MN_PP_FAST_RT_NS ? "fast" : "slow";
}
