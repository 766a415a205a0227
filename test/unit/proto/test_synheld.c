/* A SYN that arrives on a tuple the endpoint still holds (on_syn in
 * mn_input.c), over the simulated network, in each state a flow can be in
 * then:
 *   SYN_SENT:     both ends dial each other on the same tuple at once
 *                 (simultaneous open): both connect, without an RTO;
 *   ESTABLISHED,  closing with data the peer never ACKed, when the peer's
 *                 stack restarted and dials again from the same port: the
 *                 challenge ACK draws the peer's RST, which ends the old
 *                 flow, and the next SYN connects long before the old
 *                 flow's close timeout would have freed the tuple. */
#include <errno.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_proto.h"
#include "mn_sim.h"
#include "mn_wire.h"

#define IP_A 0xc6120002u	/* 198.18.0.2 */
#define IP_B 0xc6120001u	/* 198.18.0.1 */
#define PORT 888
#define MS 1000000ull
#define SEC (1000 * MS)

static const uint8_t MAC_A[6] = { 2, 0, 0xc6, 0x12, 0, 2 };
static const uint8_t MAC_B[6] = { 2, 0, 0xc6, 0x12, 0, 1 };

struct t {
	struct mn_sim *s;
	struct mn_flow *f[2];
	int ev[2][8];
	uint64_t ev_t[2][8];
	int drop_all[2];
	uint32_t got[2];
};

static struct t T;

static int filter(void *arg, int from, uint8_t *frame, uint32_t len)
{
	struct t *t = arg;

	(void)frame;
	(void)len;
	return t->drop_all[from];
}

static int deliver(void *arg, int node, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                   uint32_t nsegs, uint32_t len)
{
	struct t *t = arg;

	(void)f;
	(void)cookie;
	(void)segs;
	(void)nsegs;
	(void)len;
	t->got[node]++;
	return 0;
}

static void event(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                  int err)
{
	struct t *t = arg;

	(void)cookie;
	(void)err;
	t->ev[node][ev]++;
	t->ev_t[node][ev] = mn_sim_now(t->s);
	if (ev == MN_PROTO_EV_ACCEPTED || ev == MN_PROTO_EV_CONNECTED)
		t->f[node] = f;
	else if (f == t->f[node])
		t->f[node] = NULL;
}

static struct mn_proto *ep(int node)
{
	return mn_sim_ep(T.s, node);
}

static const struct mn_proto_stats *st(int node)
{
	return mn_proto_stats(ep(node));
}

static void setup(void)
{
	struct mn_proto_params pa, pb;
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };

	memset(&T, 0, sizeof(T));
	mn_proto_params_default(&pa);
	pa.connect_timeout_ns = 5 * SEC;
	pa.close_timeout_ns = 5 * SEC;	/* long: the old flow must not time out */
	pa.keepalive_ns = 0;
	pa.n_local = 1;
	pa.local[0].ip = IP_A;
	memcpy(pa.local[0].mac, MAC_A, 6);
	pb = pa;
	pb.local[0].ip = IP_B;
	memcpy(pb.local[0].mac, MAC_B, 6);
	memset(links, 0, sizeof(links));
	links[0].latency_ns = links[1].latency_ns = 10000;
	links[0].bw_bps = links[1].bw_bps = 10000000000ull;
	hooks.arg = &T;
	hooks.deliver = deliver;
	hooks.event = event;
	hooks.filter = filter;
	T.s = mn_sim_create(7, &pa, &pb, links, &hooks);
	CU_ASSERT_FATAL(T.s != NULL);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(mn_sim_destroy(T.s), 0);
	T.s = NULL;
}

static int both_connected(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_CONNECTED] && t->ev[1][MN_PROTO_EV_CONNECTED];
}

static int got_both(void *arg)
{
	struct t *t = arg;

	return t->got[0] && t->got[1];
}

