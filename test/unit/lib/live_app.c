/* live_app: libmachnet against chan_primary (an echoing stand-in engine).
 *   live_app full       every call, its results and errnos, 8 MiB, zero copy
 *   live_app hold       fills its channel with unread echoes, says "holding",
 *                       then waits to be killed
 *   live_app waitdeath  says "attached", then receives until machnetd dies:
 *                       exits 0 iff that is reported as ESHUTDOWN in time
 *   live_app race       two threads on one channel at once: calls fail with
 *                       EBUSY (nothing else), the channel stays intact
 * Exit status 0 = every check held; failures are printed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machnet.h"
#include "mn_clock.h"

static int g_fail;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "live_app:%d: check failed: %s (errno %d: %s)\n", __LINE__, \
			#cond, errno, machnet_strerror(errno)); \
		g_fail = 1; \
	} \
} while (0)

/* Receives one message with a bounded wait. */
static ssize_t recv_wait(void *ch, void *buf, size_t len, MachnetFlow_t *f)
{
	return machnet_recv_timeout(ch, buf, len, f, 5000000);
}

/* A detached handle stays dead after a new attach takes its place: every
 * call on it is EBADF, its second detach leaves the new channel alone. */
static void stale_handle(void *old)
{
	MachnetFlow_t flow, from;
	char buf[16];
	void *ch;
	ssize_t n;

	memset(&flow, 0, sizeof(flow));
	ch = machnet_attach();
	CHECK(ch != NULL);
	if (ch == NULL)
		return;
	errno = 0;
	CHECK(machnet_send(old, flow, "x", 1) == -1 && errno == EBADF);
	errno = 0;
	CHECK(machnet_recv(old, buf, sizeof(buf), &from) == -1 && errno == EBADF);
	errno = 0;
	CHECK(machnet_listen(old, "198.18.0.2", 5001) == -1 && errno == EBADF);
	errno = 0;
	CHECK(machnet_detach(old) == -1 && errno == EBADF);
	/* The new channel was not touched by the stale detach. */
	CHECK(machnet_connect(ch, "198.18.0.2", "198.18.0.1", 7, &flow) == 0);
	CHECK(machnet_send(ch, flow, "again", 5) == 0);
	n = recv_wait(ch, buf, sizeof(buf), &from);
	CHECK(n == 5 && memcmp(buf, "again", 5) == 0);
	CHECK(machnet_detach(ch) == 0);
	errno = 0;
	CHECK(machnet_detach(ch) == -1 && errno == EBADF);
	errno = 0;
	CHECK(machnet_detach(old) == -1 && errno == EBADF);
}

