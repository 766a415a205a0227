/* mn_transport: the engine's transport glue. See mn_transport.h. */
#include "mn_transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>
#include <rte_udp.h>

#include "mn_proto.h"
#include "mn_transport_priv.h"
#include "mn_steer.h"
#include "mn_txq.h"
#include "mn_wire.h"

/* ---------------- flow table ---------------- */

struct mn_tr_flow *mn_tr_flow_alloc(struct mn_transport *x, uint16_t chan)
{
	struct mn_tr_flow *xf;
	uint32_t gen;

	if (x->free_head != 0) {
		xf = &x->flows[x->free_head - 1];
		x->free_head = xf->free_next;
	} else if (x->flows_hw < x->max_flows) {
		/* Never used before: see flows_hw. */
		xf = &x->flows[x->flows_hw++];
	} else {
		x->st.flows_full++;
		return NULL;
	}
	gen = xf->gen;
	memset(xf, 0, sizeof(*xf));
	xf->gen = gen;
	xf->chan = chan;
	x->n_flows++;
	/* Buffers a previous flow of this entry left with its app no longer
	 * count against the new one. */
	mn_chan_acct_open(x->ce, (uint32_t)(xf - x->flows) + 1);
	return xf;
}

/* EDQUOT, not ENOSPC, at an app's own limit: ENOSPC says the engine is
 * full (waiting for other apps may help), EDQUOT that this app holds its
 * share (only closing its own flows helps); machnet.h documents both. */
int mn_tr_flow_charge(struct mn_transport *x, struct mn_tr_flow *xf, uint16_t chan)
{
	struct mn_app_quota *q = x->ce->chans[chan].quota;

	if (q == NULL)
		return 0;	/* a channel mn_ctrl did not attach: unit tests */
	if (!mn_quota_take(&q->flows, q->max_flows)) {
		x->st.quota_flows++;
		return -EDQUOT;
	}
	xf->quota = q;
	return 0;
}

void mn_tr_flow_uncharge(struct mn_tr_flow *xf)
{
	if (xf->quota == NULL)
		return;
	mn_quota_put(&xf->quota->flows);
	xf->quota = NULL;
}

/* The engine that steered an accepted flow's SYN here may forget it. */
static void steer_forget(struct mn_transport *x, unsigned from, uint32_t token, uint32_t lip,
			 uint16_t lport, uint32_t rip, uint16_t rport)
{
	struct mn_steer_tuple t = { .lip = lip, .rip = rip, .lport = lport, .rport = rport };

	if (mn_steer_forget(x->env.steer, x->env.engine_id, from, &t, token) != 0)
		x->st.steer_drop++;
}

/* Tells the flow's channel whether the flow can take more (machnet_send's
 * per-flow EAGAIN): blocked while any message of it is parked. */
static void publish_blocked(struct mn_transport *x, const struct mn_tr_flow *xf, bool blocked)
{
	const struct mn_flow_key k = { .lip = xf->lip, .rip = xf->rip, .lport = xf->lport,
				       .rport = xf->rport };

	if (!xf->orphan && xf->chan < MN_MAX_CHANNELS)
		mn_chan_flow_blocked(x->ce, xf->chan, &k, blocked);
}

void mn_tr_flow_free(struct mn_transport *x, struct mn_tr_flow *xf)
{
	if (xf->state == XF_FREE)
		return;
	mn_tr_flow_uncharge(xf);
	if (xf->steer_from)
		steer_forget(x, xf->steer_from - 1u, xf->steer_token, xf->lip, xf->lport, xf->rip,
			     xf->rport);
	if (xf->state == XF_ARP)
		x->n_arp--;
	if (xf->npend)
		publish_blocked(x, xf, false);
	xf->f = NULL;
	xf->state = XF_FREE;
	xf->gen++;
	xf->npend = 0;
	xf->free_next = x->free_head;
	x->free_head = (uint32_t)(xf - x->flows) + 1;
	x->n_flows--;
}

static uint32_t flow_id(const struct mn_transport *x, const struct mn_tr_flow *xf)
{
	return (uint32_t)(xf - x->flows) + 1;
}

