/* Unit tests of the engine's checks on what apps hand back (primary/mn_chan.c
 * pure part), on plain memory without EAL: the object map finds exactly the
 * pool's objects and nothing else, and the chain check rejects every kind of
 * malformed or foreign message while never touching memory outside the map. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "mn_chan.h"
#include "mn_cunit.h"

#define NOBJ 1000
#define STRIDE 256	/* like a pool: objects 64-aligned, not adjacent */
#define TAG 7

static uint8_t *g_mem;
static struct mn_objmap g_map;
static uint16_t g_owner[NOBJ];

static struct rte_mbuf *obj(unsigned i)
{
	return (struct rte_mbuf *)(g_mem + 64 + (size_t)i * STRIDE);
}

static int setup(void)
{
	unsigned i;

	g_mem = aligned_alloc(64, (size_t)NOBJ * STRIDE + 128);
	if (g_mem == NULL || mn_objmap_init(&g_map, NOBJ) != 0)
		return 1;
	memset(g_mem, 0, (size_t)NOBJ * STRIDE + 128);
	/* Added in a scrambled order: indices must follow insertion. */
	for (i = 0; i < NOBJ; i++) {
		unsigned k = (i * 7919u) % NOBJ;

		if (mn_objmap_add(&g_map, obj(k)) != (int)i)
			return 1;
	}
	return 0;
}

static int teardown(void)
{
	mn_objmap_fini(&g_map);
	free(g_mem);
	return 0;
}

static void test_objmap_exact(void)
{
	unsigned i;

	for (i = 0; i < NOBJ; i++) {
		int ix = mn_objmap_find(&g_map, obj(i));

		CU_ASSERT_FATAL(ix >= 0);
		CU_ASSERT_PTR_EQUAL(g_map.objs[ix], obj(i));
		/* Inside the object, aligned or not, is not the object. */
		CU_ASSERT_EQUAL(mn_objmap_find(&g_map, (uint8_t *)obj(i) + 1), -1);
		CU_ASSERT_EQUAL(mn_objmap_find(&g_map, (uint8_t *)obj(i) + 64), -1);
		CU_ASSERT_EQUAL(mn_objmap_find(&g_map, (uint8_t *)obj(i) + 128), -1);
	}
	CU_ASSERT_EQUAL(mn_objmap_find(&g_map, NULL), -1);
	CU_ASSERT_EQUAL(mn_objmap_find(&g_map, g_mem), -1);
	CU_ASSERT_EQUAL(mn_objmap_find(&g_map, (void *)UINTPTR_MAX), -1);
}

static void test_objmap_garbage(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned i, hits = 0, expected = 0;

	/* Deterministic garbage, half of it near the pool to defeat the span
	 * check; every hit must be an exact object address. */
	for (i = 0; i < 200000; i++) {
		uintptr_t p;
		int ix;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p = (i & 1) ? (uintptr_t)x : (uintptr_t)g_mem + (x % ((uint64_t)NOBJ * STRIDE + 128));
		if (i & 2)
			p &= ~(uintptr_t)63;
		ix = mn_objmap_find(&g_map, (void *)p);
		if (p >= (uintptr_t)obj(0) && p <= (uintptr_t)obj(NOBJ - 1) &&
		    (p - (uintptr_t)obj(0)) % STRIDE == 0)
			expected++;
		if (ix >= 0) {
			hits++;
			CU_ASSERT_EQUAL((uintptr_t)g_map.objs[ix], p);
		}
	}
	CU_ASSERT_EQUAL(hits, expected);
	CU_ASSERT(expected > 0);
}

