/* mn_config_table.c: the keys of machnetd's configuration, one table per
 * group (see mn_config_priv.h for what a row holds and who reads it). To
 * change a key, edit its row here, then regenerate docs/CONFIG.md:
 * build/test/unit/config/config_ref write docs/CONFIG.md
 */
#include <sched.h>

#include "mn_config_priv.h"

/* The transport's defaults are proto's (one source of truth). Included by a
 * path relative to this file so that the parser library needs no include
 * directory beyond primary/. */
#include "../proto/mn_proto.h"

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
_Static_assert(MN_PROTO_DEFAULT_MIN_RTO_NS % NS_PER_US == 0, "min RTO in whole us");
_Static_assert(MN_PROTO_DEFAULT_MAX_RTO_NS % NS_PER_US == 0, "max RTO in whole us");
_Static_assert(MN_PROTO_DEFAULT_TARGET_QDELAY_NS % NS_PER_US == 0, "target delay in whole us");
_Static_assert(MN_PROTO_DEFAULT_CONNECT_TIMEOUT_NS % NS_PER_MS == 0, "connect timeout in whole ms");
_Static_assert(MN_PROTO_DEFAULT_KEEPALIVE_NS % NS_PER_MS == 0, "keepalive in whole ms");
_Static_assert(MN_PROTO_DEFAULT_ACK_DELAY_NS % NS_PER_US == 0, "ack delay in whole us");
_Static_assert(MN_PROTO_DEFAULT_GIVE_UP_NS % NS_PER_MS == 0, "give-up time in whole ms");

#define F(st, m) offsetof(st, m), sizeof(((st *)0)->m)
#define C(m) F(struct mn_config, m)
#define I(m) F(struct mn_cfg_iface, m)
#define P(m) F(struct mn_fault_params, m)
#define ROWS(t) t, sizeof(t) / sizeof(t[0])

static const char *const cc_names[] = { "auto", "fixed", NULL };	/* enum mn_cc_mode */
static const char *const idle_names[] = { "busy", "yield", "sleep", "adaptive", NULL };	/* enum mn_idle_policy */

static const struct key top_keys[] = {
	{ "instance", KT_STR, C(instance), .sdef = "mn0", .check_str = mn_cfg_check_instance,
	  .range_md = "1..31 of `[A-Za-z0-9_-]`",
	  .help = "Instance name: the DPDK `--file-prefix` (hugepage files `/dev/hugepages/<instance>map_*`, "
		  "runtime dir `/var/run/dpdk/<instance>`). Applications name it to attach; two instances on "
		  "one host need different names." },
	{ .name = "lcores", .type = KT_GROUP }, { .name = "memory", .type = KT_GROUP }, { .name = "interfaces", .type = KT_GROUP },
	{ .name = "transport", .type = KT_GROUP }, { .name = "engine", .type = KT_GROUP }, { .name = "arp", .type = KT_GROUP }, { .name = "apps", .type = KT_GROUP },
	{ .name = "eal", .type = KT_GROUP }, { .name = "fault", .type = KT_GROUP },
};

static const struct key lcores_keys[] = {
	{ "main", KT_INT, C(main_cpu), .def = 0, .lo = 0, .hi = CPU_SETSIZE - 1,
	  .range_md = "0..1023 (`CPU_SETSIZE`-1)",
	  .help = "CPU of lcore id 0, the control thread (app requests, ARP, timers' slow path)." },
	{ "engines", KT_CUSTOM, .lo = 0, .hi = CPU_SETSIZE - 1,
	  .type_md = "array or list of integers", .def_md = "`[1]`", .range_md = "1..16 entries, each 0..1023",
	  .help = "CPU of each engine thread; engine *i* is lcore id *i*+1. Two engines on one CPU is an error "
		  "(`duplicate lcore`); an engine on `main`'s CPU is allowed (2-core machines)." },
};

