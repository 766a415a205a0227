/* Piggybacked ACKs (mn_proto.h, params.ack_delay_ns) over the simulated
 * network: agreed only when both ends advertise them; a request's ACK rides
 * on the reply; an ACK nobody carries goes alone after ack_delay_ns; bursts
 * and anything out of order are ACKed without waiting; the time an ACK was
 * held never shows up in the peer's RTT. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_simflow.h"

#define US 1000ull
#define MS 1000000ull
#define LAT (10 * US)		/* one way */
#define DELAY (50 * US)		/* ack_delay_ns where on */

static struct mn_sf T;

static uint64_t now(void)
{
	return mn_sim_now(T.s);
}

static void setup(int ext_a, uint64_t delay_a, int ext_b, uint64_t delay_b)
{
	mn_sf_params(&T.pa, 0);
	T.pa.extensions = ext_a;
	T.pa.ack_delay_ns = delay_a;
	mn_sf_params(&T.pb, 1);
	T.pb.extensions = ext_b;
	T.pb.ack_delay_ns = delay_b;
	T.on_deliver = NULL;
	CU_ASSERT_FATAL(mn_sf_setup(&T, LAT) == 0);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

static uint32_t want_a, want_b;

static int a_got(void *arg)
{
	return ((struct mn_sf *)arg)->got[0] >= want_a;
}

static int b_got(void *arg)
{
	return ((struct mn_sf *)arg)->got[1] >= want_b;
}

static void send_msg(struct mn_flow *f, uint32_t len)
{
	static uint8_t buf[64 * 1418];

	CU_ASSERT_FATAL(len <= sizeof(buf));
	memset(buf, 0x5a, len);
	CU_ASSERT_FATAL(mn_proto_send_bytes(f, buf, len, now()) == 0);
}

/* The first frame of kind nf from node `from` at log index >= since; -1. */
static int first(int from, uint8_t nf, int since)
{
	for (int i = since; i < T.nlog; i++)
		if (T.log[i].from == from && T.log[i].h.net_flags == nf)
			return i;
	return -1;
}

/* Who advertises what, and what is agreed. */
static void agree_case(int ext_a, uint64_t da, int ext_b, uint64_t db, int want)
{
	struct mn_flow_info fa, fb;
	int syn, synack, i;

	setup(ext_a, da, ext_b, db);
	syn = first(0, MN_NF_SYN, 0);
	synack = first(1, MN_NF_SYNACK, 0);
	CU_ASSERT_FATAL(syn >= 0 && synack >= 0);
	CU_ASSERT_EQUAL(!!(T.log[syn].h.sack_bitmap[0] & MN_FEAT_PIGGYACK), ext_a && da);
	/* B answers with its features only when it took A's extensions. */
	CU_ASSERT_EQUAL(!!(T.log[synack].h.sack_bitmap[0] & MN_FEAT_PIGGYACK),
	                ext_a && ext_b && db);
	for (i = 1; i < MN_SACK_BYTES; i++)
		CU_ASSERT_EQUAL(T.log[syn].h.sack_bitmap[i] | T.log[synack].h.sack_bitmap[i], 0);
	mn_flow_info(T.fa, &fa);
	mn_flow_info(T.fb, &fb);
	CU_ASSERT_EQUAL(fa.piggyack, want);
	CU_ASSERT_EQUAL(fb.piggyack, want);
	/* One message each way: data carries an ackno only when agreed. */
	want_a = 1;
	want_b = 1;
	send_msg(T.fa, 100);
	CU_ASSERT_FATAL(mn_sf_run(&T, b_got, 10 * MS) == 0);
	send_msg(T.fb, 100);
	CU_ASSERT_FATAL(mn_sf_run(&T, a_got, 10 * MS) == 0);
	i = first(1, MN_NF_DATA, 0);
	CU_ASSERT_FATAL(i >= 0);
	if (want)
		CU_ASSERT_EQUAL(T.log[i].h.ackno, 2u)	/* A's message was seqno 1 */
	else
		CU_ASSERT_EQUAL(T.log[i].h.ackno, MN_ACKNO_NONE);
	teardown();
}

static void test_agree(void)
{
	agree_case(1, DELAY, 1, DELAY, 1);
	agree_case(1, DELAY, 1, 0, 0);
	agree_case(1, 0, 1, DELAY, 0);
	agree_case(1, DELAY, 0, DELAY, 0);	/* B plain Machnet */
	agree_case(0, DELAY, 1, DELAY, 0);	/* A plain Machnet */
}

/* Request-reply with a think time below the delay: no ACK packet at all
 * during the exchange, every reply carries the request's ACK and every
 * request the previous reply's; the RTT A measures is the path's, without
 * B's think time. */
static void test_request_reply(void)
{
	const uint32_t n = 100;
	const uint64_t think = 30 * US;
	struct mn_flow_info fa, fb;
	int since, acks_a, i;
	uint32_t k;

	setup(1, DELAY, 1, DELAY);
	since = T.nlog;
	for (k = 1; k <= n; k++) {
		want_b = k;
		send_msg(T.fa, 1024);
		CU_ASSERT_FATAL(mn_sf_run(&T, b_got, 10 * MS) == 0);
		CU_ASSERT_FATAL(mn_sf_run(&T, NULL, think) == 0);
		want_a = k;
		send_msg(T.fb, 1024);
		CU_ASSERT_FATAL(mn_sf_run(&T, a_got, 10 * MS) == 0);
	}
	CU_ASSERT_EQUAL(mn_sf_count(&T, 1, MN_NF_ACK, since), 0);
	acks_a = mn_sf_count(&T, 0, MN_NF_ACK, since);
	CU_ASSERT_EQUAL(acks_a, 0);	/* the last reply's ACK is still held */
	for (i = since; i < T.nlog; i++) {
		const struct mn_sf_frame *l = &T.log[i];

		CU_ASSERT_EQUAL_FATAL(l->h.net_flags, MN_NF_DATA);
		/* Request k (seqno k) carries the ACK of reply k - 1; reply k
		 * that of request k. */
		CU_ASSERT_EQUAL(l->h.ackno, l->h.seqno + (l->from ? 1u : 0u));
	}
	CU_ASSERT_EQUAL(mn_sf_st(&T, 1)->tx_piggy_acks, n);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->tx_piggy_acks, n - 1);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->rx_piggy_acks, n);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 1)->rx_piggy_acks, n - 1);
	mn_flow_info(T.fa, &fa);
	CU_ASSERT_EQUAL(fa.snd_una, fa.snd_nxt);
	printf("\n  A's srtt %.1f us (path %.0f us, think %.0f us) ", (double)fa.srtt_ns / US,
	       (double)2 * LAT / US, (double)think / US);
	CU_ASSERT(fa.srtt_ns >= 2 * LAT);
	CU_ASSERT(fa.srtt_ns < 2 * LAT + 10 * US);
	/* Left alone, A's held ACK goes after the delay; then all is quiet. */
	since = T.nlog;
	CU_ASSERT_EQUAL(mn_sf_run(&T, NULL, 5 * MS), 0);
	CU_ASSERT_EQUAL(mn_sf_count(&T, 0, MN_NF_ACK, since), 1);
	CU_ASSERT_EQUAL(T.nlog - since, 1);
	mn_flow_info(T.fb, &fb);
	CU_ASSERT_EQUAL(fb.snd_una, fb.snd_nxt);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->retransmits + mn_sf_st(&T, 1)->retransmits, 0);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->rx_dup_acks + mn_sf_st(&T, 1)->rx_dup_acks, 0);
	teardown();
}

