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
#include "mn_wire.h"

#define TIMER_PERIOD_US 1000	/* ARP retries are 100 ms apart: 1 ms is plenty fine */
#define ARP_RING_SIZE   1024
#define ARP_RING_FMT    "mn_arp_%u"	/* primary-internal: no secondary looks it up */

/* One learned neighbour, as passed between engines (12 bytes: ring element
 * sizes are multiples of 4). */
struct arp_note {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t port;
	uint8_t pad;
};

int mn_engine_link_arp(struct mn_engine *engines, unsigned n)
{
	char name[RTE_RING_NAMESIZE];

	if (n < 2)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), ARP_RING_FMT, i);
		engines[i].arp_in = rte_ring_create_elem(name, sizeof(struct arp_note),
							 ARP_RING_SIZE, (int)rte_socket_id(),
							 RING_F_SC_DEQ);
		if (!engines[i].arp_in) {
			int err = rte_errno;

			mn_engine_unlink_arp(engines, i);
			return -err;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		engines[i].n_peers = 0;
		for (unsigned k = 0; k < n; k++)
			if (k != i)
				engines[i].arp_peers[engines[i].n_peers++] = engines[k].arp_in;
	}
	return 0;
}

void mn_engine_unlink_arp(struct mn_engine *engines, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		rte_ring_free(engines[i].arp_in);
		engines[i].arp_in = NULL;
		engines[i].n_peers = 0;
	}
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
	}
	e->faults = false;
}

int mn_engine_init(struct mn_engine *e, unsigned id, const struct mn_config *cfg,
                   const struct mn_port *ports, unsigned n_ports, struct rte_mempool *pool,
                   struct mn_engine_stats *st, const atomic_bool *stop)
{
	struct mn_neigh_params ap;
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
	e->cycles_per_us = hz / 1000000;
	mn_neigh_params_default(&ap, cfg->arp_timeout_s);
	for (unsigned i = 0; i < n_ports; i++) {
		struct mn_engine_port *p = &e->ports[i];
		const struct mn_cfg_iface *ifc = ports[i].cfg;

		p->port_id = ports[i].port_id;
		p->hold = &ports[i].hold;
		p->queue = (uint16_t)id;
		p->tx_csum_offload = ports[i].tx_csum_offload;
		memcpy(p->ifc.mac, ports[i].mac.addr_bytes, 6);
		p->ifc.ip = ifc->ip;
		p->ifc.prefix_len = ifc->prefix_len;
		p->ifc.gateway = ifc->gateway;
		p->ifc.rx_csum = ifc->rx_checksum;
		if (mn_neigh_init(&p->arp, &ap))
			return -EINVAL;
	}
	e->n_ports = n_ports;
	rc = faults_init(e, id, &cfg->fault);
	if (rc)
		mn_engine_fini(e);
	return rc;
}

int mn_engine_add_probe(struct mn_engine *e, uint32_t ip)
{
	for (unsigned i = 0; i < e->n_ports; i++) {
		const struct mn_iface *ifc = &e->ports[i].ifc;

		if (mn_neigh_next_hop(ifc->ip, ifc->prefix_len, ifc->gateway, ip) == 0)
			continue;
		if (e->n_probes == MN_ENGINE_MAX_PROBES)
			return -ENOSPC;
		e->probes[e->n_probes].ip = ip;
		e->probes[e->n_probes].port = i;
		atomic_store(&e->probes[e->n_probes].state, 0);
		return (int)e->n_probes++;
	}
	return -ENETUNREACH;
}

