/* msg_gen: machnet-mp's request-reply benchmark (Machnet's msg_gen flags).
 *
 * Server (no --remote_ip): echoes every request with --msg_size bytes on the
 * reverse flow. Client: keeps --msg_window requests in flight per thread,
 * spread over --flows flows, and measures each round trip from just before
 * the send to the receipt of its response. Every second it prints the rates
 * and that second's percentiles; at the end a summary over the run minus a
 * warm-up. --verify checks every byte of every response; the exit status is
 * non-zero when a message was lost or mismatched.
 *
 * Request layout (so that --verify and RTTs work over any flow and order):
 *   [0..8)  sequence number (per thread, unique)
 *   [8..12) window slot index      [12..16) thread index
 *   [16..)  pattern byte i = (seq * 131 + i) & 0xff
 * The server copies the 16-byte head into its response and fills the rest
 * with the same pattern for that seq, so the client checks both.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machnet.h"
#include "mn_hist.h"

#define MG_HEAD 16
#define MG_MAX_THREADS 16
#define MG_MAX_FLOWS 256
#define MG_MAX_WINDOW 4096
#define MG_MAX_MSG (8u << 20)
/* Empty polls before yielding. Small: an app that shares its core with an
 * engine must hand the core over as soon as it waits, or the engine that
 * would bring its reply cannot run (each app poll is ~50-100 ns). */
#define MG_IDLE_POLLS 1

struct mg_opts {
	const char *local_ip;
	const char *remote_ip;
	uint16_t local_port;
	uint16_t remote_port;
	uint32_t msg_size;
	uint32_t window;
	uint64_t msg_nr;		/* 0 = unlimited (until --duration) */
	bool verify;
	double duration;		/* seconds, 0 = until msg_nr or SIGINT */
	double warmup;			/* seconds excluded from the summary */
	unsigned flows;
	unsigned threads;
	const char *json;
	bool busy;			/* spin instead of yielding when idle */
	unsigned idle_polls;		/* empty polls before each sched_yield() */
	double drain;			/* seconds to wait for outstanding replies at the end */
};

static struct mg_opts g_opt = {
	.local_port = 888, .remote_port = 888, .msg_size = 1024, .window = 1,
	.warmup = 1.0, .flows = 1, .threads = 1, .drain = 2.0, .idle_polls = MG_IDLE_POLLS,
};

static atomic_bool g_stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill_pattern(uint8_t *p, size_t from, size_t to, uint64_t seq)
{
	uint8_t x = (uint8_t)(seq * 131u);

	for (size_t i = from; i < to; i++)
		p[i] = (uint8_t)(x + (uint8_t)i);
}

static bool check_pattern(const uint8_t *p, size_t from, size_t to, uint64_t seq)
{
	uint8_t x = (uint8_t)(seq * 131u);

	for (size_t i = from; i < to; i++)
		if (p[i] != (uint8_t)(x + (uint8_t)i))
			return false;
	return true;
}

/* Idle policy for the app's own polling loop: on a 2-core machine shared
 * with the engines, spinning steals the core an engine needs. */
static inline void idle_step(unsigned *empty)
{
	if (g_opt.busy)
		return;
	if (++*empty >= g_opt.idle_polls) {
		*empty = 0;
		sched_yield();
	}
}

/* ---------------------------------------------------------------- server */

