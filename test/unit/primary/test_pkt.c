/* Unit tests of mn_pkt: the engine's ARP/ICMP responder and classifier, fed
 * real frames. The ICMP frames were built and checksummed by an independent
 * implementation (Python's struct + RFC 1071 sum), not by mn_csum. */
#include <errno.h>
#include <string.h>

#include "mn_csum.h"
#include "mn_cunit.h"
#include "mn_frame.h"
#include "mn_wire.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MY_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t PEER_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* 198.18.0.2 -> 198.18.0.1 echo request, id 0x1234 seq 7, TTL 63, DF, 48 B data */
static const uint8_t ECHO_REQ[90] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x4c, 0x1c, 0x46, 0x40, 0x00, 0x3f, 0x01, 0x93, 0x43, 0xc6, 0x12,
	0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x08, 0x00, 0x3a, 0x01, 0x12, 0x34, 0x00, 0x07,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};
/* The reply a correct responder sends: MACs and IPs swapped, TTL 64, type 0. */
static const uint8_t ECHO_REP[90] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x4c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, 0x92, 0x43, 0xc6, 0x12,
	0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0x42, 0x01, 0x12, 0x34, 0x00, 0x07,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};

static struct mn_iface ifc;
static struct mn_neigh_table arp;
static struct mn_engine_stats st;
static uint8_t buf[256];

static void setup(void)
{
	struct mn_neigh_params p;

	memset(&ifc, 0, sizeof(ifc));
	memcpy(ifc.mac, MY_MAC, 6);
	ifc.ip = IP(198, 18, 0, 1);
	ifc.prefix_len = 24;
	ifc.rx_csum = true;
	mn_neigh_params_default(&p, 300);
	mn_neigh_table_init(&arp, &p);
	memset(&st, 0, sizeof(st));
	memset(buf, 0, sizeof(buf));
}

static uint64_t total_drops(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < MN_DROP__MAX; i++)
		n += st.drops[i];
	return n;
}

static enum mn_frame_action rx(size_t *len)
{
	struct mn_neigh_learned lr;

	return mn_frame_rx(buf, len, &ifc, &arp, 1000, &st, &lr);
}

static void test_real_frame_checksums(void)
{
	/* mn_csum agrees with the independent sums in the captured frames. */
	CU_ASSERT_TRUE(mn_csum_ipv4_hdr_ok(ECHO_REQ + 14));
	CU_ASSERT_EQUAL(mn_csum_ipv4_hdr(ECHO_REQ + 14), 0x9343);
	CU_ASSERT_EQUAL(mn_csum_fold(mn_csum_partial(ECHO_REQ + 34, 56, 0, 0)), 0);
	CU_ASSERT_EQUAL(mn_csum_fold(mn_csum_partial(ECHO_REP + 34, 56, 0, 0)), 0);
}

static void test_echo_reply(void)
{
	size_t len = sizeof(ECHO_REQ);

	setup();
	memcpy(buf, ECHO_REQ, len);
	CU_ASSERT_EQUAL_FATAL(rx(&len), MN_FRAME_TX);
	CU_ASSERT_EQUAL(len, sizeof(ECHO_REP));
	CU_ASSERT_EQUAL(memcmp(buf, ECHO_REP, sizeof(ECHO_REP)), 0);
	CU_ASSERT_EQUAL(st.icmp_echo_answered, 1);
	CU_ASSERT_EQUAL(total_drops(), 0);
}

static void test_echo_padding_trimmed(void)
{
	size_t len = sizeof(ECHO_REQ) + 10;	/* link padding after the datagram */

	setup();
	memcpy(buf, ECHO_REQ, sizeof(ECHO_REQ));
	memset(buf + sizeof(ECHO_REQ), 0xee, 10);
	CU_ASSERT_EQUAL_FATAL(rx(&len), MN_FRAME_TX);
	CU_ASSERT_EQUAL(len, sizeof(ECHO_REP));
	CU_ASSERT_EQUAL(memcmp(buf, ECHO_REP, sizeof(ECHO_REP)), 0);
}

