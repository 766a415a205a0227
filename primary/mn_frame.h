/* mn_frame: what an engine does with one received frame, as plain C.
 *
 * Classifies a frame, answers ICMP echo requests for the interface's IP by
 * rewriting the frame in place (no allocation: the engine sends the same
 * buffer back), hands ARP frames to the neighbour module (mn_neigh_rx_arp,
 * which answers and learns the same way), and counts every drop by reason
 * in the engine's stats block. Transport frames (UDP with the transport
 * magic) are only recognised here; the engine hands them on. No EAL, so the
 * unit tests feed it real frames.
 */
#ifndef MN_FRAME_H
#define MN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_abi.h"
#include "mn_neigh.h"

enum mn_frame_action {
	MN_FRAME_DROP = 0,	/* counted in stats->drops[]: free it */
	MN_FRAME_TX,		/* rewritten in place into a response of *len bytes: send it back */
	MN_FRAME_CONSUMED,	/* handled (an ARP reply learned): free it */
	MN_FRAME_TRANSPORT,	/* UDP to our IP with the transport magic: for the transport */
};

/* Handles frame[0..*len). On MN_FRAME_TX the frame was rewritten and *len is the
 * response's length (never more than the input's). *lr says which neighbour
 * (if any) was learned, so the engine can wake waiters and tell other engines.
 * Counts into st: drops, arp_req_answered, arp_learned, arp_resolved,
 * icmp_echo_answered; not rx/tx packets and bytes (the engine counts those
 * per burst). */
enum mn_frame_action mn_frame_rx(uint8_t *frame, size_t *len, const struct mn_iface *ifc,
                             struct mn_neigh_table *arp, uint64_t now_us,
                             struct mn_engine_stats *st, struct mn_neigh_learned *lr);

/* Short stable name of a drop reason ("not_for_us"), for telemetry and tools;
 * "?" for an unknown one. */
const char *mn_drop_reason_str(unsigned r);

#endif
