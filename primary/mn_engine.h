/* mn_engine: one engine lcore's poll loop.
 *
 * An engine owns one RX/TX queue pair of every port, its mbuf pool, an ARP
 * table per port and its stats block; nothing in it is shared, so nothing is
 * locked. Per iteration: rx burst of each port -> mn_frame_rx (ARP, ICMP echo,
 * drops) -> transport frames to mn_engine_rx_transport(); then the
 * transport's turn (mn_transport_poll: ACK flush, channel commands and sends,
 * due flow timers); flush TX; every millisecond, ARP timers. When a poll
 * finds nothing to do it idles by the config's policy. The data path never logs or mallocs; it counts.
 *
 * Setup (mn_engine_init, mn_engine_add_probe) runs on the main thread before
 * launch; mn_engine_main runs on the engine's lcore until *stop is set.
 */
#ifndef MN_ENGINE_H
#define MN_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "mn_abi.h"
#include "mn_neigh.h"
#include "mn_config.h"
#include "mn_fault.h"
#include "mn_frame.h"
#include "mn_transport.h"

#define MN_ENGINE_BURST      32
#define MN_ENGINE_MAX_PROBES 8

struct mn_port;

struct mn_engine_port {
	uint16_t port_id;
	uint16_t queue;
	bool tx_csum_offload;
	struct mn_iface ifc;
	uint16_t n_tx;
	struct rte_mbuf *tx[MN_ENGINE_BURST * 2];
	struct mn_neigh_table arp;
	/* Test-only fault injectors, [MN_FAULT_RX] and [MN_FAULT_TX]; NULL
	 * when off (the default), which costs one test per burst. */
	struct mn_fault *fault[2];
	/* The port's hold word (mn_port.hold) and the last odd value of it
	 * this engine has seen and stepped back for. */
	const _Atomic uint32_t *hold;
	_Atomic uint32_t parked;
};

/* A diagnostic resolution (machnetd --arp-probe): the engine publishes the
 * result, the main thread reports it. */
struct mn_probe {
	uint32_t ip;		/* host order */
	unsigned port;		/* engine port index */
	_Atomic int state;	/* 0 pending, 1 resolved (mac valid), -1 a round failed */
	uint8_t mac[6];
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
	uint64_t cycles_per_us;

	unsigned n_ports;
	struct mn_engine_port ports[MN_CFG_MAX_IFACES];

	unsigned n_probes;
	struct mn_probe probes[MN_ENGINE_MAX_PROBES];

	/* ARP frames reach whichever queue the NIC picks (often queue 0), not
	 * the engine that asked: every engine posts what it learns to the
	 * others' rings (multi-producer, engine threads only) and drains its
	 * own. NULL with a single engine. */
	struct rte_ring *arp_in;
	unsigned n_peers;
	struct rte_ring *arp_peers[MN_CFG_MAX_ENGINES];

	/* The transport and the app channels (mn_transport_init); without it
	 * transport frames are counted as MN_DROP_NO_TRANSPORT. */
	struct mn_transport x;

	/* Set when any port has a fault injector: the loop then reads a
	 * nanosecond clock and counts held frames as pending work. */
	bool faults;
	struct mn_fault_ops fops;
};

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
 * frames they hold). Main thread, after the engine's lcore has stopped;
 * idempotent. */
void mn_engine_fini(struct mn_engine *e);

/* Asks the engine to resolve ip on the port whose subnet (or gateway) reaches
 * it, from its start and until it answers. Returns the probe index or
 * -ENETUNREACH / -ENOSPC. */
int mn_engine_add_probe(struct mn_engine *e, uint32_t ip);

/* True once the engine has stepped back from port `port` for its hold
 * value h (mn_port.hold; main thread, see mn_memif_redial). */
bool mn_engine_port_parked(const struct mn_engine *e, unsigned port, uint32_t h);

/* For telemetry (any thread): the engine's transport glue, and how many of
 * its pool's mbufs are in use. */
const struct mn_transport *mn_engine_transport(const struct mn_engine *e);
unsigned mn_engine_pool_in_use(const struct mn_engine *e);

/* lcore entry point (rte_eal_remote_launch); arg is a struct mn_engine *. */
int mn_engine_main(void *arg);

/* Resolve-or-start for the transport glue (engine lcore only): dst's next hop
 * on port `port`. 0 and mac when known; -EINPROGRESS when a request is out
 * (completion arrives through mn_engine_arp_resolved as soon as the reply
 * does); -EHOSTUNREACH after a failed resolution; -ENETUNREACH when no route. */
int mn_engine_resolve(struct mn_engine *e, unsigned port, uint32_t dst_ip, uint8_t mac[6]);

/* Queues m for transmission on engine port `port` (flushed once per loop,
 * one tx_burst per port). Engine lcore only; takes ownership of m. */
void mn_engine_tx(struct mn_engine *e, unsigned port, struct rte_mbuf *m);

/* Hook: a received transport frame (UDP to our IP with the transport magic).
 * Takes ownership of m and gives it to the transport (mn_transport_rx); an
 * engine without one counts MN_DROP_NO_TRANSPORT and frees. */
void mn_engine_rx_transport(struct mn_engine *e, struct mn_engine_port *p, struct rte_mbuf *m);

/* Hook: the pending resolution of ip on port completed (called from the RX
 * path the moment the reply is learned). Connects waiting for ARP resume here. */
void mn_engine_arp_resolved(struct mn_engine *e, unsigned port, uint32_t ip,
                            const uint8_t mac[6]);

#endif
