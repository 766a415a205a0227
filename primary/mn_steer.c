/* mn_steer: the rings between engines, each engine's steer table and the
 * listener directory (see mn_steer.h for the rules). */
#include "mn_steer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mn_abi.h"
#include "mn_wire.h"

enum { MSG_FRAME = 0, MSG_FORGET = 1 };

/* One ring element: a frame with its token, or a forget. */
struct steer_msg {
	struct rte_mbuf *m;
	uint32_t token;
	uint32_t kind;
	struct mn_steer_tuple t;
	uint32_t pad;
};

/* What an engine remembers of a SYN it steered (open addressing, linear
 * probing, backward-shift deletion: no tombstones). */
struct steer_ent {
	struct mn_steer_tuple t;
	uint32_t token;		/* 0: free */
	uint8_t owner;
};

struct steer_engine {
	struct rte_ring *in[MN_ABI_MAX_ENGINES];	/* from engine i to this one */
	struct rte_mempool *pool;
	struct steer_ent *tab;
	uint32_t mask, used, cap;	/* cap: at most half the slots used */
	uint32_t next_token;
	/* ip << 16 | port | 1 << 48 per listener slot, 0 when free; written by
	 * this engine only, read by the others. */
	_Atomic uint64_t lis[MN_STEER_LIS];
} __rte_cache_aligned;

struct mn_steer {
	unsigned n;
	struct steer_engine e[MN_ABI_MAX_ENGINES];
};

static inline uint32_t tuple_hash(const struct mn_steer_tuple *t)
{
	uint64_t h = ((uint64_t)t->lip << 32 | t->rip) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)t->lport << 16 | t->rport) * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(h ^ h >> 29);
}

static inline bool tuple_eq(const struct mn_steer_tuple *a, const struct mn_steer_tuple *b)
{
	return a->lip == b->lip && a->rip == b->rip && a->lport == b->lport &&
	       a->rport == b->rport;
}

static struct steer_ent *tab_find(struct steer_engine *e, const struct mn_steer_tuple *t)
{
	for (uint32_t i = tuple_hash(t) & e->mask;; i = (i + 1) & e->mask) {
		struct steer_ent *x = &e->tab[i];

		if (x->token == 0)
			return NULL;
		if (tuple_eq(&x->t, t))
			return x;
	}
}

static struct steer_ent *tab_add(struct steer_engine *e, const struct mn_steer_tuple *t)
{
	uint32_t i;

	if (e->used >= e->cap)
		return NULL;
	for (i = tuple_hash(t) & e->mask; e->tab[i].token != 0; i = (i + 1) & e->mask)
		;
	e->used++;
	e->tab[i].t = *t;
	return &e->tab[i];
}

