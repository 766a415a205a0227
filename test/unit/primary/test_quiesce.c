/* Unit tests of mn_quiesce: munmap() (interposed by machnetd) waits for an
 * engine that is inside a poll iteration, and only for that long. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mn_cunit.h"
#include "mn_quiesce.h"

static _Atomic int g_cmd;	/* 1: enter and hold, 2: exit, 3: quit */
static _Atomic int g_inside, g_left;

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A fake engine: enters an iteration on command and stays inside until told. */
static void *engine(void *arg)
{
	struct mn_quiesce *q = mn_quiesce_register();
	uint64_t deadline = ms_now() + 10000;

	(void)arg;
	while (atomic_load(&g_cmd) != 3 && ms_now() < deadline) {
		if (atomic_load(&g_cmd) != 1) {
			sched_yield();
			continue;
		}
		mn_quiesce_enter(q);
		atomic_store(&g_inside, 1);
		while (atomic_load(&g_cmd) == 1 && ms_now() < deadline)
			sched_yield();
		/* What the engine does last inside the iteration. */
		atomic_store(&g_left, 1);
		mn_quiesce_exit(q);
		atomic_store(&g_inside, 0);
	}
	return NULL;
}

static void *release_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000000 };

	(void)arg;
	nanosleep(&ts, NULL);
	atomic_store(&g_cmd, 2);
	return NULL;
}

static pthread_t g_engine;

static void wait_inside(void)
{
	uint64_t deadline = ms_now() + 5000;

	while (!atomic_load(&g_inside) && ms_now() < deadline)
		sched_yield();
	CU_ASSERT_FATAL(atomic_load(&g_inside));
}

static void test_idle_engine_no_wait(void)
{
	uint64_t t0 = ms_now();

	CU_ASSERT_EQUAL(mn_quiesce_wait(), 0);
	CU_ASSERT(ms_now() - t0 < 50);
}

static void test_munmap_waits_for_iteration(void)
{
	pthread_t rel;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	atomic_store(&g_left, 0);
	atomic_store(&g_cmd, 1);
	wait_inside();
	CU_ASSERT_FATAL(pthread_create(&rel, NULL, release_later, NULL) == 0);
	/* Returns only once the engine has finished its iteration. */
	CU_ASSERT_EQUAL(munmap(p, 4096), 0);
	CU_ASSERT_EQUAL(atomic_load(&g_left), 1);
	pthread_join(rel, NULL);
}

static void test_wait_is_bounded(void)
{
	uint64_t t0;
	unsigned n;

	atomic_store(&g_left, 0);
	atomic_store(&g_cmd, 1);
	wait_inside();
	t0 = ms_now();
	n = mn_quiesce_wait();
	CU_ASSERT_EQUAL(n, 1);
	/* The engine never left: the wait gave up after its bound. */
	CU_ASSERT_EQUAL(atomic_load(&g_left), 0);
	CU_ASSERT(ms_now() - t0 >= MN_QUIESCE_WAIT_NS / 1000000 - 1);
	CU_ASSERT(ms_now() - t0 < 5000);
	atomic_store(&g_cmd, 2);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "an engine between iterations costs munmap nothing", test_idle_engine_no_wait },
		{ "munmap waits for the iteration in progress", test_munmap_waits_for_iteration },
		{ "the wait is bounded", test_wait_is_bounded },
	};
	int rc;

	/* The engine thread every test drives lives for the whole run. */
	if (pthread_create(&g_engine, NULL, engine, NULL) != 0)
		return 1;
	rc = mn_cu_run("quiesce", tests, sizeof(tests) / sizeof(tests[0]));
	atomic_store(&g_cmd, 3);
	pthread_join(g_engine, NULL);
	return rc;
}
