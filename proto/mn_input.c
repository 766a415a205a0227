/* What a flow receives: mn_proto_rx's dispatch of each frame, the
 * handshake (SYN, SYN-ACK, RST), in-order and out-of-order data, message
 * reassembly and delivery to the owner. ACKs go on to mn_recovery.c. */
#include "mn_proto_int.h"

#include <errno.h>
#include <string.h>

/* Delivers every complete message at the head of the receive queue. */
void mn_rx_deliver(struct mn_flow *f, uint64_t now)
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
				f->rx_held--;
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
		mn_cb_enter(ep);
		r = ep->ops.deliver(ep->ops.ctx, f, f->cookie, ep->scratch, n, total);
		mn_cb_leave(ep);
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
			f->rx_held--;
		}
		ep->st.msgs_delivered++;
	}
	if (f->rx_blocked) {
		/* Room again: tell the sender at once where we are. */
		f->rx_blocked = 0;
		mn_send_ack(f);
	}
}

/* May f take one more data packet? The owner's budget (mn_proto.h, Flow
 * control). */
static int rx_room(const struct mn_flow *f)
{
	const struct mn_proto *ep = f->ep;

	return !ep->ops.rx_room || ep->ops.rx_room(ep->ops.ctx, (struct mn_flow *)f, f->cookie,
						   f->rx_held);
}

/* The receiver's timer: asks the owner again while the window is closed,
 * and when it opens tells an extension peer at once (an ACK without the
 * closed bit); a plain peer finds out by retransmitting. */
void mn_rwin_recheck(struct mn_flow *f, uint64_t now)
{
	if (!f->rwin_closed || now < f->rx_retry_at)
		return;
	if (!rx_room(f)) {
		f->rx_retry_at = now + f->ep->p.rx_retry_ns;
		return;
	}
	f->rwin_closed = 0;
	if (f->ext && !f->rx_blocked)
		mn_send_ack(f);
}

/* Data the owner has no room for: dropped and not ACKed. An extension
 * peer hears that the window is closed (mn_send_ack sets the bit). */
