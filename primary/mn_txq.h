/* mn_txq: one engine's transmit queue on one port.
 *
 * Whoever builds a frame on the engine's lcore (the engine's responder, the
 * neighbour module, the transport glue) pushes it here; the engine flushes
 * every queue once per loop, one tx_burst per port. A full queue is flushed
 * on the push. The flush applies the port's TX fault injector (test-only)
 * and steps back from a port the main thread holds (mn_port.hold: then the
 * frames are lost as on a dead wire, and the transport resends). It counts
 * into the engine's stats block: tx_pkts, tx_bytes, tx_fail. Engine lcore
 * only; no locks, no allocation.
 */
#ifndef MN_TXQ_H
#define MN_TXQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "mn_abi.h"

#define MN_TXQ_SIZE 64	/* twice the engine's burst */

struct mn_fault;

struct mn_txq {
	uint16_t port_id, queue;
	uint16_t n;
	struct rte_mbuf *pkts[MN_TXQ_SIZE];
	struct mn_fault *fault;		/* TX injector, NULL when off */
	struct mn_engine_stats *st;
	uint64_t cycles_per_us;		/* the injector's clock */
	/* The port's hold word and the last odd value of it this queue's
	 * engine has stepped back for. */
	const _Atomic uint32_t *hold;
	_Atomic uint32_t parked;
};

/* Sets q up for queue `queue` of port `port_id`. */
void mn_txq_init(struct mn_txq *q, uint16_t port_id, uint16_t queue, const _Atomic uint32_t *hold,
		 struct mn_engine_stats *st, uint64_t cycles_per_us);

/* True while the main thread restarts the port: then its burst functions
 * must not be called, and this says it has stepped back (parked). */
static inline bool mn_txq_port_held(struct mn_txq *q)
{
	uint32_t h = atomic_load_explicit(q->hold, memory_order_acquire);

	if (likely(!(h & 1)))
		return false;
	atomic_store_explicit(&q->parked, h, memory_order_release);
	return true;
}

/* Transmits what is queued (and what the injector releases). */
void mn_txq_flush(struct mn_txq *q);

/* Queues m (takes ownership). */
static inline void mn_txq_push(struct mn_txq *q, struct rte_mbuf *m)
{
	if (q->n == MN_TXQ_SIZE)
		mn_txq_flush(q);
	q->pkts[q->n++] = m;
}

/* Nanoseconds on the TSC (the fault injectors' clock). */
static inline uint64_t mn_txq_now_ns(uint64_t cycles_per_us)
{
	uint64_t t = rte_rdtsc();

	return t / cycles_per_us * 1000 + t % cycles_per_us * 1000 / cycles_per_us;
}

#endif
