/* The flow table and a flow's life: the tuple hash, local addresses and
 * source ports, listeners, allocation and release of a flow with every
 * buffer it holds, and the owner callbacks for its events (with the guard
 * that keeps an aborted flow's slot from being reused while callbacks run). */
#include "mn_proto_int.h"

#include <errno.h>
#include <string.h>

static uint32_t tuple_hash(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint64_t h = ((uint64_t)lip << 32 | rip) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)lport << 16 | rport) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return (uint32_t)h;
}

struct mn_flow *mn_flow_lookup(const struct mn_proto *ep, uint32_t lip, uint16_t lport,
                               uint32_t rip, uint16_t rport)
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

/* The owner's flows only: a half-open passive flow still carries its
 * listener's cookie, and a flow reporting its terminal event is gone for the
 * owner (it may already have reused what the cookie names). */
struct mn_flow *mn_proto_find(const struct mn_proto *ep, uint32_t lip, uint16_t lport,
                              uint32_t rip, uint16_t rport)
{
	struct mn_flow *f = mn_flow_lookup(ep, lip, lport, rip, rport);

	if (f == NULL || f->state == ST_SYN_RCVD || f->state == ST_DEAD)
		return NULL;
	return f;
}

int mn_local_index(const struct mn_proto *ep, uint32_t ip)
{
	uint32_t i;

	for (i = 0; i < ep->p.n_local; i++)
		if (ep->p.local[i].ip == ip)
			return (int)i;
	return -1;
}

int mn_port_used(const struct mn_proto *ep, int li, uint16_t port)
{
	return (ep->ports[li][port >> 5] >> (port & 31)) & 1;
}

void mn_port_mark(struct mn_proto *ep, int li, uint16_t port, int used)
{
	if (used)
		ep->ports[li][port >> 5] |= 1u << (port & 31);
	else
		ep->ports[li][port >> 5] &= ~(1u << (port & 31));
}

void mn_port_cursor_init(struct mn_proto *ep)
{
	const uint32_t range = 65536 - MN_PROTO_FIRST_PORT;

	for (uint32_t li = 0; li < MN_PROTO_MAX_LOCAL; li++) {
		/* splitmix64 of (seed, address index): every address of an
		 * endpoint, and every restart of machnetd, starts elsewhere. */
		uint64_t z = ((uint64_t)ep->p.port_seed << 8 | li) + 0x9e3779b97f4a7c15ull;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		ep->port_next[li] = (uint16_t)(MN_PROTO_FIRST_PORT + z % range);
	}
}

/* With RSS, a free port whose replies would land on another engine's
 * queue is passed over (the first one is kept as `spare`) until one fits or
 * MN_PROTO_RSS_TRIES have missed; the spare is taken then. The hash's fixed
 * part (addresses, remote port) is computed once per connect. */
int mn_port_pick(struct mn_proto *ep, int li, uint32_t lip, uint32_t rip, uint16_t rport)
{
	const uint32_t range = 65536 - MN_PROTO_FIRST_PORT;
	/* One endpoint (engine) owns every queue: any port fits. */
	const struct mn_rss *rss = ep->p.port_stride > 1 ? ep->rss[li] : NULL;
	const uint32_t tries = rss && ep->rss_owned[li] ? MN_PROTO_RSS_TRIES : 0;
	const uint32_t base = rss ? mn_rss_reply_base(rss, lip, rip, rport) : 0;
	uint32_t p = ep->p.port_seed ? ep->port_next[li] : MN_PROTO_FIRST_PORT, seen = 0;
	uint32_t missed = 0;
	int spare = -1;
	bool fits;

	/* One pass at most: `seen` counts the ports looked at. */
	while (seen < range) {
		uint32_t port = p;

		if ((port & 31) == 0 && port + 32 <= 65536 && seen + 32 <= range &&
		    ep->ports[li][port >> 5] == UINT32_MAX) {
			/* 32 ports in use: skip the whole bitmap word. */
			seen += 32;
			p = port + 32 == 65536 ? MN_PROTO_FIRST_PORT : port + 32;
			continue;
		}
		seen++;
		p = port + 1 == 65536 ? MN_PROTO_FIRST_PORT : port + 1;
		if (port % ep->p.port_stride != ep->p.port_phase ||
		    mn_port_used(ep, li, (uint16_t)port))
			continue;
		/* The hash before the listener scan: most misses cost no more. */
		fits = rss == NULL ||
		       mn_rss_queue(rss, base ^ mn_rss_lport_part(rss, (uint16_t)port)) %
		       ep->p.port_stride == ep->p.port_phase;
		if (!fits && spare >= 0) {
			if (++missed < tries)
				continue;
			break;
		}
		if (mn_listener_find(ep, lip, (uint16_t)port) ||
		    mn_flow_lookup(ep, lip, (uint16_t)port, rip, rport))
			continue;
		if (!fits) {
			spare = (int)port;
			if (++missed < tries)
				continue;
			break;
		}
		if (ep->p.port_seed)
			ep->port_next[li] = (uint16_t)p;
		return (int)port;
	}
	if (spare < 0)
		return -1;
	/* No free port fits: the spare follows the stride rule, so software
	 * steering still brings its replies here. The cursor moves past every
	 * port looked at. */
	ep->st.port_rss_miss++;
	if (ep->p.port_seed)
		ep->port_next[li] = (uint16_t)p;
	return spare;
}

