/* Loss recovery toward a plain Machnet peer (issue 13), from the captures
 * of machnet-mp against the real Machnet (test/data/machnet-interop/) and
 * from a simulated Machnet peer:
 *   - rexmit_episode: Machnet's side (198.18.0.2:1024, its msg_gen client)
 *     of evidence-rexmit-episode.pcap is replayed into our endpoint playing
 *     the server (198.18.0.1:888, echoing every request). Machnet's engine
 *     goes 3.3 ms without a frame; our RTO fires; then its per-packet ACKs
 *     arrive in bursts. No retransmission of ours may be of a packet that
 *     an ACK already in our hands covered, and the RTO must be found
 *     spurious and its window reduction undone.
 *   - ctrl_and_hello: Machnet's SYNs and its SYN-ACK of
 *     evidence-ctrl-and-hello.pcap: our answers fall back to the plain
 *     protocol and match Machnet's counterpart byte for byte (but for the
 *     checksums, the SACK bitmap and the timestamp).
 *   - descheduled peer: our stack against a plain Machnet peer (mn_sim with
 *     the peer's extensions off and its frames rewritten as Machnet writes
 *     them) that is descheduled for 1-5 ms at a time: retransmissions per
 *     RTO within 2x of the same run toward an extension peer, every message
 *     delivered; and with the default plain_min_rto_ns no RTO at all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_pcap.h"
#include "mn_proto.h"
#include "mn_sim.h"
#include "mn_wire.h"

#define IP_1 0xc6120001u	/* machnet-mp in the captures */
#define IP_2 0xc6120002u	/* Machnet */
#define TH_OFF (MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN)
#define BURST 32		/* frames per receive burst, as machnetd's */
#define BURST_GAP_NS 50000ull	/* frames further apart than this are separate bursts */

static const char *g_dir;

/* ------------------------------------------------------------ replays */

struct rbuf {
	int refs;
	uint8_t room[128 + 2048];
};

struct replay {
	struct mn_proto *ep;
	struct mn_flow *flow;
	long bufs;
	uint64_t now;
	int accepted, connected, bad_events;
	uint32_t msgs, pending;
	/* what we sent */
	int sent_data;
	uint32_t snd_high;		/* one past the highest data seqno sent */
	uint32_t rexmits;
	uint32_t rexmits_acked;		/* of a seqno below peer_ack: already ACKed */
	uint32_t peer_ack;		/* highest ackno in the bursts handed to us */
	int peer_acked;
	uint8_t ctrl[64][MN_ALL_HLEN];	/* our control frames, in order */
	int nctrl;
	uint8_t echo[1 << 16];
};

static struct replay R;

static void *r_alloc(void *ctx, uint8_t **payload)
{
	struct rbuf *b = calloc(1, sizeof(*b));

	(void)ctx;
	if (!b)
		return NULL;
	b->refs = 1;
	R.bufs++;
	*payload = b->room + 128;
	return b;
}

static void r_release(void *ctx, void *buf)
{
	struct rbuf *b = buf;

	(void)ctx;
	if (--b->refs == 0) {
		free(b);
		R.bufs--;
	}
}

static void r_hold(void *ctx, void *buf)
{
	(void)ctx;
	((struct rbuf *)buf)->refs++;
}

static int r_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	struct mn_hdr h;

	(void)local;
	(void)len;
	mn_hdr_decode(frame + TH_OFF, &h);
	if (h.net_flags == MN_NF_DATA) {
		if (R.sent_data && mn_seq_lt(h.seqno, R.snd_high)) {
			R.rexmits++;
			if (R.peer_acked && mn_seq_lt(h.seqno, R.peer_ack))
				R.rexmits_acked++;
		} else {
			R.snd_high = h.seqno + 1;
			R.sent_data = 1;
		}
	} else if (R.nctrl < 64) {
		memcpy(R.ctrl[R.nctrl++], frame, MN_ALL_HLEN);
	}
	r_release(ctx, buf);
	return 0;
}

static int r_deliver(void *ctx, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                     uint32_t nsegs, uint32_t len)
{
	uint32_t i;

	(void)f;
	(void)cookie;
	(void)len;
	R.msgs++;
	R.pending++;
	for (i = 0; i < nsegs; i++)
		r_release(ctx, segs[i].buf);
	return 0;
}

