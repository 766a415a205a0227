#include "mn_chan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mn_wake.h"

#define OBJ_ALIGN 64u
#define BURST 32u
#define REFILL_MAX 64u		/* per channel per service call: bounds the loop */
#define OBJ_RUNS_MAX 4096u	/* beyond that many runs, the hash alone */

/* ---------------- object map ---------------- */

static inline uint32_t objmap_hash(uintptr_t p)
{
	uint64_t h = (uint64_t)(p / OBJ_ALIGN) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32);
}

int mn_objmap_init(struct mn_objmap *m, uint32_t max_objs)
{
	uint32_t size = 2;

	memset(m, 0, sizeof(*m));
	if (max_objs == 0 || max_objs > (1u << 30))
		return -EINVAL;
	/* Load factor <= 1/2 keeps probe chains short. */
	while (size < 2 * max_objs)
		size <<= 1;
	m->keys = calloc(size, sizeof(*m->keys));
	m->vals = calloc(size, sizeof(*m->vals));
	m->objs = calloc(max_objs, sizeof(*m->objs));
	m->max_runs = max_objs < OBJ_RUNS_MAX ? max_objs : OBJ_RUNS_MAX;
	m->runs = calloc(m->max_runs, sizeof(*m->runs));
	if (!m->keys || !m->vals || !m->objs || !m->runs) {
		mn_objmap_fini(m);
		return -ENOMEM;
	}
	m->mask = size - 1;
	m->cap = max_objs;
	m->lo = UINTPTR_MAX;
	m->hi = 0;
	m->by_runs = 1;
	return 0;
}

void mn_objmap_fini(struct mn_objmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->objs);
	free(m->runs);
	memset(m, 0, sizeof(*m));
}

/* Extends the last run with p, or starts one; turns runs off when p is not
 * above every object so far or is off the stride, or when runs run out. */
static void run_add(struct mn_objmap *m, uintptr_t p)
{
	struct mn_objrun *r = m->n_runs ? &m->runs[m->n_runs - 1] : NULL;

	if (!m->by_runs)
		return;
	if (r != NULL && p <= m->hi) {
		m->by_runs = 0;
		return;
	}
	if (r != NULL && m->stride == 0 && r->count == 1)
		m->stride = p - r->base;	/* the second object sets the stride */
	if (r != NULL && p - r->base == (uintptr_t)r->count * m->stride) {
		r->count++;
		return;
	}
	if (m->n_runs == m->max_runs) {
		m->by_runs = 0;
		return;
	}
	r = &m->runs[m->n_runs++];
	r->base = p;
	r->first = m->n;
	r->count = 1;
}

static int run_find(const struct mn_objmap *m, uintptr_t p)
{
	uint32_t lo = 0, hi = m->n_runs;
	const struct mn_objrun *r;
	uintptr_t d;

	/* The last run whose base is <= p (p >= m->lo = runs[0].base). */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->runs[mid].base <= p)
			lo = mid;
		else
			hi = mid;
	}
	r = &m->runs[lo];
	d = p - r->base;
	if (d == 0)
		return (int)r->first;
	if (m->stride == 0 || d % m->stride != 0 || d / m->stride >= r->count)
		return -1;
	return (int)(r->first + d / m->stride);
}

int mn_objmap_add(struct mn_objmap *m, void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	uint32_t i;

	if (p == 0 || p % OBJ_ALIGN)
		return -EINVAL;
	if (mn_objmap_find(m, obj) >= 0)
		return -EEXIST;
	if (m->n == m->cap)
		return -ENOSPC;
	for (i = objmap_hash(p) & m->mask; m->keys[i] != 0; i = (i + 1) & m->mask)
		;
	m->keys[i] = p;
	m->vals[i] = m->n;
	m->objs[m->n] = obj;
	run_add(m, p);
	if (p < m->lo)
		m->lo = p;
	if (p > m->hi)
		m->hi = p;
	return (int)m->n++;
}

