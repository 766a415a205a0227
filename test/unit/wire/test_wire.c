/* Unit tests of proto/mn_wire (codec, ARP, SACK and sequence helpers) and
 * proto/mn_csum (checked against a straightforward reference implementation). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_csum.h"
#include "mn_wire.h"

#define MSS 1418u	/* MN_MSS(1500) */
#define FRAME_MAX (MN_ETH_HLEN + 1500 + 64)

static const struct mn_l2l3 addr_ab = {
	.src_mac = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02 },
	.dst_mac = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01 },
	.src_ip = 0xc6120002,	/* 198.18.0.2 */
	.dst_ip = 0xc6120001,
	.src_port = 1024,
	.dst_port = 888,
};

/* xorshift: deterministic pseudo-random test data. */
static uint32_t rng_state = 0x12345678;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void rnd_hdr(struct mn_hdr *h, uint8_t nf, uint8_t mf)
{
	h->magic = MN_MAGIC;
	h->net_flags = nf;
	h->msg_flags = mf;
	h->seqno = rnd();
	h->ackno = rnd();
	rnd_fill(h->sack_bitmap, sizeof(h->sack_bitmap));
	h->sack_count = (uint16_t)rnd();
	h->timestamp = (uint64_t)rnd() << 32 | rnd();
}