static const struct key memory_keys[] = {
	{ "mbufs", KT_INT, C(mbufs), .def = 65535, .lo = 1024, .hi = 1 << 24,
	  .help = "Size of the packet-buffer pool (best as 2^n - 1)." },
	{ "mbuf_cache", KT_INT, C(mbuf_cache), .def = 256, .lo = 0, .hi = MN_MEMPOOL_CACHE_MAX,
	  .help = "Per-lcore mempool cache. DPDK also requires `mbuf_cache <= mbufs / 1.5`, which these ranges "
		  "always satisfy." },
	{ "mbuf_data_size", KT_INT, C(mbuf_data_size), .def = 2048 + MN_PKTMBUF_HEADROOM, .lo = 256,
	  .hi = UINT16_MAX, .range_md = "256..65535, and >= `mtu + 14 + 128` for every interface",
	  .help = "Data room per mbuf including the 128-byte `RTE_PKTMBUF_HEADROOM`; a whole frame must fit in "
		  "one mbuf." },
	{ "hugepage_mb", KT_INT, C(hugepage_mb), .def = 1024, .lo = 64, .hi = 1 << 20,
	  .help = "Hugepage memory the primary reserves up front (EAL `-m`). Reserve everything here: growing "
		  "the heap later does IPC with every application and can block. Must at least hold the pool: "
		  "`mbufs * (mbuf_data_size + 192)` bytes (192 = `struct rte_mbuf` plus mempool header, an "
		  "estimate); rings and tables need more." },
};

/* Interfaces: the strings are checked together (device xor pci, ip/prefix,
 * gateway in the subnet), so only their rows live here. */
static const struct key iface_keys[] = {
	{ "name", KT_CUSTOM, .type_md = "string", .def_md = "`\"link<index>\"`",
	  .range_md = "1..31 of `[A-Za-z0-9_-]`, unique", .help = "Name used in logs and stats." },
	{ "device", KT_CUSTOM, .type_md = "string", .def_md = "`\"\"`",
	  .range_md = "a DPDK vdev argument `<driver><n>[,k=v...]`, no spaces, < 256 chars; vdev names unique",
	  .help = "Passed as `--vdev=<device>`. See \"Device strings\"." },
	{ "pci", KT_CUSTOM, .type_md = "string", .def_md = "`\"\"`",
	  .range_md = "`DDDD:BB:DD.F` or `BB:DD.F` (hex, device <= 0x1f, function <= 7), unique",
	  .help = "PCI port; EAL is given `-a <pci>` (allow-list) for each. Stored as `DDDD:BB:DD.F` in lower "
		  "case (domain `0000` when omitted), the name EAL gives the port." },
	{ "mac", KT_CUSTOM, .type_md = "string", .def_md = "none",
	  .range_md = "`xx:xx:xx:xx:xx:xx` (or `-` separated), unicast, not all zero, unique",
	  .help = "With `device` or `pci`: the MAC the stack uses on this port (when absent, the port's own "
		  "MAC). Alone: selects the PCI port that has this MAC. `\"\"` is the same as absent." },
	{ "ip", KT_CUSTOM, .type_md = "string", .def_md = "required",
	  .range_md = "dotted IPv4, unicast, not 0.0.0.0 / 127/8 / multicast / class E; unique across "
		      "interfaces; may carry `/len`",
	  .help = "The interface's address. `\"198.18.0.1/24\"` sets `prefix_len` too (then `prefix_len` must "
		  "not also be given). For prefixes up to /30 the network and broadcast addresses are refused." },
	{ "prefix_len", KT_CUSTOM, I(prefix_len), .def = 24, .lo = 0, .hi = 32, .type_md = "integer",
	  .help = "Subnet length: destinations inside it are resolved by ARP directly." },
	{ "gateway", KT_CUSTOM, .type_md = "string", .def_md = "`\"\"` (none)",
	  .range_md = "IPv4 inside the interface's subnet and not `ip`",
	  .help = "Next hop for destinations outside the subnet. Without one, such destinations are "
		  "unreachable." },
	{ "mtu", KT_INT, I(mtu), .def = 1500, .lo = 576, .hi = 9000,
	  .help = "IP MTU of the link (Ethernet payload). Frames up to `mtu + 14` bytes." },
	{ "rx_checksum", KT_BOOL, I(rx_checksum), .def = 1,
	  .help = "Verify IPv4 and UDP checksums on receive (drop bad ones). Turn off only on links that cannot "
		  "corrupt (memif). A Machnet peer whose NIC has no TX checksum offload may send IPv4 checksum "
		  "0: such frames are dropped (counted as a codec drop) unless this is false." },
	{ "rx_interrupts", KT_BOOL, I(rx_interrupts), .def = 1,
	  .help = "Configure the port with RX interrupts (`intr_conf.rxq`), so that an engine asleep "
		  "(`engine.idle = \"adaptive\"`) is woken by a frame instead of looking every "
		  "`rx_poll_us`. PMDs without them (memif, af_packet and af_xdp in DPDK 22.11; net_tap has "
		  "them) ignore it; machnetd logs how many RX queues have one. Set false for a NIC whose "
		  "driver fails to start with them." },
	{ "queues", KT_INT, I(queues), .def = 0, .lo = 0, .hi = 16,
	  .range_md = "0..16 (0 = one per engine), at least `lcores.engines`' count",
	  .help = "RX/TX queue pairs of the port. Engine *i* transmits on queue *i* and receives on every "
		  "queue *q* with *q* mod engines = *i*; a frame of a flow another engine owns is handed to "
		  "it (software steering). memif connects as many queue pairs as the end with fewer has: "
		  "give a stack with fewer engines than its memif peer as many queues as the peer has, so "
		  "that every queue the peer sends on is polled." },
};

