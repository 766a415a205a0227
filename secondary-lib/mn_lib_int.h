/* mn_lib_int.h: libmachnet's private state, shared by its three parts:
 *   mn_lib_init.c     joining machnetd (machnet_init*, liveness, strerror)
 *   mn_lib_ctrl.c     channel handles and control requests (attach, detach,
 *                     listen, connect, close)
 *   mn_lib_data.c     the data path (send, recv, events, zero copy)
 * mn_lib.c holds the helpers that need no EAL (unit-tested alone).
 *
 * The library never writes to stderr: failures are errno values, and the
 * reason machnet_init() failed is kept for machnet_init_detail(). With
 * MACHNET_DEBUG=1 in the environment the same lines also go to stderr.
 */
#ifndef MN_LIB_INT_H
#define MN_LIB_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <rte_ring.h>

#include "machnet.h"
#include "mn_abi.h"

#define MN_LIB_MAX_CHANS 64		/* channels per process */
#define MN_LIB_PEND_EVENTS 64		/* events set aside while waiting for a reply */
#define MN_LIB_RX_CACHE 16
#define MN_LIB_USED_BATCH 16
/* How long a control request may wait for machnetd's answer. It usually
 * takes tens of microseconds; the bound is generous because on a small shared
 * machine (2 vCPUs, engines and many apps polling) machnetd's IPC thread was
 * seen to wait over a second for a CPU. A dead machnetd is noticed at once
 * anyway (liveness probe), so this only bounds a live but starved one. */
#define MN_LIB_CTRL_TIMEOUT_MS 5000

enum { MN_LIB_NONE = 0, MN_LIB_READY = 1, MN_LIB_BROKEN = 2 };

/* One channel of this process. A handle given to the app is not a pointer
 * to this: it encodes the slot index and the serial of the attach that made
 * it (see mn_lib_ctrl.c), so a handle from before a detach never matches the
 * slot again. */
struct mn_lib_chan {
	_Atomic uint64_t serial;	/* the live handle's serial; 0: not attached */
	_Atomic uint32_t busy;		/* 1 while a thread is inside a call on it */
	int reserved;			/* taken by an attach in progress (G.lock) */
	uint32_t id, gen;
	struct rte_ring *tx, *rx, *fill, *used, *ev;
	struct mn_chan_shm *cs;
	uint32_t seg_room;		/* payload bytes per segment */
	struct rte_mbuf *rxq[MN_LIB_RX_CACHE];	/* dequeued, not yet taken */
	unsigned rxq_head, rxq_n;
	struct rte_mbuf *usedq[MN_LIB_USED_BATCH];	/* consumed, not yet returned */
	unsigned usedq_n;
	struct mn_event pend[MN_LIB_PEND_EVENTS];
	unsigned pend_head, pend_n;
	uint64_t next_probe_ns;
	uint32_t idle_calls;	/* empty data-path calls since the last clock read */
	struct mn_engine_wake *ew;	/* its engine's doorbell (mn_wake.h) */
	int efd;		/* eventfd given to machnetd at attach, -1 if none */
	int fd_used;		/* machnet_channel_fd() was called: arm on empty */
	int fd_self;		/* we made efd readable ourselves (mn_lib_fd_arm) */
};

/* The process's link to machnetd. */
struct mn_lib_global {
	_Atomic int state;
	pthread_mutex_t lock;		/* init and attach/detach bookkeeping */
	pthread_mutex_t ctrl_lock;	/* one control request in flight (see ctrl_call) */
	struct mn_ctrl_shm *shm;
	int primary_pid;
	uint32_t slot, slot_gen;
	int lock_fd;
	unsigned lcore_id;
	uint32_t seg_room;
	int meta_off;
	uint32_t n_ips;			/* machnetd's interface addresses, host order */
	uint32_t ips[MN_ABI_MAX_IFACES];
	_Atomic uint32_t req_seq;
	char instance[32];
	char init_detail[512];		/* why the last init failed ("" if it did not) */
};

extern struct mn_lib_global mn_lib_g;
extern struct mn_lib_chan mn_lib_chans[MN_LIB_MAX_CHANS];

static inline int mn_lib_fail(int err)
{
	errno = err;
	return -1;
}

uint64_t mn_lib_now_ns(void);

/* Records why init failed; also on stderr with MACHNET_DEBUG=1. */
void mn_lib_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 1 when machnetd is gone (marks the library broken). */
int mn_lib_primary_dead(void);

/* For a data-path call that found nothing to do: -ESHUTDOWN when machnetd
 * is gone, else 0. Reads the clock only now and then. */
int mn_lib_idle_probe(struct mn_lib_chan *c);

/* The channel behind a handle, entered: NULL with *err = EINVAL (NULL
 * handle), EBADF (not a live handle of this process), ENOTCONN, ESHUTDOWN,
 * or EBUSY (another thread is inside a call on it). Every call that takes a
 * channel pairs it with mn_lib_chan_leave(). */
struct mn_lib_chan *mn_lib_chan_enter(const void *handle, int *err);

static inline void mn_lib_chan_leave(struct mn_lib_chan *c)
{
	atomic_store_explicit(&c->busy, 0, memory_order_release);
}

/* One control request to machnetd and its immediate reply: 0 or -errno. */
int mn_lib_ctrl_call(struct mn_ctrl_req *req, struct mn_ctrl_rep *rep);

uint32_t mn_lib_next_req_id(void);

/* ---- waiting (mn_lib_wait.c) ---- */

/* After queueing work for c's engine: rings its doorbell if it sleeps. */
void mn_lib_wake_engine(struct mn_lib_chan *c);

/* True when c has a received message (or, with events, an event) waiting. */
int mn_lib_chan_ready(struct mn_lib_chan *c, int events);

/* Blocks the calling thread (inside the channel) until c may have a message
 * (or, with events, an event), or timeout_ns (0: 100 ms, the liveness
 * period) passed. Spins briefly first. 0, or -ESHUTDOWN when machnetd is
 * gone. */
int mn_lib_chan_sleep(struct mn_lib_chan *c, uint64_t timeout_ns, int events);

/* A data-path call found nothing: re-arms c's channel fd (if the app uses
 * it) so that the next delivery makes it readable. */
void mn_lib_fd_arm(struct mn_lib_chan *c);

#endif
