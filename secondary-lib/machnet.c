/* libmachnet: the application side of machnet-mp (see machnet.h for the
 * contract, mn_abi.h for what crosses to machnetd).
 *
 * Data path: no locks, no malloc, no syscalls except a rate-limited liveness
 * probe of machnetd while a call finds nothing to do. A channel is used by one
 * thread; the control path (attach, listen, connect...) is thread-safe.
 */
#include "machnet.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mn_abi.h"
#include "mn_lib.h"

#define MN_LIB_MAX_CHANS 64		/* channels per process */
#define PEND_EVENTS 64			/* events set aside while waiting for a reply */
#define RX_CACHE 16
#define USED_BATCH 16
/* How long a control request may wait for machnetd's answer. It usually
 * takes tens of microseconds; the bound is generous because on a small shared
 * machine (2 vCPUs, engines and many apps polling) machnetd's IPC thread was
 * seen to wait over a second for a CPU. A dead machnetd is noticed at once
 * anyway (liveness probe), so this only bounds a live but starved one. */
#define CTRL_TIMEOUT_MS 5000
#define LIVENESS_NS 1000000ull		/* probe machnetd at most once per ms */

enum { LIB_NONE = 0, LIB_READY = 1, LIB_BROKEN = 2 };

struct MachnetChannelCtx {
	int in_use;
	uint32_t id, gen;
	struct rte_ring *tx, *rx, *fill, *used, *ev;
	struct mn_chan_shm *cs;
	uint32_t seg_room;		/* payload bytes per segment */
	struct rte_mbuf *rxq[RX_CACHE];	/* dequeued, not yet taken */
	unsigned rxq_head, rxq_n;
	struct rte_mbuf *usedq[USED_BATCH];	/* consumed, not yet returned */
	unsigned usedq_n;
	struct mn_event pend[PEND_EVENTS];
	unsigned pend_head, pend_n;
	uint64_t next_probe_ns;
	uint32_t idle_calls;	/* empty data-path calls since the last clock read */
};

static struct {
	_Atomic int state;
	pthread_mutex_t lock;	/* init and attach/detach bookkeeping */
	pthread_mutex_t ctrl_lock;	/* one control request in flight (see ctrl_call) */
	struct mn_ctrl_shm *shm;
	int primary_pid;
	uint32_t slot, slot_gen;
	int lock_fd;
	unsigned lcore_id;
	uint32_t seg_room;
	int meta_off;
	_Atomic uint32_t req_seq;
	char instance[32];
} G = { .lock = PTHREAD_MUTEX_INITIALIZER, .ctrl_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock_fd = -1 };

static struct MachnetChannelCtx g_chans[MN_LIB_MAX_CHANS];

static int fail(int err)
{
	errno = err;
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------------- liveness of machnetd ---------------- */

static int primary_dead(void)
{
	if (atomic_load(&G.state) == LIB_BROKEN)
		return 1;
	if (G.shm && G.shm->state == MN_CTRL_STOPPED)
		goto dead;
	if (G.primary_pid > 0 && kill(G.primary_pid, 0) < 0 && errno == ESRCH)
		goto dead;
	return 0;
dead:
	atomic_store(&G.state, LIB_BROKEN);
	return 1;
}

/* Called where a data-path call found nothing to do: cheap unless a
 * millisecond has passed since the last probe. Apps poll empty rings in
 * tight loops, so the clock is read only every IDLE_CLOCK_EVERY calls (a
 * clock_gettime per empty poll was 9% of a polling app's cycles). */
#define IDLE_CLOCK_EVERY 64
static int idle_probe(struct MachnetChannelCtx *c)
{
	uint64_t t;

	if (G.shm->state == MN_CTRL_STOPPED) {
		atomic_store(&G.state, LIB_BROKEN);
		return -ESHUTDOWN;
	}
	if (++c->idle_calls < IDLE_CLOCK_EVERY)
		return 0;
	c->idle_calls = 0;
	t = now_ns();
	if (t < c->next_probe_ns)
		return 0;
	c->next_probe_ns = t + LIVENESS_NS;
	return primary_dead() ? -ESHUTDOWN : 0;
}

/* The channel behind a handle; errno-style checks every call shares. */
static struct MachnetChannelCtx *chan_of(const void *p, int *err)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)g_chans;
	struct MachnetChannelCtx *c;

	if (p == NULL) {
		*err = EINVAL;
		return NULL;
	}
	if (a < base || a >= base + sizeof(g_chans) ||
	    (a - base) % sizeof(g_chans[0]) != 0) {
		*err = EBADF;
		return NULL;
	}
	c = (struct MachnetChannelCtx *)p;
	if (!c->in_use) {
		*err = EBADF;
		return NULL;
	}
	switch (atomic_load(&G.state)) {
	case LIB_READY:
		return c;
	case LIB_BROKEN:
		*err = ESHUTDOWN;
		return NULL;
	default:
		*err = ENOTCONN;
		return NULL;
	}
}

