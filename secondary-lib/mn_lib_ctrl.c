/* mn_lib_ctrl: channel handles and the control path. A control call sends
 * one request to machnetd over rte_mp, then waits on the channel's event
 * ring for the engine's answer (listen, connect, close) while setting other
 * events aside for machnet_poll_event().
 *
 * Handles: the value given to the app is not a pointer. It is
 *   bits 63..48  HANDLE_MAGIC
 *   bits 47..8   the attach's serial (process-wide, never reused)
 *   bits  7..0   the slot index in mn_lib_chans
 * and every call checks the serial against the slot's. A detached handle, or
 * one from before the slot was reused, is EBADF forever, so a second detach
 * can never detach another thread's channel; a value that never was a
 * handle is EBADF without being dereferenced.
 *
 * Misuse from two threads: each call takes the channel's busy flag with one
 * atomic exchange and fails with EBUSY if another thread holds it, so two
 * threads never run on one channel's single-producer rings at once.
 */
#include "mn_lib_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_pause.h>
#include <rte_ring_elem.h>

#include "mn_lib.h"
#include "mn_wake.h"

#define G mn_lib_g
#define HANDLE_MAGIC 0x6d6eull		/* "mn" */
#define SERIAL_MASK ((1ull << 40) - 1)
/* A reply needs a free slot in the event ring; below this many the ring is
 * drained into the stash before a request (see make_room_for_reply). */
#define EV_ROOM_MIN 8

_Static_assert(sizeof(uintptr_t) == 8, "handles encode 64 bits");
_Static_assert(MN_LIB_MAX_CHANS <= 256, "the slot index has 8 bits");

struct mn_lib_chan mn_lib_chans[MN_LIB_MAX_CHANS];
static uint64_t g_serial;	/* last serial handed out (G.lock) */

static void *handle_of(uint32_t idx, uint64_t serial)
{
	return (void *)(uintptr_t)(HANDLE_MAGIC << 48 | serial << 8 | idx);
}

struct mn_lib_chan *mn_lib_chan_enter(const void *handle, int *err)
{
	uint64_t v = (uint64_t)(uintptr_t)handle, serial = (v >> 8) & SERIAL_MASK;
	uint32_t idx = (uint32_t)(v & 0xff);
	struct mn_lib_chan *c;

	if (handle == NULL) {
		*err = EINVAL;
		return NULL;
	}
	if (v >> 48 != HANDLE_MAGIC || idx >= MN_LIB_MAX_CHANS || serial == 0) {
		*err = EBADF;
		return NULL;
	}
	c = &mn_lib_chans[idx];
	if (atomic_load_explicit(&c->serial, memory_order_acquire) != serial) {
		*err = EBADF;
		return NULL;
	}
	switch (atomic_load(&G.state)) {
	case MN_LIB_READY:
		break;
	case MN_LIB_BROKEN:
		*err = ESHUTDOWN;
		return NULL;
	default:
		*err = ENOTCONN;
		return NULL;
	}
	if (atomic_exchange_explicit(&c->busy, 1, memory_order_acquire) != 0) {
		*err = EBUSY;
		return NULL;
	}
	/* Detached between the first check and taking the flag. */
	if (atomic_load_explicit(&c->serial, memory_order_acquire) != serial) {
		mn_lib_chan_leave(c);
		*err = EBADF;
		return NULL;
	}
	return c;
}

/* ---------------- control requests ---------------- */

uint32_t mn_lib_next_req_id(void)
{
	uint32_t id;

	do
		id = atomic_fetch_add(&G.req_seq, 1) + 1;
	while (id == 0);
	return id;
}

/* One request, carrying descriptor fd (-1: none; the receiver gets its own
 * copy: rte_mp passes it with SCM_RIGHTS). */
static int ctrl_call_fd(struct mn_ctrl_req *req, struct mn_ctrl_rep *rep, int fd)
{
	struct rte_mp_msg msg;
	struct rte_mp_reply reply;
	struct timespec ts = { MN_LIB_CTRL_TIMEOUT_MS / 1000,
			       (MN_LIB_CTRL_TIMEOUT_MS % 1000) * 1000000L };
	int ret;

	req->abi_version = MN_ABI_VERSION;
	req->pid = getpid();
	req->slot = G.slot;
	req->slot_gen = G.slot_gen;
	memset(&msg, 0, sizeof(msg));
	snprintf(msg.name, sizeof(msg.name), "%s", MN_CTRL_ACTION);
	msg.len_param = sizeof(*req);
	memcpy(msg.param, req, sizeof(*req));
	if (fd >= 0) {
		msg.num_fds = 1;
		msg.fds[0] = fd;
	}
	memset(&reply, 0, sizeof(reply));
	/* DPDK keys pending requests by (peer, action name) and refuses a
	 * second one from the same process at once ("A pending request"):
	 * threads attaching or connecting together take turns here. Only the
	 * request and its immediate reply are serialised, not the waits for
	 * handshakes, which happen on each channel's own event ring. */
	pthread_mutex_lock(&G.ctrl_lock);
	ret = rte_mp_request_sync(&msg, &reply, &ts);
	pthread_mutex_unlock(&G.ctrl_lock);
	if (ret < 0 || reply.nb_received != 1) {
		free(reply.msgs);
		/* A dead primary refuses the connection at once. */
		return mn_lib_primary_dead() ? -ESHUTDOWN : -ETIMEDOUT;
	}
	if (reply.msgs[0].len_param != (int)sizeof(*rep)) {
		free(reply.msgs);
		return -EPROTO;
	}
	memcpy(rep, reply.msgs[0].param, sizeof(*rep));
	free(reply.msgs);
	if (rep->abi_version != MN_ABI_VERSION)
		return -EPROTO;
	return rep->status;
}