static void expect_drop(const uint8_t *frame, size_t len, enum mn_drop_reason why)
{
	setup();
	memcpy(buf, frame, len);
	CU_ASSERT_EQUAL(rx(&len), MN_FRAME_DROP);
	CU_ASSERT_EQUAL(st.drops[why], 1);
	CU_ASSERT_EQUAL(total_drops(), 1);
	CU_ASSERT_EQUAL(st.icmp_echo_answered, 0);
}

static void test_ipv4_drops(void)
{
	uint8_t f[sizeof(ECHO_REQ)];

	memcpy(f, ECHO_REQ, sizeof(f));
	f[24] ^= 0x01;	/* IP checksum */
	expect_drop(f, sizeof(f), MN_DROP_IP_BAD_CSUM);

	memcpy(f, ECHO_REQ, sizeof(f));
	f[37] ^= 0x01;	/* ICMP checksum */
	expect_drop(f, sizeof(f), MN_DROP_ICMP_MALFORMED);

	memcpy(f, ECHO_REQ, sizeof(f));
	f[33] = 0x09;	/* to 198.18.0.9 */
	expect_drop(f, sizeof(f), MN_DROP_NOT_FOR_US);

	memcpy(f, ECHO_REQ, sizeof(f));
	f[5] = 0x07;	/* another MAC */
	expect_drop(f, sizeof(f), MN_DROP_NOT_FOR_US);

	expect_drop(ECHO_REQ, 60, MN_DROP_IP_MALFORMED);	/* truncated */

	memcpy(f, ECHO_REQ, sizeof(f));
	f[12] = 0x86;	/* IPv6 ethertype */
	f[13] = 0xdd;
	expect_drop(f, sizeof(f), MN_DROP_BAD_ETHERTYPE);
}

/* Rewrites a field of the IP header and fixes its checksum. */
static void ip_patch(uint8_t *f, unsigned off, uint8_t v)
{
	uint16_t c;

	f[14 + off] = v;
	f[24] = f[25] = 0;
	c = mn_csum_ipv4_hdr(f + 14);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
}

static void test_ipv4_protocol_drops(void)
{
	uint8_t f[sizeof(ECHO_REQ)];

	memcpy(f, ECHO_REQ, sizeof(f));
	f[34] = 13;	/* timestamp request: checksum no longer matters, type does */
	f[36] = f[37] = 0;
	{
		uint16_t c = mn_csum_fold(mn_csum_partial(f + 34, 56, 0, 0));

		f[36] = (uint8_t)(c >> 8);
		f[37] = (uint8_t)c;
	}
	expect_drop(f, sizeof(f), MN_DROP_ICMP_NOT_ECHO);

	memcpy(f, ECHO_REQ, sizeof(f));
	ip_patch(f, 9, 6);	/* TCP */
	expect_drop(f, sizeof(f), MN_DROP_NOT_UDP);

	memcpy(f, ECHO_REQ, sizeof(f));
	ip_patch(f, 6, 0x20);	/* MF */
	expect_drop(f, sizeof(f), MN_DROP_IP_FRAGMENT);

	/* rx_csum off: a bad IP checksum is accepted and answered. */
	setup();
	ifc.rx_csum = false;
	memcpy(buf, ECHO_REQ, sizeof(ECHO_REQ));
	buf[24] ^= 0x01;
	{
		size_t len = sizeof(ECHO_REQ);

		CU_ASSERT_EQUAL(rx(&len), MN_FRAME_TX);
		CU_ASSERT_TRUE(mn_csum_ipv4_hdr_ok(buf + 14));
	}
}