#define CHAN_OR_FAIL(c, p) \
	int err_; \
	struct MachnetChannelCtx *c = chan_of((p), &err_); \
	if (c == NULL) \
		return fail(err_)

/* ---------------- control requests ---------------- */

static int ctrl_call(struct mn_ctrl_req *req, struct mn_ctrl_rep *rep)
{
	struct rte_mp_msg msg;
	struct rte_mp_reply reply;
	struct timespec ts = { CTRL_TIMEOUT_MS / 1000, (CTRL_TIMEOUT_MS % 1000) * 1000000L };
	int ret;

	req->abi_version = MN_ABI_VERSION;
	req->pid = getpid();
	req->slot = G.slot;
	req->slot_gen = G.slot_gen;
	memset(&msg, 0, sizeof(msg));
	snprintf(msg.name, sizeof(msg.name), "%s", MN_CTRL_ACTION);
	msg.len_param = sizeof(*req);
	memcpy(msg.param, req, sizeof(*req));
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
		return primary_dead() ? -ESHUTDOWN : -ETIMEDOUT;
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

static void stash_event(struct MachnetChannelCtx *c, const struct mn_event *ev)
{
	if (c->pend_n == PEND_EVENTS) {
		/* Oldest first out: an app that never polls events loses old
		 * ones, not the reply it is waiting for. */
		c->pend_head = (c->pend_head + 1) % PEND_EVENTS;
		c->pend_n--;
	}
	c->pend[(c->pend_head + c->pend_n) % PEND_EVENTS] = *ev;
	c->pend_n++;
}

/* Waits for the reply event (type, req_id), setting other events aside.
 * Bounded by timeout_ms; fails early with ESHUTDOWN if machnetd dies. */
static int wait_event(struct MachnetChannelCtx *c, uint16_t type, uint32_t req_id,
		      uint32_t timeout_ms, struct mn_event *out)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	unsigned spins = 0;

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
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		if (primary_dead())
			return -ESHUTDOWN;
		sched_yield();
	}
}

static uint32_t next_req_id(void)
{
	uint32_t id;

	do
		id = atomic_fetch_add(&G.req_seq, 1) + 1;
	while (id == 0);
	return id;
}

/* ---------------- init ---------------- */

