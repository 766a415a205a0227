/* mn_proto_int: proto's private header, shared by the files that make up the
 * endpoint of mn_proto.h (never included outside proto/). It holds the
 * endpoint and flow structures, the small helpers every part uses, and the
 * functions one part calls in another:
 *   mn_flow.c          flow table (hash, ports, listeners), alloc/free, events
 *   mn_output.c        frames, ACKs, data transmission and the send window
 *   mn_input.c         mn_proto_rx: handshake, data, reassembly, delivery
 *   mn_recovery.c      ACK processing, RTT/RTO, loss recovery, RTO expiry
 *   mn_proto_timer.c   per-flow timer, keepalive, mn_proto_poll
 *   mn_proto.c         the public API
 */
#ifndef MN_PROTO_INT_H
#define MN_PROTO_INT_H

#include "mn_proto.h"

#include <string.h>

#include "mn_rss.h"
#include "mn_timer.h"

#define NIL UINT32_MAX
#define WIN_MASK (MN_PROTO_RX_AHEAD - 1)
/* The last SACK bit can never name a held packet (the receiver holds at
 * most MN_PROTO_RX_AHEAD - 1 beyond ackno, bits 0..254): set in an ACK to
 * an extension peer, it says "window closed" (mn_proto.h, Flow control). */
#define ZWIN_BIT (MN_SACK_BITS - 1)

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
	uint8_t rwin_closed;		/* receiver: the owner's budget refused data */
	uint8_t peer_zwin;		/* sender: the peer said its window is closed */
	uint8_t in_recovery;
	uint8_t local_idx;
	uint32_t dupacks;
	uint32_t retries;
	uint32_t backoff;
	uint64_t retry_since;		/* first timeout of the current series (give_up_ns) */
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
	/* Spurious RTO detection toward a plain peer (mn_recovery.c): set by an
	 * RTO while the only packet resent since is frto_seq; undo_* is the
	 * state to restore when an ACK proves the timeout spurious. */
	uint8_t frto;
	uint8_t undo_in_recovery;
	uint32_t frto_seq;
	uint32_t undo_recover;
	struct mn_cc undo_cc;
	/* win[] and ooo[] live in a window block (struct mn_winblk) that the
	 * flow holds only while it has packets in flight or out of order; an
	 * idle flow points both at the endpoint's all-NIL block and holds
	 * none (mn_flow_blk_get/put). blk: the block's index, NIL: none. */
	uint32_t *win;			/* pkt index by seq & 255 */
	uint32_t *ooo;			/* pkt index by seq & 255 */
	uint32_t blk;

	/* receiver */
	uint32_t rcv_nxt;
	uint32_t ooo_count;
	uint32_t rq_head, rq_tail, rq_msgs;
	uint32_t rx_msg_pkts;
	uint32_t rx_held;		/* packets held: reassembly, out of order, undelivered */
	uint32_t zw_n;			/* window probes sent since the peer closed its window */
	uint64_t rx_msg_bytes;
	uint64_t rx_retry_at;

	/* keepalive (extension peers only) */
	uint64_t heard_ns;		/* last frame from the peer */
	uint64_t ka_at;			/* next keepalive check; 0: off */
	uint64_t ka_since;		/* first probe of the current series */
	uint32_t ka_n;			/* probes sent in the current series */
};

/* The per-busy-flow part of a flow's state: 2 KiB that an idle flow does
 * not need. Every entry is NIL while the block is free (the free list
 * links through win[0]). */
struct mn_winblk {
	uint32_t win[MN_PROTO_MAX_INFLIGHT];
	uint32_t ooo[MN_PROTO_RX_AHEAD];
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
	/* Entries flows[flows_hw..max_flows) were never used: they are taken in
	 * order once the free list is empty, so an endpoint sized for a million
	 * flows touches (and keeps resident) only as many as it ever held. */
	uint32_t flows_hw;
	uint32_t nflows;
	uint32_t nhalf;
	uint32_t *ht;
	uint32_t ht_mask;
	struct listener *ls;
	uint32_t *ports[MN_PROTO_MAX_LOCAL];	/* bitmap of active source ports */
	uint16_t port_next[MN_PROTO_MAX_LOCAL];	/* source-port cursor (port_seed != 0) */
	/* The copies of params.local[].rss (NULL: no RSS), and whether any
	 * RETA entry is one of this endpoint's queues (else no port can fit). */
	struct mn_rss *rss[MN_PROTO_MAX_LOCAL];
	bool rss_owned[MN_PROTO_MAX_LOCAL];

	/* Window blocks: blks[0] is the all-NIL block idle flows point at,
	 * never handed out; blks[1..nblk) are taken in order (blk_hw) and then
	 * from the free list, so only as many are touched as were ever busy at
	 * once. A flow holding one holds a packet, so nblk - 1 >= min(pool
	 * packets, flows) never runs out. */
	struct mn_winblk *blks;
	uint32_t nblk, blk_hw, blk_free;

