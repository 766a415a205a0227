/* mn-cost: the stack's own cost per message, without the scheduler.
 *
 * Both ends of a request-reply run in this one thread: two proto endpoints
 * (A serves, B is the client), each driven by an "engine" loop shaped like
 * machnetd's (primary/mn_engine.c, mn_transport.c: receive burst ->
 * mn_proto_rx, flush, channel service, sends from the channel's tx ring ->
 * mn_proto_sendv, mn_proto_poll, TX queue flush), and an "app" turn shaped
 * like libmachnet's data path (secondary-lib/mn_lib_data.c: buffers from the
 * fill ring, payload copied in and out, chains on the tx/rx/used rings). The
 * link between them is an in-memory queue of frames. Checksums are computed
 * and checked in software, as over memif (no offload).
 *
 * What is real: every line of proto (segmentation, headers, checksums, ACKs
 * coalesced and piggybacked, RTT/Swift, timers, reassembly, the flow hash).
 * What is a model, written here after the real code: buffers (a refcounted
 * mbuf-like struct, one pool, no atomics), the channel rings (single-thread
 * arrays, no atomics), the chain check (an index and owner compare, not the
 * object map), op_tx / op_deliver / send_msg (the same field work). The link
 * hands the frame's buffer itself to the peer (--copy-link copies it, as
 * memif's shared ring does): what the scheduler and the link cost is left
 * out on purpose; scripts/bench.sh measures those.
 *
 * It lives in test/tools, not apps/tools, because it links proto's internal
 * API, which apps/ may not include (test/style/check_includes.sh), and it is
 * a developer's benchmark run from the build tree (scripts/bench.sh --cost),
 * not something installed.
 *
 * Output: one line per case, then exactly
 *   cost: N ns per 1 KB request-reply
 *   cost: N ns per 64 KiB message
 * (1 flow), and --json FILE with every case.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "mn_proto.h"
#include "mn_wire.h"

#define ROOM		2176	/* an mbuf's default data room (128 + 2048) */
#define SEG_DATA_OFF	128	/* where the library puts a segment's payload */
#define BURST		32	/* rx_burst, tx ring burst */
#define RING_SLOTS	4096
#define FILL_TARGET	1024	/* buffers the engine keeps in a channel's fill ring */
#define MAX_SEGS	64	/* a 64 KiB message is 47 segments at MTU 1500 */
#define PORT		888
#define MAX_FLOWS	100000

/* ---------------- clock ---------------- */

static double g_ns_per_tick;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#ifdef HAVE_TSC
	return __rdtsc();
#else
	return mono_ns();
#endif
}

/* The TSC times the stack's work; ns per tick from CLOCK_MONOTONIC. */
static void clock_calibrate(void)
{
#ifdef HAVE_TSC
	uint64_t n0 = mono_ns(), t0 = ticks(), n1, t1;

	do
		n1 = mono_ns();
	while (n1 - n0 < 50000000ull);
	t1 = ticks();
	g_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
#else
	g_ns_per_tick = 1.0;
#endif
}

/* ---------------- buffers: an mbuf's fields that the path touches ---------------- */

struct cbuf {
	struct cbuf *next;	/* chain */
	struct cbuf *free_next;
	uint32_t refcnt;
	uint32_t pkt_len;
	uint16_t data_off, data_len, nb_segs;
	uint16_t owner;		/* channel tag while an app holds it */
	struct {
		uint32_t src_ip, dst_ip;
		uint16_t src_port, dst_port;
		uint32_t flow_id;
	} meta;
	uint8_t room[ROOM] __attribute__((aligned(64)));
};

static struct cbuf *g_pool;
static uint32_t g_pool_n;
static struct cbuf *g_free;
static long g_in_use;

static int pool_init(uint32_t n)
{
	g_pool = aligned_alloc(64, (size_t)n * sizeof(*g_pool));
	if (!g_pool)
		return -ENOMEM;
	g_pool_n = n;
	g_free = NULL;
	for (uint32_t i = n; i-- > 0;) {
		g_pool[i].free_next = g_free;
		g_free = &g_pool[i];
	}
	g_in_use = 0;
	return 0;
}