static int take_lcore_lock(char *err, size_t errlen)
{
	char dir[200], path[300];
	unsigned n;

	mn_lib_lock_dir(dir, sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -EACCES;
	}
	for (n = 0; n < MN_MAX_APPS; n++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s.lcore.%u", dir, G.instance, n);
		fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
			return -EACCES;
		}
		/* Held until the process ends; the kernel drops it on death,
		 * so a killed app's id is free again at once. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			G.lock_fd = fd;
			G.lcore_id = MN_APP_LCORE_BASE + n;
			return 0;
		}
		close(fd);
	}
	snprintf(err, errlen, "all %u app lcore ids of instance %s are taken", MN_MAX_APPS,
		 G.instance);
	return -EBUSY;
}

static void cpu_list(char *out, size_t len)
{
	cpu_set_t set;
	size_t used = 0;
	int cpu, first = 1;

	out[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		snprintf(out, len, "0");
		return;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && used + 8 < len; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%d", first ? "" : ",", cpu);
		first = 0;
	}
	if (first)
		snprintf(out, len, "0");
}

/* After rte_eal_init(): find machnetd's control memzone and register. */
static int join_primary(char *err, size_t errlen)
{
	const struct rte_memzone *mz = rte_memzone_lookup(MN_CTRL_MZ_NAME);
	const struct rte_memzone *info = rte_memzone_lookup(MN_MZ_INFO);
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	int ret;

	if (mz == NULL) {
		snprintf(err, errlen, "instance %s has no control memzone '%s': is machnetd "
			 "(not another DPDK program) running with instance %s, and has it "
			 "finished starting?", G.instance, MN_CTRL_MZ_NAME, G.instance);
		return -ENOENT;
	}
	G.shm = mz->addr;
	if (G.shm->magic != MN_CTRL_MAGIC || G.shm->abi_version != MN_ABI_VERSION) {
		snprintf(err, errlen, "machnetd for instance %s speaks ABI version %u, this "
			 "library %u: rebuild the application against the installed libmachnet",
			 G.instance, G.shm->abi_version, MN_ABI_VERSION);
		return -EPROTO;
	}
	if (G.shm->state != MN_CTRL_RUNNING) {
		snprintf(err, errlen, "machnetd for instance %s is %s", G.instance,
			 G.shm->state == MN_CTRL_STOPPED ? "shutting down" : "still starting");
		return G.shm->state == MN_CTRL_STOPPED ? -ESHUTDOWN : -ENOENT;
	}
	G.primary_pid = G.shm->primary_pid;
	G.meta_off = G.shm->meta_off;
	G.seg_room = G.shm->mss;
	if (info != NULL) {
		const struct mn_info *mi = info->addr;

		if (mi->magic == MN_INFO_MAGIC && mi->mbuf_data_size > MN_SEG_DATA_OFF &&
		    mi->mbuf_data_size - MN_SEG_DATA_OFF < G.seg_room)
			G.seg_room = mi->mbuf_data_size - MN_SEG_DATA_OFF;
	}
	if (G.seg_room == 0 || G.meta_off < 0) {
		snprintf(err, errlen, "machnetd's control memzone is inconsistent");
		return -EPROTO;
	}
	/* Attaching to a dead primary's memory succeeds; the check must come
	 * after attaching (see the multi-process facts). */
	if (kill(G.primary_pid, 0) < 0 && errno == ESRCH) {
		snprintf(err, errlen, "machnetd (pid %d) of instance %s has exited",
			 G.primary_pid, G.instance);
		return -ESHUTDOWN;
	}
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_HELLO;
	req.lcore_id = G.lcore_id;
	req.req_id = next_req_id();
	ret = ctrl_call(&req, &rep);
	if (ret < 0) {
		snprintf(err, errlen, "machnetd of instance %s refused registration: %s",
			 G.instance, machnet_strerror(-ret));
		return ret;
	}
	G.slot = rep.slot;
	G.slot_gen = rep.slot_gen;
	return 0;
}

/* Runs the EAL with argv (lcore lock already taken when needed) and joins
 * machnetd. Returns rte_eal_init()'s count or -errno. Caller holds G.lock. */
static int start_eal(int argc, char **argv, const char *prefix)
{
	char msg[512];
	int pid, ret, used;

	ret = mn_lib_primary_alive(prefix, &pid, msg, sizeof(msg));
	if (ret < 0) {
		fprintf(stderr, "machnet: %s\n", msg);
		return ret;
	}
	used = rte_eal_init(argc, argv);
	if (used < 0) {
		int e = rte_errno;

		/* EAL cannot be started again in this process. */
		atomic_store(&G.state, LIB_BROKEN);
		fprintf(stderr, "machnet: DPDK could not start as a secondary of instance %s: "
			"%s\n", prefix, rte_strerror(e));
		return e == EACCES ? -EACCES : -EIO;
	}
	ret = join_primary(msg, sizeof(msg));
	if (ret < 0) {
		fprintf(stderr, "machnet: %s\n", msg);
		atomic_store(&G.state, LIB_BROKEN);
		return ret;
	}
	atomic_store(&G.state, LIB_READY);
	return used;
}

static int init_entry(int *ret_out)
{
	switch (atomic_load(&G.state)) {
	case LIB_READY:
		*ret_out = 0;
		return 1;
	case LIB_BROKEN:
		*ret_out = -ESHUTDOWN;
		return 1;
	default:
		return 0;
	}
}

int machnet_init(void)
{
	const char *inst = getenv("MACHNET_INSTANCE");
	char lcores[600], cpus[512], err[512];
	char prefix[64];
	char *argv[8];
	int argc = 0, ret;

	pthread_mutex_lock(&G.lock);
	if (init_entry(&ret))
		goto out;
	if (inst == NULL || *inst == '\0')
		inst = "mn0";
	ret = mn_lib_check_instance(inst);
	if (ret < 0) {
		fprintf(stderr, "machnet: MACHNET_INSTANCE='%s' is not an instance name "
			"([A-Za-z0-9_-]{1,31})\n", inst);
		goto out;
	}
	snprintf(G.instance, sizeof(G.instance), "%s", inst);
	ret = mn_lib_primary_alive(inst, NULL, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "machnet: %s\n", err);
		goto out;
	}
	ret = take_lcore_lock(err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "machnet: %s\n", err);
		goto out;
	}
	cpu_list(cpus, sizeof(cpus));
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", inst);
	snprintf(lcores, sizeof(lcores), "--lcores=%u@(%s)", G.lcore_id, cpus);
	argv[argc++] = (char *)"machnet-app";
	argv[argc++] = (char *)"--proc-type=secondary";
	argv[argc++] = prefix;
	argv[argc++] = (char *)"--no-pci";
	argv[argc++] = (char *)"--no-telemetry";
	argv[argc++] = lcores;
	argv[argc++] = (char *)"--log-level=error";
	argv[argc] = NULL;
	ret = start_eal(argc, argv, inst);
	if (ret > 0)
		ret = 0;