static const struct key transport_keys[] = {
	{ "min_rto_us", KT_INT, C(min_rto_us), .def = MN_PROTO_DEFAULT_MIN_RTO_NS / NS_PER_US, .lo = 1,
	  .hi = 60000000, .range_md = "1..60000000, <= `max_rto_us`",
	  .help = "Lower bound of the retransmission timeout." },
	{ "max_rto_us", KT_INT, C(max_rto_us), .def = MN_PROTO_DEFAULT_MAX_RTO_NS / NS_PER_US, .lo = 1,
	  .hi = 60000000, .help = "Upper bound of the (backed-off) retransmission timeout." },
	{ "max_retries", KT_INT, C(max_retries), .def = MN_PROTO_DEFAULT_MAX_RETRIES, .lo = 1, .hi = 64,
	  .help = "Timeouts in a row (retransmissions of one packet, or keepalive re-probes) before the flow "
		  "may be declared dead; it is declared dead once `give_up_ms` has also passed since the "
		  "first of them." },
	{ "window", KT_INT, C(window), .def = MN_PROTO_DEFAULT_WINDOW, .lo = 1, .hi = 256,
	  .help = "Maximum packets in flight per flow." },
	{ "cc", KT_ENUM, C(cc), .def = MN_CC_AUTO, .enums = cc_names,
	  .help = "Congestion control: `auto` uses the delay-based controller when the peer advertises it, else "
		  "the fixed window; `fixed` always uses the fixed window (halved on loss)." },
	{ "target_delay_us", KT_INT, C(target_delay_us), .def = MN_PROTO_DEFAULT_TARGET_QDELAY_NS / NS_PER_US,
	  .lo = 1, .hi = 1000000, .help = "Target delay of the delay-based controller." },
	{ "connect_timeout_ms", KT_INT, C(connect_timeout_ms),
	  .def = MN_PROTO_DEFAULT_CONNECT_TIMEOUT_NS / NS_PER_MS, .lo = 1, .hi = 600000,
	  .help = "How long a connect waits for the handshake before failing." },
	{ "keepalive_ms", KT_INT, C(keepalive_ms), .def = MN_PROTO_DEFAULT_KEEPALIVE_NS / NS_PER_MS, .lo = 0,
	  .hi = 3600000, .range_md = "0..3600000 (0 = off)",
	  .help = "Idle time after which a flow with nothing unacknowledged probes its peer, so that an app "
		  "waiting for a reply learns of a dead peer stack instead of waiting forever: a live peer ACKs "
		  "the probe, a restarted one answers RST (`ECONNRESET`), a silent one is re-probed with the RTO "
		  "and its backoff and the flow fails with `ETIMEDOUT` after `max_retries` re-probes and "
		  "`give_up_ms`. Worst-case detection time: `keepalive_ms` + the larger of `give_up_ms` and "
		  "the retry budget (the sum of the `max_retries`+1 backed-off RTOs, RTO·2^i each capped at "
		  "`max_rto_us`: 511 ms with the defaults on a LAN) + one `max_rto_us`. Cost: one 97-byte frame "
		  "(the 96 bytes of headers and one byte) and its 96-byte ACK per idle flow per interval, and "
		  "none while data flows. Sent only to peers that run this stack (the extensions were agreed); "
		  "never to a plain Machnet peer." },
	{ "ack_delay_us", KT_INT, C(ack_delay_us), .def = MN_PROTO_DEFAULT_ACK_DELAY_NS / NS_PER_US, .lo = 0,
	  .hi = 1000000, .range_md = "0..1000000, <= `min_rto_us`/2 (0 = off)",
	  .help = "Piggybacked ACKs, toward peers that run this stack and also enable them (agreed in the "
		  "handshake): the ACK of a data packet waits up to this long for data going back on the flow "
		  "(the reply to a request, typically) and rides on it, so a request-reply exchange sends two "
		  "packets instead of four. It goes alone when the delay runs out, at once (per receive burst) "
		  "for every second packet, for a packet that fills a hole and for anything out of order, "
		  "duplicated or refused, and after all if the data packet that carried it is not ACKed within "
		  "twice the delay. The wait is subtracted from the peer's RTT samples. Never toward a plain "
		  "Machnet peer (its data packets carry no ACK). Left out, a `min_rto_us` below 100 lowers the "
		  "default to half of it; set explicitly above that half it is an error. Measured on the 2-vCPU "
		  "test machine: window-1 P50 14.0 -> 12.0 us in its slow vCPU mode, about the same (+5% RPC/s) "
		  "in the fast mode (docs/PERFORMANCE.md)." },
	{ "plain_min_rto_us", KT_INT, C(plain_min_rto_us),
	  .def = MN_PROTO_DEFAULT_PLAIN_MIN_RTO_NS / NS_PER_US, .lo = 0, .hi = 60000000,
	  .range_md = "0..60000000, <= `max_rto_us` (0 = `min_rto_us`; left out, at most `max_rto_us`)",
	  .help = "Lower bound of the retransmission timeout toward a plain Machnet peer (no extensions "
		  "agreed). Machnet's engine can go milliseconds without running on a shared CPU (3.4 ms "
		  "seen); with the 1 ms floor each such pause fired a spurious RTO. 10 ms outlasts such "
		  "pauses; Machnet's own RTO is about 3 s. Spurious RTOs that still happen are detected and "
		  "undone (counter `rtos_spurious`). Lower it only on a lossy link to a peer that is never "
		  "descheduled: a loss only the RTO repairs waits this long." },
	{ "give_up_ms", KT_INT, C(give_up_ms), .def = MN_PROTO_DEFAULT_GIVE_UP_NS / NS_PER_MS, .lo = 0,
	  .hi = 86400000, .range_md = "0..86400000 (0 = `max_retries` alone)",
	  .help = "How long a flow whose retransmissions or keepalive probes go unanswered lives on before "
		  "it fails with `ETIMEDOUT` (and only after `max_retries` timeouts too). Meanwhile the "
		  "packet is resent every `max_rto_us` (the backoff's cap), so a peer stack, its VM or this "
		  "stack stopped for less than this (SIGSTOP, live migration, a debugger) finds its flows "
		  "alive and traffic resumes within `max_rto_us` of its return. The trade-off: a peer that "
		  "died (with no restart to answer RST) is detected only after this long (plus "
		  "`keepalive_ms` on an idle flow), where `max_retries` alone takes about 0.5 s with the "
		  "defaults (0 restores that). Linux TCP's tcp_retries2 gives up after about 15 minutes. "
		  "Handshakes are bounded by `connect_timeout_ms` instead." },
	{ "max_flows", KT_INT, C(max_flows), .def = MN_CFG_DEFAULT_FLOWS, .lo = 16, .hi = MN_CFG_MAX_FLOWS,
	  .range_md = "16..1048576",
	  .help = "Flows each engine can hold at once (connecting, open or closing; the connects and accepts "
		  "past it fail with `ENOSPC`, counted in `flows_full`). The table is allocated at start "
		  "but its entries are touched only when first used, so memory grows with the most flows "
		  "ever held at once: about 0.7 KB per idle flow (measured, \"Flow memory\" above), "
		  "plus 8 bytes per configured flow for the lookup hash, always." },
	{ "rx_flow_pkts", KT_INT, C(rx_flow_pkts), .def = 0, .lo = 0, .hi = 1 << 24,
	  .range_md = "0..16777216 (0 = `memory.mbufs` / 8)",
	  .help = "Receive window of a flow, in packets (mbufs): what the stack holds for it (reassembly, "
		  "out of order) plus what it delivered to the app and the app has not taken and given back. "
		  "Data beyond it is dropped unACKed (counter `rx_window_closed`), the flow stays up, and a "
		  "peer running this stack stops sending and probes until the app reads (docs/RELIABILITY.md). "
		  "While the app holds nothing of the flow one message of any size is still taken, so a "
		  "message larger than the window passes. The default (2047 with 16383 mbufs) holds two "
		  "1 MiB messages." },
	{ "rx_chan_pkts", KT_INT, C(rx_chan_pkts), .def = 0, .lo = 0, .hi = 1 << 24,
	  .range_md = "0..16777216 (0 = `memory.mbufs` / 4)",
	  .help = "Received mbufs all the flows of one channel (one app) may hold, delivered and not given "
		  "back (gauge `rx_app_held`, high-water `chan_rx_held_max`): one app that stops reading "
		  "cannot take the pool from the others. A flow of a channel over it closes its window as "
		  "above." },
	{ "tx_flow_pkts", KT_INT, C(tx_flow_pkts), .def = 0, .lo = 0, .hi = 1 << 24,
	  .range_md = "0..16777216 (0 = `memory.mbufs` / 8)",
	  .help = "Send buffer of a flow, in packets: queued and unacknowledged in the stack. A message "
		  "that does not fit waits in the engine, and from then on `machnet_send` on that flow fails "
		  "with `EAGAIN` until it has room (the channel's other flows go on; up to 8 flows of a "
		  "channel are told apart, more fall back to the channel's share); a flow with nothing "
		  "queued takes one message of any size." },
	{ "tx_chan_pkts", KT_INT, C(tx_chan_pkts), .def = 0, .lo = 0, .hi = 1 << 24,
	  .range_md = "0..16777216 (0 = `memory.mbufs` / 4)",
	  .help = "Mbufs one channel (one app) may hold for sending: free buffers handed to it, messages it "
		  "queued, and sent data not yet acknowledged. Beyond it the engine stops refilling the "
		  "channel and `machnet_send` fails with `EAGAIN` until the peer acknowledges (counter "
		  "`tx_chan_full`), so an app whose peer stops reading cannot take the pool from the others. "
		  "A channel with nothing outstanding is still given one message of any size." },
};

