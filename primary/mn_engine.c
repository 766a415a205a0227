/* mn_engine: the engine poll loop. See mn_engine.h. */
#include "mn_engine.h"

#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "mn_port.h"
#include "mn_quiesce.h"
#include "mn_wake.h"

#define TIMER_PERIOD_US 1000	/* ARP retries are 100 ms apart: 1 ms is plenty fine */
#define RXINTR_BOUND_NS 100000000ull	/* adaptive, all RX queues interrupt: longest sleep */
#define QUIET_GAP_MAX_US 50	/* adaptive: what one gap between polls adds to quiet time */
#define BACKOFF_AFTER_US 100000	/* adaptive: quiet this long before rx_poll_us backs off */

int mn_engine_link_arp(struct mn_engine *engines, unsigned n)
{
	struct mn_neigh *all[MN_CFG_MAX_ENGINES];

	if (n > MN_CFG_MAX_ENGINES)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		all[i] = &engines[i].neigh;
	return mn_neigh_link(all, n);
}

void mn_engine_unlink_arp(struct mn_engine *engines, unsigned n)
{
	struct mn_neigh *all[MN_CFG_MAX_ENGINES];

	for (unsigned i = 0; i < n && i < MN_CFG_MAX_ENGINES; i++)
		all[i] = &engines[i].neigh;
	mn_neigh_unlink(all, n < MN_CFG_MAX_ENGINES ? n : MN_CFG_MAX_ENGINES);
}

/* Fault injector callbacks (test-only path). */
static void *fault_dup(void *ctx, void *pkt)
{
	struct mn_engine *e = ctx;

	return rte_pktmbuf_copy(pkt, e->pool, 0, UINT32_MAX);
}

static void fault_free(void *ctx, void *pkt)
{
	(void)ctx;
	rte_pktmbuf_free(pkt);
}

static uint8_t *fault_data(void *ctx, void **pkt, uint32_t *len)
{
	struct mn_engine *e = ctx;
	struct rte_mbuf *m = *pkt;

	/* A frame the transport keeps for retransmission (refcnt > 1) or an
	 * indirect/external one: flip bits in a private copy only. */
	if (rte_mbuf_refcnt_read(m) > 1 || !RTE_MBUF_DIRECT(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, e->pool, 0, UINT32_MAX);

		if (!c)
			return NULL;
		rte_pktmbuf_free(m);
		*pkt = c;
		m = c;
	}
	*len = rte_pktmbuf_data_len(m);
	return rte_pktmbuf_mtod(m, uint8_t *);
}

static int faults_init(struct mn_engine *e, unsigned id, const struct mn_cfg_fault *fc)
{
	e->fops.dup = fault_dup;
	e->fops.free = fault_free;
	e->fops.data = fault_data;
	e->fops.ctx = e;
	if (!fc->enabled)
		return 0;
	for (unsigned i = 0; i < e->n_ports; i++) {
		for (unsigned d = MN_FAULT_RX; d <= MN_FAULT_TX; d++) {
			const struct mn_fault_params *fp = d == MN_FAULT_RX ? &fc->rx : &fc->tx;
			struct mn_fault *f;

			if (!mn_fault_params_active(fp))
				continue;
			f = mn_fault_create(fp, &e->fops,
					    mn_fault_derive_seed(fc->seed, id, i, d));
			if (!f)
				return errno ? -errno : -ENOMEM;
			e->ports[i].fault[d] = f;
			if (d == MN_FAULT_TX)
				e->ports[i].txq.fault = f;
			e->faults = true;
		}
	}
	return 0;
}

void mn_engine_fini(struct mn_engine *e)
{
	for (unsigned i = 0; i < MN_CFG_MAX_IFACES; i++) {
		for (unsigned d = 0; d < 2; d++) {
			mn_fault_destroy(e->ports[i].fault[d]);
			e->ports[i].fault[d] = NULL;
		}
		e->ports[i].txq.fault = NULL;
	}
	e->faults = false;
}

int mn_engine_init(struct mn_engine *e, unsigned id, const struct mn_config *cfg,
                   const struct mn_port *ports, unsigned n_ports, struct rte_mempool *pool,
                   struct mn_engine_stats *st, const atomic_bool *stop)
{
	struct mn_iface ifcs[MN_CFG_MAX_IFACES];
	struct mn_txq *txqs[MN_CFG_MAX_IFACES];
	uint64_t hz = rte_get_tsc_hz();
	int rc;

