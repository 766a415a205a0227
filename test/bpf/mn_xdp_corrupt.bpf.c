/* XDP: for a configurable share (mn_cfg.ppm) of the IPv4/UDP frames that
 * arrive on the interface, invert one byte of the UDP payload at a random
 * offset. The IP header and the UDP checksum are left as they were, so a
 * receiver that checks the UDP checksum must reject the frame: a one-byte
 * change alters the 16-bit ones' complement sum by a nonzero multiple of
 * 1 or 256 below 0xffff, which the sum always detects. (A frame whose
 * checksum field is 0, or one a Linux sender left CHECKSUM_PARTIAL with
 * veth offload on, carries no checksum to catch it.) */
#include "mn_fault.bpf.h"
#include "mn_xdp_udp.bpf.h"

/* Covers the largest payload of a 9000-byte jumbo frame; keeps the offset
 * provably bounded for the verifier. */
#define MN_OFF_MASK 0x3fffu

SEC("xdp")
int mn_xdp_corrupt(struct xdp_md *ctx)
{
	struct mn_fault_cfg *cfg = mn_fault_cfg_get();
	struct mn_fault_cnt *cnt = mn_fault_cnt_get();
	void *end = (void *)(long)ctx->data_end;
	struct mn_xdp_udp u;
	__u8 *p;
	__u32 off;

	if (!cfg || !cnt || mn_xdp_udp_parse(ctx, &u) < 0 || !u.payload_len)
		return XDP_PASS;
	if (!mn_fault_port_ok(cfg, u.udp->source, u.udp->dest))
		return XDP_PASS;
	__sync_fetch_and_add(&cnt->seen, 1);
	if (!mn_fault_roll(cfg))
		return XDP_PASS;
	off = (bpf_get_prandom_u32() % u.payload_len) & MN_OFF_MASK;
	p = u.payload + off;
	if ((void *)(p + 1) > end)
		return XDP_PASS;
	*p ^= 0xff;
	__sync_fetch_and_add(&cnt->hit, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
