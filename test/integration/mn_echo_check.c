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
 *   mn_echo_check sendexit LOCAL_IP REMOTE_IP PORT COUNT SEED
 *       connects (--flows F), prints "connected", waits for SIGUSR1 (at
 *       most 60 s), sends COUNT seeded messages as fast as machnet_send()
 *       takes them and exits at once, without detaching: what the app
 *       queued must still reach the peer. With --close it then closes
 *       every flow (each close must return 0) and prints "closed" first.
 *   mn_echo_check refused LOCAL_IP REMOTE_IP PORT MAX_MS
 *       connects to a port nobody listens on: must fail with ECONNREFUSED
 *       within MAX_MS milliseconds.
 *   mn_echo_check waitdown
 *       attaches, prints "attached", then receives until a call fails; exits
 *       0 when that failure is ESHUTDOWN, printing how long it took after
 *       machnetd's pid stopped existing.
 *   mn_echo_check shutdown recv|send|connect [LOCAL_IP REMOTE_IP PORT]
 *       prints "ready" once in the named call (blocked receive, send loop on
 *       a flow to an echo server, connect to REMOTE_IP:PORT), which must
 *       fail with ESHUTDOWN within a second of machnetd ($MN_PRIMARY_PID)
 *       exiting; prints the delay it measured itself.
 *   mn_echo_check closer LOCAL_IP PORT
 *       listens, takes one message and closes (resets) its flow.
 *   mn_echo_check errors LOCAL_IP REMOTE_IP PORT DEAD_IP TIMEOUT_MS
 *       the documented errnos against live stacks: EMSGSIZE, EADDRNOTAVAIL,
 *       EADDRINUSE, ECONNREFUSED (PORT+1), ETIMEDOUT/EHOSTUNREACH toward
 *       DEAD_IP within TIMEOUT_MS (+ slack), and a reset by the closer at
 *       REMOTE_IP:PORT seen as MACHNET_EV_RESET, after which a send on the
 *       flow is reported as MACHNET_EV_SEND_FAILED.
 * Options after the positional arguments (server, client):
 *   --threads N    N threads, each with its own channel (machnet_attach);
 *                  thread t uses PORT+t and SEED+t; COUNT is per thread
 *   --flows F      (client) F flows per thread, message i on flow i % F;
 *                  each flow's echoes are checked in order on their own
 *   --max-size B   message sizes capped at B bytes (the extremes: 1 and B)
 *   --seconds S    (client) stop sending after S seconds, wait for the
 *                  echoes, exit 0; COUNT is then an upper bound
 *                  (SIGUSR1 does the same at once)
 *   --progress     (client) print "progress N" (echoes checked, all
 *                  threads) every 100 ms
 *   --close        (sendexit) machnet_close() every flow after sending
 *   --deadline S   (client) fail when not done after S (120) seconds
 *                  (plus --seconds)
 * Exit status 0 = every check passed; messages name the first failure.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machnet.h"
#include "mn_clock.h"
#include "mn_replyflow.h"

#define MAX_LEN MACHNET_MSG_MAX_LEN
#define DEADLINE_S 120.0	/* default of --deadline */
#define MAX_THREADS 16
#define MAX_FLOWS 16

/* Options (see the top). */
static struct {
	int threads, flows, progress, close;
	size_t max_size;
	double seconds, deadline;
} O = { 1, 1, 0, 0, MAX_LEN, 0, DEADLINE_S };

static _Atomic long g_checked;	/* echoes checked, all threads */
static _Atomic int g_failed;
static _Atomic int g_listening, g_running;
static volatile sig_atomic_t g_stop;	/* SIGUSR1: stop sending, drain, exit */

