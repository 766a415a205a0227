/* A flow's timers: one wheel entry per flow, aimed at the earliest of its
 * deadlines (handshake retry, connect and close timeouts, RTO, recovery
 * probe, pacing, keepalive, delivery retry), and mn_proto_poll, which runs
 * them. */
#include "mn_proto_int.h"

#include <errno.h>
#include <stddef.h>

void mn_flow_rearm(struct mn_flow *f)
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
		if ((f->rx_blocked || f->rwin_closed) && f->rx_retry_at < d)
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

/* The keepalive timer of an established flow. Lazy: the receive path only
 * stamps heard_ns, and this re-aims the timer when it finds the peer was
 * heard meanwhile. A flow with data queued or unACKed is left to its RTO.
 * Unanswered probes back off like a retransmitted packet and fail the flow
 * after the same budget: max_retries re-probes and give_up_ns since the
 * first probe, then one more RTO. */
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
	} else if (f->ka_n > ep->p.max_retries && now - f->ka_since >= ep->p.give_up_ns) {
		ep->st.keepalive_failures++;
		ep->st.flows_failed++;
		mn_send_rst(f);
		mn_flow_end(f, MN_PROTO_EV_FAILED, -ETIMEDOUT);
		return;
	}
	mn_send_keepalive(f, now);
	f->ka_at = now + rto_shift(f, f->ka_n);
	f->ka_n++;
}

static void on_timer(struct mn_flow *f, uint64_t now)
{
	struct mn_proto *ep = f->ep;

	switch (f->state) {
	case ST_SYN_SENT:
		if (f->closing) {
			mn_flow_end(f, MN_PROTO_EV_CLOSED, 0);
			return;
		}
		if (now >= f->conn_deadline) {
			mn_flow_end(f, MN_PROTO_EV_CONNECT_FAILED, -ETIMEDOUT);
			return;
		}
		if (now >= f->hs_at) {
			if (++f->retries > ep->p.max_retries) {
				mn_flow_end(f, MN_PROTO_EV_CONNECT_FAILED, -ETIMEDOUT);
				return;
			}
			ep->st.rtos++;
			f->backoff++;
			mn_send_syn(f, now);
			f->hs_at = now + rto_cur(f);
		}
		break;
	case ST_SYN_RCVD:
		if (now >= f->conn_deadline) {
			mn_flow_free(f);
			return;
		}
		if (now >= f->hs_at) {
			if (++f->retries > ep->p.max_retries) {
				mn_flow_free(f);
				return;
			}
			ep->st.rtos++;
			f->backoff++;
			mn_send_synack(f, now);
			f->hs_at = now + rto_cur(f);
		}
		break;
	case ST_ESTABLISHED:
		if (f->rq_msgs && (f->closing || (f->rx_blocked && now >= f->rx_retry_at))) {
			mn_rx_deliver(f, now);
			if (f->state != ST_ESTABLISHED)
				return;
		}
		if (f->closing) {
			if (!f->sq_len && f->snd_una == f->snd_nxt) {
				mn_send_rst(f);
				mn_flow_end(f, MN_PROTO_EV_CLOSED, 0);
				return;
			}
			if (now >= f->close_deadline) {
				mn_send_rst(f);
				mn_flow_end(f, MN_PROTO_EV_CLOSED, -ETIMEDOUT);
				return;
			}
		}
		if (f->rto_at && now >= f->rto_at) {
			if (f->peer_zwin)
				mn_zwin_probe(f, now);
			else
				mn_on_rto(f, now);
			if (f->state != ST_ESTABLISHED)
				return;
		}
		mn_rwin_recheck(f, now);
		if (f->probe_at && now >= f->probe_at && !f->peer_zwin) {
			uint32_t s;

			f->probe_at = 0;
			if (f->in_recovery && f->snd_una != f->snd_nxt) {
				for (s = f->snd_una; s != f->snd_nxt; s++)
					if (!ep->pool[f->win[s & WIN_MASK]].sacked)
						break;
				if (s != f->snd_nxt) {
					f->probe_n++;
					mn_retransmit(f, s, now);
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
			mn_flow_push(f, now);
		}
		break;
	default:
		return;
	}
	mn_flow_rearm(f);
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
