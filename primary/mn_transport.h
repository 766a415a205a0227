/* mn_transport: an engine's transport glue: the proto endpoint (proto/mn_proto.h)
 * bound to the engine's mbufs and ports, and to the app channels it serves
 * (primary/mn_chan.h).
 *
 * Promises:
 * - Copy once: a message's segments are the mbufs the app filled; proto
 *   writes the 96 header bytes into each one's headroom and the same mbuf is
 *   transmitted (a reference is held until it is ACKed). A received frame is
 *   handed to the app as the mbuf it arrived in, trimmed to its payload.
 * - Engine lcore only, after setup: no locks, no malloc, no logging; what
 *   cannot be done is counted (struct mn_transport_stats) and dropped.
 * - Per flow, messages leave in the order the app queued them; a flow whose
 *   send queue is full parks its messages (bounded: MN_TRANSPORT_PEND, and
 *   MN_TRANSPORT_PEND_CHAN per channel). A channel with that many parked
 *   is not polled until one leaves (its ring fills: EAGAIN for its app, not
 *   for the others); when the whole park is full the engine stops taking
 *   from every channel. Before either, a channel's share of the pool for
 *   sending (mn_chan, transport.tx_chan_pkts) usually runs out first: its
 *   fill ring stays empty and its app sees EAGAIN.
 * - Connect = ARP (resumed the moment the reply arrives) + handshake; the
 *   result is the reply event. A channel that goes away (detach, app death)
 *   loses its listeners; every message its app had queued is still sent
 *   (unless the park is full: counted), then its flows are closed in proto
 *   (queued data ACKed or close timeout, RST to the peer), which then
 *   releases every buffer it held for them.
 * - Flow ids given to apps are the engine's flow-table index + 1; sends are
 *   looked up by tuple (the app's flow) in proto's flow hash, whose cookie
 *   is the glue's entry: one lookup, one table.
 * Setup (mn_transport_init) runs on the main thread before the engine starts.
 */
#ifndef MN_TRANSPORT_H
#define MN_TRANSPORT_H

#include <stdint.h>

#include <stdbool.h>

#include "mn_abi.h"
#include "mn_chan.h"
#include "mn_config.h"
#include "mn_neigh.h"

#define MN_TRANSPORT_PEND	256	/* messages parked by send-queue backpressure */
#define MN_TRANSPORT_PEND_CHAN	32	/* ... of one channel: then its ring waits */
#define MN_TRANSPORT_LIS	64	/* listeners per engine */

struct mn_proto;
struct mn_txq;
struct rte_mempool;
struct mn_flow;
struct mn_seg;
struct rte_mbuf;
struct mn_steer;

/* A flow's glue state; the proto flow's cookie points here (proto's flow
 * hash finds it by tuple: mn_tr_flow_find). */
struct mn_tr_flow {
	struct mn_flow *f;	/* NULL while resolving ARP */
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint16_t chan;
	uint8_t state;		/* XF_* in mn_transport.c */
	uint8_t orphan;		/* its channel is gone: no events, no deliveries */
	uint8_t has_cmd;	/* cmd (CONNECT or CLOSE) awaits its reply */
	uint8_t port;		/* engine port index */
	uint32_t gen;		/* bumped when freed: parked messages check it */
	uint32_t npend;		/* messages of this flow parked */
	uint32_t blocked;	/* round in which a send of it was refused */
	uint32_t free_next;
	/* The app quota this flow is charged to (apps.max_flows), NULL when
	 * not (yet, or any more: orphaned flows are released at once). */
	struct mn_app_quota *quota;
	/* Accepted from a SYN that engine steer_from - 1 steered here (0:
	 * none): it is told with steer_token when the flow is gone. */
	uint8_t steer_from;
	uint32_t steer_token;
	uint64_t arp_deadline;	/* ns */
	struct mn_engine_cmd cmd;
};

struct mn_tr_pend {
	struct mn_tx_msg msg;
	uint32_t idx, gen;	/* the flow it waits for */
};

struct mn_tr_listener {
	uint32_t ip;
	uint16_t port;
	uint16_t chan;
	uint8_t used;
	struct mn_app_quota *quota;	/* charged to (apps.max_listeners) */
};

/* The glue's counters, one writer (the engine); telemetry reads them live.
 * X(name, shown): shown 1 = field `name` of /machnet/stats.
 *   msgs_tx        messages handed to proto
 *   msgs_rx        messages handed to channels
 *   send_failed    SEND_FAILED events (unknown flow, reset)
 *   send_parked    sends refused by proto, parked for later
 *   deliver_busy   deliveries refused: channel RX ring full
 *   deliver_drop   deliveries dropped: channel gone, too many segments
 *   rx_multiseg    received frames in several mbufs (dropped)
 *   flows_full     connects/accepts refused: flow table full
 *   events_lost    event ring of a channel full
 *   quota_flows    connects refused (EDQUOT) and accepted flows reset: the
 *                  app holds apps.max_flows
 *   quota_listeners listens refused (EDQUOT): the app holds apps.max_listeners
 *   rx_flow_full   no room: the flow's receive window (rx_flow_pkts) used (per
 *                  refused packet, and per 20 us re-check while closed)
 *   rx_chan_full   no room: the channel's share (rx_chan_pkts) used (likewise)
 *   chan_rx_held_max  high-water of received mbufs one channel held
 *   tx_chan_full   refills withheld: a channel's share for sending used
 *   steered_out    frames handed to the engine that owns their flow (mn_steer)
 *   steered_in     frames other engines handed to this one
 *   steer_drop     frames or forgets lost between engines: ring full or no buffer
 *   steer_full     SYNs dropped: this engine cannot remember more steered flows */