static inline struct cbuf *buf_alloc(void)
{
	struct cbuf *b = g_free;

	if (!b)
		return NULL;
	g_free = b->free_next;
	b->refcnt = 1;
	b->next = NULL;
	b->nb_segs = 1;
	b->data_off = SEG_DATA_OFF;
	b->data_len = 0;
	b->pkt_len = 0;
	g_in_use++;
	return b;
}

static inline void buf_free_seg(struct cbuf *b)
{
	if (--b->refcnt > 0)
		return;
	b->free_next = g_free;
	g_free = b;
	g_in_use--;
}

static void buf_free_chain(struct cbuf *b)
{
	while (b) {
		struct cbuf *n = b->next;

		buf_free_seg(b);
		b = n;
	}
}

static inline int buf_ours(const struct cbuf *b)
{
	return b >= g_pool && b < g_pool + g_pool_n;
}

/* ---------------- rings (single thread: no atomics) ---------------- */

struct ring {
	void *slot[RING_SLOTS];
	uint32_t head, tail;	/* head: next to take; tail: next to fill */
};

static inline unsigned ring_count(const struct ring *r)
{
	return r->tail - r->head;
}

static inline int ring_put(struct ring *r, void *p)
{
	if (r->tail - r->head == RING_SLOTS)
		return -ENOBUFS;
	r->slot[r->tail++ % RING_SLOTS] = p;
	return 0;
}

static inline unsigned ring_take(struct ring *r, void **p, unsigned n)
{
	unsigned k = 0;

	while (k < n && r->head != r->tail)
		p[k++] = r->slot[r->head++ % RING_SLOTS];
	return k;
}

/* ---------------- one stack: engine + app ---------------- */

struct xflow {			/* the glue's flow (struct mn_tr_flow) */
	struct mn_flow *f;
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint32_t id;
};

struct side {
	int id;
	uint16_t tag;		/* the channel's owner tag */
	struct mn_proto *ep;
	struct side *peer;
	struct ring link_in;	/* frames from the peer */
	struct ring txq;	/* frames waiting for the end of the loop */
	struct ring ch_tx, ch_rx, fill, used;
	uint64_t now, deadline;
	struct mn_seg segs[MAX_SEGS];
	struct xflow *xf;
	uint32_t nxf;
	uint64_t ticks;		/* time spent in this side's turns */
	/* app */
	int server;
	uint32_t msg_len;	/* what the server's app answers */
	uint64_t got_msgs, got_bytes;
	uint64_t app_errors;
	uint8_t *appbuf;	/* the app's own message buffer */
	/* the client's measured run (c_count 0: none): c_size-byte messages
	 * round-robin over c_nflows flows, c_window outstanding, until c_count
	 * were sent; *c_done - c_base have completed */
	const uint64_t *c_done;
	uint64_t c_base, c_count, c_sent;
	uint32_t c_window, c_size, c_nflows;
};

static int g_copy_link;
/* proto's clock. Virtual: it advances VSTEP_NS per engine loop, whatever
 * the loop cost, so proto behaves the same on a slow or preempted run and
 * under valgrind (a real clock there fires every delayed ACK and, at a
 * stall, RTOs). The stack's work is timed with the TSC. 500 ns: the goal's
 * cost of a side's turn. */
#define VSTEP_NS 500
static uint64_t g_vnow = 1000000000ull;
static struct side g_side[2];

static int op_tx(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len)
{
	struct side *s = ctx;
	struct cbuf *m = buf;

	(void)local;
	m->data_off = (uint16_t)(frame - m->room);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->nb_segs = 1;
	m->next = NULL;
	if (ring_put(&s->txq, m) < 0) {
		buf_free_seg(m);
		return -ENOBUFS;
	}
	return 0;
}

static void op_hold(void *ctx, void *buf)
{
	(void)ctx;
	((struct cbuf *)buf)->refcnt++;
}

static void op_release(void *ctx, void *buf)
{
	(void)ctx;
	buf_free_seg(buf);
}

static void *op_alloc(void *ctx, uint8_t **payload)
{
	struct cbuf *m = buf_alloc();

	(void)ctx;
	if (!m)
		return NULL;
	*payload = m->room + m->data_off;
	return m;
}

