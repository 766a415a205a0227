/* mn_neigh: the neighbour table and ARP frames. See mn_neigh.h. */
#include "mn_neigh.h"

#include <errno.h>
#include <string.h>

#include "mn_wire.h"

void mn_neigh_params_default(struct mn_neigh_params *p, uint32_t timeout_s)
{
	p->timeout_us = (uint64_t)timeout_s * 1000000u;
	/* A LAN answers in well under 100 ms; five tries ride out a lost frame
	 * or a peer that is still starting its port. */
	p->retry_us = 100000;
	p->max_tries = 5;
	p->hold_us = 1000000;
}

int mn_neigh_table_init(struct mn_neigh_table *t, const struct mn_neigh_params *p)
{
	if (p->timeout_us == 0 || p->retry_us == 0 || p->max_tries == 0)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->p = *p;
	return 0;
}

/* An entry whose life is over counts as free, whatever its state says. */
static bool entry_dead(const struct mn_neigh_entry *e, uint64_t now_us)
{
	switch (e->state) {
	case MN_NEIGH_FREE:
		return true;
	case MN_NEIGH_REACHABLE:
	case MN_NEIGH_FAILED:
		return now_us >= e->expires_us;
	default:
		return false;
	}
}

static struct mn_neigh_entry *find(struct mn_neigh_table *t, uint32_t ip)
{
	for (unsigned i = 0; i < t->n_used; i++) {
		struct mn_neigh_entry *e = &t->e[i];

		if (e->state != MN_NEIGH_FREE && e->ip == ip)
			return e;
	}
	return NULL;
}

static struct mn_neigh_entry *alloc_entry(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us)
{
	struct mn_neigh_entry *e = NULL;

	for (unsigned i = 0; i < t->n_used; i++) {
		if (entry_dead(&t->e[i], now_us)) {
			e = &t->e[i];
			break;
		}
	}
	if (!e) {
		if (t->n_used == MN_NEIGH_MAX)
			return NULL;
		e = &t->e[t->n_used++];
	}
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	return e;
}

static void start_pending(struct mn_neigh_table *t, struct mn_neigh_entry *e, uint64_t now_us)
{
	e->state = MN_NEIGH_PENDING;
	e->tries = 1;
	e->used = true;
	e->next_tx_us = now_us + t->p.retry_us;
}

int mn_neigh_table_lookup(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6])
{
	struct mn_neigh_entry *e = find(t, ip);

	if (!e || e->state != MN_NEIGH_REACHABLE || now_us >= e->expires_us)
		return -ENOENT;
	memcpy(mac, e->mac, 6);
	e->used = true;
	return 0;
}

int mn_neigh_table_learn(struct mn_neigh_table *t, uint32_t ip, const uint8_t mac[6], uint64_t now_us,
                 bool create)
{
	struct mn_neigh_entry *e = find(t, ip);
	bool completed = false;

	if (!e) {
		if (!create)
			return 0;
		e = alloc_entry(t, ip, now_us);
		if (!e)
			return -ENOSPC;
	} else {
		completed = e->state == MN_NEIGH_PENDING;
	}
	memcpy(e->mac, mac, 6);
	e->state = MN_NEIGH_REACHABLE;
	e->tries = 0;
	e->next_tx_us = 0;
	e->expires_us = now_us + t->p.timeout_us;
	/* Someone waited for it: it is in use, keep it fresh. */
	e->used = completed;
	return completed ? 1 : 0;
}

unsigned mn_neigh_table_forget_failed(struct mn_neigh_table *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_used; i++) {
		if (t->e[i].state == MN_NEIGH_FAILED) {
			memset(&t->e[i], 0, sizeof(t->e[i]));
			n++;
		}
	}
	return n;
}

int mn_neigh_table_resolve(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6],
                   bool *send)
{
	struct mn_neigh_entry *e = find(t, ip);

	*send = false;
	if (e && !entry_dead(e, now_us)) {
		switch (e->state) {
		case MN_NEIGH_REACHABLE:
			memcpy(mac, e->mac, 6);
			e->used = true;
			return 0;
		case MN_NEIGH_PENDING:
			return -EINPROGRESS;
		case MN_NEIGH_FAILED:
			return -EHOSTUNREACH;
		default:
			break;
		}
	}
	if (!e) {
		e = alloc_entry(t, ip, now_us);
		if (!e)
			return -ENOSPC;
	}
	start_pending(t, e, now_us);
	*send = true;
	return -EINPROGRESS;
}

enum mn_neigh_state mn_neigh_table_state_of(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us)
{
	struct mn_neigh_entry *e = find(t, ip);

