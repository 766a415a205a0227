/* mn_quiesce: see mn_quiesce.h. */
#include "mn_quiesce.h"

#include <dlfcn.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct mn_quiesce g_q[MN_QUIESCE_MAX];
static struct mn_quiesce g_unwatched;
static _Atomic unsigned g_n;
static _Thread_local int t_engine;

struct mn_quiesce *mn_quiesce_register(void)
{
	unsigned i = atomic_fetch_add(&g_n, 1);

	t_engine = 1;
	return i < MN_QUIESCE_MAX ? &g_q[i] : &g_unwatched;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned mn_quiesce_wait(void)
{
	unsigned n = atomic_load(&g_n), waited = 0;
	uint64_t deadline = 0;

	if (n > MN_QUIESCE_MAX)
		n = MN_QUIESCE_MAX;
	/* Pairs with the fence in mn_quiesce_enter: either the engine sees
	 * what this thread wrote before (the PMD's cleared flag), or this
	 * thread sees the engine inside and waits for it. */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < n; i++) {
		struct mn_quiesce *q = &g_q[i];
		uint64_t s = atomic_load_explicit(&q->seq, memory_order_acquire);

		if (!(s & 1))
			continue;
		waited++;
		if (deadline == 0)
			deadline = mono_ns() + MN_QUIESCE_WAIT_NS;
		while (atomic_load_explicit(&q->seq, memory_order_acquire) == s && mono_ns() < deadline)
			sched_yield();
	}
	return waited;
}

/* machnetd's own munmap(), found first by the PMDs that EAL dlopen()s (the
 * executable exports it: primary/machnetd.dynlist). */
int munmap(void *addr, size_t len)
{
	static int (*_Atomic real)(void *, size_t);
	int (*fn)(void *, size_t) = atomic_load_explicit(&real, memory_order_acquire);

	if (!t_engine && atomic_load_explicit(&g_n, memory_order_relaxed) != 0)
		mn_quiesce_wait();
	if (fn == NULL) {
		/* The next definition (a sanitizer's interceptor or libc's). */
		fn = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
		if (fn != NULL)
			atomic_store_explicit(&real, fn, memory_order_release);
	}
	if (fn != NULL)
		return fn(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}