static const struct key engine_keys[] = {
	{ "idle", KT_ENUM, C(idle), .def = MN_IDLE_ADAPTIVE, .enums = idle_names,
	  .help = "What an engine does when it finds nothing to do. `adaptive` (the default): keeps "
		  "polling `spin_us` after the last work, then yields for `yield_us`, then sleeps in the "
		  "kernel until an app or the control thread queues something (they ring its doorbell only "
		  "when it said it sleeps: no syscall while it is busy), its next transport timer, a "
		  "frame on an RX queue with an interrupt (`interfaces.rx_interrupts`), or `rx_poll_us` (a "
		  "look at the RX queues that have none). Idle, an "
		  "engine then costs well under 1% of a CPU. After `idle_polls` empty polls, the others: "
		  "`busy` keeps spinning (dedicated, isolated cores only), `yield` calls `sched_yield()` "
		  "forever (a whole CPU when alone on it), `sleep` sleeps `idle_sleep_us` at a time." },
	{ "idle_polls", KT_INT, C(idle_polls), .def = 256, .lo = 0, .hi = 1000000,
	  .help = "Consecutive empty polls before idling." },
	{ "idle_sleep_us", KT_INT, C(idle_sleep_us), .def = 50, .lo = 1, .hi = 1000000,
	  .help = "Sleep per idle step for `idle = \"sleep\"`." },
	{ "yield_us", KT_INT, C(yield_us), .def = 500, .lo = 0, .hi = 1000000,
	  .help = "`idle = \"adaptive\"`: after `spin_us`, yield the CPU this long before sleeping. Traffic "
		  "that resumes within it pays no wake-up (a few microseconds through the futex)." },
	{ "rx_poll_us", KT_INT, C(rx_poll_us), .def = 250, .lo = 10, .hi = 100000,
	  .help = "`idle = \"adaptive\"`: how long an engine sleeps at first when one of its RX queues "
		  "has no RX interrupt (memif, af_packet, af_xdp), since frames arriving there do not wake "
		  "it: the added latency of the first frame after a short pause, and of a reply slower than "
		  "`yield_us` (a busy CPU). Each wake-up costs about 13 us of CPU on the 2-vCPU test VM; "
		  "after 100 ms of quiet the period backs off to `rx_poll_max_us`." },
	{ "rx_poll_max_us", KT_INT, C(rx_poll_max_us), .def = 8000, .lo = 10, .hi = 1000000,
	  .help = "`idle = \"adaptive\"`: after 100 ms asleep with nothing to do, each further empty "
		  "sleep doubles the next, from `rx_poll_us` up to this (set it to `rx_poll_us` for a fixed "
		  "period): an idle engine then wakes about 125 times a second, under 0.5% of a CPU, and the "
		  "first frame after a long pause waits up to this long for it. Apps and timers still wake "
		  "it at once." },
	{ "spin_us", KT_INT, C(spin_us), .def = 0, .lo = 0, .hi = 1000,
	  .help = "After a poll that moved anything, keep polling this long before idling (no effect with "
		  "`idle = \"busy\"`). On a core shared by yielding threads, the answer to what was just sent "
		  "(an app's reply coming back through another CPU) often arrives within a few microseconds, "
		  "and yielding in between costs a context switch away and one back (about 1.1 us each on the "
		  "2-vCPU test machine). `conf/mn-*.conf` use 2: window-1 P50 8.7 -> 8.0 us in their layout "
		  "(fast vCPU mode, docs/PERFORMANCE.md). With nothing to overlap it only delays the other "
		  "thread: keep 0 when an engine shares its core with threads that do not talk to it." },
};

