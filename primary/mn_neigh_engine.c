/* mn_neigh_engine: an engine's neighbour state: ARP requests on the wire,
 * what the other engines learned, the probes. See mn_neigh.h. */
#include "mn_neigh.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mn_txq.h"
#include "mn_wire.h"

#define RING_SIZE 1024
#define RING_FMT  "mn_arp_%u"	/* primary-internal: no secondary looks it up */
#define DRAIN_BURST 32

/* One learned neighbour, as passed between engines (12 bytes: ring element
 * sizes are multiples of 4). */
struct arp_note {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t port;
	uint8_t pad;
};

int mn_neigh_init(struct mn_neigh *n, const struct mn_iface *ifcs, struct mn_txq *const *txqs,
		  unsigned n_ports, uint32_t timeout_s, struct rte_mempool *pool,
		  struct mn_engine_stats *st, uint64_t cycles_per_us)
{
	struct mn_neigh_params ap;

	if (n_ports == 0 || n_ports > MN_NEIGH_MAX_PORTS || cycles_per_us == 0)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	mn_neigh_params_default(&ap, timeout_s);
	for (unsigned i = 0; i < n_ports; i++) {
		n->ports[i].ifc = ifcs[i];
		n->ports[i].txq = txqs[i];
		if (mn_neigh_table_init(&n->ports[i].table, &ap))
			return -EINVAL;
	}
	n->n_ports = n_ports;
	n->pool = pool;
	n->st = st;
	n->cycles_per_us = cycles_per_us;
	return 0;
}

int mn_neigh_link(struct mn_neigh *const *all, unsigned count)
{
	char name[RTE_RING_NAMESIZE];

	if (count < 2)
		return 0;
	if (count > MN_NEIGH_MAX_PEERS)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++) {
		snprintf(name, sizeof(name), RING_FMT, i);
		all[i]->in = rte_ring_create_elem(name, sizeof(struct arp_note), RING_SIZE,
						  (int)rte_socket_id(), RING_F_SC_DEQ);
		if (!all[i]->in) {
			int err = rte_errno;

			mn_neigh_unlink(all, i);
			return -err;
		}
	}
	for (unsigned i = 0; i < count; i++) {
		all[i]->n_peers = 0;
		for (unsigned k = 0; k < count; k++)
			if (k != i)
				all[i]->peers[all[i]->n_peers++] = all[k]->in;
	}
	return 0;
}

void mn_neigh_unlink(struct mn_neigh *const *all, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		rte_ring_free(all[i]->in);
		all[i]->in = NULL;
		all[i]->n_peers = 0;
	}
}

static void send_request(struct mn_neigh *n, struct mn_neigh_port *p, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
	uint8_t *buf;

	if (!m) {
		n->st->tx_fail++;
		return;
	}
	buf = (uint8_t *)rte_pktmbuf_append(m, MN_ARP_FRAME_LEN);
	if (!buf) {
		rte_pktmbuf_free(m);
		n->st->tx_fail++;
		return;
	}
	mn_neigh_arp_request(buf, &p->ifc, ip);
	n->st->arp_req_sent++;
	mn_txq_push(p->txq, m);
}

void mn_neigh_watch_link(struct mn_neigh *n, unsigned port, const _Atomic uint32_t *link_ups)
{
	if (port >= n->n_ports)
		return;
	n->ports[port].link_ups = link_ups;
	n->ports[port].link_ups_seen = link_ups ? atomic_load(link_ups) : 0;
}

int mn_neigh_resolve(struct mn_neigh *n, unsigned port, uint32_t dst_ip, uint8_t mac[6])
{
	struct mn_neigh_port *p = &n->ports[port];
	uint32_t hop = mn_neigh_next_hop(p->ifc.ip, p->ifc.prefix_len, p->ifc.gateway, dst_ip);
	bool send;
	int rc;

	if (hop == 0)
		return -ENETUNREACH;
	/* Resolves are connects and probes, not per packet: one load here
	 * keeps the check off the data path. */
	if (p->link_ups) {
		uint32_t ups = atomic_load_explicit(p->link_ups, memory_order_acquire);

		if (ups != p->link_ups_seen) {
			p->link_ups_seen = ups;
			mn_neigh_table_forget_failed(&p->table);
		}
	}
	rc = mn_neigh_table_resolve(&p->table, hop, rte_rdtsc() / n->cycles_per_us, mac, &send);
	if (send)
		send_request(n, p, hop);
	return rc == -ENOSPC ? -EHOSTUNREACH : rc;
}

