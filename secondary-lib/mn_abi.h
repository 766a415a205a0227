/* mn_abi.h: the ABI between machnetd (the DPDK primary) and libmachnet (apps,
 * DPDK secondaries). Every struct, object name, request code and version that
 * crosses the process boundary lives here and nowhere else. Any change to a
 * layout below bumps MN_ABI_VERSION; a secondary refuses to attach to a
 * primary whose version differs.
 */
#ifndef MN_ABI_H
#define MN_ABI_H

#include <stdint.h>

#define MN_ABI_VERSION 3u

#define MN_ABI_ASSERT_SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " changed: bump MN_ABI_VERSION")

/* Where machnetd keeps its instance locks and memif sockets, and (as root)
 * apps their lcore locks. */
#define MN_RUN_DIR "/run/machnet"

/* Instance names (= the DPDK --file-prefix of machnetd and its apps):
 * 1..MN_INSTANCE_MAX_LEN characters of [A-Za-z0-9_-]; "mn0" by default. */
#define MN_INSTANCE_MAX_LEN	31
#define MN_INSTANCE_DEFAULT	"mn0"

static inline int mn_instance_name_ok(const char *name)
{
	unsigned n = 0;

	if (name == 0)
		return 0;
	for (; name[n]; n++) {
		char c = name[n];

		if (n == MN_INSTANCE_MAX_LEN ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

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

/* Counter lists (X-macros): each counter set is named once here, and its
 * struct, the per-engine sum, the telemetry JSON (field = the name) and
 * machnet-stat's output are generated from the list. */

/* Why an engine dropped a received frame (index into mn_engine_stats.drops;
 * telemetry field "drop_<name>"). X(ENUM_SUFFIX, name). New reasons are
 * appended; the array keeps MN_DROP__MAX slots so that adding one does not
 * change the layout.
 *   NOT_FOR_US          destination MAC or IP is not ours
 *   BAD_ETHERTYPE       neither IPv4 nor ARP (VLAN, IPv6, ...)
 *   ARP_MALFORMED       short, not Ethernet/IPv4, unknown op
 *   IP_MALFORMED        short, version/IHL/length inconsistent
 *   ICMP_NOT_ECHO       ICMP other than echo request
 *   ICMP_MALFORMED      short or bad ICMP checksum
 *   NOT_UDP             IPv4 that is neither ICMP nor UDP
 *   UDP_NOT_TRANSPORT   UDP without the transport magic
 *   NO_TRANSPORT        transport frame, but no transport is attached yet
 *   ARP_TABLE_FULL      could not learn a neighbour */
#define MN_DROP_REASONS(X) \
	X(NOT_FOR_US, not_for_us) \
	X(BAD_ETHERTYPE, bad_ethertype) \
	X(ARP_MALFORMED, arp_malformed) \
	X(IP_MALFORMED, ip_malformed) \
	X(IP_BAD_CSUM, ip_bad_csum) \
	X(IP_FRAGMENT, ip_fragment) \
	X(ICMP_NOT_ECHO, icmp_not_echo) \
	X(ICMP_MALFORMED, icmp_malformed) \
	X(NOT_UDP, not_udp) \
	X(UDP_NOT_TRANSPORT, udp_not_transport) \
	X(NO_TRANSPORT, no_transport) \
	X(ARP_TABLE_FULL, arp_table_full)

enum mn_drop_reason {
#define MN_DROP_ENUM_(e, n) MN_DROP_##e,
	MN_DROP_REASONS(MN_DROP_ENUM_)
#undef MN_DROP_ENUM_
	MN_DROP__COUNT,
	MN_DROP__MAX = 32
};

/* Per-engine counters, in layout order. X(name):
 *   tx_fail             frames the PMD refused or no mbuf to build them
 *   arp_req_answered    ARP requests for a local IP we replied to
 *   arp_req_sent        resolutions, retries and refreshes
 *   arp_learned         entries created or refreshed from ARP
 *   arp_resolved        pending resolutions completed
 *   arp_failed          resolutions that ran out of retries
 *   polls               loop iterations
 *   idle_polls          iterations that received nothing */
#define MN_ENGINE_COUNTERS(X) \
	X(rx_pkts) X(rx_bytes) X(tx_pkts) X(tx_bytes) X(tx_fail) \
	X(arp_req_answered) X(arp_req_sent) X(arp_learned) X(arp_resolved) X(arp_failed) \
	X(icmp_echo_answered) X(polls) X(idle_polls)

/* Test-only fault injector (config group `fault`), all ports and directions
 * of the engine; zero when off. After drops[] in the layout. */
#define MN_ENGINE_FAULT_COUNTERS(X) \
	X(fault_dropped) X(fault_duplicated) X(fault_corrupted) X(fault_delayed) \
	X(fault_reordered) X(fault_queue_full)

#define MN_STAT_FIELD_(n) uint64_t n;

/* One writer (the engine), any number of readers (telemetry). Plain
 * uint64_t stores are atomic on x86-64, so a reader sees each counter
 * whole, though not a snapshot of all of them. One cache line aligned
 * block per engine. */
struct mn_engine_stats {
	/* The alignment applies to the first field the list expands to. */
	_Alignas(MN_ABI_CACHE_LINE) MN_ENGINE_COUNTERS(MN_STAT_FIELD_)
	uint64_t drops[MN_DROP__MAX];
	MN_ENGINE_FAULT_COUNTERS(MN_STAT_FIELD_)
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

MN_ABI_ASSERT_SIZE(struct mn_engine_stats, 448);
MN_ABI_ASSERT_SIZE(struct mn_abi_iface, 52);
MN_ABI_ASSERT_SIZE(struct mn_info, 8192);

/* ===== end of section 1 ===== */

/* ===== Section 2: app slots, channels and control requests (owner: libmachnet) ===== */

/* Who touches what:
 * - The primary's control code (primary/mn_ctrl.c) creates the control
 *   memzone and every channel's rings at start (no memory is reserved later,
 *   so nothing ever grows the heap while apps run), answers control requests
 *   over rte_mp and watches each app's pidfd.
 * - One engine lcore owns each channel: it is the only primary thread on the
 *   channel's rings and the only thread that allocates or frees mbufs.
 * - An app never calls a mempool or PMD function: it takes free mbufs from its
 *   channel's fill ring and gives used ones back on its used ring. Every ring
 *   an app touches is single-producer/single-consumer between that app thread
 *   and the owning engine, so after the app dies the engine is the only user
 *   and can reset it. */

#define MN_CTRL_MZ_NAME		"mn_ctrl"	/* struct mn_ctrl_shm */
#define MN_CTRL_ACTION		"mn_ctrl"	/* rte_mp action: struct mn_ctrl_req -> mn_ctrl_rep */
#define MN_CTRL_MAGIC		0x4d4e4354u	/* "MNCT" */
#define MN_MBUF_META_NAME	"machnet_msg_meta"	/* mbuf dynfield: struct mn_msg_meta */

#define MN_MAX_MSG (8u * 1024u * 1024u)	/* largest message (= MACHNET_MSG_MAX_LEN) */
#define MN_MAX_APPS		64	/* app slots; also app lcore ids 32..95 */
#define MN_APP_LCORE_BASE	32	/* app lcore id = base + lock index */
#define MN_MAX_CHANNELS		256	/* channels of all apps together */
/* Header overhead, once: every segment leaves MN_TX_HEADROOM bytes before
 * its data for Ethernet (14) + IPv4 (20) + UDP (8) + Machnet (54) headers,
 * and a segment holds mtu - MN_MTU_OVERHEAD payload bytes (the headers
 * inside the MTU). primary/mn_abi_check.c ties both to proto's lengths. */
#define MN_TX_HEADROOM		96
#define MN_MTU_OVERHEAD		82
#define MN_SEG_DATA_OFF		128	/* data_off the library gives each segment */
_Static_assert(MN_SEG_DATA_OFF >= MN_TX_HEADROOM, "a segment's headroom holds the headers");

/* Ring names: "mnc<chan>.<kind>" (at most 11 chars: RTE_RING_NAMESIZE minus
 * the memzone prefix leaves 29). Element sizes: pointers (8 B) except ev. */
#define MN_RING_NAME_FMT	"mnc%u.%s"
#define MN_RING_TX	"tx"	/* app -> engine: head mbuf of each message to send */
#define MN_RING_RX	"rx"	/* engine -> app: head mbuf of each received message */
#define MN_RING_FILL	"fill"	/* engine -> app: free single mbufs, reset */
#define MN_RING_USED	"used"	/* app -> engine: head of each consumed chain (or
				 * unsent one) to be freed */
#define MN_RING_EV	"ev"	/* engine -> app: struct mn_event (32 B elements) */

enum mn_slot_state {
	MN_SLOT_FREE = 0,
	MN_SLOT_LIVE = 1,	/* process registered and alive */
	MN_SLOT_DEAD = 2,	/* died or said goodbye; channels being reclaimed */
};

/* One app process. Written by the primary only. */
struct mn_app_slot {
	uint32_t state;		/* enum mn_slot_state */
	int32_t pid;
	uint32_t gen;		/* bumped at each reuse; requests name slot+gen */
	uint32_t lcore_id;	/* the app's EAL lcore id, for tools */
	uint32_t n_chans;
	uint32_t pad[3];
};

enum mn_chan_state {
	MN_CHAN_FREE = 0,
	MN_CHAN_LIVE = 1,	/* handed to its engine */
	MN_CHAN_CLOSING = 2,	/* engine reclaiming; rings reset after */
};

/* mn_chan_shm.wait bits (the app sets them, the engine clears ARMED). */
#define MN_WAIT_SLEEPING	1u	/* an app thread is (about to be) in FUTEX_WAIT on wake_seq */
#define MN_WAIT_ARMED		2u	/* the channel fd wants a write at the next delivery */

/* One channel's shared description. Written by the primary, except fill_want
 * and wait (written by the app, read by the engine). */
/* A flow as machnet_send() names it (MachnetFlow_t: host order). */
struct mn_flow_key {
	uint32_t lip, rip;
	uint16_t lport, rport;
};

#define MN_CHAN_BLOCKED_MAX 8	/* flows of one channel published as blocked */

struct mn_chan_shm {
	uint32_t state;		/* enum mn_chan_state */
	uint32_t gen;
	uint32_t slot;		/* owning app slot */
	uint32_t engine;	/* owning engine */
	uint32_t fill_want;	/* app: mbufs it waits for (a large send); the
				 * engine keeps min(max(target, want), ring cap)
				 * buffers in the fill ring */
	uint32_t fill_target;	/* primary: buffers normally kept in fill */
	/* Wake-up of a waiting app (secondary-lib/mn_wake.h): after it
	 * enqueues on rx or ev, the engine reads wait; if SLEEPING it bumps
	 * wake_seq and FUTEX_WAKEs it, if ARMED it clears ARMED and writes the
	 * channel's eventfd. */
	uint32_t wait;		/* MN_WAIT_* */
	uint32_t wake_seq;	/* futex word (shared, not private: two processes) */
	/* Flows whose send buffer is full (the engine parked a message of
	 * theirs, transport.tx_flow_pkts): a send on one fails with EAGAIN
	 * before it takes a buffer, so a flow that cannot send does not hold up
	 * the channel's others. The engine writes a slot, then n_blocked
	 * (release); the control thread clears it at attach. An app that reads
	 * it mid-update sends once more (the engine parks it) or sees a
	 * passing EAGAIN: nothing is lost either way. More blocked flows than
	 * slots fall back to the channel's share (tx_chan_pkts). */
	uint32_t n_blocked;
	struct mn_flow_key blocked[MN_CHAN_BLOCKED_MAX];
	uint8_t pad_[60];	/* to three cache lines: channels share none */
};

enum mn_ctrl_state {
	MN_CTRL_STARTING = 0,
	MN_CTRL_RUNNING = 1,
	MN_CTRL_STOPPED = 2,	/* machnetd is exiting: apps fail with ESHUTDOWN */
};

/* One engine's doorbell (secondary-lib/mn_wake.h). An engine that found
 * nothing to do for a while sets sleeping, then looks at everything once
 * more, then FUTEX_WAITs on seq (bounded by its next timer and, without RX
 * interrupts, its RX poll period). Whoever queues work for it (an app's
 * send, the control thread's commands) checks sleeping after the enqueue and,
 * if set, bumps seq and FUTEX_WAKEs it. On its own cache line: apps read it
 * at every send. */
struct mn_engine_wake {
	uint32_t sleeping;	/* engine: 1 from "going to sleep" until awake */
	uint32_t seq;		/* futex word */
	uint64_t sleeps;	/* engine: times it slept (telemetry, tests) */
	uint64_t wakeups;	/* wakers: futex wakes sent */
	uint64_t late;		/* engine: woke later than sleep bound + 1 ms */
	uint32_t pad[8];
};

/* The control memzone MN_CTRL_MZ_NAME. */
struct mn_ctrl_shm {
	uint32_t magic;			/* MN_CTRL_MAGIC */
	uint32_t abi_version;		/* MN_ABI_VERSION */
	volatile uint32_t state;	/* enum mn_ctrl_state */
	int32_t primary_pid;
	uint32_t n_engines;
	uint32_t n_chans;		/* channels usable (<= MN_MAX_CHANNELS) */
	uint32_t mtu;			/* smallest interface MTU */
	uint32_t mss;			/* payload bytes per segment: mtu - 82 */
	uint32_t ring_size;		/* tx, rx, used, ev ring capacity */
	uint32_t fill_size;		/* fill ring capacity (holds an 8 MiB message) */
	int32_t meta_off;		/* offset of struct mn_msg_meta in rte_mbuf */
	uint32_t connect_timeout_ms;
	char instance[32];
	struct mn_app_slot slots[MN_MAX_APPS];
	struct mn_chan_shm chans[MN_MAX_CHANNELS];
	struct mn_engine_wake wake[MN_ABI_MAX_ENGINES];
};

/* Message metadata in each message's head mbuf (dynfield MN_MBUF_META_NAME).
 * The message length is head->pkt_len and its segment count head->nb_segs;
 * every segment holds data_len bytes at data_off (>= MN_TX_HEADROOM), at most
 * mss of them, and the chain ends with next == NULL. */
struct mn_msg_meta {
	/* The flow from the side of the process that holds the message: src =
	 * the local end, dst = the remote end, both when an app sends and when
	 * the engine delivers (the library swaps a delivered flow into
	 * Machnet's "src = sender" view). Host order. */
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint32_t flow_id;		/* engine's flow id (0: unknown; the engine
					 * checks it against the tuple) */
	uint16_t flags;			/* MachnetMsgHdr.flags */
	uint16_t chan;			/* channel id, set by the engine on delivery */
};

/* Channel events (ring MN_RING_EV), engine -> app. */
enum mn_event_type {
	MN_EV_ATTACHED = 1,	/* engine took the channel; fill ring primed */
	MN_EV_LISTEN = 2,	/* reply to MN_REQ_LISTEN (status) */
	MN_EV_CONNECTED = 3,	/* reply to MN_REQ_CONNECT (status, flow) */
	MN_EV_CLOSED = 4,	/* reply to MN_REQ_CLOSE (status) */
	MN_EV_ACCEPTED = 5,	/* unsolicited: a peer opened a flow */
	MN_EV_RESET = 6,	/* unsolicited: flow reset (status -ECONNRESET/-ETIMEDOUT) */
	MN_EV_SEND_FAILED = 7,	/* unsolicited: a message was dropped (status) */
};

struct mn_event {
	uint16_t type;		/* enum mn_event_type */
	uint16_t chan;
	int32_t status;		/* 0 or -errno */
	uint32_t req_id;	/* the request's id for replies, else 0 */
	uint32_t flow_id;
	uint32_t src_ip, dst_ip;	/* the flow, host order: src = local end */
	uint16_t src_port, dst_port;
	uint32_t pad;
};

/* Control requests, app -> primary, in rte_mp_msg.param (<= 256 B). */
enum mn_req_op {
	MN_REQ_HELLO = 1,	/* register this process: pid, lcore_id -> slot */
	MN_REQ_BYE = 2,		/* unregister (all channels detached) */
	MN_REQ_ATTACH = 3,	/* -> chan, engine; then MN_EV_ATTACHED on ev */
	MN_REQ_DETACH = 4,	/* chan */
	MN_REQ_LISTEN = 5,	/* chan, local ip:port; reply MN_EV_LISTEN */
	MN_REQ_CONNECT = 6,	/* chan, local ip, remote ip:port; reply MN_EV_CONNECTED */
	MN_REQ_CLOSE = 7,	/* chan, flow; reply MN_EV_CLOSED */
};

struct mn_ctrl_req {
	uint32_t abi_version;	/* MN_ABI_VERSION of the app */
	uint32_t op;		/* enum mn_req_op */
	int32_t pid;
	uint32_t slot, slot_gen;	/* from the HELLO reply (not for HELLO) */
	uint32_t chan, chan_gen;	/* channel ops */
	uint32_t req_id;	/* echoed in the reply and the completion event */
	uint32_t lcore_id;	/* HELLO */
	uint32_t local_ip, remote_ip;	/* host order */
	uint16_t local_port, remote_port;
	uint32_t flow_id;	/* CLOSE */
	uint32_t engine;	/* ATTACH: the engine wanted + 1; 0: the least loaded */
};

struct mn_ctrl_rep {
	uint32_t abi_version;	/* the primary's */
	uint32_t op;		/* the request's */
	int32_t status;		/* 0 or -errno; for LISTEN/CONNECT/CLOSE 0 means
				 * "queued to the engine": the result is the event */
	uint32_t req_id;
	uint32_t slot, slot_gen;
	uint32_t chan, chan_gen;
	uint32_t engine;
};

MN_ABI_ASSERT_SIZE(struct mn_app_slot, 32);
MN_ABI_ASSERT_SIZE(struct mn_chan_shm, 192);
MN_ABI_ASSERT_SIZE(struct mn_msg_meta, 20);
MN_ABI_ASSERT_SIZE(struct mn_event, 32);
MN_ABI_ASSERT_SIZE(struct mn_ctrl_req, 56);
MN_ABI_ASSERT_SIZE(struct mn_ctrl_rep, 36);
MN_ABI_ASSERT_SIZE(struct mn_engine_wake, 64);
MN_ABI_ASSERT_SIZE(struct mn_ctrl_shm,
		   80 + MN_MAX_APPS * 32 + MN_MAX_CHANNELS * 192 + MN_ABI_MAX_ENGINES * 64);

/* ===== end of section 2 ===== */

#endif
