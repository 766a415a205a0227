/* mn_fault: a seeded fault injector for one direction of one port.
 *
 * Test-only (config group `fault`, off by default): it drops, duplicates,
 * corrupts, delays (with jitter) and reorders frames between the PMD and the
 * engine, so every fault kind can be produced on any link, memif included,
 * without kernel help. It sees packets only as opaque handles and reaches them
 * through struct mn_fault_ops (the engine maps them to rte_mbuf), and it
 * never reads a clock: the caller passes `now` in nanoseconds. Pure C, no EAL.
 *
 * Promises:
 *  - Deterministic: the same seed, params and sequence of calls (packets,
 *    `now`) give the same decisions, on every machine. No rand(), no time().
 *  - Never blocks and never allocates after mn_fault_create(): held packets
 *    sit in a fixed-capacity queue; when it is full a packet that should have
 *    been held passes at once and stats.queue_full counts it.
 *  - Owns what it holds: every handle it drops or holds is either returned
 *    later (mn_fault_release) or given to ops.free (drops, flush, destroy).
 *  - All-zero probabilities, delay and jitter make it the identity: the same
 *    handles, in the same order, nothing held, no callback made.
 *
 * Per packet, in this order (each with its own probability, in parts per
 * million, independent of the others):
 *   1. drop      (drop_ppm): ops.free, nothing else happens to it.
 *   2. duplicate (dup_ppm): ops.dup makes a copy before any corruption; the
 *      copy leaves right after the original (same due time).
 *   3. corrupt   (corrupt_ppm): one bit of one byte is flipped, the byte
 *      chosen uniformly in [corrupt_min_off, min(corrupt_max_off, len - 1)]
 *      of the frame's first segment (ops.data). The default starts past the
 *      Ethernet header, so IPv4/UDP checksums catch every such flip (a single
 *      bit error always changes a ones'-complement sum). Frames not longer
 *      than corrupt_min_off are left alone and not counted. ops.data may swap the
 *      handle for a private copy (see there): the frame leaves as that one. NB: on TX with
 *      checksum offload the NIC computes checksums over the corrupted bytes,
 *      so the receiver cannot detect it: corrupt on RX for checksum tests.
 *   4. delay: due = now + delay + uniform jitter in [-jitter, +jitter]
 *      (clamped at 0). As with netem, jitter alone REORDERS frames (a frame
 *      drawn a short delay overtakes one drawn a long delay); keep_order
 *      instead holds each frame until the one before it has left
 *      (due = max(due, previous due)), so no frame is released earlier than
 *      its drawn delay and order is kept.
 *   5. reorder (reorder_ppm): the frame is held back a further reorder_us
 *      beyond its due time and is exempt from keep_order, so frames sent
 *      after it within that time overtake it. With no traffic in that window
 *      nothing overtakes it (the frame is merely late).
 * A frame whose due time is not in the future leaves in the burst it arrived
 * in; the others leave through mn_fault_release() in due order (ties in
 * arrival order).
 */
#ifndef MN_FAULT_H
#define MN_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#define MN_FAULT_PPM		1000000u	/* probability 1 */
#define MN_FAULT_MAX_DELAY_US	1000000u	/* delay, jitter and reorder_us limit */
#define MN_FAULT_QUEUE_DEFAULT	4096u
#define MN_FAULT_QUEUE_MIN	16u
#define MN_FAULT_QUEUE_MAX	(1u << 20)
#define MN_FAULT_ETH_HDR_LEN	14u		/* default corrupt_min_off */

/* Directions, as the engine indexes its injectors and derives their seeds. */
enum mn_fault_dir { MN_FAULT_RX = 0, MN_FAULT_TX = 1 };

/* One direction's faults. mn_fault_params_default() fills "no fault". */
struct mn_fault_params {
	uint32_t drop_ppm;		/* 0..MN_FAULT_PPM */
	uint32_t dup_ppm;
	uint32_t corrupt_ppm;
	uint32_t reorder_ppm;
	uint32_t reorder_us;		/* extra hold of a reordered frame, 1..1 s; default 100 */
	uint32_t delay_us;		/* 0..1 s */
	uint32_t jitter_us;		/* 0..1 s */
	bool keep_order;		/* jitter must not reorder */
	uint16_t corrupt_min_off;	/* first byte that may be flipped; default 14 */
	uint16_t corrupt_max_off;	/* last one; default 65535 (end of the frame) */
	uint32_t queue;			/* held-frame capacity; 0 = MN_FAULT_QUEUE_DEFAULT */
};