int mn_objmap_find(const struct mn_objmap *m, const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	uint32_t i;

	if (m->keys == NULL || p < m->lo || p > m->hi || p % OBJ_ALIGN)
		return -1;
	if (m->by_runs)
		return run_find(m, p);
	for (i = objmap_hash(p) & m->mask; m->keys[i] != 0; i = (i + 1) & m->mask)
		if (m->keys[i] == p)
			return (int)m->vals[i];
	return -1;
}

/* ---------------- chain check ---------------- */

int mn_chain_check(const struct mn_objmap *m, const uint16_t *owner, uint16_t tag,
		   const struct rte_mbuf *head, const struct mn_chain_limits *lim,
		   uint32_t *idx)
{
	const struct rte_mbuf *seg = head;
	uint32_t nsegs, pkt_len, sum = 0, k = 0;
	int ix;

	ix = mn_objmap_find(m, head);
	if (ix < 0)
		return -EINVAL;
	if (owner[ix] != tag)
		return -EPERM;
	nsegs = head->nb_segs;
	pkt_len = head->pkt_len;
	if (nsegs == 0 || nsegs > lim->max_segs || pkt_len == 0 || pkt_len > lim->max_len)
		return -EINVAL;
	while (k < nsegs) {
		uint32_t max_len;

		/* seg is only read once it is known to be one of our objects:
		 * an app's garbage next pointer must not be dereferenced. */
		if (k > 0) {
			ix = mn_objmap_find(m, seg);
			if (ix < 0)
				return -EINVAL;
			if (owner[ix] != tag)
				return -EPERM;
		}
		max_len = lim->max_seg_len ? lim->max_seg_len : seg->buf_len;
		if (seg->data_len == 0 || seg->data_len > max_len ||
		    seg->data_off < lim->min_data_off ||
		    (uint32_t)seg->data_off + seg->data_len > seg->buf_len)
			return -EINVAL;
		sum += seg->data_len;
		if (idx)
			idx[k] = (uint32_t)ix;
		k++;
		if (k < nsegs) {
			seg = seg->next;
			if (seg == NULL)
				return -EINVAL;
		}
	}
	if (seg->next != NULL || sum != pkt_len)
		return -EINVAL;
	return (int)nsegs;
}

/* ---------------- engine part ---------------- */

static int g_meta_off = -1;

int mn_chan_meta_register(void)
{
	struct rte_mbuf_dynfield desc;
	int off;

	if (g_meta_off >= 0)
		return g_meta_off;
	memset(&desc, 0, sizeof(desc));
	snprintf(desc.name, sizeof(desc.name), "%s", MN_MBUF_META_NAME);
	desc.size = sizeof(struct mn_msg_meta);
	desc.align = _Alignof(struct mn_msg_meta);
	off = rte_mbuf_dynfield_register(&desc);
	if (off < 0)
		return -rte_errno;
	g_meta_off = off;
	return off;
}

static inline struct mn_msg_meta *meta_of(const struct mn_chan_engine *e, struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, e->meta_off, struct mn_msg_meta *);
}

/* Segments of the largest message the library can build: it puts
 * min(mss, room after MN_SEG_DATA_OFF) bytes in each. */
static uint32_t max_segs_of(const struct mn_chan_engine *e)
{
	uint32_t seg = e->mss;

	if (e->data_room > MN_SEG_DATA_OFF && (uint32_t)(e->data_room - MN_SEG_DATA_OFF) < seg)
		seg = e->data_room - MN_SEG_DATA_OFF;
	if (seg < MN_MAX_MSG / UINT16_MAX + 1)
		return UINT16_MAX;
	return (MN_MAX_MSG + seg - 1) / seg;
}

struct objmap_fill {
	struct mn_chan_engine *e;
	int err;
};

static void objmap_add_cb(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct objmap_fill *f = arg;
	struct rte_mbuf *m = obj;
	int ix;

	(void)mp;
	(void)idx;
	ix = mn_objmap_add(&f->e->map, obj);
	if (ix < 0) {
		f->err = ix;
		return;
	}
	f->e->buf_iova[ix] = m->buf_iova;
}

