/* Giving up on a silent peer by time (mn_proto.h, "Giving up"): with the
 * transport's defaults (max_rto 1 s, max_retries 8, give_up 60 s,
 * keepalive 1 s) a peer silent for 30 s, in both directions, while data is
 * queued toward it finds its flow alive when it comes back, and everything
 * sent is delivered soon after; a peer silent past give_up fails the flow
 * with -ETIMEDOUT at about give_up, busy or idle. Simulated time. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_simflow.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define NMSG 64
#define MSGLEN 3000	/* three packets */

static struct mn_sf T;

static int a_terminal(void *arg)
{
	return ((struct mn_sf *)arg)->fa == NULL;
}

static int b_has_all(void *arg)
{
	return ((struct mn_sf *)arg)->got[1] >= 1 + NMSG;
}

static int a_quiet(void *arg)
{
	struct mn_sf *t = arg;
	struct mn_flow_info i;

	mn_flow_info(t->fa, &i);
	return t->got[0] >= 1 && t->got[1] >= 1 && i.snd_una == i.snd_nxt && !i.queued;
}

/* The defaults under test, keepalive on at both ends; a flow set up and
 * one message exchanged each way. */
static void setup(void)
{
	static const char ping[] = "ping";

	mn_sf_params(&T.pa, 0);
	mn_sf_params(&T.pb, 1);
	T.pa.keepalive_ns = T.pb.keepalive_ns = MN_PROTO_DEFAULT_KEEPALIVE_NS;
	CU_ASSERT_FATAL(T.pa.give_up_ns == MN_PROTO_DEFAULT_GIVE_UP_NS);
	CU_ASSERT_FATAL(T.pa.max_rto_ns == MN_PROTO_DEFAULT_MAX_RTO_NS);
	T.on_deliver = NULL;
	CU_ASSERT_FATAL(mn_sf_setup(&T, 10000) == 0);
	CU_ASSERT_FATAL(mn_proto_send_bytes(T.fa, ping, sizeof(ping), mn_sim_now(T.s)) == 0);
	CU_ASSERT_FATAL(mn_proto_send_bytes(T.fb, ping, sizeof(ping), mn_sim_now(T.s)) == 0);
	CU_ASSERT_FATAL(mn_sf_run(&T, a_quiet, 100 * MS) == 0);
	CU_ASSERT_FATAL(a_quiet(&T));
}

/* Queue what the send queue takes now; returns how many were queued. */
static int send_some(int n)
{
	static char buf[MSGLEN];
	int i;

	for (i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		if (mn_proto_send_bytes(T.fa, buf, sizeof(buf), mn_sim_now(T.s)) != 0)
			break;
	}
	return i;
}

static void test_pause_30s(void)
{
	uint64_t t_back, t_all;
	int sent = 0, i;

	setup();
	T.drop_all[0] = T.drop_all[1] = 1;
	sent = send_some(NMSG);
	CU_ASSERT_FATAL(sent > 0);
	/* 30 s of silence, the sender refilling its queue as it would. */
	for (i = 0; i < 30; i++) {
		CU_ASSERT_EQUAL(mn_sf_run(&T, NULL, SEC), 0);
		CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
		sent += send_some(NMSG - sent);
	}
	CU_ASSERT(mn_sf_st(&T, 0)->rtos > MN_PROTO_DEFAULT_MAX_RETRIES);	/* the count alone ran out */
	CU_ASSERT(mn_sf_st(&T, 1)->keepalives_sent > MN_PROTO_DEFAULT_MAX_RETRIES);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->flows_failed, 0);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 1)->flows_failed, 0);
	CU_ASSERT_EQUAL(T.got[1], 1);
	/* Back: the next retransmission (at most max_rto away) gets through. */
	T.drop_all[0] = T.drop_all[1] = 0;
	t_back = mn_sim_now(T.s);
	for (i = 0; i < 200 && !b_has_all(&T); i++) {
		int r = mn_sf_run(&T, b_has_all, 10 * MS);

		CU_ASSERT(r == 0 || r == -ETIMEDOUT);
		sent += send_some(NMSG - sent);
	}
	CU_ASSERT_EQUAL(sent, NMSG);
	CU_ASSERT_EQUAL(T.got[1], 1 + NMSG);
	t_all = mn_sim_now(T.s);
	printf("\n  30 s silence, then all %d messages delivered %.1f ms after the peer came back ", NMSG,
	       (double)(t_all - t_back) / MS);
	CU_ASSERT(t_all - t_back <= MN_PROTO_DEFAULT_MAX_RTO_NS + 100 * MS);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED] + T.ev[1][MN_PROTO_EV_FAILED], 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET] + T.ev[1][MN_PROTO_EV_RESET], 0);
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

/* Silence past give_up with data unACKed: -ETIMEDOUT at give_up after the
 * first timeout, within one max_rto. */
static void test_gone_busy(void)
{
	const uint64_t g = MN_PROTO_DEFAULT_GIVE_UP_NS, r = MN_PROTO_DEFAULT_MAX_RTO_NS;
	uint64_t ts, tf;

	setup();
	T.drop_all[0] = T.drop_all[1] = 1;
	ts = mn_sim_now(T.s);
	CU_ASSERT_FATAL(send_some(1) == 1);
	CU_ASSERT_EQUAL(mn_sf_run(&T, a_terminal, g + 3 * r), 0);
	CU_ASSERT_FATAL(T.fa == NULL);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_FAILED], -ETIMEDOUT);
	tf = T.ev_t[0][MN_PROTO_EV_FAILED];
	printf("\n  busy flow, silent peer: ETIMEDOUT after %.2f s ", (double)(tf - ts) / SEC);
	CU_ASSERT(tf - ts >= g);
	CU_ASSERT(tf - ts <= g + 2 * r);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->flows_failed, 1);
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

/* Silence past give_up on an idle flow: keepalive fails it at keepalive +
 * give_up, within one max_rto; both ends do. */
static void test_gone_idle(void)
{
	const uint64_t g = MN_PROTO_DEFAULT_GIVE_UP_NS, r = MN_PROTO_DEFAULT_MAX_RTO_NS;
	const uint64_t ka = MN_PROTO_DEFAULT_KEEPALIVE_NS;
	uint64_t ts, tf;

	setup();
	T.drop_all[0] = T.drop_all[1] = 1;
	ts = mn_sim_now(T.s);
	CU_ASSERT_EQUAL(mn_sf_run(&T, a_terminal, ka + g + 3 * r), 0);
	CU_ASSERT_FATAL(T.fa == NULL);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_FAILED], -ETIMEDOUT);
	tf = T.ev_t[0][MN_PROTO_EV_FAILED];
	printf("\n  idle flow, silent peer: ETIMEDOUT after %.2f s ", (double)(tf - ts) / SEC);
	CU_ASSERT(tf - ts >= g);
	CU_ASSERT(tf - ts <= ka + g + 2 * r);
	CU_ASSERT_EQUAL(mn_sf_st(&T, 0)->keepalive_failures, 1);
	CU_ASSERT_EQUAL(mn_sf_run(&T, NULL, 2 * r), 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[1][MN_PROTO_EV_FAILED], -ETIMEDOUT);
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "peer silent 30 s with data queued: flow lives, all delivered", test_pause_30s },
		{ "peer silent past give_up, data unACKed: ETIMEDOUT at give_up", test_gone_busy },
		{ "peer silent past give_up, idle flow: keepalive ETIMEDOUT at give_up", test_gone_idle },
	};

	return mn_cu_run("proto_giveup", tests, sizeof(tests) / sizeof(tests[0]));
}
