#include "mn_cc.h"

/* Swift's parameters: additive increase of 1 packet per RTT, multiplicative
 * decrease beta * (delay - target) / delay, capped at half. */
#define SWIFT_AI	1.0
#define SWIFT_BETA	0.8
#define SWIFT_MAX_MDF	0.5
/* Swift proper goes down to a fraction of a packet (paced at srtt/cwnd),
 * trusting that its delay signal is fabric queueing measured by NIC
 * timestamps. Ours is the whole RTT, including the time either host's
 * engine was not running: on a shared CPU that is milliseconds, every sample
 * exceeds the target, the window sank to 0.01 and a flow with data queued
 * and nothing in flight waited 100 srtt (seconds) per packet. A host delay
 * is no reason to send less than one packet per RTT, so the floor is one. */
#define SWIFT_MIN_CWND	1.0

void mn_cc_init(struct mn_cc *cc, enum mn_cc_kind mode, uint32_t window, uint32_t max_cwnd,
                uint64_t target_qdelay)
{
	cc->mode = mode;
	cc->max_cwnd = max_cwnd ? max_cwnd : 1;
	cc->cwnd = window ? window : 1;
	if (cc->cwnd > cc->max_cwnd)
		cc->cwnd = cc->max_cwnd;
	cc->min_cwnd = mode == MN_CCK_SWIFT ? SWIFT_MIN_CWND : 1.0;
	cc->target_qdelay = target_qdelay;
	cc->base_rtt = 0;
	cc->last_decrease = 0;
	cc->decreases = 0;
}

static int can_decrease(const struct mn_cc *cc, uint64_t srtt, uint64_t now)
{
	return cc->decreases == 0 || now - cc->last_decrease >= srtt;
}

static void decrease(struct mn_cc *cc, double factor, uint64_t now)
{
	cc->cwnd *= factor;
	if (cc->cwnd < cc->min_cwnd)
		cc->cwnd = cc->min_cwnd;
	cc->last_decrease = now;
	cc->decreases++;
}

static void increase(struct mn_cc *cc, uint32_t nacked)
{
	if (cc->cwnd >= 1.0)
		cc->cwnd += SWIFT_AI * nacked / cc->cwnd;
	else
		cc->cwnd += SWIFT_AI * nacked;
	if (cc->cwnd > cc->max_cwnd)
		cc->cwnd = cc->max_cwnd;
}

void mn_cc_on_ack(struct mn_cc *cc, uint32_t nacked, uint64_t rtt, uint64_t srtt, uint64_t now)
{
	if (cc->mode == MN_CCK_FIXED) {
		if (nacked)
			increase(cc, nacked);
		return;
	}
	if (rtt && (!cc->base_rtt || rtt < cc->base_rtt))
		cc->base_rtt = rtt;
	if (!rtt || !cc->base_rtt) {
		if (nacked)
			increase(cc, nacked);
		return;
	}
	uint64_t target = cc->base_rtt + cc->target_qdelay;

	if (rtt < target) {
		if (nacked)
			increase(cc, nacked);
	} else if (can_decrease(cc, srtt ? srtt : rtt, now)) {
		double f = 1.0 - SWIFT_BETA * (double)(rtt - target) / (double)rtt;

		if (f < 1.0 - SWIFT_MAX_MDF)
			f = 1.0 - SWIFT_MAX_MDF;
		decrease(cc, f, now);
	}
}

void mn_cc_on_loss(struct mn_cc *cc, uint64_t srtt, uint64_t now)
{
	if (can_decrease(cc, srtt, now))
		decrease(cc, 1.0 - SWIFT_MAX_MDF, now);
}

void mn_cc_on_rto(struct mn_cc *cc, uint64_t now)
{
	/* A timeout says the path lost everything in flight: restart small,
	 * but one packet is always allowed so that the retransmission goes. */
	if (cc->mode == MN_CCK_SWIFT)
		decrease(cc, cc->cwnd > 1.0 ? 1.0 / cc->cwnd : 1.0, now);
	else
		decrease(cc, 0.5, now);
	if (cc->cwnd < 1.0 && cc->mode == MN_CCK_FIXED)
		cc->cwnd = 1.0;
}

uint32_t mn_cc_window(const struct mn_cc *cc)
{
	return cc->cwnd < 1.0 ? 1u : (uint32_t)cc->cwnd;
}

uint64_t mn_cc_pacing_gap(const struct mn_cc *cc, uint64_t srtt)
{
	if (cc->cwnd >= 1.0 || !srtt)
		return 0;
	return (uint64_t)((double)srtt / cc->cwnd);
}
