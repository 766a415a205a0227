#include "mn_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mn_timer.h"

#define NIL UINT32_MAX
#define WIN_MASK (MN_PROTO_RX_AHEAD - 1)

/* A packet held by the endpoint: queued or unACKed on TX, buffered or
 * undelivered on RX. Lives in the endpoint's pool, linked by index. */
struct pkt {
	void *buf;
	uint8_t *data;
	uint32_t len;
	uint32_t next;
	uint64_t tx_ns;		/* last transmission */
	uint16_t ntx;
	uint8_t mflags;
	uint8_t sacked;
};

enum {
	ST_FREE = 0,
	ST_SYN_SENT,
	ST_SYN_RCVD,
	ST_ESTABLISHED,
	ST_DEAD,		/* terminal event being reported */
};

struct mn_flow {
	struct mn_proto *ep;
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint8_t lmac[6], rmac[6];
	uint8_t state;
	uint8_t passive;
	uint8_t ext;
	uint8_t piggy;			/* piggybacked ACKs agreed (mn_proto.h) */
	uint8_t closing;
	uint8_t ack_pending;
	uint8_t in_ack_list;
	uint8_t rx_in_msg;
	uint8_t rx_blocked;
	uint8_t in_recovery;
	uint8_t local_idx;
	uint32_t dupacks;
	uint32_t retries;
	uint32_t backoff;
	uint32_t idx;
	uint32_t free_next;
	void *cookie;
	struct mn_timer timer;
	struct mn_flow *ack_next;
	uint64_t ack_ts;		/* timestamp to echo in the next ACK */
	uint64_t ack_rx_ns;		/* when the packet that carried ack_ts arrived */
	uint64_t ack_due;		/* a pending ACK goes alone at this time */
	uint32_t rx_unacked;		/* in-order packets since our last ACK */
	uint32_t ack_carrier;		/* our data packet that carried the pending ACK */
	uint8_t ack_carried;		/* the pending ACK rides on ack_carrier */

	/* handshake and close */
	uint64_t hs_at;			/* next SYN / SYN-ACK retransmission */
	uint64_t conn_deadline;		/* SYN_SENT / SYN_RCVD lifetime */
	uint64_t close_deadline;
	uint64_t syn_tx_ns;

	/* sender */
	uint32_t snd_una, snd_nxt, recover;
	uint32_t sq_head, sq_tail, sq_len;
	uint32_t nsacked;
	uint32_t cap;			/* in-flight cap for this peer */
	uint64_t rto_at;		/* 0: not armed */
	uint64_t probe_at;		/* recovery probe; 0: not armed */
	uint32_t probe_n;
	uint64_t push_at;		/* 0: not paced */
	uint64_t next_send_at;
	uint64_t srtt, rttvar, rto;
	struct mn_cc cc;
	uint32_t win[MN_PROTO_MAX_INFLIGHT];	/* pkt index by seq & 255 */

	/* receiver */
	uint32_t rcv_nxt;
	uint32_t ooo_count;
	uint32_t rq_head, rq_tail, rq_msgs;
	uint32_t rx_msg_pkts;
	uint64_t rx_msg_bytes;
	uint64_t rx_retry_at;
	uint32_t ooo[MN_PROTO_RX_AHEAD];	/* pkt index by seq & 255 */

	/* keepalive (extension peers only) */
	uint64_t heard_ns;		/* last frame from the peer */
	uint64_t ka_at;			/* next keepalive check; 0: off */
	uint64_t ka_since;		/* first probe of the current series */
	uint32_t ka_n;			/* probes sent in the current series */
};

struct listener {
	uint32_t ip;
	uint16_t port;
	uint8_t used;
	void *cookie;
};

struct mn_proto {
	struct mn_proto_params p;
	struct mn_proto_ops ops;
	uint32_t mss;
	uint32_t max_msg_pkts;
	uint32_t tx_pool_cap;		/* TX may not starve RX of packets */

	struct mn_flow *flows;
	uint32_t free_flow;
	uint32_t nflows;
	uint32_t nhalf;
	uint32_t *ht;
	uint32_t ht_mask;
	struct listener *ls;
	uint32_t *ports[MN_PROTO_MAX_LOCAL];	/* bitmap of active source ports */

	struct pkt *pool;
	uint32_t pool_free;
	uint32_t pool_used;
	uint32_t tx_used;
	struct mn_seg *scratch;		/* rx_deliver()'s segment list */
	struct mn_seg *tx_scratch;	/* mn_proto_send_bytes()'s, separate: it may run inside deliver */

	struct mn_wheel wheel;
	struct mn_flow *ack_list;
	uint64_t ack_wake;		/* earliest ack_due in ack_list; UINT64_MAX: none */
	uint64_t now;
	/* Owner callbacks running (nested). A flow freed meanwhile (abort from
	 * inside a callback) parks its slot on `zombies` until they have all
	 * returned, so a caller up the stack that still holds the pointer sees
	 * ST_FREE, never a new flow that took the slot. */
	uint32_t cb_depth;
	uint32_t zombies;
	struct mn_proto_stats st;
};

/* ---------------------------------------------------------------- pool */

static uint32_t pool_get(struct mn_proto *ep)
{
	uint32_t i = ep->pool_free;

	if (i == NIL)
		return NIL;
	ep->pool_free = ep->pool[i].next;
	ep->pool[i].next = NIL;
	ep->pool_used++;
	return i;
}

static void pool_put(struct mn_proto *ep, uint32_t i)
{
	ep->pool[i].buf = NULL;
	ep->pool[i].next = ep->pool_free;
	ep->pool_free = i;
	ep->pool_used--;
}

/* Drops a TX packet: its buffer reference and its slot. */
static void tx_pkt_free(struct mn_proto *ep, uint32_t i)
{
	ep->ops.release(ep->ops.ctx, ep->pool[i].buf);
	pool_put(ep, i);
	ep->tx_used--;
}

static void rx_pkt_free(struct mn_proto *ep, uint32_t i)
{
	ep->ops.release(ep->ops.ctx, ep->pool[i].buf);
	pool_put(ep, i);
}

/* ---------------------------------------------------------- flow table */

static uint32_t tuple_hash(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint64_t h = ((uint64_t)lip << 32 | rip) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)lport << 16 | rport) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return (uint32_t)h;
}

static struct mn_flow *ht_find(struct mn_proto *ep, uint32_t lip, uint16_t lport, uint32_t rip,
                               uint16_t rport)
{
	uint32_t i = tuple_hash(lip, lport, rip, rport) & ep->ht_mask;

	for (;;) {
		uint32_t fi = ep->ht[i];
		struct mn_flow *f;

		if (fi == NIL)
			return NULL;
		f = &ep->flows[fi];
		if (f->lip == lip && f->lport == lport && f->rip == rip && f->rport == rport)
			return f;
		i = (i + 1) & ep->ht_mask;
	}
}

static void ht_insert(struct mn_proto *ep, struct mn_flow *f)
{
	uint32_t i = tuple_hash(f->lip, f->lport, f->rip, f->rport) & ep->ht_mask;

	while (ep->ht[i] != NIL)
		i = (i + 1) & ep->ht_mask;
	ep->ht[i] = f->idx;
}

/* Linear probing with backward-shift deletion: no tombstones, so lookups
 * stay short however many flows come and go. */