static int op_deliver(void *ctx, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
		      uint32_t nsegs, uint32_t msg_len)
{
	struct side *s = ctx;
	struct xflow *xf = cookie;
	struct cbuf *head = segs[0].buf, *m;

	(void)f;
	for (uint32_t i = 0; i < nsegs; i++) {
		m = segs[i].buf;
		m->data_off = (uint16_t)(segs[i].data - m->room);
		m->data_len = (uint16_t)segs[i].len;
		m->pkt_len = segs[i].len;
		m->nb_segs = 1;
		m->next = i + 1 < nsegs ? segs[i + 1].buf : NULL;
	}
	head->pkt_len = msg_len;
	if (xf == NULL) {
		buf_free_chain(head);
		return 0;
	}
	head->nb_segs = (uint16_t)nsegs;
	/* mn_chan_deliver: every segment is ours, becomes the channel's. */
	for (m = head; m; m = m->next) {
		if (!buf_ours(m))
			return -EINVAL;
		m->owner = s->tag;
	}
	head->meta.src_ip = xf->lip;
	head->meta.dst_ip = xf->rip;
	head->meta.src_port = xf->lport;
	head->meta.dst_port = xf->rport;
	head->meta.flow_id = xf->id;
	if (ring_put(&s->ch_rx, head) < 0) {
		for (m = head; m; m = m->next)
			m->owner = 0;
		return -ENOBUFS;
	}
	return 0;
}

static void op_event(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev, int err)
{
	struct side *s = ctx;
	struct mn_flow_info fi;
	struct xflow *xf;

	(void)cookie;
	(void)err;
	if (ev == MN_PROTO_EV_ACCEPTED || ev == MN_PROTO_EV_CONNECTED) {
		if (ev == MN_PROTO_EV_CONNECTED) {
			xf = cookie;
		} else {
			if (s->nxf >= MAX_FLOWS) {
				mn_proto_close(f, s->now);
				return;
			}
			xf = &s->xf[s->nxf];
			xf->id = ++s->nxf;
		}
		mn_flow_info(f, &fi);
		xf->f = f;
		xf->lip = fi.local_ip;
		xf->rip = fi.remote_ip;
		xf->lport = fi.local_port;
		xf->rport = fi.remote_port;
		mn_flow_set_cookie(f, xf);
		return;
	}
	if ((xf = cookie) != NULL)
		xf->f = NULL;
}

/* mn_chan_service: used chains back to the pool, the fill ring topped up. */
static unsigned chan_service(struct side *s)
{
	void *p[BURST];
	unsigned n, i, work = 0;

	while ((n = ring_take(&s->used, p, BURST)) > 0) {
		for (i = 0; i < n; i++) {
			for (struct cbuf *m = p[i]; m; m = m->next)
				m->owner = 0;
			buf_free_chain(p[i]);
		}
		work += n;
	}
	while (ring_count(&s->fill) < FILL_TARGET) {
		struct cbuf *m = buf_alloc();

		if (!m)
			break;
		m->owner = s->tag;
		ring_put(&s->fill, m);
		work++;
	}
	return work;
}

/* mn_chain_check's shape: ours, the channel's, lengths add up. */
static int chain_check(const struct side *s, const struct cbuf *head)
{
	const struct cbuf *m = head;
	uint32_t k, sum = 0;

	if (!buf_ours(head) || head->owner != s->tag || head->nb_segs == 0 ||
	    head->nb_segs > MAX_SEGS)
		return -EINVAL;
	for (k = 0; k < head->nb_segs; k++) {
		if (!m || !buf_ours(m) || m->owner != s->tag || m->data_len == 0 ||
		    m->data_off < MN_ALL_HLEN || m->data_off + m->data_len > ROOM)
			return -EINVAL;
		sum += m->data_len;
		if (k + 1 < head->nb_segs)
			m = m->next;
	}
	return m->next == NULL && sum == head->pkt_len ? 0 : -EINVAL;
}

