/* mn_fault: seeded fault injector (see mn_fault.h for what it promises).
 *
 * Held frames live in a binary min-heap ordered by (due, arrival sequence),
 * sized at creation. Copies of frames that leave at once are collected in a
 * small side list during the forward pass over the burst and spliced in
 * behind their originals by a backward pass, so the burst can be rewritten in
 * place without a scratch copy of it.
 */
#include "mn_fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copies of immediate frames one apply call can splice in; more wait in the
 * heap with due = now (they still leave in this loop's release). */
#define COPIES_MAX 256

struct held {
	uint64_t due;
	uint64_t seq;
	void *pkt;
};

struct mn_fault {
	struct mn_fault_params p;
	struct mn_fault_ops ops;
	uint64_t rng;
	uint64_t delay_ns;
	uint64_t jitter_ns;
	uint64_t reorder_ns;
	uint64_t last_due;	/* due time of the last in-order frame (keep_order) */
	uint64_t seq;
	bool active;
	bool timed;		/* delay or jitter set: every frame gets a due time */
	uint32_t cap;
	uint32_t n_held;
	struct held *heap;
	void *copy_pkt[COPIES_MAX];
	uint16_t copy_slot[COPIES_MAX];
	struct mn_fault_stats st;
};

/* splitmix64: tiny, seedable with any value (0 included), and good enough
 * for fault decisions; the point is reproducibility, not cryptography. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t next64(struct mn_fault *f)
{
	f->rng += 0x9e3779b97f4a7c15ull;
	return mix64(f->rng);
}

/* Uniform in [0, range) for range <= 2^32 (multiply-shift, no modulo bias
 * worth measuring at these sizes). */
static uint64_t uniform(struct mn_fault *f, uint64_t range)
{
	return ((next64(f) >> 32) * range) >> 32;
}

static bool chance(struct mn_fault *f, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	return uniform(f, MN_FAULT_PPM) < ppm;
}

void mn_fault_params_default(struct mn_fault_params *p)
{
	memset(p, 0, sizeof(*p));
	p->reorder_us = 100;
	p->corrupt_min_off = MN_FAULT_ETH_HDR_LEN;
	p->corrupt_max_off = UINT16_MAX;
}

int mn_fault_params_check(const struct mn_fault_params *p)
{
	if (!p || p->drop_ppm > MN_FAULT_PPM || p->dup_ppm > MN_FAULT_PPM ||
	    p->corrupt_ppm > MN_FAULT_PPM || p->reorder_ppm > MN_FAULT_PPM)
		return -EINVAL;
	if (p->delay_us > MN_FAULT_MAX_DELAY_US || p->jitter_us > MN_FAULT_MAX_DELAY_US ||
	    p->reorder_us < 1 || p->reorder_us > MN_FAULT_MAX_DELAY_US)
		return -EINVAL;
	if (p->corrupt_min_off > p->corrupt_max_off)
		return -EINVAL;
	if (p->queue != 0 && (p->queue < MN_FAULT_QUEUE_MIN || p->queue > MN_FAULT_QUEUE_MAX))
		return -EINVAL;
	return 0;
}

bool mn_fault_params_active(const struct mn_fault_params *p)
{
	return p->drop_ppm || p->dup_ppm || p->corrupt_ppm || p->reorder_ppm ||
	       p->delay_us || p->jitter_us;
}

uint64_t mn_fault_derive_seed(uint64_t base, unsigned engine, unsigned port, unsigned dir)
{
	return mix64(base ^ mix64(((uint64_t)engine << 32) | ((uint64_t)(port & 0xffff) << 16) |
				  (dir & 0xffff)));
}

struct mn_fault *mn_fault_create(const struct mn_fault_params *p, const struct mn_fault_ops *ops,
				 uint64_t seed)
{
	struct mn_fault *f;

	if (mn_fault_params_check(p) || !ops || !ops->free ||
	    (p->dup_ppm && !ops->dup) || (p->corrupt_ppm && !ops->data)) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		goto nomem;
	f->p = *p;
	f->ops = *ops;
	f->rng = mix64(seed);
	f->delay_ns = (uint64_t)p->delay_us * 1000;
	f->jitter_ns = (uint64_t)p->jitter_us * 1000;
	f->reorder_ns = (uint64_t)p->reorder_us * 1000;
	f->active = mn_fault_params_active(p);
	f->timed = p->delay_us || p->jitter_us;
	f->cap = p->queue ? p->queue : MN_FAULT_QUEUE_DEFAULT;
	f->heap = calloc(f->cap, sizeof(*f->heap));
	if (!f->heap)
		goto nomem;
	return f;
nomem:
	free(f);
	errno = ENOMEM;
	return NULL;
}

static bool before(const struct held *a, const struct held *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static bool heap_push(struct mn_fault *f, void *pkt, uint64_t due)
{
	struct held h = { .due = due, .seq = f->seq++, .pkt = pkt };
	uint32_t i;

	if (f->n_held == f->cap)
		return false;
	i = f->n_held++;
	while (i > 0) {
		uint32_t up = (i - 1) / 2;

		if (!before(&h, &f->heap[up]))
			break;
		f->heap[i] = f->heap[up];
		i = up;
	}
	f->heap[i] = h;
	return true;
}

static void *heap_pop(struct mn_fault *f)
{
	void *pkt = f->heap[0].pkt;
	struct held last = f->heap[--f->n_held];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= f->n_held)
			break;
		if (c + 1 < f->n_held && before(&f->heap[c + 1], &f->heap[c]))
			c++;
		if (!before(&f->heap[c], &last))
			break;
		f->heap[i] = f->heap[c];
		i = c;
	}
	if (f->n_held)
		f->heap[i] = last;
	return pkt;
}

