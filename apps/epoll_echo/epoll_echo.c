/* epoll_echo: a machnet-mp server (and client) that lives in an event loop.
 *
 * One thread, one channel, any number of flows, and no CPU while nothing
 * happens: the channel's descriptor (machnet_channel_fd()) sits in an epoll
 * set beside the program's other descriptors (here a signalfd), and the
 * thread blocks in epoll_wait() until machnetd delivers something.
 *
 *   server:  MACHNET_INSTANCE=mn-a epoll_echo --local 198.18.0.1
 *   client:  MACHNET_INSTANCE=mn-b epoll_echo --local 198.18.0.2 --remote 198.18.0.1 \
 *                --flows 1000 --rounds 10
 *
 * The server echoes every message on its flow. The client opens --flows
 * flows, optionally stays idle --idle-ms (connected, asleep in epoll_wait),
 * then runs --rounds rounds: one message on every flow at once, all replies
 * awaited (each checked), --gap-us (or a random 0..--random-gap-us) apart.
 * It prints the round-trip times (the first one, after the idle time, on
 * its own) and exits 0 when every request was answered. Every reply is
 * checked whole: its bytes are a pattern of (round, flow), so a reply that
 * comes back cut, altered or on another flow counts as unexpected. With
 * --hold the client then keeps its flows open until SIGUSR1 (so that a
 * test can look at the stacks with every flow open); with --close it
 * closes every flow (machnet_close) before it detaches.
 *
 * --churn N makes the client a connection-rate test instead (churn.c): N
 * flows one after the other, each connected, used for one checked
 * request-reply and closed, --churn-par of them at once (one thread and
 * channel each); it prints flows/s and failures.
 *
 * The loop's rule (see machnet_channel_fd() in machnet.h): when the
 * descriptor is readable, take messages with machnet_recv() until it
 * returns 0 and events with machnet_poll_event() until it returns 0; those
 * empty calls re-arm it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "churn.h"
#include "machnet.h"

#define DEFAULT_PORT 31590
#define MAX_MSG 65536
/* A client's flows share its local address, so each has its own local port
 * (replies are matched by it): at most one per port. */
#define MAX_FLOWS 65535

