/* tc (clsact egress, direct action): send a configurable share (mn_cfg.ppm)
 * of the IPv4/UDP frames leaving the interface twice, by cloning each chosen
 * frame out of the same interface before the original continues.
 *
 * The clone passes this program again on its way out; a mark keeps it from
 * being cloned once more, so every chosen frame is sent exactly twice. veth
 * clears the mark when the frame crosses into the peer namespace. */
#include "mn_fault.bpf.h"
#include <linux/pkt_cls.h>

#define MN_DUP_MARK 0x4d4e4450u	/* "MNDP" */

SEC("tc")
int mn_tc_dup(struct __sk_buff *skb)
{
	struct mn_fault_cfg *cfg = mn_fault_cfg_get();
	struct mn_fault_cnt *cnt = mn_fault_cnt_get();
	struct iphdr ip;
	struct udphdr udp;
	__u32 mark;

	if (!cfg || !cnt || skb->mark == MN_DUP_MARK)
		return TC_ACT_OK;
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return TC_ACT_OK;
	if (ip.protocol != IPPROTO_UDP || (ip.frag_off & bpf_htons(0x1fff)) || ip.ihl < 5)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4u, &udp, sizeof(udp)) < 0)
		return TC_ACT_OK;
	if (!mn_fault_port_ok(cfg, udp.source, udp.dest))
		return TC_ACT_OK;
	__sync_fetch_and_add(&cnt->seen, 1);
	if (!mn_fault_roll(cfg))
		return TC_ACT_OK;
	mark = skb->mark;
	skb->mark = MN_DUP_MARK;
	if (bpf_clone_redirect(skb, skb->ifindex, 0) == 0)
		__sync_fetch_and_add(&cnt->hit, 1);
	skb->mark = mark;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
