/* mn_slowrx: the slow-receiver test's programs (e2e_slow_receiver.sh).
 *
 *   mn_slowrx server LIP PORT MAX_S
 *       listens; once a flow is accepted prints "paused" and does not read
 *       until SIGUSR1 (or MAX_S seconds); then reads until the end marker,
 *       checking that message k carries sequence number k, its length and
 *       its bytes; answers the end marker with "done" and prints
 *       "server: got N messages (A of 1 MiB, B of 64 KiB) intact, in order".
 *   mn_slowrx client LIP RIP PORT PHASE_S MAX_S
 *       sends 1 MiB messages for PHASE_S seconds, then 64 KiB messages for
 *       PHASE_S seconds, each as fast as machnet_send accepts them (EAGAIN
 *       counted, then retried), then the end marker; waits (MAX_S) for
 *       "done". Prints "client: accepted A x 1 MiB + B x 64 KiB, EAGAIN E".
 *   mn_slowrx mixed LIP RIP PORT RR_PORT SECONDS MAX_S
 *       one channel, two flows: S to the server (PORT, which does not read)
 *       and F to an rr-server (RR_PORT). For SECONDS: offer a 64 KiB
 *       message on S (EAGAIN counted, not retried), then one 64-byte
 *       request-reply on F, which must be answered within 5 s. Prints
 *       "mixed: S accepted N x 64 KiB, EAGAIN E; F N2 request-replies, N3 of
 *       them while S was blocked", then sends S's end marker (retried on
 *       EAGAIN until the server reads again: SIGUSR1 to it) and waits for
 *       "done".
 *   mn_slowrx rr-server LIP PORT MAX_S
 *       echoes every message until SIGTERM or MAX_S seconds.
 *   mn_slowrx rr-client LIP RIP PORT SECONDS
 *       one 64-byte request at a time for SECONDS; every second prints
 *       "rr: n=.. p50_us=.. p99_us=.. max_us=.." for that second, at the end
 *       the same over the whole run as "rr total: ...".
 * The programs behave as apps on a shared machine should: they wait for
 * messages with machnet_recv_timeout() (asleep in the kernel, not spinning)
 * and back off 50 us after an EAGAIN, so the CPUs are left to the engines
 * and the request-reply pair measures the stack, not the scheduler's time
 * slices (spinning apps made every round trip cost a 4 ms slice).
 * Every program polls its events: a RESET or SEND_FAILED is reported
 * ("error: event ...") and makes it exit 3. Exit 0: all checks passed;
 * 1: a check failed; 3: a call or the flow failed; 4: a deadline passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machnet.h"
#include "mn_clock.h"
#include "mn_replyflow.h"

#define BIG (1u << 20)
#define SMALL (64u << 10)
#define MAGIC_DATA 0x534c4f57u	/* "SLOW" */
#define MAGIC_END 0x454e4421u	/* "END!" */
#define HDR 12
#define RR_LEN 64
#define RR_MAX 1000000

static volatile sig_atomic_t g_go, g_stop;

static void on_usr1(int sig)
{
	(void)sig;
	g_go = 1;
}

static void on_term(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint8_t pat(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 7u + i * 13u + (i >> 8));
}

static void fill_msg(uint8_t *b, uint32_t seq, uint32_t len)
{
	put32(b, MAGIC_DATA);
	put32(b + 4, seq);
	put32(b + 8, len);
	for (uint32_t i = HDR; i < len; i++)
		b[i] = pat(seq, i);
}

/* 0: no event; 3 after printing a RESET or SEND_FAILED. */
static int check_events(void *ch, const char *who)
{
	MachnetEvent_t ev;

	while (machnet_poll_event(ch, &ev) == 1) {
		if (ev.type == MACHNET_EV_RESET || ev.type == MACHNET_EV_SEND_FAILED) {
			printf("%s: error: event %s %s\n", who,
			       ev.type == MACHNET_EV_RESET ? "RESET" : "SEND_FAILED",
			       strerror(ev.error));
			return 3;
		}
	}
	return 0;
}

static void *attach_or_die(const char *who)
{
	void *ch;

	if (machnet_init() != 0 || (ch = machnet_attach()) == NULL) {
		printf("%s: error: init/attach: %s\n", who, machnet_strerror(errno));
		exit(3);
	}
	return ch;
}

/* After an EAGAIN: give the CPU away for a moment (the engine that frees
 * the send buffer may need it). */
static void backoff(void)
{
	struct timespec ts = { 0, 50000 };

	nanosleep(&ts, NULL);
}

/* machnet_recv() that sleeps up to 1 ms when nothing is waiting: the length,
 * 0 after the timeout, -1 as machnet_recv(). */