struct opts {
	const char *local, *remote;
	uint16_t port;
	unsigned flows, rounds, size, window;
	unsigned long gap_us, random_gap_us, idle_ms, timeout_ms, count, hold_ms, load_ms;
	unsigned long churn, churn_par;
	int close;
};

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: epoll_echo --local IP [--port P] [--count N]                 (server)\n"
		"       epoll_echo --local IP --remote IP [--port P] [--flows N] [--rounds R]\n"
		"                  [--size B] [--gap-us U | --random-gap-us U] [--idle-ms M]\n"
		"                  [--timeout MS] [--window W] [--load-ms D]\n"
		"                  [--hold MS] [--close]                               (client)\n"
		"       epoll_echo --local IP --remote IP [--port P] --churn N [--churn-par P]\n"
		"                  [--size B] [--timeout MS]                (connection rate)\n"
		"  --port P           server port (default %u)\n"
		"  --count N          server: exit after echoing N messages (default: until SIGTERM)\n"
		"  --flows N          client: flows to open, 1..%u (default 1)\n"
		"  --rounds R         client: rounds of one message per flow (default 1)\n"
		"  --size B           client: message size, 16..%u (default 64)\n"
		"  --gap-us U         client: pause between rounds (default 0)\n"
		"  --random-gap-us U  client: a random pause of 0..U us between rounds instead\n"
		"  --idle-ms M        client: stay connected and idle this long first (default 0)\n"
		"  --timeout MS       client: wait for a round's replies at most this long (default 5000)\n"
		"  --window W         client: at most W requests of a round in flight (default: all)\n"
		"  --load-ms D        client: after the rounds, D ms of load: --window (default 32)\n"
		"                     requests in flight, flow after flow, each reply checked;\n"
		"                     prints the replies per second\n"
		"  --hold MS          client: after the rounds, keep the flows open until SIGUSR1\n"
		"                     (at most MS; exit 1 when it does not come)\n"
		"  --close            client: close every flow (machnet_close) at the end\n"
		"  --churn N          client: N times connect, one checked request-reply, close;\n"
		"                     prints flows/s and failures, exit 1 on any failure\n"
		"                     (--timeout bounds each flow)\n"
		"  --churn-par P      client: P churn flows at once, one thread and channel each,\n"
		"                     1..64 (default 1)\n"
		"The machnetd instance comes from $MACHNET_INSTANCE (default mn0).\n",
		DEFAULT_PORT, MAX_FLOWS, MAX_MSG);
	return rc;
}

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port = DEFAULT_PORT;
	o->flows = 1;
	o->rounds = 1;
	o->size = 64;
	o->timeout_ms = 5000;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		unsigned long n = 0;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			exit(usage(0));
		if (!strcmp(a, "--close")) {
			o->close = 1;
			i--;
			continue;
		}
		if (v == NULL)
			return -1;
		if (strcmp(a, "--local") && strcmp(a, "--remote")) {
			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || *end || end == v)
				return -1;
		}
		if (!strcmp(a, "--local"))
			o->local = v;
		else if (!strcmp(a, "--remote"))
			o->remote = v;
		else if (!strcmp(a, "--port") && n > 0 && n < 65536)
			o->port = (uint16_t)n;
		else if (!strcmp(a, "--count"))
			o->count = n;
		else if (!strcmp(a, "--flows") && n >= 1 && n <= MAX_FLOWS)
			o->flows = (unsigned)n;
		else if (!strcmp(a, "--rounds") && n >= 1 && n <= 10000000)
			o->rounds = (unsigned)n;
		else if (!strcmp(a, "--size") && n >= 16 && n <= MAX_MSG)
			o->size = (unsigned)n;
		else if (!strcmp(a, "--gap-us"))
			o->gap_us = n;
		else if (!strcmp(a, "--random-gap-us"))
			o->random_gap_us = n;
		else if (!strcmp(a, "--idle-ms"))
			o->idle_ms = n;
		else if (!strcmp(a, "--timeout") && n > 0)
			o->timeout_ms = n;
		else if (!strcmp(a, "--window") && n > 0 && n <= UINT32_MAX)
			o->window = (unsigned)n;
		else if (!strcmp(a, "--load-ms") && n > 0)
			o->load_ms = n;
		else if (!strcmp(a, "--churn") && n > 0)
			o->churn = n;
		else if (!strcmp(a, "--churn-par") && n >= 1 && n <= 64)
			o->churn_par = n;
		else if (!strcmp(a, "--hold") && n > 0)
			o->hold_ms = n;
		else
			return -1;
	}
	return o->local ? 0 : -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int fail(const char *what)
{
	fprintf(stderr, "epoll_echo: %s: %s\n", what, machnet_strerror(errno));
	return 1;
}

/* The event loop's descriptors: the channel's and a signalfd for SIGINT and
 * SIGTERM (so the server ends cleanly and prints its counts). */
struct loop {
	int ep, chfd, sigfd;
	unsigned long wakeups;
};

static int loop_open(struct loop *l, void *ch)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	l->wakeups = 0;
	l->chfd = machnet_channel_fd(ch);
	if (l->chfd < 0)
		return fail("machnet_channel_fd");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	l->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->sigfd < 0 || l->ep < 0) {
		perror("epoll_echo: signalfd/epoll_create1");
		return 1;
	}
	ev.data.fd = l->chfd;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->chfd, &ev) != 0)
		return perror("epoll_echo: epoll_ctl"), 1;
	ev.data.fd = l->sigfd;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->sigfd, &ev) != 0)
		return perror("epoll_echo: epoll_ctl"), 1;
	return 0;
}

/* Blocks until the channel may have something (1), SIGINT or SIGTERM came
 * (-2), SIGUSR1 came (-3), or timeout_ms (-1: none) passed (0). */
