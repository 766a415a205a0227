#include "mn_timer.h"

#include <errno.h>
#include <stdlib.h>

/* A slot index for timers that sit on expire()'s private list. */
#define SLOT_DETACHED UINT32_MAX

static void list_init(struct mn_timer *h)
{
	h->next = h->prev = h;
}

/* A slot's sentinel keeps its slot's earliest deadline, so that the scan
 * need not walk a slot's timers (an engine's keepalives can share a slot by
 * the thousand): sentinel->deadline, exact while sentinel->slot is
 * MIN_KNOWN; 0 when a timer holding it left, and the next scan that reaches
 * the slot walks it once. */
#define MIN_KNOWN 1u

static void slot_empty(struct mn_timer *h)
{
	list_init(h);
	h->deadline = UINT64_MAX;
	h->slot = MIN_KNOWN;
}

int mn_wheel_init(struct mn_wheel *w, unsigned slots_log2, unsigned tick_shift, uint64_t now)
{
	uint32_t i, words;

	if (slots_log2 < 6 || slots_log2 > 20 || tick_shift > 40)
		return -EINVAL;
	w->nslots = 1u << slots_log2;
	w->mask = w->nslots - 1;
	w->shift = tick_shift;
	w->cur = now >> tick_shift;
	w->armed = 0;
	words = w->nslots / 64;
	w->heads = calloc(w->nslots, sizeof(*w->heads));
	w->bits = calloc(words, sizeof(*w->bits));
	w->sum = calloc((words + 63) / 64, sizeof(*w->sum));
	w->memo = calloc(1, sizeof(*w->memo));
	if (!w->heads || !w->bits || !w->sum || !w->memo) {
		mn_wheel_fini(w);
		return -ENOMEM;
	}
	for (i = 0; i < w->nslots; i++)
		slot_empty(&w->heads[i]);
	w->memo->deadline = UINT64_MAX;
	w->memo->valid = 1;
	return 0;
}

void mn_wheel_fini(struct mn_wheel *w)
{
	free(w->heads);
	free(w->bits);
	free(w->sum);
	free(w->memo);
	w->heads = 0;
	w->bits = 0;
	w->sum = 0;
	w->memo = 0;
}

static void slot_mark(struct mn_wheel *w, uint32_t s)
{
	w->bits[s >> 6] |= 1ull << (s & 63);
	w->sum[s >> 12] |= 1ull << ((s >> 6) & 63);
}

static void slot_unmark(struct mn_wheel *w, uint32_t s)
{
	w->bits[s >> 6] &= ~(1ull << (s & 63));
	if (!w->bits[s >> 6])
		w->sum[s >> 12] &= ~(1ull << ((s >> 6) & 63));
}

static int slot_marked(const struct mn_wheel *w, uint32_t s)
{
	return (w->bits[s >> 6] >> (s & 63)) & 1;
}

/* A timer with this deadline has left the wheel (w->armed already counts it
 * out). The remembered earliest deadline stays right unless it may have been
 * this timer's: equal deadlines are not told apart, so forget it then. */
static void memo_leave(struct mn_wheel *w, uint64_t deadline)
{
	if (!w->armed) {
		w->memo->deadline = UINT64_MAX;
		w->memo->valid = 1;
	} else if (deadline <= w->memo->deadline) {
		w->memo->valid = 0;
	}
}

static void link_tail(struct mn_timer *h, struct mn_timer *t)
{
	t->prev = h->prev;
	t->next = h;
	h->prev->next = t;
	h->prev = t;
}

void mn_timer_arm(struct mn_wheel *w, struct mn_timer *t, uint64_t deadline)
{
	uint64_t tick = deadline >> w->shift;
	struct mn_timer *h;

	mn_timer_cancel(w, t);
	if (tick < w->cur)
		tick = w->cur;
	t->deadline = deadline;
	t->slot = (uint32_t)(tick & w->mask);
	h = &w->heads[t->slot];
	if (deadline < h->deadline)	/* (an unknown one stays unknown) */
		h->deadline = deadline;
	link_tail(h, t);
	slot_mark(w, t->slot);
	/* An earlier deadline is the new earliest, whether or not the old one
	 * is known; the first timer of an empty wheel is the earliest. */
	if (!w->armed) {
		w->memo->deadline = deadline;
		w->memo->valid = 1;
	} else if (deadline < w->memo->deadline) {
		w->memo->deadline = deadline;
	}
	w->armed++;
}