/* Builds a frame of 96 + plen bytes with correct checksums; returns its length. */
static size_t build(uint8_t *buf, uint8_t nf, uint8_t mf, uint32_t plen, struct mn_hdr *h)
{
	struct mn_hdr tmp;

	if (!h)
		h = &tmp;
	rnd_hdr(h, nf, mf);
	rnd_fill(buf + MN_ALL_HLEN, plen);
	mn_wire_encode(buf, &addr_ab, h, buf + MN_ALL_HLEN, plen,
		       MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	return MN_ALL_HLEN + plen;
}

/* Decodes a copy held in a buffer of exactly len bytes, so ASan catches any
 * read past the end. out->payload is rebased onto buf. */
static enum mn_rx_reason decode_exact(const uint8_t *buf, size_t len, unsigned opts,
				      struct mn_frame *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum mn_rx_reason r;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, buf, len);
	r = mn_wire_decode(copy, len, opts, out);
	if (r == MN_RX_OK) {
		/* payload must lie inside the frame */
		CU_ASSERT(out->payload >= copy && out->payload + out->payload_len <= copy + len);
		out->payload = buf + (out->payload - copy);
	}
	free(copy);
	return r;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Recomputes both checksums after a test edited header bytes (plen = the
 * payload length the IP header now describes). */
static void refill(uint8_t *buf)
{
	uint16_t tot = (uint16_t)(buf[16] << 8 | buf[17]);

	mn_wire_fill_csums(buf, (uint32_t)tot - 82);
}

/* ---------- reference checksum: the plain RFC 1071 definition ---------- */

static uint16_t ref_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t ref_ip_csum(const uint8_t *ip)
{
	uint8_t h[20];

	memcpy(h, ip, 20);
	h[10] = h[11] = 0;
	return (uint16_t)~ref_sum(h, 20);
}

static uint16_t ref_udp_csum(const uint8_t *ip, const uint8_t *udp, size_t udp_len)
{
	uint8_t *b = malloc(12 + udp_len);
	uint16_t c;

	memcpy(b, ip + 12, 8);
	b[8] = 0;
	b[9] = 17;
	b[10] = (uint8_t)(udp_len >> 8);
	b[11] = (uint8_t)udp_len;
	memcpy(b + 12, udp, udp_len);
	b[12 + 6] = b[12 + 7] = 0;
	c = (uint16_t)~ref_sum(b, 12 + udp_len);
	free(b);
	return c == 0 ? 0xffff : c;
}

/* ------------------------------- tests ---------------------------------- */

static void check_roundtrip(uint8_t nf, uint8_t mf, uint32_t plen)
{
	static uint8_t buf[FRAME_MAX];
	struct mn_hdr h;
	struct mn_frame f;
	size_t len = build(buf, nf, mf, plen, &h);

	CU_ASSERT_EQUAL_FATAL(decode_exact(buf, len, 0, &f), MN_RX_OK);
	CU_ASSERT(memcmp(f.addr.src_mac, addr_ab.src_mac, 6) == 0);
	CU_ASSERT(memcmp(f.addr.dst_mac, addr_ab.dst_mac, 6) == 0);
	CU_ASSERT_EQUAL(f.addr.src_ip, addr_ab.src_ip);
	CU_ASSERT_EQUAL(f.addr.dst_ip, addr_ab.dst_ip);
	CU_ASSERT_EQUAL(f.addr.src_port, addr_ab.src_port);
	CU_ASSERT_EQUAL(f.addr.dst_port, addr_ab.dst_port);
	CU_ASSERT_EQUAL(f.ip_id, MN_IP_ID);
	CU_ASSERT_EQUAL(f.ttl, MN_IP_TTL);
	CU_ASSERT_EQUAL(f.ip_flags_df, 0);
	CU_ASSERT_EQUAL(f.hdr.magic, MN_MAGIC);
	CU_ASSERT_EQUAL(f.hdr.net_flags, nf);
	CU_ASSERT_EQUAL(f.hdr.msg_flags, mf);
	CU_ASSERT_EQUAL(f.hdr.seqno, h.seqno);
	CU_ASSERT_EQUAL(f.hdr.ackno, h.ackno);
	CU_ASSERT(memcmp(f.hdr.sack_bitmap, h.sack_bitmap, MN_SACK_BYTES) == 0);
	CU_ASSERT_EQUAL(f.hdr.sack_count, h.sack_count);
	CU_ASSERT_EQUAL(f.hdr.timestamp, h.timestamp);
	CU_ASSERT_EQUAL(f.payload_len, plen);
	CU_ASSERT_PTR_EQUAL(f.payload, buf + MN_ALL_HLEN);

	/* Without checksums the frame only passes with MN_DEC_NO_CSUM. */
	mn_wire_encode(buf, &addr_ab, &h, NULL, plen, MN_ENC_CSUM_NONE);
	CU_ASSERT(buf[24] == 0 && buf[25] == 0 && buf[40] == 0 && buf[41] == 0);
	CU_ASSERT_EQUAL(decode_exact(buf, len, 0, &f), MN_RX_BAD_IP_CSUM);
	CU_ASSERT_EQUAL(decode_exact(buf, len, MN_DEC_NO_CSUM, &f), MN_RX_OK);
	CU_ASSERT_EQUAL(f.payload_len, plen);
	/* A UDP checksum of 0 means "none": with a good IP checksum it passes. */
	mn_wire_encode(buf, &addr_ab, &h, NULL, plen, MN_ENC_CSUM_IP);
	CU_ASSERT_EQUAL(decode_exact(buf, len, 0, &f), MN_RX_OK);
}

static void test_roundtrip_control(void)
{
	static const uint8_t nfs[] = { MN_NF_SYN, MN_NF_ACK, MN_NF_SYNACK, MN_NF_RST };
	static const uint8_t ignored[] = { 0x00, 0x08, 0x80, 0x88 };

	for (size_t i = 0; i < sizeof(nfs); i++)
		for (size_t j = 0; j < sizeof(ignored); j++)
			check_roundtrip(nfs[i], ignored[j], 0);
}

static void test_roundtrip_data_all_sizes(void)
{
	static const uint8_t mfs[] = { 0x05, 0x03, 0x02, 0x04, 0x0c, 0x0d, 0x85, 0x8a };

	for (size_t i = 0; i < sizeof(mfs); i++)
		for (uint32_t plen = 1; plen <= MSS; plen++)
			check_roundtrip(MN_NF_DATA, mfs[i], plen);
	/* a jumbo-MTU payload decodes too: the codec has no MTU */
	check_roundtrip(MN_NF_DATA, 0x05, 1500 - 82 + 50);
}

static void test_encode_bytes(void)
{
	uint8_t buf[MN_ALL_HLEN];
	struct mn_hdr h = { .magic = MN_MAGIC, .net_flags = 0x02, .msg_flags = 0x00,
			    .seqno = 0x01020304, .ackno = 0x05060708,
			    .sack_count = 0x090a, .timestamp = 0x1112131415161718ull };

	for (int i = 0; i < MN_SACK_BYTES; i++)
		h.sack_bitmap[i] = (uint8_t)(0x20 + i);
	CU_ASSERT_EQUAL(mn_wire_encode(buf, &addr_ab, &h, NULL, 0, MN_ENC_CSUM_NONE), MN_ALL_HLEN);
	static const uint8_t l23[42] = {
		0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x52, 0x15, 0x13, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
		0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
		0x04, 0x00, 0x03, 0x78, 0x00, 0x3e, 0x00, 0x00,
	};
	CU_ASSERT(memcmp(buf, l23, sizeof(l23)) == 0);
	CU_ASSERT(buf[42] == 0x4e && buf[43] == 0x53 && buf[44] == 0x02 && buf[45] == 0x00);
	CU_ASSERT(buf[46] == 1 && buf[47] == 2 && buf[48] == 3 && buf[49] == 4);
	CU_ASSERT(buf[50] == 5 && buf[51] == 6 && buf[52] == 7 && buf[53] == 8);
	for (int i = 0; i < MN_SACK_BYTES; i++)
		CU_ASSERT_EQUAL(buf[54 + i], 0x20 + i);
	CU_ASSERT(buf[86] == 0x09 && buf[87] == 0x0a);
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(buf[88 + i], 0x11 + i);

	struct mn_hdr d;

	mn_hdr_decode(buf + 42, &d);
	CU_ASSERT_EQUAL(d.magic, h.magic);
	CU_ASSERT_EQUAL(d.net_flags, h.net_flags);
	CU_ASSERT_EQUAL(d.msg_flags, h.msg_flags);
	CU_ASSERT_EQUAL(d.seqno, h.seqno);
	CU_ASSERT_EQUAL(d.ackno, h.ackno);
	CU_ASSERT(memcmp(d.sack_bitmap, h.sack_bitmap, MN_SACK_BYTES) == 0);
	CU_ASSERT_EQUAL(d.sack_count, h.sack_count);
	CU_ASSERT_EQUAL(d.timestamp, h.timestamp);
}

static void test_fill_csums_matches_encode(void)
{
	static uint8_t a[FRAME_MAX], b[FRAME_MAX];
	struct mn_hdr h;

	for (uint32_t plen = 0; plen < 40; plen++) {
		build(a, plen ? MN_NF_DATA : MN_NF_ACK, plen ? 0x05 : 0, plen, &h);
		memcpy(b, a, MN_ALL_HLEN + plen);
		b[24] = b[25] = b[40] = b[41] = 0x5a;	/* stale values are overwritten */
		mn_wire_fill_csums(b, plen);
		CU_ASSERT(memcmp(a, b, MN_ALL_HLEN + plen) == 0);
		CU_ASSERT_EQUAL((a[24] << 8 | a[25]), ref_ip_csum(a + 14));
		CU_ASSERT_EQUAL((a[40] << 8 | a[41]), ref_udp_csum(a + 14, a + 34, 62 + plen));
	}
}

/* ---- one test per rejection reason, on an otherwise valid frame ---- */

static uint8_t fb[FRAME_MAX];

static size_t valid_data(uint32_t plen)
{
	return build(fb, MN_NF_DATA, 0x05, plen, NULL);
}

static void test_rx_too_short(void)
{
	struct mn_frame f;
	size_t len = valid_data(100);

	for (size_t l = 0; l < MN_ETH_HLEN; l++)
		CU_ASSERT_EQUAL(decode_exact(fb, l, 0, &f), MN_RX_TOO_SHORT);
	for (size_t l = MN_ETH_HLEN; l < MN_ALL_HLEN; l++)
		CU_ASSERT_EQUAL(decode_exact(fb, l, 0, &f), MN_RX_TOO_SHORT);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
}

static void test_rx_not_ipv4(void)
{
	static const uint16_t types[] = { 0x0806, 0x86dd, 0x8100, 0x0000, 0x0801 };
	struct mn_frame f;
	size_t len = valid_data(10);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		put16(fb + 12, types[i]);
		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_NOT_IPV4);
		/* the ethertype is judged before the length: a 42-byte ARP frame */
		CU_ASSERT_EQUAL(decode_exact(fb, MN_ARP_FRAME_LEN, 0, &f), MN_RX_NOT_IPV4);
	}
}

