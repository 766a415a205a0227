/* RSS-aware source ports (mn_rss, mn_port_pick): the Toeplitz hash of a
 * reply's tuple equals DPDK's own rte_softrss for random keys and tuples
 * (and the published Microsoft test vector); for random keys, RETAs and
 * peers every port a connect is given puts the peer's replies on one of the
 * engine's queues (q % engines == engine) and follows the stride rule; the
 * picker still skips ports in use and listeners and still rotates; a RETA
 * with none of the engine's queues, or with too few, takes the fallback
 * port (stride rule only) and counts it in port_rss_miss. No network: the
 * frames an endpoint sends are dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_thash.h>

#include "mn_cunit.h"
#include "mn_null_ops.h"
#include "mn_proto.h"
#include "mn_rss.h"

#define IP_A 0xc6120001u	/* 198.18.0.1 */
#define NPORTS (65536 - MN_PROTO_FIRST_PORT)

/* xorshift64*: fixed seeds, so a failure reproduces. */
static uint64_t g_rng = 0x243f6a8885a308d3ull;

static uint32_t rnd(void)
{
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return (uint32_t)((g_rng * 0x2545f4914f6cdd1dull) >> 32);
}

static void random_key(struct mn_rss *r, uint32_t key_len)
{
	r->key_len = key_len;
	for (uint32_t i = 0; i < key_len; i++)
		r->key[i] = (uint8_t)rnd();
}

/* A random RETA over n_queues queues (not round robin: any mix). */
static void random_reta(struct mn_rss *r, uint32_t size, uint32_t n_queues)
{
	r->reta_size = size;
	for (uint32_t i = 0; i < size; i++)
		r->reta[i] = (uint16_t)(rnd() % n_queues);
}

/* DPDK's reference for the frame src_ip:sport -> dst_ip:dport. */
static uint32_t softrss(const struct mn_rss *r, uint32_t src_ip, uint32_t dst_ip,
			uint16_t sport, uint16_t dport)
{
	/* rte_softrss reads the key as 32-bit words. */
	uint32_t key[MN_RSS_KEY_MAX / 4];
	union rte_thash_tuple t;

	memcpy(key, r->key, sizeof(key));
	memset(&t, 0, sizeof(t));
	t.v4.src_addr = src_ip;
	t.v4.dst_addr = dst_ip;
	t.v4.sport = sport;
	t.v4.dport = dport;
	return rte_softrss((uint32_t *)&t.v4, RTE_THASH_V4_L4_LEN, (const uint8_t *)key);
}

static struct mn_proto *make(uint32_t seed, const struct mn_rss *rss, uint32_t engines,
			     uint32_t engine, uint32_t max_flows)
{
	static const struct mn_proto_ops ops = { NULL, op_tx, op_hold, op_release, op_alloc,
						 op_deliver, op_event, NULL };
	struct mn_proto_params p;

	mn_proto_params_default(&p);
	p.n_local = 1;
	p.local[0].ip = IP_A;
	p.local[0].mac[0] = 2;
	p.local[0].rss = rss;
	p.port_seed = seed;
	p.port_stride = engines;
	p.port_phase = engine;
	p.max_flows = max_flows;
	p.max_half_open = 1;
	return mn_proto_create(&p, &ops, 0);
}

static uint64_t misses(const struct mn_proto *ep)
{
	return mn_proto_stats(ep)->port_rss_miss;
}

/* A random peer in 198.18.0.0/15 and a random port. */
static void random_peer(uint32_t *rip, uint16_t *rport)
{
	*rip = 0xc6120000u | (rnd() & 0x1ffff);
	*rport = (uint16_t)(rnd() | 1);
}

/* Microsoft's RSS verification suite, IPv4 with TCP/UDP ports: the first
 * entry, 66.9.149.187:2794 -> 161.142.100.80:1766, hashes to 0x51ccc178. */
