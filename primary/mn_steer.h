/* mn_steer: every transport frame reaches the engine that owns its flow.
 *
 * A port without RSS (memif, af_packet, af_xdp) puts a frame on whichever
 * of its queues the sender chose, and each engine polls its own queue of
 * each port; the flow the frame belongs to may live on another engine.
 * The receiving engine decides the owner (mn_steer_owner) and, when it is
 * not itself, hands the frame over a single-producer/single-consumer ring
 * to the owner (mn_steer_push), which takes it in its next loop
 * (mn_steer_pull) and processes it as if it had received it itself.
 *
 * The owner of a frame's flow, seen from engine `self` (the frame's local
 * tuple: its destination address and port):
 *   1. a flow of self's own proto: self (the caller checks that first);
 *   2. a tuple self steered a SYN of: the engine it chose then (self's
 *      private steer table; the owner tells self when the flow is gone:
 *      mn_steer_forget, so the table holds at most the live flows);
 *   3. a SYN to a listener: self when self listens there (a listener with a
 *      channel on every engine takes each flow where its SYN landed, like
 *      SO_REUSEPORT), else an engine that does (the listener directory,
 *      which each engine publishes for its own listeners), recorded in 2;
 *   4. anything else: the engine whose connects use that local port
 *      (source ports are split between engines: port % n_engines == id),
 *      where an unknown flow is answered as always (RST). On a port with
 *      RSS the connects also choose ports whose replies the NIC puts on
 *      their engine's queue (mn_port_pick), so this rule is for the few
 *      connects that found none (port_rss_miss); the split is kept so that
 *      those still reach their engine.
 *
 * Frames cross as copies in the owner's pool (a channel's buffers must be
 * its engine's: mn_chan checks), so a steered frame costs one copy. Frames
 * of one flow arrive on one queue (the peer sends a flow's frames from one
 * engine; af_packet's fanout hashes the tuple) and are pushed in order to
 * one ring: per-flow order holds.
 *
 * Setup (mn_steer_create) and teardown (mn_steer_free) on the main thread;
 * everything else on the engines, each on its own engine's state, except
 * the listener directory, which engines read from each other (single
 * writer per slot, atomics). No locks, nothing allocated on the data path.
 */
#ifndef MN_STEER_H
#define MN_STEER_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct mn_steer;

#define MN_STEER_RING	1024	/* frames in flight from one engine to another */
#define MN_STEER_LIS	64	/* published listeners per engine (MN_TRANSPORT_LIS) */
#define MN_STEER_NONE	UINT32_MAX

/* A flow's local tuple as the receiving stack sees it (host order). */
struct mn_steer_tuple {
	uint32_t lip, rip;
	uint16_t lport, rport;
};

/* Creates the steering state of n engines (n >= 1; with 1 nothing is ever
 * steered); pools[i] is engine i's pool; table_size bounds the flows one
 * engine can have steered at once (rounded up to a power of two, at least
 * 2x that for the table). NULL with errno ENOMEM or the ring's rte_errno. */
struct mn_steer *mn_steer_create(unsigned n, struct rte_mempool *const *pools,
				 uint32_t table_size);
void mn_steer_free(struct mn_steer *s);

unsigned mn_steer_engines(const struct mn_steer *s);

/* Parses the transport frame m (classified MN_FRAME_TRANSPORT: IPv4 without
 * options, UDP, Machnet header) into its local tuple; *syn tells whether it
 * is a SYN (not a SYN-ACK). */
void mn_steer_parse(const struct rte_mbuf *m, struct mn_steer_tuple *t, bool *syn);

/* The owner of a frame of tuple t that engine self's proto does not know
 * (rules 2-4 above); for a SYN it may remember the choice (rule 3), and
 * returns MN_STEER_NONE when its table is full (drop the SYN: without a
 * memory of its owner the flow's next frames would go astray). *token
 * names that memory (0: none): the owner hands it back with the forget, so
 * that a late forget cannot erase the entry of a newer flow of the same
 * tuple. */
unsigned mn_steer_owner(struct mn_steer *s, unsigned self, const struct mn_steer_tuple *t,
			bool syn, uint32_t *token);

/* Hands m to engine `to` with its token (a copy in to's pool; m is freed
 * either way). 0, or -ENOBUFS (the ring is full or to's pool empty: the
 * frame is lost, the peer retransmits). */
int mn_steer_push(struct mn_steer *s, unsigned self, unsigned to, struct rte_mbuf *m,
		  uint32_t token);

/* A frame another engine steered to this one. */
struct mn_steer_frame {
	struct rte_mbuf *m;
	uint32_t token;
	uint8_t from;
};

/* Up to n frames other engines steered to self; also applies the forgets
 * they sent. Returns how many frames. */
unsigned mn_steer_pull(struct mn_steer *s, unsigned self, struct mn_steer_frame *f, unsigned n);

/* Engine self owns a flow of tuple t whose SYN engine `from` steered with
 * token: the flow is gone, so `from` may forget it (in its next
 * mn_steer_pull). 0, or -ENOBUFS when the ring is full: the entry stays
 * until a forget of the tuple's next flow. */
int mn_steer_forget(struct mn_steer *s, unsigned self, unsigned from,
		     const struct mn_steer_tuple *t, uint32_t token);

/* Engine self's listener slot i (0 .. MN_STEER_LIS-1) listens on ip:port,
 * or (port 0) nothing. */
void mn_steer_listen(struct mn_steer *s, unsigned self, unsigned i, uint32_t ip, uint16_t port);

/* Tuples engine e remembers (its steer table's use; telemetry, racy). */
uint32_t mn_steer_remembered(const struct mn_steer *s, unsigned engine);

#endif