/* No reply: the ACK goes alone ack_delay_ns after the data arrived, and its
 * echo leaves the wait out of A's RTT. */
static void test_delay_expires(void)
{
	struct mn_flow_info fa;
	uint64_t srtt0;
	int since, d, a;

	setup(1, DELAY, 1, DELAY);
	mn_flow_info(T.fa, &fa);
	srtt0 = fa.srtt_ns;	/* the handshake's sample */
	since = T.nlog;
	want_b = 1;
	send_msg(T.fa, 1024);
	CU_ASSERT_EQUAL(mn_sf_run(&T, NULL, 5 * MS), 0);
	CU_ASSERT_EQUAL(T.got[1], 1);
	d = first(0, MN_NF_DATA, since);
	a = first(1, MN_NF_ACK, since);
	CU_ASSERT_FATAL(d >= 0 && a >= 0);
	CU_ASSERT_EQUAL(mn_sf_count(&T, 1, MN_NF_ACK, since), 1);
	CU_ASSERT(T.log[a].t >= T.log[d].t + LAT + DELAY);
	CU_ASSERT(T.log[a].t <= T.log[d].t + LAT + DELAY + 5 * US);
	CU_ASSERT_EQUAL(T.log[a].h.ackno, 2u);
	mn_flow_info(T.fa, &fa);
	CU_ASSERT_EQUAL(fa.snd_una, fa.snd_nxt);
	CU_ASSERT(srtt0 >= 2 * LAT && srtt0 < 2 * LAT + 10 * US);
	CU_ASSERT(fa.srtt_ns <= srtt0 + 2 * US);	/* 1/8 of a 50 us wait would be 6 */
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->retransmits, 0);
	teardown();
}