bool mn_engine_port_parked(const struct mn_engine *e, unsigned port, uint32_t h)
{
	return atomic_load_explicit(&e->ports[port].parked, memory_order_acquire) == h;
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

/* Only the fault injectors need nanoseconds. */
static inline uint64_t now_ns(const struct mn_engine *e)
{
	uint64_t t = rte_rdtsc();

	return t / e->cycles_per_us * 1000 + t % e->cycles_per_us * 1000 / e->cycles_per_us;
}

/* True while the main thread restarts the port: then the engine must not
 * call its burst functions, and says it has stepped back. */
static inline bool port_held(struct mn_engine_port *p)
{
	uint32_t h = atomic_load_explicit(p->hold, memory_order_acquire);

	if (likely(!(h & 1)))
		return false;
	atomic_store_explicit(&p->parked, h, memory_order_release);
	return true;
}

static void tx_flush(struct mn_engine *e, struct mn_engine_port *p)
{
	uint16_t sent;

	if (unlikely(p->fault[MN_FAULT_TX] != NULL)) {
		struct mn_fault *f = p->fault[MN_FAULT_TX];
		uint64_t t = now_ns(e);
		uint16_t cap = RTE_DIM(p->tx);

		p->n_tx = mn_fault_apply(f, (void **)p->tx, p->n_tx, cap, t);
		p->n_tx += mn_fault_release(f, (void **)(p->tx + p->n_tx), cap - p->n_tx, t);
	}
	if (p->n_tx == 0)
		return;
	if (unlikely(port_held(p))) {
		/* Its link is down and it is being restarted: what was queued
		 * is lost as on a dead wire, and the transport resends it. */
		e->st->tx_fail += p->n_tx;
		rte_pktmbuf_free_bulk(p->tx, p->n_tx);
		p->n_tx = 0;
		return;
	}
	sent = rte_eth_tx_burst(p->port_id, p->queue, p->tx, p->n_tx);
	for (uint16_t i = 0; i < sent; i++)
		e->st->tx_bytes += rte_pktmbuf_pkt_len(p->tx[i]);
	e->st->tx_pkts += sent;
	if (sent < p->n_tx) {
		e->st->tx_fail += (uint64_t)(p->n_tx - sent);
		rte_pktmbuf_free_bulk(&p->tx[sent], p->n_tx - sent);
	}
	p->n_tx = 0;
}

static void tx_queue(struct mn_engine *e, struct mn_engine_port *p, struct rte_mbuf *m)
{
	if (p->n_tx == RTE_DIM(p->tx))
		tx_flush(e, p);
	p->tx[p->n_tx++] = m;
}

void mn_engine_tx(struct mn_engine *e, unsigned port, struct rte_mbuf *m)
{
	tx_queue(e, &e->ports[port], m);
}

static void send_arp_request(struct mn_engine *e, struct mn_engine_port *p, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(e->pool);
	uint8_t *buf;

	if (!m) {
		e->st->tx_fail++;
		return;
	}
	buf = (uint8_t *)rte_pktmbuf_append(m, MN_ARP_FRAME_LEN);
	if (!buf) {
		rte_pktmbuf_free(m);
		e->st->tx_fail++;
		return;
	}
	mn_neigh_arp_request(buf, &p->ifc, ip);
	e->st->arp_req_sent++;
	tx_queue(e, p, m);
}

int mn_engine_resolve(struct mn_engine *e, unsigned port, uint32_t dst_ip, uint8_t mac[6])
{
	struct mn_engine_port *p = &e->ports[port];
	uint32_t hop = mn_neigh_next_hop(p->ifc.ip, p->ifc.prefix_len, p->ifc.gateway, dst_ip);
	bool send;
	int rc;

	if (hop == 0)
		return -ENETUNREACH;
	rc = mn_neigh_resolve(&p->arp, hop, now_us(e), mac, &send);
	if (send)
		send_arp_request(e, p, hop);
	return rc == -ENOSPC ? -EHOSTUNREACH : rc;
}

void mn_engine_rx_transport(struct mn_engine *e, struct mn_engine_port *p, struct rte_mbuf *m)
{
	(void)p;
	if (e->x.ep == NULL) {
		e->st->drops[MN_DROP_NO_TRANSPORT]++;
		rte_pktmbuf_free(m);
		return;
	}
	mn_transport_rx(e, m);
}

void mn_engine_arp_resolved(struct mn_engine *e, unsigned port, uint32_t ip,
                            const uint8_t mac[6])
{
	if (e->x.ep != NULL)
		mn_transport_arp_resolved(e, port, ip, mac);
	for (unsigned i = 0; i < e->n_probes; i++) {
		struct mn_probe *pr = &e->probes[i];

		if (pr->port == port && pr->ip == ip && atomic_load(&pr->state) != 1) {
			memcpy(pr->mac, mac, 6);
			atomic_store_explicit(&pr->state, 1, memory_order_release);
		}
	}
}

static void poll_probes(struct mn_engine *e)
{
	uint8_t mac[6];

	for (unsigned i = 0; i < e->n_probes; i++) {
		struct mn_probe *pr = &e->probes[i];
		int rc;

		if (atomic_load_explicit(&pr->state, memory_order_relaxed) == 1)
			continue;
		/* Pending: no new request (the table paces retries); failed and
		 * held: report; hold over: a new round starts. */
		rc = mn_engine_resolve(e, pr->port, pr->ip, mac);
		if (rc == 0)
			mn_engine_arp_resolved(e, pr->port, pr->ip, mac);
		else if (rc == -EHOSTUNREACH)
			atomic_store_explicit(&pr->state, -1, memory_order_release);
	}
}

static void arp_learned(struct mn_engine *e, unsigned port, const struct mn_neigh_learned *lr)
{
	struct arp_note note = { .ip = lr->ip, .port = (uint8_t)port };

	if (lr->completed)
		mn_engine_arp_resolved(e, port, lr->ip, lr->mac);
	memcpy(note.mac, lr->mac, 6);
	/* A full ring only delays a peer: it keeps retrying on its own. */
	for (unsigned i = 0; i < e->n_peers; i++)
		rte_ring_mp_enqueue_elem(e->arp_peers[i], &note, sizeof(note));
}

static void arp_drain(struct mn_engine *e, uint64_t now)
{
	struct arp_note notes[MN_ENGINE_BURST];
	unsigned n = rte_ring_sc_dequeue_burst_elem(e->arp_in, notes, sizeof(notes[0]),
						     MN_ENGINE_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct mn_engine_port *p;

		if (notes[i].port >= e->n_ports)
			continue;
		p = &e->ports[notes[i].port];
		/* Only what this engine waits for or already knows. */
		if (mn_neigh_learn(&p->arp, notes[i].ip, notes[i].mac, now, false) == 1) {
			e->st->arp_resolved++;
			mn_engine_arp_resolved(e, notes[i].port, notes[i].ip, notes[i].mac);
		}
	}
}

static void run_timers(struct mn_engine *e, uint64_t now)
{
	uint32_t due[MN_ENGINE_BURST];

	for (unsigned i = 0; i < e->n_ports; i++) {
		struct mn_engine_port *p = &e->ports[i];
		unsigned failed = 0;
		unsigned n = mn_neigh_tick(&p->arp, now, due, RTE_DIM(due), &failed);

		e->st->arp_failed += failed;
		for (unsigned k = 0; k < n; k++)
			send_arp_request(e, p, due[k]);
	}
	if (e->arp_in)
		arp_drain(e, now);
	if (e->n_probes)
		poll_probes(e);
	/* Flow timers run every loop (mn_transport_poll); only connects waiting
	 * for ARP are looked at here. */
	if (e->x.ep != NULL)
		mn_transport_tick(e);
}

static unsigned rx_port(struct mn_engine *e, unsigned idx, uint64_t now)
{
	struct mn_engine_port *p = &e->ports[idx];
	/* Twice the burst: room for fault duplicates and released frames. */
	struct rte_mbuf *pkts[MN_ENGINE_BURST * 2];
	uint16_t n;

	if (unlikely(port_held(p)))
		return 0;
	n = rte_eth_rx_burst(p->port_id, p->queue, pkts, MN_ENGINE_BURST);

	if (unlikely(p->fault[MN_FAULT_RX] != NULL)) {
		struct mn_fault *f = p->fault[MN_FAULT_RX];
		uint64_t t = now_ns(e);
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
		switch (mn_frame_rx(rte_pktmbuf_mtod(m, uint8_t *), &len, &p->ifc, &p->arp, now,
				  e->st, &lr)) {
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
			tx_queue(e, p, m);
			break;
		case MN_FRAME_TRANSPORT:
			mn_engine_rx_transport(e, p, m);
			break;
		default:
			rte_pktmbuf_free(m);
			break;
		}
		if (lr.ip)
			arp_learned(e, idx, &lr);
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

int mn_engine_main(void *arg)
{
	struct mn_engine *e = arg;
	uint64_t next_timer = 0, busy_until = 0;
	uint32_t empty = 0;
	/* Each iteration may touch the memif PMD's shared regions: a munmap()
	 * elsewhere waits until the iteration is over (mn_quiesce.h). */
	struct mn_quiesce *q = mn_quiesce_register();

	while (!atomic_load_explicit(e->stop, memory_order_relaxed)) {
		uint64_t now;
		unsigned got = 0;

		mn_quiesce_enter(q);
		now = now_us(e);

		if (e->x.ep != NULL)
			mn_transport_begin(e);
		for (unsigned i = 0; i < e->n_ports; i++)
			got += rx_port(e, i, now);
		if (e->x.ep != NULL)
			got += mn_transport_poll(e, got);
		if (now >= next_timer) {
			run_timers(e, now);
			if (unlikely(e->faults))
				fault_stats(e);
			next_timer = now + TIMER_PERIOD_US;
		}
		for (unsigned i = 0; i < e->n_ports; i++)
			tx_flush(e, &e->ports[i]);
		mn_quiesce_exit(q);
		e->st->polls++;
		if (got || (unlikely(e->faults) && fault_held(e))) {
			empty = 0;
			/* What was just sent is often answered within a few us
			 * (an app's reply through the other CPU): keep polling
			 * rather than pay a context switch away and back. */
			busy_until = now + e->spin_us;
			continue;
		}
		e->st->idle_polls++;
		if (now < busy_until)
			continue;
		if (++empty >= e->idle_polls) {
			idle_wait(e);
			empty = e->idle_polls;	/* keep idling until traffic returns */
		}
	}
	mn_quiesce_enter(q);
	for (unsigned i = 0; i < e->n_ports; i++)
		tx_flush(e, &e->ports[i]);
	mn_quiesce_exit(q);
	return 0;
}