out:
	pthread_mutex_unlock(&G.lock);
	return ret < 0 ? fail(-ret) : 0;
}

int machnet_init_eal(int argc, char **argv)
{
	char prefix[64], lcores[600], cpus[512], err[512];
	char *av[256];
	int has_lcores, ret, i, n = 0, added = 0;

	if (argc < 1 || argv == NULL || argc > 250)
		return fail(EINVAL);
	ret = mn_lib_scan_eal_args(argc, argv, &has_lcores, prefix, sizeof(prefix));
	if (ret < 0) {
		fprintf(stderr, "machnet: the EAL arguments must say --proc-type=secondary "
			"(auto would silently start a second primary)\n");
		return fail(EINVAL);
	}
	if (mn_lib_check_instance(prefix) < 0)
		return fail(EINVAL);
	pthread_mutex_lock(&G.lock);
	if (init_entry(&ret)) {
		/* Already initialised: nothing of argv was used. */
		pthread_mutex_unlock(&G.lock);
		return ret < 0 ? fail(-ret) : 0;
	}
	memcpy(G.instance, prefix, sizeof(G.instance) - 1);	/* checked: <= 31 chars */
	G.instance[sizeof(G.instance) - 1] = '\0';
	av[n++] = argv[0];
	if (!has_lcores) {
		ret = mn_lib_primary_alive(prefix, NULL, err, sizeof(err));
		if (ret == 0)
			ret = take_lcore_lock(err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "machnet: %s\n", err);
			pthread_mutex_unlock(&G.lock);
			return fail(-ret);
		}
		cpu_list(cpus, sizeof(cpus));
		snprintf(lcores, sizeof(lcores), "--lcores=%u@(%s)", G.lcore_id, cpus);
		av[n++] = lcores;
		added = 1;
	}
	for (i = 1; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	ret = start_eal(n, av, prefix);
	pthread_mutex_unlock(&G.lock);
	if (ret < 0)
		return fail(-ret);
	return ret - added;
}

