/* mn_rxintr: RX interrupts wake sleeping engines.
 *
 * An adaptive engine that sleeps (mn_engine.c, engine_sleep) is woken by a
 * futex doorbell that apps and the control thread ring. A frame on one of
 * its RX queues cannot ring a futex, but where the PMD has RX interrupts
 * (rte_eth_dev_rx_intr_ctl_q: the port configured with intr_conf.rxq, as
 * DPDK's l3fwd-power does) the queue's event fd can: one thread, mn-rxintr,
 * waits on an epoll set of those fds and rings the doorbell of the engine a
 * queue belongs to. The engine adds its queues to the set only while it
 * sleeps (mn_rxintr_arm / mn_rxintr_disarm), so a busy engine's frames cost
 * that thread nothing; an fd that is already readable when added reports
 * at once (edge-triggered epoll reports the state at insertion), and the
 * engine polls once more after saying it sleeps, so no frame is missed
 * (mn_wake.h's protocol, with this thread as one more waker).
 *
 * A queue whose PMD has no RX interrupts (memif, af_packet, af_xdp in DPDK
 * 22.11) is left out: an engine with such a queue keeps waking every
 * rx_poll_us to look at it.
 *
 * The engine calls arm/disarm on its own mn_rxintr_engine; the main thread
 * calls the rest, before the engines start and after they stop.
 */
#ifndef MN_RXINTR_H
#define MN_RXINTR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mn_abi.h"

#define MN_RXINTR_MAX_Q 32	/* RX queues of one engine with interrupts */

struct mn_rxintr_q {
	uint16_t port_id;
	uint16_t queue;
};

/* One engine's part: its queues with interrupts and its doorbell. */
struct mn_rxintr_engine {
	int epfd;			/* the set mn-rxintr waits on; -1: none */
	unsigned n_q;			/* its RX queues with interrupts */
	unsigned n_rxq;			/* all its RX queues */
	struct mn_rxintr_q q[MN_RXINTR_MAX_Q];
	struct mn_engine_wake *wake;	/* rung when one of them fires */
	bool armed;
	_Atomic uint64_t fired;		/* events seen by mn-rxintr */
};

/* Creates the epoll set and starts mn-rxintr. 0 or -errno. */
int mn_rxintr_start(void);

/* Stops mn-rxintr and closes the set (after the engines stopped). */
void mn_rxintr_stop(void);

/* Sets re up for an engine with n_rxq RX queues and doorbell wake (NULL:
 * nothing to ring, no queue is taken). Then offer each queue with
 * mn_rxintr_add_queue. */
void mn_rxintr_engine_init(struct mn_rxintr_engine *re, struct mn_engine_wake *wake,
			   unsigned n_rxq);

/* Takes (port_id, queue) into re when the PMD gives it an RX interrupt
 * (tried by adding it to the set and removing it again). 0 when taken;
 * -ENOTSUP when the PMD has none (or mn-rxintr is not running), -ENOSPC. */
int mn_rxintr_add_queue(struct mn_rxintr_engine *re, uint16_t port_id, uint16_t queue);

/* True when every RX queue of the engine has an interrupt: it can sleep
 * until woken instead of polling every rx_poll_us. */
static inline bool mn_rxintr_covers_all(const struct mn_rxintr_engine *re)
{
	return re->n_q > 0 && re->n_q == re->n_rxq;
}

/* Engine, before it says it sleeps: adds its queues to the set and enables
 * their interrupts. Then mn_rxintr_disarm once awake. */
void mn_rxintr_arm(struct mn_rxintr_engine *re);
void mn_rxintr_disarm(struct mn_rxintr_engine *re);

/* Telemetry: queues with interrupts and events seen, over engines
 * [lo, hi) in the order mn_rxintr_engine_init registered them. */
void mn_rxintr_counts(unsigned lo, unsigned hi, unsigned *queues, uint64_t *fired);

#endif
