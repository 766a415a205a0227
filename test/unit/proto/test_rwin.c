/* Receiver-driven flow control (mn_proto.h, "Flow control"): B's
 * application stops reading with a budget of BUDGET packets (what it holds
 * plus what B's endpoint holds for the flow). B's window closes at the
 * budget; A stops sending, neither retransmits into the closed window nor
 * fails the flow although the closed window outlasts give_up_ns many times;
 * when B's application reads again, every message arrives, in order, soon
 * after. Simulated time. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_simflow.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define NMSG 200
#define BASELEN 3000	/* message i is BASELEN + i bytes: three packets */
#define BUDGET 64	/* packets B's application takes before it reads */

static struct mn_sf T;
static uint32_t app_held;	/* packets B's application holds, unread */
static int app_reads;		/* 1: B's application consumes at once */
static uint32_t next_len;	/* length the next delivery must have */
static int out_of_order;
static int sent;

static uint32_t pkts_of(uint32_t len)
{
	uint32_t mss = mn_proto_mss(mn_sf_ep(&T, 1));

	return (len + mss - 1) / mss;
}

static void on_deliver(struct mn_sf *sf, int node, struct mn_flow *f, uint32_t len)
{
	(void)sf;
	(void)f;
	if (node != 1)
		return;
	if (len != next_len)
		out_of_order++;
	next_len = len + 1;
	if (!app_reads)
		app_held += pkts_of(len);
}

/* The budget, with the glue's rule: room while the application and the
 * endpoint together hold less than BUDGET, and always while the
 * application holds nothing (a message larger than the budget must pass). */
static int rx_room(struct mn_sf *sf, int node, uint32_t held)
{
	(void)sf;
	if (node != 1)
		return 1;
	return app_held == 0 || app_held + held < BUDGET;
}

static int b_has_all(void *arg)
{
	return ((struct mn_sf *)arg)->got[1] >= (uint32_t)NMSG;
}

static void send_some(void)
{
	static char buf[BASELEN + NMSG];

	for (; sent < NMSG; sent++) {
		memset(buf, 'a' + sent % 26, BASELEN + sent);
		if (mn_proto_send_bytes(T.fa, buf, BASELEN + sent, mn_sim_now(T.s)) != 0)
			break;
	}
}

static void setup(void)
{
	mn_sf_params(&T.pa, 0);
	mn_sf_params(&T.pb, 1);
	/* A short give-up time, so that the closed window outlasts it. */
	T.pa.give_up_ns = T.pb.give_up_ns = 2 * SEC;
	T.on_deliver = on_deliver;
	T.rx_room = rx_room;
	app_held = 0;
	app_reads = 0;
	next_len = BASELEN;
	out_of_order = 0;
	sent = 0;
	CU_ASSERT_FATAL(mn_sf_setup(&T, 10000) == 0);
	send_some();
	CU_ASSERT_FATAL(sent > 0);
}

/* Runs for_ns in 10 ms steps, A's application refilling its queue. */
static void run_sending(uint64_t for_ns)
{
	uint64_t end = mn_sim_now(T.s) + for_ns;

	while (mn_sim_now(T.s) < end) {
		int r = mn_sf_run(&T, NULL, 10 * MS);

		CU_ASSERT(r == 0 || r == -EDEADLK);
		if (T.fa == NULL || T.fb == NULL)
			return;
		send_some();
	}
}