void mn_tr_flow_event(const struct mn_transport *x, const struct mn_tr_flow *xf, uint16_t type,
		       int status, struct mn_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->chan = xf->chan;
	ev->status = status;
	ev->flow_id = flow_id(x, xf);
	ev->src_ip = xf->lip;
	ev->dst_ip = xf->rip;
	ev->src_port = xf->lport;
	ev->dst_port = xf->rport;
}

static void post(struct mn_transport *x, uint16_t chan, const struct mn_event *ev)
{
	if (mn_chan_post_event(x->ce, chan, ev) == -ENOBUFS)
		x->st.events_lost++;
}

/* Answers the command a flow holds (CONNECT or CLOSE), once. */
void mn_tr_reply_cmd(struct mn_transport *x, struct mn_tr_flow *xf, int status)
{
	struct mn_event ev;

	if (!xf->has_cmd)
		return;
	xf->has_cmd = 0;
	/* A failed connect, or any close's answer, ends the flow for the app:
	 * its share is back before it hears so (its next connect may run on
	 * another engine at once). */
	if (status != 0 || xf->cmd.op == MN_CMD_CLOSE)
		mn_tr_flow_uncharge(xf);
	if (xf->orphan)
		return;
	mn_tr_flow_event(x, xf, 0, status, &ev);
	if (mn_chan_reply(x->ce, &xf->cmd, status, &ev) == -ENOBUFS)
		x->st.events_lost++;
}

/* ---------------- proto callbacks ---------------- */

static int op_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	struct mn_transport *x = ctx;
	struct rte_mbuf *m = buf;
	/* proto's local addresses are the engine's ports, in order. */
	unsigned pi = local < x->env.n_ports ? local : 0;
	m->data_off = (uint16_t)(frame - (uint8_t *)m->buf_addr);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->nb_segs = 1;
	m->next = NULL;
	if (x->csum_offload) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + MN_ETH_HLEN);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(frame + MN_ETH_HLEN + MN_IP_HLEN);

		m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		m->l2_len = MN_ETH_HLEN;
		m->l3_len = MN_IP_HLEN;
		ip->hdr_checksum = 0;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		m->ol_flags = 0;
	}
	mn_txq_push(x->env.ports[pi].txq, m);
	return 0;
}

static void op_hold(void *ctx, void *buf)
{
	(void)ctx;
	rte_mbuf_refcnt_update(buf, 1);
}

static void op_release(void *ctx, void *buf)
{
	struct mn_transport *x = ctx;

	/* A sent segment ACKed leaves its channel's share of the pool. */
	mn_chan_tx_release(x->ce, buf);
	rte_pktmbuf_free_seg(buf);
}

static void *op_alloc(void *ctx, uint8_t **payload)
{
	struct mn_transport *x = ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(x->env.pool);

	if (m == NULL)
		return NULL;
	*payload = rte_pktmbuf_mtod(m, uint8_t *);
	return m;
}

static int op_deliver(void *ctx, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
		      uint32_t nsegs, uint32_t msg_len)
{
	struct mn_transport *x = ctx;
	struct mn_tr_flow *xf = cookie;
	struct rte_mbuf *head = segs[0].buf, *m;
	struct mn_msg_meta meta;
	int r;

	(void)f;
	for (uint32_t i = 0; i < nsegs; i++) {
		m = segs[i].buf;
		m->data_off = (uint16_t)(segs[i].data - (uint8_t *)m->buf_addr);
		m->data_len = (uint16_t)segs[i].len;
		m->pkt_len = segs[i].len;
		m->nb_segs = 1;
		m->ol_flags = 0;
		m->next = i + 1 < nsegs ? segs[i + 1].buf : NULL;
	}
	head->pkt_len = msg_len;
	if (xf == NULL || xf->orphan || nsegs > UINT16_MAX) {
		/* Nobody to give it to, or more segments than a chain can
		 * count (a peer sending tiny packets): dropped whole. */
		x->st.deliver_drop++;
		rte_pktmbuf_free(head);
		return 0;
	}
	head->nb_segs = (uint16_t)nsegs;
	memset(&meta, 0, sizeof(meta));
	meta.src_ip = xf->lip;
	meta.dst_ip = xf->rip;
	meta.src_port = xf->lport;
	meta.dst_port = xf->rport;
	meta.flow_id = flow_id(x, xf);
	r = mn_chan_deliver_acct(x->ce, xf->chan, head, &meta, meta.flow_id);
	if (r == -ENOBUFS) {
		/* proto keeps the message, stops taking new data on this flow
		 * and retries: backpressure to the peer. */
		x->st.deliver_busy++;
		return r;
	}
	if (r < 0) {
		x->st.deliver_drop++;
		rte_pktmbuf_free(head);
		return 0;
	}
	x->st.msgs_rx++;
	if (mn_chan_rx_held(x->ce, xf->chan) > x->st.chan_rx_held_max)
		x->st.chan_rx_held_max = mn_chan_rx_held(x->ce, xf->chan);
	return 0;
}