static void on_usr1(int sig)
{
	(void)sig;
	g_stop = 1;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Size of message i: 1 and the largest early on, about 1 in 300 large
 * (>= 1 MiB), 1 in 20 medium (up to 64 KiB), the rest 1 .. 2000 bytes; all
 * capped at --max-size (folded, so capped sizes still vary). */
static size_t msg_size(uint64_t seed, long i)
{
	uint64_t r = mix(seed * 1000003u + (uint64_t)i);
	size_t n;

	if (i == 3)
		return 1;
	if (i == 7)
		return O.max_size;
	if (r % 300 == 0)
		n = (1u << 20) + (size_t)(mix(r) % (MAX_LEN - (1u << 20) + 1));
	else if (r % 20 == 1)
		n = 1 + (size_t)(mix(r) % 65536);
	else
		n = 1 + (size_t)(mix(r) % 2000);
	return n > O.max_size ? 1 + (n - 1) % O.max_size : n;
}

static void fill(uint8_t *p, size_t len, uint64_t seed, long i)
{
	uint64_t x = mix(seed ^ ((uint64_t)i << 20));

	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)((x >> ((j & 7) << 3)) + (j >> 3));
}

static int same_flow(const MachnetFlow_t *a, const MachnetFlow_t *b)
{
	return a->src_ip == b->src_ip && a->dst_ip == b->dst_ip &&
	       a->src_port == b->src_port && a->dst_port == b->dst_port;
}

struct job {
	pthread_t tid;
	int t;
	const char *lip, *rip;
	uint16_t port;
	long count;
	uint64_t seed;
	long window;
	int rc;
};

static void *server_thread(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = malloc(MAX_LEN);
	double deadline = mn_now_s() + DEADLINE_S;
	void *ch;
	long n = 0;

	j->rc = 1;
	if (buf == NULL || (ch = machnet_attach()) == NULL) {
		fprintf(stderr, "server %d: attach: %s\n", j->t, machnet_strerror(errno));
		goto out;
	}
	if (machnet_listen(ch, j->lip, j->port) != 0) {
		fprintf(stderr, "server %d: listen %s:%u: %s\n", j->t, j->lip, j->port,
			machnet_strerror(errno));
		goto out;
	}
	atomic_fetch_add(&g_listening, 1);
	while (n < j->count && mn_now_s() < deadline && !atomic_load(&g_failed)) {
		MachnetFlow_t rx, tx;
		ssize_t len = machnet_recv(ch, buf, MAX_LEN, &rx);

		if (len < 0) {
			fprintf(stderr, "server %d: recv: %s\n", j->t, machnet_strerror(errno));
			goto out;
		}
		if (len == 0)
			continue;
		tx = mn_reply_flow(&rx);
		while (machnet_send(ch, tx, buf, (size_t)len) != 0) {
			if (errno != EAGAIN || mn_now_s() > deadline) {
				fprintf(stderr, "server %d: send %ld (%zd B): %s\n", j->t, n, len,
					machnet_strerror(errno));
				goto out;
			}
		}
		n++;
	}
	printf("server %d: echoed %ld\n", j->t, n);
	j->rc = n == j->count ? 0 : 1;
out:
	free(buf);
	if (j->rc)
		atomic_store(&g_failed, 1);
	atomic_fetch_sub(&g_running, 1);
	return NULL;
}

/* Per-flow bookkeeping of a client thread: flow k carries messages k, k+F,
 * k+2F, ... and must echo them in that order. */
