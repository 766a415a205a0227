/* fuzz_rx: the receive path fed arbitrary frames.
 *
 * Built two ways:
 *  - with clang -fsanitize=fuzzer,address,undefined as a libFuzzer target
 *    (LLVMFuzzerTestOneInput), test/fuzz/meson.build, -Dfuzz=true;
 *  - with -DMN_FUZZ_STANDALONE as a plain replay driver whose main() feeds
 *    every file of a corpus directory, and deterministic mutations of each,
 *    through the same code (a 'unit' test, so gcc and ASan builds use it).
 *
 * Every invariant violation calls abort(), which both drivers report.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_proto.h"
#include "mn_wire.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What a frame the codec accepted must look like. */
static void check_accepted(const uint8_t *data, size_t len, const struct mn_frame *f)
{
	uint16_t tot_len = rd16(data + 16);
	uint8_t re[MN_ALL_HLEN];
	unsigned mf = f->hdr.msg_flags & (unsigned)~MN_MF_IGNORE;

	CHECK(len >= MN_ALL_HLEN);
	/* the payload lies inside the input, right after the headers */
	CHECK(f->payload == data + MN_ALL_HLEN);
	CHECK((size_t)MN_ALL_HLEN + f->payload_len <= len);
	CHECK(f->payload_len == (uint32_t)tot_len - (MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN));
	CHECK(rd16(data + 38) == tot_len - MN_IP_HLEN);
	CHECK(f->hdr.magic == MN_MAGIC);
	switch (f->hdr.net_flags) {
	case MN_NF_DATA:
		CHECK(f->payload_len > 0);
		CHECK(mf == 0x05 || mf == 0x03 || mf == 0x02 || mf == 0x04);
		break;
	case MN_NF_SYN:
	case MN_NF_ACK:
	case MN_NF_SYNACK:
	case MN_NF_RST:
		CHECK(f->payload_len == 0);
		CHECK(mf == 0);
		break;
	default:
		CHECK(!"accepted an unknown net_flags value");
	}

	/* Re-encoding what was decoded gives back the input's addresses,
	 * lengths and transport header; only fields the encoder fixes (tos,
	 * id, flags, TTL, checksums) may differ. */
	CHECK(mn_wire_encode(re, &f->addr, &f->hdr, NULL, f->payload_len, MN_ENC_CSUM_NONE) ==
	      MN_ALL_HLEN);
	CHECK(memcmp(re, data, 14) == 0);
	CHECK(memcmp(re + 16, data + 16, 2) == 0);	/* tot_len */
	CHECK(memcmp(re + 26, data + 26, 14) == 0);	/* addresses, ports, udp_len */
	CHECK(memcmp(re + 42, data + 42, MN_HDR_LEN) == 0);
}

static void fuzz_codec(const uint8_t *data, size_t len)
{
	struct mn_frame f;
	enum mn_rx_reason strict, lax;

	strict = mn_wire_decode(data, len, 0, &f);
	CHECK((unsigned)strict < MN_RX__COUNT);
	CHECK(mn_rx_reason_str(strict) != NULL);
	if (strict == MN_RX_OK)
		check_accepted(data, len, &f);

	lax = mn_wire_decode(data, len, MN_DEC_NO_CSUM, &f);
	CHECK((unsigned)lax < MN_RX__COUNT);
	if (lax == MN_RX_OK)
		check_accepted(data, len, &f);
	/* skipping checksum checks can only let more frames through */
	if (strict == MN_RX_OK)
		CHECK(lax == MN_RX_OK);
	if (lax != MN_RX_OK && strict != MN_RX_OK)
		CHECK(strict == lax || strict == MN_RX_BAD_IP_CSUM || strict == MN_RX_BAD_UDP_CSUM);
	if (strict != MN_RX_OK && lax == MN_RX_OK)
		CHECK(strict == MN_RX_BAD_IP_CSUM || strict == MN_RX_BAD_UDP_CSUM);
}

static void fuzz_arp(const uint8_t *data, size_t len)
{
	uint8_t src[6], re[MN_ARP_FRAME_LEN];
	struct mn_arp a;

	if (mn_arp_decode(data, len, src, &a) != 0)
		return;
	CHECK(len >= MN_ARP_FRAME_LEN);
	CHECK(a.op == 1 || a.op == 2);
	CHECK(memcmp(src, data + 6, 6) == 0);
	CHECK(mn_arp_encode(re, &a) == MN_ARP_FRAME_LEN);
	/* the ARP body (sender, target IP, op) survives a round trip */
	CHECK(memcmp(re + 12, data + 12, 20) == 0);
	CHECK(memcmp(re + 38, data + 38, 4) == 0);
}