static void probes_done(struct mn_neigh *n, unsigned port, uint32_t ip, const uint8_t mac[6])
{
	for (unsigned i = 0; i < n->n_probes; i++) {
		struct mn_probe *pr = &n->probes[i];

		if (pr->port == port && pr->ip == ip && atomic_load(&pr->state) != 1) {
			memcpy(pr->mac, mac, 6);
			atomic_store_explicit(&pr->state, 1, memory_order_release);
		}
	}
}

void mn_neigh_learned_here(struct mn_neigh *n, unsigned port, const struct mn_neigh_learned *lr)
{
	struct arp_note note = { .ip = lr->ip, .port = (uint8_t)port };

	if (lr->completed)
		probes_done(n, port, lr->ip, lr->mac);
	memcpy(note.mac, lr->mac, 6);
	/* A full ring only delays a peer: it keeps retrying on its own. */
	for (unsigned i = 0; i < n->n_peers; i++)
		rte_ring_mp_enqueue_elem(n->peers[i], &note, sizeof(note));
}

static unsigned done_add(struct mn_neigh_done *done, unsigned k, unsigned port, uint32_t ip,
			 const uint8_t mac[6])
{
	if (k == MN_NEIGH_MAX_DONE)
		return k;
	done[k].ip = ip;
	done[k].port = port;
	memcpy(done[k].mac, mac, 6);
	return k + 1;
}

/* What the other engines learned: only what this one waits for or knows. */
static unsigned drain(struct mn_neigh *n, uint64_t now, struct mn_neigh_done *done, unsigned k)
{
	struct arp_note notes[DRAIN_BURST];
	unsigned got = rte_ring_sc_dequeue_burst_elem(n->in, notes, sizeof(notes[0]), DRAIN_BURST,
						       NULL);

	for (unsigned i = 0; i < got; i++) {
		if (notes[i].port >= n->n_ports)
			continue;
		if (mn_neigh_table_learn(&n->ports[notes[i].port].table, notes[i].ip, notes[i].mac, now,
				   false) == 1) {
			n->st->arp_resolved++;
			probes_done(n, notes[i].port, notes[i].ip, notes[i].mac);
			k = done_add(done, k, notes[i].port, notes[i].ip, notes[i].mac);
		}
	}
	return k;
}

static unsigned poll_probes(struct mn_neigh *n, struct mn_neigh_done *done, unsigned k)
{
	uint8_t mac[6];

	for (unsigned i = 0; i < n->n_probes; i++) {
		struct mn_probe *pr = &n->probes[i];
		int rc;

		if (atomic_load_explicit(&pr->state, memory_order_relaxed) == 1)
			continue;
		/* Pending: no new request (the table paces retries); failed and
		 * held: report; hold over: a new round starts. */
		rc = mn_neigh_resolve(n, pr->port, pr->ip, mac);
		if (rc == 0) {
			probes_done(n, pr->port, pr->ip, mac);
			k = done_add(done, k, pr->port, pr->ip, mac);
		} else if (rc == -EHOSTUNREACH) {
			atomic_store_explicit(&pr->state, -1, memory_order_release);
		}
	}
	return k;
}

unsigned mn_neigh_tick(struct mn_neigh *n, uint64_t now_us, struct mn_neigh_done *done)
{
	uint32_t due[DRAIN_BURST];
	unsigned k = 0;

	for (unsigned i = 0; i < n->n_ports; i++) {
		struct mn_neigh_port *p = &n->ports[i];
		unsigned failed = 0;
		unsigned cnt = mn_neigh_table_tick(&p->table, now_us, due, DRAIN_BURST, &failed);

		n->st->arp_failed += failed;
		for (unsigned j = 0; j < cnt; j++)
			send_request(n, p, due[j]);
	}
	if (n->in)
		k = drain(n, now_us, done, k);
	if (n->n_probes)
		k = poll_probes(n, done, k);
	return k;
}

int mn_neigh_add_probe(struct mn_neigh *n, uint32_t ip)
{
	for (unsigned i = 0; i < n->n_ports; i++) {
		const struct mn_iface *ifc = &n->ports[i].ifc;

		if (mn_neigh_next_hop(ifc->ip, ifc->prefix_len, ifc->gateway, ip) == 0)
			continue;
		if (n->n_probes == MN_NEIGH_MAX_PROBES)
			return -ENOSPC;
		n->probes[n->n_probes].ip = ip;
		n->probes[n->n_probes].port = i;
		atomic_store(&n->probes[n->n_probes].state, 0);
		return (int)n->n_probes++;
	}
	return -ENETUNREACH;
}