/* May replace *pkt (ops.data makes shared bytes private). */
static void corrupt(struct mn_fault *f, void **pkt)
{
	uint32_t len = 0, lo = f->p.corrupt_min_off, hi = f->p.corrupt_max_off;
	uint8_t *d = f->ops.data(f->ops.ctx, pkt, &len);

	if (!d || len <= lo)
		return;
	if (hi > len - 1)
		hi = len - 1;
	d[lo + uniform(f, hi - lo + 1)] ^= (uint8_t)(1u << uniform(f, 8));
	f->st.corrupted++;
}

/* A copy that has no room next to its original waits in the heap; with no
 * room there either it is given back: that duplication did not happen. */
static void copy_to_heap(struct mn_fault *f, void *copy, uint64_t due)
{
	if (heap_push(f, copy, due)) {
		f->st.duplicated++;
		return;
	}
	f->st.queue_full++;
	f->ops.free(f->ops.ctx, copy);
}

uint16_t mn_fault_apply(struct mn_fault *f, void **pkts, uint16_t n, uint16_t cap, uint64_t now)
{
	uint16_t w = 0, k = 0, a;

	f->st.seen += n;
	if (!f->active)
		return n;
	for (uint16_t i = 0; i < n; i++) {
		void *pkt = pkts[i], *copy = NULL;
		uint64_t due = now;
		bool reorder;

		if (chance(f, f->p.drop_ppm)) {
			f->st.dropped++;
			f->ops.free(f->ops.ctx, pkt);
			continue;
		}
		if (chance(f, f->p.dup_ppm)) {
			copy = f->ops.dup(f->ops.ctx, pkt);
			if (!copy)
				f->st.dup_fail++;
		}
		if (chance(f, f->p.corrupt_ppm))
			corrupt(f, &pkt);
		if (f->timed) {
			uint64_t d = f->delay_ns;

			if (f->jitter_ns) {
				uint64_t r = uniform(f, 2 * f->jitter_ns + 1);

				/* delay - jitter + r, clamped at 0 */
				d = d + r >= f->jitter_ns ? d + r - f->jitter_ns : 0;
			}
			due = now + d;
		}
		reorder = chance(f, f->p.reorder_ppm);
		if (reorder) {
			due += f->reorder_ns;
		} else if (f->p.keep_order) {
			if (due < f->last_due)
				due = f->last_due;
			f->last_due = due;
		}
		if (due > now) {
			if (heap_push(f, pkt, due)) {
				f->st.delayed++;
				if (reorder)
					f->st.reordered++;
				if (copy)
					copy_to_heap(f, copy, due);
				continue;
			}
			f->st.queue_full++;
		}
		/* Leaves now. w <= i: the slot was read already. */
		pkts[w] = pkt;
		if (copy) {
			if (k < COPIES_MAX) {
				f->copy_pkt[k] = copy;
				f->copy_slot[k++] = w;
			} else {
				copy_to_heap(f, copy, now);
			}
		}
		w++;
	}
	/* Splice the first a copies in behind their originals, walking from the
	 * end so that no unread slot is overwritten; the rest wait for release. */
	a = cap > w ? (uint16_t)(cap - w) : 0;
	if (a > k)
		a = k;
	for (uint16_t j = a; j < k; j++)
		copy_to_heap(f, f->copy_pkt[j], now);
	f->st.duplicated += a;
	if (a) {
		int dst = w + a - 1, j = a - 1;

		for (int src = w - 1; src >= 0 && j >= 0; src--) {
			if (f->copy_slot[j] == src)
				pkts[dst--] = f->copy_pkt[j--];
			pkts[dst--] = pkts[src];
		}
	}
	return (uint16_t)(w + a);
}

uint16_t mn_fault_release(struct mn_fault *f, void **out, uint16_t cap, uint64_t now)
{
	uint16_t n = 0;

	while (n < cap && f->n_held && f->heap[0].due <= now)
		out[n++] = heap_pop(f);
	f->st.released += n;
	return n;
}

uint64_t mn_fault_next_due(const struct mn_fault *f)
{
	return f->n_held ? f->heap[0].due : UINT64_MAX;
}

uint32_t mn_fault_held(const struct mn_fault *f)
{
	return f->n_held;
}

void mn_fault_flush(struct mn_fault *f)
{
	for (uint32_t i = 0; i < f->n_held; i++)
		f->ops.free(f->ops.ctx, f->heap[i].pkt);
	f->st.flushed += f->n_held;
	f->n_held = 0;
}

void mn_fault_destroy(struct mn_fault *f)
{
	if (!f)
		return;
	mn_fault_flush(f);
	free(f->heap);
	free(f);
}

const struct mn_fault_stats *mn_fault_stats(const struct mn_fault *f)
{
	return &f->st;
}