int mn_lib_ctrl_call(struct mn_ctrl_req *req, struct mn_ctrl_rep *rep)
{
	return ctrl_call_fd(req, rep, -1);
}

static void stash_event(struct mn_lib_chan *c, const struct mn_event *ev)
{
	if (c->pend_n == MN_LIB_PEND_EVENTS) {
		/* Oldest first out: an app that never polls events loses old
		 * ones, not the reply it is waiting for. */
		c->pend_head = (c->pend_head + 1) % MN_LIB_PEND_EVENTS;
		c->pend_n--;
	}
	c->pend[(c->pend_head + c->pend_n) % MN_LIB_PEND_EVENTS] = *ev;
	c->pend_n++;
}

/* An app that never polls events fills its event ring with ACCEPTED and
 * RESET events; machnetd then drops what it cannot post, the reply to our
 * next request included, and the call would wait out its timeout. Moving the
 * ring into the stash first (keeping the newest) leaves room for the reply. */
static void make_room_for_reply(struct mn_lib_chan *c)
{
	struct mn_event ev;
	unsigned guard;

	if (rte_ring_free_count(c->ev) >= EV_ROOM_MIN)
		return;
	for (guard = 0; guard < 65536; guard++) {
		if (rte_ring_dequeue_elem(c->ev, &ev, sizeof(ev)) != 0)
			break;
		if (ev.req_id == 0)
			stash_event(c, &ev);
	}
}

/* Waits for the reply event (type, req_id), setting other events aside.
 * Bounded by timeout_ms; fails early with ESHUTDOWN if machnetd dies. */
static int wait_event(struct mn_lib_chan *c, uint16_t type, uint32_t req_id,
		      uint32_t timeout_ms, struct mn_event *out)
{
	uint64_t deadline = mn_lib_now_ns() + (uint64_t)timeout_ms * 1000000ull, now;
	unsigned spins = 0;
	uint32_t seq0;

	for (;;) {
		struct mn_event ev;

		if (rte_ring_dequeue_elem(c->ev, &ev, sizeof(ev)) == 0) {
			if (ev.type == type && ev.req_id == req_id) {
				*out = ev;
				return 0;
			}
			if (ev.req_id == 0)
				stash_event(c, &ev);
			continue;	/* stale replies of timed-out requests are dropped */
		}
		if (++spins < 200) {
			rte_pause();
			continue;
		}
		spins = 0;
		now = mn_lib_now_ns();
		if (now > deadline)
			return -ETIMEDOUT;
		if (mn_lib_primary_dead())
			return -ESHUTDOWN;
		/* A handshake takes a round trip or more (a sleeping engine on
		 * either side adds up to its RX poll period): sleep until the
		 * engine posts an event (mn_wake.h), at most 10 ms at a time. */
		seq0 = mn_chan_sleep_begin(c->cs);
		if (rte_ring_count(c->ev) == 0)
			mn_chan_sleep_wait(c->cs, seq0, deadline - now < 10000000ull ?
					   deadline - now + 1 : 10000000ull);
		mn_chan_sleep_end(c->cs);
	}
}

/* ---------------- channels ---------------- */

static struct rte_ring *ring_of(uint32_t id, const char *kind)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), MN_RING_NAME_FMT, id, kind);
	return rte_ring_lookup(name);
}

/* Clears a slot for a new attach. busy is left alone: only a thread that
 * took it may clear it (a misusing thread may still be leaving). */
static void chan_clear(struct mn_lib_chan *c)
{
	c->id = c->gen = 0;
	c->tx = c->rx = c->fill = c->used = c->ev = NULL;
	c->cs = NULL;
	c->seg_room = 0;
	c->rxq_head = c->rxq_n = 0;
	c->usedq_n = 0;
	c->pend_head = c->pend_n = 0;
	c->next_probe_ns = 0;
	c->idle_calls = 0;
	c->ew = NULL;
	c->efd = -1;
	c->fd_used = c->fd_self = 0;
}