/* poll_sends + mn_tr_take_msg + send_msg. */
static unsigned poll_sends(struct side *s)
{
	void *p[BURST];
	unsigned n = ring_take(&s->ch_tx, p, BURST), i;

	for (i = 0; i < n; i++) {
		struct cbuf *head = p[i], *m;
		struct mn_flow *f;
		uint32_t k = 0;

		if (chain_check(s, head) < 0) {
			s->app_errors++;
			continue;
		}
		for (m = head; m; m = m->next)
			m->owner = 0;
		f = mn_proto_find(s->ep, head->meta.src_ip, head->meta.src_port, head->meta.dst_ip,
				  head->meta.dst_port);
		if (!f || !mn_flow_cookie(f)) {
			s->app_errors++;
			buf_free_chain(head);
			continue;
		}
		for (m = head; m; m = m->next, k++) {
			s->segs[k].buf = m;
			s->segs[k].data = m->room + m->data_off;
			s->segs[k].len = m->data_len;
		}
		if (mn_proto_sendv(f, s->segs, k, s->now) < 0) {
			/* The real glue parks it; here a refusal is a bug of
			 * the benchmark's pacing. */
			s->app_errors++;
			buf_free_chain(head);
			continue;
		}
		for (uint32_t j = 0; j < k; j++) {
			m = s->segs[j].buf;
			m->next = NULL;
			m->nb_segs = 1;
			m->pkt_len = m->data_len;
		}
	}
	return n;
}

/* mn_txq_flush: the frames go onto the link. */
static void txq_flush(struct side *s)
{
	void *p[BURST];
	unsigned n, i;

	while ((n = ring_take(&s->txq, p, BURST)) > 0) {
		for (i = 0; i < n; i++) {
			struct cbuf *m = p[i], *w = m;

			if (g_copy_link) {
				/* memif: the frame is copied into the peer's buffer. */
				w = buf_alloc();
				if (w) {
					w->data_off = SEG_DATA_OFF;
					w->data_len = m->data_len;
					memcpy(w->room + w->data_off, m->room + m->data_off, m->data_len);
				}
				buf_free_seg(m);
				if (!w)
					continue;
			}
			if (ring_put(&s->peer->link_in, w) < 0)
				buf_free_seg(w);
		}
	}
}

/* ---------------- the app's side (mn_lib_data.c's shape) ---------------- */

/* machnet_send: a chain from the fill ring, payload copied in. */
static int app_send(struct side *s, const struct xflow *xf, uint32_t len)
{
	uint32_t mss = mn_proto_mss(s->ep), nseg = (len + mss - 1) / mss, k, off = 0;
	struct cbuf *m[MAX_SEGS];

	if (len == 0 || nseg > MAX_SEGS || ring_count(&s->fill) < nseg)
		return -EAGAIN;
	m[0] = NULL;	/* (for the compiler: the count was checked) */
	ring_take(&s->fill, (void **)m, nseg);
	for (k = 0; k < nseg; k++) {
		uint32_t l = len - off < mss ? len - off : mss;

		m[k]->data_off = SEG_DATA_OFF;
		m[k]->data_len = (uint16_t)l;
		m[k]->pkt_len = l;
		m[k]->nb_segs = 1;
		memcpy(m[k]->room + SEG_DATA_OFF, s->appbuf + off, l);
		m[k]->next = k + 1 < nseg ? m[k + 1] : NULL;
		off += l;
	}
	m[0]->pkt_len = len;
	m[0]->nb_segs = (uint16_t)nseg;
	m[0]->meta.src_ip = xf->lip;
	m[0]->meta.dst_ip = xf->rip;
	m[0]->meta.src_port = xf->lport;
	m[0]->meta.dst_port = xf->rport;
	m[0]->meta.flow_id = xf->id;
	if (ring_put(&s->ch_tx, m[0]) < 0) {
		s->app_errors++;
		return -ENOBUFS;
	}
	return 0;
}

/* machnet_recv: the chain's payload copied out, the chain on the used ring.
 * The server answers every message with msg_len bytes on its flow. */
static unsigned app_turn(struct side *s)
{
	void *p[BURST];
	unsigned n = ring_take(&s->ch_rx, p, BURST), i;

	for (i = 0; i < n; i++) {
		struct cbuf *head = p[i];
		uint32_t off = 0;

		for (struct cbuf *m = head; m; m = m->next) {
			if (off + m->data_len > MN_PROTO_MAX_MSG) {
				s->app_errors++;
				break;
			}
			memcpy(s->appbuf + off, m->room + m->data_off, m->data_len);
			off += m->data_len;
		}
		if (off != head->pkt_len)
			s->app_errors++;
		s->got_msgs++;
		s->got_bytes += off;
		if (s->server && s->msg_len) {
			struct xflow *xf = &s->xf[head->meta.flow_id - 1];

			if (app_send(s, xf, s->msg_len) < 0)
				s->app_errors++;
		}
		if (ring_put(&s->used, head) < 0)
			buf_free_chain(head);
	}
	return n;
}