static void *client_thread(void *arg)
{
	struct job *j = arg;
	uint8_t *out = malloc(MAX_LEN), *in = malloc(MAX_LEN), *want = malloc(MAX_LEN);
	double t0 = mn_now_s(), deadline = t0 + O.deadline + O.seconds;
	double stop = O.seconds > 0 ? t0 + O.seconds : 0;
	long sent = 0, got = 0, large = 0, count = j->count, next[MAX_FLOWS];
	uint64_t bytes = 0;
	MachnetFlow_t flow[MAX_FLOWS];
	int nf = O.flows, k;
	void *ch;

	j->rc = 1;
	if (!out || !in || !want || (ch = machnet_attach()) == NULL) {
		fprintf(stderr, "client %d: attach: %s\n", j->t, machnet_strerror(errno));
		goto out;
	}
	for (k = 0; k < nf; k++) {
		if (machnet_connect(ch, j->lip, j->rip, j->port, &flow[k]) != 0) {
			fprintf(stderr, "client %d: connect %d: %s\n", j->t, k,
				machnet_strerror(errno));
			goto out;
		}
		next[k] = k;
	}
	if (O.threads == 1 && nf == 1) {
		printf("connected\n");
		fflush(stdout);
	}
	while (got < count) {
		MachnetFlow_t from;
		ssize_t n;
		double t = mn_now_s();

		if (t > deadline || atomic_load(&g_failed)) {
			fprintf(stderr, "client %d: %s: sent %ld, got %ld\n", j->t,
				t > deadline ? "timeout" : "another thread failed", sent, got);
			goto out;
		}
		if (((stop && t >= stop) || g_stop) && count > sent)
			count = sent;	/* time is up: drain what is in flight */
		if (sent < count && sent - got < j->window) {
			size_t len = msg_size(j->seed, sent);

			fill(out, len, j->seed, sent);
			if (machnet_send(ch, flow[sent % nf], out, len) == 0) {
				sent++;
				bytes += len;
				large += len >= (1u << 20);
			} else if (errno != EAGAIN) {
				fprintf(stderr, "client %d: send %ld: %s\n", j->t, sent,
					machnet_strerror(errno));
				goto out;
			}
		}
		n = machnet_recv(ch, in, MAX_LEN, &from);
		if (n < 0) {
			fprintf(stderr, "client %d: recv: %s\n", j->t, machnet_strerror(errno));
			goto out;
		}
		if (n == 0)
			continue;
		/* Machnet's convention: a received flow names the sender as src. */
		for (k = 0; k < nf; k++) {
			MachnetFlow_t r = mn_reply_flow(&flow[k]);

			if (same_flow(&from, &r))
				break;
		}
		if (k == nf) {
			fprintf(stderr, "client %d: echo came on flow %08x:%u -> %08x:%u, not the "
				"reverse of one of ours\n", j->t, from.src_ip, from.src_port,
				from.dst_ip, from.dst_port);
			goto out;
		}
		if (next[k] >= sent) {
			fprintf(stderr, "client %d: echo on flow %d for message %ld, not sent yet\n",
				j->t, k, next[k]);
			goto out;
		}
		if ((size_t)n != msg_size(j->seed, next[k])) {
			fprintf(stderr, "client %d: echo %ld (flow %d) has %zd bytes, want %zu (out "
				"of order or lost?)\n", j->t, next[k], k, n,
				msg_size(j->seed, next[k]));
			goto out;
		}
		fill(want, (size_t)n, j->seed, next[k]);
		if (memcmp(in, want, (size_t)n) != 0) {
			size_t b = 0;

			while (in[b] == want[b])
				b++;
			fprintf(stderr, "client %d: echo %ld (%zd B) differs at byte %zu\n", j->t,
				next[k], n, b);
			goto out;
		}
		next[k] += nf;
		got++;
		atomic_fetch_add(&g_checked, 1);
	}
	printf("client %d: %ld messages on %d flow(s) (%ld of 1 MiB or more), %.1f MiB each "
	       "way, all intact and in order, %.2f s\n", j->t, got, nf, large,
	       (double)bytes / (1 << 20), mn_now_s() - t0);
	j->rc = 0;
out:
	free(out);
	free(in);
	free(want);
	if (j->rc)
		atomic_store(&g_failed, 1);
	atomic_fetch_sub(&g_running, 1);
	return NULL;
}

/* Runs fn on O.threads jobs (thread t: PORT+t, SEED+t). Servers: prints
 * "listening" once every thread listens. Clients with --progress: prints the
 * checked count every 100 ms. 0 when every thread passed. */
