/* Unit tests of primary/mn_steer.c on an EAL without hugepages (no root):
 * the owner rules (listener directory, remembered SYNs, port split), the
 * forget protocol and its tokens, the table's deletion against a
 * reference, and the ring path: a burst arrives whole, in order, as copies
 * in the owner's pool, with nothing leaked when a ring or pool is full. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "mn_cunit.h"
#include "mn_steer.h"
#include "mn_wire.h"

#define NPOOL 4095
static struct rte_mempool *g_pool[2];

/* A transport frame from rip:rport to lip:lport, net flags nf, carrying a
 * 32-bit sequence number as payload. */
static struct rte_mbuf *frame(const struct mn_steer_tuple *t, uint8_t nf, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool[0]);
	uint8_t *p;

	CU_ASSERT_FATAL(m != NULL);
	p = (uint8_t *)rte_pktmbuf_append(m, MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN + 4);
	CU_ASSERT_FATAL(p != NULL);
	memset(p, 0, m->data_len);
	uint8_t *ip = p + MN_ETH_HLEN, *udp = ip + MN_IP_HLEN, *h = udp + MN_UDP_HLEN;

	ip[0] = 0x45;
	ip[9] = 17;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(t->rip >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(t->lip >> (24 - 8 * i));
	}
	udp[0] = (uint8_t)(t->rport >> 8);
	udp[1] = (uint8_t)t->rport;
	udp[2] = (uint8_t)(t->lport >> 8);
	udp[3] = (uint8_t)t->lport;
	h[0] = 0x4e;
	h[1] = 0x53;
	h[2] = nf;
	memcpy(h + MN_HDR_LEN, &seq, 4);
	return m;
}

static uint32_t seq_of(const struct rte_mbuf *m)
{
	uint32_t s;

	memcpy(&s, rte_pktmbuf_mtod_offset(m, const uint8_t *,
					   MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN), 4);
	return s;
}

static struct mn_steer_tuple tup(uint16_t lport, uint16_t rport, uint32_t rip)
{
	struct mn_steer_tuple t = { .lip = 0xc6120001, .rip = rip, .lport = lport, .rport = rport };

	return t;
}

static void test_parse(void)
{
	struct mn_steer_tuple t = tup(888, 4321, 0xc6120002), got;
	struct rte_mbuf *m = frame(&t, MN_NF_SYN, 0);
	bool syn;

	mn_steer_parse(m, &got, &syn);
	CU_ASSERT(memcmp(&got, &t, sizeof(t)) == 0);
	CU_ASSERT(syn);
	rte_pktmbuf_free(m);
	m = frame(&t, MN_NF_SYNACK, 0);
	mn_steer_parse(m, &got, &syn);
	CU_ASSERT(!syn);
	rte_pktmbuf_free(m);
}

/* Unknown, non-SYN frames go by the port split; a lone engine keeps all. */
static void test_port_split(void)
{
	struct mn_steer *s = mn_steer_create(2, g_pool, 64), *one = mn_steer_create(1, g_pool, 64);
	uint32_t tok;

	CU_ASSERT_FATAL(s != NULL && one != NULL);
	for (uint16_t p = 1024; p < 1100; p++) {
		struct mn_steer_tuple t = tup(p, 888, 0xc6120002);

		CU_ASSERT(mn_steer_owner(s, 0, &t, false, &tok) == p % 2u);
		CU_ASSERT(mn_steer_owner(s, 1, &t, false, &tok) == p % 2u);
		CU_ASSERT(tok == 0);
		/* A SYN nobody listens to goes by the port too, remembered by nobody. */
		CU_ASSERT(mn_steer_owner(s, 0, &t, true, &tok) == p % 2u);
		CU_ASSERT(mn_steer_owner(one, 0, &t, true, &tok) == 0);
	}
	CU_ASSERT(mn_steer_remembered(s, 0) == 0);
	mn_steer_free(s);
	mn_steer_free(one);
}

/* A SYN to a listener of another engine is steered there and remembered
 * until that engine's forget with the same token. */
static void test_listener_and_forget(void)
{
	struct mn_steer *s = mn_steer_create(2, g_pool, 64);
	struct mn_steer_tuple t = tup(888, 5000, 0xc6120002), w = tup(889, 5000, 0xc6120002);
	struct mn_steer_frame f[4];
	uint32_t tok, tok2;

	CU_ASSERT_FATAL(s != NULL);
	mn_steer_listen(s, 1, 3, t.lip, 888);	/* engine 1, slot 3 */
	mn_steer_listen(s, 0, 0, 0, 889);	/* engine 0: wildcard on 889 */
	CU_ASSERT(mn_steer_owner(s, 0, &t, true, &tok) == 1);
	CU_ASSERT(tok != 0);
	CU_ASSERT(mn_steer_remembered(s, 0) == 1);
	/* 888 is even: without the memory this would stay on engine 0. */
	CU_ASSERT(mn_steer_owner(s, 0, &t, false, &tok2) == 1 && tok2 == tok);
	/* The SYN's retransmission follows the memory. */
	CU_ASSERT(mn_steer_owner(s, 0, &t, true, &tok2) == 1 && tok2 == tok);
	/* A listener on the receiving engine takes the flow itself. */
	CU_ASSERT(mn_steer_owner(s, 0, &w, true, &tok2) == 0 && tok2 == 0);
	CU_ASSERT(mn_steer_remembered(s, 0) == 1);
	/* A stale forget (another token) leaves the entry. */
	CU_ASSERT(mn_steer_forget(s, 1, 0, &t, tok + 1) == 0);
	CU_ASSERT(mn_steer_pull(s, 0, f, 4) == 0);
	CU_ASSERT(mn_steer_remembered(s, 0) == 1);
	CU_ASSERT(mn_steer_forget(s, 1, 0, &t, tok) == 0);
	CU_ASSERT(mn_steer_pull(s, 0, f, 4) == 0);
	CU_ASSERT(mn_steer_remembered(s, 0) == 0);
	CU_ASSERT(mn_steer_owner(s, 0, &t, false, &tok2) == 0);
	/* Listener gone: its SYNs go by the port split. */
	mn_steer_listen(s, 1, 3, 0, 0);
	CU_ASSERT(mn_steer_owner(s, 0, &t, true, &tok2) == 0);
	mn_steer_free(s);
}

