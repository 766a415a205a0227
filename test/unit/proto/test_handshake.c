/* Handshake, reset and failure paths of mn_proto over the simulated network,
 * with frames dropped or rewritten by the simulator's filter hook. */
#include <errno.h>
#include <stdio.h>
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
#define MAXLOG 4096
#define MAXMSG 2048

static const uint8_t MAC_A[6] = { 2, 0, 0xc6, 0x12, 0, 2 };
static const uint8_t MAC_B[6] = { 2, 0, 0xc6, 0x12, 0, 1 };

struct logged {
	int from;
	uint64_t t;
	struct mn_hdr h;
	uint32_t len;
};

struct t {
	struct mn_sim *s;
	struct mn_flow *fa, *fb;
	int ev[2][8];			/* count per node per event */
	int err[2][8];			/* last err per node per event */
	uint64_t ev_t[2][8];
	/* filter controls */
	int drop_nf_from[2][256];	/* drop the next N frames of net_flags X from node */
	int drop_all[2];
	int bad_synack;
	struct logged log[MAXLOG];
	int nlog;
	/* deliveries */
	uint32_t got[2];
	uint32_t len[2][MAXMSG];
	uint32_t key_ok[2];
	/* application behaviour */
	int refuse[2];			/* deliver refuses (-ENOBUFS) */
	int abort_in_deliver[2];	/* next deliver aborts its flow: 1 then accepts, 2 refuses */
	int abort_on_event[2];		/* this event's callback aborts its flow */
	int reconnect_in_deliver;	/* ... and A connects again from inside it */
	struct mn_flow *aborted;
};

static struct t T;

static int filter(void *arg, int from, uint8_t *frame, uint32_t len)
{
	struct t *t = arg;
	struct mn_hdr h;

	mn_hdr_decode(frame + MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN, &h);
	if (h.net_flags == MN_NF_SYNACK && t->bad_synack) {
		t->bad_synack--;
		/* ackno 2 instead of 1: the client must ignore it */
		frame[50] = 0;
		frame[51] = 0;
		frame[52] = 0;
		frame[53] = 2;
		mn_wire_fill_csums(frame, len - MN_ALL_HLEN);
		h.ackno = 2;
	}
	if (t->nlog < MAXLOG) {
		t->log[t->nlog].from = from;
		t->log[t->nlog].t = mn_sim_now(t->s);
		t->log[t->nlog].h = h;
		t->log[t->nlog].len = len;
		t->nlog++;
	}
	if (t->drop_all[from])
		return 1;
	if (t->drop_nf_from[from][h.net_flags] > 0) {
		t->drop_nf_from[from][h.net_flags]--;
		return 1;
	}
	return 0;
}

static int deliver(void *arg, int node, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                   uint32_t nsegs, uint32_t len)
{
	struct t *t = arg;
	uint32_t i, j, off = 0, ok = 1, k = t->got[node];

	(void)cookie;
	if (t->abort_in_deliver[node]) {
		int how = t->abort_in_deliver[node];

		t->abort_in_deliver[node] = 0;
		mn_proto_abort(f, mn_sim_now(t->s));
		if (node == 0 && t->reconnect_in_deliver) {
			t->aborted = f;
			t->fa = mn_proto_connect(mn_sim_ep(t->s, 0), IP_A, IP_B, PORT, MAC_B, NULL,
			                         mn_sim_now(t->s));
		}
		if (how == 2)
			return -ENOBUFS;
	} else if (t->refuse[node]) {
		return -ENOBUFS;
	}
	/* Message k from the other node holds bytes (k * 7 + offset). */
	for (i = 0; i < nsegs; i++) {
		for (j = 0; j < segs[i].len; j++)
			if (segs[i].data[j] != (uint8_t)(k * 7 + off + j))
				ok = 0;
		off += segs[i].len;
	}
	if (k < MAXMSG)
		t->len[node][k] = len;
	t->key_ok[node] += ok;
	t->got[node]++;
	return 0;
}

