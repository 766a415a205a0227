/* mn_lib_wait: how an app thread waits for its channel without a CPU: the
 * sleeper's half of mn_wake.h on the channel's words (wait, wake_seq), the
 * channel fd for event loops, and the doorbell apps ring for a sleeping
 * engine. The only syscalls of the data path are here, and each happens only
 * when the other side said it sleeps or the app asked to wait.
 */
#include "mn_lib_int.h"

#include <errno.h>
#include <sys/eventfd.h>

#include <rte_pause.h>
#include <rte_ring.h>

#include "mn_wake.h"

#define G mn_lib_g

/* Enters the channel behind handle h as c, or returns -1 with errno. */
#define ENTER_CHAN_OR_FAIL_(c, h) \
	int err_; \
	struct mn_lib_chan *c = mn_lib_chan_enter((h), &err_); \
	if (c == NULL) \
		return mn_lib_fail(err_)

/* Before sleeping, poll this long: a reply that is already on its way
 * (a few us) costs no futex round trip. */
#define WAIT_SPIN_NS 20000ull
/* A sleeper looks at machnetd's liveness at least this often. */
#define WAIT_SLICE_NS 100000000ull

void mn_lib_wake_engine(struct mn_lib_chan *c)
{
	if (c->ew)
		mn_wake_engine(c->ew);
}

int mn_lib_chan_ready(struct mn_lib_chan *c, int events)
{
	return c->rxq_n || rte_ring_count(c->rx) ||
	       (events && (c->pend_n || rte_ring_count(c->ev)));
}

int mn_lib_chan_sleep(struct mn_lib_chan *c, uint64_t timeout_ns, int events)
{
	uint64_t t0 = mn_lib_now_ns(), now = t0;
	uint32_t seq0;

	if (timeout_ns == 0 || timeout_ns > WAIT_SLICE_NS)
		timeout_ns = WAIT_SLICE_NS;
	while (now - t0 < WAIT_SPIN_NS && now - t0 < timeout_ns) {
		for (unsigned i = 0; i < 64; i++) {
			if (mn_lib_chan_ready(c, events))
				return 0;
			rte_pause();
		}
		now = mn_lib_now_ns();
	}
	if (now - t0 >= timeout_ns)
		return 0;
	seq0 = mn_chan_sleep_begin(c->cs);
	if (!mn_lib_chan_ready(c, events) && G.shm->state != MN_CTRL_STOPPED)
		mn_chan_sleep_wait(c->cs, seq0, timeout_ns - (now - t0));
	mn_chan_sleep_end(c->cs);
	if (G.shm->state == MN_CTRL_STOPPED || (!mn_lib_chan_ready(c, events) && mn_lib_primary_dead())) {
		atomic_store(&G.state, MN_LIB_BROKEN);
		return -ESHUTDOWN;
	}
	return 0;
}

void mn_lib_fd_arm(struct mn_lib_chan *c)
{
	uint64_t v;

	/* Still armed and not made readable by us: the fd is quiet and the
	 * engine will write it; nothing to do (no syscall). */
	if (!c->fd_self && (__atomic_load_n(&c->cs->wait, __ATOMIC_ACQUIRE) & MN_WAIT_ARMED))
		return;
	if (read(c->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	c->fd_self = 0;
	__atomic_fetch_or(&c->cs->wait, MN_WAIT_ARMED, __ATOMIC_SEQ_CST);
	mn_full_barrier();
	/* Something arrived between the caller's look and the arming: the
	 * engine may have seen ARMED clear, so say it ourselves. */
	if (mn_lib_chan_ready(c, 1)) {
		v = 1;
		if (write(c->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			c->fd_self = 1;
	}
}

int machnet_channel_fd(void *channel_ctx)
{
	int fd;

	ENTER_CHAN_OR_FAIL_(c, channel_ctx);
	if (c->efd < 0) {
		mn_lib_chan_leave(c);
		return mn_lib_fail(ENOSYS);
	}
	c->fd_used = 1;
	c->fd_self = 1;		/* forces the first arming to drain and look */
	mn_lib_fd_arm(c);
	fd = c->efd;
	mn_lib_chan_leave(c);
	return fd;
}

int machnet_recv_wait(const void *channel_ctx, long timeout_us)
{
	uint64_t deadline = 0;
	int r = 0;

	ENTER_CHAN_OR_FAIL_(c, channel_ctx);
	if (timeout_us >= 0)
		deadline = mn_lib_now_ns() + (uint64_t)timeout_us * 1000ull;
	for (;;) {
		uint64_t now;

		if (mn_lib_chan_ready(c, 1)) {
			r = 1;
			break;
		}
		now = mn_lib_now_ns();
		if (timeout_us >= 0 && now >= deadline)
			break;
		r = mn_lib_chan_sleep(c, timeout_us >= 0 ? deadline - now : 0, 1);
		if (r < 0)
			break;
	}
	mn_lib_chan_leave(c);
	return r < 0 ? mn_lib_fail(-r) : r;
}
