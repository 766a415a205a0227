/* What a flow learns from ACKs: RTT and RTO estimation, loss detection and
 * recovery (SACK/RACK toward an extension peer, duplicate ACKs and NewReno
 * toward a plain Machnet peer), and the retransmission timeout. */
#include "mn_proto_int.h"

#include <errno.h>
#include <string.h>

void mn_rtt_sample(struct mn_flow *f, uint64_t r)
{
	const struct mn_proto *ep = f->ep;
	uint64_t rto, floor;

	if (!f->srtt) {
		f->srtt = r;
		f->rttvar = r / 2;
	} else {
		uint64_t d = f->srtt > r ? f->srtt - r : r - f->srtt;

		f->rttvar = (3 * f->rttvar + d) / 4;
		f->srtt = (7 * f->srtt + r) / 8;
	}
	rto = f->srtt + 4 * f->rttvar;
	/* A plain Machnet peer's engine may not run for milliseconds: its own
	 * floor keeps those pauses from firing the RTO (mn_proto.h). */
	floor = !f->ext && ep->p.plain_min_rto_ns ? ep->p.plain_min_rto_ns : ep->p.min_rto_ns;
	if (rto < floor)
		rto = floor;
	if (rto > ep->p.max_rto_ns)
		rto = ep->p.max_rto_ns;
	f->rto = rto;
}

/* In recovery, a retransmission not answered within about two RTTs is
 * taken as lost and sent again, with backoff, without waiting for the RTO
 * (whose 1 ms floor is 50x a datacenter RTT). Toward a plain peer this is
 * the only way to see a lost retransmission: its SACK bitmap is useless. */
void mn_probe_arm(struct mn_flow *f, uint64_t now)
{
	uint64_t iv = f->srtt ? 2 * f->srtt + 4 * f->rttvar : f->rto, cap = rto_cur(f);
	uint32_t n = f->probe_n;

	if (iv < 10000)
		iv = 10000;
	while (n-- && iv < cap)
		iv <<= 1;
	f->probe_at = now + (iv < cap ? iv : cap);
}

/* A plain peer's ACK proved the last RTO spurious: its data was not lost
 * but late. The window and the recovery state from before the timeout come
 * back; what was resent meanwhile (only the first unACKed packet) stays
 * resent. */
static void frto_undo(struct mn_flow *f)
{
	f->frto = 0;
	f->cc = f->undo_cc;
	f->in_recovery = f->undo_in_recovery;
	f->recover = f->undo_recover;
	if (!f->in_recovery)
		f->probe_at = 0;
	f->ep->st.rtos_spurious++;
}

/* After an RTO toward a plain peer (F-RTO, RFC 5682, without timestamps or
 * new data of our own to send): frto_seq, the one packet resent, may be
 * ACKed alone (frto 1 -> 2: the original or the copy, we cannot tell);
 * an ACK after that covers a packet that was sent once, before the
 * timeout, so the originals are arriving: the timeout was spurious. A
 * first ACK that jumps past frto_seq + 1 filled a hole with our copy, and
 * one that ACKs everything leaves nothing to tell: the loss was real. */
static void frto_on_ack(struct mn_flow *f, uint32_t a)
{
	if (f->frto == 2)
		frto_undo(f);
	else if (a == f->frto_seq + 1 && a != f->snd_nxt)
		f->frto = 2;
	else
		f->frto = 0;
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
		mn_xmit_data(f, s, k, now);
		lost++;
	}
	if (lost)
		mn_probe_arm(f, now);
	return lost;
}

/* The peer's window opened: what we sent into it while it was closed was
 * dropped there (not lost: congestion state stays), so every packet not
 * SACKed goes again now, and new data may follow. */
static void zwin_open(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t s;

	f->peer_zwin = 0;
	f->zw_n = 0;
	f->backoff = 0;
	ep->st.zwin_opened++;
	for (s = f->snd_una; s != f->snd_nxt; s++) {
		struct pkt *k = &ep->pool[f->win[s & WIN_MASK]];

		if (k->sacked)
			continue;
		ep->st.retransmits++;
		mn_xmit_data(f, s, k, now);
	}
	f->rto_at = f->snd_una != f->snd_nxt ? now + rto_cur(f) : 0;
}

/* An ACK that says the peer's window is closed (extension peers only). The
 * first one stops data and arms the probe; later ones leave the probe's
 * backoff alone (a closed window is no reason to probe faster). */
static void zwin_close(struct mn_flow *f, uint64_t now)
{
	if (f->peer_zwin) {
		if (!f->rto_at)
			f->rto_at = now + rto_shift(f, f->zw_n);
		return;
	}
	/* Nothing to send: nothing to probe for (keepalive watches the peer). */
	if (f->snd_una == f->snd_nxt && !f->sq_len)
		return;
	f->peer_zwin = 1;
	f->zw_n = 0;
	f->in_recovery = 0;
	f->probe_at = 0;
	f->push_at = 0;
	f->rto_at = now + rto_shift(f, 0);
}

/* Counts one more timeout of f in a row and fails the flow (RST, FAILED
 * with ETIMEDOUT) when both budgets are spent: max_retries timeouts in a
 * row and give_up_ns since the first of them. The count alone runs out in
 * about half a second (RTO backoff from 1 ms); a paused peer (SIGSTOP, a VM
 * being migrated) must find its flows when it comes back. True when the
 * flow was failed (it is gone). */
