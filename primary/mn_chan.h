/* mn_chan: the engine's side of app channels (ABI: mn_abi.h section 2).
 *
 * Promises:
 * - Only the owning engine lcore calls the mn_chan_engine_* / mn_chan_*
 *   functions that take a struct mn_chan_engine, so no locks are needed.
 * - Nothing an app writes into shared memory can make the engine touch memory
 *   outside its pool or free a buffer twice: every mbuf pointer an app hands
 *   back is looked up in the engine's object map and must be owned by that
 *   channel; the fields the NIC or the pool rely on (pool, buf_addr, buf_iova,
 *   buf_len, refcnt, ol_flags) are rewritten from the engine's own records.
 * - Every mbuf given to a channel is recorded as owned by it, so when the
 *   channel goes away (detach or app death) the engine frees exactly the
 *   buffers the app still held, wherever they were (rings, app memory).
 * - The data path does not allocate with malloc, block or log: it counts.
 *
 * The pure part (object map, chain check) needs no EAL and is unit-tested on
 * plain memory.
 */
#ifndef MN_CHAN_H
#define MN_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_abi.h"
#include "mn_engine_cmd.h"

struct rte_mbuf;
struct rte_ring;
struct rte_mempool;

/* ---- pure part ---- */

/* A set of objects (mbuf headers), address -> dense index, O(1). */
struct mn_objmap {
	uintptr_t *keys;	/* open addressing, 0 = empty */
	uint32_t *vals;
	void **objs;		/* index -> object */
	uint32_t mask;		/* hash table size - 1 */
	uint32_t n, cap;
	uintptr_t lo, hi;	/* [lo, hi]: span of all objects, for a quick reject */
	/* While objects are added in address order at one stride (a mempool:
	 * evenly spaced within each page, a gap where an object would cross a
	 * page), they form runs and find() is a binary search of the few runs
	 * plus a division: no probe of the large hash table, whose lookups
	 * missed the cache on every segment of every message. */
	struct mn_objrun *runs;
	uint32_t n_runs, max_runs;
	uintptr_t stride;	/* 0 until the second object */
	int by_runs;		/* 0: hash lookups only */
};

struct mn_objrun {
	uintptr_t base;		/* address of its first object */
	uint32_t first, count;	/* index of the first object, objects in the run */
};

/* Sizes the map for up to max_objs objects (malloc). 0 or -ENOMEM/-EINVAL. */
int mn_objmap_init(struct mn_objmap *m, uint32_t max_objs);
void mn_objmap_fini(struct mn_objmap *m);
/* Adds obj (must be 64-byte aligned). Returns its index, or -EINVAL (NULL or
 * misaligned), -EEXIST, -ENOSPC. */
int mn_objmap_add(struct mn_objmap *m, void *obj);
/* Index of p if p is exactly one of the objects, else -1. Any pointer value
 * (garbage included) is safe: p is never dereferenced. */
int mn_objmap_find(const struct mn_objmap *m, const void *p);

struct mn_chain_limits {
	uint32_t max_seg_len;	/* payload bytes per segment (mss; 0: buf_len) */
	uint16_t min_data_off;	/* MN_TX_HEADROOM for messages to send, else 0 */
	uint32_t max_segs;
	uint32_t max_len;	/* MN_MAX_MSG */
};

/* Checks a message chain an app handed over: head and every segment are
 * objects of m owned by tag (owner[index] == tag), the segment count equals
 * head->nb_segs (<= max_segs, so a cycle ends the walk), every data_len is
 * 1..max_seg_len, data_off >= min_data_off, data_off + data_len <= buf_len,
 * the lengths add up to head->pkt_len (1..max_len), and the last next is
 * NULL. Only objects already found in m are dereferenced. Writes the segments'
 * indices to idx[] (room for max_segs) when idx is not NULL.
 * Returns the segment count, or -EINVAL (malformed) / -EPERM (a segment is
 * not owned by tag). */
int mn_chain_check(const struct mn_objmap *m, const uint16_t *owner, uint16_t tag,
		   const struct rte_mbuf *head, const struct mn_chain_limits *lim,
		   uint32_t *idx);

