/* mn_pkt: what an engine does with one received frame, as plain C.
 *
 * Classifies a frame, answers ARP requests and ICMP echo requests for the
 * interface's IP by rewriting the frame in place (no allocation: the engine
 * sends the same buffer back), learns neighbours into the engine's ARP table,
 * and counts every drop by reason in the engine's stats block. Transport
 * frames (UDP with the transport magic) are only recognised here; the engine
 * hands them on. No EAL, so the unit tests feed it real frames.
 */
#ifndef MN_PKT_H
#define MN_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_abi.h"
#include "mn_arp.h"

/* The interface a frame arrived on. IPs host order. */
struct mn_pkt_iface {
	uint8_t mac[6];
	uint32_t ip;
	uint8_t prefix_len;
	uint32_t gateway;	/* 0 = none */
	bool rx_csum;		/* verify IPv4 and ICMP checksums */
};

enum mn_pkt_action {
	MN_PKT_DROP = 0,	/* counted in stats->drops[]: free it */
	MN_PKT_TX,		/* rewritten in place into a response of *len bytes: send it back */
	MN_PKT_CONSUMED,	/* handled (an ARP reply learned): free it */
	MN_PKT_TRANSPORT,	/* UDP to our IP with the transport magic: for the transport */
};

/* What an ARP frame taught the table: ip 0 when nothing. */
struct mn_pkt_learned {
	uint32_t ip;		/* neighbour learned from ARP addressed to us */
	uint8_t mac[6];
	bool completed;		/* it completed a pending resolution */
};

/* Handles frame[0..*len). On MN_PKT_TX the frame was rewritten and *len is the
 * response's length (never more than the input's). *lr says which neighbour
 * (if any) was learned, so the engine can wake waiters and tell other engines.
 * Counts into st: drops, arp_req_answered, arp_learned, arp_resolved,
 * icmp_echo_answered; not rx/tx packets and bytes (the engine counts those
 * per burst). */
enum mn_pkt_action mn_pkt_rx(uint8_t *frame, size_t *len, const struct mn_pkt_iface *ifc,
                             struct mn_arp_table *arp, uint64_t now_us,
                             struct mn_engine_stats *st, struct mn_pkt_learned *lr);

/* Builds a broadcast ARP request from ifc for target_ip into buf (at least
 * MN_ARP_FRAME_LEN bytes). Returns the frame length. */
size_t mn_pkt_arp_request(uint8_t *buf, const struct mn_pkt_iface *ifc, uint32_t target_ip);

/* Short stable name of a drop reason ("not_for_us"), for telemetry and tools;
 * "?" for an unknown one. */
const char *mn_drop_reason_str(unsigned r);

#endif
