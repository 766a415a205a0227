/* Unit tests for mn_fault: each fault kind measured over up to a million
 * frames against its configured rate (5 sigma), timing against a simulated
 * clock, queue overflow, determinism by seed, and ownership (every handle the
 * injector takes is given back exactly once: the test's ops count live ones).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_fault.h"

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define FRAME_LEN 64

struct tpkt {
	uint32_t id;
	uint32_t len;
	uint32_t ref;		/* > 1: someone else (a "transport") holds it too */
	uint8_t data[FRAME_LEN];
};

/* Handle bookkeeping of the test's ops. */
static long live;
static long dup_calls, free_calls, data_calls;
static bool fail_dup;

static uint8_t pattern(uint32_t id, uint32_t i)
{
	return (uint8_t)(id * 31u + i * 7u + 1u);
}

static struct tpkt *new_pkt(uint32_t id, uint32_t len)
{
	struct tpkt *p = malloc(sizeof(*p));

	if (!p)
		abort();
	p->id = id;
	p->len = len;
	p->ref = 1;
	for (uint32_t i = 0; i < FRAME_LEN; i++)
		p->data[i] = pattern(id, i);
	live++;
	return p;
}

static void put_pkt(struct tpkt *p)
{
	if (--p->ref > 0)
		return;
	live--;
	free(p);
}

static void *op_dup(void *ctx, void *pkt)
{
	struct tpkt *c;

	(void)ctx;
	dup_calls++;
	if (fail_dup)
		return NULL;
	c = malloc(sizeof(*c));
	if (!c)
		abort();
	memcpy(c, pkt, sizeof(*c));
	c->ref = 1;
	live++;
	return c;
}

static void op_free(void *ctx, void *pkt)
{
	(void)ctx;
	free_calls++;
	put_pkt(pkt);
}

static long private_copies;

/* Shared frames are made private first, as the engine's op does for an mbuf
 * with refcnt > 1. */
static uint8_t *op_data(void *ctx, void **pkt, uint32_t *len)
{
	struct tpkt *p = *pkt;

	(void)ctx;
	data_calls++;
	if (p->ref > 1) {
		struct tpkt *c = malloc(sizeof(*c));

		if (!c)
			abort();
		memcpy(c, p, sizeof(*c));
		c->ref = 1;
		live++;
		private_copies++;
		put_pkt(p);
		*pkt = p = c;
	}
	*len = p->len;
	return p->data;
}

static const struct mn_fault_ops ops = {
	.dup = op_dup, .free = op_free, .data = op_data, .ctx = NULL,
};

static void reset_counts(void)
{
	live = dup_calls = free_calls = data_calls = private_copies = 0;
	fail_dup = false;
}

/* |obs - n p| within 5 standard deviations of a binomial(n, p). */
static bool within_5sigma(uint64_t obs, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1.0 - p));
	bool ok = fabs((double)obs - mean) <= 5.0 * sd;

	if (!ok)
		fprintf(stderr, "\n  observed %llu, expected %.1f +- %.1f (5 sigma)\n",
			(unsigned long long)obs, mean, 5.0 * sd);
	return ok;
}

/* ---- a simulated link: frames arrive every gap ns, in bursts ---- */

struct sink {
	uint64_t out;		/* frames delivered */
	uint64_t overtaken;	/* delivered after a frame that entered later */
	uint32_t max_id;
	bool any;
	uint64_t gap;		/* a burst of frames enters at (first id) * gap */
	uint32_t burst;
	uint64_t min_delay, max_delay, sum_delay;
	uint64_t bad_early;	/* release returned a frame before next_due */
	uint64_t corrupt_frames, bad_corruption;
	uint64_t *trace;	/* optional: (id, time, checksum) per delivery */
	size_t trace_len, trace_cap;
};

static void sink_init(struct sink *s, uint64_t gap)
{
	memset(s, 0, sizeof(*s));
	s->gap = gap;
	s->burst = 1;
	s->min_delay = UINT64_MAX;
}

/* Checks a delivered frame's bytes: either pristine, or exactly one bit
 * flipped at offset >= 14. */
