/* mn_config: machnetd's configuration, read from a libconfig file.
 *
 * Loading validates everything before machnetd touches EAL or a device; every
 * error is reported as "FILE:LINE: what was expected". Field names mirror the
 * file's keys (docs/CONFIG.md is the reference). Pure C + libconfig, no EAL,
 * so the unit tests run without hugepages.
 */
#ifndef MN_CONFIG_H
#define MN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_fault.h"

#define MN_CFG_MAX_IFACES   8
#define MN_CFG_MAX_ENGINES  16
#define MN_CFG_MAX_EAL_ARGS 32
#define MN_CFG_NAME_LEN     32
#define MN_CFG_STR_LEN      256
#define MN_CFG_ERR_LEN      512
/* transport.max_flows: flows per engine. Flow ids are table index + 1 in a
 * uint32_t (mn_abi_check.c); proto takes up to 2^24. */
#define MN_CFG_DEFAULT_FLOWS (1u << 16)
#define MN_CFG_MAX_FLOWS     (1u << 20)
/* Listeners per engine (MN_TRANSPORT_LIS; the per-app default is a quarter). */
#define MN_CFG_ENGINE_LISTENERS 64

enum mn_idle_policy {
	MN_IDLE_BUSY = 0,	/* spin: for dedicated cores */
	MN_IDLE_YIELD,		/* sched_yield() after idle_polls empty polls */
	MN_IDLE_SLEEP,		/* nanosleep(idle_sleep_us) after idle_polls empty polls */
	MN_IDLE_ADAPTIVE,	/* spin_us polling, yield_us yielding, then asleep until woken */
};

enum mn_cc_mode {
	MN_CC_AUTO = 0,		/* delay-based when the peer advertises the extension, else fixed */
	MN_CC_FIXED,		/* fixed window with halving on loss, always */
};

struct mn_cfg_iface {
	char name[MN_CFG_NAME_LEN];	/* "link0" */
	char device[MN_CFG_STR_LEN];	/* vdev string "net_memif0,role=server,..." or "" for PCI */
	char pci[MN_CFG_NAME_LEN];	/* "0000:3b:00.0" or "" */
	bool has_mac;
	uint8_t mac[6];			/* required for PCI unless pci is set; optional for vdevs */
	uint32_t ip;			/* host order */
	uint8_t prefix_len;		/* 0..32, default 24 */
	uint32_t gateway;		/* host order, 0 = none */
	uint16_t mtu;			/* 576..9000, default 1500 */
	bool rx_checksum;		/* verify IP/UDP checksums on receive (default true) */
	bool rx_interrupts;		/* ask the port for RX interrupts (default true) */
	uint16_t queues;		/* RX/TX queue pairs; 0 = one per engine */
	int line;			/* line of this entry in the file, for later messages */
};

/* Test-only fault injection (group `fault`): one injector per engine, port
 * and direction, each seeded with mn_fault_derive_seed(seed, engine, port,
 * dir). Off unless enabled; the params are validated either way. */
struct mn_cfg_fault {
	bool enabled;			/* default false */
	uint64_t seed;			/* default 1 */
	struct mn_fault_params rx;	/* frames from the port, before the stack sees them */
	struct mn_fault_params tx;	/* frames to the port, just before tx_burst */
	int line;			/* line of the group, 0 when absent */
};

struct mn_config {
	char path[MN_CFG_STR_LEN];
	char instance[MN_CFG_NAME_LEN];	/* [A-Za-z0-9_-]{1,31}; default "mn0" */

	/* lcores: CPU numbers. main runs the control thread; one engine each. */
	unsigned main_cpu;		/* default 0 */
	unsigned n_engines;		/* >= 1 */
	unsigned engine_cpus[MN_CFG_MAX_ENGINES];

	/* memory */
	uint32_t mbufs;			/* default 65535 */
	uint32_t mbuf_cache;		/* default 256, <= 512 and <= mbufs/1.5 */
	uint32_t mbuf_data_size;	/* data room incl. headroom; default 2048 + 128 */
	uint32_t hugepage_mb;		/* EAL -m; default 1024 */

	unsigned n_ifaces;		/* >= 1 */
	struct mn_cfg_iface ifaces[MN_CFG_MAX_IFACES];

	/* transport */
	uint32_t min_rto_us;		/* default 1000 */
	uint32_t max_rto_us;		/* default 1000000 */
	uint32_t plain_min_rto_us;	/* toward plain Machnet peers, default 10000, 0 = min_rto_us */
	uint32_t max_retries;		/* default 8 */
	uint32_t give_up_ms;		/* unanswered this long (and max_retries) fails a flow, default 60000 */
	uint32_t window;		/* packets, default 32 */
	enum mn_cc_mode cc;
	uint32_t target_delay_us;	/* Swift target delay, default 50 */
	uint32_t connect_timeout_ms;	/* default 3000 */
	uint32_t keepalive_ms;		/* idle time before a keepalive probe, default 1000, 0 = off */
	uint32_t ack_delay_us;		/* piggybacked ACKs: wait for data this long, default 50, 0 = off */
	uint32_t max_flows;		/* per engine, default MN_CFG_DEFAULT_FLOWS */
	uint32_t rx_flow_pkts;		/* receive window per flow, packets; 0 = mbufs / 8 */
	uint32_t rx_chan_pkts;		/* received mbufs one channel may hold; 0 = mbufs / 4 */
	uint32_t tx_flow_pkts;		/* send buffer per flow, packets; 0 = mbufs / 8 */
	uint32_t tx_chan_pkts;		/* mbufs one channel may hold for sending; 0 = mbufs / 4 */