static const struct key arp_keys[] = {
	{ "timeout_s", KT_INT, C(arp_timeout_s), .def = 300, .lo = 1, .hi = 86400,
	  .help = "Lifetime of a learned ARP entry." },
};

static const struct key apps_keys[] = {
	{ "max", KT_INT, C(max_apps), .def = 64, .lo = 1, .hi = 128,
	  .help = "Applications attached at once." },
	{ "channel_ring", KT_INT, C(channel_ring), .def = 1024, .lo = 64, .hi = 65536,
	  .check_int = mn_cfg_check_pow2, .range_md = "power of two, 64..65536",
	  .help = "Entries in each ring between an application and the engines." },
	{ "max_flows", KT_INT, C(app_max_flows), .def = 0, .lo = 0, .hi = MN_CFG_MAX_FLOWS,
	  .range_md = "0..1048576, <= `transport.max_flows` (0 = a quarter of it: 16384)",
	  .help = "Flows one application may hold at once, over all its channels and engines: connected "
		  "and accepted ones, counted from the connect (or the accept) until the flow's end is "
		  "reported, its close completes, or its channel is detached or its app dies. At the limit "
		  "a connect fails with `EDQUOT` (not `ENOSPC`: closing the app's own flows helps, waiting "
		  "for others does not), and a flow accepted on one of its listeners is reset at once (the "
		  "peer's connect has succeeded; it sees `ECONNRESET`). Both are counted (`quota_flows` in "
		  "`/machnet/stats`). The default lets four applications fill an engine. An application's "
		  "flows live on the engines of its channels; the limit is per application, not per "
		  "engine." },
	{ "max_listeners", KT_INT, C(app_max_listeners), .def = 0, .lo = 0, .hi = MN_CFG_ENGINE_LISTENERS,
	  .range_md = "0..64 (0 = a quarter of an engine's listeners: 16)",
	  .help = "Listeners one application may hold at once, over all its channels. At the limit "
		  "`machnet_listen()` fails with `EDQUOT` (counted: `quota_listeners`). Released when the "
		  "channel is detached or the application dies." },
};