/* ===== the transport's receive path =====
 * One endpoint lives for the whole fuzzing process, so that inputs build on
 * the state earlier ones left (half-open flows, established flows, buffered
 * out-of-order data). It owns the captures' two addresses and listens on 888,
 * the port of every flow in the seed corpus. Buffers are refcounted heap
 * blocks; the invariants: a reference is never dropped twice, and every
 * frame the endpoint sends is one the codec accepts with checksums on. */
struct fz_buf {
	int refs;
	uint8_t mem[];
};

#define FZ_HEADROOM 128
#define FZ_ROOM (FZ_HEADROOM + 9000)

static struct mn_proto *fz_ep;
static uint64_t fz_now;
static uint64_t fz_live;	/* buffers allocated and not yet freed */

static struct fz_buf *fz_new(size_t room)
{
	struct fz_buf *b = malloc(sizeof(*b) + room);

	CHECK(b != NULL);
	b->refs = 1;
	fz_live++;
	return b;
}

static void fz_hold(void *ctx, void *buf)
{
	struct fz_buf *b = buf;

	(void)ctx;
	CHECK(b->refs > 0);
	b->refs++;
}

static void fz_release(void *ctx, void *buf)
{
	struct fz_buf *b = buf;

	(void)ctx;
	CHECK(b->refs > 0);
	if (--b->refs == 0) {
		fz_live--;
		free(b);
	}
}

static int fz_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	struct mn_frame f;

	(void)local;
	CHECK(len >= MN_ALL_HLEN);
	CHECK(mn_wire_decode(frame, len, 0, &f) == MN_RX_OK);
	fz_release(ctx, buf);
	return 0;
}

static void *fz_alloc(void *ctx, uint8_t **payload)
{
	struct fz_buf *b = fz_new(FZ_ROOM);

	(void)ctx;
	*payload = b->mem + FZ_HEADROOM;
	return b;
}

static int fz_deliver(void *ctx, struct mn_flow *f, void *cookie,
		      const struct mn_seg *segs, uint32_t nsegs, uint32_t msg_len)
{
	uint64_t total = 0;

	(void)f;
	(void)cookie;
	for (uint32_t i = 0; i < nsegs; i++) {
		total += segs[i].len;
		fz_release(ctx, segs[i].buf);
	}
	CHECK(total == msg_len);
	CHECK(msg_len > 0 && msg_len <= MN_PROTO_MAX_MSG);
	return 0;
}

static void fz_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev, int err)
{
	(void)ctx;
	(void)f;
	(void)cookie;
	(void)err;
	CHECK(ev >= MN_PROTO_EV_CONNECTED && ev <= MN_PROTO_EV_FAILED);
}

static void fuzz_transport(const uint8_t *data, size_t len)
{
	static const struct mn_proto_ops ops = {
		.tx = fz_tx, .hold = fz_hold, .release = fz_release, .alloc = fz_alloc,
		.deliver = fz_deliver, .event = fz_event,
	};
	struct fz_buf *b;

	if (fz_ep == NULL) {
		struct mn_proto_params p;
		static const uint8_t mac_a[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01 };
		static const uint8_t mac_b[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02 };

		mn_proto_params_default(&p);
		/* The transport's defaults this test was written for (connect 5 s,
		 * close 1 s, keepalive and piggybacked ACKs off, min_rto toward plain
		 * peers too), not machnetd's. */
		p.connect_timeout_ns = 5000000000ull;
		p.close_timeout_ns = 1000000000ull;
		p.keepalive_ns = 0;
		p.ack_delay_ns = 0;
		p.plain_min_rto_ns = 0;
		p.n_local = 2;
		p.local[0].ip = 0xc6120001;	/* 198.18.0.1 */
		memcpy(p.local[0].mac, mac_a, 6);
		p.local[1].ip = 0xc6120002;	/* 198.18.0.2 */
		memcpy(p.local[1].mac, mac_b, 6);
		p.max_flows = 64;
		p.max_half_open = 16;
		p.pool_pkts = 4096;
		p.rx_check_csum = 0;		/* the corpus carries Machnet's zero checksums */
		p.tx_csum = MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP;
		fz_ep = mn_proto_create(&p, &ops, 0);
		CHECK(fz_ep != NULL);
		CHECK(mn_proto_listen(fz_ep, 0, 888, NULL) == 0);
	}
	if (len > FZ_ROOM - FZ_HEADROOM)
		return;
	b = fz_new(FZ_HEADROOM + len);
	memcpy(b->mem + FZ_HEADROOM, data, len);
	/* Time moves 50 us per frame, so timers (RTO, retries) fire too. */
	fz_now += 50000;
	mn_proto_rx(fz_ep, b, b->mem + FZ_HEADROOM, (uint32_t)len, fz_now);
	mn_proto_flush(fz_ep, fz_now);
	if (mn_proto_next_deadline(fz_ep) <= fz_now)
		mn_proto_poll(fz_ep, fz_now);
	/* Whatever the endpoint holds is bounded by its pool. */
	CHECK(fz_live <= 4096 + 64 * 4 + 1);
}

