/* mn_proto_find: the owner's flow by tuple, over the simulated network.
 * The transport glue keeps its per-flow state as the flow's cookie and finds
 * it only through this lookup, so: a connecting flow is found with its
 * cookie, a half-open passive one (its cookie is still the listener's) is
 * not, an accepted one is found once accepted, and an ended one is found
 * neither while its terminal event is reported nor afterwards (its cookie
 * is cleared, so a stale pointer never reaches the owner). */
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_proto.h"
#include "mn_sim.h"
#include "mn_wire.h"

#define IP_A 0xc6120002u	/* 198.18.0.2, client */
#define IP_B 0xc6120001u	/* 198.18.0.1, server */
#define PORT 888
#define MS 1000000ull

static const uint8_t MAC_A[6] = { 2, 0, 0xc6, 0x12, 0, 2 };
static const uint8_t MAC_B[6] = { 2, 0, 0xc6, 0x12, 0, 1 };

struct t {
	struct mn_sim *s;
	struct mn_flow *fa, *fb;
	uint16_t lport;			/* A's source port */
	int ev[2][8];
	int drop_acks_a;		/* drop A's pure ACKs (keeps B half-open) */
	/* Looked up from inside each node's terminal event callback. */
	int ended[2];
	struct mn_flow *found_in_end[2];
	int lis_cookie, cookie_a, cookie_b, cookie_a2;
};

static struct t T;

static int filter(void *arg, int from, uint8_t *frame, uint32_t len)
{
	struct t *t = arg;
	struct mn_hdr h;

	(void)len;
	mn_hdr_decode(frame + MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN, &h);
	return from == 0 && t->drop_acks_a && h.net_flags == MN_NF_ACK;
}

static int deliver(void *arg, int node, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                   uint32_t nsegs, uint32_t len)
{
	(void)arg, (void)node, (void)f, (void)cookie, (void)segs, (void)nsegs, (void)len;
	return 0;
}

static struct mn_flow *find_a(void)
{
	return mn_proto_find(mn_sim_ep(T.s, 0), IP_A, T.lport, IP_B, PORT);
}

static struct mn_flow *find_b(void)
{
	return mn_proto_find(mn_sim_ep(T.s, 1), IP_B, PORT, IP_A, T.lport);
}

static void event(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                  int err)
{
	struct t *t = arg;

	(void)cookie, (void)err;
	t->ev[node][ev]++;
	if (node == 1 && ev == MN_PROTO_EV_ACCEPTED) {
		t->fb = f;
		mn_flow_set_cookie(f, &t->cookie_b);
	}
	if (ev == MN_PROTO_EV_RESET || ev == MN_PROTO_EV_CLOSED || ev == MN_PROTO_EV_FAILED ||
	    ev == MN_PROTO_EV_CONNECT_FAILED) {
		t->ended[node]++;
		t->found_in_end[node] = node == 0 ? find_a() : find_b();
	}
}

static void setup(void)
{
	struct mn_proto_params pa, pb;
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };

	memset(&T, 0, sizeof(T));
	mn_proto_params_default(&pa);
	pa.keepalive_ns = 0;
	pa.ack_delay_ns = 0;
	pa.n_local = 1;
	pa.local[0].ip = IP_A;
	memcpy(pa.local[0].mac, MAC_A, 6);
	pb = pa;
	pb.local[0].ip = IP_B;
	memcpy(pb.local[0].mac, MAC_B, 6);
	memset(links, 0, sizeof(links));
	links[0].latency_ns = links[1].latency_ns = 10000;
	hooks.arg = &T;
	hooks.deliver = deliver;
	hooks.event = event;
	hooks.filter = filter;
	T.s = mn_sim_create(7, &pa, &pb, links, &hooks);
	CU_ASSERT_FATAL(T.s != NULL);
	CU_ASSERT_FATAL(mn_proto_listen(mn_sim_ep(T.s, 1), IP_B, PORT, &T.lis_cookie) == 0);
}

static int run(int (*done)(void *), uint64_t for_ns)
{
	return mn_sim_run(T.s, done, &T, mn_sim_now(T.s) + for_ns, 1000000);
}

static int a_connected(void *arg)
{
	return ((struct t *)arg)->ev[0][MN_PROTO_EV_CONNECTED] > 0;
}

static int b_accepted(void *arg)
{
	return ((struct t *)arg)->ev[1][MN_PROTO_EV_ACCEPTED] > 0;
}

static int b_ended(void *arg)
{
	return ((struct t *)arg)->ended[1] > 0;
}

static void connect_a(void *cookie)
{
	struct mn_flow_info fi;

	T.fa = mn_proto_connect(mn_sim_ep(T.s, 0), IP_A, IP_B, PORT, MAC_B, cookie, mn_sim_now(T.s));
	CU_ASSERT_FATAL(T.fa != NULL);
	mn_flow_info(T.fa, &fi);
	T.lport = fi.local_port;
}