/* A 40-packet message: B ACKs once MN_PROTO_ACK_EVERY packets wait, long
 * before the delay would run out. */
static void test_burst(void)
{
	int since, d, a;

	setup(1, DELAY, 1, DELAY);
	since = T.nlog;
	want_b = 1;
	send_msg(T.fa, 40 * 1418);
	CU_ASSERT_FATAL(mn_sf_run(&T, b_got, 10 * MS) == 0);
	d = first(0, MN_NF_DATA, since);
	a = first(1, MN_NF_ACK, since);
	CU_ASSERT_FATAL(d >= 0 && a >= 0);
	CU_ASSERT(T.log[a].t < T.log[d].t + LAT + DELAY);
	CU_ASSERT(T.log[a].h.ackno >= 1u + MN_PROTO_ACK_EVERY);
	CU_ASSERT(mn_sf_count(&T, 1, MN_NF_ACK, since) >= 2);
	teardown();
}

/* A hole: the ACK with its SACK goes at once, not after the delay. */
static void test_out_of_order(void)
{
	int since, d2, a;

	setup(1, DELAY, 1, DELAY);
	since = T.nlog;
	T.drop_nf_from[0][MN_NF_DATA] = 1;	/* the first packet of three */
	want_b = 1;
	send_msg(T.fa, 3 * 1418);
	CU_ASSERT_FATAL(mn_sf_run(&T, b_got, 100 * MS) == 0);
	d2 = first(0, MN_NF_DATA, since);
	d2 = first(0, MN_NF_DATA, d2 + 1);	/* the second: arrives first */
	a = first(1, MN_NF_ACK, since);
	CU_ASSERT_FATAL(d2 >= 0 && a >= 0);
	CU_ASSERT(T.log[a].t <= T.log[d2].t + LAT + 2 * US);
	CU_ASSERT_EQUAL(T.log[a].h.ackno, 1u);
	CU_ASSERT(T.log[a].h.sack_count >= 1);
	teardown();
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "agreed only when both ends advertise it", test_agree },
		{ "request-reply: ACKs ride on the data, RTT without think time", test_request_reply },
		{ "no reply: the ACK goes alone after the delay", test_delay_expires },
		{ "a burst is ACKed without waiting", test_burst },
		{ "out of order is ACKed at once", test_out_of_order },
	};

	return mn_cu_run("proto_piggyack", tests, sizeof(tests) / sizeof(tests[0]));
}
