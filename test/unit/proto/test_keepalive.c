/* Keepalive of idle established flows (mn_proto.h, params.keepalive_ns) over
 * the simulated network: probes answered by a live peer change nothing, a
 * silent peer fails the flow within keepalive + the retry budget, a peer
 * that forgot the flow resets it, and no probe is sent toward a plain peer,
 * with keepalive off, or while traffic flows. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_simflow.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define TICK 65536ull		/* the proto timer wheel's granularity, ns */

static struct mn_sf T;

static int a_terminal(void *arg)
{
	struct mn_sf *t = arg;

	return t->fa == NULL;
}

static int run(int (*done)(void *), uint64_t for_ns)
{
	return mn_sf_run(&T, done, for_ns);
}

static struct mn_proto *ep(int node)
{
	return mn_sf_ep(&T, node);
}

static const struct mn_proto_stats *st(int node)
{
	return mn_sf_st(&T, node);
}

/* Both endpoints up and a connected flow A -> B. */
static void setup(int ext_a, int ext_b, uint64_t ka_a, uint64_t ka_b)
{
	mn_sf_params(&T.pa, 0);
	T.pa.extensions = ext_a;
	T.pa.max_retries = 5;
	T.pa.max_rto_ns = 16 * MS;	/* so that the backoff reaches the cap */
	T.pa.keepalive_ns = ka_a;
	/* The retry count alone fails a flow, so the detection times asserted
	 * here stay those of the budget (test_giveup.c covers give_up_ns). */
	T.pa.give_up_ns = 0;
	mn_sf_params(&T.pb, 1);
	T.pb.extensions = ext_b;
	T.pb.max_retries = T.pa.max_retries;
	T.pb.max_rto_ns = T.pa.max_rto_ns;
	T.pb.keepalive_ns = ka_b;
	T.pb.give_up_ns = 0;
	T.on_deliver = NULL;
	CU_ASSERT_FATAL(mn_sf_setup(&T, 10000) == 0);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

static int quiet(void *arg)
{
	struct mn_flow_info a, b;

	(void)arg;
	mn_flow_info(T.fa, &a);
	mn_flow_info(T.fb, &b);
	return a.snd_una == a.snd_nxt && b.snd_una == b.snd_nxt && !a.queued && !b.queued &&
	       T.got[0] >= 1 && T.got[1] >= 1;
}

/* One message each way, then wait until both sides have it all ACKed. */
static void exchange(void)
{
	static const char msg[] = "ping";

	CU_ASSERT_FATAL(mn_proto_send_bytes(T.fa, msg, sizeof(msg), mn_sim_now(T.s)) == 0);
	CU_ASSERT_FATAL(mn_proto_send_bytes(T.fb, msg, sizeof(msg), mn_sim_now(T.s)) == 0);
	CU_ASSERT_FATAL(run(quiet, 100 * MS) == 0);
}

static int is_probe(const struct mn_sf_frame *l)
{
	return l->h.net_flags == MN_NF_DATA && l->len == MN_ALL_HLEN + 1;
}

static int count_from(int from, uint8_t nf, int since)
{
	return mn_sf_count(&T, from, nf, since);
}

/* The RTO backed off b times, capped, as the sender computes it. */
static uint64_t rto_backed_off(const struct mn_proto_params *p, uint64_t rto, uint32_t b)
{
	while (b-- && rto < p->max_rto_ns)
		rto <<= 1;
	return rto < p->max_rto_ns ? rto : p->max_rto_ns;
}

/* What the retry budget of a packet sent with RTO rto comes to: the
 * timeouts of the first transmission and of max_retries retransmissions,
 * backed off and capped like the sender does. */
static uint64_t retry_budget(const struct mn_proto_params *p, uint64_t rto)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i <= p->max_retries; i++)
		sum += rto_backed_off(p, rto, i);
	return sum;
}

