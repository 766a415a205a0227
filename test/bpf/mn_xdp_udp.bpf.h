/* mn_xdp_udp.bpf.h: bounds-checked location of the UDP header and payload
 * of an IPv4 frame in an XDP buffer. */
#ifndef MN_XDP_UDP_BPF_H
#define MN_XDP_UDP_BPF_H

#include "mn_fault.bpf.h"

struct mn_xdp_udp {
	struct udphdr *udp;
	__u8 *payload;		/* first byte after the UDP header */
	__u32 payload_len;	/* from the UDP length, clipped to the buffer */
};

/* 0 and *u filled for an unfragmented IPv4/UDP frame, -1 for anything else
 * (including later fragments, whose first bytes are not a UDP header). */
static __always_inline int mn_xdp_udp_parse(struct xdp_md *ctx, struct mn_xdp_udp *u)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl, ulen, avail;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
		return -1;
	if (ip->frag_off & bpf_htons(0x1fff))
		return -1;
	ihl = ip->ihl * 4u;
	if (ihl < sizeof(*ip))
		return -1;
	u->udp = (void *)ip + ihl;
	if ((void *)(u->udp + 1) > end)
		return -1;
	u->payload = (__u8 *)(u->udp + 1);
	ulen = bpf_ntohs(u->udp->len);
	ulen = ulen > sizeof(struct udphdr) ? ulen - sizeof(struct udphdr) : 0;
	avail = (__u32)((long)end - (long)u->payload);
	u->payload_len = ulen < avail ? ulen : avail;
	return 0;
}

#endif