int mn_chan_engine_init(struct mn_chan_engine *e, unsigned id, struct rte_mempool *mp,
			uint32_t mss, struct mn_chan *chans)
{
	char name[RTE_RING_NAMESIZE];
	struct objmap_fill f = { e, 0 };
	int ret;

	memset(e, 0, sizeof(*e));
	e->id = id;
	e->mp = mp;
	e->mss = mss;
	e->chans = chans;
	e->priv_size = rte_pktmbuf_priv_size(mp);
	e->data_room = rte_pktmbuf_data_room_size(mp);
	ret = mn_chan_meta_register();
	if (ret < 0)
		return ret;
	e->meta_off = ret;
	ret = mn_objmap_init(&e->map, mp->size);
	if (ret < 0)
		return ret;
	e->owner = calloc(mp->size, sizeof(*e->owner));
	e->buf_iova = calloc(mp->size, sizeof(*e->buf_iova));
	e->idx = calloc(UINT16_MAX + 1u, sizeof(*e->idx));
	if (!e->owner || !e->buf_iova || !e->idx) {
		ret = -ENOMEM;
		goto fail;
	}
	rte_mempool_obj_iter(mp, objmap_add_cb, &f);
	if (f.err < 0) {
		ret = f.err;
		goto fail;
	}
	snprintf(name, sizeof(name), MN_ENGINE_CMD_FMT, id);
	e->cmd = rte_ring_create_elem(name, sizeof(struct mn_engine_cmd), 1024, SOCKET_ID_ANY,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (e->cmd == NULL) {
		ret = -rte_errno;
		goto fail;
	}
	snprintf(name, sizeof(name), MN_ENGINE_DONE_FMT, id);
	e->done = rte_ring_create_elem(name, sizeof(struct mn_engine_cmd), 1024, SOCKET_ID_ANY,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (e->done == NULL) {
		ret = -rte_errno;
		goto fail;
	}
	return 0;
fail:
	mn_chan_engine_fini(e);
	return ret;
}

void mn_chan_engine_fini(struct mn_chan_engine *e)
{
	rte_ring_free(e->cmd);
	rte_ring_free(e->done);
	free(e->owner);
	free(e->buf_iova);
	free(e->idx);
	e->idx = NULL;
	free(e->seg_acct);
	free(e->acct);
	e->seg_acct = NULL;
	e->acct = NULL;
	e->n_acct = 0;
	mn_objmap_fini(&e->map);
	e->cmd = e->done = NULL;
	e->owner = NULL;
	e->buf_iova = NULL;
}

static struct rte_ring *chan_ring(uint16_t id, const char *kind, uint32_t esize, uint32_t count)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), MN_RING_NAME_FMT, id, kind);
	return rte_ring_create_elem(name, esize, count, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
}

int mn_chan_create(struct mn_chan *c, uint16_t id, uint32_t ring_size, uint32_t fill_size,
		   struct mn_chan_shm *shm)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->efd = -1;
	c->tag = (uint16_t)(id + 1);
	c->shm = shm;
	c->tx = chan_ring(id, MN_RING_TX, sizeof(void *), ring_size);
	c->rx = chan_ring(id, MN_RING_RX, sizeof(void *), ring_size);
	c->fill = chan_ring(id, MN_RING_FILL, sizeof(void *), fill_size);
	c->used = chan_ring(id, MN_RING_USED, sizeof(void *), ring_size);
	c->ev = chan_ring(id, MN_RING_EV, sizeof(struct mn_event), ring_size);
	if (!c->tx || !c->rx || !c->fill || !c->used || !c->ev) {
		int err = rte_errno ? -rte_errno : -ENOMEM;

		mn_chan_destroy(c);
		return err;
	}
	return 0;
}

void mn_chan_reset_rings(struct mn_chan *c)
{
	rte_ring_reset(c->tx);
	rte_ring_reset(c->rx);
	rte_ring_reset(c->fill);
	rte_ring_reset(c->used);
	rte_ring_reset(c->ev);
}