static int run_server(void)
{
	void *ch;
	uint8_t *buf;
	uint64_t served = 0, last_served = 0, t_last;
	unsigned empty = 0;

	ch = machnet_attach();
	if (ch == NULL) {
		fprintf(stderr, "msg_gen: machnet_attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	if (machnet_listen(ch, g_opt.local_ip, g_opt.local_port) != 0) {
		fprintf(stderr, "msg_gen: listen on %s:%u: %s\n", g_opt.local_ip,
			g_opt.local_port, machnet_strerror(errno));
		return 1;
	}
	buf = malloc(MG_MAX_MSG);
	if (buf == NULL)
		return 1;
	printf("msg_gen: server listening on %s:%u, response size %u\n", g_opt.local_ip,
	       g_opt.local_port, g_opt.msg_size);
	fflush(stdout);
	t_last = now_ns();
	while (!atomic_load(&g_stop)) {
		MachnetFlow_t rx_flow, tx_flow;
		ssize_t n = machnet_recv(ch, buf, MG_MAX_MSG, &rx_flow);
		uint64_t seq;
		uint64_t t;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "msg_gen: recv: %s\n", machnet_strerror(errno));
			free(buf);
			return 1;
		}
		if (n == 0) {
			idle_step(&empty);
			t = now_ns();
			if (t - t_last >= 1000000000ull) {
				if (served != last_served)
					printf("msg_gen: server: %" PRIu64 " req/s\n", served - last_served);
				fflush(stdout);
				last_served = served;
				t_last = t;
			}
			continue;
		}
		empty = 0;
		/* The response goes back on the reverse of the flow it came on. */
		tx_flow.src_ip = rx_flow.dst_ip;
		tx_flow.dst_ip = rx_flow.src_ip;
		tx_flow.src_port = rx_flow.dst_port;
		tx_flow.dst_port = rx_flow.src_port;
		memcpy(&seq, buf, sizeof(seq));
		if ((size_t)n < MG_HEAD)
			seq = 0;
		/* Keep the request's head; pattern the rest for its seq. */
		if (g_opt.msg_size > (size_t)n || (size_t)n < MG_HEAD)
			fill_pattern(buf, (size_t)n < MG_HEAD ? (size_t)n : MG_HEAD, g_opt.msg_size, seq);
		while (machnet_send(ch, tx_flow, buf, g_opt.msg_size) != 0) {
			if (errno != EAGAIN || atomic_load(&g_stop)) {
				if (errno != EAGAIN)
					fprintf(stderr, "msg_gen: send: %s\n", machnet_strerror(errno));
				break;
			}
			idle_step(&empty);
		}
		served++;
	}
	free(buf);
	return 0;
}

/* ---------------------------------------------------------------- client */

struct mg_slot {
	uint64_t seq;
	uint64_t t_send;
	bool busy;
};

