#include "mn_ctrl.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mn_chan.h"
#include "mn_wake.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define POLL_MS 5	/* control thread wake-up: bounds death-to-reclaim latency */
/* ... while no channel is being taken back: a dying app still wakes it at
 * once (its pidfd), and a detach is noticed within this. Each wake-up costs
 * CPU even on an idle machine (about 25 us on the 2-vCPU test VM). */
#define POLL_IDLE_MS 50

static struct {
	pthread_mutex_t lock;	/* IPC thread vs control thread */
	const struct rte_memzone *mz;
	struct mn_ctrl_shm *shm;
	struct mn_chan chans[MN_MAX_CHANNELS];
	uint8_t del_pending[MN_MAX_CHANNELS];	/* CHAN_DEL still to be queued */
	uint32_t del_dead[MN_MAX_CHANNELS];
	struct mn_chan_engine engines[MN_ABI_MAX_ENGINES];
	unsigned engine_chans[MN_ABI_MAX_ENGINES];
	unsigned n_engines, max_apps, n_chans;
	int pidfd[MN_MAX_APPS];
	struct mn_app_quota quota[MN_MAX_APPS];	/* per slot; charged by the engines */
	uint32_t app_max_flows, app_max_listeners;
	int kick;		/* eventfd: a channel is being taken back (chan_del) */
	pthread_t thread;
	volatile int running;
	int action_registered, inited;
	struct mn_ctrl_stats st;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .kick = -1 };

struct mn_chan_engine *mn_ctrl_engine(unsigned id)
{
	return id < g.n_engines ? &g.engines[id] : NULL;
}

static void chan_close_fd(unsigned ch);

