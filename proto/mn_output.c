/* What a flow sends: frame building, control frames (handshake, ACK,
 * RST), data packets and their retransmission, the window-limited push of
 * queued packets, the keepalive probe, and the coalesced ACKs of a receive
 * burst (mn_proto_flush). */
#include "mn_proto_int.h"

#include <string.h>

/* Builds and transmits one frame of h with plen zero bytes of payload (the
 * control frames and the keepalive probe; data goes out by mn_xmit_data). -1 when
 * no buffer was to be had. */
int mn_send_frame(struct mn_proto *ep, unsigned li, const struct mn_l2l3 *a,
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

void mn_send_ctrl(struct mn_proto *ep, unsigned li, const struct mn_l2l3 *a, uint8_t net_flags,
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
	mn_send_frame(ep, li, a, &h, 0);
}

void mn_flow_ctrl(struct mn_flow *f, uint8_t net_flags, uint32_t seq, uint32_t ack, uint64_t ts)
{
	struct mn_l2l3 a;

	flow_addr(f, &a);
	mn_send_ctrl(f->ep, f->local_idx, &a, net_flags, seq, ack, NULL, 0, ts);
}

void mn_send_rst(struct mn_flow *f)
{
	mn_flow_ctrl(f, MN_NF_RST, f->snd_nxt, f->rcv_nxt, 0);
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

void mn_send_ack(struct mn_flow *f)
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
	/* Our peer (only: a plain one gets no new meaning in old fields)
	 * learns that we drop its data because the application does not read,
	 * not because of loss (mn_proto.h, Flow control). */
	if (f->ext && (f->rwin_closed || f->rx_blocked))
		mn_sack_set(sack, ZWIN_BIT);
	flow_addr(f, &a);
	mn_send_ctrl(f->ep, f->local_idx, &a, MN_NF_ACK, f->snd_nxt, f->rcv_nxt, sack,
	             (uint16_t)f->ooo_count, ack_echo(f));
	f->ack_pending = 0;
	f->ack_carried = 0;
	f->rx_unacked = 0;
}

void mn_ack_sched(struct mn_flow *f, int how)
{
	struct mn_proto *ep = f->ep;
	uint64_t due = ep->now;

	if (!f->ext || how == ACK_NOW) {
		mn_send_ack(f);
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

void mn_xmit_data(struct mn_flow *f, uint32_t seq, struct pkt *k, uint64_t now)
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
		 * lost, the ACK it carried goes alone after all (mn_on_ack). */
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

void mn_retransmit(struct mn_flow *f, uint32_t seq, uint64_t now)
{
	uint32_t i = f->win[seq & WIN_MASK];

	if (i == NIL)
		return;
	/* Resending anything but the RTO's packet ends the spurious-RTO test
	 * (mn_recovery.c): an ACK could then answer a copy. */
	if (f->frto && seq != f->frto_seq)
		f->frto = 0;
	f->ep->st.retransmits++;
	mn_xmit_data(f, seq, &f->ep->pool[i], now);
	mn_probe_arm(f, now);
}

void mn_flow_push(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t limit;

	/* The peer's window is closed: probes only (mn_zwin_probe). */
	if (f->state != ST_ESTABLISHED || f->peer_zwin)
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
		/* Cannot fail: every holder of a block holds a pool packet in
		 * win[] or ooo[], this flow holds one in its queue and none there
		 * (or it has its block), so holders < min(pool, flows) blocks. */
		if (mn_flow_blk_get(f) < 0)
			break;
		i = f->sq_head;
		f->sq_head = ep->pool[i].next;
		if (f->sq_head == NIL)
			f->sq_tail = NIL;
		f->sq_len--;
		seq = f->snd_nxt++;
		f->win[seq & WIN_MASK] = i;
		ep->pool[i].sacked = 0;
		ep->pool[i].ntx = 0;
		mn_xmit_data(f, seq, &ep->pool[i], now);
		if (gap)
			f->next_send_at = now + gap;
		if (!f->rto_at)
			f->rto_at = now + rto_cur(f);
	}
	if (!f->sq_len)
		f->push_at = 0;
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
	mn_send_ctrl(f->ep, f->local_idx, &a, net_flags, 0, ack, feat, 0, ext ? nonzero_ts(now) : 0);
}

void mn_send_syn(struct mn_flow *f, uint64_t now)
{
	f->syn_tx_ns = now;
	send_hs(f, MN_NF_SYN, 0, f->ep->p.extensions, now);
}

void mn_send_synack(struct mn_flow *f, uint64_t now)
{
	send_hs(f, MN_NF_SYNACK, 1, f->ext, now);
}

/* A probe: one byte at snd_una - 1, which the peer has ACKed, so its
 * receiver drops it as a duplicate and ACKs at once; a peer that lost the
 * flow answers RST. One byte, not none: our codec (and so any peer of ours)
 * rejects an empty data packet before the flow sees it, as BSD TCP's
 * keepalive carries one garbage byte for peers that ignore empty segments.
 * FIRST|LAST keeps the framing valid; the byte is never delivered. */
void mn_send_keepalive(struct mn_flow *f, uint64_t now)
{
	struct mn_l2l3 a;
	struct mn_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = MN_NF_DATA;
	h.msg_flags = MN_MF_FIRST | MN_MF_LAST;
	/* snd_una - 1, not snd_nxt - 1: as a window probe it goes out with
	 * data in flight, and what lies beyond snd_una may not have arrived,
	 * so the peer would take our byte as data. Keepalive (nothing in
	 * flight) sends the same number as before. */
	h.seqno = f->snd_una - 1;
	h.ackno = MN_ACKNO_NONE;
	h.timestamp = nonzero_ts(now);
	flow_addr(f, &a);
	if (mn_send_frame(f->ep, f->local_idx, &a, &h, 1) == 0)
		f->ep->st.keepalives_sent++;
}

void mn_proto_flush(struct mn_proto *ep, uint64_t now)
{
	struct mn_flow **pp = &ep->ack_list;
	uint64_t wake = UINT64_MAX;

	ep->now = now;
	/* ack_wake is at most the ack_due of every listed flow (mn_ack_sched
	 * lowers it; a piggybacked ACK only moves a due time later), so before
	 * it nothing listed is due and the walk, which touches every flow with
	 * an ACK pending (hundreds under many flows: mn-cost), is skipped.
	 * Flows whose ACK went meanwhile stay listed until the next walk. */
	if (now < ep->ack_wake)
		return;
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
			mn_send_ack(f);
	}
	ep->ack_wake = wake;
}