static const struct key eal_keys[] = {
	{ "log_level", KT_STR, C(log_level), .sdef = "", .check_str = mn_cfg_check_no_space,
	  .def_md = "`\"\"` (EAL's default)", .range_md = "< 32 chars, no spaces",
	  .help = "Passed as `--log-level=<log_level>`, e.g. `\"7\"`, `\"debug\"`, `\"pmd.net.memif:debug\"`." },
	{ "args", KT_CUSTOM, .type_md = "array or list of strings", .def_md = "`[ ]`",
	  .range_md = "up to 32, each 1..255 chars",
	  .help = "Extra EAL arguments, appended verbatim after the generated ones. Refused because the file "
		  "already decides them, or because they make secondaries impossible: `--file-prefix`, "
		  "`--proc-type`, `--lcores`, `-l`, `-c`, `--main-lcore`, `-m`, `--in-memory`, `--no-shconf`, "
		  "`--no-huge`, `--huge-unlink`." },
};

static const struct key fault_keys[] = {
	{ "enabled", KT_BOOL, C(fault.enabled), .def = 0, .help = "Create the injectors." },
	{ "seed", KT_INT, C(fault.seed), .def = 1, .lo = 0, .hi = INT64_MAX,
	  .range_md = "0..2^63-1 (`L` suffix above 2^31-1)", .help = "Base seed of every injector." },
	{ "rx", KT_GROUP, .type_md = "group", .def_md = "no faults", .range_md = "keys below",
	  .help = "Faults of frames from the port, before the stack sees them." },
	{ "tx", KT_GROUP, .type_md = "group", .def_md = "no faults", .range_md = "keys below",
	  .help = "Faults of frames to the port, just before `rte_eth_tx_burst`." },
};