#define MN_TRANSPORT_COUNTERS(X) \
	X(msgs_tx, 1) X(msgs_rx, 1) X(send_failed, 1) X(send_parked, 1) X(deliver_busy, 1) \
	X(deliver_drop, 1) X(rx_multiseg, 0) X(flows_full, 1) X(events_lost, 1) \
	X(connects, 0) X(accepts, 0) X(resets, 0) X(closes, 0) \
	X(quota_flows, 1) X(quota_listeners, 1) \
	X(rx_flow_full, 1) X(rx_chan_full, 1) X(chan_rx_held_max, 1) X(tx_chan_full, 1) \
	X(steered_out, 1) X(steered_in, 1) X(steer_drop, 1) X(steer_full, 1)

struct mn_transport_stats {
#define MN_TRANSPORT_FIELD_(n, shown) uint64_t n;
	MN_TRANSPORT_COUNTERS(MN_TRANSPORT_FIELD_)
#undef MN_TRANSPORT_FIELD_
};

/* What the glue works with, given by its engine (mn_engine_transport_env):
 * it transmits through the ports' TX queues and resolves next hops through
 * the neighbour state; it never calls the engine. */
struct mn_transport_port {
	struct mn_iface ifc;
	bool tx_csum_offload;
	const struct mn_rss *rss;	/* the port's RSS, or NULL (see mn_port_pick) */
	struct mn_txq *txq;
};

struct mn_transport_env {
	unsigned engine_id;
	struct mn_steer *steer;		/* several engines: frames to their owner; else NULL */
	struct rte_mempool *pool;
	struct mn_neigh *neigh;
	unsigned n_ports;
	struct mn_transport_port ports[MN_CFG_MAX_IFACES];
};

struct mn_transport {
	struct mn_proto *ep;
	struct mn_transport_env env;
	struct mn_chan_engine *ce;
	uint64_t now;			/* ns, set once per loop */
	uint64_t deadline;		/* proto's next timer, ns */
	uint64_t tsc0;
	double ns_per_tsc;
	uint64_t connect_timeout_ns;
	uint32_t rx_flow_pkts;		/* receive window of a flow (transport.rx_flow_pkts) */
	uint32_t rx_chan_pkts;		/* received mbufs a channel may hold */
	int csum_offload;		/* every port fills IPv4/UDP checksums */
	uint32_t round;
	uint32_t n_arp;			/* flows waiting for ARP */
	struct mn_tr_flow *flows;
	uint32_t max_flows, free_head;	/* free_head: index + 1 */
	/* flows[flows_hw..max_flows) were never used (taken in order when the
	 * free list is empty): their pages are never touched, and the scans
	 * over the table (a channel going away, ARP) stop at flows_hw, the
	 * most flows the engine ever held at once, not max_flows. */
	uint32_t flows_hw;
	uint32_t n_flows;
	struct mn_seg *segs;		/* scratch: one message's segments */
	uint32_t max_segs;
	struct mn_tr_listener lis[MN_TRANSPORT_LIS];
	struct mn_tr_pend pend[MN_TRANSPORT_PEND];
	unsigned npend;
	uint16_t chan_pend[MN_MAX_CHANNELS];	/* parked messages per channel */
	/* While a frame another engine steered here is processed: that
	 * engine + 1 and its token (for on_accepted); 0 otherwise. */
	uint8_t rx_from;
	uint32_t rx_token;
	struct mn_transport_stats st;
};

/* Creates t's endpoint from cfg (transport section, interfaces) over env,
 * bound to channel context ce. Main thread, after mn_engine_init(). 0 or
 * -errno. */
int mn_transport_init(struct mn_transport *t, const struct mn_transport_env *env,
		      const struct mn_config *cfg, struct mn_chan_engine *ce);

/* Releases every buffer the endpoint holds and frees it. After the engine
 * stopped; idempotent. */
void mn_transport_fini(struct mn_transport *t);

/* True between mn_transport_init() and mn_transport_fini(). */
static inline bool mn_transport_up(const struct mn_transport *t)
{
	return t->ep != NULL;
}

/* Start of a loop iteration: reads the clock once. */
void mn_transport_begin(struct mn_transport *t);

/* A transport frame (one reference, now the endpoint's). */
void mn_transport_rx(struct mn_transport *t, struct rte_mbuf *m);

/* After the receive bursts: flushes ACKs (when rx_got), runs channel
 * commands, refills, parked and new sends, and proto's due timers. Returns
 * how much work it found (0: idle). */
unsigned mn_transport_poll(struct mn_transport *t, unsigned rx_got);

/* An ARP resolution of ip on port completed (the engine passes on what
 * mn_neigh reports): resumes the connects waiting for it. */
void mn_transport_arp_resolved(struct mn_transport *t, unsigned port, uint32_t ip,
			       const uint8_t mac[6]);

/* Every millisecond: connects whose ARP failed or timed out are answered. */
void mn_transport_tick(struct mn_transport *t);

/* What telemetry reads (any thread, racy but whole 64-bit reads): the
 * glue's counters, its flows, and its endpoint (for mn_proto_stats();
 * NULL before mn_transport_init()). */
const struct mn_transport_stats *mn_transport_stats(const struct mn_transport *t);
uint32_t mn_transport_nflows(const struct mn_transport *t);
const struct mn_proto *mn_transport_proto(const struct mn_transport *t);

#endif
