/* mn_lib_data: the data path of libmachnet: send (copying and zero-copy),
 * receive, events. No locks, no malloc, no syscalls except a rate-limited
 * liveness probe of machnetd while a call finds nothing to do. Every call
 * enters its channel (mn_lib_chan_enter: handle check and busy flag) and
 * leaves it on every return.
 */
#include "mn_lib_int.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mn_lib.h"

#define G mn_lib_g
#define RX_CACHE MN_LIB_RX_CACHE
#define USED_BATCH MN_LIB_USED_BATCH
#define PEND_EVENTS MN_LIB_PEND_EVENTS

/* Enters the channel behind handle h as c, or returns -1 with errno. */
#define ENTER_OR_FAIL(c, h) \
	int err_; \
	struct mn_lib_chan *c = mn_lib_chan_enter((h), &err_); \
	if (c == NULL) \
		return mn_lib_fail(err_)

/* Leaves c and returns r (errno, set before, is kept). */
static inline int leave_ret(struct mn_lib_chan *c, int r)
{
	mn_lib_chan_leave(c);
	return r;
}


static inline struct mn_msg_meta *meta_of(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, G.meta_off, struct mn_msg_meta *);
}

/* Returns unsent buffers m[0..n) to the engine as one well-formed chain, so
 * the engine's checks accept it. */
static void give_back(struct mn_lib_chan *c, struct rte_mbuf **m, unsigned n)
{
	unsigned i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		m[i]->data_off = MN_SEG_DATA_OFF;
		m[i]->data_len = 1;
		m[i]->nb_segs = 1;
		m[i]->pkt_len = 1;
		m[i]->next = i + 1 < n ? m[i + 1] : NULL;
	}
	m[0]->pkt_len = n;
	m[0]->nb_segs = (uint16_t)n;
	/* If the ring is full the buffers stay counted against the channel and
	 * return to the pool when it closes. */
	rte_ring_enqueue(c->used, m[0]);
}

/* Takes nseg buffers from the fill ring and links them into a chain whose
 * segments hold the sizes of a len-byte message. The caller checked the fill
 * count, so every dequeue succeeds. */
static struct rte_mbuf *take_chain(struct mn_lib_chan *c, size_t len, uint32_t nseg)
{
	struct rte_mbuf *head = NULL, *prev = NULL, *m[32];
	uint32_t done = 0;
	size_t left = len;

	while (done < nseg) {
		unsigned want = nseg - done > 32 ? 32 : nseg - done, got, i;

		got = rte_ring_dequeue_burst(c->fill, (void **)m, want, NULL);
		if (got == 0) {
			/* Not reachable while the engine follows the ABI; keeps a
			 * misbehaving peer from looping us forever. */
			if (head)
				give_back(c, &head, 1);
			return NULL;
		}
		for (i = 0; i < got; i++) {
			uint32_t seg = left > c->seg_room ? c->seg_room : (uint32_t)left;

			m[i]->data_off = MN_SEG_DATA_OFF;
			m[i]->data_len = (uint16_t)seg;
			m[i]->pkt_len = seg;
			m[i]->nb_segs = 1;
			m[i]->next = NULL;
			left -= seg;
			if (prev)
				prev->next = m[i];
			else
				head = m[i];
			prev = m[i];
		}
		done += got;
	}
	head->pkt_len = (uint32_t)len;
	head->nb_segs = (uint16_t)nseg;
	return head;
}

static void flush_used(struct mn_lib_chan *c);

/* Checks room for one more message (pending already built but not queued)
 * and nseg buffers; asks the engine for more buffers when short. */
static int have_room(struct mn_lib_chan *c, unsigned pending, uint32_t nseg)
{
	if (rte_ring_free_count(c->tx) <= pending)
		return -EAGAIN;
	if (rte_ring_count(c->fill) < nseg) {
		/* Received messages we are done with may be what the pool
		 * lacks (an echo of a large message): hand them back now,
		 * not at the next idle receive. */
		flush_used(c);
		if (c->cs->fill_want < nseg) {
			c->cs->fill_want = nseg;
			mn_lib_wake_engine(c);
		}
		return -EAGAIN;
	}
	return 0;
}