/* The client's app keeps its window of messages outstanding. */
static void client_sends(struct side *s)
{
	while (s->c_sent < s->c_count && s->c_sent - (*s->c_done - s->c_base) < s->c_window) {
		if (app_send(s, &s->xf[s->c_sent % s->c_nflows], s->c_size) < 0)
			break;
		s->c_sent++;
	}
}

/* One loop of the side's engine, then its app's turn. Not inlined: a
 * profile can collect it alone (callgrind --toggle-collect=side_step). */
static __attribute__((noinline)) unsigned side_step(struct side *s)
{
	uint64_t t0 = ticks(), t1;
	void *p[BURST];
	unsigned n, i, work;

	s->now = g_vnow;
	g_vnow += VSTEP_NS;
	n = ring_take(&s->link_in, p, BURST);
	for (i = 0; i < n; i++) {
		struct cbuf *m = p[i];

		mn_proto_rx(s->ep, m, m->room + m->data_off, m->data_len, s->now);
	}
	if (n)
		mn_proto_flush(s->ep, s->now);
	chan_service(s);
	work = poll_sends(s);
	if (s->now >= s->deadline || work || n)
		s->deadline = mn_proto_poll(s->ep, s->now);
	txq_flush(s);
	work += n + app_turn(s);
	if (s->c_count)
		client_sends(s);
	t1 = ticks();
	s->ticks += t1 - t0;
	return work;
}

/* ---------------- setup ---------------- */

static int side_init(struct side *s, int id, uint32_t max_flows, struct side *peer)
{
	struct mn_proto_params pp;
	struct mn_proto_ops ops = {
		.ctx = s, .tx = op_tx, .hold = op_hold, .release = op_release,
		.alloc = op_alloc, .deliver = op_deliver, .event = op_event,
	};

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->tag = (uint16_t)(id + 1);
	s->peer = peer;
	s->server = id == 0;
	s->xf = calloc(MAX_FLOWS, sizeof(*s->xf));
	s->appbuf = malloc(MN_PROTO_MAX_MSG);
	if (!s->xf || !s->appbuf)
		return -ENOMEM;
	/* machnetd's transport parameters over memif (mn_transport_init):
	 * defaults, software checksums both ways. */
	mn_proto_params_default(&pp);
	pp.n_local = 1;
	pp.local[0].ip = id == 0 ? 0xc6120001u : 0xc6120002u;	/* 198.18.0.1 / .2 */
	memcpy(pp.local[0].mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, (uint8_t)(id + 1) }, 6);
	pp.close_timeout_ns = 500000000ull;
	pp.max_flows = max_flows;
	pp.tx_csum = MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP;
	pp.rx_check_csum = 1;
	s->now = g_vnow;
	s->ep = mn_proto_create(&pp, &ops, g_vnow);
	if (!s->ep)
		return -errno;
	s->deadline = 0;
	return 0;
}

static void side_fini(struct side *s)
{
	void *p[BURST];
	unsigned n, i;

	if (s->ep)
		mn_proto_destroy(s->ep);
	s->ep = NULL;
	struct ring *rings[] = { &s->link_in, &s->txq, &s->ch_tx, &s->ch_rx, &s->fill, &s->used };

	for (unsigned k = 0; k < sizeof(rings) / sizeof(rings[0]); k++)
		while ((n = ring_take(rings[k], p, BURST)) > 0)
			for (i = 0; i < n; i++)
				buf_free_chain(p[i]);
	free(s->xf);
	free(s->appbuf);
}

static void pump(unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		side_step(&g_side[1]);
		side_step(&g_side[0]);
	}
}