static void check_bytes(struct sink *s, const struct tpkt *p)
{
	int diff_bytes = 0, bits = 0, off = -1;

	for (uint32_t i = 0; i < FRAME_LEN; i++) {
		uint8_t x = p->data[i] ^ pattern(p->id, i);

		if (x) {
			diff_bytes++;
			off = (int)i;
			bits += __builtin_popcount(x);
		}
	}
	if (diff_bytes == 0)
		return;
	s->corrupt_frames++;
	if (diff_bytes != 1 || bits != 1 || off < (int)MN_FAULT_ETH_HDR_LEN)
		s->bad_corruption++;
}

static void deliver(struct sink *s, void *h, uint64_t t)
{
	struct tpkt *p = h;
	uint64_t entry = (uint64_t)(p->id - p->id % s->burst) * s->gap, d = t - entry;

	s->out++;
	if (s->any && p->id < s->max_id)
		s->overtaken++;
	if (!s->any || p->id > s->max_id)
		s->max_id = p->id;
	s->any = true;
	if (d < s->min_delay)
		s->min_delay = d;
	if (d > s->max_delay)
		s->max_delay = d;
	s->sum_delay += d;
	check_bytes(s, p);
	if (s->trace && s->trace_len + 3 <= s->trace_cap) {
		uint64_t sum = 0;

		for (uint32_t i = 0; i < FRAME_LEN; i++)
			sum = sum * 131 + p->data[i];
		s->trace[s->trace_len++] = p->id;
		s->trace[s->trace_len++] = t;
		s->trace[s->trace_len++] = sum;
	}
	put_pkt(p);
}

#define BURST_MAX 64

/* Releases everything due up to `until`, jumping the clock to each due time
 * and checking that nothing comes out a nanosecond early. */
static void release_until(struct mn_fault *f, struct sink *s, uint64_t until)
{
	void *out[BURST_MAX];

	for (int guard = 0; guard < 10000000; guard++) {
		uint64_t t = mn_fault_next_due(f);
		uint16_t r;

		if (t == UINT64_MAX || t > until)
			return;
		if (t > 0 && mn_fault_release(f, out, BURST_MAX, t - 1) != 0)
			s->bad_early++;
		r = mn_fault_release(f, out, BURST_MAX, t);
		for (uint16_t i = 0; i < r; i++)
			deliver(s, out[i], t);
	}
	CU_FAIL("release loop did not converge");
}

/* count frames of len bytes, `burst` at a time every burst*gap ns; cap slots
 * for each burst. Ends with every held frame released. */
static void drive(struct mn_fault *f, struct sink *s, uint32_t count, uint16_t burst, uint16_t cap,
		  uint32_t len)
{
	void *pkts[BURST_MAX];
	uint32_t id = 0;

	s->burst = burst;
	while (id < count) {
		uint16_t n = count - id < burst ? (uint16_t)(count - id) : burst;
		uint64_t now = (uint64_t)id * s->gap;
		uint16_t r;

		release_until(f, s, now);
		for (uint16_t i = 0; i < n; i++)
			pkts[i] = new_pkt(id + i, len);
		r = mn_fault_apply(f, pkts, n, cap, now);
		for (uint16_t i = 0; i < r; i++)
			deliver(s, pkts[i], now);
		id += n;
	}
	release_until(f, s, UINT64_MAX - 1);
	CU_ASSERT_EQUAL(mn_fault_held(f), 0);
}

static struct mn_fault *make(const struct mn_fault_params *p, uint64_t seed)
{
	struct mn_fault *f = mn_fault_create(p, &ops, seed);

	CU_ASSERT_PTR_NOT_NULL(f);
	return f;
}

/* make() for a test that cannot go on without the instance. */
static struct mn_fault *make_or_stop(const struct mn_fault_params *p, uint64_t seed)
{
	struct mn_fault *f = make(p, seed);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	return f;
}

/* Every test starts from zeroed mbuf-op counters and the default (inert)
 * parameters, then sets the one fault it is about. */
static void fresh(struct mn_fault_params *p)
{
	reset_counts();
	mn_fault_params_default(p);
}

/* ---- tests ---- */