static void set_meta(struct mn_lib_chan *c, struct rte_mbuf *head, const MachnetFlow_t *f,
		     uint16_t flags)
{
	struct mn_msg_meta *md = meta_of(head);

	md->src_ip = f->src_ip;
	md->dst_ip = f->dst_ip;
	md->src_port = f->src_port;
	md->dst_port = f->dst_port;
	md->flow_id = 0;
	md->flags = flags;
	md->chan = (uint16_t)c->id;
}

/* True when the engine says f's send buffer is full (mn_abi.h, n_blocked):
 * the send fails with EAGAIN before it takes a buffer. One load when no
 * flow of the channel is blocked. */
static bool flow_blocked(const struct mn_chan_shm *cs, const MachnetFlow_t *f)
{
	uint32_t n = __atomic_load_n(&cs->n_blocked, __ATOMIC_ACQUIRE);

	if (likely(n == 0))
		return false;
	if (n > MN_CHAN_BLOCKED_MAX)
		n = MN_CHAN_BLOCKED_MAX;
	for (uint32_t i = 0; i < n; i++) {
		const struct mn_flow_key *k = &cs->blocked[i];

		if (k->lport == f->src_port && k->rport == f->dst_port && k->rip == f->dst_ip &&
		    k->lip == f->src_ip)
			return true;
	}
	return false;
}

/* Builds one message (checked msghdr) into a chain. */
static int build_msg(struct mn_lib_chan *c, const MachnetMsgHdr_t *h, unsigned pending,
		     struct rte_mbuf **out)
{
	uint32_t nseg = mn_lib_nsegs(h->msg_size, c->seg_room);
	struct rte_mbuf *head, *m;
	size_t iov = 0, iov_off = 0;
	int ret;

	if (flow_blocked(c->cs, &h->flow_info))
		return -EAGAIN;
	ret = have_room(c, pending, nseg);
	if (ret < 0)
		return ret;
	head = take_chain(c, h->msg_size, nseg);
	if (head == NULL)
		return -EAGAIN;
	for (m = head; m != NULL; m = m->next) {
		uint8_t *dst = rte_pktmbuf_mtod(m, uint8_t *);
		uint32_t need = m->data_len;

		while (need > 0) {
			const MachnetIovec_t *v = &h->msg_iov[iov];
			size_t n = v->len - iov_off;

			if (n == 0) {
				iov++;
				iov_off = 0;
				continue;
			}
			if (n > need)
				n = need;
			memcpy(dst, (const uint8_t *)v->base + iov_off, n);
			dst += n;
			need -= (uint32_t)n;
			iov_off += n;
		}
	}
	set_meta(c, head, &h->flow_info, h->flags);
	if (c->cs->fill_want)
		c->cs->fill_want = 0;
	*out = head;
	return 0;
}

static int send_fail(struct mn_lib_chan *c, int err)
{
	if (err == EAGAIN && mn_lib_idle_probe(c) < 0)
		err = ESHUTDOWN;
	return mn_lib_fail(err);
}

int machnet_sendmsg(const void *channel_ctx, const MachnetMsgHdr_t *msghdr)
{
	struct rte_mbuf *head;
	int ret = mn_lib_check_msghdr(msghdr);

	if (ret < 0)
		return mn_lib_fail(-ret);
	ENTER_OR_FAIL(c, channel_ctx);
	ret = build_msg(c, msghdr, 0, &head);
	if (ret < 0)
		return leave_ret(c, send_fail(c, -ret));
	/* Room was checked and we are the only producer. */
	rte_ring_enqueue(c->tx, head);
	mn_lib_wake_engine(c);
	return leave_ret(c, 0);
}

int machnet_send(const void *channel_ctx, MachnetFlow_t flow, const void *buf, size_t len)
{
	MachnetIovec_t iov;
	MachnetMsgHdr_t h;
	int ret;

	if (buf == NULL)
		return mn_lib_fail(EINVAL);
	ret = mn_lib_check_size(len);
	if (ret < 0)
		return mn_lib_fail(-ret);
	iov.base = (void *)(uintptr_t)buf;
	iov.len = len;
	h.msg_size = (uint32_t)len;
	h.flow_info = flow;
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	h.flags = 0;
	return machnet_sendmsg(channel_ctx, &h);
}

