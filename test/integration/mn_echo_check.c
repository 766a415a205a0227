/* mn_echo_check: end-to-end checks of libmachnet over live machnetd
 * instances (the integration tests run it; $MACHNET_INSTANCE picks the
 * stack).
 *
 *   mn_echo_check server LOCAL_IP PORT COUNT
 *       echoes COUNT messages (any size up to 8 MiB) on the reverse of the
 *       flow each arrived on, then exits 0.
 *   mn_echo_check client LOCAL_IP REMOTE_IP PORT COUNT SEED [WINDOW]
 *       sends COUNT messages of seeded random sizes (1 B .. 8 MiB: mostly
 *       small, a few dozen large, the extremes included) and content, with up
 *       to WINDOW (8) in flight, and checks that every echo comes back in
 *       order, with the right size and bytes, on the flow it was sent on.
 *   mn_echo_check refused LOCAL_IP REMOTE_IP PORT MAX_MS
 *       connects to a port nobody listens on: must fail with ECONNREFUSED
 *       within MAX_MS milliseconds.
 *   mn_echo_check waitdown
 *       attaches, prints "attached", then receives until a call fails; exits
 *       0 when that failure is ESHUTDOWN, printing how long it took after
 *       machnetd's pid stopped existing.
 * Exit status 0 = every check passed; messages name the first failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machnet.h"

#define MAX_LEN MACHNET_MSG_MAX_LEN
#define DEADLINE_S 120.0

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Size of message i: 1 and 8 MiB early on, about 1 in 300 large (>= 1 MiB),
 * 1 in 20 medium (up to 64 KiB), the rest 1 .. 2000 bytes. */
static size_t msg_size(uint64_t seed, long i)
{
	uint64_t r = mix(seed * 1000003u + (uint64_t)i);

	if (i == 3)
		return 1;
	if (i == 7)
		return MAX_LEN;
	if (r % 300 == 0)
		return (1u << 20) + (size_t)(mix(r) % (MAX_LEN - (1u << 20) + 1));
	if (r % 20 == 1)
		return 1 + (size_t)(mix(r) % 65536);
	return 1 + (size_t)(mix(r) % 2000);
}

static void fill(uint8_t *p, size_t len, uint64_t seed, long i)
{
	uint64_t x = mix(seed ^ ((uint64_t)i << 20));

	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)((x >> ((j & 7) << 3)) + (j >> 3));
}