void mn_ctrl_get_stats(struct mn_ctrl_stats *out)
{
	pthread_mutex_lock(&g.lock);
	*out = g.st;
	out->app_max_flows = g.app_max_flows;
	out->app_max_listeners = g.app_max_listeners;
	for (unsigned s = 0; s < g.max_apps; s++) {
		out->app_flows += __atomic_load_n(&g.quota[s].flows, __ATOMIC_RELAXED);
		out->app_listeners += __atomic_load_n(&g.quota[s].listeners, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&g.lock);
	/* The engines' sleep counters (racy whole 64-bit reads). */
	for (unsigned i = 0; g.shm && i < g.n_engines; i++) {
		out->engine_sleeps += g.shm->wake[i].sleeps;
		out->engine_wakeups += __atomic_load_n(&g.shm->wake[i].wakeups, __ATOMIC_RELAXED);
		out->engine_late += g.shm->wake[i].late;
		out->app_wakes += g.engines[i].app_wakes;
	}
}

void mn_ctrl_chan_invalid(uint64_t *tx_invalid, uint64_t *used_invalid)
{
	const volatile struct mn_chan *ct = g.chans;

	*tx_invalid = 0;
	*used_invalid = 0;
	for (unsigned c = 0; c < MN_MAX_CHANNELS; c++) {
		*tx_invalid += ct[c].tx_invalid;
		*used_invalid += ct[c].used_invalid;
	}
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int mn_ctrl_init(const struct mn_ctrl_params *p, char *err, size_t errlen)
{
	uint32_t mss, fill_size, n_chans, i;
	int ret;

	if (p->n_engines == 0 || p->n_engines > MN_ABI_MAX_ENGINES || p->max_apps == 0 ||
	    p->max_apps > MN_MAX_APPS || p->mtu <= MN_MTU_OVERHEAD || p->ring_size < 64 ||
	    (p->ring_size & (p->ring_size - 1)) || p->n_chans > MN_MAX_CHANNELS) {
		snprintf(err, errlen, "mn_ctrl_init: parameters out of range");
		return -EINVAL;
	}
	n_chans = p->n_chans ? p->n_chans : 4 * p->max_apps;
	if (n_chans > MN_MAX_CHANNELS)
		n_chans = MN_MAX_CHANNELS;
	mss = p->mtu - MN_MTU_OVERHEAD;
	/* The fill ring must hold every segment of one largest message, plus
	 * the usual stock, so a large send can always be satisfied. */
	for (fill_size = 64; fill_size < MN_MAX_MSG / (mss < 2048 ? mss : 2048) + 1 + 256;)
		fill_size <<= 1;

	g.mz = rte_memzone_reserve(MN_CTRL_MZ_NAME, sizeof(struct mn_ctrl_shm), SOCKET_ID_ANY, 0);
	if (g.mz == NULL) {
		snprintf(err, errlen, "rte_memzone_reserve(%s): %s", MN_CTRL_MZ_NAME,
			 rte_strerror(rte_errno));
		return -rte_errno;
	}
	g.shm = g.mz->addr;
	memset(g.shm, 0, sizeof(*g.shm));
	g.shm->abi_version = MN_ABI_VERSION;
	g.shm->state = MN_CTRL_STARTING;
	g.shm->primary_pid = getpid();
	g.shm->n_engines = p->n_engines;
	g.shm->n_chans = n_chans;
	g.shm->mtu = p->mtu;
	g.shm->mss = mss;
	g.shm->ring_size = p->ring_size;
	g.shm->fill_size = fill_size;
	g.shm->connect_timeout_ms = p->connect_timeout_ms;
	snprintf(g.shm->instance, sizeof(g.shm->instance), "%s", p->instance ? p->instance : "");
	g.n_engines = p->n_engines;
	g.max_apps = p->max_apps;
	/* An app may not hold more than one engine's table, whatever the file
	 * says; the default leaves room for four apps on a full engine. */
	g.app_max_flows = p->app_max_flows ? p->app_max_flows : p->engine_flows / 4;
	if (g.app_max_flows > p->engine_flows)
		g.app_max_flows = p->engine_flows;
	if (g.app_max_flows == 0)
		g.app_max_flows = 1;
	g.app_max_listeners = p->app_max_listeners ? p->app_max_listeners : p->engine_listeners / 4;
	if (g.app_max_listeners > p->engine_listeners)
		g.app_max_listeners = p->engine_listeners;
	if (g.app_max_listeners == 0)
		g.app_max_listeners = 1;
	memset(g.quota, 0, sizeof(g.quota));
	g.n_chans = n_chans;
	for (i = 0; i < MN_MAX_APPS; i++)
		g.pidfd[i] = -1;
	for (i = 0; i < MN_MAX_CHANNELS; i++)
		g.chans[i].efd = -1;

	for (i = 0; i < n_chans; i++) {
		ret = mn_chan_create(&g.chans[i], (uint16_t)i, p->ring_size, fill_size,
				     &g.shm->chans[i]);
		if (ret < 0) {
			snprintf(err, errlen, "creating the rings of channel %u: %s "
				 "(raise hugepage memory or lower apps.max / channel_ring)",
				 i, rte_strerror(-ret));
			goto fail;
		}
		g.shm->chans[i].fill_target = p->fill_target ? p->fill_target : 256;
	}
	for (i = 0; i < p->n_engines; i++) {
		ret = mn_chan_engine_init(&g.engines[i], i, p->pools[i], mss, g.chans);
		if (ret < 0) {
			snprintf(err, errlen, "engine %u channel context: %s", i, rte_strerror(-ret));
			goto fail;
		}
		g.engines[i].wake = &g.shm->wake[i];
	}
	g.shm->meta_off = g.engines[0].meta_off;
	g.shm->magic = MN_CTRL_MAGIC;
	g.inited = 1;
	return 0;
fail:
	g.inited = 1;
	mn_ctrl_fini();
	return ret;
}

void mn_ctrl_fini(void)
{
	unsigned i;

	if (!g.inited)
		return;
	for (i = 0; i < MN_ABI_MAX_ENGINES; i++)
		if (g.engines[i].cmd || g.engines[i].owner)
			mn_chan_engine_fini(&g.engines[i]);
	for (i = 0; i < MN_MAX_CHANNELS; i++) {
		chan_close_fd(i);
		mn_chan_destroy(&g.chans[i]);
	}
	for (i = 0; i < MN_MAX_APPS; i++) {
		if (g.pidfd[i] >= 0)
			close(g.pidfd[i]);
		g.pidfd[i] = -1;
	}
	rte_memzone_free(g.mz);
	g.mz = NULL;
	g.shm = NULL;
	g.inited = 0;
}

/* ---- request handling (IPC thread, under g.lock) ---- */

/* The channel's eventfd (machnet_channel_fd) goes once no engine can write
 * it: at release (drain_done), at a failed attach, at exit. */
static void chan_close_fd(unsigned ch)
{
	if (g.chans[ch].efd >= 0)
		close(g.chans[ch].efd);
	g.chans[ch].efd = -1;
}

static int send_cmd(unsigned engine, const struct mn_engine_cmd *cmd)
{
	if (rte_ring_enqueue_elem(g.engines[engine].cmd, (void *)(uintptr_t)cmd, sizeof(*cmd)) != 0) {
		g.st.cmd_ring_full++;
		return -EAGAIN;
	}
	mn_wake_engine(&g.shm->wake[engine]);
	return 0;
}

static struct mn_app_slot *live_slot(const struct mn_ctrl_req *r)
{
	struct mn_app_slot *s;

	if (r->slot >= g.max_apps)
		return NULL;
	s = &g.shm->slots[r->slot];
	if (s->state != MN_SLOT_LIVE || s->gen != r->slot_gen || s->pid != r->pid)
		return NULL;
	return s;
}

static struct mn_chan_shm *own_chan(const struct mn_ctrl_req *r)
{
	struct mn_chan_shm *c;

	if (live_slot(r) == NULL || r->chan >= g.n_chans)
		return NULL;
	c = &g.shm->chans[r->chan];
	if (c->state != MN_CHAN_LIVE || c->gen != r->chan_gen || c->slot != r->slot)
		return NULL;
	return c;
}

/* Starts taking a channel back; the control thread retries the command if
 * the engine's ring is full. */
static void chan_del(unsigned ch, int dead)
{
	struct mn_chan_shm *c = &g.shm->chans[ch];
	struct mn_engine_cmd cmd;

	c->state = MN_CHAN_CLOSING;
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = MN_CMD_CHAN_DEL;
	cmd.chan = (uint16_t)ch;
	cmd.chan_gen = c->gen;
	cmd.dead = (uint32_t)dead;
	g.del_pending[ch] = send_cmd(c->engine, &cmd) != 0;
	g.del_dead[ch] = (uint32_t)dead;
	/* The control thread may sleep POLL_IDLE_MS: it has work now. */
	if (g.kick >= 0) {
		uint64_t one = 1;
		/* A failure (counter saturated) leaves it readable anyway. */
		ssize_t w = write(g.kick, &one, sizeof(one));

		(void)w;
	}
}

static void slot_free_if_done(unsigned s)
{
	struct mn_app_slot *slot = &g.shm->slots[s];

	if (slot->state != MN_SLOT_DEAD || slot->n_chans != 0)
		return;
	if (g.pidfd[s] >= 0)
		close(g.pidfd[s]);
	g.pidfd[s] = -1;
	slot->pid = 0;
	slot->state = MN_SLOT_FREE;
}

/* The app in slot s is gone (died, or said goodbye): take back everything. */
static void slot_gone(unsigned s, int dead)
{
	struct mn_app_slot *slot = &g.shm->slots[s];
	unsigned ch;

	if (slot->state != MN_SLOT_LIVE)
		return;
	slot->state = MN_SLOT_DEAD;
	if (dead)
		g.st.apps_died++;
	else
		g.st.apps_left++;
	for (ch = 0; ch < g.n_chans; ch++)
		if (g.shm->chans[ch].state == MN_CHAN_LIVE && g.shm->chans[ch].slot == s)
			chan_del(ch, dead);
	slot_free_if_done(s);
}

static int do_hello(const struct mn_ctrl_req *r, struct mn_ctrl_rep *rep)
{
	unsigned s;
	int fd;

	for (s = 0; s < g.max_apps; s++)
		if (g.shm->slots[s].state == MN_SLOT_FREE)
			break;
	if (s == g.max_apps)
		return -ENOSPC;
	/* The requester waits for this reply, so pid is alive now: the pidfd
	 * refers to it and not to a later process with a recycled pid. */
	fd = pidfd_open(r->pid);
	if (fd < 0)
		return -errno;
	g.pidfd[s] = fd;
	g.shm->slots[s].pid = r->pid;
	g.shm->slots[s].gen++;
	g.shm->slots[s].lcore_id = r->lcore_id;
	g.shm->slots[s].n_chans = 0;
	/* The slot's last app released everything before the slot was freed
	 * (engines release a channel's charges before confirming its
	 * CHAN_DEL); a count left over is a bug, counted rather than
	 * inherited. */
	if (__atomic_load_n(&g.quota[s].flows, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&g.quota[s].listeners, __ATOMIC_RELAXED)) {
		g.st.quota_leaks++;
		__atomic_store_n(&g.quota[s].flows, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&g.quota[s].listeners, 0, __ATOMIC_RELAXED);
	}
	g.quota[s].max_flows = g.app_max_flows;
	g.quota[s].max_listeners = g.app_max_listeners;
	g.shm->slots[s].state = MN_SLOT_LIVE;
	rep->slot = s;
	rep->slot_gen = g.shm->slots[s].gen;
	g.st.apps_registered++;
	return 0;
}

/* efd: the app's eventfd passed with the request (-1: none); it becomes
 * the channel's on success. */
static int do_attach(const struct mn_ctrl_req *r, struct mn_ctrl_rep *rep, int efd)
{
	struct mn_app_slot *slot = live_slot(r);
	struct mn_engine_cmd cmd;
	struct mn_chan_shm *c;
	unsigned ch, e, best = 0;
	int ret;

	if (slot == NULL)
		return -ESRCH;
	for (ch = 0; ch < g.n_chans; ch++)
		if (g.shm->chans[ch].state == MN_CHAN_FREE)
			break;
	if (ch == g.n_chans)
		return -ENOSPC;
	if (r->engine > g.n_engines)
		return -ENODEV;
	for (e = 1; e < g.n_engines; e++)
		if (g.engine_chans[e] < g.engine_chans[best])
			best = e;
	if (r->engine)
		best = r->engine - 1;	/* the app's choice */
	c = &g.shm->chans[ch];
	/* No one uses a free channel's rings: reset clears what a dead app or
	 * an aborted operation may have left. */
	mn_chan_reset_rings(&g.chans[ch]);
	c->gen++;
	c->slot = r->slot;
	c->engine = best;
	c->fill_want = 0;
	c->wait = 0;
	c->n_blocked = 0;
	g.chans[ch].gen = c->gen;
	/* Before CHAN_ADD: the engine reads it from then on. */
	g.chans[ch].quota = &g.quota[r->slot];
	chan_close_fd(ch);
	g.chans[ch].efd = efd;
	c->state = MN_CHAN_LIVE;
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = MN_CMD_CHAN_ADD;
	cmd.chan = (uint16_t)ch;
	cmd.chan_gen = c->gen;
	cmd.req_id = r->req_id;
	ret = send_cmd(best, &cmd);
	if (ret < 0) {
		g.chans[ch].efd = -1;	/* the caller closes it */
		c->state = MN_CHAN_FREE;
		return ret;
	}
	g.engine_chans[best]++;
	slot->n_chans++;
	rep->chan = ch;
	rep->chan_gen = c->gen;
	rep->engine = best;
	g.st.chans_attached++;
	return 0;
}

static int do_flow_op(const struct mn_ctrl_req *r)
{
	struct mn_chan_shm *c = own_chan(r);
	struct mn_engine_cmd cmd;

	if (c == NULL)
		return -EBADF;
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = r->op == MN_REQ_LISTEN ? MN_CMD_LISTEN :
		 r->op == MN_REQ_CONNECT ? MN_CMD_CONNECT : MN_CMD_CLOSE;
	cmd.chan = (uint16_t)r->chan;
	cmd.chan_gen = r->chan_gen;
	cmd.req_id = r->req_id;
	cmd.flow_id = r->flow_id;
	cmd.local_ip = r->local_ip;
	cmd.remote_ip = r->remote_ip;
	cmd.local_port = r->local_port;
	cmd.remote_port = r->remote_port;
	return send_cmd(c->engine, &cmd);
}

static int handle(const struct mn_ctrl_req *r, struct mn_ctrl_rep *rep, int *efd)
{
	if (r->abi_version != MN_ABI_VERSION)
		return -EPROTO;
	if (g.shm->state != MN_CTRL_RUNNING)
		return -ESHUTDOWN;
	switch (r->op) {
	case MN_REQ_HELLO:
		return do_hello(r, rep);
	case MN_REQ_BYE:
		if (live_slot(r) == NULL)
			return -ESRCH;
		slot_gone(r->slot, 0);
		return 0;
	case MN_REQ_ATTACH: {
		int ret = do_attach(r, rep, *efd);

		if (ret == 0)
			*efd = -1;	/* the channel's now */
		return ret;
	}
	case MN_REQ_DETACH:
		if (own_chan(r) == NULL)
			return -EBADF;
		chan_del(r->chan, 0);
		return 0;
	case MN_REQ_LISTEN:
	case MN_REQ_CONNECT:
	case MN_REQ_CLOSE:
		return do_flow_op(r);
	default:
		return -EINVAL;
	}
}

static int ctrl_action(const struct rte_mp_msg *msg, const void *peer)
{
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	struct rte_mp_msg out;
	/* Only an attach carries a descriptor (its channel fd); any other is
	 * closed below. */
	int efd = msg->num_fds == 1 ? msg->fds[0] : -1;

	for (int i = efd >= 0 ? 1 : 0; i < msg->num_fds && i < RTE_MP_MAX_FD_NUM; i++)
		close(msg->fds[i]);
	memset(&rep, 0, sizeof(rep));
	rep.abi_version = MN_ABI_VERSION;
	pthread_mutex_lock(&g.lock);
	g.st.requests++;
	if (msg->len_param != (int)sizeof(req)) {
		g.st.bad_requests++;
		rep.status = -EPROTO;
	} else {
		memcpy(&req, msg->param, sizeof(req));
		rep.op = req.op;
		rep.req_id = req.req_id;
		rep.status = handle(&req, &rep, &efd);
		if (rep.status < 0)
			g.st.bad_requests++;
	}
	pthread_mutex_unlock(&g.lock);
	if (efd >= 0)
		close(efd);

	memset(&out, 0, sizeof(out));
	snprintf(out.name, sizeof(out.name), "%s", MN_CTRL_ACTION);
	out.len_param = sizeof(rep);
	memcpy(out.param, &rep, sizeof(rep));
	return rte_mp_reply(&out, peer);
}

/* ---- control thread ---- */

static void drain_done(void)
{
	struct mn_engine_cmd d[16];
	unsigned e, i, n;

	for (e = 0; e < g.n_engines; e++) {
		n = rte_ring_dequeue_burst_elem(g.engines[e].done, d, sizeof(d[0]), RTE_DIM(d),
						NULL);
		for (i = 0; i < n; i++) {
			struct mn_chan_shm *c;
			unsigned slot;

			if (d[i].op != MN_CMD_CHAN_DEL || d[i].chan >= g.n_chans)
				continue;
			c = &g.shm->chans[d[i].chan];
			if (c->state != MN_CHAN_CLOSING || c->gen != d[i].chan_gen)
				continue;
			/* The engine has let go and the app is gone or promised to
			 * stop: both ends are quiet, so resetting is safe. */
			mn_chan_reset_rings(&g.chans[d[i].chan]);
			chan_close_fd(d[i].chan);
			c->wait = 0;
			slot = c->slot;
			c->fill_want = 0;
			c->state = MN_CHAN_FREE;
			g.engine_chans[c->engine]--;
			g.st.chans_released++;
			if (d[i].status > 0)
				g.st.mbufs_reclaimed += (uint64_t)d[i].status;
			if (slot < g.max_apps && g.shm->slots[slot].n_chans > 0)
				g.shm->slots[slot].n_chans--;
			slot_free_if_done(slot);
		}
	}
}

static void *ctrl_thread(void *arg)
{
	struct pollfd pfd[MN_MAX_APPS + 1];
	unsigned who[MN_MAX_APPS];

	(void)arg;
	while (g.running) {
		unsigned s, n = 0, i;
		int r;

		int busy = 0;

		pthread_mutex_lock(&g.lock);
		for (s = 0; s < g.n_chans && !busy; s++)
			busy = g.del_pending[s] || g.shm->chans[s].state == MN_CHAN_CLOSING;
		for (s = 0; s < g.max_apps; s++) {
			if (g.shm->slots[s].state == MN_SLOT_LIVE && g.pidfd[s] >= 0) {
				pfd[n].fd = g.pidfd[s];
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				who[n++] = s;
			}
		}
		pthread_mutex_unlock(&g.lock);
		pfd[n].fd = g.kick;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;

		r = poll(pfd, n + 1, busy ? POLL_MS : POLL_IDLE_MS);
		if (r > 0 && (pfd[n].revents & POLLIN)) {
			uint64_t v;
			ssize_t got = read(g.kick, &v, sizeof(v));

			(void)got;
		}

		pthread_mutex_lock(&g.lock);
		for (i = 0; r > 0 && i < n; i++) {
			/* A pidfd polls readable once its process has exited. */
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR) &&
			    g.pidfd[who[i]] == pfd[i].fd)
				slot_gone(who[i], 1);
		}
		for (s = 0; s < g.n_chans; s++) {
			if (g.del_pending[s]) {
				struct mn_engine_cmd cmd;
				struct mn_chan_shm *c = &g.shm->chans[s];

				memset(&cmd, 0, sizeof(cmd));
				cmd.op = MN_CMD_CHAN_DEL;
				cmd.chan = (uint16_t)s;
				cmd.chan_gen = c->gen;
				cmd.dead = g.del_dead[s];
				g.del_pending[s] = send_cmd(c->engine, &cmd) != 0;
			}
		}
		drain_done();
		pthread_mutex_unlock(&g.lock);
	}
	return NULL;
}

int mn_ctrl_start(void)
{
	int ret;

	if (!g.inited)
		return -EINVAL;
	ret = rte_mp_action_register(MN_CTRL_ACTION, ctrl_action);
	if (ret < 0)
		return rte_errno ? -rte_errno : -EINVAL;
	g.action_registered = 1;
	g.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);	/* -1: poll ignores it */
	g.running = 1;
	g.shm->state = MN_CTRL_RUNNING;
	ret = rte_ctrl_thread_create(&g.thread, "mn-ctrl", NULL, ctrl_thread, NULL);
	if (ret != 0) {
		g.running = 0;
		g.shm->state = MN_CTRL_STOPPED;
		rte_mp_action_unregister(MN_CTRL_ACTION);
		g.action_registered = 0;
		return -ret;
	}
	return 0;
}

void mn_ctrl_stop(void)
{
	if (!g.inited)
		return;
	g.shm->state = MN_CTRL_STOPPED;
	if (g.action_registered) {
		rte_mp_action_unregister(MN_CTRL_ACTION);
		g.action_registered = 0;
	}
	if (g.running) {
		g.running = 0;
		pthread_join(g.thread, NULL);
	}
	if (g.kick >= 0)
		close(g.kick);
	g.kick = -1;
}