int machnet_sendmmsg(const void *channel_ctx, const MachnetMsgHdr_t *msghdr_iovec, int vlen)
{
	struct rte_mbuf *heads[32];
	int sent = 0, err = 0;

	if (msghdr_iovec == NULL || vlen < 0)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	while (sent < vlen && err == 0) {
		unsigned k = 0;

		while (k < RTE_DIM(heads) && sent + (int)k < vlen) {
			int ret = mn_lib_check_msghdr(&msghdr_iovec[sent + k]);

			if (ret == 0)
				ret = build_msg(c, &msghdr_iovec[sent + k], k, &heads[k]);
			if (ret < 0) {
				err = -ret;
				break;
			}
			k++;
		}
		if (k) {
			rte_ring_enqueue_burst(c->tx, (void **)heads, k, NULL);
			mn_lib_wake_engine(c);
		}
		sent += (int)k;
	}
	if (sent < vlen) {
		if (err == EAGAIN && mn_lib_idle_probe(c) < 0) {
			if (sent == 0)
				return leave_ret(c, mn_lib_fail(ESHUTDOWN));
			err = ESHUTDOWN;
		}
		errno = err;
	}
	return leave_ret(c, sent);
}

static void flush_used(struct mn_lib_chan *c)
{
	unsigned n;

	if (c->usedq_n == 0)
		return;
	n = rte_ring_enqueue_burst(c->used, (void **)c->usedq, c->usedq_n, NULL);
	if (n < c->usedq_n)
		memmove(c->usedq, c->usedq + n, (c->usedq_n - n) * sizeof(c->usedq[0]));
	c->usedq_n -= n;
}

/* Next received head, or NULL. Keeps room to give it back later: a message
 * is not taken while the return batch is full. */
static struct rte_mbuf *next_rx(struct mn_lib_chan *c)
{
	if (c->usedq_n == USED_BATCH) {
		flush_used(c);
		if (c->usedq_n == USED_BATCH)
			return NULL;
	}
	if (c->rxq_n == 0) {
		c->rxq_head = 0;
		c->rxq_n = rte_ring_dequeue_burst(c->rx, (void **)c->rxq, RX_CACHE, NULL);
		if (c->rxq_n == 0) {
			/* Idle: a good moment to hand buffers back. */
			flush_used(c);
			if (c->fd_used)
				mn_lib_fd_arm(c);
			return NULL;
		}
	}
	c->rxq_n--;
	return c->rxq[c->rxq_head++];
}

static void release_rx(struct mn_lib_chan *c, struct rte_mbuf *head)
{
	c->usedq[c->usedq_n++] = head;
	if (c->usedq_n == USED_BATCH)
		flush_used(c);
}

/* The engine writes a delivered message's meta from the receiver's side
 * (src = local end, as for sending); Machnet programs expect src to name the
 * sender and reply on the swapped flow, so the flow is turned around here. */
static void flow_of(struct rte_mbuf *head, MachnetFlow_t *f)
{
	const struct mn_msg_meta *md = meta_of(head);

	f->src_ip = md->dst_ip;
	f->dst_ip = md->src_ip;
	f->src_port = md->dst_port;
	f->dst_port = md->src_port;
}