/* The receive window (proto's Flow control): what the flow's app can still
 * take. held (proto's, for this flow) plus what the app holds of the flow
 * stays under rx_flow_pkts, and plus what the app holds of all its flows
 * under rx_chan_pkts. An app that holds nothing always gets one more
 * message, whatever its size: else a message larger than the window could
 * never complete. */
static int op_rx_room(void *ctx, struct mn_flow *f, void *cookie, uint32_t held)
{
	struct mn_transport *x = ctx;
	struct mn_tr_flow *xf = cookie;
	uint32_t fh, ch;

	(void)f;
	if (xf == NULL || xf->orphan)
		return 1;	/* delivered to nobody: dropped at once */
	fh = mn_chan_acct_held(x->ce, flow_id(x, xf));
	ch = mn_chan_rx_held(x->ce, xf->chan);
	if (ch == 0)
		return 1;
	if (fh + held >= x->rx_flow_pkts) {
		x->st.rx_flow_full++;
		return 0;
	}
	if (ch + held >= x->rx_chan_pkts) {
		x->st.rx_chan_full++;
		return 0;
	}
	return 1;
}

static void on_accepted(struct mn_transport *x, struct mn_flow *f, void *cookie)
{
	uint64_t c = (uint64_t)(uintptr_t)cookie - 1;
	uint16_t chan = (uint16_t)(c & 0xffff);
	struct mn_flow_info fi;
	struct mn_tr_flow *xf;
	struct mn_event ev;
	const struct mn_chan *ch = &x->ce->chans[chan];

	if (cookie == NULL || chan >= MN_MAX_CHANNELS || ch->gen != (uint32_t)(c >> 16) ||
	    ch->shm == NULL || ch->shm->state != MN_CHAN_LIVE || ch->shm->engine != x->env.engine_id ||
	    (xf = mn_tr_flow_alloc(x, chan)) == NULL) {
		if (x->rx_from) {
			mn_flow_info(f, &fi);
			steer_forget(x, x->rx_from - 1u, x->rx_token, fi.local_ip, fi.local_port,
				     fi.remote_ip, fi.remote_port);
		}
		mn_flow_set_cookie(f, NULL);
		mn_proto_close(f, x->now);
		return;
	}
	/* The tuple and where its SYN came from first: a refused flow is
	 * forgotten by the engine that steered it, too. */
	mn_flow_info(f, &fi);
	xf->steer_from = x->rx_from;
	xf->steer_token = x->rx_token;
	xf->lip = fi.local_ip;
	xf->rip = fi.remote_ip;
	xf->lport = fi.local_port;
	xf->rport = fi.remote_port;
	xf->state = XF_OPEN;	/* not XF_FREE, so that the free below takes it back */
	if (mn_tr_flow_charge(x, xf, chan) < 0) {
		/* The app holds its share of flows: the peer's flow is reset at
		 * once (RST, the entry freed before we return) and never
		 * reaches the app. The handshake is already complete here, so
		 * the peer sees ECONNRESET rather than ECONNREFUSED. */
		mn_tr_flow_free(x, xf);
		mn_flow_set_cookie(f, NULL);
		mn_proto_abort(f, x->now);
		return;
	}
	xf->f = f;
	mn_flow_set_cookie(f, xf);
	x->st.accepts++;
	mn_tr_flow_event(x, xf, MN_EV_ACCEPTED, 0, &ev);
	post(x, chan, &ev);
}