	if (n_ports == 0 || n_ports > MN_CFG_MAX_IFACES || !pool || !st || !stop || hz < 1000000)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->pool = pool;
	e->st = st;
	e->stop = stop;
	e->idle = cfg->idle;
	e->idle_polls = cfg->idle_polls;
	e->idle_sleep_us = cfg->idle_sleep_us;
	e->spin_us = cfg->spin_us;
	e->yield_us = cfg->yield_us;
	e->rx_poll_us = cfg->rx_poll_us ? cfg->rx_poll_us : 250;
	e->rx_poll_max_us = cfg->rx_poll_max_us > e->rx_poll_us ? cfg->rx_poll_max_us : e->rx_poll_us;
	e->cycles_per_us = hz / 1000000;
	for (unsigned i = 0; i < n_ports; i++) {
		struct mn_engine_port *p = &e->ports[i];
		const struct mn_cfg_iface *ifc = ports[i].cfg;

		p->port_id = ports[i].port_id;
		p->queue = (uint16_t)id;
		for (unsigned q = id; q < ports[i].n_queues && p->n_rxq < MN_ENGINE_MAX_RXQ;
		     q += cfg->n_engines)
			p->rxq[p->n_rxq++] = (uint16_t)q;
		p->tx_csum_offload = ports[i].tx_csum_offload;
		p->rss = ports[i].has_rss ? &ports[i].rss : NULL;
		memcpy(p->ifc.mac, ports[i].mac.addr_bytes, 6);
		p->ifc.ip = ifc->ip;
		p->ifc.prefix_len = ifc->prefix_len;
		p->ifc.gateway = ifc->gateway;
		p->ifc.rx_csum = ifc->rx_checksum;
		mn_txq_init(&p->txq, p->port_id, p->queue, &ports[i].hold, st, e->cycles_per_us);
		ifcs[i] = p->ifc;
		txqs[i] = &p->txq;
	}
	e->n_ports = n_ports;
	rc = mn_neigh_init(&e->neigh, ifcs, txqs, n_ports, cfg->arp_timeout_s, pool, st,
			   e->cycles_per_us);
	if (rc)
		return rc;
	for (unsigned i = 0; i < n_ports; i++)
		mn_neigh_watch_link(&e->neigh, i, &ports[i].link_ups);
	rc = faults_init(e, id, &cfg->fault);
	if (rc)
		mn_engine_fini(e);
	return rc;
}

void mn_engine_transport_env(struct mn_engine *e, struct mn_transport_env *env)
{
	memset(env, 0, sizeof(*env));
	env->engine_id = e->id;
	env->pool = e->pool;
	env->neigh = &e->neigh;
	env->n_ports = e->n_ports;
	for (unsigned i = 0; i < e->n_ports; i++) {
		env->ports[i].ifc = e->ports[i].ifc;
		env->ports[i].tx_csum_offload = e->ports[i].tx_csum_offload;
		env->ports[i].rss = e->ports[i].rss;
		env->ports[i].txq = &e->ports[i].txq;
	}
}

int mn_engine_add_probe(struct mn_engine *e, uint32_t ip)
{
	return mn_neigh_add_probe(&e->neigh, ip);
}

const struct mn_probe *mn_engine_probes(const struct mn_engine *e, unsigned *n)
{
	*n = e->neigh.n_probes;
	return e->neigh.probes;
}

bool mn_engine_port_parked(const struct mn_engine *e, unsigned port, uint32_t h)
{
	return atomic_load_explicit(&e->ports[port].txq.parked, memory_order_acquire) == h;
}

const struct mn_transport *mn_engine_transport(const struct mn_engine *e)
{
	return &e->x;
}

unsigned mn_engine_pool_in_use(const struct mn_engine *e)
{
	return e->pool ? rte_mempool_in_use_count(e->pool) : 0;
}

static inline uint64_t now_us(const struct mn_engine *e)
{
	return rte_rdtsc() / e->cycles_per_us;
}

/* Every millisecond: ARP timers; the resolutions they complete go to the
 * transport (connects waiting for ARP), which then times out the rest. */
