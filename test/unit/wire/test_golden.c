/* Golden tests: proto/mn_wire against frames captured from real Machnet.
 *
 * Every frame of the four captures is decoded and checked field by field
 * against decode.py's text trace; then frames are rebuilt with our encoder
 * from the captured addresses and header values and compared with Machnet's
 * bytes, masking only what the wire spec says may differ (SACK bitmap,
 * stale sack_count of data frames, timestamp).
 *
 * Usage: test_golden TESTDATA_DIR (or MN_TESTDATA_DIR in the environment).
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_csum.h"
#include "mn_pcap.h"
#include "mn_trace_txt.h"
#include "mn_wire.h"

static const char *testdata;
static const char *const traces[] = {
	"handshake_and_echo", "multi_packet_message", "teardown_rst", "loss_recovery",
};
#define NTRACES (sizeof(traces) / sizeof(traces[0]))

static const uint8_t mac_a[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02 };

/* Kinds of frame rebuilt byte for byte, over all captures. */
enum kind {
	K_ARP_REQ, K_ARP_REP, K_SYN, K_SYNACK, K_HS_ACK, K_DATA_ACK, K_RST,
	K_DATA_05, K_DATA_03, K_DATA_02, K_DATA_04, K_DATA_0C, K__COUNT
};
static const char *const kind_names[K__COUNT] = {
	"ARP request", "ARP reply", "SYN", "SYN-ACK", "handshake ACK", "data ACK", "RST",
	"data 0x05", "data 0x03", "data 0x02", "data 0x04", "data 0x0c",
};
static unsigned kind_seen[K__COUNT];
static unsigned frames_decoded;

struct capture {
	struct mn_pcap_pkt *pkts;
	int n;
	struct mn_trace_line *lines;
	int nlines;
};

static int load(const char *name, struct capture *c)
{
	char path[4096];

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/%s.pcap", testdata, name);
	c->n = mn_pcap_load(path, &c->pkts);
	if (c->n < 0) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(-c->n));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.txt", testdata, name);
	c->nlines = mn_trace_load(path, &c->lines);
	if (c->nlines < 0) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(-c->nlines));
		mn_pcap_free(c->pkts, c->n);
		return -1;
	}
	return 0;
}

static void unload(struct capture *c)
{
	mn_pcap_free(c->pkts, c->n);
	free(c->lines);
}