static void test_objmap_add_errors(void)
{
	struct mn_objmap m;
	static _Alignas(64) uint8_t buf[64 * 4];

	CU_ASSERT_EQUAL(mn_objmap_init(&m, 0), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(mn_objmap_init(&m, 2), 0);
	CU_ASSERT_EQUAL(mn_objmap_find(&m, buf), -1);	/* empty */
	CU_ASSERT_EQUAL(mn_objmap_add(&m, NULL), -EINVAL);
	CU_ASSERT_EQUAL(mn_objmap_add(&m, buf + 8), -EINVAL);
	CU_ASSERT_EQUAL(mn_objmap_add(&m, buf), 0);
	CU_ASSERT_EQUAL(mn_objmap_add(&m, buf), -EEXIST);
	CU_ASSERT_EQUAL(mn_objmap_add(&m, buf + 64), 1);
	CU_ASSERT_EQUAL(mn_objmap_add(&m, buf + 128), -ENOSPC);
	CU_ASSERT_EQUAL(mn_objmap_find(&m, buf + 128), -1);
	mn_objmap_fini(&m);
}

/* Objects added in address order at one stride with gaps (a mempool whose
 * objects skip page boundaries) are found through runs; an object below the
 * highest so far turns runs off. Both ways every object is found at its
 * index and no other address is. */
static bool in_runs_layout(unsigned k)
{
	return k % 100 < 90;	/* runs of 90 slots, gaps of 10 */
}

static void test_objmap_runs(void)
{
	struct mn_objmap m;
	int want[NOBJ];
	unsigned k, n = 0;

	CU_ASSERT_EQUAL_FATAL(mn_objmap_init(&m, NOBJ), 0);
	for (k = 0; k + 1 < NOBJ; k++) {
		want[k] = -1;
		if (in_runs_layout(k)) {
			want[k] = (int)n;
			CU_ASSERT_EQUAL(mn_objmap_add(&m, obj(k)), (int)n);
			n++;
		}
	}
	want[NOBJ - 1] = -1;
	CU_ASSERT_TRUE(m.by_runs);
	CU_ASSERT_EQUAL(m.n_runs, (NOBJ - 1 + 99) / 100);
	for (int pass = 0; pass < 2; pass++) {
		for (k = 0; k < NOBJ; k++) {
			uint8_t *o = (uint8_t *)obj(k);

			CU_ASSERT_EQUAL(mn_objmap_find(&m, o), want[k]);
			CU_ASSERT_EQUAL(mn_objmap_find(&m, o + 64), -1);
			CU_ASSERT_EQUAL(mn_objmap_find(&m, o + 1), -1);
		}
		CU_ASSERT_EQUAL(mn_objmap_find(&m, (uint8_t *)obj(0) - STRIDE), -1);
		if (pass == 0) {
			/* A gap slot, below the highest object. */
			CU_ASSERT_EQUAL(mn_objmap_add(&m, obj(95)), (int)n);
			want[95] = (int)n;
			CU_ASSERT_FALSE(m.by_runs);
		}
	}
	mn_objmap_fini(&m);
}

static const struct mn_chain_limits LIM = { 1418, MN_TX_HEADROOM, 5917, MN_MAX_MSG };

/* A well-formed chain of n segments of the given lengths, owned by TAG. */
static struct rte_mbuf *chain(const unsigned *which, const uint16_t *lens, unsigned n)
{
	unsigned i;
	uint32_t sum = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = obj(which[i]);

		m->buf_len = 2176;
		m->data_off = 128;
		m->data_len = lens[i];
		m->nb_segs = 1;
		m->next = i + 1 < n ? obj(which[i + 1]) : NULL;
		sum += lens[i];
		g_owner[mn_objmap_find(&g_map, m)] = TAG;
	}
	obj(which[0])->nb_segs = (uint16_t)n;
	obj(which[0])->pkt_len = sum;
	return obj(which[0]);
}

static void test_chain_valid(void)
{
	const unsigned w[3] = { 5, 900, 17 };
	const uint16_t l[3] = { 1418, 1418, 1 };
	uint32_t idx[8];
	struct rte_mbuf *h = chain(w, l, 3);
	unsigned i;

	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, idx), 3);
	for (i = 0; i < 3; i++)
		CU_ASSERT_PTR_EQUAL(g_map.objs[idx[i]], obj(w[i]));
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, NULL), 3);
}