static void run_timers(struct mn_engine *e, uint64_t now)
{
	struct mn_neigh_done done[MN_NEIGH_MAX_DONE];
	unsigned n = mn_neigh_tick(&e->neigh, now, done);

	if (!mn_transport_up(&e->x))
		return;
	for (unsigned i = 0; i < n; i++)
		mn_transport_arp_resolved(&e->x, done[i].port, done[i].ip, done[i].mac);
	mn_transport_tick(&e->x);
}

static unsigned rx_port(struct mn_engine *e, unsigned idx, uint64_t now)
{
	struct mn_engine_port *p = &e->ports[idx];
	/* Twice the burst: room for fault duplicates and released frames. */
	struct rte_mbuf *pkts[MN_ENGINE_BURST * 2];
	uint16_t n;

	if (unlikely(mn_txq_port_held(&p->txq)))
		return 0;
	n = 0;
	for (unsigned k = 0; k < p->n_rxq && n < MN_ENGINE_BURST; k++)
		n += rte_eth_rx_burst(p->port_id, p->rxq[k], pkts + n, MN_ENGINE_BURST - n);

	if (unlikely(p->fault[MN_FAULT_RX] != NULL)) {
		struct mn_fault *f = p->fault[MN_FAULT_RX];
		uint64_t t = mn_txq_now_ns(e->cycles_per_us);
		uint16_t cap = RTE_DIM(pkts);

		n = mn_fault_apply(f, (void **)pkts, n, cap, t);
		n += mn_fault_release(f, (void **)(pkts + n), cap - n, t);
	}

	e->st->rx_pkts += n;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		size_t len = rte_pktmbuf_data_len(m);
		struct mn_neigh_learned lr;

		e->st->rx_bytes += rte_pktmbuf_pkt_len(m);
		switch (mn_frame_rx(rte_pktmbuf_mtod(m, uint8_t *), &len, &p->ifc,
				    mn_neigh_table_of(&e->neigh, idx), now, e->st, &lr)) {
		case MN_FRAME_TX:
			/* The response fits in the first segment. */
			if (m->nb_segs > 1) {
				rte_pktmbuf_free(m->next);
				m->next = NULL;
				m->nb_segs = 1;
			}
			m->data_len = (uint16_t)len;
			m->pkt_len = (uint32_t)len;
			m->ol_flags = 0;
			mn_txq_push(&p->txq, m);
			break;
		case MN_FRAME_TRANSPORT:
			if (mn_transport_up(&e->x)) {
				mn_transport_rx(&e->x, m);
			} else {
				e->st->drops[MN_DROP_NO_TRANSPORT]++;
				rte_pktmbuf_free(m);
			}
			break;
		default:
			rte_pktmbuf_free(m);
			break;
		}
		if (lr.ip) {
			/* A completed resolution resumes the connects waiting
			 * for it at once, not at the next timer tick. */
			mn_neigh_learned_here(&e->neigh, idx, &lr);
			if (lr.completed && mn_transport_up(&e->x))
				mn_transport_arp_resolved(&e->x, idx, lr.ip, lr.mac);
		}
	}
	return n;
}

/* Publishes the injectors' counters (every timer tick). */
static void fault_stats(struct mn_engine *e)
{
	uint64_t dr = 0, du = 0, co = 0, de = 0, re = 0, qf = 0;

	for (unsigned i = 0; i < e->n_ports; i++) {
		for (unsigned d = 0; d < 2; d++) {
			const struct mn_fault_stats *fs;

			if (!e->ports[i].fault[d])
				continue;
			fs = mn_fault_stats(e->ports[i].fault[d]);
			dr += fs->dropped;
			du += fs->duplicated;
			co += fs->corrupted;
			de += fs->delayed;
			re += fs->reordered;
			qf += fs->queue_full;
		}
	}
	e->st->fault_dropped = dr;
	e->st->fault_duplicated = du;
	e->st->fault_corrupted = co;
	e->st->fault_delayed = de;
	e->st->fault_reordered = re;
	e->st->fault_queue_full = qf;
}

/* True when an injector holds frames: they must leave on time, so the loop
 * must not sleep or yield past their due time. */
