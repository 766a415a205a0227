/* mn-hiccup: how often, and for how long, each CPU is taken from a thread
 * that never gives it up.
 *
 * On each CPU given, one process pinned there reads the clock in a tight
 * loop; a gap between two readings of --threshold-us or more is a stall
 * (a timer tick, another interrupt, the hypervisor running something else).
 * The first CPU's loop runs in this process, the others in children. On
 * this project's VM the 250 Hz tick alone costs 10-20 us per CPU, which is
 * what a request-reply round trip's P99.9 carries (docs/PERFORMANCE.md);
 * scripts/bench.sh records it in every repetition.
 *
 * Usage: mn-hiccup [--cpus LIST] [--duration S] [--threshold-us N] [--json FILE]
 * Prints "measuring" on stderr when the loops start, then one line per CPU:
 * stalls per second, stalls per bucket (5-10, 10-20, 20-50, 50-100,
 * 100-1000, >= 1000 us; the lowest bucket starts at the threshold), the
 * longest, and the share of the time lost. Exit: 0, or 1 on bad usage or
 * when a CPU cannot be used.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
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

#define HC_MAX_CPUS	64
#define HC_BUCKETS	6

/* Upper bounds (us, exclusive) of the buckets; the last is open. */
static const uint64_t hc_edge_us[HC_BUCKETS - 1] = { 10, 20, 50, 100, 1000 };
static const char *const hc_name[HC_BUCKETS] = { "lt10", "10_20", "20_50", "50_100", "100_1000",
						  "ge1000" };

struct hc_result {
	int ok;			/* 1: measured; -1: could not pin */
	uint64_t stalls;
	uint64_t bucket[HC_BUCKETS];
	uint64_t max_ns;
	uint64_t lost_ns;
	uint64_t span_ns;
};

static struct {
	int cpu[HC_MAX_CPUS];
	int ncpu;
	double duration;
	uint64_t threshold_ns;
	const char *json;
} O = { { 0 }, 0, 1.0, 5000, NULL };

static void measure(struct hc_result *r, int cpu)
{
	uint64_t start, prev, end;

	if (mn_pin_cpu(cpu) != 0) {
		r->ok = -1;
		return;
	}
	start = prev = mn_now_ns();
	end = start + (uint64_t)(O.duration * 1e9);
	while (prev < end) {
		uint64_t t = mn_now_ns(), gap = t - prev;

		prev = t;
		if (gap < O.threshold_ns)
			continue;
		unsigned b = 0;

		while (b < HC_BUCKETS - 1 && gap >= hc_edge_us[b] * 1000)
			b++;
		r->bucket[b]++;
		r->stalls++;
		r->lost_ns += gap;
		if (gap > r->max_ns)
			r->max_ns = gap;
	}
	r->span_ns = prev - start;
	r->ok = 1;
}

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: mn-hiccup [--cpus LIST] [--duration S] [--threshold-us N] [--json FILE]\n"
		"  --cpus LIST       comma-separated CPUs, one pinned clock-reading loop each\n"
		"                    (default: 0)\n"
		"  --duration S      seconds to measure (default 1, at most 3600)\n"
		"  --threshold-us N  the shortest gap counted as a stall (default 5, 1..9)\n"
		"  --json FILE       also write the result as JSON\n");
	return rc;
}