struct mg_thread {
	unsigned idx;
	pthread_t tid;
	void *ch;
	MachnetFlow_t flows[MG_MAX_FLOWS];
	unsigned nflows;
	struct mg_slot slot[MG_MAX_WINDOW];
	uint8_t *txbuf;
	uint8_t *rxbuf;
	uint64_t next_seq;
	uint64_t budget;		/* messages this thread may send; UINT64_MAX = unlimited */
	/* counters, read by the main thread (relaxed is enough: reports) */
	_Atomic uint64_t sent, received, mismatched, rx_bytes;
	/* per-second histogram handed to the reporter under the lock */
	struct mn_hist sec;
	struct mn_hist total;		/* after warm-up */
	uint64_t total_rx_after_warmup;
	int err;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mn_hist g_sec;		/* merged per-second histogram, under g_lock */
static uint64_t g_t0, g_warm_end;

static int send_request(struct mg_thread *t, unsigned s)
{
	uint64_t seq = t->next_seq;
	uint32_t slot = s, tix = t->idx;
	MachnetFlow_t f = t->flows[s % t->nflows];

	memcpy(t->txbuf, &seq, 8);
	memcpy(t->txbuf + 8, &slot, 4);
	memcpy(t->txbuf + 12, &tix, 4);
	if (g_opt.verify)
		fill_pattern(t->txbuf, MG_HEAD, g_opt.msg_size, seq);
	t->slot[s].seq = seq;
	t->slot[s].t_send = now_ns();
	if (machnet_send(t->ch, f, t->txbuf, g_opt.msg_size) != 0)
		return -errno;
	t->slot[s].busy = true;
	t->next_seq++;
	atomic_fetch_add_explicit(&t->sent, 1, memory_order_relaxed);
	return 0;
}

static void *client_thread(void *arg)
{
	struct mg_thread *t = arg;
	unsigned empty = 0, outstanding = 0;
	uint64_t stop_at = g_opt.duration > 0 ? g_t0 + (uint64_t)(g_opt.duration * 1e9) : UINT64_MAX;
	uint64_t drain_until = 0, last_flush = now_ns();
	bool sending = true;

	/* Fill the window. */
	for (unsigned s = 0; s < g_opt.window && t->budget > 0; s++) {
		int rc;

		while ((rc = send_request(t, s)) == -EAGAIN && !atomic_load(&g_stop))
			idle_step(&empty);
		if (rc != 0)
			break;
		t->budget--;
		outstanding++;
	}
	for (;;) {
		MachnetFlow_t fl;
		ssize_t n;
		uint64_t now = now_ns(), seq;
		uint32_t slot, tix;

		if (sending && (atomic_load(&g_stop) || now >= stop_at || t->budget == 0)) {
			sending = false;
			drain_until = now + (uint64_t)(g_opt.drain * 1e9);
		}
		if (!sending && (outstanding == 0 || now >= drain_until))
			break;
		if (now - last_flush >= 100000000ull) {	/* hand this slice to the reporter */
			pthread_mutex_lock(&g_lock);
			mn_hist_merge(&g_sec, &t->sec);
			pthread_mutex_unlock(&g_lock);
			mn_hist_reset(&t->sec);
			last_flush = now;
		}
		n = machnet_recv(t->ch, t->rxbuf, MG_MAX_MSG, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			t->err = errno;
			break;
		}
		if (n == 0) {
			idle_step(&empty);
			continue;
		}
		empty = 0;
		now = now_ns();
		if ((size_t)n < MG_HEAD) {
			atomic_fetch_add_explicit(&t->mismatched, 1, memory_order_relaxed);
			continue;
		}
		memcpy(&seq, t->rxbuf, 8);
		memcpy(&slot, t->rxbuf + 8, 4);
		memcpy(&tix, t->rxbuf + 12, 4);
		if (slot >= g_opt.window || tix != t->idx || !t->slot[slot].busy ||
		    t->slot[slot].seq != seq) {
			atomic_fetch_add_explicit(&t->mismatched, 1, memory_order_relaxed);
			continue;
		}
		/* The response size is the server's --msg_size: check its bytes, not its length. */
		if (g_opt.verify && !check_pattern(t->rxbuf, MG_HEAD, (size_t)n, seq))
			atomic_fetch_add_explicit(&t->mismatched, 1, memory_order_relaxed);
		t->slot[slot].busy = false;
		outstanding--;
		mn_hist_add(&t->sec, now - t->slot[slot].t_send);
		if (now >= g_warm_end) {
			mn_hist_add(&t->total, now - t->slot[slot].t_send);
			t->total_rx_after_warmup++;
		}
		atomic_fetch_add_explicit(&t->received, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->rx_bytes, (uint64_t)n, memory_order_relaxed);
		if (sending && t->budget > 0) {
			int rc;

			while ((rc = send_request(t, slot)) == -EAGAIN && !atomic_load(&g_stop))
				idle_step(&empty);
			if (rc == 0) {
				t->budget--;
				outstanding++;
			} else if (rc != -EAGAIN) {
				t->err = -rc;
				break;
			}
		}
	}
	pthread_mutex_lock(&g_lock);
	mn_hist_merge(&g_sec, &t->sec);
	pthread_mutex_unlock(&g_lock);
	mn_hist_reset(&t->sec);
	return NULL;
}

static void print_summary_json(FILE *f, const struct mn_hist *h, double secs, uint64_t sent,
			       uint64_t rcvd, uint64_t lost, uint64_t mism)
{
	fprintf(f,
		"{\n  \"msg_size\": %u,\n  \"msg_window\": %u,\n  \"flows\": %u,\n  \"threads\": %u,\n"
		"  \"measured_s\": %.3f,\n  \"rpc_per_s\": %.1f,\n"
		"  \"rtt_us\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"p9999\": %.3f, "
		"\"max\": %.3f, \"mean\": %.3f},\n"
		"  \"sent\": %" PRIu64 ",\n  \"received\": %" PRIu64 ",\n  \"lost\": %" PRIu64
		",\n  \"mismatched\": %" PRIu64 "\n}\n",
		g_opt.msg_size, g_opt.window, g_opt.flows, g_opt.threads, secs,
		secs > 0 ? (double)h->count / secs : 0.0,
		mn_hist_percentile(h, 50) / 1e3, mn_hist_percentile(h, 99) / 1e3,
		mn_hist_percentile(h, 99.9) / 1e3, mn_hist_percentile(h, 99.99) / 1e3,
		(h->count ? h->max : 0) / 1e3, mn_hist_mean(h) / 1e3, sent, rcvd, lost, mism);
}

static int run_client(void)
{
	static struct mg_thread th[MG_MAX_THREADS];
	static struct mn_hist total, sec;
	uint64_t prev_sent = 0, prev_rcvd = 0, prev_bytes = 0, t_prev, sent = 0, rcvd = 0, mism = 0;
	uint64_t per_thread = g_opt.msg_nr ? g_opt.msg_nr / g_opt.threads : UINT64_MAX;
	uint64_t t_end, warm_rx = 0;
	double secs;
	int rc = 0;
	unsigned running;

	for (unsigned i = 0; i < g_opt.threads; i++) {
		struct mg_thread *t = &th[i];

		t->idx = i;
		t->budget = per_thread;
		if (g_opt.msg_nr && i == 0)
			t->budget += g_opt.msg_nr % g_opt.threads;
		t->txbuf = malloc(g_opt.msg_size);
		t->rxbuf = malloc(MG_MAX_MSG);
		if (!t->txbuf || !t->rxbuf)
			return 1;
		memset(t->txbuf, 0, g_opt.msg_size);
		mn_hist_reset(&t->sec);
		mn_hist_reset(&t->total);
		t->ch = machnet_attach();
		if (t->ch == NULL) {
			fprintf(stderr, "msg_gen: machnet_attach: %s\n", machnet_strerror(errno));
			return 1;
		}
		t->nflows = g_opt.flows;
		for (unsigned f = 0; f < g_opt.flows; f++) {
			if (machnet_connect(t->ch, g_opt.local_ip, g_opt.remote_ip, g_opt.remote_port,
					    &t->flows[f]) != 0) {
				fprintf(stderr, "msg_gen: connect %s -> %s:%u: %s\n", g_opt.local_ip,
					g_opt.remote_ip, g_opt.remote_port, machnet_strerror(errno));
				return 1;
			}
		}
	}
	printf("msg_gen: client %s -> %s:%u, %u thread(s) x %u flow(s), window %u, %u B\n",
	       g_opt.local_ip, g_opt.remote_ip, g_opt.remote_port, g_opt.threads, g_opt.flows,
	       g_opt.window, g_opt.msg_size);
	fflush(stdout);
	g_t0 = now_ns();
	g_warm_end = g_t0 + (uint64_t)(g_opt.warmup * 1e9);
	mn_hist_reset(&g_sec);
	for (unsigned i = 0; i < g_opt.threads; i++)
		if (pthread_create(&th[i].tid, NULL, client_thread, &th[i]) != 0)
			return 1;

	t_prev = g_t0;
	for (;;) {
		uint64_t s = 0, r = 0, b = 0, now;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 50000000 };
		bool done;

		nanosleep(&ts, NULL);
		now = now_ns();
		running = 0;
		for (unsigned i = 0; i < g_opt.threads; i++)
			running += pthread_tryjoin_np(th[i].tid, NULL) == EBUSY;
		done = running == 0;
		if (now - t_prev < 1000000000ull && !done)
			continue;
		for (unsigned i = 0; i < g_opt.threads; i++) {
			s += atomic_load(&th[i].sent);
			r += atomic_load(&th[i].received);
			b += atomic_load(&th[i].rx_bytes);
		}
		pthread_mutex_lock(&g_lock);
		sec = g_sec;
		mn_hist_reset(&g_sec);
		pthread_mutex_unlock(&g_lock);
		{
			double dt = (double)(now - t_prev) / 1e9;

			printf("[%6.1fs] TX %9.0f msg/s  RX %9.0f msg/s  %6.3f Gbit/s  RTT us p50 %7.1f p99 %7.1f p99.9 %7.1f\n",
			       (double)(now - g_t0) / 1e9, (double)(s - prev_sent) / dt,
			       (double)(r - prev_rcvd) / dt, (double)(b - prev_bytes) * 8 / dt / 1e9,
			       mn_hist_percentile(&sec, 50) / 1e3, mn_hist_percentile(&sec, 99) / 1e3,
			       mn_hist_percentile(&sec, 99.9) / 1e3);
			fflush(stdout);
		}
		prev_sent = s;
		prev_rcvd = r;
		prev_bytes = b;
		t_prev = now;
		if (done)
			break;
	}
	t_end = now_ns();
	for (unsigned i = 0; i < g_opt.threads; i++) {
		/* pthread_tryjoin_np above already reaped every thread */
		mn_hist_merge(&total, &th[i].total);
		sent += atomic_load(&th[i].sent);
		rcvd += atomic_load(&th[i].received);
		mism += atomic_load(&th[i].mismatched);
		warm_rx += th[i].total_rx_after_warmup;
		if (th[i].err) {
			fprintf(stderr, "msg_gen: thread %u: %s\n", i, machnet_strerror(th[i].err));
			rc = 1;
		}
	}
	secs = t_end > g_warm_end ? (double)(t_end - g_warm_end) / 1e9 : 0;
	printf("msg_gen: summary (after %.1f s warm-up, %.2f s measured, %" PRIu64 " round trips)\n"
	       "  RTT us: p50 %.1f  p99 %.1f  p99.9 %.1f  p99.99 %.1f  max %.1f\n"
	       "  RPC/s: %.0f\n"
	       "  messages: sent %" PRIu64 "  received %" PRIu64 "  lost %" PRIu64 "  mismatched %" PRIu64 "\n",
	       g_opt.warmup, secs, warm_rx, mn_hist_percentile(&total, 50) / 1e3,
	       mn_hist_percentile(&total, 99) / 1e3, mn_hist_percentile(&total, 99.9) / 1e3,
	       mn_hist_percentile(&total, 99.99) / 1e3, (total.count ? total.max : 0) / 1e3,
	       secs > 0 ? (double)total.count / secs : 0.0, sent, rcvd, sent - rcvd, mism);
	if (g_opt.json) {
		FILE *f = fopen(g_opt.json, "w");

		if (f == NULL) {
			fprintf(stderr, "msg_gen: cannot write %s: %s\n", g_opt.json, strerror(errno));
			rc = 1;
		} else {
			print_summary_json(f, &total, secs, sent, rcvd, sent - rcvd, mism);
			fclose(f);
		}
	}
	if (sent != rcvd || mism != 0)
		rc = 1;
	return rc;
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
"usage: msg_gen --local_ip IP [--remote_ip IP] [options] [-- EAL args]\n"
"\n"
"Request-reply benchmark over machnet-mp. Without --remote_ip it is a server\n"
"that echoes each request with --msg_size bytes; with it, a client.\n"
"\n"
"  --local_ip IP        local IP of the machnetd interface to use (required)\n"
"  --remote_ip IP       server to connect to; absent = run as server\n"
"  --local_port N       server's listening port (default 888)\n"
"  --remote_port N      server port to connect to (default 888)\n"
"  --msg_size N         request (client) / response (server) size in bytes,\n"
"                       16 .. 8388608 (default 1024); also --tx_msg_size\n"
"  --msg_window N       requests in flight per client thread (default 1, max %d)\n"
"  --msg_nr N           total requests to send (default: unlimited)\n"
"  --duration S         stop sending after S seconds (default: until --msg_nr or SIGINT)\n"
"  --warmup S           seconds excluded from the summary (default 1)\n"
"  --flows N            flows per client thread, requests round-robin (default 1)\n"
"  --threads N          client threads, each with its own channel (default 1)\n"
"  --verify             check every byte of every response\n"
"  --json FILE          write the summary as JSON\n"
"  --busy               busy-poll (default: yield the CPU when idle)\n"
"  --idle_polls N       empty polls before each sched_yield() (default 1)\n"
"  --instance NAME      machnetd instance to attach to (default $MACHNET_INSTANCE or mn0)\n"
"  -h, --help           this text\n"
"\n"
"Arguments after -- are EAL arguments for the secondary process\n"
"(--proc-type=secondary --file-prefix=INSTANCE ...); without them msg_gen\n"
"builds its own. Exit status: 0 when every request was answered intact.\n",
		MG_MAX_WINDOW);
}

