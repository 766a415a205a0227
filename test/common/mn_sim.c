#include "mn_sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUF_HEADROOM	128
#define BUF_ROOM	(BUF_HEADROOM + 9216)

struct simbuf {
	struct simbuf *next_free;
	int refs;
	uint8_t room[BUF_ROOM];
};

/* A frame on its way to node `to`. */
struct arrival {
	uint64_t t;
	uint64_t order;		/* FIFO among equal times */
	int to;
	uint32_t len;
	struct simbuf *b;
};

struct node {
	struct mn_sim *s;
	int id;
	struct mn_proto *ep;
	uint64_t deadline;
};

struct mn_sim {
	uint64_t rng;
	uint64_t now;
	uint64_t order;
	struct mn_sim_link link[2];
	uint64_t busy_until[2];
	struct mn_sim_hooks h;
	struct node nodes[2];
	struct arrival *heap;
	uint32_t nheap, capheap;
	struct simbuf *free_bufs;
	long bufs_in_use;
	long bad_releases;
	struct mn_sim_stats st;
};

uint64_t mn_sim_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rand01(struct mn_sim *s)
{
	return (double)(mn_sim_rand(&s->rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------ buffers */

static struct simbuf *buf_get(struct mn_sim *s)
{
	struct simbuf *b = s->free_bufs;

	if (b)
		s->free_bufs = b->next_free;
	else if (!(b = malloc(sizeof(*b))))
		return NULL;
	b->refs = 1;
	b->next_free = NULL;
	s->bufs_in_use++;
	return b;
}

static void buf_put(struct mn_sim *s, struct simbuf *b)
{
	if (b->refs <= 0) {
		/* Released once more than held: counted, and kept off the free
		 * list so that it cannot be handed out twice. */
		s->bad_releases++;
		return;
	}
	if (--b->refs > 0)
		return;
	b->next_free = s->free_bufs;
	s->free_bufs = b;
	s->bufs_in_use--;
}

/* --------------------------------------------------------------- heap */

static int arr_before(const struct arrival *a, const struct arrival *b)
{
	return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static int heap_push(struct mn_sim *s, const struct arrival *a)
{
	uint32_t i;

	if (s->nheap == s->capheap) {
		uint32_t cap = s->capheap ? 2 * s->capheap : 1024;
		struct arrival *n = realloc(s->heap, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->heap = n;
		s->capheap = cap;
	}
	i = s->nheap++;
	while (i) {
		uint32_t p = (i - 1) / 2;

		if (!arr_before(a, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = *a;
	return 0;
}

static struct arrival heap_pop(struct mn_sim *s)
{
	struct arrival top = s->heap[0], last = s->heap[--s->nheap];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && arr_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!arr_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

/* ----------------------------------------------------- endpoint glue */

static void enqueue(struct mn_sim *s, int to, struct simbuf *b, uint32_t len, uint64_t t)
{
	struct arrival a = { .t = t, .order = s->order++, .to = to, .len = len, .b = b };

	if (heap_push(s, &a) < 0)
		buf_put(s, b);
}

static int sim_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	struct node *n = ctx;
	struct mn_sim *s = n->s;
	const struct mn_sim_link *l = &s->link[n->id];
	struct simbuf *w;
	uint64_t start, t;
	int to = 1 - n->id;

	(void)local;
	s->st.sent[n->id]++;
	/* The "NIC" copies the frame onto the wire and lets the buffer go. */
	w = buf_get(s);
	if (!w) {
		buf_put(s, buf);
		return -ENOMEM;
	}
	memcpy(w->room, frame, len);
	buf_put(s, buf);
	if (s->h.filter && s->h.filter(s->h.arg, n->id, w->room, len)) {
		s->st.filtered[n->id]++;
		buf_put(s, w);
		return 0;
	}
	start = s->now > s->busy_until[n->id] ? s->now : s->busy_until[n->id];
	if (l->bw_bps)
		start += (uint64_t)len * 8 * 1000000000ull / l->bw_bps;
	s->busy_until[n->id] = start;
	t = start + l->latency_ns;
	if ((s->now >= l->outage_from_ns && s->now < l->outage_to_ns) ||
	    (l->loss > 0 && rand01(s) < l->loss)) {
		s->st.lost[n->id]++;
		buf_put(s, w);
		return 0;
	}
	if (l->corrupt > 0 && rand01(s) < l->corrupt && len > MN_ETH_HLEN) {
		uint32_t off = MN_ETH_HLEN + (uint32_t)(mn_sim_rand(&s->rng) % (len - MN_ETH_HLEN));
		uint8_t x = (uint8_t)(1 + mn_sim_rand(&s->rng) % 255);

		w->room[off] ^= x;
		s->st.corrupted[n->id]++;
	}
	if (l->reorder > 0 && l->reorder_ns && rand01(s) < l->reorder) {
		t += 1 + mn_sim_rand(&s->rng) % l->reorder_ns;
		s->st.reordered[n->id]++;
	}
	if (l->dup > 0 && rand01(s) < l->dup) {
		struct simbuf *d = buf_get(s);

		if (d) {
			memcpy(d->room, w->room, len);
			s->st.duplicated[n->id]++;
			enqueue(s, to, d, len, t + 1 + mn_sim_rand(&s->rng) % 1000);
		}
	}
	enqueue(s, to, w, len, t);
	return 0;
}

static void sim_hold(void *ctx, void *buf)
{
	(void)ctx;
	((struct simbuf *)buf)->refs++;
}

static void sim_release(void *ctx, void *buf)
{
	struct node *n = ctx;

	buf_put(n->s, buf);
}

static void *sim_alloc(void *ctx, uint8_t **payload)
{
	struct node *n = ctx;
	struct simbuf *b = buf_get(n->s);

	if (!b)
		return NULL;
	*payload = b->room + BUF_HEADROOM;
	return b;
}

static int sim_deliver(void *ctx, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                       uint32_t nsegs, uint32_t len)
{
	struct node *n = ctx;
	struct mn_sim *s = n->s;
	uint32_t i;
	int r = s->h.deliver ? s->h.deliver(s->h.arg, n->id, f, cookie, segs, nsegs, len) : 0;

	if (r)
		return r;
	for (i = 0; i < nsegs; i++)
		buf_put(s, segs[i].buf);
	return 0;
}

static int sim_rx_room(void *ctx, struct mn_flow *f, void *cookie, uint32_t held)
{
	struct node *n = ctx;
	struct mn_sim *s = n->s;

	return s->h.rx_room ? s->h.rx_room(s->h.arg, n->id, f, cookie, held) : 1;
}

static void sim_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev, int err)
{
	struct node *n = ctx;
	struct mn_sim *s = n->s;

	if (s->h.event)
		s->h.event(s->h.arg, n->id, f, cookie, ev, err);
}

/* ---------------------------------------------------------------- API */

struct mn_sim *mn_sim_create(uint64_t seed, const struct mn_proto_params *pa,
                             const struct mn_proto_params *pb, const struct mn_sim_link link[2],
                             const struct mn_sim_hooks *hooks)
{
	struct mn_sim *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return NULL;
	s->rng = seed;
	s->link[0] = link[0];
	s->link[1] = link[1];
	if (hooks)
		s->h = *hooks;
	for (i = 0; i < 2; i++) {
		struct mn_proto_ops ops = {
			.ctx = &s->nodes[i],
			.tx = sim_tx,
			.hold = sim_hold,
			.release = sim_release,
			.alloc = sim_alloc,
			.deliver = sim_deliver,
			.event = sim_event,
			.rx_room = sim_rx_room,
		};

		s->nodes[i].s = s;
		s->nodes[i].id = i;
		s->nodes[i].ep = mn_proto_create(i ? pb : pa, &ops, 0);
		if (!s->nodes[i].ep) {
			mn_sim_destroy(s);
			return NULL;
		}
	}
	return s;
}

long mn_sim_destroy(struct mn_sim *s)
{
	long leaked;
	int i;

	if (!s)
		return 0;
	for (i = 0; i < 2; i++)
		mn_proto_destroy(s->nodes[i].ep);
	while (s->nheap) {
		struct arrival a = heap_pop(s);

		buf_put(s, a.b);
	}
	leaked = s->bufs_in_use + s->bad_releases;
	while (s->free_bufs) {
		struct simbuf *b = s->free_bufs;

		s->free_bufs = b->next_free;
		free(b);
	}
	free(s->heap);
	free(s);
	return leaked;
}

void *mn_sim_buf_alloc(struct mn_sim *s, uint8_t **payload)
{
	struct simbuf *b = buf_get(s);

	if (!b)
		return NULL;
	*payload = b->room + BUF_HEADROOM;
	return b;
}

void mn_sim_buf_release(struct mn_sim *s, void *buf)
{
	buf_put(s, buf);
}

struct mn_proto *mn_sim_ep(struct mn_sim *s, int node)
{
	return s->nodes[node].ep;
}

uint64_t mn_sim_now(const struct mn_sim *s)
{
	return s->now;
}

void mn_sim_set_link(struct mn_sim *s, int dir, const struct mn_sim_link *l)
{
	s->link[dir] = *l;
}

const struct mn_sim_stats *mn_sim_stats(const struct mn_sim *s)
{
	return &s->st;
}

long mn_sim_bad_releases(const struct mn_sim *s)
{
	return s->bad_releases;
}

long mn_sim_bufs_in_use(const struct mn_sim *s)
{
	return s->bufs_in_use;
}

void mn_sim_inject(struct mn_sim *s, int to, const uint8_t *frame, uint32_t len)
{
	struct simbuf *b = buf_get(s);

	if (!b || len > BUF_ROOM)
		return;
	memcpy(b->room, frame, len);
	enqueue(s, to, b, len, s->now);
}

int mn_sim_run(struct mn_sim *s, int (*done)(void *arg), void *arg, uint64_t until_ns,
               uint64_t max_steps)
{
	uint64_t steps = 0;

	for (;;) {
		uint64_t t = UINT64_MAX, d0, d1;
		int i;

		if (done && done(arg))
			return 0;
		if (steps++ >= max_steps)
			return -ELOOP;
		d0 = mn_proto_next_deadline(s->nodes[0].ep);
		d1 = mn_proto_next_deadline(s->nodes[1].ep);
		if (s->nheap)
			t = s->heap[0].t;
		if (d0 < t)
			t = d0;
		if (d1 < t)
			t = d1;
		if (t == UINT64_MAX)
			return done ? -EDEADLK : 0;
		if (t < s->now)
			t = s->now;
		if (t > until_ns) {
			s->now = until_ns;
			return done ? -ETIMEDOUT : 0;
		}
		s->now = t;
		s->st.steps++;
		if (s->nheap && s->heap[0].t <= t) {
			struct arrival a = heap_pop(s);

			s->st.arrived[1 - a.to]++;
			mn_proto_rx(s->nodes[a.to].ep, a.b, a.b->room, a.len, t);
			mn_proto_flush(s->nodes[a.to].ep, t);
		} else {
			for (i = 0; i < 2; i++)
				if ((i ? d1 : d0) <= t)
					mn_proto_poll(s->nodes[i].ep, t);
		}
		if (s->h.pump)
			s->h.pump(s->h.arg);
	}
}

void mn_sim_machnet_rewrite(uint8_t *frame, uint32_t len)
{
	uint8_t *th = frame + MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN;
	struct mn_hdr h;

	if (len < MN_ALL_HLEN)
		return;
	mn_hdr_decode(th, &h);
	if (h.net_flags == MN_NF_DATA) {
		memset(h.sack_bitmap, 0xff, sizeof(h.sack_bitmap));
		h.ackno = MN_ACKNO_NONE;
	} else if (h.net_flags == MN_NF_ACK && h.sack_count == 0) {
		memset(h.sack_bitmap, 0xff, sizeof(h.sack_bitmap));
	}
	h.timestamp = 0;
	mn_hdr_encode(th, &h);
	mn_wire_fill_csums(frame, len - MN_ALL_HLEN);
}
