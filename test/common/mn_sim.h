/* mn_sim: a deterministic simulated network between two mn_proto endpoints.
 *
 * Node 0 ("A") and node 1 ("B") each own an endpoint whose callbacks the
 * simulator implements: buffers come from a counted pool (so tests can check
 * that nothing leaks), transmitted frames are copied onto a per-direction
 * link with latency, serialisation at a bandwidth, seeded random loss,
 * duplication, reordering (extra delay), single-byte corruption (in the
 * IP/UDP/transport bytes, so checksums must catch it) and an outage window.
 * Time is simulated: an event loop takes the earliest of the next frame
 * arrival and the endpoints' timer deadlines, so a run takes as long as the
 * work, not as long as the simulated time. Same seed, same run.
 */
#ifndef MN_SIM_H
#define MN_SIM_H

#include <stdint.h>

#include "mn_proto.h"

struct mn_sim;

struct mn_sim_link {
	uint64_t latency_ns;		/* propagation, one way */
	uint64_t bw_bps;		/* serialisation; 0 = infinitely fast */
	double loss;			/* probability a frame is lost */
	double dup;			/* ... arrives twice */
	double reorder;			/* ... is delayed by up to reorder_ns extra */
	uint64_t reorder_ns;
	double corrupt;			/* ... has one byte (offset >= 14) flipped */
	uint64_t outage_from_ns;	/* frames sent in [from, to) are lost */
	uint64_t outage_to_ns;
};

struct mn_sim_hooks {
	void *arg;
	/* A message for the application on node. Return 0 to take it (the
	 * simulator then frees the buffers), non-zero to refuse it (stall). */
	int (*deliver)(void *arg, int node, struct mn_flow *f, void *cookie,
	               const struct mn_seg *segs, uint32_t nsegs, uint32_t len);
	void (*event)(void *arg, int node, struct mn_flow *f, void *cookie,
	              enum mn_proto_event ev, int err);
	/* Optional: sees every frame node `from` transmits, before the link.
	 * Return 1 to drop it. It may rewrite the frame (and fix checksums). */
	int (*filter)(void *arg, int from, uint8_t *frame, uint32_t len);
	/* Optional: runs after every simulator step (the applications' turn). */
	void (*pump)(void *arg);
	/* Optional: the application's receive budget (mn_proto_ops.rx_room);
	 * NULL: always room. */
	int (*rx_room)(void *arg, int node, struct mn_flow *f, void *cookie, uint32_t held);
};

struct mn_sim_stats {
	uint64_t sent[2];		/* frames transmitted by node i */
	uint64_t lost[2];		/* by random loss or outage */
	uint64_t filtered[2];
	uint64_t duplicated[2];
	uint64_t reordered[2];
	uint64_t corrupted[2];
	uint64_t arrived[2];		/* frames handed to the other node */
	uint64_t steps;
};

/* Creates the network and both endpoints. link[0] carries A->B, link[1]
 * B->A. The params' tx/rx checksum settings are used as given. NULL on error. */
struct mn_sim *mn_sim_create(uint64_t seed, const struct mn_proto_params *pa,
                             const struct mn_proto_params *pb, const struct mn_sim_link link[2],
                             const struct mn_sim_hooks *hooks);
/* Destroys endpoints (which return their buffers) and frames in flight.
 * Returns how many buffers were still referenced afterwards plus how many
 * releases found no reference to drop (leaks and double releases: 0). */
long mn_sim_destroy(struct mn_sim *s);

struct mn_proto *mn_sim_ep(struct mn_sim *s, int node);
uint64_t mn_sim_now(const struct mn_sim *s);
void mn_sim_set_link(struct mn_sim *s, int dir, const struct mn_sim_link *l);
const struct mn_sim_stats *mn_sim_stats(const struct mn_sim *s);
/* Simulator buffers currently allocated (in endpoints or in flight). */
long mn_sim_bufs_in_use(const struct mn_sim *s);
/* Releases of a buffer that had no reference left (each a bug). */
long mn_sim_bad_releases(const struct mn_sim *s);

/* A simulator buffer for mn_proto_sendv(): one reference, payload with
 * 128 bytes of headroom and 9216 of room. NULL when out of memory. */
void *mn_sim_buf_alloc(struct mn_sim *s, uint8_t **payload);
void mn_sim_buf_release(struct mn_sim *s, void *buf);

/* Hands a copy of frame to node `to` now, as if it had just arrived. */
void mn_sim_inject(struct mn_sim *s, int to, const uint8_t *frame, uint32_t len);

/* Runs until done(arg) is true (0), or simulated time passes until_ns
 * (-ETIMEDOUT), or nothing is left to happen (-EDEADLK), or max_steps
 * steps ran (-ELOOP). done may be NULL (run until the time limit). */
int mn_sim_run(struct mn_sim *s, int (*done)(void *arg), void *arg, uint64_t until_ns,
               uint64_t max_steps);

/* Rewrites a frame our stack sent in plain mode (extensions off) the way
 * the real Machnet stack fills the fields ours leaves clean, as its
 * captures show (test/data/machnet-interop/README.md): a data frame
 * carries an uninitialised SACK bitmap (all ones) and ackno 0xffffffff; an
 * ACK that reports no held packets (SACK count 0) carries stale bitmap bits
 * (all ones); timestamps are 0. The checksums are filled again. A filter
 * hook that calls this on node 1's frames makes node 1 a plain Machnet peer
 * for node 0 (with node 1's extensions off: one ACK per data packet, ISN 0,
 * no timestamps). */
void mn_sim_machnet_rewrite(uint8_t *frame, uint32_t len);

/* Deterministic random numbers for tests (splitmix64). */
uint64_t mn_sim_rand(uint64_t *state);

#endif