static void test_known_vector(void)
{
	static const uint8_t key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
		0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
		0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
	};
	struct mn_rss r;

	memset(&r, 0, sizeof(r));
	r.key_len = sizeof(key);
	memcpy(r.key, key, sizeof(key));
	r.reta_size = 1;
	CU_ASSERT_EQUAL(mn_rss_hash_v4_udp(&r, 0x420995bbu, 0xa18e6450u, 2794, 1766), 0x51ccc178u);
	CU_ASSERT_EQUAL(softrss(&r, 0x420995bbu, 0xa18e6450u, 2794, 1766), 0x51ccc178u);
}

/* 64 random keys (40 and 52 bytes) x 1,000 random tuples against
 * rte_softrss; the split form (base ^ lport part) and mn_rss_lands agree. */
static void test_hash_vs_softrss(void)
{
	static struct mn_rss r;
	unsigned bad = 0, bad_split = 0, bad_lands = 0;

	for (unsigned k = 0; k < 64; k++) {
		random_key(&r, k & 1 ? 52 : 40);
		random_reta(&r, k & 2 ? 512 : 128, 1 + k % 16);
		CU_ASSERT_FATAL(mn_rss_valid(&r));
		for (unsigned i = 0; i < 1000; i++) {
			uint32_t lip = rnd(), rip = rnd();
			uint16_t lp = (uint16_t)rnd(), rp = (uint16_t)rnd();
			/* The reply: from the peer to us. */
			uint32_t ref = softrss(&r, rip, lip, rp, lp);
			uint16_t q = r.reta[ref % r.reta_size];

			if (mn_rss_hash_v4_udp(&r, rip, lip, rp, lp) != ref)
				bad++;
			if ((mn_rss_reply_base(&r, lip, rip, rp) ^ mn_rss_lport_part(&r, lp)) != ref)
				bad_split++;
			if (mn_rss_reply_queue(&r, lip, lp, rip, rp) != q ||
			    !mn_rss_lands(&r, lip, lp, rip, rp, q) ||
			    mn_rss_lands(&r, lip, lp, rip, rp, (uint16_t)(q + 1)))
				bad_lands++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(bad_split, 0);
	CU_ASSERT_EQUAL(bad_lands, 0);
}

/* For engines x queues in {1,2,4} x {1,2,3} per engine, every engine's
 * connects to random peers: the port lands the reply on one of its
 * queues (by rte_softrss) and follows the stride rule; no fallback. */
static void test_picker_lands(void)
{
	static struct mn_rss r;
	static const uint32_t engines[] = { 1, 2, 4 };
	unsigned bad_queue = 0, bad_stride = 0, connects = 0;

	for (unsigned ei = 0; ei < 3; ei++)
		for (uint32_t per = 1; per <= 3; per++) {
			uint32_t n = engines[ei], nq = n * per;

			random_key(&r, 40);
			random_reta(&r, 128, nq);
			/* Every engine owns some entry: force one each. */
			for (uint32_t e = 0; e < n; e++)
				r.reta[e] = (uint16_t)e;
			for (uint32_t e = 0; e < n; e++) {
				struct mn_proto *ep = make(rnd() | 1, &r, n, e, 64);

				CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
				for (unsigned i = 0; i < 500; i++) {
					uint32_t rip;
					uint16_t rport, lp;
					struct mn_flow *f;

					random_peer(&rip, &rport);
					f = mn_proto_connect(ep, IP_A, rip, rport, MAC_B, NULL, i);
					CU_ASSERT_PTR_NOT_NULL_FATAL(f);
					lp = lport(f);
					connects++;
					if (r.reta[softrss(&r, rip, IP_A, rport, lp) % 128] % n != e)
						bad_queue++;
					if (lp % n != e)
						bad_stride++;
					mn_proto_abort(f, i);
				}
				CU_ASSERT_EQUAL(misses(ep), 0);
				mn_proto_destroy(ep);
			}
		}
	CU_ASSERT_EQUAL(connects, 500 * 3 * (1 + 2 + 4));
	CU_ASSERT_EQUAL(bad_queue, 0);
	CU_ASSERT_EQUAL(bad_stride, 0);
	CU_ASSERT_EQUAL(g_bufs, 0);
}

/* The endpoint keeps its own copy: the caller's table may change or go. */
static void test_copy_and_invalid(void)
{
	struct mn_rss *r = calloc(1, sizeof(*r));
	struct mn_proto *ep;
	struct mn_flow *f;
	uint32_t rip = 0xc6120102u;
	uint16_t lp;
	static struct mn_rss keep;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	random_key(r, 40);
	random_reta(r, 64, 4);
	r->reta[0] = 1;
	keep = *r;
	ep = make(77, r, 2, 1, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	memset(r, 0, sizeof(*r));
	free(r);
	f = mn_proto_connect(ep, IP_A, rip, 7000, MAC_B, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	lp = lport(f);
	CU_ASSERT_EQUAL(mn_rss_reply_queue(&keep, IP_A, lp, rip, 7000) % 2, 1);
	mn_proto_destroy(ep);

	/* Sizes out of range: refused at create. */
	keep.key_len = 12;
	errno = 0;
	CU_ASSERT_PTR_NULL(make(77, &keep, 2, 1, 8));
	CU_ASSERT_EQUAL(errno, EINVAL);
	keep.key_len = 40;
	keep.reta_size = 0;
	CU_ASSERT_PTR_NULL(make(77, &keep, 2, 1, 8));
	CU_ASSERT_EQUAL(g_bufs, 0);
}

/* Ports in use: 2,000 flows open at once to one peer get 2,000 distinct
 * ports, each landing; a listener's port is never given. Rotation:
 * connect/abort cycles never repeat the previous port and move forward
 * (mod the range) by a bounded step; over a full turn the cursor visits
 * the whole range (the ports it gives span it). */
static void test_in_use_and_rotation(void)
{
	static struct mn_rss r;
	static struct mn_flow *fl[2000];
	static uint8_t seen[65536];
	struct mn_proto *ep;
	uint32_t rip = 0xc6120105u;
	uint16_t rport = 9000, prev = 0, lo = 65535, hi = 0;
	unsigned dup = 0, bad = 0, back = 0;

	random_key(&r, 40);
	random_reta(&r, 128, 4);
	r.reta[0] = 0;
	r.reta[1] = 1;
	ep = make(4242, &r, 2, 0, 2001);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < 2000; i++) {
		uint16_t lp;

		fl[i] = mn_proto_connect(ep, IP_A, rip, rport, MAC_B, NULL, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(fl[i]);
		lp = lport(fl[i]);
		dup += seen[lp]++ != 0;
		bad += mn_rss_reply_queue(&r, IP_A, lp, rip, rport) % 2 != 0 || lp % 2 != 0;
	}
	CU_ASSERT_EQUAL(dup, 0);
	CU_ASSERT_EQUAL(bad, 0);
	for (unsigned i = 0; i < 2000; i++)
		mn_proto_abort(fl[i], 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep), 0);

	/* Rotation over more than a full turn of the 64,512 ports: each
	 * step forward at most MN_PROTO_RSS_TRIES free ports of the stride. */
	for (unsigned i = 0; i < 40000; i++) {
		struct mn_flow *f = mn_proto_connect(ep, IP_A, rip, rport, MAC_B, NULL, i);
		uint16_t lp;

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		lp = lport(f);
		if (i > 0) {
			uint32_t step = (uint32_t)(lp - prev + NPORTS) % NPORTS;

			if (lp < prev)
				back++;
			if (step == 0 || step > 2 * MN_PROTO_RSS_TRIES)
				bad++;
		}
		bad += mn_rss_reply_queue(&r, IP_A, lp, rip, rport) % 2 != 0;
		lo = lp < lo ? lp : lo;
		hi = lp > hi ? lp : hi;
		prev = lp;
		mn_proto_abort(f, i);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* About a quarter of the ports fit (stride 2, half the queues): a
	 * turn is ~16,000 connects, so 40,000 wrap at least twice. */
	CU_ASSERT(back >= 2);
	CU_ASSERT(lo < MN_PROTO_FIRST_PORT + 200);
	CU_ASSERT(hi > 65535 - 200);
	CU_ASSERT_EQUAL(misses(ep), 0);
	mn_proto_destroy(ep);

	/* A listener on the port a connect would get: the next one is given. */
	ep = make(31337, &r, 2, 0, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	{
		struct mn_flow *f = mn_proto_connect(ep, IP_A, rip, rport, MAC_B, NULL, 0);
		uint16_t first;

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		first = lport(f);
		mn_proto_destroy(ep);
		ep = make(31337, &r, 2, 0, 4);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
		CU_ASSERT_EQUAL(mn_proto_listen(ep, 0, first, NULL), 0);
		f = mn_proto_connect(ep, IP_A, rip, rport, MAC_B, NULL, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_NOT_EQUAL(lport(f), first);
		CU_ASSERT_EQUAL(mn_rss_reply_queue(&r, IP_A, lport(f), rip, rport) % 2, 0);
		CU_ASSERT_EQUAL(misses(ep), 0);
	}
	mn_proto_destroy(ep);
	CU_ASSERT_EQUAL(g_bufs, 0);
}

/* No RETA entry is the engine's (every entry queue 0, engine 1 of 2): each
 * connect takes the first free port of its stride at once, counted. With
 * one entry of 2,048 its own, most connects exhaust MN_PROTO_RSS_TRIES:
 * either the port lands, or it does not and exactly one miss is counted. */
static void test_fallback(void)
{
	static struct mn_rss r;
	struct mn_proto *ep;
	uint32_t rip = 0xc6120107u;
	uint16_t prev = 0;
	unsigned bad = 0, landed = 0, missed = 0;

	random_key(&r, 40);
	r.reta_size = 256;
	memset(r.reta, 0, sizeof(r.reta));
	ep = make(5, &r, 2, 1, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	for (unsigned i = 0; i < 100; i++) {
		struct mn_flow *f = mn_proto_connect(ep, IP_A, rip, 80, MAC_B, NULL, i);

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		bad += lport(f) % 2 != 1;
		/* Still rotating: the next port of the stride. */
		if (i > 0)
			bad += lport(f) != (prev >= 65534 ? MN_PROTO_FIRST_PORT + 1 : prev + 2);
		prev = lport(f);
		CU_ASSERT_EQUAL(misses(ep), i + 1);
		mn_proto_abort(f, i);
	}
	CU_ASSERT_EQUAL(bad, 0);
	mn_proto_destroy(ep);

	random_key(&r, 40);
	r.reta_size = 2048;
	memset(r.reta, 0, sizeof(r.reta));
	r.reta[1234] = 3;	/* queue 3: engine 1 of 2 */
	ep = make(6, &r, 2, 1, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	for (unsigned i = 0; i < 200; i++) {
		uint64_t m0 = misses(ep);
		struct mn_flow *f;
		uint16_t lp;
		int lands;

		f = mn_proto_connect(ep, IP_A, rip, (uint16_t)(1000 + i), MAC_B, NULL, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		lp = lport(f);
		lands = mn_rss_reply_queue(&r, IP_A, lp, rip, (uint16_t)(1000 + i)) == 3;
		landed += lands;
		missed += !lands;
		bad += lp % 2 != 1;
		bad += misses(ep) - m0 != (lands ? 0u : 1u);
		mn_proto_abort(f, i);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* 256 tries at 1/2048: about 12% land. */
	CU_ASSERT(missed > 100);
	CU_ASSERT(landed > 0);
	mn_proto_destroy(ep);
	CU_ASSERT_EQUAL(g_bufs, 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "known vector", test_known_vector },
		{ "hash equals rte_softrss", test_hash_vs_softrss },
		{ "picker lands on the engine's queues", test_picker_lands },
		{ "endpoint copies the table; bad sizes refused", test_copy_and_invalid },
		{ "ports in use, listeners, rotation", test_in_use_and_rotation },
		{ "no fitting port: fallback counted", test_fallback },
	};

	return mn_cu_run("proto_rss", tests, sizeof(tests) / sizeof(tests[0]));
}