static int run_jobs(void *(*fn)(void *), struct job *proto)
{
	struct job jobs[MAX_THREADS];
	double until = mn_now_s() + DEADLINE_S;
	int t, rc = 0, started = 0;
	long last = -1;

	for (t = 0; t < O.threads; t++) {
		jobs[t] = *proto;
		jobs[t].t = t;
		jobs[t].port = (uint16_t)(proto->port + t);
		jobs[t].seed = proto->seed + (uint64_t)t;
		atomic_fetch_add(&g_running, 1);
		if (pthread_create(&jobs[t].tid, NULL, fn, &jobs[t]) != 0) {
			atomic_fetch_sub(&g_running, 1);
			fprintf(stderr, "pthread_create failed\n");
			atomic_store(&g_failed, 1);
			break;
		}
		started++;
	}
	while (fn == server_thread && atomic_load(&g_listening) < started &&
	       !atomic_load(&g_failed) && mn_now_s() < until) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	if (fn == server_thread && atomic_load(&g_listening) == started) {
		printf("listening\n");
		fflush(stdout);
	}
	while (O.progress && atomic_load(&g_running) > 0) {
		struct timespec ts = { 0, 100000000 };
		long c = atomic_load(&g_checked);

		if (c != last) {
			printf("progress %ld\n", c);
			fflush(stdout);
			last = c;
		}
		nanosleep(&ts, NULL);
	}
	for (t = 0; t < started; t++) {
		pthread_join(jobs[t].tid, NULL);
		rc |= jobs[t].rc;
	}
	if (O.progress)
		printf("progress %ld\n", atomic_load(&g_checked));
	return rc || started < O.threads;
}