/* B opens nflows flows to A, in batches below proto's half-open bound. */
static int connect_flows(uint32_t nflows)
{
	struct side *a = &g_side[0], *b = &g_side[1];
	static const uint8_t amac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint32_t done = 0;

	if (mn_proto_listen(a->ep, 0, PORT, NULL) < 0)
		return -1;
	while (done < nflows) {
		uint32_t batch = nflows - done > 128 ? 128 : nflows - done;

		for (uint32_t i = 0; i < batch; i++) {
			struct xflow *xf = &b->xf[b->nxf];

			xf->id = ++b->nxf;
			if (!mn_proto_connect(b->ep, 0xc6120002u, 0xc6120001u, PORT, amac, xf,
					      b->now)) {
				fprintf(stderr, "mn-cost: connect %u: %s\n", done + i, strerror(errno));
				return -1;
			}
		}
		for (int k = 0; k < 10000; k++) {
			pump(1);
			uint32_t up = 0;

			for (uint32_t i = done; i < done + batch; i++)
				up += b->xf[i].f != NULL && b->xf[i].rport == PORT;
			if (up == batch && a->nxf == done + batch)
				break;
		}
		done += batch;
		if (a->nxf != done) {
			const struct mn_proto_stats *sa = mn_proto_stats(a->ep);

			fprintf(stderr, "mn-cost: only %u of %u flows accepted (A: %" PRIu64
				" frames in, %" PRIu64 " SYNs ignored)\n", a->nxf, done,
				sa->rx_frames, sa->rx_syn_ignored);
			return -1;
		}
	}
	return 0;
}

/* ---------------- cases ---------------- */

struct result {
	const char *kind;	/* "rr" or "msg" */
	uint32_t flows, size, count, window;
	double ns_total, ns_a, ns_b;	/* per request-reply / message */
	double wall_ns;			/* the same, wall clock (preemption included) */
	double frames_per, pure_acks_per, retransmits;
	long errors;
};

static void snap(uint64_t *frames, uint64_t *acks, uint64_t *rtx)
{
	*frames = *acks = *rtx = 0;
	for (int i = 0; i < 2; i++) {
		const struct mn_proto_stats *st = mn_proto_stats(g_side[i].ep);

		*frames += st->tx_frames;
		*acks += st->tx_acks;
		*rtx += st->retransmits;
	}
}

/* count request-replies of size bytes (or, reply 0, one-way messages),
 * window at a time, round-robin over the flows. */