/* Deletion by backward shift keeps every other entry findable (random
 * SYNs and forgets against a reference), and a full table says so. */
static void test_table(void)
{
	enum { N = 200 };
	struct mn_steer *s = mn_steer_create(2, g_pool, 100);	/* 256 slots, 128 usable */
	struct mn_steer_tuple t[N];
	uint32_t tok[N], x;
	bool live[N] = { false };
	unsigned nlive = 0;
	struct mn_steer_frame f[4];

	CU_ASSERT_FATAL(s != NULL);
	mn_steer_listen(s, 1, 0, 0, 888);
	srand(7);
	for (unsigned i = 0; i < N; i++)
		t[i] = tup(888, (uint16_t)(1024 + i), 0xc6120002 + (uint32_t)(i % 7));
	for (unsigned round = 0; round < 5000; round++) {
		unsigned i = (unsigned)rand() % N;

		if (!live[i]) {
			unsigned o = mn_steer_owner(s, 0, &t[i], true, &x);

			if (nlive == 128) {
				CU_ASSERT(o == MN_STEER_NONE);
				continue;
			}
			CU_ASSERT(o == 1 && x != 0);
			tok[i] = x;
			live[i] = true;
			nlive++;
		} else {
			CU_ASSERT(mn_steer_forget(s, 1, 0, &t[i], tok[i]) == 0);
			CU_ASSERT(mn_steer_pull(s, 0, f, 4) == 0);
			live[i] = false;
			nlive--;
		}
		if (round % 97 == 0)
			for (unsigned j = 0; j < N; j++) {
				unsigned o = mn_steer_owner(s, 0, &t[j], false, &x);

				CU_ASSERT(live[j] ? (o == 1 && x == tok[j]) : (o == 0 && x == 0));
			}
		CU_ASSERT(mn_steer_remembered(s, 0) == nlive);
	}
	mn_steer_free(s);
}

/* Bursts cross in order as copies in the owner's pool; a full ring drops
 * (and frees) the frame, and nothing stays allocated. */
static void test_ring_order(void)
{
	struct mn_steer *s = mn_steer_create(2, g_pool, 64);
	struct mn_steer_tuple t = tup(1025, 888, 0xc6120002);
	struct mn_steer_frame f[64];
	uint32_t next = 0, sent = 0;
	unsigned in0 = rte_mempool_in_use_count(g_pool[0]);
	unsigned in1 = rte_mempool_in_use_count(g_pool[1]);

	CU_ASSERT_FATAL(s != NULL);
	for (unsigned round = 0; round < 200; round++) {
		unsigned burst = 1 + round % 50, got;

		for (unsigned i = 0; i < burst; i++)
			CU_ASSERT(mn_steer_push(s, 0, 1, frame(&t, 0, sent++), 0) == 0);
		do {
			got = mn_steer_pull(s, 1, f, 1 + round % 64);
			for (unsigned i = 0; i < got; i++) {
				CU_ASSERT(f[i].from == 0);
				CU_ASSERT(f[i].m->pool == g_pool[1]);
				CU_ASSERT(seq_of(f[i].m) == next);
				next++;
				rte_pktmbuf_free(f[i].m);
			}
		} while (got);
	}
	CU_ASSERT(next == sent);
	/* Fill the ring: the overflow is refused and freed. */
	unsigned ok = 0, refused = 0;

	for (unsigned i = 0; i < MN_STEER_RING + 10; i++) {
		if (mn_steer_push(s, 0, 1, frame(&t, 0, i), 0) == 0)
			ok++;
		else
			refused++;
	}
	CU_ASSERT(ok >= MN_STEER_RING - 1 && refused >= 10);
	mn_steer_free(s);	/* frees what the ring still holds */
	CU_ASSERT(rte_mempool_in_use_count(g_pool[0]) == in0);
	CU_ASSERT(rte_mempool_in_use_count(g_pool[1]) == in1);
}

int main(void)
{
	char prefix[64], rundir[PATH_MAX];
	char *eal[] = { "test_steer", "--no-huge", "--no-pci", "--no-shconf", "-m", "128",
			"--lcores=0", "--log-level=error", "--no-telemetry", prefix };
	static const struct mn_cu_test tests[] = {
		{ "parse", test_parse },
		{ "port split", test_port_split },
		{ "listener, memory and forget", test_listener_and_forget },
		{ "table against a reference", test_table },
		{ "ring: order, copies, overflow", test_ring_order },
	};
	int rc;

	/* Its own (empty) runtime directory, removed at the end. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=test_steer_%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	g_pool[0] = rte_pktmbuf_pool_create("steer0", NPOOL, 0, 0, 2048, SOCKET_ID_ANY);
	g_pool[1] = rte_pktmbuf_pool_create("steer1", NPOOL, 0, 0, 2048, SOCKET_ID_ANY);
	if (!g_pool[0] || !g_pool[1]) {
		fprintf(stderr, "pools: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	rc = mn_cu_run("steer", tests, sizeof(tests) / sizeof(tests[0]));
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(rundir);
	return rc;
}
