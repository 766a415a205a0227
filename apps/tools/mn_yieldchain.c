/* mn-yieldchain: the scheduling floor of a request-reply round trip between
 * two stacks and two apps that share two CPUs by yielding.
 *
 * A msg_gen round trip at window 1 passes through six hand-overs between
 * four processes: client -> stack B -> stack A -> server -> stack A ->
 * stack B -> client. With four threads on two CPUs, every hand-over waits
 * for the receiving thread to get its CPU: either the sender yields it (same
 * CPU) or the receiver's CPU passes from its other thread to it (the other
 * CPU). This tool forks four processes pinned like the benchmark's (default
 * client and server on CPU 0, both "stacks" on CPU 1), idling exactly like
 * machnetd's engines and msg_gen (sched_yield() after the first empty poll),
 * and passes a token along the same path, optionally copying --copy bytes
 * at every hop so the payload crosses the CPUs as a message's does, and
 * with --spin-us the two "stacks" keep polling that long after each hop
 * they made, like machnetd's engine.spin_us. No DPDK,
 * no protocol: what it measures is what the topology and the idle policy
 * cost before any stack does any work, and no stack in that topology can
 * make a round trip for less.
 *
 * Usage: mn-yieldchain [--cpus C,B,A,S] [--copy BYTES] [--spin-us US]
 *                      [--duration S] [--warmup S] [--busy] [--json FILE]
 * Prints one line: rtts, P50/P99/P99.9/P99.99/max in us and round trips/s.
 * Exit: 0 on a result, 1 on bad usage, failure to pin or fork, or when the
 * chain stalls for a second (a process lost its CPU for good).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mn_cpu.h"
#include "mn_hist.h"

#define YC_ROLES	4		/* client, stack B, stack A, server */
#define YC_HOPS		6		/* token phases per round trip */
#define YC_MAX_COPY	65536
#define YC_STALL_NS	1000000000ull	/* a round trip this late ends the run */

/* Who acts on phase p: request B -> A -> server, reply A -> B -> client
 * (phase 5: the client sees its reply). */
static const int yc_owner[YC_HOPS] = { 1, 2, 3, 2, 1, 0 };
static const char *const yc_role[YC_ROLES] = { "client", "stack-b", "stack-a", "server" };

struct yc_shared {
	_Alignas(128) _Atomic uint64_t token;
	_Alignas(128) _Atomic int stop;
	_Alignas(128) uint8_t buf[YC_HOPS][YC_MAX_COPY];
};

static struct {
	int cpu[YC_ROLES];
	size_t copy;
	double duration, warmup;
	int busy;
	const char *json;
	uint64_t spin_ns;		/* stacks only */
} O = { { 0, 1, 1, 0 }, 0, 3.0, 0.5, 0, NULL, 0 };

/* The idle policy of machnetd's engines and msg_gen on a shared core. */
static inline void idle(void)
{
	if (!O.busy)
		sched_yield();
}

/* A copy per hop, from the previous hop's buffer: the payload moves
 * between the CPUs as a message's does. */
static inline void hop_copy(struct yc_shared *sh, unsigned phase)
{
	if (O.copy)
		memcpy(sh->buf[phase], sh->buf[(phase + YC_HOPS - 1) % YC_HOPS], O.copy);
}

static void run_role(struct yc_shared *sh, int role, uint64_t deadline)
{
	/* The stacks (roles 1 and 2) spin after their hops like the engines. */
	uint64_t spin = role == 1 || role == 2 ? O.spin_ns : 0, busy_until = 0;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint64_t t = atomic_load_explicit(&sh->token, memory_order_acquire);
		unsigned ph = (unsigned)(t % YC_HOPS);

		if (ph != YC_HOPS - 1 && yc_owner[ph] == role) {
			hop_copy(sh, ph);
			atomic_store_explicit(&sh->token, t + 1, memory_order_release);
			if (spin)
				busy_until = mn_now_ns() + spin;
			continue;
		}
		if (busy_until && mn_now_ns() < busy_until)
			continue;
		busy_until = 0;
		idle();
		/* Bounded even if the client died without telling. */
		if ((t & 0xff) == 0 && mn_now_ns() > deadline)
			break;
	}
}

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: mn-yieldchain [--cpus C,B,A,S] [--copy BYTES] [--spin-us US] [--duration S]\n"
		"                     [--warmup S] [--busy] [--json FILE]\n"
		"  --cpus C,B,A,S   CPUs of client, stack B, stack A, server (default 0,1,1,0:\n"
		"                   scripts/bench.sh's layout)\n"
		"  --copy BYTES     bytes copied at every hand-over (default 0, at most %d)\n"
		"  --spin-us US     the stacks poll this long after each hop before idling\n"
		"                   (machnetd's engine.spin_us; default 0, at most 1000)\n"
		"  --duration S     measured seconds (default 3)\n"
		"  --warmup S       seconds before measuring (default 0.5)\n"
		"  --busy           spin instead of yielding when idle\n"
		"  --json FILE      also write the result as JSON\n",
		YC_MAX_COPY);
	return rc;
}

static int parse_cpus(const char *s)
{
	int n = sscanf(s, "%d,%d,%d,%d", &O.cpu[0], &O.cpu[1], &O.cpu[2], &O.cpu[3]);

	if (n != YC_ROLES)
		return -1;
	for (int i = 0; i < YC_ROLES; i++)
		if (O.cpu[i] < 0 || O.cpu[i] >= CPU_SETSIZE)
			return -1;
	return 0;
}