void mn_timer_cancel(struct mn_wheel *w, struct mn_timer *t)
{
	if (!t->prev)
		return;
	t->prev->next = t->next;
	t->next->prev = t->prev;
	if (t->slot != SLOT_DETACHED) {
		struct mn_timer *h = &w->heads[t->slot];

		if (h->next == h) {
			slot_unmark(w, t->slot);
			slot_empty(h);
		} else if (t->deadline <= h->deadline) {
			h->slot = 0;
		}
	}
	t->next = t->prev = 0;
	w->armed--;
	memo_leave(w, t->deadline);
}

unsigned mn_wheel_expire(struct mn_wheel *w, uint64_t now,
                         void (*fn)(struct mn_timer *t, void *arg), void *arg)
{
	uint64_t now_tick = now >> w->shift, from = w->cur, n, i;
	unsigned fired = 0;

	if (now_tick < from)
		now_tick = from;
	n = now_tick - from + 1;
	if (n > w->nslots)
		n = w->nslots;
	/* The wheel's time moves first: a timer that fn arms with a deadline
	 * already passed goes to now's slot, which this pass or the next one
	 * visits, not to a slot this pass has left behind (that one would be
	 * looked at only a span later, and mn_wheel_next's scan, which starts
	 * at now's slot, would see it as a later round's). */
	w->cur = now_tick;
	for (i = 0; i < n && w->armed; i++) {
		uint32_t s = (uint32_t)((from + i) & w->mask);
		struct mn_timer *h = &w->heads[s], local, *t;

		if (!slot_marked(w, s))
			continue;
		/* Move the slot to a private list first: fn may arm timers
		 * into this very slot (or cancel ones we hold). */
		list_init(&local);
		local.next = h->next;
		local.prev = h->prev;
		local.next->prev = &local;
		local.prev->next = &local;
		slot_empty(h);
		slot_unmark(w, s);
		for (t = local.next; t != &local; t = t->next)
			t->slot = SLOT_DETACHED;
		while (local.next != &local) {
			t = local.next;
			local.next = t->next;
			t->next->prev = &local;
			t->next = t->prev = 0;
			w->armed--;
			if (t->deadline <= now) {
				memo_leave(w, t->deadline);
				fired++;
				fn(t, arg);
			} else {
				/* Same deadline: the remembered earliest
				 * stays right. */
				mn_timer_arm(w, t, t->deadline);
			}
		}
	}
	return fired;
}

/* The first non-empty slot at or after slot s, or nslots: the word of s, then
 * the words that the summary says are non-empty. */
static uint32_t next_marked(const struct mn_wheel *w, uint32_t s)
{
	uint32_t words = w->nslots / 64, wi, si;
	uint64_t b;

	if (s >= w->nslots)
		return w->nslots;
	b = w->bits[s >> 6] & (~0ull << (s & 63));
	if (b)
		return (s & ~63u) + (uint32_t)__builtin_ctzll(b);
	wi = (s >> 6) + 1;
	if (wi >= words)
		return w->nslots;
	si = wi >> 6;
	b = w->sum[si] & (~0ull << (wi & 63));
	for (;;) {
		if (b) {
			wi = si * 64 + (uint32_t)__builtin_ctzll(b);
			return wi * 64 + (uint32_t)__builtin_ctzll(w->bits[wi]);
		}
		if (++si >= (words + 63) / 64)
			return w->nslots;
		b = w->sum[si];
	}
}

/* The scan behind a forgotten earliest deadline: the slots in tick order from
 * the current one. The first slot holding a timer of this round has the
 * earliest one (a deadline already passed sits in the current slot);
 * timers of later rounds only matter when no slot has one of this. */
static uint64_t scan(const struct mn_wheel *w)
{
	uint32_t start = (uint32_t)(w->cur & w->mask), s, end = w->nslots;
	uint64_t later = UINT64_MAX;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (s = next_marked(w, pass ? 0 : start); s < end; s = next_marked(w, s + 1)) {
			uint64_t tick = w->cur + ((s - start) & w->mask);
			struct mn_timer *h = &w->heads[s];
			const struct mn_timer *t;

			if (h->slot != MIN_KNOWN) {
				h->deadline = UINT64_MAX;
				for (t = h->next; t != h; t = t->next)
					if (t->deadline < h->deadline)
						h->deadline = t->deadline;
				h->slot = MIN_KNOWN;
			}
			/* This round's deadlines come before later rounds'
			 * (their tick is at most this slot's), so the slot's
			 * earliest is this round's earliest if it has any. */
			if ((h->deadline >> w->shift) <= tick)
				return h->deadline;
			if (h->deadline < later)
				later = h->deadline;
		}
		end = start;
	}
	return later;
}

uint64_t mn_wheel_next(const struct mn_wheel *w)
{
	if (!w->armed)
		return UINT64_MAX;
	if (!w->memo->valid) {
		w->memo->deadline = scan(w);
		w->memo->valid = 1;
	}
	return w->memo->deadline;
}