static void ht_remove(struct mn_proto *ep, struct mn_flow *f)
{
	uint32_t i = tuple_hash(f->lip, f->lport, f->rip, f->rport) & ep->ht_mask, j;

	while (ep->ht[i] != f->idx)
		i = (i + 1) & ep->ht_mask;
	j = i;
	for (;;) {
		uint32_t home;
		struct mn_flow *g;

		j = (j + 1) & ep->ht_mask;
		if (ep->ht[j] == NIL)
			break;
		g = &ep->flows[ep->ht[j]];
		home = tuple_hash(g->lip, g->lport, g->rip, g->rport) & ep->ht_mask;
		/* g may move into the hole at i unless its home lies in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		ep->ht[i] = ep->ht[j];
		i = j;
	}
	ep->ht[i] = NIL;
}

static int local_index(const struct mn_proto *ep, uint32_t ip)
{
	uint32_t i;

	for (i = 0; i < ep->p.n_local; i++)
		if (ep->p.local[i].ip == ip)
			return (int)i;
	return -1;
}

static int port_used(const struct mn_proto *ep, int li, uint16_t port)
{
	return (ep->ports[li][port >> 5] >> (port & 31)) & 1;
}

static void port_mark(struct mn_proto *ep, int li, uint16_t port, int used)
{
	if (used)
		ep->ports[li][port >> 5] |= 1u << (port & 31);
	else
		ep->ports[li][port >> 5] &= ~(1u << (port & 31));
}

static struct listener *listener_find(struct mn_proto *ep, uint32_t ip, uint16_t port)
{
	struct listener *any = NULL;
	uint32_t i;

	for (i = 0; i < ep->p.max_listeners; i++) {
		struct listener *l = &ep->ls[i];

		if (!l->used || l->port != port)
			continue;
		if (l->ip == ip)
			return l;
		if (l->ip == 0)
			any = l;
	}
	return any;
}

static struct mn_flow *flow_alloc(struct mn_proto *ep, int li, uint32_t lip, uint16_t lport,
                                  uint32_t rip, uint16_t rport)
{
	struct mn_flow *f;
	uint32_t idx = ep->free_flow;

	if (idx == NIL)
		return NULL;
	f = &ep->flows[idx];
	ep->free_flow = f->free_next;
	memset(f, 0, sizeof(*f));
	memset(f->win, 0xff, sizeof(f->win));
	memset(f->ooo, 0xff, sizeof(f->ooo));
	f->ep = ep;
	f->idx = idx;
	f->free_next = NIL;
	f->local_idx = (uint8_t)li;
	f->lip = lip;
	f->lport = lport;
	f->rip = rip;
	f->rport = rport;
	memcpy(f->lmac, ep->p.local[li].mac, 6);
	mn_timer_init(&f->timer);
	f->sq_head = f->sq_tail = NIL;
	f->rq_head = f->rq_tail = NIL;
	/* ISN 0 on both sides: the SYN is seqno 0, data starts at 1. */
	f->snd_una = f->snd_nxt = 1;
	f->rcv_nxt = 1;
	f->rto = ep->p.init_rto_ns;
	f->cap = MN_PROTO_PLAIN_INFLIGHT;
	mn_cc_init(&f->cc, MN_CCK_FIXED, ep->p.window, f->cap, ep->p.target_qdelay_ns);
	ht_insert(ep, f);
	ep->nflows++;
	ep->st.flows_opened++;
	return f;
}

static void flow_free(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;
	uint32_t i, s;

	mn_timer_cancel(&ep->wheel, &f->timer);
	ht_remove(ep, f);
	if (f->in_ack_list) {
		struct mn_flow **pp = &ep->ack_list;

		while (*pp != f)
			pp = &(*pp)->ack_next;
		*pp = f->ack_next;
	}
	while ((i = f->sq_head) != NIL) {
		f->sq_head = ep->pool[i].next;
		tx_pkt_free(ep, i);
	}
	for (s = f->snd_una; s != f->snd_nxt; s++) {
		i = f->win[s & WIN_MASK];
		if (i != NIL)
			tx_pkt_free(ep, i);
	}
	while ((i = f->rq_head) != NIL) {
		f->rq_head = ep->pool[i].next;
		rx_pkt_free(ep, i);
	}
	for (s = 0; s < MN_PROTO_RX_AHEAD; s++)
		if (f->ooo[s] != NIL)
			rx_pkt_free(ep, f->ooo[s]);
	if (f->state == ST_SYN_RCVD)
		ep->nhalf--;
	if (!f->passive)
		port_mark(ep, f->local_idx, f->lport, 0);
	f->state = ST_FREE;
	if (ep->cb_depth) {
		f->free_next = ep->zombies;
		ep->zombies = f->idx;
	} else {
		f->free_next = ep->free_flow;
		ep->free_flow = f->idx;
	}
	ep->nflows--;
}

static void cb_enter(struct mn_proto *ep)
{
	ep->cb_depth++;
}

static void cb_leave(struct mn_proto *ep)
{
	if (--ep->cb_depth)
		return;
	while (ep->zombies != NIL) {
		struct mn_flow *f = &ep->flows[ep->zombies];

		ep->zombies = f->free_next;
		f->free_next = ep->free_flow;
		ep->free_flow = f->idx;
	}
}

static void flow_event(struct mn_flow *f, enum mn_proto_event ev, int err)
{
	struct mn_proto *ep = f->ep;

	cb_enter(ep);
	ep->ops.event(ep->ops.ctx, f, f->cookie, ev, err);
	cb_leave(ep);
}

/* Reports a terminal event, then frees the flow. */
static void flow_end(struct mn_flow *f, enum mn_proto_event ev, int err)
{
	f->state = ST_DEAD;
	flow_event(f, ev, err);
	flow_free(f);
}

/* ------------------------------------------------------------- frames */

static void flow_addr(const struct mn_flow *f, struct mn_l2l3 *a)
{
	memcpy(a->src_mac, f->lmac, 6);
	memcpy(a->dst_mac, f->rmac, 6);
	a->src_ip = f->lip;
	a->dst_ip = f->rip;
	a->src_port = f->lport;
	a->dst_port = f->rport;
}

/* Builds and transmits one frame of h with plen zero bytes of payload (the
 * control frames and the keepalive probe; data goes out by tx_seg). -1 when
 * no buffer was to be had. */
static int send_frame(struct mn_proto *ep, unsigned li, const struct mn_l2l3 *a,
                      const struct mn_hdr *h, uint32_t plen)
{
	uint8_t *payload, *frame;
	void *buf = ep->ops.alloc(ep->ops.ctx, &payload);

	if (!buf) {
		ep->st.tx_nobuf++;
		return -1;
	}
	memset(payload, 0, plen);
	frame = payload - MN_ALL_HLEN;
	mn_wire_encode(frame, a, h, plen ? payload : NULL, plen, ep->p.tx_csum);
	ep->st.tx_frames++;
	if (h->net_flags == MN_NF_ACK)
		ep->st.tx_acks++;
	if (ep->ops.tx(ep->ops.ctx, li, buf, frame, MN_ALL_HLEN + plen) < 0)
		ep->st.tx_fail++;
	return 0;
}

static void send_ctrl(struct mn_proto *ep, unsigned li, const struct mn_l2l3 *a, uint8_t net_flags,
                      uint32_t seq, uint32_t ack, const uint8_t *sack, uint16_t sack_count,
                      uint64_t ts)
{
	struct mn_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = net_flags;
	h.seqno = seq;
	h.ackno = ack;
	if (sack)
		memcpy(h.sack_bitmap, sack, MN_SACK_BYTES);
	h.sack_count = sack_count;
	h.timestamp = ts;
	send_frame(ep, li, a, &h, 0);
}

static void flow_ctrl(struct mn_flow *f, uint8_t net_flags, uint32_t seq, uint32_t ack, uint64_t ts)
{
	struct mn_l2l3 a;

	flow_addr(f, &a);
	send_ctrl(f->ep, f->local_idx, &a, net_flags, seq, ack, NULL, 0, ts);
}

static uint64_t nonzero_ts(uint64_t now)
{
	return now ? now : 1;
}

static void send_rst(struct mn_flow *f)
{
	flow_ctrl(f, MN_NF_RST, f->snd_nxt, f->rcv_nxt, 0);
	f->ep->st.rst_sent++;
}

/* The timestamp an ACK echoes. Toward a piggyback peer the time we held
 * the ACK is added, so the peer's RTT sample measures the path and not our
 * wait for data to carry it (the peer's clock and ours both count ns). */
static uint64_t ack_echo(const struct mn_flow *f)
{
	uint64_t now = f->ep->now;

	if (!f->ext || !f->ack_ts)
		return 0;
	if (f->piggy && now > f->ack_rx_ns)
		return f->ack_ts + (now - f->ack_rx_ns);
	return f->ack_ts;
}

static void send_ack(struct mn_flow *f)
{
	struct mn_l2l3 a;
	uint8_t sack[MN_SACK_BYTES];
	uint32_t i;

	memset(sack, 0, sizeof(sack));
	/* Our layout: bit i = packet ackno + 1 + i. A plain Machnet peer
	 * ignores it; ours trusts it only when the extensions were agreed. */
	if (f->ooo_count)
		for (i = 1; i < MN_PROTO_RX_AHEAD; i++)
			if (f->ooo[(f->rcv_nxt + i) & WIN_MASK] != NIL)
				mn_sack_set(sack, i - 1);
	flow_addr(f, &a);
	send_ctrl(f->ep, f->local_idx, &a, MN_NF_ACK, f->snd_nxt, f->rcv_nxt, sack,
	          (uint16_t)f->ooo_count, ack_echo(f));
	f->ack_pending = 0;
	f->ack_carried = 0;
	f->rx_unacked = 0;
}

/* Plain peers get one ACK per data packet, at once (Machnet's sender relies
 * on duplicate ACKs); extension peers get one per receive burst, and at once
 * when something arrived out of order; piggyback peers' in-order data waits
 * up to ack_delay_ns for data of ours to carry the ACK. */
enum { ACK_NOW, ACK_BURST, ACK_DELAY };

static void ack_sched(struct mn_flow *f, int how)
{
	struct mn_proto *ep = f->ep;
	uint64_t due = ep->now;

	if (!f->ext || how == ACK_NOW) {
		send_ack(f);
		return;
	}
	if (how == ACK_DELAY && f->piggy && f->rx_unacked < MN_PROTO_ACK_EVERY)
		due += ep->p.ack_delay_ns;
	if (!f->ack_pending || due < f->ack_due)
		f->ack_due = due;
	f->ack_carried = 0;	/* owed for new data now */
	f->ack_pending = 1;
	if (f->ack_due < ep->ack_wake)
		ep->ack_wake = f->ack_due;
	if (!f->in_ack_list) {
		f->in_ack_list = 1;
		f->ack_next = ep->ack_list;
		ep->ack_list = f;
	}
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void xmit_data(struct mn_flow *f, uint32_t seq, struct pkt *k, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	struct mn_l2l3 a;
	struct mn_hdr h;
	uint8_t *frame = k->data - MN_ALL_HLEN;

	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = MN_NF_DATA;
	h.msg_flags = k->mflags;
	h.seqno = seq;
	h.ackno = MN_ACKNO_NONE;
	h.timestamp = f->ext ? nonzero_ts(now) : 0;
	if (f->piggy) {
		/* Always our cumulative ACK. It stands for the one we owe
		 * (unless something out of order needs the SACK of a real
		 * one) once the peer ACKs this packet: should the packet be
		 * lost, the ACK it carried goes alone after all (on_ack). */
		h.ackno = f->rcv_nxt;
		put_be64(h.sack_bitmap + MN_ECHO_OFF, ack_echo(f));
		if (f->ack_pending && !f->ooo_count) {
			if (!f->ack_carried)
				ep->st.tx_piggy_acks++;
			f->ack_carried = 1;
			f->ack_carrier = seq;
			f->ack_due = now + 2 * ep->p.ack_delay_ns;
			f->rx_unacked = 0;
		}
	}
	flow_addr(f, &a);
	mn_wire_encode(frame, &a, &h, k->data, k->len, ep->p.tx_csum);
	k->tx_ns = now;
	k->ntx++;
	ep->st.tx_frames++;
	ep->st.tx_data++;
	/* The tx path consumes a reference of its own; ours stays for
	 * retransmission until the packet is ACKed. */
	ep->ops.hold(ep->ops.ctx, k->buf);
	if (ep->ops.tx(ep->ops.ctx, f->local_idx, k->buf, frame, MN_ALL_HLEN + k->len) < 0)
		ep->st.tx_fail++;
}

static void probe_arm(struct mn_flow *f, uint64_t now);

static void retransmit(struct mn_flow *f, uint32_t seq, uint64_t now)
{
	uint32_t i = f->win[seq & WIN_MASK];

	if (i == NIL)
		return;
	f->ep->st.retransmits++;
	xmit_data(f, seq, &f->ep->pool[i], now);
	probe_arm(f, now);
}

/* ------------------------------------------------------------ timing */

/* The RTO backed off b times, capped at max_rto. */
static uint64_t rto_shift(const struct mn_flow *f, uint32_t b)
{
	const struct mn_proto *ep = f->ep;
	uint64_t r = f->rto;

	while (b-- && r < ep->p.max_rto_ns)
		r <<= 1;
	return r > ep->p.max_rto_ns ? ep->p.max_rto_ns : r;
}

static uint64_t rto_cur(const struct mn_flow *f)
{
	return rto_shift(f, f->backoff);
}

static void rtt_sample(struct mn_flow *f, uint64_t r)
{
	const struct mn_proto *ep = f->ep;
	uint64_t rto;

	if (!f->srtt) {
		f->srtt = r;
		f->rttvar = r / 2;
	} else {
		uint64_t d = f->srtt > r ? f->srtt - r : r - f->srtt;

		f->rttvar = (3 * f->rttvar + d) / 4;
		f->srtt = (7 * f->srtt + r) / 8;
	}
	rto = f->srtt + 4 * f->rttvar;
	if (rto < ep->p.min_rto_ns)
		rto = ep->p.min_rto_ns;
	if (rto > ep->p.max_rto_ns)
		rto = ep->p.max_rto_ns;
	f->rto = rto;
}

/* In recovery, a retransmission not answered within about two RTTs is
 * taken as lost and sent again, with backoff, without waiting for the RTO
 * (whose 1 ms floor is 50x a datacenter RTT). Toward a plain peer this is
 * the only way to see a lost retransmission: its SACK bitmap is useless. */
static void probe_arm(struct mn_flow *f, uint64_t now)
{
	uint64_t iv = f->srtt ? 2 * f->srtt + 4 * f->rttvar : f->rto, cap = rto_cur(f);
	uint32_t n = f->probe_n;

	if (iv < 10000)
		iv = 10000;
	while (n-- && iv < cap)
		iv <<= 1;
	f->probe_at = now + (iv < cap ? iv : cap);
}

static void flow_rearm(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;
	uint64_t d = UINT64_MAX;

	switch (f->state) {
	case ST_SYN_SENT:
	case ST_SYN_RCVD:
		d = f->hs_at < f->conn_deadline ? f->hs_at : f->conn_deadline;
		if (f->closing)
			d = ep->now;
		break;
	case ST_ESTABLISHED:
		if (f->rto_at && f->rto_at < d)
			d = f->rto_at;
		if (f->probe_at && f->probe_at < d)
			d = f->probe_at;
		if (f->push_at && f->push_at < d)
			d = f->push_at;
		if (f->ka_at && f->ka_at < d)
			d = f->ka_at;
		if (f->rx_blocked && f->rx_retry_at < d)
			d = f->rx_retry_at;
		if (f->closing) {
			if (f->close_deadline < d)
				d = f->close_deadline;
			if ((!f->sq_len && f->snd_una == f->snd_nxt) || f->rq_msgs)
				d = ep->now;
		}
		break;
	default:
		break;
	}
	if (d == UINT64_MAX)
		mn_timer_cancel(&ep->wheel, &f->timer);
	else if (!mn_timer_armed(&f->timer) || f->timer.deadline != d)
		mn_timer_arm(&ep->wheel, &f->timer, d);
}

/* ------------------------------------------------------------- sender */

static void flow_push(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t limit;

	if (f->state != ST_ESTABLISHED)
		return;
	limit = mn_cc_window(&f->cc);
	if (limit > f->cap)
		limit = f->cap;
	while (f->sq_len) {
		uint64_t gap;
		uint32_t i, seq;

		/* Toward a plain peer the window spans from snd_una (Machnet drops
		 * what lies too far ahead); toward ours only packets not known to
		 * have arrived count, and the span is capped by its buffer. */
		if (f->snd_nxt - f->snd_una >= f->cap ||
		    f->snd_nxt - f->snd_una - (f->ext ? f->nsacked : 0) >= limit)
			break;
		gap = mn_cc_pacing_gap(&f->cc, f->srtt);
		if (gap && now < f->next_send_at) {
			f->push_at = f->next_send_at;
			break;
		}
		i = f->sq_head;
		f->sq_head = ep->pool[i].next;
		if (f->sq_head == NIL)
			f->sq_tail = NIL;
		f->sq_len--;
		seq = f->snd_nxt++;
		f->win[seq & WIN_MASK] = i;
		ep->pool[i].sacked = 0;
		ep->pool[i].ntx = 0;
		xmit_data(f, seq, &ep->pool[i], now);
		if (gap)
			f->next_send_at = now + gap;
		if (!f->rto_at)
			f->rto_at = now + rto_cur(f);
	}
	if (!f->sq_len)
		f->push_at = 0;
}

/* RACK-style loss detection for extension peers (RFC 8985, simplified): a
 * packet is lost when one sent at least a reordering window later has been
 * delivered. Catches lost retransmissions too, without waiting for an RTO. */
static uint32_t rack_detect(struct mn_flow *f, uint64_t rack_ns, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint64_t reo = f->srtt / 4;
	uint32_t s, lost = 0;

	if (reo < 1000)
		reo = 1000;
	for (s = f->snd_una; s != f->snd_nxt; s++) {
		struct pkt *k = &ep->pool[f->win[s & WIN_MASK]];

		if (k->sacked || k->tx_ns + reo >= rack_ns)
			continue;
		ep->st.retransmits++;
		xmit_data(f, s, k, now);
		lost++;
	}
	if (lost)
		probe_arm(f, now);
	return lost;
}

static void on_ack(struct mn_flow *f, const struct mn_hdr *h, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t a = h->ackno, newly, s;
	uint64_t rtt = 0, rack_ns = 0;

	if (mn_seq_lt(a, f->snd_una) || mn_seq_gt(a, f->snd_nxt)) {
		ep->st.rx_stale_acks++;
		return;
	}
	ep->st.rx_acks++;
	/* Any in-window ACK proves the peer is alive: retries count only
	 * timeouts in a row without a word from it, and a peer that answers
	 * (even while it refuses data) is probed at the base RTO. */
	f->retries = 0;
	if (f->backoff) {
		f->backoff = 0;
		if (f->rto_at)
			f->rto_at = now + rto_cur(f);
	}
	if (f->ext && h->timestamp && h->timestamp <= now)
		rtt = now - h->timestamp;
	if (f->ext && h->sack_count) {
		for (s = 0; s < MN_SACK_BITS; s++) {
			uint32_t seq = a + 1 + s;
			struct pkt *k;

			if (!mn_seq_lt(seq, f->snd_nxt))
				break;
			if (!mn_sack_test(h->sack_bitmap, s))
				continue;
			k = &ep->pool[f->win[seq & WIN_MASK]];
			if (k->tx_ns > rack_ns)
				rack_ns = k->tx_ns;
			if (!k->sacked) {
				k->sacked = 1;
				f->nsacked++;
			}
		}
	}
	newly = a - f->snd_una;
	if (newly) {
		for (s = f->snd_una; s != a; s++) {
			uint32_t i = f->win[s & WIN_MASK];
			struct pkt *k = &ep->pool[i];

			/* Without timestamps, time only a clean ACK of a packet sent
			 * once (Karn); one that ends a recovery also carries the wait
			 * for the hole and would inflate the RTO. */
			if (!f->ext && s == a - 1 && k->ntx == 1 && !h->sack_count &&
			    !f->in_recovery && !f->dupacks)
				rtt = now - k->tx_ns;
			if (k->tx_ns > rack_ns)
				rack_ns = k->tx_ns;
			if (k->sacked)
				f->nsacked--;
			f->win[s & WIN_MASK] = NIL;
			tx_pkt_free(ep, i);
		}
		f->snd_una = a;
		/* The packet that carried our pending ACK arrived. */
		if (f->ack_carried && mn_seq_gt(a, f->ack_carrier)) {
			f->ack_carried = 0;
			f->ack_pending = 0;
		}
		f->dupacks = 0;
		f->probe_n = 0;
		if (rtt)
			rtt_sample(f, rtt);
		mn_cc_on_ack(&f->cc, newly, rtt, f->srtt, now);
		if (f->in_recovery) {
			if (mn_seq_ge(a, f->recover)) {
				f->in_recovery = 0;
				f->probe_at = 0;
			} else if (!f->ext) {
				retransmit(f, f->snd_una, now);	/* NewReno partial ACK */
			}
		}
		if (f->snd_una == f->snd_nxt)
			f->probe_at = 0;
		f->rto_at = f->snd_una != f->snd_nxt ? now + rto_cur(f) : 0;
	} else if (f->snd_una != f->snd_nxt) {
		ep->st.rx_dup_acks++;
		/* A duplicate ACK without held packets answers a duplicated or
		 * refused data packet, not a loss. */
		if (f->ext || h->sack_count)
			f->dupacks++;
		if (rtt) {
			rtt_sample(f, rtt);
			mn_cc_on_ack(&f->cc, 0, rtt, f->srtt, now);
		}
		/* Toward a plain peer only the count is trusted: three duplicates,
		 * or a count of three held packets, mean snd_una is lost. */
		if (!f->ext && !f->in_recovery && h->sack_count &&
		    (f->dupacks >= 3 || h->sack_count >= 3)) {
			f->in_recovery = 1;
			f->recover = f->snd_nxt;
			ep->st.fast_retransmits++;
			mn_cc_on_loss(&f->cc, f->srtt, now);
			retransmit(f, f->snd_una, now);
		}
	}
	if (f->ext && rack_ns && (f->nsacked || f->in_recovery)) {
		if (rack_detect(f, rack_ns, now)) {
			if (!f->in_recovery) {
				f->in_recovery = 1;
				f->recover = f->snd_nxt;
				ep->st.fast_retransmits++;
			}
			mn_cc_on_loss(&f->cc, f->srtt, now);
		}
	}
	flow_push(f, now);
}

/* The ACK a piggyback peer's data packet carries: taken like an ACK packet
 * when it advances snd_una, ignored otherwise (a data packet repeats the
 * last ackno; that is not a duplicate ACK, and it holds no SACK). */
static void on_piggy_ack(struct mn_flow *f, const struct mn_hdr *data, uint64_t now)
{
	struct mn_hdr h;

	if (!mn_seq_gt(data->ackno, f->snd_una) || mn_seq_gt(data->ackno, f->snd_nxt))
		return;
	f->ep->st.rx_piggy_acks++;
	memset(&h, 0, sizeof(h));
	h.net_flags = MN_NF_ACK;
	h.ackno = data->ackno;
	h.timestamp = get_be64(data->sack_bitmap + MN_ECHO_OFF);
	on_ack(f, &h, now);
}

static void on_rto(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t s;

	if (++f->retries > ep->p.max_retries) {
		ep->st.flows_failed++;
		send_rst(f);
		flow_end(f, MN_PROTO_EV_FAILED, -ETIMEDOUT);
		return;
	}
	ep->st.rtos++;
	f->backoff++;
	mn_cc_on_rto(&f->cc, now);
	f->in_recovery = 1;
	f->recover = f->snd_nxt;
	for (s = f->snd_una; s != f->snd_nxt; s++)
		if (!ep->pool[f->win[s & WIN_MASK]].sacked)
			break;
	if (s == f->snd_nxt)
		s = f->snd_una;
	retransmit(f, s, now);
	f->rto_at = now + rto_cur(f);
}

/* ------------------------------------------------------------ receiver */

/* Delivers every complete message at the head of the receive queue. */
static void rx_deliver(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	while (f->rq_msgs) {
		uint32_t n = 0, total = 0, i = f->rq_head, first = i, last;
		int r;

		if (f->closing) {
			/* The owner closed the flow: it wants no more data. */
			for (;;) {
				struct pkt *k = &ep->pool[i];
				uint32_t next = k->next, last = k->mflags & MN_MF_LAST;

				rx_pkt_free(ep, i);
				i = next;
				if (last)
					break;
			}
			f->rq_head = i;
			if (i == NIL)
				f->rq_tail = NIL;
			f->rq_msgs--;
			continue;
		}
		for (;;) {
			struct pkt *k = &ep->pool[i];

			ep->scratch[n].buf = k->buf;
			ep->scratch[n].data = k->data;
			ep->scratch[n].len = k->len;
			n++;
			total += k->len;
			if (k->mflags & MN_MF_LAST)
				break;
			i = k->next;
		}
		last = i;
		/* Off the queue while the owner has it: an abort from inside
		 * deliver() must not release what deliver() may accept. */
		f->rq_head = ep->pool[last].next;
		if (f->rq_head == NIL)
			f->rq_tail = NIL;
		f->rq_msgs--;
		cb_enter(ep);
		r = ep->ops.deliver(ep->ops.ctx, f, f->cookie, ep->scratch, n, total);
		cb_leave(ep);
		if (f->state != ST_ESTABLISHED) {
			/* Aborted meanwhile: a refused message is ours to drop. */
			if (r == 0)
				ep->st.msgs_delivered++;
			for (i = first; n--; i = last) {
				last = ep->pool[i].next;
				if (r != 0)
					rx_pkt_free(ep, i);
				else
					pool_put(ep, i);
			}
			return;
		}
		if (r != 0) {
			ep->pool[last].next = f->rq_head;
			f->rq_head = first;
			if (f->rq_tail == NIL)
				f->rq_tail = last;
			f->rq_msgs++;
			ep->st.deliver_refused++;
			f->rx_blocked = 1;
			f->rx_retry_at = now + ep->p.rx_retry_ns;
			return;
		}
		/* The owner holds the buffer references now. */
		for (i = first; n--; i = last) {
			last = ep->pool[i].next;
			pool_put(ep, i);
		}
		ep->st.msgs_delivered++;
	}
	if (f->rx_blocked) {
		/* Room again: tell the sender at once where we are. */
		f->rx_blocked = 0;
		send_ack(f);
	}
}

/* Appends an in-order packet; -EPROTO when msg_flags do not frame messages. */
static int rx_append(struct mn_flow *f, uint32_t i)
{
	struct mn_proto *ep = f->ep;
	struct pkt *k = &ep->pool[i];

	if (!f->rx_in_msg) {
		if (!(k->mflags & MN_MF_FIRST))
			return -EPROTO;
		f->rx_in_msg = 1;
		f->rx_msg_pkts = 0;
		f->rx_msg_bytes = 0;
	} else if (k->mflags & MN_MF_FIRST) {
		return -EPROTO;
	}
	f->rx_msg_pkts++;
	f->rx_msg_bytes += k->len;
	if (f->rx_msg_pkts > ep->max_msg_pkts || f->rx_msg_bytes > MN_PROTO_MAX_MSG)
		return -EPROTO;
	k->next = NIL;
	if (f->rq_tail == NIL)
		f->rq_head = i;
	else
		ep->pool[f->rq_tail].next = i;
	f->rq_tail = i;
	if (k->mflags & MN_MF_LAST) {
		f->rx_in_msg = 0;
		f->rq_msgs++;
	}
	return 0;
}

static void flow_proto_error(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;

	ep->st.rx_bad_framing++;
	ep->st.flows_failed++;
	send_rst(f);
	flow_end(f, MN_PROTO_EV_FAILED, -EPROTO);
}

static void on_data(struct mn_flow *f, void *buf, uint8_t *frame, const struct mn_frame *fr,
                    uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t seq = fr->hdr.seqno, i;
	int32_t off = (int32_t)(seq - f->rcv_nxt);
	struct pkt *k;
	int how;

	if (f->ext) {
		f->ack_ts = fr->hdr.timestamp;
		f->ack_rx_ns = now;
	}
	if (off < 0) {
		ep->st.rx_dup++;
		ep->ops.release(ep->ops.ctx, buf);
		ack_sched(f, ACK_BURST);
		return;
	}
	if (f->rx_blocked) {
		ep->st.rx_backpressure++;
		ep->ops.release(ep->ops.ctx, buf);
		ack_sched(f, ACK_BURST);
		return;
	}
	if (off >= MN_PROTO_RX_AHEAD) {
		ep->st.rx_out_of_window++;
		ep->ops.release(ep->ops.ctx, buf);
		ack_sched(f, ACK_NOW);
		return;
	}
	if (off > 0 && f->ooo[seq & WIN_MASK] != NIL) {
		ep->st.rx_dup++;
		ep->ops.release(ep->ops.ctx, buf);
		ack_sched(f, ACK_NOW);
		return;
	}
	if (ep->pool_used >= ep->p.pool_pkts || (i = pool_get(ep)) == NIL) {
		/* Not ACKed: the peer will send it again. */
		ep->st.rx_nomem++;
		ep->ops.release(ep->ops.ctx, buf);
		return;
	}
	k = &ep->pool[i];
	k->buf = buf;
	k->data = frame + (fr->payload - frame);
	k->len = fr->payload_len;
	k->mflags = fr->hdr.msg_flags & (uint8_t)~MN_MF_IGNORE;
	k->sacked = 0;
	k->ntx = 0;
	ep->st.rx_data++;
	if (off > 0) {
		f->ooo[seq & WIN_MASK] = i;
		f->ooo_count++;
		ep->st.rx_ooo++;
		ack_sched(f, ACK_NOW);
		return;
	}
	/* A packet that fills a hole is ACKed without waiting (RFC 5681
	 * 4.2): the sender is recovering and times its probes by the RTT. */
	how = f->ooo_count ? ACK_BURST : ACK_DELAY;
	if (rx_append(f, i) < 0) {
		rx_pkt_free(ep, i);
		flow_proto_error(f);
		return;
	}
	f->rcv_nxt++;
	while (f->ooo_count && (i = f->ooo[f->rcv_nxt & WIN_MASK]) != NIL) {
		f->ooo[f->rcv_nxt & WIN_MASK] = NIL;
		f->ooo_count--;
		if (rx_append(f, i) < 0) {
			rx_pkt_free(ep, i);
			flow_proto_error(f);
			return;
		}
		f->rcv_nxt++;
	}
	f->rx_unacked += (uint32_t)(f->rcv_nxt - seq);
	ack_sched(f, how);
	if (f->rq_msgs)
		rx_deliver(f, now);
}

/* ---------------------------------------------------------- handshake */

static void setup_established(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;
	int swift = f->ext && ep->p.cc == MN_PROTO_CC_AUTO;

	f->state = ST_ESTABLISHED;
	f->retries = 0;
	f->backoff = 0;
	f->cap = f->ext ? MN_PROTO_MAX_INFLIGHT : MN_PROTO_PLAIN_INFLIGHT;
	f->heard_ns = ep->now;
	f->ka_n = 0;
	/* Toward a plain Machnet peer never: how it takes an old data packet
	 * is not known, and wire compatibility comes first. */
	f->ka_at = f->ext && ep->p.keepalive_ns ? ep->now + ep->p.keepalive_ns : 0;
	mn_cc_init(&f->cc, swift ? MN_CCK_SWIFT : MN_CCK_FIXED,
	           ep->p.window < f->cap ? ep->p.window : f->cap, f->cap, ep->p.target_qdelay_ns);
}

/* SYN and SYN-ACK: a non-zero timestamp advertises the extensions, and
 * then byte 0 of the SACK bitmap the features we take (mn_wire.h). */
static void send_hs(struct mn_flow *f, uint8_t net_flags, uint32_t ack, int ext, uint64_t now)
{
	uint8_t feat[MN_SACK_BYTES];
	struct mn_l2l3 a;

	memset(feat, 0, sizeof(feat));
	if (ext && f->ep->p.ack_delay_ns)
		feat[0] = MN_FEAT_PIGGYACK;
	flow_addr(f, &a);
	send_ctrl(f->ep, f->local_idx, &a, net_flags, 0, ack, feat, 0, ext ? nonzero_ts(now) : 0);
}

static void send_syn(struct mn_flow *f, uint64_t now)
{
	f->syn_tx_ns = now;
	send_hs(f, MN_NF_SYN, 0, f->ep->p.extensions, now);
}

static void send_synack(struct mn_flow *f, uint64_t now)
{
	send_hs(f, MN_NF_SYNACK, 1, f->ext, now);
}

/* The extensions and features both ends advertised, from the peer's SYN or
 * SYN-ACK. */
static void hs_agree(struct mn_flow *f, const struct mn_hdr *h)
{
	const struct mn_proto *ep = f->ep;

	f->ext = ep->p.extensions && h->timestamp != 0;
	f->piggy = f->ext && ep->p.ack_delay_ns && (h->sack_bitmap[0] & MN_FEAT_PIGGYACK);
}

static void server_established(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;

	ep->nhalf--;
	setup_established(f);
	flow_event(f, MN_PROTO_EV_ACCEPTED, 0);
}

static void on_syn(struct mn_proto *ep, struct mn_flow *f, const struct mn_frame *fr, int li,
                   uint64_t now)
{
	const struct mn_l2l3 *in = &fr->addr;
	struct listener *l;

	if (f) {
		/* A retransmitted SYN: our SYN-ACK was lost. Answer again while
		 * nothing has been exchanged; later it can only be a stale copy. */
		if (f->passive && (f->state == ST_SYN_RCVD ||
		                   (f->state == ST_ESTABLISHED && f->rcv_nxt == 1 && f->snd_nxt == 1)))
			send_synack(f, now);
		else if (f->state == ST_ESTABLISHED) {
			/* A stale copy, or the peer's stack restarted and reuses
			 * the tuple (ports are handed out from 1024 up) while we
			 * still hold its old flow. Answer where we are (RFC 5961's
			 * challenge ACK): a restarted peer, in SYN_SENT, resets
			 * this flow with it and its next SYN opens a new one; a
			 * live peer takes it as a duplicate ACK. */
			flow_ctrl(f, MN_NF_ACK, f->snd_nxt, f->rcv_nxt, 0);
			ep->st.rx_unexpected++;
		} else {
			ep->st.rx_unexpected++;
		}
		return;
	}
	l = listener_find(ep, in->dst_ip, in->dst_port);
	if (!l) {
		struct mn_l2l3 a;

		memcpy(a.src_mac, in->dst_mac, 6);
		memcpy(a.dst_mac, in->src_mac, 6);
		a.src_ip = in->dst_ip;
		a.dst_ip = in->src_ip;
		a.src_port = in->dst_port;
		a.dst_port = in->src_port;
		send_ctrl(ep, (unsigned)li, &a, MN_NF_RST, 0, fr->hdr.seqno + 1, NULL, 0, 0);
		ep->st.rst_sent++;
		ep->st.rst_unknown_sent++;
		return;
	}
	if (ep->nhalf >= ep->p.max_half_open ||
	    !(f = flow_alloc(ep, li, in->dst_ip, in->dst_port, in->src_ip, in->src_port))) {
		ep->st.rx_syn_ignored++;
		return;
	}
	ep->nhalf++;
	f->passive = 1;
	f->state = ST_SYN_RCVD;
	f->cookie = l->cookie;
	/* The server never ARPs: it answers the MAC the SYN came from. */
	memcpy(f->rmac, in->src_mac, 6);
	hs_agree(f, &fr->hdr);
	f->hs_at = now + ep->p.init_rto_ns;
	f->conn_deadline = now + ep->p.connect_timeout_ns;
	send_synack(f, now);
	flow_rearm(f);
}

static void on_synack(struct mn_proto *ep, struct mn_flow *f, const struct mn_frame *fr,
                      uint64_t now)
{
	if (!f || f->passive || fr->hdr.ackno != 1) {
		ep->st.rx_synack_ignored++;
		return;
	}
	if (f->state == ST_ESTABLISHED) {
		/* Our ACK was lost and the server asks again. */
		flow_ctrl(f, MN_NF_ACK, f->snd_nxt, f->rcv_nxt, 0);
		ep->st.tx_acks++;
		return;
	}
	if (f->state != ST_SYN_SENT) {
		ep->st.rx_synack_ignored++;
		return;
	}
	hs_agree(f, &fr->hdr);
	if (f->retries == 0 && now > f->syn_tx_ns)
		rtt_sample(f, now - f->syn_tx_ns);
	setup_established(f);
	flow_ctrl(f, MN_NF_ACK, 1, 1, 0);
	ep->st.tx_acks++;
	flow_event(f, MN_PROTO_EV_CONNECTED, 0);
	if (f->state == ST_ESTABLISHED) {
		flow_push(f, now);
		flow_rearm(f);
	}
}

static void on_rst(struct mn_proto *ep, struct mn_flow *f, const struct mn_hdr *h)
{
	int ok;

	if (!f) {
		ep->st.rx_rst_ignored++;
		return;
	}
	switch (f->state) {
	case ST_SYN_SENT:
		if (h->ackno != 1)
			break;
		ep->st.rx_rst++;
		flow_end(f, MN_PROTO_EV_CONNECT_FAILED, -ECONNREFUSED);
		return;
	case ST_SYN_RCVD:
		if (h->seqno != 1 && h->seqno != 0)
			break;
		ep->st.rx_rst++;
		flow_free(f);
		return;
	case ST_ESTABLISHED:
		/* In window (its snd_nxt within our receive window), or the
		 * answer to data of ours that its stack did not know. */
		ok = (mn_seq_ge(h->seqno, f->rcv_nxt) &&
		      mn_seq_lt(h->seqno, f->rcv_nxt + MN_PROTO_RX_AHEAD)) ||
		     (mn_seq_gt(h->ackno, f->snd_una) && mn_seq_le(h->ackno, f->snd_nxt)) ||
		     /* a peer that lost the flow answers our probe (snd_nxt - 1) */
		     (f->ka_n && h->ackno == f->snd_nxt);
		if (!ok)
			break;
		ep->st.rx_rst++;
		flow_end(f, MN_PROTO_EV_RESET, -ECONNRESET);
		return;
	default:
		break;
	}
	ep->st.rx_rst_ignored++;
}

/* ---------------------------------------------------------------- rx */

void mn_proto_rx(struct mn_proto *ep, void *buf, uint8_t *frame, uint32_t len, uint64_t now)
{
	struct mn_frame fr;
	enum mn_rx_reason r;
	struct mn_flow *f;
	int li;

	ep->now = now;
	ep->st.rx_frames++;
	r = mn_wire_decode(frame, len, ep->p.rx_check_csum ? 0 : MN_DEC_NO_CSUM, &fr);
	if (r != MN_RX_OK) {
		ep->st.rx_drop[r < MN_RX__COUNT ? r : 0]++;
		ep->ops.release(ep->ops.ctx, buf);
		return;
	}
	li = local_index(ep, fr.addr.dst_ip);
	if (li < 0) {
		ep->st.rx_not_local++;
		ep->ops.release(ep->ops.ctx, buf);
		return;
	}
	f = ht_find(ep, fr.addr.dst_ip, fr.addr.dst_port, fr.addr.src_ip, fr.addr.src_port);
	/* The keepalive timer reads this lazily: no timer work per packet. */
	if (f)
		f->heard_ns = now;
	switch (fr.hdr.net_flags) {
	case MN_NF_DATA:
		if (!f) {
			struct mn_l2l3 a;

			memcpy(a.src_mac, fr.addr.dst_mac, 6);
			memcpy(a.dst_mac, fr.addr.src_mac, 6);
			a.src_ip = fr.addr.dst_ip;
			a.dst_ip = fr.addr.src_ip;
			a.src_port = fr.addr.dst_port;
			a.dst_port = fr.addr.src_port;
			send_ctrl(ep, (unsigned)li, &a, MN_NF_RST, 0, fr.hdr.seqno + 1, NULL, 0, 0);
			ep->st.rst_sent++;
			ep->st.rst_unknown_sent++;
			ep->ops.release(ep->ops.ctx, buf);
			return;
		}
		if (f->state == ST_SYN_RCVD) {
			/* Data proves our SYN-ACK arrived (its ACK was lost). */
			server_established(f);
		}
		if (f->state != ST_ESTABLISHED) {
			ep->st.rx_unexpected++;
			ep->ops.release(ep->ops.ctx, buf);
			return;
		}
		if (f->piggy && fr.hdr.ackno != MN_ACKNO_NONE) {
			on_piggy_ack(f, &fr.hdr, now);
			if (f->state != ST_ESTABLISHED) {
				ep->ops.release(ep->ops.ctx, buf);
				return;
			}
		}
		on_data(f, buf, frame, &fr, now);
		if (f->state == ST_ESTABLISHED)
			flow_rearm(f);
		return;
	case MN_NF_SYN:
		on_syn(ep, f, &fr, li, now);
		break;
	case MN_NF_SYNACK:
		on_synack(ep, f, &fr, now);
		break;
	case MN_NF_ACK:
		if (f && f->state == ST_SYN_RCVD && fr.hdr.ackno == 1) {
			server_established(f);
			if (f->state == ST_ESTABLISHED) {
				flow_push(f, now);
				flow_rearm(f);
			}
		} else if (f && f->state == ST_ESTABLISHED) {
			on_ack(f, &fr.hdr, now);
			if (f->state == ST_ESTABLISHED)
				flow_rearm(f);
		} else if (f && f->state == ST_SYN_SENT) {
			/* A plain ACK before any SYN-ACK: the peer still holds an
			 * older flow on this tuple (our stack restarted). Reset
			 * it at the sequence it acknowledges (RFC 793, SYN-SENT)
			 * and keep dialling. */
			flow_ctrl(f, MN_NF_RST, fr.hdr.ackno, 0, 0);
			ep->st.rst_sent++;
		} else {
			ep->st.rx_unexpected++;
		}
		break;
	case MN_NF_RST:
		on_rst(ep, f, &fr.hdr);
		break;
	default:
		ep->st.rx_unexpected++;
		break;
	}
	ep->ops.release(ep->ops.ctx, buf);
}

void mn_proto_flush(struct mn_proto *ep, uint64_t now)
{
	struct mn_flow **pp = &ep->ack_list;
	uint64_t wake = UINT64_MAX;

	ep->now = now;
	while (*pp) {
		struct mn_flow *f = *pp;

		if (f->ack_pending && f->state == ST_ESTABLISHED && f->ack_due > now) {
			if (f->ack_due < wake)
				wake = f->ack_due;
			pp = &f->ack_next;
			continue;
		}
		*pp = f->ack_next;
		f->in_ack_list = 0;
		if (f->ack_pending && f->state == ST_ESTABLISHED)
			send_ack(f);
	}
	ep->ack_wake = wake;
}

/* ---------------------------------------------------------- keepalive */

/* A probe: one byte at snd_nxt - 1, which the peer has ACKed, so its
 * receiver drops it as a duplicate and ACKs at once; a peer that lost the
 * flow answers RST. One byte, not none: our codec (and so any peer of ours)
 * rejects an empty data packet before the flow sees it, as BSD TCP's
 * keepalive carries one garbage byte for peers that ignore empty segments.
 * FIRST|LAST keeps the framing valid; the byte is never delivered. */
static void send_keepalive(struct mn_flow *f, uint64_t now)
{
	struct mn_l2l3 a;
	struct mn_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = MN_NF_DATA;
	h.msg_flags = MN_MF_FIRST | MN_MF_LAST;
	h.seqno = f->snd_nxt - 1;
	h.ackno = MN_ACKNO_NONE;
	h.timestamp = nonzero_ts(now);
	flow_addr(f, &a);
	if (send_frame(f->ep, f->local_idx, &a, &h, 1) == 0)
		f->ep->st.keepalives_sent++;
}

/* The keepalive timer of an established flow. Lazy: the receive path only
 * stamps heard_ns, and this re-aims the timer when it finds the peer was
 * heard meanwhile. A flow with data queued or unACKed is left to its RTO.
 * Unanswered probes back off like a retransmitted packet and fail the flow
 * after the same budget: max_retries re-probes, then one more RTO. */
static void keepalive(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint64_t ka = ep->p.keepalive_ns;

	if (f->closing || f->sq_len || f->snd_una != f->snd_nxt) {
		f->ka_n = 0;
		f->ka_at = now + ka;
		return;
	}
	if (f->ka_n && f->heard_ns >= f->ka_since)
		f->ka_n = 0;	/* answered (any frame from the peer will do) */
	if (!f->ka_n) {
		if (f->heard_ns + ka > now) {
			f->ka_at = f->heard_ns + ka;
			return;
		}
		f->ka_since = now;
	} else if (f->ka_n > ep->p.max_retries) {
		ep->st.keepalive_failures++;
		ep->st.flows_failed++;
		send_rst(f);
		flow_end(f, MN_PROTO_EV_FAILED, -ETIMEDOUT);
		return;
	}
	send_keepalive(f, now);
	f->ka_at = now + rto_shift(f, f->ka_n);
	f->ka_n++;
}

/* ------------------------------------------------------------- timers */

static void on_timer(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	switch (f->state) {
	case ST_SYN_SENT:
		if (f->closing) {
			flow_end(f, MN_PROTO_EV_CLOSED, 0);
			return;
		}
		if (now >= f->conn_deadline) {
			flow_end(f, MN_PROTO_EV_CONNECT_FAILED, -ETIMEDOUT);
			return;
		}
		if (now >= f->hs_at) {
			if (++f->retries > ep->p.max_retries) {
				flow_end(f, MN_PROTO_EV_CONNECT_FAILED, -ETIMEDOUT);
				return;
			}
			ep->st.rtos++;
			f->backoff++;
			send_syn(f, now);
			f->hs_at = now + rto_cur(f);
		}
		break;
	case ST_SYN_RCVD:
		if (now >= f->conn_deadline) {
			flow_free(f);
			return;
		}
		if (now >= f->hs_at) {
			if (++f->retries > ep->p.max_retries) {
				flow_free(f);
				return;
			}
			ep->st.rtos++;
			f->backoff++;
			send_synack(f, now);
			f->hs_at = now + rto_cur(f);
		}
		break;
	case ST_ESTABLISHED:
		if (f->rq_msgs && (f->closing || (f->rx_blocked && now >= f->rx_retry_at))) {
			rx_deliver(f, now);
			if (f->state != ST_ESTABLISHED)
				return;
		}
		if (f->closing) {
			if (!f->sq_len && f->snd_una == f->snd_nxt) {
				send_rst(f);
				flow_end(f, MN_PROTO_EV_CLOSED, 0);
				return;
			}
			if (now >= f->close_deadline) {
				send_rst(f);
				flow_end(f, MN_PROTO_EV_CLOSED, -ETIMEDOUT);
				return;
			}
		}
		if (f->rto_at && now >= f->rto_at) {
			on_rto(f, now);
			if (f->state != ST_ESTABLISHED)
				return;
		}
		if (f->probe_at && now >= f->probe_at) {
			uint32_t s;

			f->probe_at = 0;
			if (f->in_recovery && f->snd_una != f->snd_nxt) {
				for (s = f->snd_una; s != f->snd_nxt; s++)
					if (!ep->pool[f->win[s & WIN_MASK]].sacked)
						break;
				if (s != f->snd_nxt) {
					f->probe_n++;
					retransmit(f, s, now);
				}
			}
		}
		if (f->ka_at && now >= f->ka_at) {
			keepalive(f, now);
			if (f->state != ST_ESTABLISHED)
				return;
		}
		if (f->push_at && now >= f->push_at) {
			f->push_at = 0;
			flow_push(f, now);
		}
		break;
	default:
		return;
	}
	flow_rearm(f);
}

static void timer_fired(struct mn_timer *t, void *arg)
{
	struct mn_proto *ep = arg;
	struct mn_flow *f = (struct mn_flow *)((char *)t - offsetof(struct mn_flow, timer));

	on_timer(f, ep->now);
}

uint64_t mn_proto_poll(struct mn_proto *ep, uint64_t now)
{
	ep->now = now;
	mn_wheel_expire(&ep->wheel, now, timer_fired, ep);
	mn_proto_flush(ep, now);
	return mn_proto_next_deadline(ep);
}

uint64_t mn_proto_next_deadline(const struct mn_proto *ep)
{
	uint64_t w;

	/* An ACK due now needs no look at the wheel. */
	if (ep->ack_list && ep->ack_wake <= ep->now)
		return ep->now;
	w = mn_wheel_next(&ep->wheel);
	return ep->ack_list && ep->ack_wake < w ? ep->ack_wake : w;
}

/* ---------------------------------------------------------------- API */

void mn_proto_params_default(struct mn_proto_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mtu = 1500;
	p->window = 32;
	p->min_rto_ns = 1000000;
	p->max_rto_ns = 1000000000;
	p->init_rto_ns = 10000000;
	p->max_retries = 8;
	p->cc = MN_PROTO_CC_AUTO;
	p->extensions = 1;
	p->target_qdelay_ns = 50000;
	p->connect_timeout_ns = 5000000000ull;
	p->close_timeout_ns = 1000000000ull;
	p->rx_retry_ns = 20000;
	p->max_flows = 1024;
	p->max_half_open = 256;
	p->max_listeners = 64;
	p->pool_pkts = 65536;
	p->sndq_max_pkts = 0;
	p->tx_csum = MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP;
	p->rx_check_csum = 1;
	p->keepalive_ns = 0;
}

struct mn_proto *mn_proto_create(const struct mn_proto_params *p, const struct mn_proto_ops *ops,
                                 uint64_t now)
{
	struct mn_proto *ep;
	uint32_t i, htsize;

	if (!p || !ops || !ops->tx || !ops->hold || !ops->release || !ops->alloc ||
	    !ops->deliver || !ops->event || p->n_local == 0 || p->n_local > MN_PROTO_MAX_LOCAL ||
	    p->mtu < 576 || p->mtu > 9000 || p->window == 0 || p->max_flows == 0 ||
	    p->max_flows > (1u << 24) || p->pool_pkts < 64 || p->min_rto_ns == 0 ||
	    p->max_rto_ns < p->min_rto_ns || p->init_rto_ns == 0 ||
	    p->keepalive_ns > MN_PROTO_MAX_KEEPALIVE_NS || p->ack_delay_ns > p->min_rto_ns / 2) {
		errno = EINVAL;
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		goto nomem;
	ep->p = *p;
	ep->ops = *ops;
	ep->now = now;
	ep->ack_wake = UINT64_MAX;
	ep->mss = MN_MSS(p->mtu);
	ep->max_msg_pkts = (MN_PROTO_MAX_MSG + ep->mss - 1) / ep->mss;
	if (!ep->p.sndq_max_pkts)
		ep->p.sndq_max_pkts = 2 * ep->max_msg_pkts;
	if (!ep->p.max_listeners)
		ep->p.max_listeners = 1;
	ep->tx_pool_cap = p->pool_pkts - p->pool_pkts / 4;
	ep->flows = calloc(p->max_flows, sizeof(*ep->flows));
	for (htsize = 16; htsize < 2 * p->max_flows; htsize <<= 1)
		;
	ep->ht = malloc(htsize * sizeof(*ep->ht));
	ep->ht_mask = htsize - 1;
	ep->ls = calloc(ep->p.max_listeners, sizeof(*ep->ls));
	ep->pool = calloc(p->pool_pkts, sizeof(*ep->pool));
	ep->scratch = calloc(ep->max_msg_pkts, sizeof(*ep->scratch));
	ep->tx_scratch = calloc(ep->max_msg_pkts, sizeof(*ep->tx_scratch));
	if (!ep->flows || !ep->ht || !ep->ls || !ep->pool || !ep->scratch || !ep->tx_scratch)
		goto nomem;
	for (i = 0; i < p->n_local; i++) {
		ep->ports[i] = calloc(65536 / 32, sizeof(uint32_t));
		if (!ep->ports[i])
			goto nomem;
	}
	if (mn_wheel_init(&ep->wheel, 14, 16, now) < 0)	/* 16384 x 65.5 us: 1.07 s */
		goto nomem;
	memset(ep->ht, 0xff, htsize * sizeof(*ep->ht));
	for (i = 0; i < p->max_flows; i++)
		ep->flows[i].free_next = i + 1 < p->max_flows ? i + 1 : NIL;
	ep->free_flow = 0;
	for (i = 0; i < p->pool_pkts; i++)
		ep->pool[i].next = i + 1 < p->pool_pkts ? i + 1 : NIL;
	ep->pool_free = 0;
	ep->zombies = NIL;
	return ep;
nomem:
	if (ep) {
		for (i = 0; i < MN_PROTO_MAX_LOCAL; i++)
			free(ep->ports[i]);
		free(ep->flows);
		free(ep->ht);
		free(ep->ls);
		free(ep->pool);
		free(ep->scratch);
		free(ep->tx_scratch);
		free(ep);
	}
	errno = ENOMEM;
	return NULL;
}

void mn_proto_destroy(struct mn_proto *ep)
{
	uint32_t i;

	if (!ep)
		return;
	for (i = 0; i < ep->p.max_flows; i++)
		if (ep->flows[i].state != ST_FREE)
			flow_free(&ep->flows[i]);
	mn_wheel_fini(&ep->wheel);
	for (i = 0; i < MN_PROTO_MAX_LOCAL; i++)
		free(ep->ports[i]);
	free(ep->flows);
	free(ep->ht);
	free(ep->ls);
	free(ep->pool);
	free(ep->scratch);
	free(ep->tx_scratch);
	free(ep);
}

uint32_t mn_proto_mss(const struct mn_proto *ep)
{
	return ep->mss;
}

int mn_proto_listen(struct mn_proto *ep, uint32_t ip, uint16_t port, void *cookie)
{
	struct listener *freel = NULL;
	uint32_t i;

	if (ip && local_index(ep, ip) < 0)
		return -EADDRNOTAVAIL;
	for (i = 0; i < ep->p.max_listeners; i++) {
		struct listener *l = &ep->ls[i];

		if (l->used && l->port == port && (l->ip == ip || !l->ip || !ip))
			return -EADDRINUSE;
		if (!l->used && !freel)
			freel = l;
	}
	if (!freel)
		return -ENOSPC;
	freel->used = 1;
	freel->ip = ip;
	freel->port = port;
	freel->cookie = cookie;
	return 0;
}

int mn_proto_unlisten(struct mn_proto *ep, uint32_t ip, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < ep->p.max_listeners; i++) {
		struct listener *l = &ep->ls[i];

		if (l->used && l->port == port && l->ip == ip) {
			l->used = 0;
			return 0;
		}
	}
	return -ENOENT;
}

struct mn_flow *mn_proto_connect(struct mn_proto *ep, uint32_t local_ip, uint32_t remote_ip,
                                 uint16_t remote_port, const uint8_t remote_mac[6], void *cookie,
                                 uint64_t now)
{
	int li = local_index(ep, local_ip);
	uint32_t port;
	struct mn_flow *f;

	ep->now = now;
	if (li < 0) {
		errno = EADDRNOTAVAIL;
		return NULL;
	}
	for (port = MN_PROTO_FIRST_PORT; port < 65536; port++) {
		if (port_used(ep, li, (uint16_t)port) ||
		    listener_find(ep, local_ip, (uint16_t)port) ||
		    ht_find(ep, local_ip, (uint16_t)port, remote_ip, remote_port))
			continue;
		break;
	}
	if (port >= 65536) {
		errno = EADDRNOTAVAIL;
		return NULL;
	}
	f = flow_alloc(ep, li, local_ip, (uint16_t)port, remote_ip, remote_port);
	if (!f) {
		errno = ENOSPC;
		return NULL;
	}
	port_mark(ep, li, (uint16_t)port, 1);
	memcpy(f->rmac, remote_mac, 6);
	f->cookie = cookie;
	f->state = ST_SYN_SENT;
	f->conn_deadline = now + ep->p.connect_timeout_ns;
	send_syn(f, now);
	f->hs_at = now + rto_cur(f);
	flow_rearm(f);
	return f;
}

int mn_proto_sendv(struct mn_flow *f, const struct mn_seg *segs, uint32_t nsegs, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint64_t total = 0;
	uint32_t n;

	if (f->state != ST_ESTABLISHED && f->state != ST_SYN_SENT)
		return -ECONNRESET;
	if (f->closing)
		return -ECONNRESET;
	if (nsegs == 0 || !segs)
		return -EINVAL;
	if (nsegs > ep->max_msg_pkts)
		return -EMSGSIZE;
	for (n = 0; n < nsegs; n++) {
		if (segs[n].len == 0 || segs[n].len > ep->mss || !segs[n].buf || !segs[n].data)
			return -EINVAL;
		total += segs[n].len;
	}
	if (total > MN_PROTO_MAX_MSG)
		return -EMSGSIZE;
	if (f->sq_len + (f->snd_nxt - f->snd_una) + nsegs > ep->p.sndq_max_pkts ||
	    ep->tx_used + nsegs > ep->tx_pool_cap || ep->pool_used + nsegs > ep->p.pool_pkts)
		return -EAGAIN;
	for (n = 0; n < nsegs; n++) {
		uint32_t i = pool_get(ep);
		struct pkt *k = &ep->pool[i];

		k->buf = segs[n].buf;
		k->data = segs[n].data;
		k->len = segs[n].len;
		k->ntx = 0;
		k->sacked = 0;
		k->tx_ns = 0;
		if (nsegs == 1)
			k->mflags = MN_MF_FIRST | MN_MF_LAST;
		else if (n == 0)
			k->mflags = MN_MF_FIRST | MN_MF_MORE;
		else if (n == nsegs - 1)
			k->mflags = MN_MF_LAST;
		else
			k->mflags = MN_MF_MORE;
		k->next = NIL;
		if (f->sq_tail == NIL)
			f->sq_head = i;
		else
			ep->pool[f->sq_tail].next = i;
		f->sq_tail = i;
		f->sq_len++;
		ep->tx_used++;
	}
	ep->st.msgs_sent++;
	ep->now = now;
	if (f->state == ST_ESTABLISHED) {
		flow_push(f, now);
		flow_rearm(f);
	}
	return 0;
}

int mn_proto_send_bytes(struct mn_flow *f, const void *data, uint32_t len, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	const uint8_t *src = data;
	uint32_t n, nsegs, i;
	int r;

	if (len == 0 || !data)
		return -EINVAL;
	if (len > MN_PROTO_MAX_MSG)
		return -EMSGSIZE;
	if (f->state != ST_ESTABLISHED && f->state != ST_SYN_SENT)
		return -ECONNRESET;
	nsegs = (len + ep->mss - 1) / ep->mss;
	if (f->sq_len + (f->snd_nxt - f->snd_una) + nsegs > ep->p.sndq_max_pkts ||
	    ep->tx_used + nsegs > ep->tx_pool_cap || ep->pool_used + nsegs > ep->p.pool_pkts)
		return -EAGAIN;
	for (n = 0; n < nsegs; n++) {
		uint32_t l = len - n * ep->mss < ep->mss ? len - n * ep->mss : ep->mss;
		uint8_t *payload;
		void *buf = ep->ops.alloc(ep->ops.ctx, &payload);

		if (!buf) {
			ep->st.tx_nobuf++;
			r = -EAGAIN;
			goto unwind;
		}
		memcpy(payload, src + (size_t)n * ep->mss, l);
		ep->tx_scratch[n].buf = buf;
		ep->tx_scratch[n].data = payload;
		ep->tx_scratch[n].len = l;
	}
	r = mn_proto_sendv(f, ep->tx_scratch, nsegs, now);
	if (r == 0)
		return 0;
unwind:
	for (i = 0; i < n; i++)
		ep->ops.release(ep->ops.ctx, ep->tx_scratch[i].buf);
	return r;
}

void mn_proto_close(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	if (f->closing || f->state == ST_DEAD || f->state == ST_FREE)
		return;
	ep->now = now;
	f->closing = 1;
	f->close_deadline = now + ep->p.close_timeout_ns;
	/* Deferred to the timer: close may be called from inside a callback
	 * that is still using the flow. */
	mn_timer_arm(&ep->wheel, &f->timer, now);
}

void mn_proto_abort(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	if (f->state == ST_FREE || f->state == ST_DEAD)
		return;
	ep->now = now;
	ep->st.aborts++;
	/* seqno 1 from SYN_SENT also clears a half-open flow our SYN made. */
	send_rst(f);
	if (f->state == ST_SYN_RCVD) {
		/* Never handed to the owner: nobody to tell. */
		flow_free(f);
		return;
	}
	flow_end(f, MN_PROTO_EV_CLOSED, -ECONNABORTED);
}

void *mn_flow_cookie(const struct mn_flow *f)
{
	return f->cookie;
}

void mn_flow_set_cookie(struct mn_flow *f, void *cookie)
{
	f->cookie = cookie;
}

void mn_flow_info(const struct mn_flow *f, struct mn_flow_info *out)
{
	memset(out, 0, sizeof(*out));
	out->local_ip = f->lip;
	out->remote_ip = f->rip;
	out->local_port = f->lport;
	out->remote_port = f->rport;
	out->state = f->state;
	out->extensions = f->ext;
	out->piggyack = f->piggy;
	out->snd_una = f->snd_una;
	out->snd_nxt = f->snd_nxt;
	out->rcv_nxt = f->rcv_nxt;
	out->queued = f->sq_len;
	out->srtt_ns = f->srtt;
	out->rto_ns = rto_cur(f);
	out->cwnd = f->cc.cwnd;
}

uint32_t mn_proto_nflows(const struct mn_proto *ep)
{
	return ep->nflows;
}

const struct mn_proto_stats *mn_proto_stats(const struct mn_proto *ep)
{
	return &ep->st;
}

int mn_proto_test_set_seq(struct mn_flow *f, uint32_t snd_nxt, uint32_t rcv_nxt)
{
	if (f->state != ST_ESTABLISHED)
		return -EINVAL;
	if (f->sq_len || f->snd_una != f->snd_nxt || f->rq_head != NIL || f->ooo_count ||
	    f->rx_in_msg)
		return -EBUSY;
	f->snd_una = f->snd_nxt = snd_nxt;
	f->rcv_nxt = rcv_nxt;
	return 0;
}