static void tab_del(struct steer_engine *e, struct steer_ent *x)
{
	uint32_t i = (uint32_t)(x - e->tab), j = i;

	e->used--;
	for (;;) {
		uint32_t home;

		e->tab[i].token = 0;
		for (;;) {
			j = (j + 1) & e->mask;
			if (e->tab[j].token == 0)
				return;
			home = tuple_hash(&e->tab[j].t) & e->mask;
			/* Entry j may move to the hole at i unless its home
			 * lies cyclically in (i, j]. */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		e->tab[i] = e->tab[j];
		i = j;
	}
}

struct mn_steer *mn_steer_create(unsigned n, struct rte_mempool *const *pools,
				 uint32_t table_size)
{
	struct mn_steer *s;
	uint32_t slots = 64;
	char name[RTE_RING_NAMESIZE];

	if (n == 0 || n > MN_ABI_MAX_ENGINES) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->n = n;
	while (slots < 2 * (uint64_t)table_size && slots < (1u << 30))
		slots <<= 1;
	for (unsigned i = 0; i < n; i++) {
		struct steer_engine *e = &s->e[i];

		e->pool = pools[i];
		e->next_token = 1;
		if (n == 1)
			continue;
		e->tab = calloc(slots, sizeof(*e->tab));
		if (e->tab == NULL)
			goto fail;
		e->mask = slots - 1;
		e->cap = slots / 2;
		for (unsigned j = 0; j < n; j++) {
			if (j == i)
				continue;
			snprintf(name, sizeof(name), "mn_steer_%u_%u", j, i);
			e->in[j] = rte_ring_create_elem(name, sizeof(struct steer_msg), MN_STEER_RING,
							SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (e->in[j] == NULL) {
				errno = rte_errno;
				goto fail;
			}
		}
	}
	return s;
fail:
	mn_steer_free(s);
	return NULL;
}

void mn_steer_free(struct mn_steer *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n; i++) {
		struct steer_engine *e = &s->e[i];

		for (unsigned j = 0; j < s->n; j++) {
			struct steer_msg msg;

			if (e->in[j] == NULL)
				continue;
			while (rte_ring_dequeue_elem(e->in[j], &msg, sizeof(msg)) == 0)
				if (msg.kind == MSG_FRAME)
					rte_pktmbuf_free(msg.m);
			rte_ring_free(e->in[j]);
		}
		free(e->tab);
	}
	free(s);
}

unsigned mn_steer_engines(const struct mn_steer *s)
{
	return s->n;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void mn_steer_parse(const struct rte_mbuf *m, struct mn_steer_tuple *t, bool *syn)
{
	/* mn_frame_rx checked the lengths and that IHL is 5. */
	const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *) + MN_ETH_HLEN;
	const uint8_t *udp = ip + MN_IP_HLEN, *h = udp + MN_UDP_HLEN;

	t->rip = rd32(ip + 12);
	t->lip = rd32(ip + 16);
	t->rport = rd16(udp);
	t->lport = rd16(udp + 2);
	*syn = h[2] == MN_NF_SYN;
}

/* An engine that listens on t's local address and port: self when self
 * does, else one of the others chosen by the tuple's hash; -1 when none. */
static int listening_engine(const struct mn_steer *s, unsigned self, const struct mn_steer_tuple *t)
{
	unsigned cand[MN_ABI_MAX_ENGINES], k = 0;

	for (unsigned i = 0; i < s->n; i++) {
		const struct steer_engine *e = &s->e[i];

		for (unsigned j = 0; j < MN_STEER_LIS; j++) {
			uint64_t v = atomic_load_explicit(&e->lis[j], memory_order_acquire);
			uint32_t ip = (uint32_t)(v >> 16);

			if (v != 0 && (uint16_t)v == t->lport && (ip == 0 || ip == t->lip)) {
				if (i == self)
					return (int)self;
				cand[k++] = i;
				break;
			}
		}
	}
	return k ? (int)cand[tuple_hash(t) % k] : -1;
}

unsigned mn_steer_owner(struct mn_steer *s, unsigned self, const struct mn_steer_tuple *t,
			bool syn, uint32_t *token)
{
	struct steer_engine *e = &s->e[self];
	struct steer_ent *x;
	int l;

	*token = 0;
	if (s->n == 1)
		return self;
	x = tab_find(e, t);
	if (x != NULL) {
		*token = x->token;
		return x->owner;
	}
	if (syn && (l = listening_engine(s, self, t)) >= 0) {
		if ((unsigned)l == self)
			return self;
		x = tab_add(e, t);
		if (x == NULL)
			return MN_STEER_NONE;
		x->owner = (uint8_t)l;
		x->token = e->next_token++;
		if (e->next_token == 0)
			e->next_token = 1;
		*token = x->token;
		return (unsigned)l;
	}
	return t->lport % s->n;
}

static int enqueue(struct mn_steer *s, unsigned self, unsigned to, struct steer_msg *msg)
{
	struct rte_ring *r = s->e[to].in[self];

	return rte_ring_enqueue_elem(r, msg, sizeof(*msg)) == 0 ? 0 : -ENOBUFS;
}

int mn_steer_push(struct mn_steer *s, unsigned self, unsigned to, struct rte_mbuf *m,
		  uint32_t token)
{
	struct steer_msg msg = { .kind = MSG_FRAME, .token = token };

	msg.m = rte_pktmbuf_copy(m, s->e[to].pool, 0, UINT32_MAX);
	rte_pktmbuf_free(m);
	if (msg.m == NULL)
		return -ENOBUFS;
	if (enqueue(s, self, to, &msg) != 0) {
		rte_pktmbuf_free(msg.m);
		return -ENOBUFS;
	}
	return 0;
}

unsigned mn_steer_pull(struct mn_steer *s, unsigned self, struct mn_steer_frame *f, unsigned n)
{
	struct steer_engine *e = &s->e[self];
	struct steer_msg msg[32];
	unsigned k = 0;

	if (s->n == 1)
		return 0;
	for (unsigned j = 0; j < s->n && k < n; j++) {
		unsigned got, want = n - k < RTE_DIM(msg) ? n - k : RTE_DIM(msg);

		if (j == self)
			continue;
		got = rte_ring_dequeue_burst_elem(e->in[j], msg, sizeof(msg[0]), want, NULL);
		for (unsigned i = 0; i < got; i++) {
			if (msg[i].kind == MSG_FORGET) {
				struct steer_ent *x = tab_find(e, &msg[i].t);

				if (x != NULL && x->token == msg[i].token)
					tab_del(e, x);
				continue;
			}
			f[k].m = msg[i].m;
			f[k].token = msg[i].token;
			f[k].from = (uint8_t)j;
			k++;
		}
	}
	return k;
}

int mn_steer_forget(struct mn_steer *s, unsigned self, unsigned from,
		    const struct mn_steer_tuple *t, uint32_t token)
{
	struct steer_msg msg = { .kind = MSG_FORGET, .token = token, .t = *t };

	if (from == self || from >= s->n)
		return 0;
	return enqueue(s, self, from, &msg);
}

void mn_steer_listen(struct mn_steer *s, unsigned self, unsigned i, uint32_t ip, uint16_t port)
{
	uint64_t v = port ? (1ull << 48 | (uint64_t)ip << 16 | port) : 0;

	if (i < MN_STEER_LIS)
		atomic_store_explicit(&s->e[self].lis[i], v, memory_order_release);
}

uint32_t mn_steer_remembered(const struct mn_steer *s, unsigned engine)
{
	return s->e[engine].used;
}
