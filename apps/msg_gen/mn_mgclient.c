/* msg_gen's client: --threads threads, each with its own channel, keep
 * --msg_window requests in flight over --flows flows and time each round
 * trip; the main thread prints every second's rates and percentiles, then
 * the summary over the run minus the warm-up (and --json). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_hist.h"
#include "mn_mgfmt.h"
#include "mn_mgrun.h"

struct mg_slot {
	uint64_t seq;
	uint64_t t_send;
	bool busy;
};

struct mg_thread {
	unsigned idx;
	pthread_t tid;
	bool joined;			/* reaped by the main thread: its tid is gone */
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
		if (mn_mg_report_flow_event("", &ev)) {
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
	t->slot[s].t_send = mn_mg_now_ns();
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
		mn_mg_idle_step(empty);
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
	uint64_t drain_until = 0, last_flush = mn_mg_now_ns();
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
		uint64_t now = mn_mg_now_ns();
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
			mn_mg_recv_idle_step(t->ch, &empty);
			continue;
		}
		empty = 0;
		now = mn_mg_now_ns();
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

int mn_mg_run_client(void)
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
		t->ch = mn_mgrun_attach();
		if (t->ch == NULL)
			return 1;
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
	g_t0 = mn_mg_now_ns();
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
		now = mn_mg_now_ns();
		running = 0;
		for (unsigned i = 0; i < g_opt.threads; i++) {
			/* Once reaped, a thread's id must not be joined again (undefined
			 * behaviour: glibc went on answering EBUSY, and a client whose
			 * threads finished at different times never exited). */
			if (!th[i].joined)
				th[i].joined = pthread_tryjoin_np(th[i].tid, NULL) == 0;
			running += !th[i].joined;
		}
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
	t_end = mn_mg_now_ns();
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
