/* mn_engine: one engine lcore's poll loop.
 *
 * An engine owns one RX/TX queue pair of every port (its TX queues:
 * mn_txq), its mbuf pool, its neighbour state (mn_neigh) and its stats
 * block; nothing in it is shared, so nothing is locked. The engine calls
 * down into its modules, and none of them calls back up into it:
 *   rx burst of each port -> mn_frame_rx (ICMP echo, ARP through mn_neigh,
 *   drops) -> transport frames to mn_transport_rx; then the transport's turn
 *   (mn_transport_poll: ACK flush, channel commands and sends, due flow
 *   timers); flush the TX queues; every millisecond mn_neigh_tick, whose
 *   completed resolutions the engine hands to mn_transport_arp_resolved,
 *   then mn_transport_tick. Frames the modules build go out through the TX
 *   queues they were given. When a poll finds nothing to do the engine idles
 *   by the config's policy. The data path never logs or mallocs; it counts.
 *
 * Setup (mn_engine_init, mn_engine_link_arp, mn_engine_add_probe, then the
 * transport over mn_engine_transport_env) runs on the main thread before
 * launch; mn_engine_main runs on the engine's lcore until *stop is set.
 * Teardown is the reverse, by the same owner (machnetd).
 */
#ifndef MN_ENGINE_H
#define MN_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "mn_abi.h"
#include "mn_config.h"
#include "mn_fault.h"
#include "mn_frame.h"
#include "mn_neigh.h"
#include "mn_rxintr.h"
#include "mn_transport.h"
#include "mn_txq.h"

#define MN_ENGINE_BURST      32
#define MN_ENGINE_MAX_PROBES MN_NEIGH_MAX_PROBES

struct mn_port;

#define MN_ENGINE_MAX_RXQ 16

struct mn_engine_port {
	uint16_t port_id;
	uint16_t queue;		/* its TX queue */
	uint16_t n_rxq;		/* the RX queues it polls: queue, queue + engines, ... */
	uint16_t rxq[MN_ENGINE_MAX_RXQ];
	bool tx_csum_offload;
	/* The port's RSS (mn_port.rss) or NULL: for the transport's connects
	 * (read at mn_transport_init, which copies it). */
	const struct mn_rss *rss;
	struct mn_iface ifc;
	struct mn_txq txq;
	/* Test-only fault injectors, [MN_FAULT_RX] and [MN_FAULT_TX] (the TX
	 * one is also the queue's); NULL when off (the default), which costs
	 * one test per burst. */
	struct mn_fault *fault[2];
};

struct mn_engine {
	unsigned id;
	struct rte_mempool *pool;
	struct mn_engine_stats *st;	/* in the info memzone */
	const atomic_bool *stop;

	enum mn_idle_policy idle;
	uint32_t idle_polls;
	uint32_t idle_sleep_us;
	uint32_t spin_us;	/* keep polling this long after work before idling */
	uint32_t yield_us;	/* adaptive: then yield this long, then sleep */
	uint32_t rx_poll_us;	/* adaptive: first sleep's bound (RX queues do not wake it) */
	uint32_t rx_poll_max_us;	/* adaptive: quiet sleeps double up to this */
	uint64_t cycles_per_us;

	unsigned n_ports;
	struct mn_engine_port ports[MN_CFG_MAX_IFACES];

	struct mn_neigh neigh;

	/* Its RX queues whose interrupts wake it when it sleeps (adaptive). */
	struct mn_rxintr_engine rxi;

	/* The transport and the app channels (mn_transport_init); without it
	 * transport frames are counted as MN_DROP_NO_TRANSPORT. */
	struct mn_transport x;

	/* Set when any port has a fault injector: the loop then reads a
	 * nanosecond clock and counts held frames as pending work. */
	bool faults;
	struct mn_fault_ops fops;
};

/* After mn_transport_init (the doorbell) and mn_rxintr_start: offers e's
 * RX queues to mn_rxintr. Returns how many have interrupts. */
unsigned mn_engine_rx_intr_init(struct mn_engine *e);

/* Creates the ARP rings of engines[0..n) and links each to the others.
 * Returns 0 or -errno (rte_errno of the failed create). */
int mn_engine_link_arp(struct mn_engine *engines, unsigned n);

/* Frees what mn_engine_link_arp created. */
void mn_engine_unlink_arp(struct mn_engine *engines, unsigned n);

/* Prepares e (which must be zeroed or fresh) for engine `id` over the started
 * ports. Returns 0 or -EINVAL. */
int mn_engine_init(struct mn_engine *e, unsigned id, const struct mn_config *cfg,
                   const struct mn_port *ports, unsigned n_ports, struct rte_mempool *pool,
                   struct mn_engine_stats *st, const atomic_bool *stop);

/* Frees what mn_engine_init made (the fault injectors, giving back the
 * frames they hold). Main thread, after the engine's lcore has stopped and
 * its transport is gone; idempotent. */
void mn_engine_fini(struct mn_engine *e);

/* What the transport of e works with: its ports (addresses, TX queues),
 * pool and neighbour state. For mn_transport_init(&e->x, ...). */
void mn_engine_transport_env(struct mn_engine *e, struct mn_transport_env *env);

/* --arp-probe: see mn_neigh_add_probe. */
int mn_engine_add_probe(struct mn_engine *e, uint32_t ip);

/* The probes (for the main thread's reports): *n of them. */
const struct mn_probe *mn_engine_probes(const struct mn_engine *e, unsigned *n);

/* True once the engine has stepped back from port `port` for its hold
 * value h (mn_port.hold; main thread, see mn_memif_redial). */
bool mn_engine_port_parked(const struct mn_engine *e, unsigned port, uint32_t h);

/* For telemetry (any thread): the engine's transport glue, and how many of
 * its pool's mbufs are in use. */
const struct mn_transport *mn_engine_transport(const struct mn_engine *e);
unsigned mn_engine_pool_in_use(const struct mn_engine *e);

/* lcore entry point (rte_eal_remote_launch); arg is a struct mn_engine *. */
int mn_engine_main(void *arg);

#endif