void mn_chan_destroy(struct mn_chan *c)
{
	rte_ring_free(c->tx);
	rte_ring_free(c->rx);
	rte_ring_free(c->fill);
	rte_ring_free(c->used);
	rte_ring_free(c->ev);
	c->tx = c->rx = c->fill = c->used = c->ev = NULL;
}

/* The fields a pool and a NIC trust, rewritten from the engine's records:
 * an app could have scribbled over any of them. */
static inline void adopt_seg(struct mn_chan_engine *e, struct rte_mbuf *m, uint32_t ix)
{
	if (e->seg_acct && e->seg_acct[ix])
		mn_chan_unaccount(e, ix);
	m->pool = e->mp;
	m->buf_addr = (char *)m + sizeof(struct rte_mbuf) + e->priv_size;
	m->buf_iova = e->buf_iova[ix];
	m->buf_len = e->data_room;
	m->ol_flags = 0;
	rte_mbuf_refcnt_set(m, 1);
	e->owner[ix] = 0;
}

static inline struct mn_chan *active_chan(struct mn_chan_engine *e, uint16_t chan)
{
	struct mn_chan *c;

	if (chan >= MN_MAX_CHANNELS)
		return NULL;
	c = &e->chans[chan];
	if (c->shm == NULL || c->shm->state != MN_CHAN_LIVE || c->shm->engine != e->id)
		return NULL;
	return c;
}

/* After an enqueue on c's rx or ev ring: wakes its app if it waits
 * (mn_wake.h). */
static inline void wake_app(struct mn_chan_engine *e, struct mn_chan *c)
{
	e->app_wakes += mn_wake_chan(c->shm, c->efd);
}

static int post(struct mn_chan_engine *e, struct mn_chan *c, const struct mn_event *ev)
{
	if (rte_ring_enqueue_elem(c->ev, (void *)(uintptr_t)ev, sizeof(*ev)) != 0) {
		c->ev_drops++;
		return -ENOBUFS;
	}
	wake_app(e, c);
	return 0;
}

static void refill(struct mn_chan_engine *e, struct mn_chan *c)
{
	struct rte_mbuf *m[REFILL_MAX];
	uint32_t cap = rte_ring_get_capacity(c->fill);
	uint32_t want = c->shm->fill_want, target = c->shm->fill_target, have, n, i;

	if (want > target)
		target = want;
	if (target > cap)
		target = cap;
	have = rte_ring_count(c->fill);
	if (have >= target)
		return;
	n = target - have;
	/* The channel's share of the pool for sending (fill, app, TX ring,
	 * engine, unACKed): beyond it the app sees EAGAIN. A channel with
	 * nothing out but its fill ring still gets one message's worth, of any
	 * size. */
	if (e->seg_acct && c->tx_held >= e->tx_chan_pkts && c->tx_held > have) {
		e->tx_chan_full++;
		return;
	}
	if (n > REFILL_MAX)
		n = REFILL_MAX;
	if (rte_pktmbuf_alloc_bulk(e->mp, m, n) != 0) {
		e->alloc_fail++;
		return;
	}
	for (i = 0; i < n; i++) {
		int ix = mn_objmap_find(&e->map, m[i]);

		/* Cannot fail for this pool's objects; checked so a bug cannot
		 * index the owner table out of bounds. */
		if (ix >= 0) {
			e->owner[ix] = c->tag;
			mn_chan_mark_tx(e, c, (uint32_t)ix);
		}
	}
	/* The engine is the only producer and the app only takes, so the room
	 * seen above can only have grown. */
	rte_ring_enqueue_burst(c->fill, (void **)m, n, NULL);
	c->fill_given += n;
}

static void chan_add(struct mn_chan_engine *e, const struct mn_engine_cmd *cmd)
{
	struct mn_chan *c = active_chan(e, cmd->chan);
	struct mn_event ev;
	unsigned i;

	if (c == NULL || c->gen != cmd->chan_gen) {
		e->cmd_bad++;
		return;
	}
	for (i = 0; i < e->n_active; i++)
		if (e->active[i] == cmd->chan)
			return;
	e->active[e->n_active++] = cmd->chan;
	c->tx_hold = 0;
	refill(e, c);
	memset(&ev, 0, sizeof(ev));
	ev.type = MN_EV_ATTACHED;
	ev.chan = cmd->chan;
	ev.req_id = cmd->req_id;
	post(e, c, &ev);
}