	/* engine idle policy */
	enum mn_idle_policy idle;	/* default adaptive */
	uint32_t idle_polls;		/* empty polls before idling, default 256 */
	uint32_t idle_sleep_us;		/* for MN_IDLE_SLEEP, default 50 */
	uint32_t spin_us;		/* no idling this long after an iteration with work, default 0 */
	uint32_t yield_us;		/* adaptive: yield this long before sleeping, default 500 */
	uint32_t rx_poll_us;		/* adaptive: asleep, look at RX queues this often, default 250 */
	uint32_t rx_poll_max_us;	/* adaptive: ... backing off to this when quiet, default 8000 */

	/* ARP */
	uint32_t arp_timeout_s;		/* default 300 */

	/* apps */
	uint32_t max_apps;		/* default 64 */
	uint32_t channel_ring;		/* power of two, default 1024 */
	uint32_t app_max_flows;		/* flows one app holds at once, <= max_flows; 0
					 * (default): a quarter of max_flows */
	uint32_t app_max_listeners;	/* listeners one app holds; 0 (default): a quarter of
					 * an engine's listener table */

	/* extra EAL arguments (from the file's eal.args list) */
	unsigned n_eal_args;
	char eal_args[MN_CFG_MAX_EAL_ARGS][MN_CFG_STR_LEN];
	char log_level[MN_CFG_NAME_LEN];	/* EAL --log-level, default "" (EAL's) */

	struct mn_cfg_fault fault;	/* test-only */
};

/* Fills cfg with every default (no interfaces, one engine on CPU 1). */
void mn_config_defaults(struct mn_config *cfg);

/* Loads and validates path into cfg (defaults first, then the file). Returns
 * 0, or -EINVAL (bad content) / -ENOENT / -EACCES (cannot read: fopen's
 * errno) with err holding "FILE:LINE: message" (LINE omitted when the problem
 * is the file as a whole; err may be NULL). Only the first mistake is
 * reported. Pure: CPUs, devices and interfaces are not looked up here. */
int mn_config_load(const char *path, struct mn_config *cfg, char *err, size_t errlen);

/* Writes a human-readable summary of cfg, then every key's effective value
 * (the defaults too) as "group.key = value;" lines (used by --check -v). */
void mn_config_print(const struct mn_config *cfg, void *file /* FILE * */);

/* The groups of the reference: i = 0, 1, ... gives "" (top level), "lcores",
 * ..., "fault", "fault.rx" (whose rows fault.tx shares), then NULL. */
const char *mn_config_group_name(unsigned i);

/* Writes the Markdown table of group's keys (key, type, default, range,
 * meaning) from the same rows the parser uses: the generated parts of
 * docs/CONFIG.md. Returns 0, or -ENOENT for an unknown group. */
int mn_config_reference_md(const char *group, void *file /* FILE * */);

/* True when the interface names neither a vdev nor a PCI address: machnetd
 * picks the (PCI) port whose MAC is ifc->mac, so EAL must probe every PCI
 * device for this config. */
static inline bool mn_cfg_iface_by_mac(const struct mn_cfg_iface *ifc)
{
	return ifc->device[0] == '\0' && ifc->pci[0] == '\0' && ifc->has_mac;
}

/* Builds machnetd's EAL argument vector from a loaded cfg:
 *   machnetd --proc-type=primary --file-prefix=<instance>
 *   --lcores=0@<main_cpu>,1@<engine_cpus[0]>,... -m <hugepage_mb> --iova-mode=va
 *   --vdev=<device> (per vdev interface)
 *   --no-pci            when no interface uses PCI, or
 *   -a <pci> (each)     when interfaces name PCI addresses (allow-list), or
 *   nothing             when a port is selected by MAC (all PCI probed)
 *   --log-level=<log_level> (if set), then eal.args in order.
 * Lcore id 0 is the main (control) thread; ids 1..n_engines are the engines.
 * The strings live in buf; argv[argc] is set to NULL, so max_argv must leave
 * room for it. Returns argc, or -EINVAL (bad arguments), -E2BIG (argv too
 * short) or -ENOSPC (buf too short). Command-line arguments after `--` are
 * machnetd's to append. */
int mn_config_eal_argv(const struct mn_config *cfg, char *buf, size_t buflen,
		       char **argv, int max_argv);

#endif
