/* Replays the Machnet client's side (stack B, 198.18.0.2:1024) of the real
 * Machnet captures into an mn_proto endpoint that plays the server (stack A,
 * 198.18.0.1:888, A's MAC), with receive checksum checks off and zero
 * checksums sent, as Machnet does on a device without offload. The endpoint
 * echoes every message (msg_gen's server answers with its own --msg_size,
 * which equals the client's in every capture). It must complete the
 * handshake, deliver the same messages and answer with the same control
 * frames as Machnet's A, byte for byte except the SACK bitmap (Machnet's is
 * garbage), the checksums and the timestamp. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_pcap.h"
#include "mn_proto.h"
#include "mn_wire.h"

#define IP_A 0xc6120001u
#define MAXF 4096

static const uint8_t MAC_A[6] = { 2, 0, 0xc6, 0x12, 0, 1 };
static const char *g_dir;

struct rbuf {
	int refs;
	uint8_t room[128 + 2048];
};

struct frame {
	uint32_t len;
	uint8_t data[128];	/* headers are all we compare */
};

struct replay {
	struct mn_proto *ep;
	struct mn_flow *flow;
	long bufs;
	uint64_t now;
	struct frame ours[MAXF];
	int nours;
	uint32_t msgs;
	uint32_t msg_len[MAXF];
	int accepted, resets, bad;
	uint32_t pending[MAXF];		/* echoes owed, answered when Machnet's app did */
	uint32_t npending, pend_head;
	uint8_t echo[1 << 16];
};

static struct replay R;

static void *r_alloc(void *ctx, uint8_t **payload)
{
	struct rbuf *b = calloc(1, sizeof(*b));

	(void)ctx;
	if (!b)
		return NULL;
	b->refs = 1;
	R.bufs++;
	*payload = b->room + 128;
	return b;
}

static void r_release(void *ctx, void *buf)
{
	struct rbuf *b = buf;

	(void)ctx;
	if (--b->refs == 0) {
		free(b);
		R.bufs--;
	}
}

static void r_hold(void *ctx, void *buf)
{
	(void)ctx;
	((struct rbuf *)buf)->refs++;
}

static int r_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	(void)ctx;
	(void)local;
	if (R.nours < MAXF) {
		R.ours[R.nours].len = len;
		memcpy(R.ours[R.nours].data, frame, len < 128 ? len : 128);
		R.nours++;
	}
	r_release(ctx, buf);
	return 0;
}

static int r_deliver(void *ctx, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                     uint32_t nsegs, uint32_t len)
{
	uint32_t i;

	(void)ctx;
	(void)cookie;
	if (R.msgs < MAXF)
		R.msg_len[R.msgs] = len;
	R.msgs++;
	(void)f;
	for (i = 0; i < nsegs; i++)
		r_release(ctx, segs[i].buf);
	if (R.npending < MAXF)
		R.pending[R.npending++] = len;
	return 0;
}

static void r_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev, int err)
{
	(void)ctx;
	(void)cookie;
	(void)err;
	if (ev == MN_PROTO_EV_ACCEPTED) {
		R.accepted++;
		R.flow = f;
	} else if (ev == MN_PROTO_EV_RESET) {
		R.resets++;
		R.flow = NULL;
	} else {
		R.bad++;
	}
}

static void ep_new(void)
{
	struct mn_proto_params p;
	struct mn_proto_ops ops = { NULL, r_tx, r_hold, r_release, r_alloc, r_deliver, r_event, NULL };

	mn_proto_params_default(&p);
	/* The transport's defaults this test was written for (connect 5 s,
	 * close 1 s, keepalive and piggybacked ACKs off, min_rto toward plain
	 * peers too), not machnetd's. */
	p.connect_timeout_ns = 5000000000ull;
	p.close_timeout_ns = 1000000000ull;
	p.keepalive_ns = 0;
	p.ack_delay_ns = 0;
	p.plain_min_rto_ns = 0;
	p.n_local = 1;
	p.local[0].ip = IP_A;
	memcpy(p.local[0].mac, MAC_A, 6);
	p.rx_check_csum = 0;
	p.tx_csum = MN_ENC_CSUM_NONE;
	p.pool_pkts = 4096;
	p.max_flows = 16;
	/* extensions stay advertised: a Machnet SYN has timestamp 0, so the
	 * flow must fall back to plain mode on its own. */
	R.ep = mn_proto_create(&p, &ops, R.now);
	CU_ASSERT_FATAL(R.ep != NULL);
	CU_ASSERT_FATAL(mn_proto_listen(R.ep, IP_A, 888, NULL) == 0);
}

