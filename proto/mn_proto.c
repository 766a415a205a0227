/* The endpoint's public API (mn_proto.h): parameters, create and destroy,
 * listen, connect, send, close, abort, flow info and stats. How a flow
 * works lives in the other files of proto/: mn_flow.c (table, lifecycle),
 * mn_output.c, mn_input.c, mn_recovery.c, mn_proto_timer.c. */
#include "mn_proto_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mn_proto_params_default(struct mn_proto_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mtu = MN_PROTO_DEFAULT_MTU;
	p->window = MN_PROTO_DEFAULT_WINDOW;
	p->min_rto_ns = MN_PROTO_DEFAULT_MIN_RTO_NS;
	p->plain_min_rto_ns = MN_PROTO_DEFAULT_PLAIN_MIN_RTO_NS;
	p->max_rto_ns = MN_PROTO_DEFAULT_MAX_RTO_NS;
	p->init_rto_ns = MN_PROTO_DEFAULT_INIT_RTO_NS;
	p->max_retries = MN_PROTO_DEFAULT_MAX_RETRIES;
	p->cc = MN_PROTO_CC_AUTO;
	p->extensions = 1;
	p->target_qdelay_ns = MN_PROTO_DEFAULT_TARGET_QDELAY_NS;
	p->connect_timeout_ns = MN_PROTO_DEFAULT_CONNECT_TIMEOUT_NS;
	p->close_timeout_ns = MN_PROTO_DEFAULT_CLOSE_TIMEOUT_NS;
	p->rx_retry_ns = 20000;
	p->max_flows = 1024;
	p->port_stride = 1;
	p->port_phase = 0;
	p->max_half_open = 256;
	p->max_listeners = 64;
	p->pool_pkts = 65536;
	p->sndq_max_pkts = 0;
	p->tx_csum = MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP;
	p->rx_check_csum = 1;
	p->keepalive_ns = MN_PROTO_DEFAULT_KEEPALIVE_NS;
	p->give_up_ns = MN_PROTO_DEFAULT_GIVE_UP_NS;
	p->ack_delay_ns = MN_PROTO_DEFAULT_ACK_DELAY_NS;
}

/* Frees what mn_proto_create() allocated, the endpoint included (NULL
 * members are fine: creation may have stopped half-way). */
static void free_tables(struct mn_proto *ep)
{
	for (uint32_t i = 0; i < MN_PROTO_MAX_LOCAL; i++) {
		free(ep->ports[i]);
		free(ep->rss[i]);
	}
	free(ep->flows);
	free(ep->ht);
	free(ep->ls);
	free(ep->pool);
	free(ep->blks);
	free(ep->scratch);
	free(ep->tx_scratch);
	free(ep);
}

static bool rss_params_ok(const struct mn_proto_params *p)
{
	for (uint32_t i = 0; i < p->n_local && i < MN_PROTO_MAX_LOCAL; i++)
		if (p->local[i].rss != NULL && !mn_rss_valid(p->local[i].rss))
			return false;
	return true;
}

/* Copies local i's RSS description (the caller's may go away); the
 * params keep a pointer to the copy, never to the caller's. */
static int rss_copy(struct mn_proto *ep, uint32_t i)
{
	const struct mn_rss *r = ep->p.local[i].rss;

	ep->p.local[i].rss = NULL;
	if (r == NULL)
		return 0;
	ep->rss[i] = malloc(sizeof(*r));
	if (ep->rss[i] == NULL)
		return -1;
	*ep->rss[i] = *r;
	for (uint32_t k = 0; k < r->reta_size; k++)
		if (r->reta[k] % ep->p.port_stride == ep->p.port_phase)
			ep->rss_owned[i] = true;
	ep->p.local[i].rss = ep->rss[i];
	return 0;
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
	    p->max_rto_ns < p->min_rto_ns || p->max_rto_ns < p->plain_min_rto_ns ||
	    p->init_rto_ns == 0 ||
	    p->keepalive_ns > MN_PROTO_MAX_KEEPALIVE_NS || p->give_up_ns > MN_PROTO_MAX_GIVE_UP_NS ||
	    p->ack_delay_ns > p->min_rto_ns / 2 || p->port_stride > 1024 ||
	    p->port_phase >= (p->port_stride ? p->port_stride : 1) || !rss_params_ok(p)) {
		errno = EINVAL;
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		goto nomem;
	ep->p = *p;
	if (ep->p.port_stride == 0)
		ep->p.port_stride = 1;
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
	/* One block per packet or per flow, whichever is fewer (a block is
	 * held only beside a packet), plus the all-NIL one. */
	ep->nblk = (p->pool_pkts < p->max_flows ? p->pool_pkts : p->max_flows) + 1;
	ep->blks = malloc((size_t)ep->nblk * sizeof(*ep->blks));
	ep->scratch = calloc(ep->max_msg_pkts, sizeof(*ep->scratch));
	ep->tx_scratch = calloc(ep->max_msg_pkts, sizeof(*ep->tx_scratch));
	if (!ep->flows || !ep->ht || !ep->ls || !ep->pool || !ep->scratch || !ep->tx_scratch ||
	    !ep->blks)
		goto nomem;
	for (i = 0; i < p->n_local; i++) {
		ep->ports[i] = calloc(65536 / 32, sizeof(uint32_t));
		if (!ep->ports[i])
			goto nomem;
		if (rss_copy(ep, i) < 0)
			goto nomem;
	}
	if (mn_wheel_init(&ep->wheel, 14, 16, now) < 0)	/* 16384 x 65.5 us: 1.07 s */
		goto nomem;
	memset(ep->ht, 0xff, htsize * sizeof(*ep->ht));
	/* No free list yet: mn_flow_alloc() takes never-used entries in order
	 * (flows_hw), so the table's pages stay untouched until needed. */
	ep->free_flow = NIL;
	ep->flows_hw = 0;
	/* Blocks likewise, from 1: block 0 is the all-NIL one. */
	memset(&ep->blks[0], 0xff, sizeof(ep->blks[0]));
	ep->blk_hw = 1;
	ep->blk_free = NIL;
	for (i = 0; i < p->pool_pkts; i++)
		ep->pool[i].next = i + 1 < p->pool_pkts ? i + 1 : NIL;
	ep->pool_free = 0;
	ep->zombies = NIL;
	mn_port_cursor_init(ep);
	return ep;
nomem:
	if (ep)
		free_tables(ep);
	errno = ENOMEM;
	return NULL;
}

