/* mn_wire: the machnet-mp / Machnet wire format (../shared/docs/wire-protocol.md).
 *
 * Encode and decode of Ethernet II | IPv4 (no options) | UDP | 54-byte
 * transport header | payload. Pure C, no EAL, no allocation: callers own all
 * buffers. Decoding validates every field and never reads past `len`.
 */
#ifndef MN_WIRE_H
#define MN_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define MN_ETH_HLEN   14
#define MN_IP_HLEN    20
#define MN_UDP_HLEN   8
#define MN_HDR_LEN    54
#define MN_ALL_HLEN   (MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN) /* 96 */
#define MN_ARP_FRAME_LEN 42

#define MN_MAGIC      0x4e53
#define MN_IP_ID      0x1513	/* Machnet's constant IP id, kept for byte equality */
#define MN_IP_TTL     64
#define MN_ETHERTYPE_IPV4 0x0800
#define MN_ETHERTYPE_ARP  0x0806
#define MN_SACK_BITS  256
#define MN_SACK_BYTES 32
#define MN_ACKNO_NONE 0xffffffffu	/* ackno of every data packet */

/* Extension feature bits: byte 0 of the SACK bitmap of a SYN or SYN-ACK that
 * advertises the extensions (non-zero timestamp). Meaningful only there. */
#define MN_FEAT_PIGGYACK 0x01	/* data packets carry ackno + an echo (below) */

/* On a flow that agreed MN_FEAT_PIGGYACK, a data packet carries a cumulative
 * ACK in ackno (0xffffffff: none) and, in bytes 0-7 of its SACK bitmap
 * (big-endian), the timestamp echo an ACK would carry. */
#define MN_ECHO_OFF 0

/* Payload bytes per packet for an MTU: 1500 -> 1418. */
#define MN_MSS(mtu)   ((uint32_t)(mtu) - MN_IP_HLEN - MN_UDP_HLEN - MN_HDR_LEN)

/* net_flags */
enum {
	MN_NF_DATA   = 0x00,
	MN_NF_SYN    = 0x01,
	MN_NF_ACK    = 0x02,
	MN_NF_SYNACK = 0x03,
	MN_NF_RST    = 0x80,
};

/* msg_flags (Machnet calls FIRST "SYN" and LAST "FIN") */
enum {
	MN_MF_FIRST  = 0x01,
	MN_MF_MORE   = 0x02,	/* set on the first and middle packets of a multi-packet message */
	MN_MF_LAST   = 0x04,
	MN_MF_CHAIN  = 0x08,	/* leaks from Machnet's sender; ignored on receive */
	MN_MF_IGNORE = 0x88,	/* bits a receiver masks off */
};

/* The 54-byte header, decoded to host order. */
struct mn_hdr {
	uint16_t magic;
	uint8_t  net_flags;
	uint8_t  msg_flags;
	uint32_t seqno;
	uint32_t ackno;
	uint8_t  sack_bitmap[MN_SACK_BYTES];	/* bit i: byte i/8, bit i%8 from LSB */
	uint16_t sack_count;
	uint64_t timestamp;
};

/* Addresses of one frame; IPs and ports in host order. */
struct mn_l2l3 {
	uint8_t  src_mac[6];
	uint8_t  dst_mac[6];
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
};

/* A decoded transport frame. `payload` points into the caller's buffer. */
struct mn_frame {
	struct mn_l2l3 addr;
	uint16_t ip_id;
	uint8_t  ttl;
	uint8_t  ip_flags_df;		/* 1 when DF was set */
	struct mn_hdr hdr;
	const uint8_t *payload;
	uint32_t payload_len;
};

/* Why a received frame was rejected. MN_RX_OK is 0; every other value is a
 * counter index for the "drops by reason" statistics (MN_RX__COUNT entries). */
enum mn_rx_reason {
	MN_RX_OK = 0,
	MN_RX_TOO_SHORT,	/* shorter than Ethernet, or an IPv4 frame shorter than all 96 header bytes */
	MN_RX_NOT_IPV4,		/* ethertype is not 0x0800 (ARP is handled before the codec) */
	MN_RX_BAD_IP_VERSION,
	MN_RX_BAD_IHL,		/* IHL != 5: options are not used on this wire */
	MN_RX_BAD_IP_LEN,	/* total length < 20+8+54 or > frame length - 14 */
	MN_RX_FRAGMENT,		/* MF set or fragment offset != 0 */
	MN_RX_BAD_IP_CSUM,
	MN_RX_NOT_UDP,
	MN_RX_BAD_UDP_LEN,	/* UDP length != IP total length - 20 */
	MN_RX_BAD_UDP_CSUM,
	MN_RX_BAD_MAGIC,
	MN_RX_BAD_NET_FLAGS,	/* not one of DATA, SYN, ACK, SYN-ACK, RST */
	MN_RX_BAD_MSG_FLAGS,	/* data without FIRST/MORE/LAST framing that makes sense, or flags on control frames */
	MN_RX_CTRL_WITH_PAYLOAD,/* SYN/ACK/SYN-ACK/RST that carries payload bytes */
	MN_RX_EMPTY_DATA,	/* data packet with no payload */
	MN_RX__COUNT
};

