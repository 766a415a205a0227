/* mn_frame: the received-frame classifier and ICMP echo responder. See
 * mn_frame.h. */
#include "mn_frame.h"

#include <errno.h>
#include <string.h>

#include "mn_csum.h"
#include "mn_wire.h"

#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8
#define IPPROTO_ICMP_     1
#define IPPROTO_UDP_      17

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static enum mn_frame_action drop(struct mn_engine_stats *st, enum mn_drop_reason r)
{
	st->drops[r]++;
	return MN_FRAME_DROP;
}

static enum mn_frame_action echo_reply(uint8_t *frame, size_t *len, const struct mn_iface *ifc,
                                     uint8_t *ip, size_t ihl, size_t tot_len,
                                     struct mn_engine_stats *st)
{
	uint8_t *icmp = ip + ihl;
	size_t icmp_len = tot_len - ihl;
	uint8_t tmp[4];

	if (icmp_len < 8)
		return drop(st, MN_DROP_ICMP_MALFORMED);
	if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0)
		return drop(st, MN_DROP_ICMP_NOT_ECHO);
	if (ifc->rx_csum && mn_csum_fold(mn_csum_partial(icmp, icmp_len, 0, 0)) != 0)
		return drop(st, MN_DROP_ICMP_MALFORMED);

	memcpy(frame, frame + 6, 6);
	memcpy(frame + 6, ifc->mac, 6);
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ip[8] = MN_IP_TTL;
	ip[10] = ip[11] = 0;
	wr16(ip + 10, mn_csum_ipv4_hdr(ip));
	icmp[0] = ICMP_ECHO_REPLY;
	icmp[2] = icmp[3] = 0;
	wr16(icmp + 2, mn_csum_fold(mn_csum_partial(icmp, icmp_len, 0, 0)));
	/* Drop link padding: the reply is exactly the IP datagram. */
	*len = MN_ETH_HLEN + tot_len;
	st->icmp_echo_answered++;
	return MN_FRAME_TX;
}

static enum mn_frame_action rx_ipv4(uint8_t *frame, size_t *len, const struct mn_iface *ifc,
                                  struct mn_engine_stats *st)
{
	uint8_t *ip = frame + MN_ETH_HLEN;
	size_t ihl, tot_len;

	if (*len < MN_ETH_HLEN + MN_IP_HLEN || (ip[0] >> 4) != 4)
		return drop(st, MN_DROP_IP_MALFORMED);
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot_len = rd16(ip + 2);
	if (ihl < MN_IP_HLEN || tot_len < ihl || MN_ETH_HLEN + tot_len > *len)
		return drop(st, MN_DROP_IP_MALFORMED);
	if (memcmp(frame, ifc->mac, 6) != 0 || rd32(ip + 16) != ifc->ip)
		return drop(st, MN_DROP_NOT_FOR_US);
	if (ifc->rx_csum && !mn_csum_ipv4_hdr_ok(ip))
		return drop(st, MN_DROP_IP_BAD_CSUM);
	if ((rd16(ip + 6) & 0x3fff) != 0)	/* MF or a fragment offset */
		return drop(st, MN_DROP_IP_FRAGMENT);

	switch (ip[9]) {
	case IPPROTO_ICMP_:
		return echo_reply(frame, len, ifc, ip, ihl, tot_len, st);
	case IPPROTO_UDP_: {
		const uint8_t *udp = ip + ihl;

		if (ihl != MN_IP_HLEN || tot_len < MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN ||
		    rd16(udp + MN_UDP_HLEN) != MN_MAGIC)
			return drop(st, MN_DROP_UDP_NOT_TRANSPORT);
		return MN_FRAME_TRANSPORT;
	}
	default:
		return drop(st, MN_DROP_NOT_UDP);
	}
}

enum mn_frame_action mn_frame_rx(uint8_t *frame, size_t *len, const struct mn_iface *ifc,
                             struct mn_neigh_table *arp, uint64_t now_us,
                             struct mn_engine_stats *st, struct mn_neigh_learned *lr)
{
	lr->ip = 0;
	lr->completed = false;
	if (*len < MN_ETH_HLEN)
		return drop(st, MN_DROP_IP_MALFORMED);
	switch (rd16(frame + 12)) {
	case MN_ETHERTYPE_ARP:
		switch (mn_neigh_rx_arp(frame, len, ifc, arp, now_us, st, lr)) {
		case MN_NEIGH_ARP_REPLY:
			return MN_FRAME_TX;
		case MN_NEIGH_ARP_CONSUMED:
			return MN_FRAME_CONSUMED;
		default:
			return MN_FRAME_DROP;
		}
	case MN_ETHERTYPE_IPV4:
		return rx_ipv4(frame, len, ifc, st);
	default:
		return drop(st, MN_DROP_BAD_ETHERTYPE);
	}
}

const char *mn_drop_reason_str(unsigned r)
{
	static const char *const names[MN_DROP__COUNT] = {
#define NAME_(e, n) [MN_DROP_##e] = #n,
		MN_DROP_REASONS(NAME_)
#undef NAME_
	};

	return r < MN_DROP__COUNT && names[r] ? names[r] : "?";
}