static ssize_t recv_wait(void *ch, void *buf, size_t len, MachnetFlow_t *rx)
{
	ssize_t r = machnet_recv_timeout(ch, buf, len, rx, 1000);

	if (r < 0 && errno == ETIMEDOUT)
		return 0;
	return r;
}

/* Sends one message, retrying on EAGAIN until deadline; counts EAGAINs. */
static int send_retry(void *ch, MachnetFlow_t f, const uint8_t *b, uint32_t len, double deadline,
		      unsigned long *eagain, const char *who)
{
	while (machnet_send(ch, f, b, len) != 0) {
		if (errno != EAGAIN) {
			printf("%s: error: send: %s\n", who, machnet_strerror(errno));
			return 3;
		}
		(*eagain)++;
		if (check_events(ch, who))
			return 3;
		if (mn_now_s() > deadline) {
			printf("%s: error: send blocked past the deadline\n", who);
			return 4;
		}
		backoff();
	}
	return 0;
}

static int server(const char *lip, uint16_t port, double max_s)
{
	uint8_t *b = malloc(BIG);
	void *ch = attach_or_die("server");
	double deadline = mn_now_s() + max_s;
	unsigned long got = 0, big = 0, small = 0;
	unsigned long eagain = 0;
	MachnetEvent_t ev;
	MachnetFlow_t rx;

	if (b == NULL || machnet_listen(ch, lip, port) != 0) {
		printf("server: error: listen: %s\n", machnet_strerror(errno));
		return 3;
	}
	printf("server: listening\n");
	fflush(stdout);
	for (;;) {
		int r = machnet_poll_event(ch, &ev);

		if (r == 1 && ev.type == MACHNET_EV_ACCEPTED)
			break;
		if (r < 0 || mn_now_s() > deadline) {
			printf("server: error: no flow accepted\n");
			return 4;
		}
		machnet_recv_wait(ch, 1000);
	}
	printf("server: paused\n");
	fflush(stdout);
	while (!g_go && mn_now_s() < deadline) {
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);	/* the fault itself: an app that does not read */
		if (check_events(ch, "server"))
			return 3;
	}
	printf("server: reading\n");
	fflush(stdout);
	for (;;) {
		ssize_t len = recv_wait(ch, b, BIG, &rx);

		if (len < 0) {
			printf("server: error: recv: %s\n", machnet_strerror(errno));
			return 3;
		}
		if (len == 0) {
			if (check_events(ch, "server"))
				return 3;
			if (mn_now_s() > deadline) {
				printf("server: error: deadline after %lu messages\n", got);
				return 4;
			}
			continue;
		}
		if (len >= HDR && get32(b) == MAGIC_END) {
			if (get32(b + 4) != got) {
				printf("server: error: end marker says %u messages, got %lu\n",
				       get32(b + 4), got);
				return 1;
			}
			break;
		}
		if (len < HDR || get32(b) != MAGIC_DATA || get32(b + 4) != got ||
		    get32(b + 8) != (uint32_t)len) {
			printf("server: error: message %lu: bad header (len %zd, seq %u)\n", got, len,
			       len >= HDR ? get32(b + 4) : 0);
			return 1;
		}
		for (uint32_t i = HDR; i < (uint32_t)len; i++) {
			if (b[i] != pat((uint32_t)got, i)) {
				printf("server: error: message %lu: byte %u differs\n", got, i);
				return 1;
			}
		}
		if (len == BIG)
			big++;
		else
			small++;
		got++;
	}
	if (send_retry(ch, mn_reply_flow(&rx), (const uint8_t *)"done", 4, deadline, &eagain,
		       "server"))
		return 3;
	printf("server: got %lu messages (%lu of 1 MiB, %lu of 64 KiB) intact, in order\n", got, big,
	       small);
	/* Stay until the client has the answer (it closes the flow). */
	while (mn_now_s() < deadline) {
		if (machnet_poll_event(ch, &ev) == 1 && ev.type == MACHNET_EV_RESET)
			break;
		machnet_recv_wait(ch, 1000);
	}
	return 0;
}

