/* Many flows at once on one endpoint pair: NF clients on each node connect
 * to the other node's listener, so each endpoint runs 2*NF flows (NF it
 * opened, NF it accepted). Each client keeps W request messages in flight
 * (1 B .. 4000 B, some multi-packet up to 20 KB); the server application
 * takes each request into a small per-flow queue (refusing delivery when it
 * is full) and echoes it from its own turn, as the echo apps do. Every
 * request and echo must arrive exactly once, intact and in order, and the
 * run must finish within a simulated-time bound: a flow whose queued data is
 * never sent (a stall) fails it. Extension and plain modes, with and
 * without loss, and with hosts that are descheduled for milliseconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_proto.h"
#include "mn_sim.h"

#define IP_A 0xc6120002u	/* 198.18.0.2 */
#define IP_B 0xc6120001u	/* 198.18.0.1 */
#define PORT_A 7000
#define PORT_B 7001
#define MAX_NF 16		/* clients per node */
#define SRVQ 16			/* server application's queue per flow */
#define MAX_LEN 20000

static const uint8_t MAC[2][6] = { { 2, 0, 0xc6, 0x12, 0, 2 }, { 2, 0, 0xc6, 0x12, 0, 1 } };

struct client {
	int node;
	uint32_t id;
	struct mn_flow *f;		/* on node */
	struct mn_flow *sf;		/* the accepted end, on 1 - node */
	uint16_t lport;
	int connected;
	uint32_t sent, echoed;		/* requests sent, echoes received */
	uint32_t srv_recv;		/* requests the server took */
	uint32_t srv_sent;		/* echoes the server sent */
	uint32_t q[SRVQ];		/* requests taken, not yet echoed (seq numbers) */
	uint32_t qh, qn;
	uint64_t refused;
};