static int parse_cpus(const char *s)
{
	char *end;

	O.ncpu = 0;
	for (;;) {
		long c;

		errno = 0;
		c = strtol(s, &end, 10);
		if (errno || end == s || c < 0 || c >= CPU_SETSIZE || O.ncpu == HC_MAX_CPUS)
			return -1;
		O.cpu[O.ncpu++] = (int)c;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

static int parse(int argc, char **argv)
{
	O.ncpu = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		char *end;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			exit(usage(stdout, 0));
		if (i + 1 >= argc)
			return -1;
		v = argv[++i];
		errno = 0;
		if (!strcmp(a, "--cpus")) {
			if (parse_cpus(v))
				return -1;
		} else if (!strcmp(a, "--duration")) {
			double d = strtod(v, &end);

			if (errno || *end || end == v || !(d > 0 && d <= 3600))
				return -1;
			O.duration = d;
		} else if (!strcmp(a, "--threshold-us")) {
			unsigned long t = strtoul(v, &end, 10);

			/* Below the first bucket edge (10 us), or it would skip it. */
			if (errno || *end || end == v || t < 1 || t > 9)
				return -1;
			O.threshold_ns = t * 1000;
		} else if (!strcmp(a, "--json")) {
			O.json = v;
		} else {
			return -1;
		}
	}
	return 0;
}

static void print_one(FILE *f, const struct hc_result *r, int cpu, int json)
{
	double secs = (double)r->span_ns / 1e9, rate = secs > 0 ? (double)r->stalls / secs : 0;
	double lost = r->span_ns ? 100.0 * (double)r->lost_ns / (double)r->span_ns : 0;

	if (json) {
		fprintf(f, "{\"cpu\":%d,\"seconds\":%.3f,\"stalls\":%llu,\"stalls_per_s\":%.1f,"
			"\"max_us\":%.1f,\"lost_pct\":%.3f,\"buckets_us\":{", cpu, secs,
			(unsigned long long)r->stalls, rate, (double)r->max_ns / 1e3, lost);
		for (unsigned b = 0; b < HC_BUCKETS; b++)
			fprintf(f, "%s\"%s\":%llu", b ? "," : "", hc_name[b],
				(unsigned long long)r->bucket[b]);
		fprintf(f, "}}");
		return;
	}
	fprintf(f, "hiccup cpu=%d seconds=%.2f stalls=%llu stalls_per_s=%.0f", cpu, secs,
		(unsigned long long)r->stalls, rate);
	for (unsigned b = 0; b < HC_BUCKETS; b++)
		fprintf(f, " us_%s=%llu", hc_name[b], (unsigned long long)r->bucket[b]);
	fprintf(f, " max_us=%.1f lost_pct=%.3f\n", (double)r->max_ns / 1e3, lost);
}

int main(int argc, char **argv)
{
	struct hc_result *res;
	pid_t pid[HC_MAX_CPUS] = { 0 };
	int rc = 0;

	if (parse(argc, argv))
		return usage(stderr, 1);
	res = mmap(NULL, sizeof(*res) * HC_MAX_CPUS, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("mn-hiccup: mmap");
		return 1;
	}
	memset(res, 0, sizeof(*res) * HC_MAX_CPUS);
	fprintf(stderr, "measuring\n");
	for (int i = 1; i < O.ncpu; i++) {
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("mn-hiccup: fork");
			rc = 1;
			break;
		}
		if (pid[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			measure(&res[i], O.cpu[i]);
			_exit(0);
		}
	}
	if (rc == 0)
		measure(&res[0], O.cpu[0]);
	for (int i = 1; i < O.ncpu; i++)
		if (pid[i] > 0)
			waitpid(pid[i], NULL, 0);
	for (int i = 0; i < O.ncpu; i++)
		if (res[i].ok != 1) {
			fprintf(stderr, "mn-hiccup: cannot run on CPU %d\n", O.cpu[i]);
			rc = 1;
		}
	if (rc)
		return rc;
	for (int i = 0; i < O.ncpu; i++)
		print_one(stdout, &res[i], O.cpu[i], 0);
	if (O.json) {
		FILE *f = fopen(O.json, "w");

		if (!f) {
			fprintf(stderr, "mn-hiccup: cannot write %s: %s\n", O.json, strerror(errno));
			return 1;
		}
		fprintf(f, "{\"tool\":\"mn-hiccup\",\"threshold_us\":%.0f,\"cpus\":[",
			(double)O.threshold_ns / 1e3);
		for (int i = 0; i < O.ncpu; i++) {
			if (i)
				fprintf(f, ",");
			print_one(f, &res[i], O.cpu[i], 1);
		}
		fprintf(f, "]}\n");
		fclose(f);
	}
	return 0;
}
