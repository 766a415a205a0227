/* mn_lib_init: joining machnetd. machnet_init() and machnet_init_eal() check
 * that a live machnetd serves the instance, take an app lcore id, start DPDK
 * as a secondary and register; the liveness probe that turns a dead machnetd
 * into ESHUTDOWN; machnet_strerror(). Nothing here prints: the reason for a
 * failure is kept for machnet_init_detail() (and, with MACHNET_DEBUG=1, also
 * written to stderr).
 */
#include "mn_lib_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memzone.h>

#include "mn_lib.h"

#define LIVENESS_NS 1000000ull		/* probe machnetd at most once per ms */
/* Apps poll empty rings in tight loops, so the clock is read only every
 * IDLE_CLOCK_EVERY empty calls (a clock_gettime per empty poll was 9% of a
 * polling app's cycles). */
#define IDLE_CLOCK_EVERY 64

struct mn_lib_global mn_lib_g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ctrl_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock_fd = -1,
};
#define G mn_lib_g

uint64_t mn_lib_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mn_lib_detail(const char *fmt, ...)
{
	const char *dbg = getenv("MACHNET_DEBUG");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(G.init_detail, sizeof(G.init_detail), fmt, ap);
	va_end(ap);
	/* Opt-in only: a library must not write on its host program's stderr. */
	if (dbg && strcmp(dbg, "1") == 0)
		fprintf(stderr, "machnet: %s\n", G.init_detail);
}

const char *machnet_init_detail(void)
{
	return G.init_detail;
}

/* ---------------- liveness of machnetd ---------------- */

int mn_lib_primary_dead(void)
{
	if (atomic_load(&G.state) == MN_LIB_BROKEN)
		return 1;
	if (G.shm && G.shm->state == MN_CTRL_STOPPED)
		goto dead;
	if (G.primary_pid > 0 && kill(G.primary_pid, 0) < 0 && errno == ESRCH)
		goto dead;
	return 0;
dead:
	atomic_store(&G.state, MN_LIB_BROKEN);
	return 1;
}

int mn_lib_idle_probe(struct mn_lib_chan *c)
{
	uint64_t t;

	if (G.shm->state == MN_CTRL_STOPPED) {
		atomic_store(&G.state, MN_LIB_BROKEN);
		return -ESHUTDOWN;
	}
	if (++c->idle_calls < IDLE_CLOCK_EVERY)
		return 0;
	c->idle_calls = 0;
	t = mn_lib_now_ns();
	if (t < c->next_probe_ns)
		return 0;
	c->next_probe_ns = t + LIVENESS_NS;
	return mn_lib_primary_dead() ? -ESHUTDOWN : 0;
}

/* ---------------- init ---------------- */