/* ---------------- channels ---------------- */

static struct rte_ring *ring_of(uint32_t id, const char *kind)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), MN_RING_NAME_FMT, id, kind);
	return rte_ring_lookup(name);
}

void *machnet_attach(void)
{
	struct MachnetChannelCtx *c = NULL;
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	struct mn_event ev;
	int ret, i, st = atomic_load(&G.state);

	if (st != LIB_READY) {
		errno = st == LIB_BROKEN ? ESHUTDOWN : ENOTCONN;
		return NULL;
	}
	pthread_mutex_lock(&G.lock);
	for (i = 0; i < MN_LIB_MAX_CHANS; i++) {
		if (!g_chans[i].in_use) {
			c = &g_chans[i];
			memset(c, 0, sizeof(*c));
			c->in_use = -1;	/* reserved while attaching */
			break;
		}
	}
	pthread_mutex_unlock(&G.lock);
	if (c == NULL) {
		errno = EMFILE;
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_ATTACH;
	req.req_id = next_req_id();
	ret = ctrl_call(&req, &rep);
	if (ret < 0)
		goto fail;
	c->id = rep.chan;
	c->gen = rep.chan_gen;
	c->cs = &G.shm->chans[rep.chan];
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
	/* The engine primes the fill ring before saying so: a send right
	 * after attach does not see an empty ring. */
	ret = wait_event(c, MN_EV_ATTACHED, req.req_id, CTRL_TIMEOUT_MS, &ev);
	if (ret < 0)
		goto fail_detach;
	c->in_use = 1;
	return c;
fail_detach:
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_DETACH;
	req.chan = rep.chan;
	req.chan_gen = rep.chan_gen;
	ctrl_call(&req, &rep);
fail:
	pthread_mutex_lock(&G.lock);
	c->in_use = 0;
	pthread_mutex_unlock(&G.lock);
	errno = -ret;
	return NULL;
}

static int flow_request(struct MachnetChannelCtx *c, struct mn_ctrl_req *req, uint16_t ev_type,
			uint32_t timeout_ms, struct mn_event *ev)
{
	struct mn_ctrl_rep rep;
	int ret;

	req->chan = c->id;
	req->chan_gen = c->gen;
	req->req_id = next_req_id();
	ret = ctrl_call(req, &rep);
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
	uint32_t ip;
	int ret;

	if (mn_lib_parse_ip(local_ip, &ip) < 0 || port == 0)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_LISTEN;
	req.local_ip = ip;
	req.local_port = port;
	ret = flow_request(c, &req, MN_EV_LISTEN, CTRL_TIMEOUT_MS, &ev);
	return ret < 0 ? fail(-ret) : 0;
}

int machnet_connect(void *channel_ctx, const char *local_ip, const char *remote_ip,
		    uint16_t remote_port, MachnetFlow_t *flow)
{
	struct mn_ctrl_req req;
	struct mn_event ev;
	uint32_t lip, rip;
	int ret;

	if (mn_lib_parse_ip(local_ip, &lip) < 0 || mn_lib_parse_ip(remote_ip, &rip) < 0 ||
	    remote_port == 0 || flow == NULL)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_CONNECT;
	req.local_ip = lip;
	req.remote_ip = rip;
	req.remote_port = remote_port;
	ret = flow_request(c, &req, MN_EV_CONNECTED,
			   G.shm->connect_timeout_ms + CTRL_TIMEOUT_MS, &ev);
	if (ret < 0)
		return fail(-ret);
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
	int ret;

	if (flow == NULL)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_CLOSE;
	req.local_ip = flow->src_ip;
	req.remote_ip = flow->dst_ip;
	req.local_port = flow->src_port;
	req.remote_port = flow->dst_port;
	ret = flow_request(c, &req, MN_EV_CLOSED, CTRL_TIMEOUT_MS, &ev);
	return ret < 0 ? fail(-ret) : 0;
}

int machnet_detach(void *channel_ctx)
{
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	int ret;

	CHAN_OR_FAIL(c, channel_ctx);
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_DETACH;
	req.chan = c->id;
	req.chan_gen = c->gen;
	req.req_id = next_req_id();
	ret = ctrl_call(&req, &rep);
	/* Whatever machnetd answered, this handle is finished: buffers still
	 * in our caches are reclaimed by the engine from its owner table. */
	pthread_mutex_lock(&G.lock);
	c->in_use = 0;
	pthread_mutex_unlock(&G.lock);
	return ret < 0 ? fail(-ret) : 0;
}

/* ---------------- data path ---------------- */

static inline struct mn_msg_meta *meta_of(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, G.meta_off, struct mn_msg_meta *);
}