static int parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "msg_gen: --%s wants an integer in %" PRIu64 "..%" PRIu64 ", got '%s'\n",
			name, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *name, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || end == s || v < 0 || v > 1e6) {
		fprintf(stderr, "msg_gen: --%s wants seconds >= 0, got '%s'\n", name, s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_LIP = 256, O_RIP, O_LPORT, O_RPORT, O_SIZE, O_WIN, O_NR, O_VERIFY, O_DUR,
	       O_WARM, O_FLOWS, O_THREADS, O_JSON, O_BUSY, O_INST, O_IDLEP };
	static const struct option lo[] = {
		{ "local_ip", required_argument, NULL, O_LIP },
		{ "remote_ip", required_argument, NULL, O_RIP },
		{ "local_port", required_argument, NULL, O_LPORT },
		{ "remote_port", required_argument, NULL, O_RPORT },
		{ "msg_size", required_argument, NULL, O_SIZE },
		{ "tx_msg_size", required_argument, NULL, O_SIZE },
		{ "msg_window", required_argument, NULL, O_WIN },
		{ "msg_nr", required_argument, NULL, O_NR },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "json", required_argument, NULL, O_JSON },
		{ "busy", no_argument, NULL, O_BUSY },
		{ "idle_polls", required_argument, NULL, O_IDLEP },
		{ "instance", required_argument, NULL, O_INST },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_LIP: g_opt.local_ip = optarg; break;
		case O_RIP: g_opt.remote_ip = optarg; break;
		case O_LPORT:
			if (parse_u64("local_port", optarg, 1, 65535, &v)) return 2;
			g_opt.local_port = (uint16_t)v; break;
		case O_RPORT:
			if (parse_u64("remote_port", optarg, 1, 65535, &v)) return 2;
			g_opt.remote_port = (uint16_t)v; break;
		case O_SIZE:
			if (parse_u64("msg_size", optarg, MG_HEAD, MG_MAX_MSG, &v)) return 2;
			g_opt.msg_size = (uint32_t)v; break;
		case O_WIN:
			if (parse_u64("msg_window", optarg, 1, MG_MAX_WINDOW, &v)) return 2;
			g_opt.window = (uint32_t)v; break;
		case O_NR:
			if (parse_u64("msg_nr", optarg, 1, UINT64_MAX, &v)) return 2;
			g_opt.msg_nr = v; break;
		case O_VERIFY: g_opt.verify = true; break;
		case O_DUR: if (parse_secs("duration", optarg, &g_opt.duration)) return 2; break;
		case O_WARM: if (parse_secs("warmup", optarg, &g_opt.warmup)) return 2; break;
		case O_FLOWS:
			if (parse_u64("flows", optarg, 1, MG_MAX_FLOWS, &v)) return 2;
			g_opt.flows = (unsigned)v; break;
		case O_THREADS:
			if (parse_u64("threads", optarg, 1, MG_MAX_THREADS, &v)) return 2;
			g_opt.threads = (unsigned)v; break;
		case O_JSON: g_opt.json = optarg; break;
		case O_BUSY: g_opt.busy = true; break;
		case O_IDLEP:
			if (parse_u64("idle_polls", optarg, 0, 1000000, &v)) return 2;
			g_opt.idle_polls = (unsigned)v; break;
		case O_INST: setenv("MACHNET_INSTANCE", optarg, 1); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (g_opt.local_ip == NULL) {
		fprintf(stderr, "msg_gen: --local_ip is required (see --help)\n");
		return 2;
	}
	if (g_opt.msg_nr && g_opt.msg_nr < g_opt.threads) {
		fprintf(stderr, "msg_gen: --msg_nr must be at least --threads\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (optind < argc) {
		/* EAL arguments after "--": hand them over with a program name. */
		int ac = argc - optind + 1;

		argv[optind - 1] = argv[0];
		rc = machnet_init_eal(ac, &argv[optind - 1]);
	} else {
		rc = machnet_init();
	}
	if (rc < 0) {
		fprintf(stderr, "msg_gen: machnet init: %s\n", machnet_strerror(errno));
		return 1;
	}
	rc = g_opt.remote_ip ? run_client() : run_server();
	return rc;
}