/* 1: message copied; 0: none; -errno. */
static int recv_into(struct mn_lib_chan *c, MachnetMsgHdr_t *h)
{
	struct rte_mbuf *head = next_rx(c), *m;
	size_t cap = 0, iov = 0, iov_off = 0, i;
	uint32_t k;

	if (head == NULL)
		return mn_lib_idle_probe(c);
	for (i = 0; i < h->msg_iovlen; i++)
		cap += h->msg_iov[i].len;
	if (head->pkt_len > cap) {
		release_rx(c, head);
		return -EMSGSIZE;
	}
	for (m = head, k = 0; m != NULL && k < head->nb_segs; m = m->next, k++) {
		const uint8_t *src = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t left = m->data_len;

		while (left > 0 && iov < h->msg_iovlen) {
			MachnetIovec_t *v = &h->msg_iov[iov];
			size_t n = v->len - iov_off;

			if (n == 0) {
				iov++;
				iov_off = 0;
				continue;
			}
			if (n > left)
				n = left;
			memcpy((uint8_t *)v->base + iov_off, src, n);
			src += n;
			left -= (uint32_t)n;
			iov_off += n;
		}
	}
	h->msg_size = head->pkt_len;
	flow_of(head, &h->flow_info);
	release_rx(c, head);
	return 1;
}

int machnet_recvmsg(const void *channel_ctx, MachnetMsgHdr_t *msghdr)
{
	size_t i;
	int ret;

	if (msghdr == NULL || (msghdr->msg_iov == NULL && msghdr->msg_iovlen > 0))
		return mn_lib_fail(EINVAL);
	for (i = 0; i < msghdr->msg_iovlen; i++)
		if (msghdr->msg_iov[i].base == NULL && msghdr->msg_iov[i].len > 0)
			return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	ret = recv_into(c, msghdr);
	return leave_ret(c, ret < 0 ? mn_lib_fail(-ret) : ret);
}

ssize_t machnet_recv(const void *channel_ctx, void *buf, size_t len, MachnetFlow_t *flow)
{
	MachnetIovec_t iov;
	MachnetMsgHdr_t h;
	int ret;

	if (buf == NULL || flow == NULL)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	iov.base = buf;
	iov.len = len;
	memset(&h, 0, sizeof(h));
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	ret = recv_into(c, &h);
	mn_lib_chan_leave(c);
	if (ret <= 0)
		return ret < 0 ? mn_lib_fail(-ret) : 0;
	*flow = h.flow_info;
	return (ssize_t)h.msg_size;
}

