/* mn_neigh: the neighbours of an engine's interfaces (IPv4 -> MAC) and all
 * of ARP: the table, the ARP frames (answering, learning, requesting) and,
 * in mn_neigh_engine.c, an engine's resolution state (requests on the wire,
 * what the other engines learned, --arp-probe).
 *
 * The table and the frames are plain C.
 *
 * Fixed size, no allocation, no clock of its own: every call is given the
 * current time in microseconds, so the unit tests drive it with a fake clock.
 * The engine owns its table (no locks). The table decides when a request is
 * due (first try at once, then retries every retry_us, refreshes of entries in
 * use before they expire); the caller builds and sends the frames.
 *
 * Resolution completes on the reply itself: mn_neigh_table_learn() returns 1 when it
 * completed a pending entry, so whoever waits (a connect) can go on at once.
 */
#ifndef MN_NEIGH_H
#define MN_NEIGH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_abi.h"

#define MN_NEIGH_MAX 256	/* entries per table; lookups are a linear scan of the used ones */

enum mn_neigh_state {
	MN_NEIGH_FREE = 0,
	MN_NEIGH_PENDING,		/* request sent, no answer yet */
	MN_NEIGH_REACHABLE,	/* MAC known and not expired */
	MN_NEIGH_FAILED,		/* ran out of retries; answered EHOSTUNREACH until hold_us passes */
};

struct mn_neigh_entry {
	uint32_t ip;		/* host order */
	uint8_t mac[6];
	uint8_t state;		/* enum mn_neigh_state */
	uint8_t tries;		/* requests sent for the current resolution/refresh */
	bool used;		/* looked up since it was last learned: worth refreshing */
	uint64_t expires_us;	/* REACHABLE: end of validity; FAILED: end of hold */
	uint64_t next_tx_us;	/* PENDING/refreshing: when the next request is due */
};

struct mn_neigh_params {
	uint64_t timeout_us;	/* validity of a learned entry (config arp_timeout_s) */
	uint64_t retry_us;	/* gap between requests for one IP (rate limit) */
	unsigned max_tries;	/* requests per resolution before it fails */
	uint64_t hold_us;	/* how long a failed resolution is remembered */
};

struct mn_neigh_table {
	struct mn_neigh_params p;
	unsigned n_used;	/* entries [0, n_used) may be in use; free ones are reused */
	struct mn_neigh_entry e[MN_NEIGH_MAX];
};

/* Sensible defaults for timeout_s: retry 100 ms, 5 tries, hold 1 s. */
void mn_neigh_params_default(struct mn_neigh_params *p, uint32_t timeout_s);

/* Empties t. Returns 0 or -EINVAL (zero timeout/retry/tries). */
int mn_neigh_table_init(struct mn_neigh_table *t, const struct mn_neigh_params *p);

/* Copies the MAC of a REACHABLE, unexpired ip to mac and marks it used.
 * Returns 0 or -ENOENT. */
int mn_neigh_table_lookup(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6]);

/* Records ip is at mac. An existing entry (pending, reachable, failed) is
 * updated; a new one is created only when create is true (RFC 826: create only
 * when the packet was addressed to us). Returns 1 when this completed a
 * pending resolution, 0 when it created or refreshed an entry or ignored an
 * unknown ip (create false), -ENOSPC when the table is full. */
int mn_neigh_table_learn(struct mn_neigh_table *t, uint32_t ip, const uint8_t mac[6], uint64_t now_us,
                 bool create);

/* Resolve-or-start: 0 and mac when known; -EINPROGRESS when a resolution is
 * (now) pending, with *send set when the caller must send a request now (it
 * is then counted as a try); -EHOSTUNREACH while a failed resolution is held;
 * -ENOSPC when the table is full. */
int mn_neigh_table_resolve(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us, uint8_t mac[6],
                   bool *send);

/* Forgets every failed resolution (held or not), so that the next resolve of
 * those IPs starts afresh: their link came up, and what failed on a dead
 * wire says nothing about the live one. Returns how many were forgotten. */
unsigned mn_neigh_table_forget_failed(struct mn_neigh_table *t);

/* Returns the state of ip (MN_NEIGH_FREE when absent), accounting for expiry. */
enum mn_neigh_state mn_neigh_table_state_of(struct mn_neigh_table *t, uint32_t ip, uint64_t now_us);

/* Timer work: expires entries, fails pending ones out of tries, and writes up
 * to max IPs for which a request is due now (retries, refreshes of used
 * entries in the last max_tries * retry_us of their life) to ips. *failed
 * (optional) receives how many resolutions failed. Returns the count written. */
unsigned mn_neigh_table_tick(struct mn_neigh_table *t, uint64_t now_us, uint32_t *ips, unsigned max,
                     unsigned *failed);

/* Next hop for dst from an interface ip/prefix_len with gateway (0 = none):
 * dst itself on the same subnet, else the gateway; 0 when unreachable. */
uint32_t mn_neigh_next_hop(uint32_t ip, uint8_t prefix_len, uint32_t gateway, uint32_t dst);

/* ---- ARP frames (plain C) ---- */

/* The interface a frame arrived on. IPs host order. */
struct mn_iface {
	uint8_t mac[6];
	uint32_t ip;
	uint8_t prefix_len;
	uint32_t gateway;	/* 0 = none */
	bool rx_csum;		/* verify IPv4 and ICMP checksums */
};

/* What an ARP frame taught the table: ip 0 when nothing. */
struct mn_neigh_learned {
	uint32_t ip;		/* neighbour learned from ARP addressed to us */
	uint8_t mac[6];
	bool completed;		/* it completed a pending resolution */
};

