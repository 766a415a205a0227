/* mn_arp: neighbour table. See mn_arp.h for the contract. */
#include "mn_arp.h"

#include <errno.h>
#include <string.h>

void mn_arp_params_default(struct mn_arp_params *p, uint32_t timeout_s)
{
	p->timeout_us = (uint64_t)timeout_s * 1000000u;
	/* A LAN answers in well under 100 ms; five tries ride out a lost frame
	 * or a peer that is still starting its port. */
	p->retry_us = 100000;
	p->max_tries = 5;
	p->hold_us = 1000000;
}

int mn_arp_init(struct mn_arp_table *t, const struct mn_arp_params *p)
{
	if (p->timeout_us == 0 || p->retry_us == 0 || p->max_tries == 0)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->p = *p;
	return 0;
}

/* An entry whose life is over counts as free, whatever its state says. */
static bool entry_dead(const struct mn_arp_entry *e, uint64_t now_us)
{
	switch (e->state) {
	case MN_ARP_FREE:
		return true;
	case MN_ARP_REACHABLE:
	case MN_ARP_FAILED:
		return now_us >= e->expires_us;
	default:
		return false;
	}
}

static struct mn_arp_entry *find(struct mn_arp_table *t, uint32_t ip)
{
	for (unsigned i = 0; i < t->n_used; i++) {
		struct mn_arp_entry *e = &t->e[i];

		if (e->state != MN_ARP_FREE && e->ip == ip)
			return e;
	}
	return NULL;
}

static struct mn_arp_entry *alloc_entry(struct mn_arp_table *t, uint32_t ip, uint64_t now_us)
{
	struct mn_arp_entry *e = NULL;

	for (unsigned i = 0; i < t->n_used; i++) {
		if (entry_dead(&t->e[i], now_us)) {
			e = &t->e[i];
			break;
		}
	}
	if (!e) {
		if (t->n_used == MN_ARP_MAX)
			return NULL;
		e = &t->e[t->n_used++];
	}
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	return e;
}

static void start_pending(struct mn_arp_table *t, struct mn_arp_entry *e, uint64_t now_us)
{
	e->state = MN_ARP_PENDING;
	e->tries = 1;
	e->used = true;
	e->next_tx_us = now_us + t->p.retry_us;
}

int mn_arp_lookup(struct mn_arp_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6])
{
	struct mn_arp_entry *e = find(t, ip);

	if (!e || e->state != MN_ARP_REACHABLE || now_us >= e->expires_us)
		return -ENOENT;
	memcpy(mac, e->mac, 6);
	e->used = true;
	return 0;
}

int mn_arp_learn(struct mn_arp_table *t, uint32_t ip, const uint8_t mac[6], uint64_t now_us,
                 bool create)
{
	struct mn_arp_entry *e = find(t, ip);
	bool completed = false;

	if (!e) {
		if (!create)
			return 0;
		e = alloc_entry(t, ip, now_us);
		if (!e)
			return -ENOSPC;
	} else {
		completed = e->state == MN_ARP_PENDING;
	}
	memcpy(e->mac, mac, 6);
	e->state = MN_ARP_REACHABLE;
	e->tries = 0;
	e->next_tx_us = 0;
	e->expires_us = now_us + t->p.timeout_us;
	/* Someone waited for it: it is in use, keep it fresh. */
	e->used = completed;
	return completed ? 1 : 0;
}

int mn_arp_resolve(struct mn_arp_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6],
                   bool *send)
{
	struct mn_arp_entry *e = find(t, ip);

	*send = false;
	if (e && !entry_dead(e, now_us)) {
		switch (e->state) {
		case MN_ARP_REACHABLE:
			memcpy(mac, e->mac, 6);
			e->used = true;
			return 0;
		case MN_ARP_PENDING:
			return -EINPROGRESS;
		case MN_ARP_FAILED:
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

enum mn_arp_state mn_arp_state_of(struct mn_arp_table *t, uint32_t ip, uint64_t now_us)
{
	struct mn_arp_entry *e = find(t, ip);

	if (!e || entry_dead(e, now_us))
		return MN_ARP_FREE;
	return (enum mn_arp_state)e->state;
}

unsigned mn_arp_tick(struct mn_arp_table *t, uint64_t now_us, uint32_t *ips, unsigned max,
                     unsigned *failed)
{
	const uint64_t refresh_span = t->p.retry_us * t->p.max_tries;
	unsigned n = 0, nfail = 0;

	for (unsigned i = 0; i < t->n_used; i++) {
		struct mn_arp_entry *e = &t->e[i];

		if (e->state == MN_ARP_FREE)
			continue;
		if (entry_dead(e, now_us)) {
			e->state = MN_ARP_FREE;
			continue;
		}
		if (e->state == MN_ARP_PENDING) {
			if (now_us < e->next_tx_us)
				continue;
			if (e->tries >= t->p.max_tries) {
				e->state = MN_ARP_FAILED;
				e->expires_us = now_us + t->p.hold_us;
				nfail++;
				continue;
			}
		} else if (e->state == MN_ARP_REACHABLE) {
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
	while (t->n_used > 0 && t->e[t->n_used - 1].state == MN_ARP_FREE)
		t->n_used--;
	if (failed)
		*failed = nfail;
	return n;
}

uint32_t mn_arp_next_hop(uint32_t ip, uint8_t prefix_len, uint32_t gateway, uint32_t dst)
{
	uint32_t mask;

	if (dst == 0 || prefix_len > 32)
		return 0;
	mask = prefix_len == 0 ? 0 : ~0u << (32 - prefix_len);
	if ((dst & mask) == (ip & mask))
		return dst;
	return gateway;
}