static void test_params(void)
{
	struct mn_fault_params p;
	struct mn_fault_ops no_free = ops, no_dup = ops, no_data = ops;

	mn_fault_params_default(&p);
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), 0);
	CU_ASSERT_FALSE(mn_fault_params_active(&p));
	CU_ASSERT_EQUAL(p.reorder_us, 100);
	CU_ASSERT_EQUAL(p.corrupt_min_off, 14);
	p.drop_ppm = MN_FAULT_PPM;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), 0);
	CU_ASSERT_TRUE(mn_fault_params_active(&p));
	p.drop_ppm = MN_FAULT_PPM + 1;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), -EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(mn_fault_create(&p, &ops, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	mn_fault_params_default(&p);
	p.delay_us = MN_FAULT_MAX_DELAY_US + 1;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), -EINVAL);
	mn_fault_params_default(&p);
	p.reorder_us = 0;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), -EINVAL);
	mn_fault_params_default(&p);
	p.corrupt_min_off = 30;
	p.corrupt_max_off = 20;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), -EINVAL);
	mn_fault_params_default(&p);
	p.queue = MN_FAULT_QUEUE_MIN - 1;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), -EINVAL);
	p.queue = MN_FAULT_QUEUE_MAX + 1;
	CU_ASSERT_EQUAL(mn_fault_params_check(&p), -EINVAL);

	/* ops: free always, dup and data only when their fault is on */
	mn_fault_params_default(&p);
	no_free.free = NULL;
	no_dup.dup = NULL;
	no_data.data = NULL;
	CU_ASSERT_PTR_NULL(mn_fault_create(&p, &no_free, 1));
	CU_ASSERT_PTR_NULL(mn_fault_create(&p, NULL, 1));
	CU_ASSERT_PTR_NULL(mn_fault_create(NULL, &ops, 1));
	p.dup_ppm = 1;
	CU_ASSERT_PTR_NULL(mn_fault_create(&p, &no_dup, 1));
	mn_fault_destroy(mn_fault_create(&p, &no_data, 1));
	p.dup_ppm = 0;
	p.corrupt_ppm = 1;
	CU_ASSERT_PTR_NULL(mn_fault_create(&p, &no_data, 1));
	mn_fault_destroy(mn_fault_create(&p, &no_dup, 1));
	mn_fault_destroy(NULL);

	/* derived seeds differ by engine, port and direction */
	CU_ASSERT_NOT_EQUAL(mn_fault_derive_seed(1, 0, 0, 0), mn_fault_derive_seed(1, 0, 0, 1));
	CU_ASSERT_NOT_EQUAL(mn_fault_derive_seed(1, 0, 0, 0), mn_fault_derive_seed(1, 0, 1, 0));
	CU_ASSERT_NOT_EQUAL(mn_fault_derive_seed(1, 0, 0, 0), mn_fault_derive_seed(1, 1, 0, 0));
	CU_ASSERT_NOT_EQUAL(mn_fault_derive_seed(1, 0, 0, 0), mn_fault_derive_seed(2, 0, 0, 0));
	CU_ASSERT_EQUAL(mn_fault_derive_seed(7, 1, 2, 1), mn_fault_derive_seed(7, 1, 2, 1));
}

static void test_identity(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	void *pkts[BURST_MAX], *orig[BURST_MAX];
	uint64_t total = 0;

	fresh(&p);
	p.keep_order = true;		/* without delay it changes nothing */
	f = make_or_stop(&p, 42);
	for (int round = 0; round < 1000; round++) {
		uint16_t n = (uint16_t)(round % BURST_MAX + 1);

		total += n;
		for (uint16_t i = 0; i < n; i++)
			orig[i] = pkts[i] = new_pkt((uint32_t)(round * BURST_MAX + i), FRAME_LEN);
		CU_ASSERT_EQUAL_FATAL(mn_fault_apply(f, pkts, n, BURST_MAX, (uint64_t)round * 1000), n);
		CU_ASSERT_EQUAL(memcmp(pkts, orig, n * sizeof(pkts[0])), 0);
		CU_ASSERT_EQUAL(mn_fault_held(f), 0);
		CU_ASSERT_EQUAL(mn_fault_next_due(f), UINT64_MAX);
		CU_ASSERT_EQUAL(mn_fault_release(f, pkts + n, BURST_MAX - n, UINT64_MAX - 1), 0);
		for (uint16_t i = 0; i < n; i++) {
			struct tpkt *t = pkts[i];

			for (uint32_t b = 0; b < FRAME_LEN; b++)
				CU_ASSERT_EQUAL(t->data[b], pattern(t->id, b));
			put_pkt(t);
		}
	}
	CU_ASSERT_EQUAL(dup_calls + free_calls + data_calls, 0);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->seen, total);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->dropped + mn_fault_stats(f)->delayed, 0);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