static int loop_wait(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[2];
	int n = epoll_wait(l->ep, evs, 2, timeout_ms), ch = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	l->wakeups++;
	for (int i = 0; i < n; i++) {
		struct signalfd_siginfo si;

		if (evs[i].data.fd != l->sigfd) {
			ch = 1;
			continue;
		}
		if (read(l->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			return -2;
		return si.ssi_signo == SIGUSR1 ? -3 : -2;
	}
	return ch;
}

static void reply_flow(const MachnetFlow_t *rx, MachnetFlow_t *tx)
{
	tx->src_ip = rx->dst_ip;
	tx->dst_ip = rx->src_ip;
	tx->src_port = rx->dst_port;
	tx->dst_port = rx->src_port;
}

/* Sends, waiting out backpressure (EAGAIN) for at most a second. */
static int send_retry(void *ch, MachnetFlow_t flow, const void *buf, size_t len)
{
	uint64_t until = now_ns() + 1000000000ull;

	while (machnet_send(ch, flow, buf, len) != 0) {
		if (errno != EAGAIN || now_ns() > until)
			return -1;
		sleep_us(10);
	}
	return 0;
}

/* Takes every waiting event; counts accepted and ended flows. -1 on error. */
static int drain_events(void *ch, unsigned long *accepted, unsigned long *ended)
{
	MachnetEvent_t ev;
	int r;

	while ((r = machnet_poll_event(ch, &ev)) == 1) {
		if (ev.type == MACHNET_EV_ACCEPTED)
			(*accepted)++;
		else if (ev.type == MACHNET_EV_RESET || ev.type == MACHNET_EV_CLOSED)
			(*ended)++;
	}
	return r;
}

static int server(const struct opts *o, void *ch)
{
	static char buf[MAX_MSG];
	unsigned long echoed = 0, accepted = 0, ended = 0;
	struct loop l;

	if (machnet_listen(ch, o->local, o->port) != 0)
		return fail("machnet_listen");
	if (loop_open(&l, ch))
		return 1;
	printf("epoll_echo: listening on %s:%u (channel fd %d)\n", o->local, o->port, l.chfd);
	fflush(stdout);
	while (!o->count || echoed < o->count) {
		/* The timeout only bounds how long a dead machnetd goes
		 * unnoticed (machnet_recv() then fails with ESHUTDOWN). */
		int w = loop_wait(&l, 1000);

		if (w == -2)
			break;
		if (w == -3)
			continue;
		if (w < 0)
			return perror("epoll_echo: epoll_wait"), 1;
		for (;;) {
			MachnetFlow_t rx, tx;
			ssize_t n = machnet_recv(ch, buf, sizeof(buf), &rx);

			if (n < 0)
				return fail("machnet_recv");
			if (n == 0)
				break;
			reply_flow(&rx, &tx);
			if (send_retry(ch, tx, buf, (size_t)n) != 0)
				return fail("machnet_send");
			echoed++;
		}
		if (drain_events(ch, &accepted, &ended) < 0)
			return fail("machnet_poll_event");
	}
	printf("epoll_echo: echoed %lu messages, %lu flows accepted, %lu ended, %lu epoll wake-ups\n",
	       echoed, accepted, ended, l.wakeups);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_rtts(uint64_t *rtt, size_t n, uint64_t first)
{
	if (n == 0)
		return;
	printf("epoll_echo: first RTT %.1f us\n", first / 1000.0);
	qsort(rtt, n, sizeof(rtt[0]), cmp_u64);
	printf("epoll_echo: RTT us: min %.1f p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f (%zu)\n",
	       rtt[0] / 1000.0, rtt[n / 2] / 1000.0, rtt[n * 9 / 10] / 1000.0,
	       rtt[n * 99 / 100] / 1000.0, rtt[n * 999 / 1000] / 1000.0, rtt[n - 1] / 1000.0, n);
}

/* The bytes of flow i's message in round r: r and i, then a pattern of
 * both, so that a reply proves whose it is and that it is whole. */
static void fill(char *buf, unsigned size, unsigned r, unsigned i)
{
	uint32_t x = r * 2654435761u ^ (i + 1) * 40503u;

	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), &i, sizeof(i));
	for (unsigned k = 8; k < size; k++) {
		x = x * 1103515245u + 12345u;
		buf[k] = (char)(x >> 16);
	}
}

struct client {
	const struct opts *o;
	void *ch;
	struct loop l;
	MachnetFlow_t flows[MAX_FLOWS];
	int32_t by_port[65536];		/* local port -> flow index, -1 */
	uint64_t sent_at[MAX_FLOWS];
	uint8_t waiting[MAX_FLOWS];
	uint64_t *rtt;
	size_t n_rtt;
	unsigned long answered, bad;
	char buf[MAX_MSG], rx[MAX_MSG], want[MAX_MSG];
};

/* Takes every waiting reply of round `round`; returns how many, -1 on error. */
static int take_replies(struct client *c, unsigned round)
{
	int got = 0;

	for (;;) {
		MachnetFlow_t f;
		ssize_t n = machnet_recv(c->ch, c->rx, sizeof(c->rx), &f);
		int32_t i;
		unsigned r;

		if (n < 0)
			return fail("machnet_recv"), -1;
		if (n == 0)
			break;
		/* A reply names the server as src and this end as dst. */
		i = c->by_port[f.dst_port];
		memcpy(&r, c->rx, sizeof(r));
		if (i < 0 || !c->waiting[i] || r != round || (size_t)n != c->o->size) {
			c->bad++;
			continue;
		}
		fill(c->want, c->o->size, round, (unsigned)i);
		if (memcmp(c->want, c->rx, c->o->size) != 0) {
			c->bad++;
			continue;
		}
		c->waiting[i] = 0;
		c->rtt[c->n_rtt++] = now_ns() - c->sent_at[i];
		c->answered++;
		got++;
	}
	return got;
}

/* Waits for replies until fewer than `most` of the round's requests are
 * unanswered (`*left` of them are), or the deadline. */
static int await_replies(struct client *c, unsigned round, unsigned *left, unsigned most,
			 uint64_t deadline)
{
	unsigned long x1, x2;

	while (*left > most) {
		uint64_t now = now_ns();
		int w, t;

		if (now > deadline) {
			fprintf(stderr, "epoll_echo: round %u: %u of %u replies missing after %lu ms\n",
				round, *left, c->o->flows, c->o->timeout_ms);
			return 1;
		}
		w = loop_wait(&c->l, (int)((deadline - now) / 1000000 + 1));
		if (w == -2)
			return 1;
		if (w < 0 && w != -3)
			return perror("epoll_echo: epoll_wait"), 1;
		t = take_replies(c, round);
		if (t < 0)
			return 1;
		*left -= (unsigned)t;
		if (drain_events(c->ch, &x1, &x2) < 0)
			return fail("machnet_poll_event");
	}
	return 0;
}

static int client_round(struct client *c, unsigned round)
{
	const struct opts *o = c->o;
	uint64_t deadline = now_ns() + o->timeout_ms * 1000000ull;
	unsigned left = o->flows;

	for (unsigned i = 0; i < o->flows; i++) {
		/* In flight: sent (i) less answered (flows - left). */
		if (o->window && i - (o->flows - left) >= o->window &&
		    await_replies(c, round, &left, o->flows - i + o->window - 1, deadline))
			return 1;
		fill(c->buf, o->size, round, i);
		c->waiting[i] = 1;
		c->sent_at[i] = now_ns();
		while (machnet_send(c->ch, c->flows[i], c->buf, o->size) != 0) {
			int t;

			if (errno != EAGAIN || now_ns() > deadline)
				return fail("machnet_send");
			/* Backpressure: replies are what frees buffers. */
			t = take_replies(c, round);
			if (t < 0)
				return 1;
			left -= (unsigned)t;
		}
	}
	return await_replies(c, round, &left, 0, deadline);
}

/* --load-ms: keeps `window` requests in flight, flow after flow (several
 * on one flow when the window is larger than the flows), for load_ms. A
 * flow's replies come in its order, so each is checked whole against the
 * pattern of that flow's next expected number (numbered on from the
 * rounds'). */
static int load(struct client *c)
{
	const struct opts *o = c->o;
	unsigned win = o->window ? o->window : 32, inflight = 0, next = 0;
	uint32_t *txs = calloc(o->flows, sizeof(uint32_t)), *rxs = calloc(o->flows, sizeof(uint32_t));
	uint64_t t0 = now_ns(), end = t0 + o->load_ms * 1000000ull;
	uint64_t drain_end = end + o->timeout_ms * 1000000ull, now = t0;
	unsigned long done = 0, bad = 0, x1, x2;
	int rc = 1;

	if (txs == NULL || rxs == NULL) {
		perror("epoll_echo");
		goto out;
	}
	while (now < end || inflight > 0) {
		int got = 0;

		if (now > drain_end) {
			fprintf(stderr, "epoll_echo: load: %u replies missing\n", inflight);
			goto out;
		}
		while (now < end && inflight < win) {
			unsigned i = next;

			fill(c->buf, o->size, o->rounds + txs[i], i);
			if (machnet_send(c->ch, c->flows[i], c->buf, o->size) != 0) {
				if (errno != EAGAIN) {
					fail("machnet_send");
					goto out;
				}
				break;
			}
			next = next + 1 == o->flows ? 0 : next + 1;
			txs[i]++;
			inflight++;
		}
		for (;;) {
			MachnetFlow_t f;
			ssize_t n = machnet_recv(c->ch, c->rx, sizeof(c->rx), &f);
			int32_t i;

			if (n < 0) {
				fail("machnet_recv");
				goto out;
			}
			if (n == 0)
				break;
			i = c->by_port[f.dst_port];
			if (i < 0 || rxs[i] == txs[i] || (size_t)n != o->size) {
				bad++;
				continue;
			}
			fill(c->want, o->size, o->rounds + rxs[i], (unsigned)i);
			if (memcmp(c->want, c->rx, o->size) != 0) {
				bad++;
				continue;
			}
			rxs[i]++;
			inflight--;
			done++;
			got++;
		}
		if (drain_events(c->ch, &x1, &x2) < 0) {
			fail("machnet_poll_event");
			goto out;
		}
		if (!got && loop_wait(&c->l, 1) == -2)
			goto out;
		now = now_ns();
	}
	printf("epoll_echo: load: %lu replies in %.3f s: %.0f rpc/s (window %u, %u flows), %lu bad\n",
	       done, (now - t0) / 1e9, done / ((now - t0) / 1e9), win, o->flows, bad);
	c->bad += bad;
	rc = 0;
out:
	free(txs);
	free(rxs);
	return rc;
}

/* Keeps the flows open, asleep, until SIGUSR1 (0) or hold_ms (1). */
static int hold(struct client *c)
{
	uint64_t until = now_ns() + c->o->hold_ms * 1000000ull;
	unsigned long x1 = 0, x2 = 0;

	printf("epoll_echo: holding %u flows\n", c->o->flows);
	fflush(stdout);
	for (uint64_t now = now_ns(); now < until; now = now_ns()) {
		int w = loop_wait(&c->l, (int)((until - now) / 1000000 + 1));

		if (w == -3)
			return 0;
		if (w == -2 || w < 0)
			return 1;
		if (drain_events(c->ch, &x1, &x2) < 0 || take_replies(c, UINT32_MAX) < 0)
			return 1;
	}
	fprintf(stderr, "epoll_echo: no SIGUSR1 within %lu ms\n", c->o->hold_ms);
	return 1;
}

/* Closes every flow, one after the other (each close waits for the peer's
 * answer, so at most one is in flight). */
static int close_all(struct client *c)
{
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < c->o->flows; i++)
		if (machnet_close(c->ch, &c->flows[i]) != 0) {
			fprintf(stderr, "epoll_echo: close of flow %u: %s\n", i,
				machnet_strerror(errno));
			return 1;
		}
	printf("epoll_echo: %u flows closed in %.1f ms\n", c->o->flows, (now_ns() - t0) / 1e6);
	return 0;
}