static void op_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event pev, int err)
{
	struct mn_transport *x = ctx;
	struct mn_tr_flow *xf = cookie;
	struct mn_event ev;

	if (pev == MN_PROTO_EV_ACCEPTED) {
		on_accepted(x, f, cookie);
		return;
	}
	if (xf == NULL)
		return;
	/* Every other event is terminal: the share is back before the app
	 * hears of the end. */
	if (pev != MN_PROTO_EV_CONNECTED)
		mn_tr_flow_uncharge(xf);
	switch (pev) {
	case MN_PROTO_EV_CONNECTED:
		xf->state = XF_OPEN;
		mn_tr_reply_cmd(x, xf, 0);
		return;
	case MN_PROTO_EV_CONNECT_FAILED:
		mn_tr_reply_cmd(x, xf, err ? err : -ECONNREFUSED);
		break;
	case MN_PROTO_EV_RESET:
	case MN_PROTO_EV_FAILED:
		x->st.resets++;
		if (xf->has_cmd) {
			/* A close or connect in progress learns the outcome
			 * from its reply. */
			mn_tr_reply_cmd(x, xf, xf->cmd.op == MN_CMD_CLOSE ? 0 : err);
		} else if (!xf->orphan) {
			mn_tr_flow_event(x, xf, MN_EV_RESET, err ? err : -ECONNRESET, &ev);
			post(x, xf->chan, &ev);
		}
		break;
	case MN_PROTO_EV_CLOSED:
		x->st.closes++;
		mn_tr_reply_cmd(x, xf, 0);
		break;
	default:
		return;
	}
	/* Terminal: proto frees the flow when we return. */
	mn_tr_flow_free(x, xf);
}

/* ---------------- sends ---------------- */

static void send_failed(struct mn_transport *x, const struct mn_tx_msg *msg, int status)
{
	struct mn_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = MN_EV_SEND_FAILED;
	ev.status = status;
	ev.flow_id = msg->meta.flow_id;
	ev.src_ip = msg->meta.src_ip;
	ev.dst_ip = msg->meta.dst_ip;
	ev.src_port = msg->meta.src_port;
	ev.dst_port = msg->meta.dst_port;
	x->st.send_failed++;
	if (msg->chan != CHAN_GONE)
		post(x, msg->chan, &ev);
	for (struct rte_mbuf *m = msg->head; m != NULL; m = m->next)
		mn_chan_tx_release(x->ce, m);
	rte_pktmbuf_free(msg->head);
}

/* Hands one checked chain to proto. 0 (proto owns every segment now),
 * -EAGAIN (chain untouched, retry later) or another -errno (caller fails
 * the message). */
static int send_msg(struct mn_transport *x, struct mn_tr_flow *xf, const struct mn_tx_msg *msg)
{
	struct rte_mbuf *m = msg->head;
	uint32_t n = 0;
	int r;

	if (xf->state == XF_ARP)
		return -EAGAIN;
	for (; m != NULL && n < x->max_segs; m = m->next, n++) {
		x->segs[n].buf = m;
		x->segs[n].data = rte_pktmbuf_mtod(m, uint8_t *);
		x->segs[n].len = m->data_len;
	}
	if (m != NULL)
		return -EMSGSIZE;
	r = mn_proto_sendv(xf->f, x->segs, n, x->now);
	if (r < 0)
		return r;
	/* Each segment is now a frame of its own, transmitted as is. */
	for (uint32_t i = 0; i < n; i++) {
		m = x->segs[i].buf;
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
	}
	x->st.msgs_tx++;
	return 0;
}

static void park(struct mn_transport *x, struct mn_tr_flow *xf, const struct mn_tx_msg *msg)
{
	struct mn_tr_pend *p = &x->pend[x->npend++];

	p->msg = *msg;
	p->idx = (uint32_t)(xf - x->flows);
	p->gen = xf->gen;
	if (xf->npend++ == 0)
		publish_blocked(x, xf, true);
	x->st.send_parked++;
	if (msg->chan < MN_MAX_CHANNELS && ++x->chan_pend[msg->chan] >= MN_TRANSPORT_PEND_CHAN)
		x->ce->chans[msg->chan].tx_hold = 1;
}