/* ===== fuzz_one_frame: one received frame through the receive path ===== */
int fuzz_one_frame(const uint8_t *data, size_t len);
int fuzz_one_frame(const uint8_t *data, size_t len)
{
	fuzz_codec(data, len);
	fuzz_arp(data, len);
	fuzz_transport(data, len);
	return 0;
}

#ifndef MN_FUZZ_STANDALONE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one_frame(data, size);
	return 0;
}

#else /* MN_FUZZ_STANDALONE: corpus replay driver */

#include <dirent.h>
#include <errno.h>

#define FUZZ_MAX_INPUT 65536

static unsigned long inputs;

/* Runs one input from a buffer of exactly len bytes, so that ASan sees any
 * read past its end. */
static void run_exact(const uint8_t *data, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	CHECK(b != NULL);
	memcpy(b, data, len);
	fuzz_one_frame(b, len);
	free(b);
	inputs++;
}

static uint32_t rng = 0x9e3779b9;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Deterministic mutations of one corpus file: every truncation, every
 * single-bit flip of the headers, every value of the flag bytes, link
 * padding, and random multi-byte damage. */
static void replay_variants(const uint8_t *orig, size_t len)
{
	static uint8_t m[FUZZ_MAX_INPUT + 64];

	run_exact(orig, len);
	for (size_t l = 0; l < len; l++)
		run_exact(orig, l);
	memcpy(m, orig, len);
	for (size_t i = 0; i < len && i < MN_ALL_HLEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			m[i] ^= (uint8_t)(1u << bit);
			run_exact(m, len);
			m[i] ^= (uint8_t)(1u << bit);
		}
	}
	if (len > 45) {
		for (unsigned v = 0; v < 256; v++) {
			m[44] = (uint8_t)v;
			run_exact(m, len);
			m[44] = orig[44];
			m[45] = (uint8_t)v;
			run_exact(m, len);
			m[45] = orig[45];
		}
	}
	memset(m + len, 0, 64);
	run_exact(m, len + 64);
	for (int r = 0; r < 64; r++) {
		memcpy(m, orig, len);
		for (int k = 0, n = 1 + (int)(rnd() % 8); k < n && len; k++)
			m[rnd() % len] = (uint8_t)rnd();
		run_exact(m, len);
	}
}

int main(int argc, char **argv)
{
	static uint8_t buf[FUZZ_MAX_INPUT];
	unsigned files = 0;
	struct dirent *de;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "opendir %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "fopen %s: %s\n", path, strerror(errno));
			closedir(d);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		replay_variants(buf, n);
		files++;
	}
	closedir(d);
	/* random inputs of every small length, independent of the corpus */
	for (int r = 0; r < 2000; r++) {
		size_t n = rnd() % 128;

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		/* half of them get far enough to reach the IPv4 checks */
		if ((r & 1) && n > 14) {
			buf[12] = 0x08;
			buf[13] = 0x00;
			buf[14] = 0x45;
		}
		run_exact(buf, n);
	}
	printf("fuzz_rx replay: %u corpus files, %lu inputs, no invariant violated\n",
	       files, inputs);
	if (fz_ep != NULL) {
		const struct mn_proto_stats *st = mn_proto_stats(fz_ep);

		printf("transport: %llu frames in, %llu data accepted, %llu messages delivered, "
		       "%llu flows opened, %llu frames sent\n",
		       (unsigned long long)st->rx_frames, (unsigned long long)st->rx_data,
		       (unsigned long long)st->msgs_delivered,
		       (unsigned long long)st->flows_opened, (unsigned long long)st->tx_frames);
		/* the corpus must reach the transport's flow logic, not only the codec */
		if (st->flows_opened == 0 || st->rx_data == 0)
			return 1;
	}
	/* an empty corpus would make this test vacuous */
	return files >= 20 ? 0 : 1;
}

#endif
