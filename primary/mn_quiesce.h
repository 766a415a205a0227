/* mn_quiesce: keeps memory that an engine may be reading mapped until the
 * engine has left the poll iteration it was in.
 *
 * Why: DPDK 22.11's memif PMD tears a connection down in the EAL interrupt
 * thread (memif_disconnect) while the engines may be inside a burst on the
 * same port. It clears its "connected" flag, which every new burst checks,
 * but then unmaps the shared regions at once; an engine that passed the
 * check just before (or was descheduled in the middle of a burst) reads
 * unmapped memory and machnetd dies with SIGSEGV. machnetd therefore
 * interposes munmap() (exported from the executable, so the PMDs that EAL
 * loads bind to it): a thread other than an engine first waits, bounded,
 * until every engine that was inside a poll iteration has finished it.
 * Any iteration that starts later sees the cleared flag and leaves the
 * regions alone.
 *
 * Engines bracket each loop iteration with mn_quiesce_enter/exit on their
 * own counter (odd = inside); the cost is one store and one fence per
 * iteration. */
#ifndef MN_QUIESCE_H
#define MN_QUIESCE_H

#include <stdatomic.h>
#include <stdint.h>

#define MN_QUIESCE_MAX		32	/* engine threads per process */
#define MN_QUIESCE_WAIT_NS	100000000ull	/* longest wait of one munmap */

struct mn_quiesce {
	_Alignas(64) _Atomic uint64_t seq;	/* odd while inside an iteration; own line */
};

/* Called by an engine thread before its first iteration: returns its
 * counter (static storage, watched from now on; never NULL), and this
 * thread's own munmap() calls never wait. Beyond MN_QUIESCE_MAX engines the
 * counter returned is a shared one that nobody watches. */
struct mn_quiesce *mn_quiesce_register(void);

static inline void mn_quiesce_enter(struct mn_quiesce *q)
{
	atomic_store_explicit(&q->seq, atomic_load_explicit(&q->seq, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	/* The store must be visible before the PMD reads its flag (a store
	 * followed by a load may be reordered, also on x86). */
	atomic_thread_fence(memory_order_seq_cst);
}

static inline void mn_quiesce_exit(struct mn_quiesce *q)
{
	atomic_store_explicit(&q->seq, atomic_load_explicit(&q->seq, memory_order_relaxed) + 1,
			      memory_order_release);
}

/* Waits until every registered engine that is inside an iteration now has
 * left it (at most MN_QUIESCE_WAIT_NS). Returns how many it waited for. */
unsigned mn_quiesce_wait(void);

#endif