static void run_drop(uint32_t ppm)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	struct sink s;
	const uint32_t n = 1000000;

	fresh(&p);
	p.drop_ppm = ppm;
	f = make_or_stop(&p, 1);
	sink_init(&s, 1000);
	drive(f, &s, n, 32, 32, FRAME_LEN);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->seen, n);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->dropped, n - s.out);
	CU_ASSERT_TRUE(within_5sigma(n - s.out, n, ppm / 1e6));
	CU_ASSERT_EQUAL(s.overtaken, 0);
	CU_ASSERT_EQUAL(s.max_delay, 0);	/* survivors leave at once */
	CU_ASSERT_EQUAL(s.corrupt_frames, 0);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
	CU_ASSERT_EQUAL(free_calls, (long)(n - s.out));
}

static void test_drop_1pct(void)
{
	run_drop(10000);
}

static void test_drop_10pct(void)
{
	run_drop(100000);
}

static void test_drop_all(void)
{
	run_drop(MN_FAULT_PPM);
}

/* 1% duplication: every copy right behind its original, same bytes, own handle. */
static void test_dup(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	const uint32_t n = 1000000;
	uint64_t copies = 0, out = 0, bad_order = 0, same_handle = 0;
	uint32_t next_id = 0;

	fresh(&p);
	p.dup_ppm = 10000;
	f = make_or_stop(&p, 3);
	for (uint32_t id = 0; id < n; id += 32) {
		void *pkts[64];
		uint16_t r;

		for (uint16_t i = 0; i < 32; i++)
			pkts[i] = new_pkt(id + i, FRAME_LEN);
		r = mn_fault_apply(f, pkts, 32, 64, id);
		for (uint16_t i = 0; i < r; i++) {
			struct tpkt *t = pkts[i];

			out++;
			if (t->id == next_id) {
				next_id++;
			} else if (i > 0 && t->id + 1 == next_id &&
				   ((struct tpkt *)pkts[i - 1])->id == t->id) {
				copies++;
				if (pkts[i - 1] == pkts[i])
					same_handle++;
				if (memcmp(t->data, ((struct tpkt *)pkts[i - 1])->data, FRAME_LEN) != 0)
					bad_order++;
			} else {
				bad_order++;
			}
		}
		CU_ASSERT_EQUAL(mn_fault_held(f), 0);
		for (uint16_t i = 0; i < r; i++)
			put_pkt(pkts[i]);
	}
	CU_ASSERT_EQUAL(next_id, n);
	CU_ASSERT_EQUAL(bad_order, 0);
	CU_ASSERT_EQUAL(same_handle, 0);
	CU_ASSERT_EQUAL(out, n + copies);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->duplicated, copies);
	CU_ASSERT_EQUAL(dup_calls, (long)copies);
	CU_ASSERT_TRUE(within_5sigma(copies, n, 0.01));
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* Copies that do not fit in cap wait for the next release, at the same time. */
static void test_dup_overflow(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	void *pkts[16], *rel[16];
	uint16_t r;
	static const uint32_t want[10] = { 0, 0, 1, 1, 2, 3, 4, 5, 6, 7 };

	fresh(&p);
	p.dup_ppm = MN_FAULT_PPM;
	f = make_or_stop(&p, 5);
	for (uint32_t i = 0; i < 8; i++)
		pkts[i] = new_pkt(i, FRAME_LEN);
	r = mn_fault_apply(f, pkts, 8, 10, 777);
	CU_ASSERT_EQUAL_FATAL(r, 10);
	for (uint16_t i = 0; i < r; i++)
		CU_ASSERT_EQUAL(((struct tpkt *)pkts[i])->id, want[i]);
	CU_ASSERT_EQUAL(mn_fault_held(f), 6);
	CU_ASSERT_EQUAL(mn_fault_next_due(f), 777);
	CU_ASSERT_EQUAL(mn_fault_release(f, rel, 16, 777), 6);
	for (uint16_t i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(((struct tpkt *)rel[i])->id, i + 2u);
		put_pkt(rel[i]);
	}
	for (uint16_t i = 0; i < r; i++)
		put_pkt(pkts[i]);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->duplicated, 8);

	/* a failing dup leaves the original alone and is counted */
	fail_dup = true;
	pkts[0] = new_pkt(100, FRAME_LEN);
	CU_ASSERT_EQUAL(mn_fault_apply(f, pkts, 1, 16, 800), 1);
	CU_ASSERT_EQUAL(((struct tpkt *)pkts[0])->id, 100);
	put_pkt(pkts[0]);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->dup_fail, 1);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->duplicated, 8);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* 0.1% corruption: one bit of one byte past the Ethernet header. */
