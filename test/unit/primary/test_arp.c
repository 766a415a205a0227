/* Unit tests of mn_arp: the engine's neighbour table, driven by a fake clock. */
#include <errno.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_neigh.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define SEC 1000000ull

static const uint8_t MAC1[6] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t MAC2[6] = { 0x02, 0, 0, 0, 0, 0x22 };

static struct mn_neigh_table t;

/* timeout 10 s, retry 100 ms, 5 tries, hold 1 s */
static void fresh(void)
{
	struct mn_neigh_params p;

	mn_neigh_params_default(&p, 10);
	CU_ASSERT_EQUAL_FATAL(mn_neigh_table_init(&t, &p), 0);
}

static void test_init_rejects_zero(void)
{
	struct mn_neigh_params p;

	mn_neigh_params_default(&p, 0);
	CU_ASSERT_EQUAL(mn_neigh_table_init(&t, &p), -EINVAL);
	mn_neigh_params_default(&p, 10);
	p.max_tries = 0;
	CU_ASSERT_EQUAL(mn_neigh_table_init(&t, &p), -EINVAL);
}

static void test_learn_lookup(void)
{
	uint8_t mac[6];

	fresh();
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, IP(198, 18, 0, 2), 0, mac), -ENOENT);
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, IP(198, 18, 0, 2), MAC1, 5, true), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, IP(198, 18, 0, 2), 6, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, MAC1, 6), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, IP(198, 18, 0, 3), 6, mac), -ENOENT);
	/* A new MAC for a known IP replaces the old one. */
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, IP(198, 18, 0, 2), MAC2, 7, false), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, IP(198, 18, 0, 2), 8, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, MAC2, 6), 0);
	/* create=false never invents an entry. */
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, IP(198, 18, 0, 9), MAC1, 8, false), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_state_of(&t, IP(198, 18, 0, 9), 8), MN_NEIGH_FREE);
}

static void test_expire(void)
{
	uint8_t mac[6];
	uint32_t ips[4];
	const uint32_t ip = IP(198, 18, 0, 2);

	fresh();
	mn_neigh_table_learn(&t, ip, MAC1, 1 * SEC, true);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, ip, 11 * SEC - 1, mac), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, ip, 11 * SEC, mac), -ENOENT);
	CU_ASSERT_EQUAL(mn_neigh_table_state_of(&t, ip, 11 * SEC), MN_NEIGH_FREE);
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, 11 * SEC, ips, 4, NULL), 0);
	CU_ASSERT_EQUAL(t.n_used, 0);
}

static void test_refresh_used_only(void)
{
	uint8_t mac[6];
	uint32_t ips[4];
	const uint32_t used = IP(198, 18, 0, 2), idle = IP(198, 18, 0, 3);
	uint64_t now;

	fresh();
	mn_neigh_table_learn(&t, used, MAC1, 0, true);
	mn_neigh_table_learn(&t, idle, MAC2, 0, true);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, used, 1 * SEC, mac), 0);
	/* Early in life: nothing due. */
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, 5 * SEC, ips, 4, NULL), 0);
	/* Last 500 ms (5 tries x 100 ms): only the used entry is refreshed. */
	now = 10 * SEC - 500000;
	CU_ASSERT_EQUAL_FATAL(mn_neigh_table_tick(&t, now, ips, 4, NULL), 1);
	CU_ASSERT_EQUAL(ips[0], used);
	/* Rate limit: not again within retry_us. */
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, now + 50000, ips, 4, NULL), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, now + 100000, ips, 4, NULL), 1);
	/* Still usable while refreshing; the reply extends its life. */
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, used, now + 150000, mac), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, used, MAC1, now + 200000, false), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, used, 15 * SEC, mac), 0);
	/* The idle one aged out. */
	CU_ASSERT_EQUAL(mn_neigh_table_state_of(&t, idle, 10 * SEC), MN_NEIGH_FREE);
}

static void test_pending_completion(void)
{
	uint8_t mac[6];
	bool send;
	const uint32_t ip = IP(198, 18, 0, 2);

	fresh();
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, 100, mac, &send), -EINPROGRESS);
	CU_ASSERT_TRUE(send);
	CU_ASSERT_EQUAL(mn_neigh_table_state_of(&t, ip, 100), MN_NEIGH_PENDING);
	/* A second caller waits on the same resolution: no new request. */
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, 200, mac, &send), -EINPROGRESS);
	CU_ASSERT_FALSE(send);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, ip, 200, mac), -ENOENT);
	/* The reply completes it at once (1), not at the next tick. */
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, ip, MAC2, 300, false), 1);
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, 301, mac, &send), 0);
	CU_ASSERT_FALSE(send);
	CU_ASSERT_EQUAL(memcmp(mac, MAC2, 6), 0);
	/* Learning again is a refresh, not another completion. */
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, ip, MAC2, 400, false), 0);
}

