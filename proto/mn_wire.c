#include "mn_wire.h"

#include <errno.h>
#include <string.h>

#include "mn_csum.h"

/* Offsets inside a frame. */
#define OFF_ETHTYPE	12
#define OFF_IP		MN_ETH_HLEN
#define OFF_UDP		(OFF_IP + MN_IP_HLEN)
#define OFF_HDR		(OFF_UDP + MN_UDP_HLEN)
#define MIN_IP_TOT	(MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN)	/* 82 */

/* Header offsets (relative to the 54-byte header). */
#define H_MAGIC		0
#define H_NET_FLAGS	2
#define H_MSG_FLAGS	3
#define H_SEQNO		4
#define H_ACKNO		8
#define H_SACK		12
#define H_SACK_COUNT	44
#define H_TS		46

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static const char *const reason_names[MN_RX__COUNT] = {
	[MN_RX_OK] = "ok",
	[MN_RX_TOO_SHORT] = "too_short",
	[MN_RX_NOT_IPV4] = "not_ipv4",
	[MN_RX_BAD_IP_VERSION] = "bad_ip_version",
	[MN_RX_BAD_IHL] = "bad_ihl",
	[MN_RX_BAD_IP_LEN] = "bad_ip_len",
	[MN_RX_FRAGMENT] = "fragment",
	[MN_RX_BAD_IP_CSUM] = "bad_ip_csum",
	[MN_RX_NOT_UDP] = "not_udp",
	[MN_RX_BAD_UDP_LEN] = "bad_udp_len",
	[MN_RX_BAD_UDP_CSUM] = "bad_udp_csum",
	[MN_RX_BAD_MAGIC] = "bad_magic",
	[MN_RX_BAD_NET_FLAGS] = "bad_net_flags",
	[MN_RX_BAD_MSG_FLAGS] = "bad_msg_flags",
	[MN_RX_CTRL_WITH_PAYLOAD] = "ctrl_with_payload",
	[MN_RX_EMPTY_DATA] = "empty_data",
};

const char *mn_rx_reason_str(enum mn_rx_reason r)
{
	if ((unsigned)r >= MN_RX__COUNT)
		return "unknown";
	return reason_names[r];
}

void mn_hdr_decode(const uint8_t *p, struct mn_hdr *h)
{
	h->magic = get16(p + H_MAGIC);
	h->net_flags = p[H_NET_FLAGS];
	h->msg_flags = p[H_MSG_FLAGS];
	h->seqno = get32(p + H_SEQNO);
	h->ackno = get32(p + H_ACKNO);
	memcpy(h->sack_bitmap, p + H_SACK, MN_SACK_BYTES);
	h->sack_count = get16(p + H_SACK_COUNT);
	h->timestamp = get64(p + H_TS);
}

void mn_hdr_encode(uint8_t *p, const struct mn_hdr *h)
{
	put16(p + H_MAGIC, h->magic);
	p[H_NET_FLAGS] = h->net_flags;
	p[H_MSG_FLAGS] = h->msg_flags;
	put32(p + H_SEQNO, h->seqno);
	put32(p + H_ACKNO, h->ackno);
	memcpy(p + H_SACK, h->sack_bitmap, MN_SACK_BYTES);
	put16(p + H_SACK_COUNT, h->sack_count);
	put64(p + H_TS, h->timestamp);
}

/* The framing of one data packet, CHAIN/NOTIFY bits masked: a whole message,
 * or the first, a middle or the last packet of a longer one. */
static int data_msg_flags_ok(uint8_t mf)
{
	switch (mf & (uint8_t)~MN_MF_IGNORE) {
	case MN_MF_FIRST | MN_MF_LAST:
	case MN_MF_FIRST | MN_MF_MORE:
	case MN_MF_MORE:
	case MN_MF_LAST:
		return 1;
	default:
		return 0;
	}
}

