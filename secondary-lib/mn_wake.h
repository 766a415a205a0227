/* mn_wake.h: sleeping and waking across the primary/secondary boundary, the
 * one protocol both sides follow (the words are in mn_abi.h: struct
 * mn_engine_wake, mn_chan_shm.wait and wake_seq).
 *
 * No lost wake-up, Dekker style, with a full barrier on each side:
 *   sleeper: seq0 = seq; flag = 1; barrier; look at every source of work
 *            once more; if none: FUTEX_WAIT(&seq, seq0, bound); flag = 0
 *   waker:   enqueue; barrier; if flag: seq++, FUTEX_WAKE(&seq)
 * Either the sleeper's last look sees the enqueue, or the waker sees the
 * flag; in the second case seq moved, so a FUTEX_WAIT that starts after it
 * returns at once (EAGAIN). The busy path (flag clear) costs the waker one
 * barrier and one load of a line the sleeper rarely writes: no syscall.
 *
 * The futexes are shared (not FUTEX_PRIVATE): the words are in hugepage
 * memzones mapped by several processes, where the kernel keys a futex by
 * page and offset.
 */
#ifndef MN_WAKE_H
#define MN_WAKE_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mn_abi.h"

/* Sleeps while *word == expect, at most timeout_ns (0: no bound).
 * 0 on a wake-up, -ETIMEDOUT, -EAGAIN (the word had moved), -EINTR. */
static inline int mn_futex_wait(uint32_t *word, uint32_t expect, uint64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;

	if (timeout_ns) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
		ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
		tp = &ts;
	}
	if (syscall(SYS_futex, word, FUTEX_WAIT, expect, tp, NULL, 0) == 0)
		return 0;
	return -errno;
}

static inline void mn_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Orders the stores before it against the loads after it (StoreLoad), as
 * the protocol needs. On x86-64 a locked add to the stack does it in about
 * a third of an MFENCE's time (Linux's smp_mb(); adding 0 leaves the word
 * as it was); it is on every send and every delivery. */
static inline void mn_full_barrier(void)
{
#if defined(__x86_64__)
	__asm__ __volatile__("lock; addl $0,(%%rsp)" ::: "memory", "cc");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Waker side for an engine, after the enqueue that gives it work. */
static inline void mn_wake_engine(struct mn_engine_wake *w)
{
	mn_full_barrier();
	/* The first waker takes the flag: one syscall per sleep, however
	 * many apps queue meanwhile. */
	if (__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&w->sleeping, 0, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&w->wakeups, 1, __ATOMIC_RELAXED);
		mn_futex_wake(&w->seq);
	}
}

/* Sleeper side for an engine: says it sleeps and returns the seq to wait
 * on; the caller then looks at every source of work once more, and sleeps
 * with mn_engine_sleep_wait() only if it found none. */
static inline uint32_t mn_engine_sleep_begin(struct mn_engine_wake *w)
{
	uint32_t seq0 = __atomic_load_n(&w->seq, __ATOMIC_SEQ_CST);

	__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
	mn_full_barrier();
	return seq0;
}

/* Sleeps unless a waker rang since mn_engine_sleep_begin(), at most
 * timeout_ns (> 0). Returns as mn_futex_wait(). */
static inline int mn_engine_sleep_wait(struct mn_engine_wake *w, uint32_t seq0,
				       uint64_t timeout_ns)
{
	return mn_futex_wait(&w->seq, seq0, timeout_ns);
}

static inline void mn_engine_sleep_end(struct mn_engine_wake *w)
{
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
}

/* The same for an app thread on its channel's words. */
static inline uint32_t mn_chan_sleep_begin(struct mn_chan_shm *cs)
{
	uint32_t seq0 = __atomic_load_n(&cs->wake_seq, __ATOMIC_SEQ_CST);

	__atomic_fetch_or(&cs->wait, MN_WAIT_SLEEPING, __ATOMIC_SEQ_CST);
	mn_full_barrier();
	return seq0;
}

static inline int mn_chan_sleep_wait(struct mn_chan_shm *cs, uint32_t seq0, uint64_t timeout_ns)
{
	return mn_futex_wait(&cs->wake_seq, seq0, timeout_ns);
}

static inline void mn_chan_sleep_end(struct mn_chan_shm *cs)
{
	__atomic_fetch_and(&cs->wait, ~MN_WAIT_SLEEPING, __ATOMIC_SEQ_CST);
}

/* Waker side for an app, after the engine enqueued on its channel's rx or
 * ev ring: wakes a thread sleeping on it, and writes efd (>= 0) if the
 * app armed its channel fd. Taking each bit makes it one syscall per
 * sleep or arming, however many deliveries. Returns the syscalls made;
 * the usual case (an app that polls) costs a barrier and one load. */
static inline unsigned mn_wake_chan(struct mn_chan_shm *cs, int efd)
{
	unsigned n = 0;
	uint32_t w;

	mn_full_barrier();
	w = __atomic_load_n(&cs->wait, __ATOMIC_RELAXED);
	if (w == 0)
		return 0;
	if ((w & MN_WAIT_SLEEPING) &&
	    (__atomic_fetch_and(&cs->wait, ~MN_WAIT_SLEEPING, __ATOMIC_SEQ_CST) & MN_WAIT_SLEEPING)) {
		__atomic_fetch_add(&cs->wake_seq, 1, __ATOMIC_SEQ_CST);
		mn_futex_wake(&cs->wake_seq);
		n++;
	}
	if ((w & MN_WAIT_ARMED) &&
	    (__atomic_fetch_and(&cs->wait, ~MN_WAIT_ARMED, __ATOMIC_SEQ_CST) & MN_WAIT_ARMED) &&
	    efd >= 0) {
		uint64_t one = 1;

		/* A failure (EAGAIN: counter saturated) leaves it readable. */
		if (write(efd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			n++;
	}
	return n;
}

#endif
