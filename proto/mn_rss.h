/* mn_rss: which RX queue a NIC's RSS puts a received IPv4/UDP frame on.
 *
 * A NIC with RSS hashes a received frame's 4-tuple with the Toeplitz
 * function under its key and looks the hash up in its redirection table
 * (RETA): queue = reta[hash % reta_size]. The connecting side knows every
 * field of its peer's replies but its own source port, so it can choose
 * that port to put the replies on the queue of the engine that owns the
 * flow (mn_port_pick); then nothing has to be steered between engines.
 *
 * Plain C, no EAL: primary fills a struct mn_rss from the port
 * (rte_eth_dev_rss_hash_conf_get, rte_eth_dev_rss_reta_query), proto uses
 * it. Addresses and ports are host order, as everywhere in proto; the
 * hash's input is the frame's bytes in network order (src ip, dst ip,
 * src port, dst port), which is what the NIC sees for
 * RTE_ETH_RSS_NONFRAG_IPV4_UDP. */
#ifndef MN_RSS_H
#define MN_RSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MN_RSS_KEY_MIN	16	/* 12 input bytes need 12 + 4 key bytes */
#define MN_RSS_KEY_MAX	64	/* 40 (most NICs), 52 (i40e, ice) */
#define MN_RSS_RETA_MAX	2048	/* ice reports 2048; most 128 or 512 */

struct mn_rss {
	uint32_t key_len;		/* bytes, MN_RSS_KEY_MIN..MN_RSS_KEY_MAX */
	uint32_t reta_size;		/* entries, 1..MN_RSS_RETA_MAX */
	uint8_t key[MN_RSS_KEY_MAX];
	uint16_t reta[MN_RSS_RETA_MAX];	/* RX queue of each entry */
};

/* True when r can be used: sizes in range. */
bool mn_rss_valid(const struct mn_rss *r);

/* The Toeplitz hash of in[0..len) under key (key_len >= len + 4). */
uint32_t mn_rss_toeplitz(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len);

/* The hash of a received IPv4/UDP frame from src_ip:sport to dst_ip:dport. */
uint32_t mn_rss_hash_v4_udp(const struct mn_rss *r, uint32_t src_ip, uint32_t dst_ip,
			    uint16_t sport, uint16_t dport);

/* The RX queue of a hash: reta[hash % reta_size]. */
static inline uint16_t mn_rss_queue(const struct mn_rss *r, uint32_t hash)
{
	return r->reta[hash % r->reta_size];
}

/* The queue the peer's replies land on: the frame from rip:rport to
 * lip:lport. */
uint16_t mn_rss_reply_queue(const struct mn_rss *r, uint32_t lip, uint16_t lport, uint32_t rip,
			    uint16_t rport);

/* True when source port lport puts the replies of rip:rport to lip on
 * RX queue `queue`. */
bool mn_rss_lands(const struct mn_rss *r, uint32_t lip, uint16_t lport, uint32_t rip,
		  uint16_t rport, uint16_t queue);

/* The hash is linear in its input (XOR), so a connect that tries many
 * source ports hashes the fixed part once: mn_rss_reply_base() is the hash
 * with lport 0, and mn_rss_queue(r, base ^ mn_rss_lport_part(r, lport)) is
 * the reply queue of lport. */
uint32_t mn_rss_reply_base(const struct mn_rss *r, uint32_t lip, uint32_t rip, uint16_t rport);
uint32_t mn_rss_lport_part(const struct mn_rss *r, uint16_t lport);

#endif
