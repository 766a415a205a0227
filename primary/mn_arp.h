/* mn_arp: one engine's neighbour table (IPv4 -> MAC), as plain C.
 *
 * Fixed size, no allocation, no clock of its own: every call is given the
 * current time in microseconds, so the unit tests drive it with a fake clock.
 * The engine owns its table (no locks). The table decides when a request is
 * due (first try at once, then retries every retry_us, refreshes of entries in
 * use before they expire); the caller builds and sends the frames.
 *
 * Resolution completes on the reply itself: mn_arp_learn() returns 1 when it
 * completed a pending entry, so whoever waits (a connect) can go on at once.
 */
#ifndef MN_ARP_H
#define MN_ARP_H

#include <stdbool.h>
#include <stdint.h>

#define MN_ARP_MAX 256	/* entries per table; lookups are a linear scan of the used ones */

enum mn_arp_state {
	MN_ARP_FREE = 0,
	MN_ARP_PENDING,		/* request sent, no answer yet */
	MN_ARP_REACHABLE,	/* MAC known and not expired */
	MN_ARP_FAILED,		/* ran out of retries; answered EHOSTUNREACH until hold_us passes */
};

struct mn_arp_entry {
	uint32_t ip;		/* host order */
	uint8_t mac[6];
	uint8_t state;		/* enum mn_arp_state */
	uint8_t tries;		/* requests sent for the current resolution/refresh */
	bool used;		/* looked up since it was last learned: worth refreshing */
	uint64_t expires_us;	/* REACHABLE: end of validity; FAILED: end of hold */
	uint64_t next_tx_us;	/* PENDING/refreshing: when the next request is due */
};

struct mn_arp_params {
	uint64_t timeout_us;	/* validity of a learned entry (config arp_timeout_s) */
	uint64_t retry_us;	/* gap between requests for one IP (rate limit) */
	unsigned max_tries;	/* requests per resolution before it fails */
	uint64_t hold_us;	/* how long a failed resolution is remembered */
};

struct mn_arp_table {
	struct mn_arp_params p;
	unsigned n_used;	/* entries [0, n_used) may be in use; free ones are reused */
	struct mn_arp_entry e[MN_ARP_MAX];
};

/* Sensible defaults for timeout_s: retry 100 ms, 5 tries, hold 1 s. */
void mn_arp_params_default(struct mn_arp_params *p, uint32_t timeout_s);

/* Empties t. Returns 0 or -EINVAL (zero timeout/retry/tries). */
int mn_arp_init(struct mn_arp_table *t, const struct mn_arp_params *p);

/* Copies the MAC of a REACHABLE, unexpired ip to mac and marks it used.
 * Returns 0 or -ENOENT. */
int mn_arp_lookup(struct mn_arp_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6]);

/* Records ip is at mac. An existing entry (pending, reachable, failed) is
 * updated; a new one is created only when create is true (RFC 826: create only
 * when the packet was addressed to us). Returns 1 when this completed a
 * pending resolution, 0 when it created or refreshed an entry or ignored an
 * unknown ip (create false), -ENOSPC when the table is full. */
int mn_arp_learn(struct mn_arp_table *t, uint32_t ip, const uint8_t mac[6], uint64_t now_us,
                 bool create);

/* Resolve-or-start: 0 and mac when known; -EINPROGRESS when a resolution is
 * (now) pending, with *send set when the caller must send a request now (it
 * is then counted as a try); -EHOSTUNREACH while a failed resolution is held;
 * -ENOSPC when the table is full. */
int mn_arp_resolve(struct mn_arp_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6],
                   bool *send);

/* Returns the state of ip (MN_ARP_FREE when absent), accounting for expiry. */
enum mn_arp_state mn_arp_state_of(struct mn_arp_table *t, uint32_t ip, uint64_t now_us);

/* Timer work: expires entries, fails pending ones out of tries, and writes up
 * to max IPs for which a request is due now (retries, refreshes of used
 * entries in the last max_tries * retry_us of their life) to ips. *failed
 * (optional) receives how many resolutions failed. Returns the count written. */
unsigned mn_arp_tick(struct mn_arp_table *t, uint64_t now_us, uint32_t *ips, unsigned max,
                     unsigned *failed);

/* Next hop for dst from an interface ip/prefix_len with gateway (0 = none):
 * dst itself on the same subnet, else the gateway; 0 when unreachable. */
uint32_t mn_arp_next_hop(uint32_t ip, uint8_t prefix_len, uint32_t gateway, uint32_t dst);

#endif