unsigned mn_chan_engine_cmds(struct mn_chan_engine *e, struct mn_engine_cmd *cmds, unsigned n)
{
	struct mn_engine_cmd in[16];
	unsigned got, i, out = 0;

	if (n > RTE_DIM(in))
		n = RTE_DIM(in);
	got = rte_ring_dequeue_burst_elem(e->cmd, in, sizeof(in[0]), n, NULL);
	for (i = 0; i < got; i++) {
		if (in[i].op == MN_CMD_CHAN_ADD)
			chan_add(e, &in[i]);
		else if (in[i].op >= MN_CMD_CHAN_DEL && in[i].op <= MN_CMD_CLOSE &&
			 in[i].chan < MN_MAX_CHANNELS)
			cmds[out++] = in[i];
		else
			e->cmd_bad++;
	}
	return out;
}

int mn_chan_reply(struct mn_chan_engine *e, const struct mn_engine_cmd *cmd, int status,
		  const struct mn_event *flow_ev)
{
	struct mn_chan *c = active_chan(e, cmd->chan);
	struct mn_event ev;

	if (c == NULL)
		return -ENOENT;
	if (flow_ev)
		ev = *flow_ev;
	else
		memset(&ev, 0, sizeof(ev));
	switch (cmd->op) {
	case MN_CMD_LISTEN:
		ev.type = MN_EV_LISTEN;
		break;
	case MN_CMD_CONNECT:
		ev.type = MN_EV_CONNECTED;
		break;
	case MN_CMD_CLOSE:
		ev.type = MN_EV_CLOSED;
		break;
	default:
		return -EINVAL;
	}
	ev.chan = cmd->chan;
	ev.status = status;
	ev.req_id = cmd->req_id;
	return post(e, c, &ev);
}

int mn_chan_post_event(struct mn_chan_engine *e, uint16_t chan, const struct mn_event *ev)
{
	struct mn_chan *c = active_chan(e, chan);
	struct mn_event copy;

	if (c == NULL)
		return -ENOENT;
	copy = *ev;
	copy.chan = chan;
	return post(e, c, &copy);
}

void mn_chan_release(struct mn_chan_engine *e, const struct mn_engine_cmd *cmd)
{
	struct mn_engine_cmd done = *cmd;
	uint16_t tag = (uint16_t)(cmd->chan + 1);
	uint32_t i, freed = 0;

	for (i = 0; i < e->n_active; i++) {
		if (e->active[i] == cmd->chan) {
			e->active[i] = e->active[--e->n_active];
			break;
		}
	}
	/* The owner table, not the rings, says what the app held: a buffer may
	 * be in any ring, in the app's private memory, or copied out of a ring
	 * half-way through a dequeue that the app did not finish. */
	for (i = 0; i < e->map.n; i++) {
		if (e->owner[i] == tag) {
			struct rte_mbuf *m = e->map.objs[i];

			adopt_seg(e, m, i);
			m->next = NULL;
			m->nb_segs = 1;
			rte_pktmbuf_free_seg(m);
			freed++;
		} else if (e->seg_acct && e->seg_acct[i] == (MN_CHAN_TX_MARK | tag)) {
			e->seg_acct[i] = 0;	/* sent, in proto: no longer this id's */
		}
	}
	e->chans[cmd->chan].tx_held = e->chans[cmd->chan].rx_held = 0;
	done.status = (int32_t)freed;
	if (rte_ring_enqueue_elem(e->done, &done, sizeof(done)) != 0)
		e->done_full++;
}

/* Frees the segments idx[0..n) (already checked as owned by the channel). */
static void free_segs(struct mn_chan_engine *e, const uint32_t *idx, uint32_t n)
{
	uint32_t k;

	for (k = 0; k < n; k++) {
		struct rte_mbuf *m = e->map.objs[idx[k]];

		adopt_seg(e, m, idx[k]);
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
	}
}