/* A parked message left the park (sent or failed). */
static void unpark(struct mn_transport *x, const struct mn_tx_msg *msg)
{
	if (msg->chan >= MN_MAX_CHANNELS || x->chan_pend[msg->chan] == 0)
		return;
	if (--x->chan_pend[msg->chan] < MN_TRANSPORT_PEND_CHAN)
		x->ce->chans[msg->chan].tx_hold = 0;
}

/* Retries parked messages in order; a flow refused once this round keeps
 * the rest of its messages parked behind it. Returns messages that left. */
static unsigned retry_parked(struct mn_transport *x)
{
	unsigned i, k = 0, done = 0;

	x->round++;
	for (i = 0; i < x->npend; i++) {
		struct mn_tr_pend *p = &x->pend[i];
		struct mn_tr_flow *xf = &x->flows[p->idx];
		int r;

		if (xf->gen != p->gen || xf->state == XF_FREE) {
			unpark(x, &p->msg);
			send_failed(x, &p->msg, -ECONNRESET);
			done++;
			continue;
		}
		if (xf->blocked == x->round) {
			x->pend[k++] = *p;
			continue;
		}
		r = send_msg(x, xf, &p->msg);
		if (r == -EAGAIN) {
			xf->blocked = x->round;
			x->pend[k++] = *p;
			continue;
		}
		if (--xf->npend == 0)
			publish_blocked(x, xf, false);
		unpark(x, &p->msg);
		if (r < 0)
			send_failed(x, &p->msg, r);
		done++;
		/* A closed flow (cmd_close) or a gone channel's flow (see
		 * cmd_chan_del) closes once its last message is in proto;
		 * proto then sends it out before the RST. */
		if (xf->npend == 0 && (xf->orphan || xf->state == XF_CLOSING) && xf->f != NULL)
			mn_proto_close(xf->f, x->now);
	}
	x->npend = k;
	return done;
}

/* One message from a channel: sent, parked behind its flow's parked ones,
 * or failed. */
void mn_tr_take_msg(struct mn_transport *x, struct mn_tx_msg *msg)
{
	const struct mn_msg_meta *md = &msg->meta;
	struct mn_tr_flow *xf = mn_tr_flow_find(x, md->src_ip, md->src_port, md->dst_ip, md->dst_port);
	int r;

	if (xf == NULL || xf->chan != msg->chan || xf->orphan) {
		send_failed(x, msg, -ENOTCONN);
		return;
	}
	r = xf->npend ? -EAGAIN : send_msg(x, xf, msg);
	if (r == -EAGAIN && x->npend < MN_TRANSPORT_PEND)
		park(x, xf, msg);
	else if (r < 0)
		send_failed(x, msg, r == -EAGAIN ? -ENOBUFS : r);
}

static unsigned poll_sends(struct mn_transport *x)
{
	struct mn_tx_msg msgs[TX_BURST];
	unsigned room = MN_TRANSPORT_PEND - x->npend, n, i;

	if (room > TX_BURST)
		room = TX_BURST;
	if (room == 0)
		return 0;
	/* room bounds n, so mn_tr_take_msg() can always park. */
	n = mn_chan_poll_tx(x->ce, msgs, room);
	for (i = 0; i < n; i++)
		mn_tr_take_msg(x, &msgs[i]);
	return n;
}

/* ---------------- engine entry points ---------------- */

void mn_transport_begin(struct mn_transport *x)
{
	x->now = clock_ns(x);
}

/* A frame of a flow this engine's proto does not know goes to the engine
 * that owns it (mn_steer.h). True when m was taken. */
static bool steer_away(struct mn_transport *x, struct rte_mbuf *m)
{
	unsigned self = x->env.engine_id, owner;
	struct mn_steer_tuple t;
	uint32_t token;
	bool syn;

	mn_steer_parse(m, &t, &syn);
	if (mn_proto_knows(x->ep, t.lip, t.lport, t.rip, t.rport))
		return false;
	owner = mn_steer_owner(x->env.steer, self, &t, syn, &token);
	if (owner == self)
		return false;
	if (owner == MN_STEER_NONE) {
		x->st.steer_full++;
		rte_pktmbuf_free(m);
	} else if (mn_steer_push(x->env.steer, self, owner, m, token) == 0) {
		x->st.steered_out++;
	} else {
		x->st.steer_drop++;
	}
	return true;
}