static void test_rx_bad_ip_version(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);

	fb[14] = 0x65;
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_IP_VERSION);
	fb[14] = 0x05;
	CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_BAD_IP_VERSION);
}

static void test_rx_bad_ihl(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);

	for (uint8_t ihl = 0; ihl < 16; ihl++) {
		if (ihl == 5)
			continue;
		fb[14] = (uint8_t)(0x40 | ihl);
		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_IHL);
	}
}

static void test_rx_bad_ip_len(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);	/* tot_len 92 */
	static const uint16_t bad[] = { 0, 19, 20, 28, 81, 93, 0xffff };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put16(fb + 16, bad[i]);
		put16(fb + 38, (uint16_t)(bad[i] - 20));	/* UDP agrees: the IP length decides */
		CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_BAD_IP_LEN);
	}
	/* 82 is a valid total length (control frame size), but this is data */
	put16(fb + 16, 82);
	put16(fb + 38, 62);
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_EMPTY_DATA);
}

static void test_rx_fragment(void)
{
	struct mn_frame f;
	static const uint16_t bad[] = { 0x2000, 0x0001, 0x1fff, 0x6000, 0x2008 };
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = valid_data(10);
		put16(fb + 20, bad[i]);
		refill(fb);
		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_FRAGMENT);
	}
	/* DF alone is accepted and reported */
	len = valid_data(10);
	put16(fb + 20, 0x4000);
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
	CU_ASSERT_EQUAL(f.ip_flags_df, 1);
	/* the reserved (evil) bit is not a fragment bit; it is ignored */
	put16(fb + 20, 0x8000);
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
	CU_ASSERT_EQUAL(f.ip_flags_df, 0);
}