/* (a) */
static void test_live_peer(void)
{
	const uint64_t ka = 200 * MS, dur = 60 * SEC;
	struct mn_proto_stats a0, b0;
	struct mn_flow_info fa0, fa1, fb0, fb1;
	uint64_t nprobe_a, nprobe_b, t0;
	int i, j, since, probes = 0;

	setup(1, 1, ka, ka);
	exchange();
	a0 = *st(0);
	b0 = *st(1);
	mn_flow_info(T.fa, &fa0);
	mn_flow_info(T.fb, &fb0);
	CU_ASSERT_FATAL(fa0.extensions == 1);
	since = T.nlog;
	t0 = mn_sim_now(T.s);
	CU_ASSERT_EQUAL(run(NULL, dur), 0);
	CU_ASSERT_EQUAL(mn_sim_now(T.s), t0 + dur);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	nprobe_a = st(0)->keepalives_sent - a0.keepalives_sent;
	nprobe_b = st(1)->keepalives_sent - b0.keepalives_sent;
	/* Each side hears the other's probes, so about one probe per interval
	 * in all; an unanswered one would be re-probed at the RTO (many more). */
	CU_ASSERT(nprobe_a + nprobe_b >= dur / (ka + ka / 10));
	CU_ASSERT(nprobe_a <= dur / ka + 1);
	CU_ASSERT(nprobe_b <= dur / ka + 1);
	/* Every probe arrived and was taken as a duplicate, and answered. */
	CU_ASSERT_EQUAL(st(1)->rx_dup - b0.rx_dup, nprobe_a);
	CU_ASSERT_EQUAL(st(0)->rx_dup - a0.rx_dup, nprobe_b);
	CU_ASSERT(st(0)->rx_acks - a0.rx_acks >= nprobe_a);
	CU_ASSERT(st(1)->rx_acks - b0.rx_acks >= nprobe_b);
	for (i = since; i < T.nlog; i++) {
		const struct mn_sf_frame *l = &T.log[i];

		if (l->h.net_flags != MN_NF_DATA)
			continue;
		CU_ASSERT(is_probe(l));
		CU_ASSERT_EQUAL(l->h.seqno, (l->from ? fb0.snd_nxt : fa0.snd_nxt) - 1);
		CU_ASSERT_EQUAL(l->h.ackno, MN_ACKNO_NONE);
		CU_ASSERT_EQUAL(l->h.msg_flags, MN_MF_FIRST | MN_MF_LAST);
		CU_ASSERT(l->h.timestamp != 0);
		probes++;
		/* Answered at once: the peer's next ACK, echoing the probe's
		 * timestamp. (Both sides may probe at the same instant.) */
		for (j = i + 1; j < T.nlog; j++)
			if (T.log[j].from != l->from && T.log[j].h.net_flags == MN_NF_ACK)
				break;
		CU_ASSERT_FATAL(j < T.nlog);
		CU_ASSERT_EQUAL(T.log[j].h.ackno, l->h.seqno + 1);
		CU_ASSERT_EQUAL(T.log[j].h.timestamp, l->h.timestamp);
		CU_ASSERT(T.log[j].t - l->t < MS);
	}
	CU_ASSERT_EQUAL((uint64_t)probes, nprobe_a + nprobe_b);
	/* Nothing delivered, nothing else moved. */
	CU_ASSERT_EQUAL(T.got[0], 1);
	CU_ASSERT_EQUAL(T.got[1], 1);
	CU_ASSERT_EQUAL(st(0)->msgs_delivered, a0.msgs_delivered);
	CU_ASSERT_EQUAL(st(1)->msgs_delivered, b0.msgs_delivered);
	CU_ASSERT_EQUAL(st(0)->tx_data, a0.tx_data);
	CU_ASSERT_EQUAL(st(1)->tx_data, b0.tx_data);
	CU_ASSERT_EQUAL(st(0)->retransmits + st(1)->retransmits, a0.retransmits + b0.retransmits);
	CU_ASSERT_EQUAL(st(0)->rtos + st(1)->rtos, a0.rtos + b0.rtos);
	CU_ASSERT_EQUAL(st(0)->rx_dup_acks + st(1)->rx_dup_acks, a0.rx_dup_acks + b0.rx_dup_acks);
	CU_ASSERT_EQUAL(st(0)->fast_retransmits, a0.fast_retransmits);
	CU_ASSERT_EQUAL(st(0)->rx_stale_acks + st(1)->rx_stale_acks,
	                a0.rx_stale_acks + b0.rx_stale_acks);
	CU_ASSERT_EQUAL(st(0)->keepalive_failures + st(1)->keepalive_failures, 0);
	mn_flow_info(T.fa, &fa1);
	mn_flow_info(T.fb, &fb1);
	CU_ASSERT_EQUAL(fa1.snd_nxt, fa0.snd_nxt);
	CU_ASSERT_EQUAL(fa1.rcv_nxt, fa0.rcv_nxt);
	CU_ASSERT_EQUAL(fa1.srtt_ns, fa0.srtt_ns);
	CU_ASSERT_EQUAL(fa1.rto_ns, fa0.rto_ns);
	CU_ASSERT_EQUAL(fa1.cwnd, fa0.cwnd);
	CU_ASSERT_EQUAL(fb1.srtt_ns, fb0.srtt_ns);
	CU_ASSERT_EQUAL(fb1.cwnd, fb0.cwnd);
	/* The flow still carries data. */
	exchange();
	CU_ASSERT_EQUAL(T.got[0], 2);
	CU_ASSERT_EQUAL(T.got[1], 2);
	teardown();
}