static void event(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                  int err)
{
	struct t *t = arg;

	(void)cookie;
	t->ev[node][ev]++;
	t->err[node][ev] = err;
	t->ev_t[node][ev] = mn_sim_now(t->s);
	if (node == 1 && ev == MN_PROTO_EV_ACCEPTED)
		t->fb = f;
	if (ev == MN_PROTO_EV_CONNECT_FAILED || ev == MN_PROTO_EV_RESET || ev == MN_PROTO_EV_CLOSED ||
	    ev == MN_PROTO_EV_FAILED) {
		if (node == 0 && f == t->fa)
			t->fa = NULL;
		if (node == 1 && f == t->fb)
			t->fb = NULL;
	}
	if (t->abort_on_event[node] == (int)ev)
		mn_proto_abort(f, mn_sim_now(t->s));
}

static void setup(int ext_a, int ext_b, uint32_t max_retries, uint64_t connect_timeout)
{
	struct mn_proto_params pa, pb;
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };

	memset(&T, 0, sizeof(T));
	mn_proto_params_default(&pa);
	/* The transport's defaults this test was written for (connect 5 s,
	 * close 1 s, keepalive and piggybacked ACKs off, min_rto toward plain
	 * peers too), not machnetd's. */
	pa.connect_timeout_ns = 5000000000ull;
	pa.close_timeout_ns = 1000000000ull;
	pa.keepalive_ns = 0;
	pa.ack_delay_ns = 0;
	pa.plain_min_rto_ns = 0;
	/* Failure by the retry count alone, as when this test was written
	 * (test_giveup.c covers the time-based give-up). */
	pa.give_up_ns = 0;
	pa.n_local = 1;
	pa.local[0].ip = IP_A;
	memcpy(pa.local[0].mac, MAC_A, 6);
	pa.extensions = ext_a;
	if (max_retries)
		pa.max_retries = max_retries;
	if (connect_timeout)
		pa.connect_timeout_ns = connect_timeout;
	pb = pa;
	pb.local[0].ip = IP_B;
	memcpy(pb.local[0].mac, MAC_B, 6);
	pb.extensions = ext_b;
	memset(links, 0, sizeof(links));
	links[0].latency_ns = links[1].latency_ns = 10000;
	links[0].bw_bps = links[1].bw_bps = 10000000000ull;
	hooks.arg = &T;
	hooks.deliver = deliver;
	hooks.event = event;
	hooks.filter = filter;
	T.s = mn_sim_create(42, &pa, &pb, links, &hooks);
	CU_ASSERT_FATAL(T.s != NULL);
	CU_ASSERT_FATAL(mn_proto_listen(mn_sim_ep(T.s, 1), IP_B, PORT, &T) == 0);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(mn_sim_destroy(T.s), 0);
	T.s = NULL;
}

static int up(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_CONNECTED] && t->ev[1][MN_PROTO_EV_ACCEPTED];
}

static int a_done(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_CONNECTED] || t->ev[0][MN_PROTO_EV_CONNECT_FAILED] ||
	       t->ev[0][MN_PROTO_EV_FAILED] || t->ev[0][MN_PROTO_EV_RESET];
}

static int a_terminal(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_FAILED] || t->ev[0][MN_PROTO_EV_RESET] || t->ev[0][MN_PROTO_EV_CLOSED];
}

static void connect_a(uint16_t port)
{
	T.fa = mn_proto_connect(mn_sim_ep(T.s, 0), IP_A, IP_B, port, MAC_B, NULL, mn_sim_now(T.s));
	CU_ASSERT_FATAL(T.fa != NULL);
}

static int run(int (*done)(void *), uint64_t for_ns)
{
	return mn_sim_run(T.s, done, &T, mn_sim_now(T.s) + for_ns, 10000000);
}

static int send_msg(struct mn_flow *f, int node, uint32_t k, uint32_t len)
{
	static uint8_t buf[1 << 20];
	uint32_t j;

	(void)node;
	for (j = 0; j < len; j++)
		buf[j] = (uint8_t)(k * 7 + j);
	return mn_proto_send_bytes(f, buf, len, mn_sim_now(T.s));
}

static int find_frame(int from, uint8_t nf, int nth)
{
	int i;

	for (i = 0; i < T.nlog; i++)
		if (T.log[i].from == from && T.log[i].h.net_flags == nf && nth-- == 0)
			return i;
	return -1;
}

static int count_frames(int from, uint8_t nf)
{
	int i, n = 0;

	for (i = 0; i < T.nlog; i++)
		n += T.log[i].from == from && T.log[i].h.net_flags == nf;
	return n;
}

/* ------------------------------------------------------------------ */