static void test_rx_bad_ip_csum(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);

	fb[25] ^= 0x01;
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_IP_CSUM);
	CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_OK);
	fb[25] ^= 0x01;
	fb[22] ^= 0x40;		/* TTL changed after the checksum was made */
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_IP_CSUM);
	fb[22] ^= 0x40;
	fb[24] = fb[25] = 0;	/* Machnet's unfilled zero */
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_IP_CSUM);
	CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_OK);
}

/* A header whose true checksum is 0x0000 (it sums to 0xffff with a zero
 * field) must not be mistaken for Machnet's unfilled zero. */
static void test_rx_ip_csum_truly_zero(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);
	uint16_t c, w;
	uint32_t nw;

	fb[24] = fb[25] = 0;
	c = mn_csum_ipv4_hdr(fb + 14);
	/* add c (ones' complement) into the low word of the source address */
	w = (uint16_t)(fb[28] << 8 | fb[29]);
	nw = (uint32_t)w + c;
	nw = (nw & 0xffff) + (nw >> 16);
	put16(fb + 28, (uint16_t)nw);
	mn_wire_fill_csums(fb, 10);
	CU_ASSERT_EQUAL(mn_csum_ipv4_hdr(fb + 14), 0);
	CU_ASSERT(fb[24] == 0 && fb[25] == 0);
	CU_ASSERT_EQUAL(ref_sum(fb + 14, 20), 0xffff);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
	CU_ASSERT_EQUAL(f.addr.src_ip & 0xffff, nw);
}

static void test_rx_not_udp(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);

	fb[23] = 6;
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_NOT_UDP);
	fb[23] = 1;
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_NOT_UDP);
}

static void test_rx_bad_udp_len(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);	/* udp_len 72 */
	static const uint16_t bad[] = { 0, 8, 62, 71, 73, 0xffff };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put16(fb + 38, bad[i]);
		CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_BAD_UDP_LEN);
	}
}

static void test_rx_bad_udp_csum(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);

	fb[MN_ALL_HLEN + 3] ^= 0x10;	/* payload corrupted in flight */
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_UDP_CSUM);
	CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_OK);
	fb[40] = fb[41] = 0;		/* "no checksum" is accepted */
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
	/* a corrupted transport header is caught too */
	len = valid_data(10);
	fb[50] ^= 0x80;
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_UDP_CSUM);
}

static void test_rx_bad_magic(void)
{
	struct mn_frame f;
	size_t len = valid_data(10);

	put16(fb + 42, 0x534e);
	refill(fb);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_BAD_MAGIC);
	put16(fb + 42, 0);
	CU_ASSERT_EQUAL(decode_exact(fb, len, MN_DEC_NO_CSUM, &f), MN_RX_BAD_MAGIC);
}