struct listener *mn_listener_find(struct mn_proto *ep, uint32_t ip, uint16_t port)
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

int mn_flow_blk_get(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;
	struct mn_winblk *b;
	uint32_t k = ep->blk_free;

	if (f->blk != NIL)
		return 0;
	if (k != NIL) {
		b = &ep->blks[k];
		ep->blk_free = b->win[0];
		b->win[0] = NIL;
	} else if (ep->blk_hw < ep->nblk) {
		k = ep->blk_hw++;
		b = &ep->blks[k];
		memset(b, 0xff, sizeof(*b));
	} else {
		return -ENOBUFS;
	}
	f->blk = k;
	f->win = b->win;
	f->ooo = b->ooo;
	return 0;
}

/* Back to the free list; the caller has made every entry NIL. */
static void blk_put(struct mn_flow *f)
{
	struct mn_proto *ep = f->ep;
	struct mn_winblk *b = &ep->blks[f->blk];

	b->win[0] = ep->blk_free;
	ep->blk_free = f->blk;
	f->blk = NIL;
	f->win = ep->blks[0].win;
	f->ooo = ep->blks[0].ooo;
}

void mn_flow_blk_idle(struct mn_flow *f)
{
	/* ACKs clear win[] as they free packets, delivery clears ooo[]. */
	if (f->blk != NIL && f->snd_una == f->snd_nxt && f->ooo_count == 0)
		blk_put(f);
}

struct mn_flow *mn_flow_alloc(struct mn_proto *ep, int li, uint32_t lip, uint16_t lport,
                              uint32_t rip, uint16_t rport)
{
	struct mn_flow *f;
	uint32_t idx = ep->free_flow;

	if (idx != NIL) {
		f = &ep->flows[idx];
		ep->free_flow = f->free_next;
	} else if (ep->flows_hw < ep->p.max_flows) {
		idx = ep->flows_hw++;
		f = &ep->flows[idx];
	} else {
		return NULL;
	}
	memset(f, 0, sizeof(*f));
	f->blk = NIL;
	f->win = ep->blks[0].win;
	f->ooo = ep->blks[0].ooo;
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

void mn_flow_free(struct mn_flow *f)
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
	if (f->blk != NIL) {
		for (s = 0; s < MN_PROTO_RX_AHEAD; s++)
			if (f->ooo[s] != NIL)
				rx_pkt_free(ep, f->ooo[s]);
		memset(&ep->blks[f->blk], 0xff, sizeof(ep->blks[0]));
		blk_put(f);
	}
	if (f->state == ST_SYN_RCVD)
		ep->nhalf--;
	if (!f->passive)
		mn_port_mark(ep, f->local_idx, f->lport, 0);
	f->state = ST_FREE;
	/* What the owner's cookie named may be reused from now on. */
	f->cookie = NULL;
	if (ep->cb_depth) {
		f->free_next = ep->zombies;
		ep->zombies = f->idx;
	} else {
		f->free_next = ep->free_flow;
		ep->free_flow = f->idx;
	}
	ep->nflows--;
}

void mn_cb_enter(struct mn_proto *ep)
{
	ep->cb_depth++;
}

void mn_cb_leave(struct mn_proto *ep)
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

void mn_flow_event(struct mn_flow *f, enum mn_proto_event ev, int err)
{
	struct mn_proto *ep = f->ep;

	mn_cb_enter(ep);
	ep->ops.event(ep->ops.ctx, f, f->cookie, ev, err);
	mn_cb_leave(ep);
}

/* Reports a terminal event, then frees the flow. */
void mn_flow_end(struct mn_flow *f, enum mn_proto_event ev, int err)
{
	f->state = ST_DEAD;
	mn_flow_event(f, ev, err);
	mn_flow_free(f);
}