static void chan_release(struct mn_lib_chan *c)
{
	/* machnetd closes its copy when its engine has let the channel go. */
	if (c->efd >= 0)
		close(c->efd);
	c->efd = -1;
	c->fd_used = 0;
	pthread_mutex_lock(&G.lock);
	atomic_store_explicit(&c->serial, 0, memory_order_release);
	c->reserved = 0;
	pthread_mutex_unlock(&G.lock);
}

/* ATTACH with want = engine + 1, or 0 for machnetd's choice. */
static void *attach(uint32_t want)
{
	struct mn_lib_chan *c = NULL;
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	struct mn_event ev;
	uint64_t serial;
	uint32_t idx = 0;
	int ret, st = atomic_load(&G.state);

	if (st != MN_LIB_READY) {
		errno = st == MN_LIB_BROKEN ? ESHUTDOWN : ENOTCONN;
		return NULL;
	}
	pthread_mutex_lock(&G.lock);
	for (idx = 0; idx < MN_LIB_MAX_CHANS; idx++) {
		if (!mn_lib_chans[idx].reserved) {
			c = &mn_lib_chans[idx];
			c->reserved = 1;
			chan_clear(c);
			break;
		}
	}
	serial = g_serial = (g_serial + 1) & SERIAL_MASK;
	pthread_mutex_unlock(&G.lock);
	if (c == NULL) {
		errno = EMFILE;
		return NULL;
	}
	/* The channel fd (machnet_channel_fd) exists from the start: passing
	 * it later would need a request of its own. */
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_ATTACH;
	req.engine = want;
	req.req_id = mn_lib_next_req_id();
	ret = ctrl_call_fd(&req, &rep, c->efd);
	if (ret < 0)
		goto fail;
	c->id = rep.chan;
	c->gen = rep.chan_gen;
	c->tx = ring_of(c->id, MN_RING_TX);
	c->rx = ring_of(c->id, MN_RING_RX);
	c->fill = ring_of(c->id, MN_RING_FILL);
	c->used = ring_of(c->id, MN_RING_USED);
	c->ev = ring_of(c->id, MN_RING_EV);
	c->seg_room = G.seg_room;
	if (!c->tx || !c->rx || !c->fill || !c->used || !c->ev || rep.chan >= MN_MAX_CHANNELS) {
		ret = -EPROTO;
		goto fail_detach;
	}
	c->cs = &G.shm->chans[rep.chan];
	c->ew = rep.engine < MN_ABI_MAX_ENGINES ? &G.shm->wake[rep.engine] : NULL;
	/* The engine primes the fill ring before saying so: a send right
	 * after attach does not see an empty ring. */
	ret = wait_event(c, MN_EV_ATTACHED, req.req_id, MN_LIB_CTRL_TIMEOUT_MS, &ev);
	if (ret < 0)
		goto fail_detach;
	/* Published last: from here on the handle works. */
	atomic_store_explicit(&c->serial, serial, memory_order_release);
	return handle_of(idx, serial);
fail_detach:
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_DETACH;
	req.chan = rep.chan;
	req.chan_gen = rep.chan_gen;
	mn_lib_ctrl_call(&req, &rep);
fail:
	chan_release(c);
	errno = -ret;
	return NULL;
}

void *machnet_attach(void)
{
	return attach(0);
}

void *machnet_attach_engine(unsigned engine)
{
	int st = atomic_load(&G.state);

	if (st == MN_LIB_READY && (G.shm == NULL || engine >= G.shm->n_engines)) {
		errno = ENODEV;
		return NULL;
	}
	return attach(engine + 1);
}

int machnet_channel_engine(void *channel_ctx)
{
	int err, e;
	struct mn_lib_chan *c = mn_lib_chan_enter(channel_ctx, &err);

	if (c == NULL)
		return mn_lib_fail(err);
	e = (int)c->cs->engine;
	mn_lib_chan_leave(c);
	return e;
}

int machnet_engine_count(void)
{
	int st = atomic_load(&G.state);

	if (st != MN_LIB_READY)
		return mn_lib_fail(st == MN_LIB_BROKEN ? ESHUTDOWN : ENOTCONN);
	return (int)G.shm->n_engines;
}