static void test_rx_bad_net_flags(void)
{
	struct mn_frame f;

	for (unsigned nf = 0; nf < 256; nf++) {
		int good = nf == 0x00 || nf == 0x01 || nf == 0x02 || nf == 0x03 || nf == 0x80;
		size_t len = build(fb, (uint8_t)nf, nf == 0 ? 0x05 : 0, nf == 0 ? 1 : 0, NULL);
		enum mn_rx_reason r = decode_exact(fb, len, 0, &f);

		CU_ASSERT_EQUAL(r, good ? MN_RX_OK : MN_RX_BAD_NET_FLAGS);
	}
}

static void test_rx_bad_msg_flags(void)
{
	struct mn_frame f;

	for (unsigned mf = 0; mf < 256; mf++) {
		unsigned m = mf & ~0x88u;
		int data_good = m == 0x05 || m == 0x03 || m == 0x02 || m == 0x04;
		size_t len = build(fb, MN_NF_DATA, (uint8_t)mf, 1, NULL);

		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), data_good ? MN_RX_OK : MN_RX_BAD_MSG_FLAGS);
		for (unsigned nf = 1; nf <= 4; nf++) {
			uint8_t cnf = nf == 4 ? MN_NF_RST : (uint8_t)nf;

			len = build(fb, cnf, (uint8_t)mf, 0, NULL);
			CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), m == 0 ? MN_RX_OK : MN_RX_BAD_MSG_FLAGS);
		}
	}
}

static void test_rx_ctrl_with_payload(void)
{
	struct mn_frame f;
	static const uint8_t nfs[] = { MN_NF_SYN, MN_NF_ACK, MN_NF_SYNACK, MN_NF_RST };

	for (size_t i = 0; i < sizeof(nfs); i++) {
		size_t len = build(fb, nfs[i], 0, 1, NULL);

		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_CTRL_WITH_PAYLOAD);
		len = build(fb, nfs[i], 0, MSS, NULL);
		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_CTRL_WITH_PAYLOAD);
	}
}

static void test_rx_empty_data(void)
{
	struct mn_frame f;
	static const uint8_t mfs[] = { 0x05, 0x03, 0x02, 0x04 };

	for (size_t i = 0; i < sizeof(mfs); i++) {
		size_t len = build(fb, MN_NF_DATA, mfs[i], 0, NULL);

		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_EMPTY_DATA);
	}
}

static void test_reason_names(void)
{
	for (int i = 0; i < MN_RX__COUNT; i++) {
		const char *s = mn_rx_reason_str((enum mn_rx_reason)i);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(strlen(s) > 0 && strcmp(s, "unknown") != 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT(strcmp(s, mn_rx_reason_str((enum mn_rx_reason)j)) != 0);
	}
	CU_ASSERT_STRING_EQUAL(mn_rx_reason_str(MN_RX_OK), "ok");
	CU_ASSERT_STRING_EQUAL(mn_rx_reason_str(MN_RX_BAD_IP_CSUM), "bad_ip_csum");
	CU_ASSERT_STRING_EQUAL(mn_rx_reason_str(MN_RX__COUNT), "unknown");
	CU_ASSERT_STRING_EQUAL(mn_rx_reason_str((enum mn_rx_reason)-1), "unknown");
}

static void test_padded_frames(void)
{
	struct mn_frame f;

	for (uint32_t plen = 0; plen <= 30; plen += 10) {
		for (size_t pad = 1; pad <= 64; pad++) {
			size_t len = build(fb, plen ? MN_NF_DATA : MN_NF_SYN, plen ? 0x05 : 0, plen, NULL);

			memset(fb + len, 0xaa, pad);
			CU_ASSERT_EQUAL(decode_exact(fb, len + pad, 0, &f), MN_RX_OK);
			CU_ASSERT_EQUAL(f.payload_len, plen);
			CU_ASSERT_PTR_EQUAL(f.payload, fb + MN_ALL_HLEN);
		}
	}
}

static void test_truncated_frames(void)
{
	struct mn_frame f;
	size_t full = valid_data(200);

	for (size_t l = 0; l < MN_ALL_HLEN; l++)
		CU_ASSERT_EQUAL(decode_exact(fb, l, 0, &f), MN_RX_TOO_SHORT);
	/* header complete, datagram cut: the IP length no longer fits */
	for (size_t l = MN_ALL_HLEN; l < full; l++)
		CU_ASSERT_EQUAL(decode_exact(fb, l, 0, &f), MN_RX_BAD_IP_LEN);
	CU_ASSERT_EQUAL(decode_exact(fb, full, 0, &f), MN_RX_OK);
}

static void test_seq_wrap(void)
{
	static const uint32_t base[] = { 0, 1, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff };

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		uint32_t a = base[i];

		for (uint32_t d = 1; d < 300; d++) {
			uint32_t b = a + d;	/* wraps past 2^32 for the large bases */

			CU_ASSERT(mn_seq_lt(a, b) && mn_seq_le(a, b));
			CU_ASSERT(!mn_seq_gt(a, b) && !mn_seq_ge(a, b));
			CU_ASSERT(mn_seq_gt(b, a) && mn_seq_ge(b, a));
			CU_ASSERT(!mn_seq_lt(b, a) && !mn_seq_le(b, a));
		}
		CU_ASSERT(mn_seq_le(a, a) && mn_seq_ge(a, a) && !mn_seq_lt(a, a) && !mn_seq_gt(a, a));
		/* just under half the space ahead is still "after" */
		CU_ASSERT(mn_seq_lt(a, a + 0x7fffffffu));
		CU_ASSERT(mn_seq_gt(a, a + 0x80000001u));
	}
	CU_ASSERT(mn_seq_lt(0xffffffffu, 0));
	CU_ASSERT(mn_seq_gt(0, 0xffffffffu));
	CU_ASSERT(mn_seq_lt(0xfffffff0u, 5));
}

