/* msg_gen: machnet-mp's request-reply benchmark (Machnet's msg_gen flags).
 *
 * Server (no --remote_ip): answers every request with --msg_size bytes on the
 * reverse flow. Client: keeps --msg_window requests in flight per thread,
 * spread over --flows flows, and measures each round trip from just before
 * the send to the receipt of its response. Every second it prints the rates
 * and that second's percentiles; at the end a summary over the run minus a
 * warm-up. The exit status is non-zero when a message was lost or
 * mismatched, at once when a flow is reset or times out (the client polls
 * its channel's events), and at the first response when the server speaks
 * neither layout.
 *
 * The layouts (mn_mgfmt.h) talk to Machnet's own msg_gen in both roles: the
 * window slot first, as Machnet's. Between two of ours the request also
 * carries a magic and a sequence number, the server echoes it, and --verify
 * checks every byte; against Machnet's server the client checks the slot
 * and Machnet's pattern, which is all that server sends.
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
#include "mn_mgfmt.h"

#define MG_MAX_THREADS 16
#define MG_MAX_FLOWS 256
#define MG_MAX_WINDOW 4096
#define MG_MAX_MSG (8u << 20)
/* Empty polls before yielding. Small: an app that shares its core with an
 * engine must hand the core over as soon as it waits, or the engine that
 * would bring its reply cannot run (each app poll is ~50-100 ns). */
#define MG_IDLE_POLLS 1
/* Loop turns between event polls while messages keep arriving (an idle
 * loop polls every turn): a reset on one of several flows is heard within
 * microseconds either way. */
#define MG_EVENT_EVERY 256

/* Exit statuses. */
#define MG_EXIT_LOSS 1		/* lost or mismatched messages, or an error */
#define MG_EXIT_USAGE 2
#define MG_EXIT_FLOW 3		/* a flow was reset or timed out, or a send failed */
#define MG_EXIT_FORMAT 4	/* the server's responses are in neither layout */

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
	/* requested layout: UNKNOWN = auto (server: by request; client: by the
	 * first response), MACHNET = Machnet's only, OURS = ours only (client) */
	enum mn_mgfmt_kind layout;
};

static struct mg_opts g_opt = {
	.local_port = 888, .remote_port = 888, .msg_size = 1024, .window = 1,
	.warmup = 1.0, .flows = 1, .threads = 1, .drain = 2.0, .idle_polls = MG_IDLE_POLLS,
};

static atomic_bool g_stop;
static atomic_bool g_abort;	/* a client thread failed: everyone stops at once */

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

static void fmt_flow(char *out, size_t len, const MachnetFlow_t *f)
{
	snprintf(out, len, "%u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", f->src_ip >> 24,
		 (f->src_ip >> 16) & 0xff, (f->src_ip >> 8) & 0xff, f->src_ip & 0xff, f->src_port,
		 f->dst_ip >> 24, (f->dst_ip >> 16) & 0xff, (f->dst_ip >> 8) & 0xff,
		 f->dst_ip & 0xff, f->dst_port);
}

/* One line on stderr for a flow event that ends the flow or loses a
 * message; returns whether ev was one. who: "" or "server: ". */
