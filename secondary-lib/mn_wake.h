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

static inline void mn_full_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
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

#endif
