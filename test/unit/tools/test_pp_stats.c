/* Unit tests of mn_pp_stats: mn-pingpong's percentile pick and vCPU-mode
 * verdict (apps/tools/mn_pp_stats.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_pp_stats.h"

static void test_pct_empty(void)
{
	CU_ASSERT_EQUAL(mn_pp_pct(NULL, 0, 50), 0);
}

static void test_pct_single(void)
{
	const uint64_t v[1] = { 77 };

	CU_ASSERT_EQUAL(mn_pp_pct(v, 1, 0), 77);
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1, 50), 77);
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1, 100), 77);
}

/* 1000 samples 1..1000: the p-th percentile is sample floor(p * 10) + 1 */
static void test_pct_ranks(void)
{
	static uint64_t v[1000];
	size_t i;

	for (i = 0; i < 1000; i++)
		v[i] = i + 1;
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1000, 0), 1);
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1000, 50), 501);
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1000, 99), 991);
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1000, 99.9), 1000);
	CU_ASSERT_EQUAL(mn_pp_pct(v, 1000, 100), 1000);
	/* monotone in p */
	for (i = 1; i <= 100; i++)
		CU_ASSERT(mn_pp_pct(v, 1000, (double)i) >= mn_pp_pct(v, 1000, (double)(i - 1)));
}

static void test_mode_thresholds(void)
{
	const size_t n = MN_PP_MIN_SAMPLES * 100;

	/* measured modes: fast 60-90 ns, slow 380-400 ns */
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, 60), "fast");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, 90), "fast");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, 380), "slow");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, 400), "slow");
	/* boundaries: fast strictly below, unknown from the busy limit on */
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, MN_PP_FAST_RT_NS - 0.5), "fast");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, MN_PP_FAST_RT_NS), "slow");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, MN_PP_BUSY_RT_NS - 0.5), "slow");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, MN_PP_BUSY_RT_NS), "unknown");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, 1e9), "unknown");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(n, NAN), "unknown");
}

static void test_mode_needs_samples(void)
{
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(0, 80), "unknown");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(MN_PP_MIN_SAMPLES - 1, 80), "unknown");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(MN_PP_MIN_SAMPLES, 80), "fast");
	CU_ASSERT_STRING_EQUAL(mn_pp_mode(MN_PP_MIN_SAMPLES, 390), "slow");
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "pct of no samples", test_pct_empty },
		{ "pct of one sample", test_pct_single },
		{ "pct ranks", test_pct_ranks },
		{ "mode thresholds", test_mode_thresholds },
		{ "mode needs samples", test_mode_needs_samples },
	};

	return mn_cu_run("pp_stats", tests, sizeof(tests) / sizeof(tests[0]));
}
