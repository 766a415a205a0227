/* mn_fault.bpf.h: what the fault-injection eBPF programs share.
 *
 * Each program object carries two one-entry array maps:
 *   mn_cfg  (struct mn_fault_cfg)  written from user space (bpftool map
 *           update, see scripts/netns.sh) while the program is attached, so
 *           one object serves any share without recompiling;
 *   mn_cnt  (struct mn_fault_cnt)  frames looked at and frames hit, read back
 *           by the tests to compare the measured effect with what was done.
 * Only IPv4/UDP frames are candidates: ARP and everything else pass
 * untouched, so address resolution keeps working under any share.
 */
#ifndef MN_FAULT_BPF_H
#define MN_FAULT_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Shares are in parts per million; MN_PPM_ONE means every frame. */
#define MN_PPM_ONE 1000000u

struct mn_fault_cfg {
	__u32 ppm;	/* share of candidate frames to hit, 0..1000000 */
	__u32 port;	/* 0: every UDP frame; else only frames from or to this port */
};

struct mn_fault_cnt {
	__u64 seen;	/* candidate frames (IPv4/UDP, port filter passed) */
	__u64 hit;	/* frames dropped / corrupted / duplicated */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mn_fault_cfg);
} mn_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mn_fault_cnt);
} mn_cnt SEC(".maps");

static __always_inline struct mn_fault_cfg *mn_fault_cfg_get(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&mn_cfg, &k);
}

static __always_inline struct mn_fault_cnt *mn_fault_cnt_get(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&mn_cnt, &k);
}

/* The per-frame coin: true for cfg->ppm of every million calls. */
static __always_inline int mn_fault_roll(const struct mn_fault_cfg *cfg)
{
	return cfg->ppm && bpf_get_prandom_u32() % MN_PPM_ONE < cfg->ppm;
}

static __always_inline int mn_fault_port_ok(const struct mn_fault_cfg *cfg,
					    __u16 sport_be, __u16 dport_be)
{
	if (!cfg->port)
		return 1;
	return bpf_ntohs(sport_be) == cfg->port || bpf_ntohs(dport_be) == cfg->port;
}

#endif