/* Short stable name of a reason ("bad_ip_csum"), for counters and logs. */
const char *mn_rx_reason_str(enum mn_rx_reason r);

/* Decode options. */
enum {
	MN_DEC_NO_CSUM = 0x1,	/* skip IP and UDP checksum checks (peer writes zeros) */
};

/* Decodes and validates frame[0..len). Returns MN_RX_OK and fills *out, or a
 * reason and leaves *out unspecified. Link padding is accepted: len may exceed
 * 14 + IP total length; the IP total length decides the payload. The IP
 * checksum must verify unless MN_DEC_NO_CSUM, so Machnet's unfilled 0x0000 is
 * rejected (a stored 0x0000 that truly verifies is accepted); a UDP checksum
 * of 0 means "none" and is accepted.
 *
 * Checks run in this order and the first failure is returned: len < 14
 * (TOO_SHORT), ethertype (NOT_IPV4), len < 96 (TOO_SHORT), version, IHL,
 * total length (82 <= tot_len <= len - 14), MF/fragment offset (DF and the
 * reserved bit are ignored), IP checksum, protocol (NOT_UDP), UDP length,
 * UDP checksum, magic, net_flags, then msg_flags before payload presence
 * (CTRL_WITH_PAYLOAD / EMPTY_DATA). Data ackno, SACK fields and timestamp
 * are not judged here. */
enum mn_rx_reason mn_wire_decode(const uint8_t *frame, size_t len, unsigned opts,
                                 struct mn_frame *out);

/* Decodes only the 54-byte header at p (no validation beyond copying). */
void mn_hdr_decode(const uint8_t *p, struct mn_hdr *h);
/* Encodes h into 54 bytes at p. */
void mn_hdr_encode(uint8_t *p, const struct mn_hdr *h);

/* Encode options. */
enum {
	MN_ENC_CSUM_NONE = 0x0,	/* leave IP and UDP checksum fields 0 (TX offload fills them, or Machnet-identical bytes) */
	MN_ENC_CSUM_IP   = 0x1,	/* compute the IPv4 header checksum */
	MN_ENC_CSUM_UDP  = 0x2,	/* compute the UDP checksum (needs the payload) */
};

/* Writes the 96 header bytes of a frame into buf: Ethernet (dst, src, 0x0800),
 * IPv4 (0x45, tos 0, tot_len, id 0x1513, no DF, TTL 64, proto 17), UDP and the
 * transport header, for a payload of payload_len bytes. With MN_ENC_CSUM_UDP
 * the payload must be given (may be NULL when payload_len is 0). Returns
 * MN_ALL_HLEN. */
size_t mn_wire_encode(uint8_t *buf, const struct mn_l2l3 *addr, const struct mn_hdr *h,
                      const uint8_t *payload, uint32_t payload_len, unsigned opts);

/* Fills the IP and UDP checksums of an already encoded frame whose payload
 * follows the headers contiguously (buf[0..96+payload_len)). */
void mn_wire_fill_csums(uint8_t *buf, uint32_t payload_len);

/* SACK bitmap helpers (wire layout: bit i in byte i/8 at bit i%8 from LSB;
 * bit i means packet ackno + 1 + i is held). */
static inline void mn_sack_set(uint8_t *bm, unsigned i)
{
	bm[i >> 3] = (uint8_t)(bm[i >> 3] | (1u << (i & 7)));
}
static inline int mn_sack_test(const uint8_t *bm, unsigned i)
{
	return (bm[i >> 3] >> (i & 7)) & 1;
}

/* 32-bit serial-number arithmetic (RFC 1982) for seqno/ackno. */
static inline int mn_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int mn_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int mn_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int mn_seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

/* ARP (Ethernet/IPv4 only). IPs host order. */
struct mn_arp {
	uint16_t op;		/* 1 request, 2 reply */
	uint8_t  sha[6];
	uint32_t spa;
	uint8_t  tha[6];
	uint32_t tpa;
};
/* Decodes an ARP frame (len >= 42, padding allowed). 0 or -EINVAL. */
int mn_arp_decode(const uint8_t *frame, size_t len, uint8_t eth_src[6], struct mn_arp *out);
/* Builds a 42-byte ARP frame: requests are broadcast with tha zero, replies
 * unicast to tha. Returns MN_ARP_FRAME_LEN. */
size_t mn_arp_encode(uint8_t *buf, const struct mn_arp *a);

#endif
