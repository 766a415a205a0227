#include "mn_timer.h"

#include <errno.h>
#include <stdlib.h>

/* A slot index for timers that sit on expire()'s private list. */
#define SLOT_DETACHED UINT32_MAX

static void list_init(struct mn_timer *h)
{
	h->next = h->prev = h;
}

int mn_wheel_init(struct mn_wheel *w, unsigned slots_log2, unsigned tick_shift, uint64_t now)
{
	uint32_t i;

	if (slots_log2 < 6 || slots_log2 > 20 || tick_shift > 40)
		return -EINVAL;
	w->nslots = 1u << slots_log2;
	w->mask = w->nslots - 1;
	w->shift = tick_shift;
	w->cur = now >> tick_shift;
	w->armed = 0;
	w->heads = calloc(w->nslots, sizeof(*w->heads));
	w->bits = calloc(w->nslots / 64, sizeof(*w->bits));
	if (!w->heads || !w->bits) {
		free(w->heads);
		free(w->bits);
		w->heads = 0;
		w->bits = 0;
		return -ENOMEM;
	}
	for (i = 0; i < w->nslots; i++)
		list_init(&w->heads[i]);
	return 0;
}

void mn_wheel_fini(struct mn_wheel *w)
{
	free(w->heads);
	free(w->bits);
	w->heads = 0;
	w->bits = 0;
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

	mn_timer_cancel(w, t);
	if (tick < w->cur)
		tick = w->cur;
	t->deadline = deadline;
	t->slot = (uint32_t)(tick & w->mask);
	link_tail(&w->heads[t->slot], t);
	w->bits[t->slot >> 6] |= 1ull << (t->slot & 63);
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

		if (h->next == h)
			w->bits[t->slot >> 6] &= ~(1ull << (t->slot & 63));
	}
	t->next = t->prev = 0;
	w->armed--;
}

unsigned mn_wheel_expire(struct mn_wheel *w, uint64_t now,
                         void (*fn)(struct mn_timer *t, void *arg), void *arg)
{
	uint64_t now_tick = now >> w->shift, n, i;
	unsigned fired = 0;

	if (now_tick < w->cur)
		now_tick = w->cur;
	n = now_tick - w->cur + 1;
	if (n > w->nslots)
		n = w->nslots;
	for (i = 0; i < n && w->armed; i++) {
		uint32_t s = (uint32_t)((w->cur + i) & w->mask);
		struct mn_timer *h = &w->heads[s], local, *t;

		if (!(w->bits[s >> 6] & (1ull << (s & 63))))
			continue;
		/* Move the slot to a private list first: fn may arm timers
		 * into this very slot (or cancel ones we hold). */
		list_init(&local);
		local.next = h->next;
		local.prev = h->prev;
		local.next->prev = &local;
		local.prev->next = &local;
		list_init(h);
		w->bits[s >> 6] &= ~(1ull << (s & 63));
		for (t = local.next; t != &local; t = t->next)
			t->slot = SLOT_DETACHED;
		while (local.next != &local) {
			t = local.next;
			local.next = t->next;
			t->next->prev = &local;
			t->next = t->prev = 0;
			w->armed--;
			if (t->deadline <= now) {
				fired++;
				fn(t, arg);
			} else {
				mn_timer_arm(w, t, t->deadline);
			}
		}
	}
	w->cur = now_tick;
	return fired;
}

uint64_t mn_wheel_next(const struct mn_wheel *w)
{
	uint32_t start, words = w->nslots / 64, k;
	uint64_t later = UINT64_MAX;

	if (!w->armed)
		return UINT64_MAX;
	start = (uint32_t)(w->cur & w->mask);
	/* Scan the bitmap circularly from the current slot, in tick order; the
	 * first word is visited twice (its high part first, its low part last).
	 * The first slot holding a timer of this round has the earliest one;
	 * timers of later rounds only matter when no slot has one of this. */
	for (k = 0; k <= words; k++) {
		uint32_t wi = ((start >> 6) + k) % words;
		uint64_t b = w->bits[wi];

		if (k == 0)
			b &= ~0ull << (start & 63);
		else if (k == words)
			b &= (start & 63) ? ~(~0ull << (start & 63)) : 0;
		while (b) {
			uint32_t s = wi * 64 + (uint32_t)__builtin_ctzll(b);
			uint64_t tick = w->cur + ((s - start) & w->mask);
			const struct mn_timer *h = &w->heads[s], *t;
			uint64_t best = UINT64_MAX;

			b &= b - 1;
			for (t = h->next; t != h; t = t->next) {
				if ((t->deadline >> w->shift) <= tick) {
					if (t->deadline < best)
						best = t->deadline;
				} else if (t->deadline < later) {
					later = t->deadline;
				}
			}
			if (best != UINT64_MAX)
				return best;
		}
	}
	return later;
}