static bool report_flow_event(const char *who, const MachnetEvent_t *ev)
{
	char fl[64];

	fmt_flow(fl, sizeof(fl), &ev->flow);
	switch (ev->type) {
	case MACHNET_EV_RESET:
		if (ev->error == ETIMEDOUT)
			fprintf(stderr, "msg_gen: %sflow %s timed out (ETIMEDOUT): the peer stopped "
				"answering for longer than machnetd's retry budget\n", who, fl);
		else if (ev->error == ECONNRESET || ev->error == 0)
			fprintf(stderr, "msg_gen: %sflow %s was reset by the peer (ECONNRESET): the "
				"other app or its machnetd closed it\n", who, fl);
		else
			fprintf(stderr, "msg_gen: %sflow %s was reset: %s\n", who, fl,
				machnet_strerror(ev->error));
		break;
	case MACHNET_EV_SEND_FAILED:
		fprintf(stderr, "msg_gen: %sa message on flow %s was dropped: %s\n", who, fl,
			machnet_strerror(ev->error));
		break;
	default:
		return false;
	}
	fflush(stderr);
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

/* Events of the server's flows: a reset is a client going away (a client
 * that exits resets its flows), so it is reported and the server serves on.
 * Returns 0, or -1 when the channel failed (errno). */
static int server_events(void *ch)
{
	MachnetEvent_t ev;
	int r;

	for (unsigned k = 0; k < 64; k++) {
		r = machnet_poll_event(ch, &ev);
		if (r <= 0)
			return r;
		report_flow_event("server: ", &ev);
	}
	return 0;
}

static int run_server(void)
{
	void *ch;
	uint8_t *buf, *mresp;
	uint64_t served = 0, last_served = 0, t_last;
	unsigned empty = 0, turns = 0;
	bool seen[MN_MGFMT_OURS + 1] = { false };

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
	mresp = malloc(g_opt.msg_size);
	if (buf == NULL || mresp == NULL) {
		free(buf);
		free(mresp);
		return 1;
	}
	/* Machnet's server answers from one buffer of its pattern whose first
	 * 8 bytes are overwritten with each request's slot. */
	mn_mgfmt_fill_machnet(mresp, 0, g_opt.msg_size);
	printf("msg_gen: server listening on %s:%u, response size %u, layout %s\n", g_opt.local_ip,
	       g_opt.local_port, g_opt.msg_size,
	       g_opt.layout == MN_MGFMT_MACHNET ? "machnet (Machnet's server: slot echoed, its pattern)"
						 : "auto (mp requests echoed, others as Machnet's server)");
	fflush(stdout);
	t_last = now_ns();
	while (!atomic_load(&g_stop)) {
		MachnetFlow_t rx_flow, tx_flow;
		ssize_t n;
		enum mn_mgfmt_kind kind;
		const uint8_t *out;
		uint64_t t;

		if (++turns >= MG_EVENT_EVERY) {
			turns = 0;
			if (server_events(ch) < 0)
				goto channel_failed;
		}
		n = machnet_recv(ch, buf, MG_MAX_MSG, &rx_flow);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "msg_gen: recv: %s\n", machnet_strerror(errno));
			goto fail;
		}
		if (n == 0) {
			if (server_events(ch) < 0)
				goto channel_failed;
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
		kind = mn_mgfmt_classify_request(buf, (size_t)n);
		if (!seen[kind]) {
			char fl[64];

			seen[kind] = true;
			fmt_flow(fl, sizeof(fl), &tx_flow);
			if (kind == MN_MGFMT_UNKNOWN)
				printf("msg_gen: server: a %zd-byte request on %s is shorter than "
				       "a window slot; answered as Machnet's server would\n", n, fl);
			else
				printf("msg_gen: server: first request in %s layout on %s (%zd B)%s\n",
				       mn_mgfmt_name(kind), fl, n,
				       kind == MN_MGFMT_OURS && g_opt.layout == MN_MGFMT_MACHNET
					       ? ", answered in Machnet's layout (--layout machnet)" : "");
			fflush(stdout);
		}
		if (kind == MN_MGFMT_OURS && g_opt.layout != MN_MGFMT_MACHNET) {
			/* Both ends ours: echo the request, the sequence's pattern after it. */
			mn_mgfmt_answer_ours(buf, (size_t)n, g_opt.msg_size);
			out = buf;
		} else {
			mn_mgfmt_answer_machnet(mresp, buf, (size_t)n);
			out = mresp;
		}
		while (machnet_send(ch, tx_flow, out, g_opt.msg_size) != 0) {
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
	free(mresp);
	return 0;
channel_failed:
	fprintf(stderr, "msg_gen: server: events: %s\n", machnet_strerror(errno));
fail:
	free(buf);
	free(mresp);
	return 1;
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
	enum mn_mgfmt_kind expect;	/* the responses' layout, once known */
	/* counters, read by the main thread (relaxed is enough: reports) */
	_Atomic uint64_t sent, received, mismatched, rx_bytes;
	/* per-second histogram handed to the reporter under the lock */
	struct mn_hist sec;
	struct mn_hist total;		/* after warm-up */
	uint64_t total_rx_after_warmup;
	int err;			/* errno of a failed call, reported by main */
	int fail;			/* 0 or MG_EXIT_FLOW / MG_EXIT_FORMAT (reported here) */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mn_hist g_sec;		/* merged per-second histogram, under g_lock */
static uint64_t g_t0, g_warm_end;
static _Atomic int g_layout_seen = MN_MGFMT_UNKNOWN;	/* the first thread's finding */
static enum mn_mgfmt_kind g_req_kind;	/* what requests carry: OURS, or MACHNET */

static void fail_thread(struct mg_thread *t, int code)
{
	t->fail = code;
	atomic_store(&g_abort, true);
}

/* Polls the thread's events; a reset, timeout or dropped message fails the
 * thread at once (one line on stderr): its replies will never come.
 * Returns false when the thread must stop. */
static bool client_events(struct mg_thread *t)
{
	MachnetEvent_t ev;

	for (unsigned k = 0; k < 64; k++) {
		int r = machnet_poll_event(t->ch, &ev);

		if (r == 0)
			return true;
		if (r < 0) {
			t->err = errno;
			atomic_store(&g_abort, true);
			return false;
		}
		if (report_flow_event("", &ev)) {
			fail_thread(t, MG_EXIT_FLOW);
			return false;
		}
	}
	return true;
}

static int send_request(struct mg_thread *t, unsigned s)
{
	uint64_t seq = t->next_seq;
	MachnetFlow_t f = t->flows[s % t->nflows];

	/* Machnet's requests keep the pattern written once at start. */
	mn_mgfmt_request(t->txbuf, g_opt.msg_size, g_req_kind, s, seq,
			 g_req_kind == MN_MGFMT_OURS && g_opt.verify);
	t->slot[s].seq = seq;
	t->slot[s].t_send = now_ns();
	if (machnet_send(t->ch, f, t->txbuf, g_opt.msg_size) != 0)
		return -errno;
	t->slot[s].busy = true;
	t->next_seq++;
	atomic_fetch_add_explicit(&t->sent, 1, memory_order_relaxed);
	return 0;
}

/* send_request() until the channel takes it; events are polled while
 * waiting, so a dead flow ends the wait. -ECANCELED: stopped. */
static int send_wait(struct mg_thread *t, unsigned s, unsigned *empty)
{
	int rc;

	while ((rc = send_request(t, s)) == -EAGAIN) {
		if (atomic_load(&g_stop) || atomic_load(&g_abort) || !client_events(t))
			return -ECANCELED;
		idle_step(empty);
	}
	return rc;
}

/* The layout of the first response decides (or must match --layout); one
 * that fits neither is the wrong server, said once, and the run ends. */
static bool check_layout(struct mg_thread *t, const struct mn_mgfmt_reply *r, const uint8_t *p,
			 size_t n)
{
	int none = MN_MGFMT_UNKNOWN;

	if (r->kind != MN_MGFMT_UNKNOWN && (t->expect == MN_MGFMT_UNKNOWN || r->kind == t->expect)) {
		t->expect = r->kind;
		if (atomic_compare_exchange_strong(&g_layout_seen, &none, (int)r->kind)) {
			printf("msg_gen: server answers in %s layout: %s\n", mn_mgfmt_name(r->kind),
			       r->kind == MN_MGFMT_OURS
				       ? "machnet-mp msg_gen, every byte checked with --verify"
				       : "Machnet's msg_gen server (slot echoed), --verify checks "
					 "the slot and Machnet's pattern");
			fflush(stdout);
		}
		return true;
	}
	if (atomic_load_explicit(&t->received, memory_order_relaxed) > 0)
		return false;	/* a stray after good ones: counted as mismatched */
	fprintf(stderr,
		"msg_gen: the server's first response (%zu B, bytes 0..15: "
		"%02x %02x %02x %02x %02x %02x %02x %02x  %02x %02x %02x %02x %02x %02x %02x %02x) "
		"is %s; expected %s. Is the server a msg_gen (ours, or Machnet's)? See --layout "
		"in --help\n",
		n, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
		p[13], p[14], p[15],
		r->kind == MN_MGFMT_UNKNOWN ? "in neither msg_gen layout"
					    : r->kind == MN_MGFMT_OURS ? "in machnet-mp's layout"
								      : "in Machnet's layout",
		t->expect == MN_MGFMT_OURS ? "machnet-mp's layout (--layout mp)"
		: t->expect == MN_MGFMT_MACHNET ? "Machnet's layout (--layout machnet)"
						: "machnet-mp's or Machnet's layout");
	fflush(stderr);
	fail_thread(t, MG_EXIT_FORMAT);
	return false;
}

static void *client_thread(void *arg)
{
	struct mg_thread *t = arg;
	unsigned empty = 0, outstanding = 0, turns = 0;
	uint64_t stop_at = g_opt.duration > 0 ? g_t0 + (uint64_t)(g_opt.duration * 1e9) : UINT64_MAX;
	uint64_t drain_until = 0, last_flush = now_ns();
	bool sending = true;

	/* Fill the window. */
	for (unsigned s = 0; s < g_opt.window && t->budget > 0; s++) {
		int rc = send_wait(t, s, &empty);

		if (rc != 0) {
			if (rc != -ECANCELED)
				t->err = -rc;
			break;
		}
		t->budget--;
		outstanding++;
	}
	for (;;) {
		MachnetFlow_t fl;
		ssize_t n;
		uint64_t now = now_ns();
		struct mn_mgfmt_reply r;
		uint8_t small[16] = { 0 };

		if (atomic_load(&g_abort) || t->err)
			break;
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
		if (++turns >= MG_EVENT_EVERY) {
			turns = 0;
			if (!client_events(t))
				break;
		}
		n = machnet_recv(t->ch, t->rxbuf, MG_MAX_MSG, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			t->err = errno;
			break;
		}
		if (n == 0) {
			if (!client_events(t))
				break;
			idle_step(&empty);
			continue;
		}
		empty = 0;
		now = now_ns();
		mn_mgfmt_parse_reply(t->rxbuf, (size_t)n, &r);
		memcpy(small, t->rxbuf, (size_t)n < sizeof(small) ? (size_t)n : sizeof(small));
		if (!check_layout(t, &r, small, (size_t)n)) {
			if (t->fail)
				break;
			atomic_fetch_add_explicit(&t->mismatched, 1, memory_order_relaxed);
			continue;
		}
		if (r.slot >= g_opt.window || !t->slot[r.slot].busy ||
		    (r.kind == MN_MGFMT_OURS && t->slot[r.slot].seq != r.seq)) {
			atomic_fetch_add_explicit(&t->mismatched, 1, memory_order_relaxed);
			continue;
		}
		/* The response size is the server's --msg_size: check its bytes, not its length. */
		if (g_opt.verify && !mn_mgfmt_verify_reply(t->rxbuf, (size_t)n, &r))
			atomic_fetch_add_explicit(&t->mismatched, 1, memory_order_relaxed);
		t->slot[r.slot].busy = false;
		outstanding--;
		mn_hist_add(&t->sec, now - t->slot[r.slot].t_send);
		if (now >= g_warm_end) {
			mn_hist_add(&t->total, now - t->slot[r.slot].t_send);
			t->total_rx_after_warmup++;
		}
		atomic_fetch_add_explicit(&t->received, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->rx_bytes, (uint64_t)n, memory_order_relaxed);
		if (sending && t->budget > 0) {
			int rc = send_wait(t, (unsigned)r.slot, &empty);

			if (rc == 0) {
				t->budget--;
				outstanding++;
			} else if (rc != -ECANCELED) {
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

static const char *layout_summary(void)
{
	switch (atomic_load(&g_layout_seen)) {
	case MN_MGFMT_OURS:
		return g_opt.verify ? "mp (both ends machnet-mp: every byte verified)"
				    : "mp (both ends machnet-mp; --verify checks every byte)";
	case MN_MGFMT_MACHNET:
		return g_opt.verify ? "machnet (Machnet's server layout: slot and pattern verified)"
				    : "machnet (Machnet's server layout; --verify checks slot and pattern)";
	default:
		return "unknown (no valid response)";
	}
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
		",\n  \"mismatched\": %" PRIu64 ",\n  \"layout\": \"%s\"\n}\n",
		g_opt.msg_size, g_opt.window, g_opt.flows, g_opt.threads, secs,
		secs > 0 ? (double)h->count / secs : 0.0,
		mn_hist_percentile(h, 50) / 1e3, mn_hist_percentile(h, 99) / 1e3,
		mn_hist_percentile(h, 99.9) / 1e3, mn_hist_percentile(h, 99.99) / 1e3,
		(h->count ? h->max : 0) / 1e3, mn_hist_mean(h) / 1e3, sent, rcvd, lost, mism,
		mn_mgfmt_name((enum mn_mgfmt_kind)atomic_load(&g_layout_seen)));
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

	g_req_kind = g_opt.layout == MN_MGFMT_MACHNET ? MN_MGFMT_MACHNET : MN_MGFMT_OURS;
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
		if (g_req_kind == MN_MGFMT_MACHNET)	/* Machnet's client: its pattern, once */
			mn_mgfmt_request(t->txbuf, g_opt.msg_size, g_req_kind, 0, 0, true);
		t->expect = g_opt.layout;
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
	printf("msg_gen: client %s -> %s:%u, %u thread(s) x %u flow(s), window %u, %u B, "
	       "requests in %s layout\n",
	       g_opt.local_ip, g_opt.remote_ip, g_opt.remote_port, g_opt.threads, g_opt.flows,
	       g_opt.window, g_opt.msg_size, mn_mgfmt_name(g_req_kind));
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
			rc = rc ? rc : MG_EXIT_LOSS;
		}
		/* the failure itself was said when it happened */
		if (th[i].fail && (rc == 0 || rc == MG_EXIT_LOSS))
			rc = th[i].fail;
	}
	secs = t_end > g_warm_end ? (double)(t_end - g_warm_end) / 1e9 : 0;
	printf("msg_gen: summary (after %.1f s warm-up, %.2f s measured, %" PRIu64 " round trips)\n"
	       "  RTT us: p50 %.1f  p99 %.1f  p99.9 %.1f  p99.99 %.1f  max %.1f\n"
	       "  RPC/s: %.0f\n"
	       "  messages: sent %" PRIu64 "  received %" PRIu64 "  lost %" PRIu64 "  mismatched %" PRIu64 "\n"
	       "  layout: %s\n",
	       g_opt.warmup, secs, warm_rx, mn_hist_percentile(&total, 50) / 1e3,
	       mn_hist_percentile(&total, 99) / 1e3, mn_hist_percentile(&total, 99.9) / 1e3,
	       mn_hist_percentile(&total, 99.99) / 1e3, (total.count ? total.max : 0) / 1e3,
	       secs > 0 ? (double)total.count / secs : 0.0, sent, rcvd, sent - rcvd, mism,
	       layout_summary());
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
	if ((sent != rcvd || mism != 0) && rc == 0)
		rc = MG_EXIT_LOSS;
	if (atomic_load(&g_abort))
		fprintf(stderr, "msg_gen: stopped early, see above (exit status %d)\n", rc);
	return rc;
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
"usage: msg_gen --local_ip IP [--remote_ip IP] [options] [-- EAL args]\n"
"\n"
"Request-reply benchmark over machnet-mp. Without --remote_ip it is a server\n"
"that answers each request with --msg_size bytes; with it, a client.\n"
"It talks to Microsoft Machnet's msg_gen in both roles (see Layouts).\n"
"\n"
"  --local_ip IP        local IP of the machnetd interface to use (required)\n"
"  --remote_ip IP       server to connect to (default: none = run as server)\n"
"  --local_port N       server's listening port (default 888)\n"
"  --remote_port N      server port to connect to (default 888)\n"
"  --msg_size N         request (client) / response (server) size in bytes,\n"
"                       %d .. %u, or from %d with --layout machnet (default 1024);\n"
"                       also --tx_msg_size\n"
"  --msg_window N       requests in flight per client thread, 1 .. %d (default 1)\n"
"  --msg_nr N           total requests to send (default 0 = unlimited)\n"
"  --duration S         stop sending after S seconds (default 0 = until --msg_nr\n"
"                       or SIGINT)\n"
"  --warmup S           seconds excluded from the summary (default 1)\n"
"  --drain S            at the end, wait up to S seconds for outstanding\n"
"                       responses (default 2)\n"
"  --flows N            flows per client thread, requests round-robin, 1 .. %d\n"
"                       (default 1)\n"
"  --threads N          client threads, each with its own channel, 1 .. %d\n"
"                       (default 1)\n"
"  --verify             check the bytes of every response (default: off): all of\n"
"                       them when the server is ours, the slot and Machnet's\n"
"                       pattern when it is Machnet's\n"
"  --layout L           auto, machnet or mp (default auto); see Layouts\n"
"  --machnet_compat     the same as --layout machnet (also --machnet-compat)\n"
"  --json FILE          write the summary as JSON (default: none)\n"
"  --busy               busy-poll (default: off, yield the CPU when idle)\n"
"  --idle_polls N       empty polls before each sched_yield() (default %d)\n"
"  --instance NAME      machnetd instance to attach to (default $MACHNET_INSTANCE\n"
"                       or mn0)\n"
"  -h, --help           this text\n"
"\n"
"Layouts. Both put the client's window slot (uint64, host order) in bytes 0..7,\n"
"as Machnet's msg_gen does. Machnet's: every other byte i is (uint8_t)i, and\n"
"its server echoes only the slot. Ours (mp): bytes 8..15 are the magic\n"
"\"" MN_MGFMT_MAGIC "\", 16..23 a sequence number, then a pattern of it; our\n"
"server echoes such a request whole, so --verify checks every byte.\n"
"  client, auto:    sends ours; the first response tells which server answers\n"
"                   (ours echoes, Machnet's sends its pattern); a response in\n"
"                   neither layout ends the run with a message (exit 4)\n"
"  client, mp:      sends ours and requires our server (exit 4 otherwise)\n"
"  client, machnet: sends exactly Machnet's requests, expects Machnet's answers\n"
"  server, auto:    echoes our requests, answers any other as Machnet's server\n"
"  server, machnet: answers every request as Machnet's server does (a test\n"
"                   stand-in for it); mp is the same as auto on a server\n"
"\n"
"Flow events: the client polls its channel's events and stops at once when a\n"
"flow is reset (the server or its machnetd closed it) or times out (the peer\n"
"stopped answering), saying which; the server reports them and serves on (a\n"
"client that exits resets its flows).\n"
"\n"
"Arguments after -- are EAL arguments for the secondary process\n"
"(--proc-type=secondary --file-prefix=INSTANCE ...); without them msg_gen\n"
"builds its own.\n"
"Exit status: 0 every request answered intact; 1 lost or mismatched responses,\n"
"or an error; 2 bad options; 3 a flow was reset or timed out, or a send was\n"
"dropped; 4 the server's responses are in neither layout.\n",
		MN_MGFMT_HEAD, MG_MAX_MSG, MN_MGFMT_MIN_MACHNET, MG_MAX_WINDOW, MG_MAX_FLOWS,
		MG_MAX_THREADS, MG_IDLE_POLLS);
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
	       O_WARM, O_FLOWS, O_THREADS, O_JSON, O_BUSY, O_INST, O_IDLEP, O_DRAIN, O_LAYOUT,
	       O_COMPAT };
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
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "layout", required_argument, NULL, O_LAYOUT },
		{ "machnet_compat", no_argument, NULL, O_COMPAT },
		{ "machnet-compat", no_argument, NULL, O_COMPAT },
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
			if (parse_u64("msg_size", optarg, MN_MGFMT_MIN_MACHNET, MG_MAX_MSG, &v)) return 2;
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
		case O_DRAIN: if (parse_secs("drain", optarg, &g_opt.drain)) return 2; break;
		case O_LAYOUT:
			if (!strcmp(optarg, "auto")) {
				g_opt.layout = MN_MGFMT_UNKNOWN;
			} else if (!strcmp(optarg, "machnet")) {
				g_opt.layout = MN_MGFMT_MACHNET;
			} else if (!strcmp(optarg, "mp")) {
				g_opt.layout = MN_MGFMT_OURS;
			} else {
				fprintf(stderr, "msg_gen: --layout wants auto, machnet or mp, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case O_COMPAT: g_opt.layout = MN_MGFMT_MACHNET; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (g_opt.local_ip == NULL) {
		fprintf(stderr, "msg_gen: --local_ip is required (see --help)\n");
		return 2;
	}
	if (g_opt.layout != MN_MGFMT_MACHNET && g_opt.msg_size < MN_MGFMT_HEAD) {
		fprintf(stderr, "msg_gen: --msg_size must be at least %d (the head of our layout), "
			"or at least %d with --layout machnet\n", MN_MGFMT_HEAD, MN_MGFMT_MIN_MACHNET);
		return 2;
	}
	if (!g_opt.remote_ip && g_opt.layout == MN_MGFMT_OURS)
		g_opt.layout = MN_MGFMT_UNKNOWN;	/* a server's mp is its auto */
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