enum mn_rx_reason mn_wire_decode(const uint8_t *frame, size_t len, unsigned opts,
                                 struct mn_frame *out)
{
	const uint8_t *ip = frame + OFF_IP;
	const uint8_t *udp = frame + OFF_UDP;
	const uint8_t *hp = frame + OFF_HDR;
	uint16_t tot_len, frag, udp_len;
	uint8_t nf;

	if (len < MN_ETH_HLEN)
		return MN_RX_TOO_SHORT;
	if (get16(frame + OFF_ETHTYPE) != MN_ETHERTYPE_IPV4)
		return MN_RX_NOT_IPV4;
	/* Every valid frame holds all 96 header bytes; anything shorter cannot
	 * be ours whatever its IP header claims. */
	if (len < MN_ALL_HLEN)
		return MN_RX_TOO_SHORT;
	if ((ip[0] >> 4) != 4)
		return MN_RX_BAD_IP_VERSION;
	if ((ip[0] & 0x0f) != 5)
		return MN_RX_BAD_IHL;
	tot_len = get16(ip + 2);
	/* Link padding may follow the datagram; a datagram longer than the
	 * frame was truncated. */
	if (tot_len < MIN_IP_TOT || tot_len > len - MN_ETH_HLEN)
		return MN_RX_BAD_IP_LEN;
	frag = get16(ip + 6);
	if (frag & 0x3fff)	/* MF or a fragment offset */
		return MN_RX_FRAGMENT;
	/* A stored 0x0000 only passes when the header really sums to it, so
	 * Machnet's unfilled zeros fail here unless the caller opted out. */
	if (!(opts & MN_DEC_NO_CSUM) && !mn_csum_ipv4_hdr_ok(ip))
		return MN_RX_BAD_IP_CSUM;
	if (ip[9] != 17)
		return MN_RX_NOT_UDP;
	udp_len = get16(udp + 4);
	if (udp_len != tot_len - MN_IP_HLEN)
		return MN_RX_BAD_UDP_LEN;
	if (!(opts & MN_DEC_NO_CSUM) && !mn_csum_udp4_ok(ip, udp, udp_len))
		return MN_RX_BAD_UDP_CSUM;
	if (get16(hp + H_MAGIC) != MN_MAGIC)
		return MN_RX_BAD_MAGIC;

	nf = hp[H_NET_FLAGS];
	switch (nf) {
	case MN_NF_DATA:
		if (!data_msg_flags_ok(hp[H_MSG_FLAGS]))
			return MN_RX_BAD_MSG_FLAGS;
		if (tot_len == MIN_IP_TOT)
			return MN_RX_EMPTY_DATA;
		break;
	case MN_NF_SYN:
	case MN_NF_ACK:
	case MN_NF_SYNACK:
	case MN_NF_RST:
		if (hp[H_MSG_FLAGS] & (uint8_t)~MN_MF_IGNORE)
			return MN_RX_BAD_MSG_FLAGS;
		if (tot_len != MIN_IP_TOT)
			return MN_RX_CTRL_WITH_PAYLOAD;
		break;
	default:
		return MN_RX_BAD_NET_FLAGS;
	}

	memcpy(out->addr.dst_mac, frame, 6);
	memcpy(out->addr.src_mac, frame + 6, 6);
	out->addr.src_ip = get32(ip + 12);
	out->addr.dst_ip = get32(ip + 16);
	out->addr.src_port = get16(udp);
	out->addr.dst_port = get16(udp + 2);
	out->ip_id = get16(ip + 4);
	out->ttl = ip[8];
	out->ip_flags_df = (frag & 0x4000) ? 1 : 0;
	mn_hdr_decode(hp, &out->hdr);
	out->payload = frame + MN_ALL_HLEN;
	out->payload_len = (uint32_t)tot_len - MIN_IP_TOT;
	return MN_RX_OK;
}