/* ---- engine part (EAL) ---- */

/* One app's share of the engines' flows and listeners (apps.max_flows,
 * apps.max_listeners). mn_ctrl owns one per app slot, in the primary's own
 * memory (an app cannot write it); the engines that serve the app's
 * channels charge and release it, with atomics, as one app's channels may
 * live on several engines. Everything charged on a channel is released
 * before the engine confirms the channel's CHAN_DEL, so an app slot is
 * freed (and reused) with its counts at 0. */
struct mn_app_quota {
	uint32_t flows, listeners;		/* held now (atomic) */
	uint32_t max_flows, max_listeners;	/* set at registration */
};

/* Takes one unit of *held if that stays within max: 1, or 0 at the limit. */
static inline int mn_quota_take(uint32_t *held, uint32_t max)
{
	uint32_t v = __atomic_load_n(held, __ATOMIC_RELAXED);

	do {
		if (v >= max)
			return 0;
	} while (!__atomic_compare_exchange_n(held, &v, v + 1, 0, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return 1;
}

static inline void mn_quota_put(uint32_t *held)
{
	__atomic_fetch_sub(held, 1, __ATOMIC_RELAXED);
}

/* A channel as the primary sees it; one per channel id, owned by mn_ctrl. */
struct mn_chan {
	uint16_t id;
	uint16_t tag;		/* owner tag: id + 1 (0 = the engine) */
	uint32_t gen;
	/* Its app's quota; set by mn_ctrl at attach, before the engine is told
	 * of the channel (MN_CMD_CHAN_ADD), and left until the next attach. */
	struct mn_app_quota *quota;
	struct rte_ring *tx, *rx, *fill, *used, *ev;
	struct mn_chan_shm *shm;
	/* The app's eventfd for machnet_channel_fd(), -1 if none: set by the
	 * control thread before it hands the channel to the engine, closed by
	 * it after the engine let go (mn_ctrl.c). The engine writes it when it
	 * delivers while the app has armed it (mn_wake.h). */
	int efd;
	/* engine counters */
	uint64_t tx_msgs, tx_invalid, rx_msgs, rx_full, ev_drops, fill_given, used_back, used_invalid;
	/* Received mbufs the channel holds: delivered to its rx ring and not
	 * yet given back (used ring, or sent on as they are). */
	uint32_t rx_held;
	/* Mbufs of its share for sending: given through fill and not yet back
	 * (used ring, or released by proto once ACKed: mn_chan_tx_release). */
	uint32_t tx_held;
	uint8_t tx_hold;	/* the transport parked enough of it: not polled */
};

/* A receive account (one per transport flow): mbufs delivered under it
 * that its channel has not given back. gen tells a reused account's
 * buffers from those of the flow that had it before. */
struct mn_chan_acct {
	uint32_t held;
	uint16_t gen;
};

/* What mn_chan_poll_tx() returns: a validated message, now the engine's. */
struct mn_tx_msg {
	struct rte_mbuf *head;	/* chain, pkt_len bytes, nb_segs segments */
	uint16_t chan;
	struct mn_msg_meta meta;	/* copied out of the head mbuf */
};

struct mn_chan_engine {
	unsigned id;
	struct rte_mempool *mp;
	struct mn_objmap map;
	uint16_t *owner;	/* per object index: channel tag holding it, 0 = engine */
	uint64_t *buf_iova;	/* per object index: pristine buf_iova */
	uint32_t *idx;		/* scratch: segment indices of one chain */
	uint16_t priv_size, data_room;
	int meta_off;
	uint32_t mss;
	struct rte_ring *cmd, *done;
	struct mn_chan *chans;	/* the table of all channels (mn_ctrl's) */
	struct mn_engine_wake *wake;	/* this engine's doorbell (control memzone) */
	uint64_t app_wakes;	/* futex wakes and eventfd writes to apps */
	uint16_t active[MN_MAX_CHANNELS];
	unsigned n_active;
	unsigned rr;		/* TX poll starts here: fairness between channels */
	uint64_t cmd_bad, done_full, alloc_fail;
	/* Receive accounting (mn_chan_acct_init; NULL: none): per object, the
	 * account a delivered segment counts against (id | gen << 32, 0 =
	 * none). Cleared where the segment comes back (adopt_seg), whatever
	 * chain the app returns it in, so the counts are the engine's own. */
	uint64_t *seg_acct;
	struct mn_chan_acct *acct;
	uint32_t n_acct;
	uint32_t tx_chan_pkts;	/* a channel's share for sending */
	uint64_t tx_chan_full;	/* refills withheld: share used */
};

/* Registers the message-metadata dynfield (idempotent). Offset or -errno. */
int mn_chan_meta_register(void);

/* Sets up an engine's context: object map of mp, command rings. In the
 * primary, before the engine lcore starts. 0 or -errno. */
int mn_chan_engine_init(struct mn_chan_engine *e, unsigned id, struct rte_mempool *mp,
			uint32_t mss, struct mn_chan *chans);
void mn_chan_engine_fini(struct mn_chan_engine *e);

/* Creates channel id's rings (names from the ABI) with capacities ring_size
 * and fill_size. Primary, at start. 0 or -errno. */
int mn_chan_create(struct mn_chan *c, uint16_t id, uint32_t ring_size, uint32_t fill_size,
		   struct mn_chan_shm *shm);
/* Empties every ring of a channel no one uses any more (both sides gone):
 * DPDK's reset also repairs a head left ahead of its tail by a process that
 * died inside an enqueue or dequeue. */
void mn_chan_reset_rings(struct mn_chan *c);
void mn_chan_destroy(struct mn_chan *c);

/* Engine loop, step 1: takes up to n commands from the control thread.
 * MN_CMD_CHAN_ADD is handled inside (the channel becomes active, its fill
 * ring is primed and MN_EV_ATTACHED posted). Returned for the engine to act
 * on: MN_CMD_LISTEN / CONNECT / CLOSE (answer with mn_chan_reply()) and
 * MN_CMD_CHAN_DEL (reset the channel's flows and listeners, then call
 * mn_chan_release()). Returns how many were written to cmds. */
unsigned mn_chan_engine_cmds(struct mn_chan_engine *e, struct mn_engine_cmd *cmds, unsigned n);

/* The transport's word on flow k of channel ch: its send buffer is full
 * (blocked: published in the channel's shm, at most MN_CHAN_BLOCKED_MAX)
 * or has room again. Returns true when k is (still) published. */
bool mn_chan_flow_blocked(struct mn_chan_engine *e, uint16_t ch, const struct mn_flow_key *k,
			  bool blocked);

/* Answers a LISTEN/CONNECT/CLOSE command on its channel's event ring with
 * status (0 or -errno) and, for CONNECT, the flow (NULL otherwise).
 * 0 or -ENOBUFS (event ring full: counted). */
int mn_chan_reply(struct mn_chan_engine *e, const struct mn_engine_cmd *cmd, int status,
		  const struct mn_event *flow_ev);

/* Posts an unsolicited event (MN_EV_ACCEPTED, MN_EV_RESET, MN_EV_SEND_FAILED)
 * to channel chan. 0, -ENOENT (not an active channel) or -ENOBUFS. */
int mn_chan_post_event(struct mn_chan_engine *e, uint16_t chan, const struct mn_event *ev);

/* Finishes MN_CMD_CHAN_DEL: the channel leaves the engine, every mbuf it
 * held is freed and the control thread is told (done ring). */
void mn_chan_release(struct mn_chan_engine *e, const struct mn_engine_cmd *cmd);

/* Engine loop, step 2: refills fill rings and takes back used chains. */
void mn_chan_service(struct mn_chan_engine *e);

/* Engine loop, step 3: takes up to n messages to send from the channels'
 * TX rings (round robin). Malformed ones are freed and counted
 * (MN_EV_SEND_FAILED with -EINVAL is posted). The returned chains belong to
 * the engine. Returns the count. */
unsigned mn_chan_poll_tx(struct mn_chan_engine *e, struct mn_tx_msg *out, unsigned n);

/* The same for channel chan alone, while it is still on the engine (before
 * mn_chan_release()): what its app queued before it went away. */
unsigned mn_chan_poll_tx_one(struct mn_chan_engine *e, uint16_t chan, struct mn_tx_msg *out,
			     unsigned n);

/* Delivers a received message (head of a chain of this engine's mbufs with
 * pkt_len/nb_segs set; meta: the flow as seen by the receiver and the
 * engine's flow id) to channel chan.
 * 0: the chain now belongs to the app. -ENOENT (no such active channel),
 * -ENOBUFS (its RX ring is full: counted, the chain is still the caller's),
 * -EINVAL (a segment is not from this engine's pool). */
int mn_chan_deliver_acct(struct mn_chan_engine *e, uint16_t chan, struct rte_mbuf *head,
			 const struct mn_msg_meta *meta, uint32_t id);
static inline int mn_chan_deliver(struct mn_chan_engine *e, uint16_t chan, struct rte_mbuf *head,
				  const struct mn_msg_meta *meta)
{
	return mn_chan_deliver_acct(e, chan, head, meta, 0);
}

/* Accounting, for flow control (mn_chan_acct.c; the transport's receive
 * windows and the channels' shares of the pool).
 * mn_chan_acct_init: n accounts (ids 1..n-1 usable) and tx_chan_pkts, a
 * channel's share for sending; main thread, after mn_chan_engine_init; 0
 * or -ENOMEM. mn_chan_acct_open: a new owner for
 * account id (its count starts at 0; buffers of the previous owner no
 * longer count). mn_chan_deliver_acct: mn_chan_deliver, counting every
 * segment against account id (0: none) and the channel until it comes
 * back. */
int mn_chan_acct_init(struct mn_chan_engine *e, uint32_t n, uint32_t tx_chan_pkts);
void mn_chan_acct_open(struct mn_chan_engine *e, uint32_t id);
/* Every final release of a buffer taken from a channel (proto done with a
 * sent segment, a failed send): it leaves the channel's share. Buffers
 * never counted are ignored. */
void mn_chan_tx_release(struct mn_chan_engine *e, const void *buf);

#define MN_CHAN_TX_MARK (1ull << 63)	/* seg_acct: counted in chans[low bits - 1].tx_held */
#define MN_CHAN_ACCT_NONE 0xffffffffu	/* seg_acct: counted in its channel, no flow account */

/* A counted segment came back to the engine: it no longer counts. */
static inline void mn_chan_unaccount(struct mn_chan_engine *e, uint32_t ix)
{
	uint64_t a = e->seg_acct[ix];
	uint32_t id = (uint32_t)a, tag = e->owner[ix];

	e->seg_acct[ix] = 0;
	if (a & MN_CHAN_TX_MARK) {
		tag = (uint32_t)(a & 0xffff);
		if (tag != 0 && tag <= MN_MAX_CHANNELS && e->chans[tag - 1].tx_held)
			e->chans[tag - 1].tx_held--;
		return;
	}
	if (tag != 0 && tag <= MN_MAX_CHANNELS && e->chans[tag - 1].rx_held)
		e->chans[tag - 1].rx_held--;
	if (id < e->n_acct && e->acct[id].gen == (uint16_t)(a >> 32) && e->acct[id].held)
		e->acct[id].held--;
}

static inline void mn_chan_mark_tx(struct mn_chan_engine *e, struct mn_chan *c, uint32_t ix)
{
	if (e->seg_acct == NULL)
		return;
	e->seg_acct[ix] = MN_CHAN_TX_MARK | c->tag;
	c->tx_held++;
}

static inline uint32_t mn_chan_acct_held(const struct mn_chan_engine *e, uint32_t id)
{
	return id < e->n_acct ? e->acct[id].held : 0;
}

static inline uint32_t mn_chan_rx_held(const struct mn_chan_engine *e, uint16_t chan)
{
	return chan < MN_MAX_CHANNELS ? e->chans[chan].rx_held : 0;
}

#endif