static void test_closes_at_budget(void)
{
	const struct mn_proto_stats *sb, *sa;

	setup();
	run_sending(200 * MS);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	sa = mn_sf_st(&T, 0);
	sb = mn_sf_st(&T, 1);
	printf("\n  closed at %u packets held by the app (budget %u), %u messages, %llu refused ",
	       app_held, BUDGET, T.got[1], (unsigned long long)sb->rx_window_closed);
	/* The last message taken may cross the budget by its own size. */
	CU_ASSERT(app_held <= BUDGET + pkts_of(BASELEN + NMSG));
	CU_ASSERT(T.got[1] < (uint32_t)NMSG);
	CU_ASSERT(sb->rx_window_closed > 0);
	CU_ASSERT(sa->zwin_probes > 0);
	CU_ASSERT_EQUAL(out_of_order, 0);
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

static void test_no_storm_no_failure(void)
{
	const struct mn_proto_stats *sa;
	uint64_t rexmit0, rto0, frames0, probes0;
	int log0;

	setup();
	run_sending(200 * MS);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	sa = mn_sf_st(&T, 0);
	rexmit0 = sa->retransmits;
	rto0 = sa->rtos;
	frames0 = sa->tx_frames;
	probes0 = sa->zwin_probes;
	log0 = T.nlog;
	/* Closed for 10 s: five times give_up_ns. */
	run_sending(10 * SEC);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	printf("\n  10 s closed: %llu frames from A (%llu probes), %llu retransmissions, %llu RTOs ",
	       (unsigned long long)(sa->tx_frames - frames0),
	       (unsigned long long)(sa->zwin_probes - probes0),
	       (unsigned long long)(sa->retransmits - rexmit0), (unsigned long long)(sa->rtos - rto0));
	CU_ASSERT_EQUAL(sa->retransmits - rexmit0, 0);
	CU_ASSERT_EQUAL(sa->rtos - rto0, 0);
	/* Probes back off to max_rto (1 s): about 10 log2 steps, then 1/s. */
	CU_ASSERT(sa->tx_frames - frames0 <= 40);
	CU_ASSERT(mn_sf_count(&T, 0, MN_NF_DATA, log0) <= 40);
	CU_ASSERT_EQUAL(sa->flows_failed + mn_sf_st(&T, 1)->flows_failed, 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED] + T.ev[1][MN_PROTO_EV_FAILED], 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET] + T.ev[1][MN_PROTO_EV_RESET], 0);
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

static void test_resumes_when_read(void)
{
	uint64_t t_read, t_all;
	int i;

	setup();
	run_sending(3 * SEC);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	CU_ASSERT(T.got[1] < (uint32_t)NMSG);
	/* The application reads what it holds and everything after. */
	app_reads = 1;
	app_held = 0;
	t_read = mn_sim_now(T.s);
	for (i = 0; i < 500 && !b_has_all(&T); i++) {
		int r = mn_sf_run(&T, b_has_all, 10 * MS);

		CU_ASSERT(r == 0 || r == -ETIMEDOUT || r == -EDEADLK);
		send_some();
	}
	t_all = mn_sim_now(T.s);
	printf("\n  all %d messages in order %.1f ms after the app read again (%llu window opens) ",
	       NMSG, (double)(t_all - t_read) / MS,
	       (unsigned long long)mn_sf_st(&T, 0)->zwin_opened);
	CU_ASSERT_EQUAL(sent, NMSG);
	CU_ASSERT_EQUAL(T.got[1], (uint32_t)NMSG);
	CU_ASSERT_EQUAL(out_of_order, 0);
	/* Reopened by B's window update, not by A's backed-off probe (1 s). */
	CU_ASSERT(t_all - t_read < 200 * MS);
	CU_ASSERT(mn_sf_st(&T, 0)->zwin_opened >= 1);
	CU_ASSERT_FATAL(T.fa != NULL && T.fb != NULL);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED] + T.ev[1][MN_PROTO_EV_FAILED], 0);
	CU_ASSERT_EQUAL(mn_sf_teardown(&T), 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "app stops reading: window closes at its budget", test_closes_at_budget },
		{ "closed 5x give_up: no retransmission storm, flow never failed",
		  test_no_storm_no_failure },
		{ "app reads again: everything delivered in order at once", test_resumes_when_read },
	};

	return mn_cu_run("proto_rwin", tests, sizeof(tests) / sizeof(tests[0]));
}