static int sendexit(const char *lip, const char *rip, uint16_t port, long count,
		    uint64_t seed)
{
	uint8_t *out = malloc(MAX_LEN);
	MachnetFlow_t flow[MAX_FLOWS];
	double until;
	void *ch = machnet_attach();
	long i;
	int k;

	if (out == NULL || ch == NULL) {
		fprintf(stderr, "sendexit: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	for (k = 0; k < O.flows; k++) {
		if (machnet_connect(ch, lip, rip, port, &flow[k]) != 0) {
			fprintf(stderr, "sendexit: connect %d: %s\n", k, machnet_strerror(errno));
			return 1;
		}
	}
	printf("connected\n");
	fflush(stdout);
	until = mn_now_s() + 60;
	while (!g_stop && mn_now_s() < until) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	if (!g_stop) {
		fprintf(stderr, "sendexit: no SIGUSR1 within 60 s\n");
		return 1;
	}
	until = mn_now_s() + 30;
	for (i = 0; i < count; i++) {
		size_t len = msg_size(seed, i);

		fill(out, len, seed, i);
		while (machnet_send(ch, flow[i % O.flows], out, len) != 0) {
			if (errno != EAGAIN || mn_now_s() > until) {
				fprintf(stderr, "sendexit: send %ld: %s\n", i, machnet_strerror(errno));
				return 1;
			}
		}
	}
	printf("sendexit: sent %ld\n", count);
	fflush(stdout);
	/* Right behind the sends: the close must not overtake them. */
	for (k = 0; O.close && k < O.flows; k++) {
		if (machnet_close(ch, &flow[k]) != 0) {
			fprintf(stderr, "sendexit: close %d: %s\n", k, machnet_strerror(errno));
			return 1;
		}
	}
	if (O.close)
		printf("closed\n");
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
	t0 = mn_now_s();
	r = machnet_connect(ch, lip, rip, port, &flow);
	err = errno;
	ms = (mn_now_s() - t0) * 1e3;
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
	double deadline = mn_now_s() + DEADLINE_S, gone = 0;
	void *ch = machnet_attach();
	const char *pid_s = getenv("MN_PRIMARY_PID");
	int primary = pid_s ? atoi(pid_s) : 0;

	if (ch == NULL) {
		fprintf(stderr, "waitdown: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (mn_now_s() < deadline) {
		MachnetFlow_t f;
		ssize_t n = machnet_recv(ch, buf, sizeof(buf), &f);

		if (gone == 0 && primary > 0 && kill(primary, 0) != 0 && errno == ESRCH)
			gone = mn_now_s();
		if (n >= 0)
			continue;
		printf("waitdown: recv failed: %s, %.1f ms after machnetd's exit was seen\n",
		       machnet_strerror(errno), gone ? (mn_now_s() - gone) * 1e3 : 0.0);
		return errno == ESHUTDOWN ? 0 : 1;
	}
	fprintf(stderr, "waitdown: no failure within %.0f s\n", DEADLINE_S);
	return 1;
}

/* ---- shutdown: a call in progress when machnetd stops ---- */

static _Atomic double g_gone;	/* when machnetd's pid was first seen gone */

static void *watch_primary(void *arg)
{
	int pid = *(int *)arg;
	double until = mn_now_s() + DEADLINE_S;

	while (mn_now_s() < until) {
		struct timespec ts = { 0, 200000 };

		if (kill(pid, 0) != 0 && errno == ESRCH) {
			atomic_store(&g_gone, mn_now_s());
			return NULL;
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int shutdown_mode(const char *what, const char *lip, const char *rip, uint16_t port)
{
	static uint8_t buf[4096];
	const char *pid_s = getenv("MN_PRIMARY_PID");
	double deadline = mn_now_s() + DEADLINE_S, t_fail, gone;
	int primary = pid_s ? atoi(pid_s) : 0, err = 0, r;
	MachnetFlow_t flow, f;
	pthread_t tid;
	void *ch;

	memset(&flow, 0, sizeof(flow));
	if (primary <= 0) {
		fprintf(stderr, "shutdown: MN_PRIMARY_PID not set\n");
		return 2;
	}
	if ((ch = machnet_attach()) == NULL) {
		fprintf(stderr, "shutdown: attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	if (strcmp(what, "send") == 0) {
		long echoed = 0;

		if (lip == NULL || machnet_connect(ch, lip, rip, port, &flow) != 0) {
			fprintf(stderr, "shutdown: connect: %s\n", machnet_strerror(errno));
			return 1;
		}
		/* Ready once echoes come back: the flow is carrying data. */
		while (echoed < 16 && mn_now_s() < deadline) {
			if (machnet_send(ch, flow, buf, 1000) != 0 && errno != EAGAIN) {
				fprintf(stderr, "shutdown: send before stop: %s\n",
					machnet_strerror(errno));
				return 1;
			}
			r = (int)machnet_recv_timeout(ch, buf, sizeof(buf), &f, 100000);
			if (r > 0)
				echoed++;
			else if (r < 0 && errno != ETIMEDOUT)
				return 1;
		}
	}
	if (pthread_create(&tid, NULL, watch_primary, &primary) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (strcmp(what, "recv") == 0) {
		ssize_t n;

		do
			n = machnet_recv_timeout(ch, buf, sizeof(buf), &f, -1);
		while (n >= 0);
		err = errno;
	} else if (strcmp(what, "send") == 0) {
		/* Sends (and drains echoes) until a call fails otherwise than
		 * with backpressure. */
		for (;;) {
			if (machnet_send(ch, flow, buf, 1000) != 0 && errno != EAGAIN) {
				err = errno;
				break;
			}
			if (machnet_recv(ch, buf, sizeof(buf), &f) < 0) {
				err = errno;
				break;
			}
			if (mn_now_s() > deadline) {
				err = ETIME;
				break;
			}
		}
	} else if (strcmp(what, "connect") == 0) {
		if (lip == NULL || machnet_connect(ch, lip, rip, port, &flow) == 0) {
			fprintf(stderr, "shutdown: connect succeeded\n");
			return 1;
		}
		err = errno;
	} else {
		fprintf(stderr, "shutdown: unknown call %s\n", what);
		return 2;
	}
	t_fail = mn_now_s();
	/* The call may fail before the pid is gone: machnetd marks itself
	 * stopped first. Wait (bounded) for the exit to time it. */
	pthread_join(tid, NULL);
	gone = atomic_load(&g_gone);
	printf("shutdown %s: failed with %s (%s), %.1f ms after machnetd's exit was seen\n", what,
	       strerror(err), machnet_strerror(err), gone > 0 ? (t_fail - gone) * 1e3 : -1.0);
	if (err != ESHUTDOWN) {
		fprintf(stderr, "shutdown %s: errno %d, want ESHUTDOWN\n", what, err);
		return 1;
	}
	if (gone == 0 || t_fail - gone > 1.0) {
		fprintf(stderr, "shutdown %s: not within a second of machnetd's exit\n", what);
		return 1;
	}
	/* Every later call fails the same way, at once. */
	if (machnet_send(ch, flow, buf, 1) == 0 || errno != ESHUTDOWN ||
	    machnet_attach() != NULL || errno != ESHUTDOWN) {
		fprintf(stderr, "shutdown %s: a later call did not fail with ESHUTDOWN\n", what);
		return 1;
	}
	return 0;
}

/* ---- errors: the documented errnos ---- */

static int closer(const char *lip, uint16_t port)
{
	static uint8_t buf[4096];
	MachnetFlow_t rx, tx;
	void *ch = machnet_attach();
	ssize_t n;

	if (ch == NULL || machnet_listen(ch, lip, port) != 0) {
		fprintf(stderr, "closer: attach/listen: %s\n", machnet_strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	n = machnet_recv_timeout(ch, buf, sizeof(buf), &rx, (long)(DEADLINE_S * 1e6));
	if (n <= 0) {
		fprintf(stderr, "closer: recv: %s\n", machnet_strerror(errno));
		return 1;
	}
	tx = mn_reply_flow(&rx);
	if (machnet_close(ch, &tx) != 0) {
		fprintf(stderr, "closer: close: %s\n", machnet_strerror(errno));
		return 1;
	}
	/* A second close of the same flow: it is gone. */
	if (machnet_close(ch, &tx) == 0 || errno != ENOENT) {
		fprintf(stderr, "closer: second close: %s, want ENOENT\n",
			machnet_strerror(errno));
		return 1;
	}
	printf("closer: flow closed, second close ENOENT\n");
	return 0;
}

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "errors: " __VA_ARGS__); \
		fprintf(stderr, " (errno %d: %s)\n", errno, machnet_strerror(errno)); \
		return 1; \
	} \
} while (0)

/* Waits up to limit_s for an event of type on ch; other events are
 * reported and skipped. 1 found, 0 not. */
static int wait_ev(void *ch, uint32_t type, MachnetEvent_t *ev, double limit_s)
{
	double until = mn_now_s() + limit_s;

	while (mn_now_s() < until) {
		int r = machnet_poll_event(ch, ev);

		if (r < 0)
			return 0;
		if (r == 1 && ev->type == type)
			return 1;
		if (r == 1)
			printf("errors: (event %u error %d skipped)\n", ev->type, ev->error);
	}
	return 0;
}

static int errors(const char *lip, const char *rip, uint16_t port, const char *dead_ip,
		  double timeout_ms)
{
	void *a = machnet_attach(), *b = machnet_attach();
	uint8_t *big = calloc(1, MAX_LEN + 1);
	MachnetFlow_t flow, f;
	MachnetEvent_t ev;
	MachnetZcMsg_t zc;
	double t0, ms;
	int r, err;

	EXPECT(a && b && big, "attach two channels");
	memset(&flow, 0, sizeof(flow));
	/* Sizes. */
	errno = 0;
	EXPECT(machnet_send(a, flow, big, MAX_LEN + 1) == -1 && errno == EMSGSIZE,
	       "send of 8 MiB + 1 not EMSGSIZE");
	EXPECT(machnet_zc_alloc(a, MAX_LEN + 1, &zc) == -1 && errno == EMSGSIZE,
	       "zc_alloc of 8 MiB + 1 not EMSGSIZE");
	EXPECT(machnet_send(a, flow, big, 0) == -1 && errno == EINVAL, "send of 0 B not EINVAL");
	printf("errors: send 8 MiB + 1 -> EMSGSIZE, 0 B -> EINVAL\n");
	/* Listening. */
	EXPECT(machnet_listen(a, dead_ip, port) == -1 && errno == EADDRNOTAVAIL,
	       "listen on %s (not ours) not EADDRNOTAVAIL", dead_ip);
	EXPECT(machnet_listen(a, lip, (uint16_t)(port + 10)) == 0, "listen on %s:%u", lip,
	       port + 10);
	EXPECT(machnet_listen(b, lip, (uint16_t)(port + 10)) == -1 && errno == EADDRINUSE,
	       "second listen from another channel not EADDRINUSE");
	EXPECT(machnet_listen(a, lip, (uint16_t)(port + 10)) == -1 && errno == EADDRINUSE,
	       "second listen from the same channel not EADDRINUSE");
	EXPECT(machnet_listen(b, lip, (uint16_t)(port + 11)) == 0,
	       "listen on the next port after the refusals");
	printf("errors: listen on a foreign IP -> EADDRNOTAVAIL, twice -> EADDRINUSE\n");
	/* Connecting. */
	EXPECT(machnet_connect(a, dead_ip, rip, port, &f) == -1 && errno == EADDRNOTAVAIL,
	       "connect from %s (not ours) not EADDRNOTAVAIL", dead_ip);
	t0 = mn_now_s();
	r = machnet_connect(a, lip, rip, (uint16_t)(port + 1), &f);
	err = errno;
	ms = (mn_now_s() - t0) * 1e3;
	errno = err;
	EXPECT(r == -1 && err == ECONNREFUSED, "connect to a closed port not ECONNREFUSED");
	printf("errors: connect to a closed port -> ECONNREFUSED in %.2f ms\n", ms);
	t0 = mn_now_s();
	r = machnet_connect(a, lip, dead_ip, port, &f);
	err = errno;
	ms = (mn_now_s() - t0) * 1e3;
	errno = err;
	EXPECT(r == -1 && (err == ETIMEDOUT || err == EHOSTUNREACH),
	       "connect to %s (nobody answers ARP) not ETIMEDOUT/EHOSTUNREACH", dead_ip);
	/* machnetd gives up on ARP after its own retries (EHOSTUNREACH), which
	 * may come first; a handshake timeout must honour the configured one. */
	EXPECT(ms <= timeout_ms + 500 && (err != ETIMEDOUT || ms >= timeout_ms * 0.9),
	       "connect to %s failed after %.0f ms, connect timeout %.0f ms", dead_ip, ms,
	       timeout_ms);
	printf("errors: connect to %s -> %s after %.0f ms (timeout %.0f ms)\n", dead_ip,
	       strerror(err), ms, timeout_ms);
	/* Closing what does not exist. */
	memset(&f, 0, sizeof(f));
	EXPECT(machnet_close(a, &f) == -1 && errno == ENOENT, "close of no flow not ENOENT");
	/* Reset by the peer. */
	EXPECT(machnet_connect(a, lip, rip, port, &flow) == 0, "connect to the closer");
	EXPECT(machnet_send(a, flow, big, 100) == 0, "send to the closer");
	t0 = mn_now_s();
	EXPECT(wait_ev(a, MACHNET_EV_RESET, &ev, 5), "no MACHNET_EV_RESET within 5 s");
	ms = (mn_now_s() - t0) * 1e3;
	EXPECT(ev.error == ECONNRESET && same_flow(&ev.flow, &flow),
	       "reset event error %d (want ECONNRESET) or flow %08x:%u -> %08x:%u", ev.error,
	       ev.flow.src_ip, ev.flow.src_port, ev.flow.dst_ip, ev.flow.dst_port);
	printf("errors: peer closed the flow -> MACHNET_EV_RESET (ECONNRESET) after %.2f ms\n",
	       ms);
	/* The flow is gone: the send is queued (errors of a flow are events)
	 * and reported as failed. */
	EXPECT(machnet_send(a, flow, big, 100) == 0, "send after the reset");
	EXPECT(wait_ev(a, MACHNET_EV_SEND_FAILED, &ev, 5),
	       "no MACHNET_EV_SEND_FAILED for a send on the reset flow");
	EXPECT(ev.error == ENOTCONN && same_flow(&ev.flow, &flow),
	       "send-failed event error %d, want ENOTCONN", ev.error);
	EXPECT(machnet_close(a, &flow) == -1 && errno == ENOENT,
	       "close of the reset flow not ENOENT");
	printf("errors: send on the reset flow -> MACHNET_EV_SEND_FAILED (ENOTCONN), close -> "
	       "ENOENT\n");
	/* Detached channels are no channels. */
	EXPECT(machnet_detach(b) == 0, "detach");
	EXPECT(machnet_listen(b, lip, (uint16_t)(port + 12)) == -1 && errno == EBADF,
	       "listen on a detached channel not EBADF");
	EXPECT(machnet_listen(a, lip, (uint16_t)(port + 11)) == 0,
	       "the detached channel's port is free again");
	printf("errors: all as documented\n");
	free(big);
	return 0;
}

/* Reads the options after the positional arguments; -1 on a bad one. */
static int parse_opts(int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--close") == 0) {
			O.close = 1;
			continue;
		}
		if (strcmp(argv[i], "--progress") == 0) {
			O.progress = 1;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		if (strcmp(argv[i], "--threads") == 0)
			O.threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--flows") == 0)
			O.flows = atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-size") == 0)
			O.max_size = strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--seconds") == 0)
			O.seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--deadline") == 0)
			O.deadline = atof(argv[++i]);
		else
			return -1;
	}
	if (O.threads < 1 || O.threads > MAX_THREADS || O.flows < 1 || O.flows > MAX_FLOWS ||
	    O.max_size < 8 || O.max_size > MAX_LEN || O.seconds < 0 || O.deadline <= 0)
		return -1;
	return 0;
}

static int npos(int argc, char **argv)
{
	int n = 0;

	while (n < argc && strncmp(argv[n], "--", 2) != 0)
		n++;
	return n;
}

int main(int argc, char **argv)
{
	int np = npos(argc, argv);
	struct job j;

	memset(&j, 0, sizeof(j));
	if (np < 2 || parse_opts(argc, argv, np) < 0)
		goto usage;
	if (machnet_init() != 0) {
		fprintf(stderr, "mn_echo_check: machnet_init: %s\n", machnet_strerror(errno));
		return 1;
	}
	if (np == 5 && strcmp(argv[1], "server") == 0) {
		j.lip = argv[2];
		j.port = (uint16_t)atoi(argv[3]);
		j.count = atol(argv[4]);
		return run_jobs(server_thread, &j);
	}
	if ((np == 7 || np == 8) && strcmp(argv[1], "client") == 0) {
		j.lip = argv[2];
		j.rip = argv[3];
		j.port = (uint16_t)atoi(argv[4]);
		j.count = atol(argv[5]);
		j.seed = strtoull(argv[6], NULL, 0);
		j.window = np == 8 ? atol(argv[7]) : 8;
		signal(SIGUSR1, on_usr1);
		return run_jobs(client_thread, &j);
	}
	if (np == 7 && strcmp(argv[1], "sendexit") == 0) {
		signal(SIGUSR1, on_usr1);
		return sendexit(argv[2], argv[3], (uint16_t)atoi(argv[4]), atol(argv[5]),
				strtoull(argv[6], NULL, 0));
	}
	if (np == 6 && strcmp(argv[1], "refused") == 0)
		return refused(argv[2], argv[3], (uint16_t)atoi(argv[4]), atof(argv[5]));
	if (np == 2 && strcmp(argv[1], "waitdown") == 0)
		return waitdown();
	if ((np == 3 || np == 6) && strcmp(argv[1], "shutdown") == 0)
		return shutdown_mode(argv[2], np == 6 ? argv[3] : NULL, np == 6 ? argv[4] : NULL,
				     np == 6 ? (uint16_t)atoi(argv[5]) : 0);
	if (np == 4 && strcmp(argv[1], "closer") == 0)
		return closer(argv[2], (uint16_t)atoi(argv[3]));
	if (np == 7 && strcmp(argv[1], "errors") == 0)
		return errors(argv[2], argv[3], (uint16_t)atoi(argv[4]), argv[5], atof(argv[6]));
usage:
	fprintf(stderr, "usage: mn_echo_check server IP PORT N | client LIP RIP PORT N SEED "
		"[WINDOW] | sendexit LIP RIP PORT N SEED | refused LIP RIP PORT MAX_MS | waitdown | shutdown recv|send|connect "
		"[LIP RIP PORT] | closer IP PORT | errors LIP RIP PORT DEAD_IP TIMEOUT_MS "
		"[--threads N] [--flows F] [--max-size B] [--seconds S] [--progress] [--close] [--deadline S]\n");
	return 2;
}