static int got1(void *arg)
{
	struct t *t = arg;

	return t->got[1] >= 1 && t->got[0] >= 1;
}

static int got1_b(void *arg)
{
	struct t *t = arg;

	return t->got[1] >= 1;
}

static void test_normal(void)
{
	int i, mode;

	for (mode = 0; mode < 3; mode++) {
		/* 0: both plain, 1: both extensions, 2: A advertises, B plain */
		struct mn_flow_info fi;
		int syn, synack, ack;

		setup(mode != 0, mode == 1, 0, 0);
		connect_a(PORT);
		CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
		syn = find_frame(0, MN_NF_SYN, 0);
		synack = find_frame(1, MN_NF_SYNACK, 0);
		ack = find_frame(0, MN_NF_ACK, 0);
		CU_ASSERT_FATAL(syn >= 0 && synack > syn && ack > synack);
		CU_ASSERT_EQUAL(T.log[syn].h.seqno, 0);
		CU_ASSERT_EQUAL(T.log[syn].h.ackno, 0);
		CU_ASSERT_EQUAL(T.log[syn].h.msg_flags, 0);
		CU_ASSERT_EQUAL(T.log[synack].h.seqno, 0);
		CU_ASSERT_EQUAL(T.log[synack].h.ackno, 1);
		CU_ASSERT_EQUAL(T.log[ack].h.seqno, 1);
		CU_ASSERT_EQUAL(T.log[ack].h.ackno, 1);
		CU_ASSERT_EQUAL(T.log[syn].len, 96);
		CU_ASSERT_EQUAL(T.log[synack].len, 96);
		CU_ASSERT_EQUAL(T.log[ack].len, 96);
		/* Advertised only when configured; used only when both did. */
		CU_ASSERT_EQUAL(T.log[syn].h.timestamp != 0, mode != 0);
		CU_ASSERT_EQUAL(T.log[synack].h.timestamp != 0, mode == 1);
		mn_flow_info(T.fa, &fi);
		CU_ASSERT_EQUAL(fi.extensions, mode == 1);
		CU_ASSERT_EQUAL(fi.local_port, MN_PROTO_FIRST_PORT);
		mn_flow_info(T.fb, &fi);
		CU_ASSERT_EQUAL(fi.extensions, mode == 1);
		CU_ASSERT_EQUAL(fi.snd_nxt, 1);
		CU_ASSERT_EQUAL(fi.rcv_nxt, 1);
		/* Data both ways; first data seqno is 1, ackno 0xffffffff. */
		CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 5000), 0);
		CU_ASSERT_EQUAL(send_msg(T.fb, 1, 0, 100), 0);
		CU_ASSERT_EQUAL(run(got1, 10 * MS), 0);
		CU_ASSERT_EQUAL(T.len[1][0], 5000);
		CU_ASSERT_EQUAL(T.len[0][0], 100);
		CU_ASSERT_EQUAL(T.key_ok[0] + T.key_ok[1], 2);
		i = find_frame(0, MN_NF_DATA, 0);
		CU_ASSERT_FATAL(i >= 0);
		CU_ASSERT_EQUAL(T.log[i].h.seqno, 1);
		CU_ASSERT_EQUAL(T.log[i].h.ackno, MN_ACKNO_NONE);
		CU_ASSERT_EQUAL(T.log[i].h.msg_flags, MN_MF_FIRST | MN_MF_MORE);
		CU_ASSERT_EQUAL(T.log[i].len, 1514);
		CU_ASSERT_EQUAL(T.log[find_frame(0, MN_NF_DATA, 3)].h.msg_flags, MN_MF_LAST);
		CU_ASSERT_EQUAL(T.log[find_frame(1, MN_NF_DATA, 0)].h.msg_flags,
		                MN_MF_FIRST | MN_MF_LAST);
		if (mode != 1) {
			/* Plain: one ACK per data packet. */
			CU_ASSERT_EQUAL(count_frames(1, MN_NF_ACK), 4);
		}
		CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 0))->rtos, 0);
		teardown();
	}
}

static void test_lost_syn(void)
{
	setup(1, 1, 0, 0);
	T.drop_nf_from[0][MN_NF_SYN] = 1;
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 100 * MS), 0);
	CU_ASSERT_EQUAL(count_frames(0, MN_NF_SYN), 2);
	CU_ASSERT(T.ev_t[0][MN_PROTO_EV_CONNECTED] >= 10 * MS);	/* after the initial RTO */
	CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 0))->rtos, 1);
	teardown();
}

