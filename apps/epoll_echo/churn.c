/* churn: the connection-rate client of epoll_echo (--churn N).
 *
 * N times: machnet_connect(), one request of --size bytes, its reply
 * checked whole, machnet_close(). machnet_connect() and machnet_close()
 * each wait for the peer, so one channel has at most one flow opening or
 * closing at a time; --churn-par P runs P threads, each on its own channel
 * (machnet_attach(): a channel is one thread's), taking flow numbers from a
 * shared counter, so that P flows are in some stage at once. The result
 * line: flows done, seconds, flows/s, failures (flows not done: failed, or
 * never tried because the workers stop after CHURN_MAX_FAILS); any failure
 * makes the exit status 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "churn.h"
#include "machnet.h"

/* After this many failures the workers stop: a dead peer would otherwise
 * make each of the N flows wait out its own timeout. */
#define CHURN_MAX_FAILS 100

struct churn {
	const struct churn_opts *o;
	atomic_ulong next, done, fails;
};

struct worker {
	struct churn *c;
	void *ch;
	unsigned id;
	pthread_t th;
	int started;
	char *tx, *rx;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pause_us(unsigned long us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	nanosleep(&ts, NULL);
}

/* Flow k's request: k, then a pattern of k (the reply must be the same). */
static void pattern(char *buf, unsigned size, unsigned long k)
{
	uint32_t x = (uint32_t)k * 2654435761u ^ 0x9e3779b9u;

	memcpy(buf, &k, sizeof(k));
	for (unsigned i = sizeof(k); i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
}

static void failed(struct worker *w, unsigned long k, const char *what)
{
	unsigned long f = atomic_fetch_add(&w->c->fails, 1) + 1;

	if (f <= 10)
		fprintf(stderr, "epoll_echo: churn flow %lu (thread %u): %s: %s\n", k, w->id, what,
			machnet_strerror(errno));
}

/* One flow: connect, one request-reply, close. 0, or -1 (counted). */
static int one_flow(struct worker *w, unsigned long k)
{
	const struct churn_opts *o = w->c->o;
	uint64_t deadline = now_ns() + o->timeout_ms * 1000000ull;
	MachnetFlow_t f, rf;
	ssize_t n;

	while (machnet_connect(w->ch, o->local, o->remote, o->port, &f) != 0) {
		if (errno != EAGAIN || now_ns() > deadline)
			return failed(w, k, "machnet_connect"), -1;
		pause_us(100);
	}
	pattern(w->tx, o->size, k);
	while (machnet_send(w->ch, f, w->tx, o->size) != 0) {
		if (errno != EAGAIN || now_ns() > deadline) {
			failed(w, k, "machnet_send");
			goto close;
		}
		pause_us(10);
	}
	for (;;) {
		uint64_t now = now_ns();

		if (now > deadline) {
			errno = ETIMEDOUT;
			failed(w, k, "reply");
			goto close;
		}
		n = machnet_recv_timeout(w->ch, w->rx, o->size + 1, &rf,
					 (long)((deadline - now) / 1000));
		if (n < 0 && errno == ETIMEDOUT)
			continue;
		if (n < 0) {
			failed(w, k, "machnet_recv_timeout");
			goto close;
		}
		/* A reply names the server as src and this end as dst; a
		 * late one of an earlier flow of this channel cannot come (each
		 * was answered before its close), so anything else is wrong. */
		if (rf.dst_port != f.src_port || (size_t)n != o->size ||
		    memcmp(w->rx, w->tx, o->size) != 0) {
			errno = EBADMSG;
			failed(w, k, "reply");
			goto close;
		}
		break;
	}
	while (machnet_close(w->ch, &f) != 0) {
		if (errno != EAGAIN || now_ns() > deadline)
			return failed(w, k, "machnet_close"), -1;
		pause_us(100);
	}
	return 0;
close:
	machnet_close(w->ch, &f);
	return -1;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct churn *c = w->c;
	MachnetEvent_t ev;

	for (;;) {
		unsigned long k = atomic_fetch_add(&c->next, 1);

		if (k >= c->o->flows || atomic_load(&c->fails) >= CHURN_MAX_FAILS)
			break;
		if (one_flow(w, k) == 0)
			atomic_fetch_add(&c->done, 1);
		/* Events (a reset of a flow) are not needed here; taking them
		 * keeps the ring from filling. */
		while (machnet_poll_event(w->ch, &ev) == 1)
			;
	}
	return NULL;
}

int churn_run(const struct churn_opts *o, void *ch)
{
	struct churn c = { .o = o };
	struct worker *ws = calloc(o->par, sizeof(*ws));
	unsigned long done, fails;
	uint64_t t0;
	double s;
	int rc = 1;

	if (ws == NULL)
		return perror("epoll_echo"), 1;
	for (unsigned i = 0; i < o->par; i++) {
		ws[i].c = &c;
		ws[i].id = i;
		ws[i].tx = malloc(o->size);
		ws[i].rx = malloc(o->size + 1);
		ws[i].ch = i == 0 ? ch : machnet_attach();
		if (ws[i].tx == NULL || ws[i].rx == NULL || ws[i].ch == NULL) {
			fprintf(stderr, "epoll_echo: churn thread %u: %s\n", i,
				ws[i].ch ? "out of memory" : machnet_strerror(errno));
			goto out;
		}
	}
	t0 = now_ns();
	for (unsigned i = 0; i < o->par; i++) {
		if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0) {
			/* The started ones still run to the end below. */
			atomic_store(&c.fails, CHURN_MAX_FAILS);
			fprintf(stderr, "epoll_echo: churn: pthread_create failed\n");
			break;
		}
		ws[i].started = 1;
	}
	for (unsigned i = 0; i < o->par; i++)
		if (ws[i].started)
			pthread_join(ws[i].th, NULL);
	s = (now_ns() - t0) / 1e9;
	done = atomic_load(&c.done);
	fails = atomic_load(&c.fails);
	printf("epoll_echo: churn: %lu flows in %.3f s: %.0f flows/s (%u in parallel, %u B), "
	       "%lu failures\n", done, s, s > 0 ? done / s : 0.0, o->par, o->size,
	       o->flows - done);
	rc = done == o->flows && fails == 0 ? 0 : 1;
out:
	for (unsigned i = 0; i < o->par; i++) {
		if (i > 0 && ws[i].ch != NULL)
			machnet_detach(ws[i].ch);
		free(ws[i].tx);
		free(ws[i].rx);
	}
	free(ws);
	return rc;
}
