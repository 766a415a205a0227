/* XDP: drop a configurable share (mn_cfg.ppm) of the IPv4/UDP frames that
 * arrive on the interface. Everything else passes. */
#include "mn_fault.bpf.h"
#include "mn_xdp_udp.bpf.h"

SEC("xdp")
int mn_xdp_drop(struct xdp_md *ctx)
{
	struct mn_fault_cfg *cfg = mn_fault_cfg_get();
	struct mn_fault_cnt *cnt = mn_fault_cnt_get();
	struct mn_xdp_udp u;

	if (!cfg || !cnt || mn_xdp_udp_parse(ctx, &u) < 0)
		return XDP_PASS;
	if (!mn_fault_port_ok(cfg, u.udp->source, u.udp->dest))
		return XDP_PASS;
	__sync_fetch_and_add(&cnt->seen, 1);
	if (!mn_fault_roll(cfg))
		return XDP_PASS;
	__sync_fetch_and_add(&cnt->hit, 1);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