/* (b) */
static void test_silent_peer(void)
{
	const uint64_t ka = 100 * MS;
	struct mn_flow_info fi;
	uint64_t ts, budget, tf, prev = 0;
	uint32_t n = 0;
	int i, since;

	setup(1, 1, ka, ka);
	exchange();
	mn_flow_info(T.fa, &fi);
	budget = retry_budget(&T.pa, fi.rto_ns);
	/* The budget must reach the cap, or the test proves less than it says. */
	CU_ASSERT_FATAL(fi.rto_ns << T.pa.max_retries > T.pa.max_rto_ns);
	ts = mn_sim_now(T.s);
	since = T.nlog;
	T.drop_all[0] = T.drop_all[1] = 1;
	CU_ASSERT_EQUAL(run(a_terminal, ka + budget + 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_FAILED], -ETIMEDOUT);
	tf = T.ev_t[0][MN_PROTO_EV_FAILED];
	printf("\n  silence -> ETIMEDOUT after %.1f ms (keepalive %.0f ms + budget %.1f ms) ",
	       (double)(tf - ts) / MS, (double)ka / MS, (double)budget / MS);
	CU_ASSERT(tf - ts >= budget);
	CU_ASSERT(tf - ts <= ka + budget + (T.pa.max_retries + 2) * TICK);
	CU_ASSERT_EQUAL(st(0)->keepalives_sent, T.pa.max_retries + 1);
	CU_ASSERT_EQUAL(st(0)->keepalive_failures, 1);
	CU_ASSERT_EQUAL(st(0)->flows_failed, 1);
	CU_ASSERT_EQUAL(st(0)->rtos, 0);
	CU_ASSERT_EQUAL(st(0)->retransmits, 0);
	/* Probes back off like retransmissions; an RST ends it. */
	for (i = since; i < T.nlog; i++) {
		const struct mn_sf_frame *l = &T.log[i];

		if (l->from != 0)
			continue;
		if (is_probe(l)) {
			if (n) {
				uint64_t want = rto_backed_off(&T.pa, fi.rto_ns, n - 1);

				CU_ASSERT(l->t - prev >= want && l->t - prev <= want + TICK);
			}
			prev = l->t;
			n++;
		}
	}
	CU_ASSERT_EQUAL(n, T.pa.max_retries + 1);
	CU_ASSERT(count_from(0, MN_NF_RST, since) == 1);
	CU_ASSERT_EQUAL(T.got[0], 1);
	/* B, silent too, gives up on A the same way. */
	CU_ASSERT_EQUAL(run(NULL, ka + budget + 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[1][MN_PROTO_EV_FAILED], -ETIMEDOUT);
	CU_ASSERT_EQUAL(st(1)->keepalive_failures, 1);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(0)) + mn_proto_nflows(ep(1)), 0);
	teardown();
}

/* (b'): the peer answers again in the middle of the probing: the flow
 * lives on and the probing stops. */
static void test_peer_back(void)
{
	const uint64_t ka = 100 * MS;
	uint64_t k0;

	setup(1, 1, ka, 0);
	exchange();
	T.drop_all[0] = 1;	/* A's probes are lost, B does not probe */
	CU_ASSERT_EQUAL(run(NULL, ka + 3 * MS), 0);
	CU_ASSERT(st(0)->keepalives_sent >= 2);
	CU_ASSERT_FATAL(T.fa != NULL);
	T.drop_all[0] = 0;
	k0 = st(0)->keepalives_sent;
	CU_ASSERT_EQUAL(run(NULL, 50 * MS), 0);
	CU_ASSERT_EQUAL(st(0)->keepalives_sent, k0 + 1);	/* the re-probe that got through */
	CU_ASSERT_FATAL(T.fa != NULL);
	CU_ASSERT_EQUAL(run(NULL, 20 * ka), 0);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	CU_ASSERT_EQUAL(st(0)->keepalive_failures, 0);
	CU_ASSERT(st(0)->keepalives_sent <= k0 + 1 + 20);
	teardown();
}

