/* mf_evil: a misbehaving app. It attaches like any app, then puts garbage
 * on its own channel's TX and used rings through the ABI (ring names from
 * mn_abi.h, rte_ring_lookup): NULL, small integers, pointers to its own
 * memory, pointers into the pool that are not an mbuf's start, misaligned
 * ones, a chain whose next is garbage, bad lengths and data offsets, a
 * segment count that does not match, and the same mbuf twice. machnetd
 * must refuse every one without crashing. Afterwards the app still works:
 * a verified round trip with an echo server at RIP:PORT.
 *
 *   mf_evil LIP RIP PORT
 * Prints "evil: enqueued TX=n USED=m" and "evil: round trip ok"; exit 0 when
 * the round trip works, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "machnet.h"
#include "mn_abi.h"
#include "mn_lib_int.h"	/* a malicious app knows its own library */

static uint8_t g_private[4096] __attribute__((aligned(64)));

static struct rte_ring *ring_of(uint32_t id, const char *kind)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), MN_RING_NAME_FMT, id, kind);
	return rte_ring_lookup(name);
}

/* A fresh, well-formed single-segment mbuf from the fill ring, or NULL. */
static struct rte_mbuf *take(struct rte_ring *fill)
{
	void *m = NULL;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (rte_ring_dequeue(fill, &m) == 0) {
			struct rte_mbuf *b = m;

			b->data_off = MN_SEG_DATA_OFF;
			b->data_len = 64;
			b->pkt_len = 64;
			b->nb_segs = 1;
			b->next = NULL;
			return b;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	return NULL;
}

/* Fills out[] with bad descriptors; returns how many. */
static unsigned garbage(struct rte_ring *fill, void **out, unsigned max)
{
	unsigned n = 0;
	struct rte_mbuf *m;
	void *heap = malloc(4096);

	out[n++] = NULL;
	out[n++] = (void *)(uintptr_t)1;
	out[n++] = (void *)(uintptr_t)0xdeadbeef000ull;
	out[n++] = g_private;				/* foreign: app's own memory */
	out[n++] = heap;				/* foreign: app's heap */
	out[n++] = &m;					/* foreign: app's stack */
	if ((m = take(fill)) != NULL)
		out[n++] = (uint8_t *)m + 3;		/* misaligned into the pool */
	if ((m = take(fill)) != NULL)
		out[n++] = (uint8_t *)m + 64;		/* aligned, inside an mbuf */
	if ((m = take(fill)) != NULL) {
		m->data_len = 60000;			/* longer than the buffer */
		m->pkt_len = 60000;
		out[n++] = m;
	}
	if ((m = take(fill)) != NULL) {
		m->data_off = 4000;			/* data beyond the buffer */
		out[n++] = m;
	}
	if ((m = take(fill)) != NULL) {
		m->pkt_len = 1000;			/* lengths do not add up */
		out[n++] = m;
	}
	if ((m = take(fill)) != NULL) {
		m->nb_segs = 5;				/* count does not match */
		out[n++] = m;
	}
	if ((m = take(fill)) != NULL) {
		m->nb_segs = 2;
		m->pkt_len = 128;
		m->next = (struct rte_mbuf *)g_private;	/* chain into app memory */
		out[n++] = m;
	}
	if ((m = take(fill)) != NULL) {
		m->data_len = 0;			/* empty segment */
		m->pkt_len = 0;
		out[n++] = m;
	}
	if ((m = take(fill)) != NULL) {
		struct rte_mbuf *m2 = take(fill);

		if (m2 != NULL) {			/* a cycle: m -> m2 -> m */
			m->nb_segs = 2;
			m->pkt_len = 128;
			m->next = m2;
			m2->next = m;
			out[n++] = m;
		}
	}
	(void)max;
	return n;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16], want[1000];
	void *tx_bad[32], *used_bad[32];
	struct rte_ring *tx, *used, *fill;
	struct mn_lib_chan *c;
	uint32_t id;
	int err;
	MachnetFlow_t f, from;
	unsigned ntx, nused, i;
	void *ch;
	ssize_t n;

