/* mn_abi.h: the ABI between machnetd (the DPDK primary) and libmachnet (apps,
 * DPDK secondaries). Every struct, object name, request code and version that
 * crosses the process boundary lives here and nowhere else. Any change to a
 * layout below bumps MN_ABI_VERSION; a secondary refuses to attach to a
 * primary whose version differs.
 */
#ifndef MN_ABI_H
#define MN_ABI_H

#include <stdint.h>

#define MN_ABI_VERSION 1u

/* ===== Section 1: instance description and statistics (owner: machnetd core) ===== */

/* Object names. The primary creates them; a secondary looks them up and, when
 * one is missing, tells its user to check that machnetd runs with the same
 * instance (= --file-prefix). */
#define MN_MZ_INFO          "mn_info"		/* struct mn_info */
#define MN_POOL_NAME_FMT    "mn_pool_%u"	/* one mbuf pool per engine, %u = engine id */
#define MN_OBJ_NAME_LEN     32

#define MN_INFO_MAGIC       0x4d4e4946u		/* "MNIF": written last, when ready */
#define MN_ABI_MAX_IFACES   8
#define MN_ABI_MAX_ENGINES  16
#define MN_ABI_CACHE_LINE   64

/* Why an engine dropped a received frame (index into mn_engine_stats.drops).
 * New reasons are appended; the array keeps MN_DROP__MAX slots so that adding
 * one does not change the layout. */
enum mn_drop_reason {
	MN_DROP_NOT_FOR_US = 0,	/* destination MAC or IP is not ours */
	MN_DROP_BAD_ETHERTYPE,	/* neither IPv4 nor ARP (VLAN, IPv6, ...) */
	MN_DROP_ARP_MALFORMED,	/* short, not Ethernet/IPv4, unknown op */
	MN_DROP_IP_MALFORMED,	/* short, version/IHL/length inconsistent */
	MN_DROP_IP_BAD_CSUM,
	MN_DROP_IP_FRAGMENT,
	MN_DROP_ICMP_NOT_ECHO,	/* ICMP other than echo request */
	MN_DROP_ICMP_MALFORMED,	/* short or bad ICMP checksum */
	MN_DROP_NOT_UDP,	/* IPv4 that is neither ICMP nor UDP */
	MN_DROP_UDP_NOT_TRANSPORT,	/* UDP without the transport magic */
	MN_DROP_NO_TRANSPORT,	/* transport frame, but no transport is attached yet */
	MN_DROP_ARP_TABLE_FULL,	/* could not learn a neighbour */
	MN_DROP__COUNT,
	MN_DROP__MAX = 32
};

/* Per-engine counters: one writer (the engine), any number of readers
 * (telemetry, machnet-stat). Plain uint64_t stores are atomic on x86-64, so a
 * reader sees each counter whole, though not a snapshot of all of them. */
struct mn_engine_stats {
	_Alignas(MN_ABI_CACHE_LINE) uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t tx_fail;		/* frames the PMD refused or no mbuf to build them */
	uint64_t arp_req_answered;	/* ARP requests for a local IP we replied to */
	uint64_t arp_req_sent;		/* resolutions, retries and refreshes */
	uint64_t arp_learned;		/* entries created or refreshed from ARP */
	uint64_t arp_resolved;		/* pending resolutions completed */
	uint64_t arp_failed;		/* resolutions that ran out of retries */
	uint64_t icmp_echo_answered;
	uint64_t polls;			/* loop iterations */
	uint64_t idle_polls;		/* iterations that received nothing */
	uint64_t drops[MN_DROP__MAX];
};

/* One interface as machnetd runs it. IPs in host order. */
struct mn_abi_iface {
	char name[MN_OBJ_NAME_LEN];
	uint8_t mac[6];
	uint16_t port_id;
	uint32_t ip;
	uint32_t gateway;
	uint16_t mtu;
	uint8_t prefix_len;
	uint8_t tx_csum_offload;	/* 1: the NIC fills IPv4/UDP checksums */
};

/* The instance description, memzone MN_MZ_INFO. Written by the primary before
 * it sets magic; read-only for everyone else except the stats blocks. */
struct mn_info {
	uint32_t magic;			/* MN_INFO_MAGIC once complete */
	uint32_t abi_version;		/* MN_ABI_VERSION */
	int32_t primary_pid;
	uint32_t n_ifaces;
	uint32_t n_engines;
	uint32_t mbuf_data_size;	/* data room of every pool's mbufs, headroom included */
	uint64_t start_time_ns;		/* CLOCK_REALTIME at start */
	char instance[MN_OBJ_NAME_LEN];
	struct mn_abi_iface ifaces[MN_ABI_MAX_IFACES];
	char pool_names[MN_ABI_MAX_ENGINES][MN_OBJ_NAME_LEN];
	struct mn_engine_stats stats[MN_ABI_MAX_ENGINES];
};

/* ===== end of section 1 ===== */

/* ===== Section 2: app slots, channels and control requests (owner: libmachnet) ===== */

/* ===== end of section 2 ===== */

#endif