static void test_find_lifecycle(void)
{
	struct mn_proto *ea, *eb;
	struct mn_flow *old_a;
	uint8_t byte = 1;

	setup();
	ea = mn_sim_ep(T.s, 0);
	eb = mn_sim_ep(T.s, 1);
	T.drop_acks_a = 1;
	connect_a(&T.cookie_a);

	/* Connecting: found with the cookie given to connect; every other
	 * tuple, and the same tuple on the other endpoint, is not. */
	CU_ASSERT_PTR_EQUAL(find_a(), T.fa);
	CU_ASSERT_PTR_EQUAL(mn_flow_cookie(find_a()), &T.cookie_a);
	CU_ASSERT_PTR_NULL(mn_proto_find(ea, IP_A, T.lport, IP_B, PORT + 1));
	CU_ASSERT_PTR_NULL(mn_proto_find(ea, IP_A, (uint16_t)(T.lport + 1), IP_B, PORT));
	CU_ASSERT_PTR_NULL(mn_proto_find(ea, IP_A, T.lport, IP_B + 1, PORT));
	CU_ASSERT_PTR_NULL(mn_proto_find(ea, IP_B, PORT, IP_A, T.lport));
	CU_ASSERT_PTR_NULL(find_b());

	/* B's flow is half-open (A's handshake ACK is dropped): in the table,
	 * but not the owner's yet. */
	CU_ASSERT_EQUAL(run(a_connected, 10 * MS), 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(eb), 1);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 0);
	CU_ASSERT_PTR_NULL(find_b());
	CU_ASSERT_PTR_EQUAL(find_a(), T.fa);

	/* A's data completes B's handshake: found, with the owner's cookie. */
	T.drop_acks_a = 0;
	CU_ASSERT_EQUAL(mn_proto_send_bytes(T.fa, &byte, 1, mn_sim_now(T.s)), 0);
	CU_ASSERT_EQUAL(run(b_accepted, 10 * MS), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(T.fb);
	CU_ASSERT_PTR_EQUAL(find_b(), T.fb);
	CU_ASSERT_PTR_EQUAL(mn_flow_cookie(find_b()), &T.cookie_b);

	/* A aborts: not found from inside its terminal event, nor after; the
	 * slot's cookie is cleared. B learns it from the RST, same on its side. */
	old_a = T.fa;
	mn_proto_abort(T.fa, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(T.ended[0], 1);
	CU_ASSERT_PTR_NULL(T.found_in_end[0]);
	CU_ASSERT_PTR_NULL(find_a());
	CU_ASSERT_PTR_NULL(mn_flow_cookie(old_a));
	CU_ASSERT_EQUAL(run(b_ended, 10 * MS), 0);
	CU_ASSERT_PTR_NULL(T.found_in_end[1]);
	CU_ASSERT_PTR_NULL(find_b());

	/* The same tuple again (the first free source port is reused): the new
	 * flow carries the new cookie only. */
	{
		uint16_t first = T.lport;

		connect_a(&T.cookie_a2);
		CU_ASSERT_EQUAL(T.lport, first);
	}
	CU_ASSERT_PTR_EQUAL(find_a(), T.fa);
	CU_ASSERT_PTR_EQUAL(mn_flow_cookie(find_a()), &T.cookie_a2);

	CU_ASSERT_EQUAL(mn_sim_destroy(T.s), 0);
	T.s = NULL;
}

/* A flow whose owner cleared its cookie at accept (the glue refusing it
 * before it closes it) is found with a NULL cookie: the glue sees no entry. */
static void reject(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                   int err)
{
	event(arg, node, f, cookie, ev, err);
	if (node == 1 && ev == MN_PROTO_EV_ACCEPTED)
		mn_flow_set_cookie(f, NULL);
}

static void test_find_refused_accept(void)
{
	struct mn_proto_params pa, pb;
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };

	memset(&T, 0, sizeof(T));
	mn_proto_params_default(&pa);
	pa.keepalive_ns = 0;
	pa.n_local = 1;
	pa.local[0].ip = IP_A;
	memcpy(pa.local[0].mac, MAC_A, 6);
	pb = pa;
	pb.local[0].ip = IP_B;
	memcpy(pb.local[0].mac, MAC_B, 6);
	memset(links, 0, sizeof(links));
	links[0].latency_ns = links[1].latency_ns = 10000;
	hooks.arg = &T;
	hooks.deliver = deliver;
	hooks.event = reject;
	T.s = mn_sim_create(8, &pa, &pb, links, &hooks);
	CU_ASSERT_FATAL(T.s != NULL);
	CU_ASSERT_FATAL(mn_proto_listen(mn_sim_ep(T.s, 1), IP_B, PORT, &T.lis_cookie) == 0);
	connect_a(&T.cookie_a);
	CU_ASSERT_EQUAL(run(b_accepted, 10 * MS), 0);
	CU_ASSERT_PTR_EQUAL(find_b(), T.fb);
	CU_ASSERT_PTR_NULL(mn_flow_cookie(find_b()));
	CU_ASSERT_EQUAL(mn_sim_destroy(T.s), 0);
	T.s = NULL;
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "find: connecting, half-open, accepted, ended, reused", test_find_lifecycle },
		{ "find: a flow refused at accept has no cookie", test_find_refused_accept },
	};

	return mn_cu_run("proto_find", tests, sizeof(tests) / sizeof(tests[0]));
}