static int run_case(struct result *r, uint32_t nflows, uint32_t size, uint32_t count,
		    uint32_t window, int reply)
{
	struct side *a = &g_side[0], *b = &g_side[1];
	uint64_t f0, a0, x0, f1, a1, x1, t0, t1, steps = 0, max_steps;
	uint64_t ta, tb, c0, c1;
	double per;

	memset(r, 0, sizeof(*r));
	a->msg_len = reply ? size : 0;
	/* Warm-up: one message (and its reply) per flow, one at a time, so
	 * that every flow's state has been touched once and the link is never
	 * flooded. */
	for (uint32_t i = 0; i < nflows; i++) {
		uint64_t wa = a->got_msgs + 1, wb = b->got_msgs + (reply ? 1 : 0);

		if (app_send(b, &b->xf[i], size) < 0) {
			fprintf(stderr, "mn-cost: no buffers for the warm-up\n");
			return -1;
		}
		for (int k = 0; k < 100000 && (a->got_msgs < wa || b->got_msgs < wb); k++)
			pump(1);
		if (a->got_msgs < wa || b->got_msgs < wb) {
			fprintf(stderr, "mn-cost: warm-up message %u was not delivered\n", i);
			return -1;
		}
	}
	snap(&f0, &a0, &x0);
	ta = a->ticks;
	tb = b->ticks;
	uint64_t base = reply ? b->got_msgs : a->got_msgs;
	uint64_t *done = reply ? &b->got_msgs : &a->got_msgs;
	max_steps = (uint64_t)count * 1000 + 1000000;
	/* The client's app sends in its own turn (client_sends). */
	b->c_done = done;
	b->c_base = base;
	b->c_count = count;
	b->c_window = window;
	b->c_size = size;
	b->c_nflows = nflows;
	b->c_sent = 0;
	c0 = cpu_ns();
	t0 = ticks();
	while (*done - base < count && steps < max_steps) {
		side_step(b);
		side_step(a);
		steps++;
	}
	t1 = ticks();
	c1 = cpu_ns();
	b->c_count = 0;
	snap(&f1, &a1, &x1);
	if (*done - base < count) {
		fprintf(stderr, "mn-cost: %" PRIu64 " of %u messages done\n", *done - base, count);
		return -1;
	}
	r->kind = reply ? "rr" : "msg";
	r->flows = nflows;
	r->size = size;
	r->count = count;
	r->window = window;
	/* The total is this thread's CPU time (time it was preempted on this
	 * shared machine left out); the TSC splits it between the sides. */
	r->ns_total = (double)(c1 - c0) / count;
	per = r->ns_total / (double)(t1 - t0);
	r->ns_a = (double)(a->ticks - ta) * per;
	r->ns_b = (double)(b->ticks - tb) * per;
	r->wall_ns = (double)(t1 - t0) * g_ns_per_tick / count;
	r->frames_per = (double)(f1 - f0) / count;
	r->pure_acks_per = (double)(a1 - a0) / count;
	r->retransmits = (double)(x1 - x0);
	r->errors = (long)(a->app_errors + b->app_errors);
	return 0;
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: mn-cost [--flows LIST] [--count N] [--count64 N] [--window W]\n"
		"               [--copy-link] [--only rr|msg] [--json FILE]\n"
		"  The stack's per-message cost in one thread (both ends, no scheduler):\n"
		"  1 KB request-replies and 64 KiB one-way messages between two proto\n"
		"  endpoints with machnetd's and libmachnet's buffer and ring handling\n"
		"  modelled around them.\n"
		"  --flows LIST  flow counts, round-robin (default 1,1000,10000; max %d)\n"
		"  --count N     1 KB request-replies per flow count (default 200000)\n"
		"  --count64 N   64 KiB messages per flow count (default 2000)\n"
		"  --window W    request-replies (messages) in flight (default 1)\n"
		"  --copy-link   the link copies each frame (as memif does); default: it\n"
		"                hands the buffer over, so only the stack is measured\n"
		"  --only KIND   only the request-replies (rr) or the 64 KiB messages (msg)\n"
		"  --json FILE   every case as JSON\n"
		"  Under valgrind --tool=callgrind --toggle-collect=side_step the profile\n"
		"  holds the stack's work alone.\n", MAX_FLOWS);
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *e;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || e == s || *e || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t flows[16] = { 1, 1000, 10000 }, nfl = 3, count = 200000, count64 = 2000,
		 window = 1;
	int do_rr = 1, do_msg = 1;
	const char *json = NULL;
	struct result res[32];
	unsigned nres = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--copy-link")) {
			g_copy_link = 1;
			continue;
		} else if (!v) {
			usage(stderr);
			return 1;
		}
		if (!strcmp(o, "--flows")) {
			char *dup = strdup(v), *save = NULL, *tok;

			nfl = 0;
			for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (nfl == 16 || parse_u32(tok, 1, MAX_FLOWS, &flows[nfl++]) < 0) {
					free(dup);
					fprintf(stderr, "mn-cost: bad --flows '%s'\n", v);
					return 1;
				}
			free(dup);
			if (nfl == 0) {
				fprintf(stderr, "mn-cost: bad --flows '%s'\n", v);
				return 1;
			}
		} else if (!strcmp(o, "--count")) {
			if (parse_u32(v, 1, 100000000, &count) < 0) {
				fprintf(stderr, "mn-cost: bad --count '%s'\n", v);
				return 1;
			}
		} else if (!strcmp(o, "--count64")) {
			if (parse_u32(v, 1, 10000000, &count64) < 0) {
				fprintf(stderr, "mn-cost: bad --count64 '%s'\n", v);
				return 1;
			}
		} else if (!strcmp(o, "--window")) {
			if (parse_u32(v, 1, 64, &window) < 0) {
				fprintf(stderr, "mn-cost: bad --window '%s' (1..64)\n", v);
				return 1;
			}
		} else if (!strcmp(o, "--only")) {
			do_rr = !strcmp(v, "rr");
			do_msg = !strcmp(v, "msg");
			if (!do_rr && !do_msg) {
				fprintf(stderr, "mn-cost: bad --only '%s' (rr or msg)\n", v);
				return 1;
			}
		} else if (!strcmp(o, "--json")) {
			json = v;
		} else {
			usage(stderr);
			return 1;
		}
		i++;
	}
	clock_calibrate();
	for (uint32_t k = 0; k < nfl && rc == 0; k++) {
		/* Buffers: both fill rings, what is in flight (at most 64
		 * messages of 47 segments) and a few per flow (held ACKed data
		 * waiting for release, undelivered RX). */
		uint32_t nbuf = 2 * FILL_TARGET + 16384 + flows[k] * 4;

		if (pool_init(nbuf) < 0 || side_init(&g_side[0], 0, flows[k] + 16, &g_side[1]) < 0 ||
		    side_init(&g_side[1], 1, flows[k] + 16, &g_side[0]) < 0) {
			fprintf(stderr, "mn-cost: setup failed\n");
			return 1;
		}
		if (connect_flows(flows[k]) < 0) {
			rc = 1;
		} else if (do_rr && run_case(&res[nres], flows[k], 1024, count, window, 1) < 0) {
			rc = 1;
		} else if (do_rr) {
			struct result *r = &res[nres++];

			printf("cost: flows=%u rr size=1024 window=%u: %.0f ns per request-reply "
			       "(server side %.0f, client side %.0f), %.2f frames, %.2f pure ACKs, "
			       "%.0f retransmits, %ld errors\n", r->flows, r->window, r->ns_total,
			       r->ns_a, r->ns_b, r->frames_per, r->pure_acks_per, r->retransmits,
			       r->errors);
			if (r->errors)
				rc = 1;
		}
		if (rc == 0 && do_msg) {
			if (run_case(&res[nres], flows[k], 65536, count64, window, 0) < 0) {
				rc = 1;
			} else {
				struct result *r = &res[nres++];

				printf("cost: flows=%u msg size=65536 window=%u: %.0f ns per message "
				       "(receiver %.0f, sender %.0f), %.2f frames, %.2f pure ACKs, "
				       "%.0f retransmits, %ld errors\n", r->flows, r->window,
				       r->ns_total, r->ns_a, r->ns_b, r->frames_per,
				       r->pure_acks_per, r->retransmits, r->errors);
				if (r->errors)
					rc = 1;
			}
		}
		fflush(stdout);
		side_fini(&g_side[1]);
		side_fini(&g_side[0]);
		if (g_in_use != 0) {
			fprintf(stderr, "mn-cost: %ld buffers not returned\n", g_in_use);
			rc = 1;
		}
		free(g_pool);
		g_pool = NULL;
	}
	if (rc)
		return rc;
	/* The headline: the first flow count (1 by default). */
	for (unsigned i = 0; i < nres; i++)
		if (!strcmp(res[i].kind, "rr") && res[i].flows == res[0].flows) {
			printf("cost: %.0f ns per 1 KB request-reply\n", res[i].ns_total);
			break;
		}
	for (unsigned i = 0; i < nres; i++)
		if (!strcmp(res[i].kind, "msg") && res[i].flows == res[0].flows) {
			printf("cost: %.0f ns per 64 KiB message\n", res[i].ns_total);
			break;
		}
	if (json) {
		FILE *f = fopen(json, "w");

		if (!f) {
			fprintf(stderr, "mn-cost: %s: %s\n", json, strerror(errno));
			return 1;
		}
		fprintf(f, "{\"tool\": \"mn-cost\", \"copy_link\": %s, \"window\": %u, \"cases\": [",
			g_copy_link ? "true" : "false", window);
		for (unsigned i = 0; i < nres; i++)
			fprintf(f, "%s\n  {\"kind\": \"%s\", \"flows\": %u, \"size\": %u, \"count\": %u, "
				"\"ns_total\": %.1f, \"ns_server\": %.1f, \"ns_client\": %.1f, \"wall_ns\": %.1f, "
				"\"frames\": %.3f, \"pure_acks\": %.3f, \"retransmits\": %.0f}",
				i ? "," : "", res[i].kind, res[i].flows, res[i].size, res[i].count,
				res[i].ns_total, res[i].ns_a, res[i].ns_b, res[i].wall_ns,
				res[i].frames_per, res[i].pure_acks_per, res[i].retransmits);
		fprintf(f, "\n]}\n");
		if (fclose(f) != 0) {
			fprintf(stderr, "mn-cost: %s: write failed\n", json);
			return 1;
		}
	}
	return 0;
}
