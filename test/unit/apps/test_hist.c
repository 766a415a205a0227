/* Unit tests of msg_gen's log-linear histogram: percentiles against the
 * exact order statistics of seeded random samples, within 1%. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "mn_cunit.h"
#include "mn_hist.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t xorshift(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The exact p-th percentile by the same rank rule: ceil(p/100 * n). */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p)
{
	double r = ceil(p / 100.0 * (double)n);
	size_t rank = r < 1 ? 1 : (size_t)r;

	return sorted[(rank > n ? n : rank) - 1];
}

static void check_dataset(uint64_t *v, size_t n)
{
	static struct mn_hist h;
	static const double ps[] = { 1, 10, 50, 90, 99, 99.9, 99.99, 100 };

	mn_hist_reset(&h);
	for (size_t i = 0; i < n; i++)
		mn_hist_add(&h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	CU_ASSERT_EQUAL(h.count, n);
	CU_ASSERT_EQUAL(h.min, v[0]);
	CU_ASSERT_EQUAL(h.max, v[n - 1]);
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		uint64_t want = exact_percentile(v, n, ps[k]);
		uint64_t got = mn_hist_percentile(&h, ps[k]);
		double err = fabs((double)got - (double)want) / (double)want;

		if (err > 0.01)
			printf("\n  p%.2f: want %llu got %llu (err %.4f)", ps[k],
			       (unsigned long long)want, (unsigned long long)got, err);
		CU_ASSERT(err <= 0.01);
	}
}

static void test_uniform(void)
{
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));

	CU_ASSERT_FATAL(v != NULL);
	for (size_t i = 0; i < N; i++)
		v[i] = 1000 + xorshift() % 1000000;	/* 1 us .. 1 ms in ns */
	check_dataset(v, N);
	free(v);
}

static void test_long_tail(void)
{
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));

	CU_ASSERT_FATAL(v != NULL);
	/* Mostly ~8 us with an exponential tail to ~seconds: the shape of RTTs. */
	for (size_t i = 0; i < N; i++) {
		double u = (double)(xorshift() % 1000000 + 1) / 1000001.0;
		v[i] = 8000 + (uint64_t)(-log(u) * 2000.0);
		if (xorshift() % 1000 == 0)
			v[i] *= 1000;
	}
	check_dataset(v, N);
	free(v);
}

static void test_small_values_exact(void)
{
	static struct mn_hist h;

	mn_hist_reset(&h);
	for (uint64_t i = 1; i <= 100; i++)
		mn_hist_add(&h, i);
	CU_ASSERT_EQUAL(mn_hist_percentile(&h, 50), 50);
	CU_ASSERT_EQUAL(mn_hist_percentile(&h, 99), 99);
	CU_ASSERT_EQUAL(mn_hist_percentile(&h, 100), 100);
	CU_ASSERT_DOUBLE_EQUAL(mn_hist_mean(&h), 50.5, 1e-9);
}

static void test_bucket_geometry(void)
{
	/* Every bucket's width is at most 1/128 of its lower bound (above the
	 * exact range), and index/lower are inverse at bucket edges. */
	for (unsigned i = 0; i < MN_HIST_BUCKETS; i++) {
		uint64_t lo = mn_hist_lower(i), w = mn_hist_width(i);

		CU_ASSERT_EQUAL(mn_hist_index(lo), i);
		CU_ASSERT_EQUAL(mn_hist_index(lo + w - 1), i);
		if (i >= MN_HIST_SUB)
			CU_ASSERT(w * MN_HIST_SUB <= lo);
	}
	CU_ASSERT_EQUAL(mn_hist_index(UINT64_MAX), MN_HIST_BUCKETS - 1);
}

static void test_merge_and_empty(void)
{
	static struct mn_hist a, b;

	mn_hist_reset(&a);
	mn_hist_reset(&b);
	CU_ASSERT_EQUAL(mn_hist_percentile(&a, 50), 0);
	for (uint64_t i = 0; i < 1000; i++)
		mn_hist_add(i < 500 ? &a : &b, 10000 + i * 10);
	mn_hist_merge(&a, &b);
	CU_ASSERT_EQUAL(a.count, 1000);
	CU_ASSERT_EQUAL(a.min, 10000);
	CU_ASSERT_EQUAL(a.max, 10000 + 999 * 10);
	CU_ASSERT(fabs((double)mn_hist_percentile(&a, 50) - 14990.0) / 14990.0 <= 0.01);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "uniform", test_uniform },
		{ "long_tail", test_long_tail },
		{ "small_values_exact", test_small_values_exact },
		{ "bucket_geometry", test_bucket_geometry },
		{ "merge_and_empty", test_merge_and_empty },
	};

	return mn_cu_run("hist", tests, sizeof(tests) / sizeof(tests[0]));
}