static int client(const struct opts *o, void *ch)
{
	struct client *c = calloc(1, sizeof(*c));
	uint64_t first = 0, t0;
	unsigned long x1 = 0, x2 = 0;
	int rc = 1;

	if (c == NULL)
		return perror("epoll_echo"), 1;
	c->o = o;
	c->ch = ch;
	c->rtt = calloc((size_t)o->rounds * o->flows, sizeof(uint64_t));
	if (c->rtt == NULL)
		return perror("epoll_echo"), 1;
	memset(c->by_port, 0xff, sizeof(c->by_port));
	t0 = now_ns();
	for (unsigned i = 0; i < o->flows; i++) {
		while (machnet_connect(ch, o->local, o->remote, o->port, &c->flows[i]) != 0) {
			if (errno != EAGAIN)
				return fail("machnet_connect");
			sleep_us(1000);
		}
		c->by_port[c->flows[i].src_port] = (int32_t)i;
	}
	if (loop_open(&c->l, ch))
		return 1;
	printf("epoll_echo: %u flows connected to %s:%u in %.1f ms\n", o->flows, o->remote,
	       o->port, (now_ns() - t0) / 1e6);
	if (o->idle_ms) {
		uint64_t until = now_ns() + o->idle_ms * 1000000ull;

		printf("epoll_echo: idle for %lu ms\n", o->idle_ms);
		fflush(stdout);
		/* Connected and asleep in epoll_wait, as an idle event loop is. */
		for (uint64_t now = now_ns(); now < until; now = now_ns()) {
			if (loop_wait(&c->l, (int)((until - now) / 1000000 + 1)) == -2)
				goto out;
			if (drain_events(ch, &x1, &x2) < 0 || take_replies(c, UINT32_MAX) < 0)
				goto out;
		}
	}
	fflush(stdout);
	srand(1);
	for (unsigned r = 0; r < o->rounds; r++) {
		if (r > 0 && o->random_gap_us)
			sleep_us((unsigned long)rand() % (o->random_gap_us + 1));
		else if (r > 0 && o->gap_us)
			sleep_us(o->gap_us);
		if (client_round(c, r))
			goto out;
		if (r == 0)
			first = c->rtt[0];
	}
	if (o->load_ms && load(c) != 0)
		goto out;
	if (o->hold_ms && hold(c) != 0)
		goto out;
	if (o->close && close_all(c) != 0)
		goto out;
	rc = c->bad ? 1 : 0;
out:
	printf("epoll_echo: answered %lu/%llu requests on %u flows, %lu unexpected replies, "
	       "%lu epoll wake-ups\n", c->answered, (unsigned long long)o->rounds * o->flows,
	       o->flows, c->bad, c->l.wakeups);
	print_rtts(c->rtt, c->n_rtt, first);
	free(c->rtt);
	free(c);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	void *ch;
	int rc;

	sigset_t set;

	if (parse(argc, argv, &o) != 0)
		return usage(2);
	/* Blocked before DPDK starts its threads, which inherit the mask: a
	 * SIGTERM then waits in the signalfd instead of killing the process
	 * through one of them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (machnet_init() != 0) {
		fprintf(stderr, "epoll_echo: machnet_init: %s (%s)\n", machnet_strerror(errno),
			machnet_init_detail());
		return 1;
	}
	ch = machnet_attach();
	if (ch == NULL)
		return fail("machnet_attach");
	if (o.remote && o.churn) {
		struct churn_opts co = { o.local, o.remote, o.port, o.size,
					 o.churn_par ? (unsigned)o.churn_par : 1, o.churn, o.timeout_ms };

		rc = churn_run(&co, ch);
	} else {
		rc = o.remote ? client(&o, ch) : server(&o, ch);
	}
	fflush(stdout);
	machnet_detach(ch);
	return rc;
}