static void test_lost_synack(void)
{
	setup(1, 1, 0, 0);
	T.drop_nf_from[1][MN_NF_SYNACK] = 1;
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 100 * MS), 0);
	CU_ASSERT(count_frames(1, MN_NF_SYNACK) >= 2);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 1)), 1);
	teardown();
}

static void test_lost_ack(void)
{
	setup(0, 0, 0, 0);
	T.drop_nf_from[0][MN_NF_ACK] = 1;
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(a_done, 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECTED], 1);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 0);	/* server still half-open */
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 300), 0);
	CU_ASSERT_EQUAL(run(up, 5 * MS), 0);
	/* The first data packet established the server and was delivered. */
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 1);
	CU_ASSERT_EQUAL(run(NULL, 1 * MS), 0);
	CU_ASSERT_EQUAL(T.got[1], 1);
	CU_ASSERT_EQUAL(T.len[1][0], 300);
	CU_ASSERT(T.ev_t[1][MN_PROTO_EV_ACCEPTED] < 5 * MS);	/* by data, not by a SYN-ACK retry */
	teardown();
}

static void test_synack_wrong_ackno(void)
{
	setup(1, 1, 0, 0);
	T.bad_synack = 1;
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 100 * MS), 0);
	CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 0))->rx_synack_ignored, 1);
	CU_ASSERT(T.ev_t[0][MN_PROTO_EV_CONNECTED] >= 10 * MS);	/* only after the SYN retry */
	CU_ASSERT_EQUAL(count_frames(0, MN_NF_SYN), 2);
	teardown();
}

static int a_end(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_RESET] + t->ev[0][MN_PROTO_EV_CLOSED] + t->ev[0][MN_PROTO_EV_FAILED] > 0 &&
	       t->ev[1][MN_PROTO_EV_RESET] + t->ev[1][MN_PROTO_EV_CLOSED] + t->ev[1][MN_PROTO_EV_FAILED] > 0;
}

static void test_rst_both_ways(void)
{
	int r;

	setup(1, 1, 0, 0);
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 20000), 0);
	mn_proto_close(T.fa, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(mn_proto_send_bytes(T.fa, "x", 1, mn_sim_now(T.s)), -ECONNRESET);
	CU_ASSERT_EQUAL(run(a_end, 100 * MS), 0);
	/* Outstanding data first, then RST; the peer's app is told. */
	CU_ASSERT_EQUAL(T.got[1], 1);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CLOSED], 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_RESET], 1);
	CU_ASSERT_EQUAL(T.err[1][MN_PROTO_EV_RESET], -ECONNRESET);
	r = find_frame(0, MN_NF_RST, 0);
	CU_ASSERT_FATAL(r >= 0);
	CU_ASSERT_EQUAL(T.log[r].h.seqno, 16);	/* snd_nxt after 15 packets */
	CU_ASSERT_EQUAL(T.log[r].h.ackno, 1);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 1)), 0);

	/* Other direction; the client port 1024 is free again. */
	memset(T.ev, 0, sizeof(T.ev));
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
	{
		struct mn_flow_info fi;

		mn_flow_info(T.fa, &fi);
		CU_ASSERT_EQUAL(fi.local_port, MN_PROTO_FIRST_PORT);
	}
	mn_proto_close(T.fb, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(run(a_end, 100 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET], 1);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 0);
	teardown();
}