ssize_t machnet_recv_timeout(const void *channel_ctx, void *buf, size_t len,
			     MachnetFlow_t *flow, long timeout_us)
{
	MachnetIovec_t iov;
	MachnetMsgHdr_t h;
	uint64_t deadline = 0;
	int ret;

	if (buf == NULL || flow == NULL)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	if (timeout_us >= 0)
		deadline = mn_lib_now_ns() + (uint64_t)timeout_us * 1000ull;
	iov.base = buf;
	iov.len = len;
	memset(&h, 0, sizeof(h));
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	for (;;) {
		uint64_t now;

		ret = recv_into(c, &h);
		if (ret != 0)
			break;
		now = mn_lib_now_ns();
		if (timeout_us >= 0 && now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		/* Events left for machnet_poll_event() do not end the wait. */
		ret = mn_lib_chan_sleep(c, timeout_us >= 0 ? deadline - now : 0, 0);
		if (ret < 0)
			break;
	}
	mn_lib_chan_leave(c);
	if (ret < 0)
		return mn_lib_fail(-ret);
	*flow = h.flow_info;
	return (ssize_t)h.msg_size;
}

int machnet_poll_event(const void *channel_ctx, MachnetEvent_t *ev)
{
	struct mn_event e;
	unsigned guard;

	if (ev == NULL)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	/* Bounded: at most the ring's contents are skipped per call. */
	for (guard = 0; guard < 4096; guard++) {
		if (c->pend_n) {
			e = c->pend[c->pend_head];
			c->pend_head = (c->pend_head + 1) % PEND_EVENTS;
			c->pend_n--;
		} else if (rte_ring_dequeue_elem(c->ev, &e, sizeof(e)) != 0) {
			int r = mn_lib_idle_probe(c);

			if (c->fd_used)
				mn_lib_fd_arm(c);
			return leave_ret(c, r < 0 ? mn_lib_fail(-r) : 0);
		}
		switch (e.type) {
		case MN_EV_ACCEPTED:
			ev->type = MACHNET_EV_ACCEPTED;
			break;
		case MN_EV_RESET:
			ev->type = MACHNET_EV_RESET;
			break;
		case MN_EV_SEND_FAILED:
			ev->type = MACHNET_EV_SEND_FAILED;
			break;
		case MN_EV_CONNECTED:
			ev->type = MACHNET_EV_CONNECTED;
			break;
		case MN_EV_CLOSED:
			ev->type = MACHNET_EV_CLOSED;
			break;
		default:
			continue;	/* replies nobody waits for any more */
		}
		ev->error = -e.status;
		ev->flow.src_ip = e.src_ip;
		ev->flow.dst_ip = e.dst_ip;
		ev->flow.src_port = e.src_port;
		ev->flow.dst_port = e.dst_port;
		return leave_ret(c, 1);
	}
	return leave_ret(c, 0);
}

/* ---------------- zero copy ---------------- */

int machnet_zc_alloc(void *channel_ctx, size_t len, MachnetZcMsg_t *msg)
{
	struct rte_mbuf *head;
	uint32_t nseg;
	int ret;

	if (msg == NULL)
		return mn_lib_fail(EINVAL);
	ret = mn_lib_check_size(len);
	if (ret < 0)
		return mn_lib_fail(-ret);
	ENTER_OR_FAIL(c, channel_ctx);
	nseg = mn_lib_nsegs(len, c->seg_room);
	if (rte_ring_count(c->fill) < nseg) {
		flush_used(c);
		if (c->cs->fill_want < nseg) {
			c->cs->fill_want = nseg;
			mn_lib_wake_engine(c);
		}
		return leave_ret(c, send_fail(c, EAGAIN));
	}
	head = take_chain(c, len, nseg);
	if (head == NULL)
		return leave_ret(c, send_fail(c, EAGAIN));
	if (c->cs->fill_want)
		c->cs->fill_want = 0;
	memset(msg, 0, sizeof(*msg));
	msg->handle = head;
	msg->msg_size = (uint32_t)len;
	msg->nseg = nseg;
	return leave_ret(c, 0);
}

void *machnet_zc_next(const MachnetZcMsg_t *msg, void *cursor, MachnetIovec_t *iov)
{
	struct rte_mbuf *m;

	if (msg == NULL || iov == NULL || msg->handle == NULL)
		return NULL;
	m = cursor ? ((struct rte_mbuf *)cursor)->next : (struct rte_mbuf *)msg->handle;
	if (m == NULL)
		return NULL;
	iov->base = rte_pktmbuf_mtod(m, void *);
	iov->len = m->data_len;
	return m;
}

int machnet_zc_send(void *channel_ctx, MachnetZcMsg_t *msg)
{
	if (msg == NULL || msg->handle == NULL)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	if (rte_ring_free_count(c->tx) == 0 || flow_blocked(c->cs, &msg->flow))
		return leave_ret(c, send_fail(c, EAGAIN));
	set_meta(c, msg->handle, &msg->flow, 0);
	rte_ring_enqueue(c->tx, msg->handle);
	mn_lib_wake_engine(c);
	msg->handle = NULL;
	return leave_ret(c, 0);
}

int machnet_zc_recv(void *channel_ctx, MachnetZcMsg_t *msg)
{
	struct rte_mbuf *head;
	int r;

	if (msg == NULL)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	head = next_rx(c);
	if (head == NULL) {
		r = mn_lib_idle_probe(c);
		return leave_ret(c, r < 0 ? mn_lib_fail(-r) : 0);
	}
	msg->handle = head;
	msg->msg_size = head->pkt_len;
	msg->nseg = head->nb_segs;
	flow_of(head, &msg->flow);
	return leave_ret(c, 1);
}

int machnet_zc_release(void *channel_ctx, MachnetZcMsg_t *msg)
{
	if (msg == NULL || msg->handle == NULL)
		return mn_lib_fail(EINVAL);
	ENTER_OR_FAIL(c, channel_ctx);
	if (c->usedq_n == USED_BATCH) {
		flush_used(c);
		if (c->usedq_n == USED_BATCH)
			return leave_ret(c, send_fail(c, EAGAIN));
	}
	release_rx(c, msg->handle);
	msg->handle = NULL;
	return leave_ret(c, 0);
}