/* Compares a control frame of ours with Machnet's: every byte but the IP
 * and UDP checksums (24-25, 40-41), the SACK bitmap (54-85) and the
 * timestamp (88-95). */
static int same_ctrl(const uint8_t *a, const uint8_t *b)
{
	int i;

	for (i = 0; i < MN_ALL_HLEN; i++) {
		if (i == 24 || i == 25 || i == 40 || i == 41 || (i >= 54 && i <= 85) || i >= 88)
			continue;
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_ctrl(const uint8_t *f, uint32_t len)
{
	return len >= MN_ALL_HLEN && f[12] == 0x08 && f[13] == 0x00 &&
	       (f[44] == MN_NF_SYNACK || f[44] == MN_NF_ACK || f[44] == MN_NF_RST);
}

/* Runs one capture: B's frames in, our frames compared with A's. */
static void replay(const char *name, const uint32_t *sizes, int nsizes)
{
	char path[1024];
	struct mn_pcap_pkt *pk = NULL;
	struct frame *theirs = calloc(MAXF, sizeof(*theirs));
	int n, i, ntheirs = 0, compared = 0, mismatched = 0, first_mismatch = -1;
	uint32_t data_frames = 0, acks_ours = 0, expect_msgs = 0, k;
	double t0;

	CU_ASSERT_FATAL(theirs != NULL);
	memset(&R, 0, sizeof(R));
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	n = mn_pcap_load(path, &pk);
	CU_ASSERT_FATAL(n > 0);
	t0 = pk[0].t;
	R.now = 1000000000ull;
	ep_new();
	for (i = 0; i < n; i++) {
		const uint8_t *f = pk[i].data;
		uint8_t *payload;
		struct rbuf *b;

		if (pk[i].len < 14 || f[12] != 0x08 || f[13] != 0x00)
			continue;	/* ARP is machnetd's, not proto's */
		if (memcmp(f + 6, MAC_A, 6) == 0) {
			/* The echo goes out when Machnet's server app sent it: the
			 * seqno of later ACKs (snd_nxt) depends on that timing. */
			if (pk[i].len > MN_ALL_HLEN && f[44] == MN_NF_DATA && (f[45] & MN_MF_FIRST) &&
			    R.pend_head < R.npending && R.flow) {
				uint32_t l = R.pending[R.pend_head++];

				R.now = 1000000000ull + (uint64_t)((pk[i].t - t0) * 1e9);
				if (l > sizeof(R.echo) || mn_proto_send_bytes(R.flow, R.echo, l, R.now))
					R.bad++;
			}
			if (is_ctrl(f, pk[i].len) && ntheirs < MAXF) {
				theirs[ntheirs].len = pk[i].len;
				memcpy(theirs[ntheirs].data, f, MN_ALL_HLEN);
				ntheirs++;
			}
			continue;
		}
		R.now = 1000000000ull + (uint64_t)((pk[i].t - t0) * 1e9);
		if (f[44] == MN_NF_SYN && mn_proto_nflows(R.ep) > 0) {
			/* The next part of the capture: its RST was trimmed away, so
			 * start from a fresh stack as Machnet's A had dropped the flow. */
			mn_proto_destroy(R.ep);
			R.flow = NULL;
			R.npending = R.pend_head = 0;
			ep_new();
		}
		if (f[44] == MN_NF_DATA) {
			data_frames++;
			expect_msgs += (f[45] & MN_MF_LAST) != 0;
		}
		b = r_alloc(NULL, &payload);
		CU_ASSERT_FATAL(b != NULL);
		memcpy(b->room, f, pk[i].len);
		mn_proto_rx(R.ep, b, b->room, pk[i].len, R.now);
		mn_proto_flush(R.ep, R.now);
		mn_proto_poll(R.ep, R.now);
	}
	/* Nothing was dropped by the codec or as unexpected. */
	for (k = 1; k < MN_RX__COUNT; k++)
		CU_ASSERT_EQUAL(mn_proto_stats(R.ep)->rx_drop[k], 0);
	CU_ASSERT_EQUAL(mn_proto_stats(R.ep)->rx_unexpected, 0);
	CU_ASSERT_EQUAL(mn_proto_stats(R.ep)->retransmits, 0);
	CU_ASSERT_EQUAL(R.bad, 0);
	CU_ASSERT_EQUAL(R.msgs, expect_msgs);
	for (k = 0; k < R.msgs && k < MAXF; k++) {
		int ok = 0, j;

		for (j = 0; j < nsizes; j++)
			ok |= R.msg_len[k] == sizes[j];
		CU_ASSERT(ok);
	}
	/* Our control frames, in order, against Machnet A's. */
	{
		int j = 0;

		for (i = 0; i < R.nours; i++) {
			if (!is_ctrl(R.ours[i].data, R.ours[i].len))
				continue;
			if (R.ours[i].data[44] == MN_NF_ACK)
				acks_ours++;
			if (j < ntheirs) {
				compared++;
				if (!same_ctrl(R.ours[i].data, theirs[j].data)) {
					if (getenv("MN_REPLAY_DEBUG"))
						printf("\n   #%d ours nf %02x seq %u ack %u | machnet nf %02x seq %u ack %u", j,
						       R.ours[i].data[44], be32(R.ours[i].data + 46), be32(R.ours[i].data + 50),
						       theirs[j].data[44], be32(theirs[j].data + 46), be32(theirs[j].data + 50));
					mismatched++;
					if (first_mismatch < 0)
						first_mismatch = j;
				}
			}
			j++;
		}
	}
	/* One ACK per data packet received, like Machnet; the capture may end
	 * before Machnet's ACK of the last data frame. */
	CU_ASSERT_EQUAL(acks_ours, data_frames);
	CU_ASSERT(compared == ntheirs && compared > 0);
	/* The first thing we sent: SYN-ACK, seqno 0, ackno 1. */
	CU_ASSERT(R.nours > 0 && R.ours[0].data[44] == MN_NF_SYNACK && be32(R.ours[0].data + 46) == 0 &&
	          be32(R.ours[0].data + 50) == 1 && R.ours[0].len == MN_ALL_HLEN);
	CU_ASSERT_EQUAL(mismatched, 0);
	printf("\n  %s: %u messages delivered, %u data frames ACKed, %d control frames compared with Machnet's, %d differ",
	       name, R.msgs, acks_ours, compared, mismatched);
	if (first_mismatch >= 0)
		printf(" (first: Machnet control frame #%d)", first_mismatch);
	mn_proto_destroy(R.ep);
	CU_ASSERT_EQUAL(R.bufs, 0);
	mn_pcap_free(pk, n);
	free(theirs);
}

static void test_handshake_and_echo(void)
{
	static const uint32_t sz[] = { 1024 };

	replay("handshake_and_echo.pcap", sz, 1);
	CU_ASSERT_EQUAL(R.msgs, 49);	/* 1024 B requests in the first 200 frames */
	CU_ASSERT_EQUAL(R.accepted, 1);
}

static void test_multi_packet(void)
{
	static const uint32_t sz[] = { 5000, 20000 };

	replay("multi_packet_message.pcap", sz, 2);
	CU_ASSERT_EQUAL(R.accepted, 3);
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "handshake_and_echo.pcap", test_handshake_and_echo },
		{ "multi_packet_message.pcap", test_multi_packet },
	};

	g_dir = argc > 1 ? argv[1] : "test/data/machnet-trace";
	return mn_cu_run("proto_replay", tests, sizeof(tests) / sizeof(tests[0]));
}