static void test_data_unknown_flow(void)
{
	uint8_t frame[96];
	struct mn_l2l3 a;
	struct mn_hdr h;
	uint64_t sent;

	setup(0, 0, 0, 0);
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
	/* B closes while everything it sends is lost: A never hears of it. */
	T.drop_all[1] = 1;
	mn_proto_close(T.fb, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(run(NULL, 1 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET], 0);
	T.drop_all[1] = 0;
	/* A's next data reaches a stack with no such flow: RST, A is told. */
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 10), 0);
	CU_ASSERT_EQUAL(run(a_terminal, 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET], 1);
	CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 1))->rst_unknown_sent, 1);

	/* A RST for an unknown flow is ignored and answered with nothing. */
	sent = mn_sim_stats(T.s)->sent[1];
	memset(&a, 0, sizeof(a));
	memcpy(a.src_mac, MAC_A, 6);
	memcpy(a.dst_mac, MAC_B, 6);
	a.src_ip = IP_A;
	a.dst_ip = IP_B;
	a.src_port = 4000;
	a.dst_port = PORT;
	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = MN_NF_RST;
	h.seqno = 5;
	h.ackno = 5;
	mn_wire_encode(frame, &a, &h, NULL, 0, MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	mn_sim_inject(T.s, 1, frame, sizeof(frame));
	CU_ASSERT_EQUAL(run(NULL, 1 * MS), 0);
	CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 1))->rx_rst_ignored, 1);
	CU_ASSERT_EQUAL(mn_sim_stats(T.s)->sent[1], sent);
	teardown();
}

static void test_connect_refused(void)
{
	setup(1, 1, 0, 0);
	connect_a(999);
	CU_ASSERT_EQUAL(run(a_done, 100 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECT_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CONNECT_FAILED], -ECONNREFUSED);
	CU_ASSERT(T.ev_t[0][MN_PROTO_EV_CONNECT_FAILED] < 1 * MS);	/* one RTT, no retries */
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 1)), 0);
	teardown();
}

static void test_retries_exhausted(void)
{
	int r;

	/* SYNs into the void: max_retries retransmissions, then failure. */
	setup(1, 1, 0, 60000 * MS);
	T.drop_all[0] = 1;
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(a_done, 60000 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECT_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CONNECT_FAILED], -ETIMEDOUT);
	CU_ASSERT_EQUAL(count_frames(0, MN_NF_SYN), 9);
	teardown();

	/* Established, then the peer goes silent: data retried 8 times with
	 * backoff, then RST and a failed event. */
	setup(1, 1, 0, 0);
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
	T.drop_all[1] = 1;
	T.nlog = 0;
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 1000), 0);
	CU_ASSERT_EQUAL(run(a_terminal, 60000 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_FAILED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_FAILED], -ETIMEDOUT);
	CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 0))->rtos, 8);
	r = find_frame(0, MN_NF_RST, 0);
	CU_ASSERT(r >= 0);
	CU_ASSERT_EQUAL(r, T.nlog - 1);		/* the last thing A sent */
	/* Backoff: the failure comes after 1+2+...+256 min RTOs, not 9. */
	CU_ASSERT(T.log[r].t - T.log[0].t >= 511 * MS);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 0);
	teardown();
}

static int got_n(void *arg)
{
	struct t *t = arg;

	return t->got[0] >= 300 && t->got[1] >= 300;
}

static void test_seq_wrap(void)
{
	int mode;

	for (mode = 0; mode < 2; mode++) {
		struct mn_flow_info fa, fb;
		uint32_t k, in_order = 1;
		struct mn_sim_link l = { .latency_ns = 10000, .bw_bps = 10000000000ull,
		                         .loss = 0.02, .reorder = 0.1, .reorder_ns = 20000 };

		setup(mode, mode, 20, 0);
		connect_a(PORT);
		CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
		CU_ASSERT_EQUAL(mn_proto_test_set_seq(T.fa, 0xfffffff0u, 0xffffff00u), 0);
		CU_ASSERT_EQUAL(mn_proto_test_set_seq(T.fb, 0xffffff00u, 0xfffffff0u), 0);
		mn_sim_set_link(T.s, 0, &l);
		mn_sim_set_link(T.s, 1, &l);
		for (k = 0; k < 300; k++) {
			CU_ASSERT_EQUAL(send_msg(T.fa, 0, k, 1 + (k * 977) % 6000), 0);
			CU_ASSERT_EQUAL(send_msg(T.fb, 1, k, 1 + (k * 601) % 6000), 0);
		}
		CU_ASSERT_EQUAL(run(got_n, 10000 * MS), 0);
		CU_ASSERT_EQUAL(T.got[0], 300);
		CU_ASSERT_EQUAL(T.got[1], 300);
		CU_ASSERT_EQUAL(T.key_ok[0], 300);
		CU_ASSERT_EQUAL(T.key_ok[1], 300);
		for (k = 0; k < 300; k++) {
			in_order &= T.len[1][k] == 1 + (k * 977) % 6000;
			in_order &= T.len[0][k] == 1 + (k * 601) % 6000;
		}
		CU_ASSERT(in_order);
		mn_flow_info(T.fa, &fa);
		mn_flow_info(T.fb, &fb);
		/* Both directions crossed 2^32. */
		CU_ASSERT(fa.snd_nxt < 0x10000000u && fa.rcv_nxt < 0x10000000u);
		CU_ASSERT(fb.snd_nxt < 0x10000000u && fb.rcv_nxt < 0x10000000u);
		CU_ASSERT(mn_proto_stats(mn_sim_ep(T.s, 0))->retransmits > 0);
		teardown();
	}
}