static bool retry_gave_up(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	if (f->retries++ == 0)
		f->retry_since = now;
	if (f->retries <= ep->p.max_retries || now - f->retry_since < ep->p.give_up_ns)
		return false;
	ep->st.flows_failed++;
	mn_send_rst(f);
	mn_flow_end(f, MN_PROTO_EV_FAILED, -ETIMEDOUT);
	return true;
}

/* The RTO timer of a flow whose peer's window is closed: a probe instead of
 * a retransmission, backed off up to max_rto_ns. Probes count as retries
 * (any in-window ACK resets them), so a peer that is alive is probed for
 * ever and one that died fails after the usual budget. */
void mn_zwin_probe(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	if (retry_gave_up(f, now))
		return;
	mn_send_keepalive(f, now);
	ep->st.zwin_probes++;
	if (f->zw_n < 64)
		f->zw_n++;
	f->rto_at = now + rto_shift(f, f->zw_n);
}

void mn_on_ack(struct mn_flow *f, const struct mn_hdr *h, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t a = h->ackno, newly, s;
	uint64_t rtt = 0, rack_ns = 0;
	int zw = f->ext && mn_sack_test(h->sack_bitmap, ZWIN_BIT);

	if (mn_seq_lt(a, f->snd_una) || mn_seq_gt(a, f->snd_nxt)) {
		ep->st.rx_stale_acks++;
		return;
	}
	ep->st.rx_acks++;
	/* Any in-window ACK proves the peer is alive: retries count only
	 * timeouts in a row without a word from it, and a peer that answers
	 * (even while it refuses data) is probed at the base RTO. */
	f->retries = 0;
	if (f->backoff && !f->peer_zwin) {
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
		int rexmit_acked = 0;

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
			if (k->ntx > 1)
				rexmit_acked = 1;
			if (k->sacked)
				f->nsacked--;
			f->win[s & WIN_MASK] = NIL;
			tx_pkt_free(ep, i);
		}
		f->snd_una = a;
		mn_flow_blk_idle(f);
		/* The packet that carried our pending ACK arrived. */
		if (f->ack_carried && mn_seq_gt(a, f->ack_carrier)) {
			f->ack_carried = 0;
			f->ack_pending = 0;
		}
		f->dupacks = 0;
		f->probe_n = 0;
		if (rtt)
			mn_rtt_sample(f, rtt);
		mn_cc_on_ack(&f->cc, newly, rtt, f->srtt, now);
		if (f->frto)
			frto_on_ack(f, a);
		if (f->in_recovery) {
			if (mn_seq_ge(a, f->recover)) {
				f->in_recovery = 0;
				f->probe_at = 0;
				f->frto = 0;
			} else if (!f->ext) {
				/* NewReno partial ACK. snd_una is the next hole when
				 * the ACK answers a packet we resent; one of packets
				 * sent once (a plain peer ACKs each on its own) says
				 * the originals are still arriving: resend only if
				 * they stop (the probe, about two RTTs). */
				if (rexmit_acked && !f->frto)
					mn_retransmit(f, f->snd_una, now);
				else
					mn_probe_arm(f, now);
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
		/* ... and one that does report held packets: the loss after an
		 * RTO was real. */
		if (f->frto && h->sack_count)
			f->frto = 0;
		if (rtt) {
			mn_rtt_sample(f, rtt);
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
			mn_retransmit(f, f->snd_una, now);
		}
	}
	if (zw) {
		/* Refused, not lost: no recovery into a closed window. */
		zwin_close(f, now);
		return;
	}
	if (f->peer_zwin) {
		zwin_open(f, now);
		mn_flow_push(f, now);
		return;
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
	mn_flow_push(f, now);
}

/* The ACK a piggyback peer's data packet carries: taken like an ACK packet
 * when it advances snd_una, ignored otherwise (a data packet repeats the
 * last ackno; that is not a duplicate ACK, and it holds no SACK). */
void mn_on_piggy_ack(struct mn_flow *f, const struct mn_hdr *data, uint64_t now)
{
	struct mn_hdr h;

	if (!mn_seq_gt(data->ackno, f->snd_una) || mn_seq_gt(data->ackno, f->snd_nxt))
		return;
	f->ep->st.rx_piggy_acks++;
	memset(&h, 0, sizeof(h));
	h.net_flags = MN_NF_ACK;
	h.ackno = data->ackno;
	h.timestamp = get_be64(data->sack_bitmap + MN_ECHO_OFF);
	mn_on_ack(f, &h, now);
}

void mn_on_rto(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;
	uint32_t s;

	/* Until it gives up the packet is resent every max_rto_ns. */
	if (retry_gave_up(f, now))
		return;
	ep->st.rtos++;
	f->backoff++;
	/* Toward a plain peer, remember what to undo should the timeout turn
	 * out spurious (frto_on_ack); a series of RTOs undoes to before the
	 * first. */
	if (!f->ext && !f->frto) {
		f->undo_cc = f->cc;
		f->undo_in_recovery = f->in_recovery;
		f->undo_recover = f->recover;
	}
	mn_cc_on_rto(&f->cc, now);
	f->in_recovery = 1;
	f->recover = f->snd_nxt;
	for (s = f->snd_una; s != f->snd_nxt; s++)
		if (!ep->pool[f->win[s & WIN_MASK]].sacked)
			break;
	if (s == f->snd_nxt)
		s = f->snd_una;
	if (!f->ext) {
		f->frto = 1;
		f->frto_seq = s;
	}
	mn_retransmit(f, s, now);
	f->rto_at = now + rto_cur(f);
}