static void full(void)
{
	static uint8_t big[MACHNET_MSG_MAX_LEN], back[MACHNET_MSG_MAX_LEN];
	MachnetFlow_t flow, from;
	MachnetEvent_t ev;
	MachnetZcMsg_t zc, rz;
	MachnetIovec_t iov;
	void *ch, *cur;
	char small[4];
	ssize_t n;
	size_t i;
	int sent, eagain;
	double t0;

	CHECK(machnet_init() == 0);
	CHECK(machnet_init() == 0);	/* idempotent */
	ch = machnet_attach();
	CHECK(ch != NULL);
	if (ch == NULL)
		return;

	errno = 0;
	CHECK(machnet_connect(ch, "198.18.0.2", "198.18.0.1", 9, &flow) == -1 &&
	      errno == ECONNREFUSED);
	CHECK(machnet_listen(ch, "198.18.0.2", 5000) == 0);
	t0 = mn_now_s();
	CHECK(machnet_connect(ch, "198.18.0.2", "198.18.0.1", 7, &flow) == 0);
	/* Answered by the engine's event, not by a timer tick. */
	CHECK(mn_now_s() - t0 < 0.5);
	CHECK(flow.src_ip == 0xc6120002u && flow.dst_ip == 0xc6120001u && flow.dst_port == 7 &&
	      flow.src_port != 0);

	/* Nothing yet: recv says 0, a bounded wait times out. */
	CHECK(machnet_recv(ch, back, sizeof(back), &from) == 0);
	t0 = mn_now_s();
	errno = 0;
	CHECK(machnet_recv_timeout(ch, back, sizeof(back), &from, 20000) == -1 &&
	      errno == ETIMEDOUT);
	CHECK(mn_now_s() - t0 >= 0.019 && mn_now_s() - t0 < 1.0);

	/* Small and largest messages come back intact. */
	CHECK(machnet_send(ch, flow, "hello", 5) == 0);
	n = recv_wait(ch, back, sizeof(back), &from);
	CHECK(n == 5 && memcmp(back, "hello", 5) == 0);
	/* The stand-in echoes on the same flow: as received it names the
	 * remote end as src (Machnet's convention), so it is ours swapped. */
	CHECK(from.src_ip == flow.dst_ip && from.dst_ip == flow.src_ip &&
	      from.src_port == flow.dst_port && from.dst_port == flow.src_port);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	t0 = mn_now_s();
	while ((sent = machnet_send(ch, flow, big, sizeof(big))) != 0 && errno == EAGAIN &&
	       mn_now_s() - t0 < 5)
		;
	CHECK(sent == 0);
	memset(back, 0, sizeof(back));
	n = recv_wait(ch, back, sizeof(back), &from);
	CHECK(n == (ssize_t)sizeof(big) && memcmp(back, big, sizeof(big)) == 0);
	errno = 0;
	CHECK(machnet_send(ch, flow, big, sizeof(big) + 1) == -1 && errno == EMSGSIZE);

	/* A too-small buffer: EMSGSIZE and the message is gone. */
	CHECK(machnet_send(ch, flow, "toolong", 7) == 0);
	t0 = mn_now_s();
	do {
		errno = 0;
		n = machnet_recv(ch, small, sizeof(small), &from);
	} while (n == 0 && mn_now_s() - t0 < 5);
	CHECK(n == -1 && errno == EMSGSIZE);
	CHECK(machnet_recv(ch, back, sizeof(back), &from) == 0);

	/* Backpressure: sending without reading ends in EAGAIN, never a crash;
	 * everything sent then comes back. */
	eagain = 0;
	for (sent = 0; sent < 100000; sent++) {
		if (machnet_send(ch, flow, big, 1000) != 0) {
			CHECK(errno == EAGAIN);
			eagain = 1;
			break;
		}
	}
	CHECK(eagain);
	for (i = 0; i < (size_t)sent; i++) {
		n = recv_wait(ch, back, sizeof(back), &from);
		if (n != 1000 || memcmp(back, big, 1000) != 0) {
			CHECK(n == 1000);
			break;
		}
	}
	CHECK(machnet_recv(ch, back, sizeof(back), &from) == 0);

	/* Zero copy both ways. */
	CHECK(machnet_zc_alloc(ch, 5000, &zc) == 0);
	CHECK(zc.nseg == 4 && zc.msg_size == 5000);
	i = 0;
	for (cur = machnet_zc_next(&zc, NULL, &iov); cur; cur = machnet_zc_next(&zc, cur, &iov)) {
		memcpy(iov.base, big + i, iov.len);
		i += iov.len;
	}
	CHECK(i == 5000);
	zc.flow = flow;
	CHECK(machnet_zc_send(ch, &zc) == 0 && zc.handle == NULL);
	t0 = mn_now_s();
	while (machnet_zc_recv(ch, &rz) == 0 && mn_now_s() - t0 < 5)
		;
	CHECK(rz.msg_size == 5000);
	i = 0;
	for (cur = machnet_zc_next(&rz, NULL, &iov); cur; cur = machnet_zc_next(&rz, cur, &iov)) {
		CHECK(i + iov.len <= 5000 && memcmp(iov.base, big + i, iov.len) == 0);
		i += iov.len;
	}
	CHECK(i == 5000);
	CHECK(machnet_zc_release(ch, &rz) == 0);
	/* An allocated message can be given back unsent. */
	CHECK(machnet_zc_alloc(ch, 100, &zc) == 0);
	CHECK(machnet_zc_release(ch, &zc) == 0);

	CHECK(machnet_poll_event(ch, &ev) == 0);
	CHECK(machnet_close(ch, &flow) == 0);
	CHECK(machnet_detach(ch) == 0);
	errno = 0;
	CHECK(machnet_send(ch, flow, "x", 1) == -1 && errno == EBADF);
	stale_handle(ch);
}

static void hold(void)
{
	static uint8_t buf[4000];
	MachnetFlow_t flow;
	void *ch;
	int i;

	CHECK(machnet_init() == 0);
	ch = machnet_attach();
	CHECK(ch != NULL);
	CHECK(machnet_connect(ch, "198.18.0.2", "198.18.0.1", 7, &flow) == 0);
	/* Echoes pile up unread until the ring or the buffers run out. */
	for (i = 0; i < 100000 && machnet_send(ch, flow, buf, sizeof(buf)) == 0; i++)
		;
	printf("holding %d\n", i);
	fflush(stdout);
	sleep(30);
}

