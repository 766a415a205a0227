/* mn_timer: a hashed timing wheel for per-flow deadlines.
 *
 * One slot per tick (2^tick_shift ns); a timer lives in the slot of its
 * deadline's tick, whatever the round, so arming, cancelling and expiring
 * are O(1) per timer; a timer more than one wheel span away is simply looked
 * at (and left in place) once per span. "When is the next deadline", which
 * an event-driven caller (the simulator, an engine after every busy loop)
 * asks after nearly every step, is answered from a remembered earliest
 * deadline, kept by arming and forgotten only when the timer holding it is
 * cancelled or fires; then a scan finds it again, over a bitmap of non-empty
 * slots and a second bitmap of its non-zero words. No allocation after
 * mn_wheel_init, no clock of its own: the caller passes the time.
 */
#ifndef MN_TIMER_H
#define MN_TIMER_H

#include <stdint.h>

struct mn_timer {
	struct mn_timer *next;
	struct mn_timer *prev;		/* NULL while not armed */
	uint64_t deadline;		/* ns */
	uint32_t slot;			/* where it is linked */
};

/* The remembered earliest deadline. Behind a pointer so that mn_wheel_next,
 * which only reads the timers, can keep what it found. */
struct mn_wheel_memo {
	uint64_t deadline;		/* earliest armed one (UINT64_MAX: none) */
	int valid;			/* 0: forgotten, scan on the next ask */
};

struct mn_wheel {
	struct mn_timer *heads;		/* nslots sentinels; their deadline
					 * is their slot's earliest (mn_timer.c) */
	uint64_t *bits;			/* one bit per non-empty slot */
	uint64_t *sum;			/* one bit per non-zero word of bits */
	struct mn_wheel_memo *memo;
	uint32_t nslots;
	uint32_t mask;
	unsigned shift;
	uint64_t cur;			/* first tick not yet fully expired */
	uint32_t armed;
};

/* Sets up a wheel of 2^slots_log2 slots of 2^tick_shift ns each, starting at
 * time now. Returns 0 or -ENOMEM / -EINVAL. */
int mn_wheel_init(struct mn_wheel *w, unsigned slots_log2, unsigned tick_shift, uint64_t now);
void mn_wheel_fini(struct mn_wheel *w);

static inline void mn_timer_init(struct mn_timer *t)
{
	t->next = t->prev = 0;
	t->deadline = 0;
	t->slot = 0;
}
static inline int mn_timer_armed(const struct mn_timer *t) { return t->prev != 0; }

/* Arms (or re-arms) t for deadline (ns); a deadline in the past fires at the
 * next mn_wheel_expire(). */
void mn_timer_arm(struct mn_wheel *w, struct mn_timer *t, uint64_t deadline);
/* Disarms t; harmless when not armed. */
void mn_timer_cancel(struct mn_wheel *w, struct mn_timer *t);

/* Fires (calls fn for) every timer whose deadline is <= now; each is disarmed
 * before fn runs, and fn may arm or cancel any timer. Returns how many fired. */
unsigned mn_wheel_expire(struct mn_wheel *w, uint64_t now,
                         void (*fn)(struct mn_timer *t, void *arg), void *arg);

/* Earliest armed deadline (UINT64_MAX when none). O(1) unless the timer that
 * held the earliest deadline was cancelled or fired since the last call;
 * then a scan: O(slots/4096) for the bitmaps plus one step per non-empty
 * slot it passes (those holding only later rounds' timers), and a walk of a
 * slot's timers where the one holding that slot's earliest deadline left. */
uint64_t mn_wheel_next(const struct mn_wheel *w);

#endif