struct run {
	struct mn_sim *s;
	uint64_t seed;
	uint32_t nf, window, msgs;
	struct client cl[2 * MAX_NF];
	uint64_t sleep_ns;
	uint32_t errors, bad_events;
	uint64_t refused;
	uint8_t buf[MAX_LEN];
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Mostly small, a quarter 1419..4000 (three packets at most), a few
 * multi-packet up to 20 KB. */
static uint32_t msg_len(const struct run *r, uint32_t c, uint32_t k)
{
	uint64_t h = mix(r->seed ^ (uint64_t)c << 32 ^ k);
	uint32_t p = (uint32_t)(h % 100);

	if (p < 70)
		return 1 + (uint32_t)((h >> 20) % 1418);
	if (p < 97)
		return 1419 + (uint32_t)((h >> 20) % (4000 - 1418));
	return 4001 + (uint32_t)((h >> 20) % (MAX_LEN - 4000));
}

static uint8_t pat(uint32_t c, uint32_t k, int echo, uint32_t j)
{
	return (uint8_t)(c * 37u + k * 101u + (uint32_t)echo * 59u + j * 7u + (j >> 8));
}

static struct client *find_client(struct run *r, int node, struct mn_flow *f, void *cookie,
                                  int *server)
{
	struct client *c = cookie;

	if (!c)
		return NULL;
	if (c->node == node && c->f == f) {
		*server = 0;
		return c;
	}
	if (c->node == 1 - node && c->sf == f) {
		*server = 1;
		return c;
	}
	(void)r;
	return NULL;
}

static int check(const struct mn_seg *segs, uint32_t nsegs, uint32_t len, uint32_t want,
                 uint32_t c, uint32_t k, int echo)
{
	uint32_t i, j, off = 0;

	if (len != want)
		return -1;
	for (i = 0; i < nsegs; i++) {
		for (j = 0; j < segs[i].len; j++)
			if (segs[i].data[j] != pat(c, k, echo, off + j))
				return -1;
		off += segs[i].len;
	}
	return off == len ? 0 : -1;
}

static int deliver(void *arg, int node, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                   uint32_t nsegs, uint32_t len)
{
	struct run *r = arg;
	int server = 0;
	struct client *c = find_client(r, node, f, cookie, &server);

	if (!c) {
		r->errors++;
		return 0;
	}
	if (server) {
		uint32_t k = c->srv_recv;

		if (c->qn == SRVQ) {
			c->refused++;
			r->refused++;
			return -ENOBUFS;
		}
		if (k >= r->msgs || check(segs, nsegs, len, msg_len(r, c->id, k), c->id, k, 0)) {
			r->errors++;
			printf("\n  bad request %u on client %u", k, c->id);
		}
		c->q[(c->qh + c->qn++) % SRVQ] = k;
		c->srv_recv++;
		return 0;
	}
	if (c->echoed >= c->sent ||
	    check(segs, nsegs, len, msg_len(r, c->id, c->echoed), c->id, c->echoed, 1)) {
		r->errors++;
		printf("\n  bad echo %u on client %u", c->echoed, c->id);
	}
	c->echoed++;
	return 0;
}

static void event(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                  int err)
{
	struct run *r = arg;
	struct mn_flow_info fi;
	uint32_t i;

	if (ev == MN_PROTO_EV_CONNECTED) {
		struct client *c = cookie;

		if (c && c->node == node && c->f == f) {
			c->connected = 1;
			return;
		}
	} else if (ev == MN_PROTO_EV_ACCEPTED) {
		mn_flow_info(f, &fi);
		for (i = 0; i < 2 * r->nf; i++) {
			struct client *c = &r->cl[i];

			if (c->node == 1 - node && c->lport == fi.remote_port && !c->sf) {
				c->sf = f;
				mn_flow_set_cookie(f, c);
				return;
			}
		}
	}
	r->bad_events++;
	printf("\n  unexpected event %d (err %d) on node %d", (int)ev, err, node);
}

static int send_msg(struct run *r, struct mn_flow *f, uint32_t c, uint32_t k, int echo)
{
	uint32_t len = msg_len(r, c, k), j;

	for (j = 0; j < len; j++)
		r->buf[j] = pat(c, k, echo, j);
	return mn_proto_send_bytes(f, r->buf, len, mn_sim_now(r->s));
}

#define SLEEP_PERIOD 10000000ull
#define LATENCY 5000ull

/* A host that is not scheduled takes in nothing: frames toward node n sent
 * now arrive when it next runs (n sleeps in [k*P + n*P/2, .. + sleep_ns)).
 * Arrival times stay in sending order, as on a real link. */
static void host_sleep(struct run *r)
{
	uint64_t now = mn_sim_now(r->s);
	int n;

	for (n = 0; n < 2; n++) {
		struct mn_sim_link l = { .latency_ns = LATENCY, .bw_bps = 10000000000ull };
		uint64_t t = now + LATENCY + (uint64_t)n * SLEEP_PERIOD / 2, ph = t % SLEEP_PERIOD;

		if (ph < r->sleep_ns)
			l.latency_ns += r->sleep_ns - ph;
		mn_sim_set_link(r->s, 1 - n, &l);
	}
}

/* The applications' turn: clients fill their window, servers echo what
 * they took. */
static void pump(void *arg)
{
	struct run *r = arg;
	uint32_t i;

	if (r->sleep_ns)
		host_sleep(r);

	for (i = 0; i < 2 * r->nf; i++) {
		struct client *c = &r->cl[i];

		if (!c->connected || !c->sf)
			continue;
		while (c->qn) {
			if (send_msg(r, c->sf, c->id, c->q[c->qh], 1) != 0)
				break;
			c->qh = (c->qh + 1) % SRVQ;
			c->qn--;
			c->srv_sent++;
		}
		while (c->sent < r->msgs && c->sent - c->echoed < r->window) {
			if (send_msg(r, c->f, c->id, c->sent, 0) != 0)
				break;
			c->sent++;
		}
	}
}

static int all_done(void *arg)
{
	struct run *r = arg;
	uint32_t i;

	for (i = 0; i < 2 * r->nf; i++)
		if (r->cl[i].echoed < r->msgs)
			return 0;
	return 1;
}

struct mcase {
	uint32_t nf, window, msgs;
	int ext;
	double loss;
	uint64_t sleep_ns;	/* each host is descheduled this long every 10 ms */
	uint64_t bound_ns;	/* simulated time the run must finish in */
};

static void run_case(const struct mcase *mc, uint64_t seed)
{
	struct mn_proto_params p[2];
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };
	struct run *r = calloc(1, sizeof(*r));
	const struct mn_proto_stats *st[2];
	uint32_t i, n;
	long leaked;
	int rc;