static int server(const char *ip, uint16_t port, long count)
{
	uint8_t *buf = malloc(MAX_LEN);
	double deadline = now_s() + DEADLINE_S;
	void *ch;
	long n = 0;

	if (buf == NULL || (ch = machnet_attach()) == NULL) {
		fprintf(stderr, "server: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	if (machnet_listen(ch, ip, port) != 0) {
		fprintf(stderr, "server: listen %s:%u: %s\n", ip, port, machnet_strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	while (n < count && now_s() < deadline) {
		MachnetFlow_t rx, tx;
		ssize_t len = machnet_recv(ch, buf, MAX_LEN, &rx);

		if (len < 0) {
			fprintf(stderr, "server: recv: %s\n", machnet_strerror(errno));
			return 1;
		}
		if (len == 0)
			continue;
		tx.src_ip = rx.dst_ip;
		tx.dst_ip = rx.src_ip;
		tx.src_port = rx.dst_port;
		tx.dst_port = rx.src_port;
		while (machnet_send(ch, tx, buf, (size_t)len) != 0) {
			if (errno != EAGAIN || now_s() > deadline) {
				fprintf(stderr, "server: send %ld (%zd B): %s\n", n, len,
					machnet_strerror(errno));
				return 1;
			}
		}
		n++;
	}
	printf("server: echoed %ld\n", n);
	return n == count ? 0 : 1;
}

static int client(const char *lip, const char *rip, uint16_t port, long count, uint64_t seed,
		  long window)
{
	uint8_t *out = malloc(MAX_LEN), *in = malloc(MAX_LEN), *want = malloc(MAX_LEN);
	double t0 = now_s(), deadline = t0 + DEADLINE_S;
	long sent = 0, got = 0, large = 0;
	uint64_t bytes = 0;
	MachnetFlow_t flow;
	void *ch;

	if (!out || !in || !want || (ch = machnet_attach()) == NULL) {
		fprintf(stderr, "client: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	if (machnet_connect(ch, lip, rip, port, &flow) != 0) {
		fprintf(stderr, "client: connect: %s\n", machnet_strerror(errno));
		return 1;
	}
	while (got < count) {
		MachnetFlow_t from;
		ssize_t n;

		if (now_s() > deadline) {
			fprintf(stderr, "client: timeout: sent %ld, got %ld\n", sent, got);
			return 1;
		}
		if (sent < count && sent - got < window) {
			size_t len = msg_size(seed, sent);

			fill(out, len, seed, sent);
			if (machnet_send(ch, flow, out, len) == 0) {
				sent++;
				bytes += len;
				large += len >= (1u << 20);
			} else if (errno != EAGAIN) {
				fprintf(stderr, "client: send %ld: %s\n", sent, machnet_strerror(errno));
				return 1;
			}
		}
		n = machnet_recv(ch, in, MAX_LEN, &from);
		if (n < 0) {
			fprintf(stderr, "client: recv: %s\n", machnet_strerror(errno));
			return 1;
		}
		if (n == 0)
			continue;
		if ((size_t)n != msg_size(seed, got)) {
			fprintf(stderr, "client: echo %ld has %zd bytes, want %zu (out of order or "
				"lost?)\n", got, n, msg_size(seed, got));
			return 1;
		}
		fill(want, (size_t)n, seed, got);
		if (memcmp(in, want, (size_t)n) != 0) {
			size_t j = 0;

			while (in[j] == want[j])
				j++;
			fprintf(stderr, "client: echo %ld (%zd B) differs at byte %zu\n", got, n, j);
			return 1;
		}
		/* Machnet's convention: a received flow names the sender as src. */
		if (from.src_ip != flow.dst_ip || from.dst_ip != flow.src_ip ||
		    from.src_port != flow.dst_port || from.dst_port != flow.src_port) {
			fprintf(stderr, "client: echo %ld came on flow %08x:%u -> %08x:%u, not the "
				"reverse of %08x:%u -> %08x:%u\n", got, from.src_ip, from.src_port,
				from.dst_ip, from.dst_port, flow.src_ip, flow.src_port, flow.dst_ip,
				flow.dst_port);
			return 1;
		}
		got++;
	}
	printf("client: %ld messages (%ld of 1 MiB or more), %.1f MiB each way, all intact and "
	       "in order, %.2f s\n", got, large, (double)bytes / (1 << 20), now_s() - t0);
	return 0;
}

static int refused(const char *lip, const char *rip, uint16_t port, double max_ms)
{
	MachnetFlow_t flow;
	double t0, ms;
	void *ch = machnet_attach();
	int r, err;

	if (ch == NULL) {
		fprintf(stderr, "refused: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	t0 = now_s();
	r = machnet_connect(ch, lip, rip, port, &flow);
	err = errno;
	ms = (now_s() - t0) * 1e3;
	if (r == 0) {
		fprintf(stderr, "refused: connect to %s:%u succeeded; nobody should listen there\n",
			rip, port);
		return 1;
	}
	printf("refused: connect %s -> %s:%u failed after %.2f ms: %s (%s)\n", lip, rip, port, ms,
	       strerror(err), machnet_strerror(err));
	if (err != ECONNREFUSED) {
		fprintf(stderr, "refused: errno %d, want ECONNREFUSED\n", err);
		return 1;
	}
	if (ms > max_ms) {
		fprintf(stderr, "refused: took %.2f ms, limit %.0f ms\n", ms, max_ms);
		return 1;
	}
	return 0;
}

static int waitdown(void)
{
	static uint8_t buf[2048];
	double deadline = now_s() + DEADLINE_S, gone = 0;
	void *ch = machnet_attach();
	const char *pid_s = getenv("MN_PRIMARY_PID");
	int primary = pid_s ? atoi(pid_s) : 0;

	if (ch == NULL) {
		fprintf(stderr, "waitdown: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (now_s() < deadline) {
		MachnetFlow_t f;
		ssize_t n = machnet_recv(ch, buf, sizeof(buf), &f);

		if (gone == 0 && primary > 0 && kill(primary, 0) != 0 && errno == ESRCH)
			gone = now_s();
		if (n >= 0)
			continue;
		printf("waitdown: recv failed: %s, %.1f ms after machnetd's exit was seen\n",
		       machnet_strerror(errno), gone ? (now_s() - gone) * 1e3 : 0.0);
		return errno == ESHUTDOWN ? 0 : 1;
	}
	fprintf(stderr, "waitdown: no failure within %.0f s\n", DEADLINE_S);
	return 1;
}

int main(int argc, char **argv)
{
	if (machnet_init() != 0) {
		fprintf(stderr, "mn_echo_check: machnet_init: %s\n", machnet_strerror(errno));
		return 1;
	}
	if (argc == 5 && strcmp(argv[1], "server") == 0)
		return server(argv[2], (uint16_t)atoi(argv[3]), atol(argv[4]));
	if ((argc == 7 || argc == 8) && strcmp(argv[1], "client") == 0)
		return client(argv[2], argv[3], (uint16_t)atoi(argv[4]), atol(argv[5]),
			      strtoull(argv[6], NULL, 0), argc == 8 ? atol(argv[7]) : 8);
	if (argc == 6 && strcmp(argv[1], "refused") == 0)
		return refused(argv[2], argv[3], (uint16_t)atoi(argv[4]), atof(argv[5]));
	if (argc == 2 && strcmp(argv[1], "waitdown") == 0)
		return waitdown();
	fprintf(stderr, "usage: mn_echo_check server IP PORT N | client LIP RIP PORT N SEED "
		"[WINDOW] | refused LIP RIP PORT MAX_MS | waitdown\n");
	return 2;
}