static void test_sack_helpers(void)
{
	uint8_t bm[MN_SACK_BYTES];

	for (unsigned i = 0; i < MN_SACK_BITS; i++) {
		memset(bm, 0, sizeof(bm));
		mn_sack_set(bm, i);
		for (unsigned b = 0; b < MN_SACK_BYTES; b++)
			CU_ASSERT_EQUAL(bm[b], b == i / 8 ? (1u << (i % 8)) : 0u);
		for (unsigned j = 0; j < MN_SACK_BITS; j++)
			CU_ASSERT_EQUAL(mn_sack_test(bm, j), j == i);
	}
	memset(bm, 0, sizeof(bm));
	for (unsigned i = 0; i < MN_SACK_BITS; i += 3)
		mn_sack_set(bm, i);
	mn_sack_set(bm, 0);	/* setting twice keeps it set */
	for (unsigned j = 0; j < MN_SACK_BITS; j++)
		CU_ASSERT_EQUAL(mn_sack_test(bm, j), j % 3 == 0);
	/* layout: bit 9 is byte 1, value 0x02 */
	memset(bm, 0, sizeof(bm));
	mn_sack_set(bm, 9);
	CU_ASSERT_EQUAL(bm[1], 0x02);
	mn_sack_set(bm, 255);
	CU_ASSERT_EQUAL(bm[31], 0x80);
}

static void test_csum_partial_splits(void)
{
	uint8_t buf[301];
	static const size_t lens[] = { 0, 1, 2, 3, 7, 20, 64, 301 };

	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t n = lens[li];

		for (int round = 0; round < 8; round++) {
			rnd_fill(buf, n);
			if (round == 0)
				memset(buf, 0xff, n);	/* forces carries */
			uint16_t want = ref_sum(buf, n);

			CU_ASSERT_EQUAL((uint16_t)~mn_csum_fold(mn_csum_partial(buf, n, 0, 0)), want);
			/* split at every offset, odd ones included */
			for (size_t s = 0; s <= n; s++) {
				uint32_t sum = mn_csum_partial(buf, s, 0, 0);

				sum = mn_csum_partial(buf + s, n - s, sum, (int)(s & 1));
				CU_ASSERT_EQUAL((uint16_t)~mn_csum_fold(sum), want);
			}
			/* three pieces at odd offsets */
			if (n >= 7) {
				uint32_t sum = mn_csum_partial(buf, 3, 0, 0);

				sum = mn_csum_partial(buf + 3, 2, sum, 1);
				sum = mn_csum_partial(buf + 5, n - 5, sum, 1);
				CU_ASSERT_EQUAL((uint16_t)~mn_csum_fold(sum), want);
			}
		}
	}
}