	struct pkt *pool;
	uint32_t pool_free;
	uint32_t pool_used;
	uint32_t tx_used;
	struct mn_seg *scratch;		/* mn_rx_deliver()'s segment list */
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

/* How mn_ack_sched() sends an ACK: plain peers get one per data packet, at
 * once (Machnet's sender relies on duplicate ACKs); extension peers one per
 * receive burst, and at once when something arrived out of order;
 * piggyback peers' in-order data waits up to ack_delay_ns for data of ours
 * to carry the ACK. */
enum { ACK_NOW, ACK_BURST, ACK_DELAY };

static inline uint32_t pool_get(struct mn_proto *ep)
{
	uint32_t i = ep->pool_free;

	if (i == NIL)
		return NIL;
	ep->pool_free = ep->pool[i].next;
	ep->pool[i].next = NIL;
	ep->pool_used++;
	return i;
}

static inline void pool_put(struct mn_proto *ep, uint32_t i)
{
	ep->pool[i].buf = NULL;
	ep->pool[i].next = ep->pool_free;
	ep->pool_free = i;
	ep->pool_used--;
}

/* Drops a TX packet: its buffer reference and its slot. */
static inline void tx_pkt_free(struct mn_proto *ep, uint32_t i)
{
	ep->ops.release(ep->ops.ctx, ep->pool[i].buf);
	pool_put(ep, i);
	ep->tx_used--;
}

static inline void rx_pkt_free(struct mn_proto *ep, uint32_t i)
{
	ep->ops.release(ep->ops.ctx, ep->pool[i].buf);
	pool_put(ep, i);
}

static inline void flow_addr(const struct mn_flow *f, struct mn_l2l3 *a)
{
	memcpy(a->src_mac, f->lmac, 6);
	memcpy(a->dst_mac, f->rmac, 6);
	a->src_ip = f->lip;
	a->dst_ip = f->rip;
	a->src_port = f->lport;
	a->dst_port = f->rport;
}

static inline uint64_t nonzero_ts(uint64_t now)
{
	return now ? now : 1;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The RTO backed off b times, capped at max_rto. */
static inline uint64_t rto_shift(const struct mn_flow *f, uint32_t b)
{
	const struct mn_proto *ep = f->ep;
	uint64_t r = f->rto;

	while (b-- && r < ep->p.max_rto_ns)
		r <<= 1;
	return r > ep->p.max_rto_ns ? ep->p.max_rto_ns : r;
}

static inline uint64_t rto_cur(const struct mn_flow *f)
{
	return rto_shift(f, f->backoff);
}


/* mn_flow.c: the flow table and a flow's life */
struct mn_flow *mn_flow_lookup(const struct mn_proto *ep, uint32_t lip, uint16_t lport,
                               uint32_t rip, uint16_t rport);
int mn_local_index(const struct mn_proto *ep, uint32_t ip);
int mn_port_used(const struct mn_proto *ep, int li, uint16_t port);
void mn_port_mark(struct mn_proto *ep, int li, uint16_t port, int used);
/* Sets each local address's source-port cursor from params.port_seed. */
void mn_port_cursor_init(struct mn_proto *ep);
/* A free source port of local address li toward (rip, rport) (see
 * mn_proto_connect()), or -1 when none is left. Does not mark it. */
int mn_port_pick(struct mn_proto *ep, int li, uint32_t lip, uint32_t rip, uint16_t rport);
struct listener *mn_listener_find(struct mn_proto *ep, uint32_t ip, uint16_t port);
struct mn_flow *mn_flow_alloc(struct mn_proto *ep, int li, uint32_t lip, uint16_t lport,
                              uint32_t rip, uint16_t rport);
void mn_flow_free(struct mn_flow *f);
/* Gives f a window block before it stores a packet in win[] or ooo[]
 * (nothing when it has one). 0, or -ENOBUFS. */
int mn_flow_blk_get(struct mn_flow *f);
/* Gives f's window block back once nothing is in flight or out of order
 * (every entry is NIL again then); nothing otherwise. */
void mn_flow_blk_idle(struct mn_flow *f);
void mn_cb_enter(struct mn_proto *ep);
void mn_cb_leave(struct mn_proto *ep);
void mn_flow_event(struct mn_flow *f, enum mn_proto_event ev, int err);
void mn_flow_end(struct mn_flow *f, enum mn_proto_event ev, int err);

/* mn_output.c: frames out */
int mn_send_frame(struct mn_proto *ep, unsigned li, const struct mn_l2l3 *a,
                  const struct mn_hdr *h, uint32_t plen);
void mn_send_ctrl(struct mn_proto *ep, unsigned li, const struct mn_l2l3 *a, uint8_t net_flags,
                  uint32_t seq, uint32_t ack, const uint8_t *sack, uint16_t sack_count,
                  uint64_t ts);
void mn_flow_ctrl(struct mn_flow *f, uint8_t net_flags, uint32_t seq, uint32_t ack, uint64_t ts);
void mn_send_rst(struct mn_flow *f);
void mn_send_ack(struct mn_flow *f);
void mn_ack_sched(struct mn_flow *f, int how);
void mn_xmit_data(struct mn_flow *f, uint32_t seq, struct pkt *k, uint64_t now);
void mn_retransmit(struct mn_flow *f, uint32_t seq, uint64_t now);
void mn_flow_push(struct mn_flow *f, uint64_t now);
void mn_send_syn(struct mn_flow *f, uint64_t now);
void mn_send_synack(struct mn_flow *f, uint64_t now);
void mn_send_keepalive(struct mn_flow *f, uint64_t now);

/* mn_recovery.c: ACKs, RTT, loss recovery, RTO */
void mn_rtt_sample(struct mn_flow *f, uint64_t r);
void mn_probe_arm(struct mn_flow *f, uint64_t now);
void mn_on_ack(struct mn_flow *f, const struct mn_hdr *h, uint64_t now);
void mn_on_piggy_ack(struct mn_flow *f, const struct mn_hdr *data, uint64_t now);
void mn_on_rto(struct mn_flow *f, uint64_t now);
void mn_zwin_probe(struct mn_flow *f, uint64_t now);

/* mn_input.c: frames in */
void mn_rx_deliver(struct mn_flow *f, uint64_t now);
void mn_rwin_recheck(struct mn_flow *f, uint64_t now);

/* mn_proto_timer.c: a flow's timers */
void mn_flow_rearm(struct mn_flow *f);

#endif