static bool fault_held(const struct mn_engine *e)
{
	for (unsigned i = 0; i < e->n_ports; i++)
		for (unsigned d = 0; d < 2; d++)
			if (e->ports[i].fault[d] &&
			    mn_fault_next_due(e->ports[i].fault[d]) != UINT64_MAX)
				return true;
	return false;
}

static void idle_wait(const struct mn_engine *e)
{
	struct timespec ts;

	switch (e->idle) {
	case MN_IDLE_YIELD:
		sched_yield();
		break;
	case MN_IDLE_SLEEP:
		ts.tv_sec = e->idle_sleep_us / 1000000;
		ts.tv_nsec = (long)(e->idle_sleep_us % 1000000) * 1000;
		nanosleep(&ts, NULL);
		break;
	default:
		rte_pause();
		break;
	}
}

/* One iteration of the loop: receive, the transport's turn, timers, TX
 * flush. Returns how much work it found (0: idle). */
static unsigned poll_once(struct mn_engine *e, struct mn_quiesce *q, uint64_t *next_timer)
{
	uint64_t now;
	unsigned got = 0;

	/* Each iteration may touch the memif PMD's shared regions: a munmap()
	 * elsewhere waits until the iteration is over (mn_quiesce.h). */
	mn_quiesce_enter(q);
	now = now_us(e);
	if (mn_transport_up(&e->x))
		mn_transport_begin(&e->x);
	for (unsigned i = 0; i < e->n_ports; i++)
		got += rx_port(e, i, now);
	if (mn_transport_up(&e->x))
		got += mn_transport_poll(&e->x, got);
	if (now >= *next_timer) {
		run_timers(e, now);
		if (unlikely(e->faults))
			fault_stats(e);
		*next_timer = now + TIMER_PERIOD_US;
	}
	for (unsigned i = 0; i < e->n_ports; i++)
		mn_txq_flush(&e->ports[i].txq);
	mn_quiesce_exit(q);
	e->st->polls++;
	if (unlikely(e->faults) && fault_held(e))
		got++;
	return got;
}

unsigned mn_engine_rx_intr_init(struct mn_engine *e)
{
	unsigned n_rxq = 0;

	for (unsigned i = 0; i < e->n_ports; i++)
		n_rxq += e->ports[i].n_rxq;
	mn_rxintr_engine_init(&e->rxi, e->x.ce ? e->x.ce->wake : NULL,
			      e->idle == MN_IDLE_ADAPTIVE ? n_rxq : 0);
	if (e->idle != MN_IDLE_ADAPTIVE)
		return 0;	/* only the adaptive ladder sleeps until woken */
	for (unsigned i = 0; i < e->n_ports; i++)
		for (unsigned k = 0; k < e->ports[i].n_rxq; k++)
			mn_rxintr_add_queue(&e->rxi, e->ports[i].port_id, e->ports[i].rxq[k]);
	return e->rxi.n_q;
}

/* The bottom of the adaptive ladder (the sleeper's half of mn_wake.h):
 * says it sleeps, polls once more, and sleeps in FUTEX_WAIT until a waker
 * rings (an app, the control thread, or mn-rxintr for a frame on a queue
 * with an RX interrupt), the transport's next timer, or rx_poll_us when a
 * queue has no interrupt; then again, one poll per wake-up, until a poll
 * finds work (returned) or a waker rang (0: the main loop takes it from
 * there). */