static void test_udp_transport(void)
{
	struct mn_l2l3 a = { .src_ip = IP(198, 18, 0, 2), .dst_ip = IP(198, 18, 0, 1),
			     .src_port = 1000, .dst_port = 2000 };
	struct mn_hdr h = { .magic = MN_MAGIC, .net_flags = MN_NF_SYN };
	size_t len;

	memcpy(a.src_mac, PEER_MAC, 6);
	memcpy(a.dst_mac, MY_MAC, 6);
	setup();
	len = mn_wire_encode(buf, &a, &h, NULL, 0, MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	CU_ASSERT_EQUAL(rx(&len), MN_FRAME_TRANSPORT);
	CU_ASSERT_EQUAL(total_drops(), 0);

	/* Same frame without the magic: plain UDP we do not serve. */
	setup();
	h.magic = 0x1234;
	len = mn_wire_encode(buf, &a, &h, NULL, 0, MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	CU_ASSERT_EQUAL(rx(&len), MN_FRAME_DROP);
	CU_ASSERT_EQUAL(st.drops[MN_DROP_UDP_NOT_TRANSPORT], 1);
}

static size_t arp_frame(uint16_t op, const uint8_t *sha, uint32_t spa, uint32_t tpa,
                        const uint8_t *tha)
{
	struct mn_arp a = { .op = op, .spa = spa, .tpa = tpa };

	memcpy(a.sha, sha, 6);
	if (tha)
		memcpy(a.tha, tha, 6);
	return mn_arp_encode(buf, &a);
}

static void test_arp_request_answered(void)
{
	uint8_t eth_src[6], mac[6];
	struct mn_arp r;
	struct mn_neigh_learned lr = { .ip = 7, .completed = true };
	size_t len;

	setup();
	len = arp_frame(1, PEER_MAC, IP(198, 18, 0, 2), IP(198, 18, 0, 1), NULL);
	len = 60;	/* padded by the link */
	CU_ASSERT_EQUAL_FATAL(mn_frame_rx(buf, &len, &ifc, &arp, 1000, &st, &lr), MN_FRAME_TX);
	/* Learned (the asker addressed us) but nobody was waiting for it. */
	CU_ASSERT_EQUAL(lr.ip, IP(198, 18, 0, 2));
	CU_ASSERT_EQUAL(memcmp(lr.mac, PEER_MAC, 6), 0);
	CU_ASSERT_FALSE(lr.completed);
	CU_ASSERT_EQUAL(len, MN_ARP_FRAME_LEN);
	CU_ASSERT_EQUAL_FATAL(mn_arp_decode(buf, len, eth_src, &r), 0);
	CU_ASSERT_EQUAL(r.op, 2);
	CU_ASSERT_EQUAL(memcmp(buf, PEER_MAC, 6), 0);	/* unicast back */
	CU_ASSERT_EQUAL(memcmp(eth_src, MY_MAC, 6), 0);
	CU_ASSERT_EQUAL(memcmp(r.sha, MY_MAC, 6), 0);
	CU_ASSERT_EQUAL(r.spa, IP(198, 18, 0, 1));
	CU_ASSERT_EQUAL(memcmp(r.tha, PEER_MAC, 6), 0);
	CU_ASSERT_EQUAL(r.tpa, IP(198, 18, 0, 2));
	CU_ASSERT_EQUAL(st.arp_req_answered, 1);
	/* The asker was learned (it addressed us). */
	CU_ASSERT_EQUAL(st.arp_learned, 1);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&arp, IP(198, 18, 0, 2), 1001, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, PEER_MAC, 6), 0);
}

