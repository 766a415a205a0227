/* Unit test of mn_wake.h, the sleep/wake protocol between machnetd's
 * engines and apps: two processes (fork) over shared memory, as the real
 * ones are, play app and engine. The app sends a request at a random moment
 * and rings the engine's doorbell; the engine, which falls asleep the
 * moment it has nothing to do (no spin, no yield: the worst case), answers
 * and wakes the app, which sleeps while it waits. Both sleep with a long
 * bound (WAIT_NS): a lost wake-up would show as a sleep that ran into the
 * bound while work was waiting, which the test counts and fails on.
 *
 *   test_wake [ROUND_TRIPS]     (default 50,000: 100,000 messages; the
 *                                integration test wake_race_1m: 500,000)
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "mn_wake.h"

#define WAIT_NS 500000000ull	/* far beyond any scheduling delay here */

struct shared {
	struct mn_engine_wake ew;
	struct mn_chan_shm cs;
	uint64_t req, done_req;	/* app -> engine: requests sent, taken */
	uint64_t rep;		/* engine -> app: replies */
	uint64_t eng_lost, eng_sleeps, app_lost, app_sleeps, stop;
};

static unsigned long g_rounds = 50000;

static uint64_t ld(uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* A random short delay: none, a few pauses, a yield or a few microseconds
 * asleep, so that sends land at every point of the other side's way to
 * sleep. */
static void jitter(unsigned *seed)
{
	unsigned r = rand_r(seed) % 16;

	if (r < 6)
		return;
	if (r < 12) {
		for (unsigned i = rand_r(seed) % 2000; i > 0; i--)
			__builtin_ia32_pause();
	} else if (r < 14) {
		sched_yield();
	} else {
		struct timespec ts = { 0, (long)(rand_r(seed) % 20000) };

		nanosleep(&ts, NULL);
	}
}

static void engine(struct shared *s)
{
	unsigned seed = 7;

	while (!ld(&s->stop)) {
		uint64_t seq0;
		int r;

		if (ld(&s->req) > s->done_req) {
			s->done_req++;
			st(&s->rep, s->done_req);
			mn_wake_chan(&s->cs, -1);
			continue;
		}
		jitter(&seed);
		seq0 = mn_engine_sleep_begin(&s->ew);
		if (ld(&s->req) > s->done_req || ld(&s->stop)) {
			mn_engine_sleep_end(&s->ew);
			continue;
		}
		r = mn_engine_sleep_wait(&s->ew, (uint32_t)seq0, WAIT_NS);
		mn_engine_sleep_end(&s->ew);
		s->eng_sleeps++;
		if (r == -ETIMEDOUT && ld(&s->req) > s->done_req)
			s->eng_lost++;
	}
}

static void app(struct shared *s)
{
	unsigned seed = 11;

	for (uint64_t i = 1; i <= g_rounds; i++) {
		jitter(&seed);
		st(&s->req, i);
		mn_wake_engine(&s->ew);
		while (ld(&s->rep) < i) {
			uint32_t seq0 = mn_chan_sleep_begin(&s->cs);
			int r = 0;

			if (ld(&s->rep) < i)
				r = mn_chan_sleep_wait(&s->cs, seq0, WAIT_NS);
			mn_chan_sleep_end(&s->cs);
			s->app_sleeps++;
			if (r == -ETIMEDOUT)
				s->app_lost++;
		}
	}
	st(&s->stop, 1);
	mn_wake_engine(&s->ew);
}

static void test_race(void)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				-1, 0);
	pid_t pid;
	int status;

	CU_ASSERT_FATAL(s != MAP_FAILED);
	memset(s, 0, sizeof(*s));
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* Bounded: the parent's wait below would otherwise hang. */
		alarm(600);
		engine(s);
		_exit(0);
	}
	alarm(600);
	app(s);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	alarm(0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("\n  %lu round trips (%lu messages): engine slept %lu times, app %lu times, "
	       "%lu futex wakes of the engine; lost wake-ups: engine %lu, app %lu\n",
	       g_rounds, 2 * g_rounds, (unsigned long)s->eng_sleeps, (unsigned long)s->app_sleeps,
	       (unsigned long)s->ew.wakeups, (unsigned long)s->eng_lost,
	       (unsigned long)s->app_lost);
	CU_ASSERT_EQUAL(s->rep, g_rounds);
	CU_ASSERT_EQUAL(s->eng_lost, 0);
	CU_ASSERT_EQUAL(s->app_lost, 0);
	/* The race was run: the engine really fell asleep between requests. */
	CU_ASSERT(s->eng_sleeps > g_rounds / 10);
	munmap(s, sizeof(*s));
}

int main(int argc, char **argv)
{
	CU_pSuite su;
	unsigned fails;

	if (argc > 1)
		g_rounds = strtoul(argv[1], NULL, 10);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	su = CU_add_suite("wake", NULL, NULL);
	CU_add_test(su, "sleep/wake race, app <-> engine, no lost wake-up", test_race);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
