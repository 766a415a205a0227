/* mn_xport: an engine's transport glue: the proto endpoint (proto/mn_proto.h)
 * bound to the engine's mbufs and ports, and to the app channels it serves
 * (primary/mn_chan.h).
 *
 * Promises:
 * - Copy once: a message's segments are the mbufs the app filled; proto
 *   writes the 96 header bytes into each one's headroom and the same mbuf is
 *   transmitted (a reference is held until it is ACKed). A received frame is
 *   handed to the app as the mbuf it arrived in, trimmed to its payload.
 * - Engine lcore only, after setup: no locks, no malloc, no logging; what
 *   cannot be done is counted (struct mn_xport_stats) and dropped.
 * - Per flow, messages leave in the order the app queued them; a flow whose
 *   send queue is full parks its messages (bounded: MN_XPORT_PEND), and when
 *   the park is full the engine stops taking from the channels, so the app
 *   sees EAGAIN.
 * - Connect = ARP (resumed the moment the reply arrives) + handshake; the
 *   result is the reply event. A channel that goes away (detach, app death)
 *   loses its listeners; every message its app had queued is still sent
 *   (unless the park is full: counted), then its flows are closed in proto
 *   (queued data ACKed or close timeout, RST to the peer), which then
 *   releases every buffer it held for them.
 * - Flow ids given to apps are the engine's flow-table index + 1; sends are
 *   looked up by tuple (the app's flow), in O(1).
 * Setup (mn_xport_init) runs on the main thread before the engine starts.
 */
#ifndef MN_XPORT_H
#define MN_XPORT_H

#include <stdint.h>

#include "mn_abi.h"
#include "mn_chan.h"
#include "mn_config.h"

#define MN_XPORT_PEND	256	/* messages parked by send-queue backpressure */
#define MN_XPORT_LIS	64	/* listeners per engine */
#define MN_XPORT_FLOWS	1024	/* flows per engine */

struct mn_engine;
struct mn_proto;
struct mn_flow;
struct mn_seg;
struct rte_mbuf;

struct mn_xflow {
	struct mn_flow *f;	/* NULL while resolving ARP */
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint16_t chan;
	uint8_t state;		/* XF_* in mn_xport.c */
	uint8_t orphan;		/* its channel is gone: no events, no deliveries */
	uint8_t has_cmd;	/* cmd (CONNECT or CLOSE) awaits its reply */
	uint8_t port;		/* engine port index */
	uint32_t gen;		/* bumped when freed: parked messages check it */
	uint32_t npend;		/* messages of this flow parked */
	uint32_t blocked;	/* round in which a send of it was refused */
	uint32_t hnext;		/* hash chain: index + 1, 0 = end */
	uint32_t free_next;
	uint64_t arp_deadline;	/* ns */
	struct mn_engine_cmd cmd;
};

struct mn_xpend {
	struct mn_tx_msg msg;
	uint32_t idx, gen;	/* the flow it waits for */
};

struct mn_xlistener {
	uint32_t ip;
	uint16_t port;
	uint16_t chan;
	uint8_t used;
};

/* Counters, one writer (the engine); telemetry reads them live. */
struct mn_xport_stats {
	uint64_t msgs_tx;		/* messages handed to proto */
	uint64_t msgs_rx;		/* messages handed to channels */
	uint64_t send_failed;		/* SEND_FAILED events (unknown flow, reset) */
	uint64_t send_parked;		/* sends refused by proto, parked for later */
	uint64_t deliver_busy;		/* deliveries refused: channel RX ring full */
	uint64_t deliver_drop;		/* deliveries dropped: channel gone, too many segments */
	uint64_t rx_multiseg;		/* received frames in several mbufs (dropped) */
	uint64_t flows_full;		/* connects/accepts refused: flow table full */
	uint64_t events_lost;		/* event ring of a channel full */
	uint64_t connects, accepts, resets, closes;
};

struct mn_xport {
	struct mn_proto *ep;
	struct mn_chan_engine *ce;
	uint64_t now;			/* ns, set once per loop */
	uint64_t deadline;		/* proto's next timer, ns */
	uint64_t tsc0;
	double ns_per_tsc;
	uint64_t connect_timeout_ns;
	int csum_offload;		/* every port fills IPv4/UDP checksums */
	uint32_t round;
	uint32_t n_arp;			/* flows waiting for ARP */
	struct mn_xflow *flows;
	uint32_t max_flows, free_head;	/* free_head: index + 1 */
	uint32_t n_flows;
	uint32_t *bucket;		/* index + 1 */
	uint32_t bmask;
	uint32_t last;			/* lookup cache: index + 1 */
	struct mn_seg *segs;		/* scratch: one message's segments */
	uint32_t max_segs;
	struct mn_xlistener lis[MN_XPORT_LIS];
	struct mn_xpend pend[MN_XPORT_PEND];
	unsigned npend;
	struct mn_xport_stats st;
};

/* Creates e's endpoint from cfg (transport section, interfaces) over the
 * engine's started ports, bound to channel context ce. Main thread, after
 * mn_engine_init(). 0 or -errno. */
int mn_xport_init(struct mn_engine *e, const struct mn_config *cfg, struct mn_chan_engine *ce);

/* Releases every buffer the endpoint holds and frees it. After the engine
 * stopped. */
void mn_xport_fini(struct mn_engine *e);

/* Start of a loop iteration: reads the clock once. */
void mn_xport_begin(struct mn_engine *e);

/* A transport frame (one reference, now the endpoint's). */
void mn_xport_rx(struct mn_engine *e, struct rte_mbuf *m);

/* After the receive bursts: flushes ACKs (when rx_got), runs channel
 * commands, refills, parked and new sends, and proto's due timers. Returns
 * how much work it found (0: idle). */
unsigned mn_xport_poll(struct mn_engine *e, unsigned rx_got);

/* An ARP resolution completed: resumes the connects waiting for it. */
void mn_xport_arp_resolved(struct mn_engine *e, unsigned port, uint32_t ip, const uint8_t mac[6]);

/* Every millisecond: connects whose ARP failed or timed out are answered. */
void mn_xport_tick(struct mn_engine *e);

/* A few of proto's counters (for telemetry; any thread, read live). */
struct mn_xport_pstats {
	uint64_t msgs_sent, msgs_delivered, retransmits, rtos, rst_sent, rx_backpressure;
	uint64_t rx_codec_drops;
};
void mn_xport_proto_stats(const struct mn_engine *e, struct mn_xport_pstats *out);

#endif