static void test_arp_not_for_us(void)
{
	uint8_t mac[6];
	size_t len;

	setup();
	len = arp_frame(1, PEER_MAC, IP(198, 18, 0, 2), IP(198, 18, 0, 3), NULL);
	{
		struct mn_neigh_learned lr;

		CU_ASSERT_EQUAL(mn_frame_rx(buf, &len, &ifc, &arp, 1000, &st, &lr), MN_FRAME_DROP);
		CU_ASSERT_EQUAL(lr.ip, 0);
	}
	CU_ASSERT_EQUAL(st.drops[MN_DROP_NOT_FOR_US], 1);
	CU_ASSERT_EQUAL(st.arp_req_answered, 0);
	/* Not addressed to us: no entry created. */
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&arp, IP(198, 18, 0, 2), 1001, mac), -ENOENT);

	setup();
	len = arp_frame(1, PEER_MAC, IP(198, 18, 0, 2), IP(198, 18, 0, 1), NULL);
	CU_ASSERT_EQUAL(len, MN_ARP_FRAME_LEN);
	len = 30;	/* truncated */
	CU_ASSERT_EQUAL(rx(&len), MN_FRAME_DROP);
	CU_ASSERT_EQUAL(st.drops[MN_DROP_ARP_MALFORMED], 1);
}

static void test_arp_reply_completes(void)
{
	struct mn_neigh_learned lr;
	uint8_t mac[6];
	bool send;
	size_t len;

	setup();
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&arp, IP(198, 18, 0, 2), 500, mac, &send), -EINPROGRESS);
	CU_ASSERT_TRUE(send);
	/* Our request, as the engine builds it, is a valid broadcast request. */
	{
		uint8_t req[64];
		struct mn_arp r;

		CU_ASSERT_EQUAL(mn_neigh_arp_request(req, &ifc, IP(198, 18, 0, 2)), MN_ARP_FRAME_LEN);
		CU_ASSERT_EQUAL_FATAL(mn_arp_decode(req, MN_ARP_FRAME_LEN, NULL, &r), 0);
		CU_ASSERT_EQUAL(r.op, 1);
		CU_ASSERT_EQUAL(req[0], 0xff);
		CU_ASSERT_EQUAL(r.spa, ifc.ip);
		CU_ASSERT_EQUAL(r.tpa, IP(198, 18, 0, 2));
	}
	len = arp_frame(2, PEER_MAC, IP(198, 18, 0, 2), IP(198, 18, 0, 1), MY_MAC);
	CU_ASSERT_EQUAL(mn_frame_rx(buf, &len, &ifc, &arp, 900, &st, &lr), MN_FRAME_CONSUMED);
	CU_ASSERT_EQUAL(lr.ip, IP(198, 18, 0, 2));
	CU_ASSERT_TRUE(lr.completed);
	CU_ASSERT_EQUAL(st.arp_resolved, 1);
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&arp, IP(198, 18, 0, 2), 901, mac, &send), 0);
	CU_ASSERT_EQUAL(memcmp(mac, PEER_MAC, 6), 0);
	CU_ASSERT_EQUAL(total_drops(), 0);
}

static void test_drop_names(void)
{
	for (unsigned r = 0; r < MN_DROP__COUNT; r++)
		CU_ASSERT_STRING_NOT_EQUAL(mn_drop_reason_str(r), "?");
	CU_ASSERT_STRING_EQUAL(mn_drop_reason_str(MN_DROP__COUNT), "?");
	CU_ASSERT_TRUE(MN_DROP__COUNT <= MN_DROP__MAX);
	CU_ASSERT_EQUAL(sizeof(struct mn_engine_stats) % MN_ABI_CACHE_LINE, 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "real frame checksums", test_real_frame_checksums },
		{ "echo request -> exact reply", test_echo_reply },
		{ "echo with link padding", test_echo_padding_trimmed },
		{ "IPv4 drops by reason", test_ipv4_drops },
		{ "protocol drops, rx_csum off", test_ipv4_protocol_drops },
		{ "UDP with/without transport magic", test_udp_transport },
		{ "ARP request answered and asker learned", test_arp_request_answered },
		{ "ARP not for us, malformed", test_arp_not_for_us },
		{ "ARP reply completes a pending resolution", test_arp_reply_completes },
		{ "drop reason names, stats layout", test_drop_names },
	};

	return mn_cu_run("mn_pkt", tests, sizeof(tests) / sizeof(tests[0]));
}