static void test_corrupt(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	struct sink s;
	const uint32_t n = 1000000;

	fresh(&p);
	p.corrupt_ppm = 1000;
	f = make_or_stop(&p, 9);
	sink_init(&s, 100);
	drive(f, &s, n, 32, 32, FRAME_LEN);
	CU_ASSERT_EQUAL(s.out, n);
	CU_ASSERT_EQUAL(s.bad_corruption, 0);
	CU_ASSERT_EQUAL(s.corrupt_frames, mn_fault_stats(f)->corrupted);
	CU_ASSERT_TRUE(within_5sigma(s.corrupt_frames, n, 0.001));
	CU_ASSERT_EQUAL(data_calls, (long)s.corrupt_frames);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* A frame whose bytes are shared (held for retransmission) is corrupted in a
 * private copy: the holder's bytes stay intact and nothing leaks. */
static void test_corrupt_shared(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	struct tpkt *held[100];

	fresh(&p);
	p.corrupt_ppm = MN_FAULT_PPM;
	f = make_or_stop(&p, 41);
	for (uint32_t id = 0; id < 100; id++) {
		void *h = new_pkt(id, FRAME_LEN);
		struct tpkt *t;
		int diff = 0;

		held[id] = h;
		held[id]->ref = 2;	/* the holder's reference + the one sent */
		CU_ASSERT_EQUAL_FATAL(mn_fault_apply(f, &h, 1, 1, id), 1);
		t = h;
		CU_ASSERT_PTR_NOT_EQUAL(t, held[id]);
		CU_ASSERT_EQUAL(held[id]->ref, 1);
		for (uint32_t i = 0; i < FRAME_LEN; i++) {
			CU_ASSERT_EQUAL(held[id]->data[i], pattern(id, i));
			diff += t->data[i] != pattern(id, i);
		}
		CU_ASSERT_EQUAL(diff, 1);
		put_pkt(t);
	}
	CU_ASSERT_EQUAL(private_copies, 100);
	CU_ASSERT_EQUAL(live, 100);
	for (uint32_t id = 0; id < 100; id++)
		put_pkt(held[id]);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* A configured offset range is honoured, and frames too short are left alone. */
static void test_corrupt_range(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	uint64_t hits[FRAME_LEN] = { 0 };

	fresh(&p);
	p.corrupt_ppm = MN_FAULT_PPM;
	p.corrupt_min_off = 20;
	p.corrupt_max_off = 22;
	f = make_or_stop(&p, 11);
	for (uint32_t id = 0; id < 3000; id++) {
		void *h = new_pkt(id, FRAME_LEN);
		struct tpkt *t;

		CU_ASSERT_EQUAL_FATAL(mn_fault_apply(f, &h, 1, 1, id), 1);
		t = h;
		for (uint32_t i = 0; i < FRAME_LEN; i++)
			if (t->data[i] != pattern(id, i))
				hits[i]++;
		put_pkt(t);
	}
	for (uint32_t i = 0; i < FRAME_LEN; i++) {
		if (i >= 20 && i <= 22) {
			CU_ASSERT(hits[i] > 800);	/* ~1000 each */
		} else {
			CU_ASSERT_EQUAL(hits[i], 0);
		}
	}
	CU_ASSERT_EQUAL(hits[20] + hits[21] + hits[22], 3000);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->corrupted, 3000);

	/* 20 bytes: nothing at or past offset 20 to flip */
	{
		void *h = new_pkt(5000, 20);
		struct tpkt *t;

		CU_ASSERT_EQUAL(mn_fault_apply(f, &h, 1, 1, 5000), 1);
		t = h;
		for (uint32_t i = 0; i < FRAME_LEN; i++)
			CU_ASSERT_EQUAL(t->data[i], pattern(5000, i));
		put_pkt(t);
	}
	/* 21 bytes: only offset 20 */
	{
		void *h = new_pkt(5001, 21);
		struct tpkt *t;

		CU_ASSERT_EQUAL(mn_fault_apply(f, &h, 1, 1, 5001), 1);
		t = h;
		CU_ASSERT_NOT_EQUAL(t->data[20], pattern(5001, 20));
		put_pkt(t);
	}
	CU_ASSERT_EQUAL(mn_fault_stats(f)->corrupted, 3001);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

static void run_delay(bool keep_order, struct sink *s)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	const uint32_t n = 200000;

	fresh(&p);
	p.delay_us = 5000;
	p.jitter_us = 1000;
	p.keep_order = keep_order;
	f = make_or_stop(&p, 13);
	sink_init(s, 10 * NS_PER_US);	/* 100k frames/s: ~500 held at a time */
	drive(f, s, n, 1, 1, FRAME_LEN);
	CU_ASSERT_EQUAL(s->out, n);
	CU_ASSERT_EQUAL(s->bad_early, 0);
	CU_ASSERT(s->min_delay >= 4 * NS_PER_MS);
	CU_ASSERT(s->max_delay <= 6 * NS_PER_MS);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->delayed, n);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->released, n);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->queue_full, 0);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* 5 ms +- 1 ms: every frame leaves in [4, 6] ms and not a nanosecond before
 * its due time; the jitter is really spread and, as with netem, reorders. */