/* Frees the part of a malformed chain that is provably the channel's: the
 * segments reached through owned objects, at most max_segs of them. The
 * rest, if any, is reclaimed when the channel goes away. */
static void free_bad_chain(struct mn_chan_engine *e, struct mn_chan *c, struct rte_mbuf *m,
			   uint32_t max_segs)
{
	uint32_t k;

	for (k = 0; k < max_segs && m != NULL; k++) {
		int ix = mn_objmap_find(&e->map, m);
		struct rte_mbuf *next;

		if (ix < 0 || e->owner[ix] != c->tag)
			return;
		next = m->next;
		adopt_seg(e, m, (uint32_t)ix);
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
}

static void take_used(struct mn_chan_engine *e, struct mn_chan *c, uint32_t *idx)
{
	struct rte_mbuf *m[BURST];
	/* Received chains are the peer's segmentation: any count nb_segs allows. */
	struct mn_chain_limits lim = { 0, 0, UINT16_MAX, MN_MAX_MSG };
	unsigned n, i;

	n = rte_ring_dequeue_burst(c->used, (void **)m, BURST, NULL);
	for (i = 0; i < n; i++) {
		int segs = mn_chain_check(&e->map, e->owner, c->tag, m[i], &lim, idx);

		if (segs < 0) {
			c->used_invalid++;
			free_bad_chain(e, c, m[i], lim.max_segs);
			continue;
		}
		free_segs(e, idx, (uint32_t)segs);
		c->used_back++;
	}
}

void mn_chan_service(struct mn_chan_engine *e)
{
	unsigned i;

	for (i = 0; i < e->n_active; i++) {
		struct mn_chan *c = &e->chans[e->active[i]];

		take_used(e, c, e->idx);
		refill(e, c);
	}
}

/* Takes up to want (<= BURST) validated messages from c's TX ring. */
static unsigned take_tx(struct mn_chan_engine *e, struct mn_chan *c, struct mn_tx_msg *out,
			unsigned want)
{
	struct mn_chain_limits lim = { e->mss, MN_TX_HEADROOM, max_segs_of(e), MN_MAX_MSG };
	uint32_t *idx = e->idx;
	struct rte_mbuf *m[BURST];
	unsigned k, cnt, got = 0;

	cnt = rte_ring_dequeue_burst(c->tx, (void **)m, want, NULL);
	for (k = 0; k < cnt; k++) {
		int segs = mn_chain_check(&e->map, e->owner, c->tag, m[k], &lim, idx);
		uint32_t s;

		if (segs < 0) {
			struct mn_event ev;

			c->tx_invalid++;
			free_bad_chain(e, c, m[k], lim.max_segs);
			memset(&ev, 0, sizeof(ev));
			ev.type = MN_EV_SEND_FAILED;
			ev.chan = c->id;
			ev.status = -EINVAL;
			post(e, c, &ev);
			continue;
		}
		/* The engine's now, still the channel's share until proto is
		 * done with them (mn_chan_tx_release). */
		for (s = 0; s < (uint32_t)segs; s++) {
			adopt_seg(e, e->map.objs[idx[s]], idx[s]);
			mn_chan_mark_tx(e, c, idx[s]);
		}
		out[got].head = m[k];
		out[got].chan = c->id;
		out[got].meta = *meta_of(e, m[k]);
		got++;
		c->tx_msgs++;
	}
	return got;
}

unsigned mn_chan_poll_tx(struct mn_chan_engine *e, struct mn_tx_msg *out, unsigned n)
{
	unsigned got = 0, visited;

	if (e->n_active == 0)
		return 0;
	for (visited = 0; visited < e->n_active && got < n; visited++) {
		unsigned slot = (e->rr + visited) % e->n_active;
		unsigned want = n - got;

		if (want > BURST)
			want = BURST;
		if (!e->chans[e->active[slot]].tx_hold)
			got += take_tx(e, &e->chans[e->active[slot]], out + got, want);
	}
	e->rr = e->n_active ? (e->rr + 1) % e->n_active : 0;
	return got;
}

unsigned mn_chan_poll_tx_one(struct mn_chan_engine *e, uint16_t chan, struct mn_tx_msg *out,
			     unsigned n)
{
	unsigned i, got = 0, want, k;

	for (i = 0; i < e->n_active; i++)
		if (e->active[i] == chan)
			break;
	if (i == e->n_active)
		return 0;
	while (got < n) {
		want = n - got < BURST ? n - got : BURST;
		k = take_tx(e, &e->chans[chan], out + got, want);
		if (k == 0 && rte_ring_empty(e->chans[chan].tx))
			break;
		got += k;
	}
	return got;
}

int mn_chan_deliver_acct(struct mn_chan_engine *e, uint16_t chan, struct rte_mbuf *head,
			 const struct mn_msg_meta *meta, uint32_t id)
{
	struct mn_chan *c = active_chan(e, chan);
	struct rte_mbuf *m;
	struct mn_msg_meta *dst;
	uint32_t k, ix, nsegs = head->nb_segs;
	uint64_t acct = 0;

	if (c == NULL)
		return -ENOENT;
	for (m = head, k = 0; m != NULL && k < nsegs; m = m->next, k++)
		if (mn_objmap_find(&e->map, m) < 0)
			return -EINVAL;
	dst = meta_of(e, head);
	*dst = *meta;
	dst->chan = chan;
	/* Counted: any non-zero mark, the account's when there is one. */
	if (e->seg_acct != NULL)
		acct = id != 0 && id < e->n_acct ? id | (uint64_t)e->acct[id].gen << 32 : MN_CHAN_ACCT_NONE;
	/* Marked before the enqueue: after it the chain is the app's, and its
	 * next pointers are no longer ours to walk. */
	for (m = head, k = 0; m != NULL && k < nsegs; m = m->next, k++) {
		ix = (uint32_t)mn_objmap_find(&e->map, m);
		e->owner[ix] = c->tag;
		if (acct)
			e->seg_acct[ix] = acct;
	}
	if (rte_ring_enqueue(c->rx, head) != 0) {
		for (m = head, k = 0; m != NULL && k < nsegs; m = m->next, k++) {
			ix = (uint32_t)mn_objmap_find(&e->map, m);
			e->owner[ix] = 0;
			if (acct)
				e->seg_acct[ix] = 0;
		}
		c->rx_full++;
		return -ENOBUFS;
	}
	c->rx_msgs++;
	if (acct) {
		c->rx_held += nsegs;
		if (acct != MN_CHAN_ACCT_NONE)
			e->acct[id].held += nsegs;
	}
	wake_app(e, c);
	return 0;
}

static bool same_flow(const struct mn_flow_key *a, const struct mn_flow_key *b)
{
	return a->lip == b->lip && a->rip == b->rip && a->lport == b->lport && a->rport == b->rport;
}

bool mn_chan_flow_blocked(struct mn_chan_engine *e, uint16_t ch, const struct mn_flow_key *k,
			  bool blocked)
{
	struct mn_chan *c = active_chan(e, ch);
	struct mn_chan_shm *cs;
	uint32_t n;

	if (c == NULL)
		return false;
	cs = c->shm;
	n = __atomic_load_n(&cs->n_blocked, __ATOMIC_RELAXED);
	if (n > MN_CHAN_BLOCKED_MAX)
		n = MN_CHAN_BLOCKED_MAX;	/* only this engine writes it: cannot happen */
	for (uint32_t i = 0; i < n; i++) {
		if (!same_flow(&cs->blocked[i], k))
			continue;
		if (blocked)
			return true;
		/* The last slot fills the hole, then the count drops. */
		cs->blocked[i] = cs->blocked[n - 1];
		__atomic_store_n(&cs->n_blocked, n - 1, __ATOMIC_RELEASE);
		return false;
	}
	if (!blocked || n == MN_CHAN_BLOCKED_MAX)
		return false;
	cs->blocked[n] = *k;
	__atomic_store_n(&cs->n_blocked, n + 1, __ATOMIC_RELEASE);
	return true;
}