	if (!e || entry_dead(e, now_us))
		return MN_NEIGH_FREE;
	return (enum mn_neigh_state)e->state;
}

unsigned mn_neigh_table_tick(struct mn_neigh_table *t, uint64_t now_us, uint32_t *ips, unsigned max,
                     unsigned *failed)
{
	const uint64_t refresh_span = t->p.retry_us * t->p.max_tries;
	unsigned n = 0, nfail = 0;

	for (unsigned i = 0; i < t->n_used; i++) {
		struct mn_neigh_entry *e = &t->e[i];

		if (e->state == MN_NEIGH_FREE)
			continue;
		if (entry_dead(e, now_us)) {
			e->state = MN_NEIGH_FREE;
			continue;
		}
		if (e->state == MN_NEIGH_PENDING) {
			if (now_us < e->next_tx_us)
				continue;
			if (e->tries >= t->p.max_tries) {
				e->state = MN_NEIGH_FAILED;
				e->expires_us = now_us + t->p.hold_us;
				nfail++;
				continue;
			}
		} else if (e->state == MN_NEIGH_REACHABLE) {
			/* Refresh only what is in use, late in its life, so idle
			 * neighbours age out instead of being polled forever. */
			if (!e->used || e->expires_us - now_us > refresh_span ||
			    now_us < e->next_tx_us)
				continue;
		} else {
			continue;
		}
		if (n == max)
			continue;	/* due again on the next tick */
		ips[n++] = e->ip;
		e->tries++;
		e->next_tx_us = now_us + t->p.retry_us;
	}
	/* Shrink the scanned range past trailing free entries. */
	while (t->n_used > 0 && t->e[t->n_used - 1].state == MN_NEIGH_FREE)
		t->n_used--;
	if (failed)
		*failed = nfail;
	return n;
}

uint32_t mn_neigh_next_hop(uint32_t ip, uint8_t prefix_len, uint32_t gateway, uint32_t dst)
{
	uint32_t mask;

	if (dst == 0 || prefix_len > 32)
		return 0;
	mask = prefix_len == 0 ? 0 : ~0u << (32 - prefix_len);
	if ((dst & mask) == (ip & mask))
		return dst;
	return gateway;
}

/* ---------------- ARP frames ---------------- */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static enum mn_neigh_arp arp_drop(struct mn_engine_stats *st, enum mn_drop_reason r)
{
	st->drops[r]++;
	return MN_NEIGH_ARP_DROPPED;
}

enum mn_neigh_arp mn_neigh_rx_arp(uint8_t *frame, size_t *len, const struct mn_iface *ifc,
                                 struct mn_neigh_table *arp, uint64_t now_us,
                                 struct mn_engine_stats *st, struct mn_neigh_learned *lr)
{
	struct mn_arp a;
	bool for_us;
	int rc;

	if (mn_arp_decode(frame, *len, NULL, &a) != 0)
		return arp_drop(st, MN_DROP_ARP_MALFORMED);
	if (memcmp(frame, ifc->mac, 6) != 0 && memcmp(frame, bcast, 6) != 0)
		return arp_drop(st, MN_DROP_NOT_FOR_US);
	for_us = a.tpa == ifc->ip;
	/* RFC 826: refresh a neighbour we know from any ARP, create one only
	 * from ARP addressed to us. spa 0 is a probe (RFC 5227): nothing to learn. */
	if (a.spa != 0 && a.spa != ifc->ip) {
		rc = mn_neigh_table_learn(arp, a.spa, a.sha, now_us, for_us);
		if (rc == -ENOSPC) {
			st->drops[MN_DROP_ARP_TABLE_FULL]++;
		} else if (rc == 1 || for_us) {
			st->arp_learned++;
			lr->ip = a.spa;
			memcpy(lr->mac, a.sha, 6);
			lr->completed = rc == 1;
			st->arp_resolved += lr->completed;
		}
	}
	if (!for_us)
		return arp_drop(st, MN_DROP_NOT_FOR_US);
	if (a.op != 1)
		return MN_NEIGH_ARP_CONSUMED;

	struct mn_arp reply = { .op = 2, .spa = ifc->ip, .tpa = a.spa };

	memcpy(reply.sha, ifc->mac, 6);
	memcpy(reply.tha, a.sha, 6);
	*len = mn_arp_encode(frame, &reply);
	st->arp_req_answered++;
	return MN_NEIGH_ARP_REPLY;
}

size_t mn_neigh_arp_request(uint8_t *buf, const struct mn_iface *ifc, uint32_t target_ip)
{
	struct mn_arp req = { .op = 1, .spa = ifc->ip, .tpa = target_ip };

	memcpy(req.sha, ifc->mac, 6);
	return mn_arp_encode(buf, &req);
}