static void test_delay_jitter(void)
{
	struct sink s;
	double mean;

	run_delay(false, &s);
	mean = (double)s.sum_delay / (double)s.out;
	CU_ASSERT(s.min_delay < 4 * NS_PER_MS + 50 * NS_PER_US);
	CU_ASSERT(s.max_delay > 6 * NS_PER_MS - 50 * NS_PER_US);
	/* uniform on [4, 6] ms: sd 0.577 ms, standard error of the mean ~1.3 us */
	CU_ASSERT(fabs(mean - 5e6) < 10e3);
	CU_ASSERT(s.overtaken > s.out / 10);
	fprintf(stderr, "(overtaken %.2f%%, mean %.1f us) ", 100.0 * (double)s.overtaken / (double)s.out,
		mean / 1e3);
}

/* keep_order: the same delays without a single reordering. */
static void test_delay_keep_order(void)
{
	struct sink s;

	run_delay(true, &s);
	CU_ASSERT_EQUAL(s.overtaken, 0);
}

/* Jitter larger than the delay clamps at zero: those frames leave at once. */
static void test_jitter_clamp(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	struct sink s;
	const uint32_t n = 100000;
	uint64_t now_frames;

	fresh(&p);
	p.jitter_us = 100;
	f = make_or_stop(&p, 17);
	sink_init(&s, 1 * NS_PER_US);
	drive(f, &s, n, 1, 1, FRAME_LEN);
	now_frames = n - mn_fault_stats(f)->delayed;
	CU_ASSERT_EQUAL(s.out, n);
	CU_ASSERT(s.max_delay <= 100 * NS_PER_US);
	/* P(delay drawn <= 0) = (jitter + 1) / (2 jitter + 1) over ns */
	CU_ASSERT_TRUE(within_5sigma(now_frames, n, 100001.0 / 200001.0));
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* 25% reordering, frames 10 us apart, held back 100 us: a held frame is
 * overtaken unless the 9 frames behind it are all held too. */
static void test_reorder(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	struct sink s;
	const uint32_t n = 1000000;
	double want = 0.25 * (1.0 - pow(0.25, 9));

	fresh(&p);
	p.reorder_ppm = 250000;
	p.reorder_us = 100;
	f = make_or_stop(&p, 19);
	sink_init(&s, 10 * NS_PER_US);
	drive(f, &s, n, 1, 1, FRAME_LEN);
	CU_ASSERT_EQUAL(s.out, n);
	CU_ASSERT_EQUAL(s.bad_early, 0);
	CU_ASSERT_EQUAL(s.max_delay, 100 * NS_PER_US);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->reordered, mn_fault_stats(f)->delayed);
	CU_ASSERT_TRUE(within_5sigma(mn_fault_stats(f)->reordered, n, 0.25));
	CU_ASSERT_TRUE(within_5sigma(s.overtaken, n, want));
	CU_ASSERT(s.overtaken <= mn_fault_stats(f)->reordered);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* Reordering with keep_order: jitter keeps order, reordered frames do not. */
static void test_reorder_with_keep_order(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	struct sink s;
	const uint32_t n = 100000;

	fresh(&p);
	p.delay_us = 500;
	p.jitter_us = 200;
	p.keep_order = true;
	p.reorder_ppm = 100000;
	p.reorder_us = 1000;
	f = make_or_stop(&p, 23);
	sink_init(&s, 10 * NS_PER_US);
	drive(f, &s, n, 1, 1, FRAME_LEN);
	CU_ASSERT_EQUAL(s.out, n);
	CU_ASSERT(s.overtaken > 0);
	CU_ASSERT(s.overtaken <= mn_fault_stats(f)->reordered);
	CU_ASSERT(s.min_delay >= 300 * NS_PER_US);
	CU_ASSERT(s.max_delay <= 1700 * NS_PER_US);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* A full queue lets frames through at once, counted; nothing leaks. */
static void test_queue_full(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	void *pkts[128], *rel[128];
	uint16_t r;

	fresh(&p);
	p.delay_us = 1000;
	p.queue = 16;
	f = make_or_stop(&p, 29);
	for (uint32_t i = 0; i < 100; i++)
		pkts[i] = new_pkt(i, FRAME_LEN);
	r = mn_fault_apply(f, pkts, 100, 128, 0);
	CU_ASSERT_EQUAL(r, 84);
	CU_ASSERT_EQUAL(mn_fault_held(f), 16);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->queue_full, 84);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->delayed, 16);
	for (uint16_t i = 0; i < r; i++) {
		CU_ASSERT_EQUAL(((struct tpkt *)pkts[i])->id, i + 16u);
		put_pkt(pkts[i]);
	}
	CU_ASSERT_EQUAL(mn_fault_next_due(f), 1000 * NS_PER_US);
	CU_ASSERT_EQUAL(mn_fault_release(f, rel, 128, 1000 * NS_PER_US - 1), 0);
	/* release honours cap */
	CU_ASSERT_EQUAL(mn_fault_release(f, rel, 10, 1000 * NS_PER_US), 10);
	CU_ASSERT_EQUAL(mn_fault_release(f, rel + 10, 118, 1000 * NS_PER_US), 6);
	for (uint16_t i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(((struct tpkt *)rel[i])->id, i);
		put_pkt(rel[i]);
	}
	CU_ASSERT_EQUAL(live, 0);

	/* with duplication on and the queue full, copies are given back */
	mn_fault_destroy(f);
	p.dup_ppm = MN_FAULT_PPM;
	f = make_or_stop(&p, 31);
	for (uint32_t i = 0; i < 100; i++)
		pkts[i] = new_pkt(i, FRAME_LEN);
	r = mn_fault_apply(f, pkts, 100, 128, 0);
	/* 8 originals + 8 copies held; 92 leave, 36 copies fit next to them, the
	 * other 56 find no room anywhere and are given back */
	CU_ASSERT_EQUAL(mn_fault_held(f), 16);
	CU_ASSERT_EQUAL(r, 128);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->duplicated, 8 + 36);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->queue_full, 92 + 56);
	CU_ASSERT_EQUAL(live, 16 + 128);
	for (uint16_t i = 0; i < r; i++)
		put_pkt(pkts[i]);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

