/* mn_simflow: one flow between two endpoints over mn_sim, with every frame
 * logged, for the proto tests that check what goes on the wire and when
 * (keepalive, piggybacked ACKs).
 *
 * Node 0 (A, 198.18.0.2) connects to node 1 (B, 198.18.0.1, port 888) over
 * two links of latency_ns one way at 10 Gbit/s. The harness records every
 * frame each node transmits (time, decoded header, length) before the link,
 * can drop all of a node's frames or the next N of one net_flags kind, counts
 * deliveries and remembers the last event of each kind per node. A flow
 * that ends (reset, closed, failed) is cleared from fa/fb.
 */
#ifndef MN_SIMFLOW_H
#define MN_SIMFLOW_H

#include <stdint.h>

#include "mn_proto.h"
#include "mn_sim.h"
#include "mn_wire.h"

#define MN_SF_IP_A 0xc6120002u	/* 198.18.0.2, client */
#define MN_SF_IP_B 0xc6120001u	/* 198.18.0.1, server */
#define MN_SF_PORT 888
#define MN_SF_MAXLOG 16384

struct mn_sf_frame {
	int from;
	uint64_t t;
	struct mn_hdr h;
	uint32_t len;
};

struct mn_sf {
	struct mn_sim *s;
	struct mn_proto_params pa, pb;
	struct mn_flow *fa, *fb;
	int ev[2][8];
	int err[2][8];
	uint64_t ev_t[2][8];
	int drop_all[2];
	int drop_nf_from[2][256];
	struct mn_sf_frame log[MN_SF_MAXLOG];
	int nlog;
	uint32_t got[2];
	uint64_t got_t[2];		/* when the last message was delivered */
	/* Optional: runs on every delivered message (after the count); may
	 * send, close or abort. */
	void (*on_deliver)(struct mn_sf *sf, int node, struct mn_flow *f, uint32_t len);
	/* Optional: node's receive budget (mn_proto_ops.rx_room), kept by
	 * setup like on_deliver; NULL: always room. */
	int (*rx_room)(struct mn_sf *sf, int node, uint32_t held);
};

/* Defaults plus node's address: what setup expects before changes. */
void mn_sf_params(struct mn_proto_params *p, int node);

/* Clears sf (keeping pa, pb, on_deliver and rx_room), builds the network with
 * latency_ns each way, listens on B and connects A; runs until both ends
 * are up. 0, or -1 when anything of that failed. */
int mn_sf_setup(struct mn_sf *sf, uint64_t latency_ns);

/* mn_sim_run for for_ns of simulated time; done(sf) may be NULL. */
int mn_sf_run(struct mn_sf *sf, int (*done)(void *), uint64_t for_ns);

/* Destroys the network: leaked or doubly released buffers (0: none). */
long mn_sf_teardown(struct mn_sf *sf);

struct mn_proto *mn_sf_ep(struct mn_sf *sf, int node);
const struct mn_proto_stats *mn_sf_st(struct mn_sf *sf, int node);

/* Frames of net_flags nf sent by node `from` at log index >= since. */
int mn_sf_count(const struct mn_sf *sf, int from, uint8_t nf, int since);

#endif