/* Returns unsent buffers m[0..n) to the engine as one well-formed chain, so
 * the engine's checks accept it. */
static void give_back(struct MachnetChannelCtx *c, struct rte_mbuf **m, unsigned n)
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
static struct rte_mbuf *take_chain(struct MachnetChannelCtx *c, size_t len, uint32_t nseg)
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

static void flush_used(struct MachnetChannelCtx *c);

/* Checks room for one more message (pending already built but not queued)
 * and nseg buffers; asks the engine for more buffers when short. */
static int have_room(struct MachnetChannelCtx *c, unsigned pending, uint32_t nseg)
{
	if (rte_ring_free_count(c->tx) <= pending)
		return -EAGAIN;
	if (rte_ring_count(c->fill) < nseg) {
		/* Received messages we are done with may be what the pool
		 * lacks (an echo of a large message): hand them back now,
		 * not at the next idle receive. */
		flush_used(c);
		if (c->cs->fill_want < nseg)
			c->cs->fill_want = nseg;
		return -EAGAIN;
	}
	return 0;
}

static void set_meta(struct MachnetChannelCtx *c, struct rte_mbuf *head, const MachnetFlow_t *f,
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

/* Builds one message (checked msghdr) into a chain. */
static int build_msg(struct MachnetChannelCtx *c, const MachnetMsgHdr_t *h, unsigned pending,
		     struct rte_mbuf **out)
{
	uint32_t nseg = mn_lib_nsegs(h->msg_size, c->seg_room);
	struct rte_mbuf *head, *m;
	size_t iov = 0, iov_off = 0;
	int ret;

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

static int send_fail(struct MachnetChannelCtx *c, int err)
{
	if (err == EAGAIN && idle_probe(c) < 0)
		err = ESHUTDOWN;
	return fail(err);
}

int machnet_sendmsg(const void *channel_ctx, const MachnetMsgHdr_t *msghdr)
{
	struct rte_mbuf *head;
	int ret = mn_lib_check_msghdr(msghdr);

	if (ret < 0)
		return fail(-ret);
	CHAN_OR_FAIL(c, channel_ctx);
	ret = build_msg(c, msghdr, 0, &head);
	if (ret < 0)
		return send_fail(c, -ret);
	/* Room was checked and we are the only producer. */
	rte_ring_enqueue(c->tx, head);
	return 0;
}

int machnet_send(const void *channel_ctx, MachnetFlow_t flow, const void *buf, size_t len)
{
	MachnetIovec_t iov;
	MachnetMsgHdr_t h;
	int ret;

	if (buf == NULL)
		return fail(EINVAL);
	ret = mn_lib_check_size(len);
	if (ret < 0)
		return fail(-ret);
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
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
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
		if (k)
			rte_ring_enqueue_burst(c->tx, (void **)heads, k, NULL);
		sent += (int)k;
	}
	if (sent < vlen) {
		if (err == EAGAIN && idle_probe(c) < 0) {
			if (sent == 0)
				return fail(ESHUTDOWN);
			err = ESHUTDOWN;
		}
		errno = err;
	}
	return sent;
}

static void flush_used(struct MachnetChannelCtx *c)
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
static struct rte_mbuf *next_rx(struct MachnetChannelCtx *c)
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
			return NULL;
		}
	}
	c->rxq_n--;
	return c->rxq[c->rxq_head++];
}