/* ------------------------------------------------------------ abort */

static int a_refused(void *arg)
{
	struct t *t = arg;

	return mn_proto_stats(mn_sim_ep(t->s, 0))->deliver_refused > 0;
}

static int b_reset_and_up(void *arg)
{
	struct t *t = arg;

	return t->ev[1][MN_PROTO_EV_RESET] && up(arg);
}

static int both_gone(void *arg)
{
	struct t *t = arg;

	return mn_proto_nflows(mn_sim_ep(t->s, 0)) == 0 && mn_proto_nflows(mn_sim_ep(t->s, 1)) == 0;
}

/* Everything both sides sent has arrived and every flow is gone: then any
 * buffer still counted by the simulator was leaked (or, below zero,
 * released twice). */
static void check_no_buffers(void)
{
	CU_ASSERT_EQUAL(run(both_gone, 100 * MS), 0);
	CU_ASSERT_EQUAL(run(NULL, 1 * MS), 0);
	CU_ASSERT_EQUAL(mn_sim_bufs_in_use(T.s), 0);
	CU_ASSERT_EQUAL(mn_sim_bad_releases(T.s), 0);
}

static void test_abort_mid_transfer(void)
{
	int mode;

	for (mode = 0; mode < 2; mode++) {
		struct mn_flow_info fi, fi2;
		long before, after;
		uint32_t held;
		int r;

		setup(mode, mode, 0, 0);
		connect_a(PORT);
		CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
		/* A's application sits on a 3-packet message from B while A
		 * has a 200 KB message partly in flight, partly queued. */
		T.refuse[0] = 1;
		CU_ASSERT_EQUAL(send_msg(T.fb, 1, 0, 4000), 0);
		CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 200000), 0);
		CU_ASSERT_EQUAL(run(a_refused, 10 * MS), 0);
		mn_flow_info(T.fa, &fi);
		CU_ASSERT_FATAL(fi.queued > 0 && fi.snd_nxt != fi.snd_una);
		CU_ASSERT_EQUAL(fi.rcv_nxt, 4);
		held = fi.queued + (fi.snd_nxt - fi.snd_una) + 3;

		before = mn_sim_bufs_in_use(T.s);
		T.nlog = 0;
		mn_proto_abort(T.fa, mn_sim_now(T.s));
		after = mn_sim_bufs_in_use(T.s);
		/* Reported before abort returns; every buffer A held is back
		 * (one new one is the RST on the wire). */
		CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 1);
		CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CLOSED], -ECONNABORTED);
		CU_ASSERT_PTR_NULL(T.fa);
		CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 0);
		CU_ASSERT_EQUAL(before - after, (long)held - 1);
		CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 0))->aborts, 1);
		CU_ASSERT_EQUAL(T.nlog, 1);
		r = find_frame(0, MN_NF_RST, 0);
		CU_ASSERT_FATAL(r >= 0);
		CU_ASSERT_EQUAL(T.log[r].h.seqno, fi.snd_nxt);
		CU_ASSERT_EQUAL(T.log[r].h.ackno, fi.rcv_nxt);

		/* The table entry and the source port are free at once: the
		 * same 4-tuple connects again, behind the RST on the wire. */
		memset(T.ev, 0, sizeof(T.ev));
		T.refuse[0] = 0;
		connect_a(PORT);
		mn_flow_info(T.fa, &fi2);
		CU_ASSERT_EQUAL(fi2.local_port, fi.local_port);
		CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 1);
		CU_ASSERT_EQUAL(run(b_reset_and_up, 10 * MS), 0);
		CU_ASSERT_EQUAL(T.err[1][MN_PROTO_EV_RESET], -ECONNRESET);
		CU_ASSERT_EQUAL(T.got[1], 0);		/* the 200 KB never completed */
		CU_ASSERT_EQUAL(T.got[0], 0);
		CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 3000), 0);
		CU_ASSERT_EQUAL(run(got1_b, 10 * MS), 0);
		CU_ASSERT_EQUAL(T.len[1][0], 3000);
		CU_ASSERT_EQUAL(T.key_ok[1], 1);
		mn_proto_close(T.fa, mn_sim_now(T.s));
		check_no_buffers();
		teardown();
	}
}