static int client(const char *lip, const char *rip, uint16_t port, double phase_s, double max_s)
{
	uint8_t *b = malloc(BIG);
	void *ch = attach_or_die("client");
	double t0, deadline = mn_now_s() + max_s;
	unsigned long eagain = 0, n[2] = { 0, 0 };
	uint32_t seq = 0;
	MachnetFlow_t f, rx;
	int ph;

	if (b == NULL || machnet_connect(ch, lip, rip, port, &f) != 0) {
		printf("client: error: connect: %s\n", machnet_strerror(errno));
		return 3;
	}
	for (ph = 0; ph < 2; ph++) {
		uint32_t len = ph == 0 ? BIG : SMALL;

		t0 = mn_now_s();
		while (mn_now_s() - t0 < phase_s) {
			fill_msg(b, seq, len);
			if (machnet_send(ch, f, b, len) == 0) {
				n[ph]++;
				seq++;
				continue;
			}
			if (errno != EAGAIN) {
				printf("client: error: send: %s\n", machnet_strerror(errno));
				return 3;
			}
			eagain++;
			if (check_events(ch, "client"))
				return 3;
			backoff();
		}
		printf("client: phase %d: %lu messages of %u B accepted\n", ph + 1, n[ph], len);
		fflush(stdout);
	}
	put32(b, MAGIC_END);
	put32(b + 4, seq);
	put32(b + 8, HDR);
	if (send_retry(ch, f, b, HDR, deadline, &eagain, "client"))
		return 3;
	printf("client: accepted %lu x 1 MiB + %lu x 64 KiB, EAGAIN %lu\n", n[0], n[1], eagain);
	fflush(stdout);
	for (;;) {
		ssize_t len = recv_wait(ch, b, BIG, &rx);

		if (len < 0) {
			printf("client: error: recv: %s\n", machnet_strerror(errno));
			return 3;
		}
		if (len == 4 && memcmp(b, "done", 4) == 0)
			break;
		if (check_events(ch, "client"))
			return 3;
		if (mn_now_s() > deadline) {
			printf("client: error: no answer from the server\n");
			return 4;
		}
	}
	printf("client: server confirmed\n");
	machnet_close(ch, &f);
	return 0;
}

/* One request-reply on f within wait_s. 0, or 3/4 after printing why. */
static int rr_once(void *ch, MachnetFlow_t f, double wait_s, unsigned long *eagain,
		   const char *who)
{
	uint8_t out[RR_LEN], in[RR_LEN * 4];
	double deadline = mn_now_s() + wait_s;
	MachnetFlow_t rx;

	memset(out, 'q', sizeof(out));
	if (send_retry(ch, f, out, sizeof(out), deadline, eagain, who))
		return 3;
	for (;;) {
		ssize_t len = recv_wait(ch, in, sizeof(in), &rx);

		if (len < 0) {
			printf("%s: error: recv: %s\n", who, machnet_strerror(errno));
			return 3;
		}
		if (len > 0 && rx.src_port == f.dst_port)
			return 0;
		if (check_events(ch, who))
			return 3;
		if (mn_now_s() > deadline) {
			printf("%s: error: no reply on the other flow within %.0f s\n", who, wait_s);
			return 4;
		}
	}
}

static int mixed(const char *lip, const char *rip, uint16_t port, uint16_t rr_port, double secs,
		 double max_s)
{
	uint8_t *b = malloc(SMALL);
	void *ch = attach_or_die("mixed");
	double t_end, deadline = mn_now_s() + max_s;
	unsigned long s_eagain = 0, rr = 0, rr_blocked = 0, eagain = 0;
	uint32_t seq = 0;
	MachnetFlow_t s, f, rx;
	int r;

	if (b == NULL || machnet_connect(ch, lip, rip, port, &s) != 0 ||
	    machnet_connect(ch, lip, rip, rr_port, &f) != 0) {
		printf("mixed: error: connect: %s\n", machnet_strerror(errno));
		return 3;
	}
	t_end = mn_now_s() + secs;
	while (mn_now_s() < t_end) {
		fill_msg(b, seq, SMALL);
		if (machnet_send(ch, s, b, SMALL) == 0) {
			seq++;
		} else if (errno == EAGAIN) {
			s_eagain++;
		} else {
			printf("mixed: error: send: %s\n", machnet_strerror(errno));
			return 3;
		}
		r = rr_once(ch, f, 5.0, &eagain, "mixed");
		if (r)
			return r;
		rr++;
		if (s_eagain)
			rr_blocked++;
	}
	printf("mixed: S accepted %u x 64 KiB, EAGAIN %lu; F %lu request-replies, %lu of them "
	       "while S was blocked\n", seq, s_eagain, rr, rr_blocked);
	fflush(stdout);
	/* The end marker waits (EAGAIN) until the server reads again. */
	put32(b, MAGIC_END);
	put32(b + 4, seq);
	put32(b + 8, HDR);
	if (send_retry(ch, s, b, HDR, deadline, &eagain, "mixed"))
		return 3;
	for (;;) {
		ssize_t len = recv_wait(ch, b, SMALL, &rx);

		if (len < 0) {
			printf("mixed: error: recv: %s\n", machnet_strerror(errno));
			return 3;
		}
		if (len == 4 && memcmp(b, "done", 4) == 0)
			break;
		if (check_events(ch, "mixed"))
			return 3;
		if (mn_now_s() > deadline) {
			printf("mixed: error: no answer from the server\n");
			return 4;
		}
	}
	printf("mixed: server confirmed\n");
	machnet_close(ch, &s);
	machnet_close(ch, &f);
	return 0;
}