static void test_pending_retries_and_failure(void)
{
	uint8_t mac[6];
	uint32_t ips[4];
	unsigned failed = 99, sent = 1, n;
	bool send;
	const uint32_t ip = IP(198, 18, 0, 7);
	uint64_t now = 1000;

	fresh();
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, now, mac, &send), -EINPROGRESS);
	CU_ASSERT_TRUE(send);
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, now + 99999, ips, 4, &failed), 0);
	CU_ASSERT_EQUAL(failed, 0);
	/* Bounded loop: every 100 ms one retry until 5 requests in all. */
	for (int i = 0; i < 20; i++) {
		now += 100000;
		n = mn_neigh_table_tick(&t, now, ips, 4, &failed);
		if (failed)
			break;
		CU_ASSERT_EQUAL_FATAL(n, 1);
		CU_ASSERT_EQUAL(ips[0], ip);
		sent++;
	}
	CU_ASSERT_EQUAL(sent, 5);
	CU_ASSERT_EQUAL(failed, 1);
	CU_ASSERT_EQUAL(mn_neigh_table_state_of(&t, ip, now), MN_NEIGH_FAILED);
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, now + 1, mac, &send), -EHOSTUNREACH);
	CU_ASSERT_FALSE(send);
	/* After the hold a new resolution starts. */
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, now + SEC, mac, &send), -EINPROGRESS);
	CU_ASSERT_TRUE(send);
}

/* A link that comes up makes failed resolutions worthless: forgetting them
 * lets the next connect ask again at once, and keeps what was learned. */
static void test_forget_failed(void)
{
	const uint8_t peer[6] = { 2, 0, 0, 0, 0, 9 };
	const uint32_t ip = IP(198, 18, 0, 7), known = IP(198, 18, 0, 9);
	uint32_t ips[4];
	uint8_t mac[6];
	unsigned failed = 0;
	uint64_t now = 1000;
	bool send;

	fresh();
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, known, peer, now, true), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, now, mac, &send), -EINPROGRESS);
	for (int i = 0; i < 20 && !failed; i++) {
		now += 100000;
		mn_neigh_table_tick(&t, now, ips, 4, &failed);
	}
	CU_ASSERT_EQUAL_FATAL(failed, 1);
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, now + 1, mac, &send), -EHOSTUNREACH);
	CU_ASSERT_EQUAL(mn_neigh_table_forget_failed(&t), 1);
	CU_ASSERT_EQUAL(mn_neigh_table_state_of(&t, ip, now + 1), MN_NEIGH_FREE);
	/* Within what was the hold: a new resolution, its request due now. */
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, ip, now + 2, mac, &send), -EINPROGRESS);
	CU_ASSERT_TRUE(send);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, known, now + 2, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, peer, 6), 0);
	/* Nothing failed any more: nothing to forget. */
	CU_ASSERT_EQUAL(mn_neigh_table_forget_failed(&t), 0);
}

static void test_tick_max(void)
{
	uint32_t ips[2];
	uint8_t mac[6];
	bool send;

	fresh();
	for (uint32_t i = 0; i < 3; i++)
		mn_neigh_table_resolve(&t, IP(198, 18, 0, 10 + i), 0, mac, &send);
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, 100000, ips, 2, NULL), 2);
	/* The third is not lost: due on the next tick. */
	CU_ASSERT_EQUAL(mn_neigh_table_tick(&t, 100001, ips, 2, NULL), 1);
	CU_ASSERT_EQUAL(ips[0], IP(198, 18, 0, 12));
}

static void test_table_full(void)
{
	uint8_t mac[6];
	bool send;

	fresh();
	for (uint32_t i = 0; i < MN_NEIGH_MAX; i++)
		CU_ASSERT_EQUAL_FATAL(mn_neigh_table_learn(&t, IP(198, 18, 1, 0) + i, MAC1, 0, true), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, IP(198, 19, 0, 1), MAC1, 1, true), -ENOSPC);
	CU_ASSERT_EQUAL(mn_neigh_table_resolve(&t, IP(198, 19, 0, 1), 1, mac, &send), -ENOSPC);
	CU_ASSERT_FALSE(send);
	/* Known entries still update when full. */
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, IP(198, 18, 1, 5), MAC2, 2, true), 0);
	/* Once entries expire their slots are reused. */
	CU_ASSERT_EQUAL(mn_neigh_table_learn(&t, IP(198, 19, 0, 1), MAC2, 10 * SEC, true), 0);
	CU_ASSERT_EQUAL(mn_neigh_table_lookup(&t, IP(198, 19, 0, 1), 10 * SEC, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, MAC2, 6), 0);
}

static void test_next_hop(void)
{
	const uint32_t me = IP(198, 18, 0, 1), gw = IP(198, 18, 0, 254);

	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 24, gw, IP(198, 18, 0, 2)), IP(198, 18, 0, 2));
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 24, gw, IP(198, 18, 1, 2)), gw);
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 24, 0, IP(198, 18, 1, 2)), 0);
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 15, 0, IP(198, 19, 200, 2)), IP(198, 19, 200, 2));
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 16, gw, IP(198, 19, 200, 2)), gw);
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 32, gw, IP(198, 18, 0, 2)), gw);
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 0, 0, IP(10, 1, 2, 3)), IP(10, 1, 2, 3));
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 24, gw, 0), 0);
	CU_ASSERT_EQUAL(mn_neigh_next_hop(me, 33, gw, IP(198, 18, 0, 2)), 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "init rejects zero params", test_init_rejects_zero },
		{ "learn and lookup", test_learn_lookup },
		{ "entries expire", test_expire },
		{ "used entries are refreshed, idle ones age out", test_refresh_used_only },
		{ "pending resolution completes on the reply", test_pending_completion },
		{ "retries are paced, then the resolution fails and is held",
		  test_pending_retries_and_failure },
		{ "a link-up forgets failed resolutions only", test_forget_failed },
		{ "tick honours max", test_tick_max },
		{ "table full", test_table_full },
		{ "next hop: subnet vs gateway", test_next_hop },
	};

	return mn_cu_run("mn_arp", tests, sizeof(tests) / sizeof(tests[0]));
}