static void test_abort_syn_sent(void)
{
	long before;
	int r;

	/* The SYN-ACK never arrives: A in SYN_SENT with data queued, B
	 * half-open. */
	setup(1, 1, 0, 0);
	T.drop_nf_from[1][MN_NF_SYNACK] = 1000;
	connect_a(PORT);
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 5000), 0);	/* 4 packets */
	CU_ASSERT_EQUAL(run(NULL, 1 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECTED], 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 1)), 1);
	before = mn_sim_bufs_in_use(T.s);
	mn_proto_abort(T.fa, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CLOSED], -ECONNABORTED);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECT_FAILED], 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 0)), 0);
	CU_ASSERT_EQUAL(before - mn_sim_bufs_in_use(T.s), 4 - 1);
	r = find_frame(0, MN_NF_RST, 0);
	CU_ASSERT_FATAL(r >= 0);
	CU_ASSERT_EQUAL(T.log[r].h.seqno, 1);
	CU_ASSERT_EQUAL(T.log[r].h.ackno, 1);
	/* The RST clears B's half-open flow now, not at its 5 s timeout; A
	 * sends no more SYNs (the first retry would be at 10 ms). */
	CU_ASSERT_EQUAL(run(NULL, 100 * MS), 0);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 1)), 0);
	CU_ASSERT_EQUAL(mn_proto_stats(mn_sim_ep(T.s, 1))->rx_rst, 1);
	CU_ASSERT_EQUAL(count_frames(0, MN_NF_SYN), 1);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 0);
	check_no_buffers();
	teardown();

	/* A established, B still half-open (A's ACK lost): same. */
	setup(0, 0, 0, 0);
	T.drop_nf_from[0][MN_NF_ACK] = 1;
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(a_done, 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECTED], 1);
	CU_ASSERT_EQUAL(mn_proto_nflows(mn_sim_ep(T.s, 1)), 1);
	mn_proto_abort(T.fa, mn_sim_now(T.s));
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CLOSED], -ECONNABORTED);
	CU_ASSERT_EQUAL(run(both_gone, 1 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 0);
	check_no_buffers();
	teardown();
}

static int a_closed_b_reset(void *arg)
{
	struct t *t = arg;

	return t->ev[0][MN_PROTO_EV_CLOSED] && t->ev[1][MN_PROTO_EV_RESET];
}

static void test_abort_in_deliver(void)
{
	int how;

	for (how = 1; how <= 2; how++) {
		const struct mn_proto_stats *sa;
		uint32_t k;

		/* B's first data packet is lost, so the retransmission completes
		 * all five messages at once: A's deliver() aborts the flow on the
		 * first, then accepts (1) or refuses (2) it; the other four are
		 * still queued. */
		setup(1, 1, 0, 0);
		connect_a(PORT);
		CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
		T.drop_nf_from[1][MN_NF_DATA] = 1;
		T.abort_in_deliver[0] = how;
		for (k = 0; k < 5; k++)
			CU_ASSERT_EQUAL(send_msg(T.fb, 1, k, 3000), 0);
		CU_ASSERT_EQUAL(run(a_closed_b_reset, 100 * MS), 0);
		sa = mn_proto_stats(mn_sim_ep(T.s, 0));
		CU_ASSERT(sa->rx_ooo > 0);
		CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 1);
		CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CLOSED], -ECONNABORTED);
		CU_ASSERT_EQUAL(sa->msgs_delivered, how == 1 ? 1u : 0u);
		CU_ASSERT_EQUAL(T.got[0], how == 1 ? 1u : 0u);
		CU_ASSERT_EQUAL(T.key_ok[0], T.got[0]);
		CU_ASSERT_EQUAL(T.err[1][MN_PROTO_EV_RESET], -ECONNRESET);
		check_no_buffers();
		teardown();
	}
}