static void rwin_refuse(struct mn_flow *f, void *buf, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	ep->st.rx_window_closed++;
	ep->ops.release(ep->ops.ctx, buf);
	if (!f->rwin_closed) {
		f->rwin_closed = 1;
		if (!f->rx_blocked)
			f->rx_retry_at = now + ep->p.rx_retry_ns;
	}
	if (f->ext)
		mn_ack_sched(f, ACK_NOW);
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
	mn_send_rst(f);
	mn_flow_end(f, MN_PROTO_EV_FAILED, -EPROTO);
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
		mn_ack_sched(f, ACK_BURST);
		return;
	}
	if (f->rx_blocked) {
		ep->st.rx_backpressure++;
		ep->ops.release(ep->ops.ctx, buf);
		mn_ack_sched(f, ACK_BURST);
		return;
	}
	if (off >= MN_PROTO_RX_AHEAD) {
		ep->st.rx_out_of_window++;
		ep->ops.release(ep->ops.ctx, buf);
		mn_ack_sched(f, ACK_NOW);
		return;
	}
	if (off > 0 && f->ooo[seq & WIN_MASK] != NIL) {
		ep->st.rx_dup++;
		ep->ops.release(ep->ops.ctx, buf);
		mn_ack_sched(f, ACK_NOW);
		return;
	}
	/* A closing flow's data is dropped after reassembly anyway. */
	if (!f->closing && (f->rwin_closed || !rx_room(f))) {
		rwin_refuse(f, buf, now);
		return;
	}
	/* The slot first, then the block: a flow holds a block only while it
	 * holds a packet in win[] or ooo[], which is what makes a block per
	 * pool packet enough (mn_flow_push counts on it). */
	i = pool_get(ep);	/* NIL exactly when pool_used == pool_pkts */
	if (i != NIL && off > 0 && mn_flow_blk_get(f) < 0) {
		pool_put(ep, i);
		i = NIL;
	}
	if (i == NIL) {
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
	f->rx_held++;
	ep->st.rx_data++;
	if (off > 0) {
		f->ooo[seq & WIN_MASK] = i;
		f->ooo_count++;
		ep->st.rx_ooo++;
		mn_ack_sched(f, ACK_NOW);
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
	mn_flow_blk_idle(f);
	f->rx_unacked += (uint32_t)(f->rcv_nxt - seq);
	mn_ack_sched(f, how);
	if (f->rq_msgs)
		mn_rx_deliver(f, now);
}

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
	mn_flow_event(f, MN_PROTO_EV_ACCEPTED, 0);
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
			mn_send_synack(f, now);
		else if (f->state == ST_ESTABLISHED) {
			/* A stale copy, or the peer's stack restarted and reuses
			 * the tuple (a peer that hands out ports lowest-free, as Machnet and
			 * proto with port_seed 0 do) while we
			 * still hold its old flow. Answer where we are (RFC 5961's
			 * challenge ACK): a restarted peer, in SYN_SENT, resets
			 * this flow with it and its next SYN opens a new one; a
			 * live peer takes it as a duplicate ACK. */
			mn_flow_ctrl(f, MN_NF_ACK, f->snd_nxt, f->rcv_nxt, 0);
			ep->st.rx_unexpected++;
		} else if (f->state == ST_SYN_SENT && !f->closing) {
			/* Both ends dial each other on the same tuple (RFC 793's
			 * simultaneous open): answer the SYN with a SYN-ACK on
			 * what both offered and stay in SYN_SENT; the peer's
			 * SYN-ACK to our SYN establishes us (on_synack), ours
			 * establishes the peer. A stray SYN costs one SYN-ACK
			 * that a peer without this flow ignores. */
			hs_agree(f, &fr->hdr);
			mn_send_synack(f, now);
		} else {
			/* A flow being torn down (closing SYN_SENT, or its
			 * terminal event being reported): it is gone at once,
			 * and the peer's retransmitted SYN finds the tuple free. */
			ep->st.rx_unexpected++;
		}
		return;
	}
	l = mn_listener_find(ep, in->dst_ip, in->dst_port);
	if (!l) {
		struct mn_l2l3 a;

		memcpy(a.src_mac, in->dst_mac, 6);
		memcpy(a.dst_mac, in->src_mac, 6);
		a.src_ip = in->dst_ip;
		a.dst_ip = in->src_ip;
		a.src_port = in->dst_port;
		a.dst_port = in->src_port;
		mn_send_ctrl(ep, (unsigned)li, &a, MN_NF_RST, 0, fr->hdr.seqno + 1, NULL, 0, 0);
		ep->st.rst_sent++;
		ep->st.rst_unknown_sent++;
		return;
	}
	if (ep->nhalf >= ep->p.max_half_open ||
	    !(f = mn_flow_alloc(ep, li, in->dst_ip, in->dst_port, in->src_ip, in->src_port))) {
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
	mn_send_synack(f, now);
	mn_flow_rearm(f);
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
		mn_flow_ctrl(f, MN_NF_ACK, f->snd_nxt, f->rcv_nxt, 0);
		ep->st.tx_acks++;
		return;
	}
	if (f->state != ST_SYN_SENT) {
		ep->st.rx_synack_ignored++;
		return;
	}
	hs_agree(f, &fr->hdr);
	if (f->retries == 0 && now > f->syn_tx_ns)
		mn_rtt_sample(f, now - f->syn_tx_ns);
	setup_established(f);
	mn_flow_ctrl(f, MN_NF_ACK, 1, 1, 0);
	ep->st.tx_acks++;
	mn_flow_event(f, MN_PROTO_EV_CONNECTED, 0);
	if (f->state == ST_ESTABLISHED) {
		mn_flow_push(f, now);
		mn_flow_rearm(f);
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
		mn_flow_end(f, MN_PROTO_EV_CONNECT_FAILED, -ECONNREFUSED);
		return;
	case ST_SYN_RCVD:
		if (h->seqno != 1 && h->seqno != 0)
			break;
		ep->st.rx_rst++;
		mn_flow_free(f);
		return;
	case ST_ESTABLISHED:
		/* In window (its snd_nxt within our receive window), or the
		 * answer to data of ours that its stack did not know. */
		ok = (mn_seq_ge(h->seqno, f->rcv_nxt) &&
		      mn_seq_lt(h->seqno, f->rcv_nxt + MN_PROTO_RX_AHEAD)) ||
		      (mn_seq_gt(h->ackno, f->snd_una) && mn_seq_le(h->ackno, f->snd_nxt)) ||
		      /* a peer that lost the flow answers our keepalive or
		       * window probe (snd_una - 1) */
		     ((f->ka_n || f->peer_zwin) && h->ackno == f->snd_una);
		if (!ok)
			break;
		ep->st.rx_rst++;
		mn_flow_end(f, MN_PROTO_EV_RESET, -ECONNRESET);
		return;
	default:
		break;
	}
	ep->st.rx_rst_ignored++;
}

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
	li = mn_local_index(ep, fr.addr.dst_ip);
	if (li < 0) {
		ep->st.rx_not_local++;
		ep->ops.release(ep->ops.ctx, buf);
		return;
	}
	f = mn_flow_lookup(ep, fr.addr.dst_ip, fr.addr.dst_port, fr.addr.src_ip, fr.addr.src_port);
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
			mn_send_ctrl(ep, (unsigned)li, &a, MN_NF_RST, 0, fr.hdr.seqno + 1, NULL, 0, 0);
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
			mn_on_piggy_ack(f, &fr.hdr, now);
			if (f->state != ST_ESTABLISHED) {
				ep->ops.release(ep->ops.ctx, buf);
				return;
			}
		}
		on_data(f, buf, frame, &fr, now);
		if (f->state == ST_ESTABLISHED)
			mn_flow_rearm(f);
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
				mn_flow_push(f, now);
				mn_flow_rearm(f);
			}
		} else if (f && f->state == ST_ESTABLISHED) {
			mn_on_ack(f, &fr.hdr, now);
			if (f->state == ST_ESTABLISHED)
				mn_flow_rearm(f);
		} else if (f && f->state == ST_SYN_SENT) {
			/* A plain ACK before any SYN-ACK: the peer still holds an
			 * older flow on this tuple (our stack restarted). Reset
			 * it at the sequence it acknowledges (RFC 793, SYN-SENT)
			 * and keep dialling. */
			mn_flow_ctrl(f, MN_NF_RST, fr.hdr.ackno, 0, 0);
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