static int parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			exit(usage(stdout, 0));
		if (!strcmp(a, "--busy")) {
			O.busy = 1;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		const char *v = argv[++i];

		errno = 0;
		if (!strcmp(a, "--cpus")) {
			if (parse_cpus(v))
				return -1;
		} else if (!strcmp(a, "--copy")) {
			unsigned long c = strtoul(v, &end, 10);

			if (errno || *end || c > YC_MAX_COPY)
				return -1;
			O.copy = c;
		} else if (!strcmp(a, "--spin-us")) {
			unsigned long us = strtoul(v, &end, 10);

			if (errno || *end || !*v || us > 1000)
				return -1;
			O.spin_ns = us * 1000;
		} else if (!strcmp(a, "--duration") || !strcmp(a, "--warmup")) {
			double d = strtod(v, &end);

			if (errno || *end || !(d >= 0 && d <= 3600))
				return -1;
			if (a[2] == 'd')
				O.duration = d;
			else
				O.warmup = d;
		} else if (!strcmp(a, "--json")) {
			O.json = v;
		} else {
			return -1;
		}
	}
	return O.duration > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct mn_hist hist;
	struct yc_shared *sh;
	pid_t pid[YC_ROLES] = { 0 };
	uint64_t start, t_measure, t_end, deadline, rtts = 0, i;
	int rc = 0, stalled = 0;

	if (parse(argc, argv))
		return usage(stderr, 1);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mn-yieldchain: mmap");
		return 1;
	}
	memset(sh->buf[YC_HOPS - 1], 0x5a, sizeof(sh->buf[0]));
	/* Phase 5 belongs to the client: nobody moves until it starts. */
	atomic_store(&sh->token, YC_HOPS - 1);
	start = mn_now_ns();
	t_measure = start + (uint64_t)(O.warmup * 1e9);
	t_end = t_measure + (uint64_t)(O.duration * 1e9);
	deadline = t_end + 2 * YC_STALL_NS;

	for (int r = 1; r < YC_ROLES; r++) {
		pid[r] = fork();
		if (pid[r] < 0) {
			perror("mn-yieldchain: fork");
			rc = 1;
			goto out;
		}
		if (pid[r] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (mn_pin_cpu(O.cpu[r]) != 0)
				_exit(2);
			run_role(sh, r, deadline);
			_exit(0);
		}
	}
	if (mn_pin_cpu(O.cpu[0]) != 0) {
		fprintf(stderr, "mn-yieldchain: cannot pin to CPU %d: %s\n", O.cpu[0], strerror(errno));
		rc = 1;
		goto out;
	}
	mn_hist_reset(&hist);
	for (i = 1;; i++) {
		uint64_t t0 = mn_now_ns(), t1, want = i * YC_HOPS + YC_HOPS - 1;

		hop_copy(sh, YC_HOPS - 1);
		atomic_store_explicit(&sh->token, i * YC_HOPS, memory_order_release);
		while (atomic_load_explicit(&sh->token, memory_order_acquire) != want) {
			idle();
			if (mn_now_ns() - t0 > YC_STALL_NS) {
				stalled = 1;
				break;
			}
		}
		t1 = mn_now_ns();
		if (stalled || t1 >= t_end)
			break;
		if (t0 >= t_measure) {
			mn_hist_add(&hist, t1 - t0);
			rtts++;
		}
	}
out:
	atomic_store(&sh->stop, 1);
	for (int r = 1; r < YC_ROLES; r++) {
		int st;

		if (pid[r] <= 0)
			continue;
		if (waitpid(pid[r], &st, 0) == pid[r] && WIFEXITED(st) && WEXITSTATUS(st) == 2) {
			fprintf(stderr, "mn-yieldchain: %s cannot be pinned to CPU %d\n", yc_role[r],
				O.cpu[r]);
			rc = 1;
		}
	}
	if (rc)
		return rc;
	if (stalled) {
		fprintf(stderr, "mn-yieldchain: a round trip took over 1 s: a process lost its CPU\n");
		return 1;
	}

	double us[5] = { mn_hist_percentile(&hist, 50) / 1e3, mn_hist_percentile(&hist, 99) / 1e3,
			 mn_hist_percentile(&hist, 99.9) / 1e3, mn_hist_percentile(&hist, 99.99) / 1e3,
			 (double)hist.max / 1e3 };
	double rate = (double)rtts / O.duration;
	char line[512];

	snprintf(line, sizeof(line),
		 "yieldchain cpus=%d,%d,%d,%d copy=%zu idle=%s spin_us=%llu rtts=%llu p50_us=%.2f p99_us=%.2f "
		 "p999_us=%.2f p9999_us=%.2f max_us=%.2f rtt_per_s=%.0f",
		 O.cpu[0], O.cpu[1], O.cpu[2], O.cpu[3], O.copy, O.busy ? "busy" : "yield",
		 (unsigned long long)(O.spin_ns / 1000), (unsigned long long)rtts, us[0], us[1], us[2], us[3], us[4], rate);
	printf("%s\n", line);
	if (O.json) {
		FILE *f = fopen(O.json, "w");

		if (f == NULL) {
			fprintf(stderr, "mn-yieldchain: cannot write %s: %s\n", O.json, strerror(errno));
			return 1;
		}
		fprintf(f,
			"{\"tool\":\"mn-yieldchain\",\"cpus\":[%d,%d,%d,%d],\"copy\":%zu,\"idle\":\"%s\","
			"\"spin_us\":%llu,"
			"\"hops\":%d,\"rtts\":%llu,\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,"
			"\"p9999_us\":%.3f,\"max_us\":%.3f,\"rtt_per_s\":%.0f}\n",
			O.cpu[0], O.cpu[1], O.cpu[2], O.cpu[3], O.copy, O.busy ? "busy" : "yield",
			(unsigned long long)(O.spin_ns / 1000), YC_HOPS, (unsigned long long)rtts, us[0], us[1], us[2], us[3], us[4], rate);
		fclose(f);
	}
	return 0;
}