/* mn_fault_params_default() restated: the parser links no injector code. */
static const struct key fault_dir_keys[] = {
	{ "drop_ppm", KT_INT, P(drop_ppm), .def = 0, .lo = 0, .hi = MN_FAULT_PPM, .help = "Drop the frame." },
	{ "dup_ppm", KT_INT, P(dup_ppm), .def = 0, .lo = 0, .hi = MN_FAULT_PPM,
	  .help = "Send a copy right behind it (copied before any corruption)." },
	{ "corrupt_ppm", KT_INT, P(corrupt_ppm), .def = 0, .lo = 0, .hi = MN_FAULT_PPM,
	  .help = "Flip one bit of one byte, chosen uniformly in `corrupt_min_offset`..`corrupt_max_offset` "
		  "(clipped to the frame)." },
	{ "reorder_ppm", KT_INT, P(reorder_ppm), .def = 0, .lo = 0, .hi = MN_FAULT_PPM,
	  .help = "Hold the frame back a further `reorder_us` (exempt from `keep_order`), so frames sent after "
		  "it within that time overtake it. Without traffic in that window the frame is only late." },
	{ "reorder_us", KT_INT, P(reorder_us), .def = 100, .lo = 1, .hi = MN_FAULT_MAX_DELAY_US,
	  .help = "Extra hold of a reordered frame." },
	{ "delay_us", KT_INT, P(delay_us), .def = 0, .lo = 0, .hi = MN_FAULT_MAX_DELAY_US,
	  .help = "Hold every frame this long..." },
	{ "jitter_us", KT_INT, P(jitter_us), .def = 0, .lo = 0, .hi = MN_FAULT_MAX_DELAY_US,
	  .range_md = "0..1000000, <= `delay_us`",
	  .help = "...plus a uniform draw in [-jitter, +jitter]. **Jitter reorders frames** (as netem's does): a "
		  "frame drawn a short delay overtakes one drawn a long delay." },
	{ "keep_order", KT_BOOL, P(keep_order), .def = 0,
	  .help = "Under jitter, hold each frame until the one before it has left, so order is kept (delays "
		  "then lie in [delay - jitter, delay + jitter] but are not independent)." },
	{ "corrupt_min_offset", KT_INT, P(corrupt_min_off), .def = MN_FAULT_ETH_HDR_LEN, .lo = 0,
	  .hi = UINT16_MAX, .range_md = "0..65535, <= `corrupt_max_offset`",
	  .help = "First byte that may be flipped. The default skips the Ethernet header, so the IPv4 or UDP "
		  "checksum catches every flip (a frame no longer than this is left alone)." },
	{ "corrupt_max_offset", KT_INT, P(corrupt_max_off), .def = UINT16_MAX, .lo = 0, .hi = UINT16_MAX,
	  .help = "Last byte that may be flipped." },
	{ "queue", KT_INT, P(queue), .def = MN_FAULT_QUEUE_DEFAULT, .lo = MN_FAULT_QUEUE_MIN,
	  .hi = MN_FAULT_QUEUE_MAX,
	  .help = "Frames one injector can hold (delay, reorder). When it is full a frame passes undelayed and "
		  "is counted; the injector never blocks or allocates." },
};

/* Every group, in the order of the file's sections and of docs/CONFIG.md. */
const struct group mn_cfg_groups[G_COUNT] = {
	{ "", ROWS(top_keys), 0, false },
	{ "lcores", ROWS(lcores_keys), 0, false },
	{ "memory", ROWS(memory_keys), 0, false },
	{ "interfaces", ROWS(iface_keys), offsetof(struct mn_config, ifaces), true },
	{ "transport", ROWS(transport_keys), 0, false },
	{ "engine", ROWS(engine_keys), 0, false },
	{ "arp", ROWS(arp_keys), 0, false },
	{ "apps", ROWS(apps_keys), 0, false },
	{ "eal", ROWS(eal_keys), 0, false },
	{ "fault", ROWS(fault_keys), 0, false },
	{ "fault.rx", ROWS(fault_dir_keys), offsetof(struct mn_config, fault.rx), false },
	{ "fault.tx", ROWS(fault_dir_keys), offsetof(struct mn_config, fault.tx), false },
};