static void release_rx(struct MachnetChannelCtx *c, struct rte_mbuf *head)
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
static int recv_into(struct MachnetChannelCtx *c, MachnetMsgHdr_t *h)
{
	struct rte_mbuf *head = next_rx(c), *m;
	size_t cap = 0, iov = 0, iov_off = 0, i;
	uint32_t k;

	if (head == NULL)
		return idle_probe(c);
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
		return fail(EINVAL);
	for (i = 0; i < msghdr->msg_iovlen; i++)
		if (msghdr->msg_iov[i].base == NULL && msghdr->msg_iov[i].len > 0)
			return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	ret = recv_into(c, msghdr);
	return ret < 0 ? fail(-ret) : ret;
}

ssize_t machnet_recv(const void *channel_ctx, void *buf, size_t len, MachnetFlow_t *flow)
{
	MachnetIovec_t iov;
	MachnetMsgHdr_t h;
	int ret;

	if (buf == NULL || flow == NULL)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	iov.base = buf;
	iov.len = len;
	memset(&h, 0, sizeof(h));
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	ret = recv_into(c, &h);
	if (ret <= 0)
		return ret < 0 ? fail(-ret) : 0;
	*flow = h.flow_info;
	return (ssize_t)h.msg_size;
}

ssize_t machnet_recv_timeout(const void *channel_ctx, void *buf, size_t len,
			     MachnetFlow_t *flow, long timeout_us)
{
	uint64_t deadline = 0;
	unsigned spins = 0;

	if (buf == NULL || flow == NULL)
		return fail(EINVAL);
	if (timeout_us >= 0)
		deadline = now_ns() + (uint64_t)timeout_us * 1000ull;
	for (;;) {
		ssize_t r = machnet_recv(channel_ctx, buf, len, flow);

		if (r != 0)
			return r;
		if (++spins < 64) {
			rte_pause();
			continue;
		}
		spins = 0;
		if (timeout_us >= 0 && now_ns() >= deadline)
			return fail(ETIMEDOUT);
		sched_yield();
	}
}