int machnet_detach(void *channel_ctx)
{
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	struct mn_lib_chan *c;
	int ret, err;

	c = mn_lib_chan_enter(channel_ctx, &err);
	if (c == NULL)
		return mn_lib_fail(err);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_DETACH;
	req.chan = c->id;
	req.chan_gen = c->gen;
	req.req_id = mn_lib_next_req_id();
	ret = mn_lib_ctrl_call(&req, &rep);
	/* Whatever machnetd answered, this handle is finished: buffers still
	 * in our caches are reclaimed by the engine from its owner table. */
	chan_release(c);
	mn_lib_chan_leave(c);
	/* machnetd no longer knowing the channel (EBADF there) still ends it. */
	if (ret == -EBADF)
		ret = 0;
	return ret < 0 ? mn_lib_fail(-ret) : 0;
}

static int flow_request(struct mn_lib_chan *c, struct mn_ctrl_req *req, uint16_t ev_type,
			uint32_t timeout_ms, struct mn_event *ev)
{
	struct mn_ctrl_rep rep;
	int ret;

	make_room_for_reply(c);
	req->chan = c->id;
	req->chan_gen = c->gen;
	req->req_id = mn_lib_next_req_id();
	ret = mn_lib_ctrl_call(req, &rep);
	if (ret < 0)
		return ret;
	ret = wait_event(c, ev_type, req->req_id, timeout_ms, ev);
	if (ret < 0)
		return ret;
	return ev->status;
}

int machnet_listen(void *channel_ctx, const char *local_ip, uint16_t port)
{
	struct mn_ctrl_req req;
	struct mn_event ev;
	struct mn_lib_chan *c;
	uint32_t ip;
	int ret, err;

	if (mn_lib_parse_ip(local_ip, &ip) < 0 || port == 0)
		return mn_lib_fail(EINVAL);
	c = mn_lib_chan_enter(channel_ctx, &err);
	if (c == NULL)
		return mn_lib_fail(err);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_LISTEN;
	req.local_ip = ip;	/* 0: every address of machnetd */
	req.local_port = port;
	ret = flow_request(c, &req, MN_EV_LISTEN, MN_LIB_CTRL_TIMEOUT_MS, &ev);
	mn_lib_chan_leave(c);
	return ret < 0 ? mn_lib_fail(-ret) : 0;
}

/* A remote no flow can reach: not unicast, loopback (machnetd has no
 * loopback path), or one of machnetd's own addresses. */
static int unreachable(uint32_t rip)
{
	uint32_t i;

	if ((rip >> 24) == 0 || (rip >> 24) == 127 || rip >= 0xe0000000u)
		return 1;
	for (i = 0; i < G.n_ips; i++)
		if (G.ips[i] == rip)
			return 1;
	return 0;
}

int machnet_connect(void *channel_ctx, const char *local_ip, const char *remote_ip,
		    uint16_t remote_port, MachnetFlow_t *flow)
{
	struct mn_ctrl_req req;
	struct mn_event ev;
	struct mn_lib_chan *c;
	uint32_t lip, rip;
	int ret, err;

	if (mn_lib_parse_ip(local_ip, &lip) < 0 || mn_lib_parse_ip(remote_ip, &rip) < 0 ||
	    remote_port == 0 || flow == NULL)
		return mn_lib_fail(EINVAL);
	c = mn_lib_chan_enter(channel_ctx, &err);
	if (c == NULL)
		return mn_lib_fail(err);
	if (unreachable(rip)) {
		mn_lib_chan_leave(c);
		return mn_lib_fail(ENETUNREACH);
	}
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_CONNECT;
	req.local_ip = lip;
	req.remote_ip = rip;
	req.remote_port = remote_port;
	ret = flow_request(c, &req, MN_EV_CONNECTED,
			   G.shm->connect_timeout_ms + MN_LIB_CTRL_TIMEOUT_MS, &ev);
	mn_lib_chan_leave(c);
	/* A flow that ended before its handshake did, whatever ended it. */
	if (ret == -ECONNABORTED)
		ret = -ECONNRESET;
	if (ret < 0)
		return mn_lib_fail(-ret);
	flow->src_ip = ev.src_ip;
	flow->dst_ip = ev.dst_ip;
	flow->src_port = ev.src_port;
	flow->dst_port = ev.dst_port;
	return 0;
}

int machnet_close(void *channel_ctx, const MachnetFlow_t *flow)
{
	struct mn_ctrl_req req;
	struct mn_event ev;
	struct mn_lib_chan *c;
	int ret, err;

	if (flow == NULL)
		return mn_lib_fail(EINVAL);
	c = mn_lib_chan_enter(channel_ctx, &err);
	if (c == NULL)
		return mn_lib_fail(err);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_CLOSE;
	req.local_ip = flow->src_ip;
	req.remote_ip = flow->dst_ip;
	req.local_port = flow->src_port;
	req.remote_port = flow->dst_port;
	ret = flow_request(c, &req, MN_EV_CLOSED, MN_LIB_CTRL_TIMEOUT_MS, &ev);
	mn_lib_chan_leave(c);
	return ret < 0 ? mn_lib_fail(-ret) : 0;
}