static enum mn_trace_dir dir_of(const uint8_t *src_mac)
{
	if (!memcmp(src_mac, mac_a, 6))
		return MN_TRACE_A_TO_B;
	if (!memcmp(src_mac, mac_b, 6))
		return MN_TRACE_B_TO_A;
	return MN_TRACE_DIR_UNKNOWN;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ------------------------------------------------------------------ */

static void check_arp(const struct mn_pcap_pkt *p, const struct mn_trace_line *l)
{
	uint8_t src[6];
	struct mn_arp a;
	struct mn_frame f;

	CU_ASSERT_TRUE_FATAL(l->is_arp);
	CU_ASSERT_EQUAL(mn_arp_decode(p->data, p->len, src, &a), 0);
	CU_ASSERT_EQUAL(dir_of(src), l->dir);
	CU_ASSERT(memcmp(src, l->eth_src, 6) == 0);
	CU_ASSERT(memcmp(p->data, l->eth_dst, 6) == 0);
	CU_ASSERT_EQUAL(a.op, l->arp_op);
	CU_ASSERT(memcmp(a.sha, l->sha, 6) == 0);
	CU_ASSERT_EQUAL(a.spa, l->spa);
	CU_ASSERT(memcmp(a.tha, l->tha, 6) == 0);
	CU_ASSERT_EQUAL(a.tpa, l->tpa);
	/* ARP is not for the transport codec */
	CU_ASSERT_EQUAL(mn_wire_decode(p->data, p->len, MN_DEC_NO_CSUM, &f), MN_RX_NOT_IPV4);
}

static void check_ipv4(const struct mn_pcap_pkt *p, const struct mn_trace_line *l)
{
	struct mn_frame f;
	enum mn_rx_reason r;

	CU_ASSERT_TRUE_FATAL(l->is_ipv4 && l->is_machnet);
	r = mn_wire_decode(p->data, p->len, MN_DEC_NO_CSUM, &f);
	if (r != MN_RX_OK)
		fprintf(stderr, "frame %d: %s\n", l->idx, mn_rx_reason_str(r));
	CU_ASSERT_EQUAL_FATAL(r, MN_RX_OK);
	frames_decoded++;
	CU_ASSERT_EQUAL(dir_of(f.addr.src_mac), l->dir);
	CU_ASSERT_EQUAL(p->len, 14u + l->tot_len);
	CU_ASSERT_EQUAL(f.payload_len + 82u, l->tot_len);
	CU_ASSERT_EQUAL(f.ip_id, l->ip_id);
	CU_ASSERT_EQUAL(f.ttl, l->ttl);
	CU_ASSERT_EQUAL(f.ip_flags_df, l->df);
	CU_ASSERT_EQUAL(f.addr.src_ip, l->src_ip);
	CU_ASSERT_EQUAL(f.addr.dst_ip, l->dst_ip);
	CU_ASSERT_EQUAL(f.addr.src_port, l->src_port);
	CU_ASSERT_EQUAL(f.addr.dst_port, l->dst_port);
	CU_ASSERT_EQUAL(f.payload_len + 62u, l->udp_len);
	CU_ASSERT_EQUAL(f.hdr.magic, l->magic);
	CU_ASSERT_EQUAL(f.hdr.net_flags, l->net_flags);
	CU_ASSERT_EQUAL(f.hdr.msg_flags, l->msg_flags);
	CU_ASSERT_EQUAL(f.hdr.seqno, l->seqno);
	CU_ASSERT_EQUAL(f.hdr.ackno, l->ackno);
	CU_ASSERT_EQUAL(f.hdr.sack_count, l->sack_count);
	for (int w = 0; w < 4; w++)
		CU_ASSERT_EQUAL(be64(f.hdr.sack_bitmap + 8 * w), l->sack_words[w]);
	CU_ASSERT_EQUAL(f.hdr.timestamp, l->timestamp1);
	CU_ASSERT_EQUAL(f.payload_len, l->payload_len);
	CU_ASSERT_PTR_EQUAL(f.payload, p->data + MN_ALL_HLEN);
	/* Machnet writes zero checksums: with checks on, they are caught. */
	CU_ASSERT_EQUAL(l->ip_csum, 0);
	CU_ASSERT_EQUAL(mn_wire_decode(p->data, p->len, 0, &f), MN_RX_BAD_IP_CSUM);
}

static void decode_trace(const char *name)
{
	struct capture c;

	CU_ASSERT_FATAL(load(name, &c) == 0);
	CU_ASSERT_TRUE(c.n > 0);
	CU_ASSERT_EQUAL(c.n, c.nlines);
	for (int i = 0; i < c.n && i < c.nlines; i++) {
		const struct mn_trace_line *l = &c.lines[i];

		CU_ASSERT_EQUAL(l->idx, i + 1);
		CU_ASSERT_EQUAL(c.pkts[i].len, l->frame_len);
		if (l->is_arp)
			check_arp(&c.pkts[i], l);
		else
			check_ipv4(&c.pkts[i], l);
	}
	unload(&c);
}

/* ------------------------------------------------------------------ */

static int classify(const struct mn_frame *f)
{
	switch (f->hdr.net_flags) {
	case MN_NF_SYN: return K_SYN;
	case MN_NF_SYNACK: return K_SYNACK;
	case MN_NF_RST: return K_RST;
	case MN_NF_ACK:
		/* the client's third handshake packet: seqno 1, ackno 1, clean bitmap */
		return (f->hdr.seqno == 1 && f->hdr.ackno == 1) ? K_HS_ACK : K_DATA_ACK;
	default:
		switch (f->hdr.msg_flags) {
		case 0x05: return K_DATA_05;
		case 0x03: return K_DATA_03;
		case 0x02: return K_DATA_02;
		case 0x04: return K_DATA_04;
		case 0x0c: return K_DATA_0C;
		default: return -1;
		}
	}
}

/* Compares ours with Machnet's 96 header bytes, skipping the masked ranges. */
static int hdr_equal(const uint8_t *ours, const uint8_t *theirs, int data)
{
	for (int i = 0; i < MN_ALL_HLEN; i++) {
		if (i >= 54 && i <= 85)
			continue;	/* SACK bitmap: garbage (ACK/RST) or stale (data) */
		if (data && (i == 86 || i == 87))
			continue;	/* stale sack_count of data frames */
		if (i >= 88)
			continue;	/* timestamp */
		if (ours[i] != theirs[i]) {
			fprintf(stderr, "byte %d differs: ours %02x, Machnet %02x\n", i, ours[i], theirs[i]);
			return 0;
		}
	}
	return 1;
}

static void rebuild_ipv4(const struct mn_pcap_pkt *p, int idx)
{
	uint8_t hdrs[MN_ALL_HLEN];
	struct mn_frame f;
	struct mn_hdr h;
	int k, data;

	CU_ASSERT_EQUAL_FATAL(mn_wire_decode(p->data, p->len, MN_DEC_NO_CSUM, &f), MN_RX_OK);
	k = classify(&f);
	CU_ASSERT_FATAL(k >= 0);
	data = f.hdr.net_flags == MN_NF_DATA;

	/* What this stack would send in the same situation: a clean bitmap,
	 * the real count on control frames, no timestamp (plain Machnet peer). */
	memset(&h, 0, sizeof(h));
	h.magic = MN_MAGIC;
	h.net_flags = f.hdr.net_flags;
	h.msg_flags = f.hdr.msg_flags;
	h.seqno = f.hdr.seqno;
	h.ackno = f.hdr.ackno;
	h.sack_count = data ? 0 : f.hdr.sack_count;

	CU_ASSERT_EQUAL(mn_wire_encode(hdrs, &f.addr, &h, NULL, f.payload_len, MN_ENC_CSUM_NONE),
			MN_ALL_HLEN);
	if (!hdr_equal(hdrs, p->data, data)) {
		fprintf(stderr, "frame %d (%s) differs from Machnet's\n", idx, kind_names[k]);
		CU_FAIL("rebuilt frame differs");
	}
	/* checksum fields: Machnet's zeros exactly */
	CU_ASSERT(hdrs[24] == 0 && hdrs[25] == 0 && hdrs[40] == 0 && hdrs[41] == 0);
	if (!data)
		CU_ASSERT_EQUAL(p->len, MN_ALL_HLEN);
	/* the payload of the rebuilt frame is where the decoder said */
	CU_ASSERT_PTR_EQUAL(f.payload, p->data + MN_ALL_HLEN);
	CU_ASSERT_EQUAL(MN_ALL_HLEN + f.payload_len, p->len);
	kind_seen[k]++;

	/* With software checksums the same frame verifies and passes a
	 * checking decoder. */
	uint8_t *full = malloc(p->len);

	CU_ASSERT_FATAL(full != NULL);
	memcpy(full, p->data, p->len);
	mn_wire_encode(full, &f.addr, &h, f.payload, f.payload_len,
		       MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	CU_ASSERT_TRUE(mn_csum_ipv4_hdr_ok(full + 14));
	CU_ASSERT(full[40] != 0 || full[41] != 0);
	CU_ASSERT_TRUE(mn_csum_udp4_ok(full + 14, full + 34, (uint16_t)(62 + f.payload_len)));
	CU_ASSERT_EQUAL(mn_wire_decode(full, p->len, 0, &f), MN_RX_OK);
	/* only the checksum fields changed relative to the zero-checksum build */
	memcpy(hdrs + 24, full + 24, 2);
	memcpy(hdrs + 40, full + 40, 2);
	CU_ASSERT(memcmp(hdrs, full, MN_ALL_HLEN) == 0);
	free(full);
}

static void rebuild_arp(const struct mn_pcap_pkt *p)
{
	uint8_t buf[MN_ARP_FRAME_LEN];
	struct mn_arp a;

	CU_ASSERT_EQUAL_FATAL(mn_arp_decode(p->data, p->len, NULL, &a), 0);
	CU_ASSERT_EQUAL(p->len, MN_ARP_FRAME_LEN);
	CU_ASSERT_EQUAL(mn_arp_encode(buf, &a), MN_ARP_FRAME_LEN);
	CU_ASSERT(memcmp(buf, p->data, MN_ARP_FRAME_LEN) == 0);
	kind_seen[a.op == 1 ? K_ARP_REQ : K_ARP_REP]++;
}

static void rebuild_trace(const char *name)
{
	struct capture c;

	CU_ASSERT_FATAL(load(name, &c) == 0);
	for (int i = 0; i < c.n; i++) {
		if (c.lines[i].is_arp)
			rebuild_arp(&c.pkts[i]);
		else
			rebuild_ipv4(&c.pkts[i], i + 1);
	}
	unload(&c);
}

static void test_decode_0(void) { decode_trace(traces[0]); }
static void test_decode_1(void) { decode_trace(traces[1]); }
static void test_decode_2(void) { decode_trace(traces[2]); }
static void test_decode_3(void) { decode_trace(traces[3]); }
static void test_rebuild_0(void) { rebuild_trace(traces[0]); }
static void test_rebuild_1(void) { rebuild_trace(traces[1]); }
static void test_rebuild_2(void) { rebuild_trace(traces[2]); }
static void test_rebuild_3(void) { rebuild_trace(traces[3]); }

/* Every kind of frame was compared at least once, and every IPv4 frame was
 * decoded: 1469 frames in the four captures (README), of which 6 are ARP. */
static void test_coverage(void)
{
	for (int k = 0; k < K__COUNT; k++) {
		if (!kind_seen[k])
			fprintf(stderr, "no %s frame was rebuilt\n", kind_names[k]);
		CU_ASSERT(kind_seen[k] > 0);
	}
	CU_ASSERT_EQUAL(frames_decoded, 200u + 408u + 396u + 465u - 6u);
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "decode_handshake_and_echo", test_decode_0 },
		{ "decode_multi_packet_message", test_decode_1 },
		{ "decode_teardown_rst", test_decode_2 },
		{ "decode_loss_recovery", test_decode_3 },
		{ "rebuild_handshake_and_echo", test_rebuild_0 },
		{ "rebuild_multi_packet_message", test_rebuild_1 },
		{ "rebuild_teardown_rst", test_rebuild_2 },
		{ "rebuild_loss_recovery", test_rebuild_3 },
		{ "coverage", test_coverage },
	};

	testdata = argc > 1 ? argv[1] : getenv("MN_TESTDATA_DIR");
	if (!testdata) {
		fprintf(stderr, "usage: %s TESTDATA_DIR (or set MN_TESTDATA_DIR)\n", argv[0]);
		return 2;
	}
	return mn_cu_run("golden", tests, sizeof(tests) / sizeof(tests[0]));
}