static void test_csum_ipv4_known(void)
{
	/* A textbook IPv4 header whose checksum is 0xb861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	CU_ASSERT_EQUAL(mn_csum_ipv4_hdr(ip), 0xb861);
	CU_ASSERT_EQUAL(ref_ip_csum(ip), 0xb861);
	CU_ASSERT_FALSE(mn_csum_ipv4_hdr_ok(ip));
	ip[10] = 0xb8;
	ip[11] = 0x61;
	CU_ASSERT_TRUE(mn_csum_ipv4_hdr_ok(ip));
	CU_ASSERT_EQUAL(ref_sum(ip, 20), 0xffff);
	/* the stored checksum is ignored when computing */
	CU_ASSERT_EQUAL(mn_csum_ipv4_hdr(ip), 0xb861);
	ip[8] = 0x3f;
	CU_ASSERT_FALSE(mn_csum_ipv4_hdr_ok(ip));
}

static void test_csum_udp_frames(void)
{
	struct mn_frame f;

	for (int i = 0; i < 200; i++) {
		uint32_t plen = rnd() % (MSS + 1);
		size_t len = build(fb, plen ? MN_NF_DATA : MN_NF_ACK, plen ? 0x03 : 0, plen, NULL);
		uint16_t udp_len = (uint16_t)(62 + plen);
		uint8_t pseudo[12];

		CU_ASSERT_EQUAL(ref_sum(fb + 14, 20), 0xffff);
		CU_ASSERT_EQUAL((fb[24] << 8 | fb[25]), ref_ip_csum(fb + 14));
		CU_ASSERT_EQUAL((fb[40] << 8 | fb[41]), ref_udp_csum(fb + 14, fb + 34, udp_len));
		/* "sums to 0xffff": pseudo-header plus the whole datagram */
		memcpy(pseudo, fb + 26, 8);
		pseudo[8] = 0;
		pseudo[9] = 17;
		pseudo[10] = (uint8_t)(udp_len >> 8);
		pseudo[11] = (uint8_t)udp_len;
		uint32_t s = mn_csum_partial(pseudo, 12, 0, 0);

		s = mn_csum_partial(fb + 34, udp_len, s, 0);
		CU_ASSERT_EQUAL(mn_csum_fold(s), 0);
		CU_ASSERT_TRUE(mn_csum_udp4_ok(fb + 14, fb + 34, udp_len));
		CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
	}
}

