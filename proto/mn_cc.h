/* mn_cc: per-flow congestion control.
 *
 * Two modes:
 *  - MN_CCK_FIXED: the window is `window` packets (Machnet's 32 by default);
 *    a loss halves it (at most once per RTT) and each ACKed packet grows it
 *    back by 1/cwnd, up to `window` again.
 *  - MN_CCK_SWIFT: delay-based, after Swift (Kumar et al., SIGCOMM 2020). The
 *    target is the smallest RTT seen plus `target_qdelay`; below the target the
 *    window grows additively (1 packet per RTT), above it shrinks in proportion
 *    to the excess (at most by half, at most once per RTT), never below one
 *    packet (the delay it sees includes host scheduling, see mn_cc.c).
 * No allocation, no clock: times are passed in.
 */
#ifndef MN_CC_H
#define MN_CC_H

#include <stdint.h>

enum mn_cc_kind {
	MN_CCK_FIXED = 0,
	MN_CCK_SWIFT = 1,
};

struct mn_cc {
	enum mn_cc_kind mode;
	double cwnd;			/* packets */
	double max_cwnd;
	double min_cwnd;
	uint64_t target_qdelay;		/* ns above the base RTT */
	uint64_t base_rtt;		/* smallest sample, ns; 0 = none yet */
	uint64_t last_decrease;		/* ns */
	uint32_t decreases;		/* statistics */
};

/* window: the fixed window (FIXED) or the start window (SWIFT); max_cwnd:
 * the hard cap (in-flight limit) in packets. */
void mn_cc_init(struct mn_cc *cc, enum mn_cc_kind mode, uint32_t window, uint32_t max_cwnd,
                uint64_t target_qdelay);
/* nacked packets were newly acknowledged; rtt is the sample this ACK gave
 * (0: none), srtt the smoothed RTT. */
void mn_cc_on_ack(struct mn_cc *cc, uint32_t nacked, uint64_t rtt, uint64_t srtt, uint64_t now);
/* A loss was detected by duplicate ACKs or SACK. */
void mn_cc_on_loss(struct mn_cc *cc, uint64_t srtt, uint64_t now);
/* A retransmission timeout fired. */
void mn_cc_on_rto(struct mn_cc *cc, uint64_t now);
/* Packets that may be in flight (>= 1). */
uint32_t mn_cc_window(const struct mn_cc *cc);
/* Gap between two sends when the window is below one packet (never, with
 * the floors above), else 0. */
uint64_t mn_cc_pacing_gap(const struct mn_cc *cc, uint64_t srtt);

#endif