/* flush and destroy give every held frame back. */
static void test_flush_destroy(void)
{
	struct mn_fault_params p;
	struct mn_fault *f;
	void *pkts[32];

	fresh(&p);
	p.delay_us = 1000000;
	p.jitter_us = 1000;
	f = make_or_stop(&p, 37);
	for (uint32_t b = 0; b < 40; b++) {
		for (uint32_t i = 0; i < 32; i++)
			pkts[i] = new_pkt(b * 32 + i, FRAME_LEN);
		CU_ASSERT_EQUAL(mn_fault_apply(f, pkts, 32, 32, b), 0);
	}
	CU_ASSERT_EQUAL(mn_fault_held(f), 1280);
	CU_ASSERT_EQUAL(live, 1280);
	mn_fault_flush(f);
	CU_ASSERT_EQUAL(live, 0);
	CU_ASSERT_EQUAL(mn_fault_held(f), 0);
	CU_ASSERT_EQUAL(mn_fault_stats(f)->flushed, 1280);
	CU_ASSERT_EQUAL(mn_fault_next_due(f), UINT64_MAX);
	for (uint32_t i = 0; i < 32; i++)
		pkts[i] = new_pkt(i, FRAME_LEN);
	CU_ASSERT_EQUAL(mn_fault_apply(f, pkts, 32, 32, 100), 0);
	CU_ASSERT_EQUAL(live, 32);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
	CU_ASSERT_EQUAL(free_calls, 1312);
}