static void test_csum_udp_zero_becomes_ffff(void)
{
	/* Choose the last two payload bytes so that the computed checksum is
	 * 0: it must go on the wire as 0xffff (0 means "no checksum"). */
	struct mn_hdr h;
	struct mn_frame f;
	uint32_t plen = 20;
	size_t len = build(fb, MN_NF_DATA, 0x05, plen, &h);
	uint8_t *last = fb + len - 2;

	last[0] = last[1] = 0;
	mn_wire_fill_csums(fb, plen);
	/* with the last word 0 the checksum is c = ~S; setting the word to c
	 * makes the folded sum 0xffff, so the computed checksum becomes 0 */
	uint16_t c = (uint16_t)(fb[40] << 8 | fb[41]);

	last[0] = (uint8_t)(c >> 8);
	last[1] = (uint8_t)c;
	CU_ASSERT_EQUAL(ref_udp_csum(fb + 14, fb + 34, 62 + plen), 0xffff);
	mn_wire_encode(fb, &addr_ab, &h, fb + MN_ALL_HLEN, plen, MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	CU_ASSERT(fb[40] == 0xff && fb[41] == 0xff);
	CU_ASSERT_EQUAL(decode_exact(fb, len, 0, &f), MN_RX_OK);
}

static void test_arp(void)
{
	uint8_t buf[64], src[6];
	struct mn_arp a = { .op = 1, .sha = { 2, 0, 0xc6, 0x12, 0, 2 }, .spa = 0xc6120002,
			    .tha = { 9, 9, 9, 9, 9, 9 }, .tpa = 0xc6120001 };
	struct mn_arp d;
	static const uint8_t req[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02,
		0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01,
	};

	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT_EQUAL(mn_arp_encode(buf, &a), MN_ARP_FRAME_LEN);
	CU_ASSERT(memcmp(buf, req, 42) == 0);	/* tha forced to zero, broadcast */
	CU_ASSERT_EQUAL(buf[42], 0xee);		/* nothing written past 42 bytes */
	CU_ASSERT_EQUAL(mn_arp_decode(buf, 42, src, &d), 0);
	CU_ASSERT(memcmp(src, a.sha, 6) == 0);
	CU_ASSERT_EQUAL(d.op, 1);
	CU_ASSERT(memcmp(d.sha, a.sha, 6) == 0);
	CU_ASSERT_EQUAL(d.spa, a.spa);
	CU_ASSERT(memcmp(d.tha, "\0\0\0\0\0\0", 6) == 0);
	CU_ASSERT_EQUAL(d.tpa, a.tpa);

	struct mn_arp r = { .op = 2, .sha = { 2, 0, 0xc6, 0x12, 0, 1 }, .spa = 0xc6120001,
			    .tha = { 2, 0, 0xc6, 0x12, 0, 2 }, .tpa = 0xc6120002 };

	CU_ASSERT_EQUAL(mn_arp_encode(buf, &r), MN_ARP_FRAME_LEN);
	CU_ASSERT(memcmp(buf, r.tha, 6) == 0);		/* unicast to the requester */
	CU_ASSERT(memcmp(buf + 6, r.sha, 6) == 0);
	CU_ASSERT(buf[20] == 0 && buf[21] == 2);
	/* padded to 60 bytes by a NIC: still decodes */
	memset(buf + 42, 0, 18);
	CU_ASSERT_EQUAL(mn_arp_decode(buf, 60, NULL, &d), 0);
	CU_ASSERT_EQUAL(d.op, 2);
	CU_ASSERT(memcmp(d.tha, r.tha, 6) == 0);
	CU_ASSERT_EQUAL(d.tpa, r.tpa);
	CU_ASSERT_EQUAL(d.spa, r.spa);

	/* truncation at every length, exact-size buffers */
	for (size_t l = 0; l < 42; l++) {
		uint8_t *c = malloc(l ? l : 1);

		memcpy(c, buf, l);
		CU_ASSERT_EQUAL(mn_arp_decode(c, l, src, &d), -EINVAL);
		free(c);
	}
	/* every fixed field is checked */
	static const struct { int off; uint8_t val; } bad[] = {
		{ 12, 0x09 }, { 13, 0x00 }, { 15, 0x06 }, { 16, 0x86 }, { 18, 0x08 },
		{ 19, 0x10 }, { 21, 0x03 }, { 21, 0x00 }, { 20, 0x01 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t c[42];

		mn_arp_encode(c, &r);
		c[bad[i].off] = bad[i].val;
		CU_ASSERT_EQUAL(mn_arp_decode(c, 42, src, &d), -EINVAL);
	}
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "roundtrip_control", test_roundtrip_control },
		{ "roundtrip_data_all_sizes", test_roundtrip_data_all_sizes },
		{ "encode_bytes", test_encode_bytes },
		{ "fill_csums_matches_encode", test_fill_csums_matches_encode },
		{ "rx_too_short", test_rx_too_short },
		{ "rx_not_ipv4", test_rx_not_ipv4 },
		{ "rx_bad_ip_version", test_rx_bad_ip_version },
		{ "rx_bad_ihl", test_rx_bad_ihl },
		{ "rx_bad_ip_len", test_rx_bad_ip_len },
		{ "rx_fragment", test_rx_fragment },
		{ "rx_bad_ip_csum", test_rx_bad_ip_csum },
		{ "rx_ip_csum_truly_zero", test_rx_ip_csum_truly_zero },
		{ "rx_not_udp", test_rx_not_udp },
		{ "rx_bad_udp_len", test_rx_bad_udp_len },
		{ "rx_bad_udp_csum", test_rx_bad_udp_csum },
		{ "rx_bad_magic", test_rx_bad_magic },
		{ "rx_bad_net_flags", test_rx_bad_net_flags },
		{ "rx_bad_msg_flags", test_rx_bad_msg_flags },
		{ "rx_ctrl_with_payload", test_rx_ctrl_with_payload },
		{ "rx_empty_data", test_rx_empty_data },
		{ "reason_names", test_reason_names },
		{ "padded_frames", test_padded_frames },
		{ "truncated_frames", test_truncated_frames },
		{ "seq_wrap", test_seq_wrap },
		{ "sack_helpers", test_sack_helpers },
		{ "csum_partial_splits", test_csum_partial_splits },
		{ "csum_ipv4_known", test_csum_ipv4_known },
		{ "csum_udp_frames", test_csum_udp_frames },
		{ "csum_udp_zero_becomes_ffff", test_csum_udp_zero_becomes_ffff },
		{ "arp", test_arp },
	};

	return mn_cu_run("wire", tests, sizeof(tests) / sizeof(tests[0]));
}