	if (argc != 4) {
		fprintf(stderr, "usage: mf_evil LIP RIP PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (machnet_init() != 0 || (ch = machnet_attach()) == NULL) {
		printf("evil: attach failed: %s\n", strerror(errno));
		return 1;
	}
	/* The handle is not a pointer: the library's own lookup gives the
	 * channel behind it, and so the names of its rings. */
	c = mn_lib_chan_enter(ch, &err);
	if (!c) {
		printf("evil: no channel behind the handle: %s\n", strerror(err));
		return 1;
	}
	id = c->id;
	mn_lib_chan_leave(c);
	tx = ring_of(id, MN_RING_TX);
	used = ring_of(id, MN_RING_USED);
	fill = ring_of(id, MN_RING_FILL);
	if (!tx || !used || !fill) {
		printf("evil: rings of channel %u not found\n", id);
		return 1;
	}
	ntx = garbage(fill, tx_bad, 32);
	nused = garbage(fill, used_bad, 32);
	/* The same mbuf twice on used, and once on each ring. */
	{
		struct rte_mbuf *m = take(fill);

		if (m != NULL && nused + 2 <= 32) {
			used_bad[nused++] = m;
			used_bad[nused++] = m;
			tx_bad[ntx++] = m;
		}
	}
	/* MF_EVIL_ONLY=tx:K or used:K enqueues only that one (to find which
	 * descriptor a crash comes from). Each ring's garbage goes in one bulk
	 * enqueue, so the engine sees it in one pass (BURST >= 32): one at a
	 * time, an app preempted between the two copies of the duplicated
	 * mbuf let the engine free the first, hand the same mbuf back to this
	 * channel's fill ring, and then rightly take the second as returned. */
	{
		const char *only = getenv("MF_EVIL_ONLY");
		int k = only && strchr(only, ':') ? atoi(strchr(only, ':') + 1) : -1;
		int on_tx = only && strncmp(only, "tx", 2) == 0;
		void *sel[32];
		unsigned ns = 0;

		for (i = 0; i < ntx; i++)
			if (!only || (on_tx && (k < 0 || (int)i == k)))
				sel[ns++] = tx_bad[i];
		while (ns && rte_ring_enqueue_bulk(tx, sel, ns, NULL) == 0)
			;
		ns = 0;
		for (i = 0; i < nused; i++)
			if (!only || (!on_tx && (k < 0 || (int)i == k)))
				sel[ns++] = used_bad[i];
		while (ns && rte_ring_enqueue_bulk(used, sel, ns, NULL) == 0)
			;
	}
	printf("evil: channel %u enqueued TX=%u USED=%u\n", id, ntx, nused);

	/* Still a working app afterwards, on a new channel: the garbage
	 * channel's fill ring may hold the duplicated mbuf, handed back to it
	 * between the engine's look at the TX copy and at the used copies, and
	 * an app that takes a buffer it already gave back uses it twice (its
	 * own doing; the engine cannot tell). */
	ch = machnet_attach();
	if (ch == NULL) {
		printf("evil: second attach failed: %s\n", strerror(errno));
		return 1;
	}
	if (machnet_connect(ch, argv[1], argv[2], (uint16_t)atoi(argv[3]), &f) != 0) {
		printf("evil: connect failed: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + 3);
	for (int k = 0; k < 100; k++) {
		int tries = 0;

		while (machnet_send(ch, f, want, sizeof(want)) != 0) {
			if (errno != EAGAIN || ++tries > 1000000) {
				printf("evil: send failed: %s\n", strerror(errno));
				return 1;
			}
		}
		n = machnet_recv_timeout(ch, buf, sizeof(buf), &from, 10 * 1000 * 1000);
		if (n != (ssize_t)sizeof(want) || memcmp(buf, want, sizeof(want)) != 0) {
			printf("evil: echo %d wrong (%zd B, errno %s)\n", k, n, strerror(errno));
			return 1;
		}
	}
	printf("evil: round trip ok (100 echoes)\n");
	machnet_detach(ch);
	return 0;
}
