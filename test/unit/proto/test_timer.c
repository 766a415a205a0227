/* mn_timer's wheel against a brute-force reference: a long random sequence
 * of arms, re-arms, cancels and expiries (whose callbacks arm, re-arm and
 * cancel too), with deadlines passed, near, and up to several wheel spans
 * away, on wheels of a few sizes. After every step mn_wheel_next must be the
 * earliest armed deadline of the reference, and after every expiry each
 * timer due before it must have fired, exactly once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "mn_timer.h"

#define NT 96

struct ref {
	struct mn_wheel w;
	struct mn_timer t[NT];
	int armed[NT];
	uint64_t deadline[NT];
	int touched[NT];		/* armed or cancelled by a callback */
	uint64_t span;			/* ns */
	uint64_t now;
	uint64_t rng;
	int in_expire;
	unsigned fired, bad_fire;
};

static uint32_t rnd(struct ref *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return (uint32_t)(r->rng >> 16);
}

/* A deadline relative to now: passed, within a tick or two, within the span,
 * or one to four spans away. */
static uint64_t pick_deadline(struct ref *r)
{
	uint64_t tick = 1ull << r->w.shift;

	switch (rnd(r) % 6) {
	case 0:
		return r->now > 3 * tick ? r->now - rnd(r) % (3 * tick) : 0;
	case 1:
		return r->now + rnd(r) % (2 * tick);
	case 2:
	case 3:
		return r->now + rnd(r) % r->span;
	case 4:
		return r->now + r->span + rnd(r) % (3 * r->span);
	default:
		return r->now + (r->span - tick) + rnd(r) % (2 * tick);
	}
}

static void ref_arm(struct ref *r, int i, uint64_t d)
{
	mn_timer_arm(&r->w, &r->t[i], d);
	r->armed[i] = 1;
	r->deadline[i] = d;
	if (r->in_expire)
		r->touched[i] = 1;
}

static void ref_cancel(struct ref *r, int i)
{
	mn_timer_cancel(&r->w, &r->t[i]);
	r->armed[i] = 0;
	if (r->in_expire)
		r->touched[i] = 1;
}

static uint64_t ref_next(const struct ref *r)
{
	uint64_t best = UINT64_MAX;
	int i;

	for (i = 0; i < NT; i++)
		if (r->armed[i] && r->deadline[i] < best)
			best = r->deadline[i];
	return best;
}

static void fired(struct mn_timer *t, void *arg)
{
	struct ref *r = arg;
	int i = (int)(t - r->t), k;

	if (!r->armed[i] || r->deadline[i] > r->now || mn_timer_armed(t))
		r->bad_fire++;
	r->armed[i] = 0;
	r->fired++;
	switch (rnd(r) % 4) {
	case 0:
		ref_arm(r, i, pick_deadline(r));	/* a periodic timer */
		break;
	case 1:
		k = (int)(rnd(r) % NT);
		if (rnd(r) & 1)
			ref_arm(r, k, pick_deadline(r));
		else
			ref_cancel(r, k);
		break;
	default:
		break;
	}
}

static void run(unsigned slots_log2, unsigned tick_shift, uint64_t seed, long steps)
{
	static struct ref r;
	long step, checks = 0, expiries = 0, far = 0;
	uint64_t tick = 1ull << tick_shift;
	int i;

	r = (struct ref){ .rng = seed, .now = seed % 100000 };
	CU_ASSERT_EQUAL_FATAL(mn_wheel_init(&r.w, slots_log2, tick_shift, r.now), 0);
	r.span = tick << slots_log2;
	for (i = 0; i < NT; i++)
		mn_timer_init(&r.t[i]);
	CU_ASSERT_EQUAL(mn_wheel_next(&r.w), UINT64_MAX);
	for (step = 0; step < steps; step++) {
		uint32_t op = rnd(&r) % 16;

		i = (int)(rnd(&r) % NT);
		if (op < 7) {
			ref_arm(&r, i, pick_deadline(&r));
			if (r.deadline[i] >= r.now + r.span)
				far++;
		} else if (op < 10) {
			ref_cancel(&r, i);
		} else {
			/* Time moves: mostly by part of a tick, sometimes by
			 * many ticks or more than a span. */
			uint32_t how = rnd(&r) % 8;
			unsigned n;
			int k;

			if (how < 5)
				r.now += rnd(&r) % tick;
			else if (how < 7)
				r.now += rnd(&r) % (r.span / 4);
			else
				r.now += r.span + rnd(&r) % (2 * r.span);
			for (k = 0; k < NT; k++)
				r.touched[k] = 0;
			r.fired = 0;
			r.in_expire = 1;
			n = mn_wheel_expire(&r.w, r.now, fired, &r);
			r.in_expire = 0;
			expiries++;
			CU_ASSERT_EQUAL(n, r.fired);
			for (k = 0; k < NT; k++)
				if (r.armed[k] && !r.touched[k] && r.deadline[k] <= r.now)
					break;
			CU_ASSERT_EQUAL(k, NT);	/* everything due fired */
		}
		/* Ask only most of the time: some arms and cancels pile up
		 * between two asks, as between an engine's polls. */
		if (rnd(&r) % 4) {
			uint64_t got = mn_wheel_next(&r.w), want = ref_next(&r);

			checks++;
			if (got != want) {
				CU_FAIL("mn_wheel_next differs from the reference");
				fprintf(stderr, "step %ld: next %llu, reference %llu (now %llu)\n",
				        step, (unsigned long long)got, (unsigned long long)want,
				        (unsigned long long)r.now);
				break;
			}
		}
		for (i = 0; i < NT; i++)
			if (mn_timer_armed(&r.t[i]) != r.armed[i])
				break;
		CU_ASSERT_EQUAL(i, NT);
	}
	CU_ASSERT_EQUAL(r.bad_fire, 0);
	/* The sequence did what it is for. */
	CU_ASSERT(checks > steps / 2);
	CU_ASSERT(expiries > steps / 10);
	CU_ASSERT(far > steps / 50);
	/* Down to nothing, then empty. */
	for (i = 0; i < NT; i++)
		ref_cancel(&r, i);
	CU_ASSERT_EQUAL(mn_wheel_next(&r.w), UINT64_MAX);
	CU_ASSERT_EQUAL(r.w.armed, 0);
	mn_wheel_fini(&r.w);
}

static void test_small_wheel(void)
{
	run(6, 3, 0x9e3779b97f4a7c15ull, 400000);
}

static void test_mid_wheel(void)
{
	run(9, 5, 0xd1b54a32d192ed03ull, 400000);
}

/* mn_proto's own: 16,384 slots of 65.5 us, with the summary bitmap's four
 * words. */
static void test_proto_wheel(void)
{
	run(14, 16, 0x2545f4914f6cdd1dull, 200000);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("proto_timer", NULL, NULL);
	CU_add_test(s, "64 slots: next against a reference", test_small_wheel);
	CU_add_test(s, "512 slots: next against a reference", test_mid_wheel);
	CU_add_test(s, "16384 slots: next against a reference", test_proto_wheel);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