	CU_ASSERT_FATAL(r != NULL);
	r->seed = seed;
	r->nf = mc->nf;
	r->window = mc->window;
	r->msgs = mc->msgs;
	r->sleep_ns = mc->sleep_ns;
	for (n = 0; n < 2; n++) {
		mn_proto_params_default(&p[n]);
		/* The transport's defaults this test was written for (connect 5 s,
		 * close 1 s, keepalive and piggybacked ACKs off, min_rto toward plain
		 * peers too), not machnetd's. */
		p[n].connect_timeout_ns = 5000000000ull;
		p[n].close_timeout_ns = 1000000000ull;
		p[n].keepalive_ns = 0;
		p[n].ack_delay_ns = 0;
		p[n].plain_min_rto_ns = 0;
		p[n].n_local = 1;
		p[n].local[0].ip = n ? IP_B : IP_A;
		memcpy(p[n].local[0].mac, MAC[n], 6);
	}
	/* Plain mode: B is a plain Machnet peer; A still advertises. */
	p[1].extensions = mc->ext;
	memset(links, 0, sizeof(links));
	for (n = 0; n < 2; n++) {
		links[n].latency_ns = 5000;
		links[n].bw_bps = 10000000000ull;
		links[n].loss = mc->loss;
	}
	hooks.arg = r;
	hooks.deliver = deliver;
	hooks.event = event;
	hooks.pump = pump;
	r->s = mn_sim_create(seed, &p[0], &p[1], links, &hooks);
	CU_ASSERT_FATAL(r->s != NULL);
	CU_ASSERT_FATAL(mn_proto_listen(mn_sim_ep(r->s, 0), IP_A, PORT_A, NULL) == 0);
	CU_ASSERT_FATAL(mn_proto_listen(mn_sim_ep(r->s, 1), IP_B, PORT_B, NULL) == 0);
	/* Clients alternate between the nodes so that each endpoint's flow
	 * table interleaves connected and accepted flows. */
	for (i = 0; i < 2 * r->nf; i++) {
		struct client *c = &r->cl[i];
		struct mn_flow_info fi;
		int node = (int)(i & 1);

		c->node = node;
		c->id = i;
		c->f = mn_proto_connect(mn_sim_ep(r->s, node), node ? IP_B : IP_A,
		                        node ? IP_A : IP_B, node ? PORT_A : PORT_B, MAC[1 - node],
		                        c, 0);
		CU_ASSERT_FATAL(c->f != NULL);
		mn_flow_info(c->f, &fi);
		c->lport = fi.local_port;
	}
	rc = mn_sim_run(r->s, all_done, r, mc->bound_ns, 50000000ull);
	st[0] = mn_proto_stats(mn_sim_ep(r->s, 0));
	st[1] = mn_proto_stats(mn_sim_ep(r->s, 1));
	printf("\n  %-5s nf %2u w %2u loss %.2f sleep %4.1f ms: rc %d sim %8.3f ms retx %llu rto %llu refused %llu",
	       mc->ext ? "ext" : "plain", mc->nf, mc->window, mc->loss, (double)mc->sleep_ns / 1e6, rc,
	       (double)mn_sim_now(r->s) / 1e6,
	       (unsigned long long)(st[0]->retransmits + st[1]->retransmits),
	       (unsigned long long)(st[0]->rtos + st[1]->rtos), (unsigned long long)r->refused);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0) {
		for (i = 0; i < 2 * r->nf; i++) {
			struct client *c = &r->cl[i];
			struct mn_flow_info a, b;

			if (c->echoed == r->msgs)
				continue;
			mn_flow_info(c->f, &a);
			printf("\n   client %u node %d: sent %u srv_recv %u srv_sent %u echoed %u;"
			       " cli una %u nxt %u rcv %u q %u cwnd %.3f",
			       i, c->node, c->sent, c->srv_recv, c->srv_sent, c->echoed, a.snd_una,
			       a.snd_nxt, a.rcv_nxt, a.queued, a.cwnd);
			if (c->sf) {
				mn_flow_info(c->sf, &b);
				printf("; srv una %u nxt %u rcv %u q %u cwnd %.3f", b.snd_una,
				       b.snd_nxt, b.rcv_nxt, b.queued, b.cwnd);
			}
		}
		printf("\n   deadlines: A %llu B %llu now %llu",
		       (unsigned long long)mn_proto_next_deadline(mn_sim_ep(r->s, 0)),
		       (unsigned long long)mn_proto_next_deadline(mn_sim_ep(r->s, 1)),
		       (unsigned long long)mn_sim_now(r->s));
	}
	CU_ASSERT_EQUAL(r->errors, 0);
	CU_ASSERT_EQUAL(r->bad_events, 0);
	for (i = 0; i < 2 * r->nf; i++) {
		CU_ASSERT_EQUAL(r->cl[i].echoed, r->msgs);
		CU_ASSERT_EQUAL(r->cl[i].srv_recv, r->msgs);
	}
	/* Once the last ACKs are in, no flow holds a window block, and no
	 * more were ever taken than flows were busy at once. */
	mn_sim_run(r->s, NULL, NULL, mn_sim_now(r->s) + 100000000ull, 50000000ull);
	for (i = 0; i < 2; i++) {
		uint32_t touched, held = mn_proto_winblks(mn_sim_ep(r->s, (int)i), &touched);

		CU_ASSERT_EQUAL(held, 0);
		CU_ASSERT(touched >= 1 && touched <= 2 * r->nf);
		if (rc == 0 && held != 0)
			printf("\n   node %u: %u window blocks held after the run", i, held);
	}
	CU_ASSERT_EQUAL(st[0]->msgs_delivered, st[1]->msgs_sent);
	CU_ASSERT_EQUAL(st[1]->msgs_delivered, st[0]->msgs_sent);
	leaked = mn_sim_destroy(r->s);
	CU_ASSERT_EQUAL(leaked, 0);
	fflush(stdout);
	free(r);
}

