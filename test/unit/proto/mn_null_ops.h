/* mn_null_ops.h: proto callbacks for unit tests that only open, refuse and
 * close flows (the port picker's tests), and lport(): frames are dropped on the floor,
 * nothing is delivered, buffers are counted so a test can check every one
 * came back (g_bufs == 0). One translation unit each: the state is static. */
#ifndef MN_NULL_OPS_H
#define MN_NULL_OPS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "mn_proto.h"

struct buf {
	int refs;
	uint8_t data[2048];
};

static long g_bufs;	/* buffers alive: every one must come back */

static inline void put(struct buf *b)
{
	if (--b->refs == 0) {
		free(b);
		g_bufs--;
	}
}

static inline int op_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	(void)ctx, (void)local, (void)frame, (void)len;
	put(buf);
	return 0;
}

static inline void op_hold(void *ctx, void *buf)
{
	(void)ctx;
	((struct buf *)buf)->refs++;
}

static inline void op_release(void *ctx, void *buf)
{
	(void)ctx;
	put(buf);
}

static inline void *op_alloc(void *ctx, uint8_t **payload)
{
	struct buf *b = malloc(sizeof(*b));

	(void)ctx;
	if (b == NULL)
		return NULL;
	b->refs = 1;
	g_bufs++;
	*payload = b->data + 128;
	return b;
}

static inline int op_deliver(void *ctx, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
			     uint32_t nsegs, uint32_t msg_len)
{
	(void)ctx, (void)f, (void)cookie, (void)segs, (void)nsegs, (void)msg_len;
	return -ENOBUFS;
}

static inline void op_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
			    int err)
{
	(void)ctx, (void)f, (void)cookie, (void)ev, (void)err;
}

static const uint8_t MAC_B[6] = { 2, 0, 0, 0, 0, 2 };

/* The local port proto picked for f. */
static inline uint16_t lport(struct mn_flow *f)
{
	struct mn_flow_info fi;

	mn_flow_info(f, &fi);
	return fi.local_port;
}

#endif