enum mn_neigh_arp {
	MN_NEIGH_ARP_DROPPED = 0,	/* counted in st->drops[]: free it */
	MN_NEIGH_ARP_REPLY,		/* rewritten in place into the reply (*len bytes): send it */
	MN_NEIGH_ARP_CONSUMED,		/* a reply learned: free it */
};

/* An ARP frame frame[0..*len) received on ifc: learns the sender into t
 * (RFC 826; *lr says what, ip 0 when nothing) and answers a request for
 * ifc's IP in place. Counts into st: drops, arp_req_answered, arp_learned,
 * arp_resolved. */
enum mn_neigh_arp mn_neigh_rx_arp(uint8_t *frame, size_t *len, const struct mn_iface *ifc,
				  struct mn_neigh_table *t, uint64_t now_us,
				  struct mn_engine_stats *st, struct mn_neigh_learned *lr);

/* Builds a broadcast ARP request from ifc for target_ip into buf (at least
 * MN_ARP_FRAME_LEN bytes). Returns the frame length. */
size_t mn_neigh_arp_request(uint8_t *buf, const struct mn_iface *ifc, uint32_t target_ip);

/* ---- An engine's neighbour state (mn_neigh_engine.c, EAL) ----
 *
 * Per port: the interface, its table, and the TX queue its ARP requests
 * leave by. ARP frames reach whichever queue the NIC picks (often queue
 * 0), not the engine that asked: every engine posts what it learns to the
 * others' rings (multi-producer, engine threads only) and drains its own.
 * Completions (a pending resolution answered) are returned to the engine,
 * which passes them on to whoever waits (the transport): this module calls
 * nothing above it. Engine lcore only after setup. */

#define MN_NEIGH_MAX_PORTS	8
#define MN_NEIGH_MAX_PEERS	16
#define MN_NEIGH_MAX_PROBES	8
#define MN_NEIGH_MAX_DONE	48	/* completions one mn_neigh_tick() returns, at most */

struct mn_txq;
struct rte_mempool;
struct rte_ring;

/* A diagnostic resolution (machnetd --arp-probe): the engine publishes the
 * result, the main thread reports it. */
struct mn_probe {
	uint32_t ip;		/* host order */
	unsigned port;		/* engine port index */
	_Atomic int state;	/* 0 pending, 1 resolved (mac valid), -1 a round failed */
	uint8_t mac[6];
};

/* A completed resolution of ip on port. */
struct mn_neigh_done {
	uint32_t ip;
	unsigned port;
	uint8_t mac[6];
};

struct mn_neigh_port {
	struct mn_iface ifc;
	struct mn_neigh_table table;
	struct mn_txq *txq;
	const _Atomic uint32_t *link_ups;	/* the port's link-up count, or NULL */
	uint32_t link_ups_seen;
};

struct mn_neigh {
	unsigned n_ports;
	struct mn_neigh_port ports[MN_NEIGH_MAX_PORTS];
	struct rte_mempool *pool;	/* for ARP requests */
	struct mn_engine_stats *st;
	uint64_t cycles_per_us;
	struct rte_ring *in;		/* NULL with a single engine */
	unsigned n_peers;
	struct rte_ring *peers[MN_NEIGH_MAX_PEERS];
	unsigned n_probes;
	struct mn_probe probes[MN_NEIGH_MAX_PROBES];
};

/* Sets n up over ifcs[0 .. n_ports) and their TX queues, tables of
 * timeout_s. 0 or -EINVAL. */
int mn_neigh_init(struct mn_neigh *n, const struct mn_iface *ifcs, struct mn_txq *const *txqs,
		  unsigned n_ports, uint32_t timeout_s, struct rte_mempool *pool,
		  struct mn_engine_stats *st, uint64_t cycles_per_us);

/* Creates the rings of all[0 .. count) and links each to the others
 * (nothing for one engine). 0 or -rte_errno of the failed create. */
int mn_neigh_link(struct mn_neigh *const *all, unsigned count);
void mn_neigh_unlink(struct mn_neigh *const *all, unsigned count);

/* Watches *link_ups (bumped by the main thread each time port's link comes
 * up): a resolution that failed before the latest link-up is forgotten at
 * the next resolve, so a connect made once the link is up asks again rather
 * than getting the held EHOSTUNREACH of a dead wire. Setup only. */
void mn_neigh_watch_link(struct mn_neigh *n, unsigned port, const _Atomic uint32_t *link_ups);

/* Resolve-or-start: dst's next hop on port. 0 and mac when known;
 * -EINPROGRESS when a request is out (the completion comes out of
 * mn_neigh_tick or the RX path); -EHOSTUNREACH after a failed resolution;
 * -ENETUNREACH when no route. */
int mn_neigh_resolve(struct mn_neigh *n, unsigned port, uint32_t dst_ip, uint8_t mac[6]);

/* The table the RX path (mn_frame_rx) learns into for port. */
static inline struct mn_neigh_table *mn_neigh_table_of(struct mn_neigh *n, unsigned port)
{
	return &n->ports[port].table;
}

/* What the RX path learned on port (lr from mn_frame_rx): tells the other
 * engines, and the probes when it completed a resolution. */
void mn_neigh_learned_here(struct mn_neigh *n, unsigned port, const struct mn_neigh_learned *lr);

/* Every millisecond: retries and refreshes, what the other engines
 * learned, the probes. Writes the resolutions completed to done (at most
 * MN_NEIGH_MAX_DONE) and returns their count. */
unsigned mn_neigh_tick(struct mn_neigh *n, uint64_t now_us, struct mn_neigh_done *done);

/* Resolves ip on the port whose subnet (or gateway) reaches it, from the
 * engine's start and until it answers. The probe index, or -ENETUNREACH /
 * -ENOSPC. Main thread, before the engine starts. */
int mn_neigh_add_probe(struct mn_neigh *n, uint32_t ip);

#endif