void mn_proto_destroy(struct mn_proto *ep)
{
	uint32_t i;

	if (!ep)
		return;
	for (i = 0; i < ep->flows_hw; i++)
		if (ep->flows[i].state != ST_FREE)
			mn_flow_free(&ep->flows[i]);
	mn_wheel_fini(&ep->wheel);
	free_tables(ep);
}

uint32_t mn_proto_mss(const struct mn_proto *ep)
{
	return ep->mss;
}

int mn_proto_listen(struct mn_proto *ep, uint32_t ip, uint16_t port, void *cookie)
{
	struct listener *freel = NULL;
	uint32_t i;

	if (ip && mn_local_index(ep, ip) < 0)
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
	int li = mn_local_index(ep, local_ip), pr;
	uint16_t port;
	struct mn_flow *f;

	ep->now = now;
	if (li < 0) {
		errno = EADDRNOTAVAIL;
		return NULL;
	}
	pr = mn_port_pick(ep, li, local_ip, remote_ip, remote_port);
	if (pr < 0) {
		errno = EADDRNOTAVAIL;
		return NULL;
	}
	port = (uint16_t)pr;
	f = mn_flow_alloc(ep, li, local_ip, port, remote_ip, remote_port);
	if (!f) {
		errno = ENOSPC;
		return NULL;
	}
	mn_port_mark(ep, li, port, 1);
	memcpy(f->rmac, remote_mac, 6);
	f->cookie = cookie;
	f->state = ST_SYN_SENT;
	f->conn_deadline = now + ep->p.connect_timeout_ns;
	mn_send_syn(f, now);
	f->hs_at = now + rto_cur(f);
	mn_flow_rearm(f);
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
	/* An empty flow takes one message of any size (sndq_max_pkts may be
	 * smaller than the largest message). */
	if ((f->sq_len + (f->snd_nxt - f->snd_una) + nsegs > ep->p.sndq_max_pkts &&
	     (f->sq_len || f->snd_nxt != f->snd_una)) ||
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
		mn_flow_push(f, now);
		mn_flow_rearm(f);
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
	/* An empty flow takes one message of any size (sndq_max_pkts may be
	 * smaller than the largest message). */
	if ((f->sq_len + (f->snd_nxt - f->snd_una) + nsegs > ep->p.sndq_max_pkts &&
	     (f->sq_len || f->snd_nxt != f->snd_una)) ||
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
	mn_send_rst(f);
	if (f->state == ST_SYN_RCVD) {
		/* Never handed to the owner: nobody to tell. */
		mn_flow_free(f);
		return;
	}
	mn_flow_end(f, MN_PROTO_EV_CLOSED, -ECONNABORTED);
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

uint32_t mn_proto_winblks(const struct mn_proto *ep, uint32_t *touched)
{
	uint32_t n = ep->blk_hw - 1;

	*touched = n;
	for (uint32_t k = ep->blk_free; k != NIL; k = ep->blks[k].win[0])
		n--;
	return n;
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

bool mn_proto_knows(const struct mn_proto *ep, uint32_t local_ip, uint16_t local_port,
                    uint32_t remote_ip, uint16_t remote_port)
{
	return mn_flow_lookup(ep, local_ip, local_port, remote_ip, remote_port) != NULL;
}