/* (c) */
static void test_peer_forgot(void)
{
	const uint64_t ka = 100 * MS;
	uint64_t t0;

	setup(1, 1, ka, ka);
	exchange();
	/* B's stack loses the flow without A hearing of it (a restart). */
	T.drop_nf_from[1][MN_NF_RST] = 1;
	mn_proto_abort(T.fb, mn_sim_now(T.s));
	CU_ASSERT_FATAL(T.fb == NULL);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(1)), 0);
	CU_ASSERT_FATAL(T.fa != NULL);
	t0 = mn_sim_now(T.s);
	CU_ASSERT_EQUAL(run(a_terminal, 2 * ka), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_RESET], -ECONNRESET);
	CU_ASSERT(T.ev_t[0][MN_PROTO_EV_RESET] - t0 <= ka + MS);
	CU_ASSERT_EQUAL(st(0)->keepalives_sent, 1);
	CU_ASSERT_EQUAL(st(1)->rst_unknown_sent, 1);
	CU_ASSERT_EQUAL(st(0)->keepalive_failures, 0);
	teardown();
}

/* (d), (e): no probe, and no timer that could send one. */
static void idle_no_probe(int ext_a, int ext_b, uint64_t ka)
{
	int since;

	setup(ext_a, ext_b, ka, ka);
	exchange();
	since = T.nlog;
	CU_ASSERT_EQUAL(mn_proto_next_deadline(ep(0)), UINT64_MAX);
	CU_ASSERT_EQUAL(mn_proto_next_deadline(ep(1)), UINT64_MAX);
	CU_ASSERT_EQUAL(run(NULL, 60 * SEC), 0);
	CU_ASSERT_EQUAL(T.nlog, since);
	CU_ASSERT_EQUAL(st(0)->keepalives_sent + st(1)->keepalives_sent, 0);
	/* A peer gone silent goes unnoticed here (documented). */
	T.drop_all[0] = T.drop_all[1] = 1;
	CU_ASSERT_EQUAL(run(NULL, 60 * SEC), 0);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	teardown();
}

static void test_plain_peer(void)
{
	idle_no_probe(1, 0, 100 * MS);	/* A advertises, B plain: not agreed */
	idle_no_probe(0, 0, 100 * MS);
}

static void test_off(void)
{
	idle_no_probe(1, 1, 0);
}

/* (f) */
static void traffic(int both)
{
	const uint64_t ka = 5 * MS;
	static const char msg[] = "traffic";
	uint32_t i, n = 2000;
	uint64_t k0;

	setup(1, 1, ka, ka);
	for (i = 0; i < n; i++) {
		CU_ASSERT_FATAL(mn_proto_send_bytes(T.fa, msg, sizeof(msg), mn_sim_now(T.s)) == 0);
		if (both)
			CU_ASSERT_FATAL(mn_proto_send_bytes(T.fb, msg, sizeof(msg), mn_sim_now(T.s)) == 0);
		CU_ASSERT_FATAL(run(NULL, ka / 5) == 0);
		CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	}
	CU_ASSERT_EQUAL(T.got[1], n);
	CU_ASSERT_EQUAL(T.got[0], both ? n : 0);
	CU_ASSERT_EQUAL(st(0)->keepalives_sent, 0);
	CU_ASSERT_EQUAL(st(1)->keepalives_sent, 0);
	/* Keepalive was armed all along: idle, it probes. */
	k0 = st(0)->keepalives_sent + st(1)->keepalives_sent;
	CU_ASSERT_EQUAL(run(NULL, 3 * ka), 0);
	CU_ASSERT(st(0)->keepalives_sent + st(1)->keepalives_sent > k0);
	teardown();
}

static void test_traffic(void)
{
	traffic(1);
	traffic(0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "idle flow, live peer: probes answered, nothing else moves", test_live_peer },
		{ "peer silent: ETIMEDOUT within keepalive + retry budget", test_silent_peer },
		{ "peer answers again mid-probing: flow lives", test_peer_back },
		{ "peer forgot the flow: RST -> ECONNRESET", test_peer_forgot },
		{ "no probes toward a plain peer", test_plain_peer },
		{ "no probes with keepalive off", test_off },
		{ "no probes while traffic flows", test_traffic },
	};

	return mn_cu_run("proto_keepalive", tests, sizeof(tests) / sizeof(tests[0]));
}