void mn_wire_fill_csums(uint8_t *buf, uint32_t payload_len)
{
	uint8_t *ip = buf + OFF_IP;
	uint8_t *udp = buf + OFF_UDP;

	put16(ip + 10, 0);
	put16(ip + 10, mn_csum_ipv4_hdr(ip));
	put16(udp + 6, 0);
	put16(udp + 6, mn_csum_udp4(ip, udp, MN_UDP_HLEN + MN_HDR_LEN,
				    buf + MN_ALL_HLEN, payload_len));
}

size_t mn_wire_encode(uint8_t *buf, const struct mn_l2l3 *addr, const struct mn_hdr *h,
                      const uint8_t *payload, uint32_t payload_len, unsigned opts)
{
	uint8_t *ip = buf + OFF_IP;
	uint8_t *udp = buf + OFF_UDP;
	uint16_t tot_len = (uint16_t)(MIN_IP_TOT + payload_len);

	memcpy(buf, addr->dst_mac, 6);
	memcpy(buf + 6, addr->src_mac, 6);
	put16(buf + OFF_ETHTYPE, MN_ETHERTYPE_IPV4);

	ip[0] = 0x45;
	ip[1] = 0;			/* tos */
	put16(ip + 2, tot_len);
	put16(ip + 4, MN_IP_ID);
	put16(ip + 6, 0);		/* Machnet sets no DF */
	ip[8] = MN_IP_TTL;
	ip[9] = 17;
	put16(ip + 10, 0);
	put32(ip + 12, addr->src_ip);
	put32(ip + 16, addr->dst_ip);

	put16(udp, addr->src_port);
	put16(udp + 2, addr->dst_port);
	put16(udp + 4, (uint16_t)(tot_len - MN_IP_HLEN));
	put16(udp + 6, 0);

	mn_hdr_encode(buf + OFF_HDR, h);

	if (opts & MN_ENC_CSUM_IP)
		put16(ip + 10, mn_csum_ipv4_hdr(ip));
	if (opts & MN_ENC_CSUM_UDP)
		put16(udp + 6, mn_csum_udp4(ip, udp, MN_UDP_HLEN + MN_HDR_LEN,
					    payload, payload_len));
	return MN_ALL_HLEN;
}

#define ARP_OFF		MN_ETH_HLEN

int mn_arp_decode(const uint8_t *frame, size_t len, uint8_t eth_src[6], struct mn_arp *out)
{
	const uint8_t *a = frame + ARP_OFF;
	uint16_t op;

	if (len < MN_ARP_FRAME_LEN)
		return -EINVAL;
	if (get16(frame + OFF_ETHTYPE) != MN_ETHERTYPE_ARP)
		return -EINVAL;
	/* Ethernet hardware, IPv4 protocol, 6- and 4-byte addresses only. */
	if (get16(a) != 1 || get16(a + 2) != MN_ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
		return -EINVAL;
	op = get16(a + 6);
	if (op != 1 && op != 2)
		return -EINVAL;
	if (eth_src)
		memcpy(eth_src, frame + 6, 6);
	out->op = op;
	memcpy(out->sha, a + 8, 6);
	out->spa = get32(a + 14);
	memcpy(out->tha, a + 18, 6);
	out->tpa = get32(a + 24);
	return 0;
}

size_t mn_arp_encode(uint8_t *buf, const struct mn_arp *a)
{
	uint8_t *p = buf + ARP_OFF;

	if (a->op == 1) {
		memset(buf, 0xff, 6);
		memset(p + 18, 0, 6);
	} else {
		memcpy(buf, a->tha, 6);
		memcpy(p + 18, a->tha, 6);
	}
	memcpy(buf + 6, a->sha, 6);
	put16(buf + OFF_ETHTYPE, MN_ETHERTYPE_ARP);
	put16(p, 1);
	put16(p + 2, MN_ETHERTYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, a->op);
	memcpy(p + 8, a->sha, 6);
	put32(p + 14, a->spa);
	put32(p + 24, a->tpa);
	return MN_ARP_FRAME_LEN;
}