void mn_transport_rx(struct mn_transport *x, struct rte_mbuf *m)
{
	if (m->nb_segs != 1) {
		x->st.rx_multiseg++;
		rte_pktmbuf_free(m);
		return;
	}
	if (x->env.steer != NULL && steer_away(x, m))
		return;
	mn_proto_rx(x->ep, m, rte_pktmbuf_mtod(m, uint8_t *), m->data_len, x->now);
}

/* Frames other engines steered here: this engine's to process, whatever
 * its proto knows of them (an unknown flow is answered as usual). */
static unsigned rx_steered(struct mn_transport *x)
{
	struct mn_steer_frame f[32];
	unsigned n = mn_steer_pull(x->env.steer, x->env.engine_id, f, RTE_DIM(f));

	for (unsigned i = 0; i < n; i++) {
		x->rx_from = (uint8_t)(f[i].from + 1);
		x->rx_token = f[i].token;
		mn_proto_rx(x->ep, f[i].m, rte_pktmbuf_mtod(f[i].m, uint8_t *), f[i].m->data_len,
			    x->now);
	}
	x->rx_from = 0;
	x->st.steered_in += n;
	return n;
}

unsigned mn_transport_poll(struct mn_transport *x, unsigned rx_got)
{
	unsigned work = 0;

	if (x->env.steer != NULL)
		rx_got += rx_steered(x);
	if (rx_got)
		mn_proto_flush(x->ep, x->now);
	work += mn_tr_run_cmds(x);
	mn_chan_service(x->ce);
	x->st.tx_chan_full = x->ce->tx_chan_full;
	/* Only messages that left count as work: a flow whose peer's window
	 * is closed can keep messages parked for as long as its app does not
	 * read, and an engine that counted them would never idle. What frees
	 * them (ACKs, commands) is work of its own. */
	if (x->npend)
		work += retry_parked(x);
	work += poll_sends(x);
	if (x->now >= x->deadline || work || rx_got)
		x->deadline = mn_proto_poll(x->ep, x->now);
	return work;
}