static int take_lcore_lock(void)
{
	char dir[200], path[300];
	unsigned n;

	mn_lib_lock_dir(dir, sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		mn_lib_detail("cannot create %s: %s", dir, strerror(errno));
		return -EACCES;
	}
	for (n = 0; n < MN_MAX_APPS; n++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s.lcore.%u", dir, G.instance, n);
		fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			mn_lib_detail("cannot open %s: %s", path, strerror(errno));
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
	mn_lib_detail("all %u app lcore ids of instance %s are taken", MN_MAX_APPS, G.instance);
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

/* Reads what the library needs from the instance description: the segment
 * room and machnetd's own addresses (a connect to one of them is refused at
 * once, see machnet_connect). */
static void read_info(void)
{
	const struct rte_memzone *info = rte_memzone_lookup(MN_MZ_INFO);
	const struct mn_info *mi;
	uint32_t i;

	if (info == NULL)
		return;
	mi = info->addr;
	if (mi->magic != MN_INFO_MAGIC)
		return;
	if (mi->mbuf_data_size > MN_SEG_DATA_OFF &&
	    mi->mbuf_data_size - MN_SEG_DATA_OFF < G.seg_room)
		G.seg_room = mi->mbuf_data_size - MN_SEG_DATA_OFF;
	for (i = 0; i < mi->n_ifaces && i < MN_ABI_MAX_IFACES; i++)
		G.ips[G.n_ips++] = mi->ifaces[i].ip;
}

/* After rte_eal_init(): find machnetd's control memzone and register. */
static int join_primary(void)
{
	const struct rte_memzone *mz = rte_memzone_lookup(MN_CTRL_MZ_NAME);
	struct mn_ctrl_req req;
	struct mn_ctrl_rep rep;
	int ret;

	if (mz == NULL) {
		mn_lib_detail("instance %s has no control memzone '%s': is machnetd (not "
			      "another DPDK program) running with instance %s, and has it "
			      "finished starting?", G.instance, MN_CTRL_MZ_NAME, G.instance);
		return -ENOENT;
	}
	G.shm = mz->addr;
	if (G.shm->magic != MN_CTRL_MAGIC || G.shm->abi_version != MN_ABI_VERSION) {
		mn_lib_detail("machnetd for instance %s speaks ABI version %u, this library "
			      "%u: rebuild the application against the installed libmachnet",
			      G.instance, G.shm->abi_version, MN_ABI_VERSION);
		return -EPROTO;
	}
	if (G.shm->state != MN_CTRL_RUNNING) {
		mn_lib_detail("machnetd for instance %s is %s", G.instance,
			      G.shm->state == MN_CTRL_STOPPED ? "shutting down" : "still starting");
		return G.shm->state == MN_CTRL_STOPPED ? -ESHUTDOWN : -ENOENT;
	}
	G.primary_pid = G.shm->primary_pid;
	G.meta_off = G.shm->meta_off;
	G.seg_room = G.shm->mss;
	read_info();
	if (G.seg_room == 0 || G.meta_off < 0) {
		mn_lib_detail("machnetd's control memzone is inconsistent");
		return -EPROTO;
	}
	/* Attaching to a dead primary's memory succeeds; the check must come
	 * after attaching (see the multi-process facts). */
	if (kill(G.primary_pid, 0) < 0 && errno == ESRCH) {
		mn_lib_detail("machnetd (pid %d) of instance %s has exited", G.primary_pid,
			      G.instance);
		return -ESHUTDOWN;
	}
	memset(&req, 0, sizeof(req));
	req.op = MN_REQ_HELLO;
	req.lcore_id = G.lcore_id;
	req.req_id = mn_lib_next_req_id();
	ret = mn_lib_ctrl_call(&req, &rep);
	if (ret < 0) {
		mn_lib_detail("machnetd of instance %s refused registration: %s", G.instance,
			      machnet_strerror(-ret));
		/* Registration errors outside machnet_init()'s list (a pidfd
		 * the kernel would not give) are machnetd's problem: EPROTO. */
		if (ret != -ENOSPC && ret != -ETIMEDOUT && ret != -ESHUTDOWN && ret != -EPROTO)
			ret = -EPROTO;
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
		mn_lib_detail("%s", msg);
		return ret;
	}
	used = rte_eal_init(argc, argv);
	if (used < 0) {
		int e = rte_errno;

		/* EAL cannot be started again in this process. */
		atomic_store(&G.state, MN_LIB_BROKEN);
		mn_lib_detail("DPDK could not start as a secondary of instance %s: %s", prefix,
			      rte_strerror(e));
		return e == EACCES ? -EACCES : -EIO;
	}
	ret = join_primary();
	if (ret < 0) {
		atomic_store(&G.state, MN_LIB_BROKEN);
		return ret;
	}
	atomic_store(&G.state, MN_LIB_READY);
	return used;
}

/* 1 (with *ret_out) when init already ran to an end it cannot leave. */
static int init_entry(int *ret_out)
{
	switch (atomic_load(&G.state)) {
	case MN_LIB_READY:
		*ret_out = 0;
		return 1;
	case MN_LIB_BROKEN:
		/* The first reason stays: it is the one to fix. */
		if (G.init_detail[0] == '\0')
			mn_lib_detail("machnetd went away; DPDK cannot start twice in one "
				      "process: restart it");
		*ret_out = -ESHUTDOWN;
		return 1;
	default:
		G.init_detail[0] = '\0';
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
		mn_lib_detail("MACHNET_INSTANCE='%.64s' is not an instance name "
			      "([A-Za-z0-9_-]{1,31})", inst);
		goto out;
	}
	snprintf(G.instance, sizeof(G.instance), "%s", inst);
	ret = mn_lib_primary_alive(inst, NULL, err, sizeof(err));
	if (ret < 0) {
		mn_lib_detail("%s", err);
		goto out;
	}
	ret = take_lcore_lock();
	if (ret < 0)
		goto out;
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
	return ret < 0 ? mn_lib_fail(-ret) : 0;
}

int machnet_init_eal(int argc, char **argv)
{
	char prefix[64], lcores[600], cpus[512], err[512];
	char *av[256];
	int has_lcores, ret, i, n = 0, added = 0;

	if (argc < 1 || argv == NULL || argc > 250)
		return mn_lib_fail(EINVAL);
	ret = mn_lib_scan_eal_args(argc, argv, &has_lcores, prefix, sizeof(prefix));
	if (ret < 0 || mn_lib_check_instance(prefix) < 0) {
		pthread_mutex_lock(&G.lock);
		mn_lib_detail("the EAL arguments must say --proc-type=secondary (auto would "
			      "silently start a second primary) and name a valid --file-prefix");
		pthread_mutex_unlock(&G.lock);
		return mn_lib_fail(EINVAL);
	}
	pthread_mutex_lock(&G.lock);
	if (init_entry(&ret)) {
		/* Already initialised: nothing of argv was used. */
		pthread_mutex_unlock(&G.lock);
		return ret < 0 ? mn_lib_fail(-ret) : 0;
	}
	memcpy(G.instance, prefix, sizeof(G.instance) - 1);	/* checked: <= 31 chars */
	G.instance[sizeof(G.instance) - 1] = '\0';
	av[n++] = argv[0];
	if (!has_lcores) {
		ret = mn_lib_primary_alive(prefix, NULL, err, sizeof(err));
		if (ret < 0)
			mn_lib_detail("%s", err);
		else
			ret = take_lcore_lock();
		if (ret < 0) {
			pthread_mutex_unlock(&G.lock);
			return mn_lib_fail(-ret);
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
		return mn_lib_fail(-ret);
	return ret - added;
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
		return "not a live channel of this process (never attached, or detached)";
	case EBUSY:
		return "another thread is using this channel now, or every app lcore id is taken";
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
		return "no machnetd for this instance (is machnetd running with instance "
		       "$MACHNET_INSTANCE?), or no such flow";
	case EPROTO:
		return "machnetd speaks another ABI version, or sent a malformed reply";
	case ENOSPC:
		return "machnetd has no free app slot, channel, flow or listener";
	case EMFILE:
		return "this process has too many channels";
	case EDQUOT:
		return "this application holds its limit of flows or listeners (apps.max_flows, "
		       "apps.max_listeners)";
	case EACCES:
		return "permission denied (hugepages, run directory: run as root)";
	case EADDRNOTAVAIL:
		return "the local IP address is not one of machnetd's (or no local port is free)";
	case EADDRINUSE:
		return "someone already listens on that address and port";
	case EHOSTUNREACH:
		return "no ARP answer from the remote IP (or its gateway)";
	case ENETUNREACH:
		return "no path to the remote IP: not unicast, loopback, machnetd's own, or "
		       "off-subnet with no gateway";
	case EIO:
		return "DPDK could not start as a secondary (see machnet_init_detail())";
	case ESRCH:
		return "machnetd does not know this process (registration lost)";
	case ECONNABORTED:
		return "the operation was cut short by a close of the same flow";
	default:
		return "unknown error";
	}
}