static void test_abort_reconnect_in_deliver(void)
{
	struct mn_flow_info fi;

	/* A new flow opened from inside the callback never gets the aborted
	 * flow's slot while a caller up the stack may still hold that handle;
	 * the 4-tuple and port are free at once all the same. */
	setup(1, 1, 0, 0);
	connect_a(PORT);
	CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
	T.abort_in_deliver[0] = 1;
	T.reconnect_in_deliver = 1;
	CU_ASSERT_EQUAL(send_msg(T.fb, 1, 0, 3000), 0);
	CU_ASSERT_EQUAL(run(a_closed_b_reset, 10 * MS), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(T.fa);
	CU_ASSERT_PTR_NOT_EQUAL(T.fa, T.aborted);
	mn_flow_info(T.fa, &fi);
	CU_ASSERT_EQUAL(fi.local_port, MN_PROTO_FIRST_PORT);
	T.ev[1][MN_PROTO_EV_ACCEPTED] = 0;
	CU_ASSERT_EQUAL(run(up, 10 * MS), 0);
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 3000), 0);
	CU_ASSERT_EQUAL(run(got1_b, 10 * MS), 0);
	CU_ASSERT_EQUAL(T.key_ok[1], 1);
	mn_proto_abort(T.fa, mn_sim_now(T.s));
	check_no_buffers();
	teardown();
}

static void test_abort_in_event(void)
{
	/* B aborts the flow in its ACCEPTED callback; A (with data queued
	 * before it connected) is reset, and aborting from inside that RESET
	 * callback is a no-op. */
	setup(1, 1, 0, 0);
	T.abort_on_event[1] = MN_PROTO_EV_ACCEPTED;
	T.abort_on_event[0] = MN_PROTO_EV_RESET;
	connect_a(PORT);
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 5000), 0);
	CU_ASSERT_EQUAL(run(a_terminal, 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 1);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.err[1][MN_PROTO_EV_CLOSED], -ECONNABORTED);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_RESET], 1);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 0);
	CU_ASSERT_EQUAL(T.got[1], 0);
	check_no_buffers();
	teardown();

	/* A aborts in its CONNECTED callback, with data queued: B, accepted
	 * by the ACK that went out first, is reset right behind it. */
	setup(1, 1, 0, 0);
	T.abort_on_event[0] = MN_PROTO_EV_CONNECTED;
	connect_a(PORT);
	CU_ASSERT_EQUAL(send_msg(T.fa, 0, 0, 5000), 0);
	CU_ASSERT_EQUAL(run(both_gone, 10 * MS), 0);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CONNECTED], 1);
	CU_ASSERT_EQUAL(T.ev[0][MN_PROTO_EV_CLOSED], 1);
	CU_ASSERT_EQUAL(T.err[0][MN_PROTO_EV_CLOSED], -ECONNABORTED);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_ACCEPTED], 1);
	CU_ASSERT_EQUAL(T.ev[1][MN_PROTO_EV_RESET], 1);
	CU_ASSERT_EQUAL(count_frames(0, MN_NF_DATA), 0);
	check_no_buffers();
	teardown();
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "normal handshake, data, negotiation", test_normal },
		{ "lost SYN", test_lost_syn },
		{ "lost SYN-ACK", test_lost_synack },
		{ "lost final ACK: server established by data", test_lost_ack },
		{ "SYN-ACK with wrong ackno ignored", test_synack_wrong_ackno },
		{ "close: data, then RST both ways", test_rst_both_ways },
		{ "data to unknown flow answered by RST; RST to unknown ignored", test_data_unknown_flow },
		{ "connect to a closed port refused", test_connect_refused },
		{ "retries exhausted: connect and data", test_retries_exhausted },
		{ "sequence numbers wrap", test_seq_wrap },
		{ "abort mid-transfer: RST, every buffer back, port reusable", test_abort_mid_transfer },
		{ "abort in SYN_SENT and toward a half-open peer", test_abort_syn_sent },
		{ "abort from inside deliver (accepted and refused)", test_abort_in_deliver },
		{ "abort and connect again from inside deliver", test_abort_reconnect_in_deliver },
		{ "abort from inside event callbacks", test_abort_in_event },
	};

	return mn_cu_run("proto_handshake", tests, sizeof(tests) / sizeof(tests[0]));
}