static void r_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev, int err)
{
	(void)ctx;
	(void)cookie;
	(void)err;
	if (ev == MN_PROTO_EV_ACCEPTED) {
		R.accepted++;
		R.flow = f;
	} else if (ev == MN_PROTO_EV_CONNECTED) {
		R.connected++;
	} else {
		R.bad_events++;
	}
}

static void r_new(const uint8_t mac[6], uint64_t plain_min_rto_ns)
{
	struct mn_proto_params p;
	struct mn_proto_ops ops = { NULL, r_tx, r_hold, r_release, r_alloc, r_deliver, r_event, NULL };

	memset(&R, 0, sizeof(R));
	R.now = 1000000000ull;
	mn_proto_params_default(&p);
	p.n_local = 1;
	p.local[0].ip = IP_1;
	memcpy(p.local[0].mac, mac, 6);
	p.rx_check_csum = 0;
	p.pool_pkts = 4096;
	p.max_flows = 16;
	p.plain_min_rto_ns = plain_min_rto_ns;
	R.ep = mn_proto_create(&p, &ops, R.now);
	CU_ASSERT_FATAL(R.ep != NULL);
}

/* Hands frame to the endpoint in a buffer of its own. */
static void r_rx(const uint8_t *frame, uint32_t len)
{
	uint8_t *payload;
	struct rbuf *b = r_alloc(NULL, &payload);

	CU_ASSERT_FATAL(b != NULL && len <= sizeof(b->room));
	memcpy(b->room, frame, len);
	mn_proto_rx(R.ep, b, b->room, len, R.now);
}