/* Without loss 16 flows of 200 echoes of ~1.5 KB take ~10 ms of simulated
 * time; 200 ms (2 s with loss, 5 s with hosts asleep half the time) leaves
 * room for slow but honest progress and none for a flow that sits on queued
 * data with nothing in flight (before the Swift window floor of one packet,
 * the sleeping-host cases stalled at cwnd 0.01 with srtt/cwnd pacing). */
static const struct mcase cases[] = {
	{ 1, 8, 300, 1, 0, 0, 200000000ull },
	{ 2, 8, 300, 1, 0, 0, 200000000ull },
	{ 2, 32, 300, 1, 0, 0, 200000000ull },
	{ 4, 8, 300, 1, 0, 0, 200000000ull },
	{ 16, 8, 200, 1, 0, 0, 200000000ull },
	{ 16, 32, 200, 1, 0, 0, 200000000ull },
	{ 2, 8, 300, 1, 0.01, 0, 2000000000ull },
	{ 16, 32, 200, 1, 0.02, 0, 2000000000ull },
	/* Hosts that are descheduled for milliseconds (a shared CPU) make
	 * RTT samples 100x the base RTT; that is no reason to stop sending. */
	{ 2, 8, 200, 1, 0, 5000000, 5000000000ull },
	{ 16, 8, 100, 1, 0, 5000000, 5000000000ull },
};

static void run_mode(int ext)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mcase mc = cases[i];

		mc.ext = ext;
		run_case(&mc, 0x3f10a000u + i + (ext ? 100 : 0));
	}
	printf("\n");
}

static void test_multiflow_ext(void)
{
	run_mode(1);
}

static void test_multiflow_plain(void)
{
	run_mode(0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "concurrent echo flows, extensions agreed", test_multiflow_ext },
		{ "concurrent echo flows, plain Machnet mode", test_multiflow_plain },
	};

	return mn_cu_run("proto_multiflow", tests, sizeof(tests) / sizeof(tests[0]));
}