/* How the injector reaches packets. ctx is passed back to each call.
 * dup is needed only when dup_ppm > 0, data only when corrupt_ppm > 0. */
struct mn_fault_ops {
	/* A new, independent handle with the same bytes, or NULL (counted in
	 * stats.dup_fail; the original goes on alone). */
	void *(*dup)(void *ctx, void *pkt);
	/* Gives a handle back (drops, flush, destroy). */
	void (*free)(void *ctx, void *pkt);
	/* The frame's first contiguous bytes, writable, and their count in
	 * *len; NULL to leave this frame alone. When the bytes are shared (a
	 * transmitted frame the transport keeps for retransmission, a clone,
	 * an external buffer) it must first replace *pkt with a private copy
	 * and give its reference to the original back, or the corruption
	 * would outlive this one frame. */
	uint8_t *(*data)(void *ctx, void **pkt, uint32_t *len);
	void *ctx;
};

/* Counters since creation; a frame can count in several. One writer. */
struct mn_fault_stats {
	uint64_t seen;		/* frames given to mn_fault_apply */
	uint64_t dropped;
	uint64_t duplicated;	/* copies made and sent on */
	uint64_t dup_fail;	/* ops.dup returned NULL */
	uint64_t corrupted;
	uint64_t delayed;	/* frames held for later release (reordered ones too) */
	uint64_t reordered;	/* frames held back by reorder_ppm */
	uint64_t queue_full;	/* frames that should have been held but passed at once */
	uint64_t released;	/* frames returned by mn_fault_release */
	uint64_t flushed;	/* held frames freed by flush/destroy */
};

struct mn_fault;

/* Fills p with no faults (reorder_us 100, corrupt range 14..65535). */
void mn_fault_params_default(struct mn_fault_params *p);

/* Returns 0 when p is within the documented ranges, else -EINVAL. */
int mn_fault_params_check(const struct mn_fault_params *p);

/* True when p would change any packet (some probability, delay or jitter). */
bool mn_fault_params_active(const struct mn_fault_params *p);

/* A seed for one injector out of a base seed and the injector's place (engine,
 * port, direction), so injectors sharing a config draw independent streams. */
uint64_t mn_fault_derive_seed(uint64_t base, unsigned engine, unsigned port, unsigned dir);

/* Allocates every byte the injector will use. Returns it, or NULL with errno
 * EINVAL (bad params, ops missing free, or dup/data missing where needed) or
 * ENOMEM. Setup path only. */
struct mn_fault *mn_fault_create(const struct mn_fault_params *p, const struct mn_fault_ops *ops,
				 uint64_t seed);

/* Gives every held frame to ops.free, then frees f. NULL is a no-op. */
void mn_fault_destroy(struct mn_fault *f);

/* Runs pkts[0..n) through the faults at time now (ns, never decreasing across
 * calls). Rewrites pkts in place with the frames that leave now, in arrival
 * order with each copy right after its original, and returns their count.
 * Copies that do not fit in cap slots wait in the queue with the current time
 * as due time, so the next mn_fault_release() returns them. n <= cap. */
uint16_t mn_fault_apply(struct mn_fault *f, void **pkts, uint16_t n, uint16_t cap, uint64_t now);

/* Writes up to cap held frames whose due time is <= now into out, in due
 * order, and returns their count. Call it every loop. */
uint16_t mn_fault_release(struct mn_fault *f, void **out, uint16_t cap, uint64_t now);

/* Due time (ns) of the earliest held frame, or UINT64_MAX when none. */
uint64_t mn_fault_next_due(const struct mn_fault *f);

/* Frames held now. */
uint32_t mn_fault_held(const struct mn_fault *f);

/* Gives every held frame to ops.free (counted in stats.flushed). */
void mn_fault_flush(struct mn_fault *f);

const struct mn_fault_stats *mn_fault_stats(const struct mn_fault *f);

#endif