/* Everything on at once, twice with one seed and once with another. */
static void run_trace(uint64_t seed, struct sink *s, struct mn_fault_stats *st)
{
	struct mn_fault_params p;
	struct mn_fault *f;

	fresh(&p);
	p.drop_ppm = 100000;
	p.dup_ppm = 50000;
	p.corrupt_ppm = 50000;
	p.reorder_ppm = 100000;
	p.delay_us = 1000;
	p.jitter_us = 500;
	f = make_or_stop(&p, seed);
	drive(f, s, 50000, 8, 16, FRAME_LEN);
	*st = *mn_fault_stats(f);
	mn_fault_destroy(f);
	CU_ASSERT_EQUAL(live, 0);
}

static void test_determinism(void)
{
	static uint64_t ta[3 * 60000], tb[3 * 60000], tc[3 * 60000];
	struct sink a, b, c;
	struct mn_fault_stats sa, sb, sc;

	sink_init(&a, 5 * NS_PER_US);
	sink_init(&b, 5 * NS_PER_US);
	sink_init(&c, 5 * NS_PER_US);
	a.trace = ta;
	b.trace = tb;
	c.trace = tc;
	a.trace_cap = b.trace_cap = c.trace_cap = 3 * 60000;
	run_trace(1234, &a, &sa);
	run_trace(1234, &b, &sb);
	run_trace(1235, &c, &sc);
	CU_ASSERT(a.trace_len > 3 * 40000);
	CU_ASSERT_EQUAL(a.trace_len, b.trace_len);
	CU_ASSERT_EQUAL(memcmp(ta, tb, a.trace_len * sizeof(ta[0])), 0);
	CU_ASSERT_EQUAL(memcmp(&sa, &sb, sizeof(sa)), 0);
	CU_ASSERT(a.trace_len != c.trace_len ||
		  memcmp(ta, tc, a.trace_len * sizeof(ta[0])) != 0);
	CU_ASSERT(sa.dropped != sc.dropped || sa.duplicated != sc.duplicated ||
		  sa.corrupted != sc.corrupted);
	/* every fault kind happened */
	CU_ASSERT(sa.dropped > 0 && sa.duplicated > 0 && sa.corrupted > 0 &&
		  sa.reordered > 0 && sa.delayed > 0);
	CU_ASSERT_EQUAL(a.bad_corruption, 0);
	CU_ASSERT_EQUAL(a.bad_early, 0);
	/* conservation: seen = dropped + delivered - copies (nothing queued or flushed) */
	CU_ASSERT_EQUAL(sa.seen + sa.duplicated, sa.dropped + a.out);
	CU_ASSERT_EQUAL(sa.flushed, 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "params, ops and seeds", test_params },
		{ "all-zero params are the identity", test_identity },
		{ "drop 1% of 1M", test_drop_1pct },
		{ "drop 10% of 1M", test_drop_10pct },
		{ "drop 100%", test_drop_all },
		{ "duplicate 1% of 1M, copy right behind", test_dup },
		{ "copies beyond cap wait for release; dup failure", test_dup_overflow },
		{ "corrupt 0.1% of 1M: one bit past Ethernet", test_corrupt },
		{ "corrupt offset range and short frames", test_corrupt_range },
		{ "corrupting a shared frame copies it first", test_corrupt_shared },
		{ "delay 5 ms +- 1 ms: bounds, due times, reorders", test_delay_jitter },
		{ "delay 5 ms +- 1 ms with keep_order: no reordering", test_delay_keep_order },
		{ "jitter beyond delay clamps at 0", test_jitter_clamp },
		{ "reorder 25% of 1M", test_reorder },
		{ "reorder with keep_order jitter", test_reorder_with_keep_order },
		{ "queue full passes frames, counted, no leak", test_queue_full },
		{ "flush and destroy free held frames", test_flush_destroy },
		{ "same seed same decisions, other seed other", test_determinism },
	};

	return mn_cu_run("fault", tests, sizeof(tests) / sizeof(tests[0]));
}