/* A control frame from the peer whose addresses are those of `like`. */
static void r_rx_ctrl(const struct mn_frame *like, uint8_t nf, uint32_t seq, uint32_t ack)
{
	uint8_t f[MN_ALL_HLEN];
	struct mn_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = nf;
	h.seqno = seq;
	h.ackno = ack;
	mn_wire_encode(f, &like->addr, &h, NULL, 0, MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	r_rx(f, sizeof(f));
}

/* Runs our timers up to t. */
static void r_advance(uint64_t t)
{
	int n;

	for (n = 0; n < 100000; n++) {
		uint64_t d = mn_proto_next_deadline(R.ep);

		if (d > t)
			break;
		R.now = d > R.now ? d : R.now;
		mn_proto_poll(R.ep, R.now);
	}
	CU_ASSERT(n < 100000);
	R.now = t > R.now ? t : R.now;
}

/* The server application: echoes every request it took (1 KB each). */
static void r_app(uint32_t len)
{
	while (R.pending && R.flow && mn_proto_send_bytes(R.flow, R.echo, len, R.now) == 0)
		R.pending--;
}

static int load(const char *name, struct mn_pcap_pkt **pk)
{
	char path[1024];
	int n;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	n = mn_pcap_load(path, pk);
	CU_ASSERT_FATAL(n > 0);
	return n;
}

static int decode(const struct mn_pcap_pkt *p, struct mn_frame *fr)
{
	return p->len >= MN_ALL_HLEN && p->data[12] == 0x08 && p->data[13] == 0x00 &&
	       mn_wire_decode(p->data, p->len, MN_DEC_NO_CSUM, fr) == MN_RX_OK;
}

static void test_rexmit_episode(void)
{
	struct mn_pcap_pkt *pk = NULL;
	struct mn_frame fr, first_theirs, first_ours;
	int n = load("evidence-rexmit-episode.pcap", &pk), i, j, have_theirs = 0, have_ours = 0;
	uint32_t n0 = 0, their_msgs = 0, k;
	double t0 = pk[0].t;
	struct mn_flow_info fi;
	double cwnd_before = 0, cwnd_after = -1;
	uint64_t rtos_before;

	/* Addresses and the sequence numbers at the start of the capture:
	 * our first frame's seqno and ackno are our snd_nxt and rcv_nxt, and
	 * the data we sent before Machnet's first request of the capture
	 * answers requests from before it. */
	for (i = 0; i < n; i++) {
		if (!decode(&pk[i], &fr))
			continue;
		if (fr.addr.src_ip == IP_2 && !have_theirs) {
			first_theirs = fr;
			have_theirs = 1;
			if (fr.hdr.net_flags == MN_NF_DATA)
				break;
		}
		if (fr.addr.src_ip == IP_1 && !have_ours) {
			first_ours = fr;
			have_ours = 1;
		}
		if (fr.addr.src_ip == IP_2 && fr.hdr.net_flags == MN_NF_DATA)
			break;
		if (fr.addr.src_ip == IP_1 && fr.hdr.net_flags == MN_NF_DATA)
			n0++;
	}
	CU_ASSERT_FATAL(have_theirs && have_ours && n0 > 0);
	/* Our RTO floor toward plain peers as it was when the capture was
	 * taken (1 ms), so the pause fires it as it did then. */
	r_new(first_ours.addr.src_mac, 1000000ull);
	CU_ASSERT_FATAL(mn_proto_listen(R.ep, IP_1, first_ours.addr.src_port, NULL) == 0);
	r_rx_ctrl(&first_theirs, MN_NF_SYN, 0, 0);
	r_rx_ctrl(&first_theirs, MN_NF_ACK, 1, 1);
	CU_ASSERT_FATAL(R.accepted == 1 && R.flow != NULL);
	CU_ASSERT_FATAL(mn_proto_test_set_seq(R.flow, first_ours.hdr.seqno, first_ours.hdr.ackno) == 0);
	R.nctrl = 0;
	R.pending = n0;
	r_app(1024);

	/* Machnet's frames, burst by burst: the frames between two of ours,
	 * at most BURST, none further than BURST_GAP_NS from the previous. */
	for (i = 0; i < n; i = j) {
		uint64_t t_last;

		if (!decode(&pk[i], &fr) || fr.addr.src_ip != IP_2) {
			j = i + 1;
			continue;
		}
		for (j = i; j < n && j - i < BURST; j++) {
			struct mn_frame g;

			if (!decode(&pk[j], &g) || g.addr.src_ip != IP_2)
				break;
			if (j > i && (pk[j].t - pk[j - 1].t) * 1e9 > BURST_GAP_NS)
				break;
		}
		t_last = 1000000000ull + (uint64_t)((pk[j - 1].t - t0) * 1e9);
		mn_flow_info(R.flow, &fi);
		rtos_before = mn_proto_stats(R.ep)->rtos;
		if (!rtos_before)
			cwnd_before = fi.cwnd;
		r_advance(t_last);
		/* The burst is in our hands: what its ACKs cover is ACKed. */
		for (k = (uint32_t)i; k < (uint32_t)j; k++) {
			struct mn_frame g;

			decode(&pk[k], &g);
			if (g.hdr.net_flags == MN_NF_ACK &&
			    (!R.peer_acked || mn_seq_gt(g.hdr.ackno, R.peer_ack))) {
				R.peer_ack = g.hdr.ackno;
				R.peer_acked = 1;
			}
		}
		for (k = (uint32_t)i; k < (uint32_t)j; k++) {
			struct mn_frame g;

			decode(&pk[k], &g);
			if (g.hdr.net_flags == MN_NF_DATA)
				their_msgs += (g.hdr.msg_flags & MN_MF_LAST) != 0;
			r_rx(pk[k].data, pk[k].len);
		}
		mn_proto_flush(R.ep, R.now);
		r_app(1024);
		mn_proto_poll(R.ep, R.now);
		/* The first ACKs after the timeout: the window is back. */
		if (mn_proto_stats(R.ep)->rtos && cwnd_after < 0 && R.flow) {
			struct mn_flow_info now;

			mn_flow_info(R.flow, &now);
			if (now.snd_una != fi.snd_una)
				cwnd_after = now.cwnd;
		}
	}
	{
		const struct mn_proto_stats *st = mn_proto_stats(R.ep);

		printf("\n  %u requests echoed; %llu RTOs (%llu spurious), %u retransmissions, %u of ACKed packets;"
		       " cwnd %.1f before the RTO, %.1f after the first ACKs",
		       R.msgs, (unsigned long long)st->rtos, (unsigned long long)st->rtos_spurious,
		       R.rexmits, R.rexmits_acked, cwnd_before, cwnd_after);
		for (k = 1; k < MN_RX__COUNT; k++)
			CU_ASSERT_EQUAL(st->rx_drop[k], 0);
		CU_ASSERT_EQUAL(st->rx_unexpected, 0);
		CU_ASSERT_EQUAL(st->rx_stale_acks, 0);
		/* The pause fired the RTO, the ACKs proved it spurious. */
		CU_ASSERT(st->rtos >= 1);
		CU_ASSERT(st->rtos_spurious >= 1);
		CU_ASSERT(R.rexmits >= 1);
		CU_ASSERT_EQUAL(st->retransmits, R.rexmits);
	}
	/* Nothing resent that the peer's ACKs in our hands had covered. */
	CU_ASSERT_EQUAL(R.rexmits_acked, 0);
	/* The window from before the timeout, at once. */
	CU_ASSERT(cwnd_before > 0 && cwnd_after == cwnd_before);
	CU_ASSERT_EQUAL(R.msgs, their_msgs);
	CU_ASSERT_EQUAL(R.bad_events, 0);
	mn_proto_destroy(R.ep);
	CU_ASSERT_EQUAL(R.bufs, 0);
	mn_pcap_free(pk, n);
}

/* Compares a control frame of ours with Machnet's: every byte but the IP
 * and UDP checksums (24-25, 40-41), the SACK bitmap (54-85) and the
 * timestamp (88-95). */
static int same_ctrl(const uint8_t *a, const uint8_t *b)
{
	int i;

	for (i = 0; i < MN_ALL_HLEN; i++) {
		if (i == 24 || i == 25 || i == 40 || i == 41 || (i >= 54 && i <= 85) || i >= 88)
			continue;
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

/* Machnet's SYNs (its client against our server): each answered at once
 * with the SYN-ACK Machnet's own server would send; the server flow falls
 * back to plain. Our SYN to Machnet's hello_world server and its SYN-ACK:
 * we connect in plain mode and ACK like Machnet's client. */
static void test_ctrl_and_hello(void)
{
	struct mn_pcap_pkt *pk = NULL;
	int n = load("evidence-ctrl-and-hello.pcap", &pk), i, synacks = 0, matched = 0, hello = 0;
	int connects = 0;
	struct mn_frame fr;

	for (i = 0; i < n; i++) {
		struct mn_flow_info fi;
		int j;

		if (!decode(&pk[i], &fr) || fr.addr.src_ip != IP_2)
			continue;
		if (fr.hdr.net_flags == MN_NF_SYN) {
			/* Its answer is the next frame of ours on this tuple. */
			r_new(fr.addr.dst_mac, MN_PROTO_DEFAULT_PLAIN_MIN_RTO_NS);
			CU_ASSERT_FATAL(mn_proto_listen(R.ep, IP_1, fr.addr.dst_port, NULL) == 0);
			r_rx(pk[i].data, pk[i].len);
			CU_ASSERT_FATAL(R.nctrl == 1);
			for (j = i + 1; j < n; j++) {
				struct mn_frame g;

				if (decode(&pk[j], &g) && g.addr.src_ip == IP_1 &&
				    g.hdr.net_flags == MN_NF_SYNACK) {
					synacks++;
					matched += same_ctrl(R.ctrl[0], pk[j].data);
					break;
				}
			}
			mn_proto_destroy(R.ep);
			CU_ASSERT_EQUAL(R.bufs, 0);
		} else if (fr.hdr.net_flags == MN_NF_SYNACK) {
			struct mn_frame ours;
			struct mn_flow *f;

			/* Our SYN went out just before; the same flow of ours. */
			for (j = i - 1; j >= 0; j--)
				if (decode(&pk[j], &ours) && ours.addr.src_ip == IP_1 &&
				    ours.hdr.net_flags == MN_NF_SYN)
					break;
			CU_ASSERT_FATAL(j >= 0);
			r_new(ours.addr.src_mac, MN_PROTO_DEFAULT_PLAIN_MIN_RTO_NS);
			f = mn_proto_connect(R.ep, IP_1, IP_2, ours.addr.dst_port, ours.addr.dst_mac, NULL,
			                     R.now);
			CU_ASSERT_FATAL(f != NULL);
			mn_flow_info(f, &fi);
			if (fi.local_port != ours.addr.src_port) {
				/* Not the first port of ours; not this test's case. */
				mn_proto_destroy(R.ep);
				continue;
			}
			/* Our SYN advertises the extensions, Machnet's SYN-ACK none. */
			CU_ASSERT(R.nctrl == 1 && same_ctrl(R.ctrl[0], pk[j].data));
			r_rx(pk[i].data, pk[i].len);
			CU_ASSERT(R.connected == 1);
			mn_flow_info(f, &fi);
			CU_ASSERT_EQUAL(fi.extensions, 0);
			connects++;
			/* Then our ACK, where the capture kept it (hello_world's
			 * exchange; of the others only SYN, SYN-ACK, RST). */
			for (j = i + 1; j < n; j++) {
				if (decode(&pk[j], &ours) && ours.addr.src_ip == IP_1) {
					if (ours.hdr.net_flags == MN_NF_ACK) {
						CU_ASSERT(R.nctrl == 2 && same_ctrl(R.ctrl[1], pk[j].data));
						hello++;
					}
					break;
				}
			}
			mn_proto_destroy(R.ep);
			CU_ASSERT_EQUAL(R.bufs, 0);
		}
	}
	printf("\n  %d of %d SYN-ACKs as Machnet's; %d connects to Machnet, %d ACKs compared",
	       matched, synacks, connects, hello);
	CU_ASSERT(synacks >= 4);
	CU_ASSERT(connects >= 4);
	CU_ASSERT_EQUAL(matched, synacks);
	CU_ASSERT_EQUAL(hello, 1);
	mn_pcap_free(pk, n);
}

/* -------------------------------------------------- descheduled peer */

#define LAT_NS 20000ull		/* one way */
#define MSG_LEN 1024
#define SIM_MSGS 30000
#define SIM_WINDOW 32

struct srun {
	struct mn_sim *s;
	int machnet;			/* node 1 plays a plain Machnet stack */
	struct mn_flow *fa, *fb;
	uint32_t sent, echoed, served, pending;
	uint32_t errors;
	uint64_t rng;
	uint64_t sleep_from, sleep_to;	/* node 1's next pause */
	uint32_t pauses;
	uint8_t buf[MSG_LEN];
};

static int s_deliver(void *arg, int node, struct mn_flow *f, void *cookie,
                     const struct mn_seg *segs, uint32_t nsegs, uint32_t len)
{
	struct srun *r = arg;
	uint32_t want = node ? r->served : r->echoed;

	(void)f;
	(void)cookie;
	if (len != MSG_LEN || nsegs != 1 || segs[0].data[0] != (uint8_t)want ||
	    segs[0].data[MSG_LEN - 1] != (uint8_t)(want * 7))
		r->errors++;
	if (node) {
		r->served++;
		r->pending++;
	} else {
		r->echoed++;
	}
	return 0;
}

static void s_event(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                    int err)
{
	struct srun *r = arg;

	(void)cookie;
	(void)err;
	if (node == 1 && ev == MN_PROTO_EV_ACCEPTED)
		r->fb = f;
	else if (!(node == 0 && ev == MN_PROTO_EV_CONNECTED))
		r->errors++;
}

static int s_filter(void *arg, int from, uint8_t *frame, uint32_t len)
{
	struct srun *r = arg;

	if (from == 1 && r->machnet)
		mn_sim_machnet_rewrite(frame, len);
	return 0;
}

static int s_send(struct srun *r, struct mn_flow *f, uint32_t k)
{
	r->buf[0] = (uint8_t)k;
	r->buf[MSG_LEN - 1] = (uint8_t)(k * 7);
	return mn_proto_send_bytes(f, r->buf, MSG_LEN, mn_sim_now(r->s));
}

/* Node 1 is descheduled for 1-5 ms after each 1-2 ms it runs: what is
 * sent toward it meanwhile arrives when it runs again (in order), and it
 * sends nothing of its own (its timers are far longer than a pause). */
static void s_pump(void *arg)
{
	struct srun *r = arg;
	uint64_t now = mn_sim_now(r->s), at = now + LAT_NS;
	struct mn_sim_link l = { .latency_ns = LAT_NS, .bw_bps = 10000000000ull };

	while (at >= r->sleep_to) {
		r->sleep_from = r->sleep_to + 1000000ull + mn_sim_rand(&r->rng) % 1000000ull;
		r->sleep_to = r->sleep_from + 1000000ull + mn_sim_rand(&r->rng) % 4000001ull;
		r->pauses++;
	}
	if (at >= r->sleep_from)
		l.latency_ns += r->sleep_to - at;
	mn_sim_set_link(r->s, 0, &l);
	while (r->fb && r->pending && s_send(r, r->fb, r->served - r->pending) == 0)
		r->pending--;
	while (r->fa && r->sent < SIM_MSGS && r->sent - r->echoed < SIM_WINDOW &&
	       s_send(r, r->fa, r->sent) == 0)
		r->sent++;
}

static int s_done(void *arg)
{
	return ((struct srun *)arg)->echoed == SIM_MSGS;
}

struct sresult {
	uint64_t rexmits, rtos, spurious;
	uint32_t pauses;
	int rc;
};

static struct sresult sim_run(int machnet, uint64_t plain_min_rto_ns)
{
	struct srun *r = calloc(1, sizeof(*r));
	struct mn_proto_params p[2];
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };
	const struct mn_proto_stats *st;
	struct sresult res;
	int n;

	CU_ASSERT_FATAL(r != NULL);
	r->machnet = machnet;
	r->rng = 0x5eed0013u;
	r->sleep_from = r->sleep_to = 0;
	for (n = 0; n < 2; n++) {
		mn_proto_params_default(&p[n]);
		p[n].n_local = 1;
		p[n].local[0].ip = n ? IP_2 : IP_1;
		p[n].local[0].mac[0] = 2;
		p[n].local[0].mac[5] = (uint8_t)(n + 1);
		p[n].keepalive_ns = 0;
		p[n].ack_delay_ns = 0;
	}
	p[0].plain_min_rto_ns = plain_min_rto_ns;
	/* The peer: Machnet's RTO is about 3 s; a pause never fires it. */
	p[1].extensions = !machnet;
	p[1].min_rto_ns = p[1].plain_min_rto_ns = p[1].init_rto_ns = 500000000ull;
	memset(links, 0, sizeof(links));
	for (n = 0; n < 2; n++) {
		links[n].latency_ns = LAT_NS;
		links[n].bw_bps = 10000000000ull;
	}
	hooks.arg = r;
	hooks.deliver = s_deliver;
	hooks.event = s_event;
	hooks.filter = s_filter;
	hooks.pump = s_pump;
	r->s = mn_sim_create(0x13, &p[0], &p[1], links, &hooks);
	CU_ASSERT_FATAL(r->s != NULL);
	CU_ASSERT_FATAL(mn_proto_listen(mn_sim_ep(r->s, 1), IP_2, 888, NULL) == 0);
	r->fa = mn_proto_connect(mn_sim_ep(r->s, 0), IP_1, IP_2, 888, p[1].local[0].mac, NULL, 0);
	CU_ASSERT_FATAL(r->fa != NULL);
	res.rc = mn_sim_run(r->s, s_done, r, 20000000000ull, 20000000ull);
	st = mn_proto_stats(mn_sim_ep(r->s, 0));
	res.rexmits = st->retransmits;
	res.rtos = st->rtos;
	res.spurious = st->rtos_spurious;
	res.pauses = r->pauses;
	printf("\n  %-7s floor %4.1f ms: rc %d sim %8.1f ms, %u pauses, %llu RTOs (%llu spurious),"
	       " %llu retransmissions (%.2f per RTO), %u echoed",
	       machnet ? "machnet" : "ext", (double)plain_min_rto_ns / 1e6, res.rc,
	       (double)mn_sim_now(r->s) / 1e6, r->pauses, (unsigned long long)res.rtos,
	       (unsigned long long)res.spurious, (unsigned long long)res.rexmits,
	       res.rtos ? (double)res.rexmits / (double)res.rtos : 0.0, r->echoed);
	CU_ASSERT_EQUAL(res.rc, 0);
	CU_ASSERT_EQUAL(r->errors, 0);
	CU_ASSERT_EQUAL(r->echoed, SIM_MSGS);
	CU_ASSERT_EQUAL(r->served, SIM_MSGS);
	CU_ASSERT_EQUAL(mn_sim_destroy(r->s), 0);
	free(r);
	return res;
}

static void test_descheduled_peer(void)
{
	struct sresult ext, plain, deflt;

	/* The same 1 ms RTO floor both ways, so that the pauses fire it. */
	ext = sim_run(0, 1000000ull);
	plain = sim_run(1, 1000000ull);
	CU_ASSERT(ext.pauses >= 20 && ext.rtos >= 10 && plain.rtos >= 10);
	CU_ASSERT(plain.rexmits * ext.rtos <= 2 * ext.rexmits * plain.rtos);
	CU_ASSERT(plain.spurious >= plain.rtos / 2);
	/* The default floor toward a plain peer outlasts every pause. */
	deflt = sim_run(1, MN_PROTO_DEFAULT_PLAIN_MIN_RTO_NS);
	CU_ASSERT_EQUAL(deflt.rtos, 0);
	CU_ASSERT(deflt.pauses >= 20);
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "rexmit episode: only unACKed resent, spurious RTO undone", test_rexmit_episode },
		{ "control frames and hello_world against Machnet", test_ctrl_and_hello },
		{ "plain Machnet peer descheduled 1-5 ms", test_descheduled_peer },
	};

	g_dir = argc > 1 ? argv[1] : "test/data/machnet-interop";
	return mn_cu_run("proto_interop", tests, sizeof(tests) / sizeof(tests[0]));
}