static unsigned engine_sleep(struct mn_engine *e, struct mn_quiesce *q, uint64_t *next_timer)
{
	struct mn_engine_wake *w = e->x.ce ? e->x.ce->wake : NULL;
	unsigned got = 0;

	if (w == NULL) {
		struct timespec ts = { 0, (long)e->rx_poll_us * 1000 };

		nanosleep(&ts, NULL);
		return 0;
	}
	/* After BACKOFF_AFTER_US asleep with nothing to do, each further such
	 * sleep doubles the next, up to rx_poll_max_us: the longer the quiet,
	 * the less likely a frame is imminent, and a wake-up costs ~13 us of
	 * CPU on the 2-vCPU test VM. Traffic that pauses for less (requests a
	 * few ms apart) keeps the short period. */
	uint64_t poll_ns = (uint64_t)e->rx_poll_us * 1000, quiet_us = 0;

	/* Every queue wakes it: no polling period, only a bound that a lost
	 * interrupt (a PMD bug) cannot turn into a hang. Queues go into the
	 * set before the flag: an fd already readable reports at once. */
	if (mn_rxintr_covers_all(&e->rxi))
		poll_ns = RXINTR_BOUND_NS;
	mn_rxintr_arm(&e->rxi);
	while (!atomic_load_explicit(e->stop, memory_order_relaxed)) {
		uint64_t bound_ns = poll_ns, t0, slept;
		uint32_t seq0 = mn_engine_sleep_begin(w);
		int r;

		got = poll_once(e, q, next_timer);
		if (got)
			break;
		if (mn_transport_up(&e->x) && e->x.deadline != UINT64_MAX) {
			uint64_t left = e->x.deadline > e->x.now ? e->x.deadline - e->x.now : 0;

			if (left < bound_ns)
				bound_ns = left;
		}
		if (bound_ns < 1000)
			break;	/* a timer is due: the main loop runs it */
		t0 = rte_rdtsc();
		r = mn_engine_sleep_wait(w, seq0, bound_ns);
		slept = (rte_rdtsc() - t0) / e->cycles_per_us;
		w->sleeps++;
		/* Woke much later than asked: the scheduler ran something else
		 * (a lost wake-up would instead stall a sender: see the tests). */
		if (slept > bound_ns / 1000 + 1000)
			w->late++;
		if (r != -ETIMEDOUT)
			break;	/* rung (or the seq had moved): there is work */
		quiet_us += slept;
		if (bound_ns == poll_ns && poll_ns != RXINTR_BOUND_NS && quiet_us >= BACKOFF_AFTER_US &&
		    poll_ns < (uint64_t)e->rx_poll_max_us * 1000) {
			poll_ns *= 2;
			if (poll_ns > (uint64_t)e->rx_poll_max_us * 1000)
				poll_ns = (uint64_t)e->rx_poll_max_us * 1000;
		}
	}
	mn_engine_sleep_end(w);
	mn_rxintr_disarm(&e->rxi);
	return got;
}

int mn_engine_main(void *arg)
{
	struct mn_engine *e = arg;
	uint64_t next_timer = 0, last_work = 0, last_poll = 0, quiet_us = 0;
	uint32_t empty = 0;
	struct mn_quiesce *q = mn_quiesce_register();

	last_work = now_us(e);
	while (!atomic_load_explicit(e->stop, memory_order_relaxed)) {
		unsigned got = poll_once(e, q, &next_timer);
		uint64_t now, idle_us;

		if (got) {
			empty = 0;
			last_work = now_us(e);
			last_poll = last_work;
			quiet_us = 0;
			continue;
		}
		e->st->idle_polls++;
		/* What was just sent is often answered within a few us (an
		 * app's reply through the other CPU): keep polling rather than
		 * pay a context switch away and back. */
		now = now_us(e);
		idle_us = now - last_work;
		if (idle_us < e->spin_us)
			continue;
		if (e->idle == MN_IDLE_ADAPTIVE) {
			/* Quiet as the polls saw it: a longer gap between two
			 * polls is the CPU taken away (another thread's slice,
			 * the hypervisor), not traffic that stopped. Counting
			 * it made a stall of over yield_us in the middle of a
			 * stream put the engine to sleep, and the next frame
			 * then waited up to rx_poll_us. */
			uint64_t gap = last_poll && now > last_poll ? now - last_poll : 0;

			last_poll = now;
			quiet_us += gap < QUIET_GAP_MAX_US ? gap : QUIET_GAP_MAX_US;
			if (idle_us < (uint64_t)e->spin_us + e->yield_us ||
			    quiet_us < e->yield_us) {
				sched_yield();
			} else if (engine_sleep(e, q, &next_timer)) {
				last_work = now_us(e);
				last_poll = last_work;
				quiet_us = 0;
			}
			continue;
		}
		if (++empty >= e->idle_polls) {
			idle_wait(e);
			empty = e->idle_polls;	/* keep idling until traffic returns */
		}
	}
	mn_quiesce_enter(q);
	for (unsigned i = 0; i < e->n_ports; i++)
		mn_txq_flush(&e->ports[i].txq);
	mn_quiesce_exit(q);
	return 0;
}