static void test_simultaneous_open(void)
{
	struct mn_flow_info ia, ib;
	uint64_t t0;

	setup();
	t0 = mn_sim_now(T.s);
	/* No listener on either side: each dials the other's first
	 * ephemeral port from its own, so the SYNs cross on one tuple. */
	CU_ASSERT_FATAL(mn_proto_connect(ep(0), IP_A, IP_B, 1024, MAC_B, NULL, t0) != NULL);
	CU_ASSERT_FATAL(mn_proto_connect(ep(1), IP_B, IP_A, 1024, MAC_A, NULL, t0) != NULL);
	CU_ASSERT_EQUAL_FATAL(mn_sim_run(T.s, both_connected, &T, t0 + 4 * SEC, 1000000), 0);
	CU_ASSERT_FATAL(T.f[0] != NULL && T.f[1] != NULL);
	mn_flow_info(T.f[0], &ia);
	mn_flow_info(T.f[1], &ib);
	CU_ASSERT_EQUAL(ia.local_port, 1024);
	CU_ASSERT_EQUAL(ia.remote_port, 1024);
	CU_ASSERT_EQUAL(ib.local_port, 1024);
	CU_ASSERT_EQUAL(ia.extensions, ib.extensions);
	/* At once, on the first SYNs: no handshake retransmission. */
	CU_ASSERT_EQUAL(st(0)->rtos + st(1)->rtos, 0);
	CU_ASSERT(T.ev_t[0][MN_PROTO_EV_CONNECTED] - t0 < MS);
	CU_ASSERT(T.ev_t[1][MN_PROTO_EV_CONNECTED] - t0 < MS);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(0)), 1);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(1)), 1);
	/* The flow carries data both ways. */
	CU_ASSERT_EQUAL(mn_proto_send_bytes(T.f[0], "ab", 2, mn_sim_now(T.s)), 0);
	CU_ASSERT_EQUAL(mn_proto_send_bytes(T.f[1], "ba", 2, mn_sim_now(T.s)), 0);
	CU_ASSERT_EQUAL(mn_sim_run(T.s, got_both, &T, mn_sim_now(T.s) + SEC, 1000000), 0);
	CU_ASSERT_EQUAL(T.got[0], 1);
	CU_ASSERT_EQUAL(T.got[1], 1);
	teardown();
}

static int first_up(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_CONNECTED] == 1 && t->ev[1][MN_PROTO_EV_ACCEPTED] == 1;
}

static int a_reconnected(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_CONNECTED] == 2 && t->ev[1][MN_PROTO_EV_ACCEPTED] == 2;
}

static void test_restarted_peer_meets_closing_flow(void)
{
	struct mn_flow_info ia;
	uint64_t t0;
	struct mn_flow *fa;

	setup();
	CU_ASSERT_FATAL(mn_proto_listen(ep(1), IP_B, PORT, &T) == 0);
	fa = mn_proto_connect(ep(0), IP_A, IP_B, PORT, MAC_B, NULL, mn_sim_now(T.s));
	CU_ASSERT_FATAL(fa != NULL);
	CU_ASSERT_EQUAL_FATAL(mn_sim_run(T.s, first_up, &T, mn_sim_now(T.s) + SEC, 1000000), 0);
	CU_ASSERT_FATAL(T.f[0] == fa && T.f[1] != NULL);
	/* A's stack restarts: its flow is gone and nothing of it reaches B. */
	T.drop_all[0] = 1;
	mn_proto_abort(fa, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(0)), 0);
	/* B's app sends what A never ACKs, and closes: B's flow lingers,
	 * closing, until the close timeout. */
	CU_ASSERT_EQUAL(mn_proto_send_bytes(T.f[1], "lost", 4, mn_sim_now(T.s)), 0);
	mn_proto_close(T.f[1], mn_sim_now(T.s));
	CU_ASSERT_EQUAL(mn_sim_run(T.s, NULL, NULL, mn_sim_now(T.s) + 10 * MS, 1000000), 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(1)), 1);
	/* The restarted A dials again, from the same first port. */
	T.drop_all[0] = 0;
	t0 = mn_sim_now(T.s);
	fa = mn_proto_connect(ep(0), IP_A, IP_B, PORT, MAC_B, NULL, t0);
	CU_ASSERT_FATAL(fa != NULL);
	mn_flow_info(fa, &ia);
	CU_ASSERT_EQUAL(ia.local_port, 1024);
	CU_ASSERT_EQUAL(mn_sim_run(T.s, a_reconnected, &T, t0 + 4 * SEC, 1000000), 0);
	/* Within a handshake retry or two, not the old flow's close timeout. */
	CU_ASSERT(T.ev_t[0][MN_PROTO_EV_CONNECTED] - t0 < SEC);
	CU_ASSERT(st(1)->rx_rst >= 1);
	CU_ASSERT_EQUAL(mn_proto_nflows(ep(1)), 1);
	teardown();
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "SYN on a SYN_SENT flow (simultaneous open): both connect", test_simultaneous_open },
		{ "SYN of a restarted peer on a closing flow: challenge ACK, RST, reconnect",
		  test_restarted_peer_meets_closing_flow },
	};

	return mn_cu_run("proto_synheld", tests, sizeof(tests) / sizeof(tests[0]));
}