static void waitdeath(void)
{
	char buf[64];
	MachnetFlow_t f;
	void *ch;
	double t0;
	ssize_t n = 0;

	CHECK(machnet_init() == 0);
	ch = machnet_attach();
	CHECK(ch != NULL);
	printf("attached\n");
	fflush(stdout);
	t0 = mn_now_s();
	while (n == 0 && mn_now_s() - t0 < 20)
		n = machnet_recv(ch, buf, sizeof(buf), &f);
	CHECK(n == -1 && errno == ESHUTDOWN);
	errno = 0;
	CHECK(machnet_attach() == NULL && errno == ESHUTDOWN);
	CHECK(machnet_send(ch, f, "x", 1) == -1 && errno == ESHUTDOWN);
}

/* ---- race: two threads on one channel ---- */

#define RACE_LEN 64

struct racer {
	void *ch;
	MachnetFlow_t flow;
	uint8_t tag;
	long sent, busy, other;
	double deadline;
};

static _Atomic long g_busy_total;

/* Sends and receives as fast as it can until both threads have seen EBUSY
 * (or the deadline); any errno but EAGAIN and EBUSY is a failure. */
static void *race_thread(void *arg)
{
	struct racer *r = arg;
	uint8_t out[RACE_LEN], in[RACE_LEN];
	MachnetFlow_t from;
	ssize_t n;
	long i;

	memset(out, r->tag, sizeof(out));
	for (i = 0; mn_now_s() < r->deadline; i++) {
		if (machnet_send(r->ch, r->flow, out, sizeof(out)) == 0) {
			r->sent++;
		} else if (errno == EBUSY) {
			r->busy++;
			atomic_fetch_add(&g_busy_total, 1);
		} else if (errno != EAGAIN) {
			r->other++;
		}
		n = machnet_recv(r->ch, in, sizeof(in), &from);
		if (n < 0) {
			if (errno == EBUSY)
				r->busy++;
			else
				r->other++;
		} else if (n > 0 && (n != RACE_LEN || (in[0] != 0xa0 && in[0] != 0xa1) ||
				     memcmp(in, in + 1, RACE_LEN - 1) != 0)) {
			r->other++;	/* a torn or foreign message */
		}
		if (r->busy > 0 && atomic_load(&g_busy_total) > 100 && i > 1000)
			break;
	}
	return NULL;
}

static void race(void)
{
	struct racer r[2];
	pthread_t t[2];
	MachnetFlow_t flow, from;
	uint8_t in[RACE_LEN];
	void *ch;
	ssize_t n;
	long k;

	CHECK(machnet_init() == 0);
	ch = machnet_attach();
	CHECK(ch != NULL);
	if (ch == NULL)
		return;
	CHECK(machnet_connect(ch, "198.18.0.2", "198.18.0.1", 7, &flow) == 0);
	for (k = 0; k < 2; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].ch = ch;
		r[k].flow = flow;
		r[k].tag = (uint8_t)(0xa0 + k);
		r[k].deadline = mn_now_s() + 10;
		CHECK(pthread_create(&t[k], NULL, race_thread, &r[k]) == 0);
	}
	for (k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	printf("race: sent %ld + %ld, EBUSY %ld + %ld, other errors %ld + %ld\n", r[0].sent,
	       r[1].sent, r[0].busy, r[1].busy, r[0].other, r[1].other);
	CHECK(r[0].other == 0 && r[1].other == 0);
	CHECK(r[0].busy + r[1].busy > 0);
	/* The rings are intact: what is still coming back is whole, and the
	 * channel works for one thread as before. */
	for (k = 0; k <= r[0].sent + r[1].sent; k++) {
		n = machnet_recv_timeout(ch, in, sizeof(in), &from, 500000);
		if (n < 0) {
			CHECK(errno == ETIMEDOUT);
			break;
		}
		CHECK(n == RACE_LEN && (in[0] == 0xa0 || in[0] == 0xa1) &&
		      memcmp(in, in + 1, RACE_LEN - 1) == 0);
		if (g_fail)
			break;
	}
	CHECK(machnet_send(ch, flow, "after", 5) == 0);
	n = recv_wait(ch, in, sizeof(in), &from);
	CHECK(n == 5 && memcmp(in, "after", 5) == 0);
	CHECK(machnet_detach(ch) == 0);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	if (strcmp(argv[1], "full") == 0)
		full();
	else if (strcmp(argv[1], "hold") == 0)
		hold();
	else if (strcmp(argv[1], "waitdeath") == 0)
		waitdeath();
	else if (strcmp(argv[1], "race") == 0)
		race();
	else
		return 2;
	if (!g_fail)
		printf("live_app %s: ok\n", argv[1]);
	return g_fail;
}