int mn_transport_init(struct mn_transport *x, const struct mn_transport_env *env,
		      const struct mn_config *cfg, struct mn_chan_engine *ce)
{
	struct mn_proto_params pp;
	struct mn_proto_ops ops = {
		.ctx = x, .tx = op_tx, .hold = op_hold, .release = op_release,
		.alloc = op_alloc, .deliver = op_deliver, .event = op_event,
		.rx_room = op_rx_room,
	};
	uint32_t mtu = UINT32_MAX, i;
	int offload = 1, rx_csum = 1;

	memset(x, 0, sizeof(*x));
	x->env = *env;
	x->ce = ce;
	x->tsc0 = rte_rdtsc();
	x->ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	mn_proto_params_default(&pp);
	pp.n_local = env->n_ports;
	for (i = 0; i < env->n_ports; i++) {
		pp.local[i].ip = env->ports[i].ifc.ip;
		memcpy(pp.local[i].mac, env->ports[i].ifc.mac, 6);
		/* With RSS, connects also pick ports whose replies the NIC puts
		 * on this engine's queues (q % engines == id): nothing to steer. */
		pp.local[i].rss = env->ports[i].rss;
		if (cfg->ifaces[i].mtu < mtu)
			mtu = cfg->ifaces[i].mtu;
		if (!env->ports[i].tx_csum_offload)
			offload = 0;
		if (!env->ports[i].ifc.rx_csum)
			rx_csum = 0;
	}
	pp.mtu = mtu;
	pp.window = cfg->window;
	pp.min_rto_ns = (uint64_t)cfg->min_rto_us * 1000;
	pp.plain_min_rto_ns = (uint64_t)cfg->plain_min_rto_us * 1000;
	pp.max_rto_ns = (uint64_t)cfg->max_rto_us * 1000;
	pp.max_retries = cfg->max_retries;
	pp.give_up_ns = (uint64_t)cfg->give_up_ms * 1000000;
	pp.keepalive_ns = (uint64_t)cfg->keepalive_ms * 1000000;
	pp.ack_delay_ns = (uint64_t)cfg->ack_delay_us * 1000;
	pp.cc = cfg->cc == MN_CC_FIXED ? MN_PROTO_CC_FIXED : MN_PROTO_CC_AUTO;
	pp.target_qdelay_ns = (uint64_t)cfg->target_delay_us * 1000;
	pp.connect_timeout_ns = (uint64_t)cfg->connect_timeout_ms * 1000000;
	/* The library waits a second for a close's reply. */
	pp.close_timeout_ns = 500000000ull;
	pp.max_flows = cfg->max_flows;
	pp.max_listeners = MN_TRANSPORT_LIS;
	/* A random start of the source ports (never 0, proto's lowest-free
	 * mode): a restarted machnetd, or an app reconnecting, does not meet
	 * the tuple a just-closed flow had, so a stale flow handle or a late
	 * packet of that flow cannot address the new one. */
	pp.port_seed = (uint32_t)rte_rand() | 1;
	/* Engines split the source ports, so a frame's local port names the
	 * engine that opened its flow (mn_steer.h, rule 4); with RSS the port
	 * must also hash the replies to one of the engine's RX queues, which
	 * are the queues q with q % engines == id (mn_engine_init). */
	pp.port_stride = cfg->n_engines;
	pp.port_phase = env->engine_id;
	pp.tx_csum = offload ? MN_ENC_CSUM_NONE : (MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	pp.rx_check_csum = rx_csum;
	x->csum_offload = offload;
	x->connect_timeout_ns = pp.connect_timeout_ns;
	/* Flow control's budgets, by default shares of the pool: a flow's
	 * window an eighth, a channel's a quarter, a flow's send buffer an
	 * eighth (and a channel's share for sending a quarter: mn_chan), so
	 * that one app that stops reading (or whose peer does) leaves most of
	 * the pool to the others. */
	x->rx_flow_pkts = cfg->rx_flow_pkts ? cfg->rx_flow_pkts : env->pool->size / 8;
	x->rx_chan_pkts = cfg->rx_chan_pkts ? cfg->rx_chan_pkts : env->pool->size / 4;
	pp.sndq_max_pkts = cfg->tx_flow_pkts ? cfg->tx_flow_pkts : env->pool->size / 8;

	x->max_flows = cfg->max_flows;
	x->flows = calloc(x->max_flows, sizeof(*x->flows));
	x->max_segs = MN_MSS(mtu) ? (MN_MAX_MSG + MN_MSS(mtu) - 1) / MN_MSS(mtu) + 1 : 0;
	if (x->max_segs > UINT16_MAX)
		x->max_segs = UINT16_MAX;
	x->segs = calloc(x->max_segs, sizeof(*x->segs));
	if (!x->flows || !x->segs)
		goto nomem;
	/* No free list yet (flows_hw): untouched entries cost no memory. */
	x->free_head = 0;
	x->flows_hw = 0;
	if (ce->seg_acct == NULL &&
	    mn_chan_acct_init(ce, x->max_flows + 1,
			      cfg->tx_chan_pkts ? cfg->tx_chan_pkts : env->pool->size / 4) < 0)
		goto nomem;
	x->ep = mn_proto_create(&pp, &ops, clock_ns(x));
	if (x->ep == NULL) {
		int err = errno;

		mn_transport_fini(x);
		return err ? -err : -EINVAL;
	}
	x->deadline = UINT64_MAX;
	return 0;
nomem:
	mn_transport_fini(x);
	return -ENOMEM;
}

void mn_transport_fini(struct mn_transport *x)
{
	for (unsigned i = 0; i < x->npend; i++)
		rte_pktmbuf_free(x->pend[i].msg.head);
	x->npend = 0;
	if (x->ep)
		mn_proto_destroy(x->ep);
	x->ep = NULL;
	free(x->flows);
	free(x->segs);
	x->flows = NULL;
	x->segs = NULL;
}

const struct mn_transport_stats *mn_transport_stats(const struct mn_transport *t)
{
	return &t->st;
}

uint32_t mn_transport_nflows(const struct mn_transport *t)
{
	return t->n_flows;
}

const struct mn_proto *mn_transport_proto(const struct mn_transport *t)
{
	return t->ep;
}