int machnet_poll_event(const void *channel_ctx, MachnetEvent_t *ev)
{
	struct mn_event e;
	unsigned guard;

	if (ev == NULL)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	/* Bounded: at most the ring's contents are skipped per call. */
	for (guard = 0; guard < 4096; guard++) {
		if (c->pend_n) {
			e = c->pend[c->pend_head];
			c->pend_head = (c->pend_head + 1) % PEND_EVENTS;
			c->pend_n--;
		} else if (rte_ring_dequeue_elem(c->ev, &e, sizeof(e)) != 0) {
			int r = idle_probe(c);

			return r < 0 ? fail(-r) : 0;
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
		return 1;
	}
	return 0;
}

/* ---------------- zero copy ---------------- */

int machnet_zc_alloc(void *channel_ctx, size_t len, MachnetZcMsg_t *msg)
{
	struct rte_mbuf *head;
	uint32_t nseg;
	int ret;

	if (msg == NULL)
		return fail(EINVAL);
	ret = mn_lib_check_size(len);
	if (ret < 0)
		return fail(-ret);
	CHAN_OR_FAIL(c, channel_ctx);
	nseg = mn_lib_nsegs(len, c->seg_room);
	if (rte_ring_count(c->fill) < nseg) {
		flush_used(c);
		if (c->cs->fill_want < nseg)
			c->cs->fill_want = nseg;
		return send_fail(c, EAGAIN);
	}
	head = take_chain(c, len, nseg);
	if (head == NULL)
		return send_fail(c, EAGAIN);
	if (c->cs->fill_want)
		c->cs->fill_want = 0;
	memset(msg, 0, sizeof(*msg));
	msg->handle = head;
	msg->msg_size = (uint32_t)len;
	msg->nseg = nseg;
	return 0;
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
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	if (rte_ring_free_count(c->tx) == 0)
		return send_fail(c, EAGAIN);
	set_meta(c, msg->handle, &msg->flow, 0);
	rte_ring_enqueue(c->tx, msg->handle);
	msg->handle = NULL;
	return 0;
}

int machnet_zc_recv(void *channel_ctx, MachnetZcMsg_t *msg)
{
	struct rte_mbuf *head;
	int r;

	if (msg == NULL)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	head = next_rx(c);
	if (head == NULL) {
		r = idle_probe(c);
		return r < 0 ? fail(-r) : 0;
	}
	msg->handle = head;
	msg->msg_size = head->pkt_len;
	msg->nseg = head->nb_segs;
	flow_of(head, &msg->flow);
	return 1;
}

int machnet_zc_release(void *channel_ctx, MachnetZcMsg_t *msg)
{
	if (msg == NULL || msg->handle == NULL)
		return fail(EINVAL);
	CHAN_OR_FAIL(c, channel_ctx);
	if (c->usedq_n == USED_BATCH) {
		flush_used(c);
		if (c->usedq_n == USED_BATCH)
			return send_fail(c, EAGAIN);
	}
	release_rx(c, msg->handle);
	msg->handle = NULL;
	return 0;
}

/* ---------------- errors ---------------- */

const char *machnet_strerror(int errnum)
{
	switch (errnum) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument (NULL channel or pointer, bad IP string, size 0, port 0)";
	case EBADF:
		return "not an attached channel of this process";
	case ENOTCONN:
		return "machnet_init() has not succeeded in this process";
	case ESHUTDOWN:
		return "machnetd went away: exit and restart the application";
	case EAGAIN:
		return "backpressure: ring full or not enough free buffers yet, retry";
	case EMSGSIZE:
		return "message larger than 8 MiB, or than the receive buffer";
	case ECONNRESET:
		return "the flow was reset by the peer";
	case ETIMEDOUT:
		return "timed out (no answer from the peer or machnetd)";
	case ECONNREFUSED:
		return "the peer refused the connection";
	case ENOENT:
		return "no machnetd for this instance, or no such flow";
	case EPROTO:
		return "machnetd speaks another ABI version, or sent a malformed reply";
	case ENOSPC:
		return "machnetd has no free app slot or channel";
	case EMFILE:
		return "this process has too many channels";
	case EBUSY:
		return "every app lcore id of this instance is taken";
	case EACCES:
		return "permission denied (hugepages, run directory: run as root)";
	case EADDRNOTAVAIL:
		return "the local IP address is not one of machnetd's";
	case EADDRINUSE:
		return "someone already listens on that address and port";
	case EHOSTUNREACH:
		return "no ARP answer from the remote IP (or its gateway)";
	case EIO:
		return "DPDK could not start as a secondary (see its message)";
	case ESRCH:
		return "machnetd does not know this process (registration lost)";
	default:
		return "unknown error";
	}
}