static int rr_server(const char *lip, uint16_t port, double max_s)
{
	uint8_t b[RR_LEN * 4];
	void *ch = attach_or_die("rr-server");
	double deadline = mn_now_s() + max_s;
	unsigned long eagain = 0;
	MachnetFlow_t rx;

	if (machnet_listen(ch, lip, port) != 0) {
		printf("rr-server: error: listen: %s\n", machnet_strerror(errno));
		return 3;
	}
	printf("rr-server: listening\n");
	fflush(stdout);
	while (!g_stop && mn_now_s() < deadline) {
		ssize_t len = recv_wait(ch, b, sizeof(b), &rx);

		if (len < 0) {
			printf("rr-server: error: recv: %s\n", machnet_strerror(errno));
			return 3;
		}
		if (len == 0) {
			if (check_events(ch, "rr-server"))
				return 3;
			continue;
		}
		if (send_retry(ch, mn_reply_flow(&rx), b, (uint32_t)len, deadline, &eagain,
			       "rr-server"))
			return 3;
	}
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, unsigned long n)
{
	if (n == 0) {
		printf("%s: n=0\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_d);
	printf("%s: n=%lu p50_us=%.1f p99_us=%.1f max_us=%.1f\n", what, n, v[n / 2] * 1e6,
	       v[(n * 99) / 100] * 1e6, v[n - 1] * 1e6);
	fflush(stdout);
}

static int rr_client(const char *lip, const char *rip, uint16_t port, double secs)
{
	static double all[RR_MAX], sec[RR_MAX];
	uint8_t out[RR_LEN], in[RR_LEN * 4];
	void *ch = attach_or_die("rr-client");
	double t_end, t_sec;
	unsigned long n_all = 0, n_sec = 0, eagain = 0;
	MachnetFlow_t f, rx;

	if (machnet_connect(ch, lip, rip, port, &f) != 0) {
		printf("rr-client: error: connect: %s\n", machnet_strerror(errno));
		return 3;
	}
	t_sec = mn_now_s();
	t_end = t_sec + secs;
	memset(out, 'r', sizeof(out));
	while (mn_now_s() < t_end) {
		double t0 = mn_now_s(), d;

		if (send_retry(ch, f, out, sizeof(out), t_end + 10, &eagain, "rr-client"))
			return 3;
		for (;;) {
			ssize_t len = recv_wait(ch, in, sizeof(in), &rx);

			if (len < 0) {
				printf("rr-client: error: recv: %s\n", machnet_strerror(errno));
				return 3;
			}
			if (len > 0)
				break;
			if (check_events(ch, "rr-client"))
				return 3;
			if (mn_now_s() > t_end + 10) {
				printf("rr-client: error: no reply within 10 s\n");
				return 4;
			}
		}
		d = mn_now_s() - t0;
		if (n_all < RR_MAX)
			all[n_all++] = d;
		if (n_sec < RR_MAX)
			sec[n_sec++] = d;
		if (mn_now_s() - t_sec >= 1.0) {
			report("rr", sec, n_sec);
			n_sec = 0;
			t_sec = mn_now_s();
		}
	}
	report("rr total", all, n_all);
	machnet_close(ch, &f);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (argc == 5 && strcmp(argv[1], "server") == 0)
		return server(argv[2], (uint16_t)atoi(argv[3]), atof(argv[4]));
	if (argc == 7 && strcmp(argv[1], "client") == 0)
		return client(argv[2], argv[3], (uint16_t)atoi(argv[4]), atof(argv[5]),
			      atof(argv[6]));
	if (argc == 8 && strcmp(argv[1], "mixed") == 0)
		return mixed(argv[2], argv[3], (uint16_t)atoi(argv[4]), (uint16_t)atoi(argv[5]),
			     atof(argv[6]), atof(argv[7]));
	if (argc == 5 && strcmp(argv[1], "rr-server") == 0)
		return rr_server(argv[2], (uint16_t)atoi(argv[3]), atof(argv[4]));
	if (argc == 6 && strcmp(argv[1], "rr-client") == 0)
		return rr_client(argv[2], argv[3], (uint16_t)atoi(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: see the comment at the top of mn_slowrx.c\n");
	return 2;
}