static void test_chain_foreign(void)
{
	const unsigned w[3] = { 30, 31, 32 };
	const uint16_t l[3] = { 100, 100, 100 };
	struct rte_mbuf *h = chain(w, l, 3);
	uint32_t idx[8];
	static _Alignas(64) uint8_t outside[256];

	/* Another channel's buffer, anywhere in the chain. */
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG + 1, h, &LIM, idx), -EPERM);
	g_owner[mn_objmap_find(&g_map, obj(31))] = 0;	/* the engine's own */
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, idx), -EPERM);
	g_owner[mn_objmap_find(&g_map, obj(31))] = TAG;
	/* Pointers that are not pool objects: never followed. */
	obj(31)->next = (struct rte_mbuf *)(uintptr_t)0x1234000;
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, idx), -EINVAL);
	obj(31)->next = (struct rte_mbuf *)((uint8_t *)obj(32) + 64);
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, idx), -EINVAL);
	obj(31)->next = (struct rte_mbuf *)outside;
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, idx), -EINVAL);
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, (struct rte_mbuf *)outside, &LIM, idx),
			-EINVAL);
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, NULL, &LIM, idx), -EINVAL);
}

static void test_chain_malformed(void)
{
	const unsigned w[3] = { 40, 41, 42 };
	const uint16_t l[3] = { 500, 500, 500 };
	uint32_t idx[8];
	struct rte_mbuf *h;

#define BAD(mutate) do { \
	h = chain(w, l, 3); \
	mutate; \
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, idx), -EINVAL); \
} while (0)
	BAD(h->nb_segs = 0);
	BAD(h->nb_segs = 2);			/* chain longer than said */
	BAD(h->nb_segs = 4);			/* shorter */
	BAD(h->pkt_len = 1499);			/* lengths do not add up */
	BAD(h->pkt_len = 0);
	BAD(h->pkt_len = MN_MAX_MSG + 1);
	BAD(obj(41)->data_len = 0);
	BAD(obj(41)->data_len = 1419; h->pkt_len += 919);	/* > mss */
	BAD(obj(41)->data_off = MN_TX_HEADROOM - 1);	/* no room for headers */
	BAD(obj(42)->data_off = 2176 - 499);	/* data past the buffer end */
	BAD(obj(42)->next = obj(40));		/* cycle */
	BAD(h->nb_segs = 5917 + 1);
#undef BAD
	/* A cycle with a huge nb_segs ends after max_segs steps. */
	h = chain(w, l, 3);
	obj(42)->next = obj(40);
	h->nb_segs = 5917;
	CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &LIM, NULL), -EINVAL);
	/* Received chains (no mss, no headroom rule) are judged by buf_len. */
	{
		struct mn_chain_limits rx = { 0, 0, UINT16_MAX, MN_MAX_MSG };

		h = chain(w, l, 3);
		obj(41)->data_off = 0;
		obj(41)->data_len = 2000;
		h->pkt_len = 3000;
		CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &rx, NULL), 3);
		obj(41)->data_len = 2177;
		h->pkt_len = 3177;
		CU_ASSERT_EQUAL(mn_chain_check(&g_map, g_owner, TAG, h, &rx, NULL), -EINVAL);
	}
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "object map finds exactly the objects", test_objmap_exact },
		{ "object map rejects garbage", test_objmap_garbage },
		{ "object map add errors", test_objmap_add_errors },
		{ "object map: runs of strided objects", test_objmap_runs },
		{ "valid chain accepted", test_chain_valid },
		{ "foreign buffers rejected", test_chain_foreign },
		{ "malformed chains rejected", test_chain_malformed },
	};
	int rc;

	/* One object map and memory block shared by every test (it was the
	 * suite's init/cleanup); a failed setup fails the run. */
	if (setup() != 0)
		return 1;
	rc = mn_cu_run("chan", tests, sizeof(tests) / sizeof(tests[0]));
	teardown();
	return rc;
}
