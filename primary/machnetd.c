/* machnetd: the DPDK primary. Reads a config, refuses a second instance of
 * the same name, starts EAL, the ports and one engine per engine lcore,
 * publishes the instance in the MN_MZ_INFO memzone and serves telemetry until
 * SIGINT/SIGTERM; then stops everything and removes its hugepage files.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_pdump.h>
#include <rte_rwlock.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "mn_abi.h"
#include "mn_config.h"
#include "mn_ctrl.h"
#include "mn_engine.h"
#include "mn_pkt.h"
#include "mn_port.h"
#include "mn_proto.h"
#include "mn_wire.h"

#define RUN_DIR "/run/machnet"
#define MAX_PROBES MN_ENGINE_MAX_PROBES

static atomic_bool g_stop;
static const char *g_instance = "?";
static struct mn_info *g_info;	/* for the telemetry callbacks */

static struct mn_config g_cfg;
static struct mn_port g_ports[MN_CFG_MAX_IFACES];
static struct mn_engine g_engines[MN_CFG_MAX_ENGINES];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "machnetd[%s]: ", g_instance);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: machnetd -c FILE [-v] [--arp-probe IP]... [-- EAL-ARGS...]\n"
		"       machnetd --check FILE [-v]\n"
		"\n"
		"The DPDK primary of a machnet-mp stack: owns the NICs named in FILE and\n"
		"runs one engine per engine lcore until SIGINT or SIGTERM.\n"
		"\n"
		"  -c, --config FILE   the instance's libconfig file (docs/CONFIG.md)\n"
		"      --check         only validate the config (FILE may follow --check);\n"
		"                      exit 0 when valid, 1 with \"FILE:LINE: problem\" if not\n"
		"  -v, --verbose       print the config (--check) and the engine summary\n"
		"      --arp-probe IP  diagnostic: resolve IP by ARP at start and log\n"
		"                      \"arp: IP is at MAC\" when it answers (repeatable, %d max)\n"
		"  -h, --help          this text\n"
		"  -- EAL-ARGS         appended to the EAL arguments built from FILE\n"
		"                      (e.g. -- --log-level=eal,debug)\n"
		"\n"
		"One instance per name: a second machnetd with the same instance exits with\n"
		"an error (lock file " RUN_DIR "/<instance>.lock).\n"
		"Telemetry: /machnet/stats[,ENGINE] and /machnet/info\n"
		"(dpdk-telemetry.py -f <instance>).\n",
		MAX_PROBES);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

/* The memif PMD of DPDK 22.11 does not unlink its server socket at a crash
 * and refuses to start when the path exists ("Address already in use"), so a
 * machnetd killed with SIGKILL could not be restarted. We hold the instance
 * lock, so a server socket of ours that nobody accepts on is stale: remove
 * it. A socket someone listens on (another process's) is left alone. */
static void unlink_stale_memif_sockets(const struct mn_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		const char *dev = cfg->ifaces[i].device, *p;
		struct sockaddr_un sa;
		struct stat st;
		size_t len;
		int fd, r;

		if (strncmp(dev, "net_memif", 9) != 0 || strstr(dev, "role=client") ||
		    strstr(dev, "socket-abstract=no") == NULL || (p = strstr(dev, "socket=")) == NULL)
			continue;
		p += 7;
		len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(sa.sun_path))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, p, len);
		if (lstat(sa.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r != 0 && errno == ECONNREFUSED && unlink(sa.sun_path) == 0)
			say("%s: removed stale memif socket %s (left by a process that died)",
			    cfg->ifaces[i].name, sa.sun_path);
	}
}

/* Takes port i away from the engines: raises its hold word and waits
 * (bounded) until every engine has stepped back. true when they all did;
 * otherwise the hold is dropped again and false returned. */
static bool port_hold(unsigned i)
{
	uint32_t h = atomic_fetch_add_explicit(&g_ports[i].hold, 1, memory_order_acq_rel) + 1;
	struct timespec ts = { 0, 100 * 1000 };

	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		unsigned waited_us = 0;

		while (atomic_load_explicit(&g_engines[e].ports[i].parked, memory_order_acquire) != h) {
			if (waited_us >= 200 * 1000) {
				atomic_fetch_add_explicit(&g_ports[i].hold, 1, memory_order_acq_rel);
				return false;
			}
			nanosleep(&ts, NULL);
			waited_us += 100;
		}
	}
	return true;
}

static void port_release(unsigned i)
{
	atomic_fetch_add_explicit(&g_ports[i].hold, 1, memory_order_acq_rel);
}

/* The memif PMD of DPDK 22.11 dials its server only in dev_start: once the
 * server has gone (crashed, restarted), a client's link stays down for good.
 * While a memif client's link is down, stop and start the port about once a
 * second so it dials again. The engines step back from the port meanwhile
 * (port_hold): a burst call racing dev_stop/dev_start is undefined in DPDK,
 * and on a stopped port it lands in ethdev's dummy functions, which log and
 * dump a stack on every call. Called every 100 ms (tick counts 10 ms steps). */
static void memif_client_redial(struct mn_port *p, int up, unsigned tick)
{
	static unsigned down_since[MN_CFG_MAX_IFACES];
	static bool stopped[MN_CFG_MAX_IFACES];	/* held and stopped by us */
	unsigned i = (unsigned)(p - g_ports);
	const char *dev = p->cfg ? p->cfg->device : "";

	if (i >= MN_CFG_MAX_IFACES || strncmp(dev, "net_memif", 9) != 0 ||
	    strstr(dev, "role=client") == NULL || !p->started)
		return;
	if (up == 1) {
		down_since[i] = 0;
		return;
	}
	if (down_since[i] == 0) {
		down_since[i] = tick;
		return;
	}
	if ((tick - down_since[i]) % 100 != 0)
		return;
	if (!stopped[i]) {
		if (!port_hold(i))
			return;	/* an engine did not step back in time: next round */
		rte_eth_dev_stop(p->port_id);
		stopped[i] = true;
	}
	/* A start that cannot reach the server leaves the port stopped: the
	 * engines stay away from it until one succeeds. */
	if (rte_eth_dev_start(p->port_id) == 0) {
		stopped[i] = false;
		port_release(i);
	} else if ((tick - down_since[i]) % 1000 == 0) {
		say("%s: memif server not back yet; still dialling", p->cfg->name);
	}
}

/* Holds RUN_DIR/<instance>.lock for the life of the process. Before EAL,
 * because EAL's own refusal (its prefix lock) comes only after it has
 * touched hugepages, and says less. */
static int take_instance_lock(const char *instance)
{
	char path[512], buf[32];
	ssize_t n;
	int fd;

	struct stat st;

	if (mkdir(RUN_DIR, 0700) != 0 && errno != EEXIST) {
		say("cannot create %s: %s", RUN_DIR, strerror(errno));
		return -1;
	}
	/* A directory left by an older run or made by someone else may be
	 * open to other users: lock files, memif sockets and app lcore locks
	 * live there (docs/SECURITY.md). */
	if (stat(RUN_DIR, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) != 0 &&
	    chmod(RUN_DIR, 0700) != 0)
		say("cannot make %s private: %s", RUN_DIR, strerror(errno));
	snprintf(path, sizeof(path), RUN_DIR "/%s.lock", instance);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		say("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (err == EWOULDBLOCK)
			say("instance '%s' is already running (pid %s, holds %s); stop it or "
			    "use another instance name", instance, buf[0] ? buf : "?", path);
		else
			say("flock %s: %s", path, strerror(err));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		say("warning: cannot write pid to %s", path);
	return fd;
}

/* ---- EAL locks left taken by apps that died ----
 *
 * EAL's shared rwlocks (memzones, tail queues, mempools, memory hotplug)
 * live in the instance's config file, which every secondary maps. An app
 * killed while it holds one leaves it taken for good: its EAL init holds
 * the memory hotplug lock for reading through the whole hugepage attach
 * (tens of ms, the window random kills hit) and the memzone lock for
 * writing while it attaches the memzone table; lookups hold the others for
 * reading for microseconds. Nothing notices while the stack runs (machnetd
 * takes these locks for writing only when it stops), but then
 * rte_ring_free, rte_mempool_free, rte_memzone_free and rte_eal_cleanup
 * (rte_eal_memory_detach) spin forever: the e2e_kill_storm shutdown hang.
 * DPDK cannot reclaim them, so the primary does before it stops. A taken
 * lock is leaked when no other process maps the config file any more (the
 * lock word is in that mapping, so a holder must map it); while apps still
 * map it, a lock that is not let go within LEAK_WAIT_MS is taken as leaked
 * too (this primary is going away; a live app of a stopping stack gets
 * ESHUTDOWN anyway). */

#define LEAK_WAIT_MS 1000

/* Offsets in struct rte_mem_config (EAL-internal; DPDK 22.11). Each is
 * checked at run time against the public lock functions before use. */
enum { MCFG_MLOCK = 0x10, MCFG_QLOCK = 0x14, MCFG_MPLOCK = 0x18, MCFG_HOTPLUG = 0x20 };

/* Each probe returns the lock word read while holding the lock for reading
 * through DPDK's own functions: the offset is right when that is one
 * reader more than the word shows outside. */
struct mz_probe {
	const volatile int32_t *word;
	int32_t inside;
	bool done;
};

static void mz_probe_cb(const struct rte_memzone *mz, void *arg)
{
	struct mz_probe *p = arg;

	(void)mz;
	if (!p->done)
		p->inside = *p->word;
	p->done = true;
}

static int32_t probe_mlock(const volatile int32_t *w)
{
	struct mz_probe p = { .word = w, .inside = -1, .done = false };

	rte_memzone_walk(mz_probe_cb, &p);	/* the walk holds mlock for reading */
	return p.inside;
}

/* Reads *w while holding a lock for reading through DPDK's own functions. */
static int32_t probe_with(void (*lock)(void), void (*unlock)(void), const volatile int32_t *w)
{
	int32_t v;

	lock();
	v = *w;
	unlock();
	return v;
}

static int32_t probe_qlock(const volatile int32_t *w)
{
	return probe_with(rte_mcfg_tailq_read_lock, rte_mcfg_tailq_read_unlock, w);
}

static int32_t probe_mplock(const volatile int32_t *w)
{
	return probe_with(rte_mcfg_mempool_read_lock, rte_mcfg_mempool_read_unlock, w);
}

static int32_t probe_hotplug(const volatile int32_t *w)
{
	return probe_with(rte_mcfg_mem_read_lock, rte_mcfg_mem_read_unlock, w);
}

static const struct {
	const char *name;
	unsigned off;
	int32_t (*probe)(const volatile int32_t *w);
} g_mcfg_locks[] = {
	{ "memzone", MCFG_MLOCK, probe_mlock },
	{ "tailq", MCFG_QLOCK, probe_qlock },
	{ "mempool", MCFG_MPLOCK, probe_mplock },
	{ "memory hotplug", MCFG_HOTPLUG, probe_hotplug },
};

/* The start of the mapping of FILE in our address space, or NULL. */
static void *mapping_of(const char *file)
{
	char line[1024], path[PATH_MAX];
	unsigned long lo;
	void *addr = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && addr == NULL && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%*x %*s %*s %*s %*s %1023s", &lo, path) == 2 &&
		    strcmp(path, file) == 0)
			addr = (void *)lo;
	}
	if (f)
		fclose(f);
	return addr;
}

/* Number of processes other than us that map FILE (0 when /proc says
 * nothing, which then counts as "none"). */
static unsigned others_mapping(const char *file)
{
	char mpath[64], line[1024];
	pid_t self = getpid();
	size_t flen = strlen(file);
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir("/proc");

	while (d && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		FILE *f;

		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(mpath, sizeof(mpath), "/proc/%ld/maps", pid);
		f = fopen(mpath, "r");
		while (f && fgets(line, sizeof(line), f)) {
			size_t len = strcspn(line, "\n");

			if (len >= flen && memcmp(line + len - flen, file, flen) == 0) {
				n++;
				break;
			}
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* Releases the EAL locks that apps which died left taken (see above);
 * called before each teardown step that takes them for writing. Cheap when
 * none is taken. */
static void release_dead_apps_locks(const char *runtime_dir)
{
	char cfg_path[PATH_MAX], real[PATH_MAX];
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
	const struct {
		uint32_t magic, version;	/* the head of struct rte_mem_config */
	} *head;
	int checked[RTE_DIM(g_mcfg_locks)] = { 0 };	/* 1: offset confirmed; < 0: misses */
	unsigned long waited_ms = 0;
	int others = -1;
	char *mcfg;

	if (!runtime_dir[0])
		return;
	snprintf(cfg_path, sizeof(cfg_path), "%s/config", runtime_dir);
	/* /proc/PID/maps names files by their resolved path (/var/run is
	 * usually a link to /run). */
	mcfg = realpath(cfg_path, real) ? mapping_of(real) : NULL;
	if (!mcfg) {
		say("%s is not mapped here: cannot release locks dead apps held", cfg_path);
		return;
	}
	head = (const void *)mcfg;
	/* EAL refuses to attach processes of another version by the same
	 * check: within one version the layout is fixed. */
	if (head->magic != RTE_MAGIC || head->version != RTE_VERSION) {
		say("%s: magic %u version %#x, built for %#x: its locks are left alone",
		    cfg_path, head->magic, head->version, (unsigned)RTE_VERSION);
		return;
	}
	for (;;) {
		unsigned taken = 0;

		for (unsigned i = 0; i < RTE_DIM(g_mcfg_locks); i++) {
			int32_t *w = (int32_t *)(mcfg + g_mcfg_locks[i].off);
			int32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE), inside;

			if ((v & ~RTE_RWLOCK_WAIT) == 0 || checked[i] <= -3)
				continue;
			/* A probe would wait behind a writer, held or waiting:
			 * then the version check above is all there is. */
			if (checked[i] < 1 && !(v & RTE_RWLOCK_MASK)) {
				inside = g_mcfg_locks[i].probe(w);
				v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
				/* A live reader coming or going can spoil one probe:
				 * three misses say the offset is wrong. */
				checked[i] = inside - v == RTE_RWLOCK_READ ? 1 : checked[i] - 1;
				if (checked[i] > -3 && checked[i] < 1) {
					taken++;	/* probe again */
					continue;
				}
				if (checked[i] < 1) {
					say("%s lock: %#x, but the word at offset %#x does not "
					    "follow DPDK's lock functions: left alone",
					    g_mcfg_locks[i].name, (unsigned)v, g_mcfg_locks[i].off);
					continue;
				}
			}
			if (others < 0)
				others = (int)others_mapping(real);
			if (others > 0 && waited_ms < LEAK_WAIT_MS) {
				taken++;
				continue;
			}
			if (!__atomic_compare_exchange_n(w, &v, 0, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_RELAXED)) {
				taken++;	/* it moved: look again */
				continue;
			}
			if (v & RTE_RWLOCK_WRITE)
				say("%s lock: released a write hold left by an app that died "
				    "(%d other process(es) attached)", g_mcfg_locks[i].name, others);
			else
				say("%s lock: released %d read hold(s) left by apps that died "
				    "(%d other process(es) attached)", g_mcfg_locks[i].name,
				    v / RTE_RWLOCK_READ, others);
		}
		if (taken == 0 || waited_ms >= 2 * LEAK_WAIT_MS)
			return;
		nanosleep(&ts, NULL);
		waited_ms += 10;
		/* Reading every process's maps takes ms (a DPDK process maps
		 * hundreds of segments): look again every 100 ms, not 10. */
		if (waited_ms % 100 == 0)
			others = -1;
	}
}

/* Free hugepage memory in MB, or -1 when /proc/meminfo says nothing. */
static long hugepages_free_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long free_pages = -1, size_kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %ld", &free_pages);
		sscanf(line, "Hugepagesize: %ld kB", &size_kb);
	}
	fclose(f);
	if (free_pages < 0 || size_kb <= 0)
		return -1;
	return free_pages * size_kb / 1024;
}

/* EAL leaves the files of memory reserved with -m behind (and its runtime
 * directory); a later primary with the same prefix would recycle them, but a
 * stopped machnetd should leave nothing. */
static void remove_prefix_files(const char *prefix, const char *runtime_dir)
{
	char mnt[256], fstype[64], path[1024];
	size_t plen = strlen(prefix);
	FILE *m = fopen("/proc/mounts", "r");
	struct dirent *de;
	DIR *d;

	while (m && fscanf(m, "%*s %255s %63s %*[^\n]", mnt, fstype) == 2) {
		if (strcmp(fstype, "hugetlbfs") != 0)
			continue;
		d = opendir(mnt);
		while (d && (de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, plen) == 0 &&
			    strncmp(de->d_name + plen, "map_", 4) == 0) {
				snprintf(path, sizeof(path), "%s/%s", mnt, de->d_name);
				unlink(path);
			}
		}
		if (d)
			closedir(d);
	}
	if (m)
		fclose(m);
	if (!runtime_dir || !runtime_dir[0])
		return;
	d = opendir(runtime_dir);
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", runtime_dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(runtime_dir);
}

static void stats_sum(struct mn_engine_stats *sum, int engine)
{
	unsigned lo = 0, hi = g_info->n_engines;

	memset(sum, 0, sizeof(*sum));
	if (engine >= 0) {
		lo = (unsigned)engine;
		hi = lo + 1;
	}
	for (unsigned i = lo; i < hi; i++) {
		const volatile struct mn_engine_stats *s = &g_info->stats[i];

		sum->rx_pkts += s->rx_pkts;
		sum->rx_bytes += s->rx_bytes;
		sum->tx_pkts += s->tx_pkts;
		sum->tx_bytes += s->tx_bytes;
		sum->tx_fail += s->tx_fail;
		sum->arp_req_answered += s->arp_req_answered;
		sum->arp_req_sent += s->arp_req_sent;
		sum->arp_learned += s->arp_learned;
		sum->arp_resolved += s->arp_resolved;
		sum->arp_failed += s->arp_failed;
		sum->icmp_echo_answered += s->icmp_echo_answered;
		sum->polls += s->polls;
		sum->idle_polls += s->idle_polls;
		sum->fault_dropped += s->fault_dropped;
		sum->fault_duplicated += s->fault_duplicated;
		sum->fault_corrupted += s->fault_corrupted;
		sum->fault_delayed += s->fault_delayed;
		sum->fault_reordered += s->fault_reordered;
		sum->fault_queue_full += s->fault_queue_full;
		for (unsigned r = 0; r < MN_DROP__COUNT; r++)
			sum->drops[r] += s->drops[r];
	}
}

/* Transport, channel and pool counters. The engines write them; plain
 * 64-bit reads see each counter whole (x86-64), not a snapshot of all. */
static void tel_transport(struct rte_tel_data *d, int engine)
{
	struct mn_xport_stats xs;
	struct mn_ctrl_stats cs;
	uint64_t in_use = 0, flows = 0, msgs_sent = 0, msgs_delivered = 0, retransmits = 0;
	uint64_t rtos = 0, rst_sent = 0, rx_backpressure = 0, rx_dropped = 0;
	unsigned lo = 0, hi = g_info->n_engines;

	memset(&xs, 0, sizeof(xs));
	if (engine >= 0) {
		lo = (unsigned)engine;
		hi = lo + 1;
	}
	for (unsigned i = lo; i < hi; i++) {
		const volatile struct mn_xport_stats *x = &g_engines[i].x.st;
		struct mn_xport_pstats ps;

		if (g_engines[i].pool)
			in_use += rte_mempool_in_use_count(g_engines[i].pool);
		xs.msgs_tx += x->msgs_tx;
		xs.msgs_rx += x->msgs_rx;
		xs.send_failed += x->send_failed;
		xs.send_parked += x->send_parked;
		xs.deliver_busy += x->deliver_busy;
		xs.deliver_drop += x->deliver_drop;
		xs.flows_full += x->flows_full;
		xs.events_lost += x->events_lost;
		flows += g_engines[i].x.n_flows;
		mn_xport_proto_stats(&g_engines[i], &ps);
		msgs_sent += ps.msgs_sent;
		msgs_delivered += ps.msgs_delivered;
		retransmits += ps.retransmits;
		rtos += ps.rtos;
		rst_sent += ps.rst_sent;
		rx_backpressure += ps.rx_backpressure;
		rx_dropped += ps.rx_codec_drops;
	}
	mn_ctrl_get_stats(&cs);
	rte_tel_data_add_dict_u64(d, "pool_in_use", in_use);
	rte_tel_data_add_dict_u64(d, "flows", flows);
	rte_tel_data_add_dict_u64(d, "msgs_tx", xs.msgs_tx);
	rte_tel_data_add_dict_u64(d, "msgs_rx", xs.msgs_rx);
	rte_tel_data_add_dict_u64(d, "send_failed", xs.send_failed);
	rte_tel_data_add_dict_u64(d, "send_parked", xs.send_parked);
	rte_tel_data_add_dict_u64(d, "deliver_busy", xs.deliver_busy);
	rte_tel_data_add_dict_u64(d, "deliver_drop", xs.deliver_drop);
	rte_tel_data_add_dict_u64(d, "flows_full", xs.flows_full);
	rte_tel_data_add_dict_u64(d, "events_lost", xs.events_lost);
	rte_tel_data_add_dict_u64(d, "proto_msgs_sent", msgs_sent);
	rte_tel_data_add_dict_u64(d, "proto_msgs_delivered", msgs_delivered);
	rte_tel_data_add_dict_u64(d, "retransmits", retransmits);
	rte_tel_data_add_dict_u64(d, "rtos", rtos);
	rte_tel_data_add_dict_u64(d, "rst_sent", rst_sent);
	rte_tel_data_add_dict_u64(d, "rx_backpressure", rx_backpressure);
	rte_tel_data_add_dict_u64(d, "rx_codec_drops", rx_dropped);
	rte_tel_data_add_dict_u64(d, "apps_registered", cs.apps_registered);
	rte_tel_data_add_dict_u64(d, "apps_died", cs.apps_died);
	rte_tel_data_add_dict_u64(d, "apps_left", cs.apps_left);
	rte_tel_data_add_dict_u64(d, "chans_attached", cs.chans_attached);
	rte_tel_data_add_dict_u64(d, "chans_released", cs.chans_released);
	rte_tel_data_add_dict_u64(d, "mbufs_reclaimed", cs.mbufs_reclaimed);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mn_engine_stats s;
	char key[64];
	int engine = -1;

	(void)cmd;
	if (!g_info || g_info->magic != MN_INFO_MAGIC)
		return -EAGAIN;
	if (params && params[0]) {
		char *end;
		long v = strtol(params, &end, 10);

		if (*end || v < 0 || v >= (long)g_info->n_engines)
			return -EINVAL;
		engine = (int)v;
	}
	stats_sum(&s, engine);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "engine", engine);
	rte_tel_data_add_dict_u64(d, "rx_pkts", s.rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_pkts", s.tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.tx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_fail", s.tx_fail);
	rte_tel_data_add_dict_u64(d, "arp_req_answered", s.arp_req_answered);
	rte_tel_data_add_dict_u64(d, "arp_req_sent", s.arp_req_sent);
	rte_tel_data_add_dict_u64(d, "arp_learned", s.arp_learned);
	rte_tel_data_add_dict_u64(d, "arp_resolved", s.arp_resolved);
	rte_tel_data_add_dict_u64(d, "arp_failed", s.arp_failed);
	rte_tel_data_add_dict_u64(d, "icmp_echo_answered", s.icmp_echo_answered);
	rte_tel_data_add_dict_u64(d, "polls", s.polls);
	rte_tel_data_add_dict_u64(d, "idle_polls", s.idle_polls);
	rte_tel_data_add_dict_u64(d, "fault_dropped", s.fault_dropped);
	rte_tel_data_add_dict_u64(d, "fault_duplicated", s.fault_duplicated);
	rte_tel_data_add_dict_u64(d, "fault_corrupted", s.fault_corrupted);
	rte_tel_data_add_dict_u64(d, "fault_delayed", s.fault_delayed);
	rte_tel_data_add_dict_u64(d, "fault_reordered", s.fault_reordered);
	rte_tel_data_add_dict_u64(d, "fault_queue_full", s.fault_queue_full);
	for (unsigned r = 0; r < MN_DROP__COUNT; r++) {
		snprintf(key, sizeof(key), "drop_%s", mn_drop_reason_str(r));
		rte_tel_data_add_dict_u64(d, key, s.drops[r]);
	}
	tel_transport(d, engine);
	return 0;
}

/* /machnet/proto: every transport counter summed over the engines, codec
 * rejections by reason, and the flows the transport holds (half-open
 * included), for the bad-input and SYN-flood tests. Racy reads as above. */
static int tel_proto(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t drops[MN_RX__COUNT] = { 0 }, v[28] = { 0 }, nflows = 0;
	static const char *const names[28] = {
		"rx_frames", "rx_not_local", "rx_data", "rx_dup", "rx_out_of_window", "rx_ooo",
		"rx_backpressure", "rx_nomem", "rx_bad_framing", "rx_acks", "rx_stale_acks",
		"rx_dup_acks", "rx_rst", "rx_rst_ignored", "rx_syn_ignored", "rx_synack_ignored",
		"rx_unexpected", "retransmits", "fast_retransmits", "rtos", "rst_sent",
		"rst_unknown_sent", "flows_opened", "flows_failed",
		"keepalives_sent", "keepalive_failures", "tx_piggy_acks", "rx_piggy_acks",
	};
	char key[64];

	(void)cmd;
	(void)params;
	if (!g_info || g_info->magic != MN_INFO_MAGIC)
		return -EAGAIN;
	for (unsigned i = 0; i < g_info->n_engines; i++) {
		const volatile struct mn_proto_stats *ps;
		unsigned k = 0;

		if (g_engines[i].x.ep == NULL)
			continue;
		ps = mn_proto_stats(g_engines[i].x.ep);
		nflows += mn_proto_nflows(g_engines[i].x.ep);
		for (unsigned r = 1; r < MN_RX__COUNT; r++)
			drops[r] += ps->rx_drop[r];
		v[k++] += ps->rx_frames;
		v[k++] += ps->rx_not_local;
		v[k++] += ps->rx_data;
		v[k++] += ps->rx_dup;
		v[k++] += ps->rx_out_of_window;
		v[k++] += ps->rx_ooo;
		v[k++] += ps->rx_backpressure;
		v[k++] += ps->rx_nomem;
		v[k++] += ps->rx_bad_framing;
		v[k++] += ps->rx_acks;
		v[k++] += ps->rx_stale_acks;
		v[k++] += ps->rx_dup_acks;
		v[k++] += ps->rx_rst;
		v[k++] += ps->rx_rst_ignored;
		v[k++] += ps->rx_syn_ignored;
		v[k++] += ps->rx_synack_ignored;
		v[k++] += ps->rx_unexpected;
		v[k++] += ps->retransmits;
		v[k++] += ps->fast_retransmits;
		v[k++] += ps->rtos;
		v[k++] += ps->rst_sent;
		v[k++] += ps->rst_unknown_sent;
		v[k++] += ps->flows_opened;
		v[k++] += ps->flows_failed;
		v[k++] += ps->keepalives_sent;
		v[k++] += ps->keepalive_failures;
		v[k++] += ps->tx_piggy_acks;
		v[k++] += ps->rx_piggy_acks;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "proto_flows", nflows);
	for (unsigned k = 0; k < 28; k++)
		rte_tel_data_add_dict_u64(d, names[k], v[k]);
	/* Descriptors apps handed over that failed validation (garbage,
	 * foreign or misaligned pointers, bad lengths): one channel table. */
	if (g_info->n_engines > 0 && g_engines[0].x.ce && g_engines[0].x.ce->chans) {
		const volatile struct mn_chan *ct = g_engines[0].x.ce->chans;
		uint64_t txi = 0, usi = 0;

		for (unsigned c = 0; c < MN_MAX_CHANNELS; c++) {
			txi += ct[c].tx_invalid;
			usi += ct[c].used_invalid;
		}
		rte_tel_data_add_dict_u64(d, "chan_tx_invalid", txi);
		rte_tel_data_add_dict_u64(d, "chan_used_invalid", usi);
	}
	for (unsigned r = 1; r < MN_RX__COUNT; r++) {
		snprintf(key, sizeof(key), "codec_%s", mn_rx_reason_str((enum mn_rx_reason)r));
		rte_tel_data_add_dict_u64(d, key, drops[r]);
	}
	return 0;
}

static int tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char key[64], val[128];

	(void)cmd;
	(void)params;
	if (!g_info || g_info->magic != MN_INFO_MAGIC)
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "instance", g_info->instance);
	rte_tel_data_add_dict_int(d, "abi_version", (int)g_info->abi_version);
	rte_tel_data_add_dict_int(d, "pid", g_info->primary_pid);
	rte_tel_data_add_dict_int(d, "engines", (int)g_info->n_engines);
	for (unsigned i = 0; i < g_info->n_ifaces; i++) {
		const struct mn_abi_iface *f = &g_info->ifaces[i];
		uint32_t ip = htonl(f->ip);
		char ipstr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ip, ipstr, sizeof(ipstr));
		snprintf(key, sizeof(key), "iface%u", i);
		snprintf(val, sizeof(val), "%s port %u %02x:%02x:%02x:%02x:%02x:%02x %s/%u mtu %u",
			 f->name, f->port_id, f->mac[0], f->mac[1], f->mac[2], f->mac[3], f->mac[4],
			 f->mac[5], ipstr, f->prefix_len, f->mtu);
		rte_tel_data_add_dict_string(d, key, val);
	}
	return 0;
}

/* memif cannot change its MAC once probed (mac_addr_set is not supported):
 * hand the configured MAC to it as a devarg instead. */
static int memif_mac_devargs(struct mn_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		struct mn_cfg_iface *f = &cfg->ifaces[i];
		size_t len = strlen(f->device);
		int n;

		if (!f->has_mac || strncmp(f->device, "net_memif", 9) != 0 ||
		    strstr(f->device, "mac=") != NULL)
			continue;
		n = snprintf(f->device + len, sizeof(f->device) - len,
			     ",mac=%02x:%02x:%02x:%02x:%02x:%02x", f->mac[0], f->mac[1],
			     f->mac[2], f->mac[3], f->mac[4], f->mac[5]);
		if (n < 0 || (size_t)n >= sizeof(f->device) - len) {
			f->device[len] = '\0';
			say("%s: device string too long to add mac=", f->name);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

static const char *ipstr(uint32_t ip_host, char *buf)
{
	uint32_t be = htonl(ip_host);

	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "arp-probe", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char eal_buf[8192];
	static char *eal_argv[MN_CFG_MAX_EAL_ARGS * 2 + 64];
	char err[MN_CFG_ERR_LEN], line[256], ip_s[INET_ADDRSTRLEN];
	char runtime_dir[512] = "";
	const char *path = NULL;
	uint32_t probes[MAX_PROBES];
	unsigned n_probes = 0, n_ports = 0, n_pools = 0;
	bool check = false, verbose = false, eal_up = false, ctrl_up = false;
	struct rte_mempool *pools[MN_CFG_MAX_ENGINES] = { 0 };
	const struct rte_memzone *mz = NULL;
	int link_up[MN_CFG_MAX_IFACES];
	int c, rc, lock_fd, eal_argc, ret = 1;
	struct sigaction sa;
	struct timespec ts;
	unsigned lcore;

	/* Everything machnetd and EAL create (hugepage files, the DPDK runtime
	 * directory, memif sockets, lock files) is for this user only: the
	 * shared memory is the whole stack's state (docs/SECURITY.md). */
	umask(077);
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'p': {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "machnetd: --arp-probe: '%s' is not an IPv4 address\n",
					optarg);
				return 2;
			}
			if (n_probes == MAX_PROBES) {
				fprintf(stderr, "machnetd: at most %d --arp-probe\n", MAX_PROBES);
				return 2;
			}
			probes[n_probes++] = ntohl(a.s_addr);
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* `machnetd --check FILE`: the file is the first operand. */
	if (!path && optind < argc && strcmp(argv[optind - 1], "--") != 0)
		path = argv[optind++];
	if (!path) {
		fprintf(stderr, "machnetd: no config file (-c FILE)\n");
		usage(stderr);
		return 2;
	}

	rc = mn_config_load(path, &g_cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	g_instance = g_cfg.instance;
	if (check) {
		if (verbose)
			mn_config_print(&g_cfg, stdout);
		printf("%s: OK\n", path);
		return 0;
	}

	lock_fd = take_instance_lock(g_cfg.instance);
	if (lock_fd < 0)
		return 1;

	long free_mb = hugepages_free_mb();

	if (free_mb >= 0 && free_mb < (long)g_cfg.hugepage_mb) {
		say("only %ld MB of hugepages are free, the config asks for %u MB "
		    "(memory.hugepage_mb): reserve more (scripts/setup.sh, or "
		    "echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) "
		    "or lower hugepage_mb", free_mb, g_cfg.hugepage_mb);
		goto out_lock;
	}

	if (memif_mac_devargs(&g_cfg))
		goto out_lock;
	unlink_stale_memif_sockets(&g_cfg);
	eal_argc = mn_config_eal_argv(&g_cfg, eal_buf, sizeof(eal_buf), eal_argv,
				      (int)RTE_DIM(eal_argv) - 1);
	if (eal_argc < 0) {
		say("cannot build EAL arguments: %s", strerror(-eal_argc));
		goto out_lock;
	}
	for (int i = optind; i < argc; i++) {
		if (eal_argc + 1 >= (int)RTE_DIM(eal_argv)) {
			say("too many EAL arguments after --");
			goto out_lock;
		}
		eal_argv[eal_argc++] = argv[i];
	}
	eal_argv[eal_argc] = NULL;
	/* Logged whole: the tests and the operator see what EAL got. */
	fprintf(stderr, "machnetd[%s]: eal args:", g_instance);
	for (int i = 0; i < eal_argc; i++)
		fprintf(stderr, " %s", eal_argv[i]);
	fputc('\n', stderr);

	/* From here on a signal must not kill us mid-setup: that would leave
	 * hugepage files behind. Setup finishes, then the loop sees the flag. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		say("rte_eal_init failed: %s (are hugepages reserved and hugetlbfs mounted? "
		    "is another DPDK primary using prefix '%s'?)", rte_strerror(rte_errno),
		    g_instance);
		goto out_lock;
	}
	eal_up = true;
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	if (rte_lcore_count() != g_cfg.n_engines + 1) {
		say("EAL has %u lcores, the config needs %u (main + %u engines): do not pass "
		    "-l/--lcores after --", rte_lcore_count(), g_cfg.n_engines + 1, g_cfg.n_engines);
		goto out_eal;
	}

	mz = rte_memzone_reserve_aligned(MN_MZ_INFO, sizeof(struct mn_info), SOCKET_ID_ANY, 0,
					 MN_ABI_CACHE_LINE);
	if (!mz) {
		say("rte_memzone_reserve(%s, %zu B): %s", MN_MZ_INFO, sizeof(struct mn_info),
		    rte_strerror(rte_errno));
		goto out_eal;
	}
	g_info = mz->addr;
	memset(g_info, 0, sizeof(*g_info));

	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		char name[MN_OBJ_NAME_LEN];

		snprintf(name, sizeof(name), MN_POOL_NAME_FMT, e);
		pools[e] = rte_pktmbuf_pool_create(name, g_cfg.mbufs, g_cfg.mbuf_cache, 0,
						   (uint16_t)g_cfg.mbuf_data_size, (int)rte_socket_id());
		if (!pools[e]) {
			say("rte_pktmbuf_pool_create(%s, %u mbufs of %u B): %s (raise "
			    "memory.hugepage_mb or lower memory.mbufs)", name, g_cfg.mbufs,
			    g_cfg.mbuf_data_size, rte_strerror(rte_errno));
			goto out_pools;
		}
		n_pools++;
		snprintf(g_info->pool_names[e], MN_OBJ_NAME_LEN, "%s", name);
	}

	for (unsigned i = 0; i < g_cfg.n_ifaces; i++) {
		rc = mn_port_open(&g_cfg.ifaces[i], (uint16_t)g_cfg.n_engines, pools, &g_ports[i],
				  err, sizeof(err));
		if (rc) {
			say("%s", err);
			goto out_ports;
		}
		n_ports++;
		mn_port_link_str(&g_ports[i], line, sizeof(line));
		say("%s %s mac %02x:%02x:%02x:%02x:%02x:%02x ip %s/%u, tx checksum %s, %s",
		    g_cfg.ifaces[i].name, g_cfg.ifaces[i].device[0] ? g_cfg.ifaces[i].device :
		    g_cfg.ifaces[i].pci, g_ports[i].mac.addr_bytes[0], g_ports[i].mac.addr_bytes[1],
		    g_ports[i].mac.addr_bytes[2], g_ports[i].mac.addr_bytes[3],
		    g_ports[i].mac.addr_bytes[4], g_ports[i].mac.addr_bytes[5],
		    ipstr(g_cfg.ifaces[i].ip, ip_s), g_cfg.ifaces[i].prefix_len,
		    g_ports[i].tx_csum_offload ? "offload" : "software", line);
		link_up[i] = -1;
	}

	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		rc = mn_engine_init(&g_engines[e], e, &g_cfg, g_ports, n_ports, pools[e],
				    &g_info->stats[e], &g_stop);
		if (rc) {
			say("engine %u: setup failed: %s", e, strerror(-rc));
			goto out_ports;
		}
	}
	rc = mn_engine_link_arp(g_engines, g_cfg.n_engines);
	if (rc) {
		say("engine ARP rings: rte_ring_create: %s", rte_strerror(-rc));
		goto out_ports;
	}
	{
		struct mn_ctrl_params cp;
		uint32_t mtu = UINT32_MAX;

		memset(&cp, 0, sizeof(cp));
		for (unsigned i = 0; i < n_ports; i++)
			if (g_cfg.ifaces[i].mtu < mtu)
				mtu = g_cfg.ifaces[i].mtu;
		cp.instance = g_cfg.instance;
		cp.n_engines = g_cfg.n_engines;
		for (unsigned e = 0; e < g_cfg.n_engines; e++)
			cp.pools[e] = pools[e];
		cp.mtu = mtu;
		cp.max_apps = g_cfg.max_apps;
		cp.ring_size = g_cfg.channel_ring;
		cp.connect_timeout_ms = g_cfg.connect_timeout_ms;
		rc = mn_ctrl_init(&cp, err, sizeof(err));
		if (rc) {
			say("%s", err);
			goto out_ports;
		}
		ctrl_up = true;
	}
	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		rc = mn_xport_init(&g_engines[e], &g_cfg, mn_ctrl_engine(e));
		if (rc) {
			say("engine %u: transport setup failed: %s", e, strerror(-rc));
			goto out_ports;
		}
	}
	for (unsigned i = 0; i < n_probes; i++) {
		rc = mn_engine_add_probe(&g_engines[0], probes[i]);
		if (rc < 0) {
			say("--arp-probe %s: no interface reaches it", ipstr(probes[i], ip_s));
			goto out_ports;
		}
	}

	g_info->abi_version = MN_ABI_VERSION;
	g_info->primary_pid = (int32_t)getpid();
	g_info->n_ifaces = n_ports;
	g_info->n_engines = g_cfg.n_engines;
	g_info->mbuf_data_size = g_cfg.mbuf_data_size;
	clock_gettime(CLOCK_REALTIME, &ts);
	g_info->start_time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	snprintf(g_info->instance, sizeof(g_info->instance), "%s", g_cfg.instance);
	for (unsigned i = 0; i < n_ports; i++) {
		struct mn_abi_iface *f = &g_info->ifaces[i];

		snprintf(f->name, sizeof(f->name), "%s", g_cfg.ifaces[i].name);
		memcpy(f->mac, g_ports[i].mac.addr_bytes, 6);
		f->port_id = g_ports[i].port_id;
		f->ip = g_cfg.ifaces[i].ip;
		f->gateway = g_cfg.ifaces[i].gateway;
		f->mtu = g_cfg.ifaces[i].mtu;
		f->prefix_len = g_cfg.ifaces[i].prefix_len;
		f->tx_csum_offload = g_ports[i].tx_csum_offload;
	}

	if (rte_telemetry_register_cmd("/machnet/stats", tel_stats,
				       "Engine counters, summed or of one engine. Parameters: int engine") ||
	    rte_telemetry_register_cmd("/machnet/info", tel_info,
				       "Instance, engines and interfaces. Takes no parameters") ||
	    rte_telemetry_register_cmd("/machnet/proto", tel_proto,
				       "Transport counters, codec drops by reason, flows. No parameters"))
		say("warning: cannot register telemetry commands");
	if (rte_pdump_init() != 0)
		say("warning: rte_pdump_init: %s (dpdk-pdump will not attach)",
		    rte_strerror(rte_errno));

	/* Secondaries treat the memzone as usable once magic is set. */
	atomic_thread_fence(memory_order_release);
	g_info->magic = MN_INFO_MAGIC;

	{
		unsigned e = 0;

		RTE_LCORE_FOREACH_WORKER(lcore) {
			rc = rte_eal_remote_launch(mn_engine_main, &g_engines[e], lcore);
			if (rc) {
				say("rte_eal_remote_launch(engine %u on lcore %u): %s", e, lcore,
				    strerror(-rc));
				atomic_store(&g_stop, true);
				goto out_engines;
			}
			e++;
		}
	}
	rc = mn_ctrl_start();
	if (rc) {
		say("cannot start the control plane for apps: %s", strerror(-rc));
		atomic_store(&g_stop, true);
		goto out_engines;
	}
	say("ready: %u engine(s), %u interface(s), pid %d", g_cfg.n_engines, n_ports,
	    (int)getpid());

	{
		int reported[MAX_PROBES] = { 0 };
		unsigned tick = 0;

		while (!atomic_load(&g_stop)) {
			ts.tv_sec = 0;
			ts.tv_nsec = 10 * 1000 * 1000;
			nanosleep(&ts, NULL);
			for (unsigned i = 0; i < g_engines[0].n_probes; i++) {
				struct mn_probe *pr = &g_engines[0].probes[i];
				int st = atomic_load_explicit(&pr->state, memory_order_acquire);

				if (st == reported[i])
					continue;
				if (st == 1)
					say("arp: %s is at %02x:%02x:%02x:%02x:%02x:%02x",
					    ipstr(pr->ip, ip_s), pr->mac[0], pr->mac[1], pr->mac[2],
					    pr->mac[3], pr->mac[4], pr->mac[5]);
				else if (st == -1)
					say("arp: %s does not answer yet; retrying", ipstr(pr->ip, ip_s));
				reported[i] = st;
			}
			if (++tick % 10 != 0)
				continue;
			for (unsigned i = 0; i < n_ports; i++) {
				int up = mn_port_link_str(&g_ports[i], line, sizeof(line));

				if (up != link_up[i])
					say("link %s", line);
				link_up[i] = up;
				memif_client_redial(&g_ports[i], up, tick);
			}
		}
	}
	say("stopping");
	ret = 0;

out_engines:
	/* Apps see ESHUTDOWN from here on; then the engines stop. */
	if (ctrl_up)
		mn_ctrl_stop();
	rte_eal_mp_wait_lcore();
	if (verbose) {
		struct mn_engine_stats s;

		stats_sum(&s, -1);
		say("rx %" PRIu64 " tx %" PRIu64 " arp answered %" PRIu64 " icmp answered %" PRIu64,
		    s.rx_pkts, s.tx_pkts, s.arp_req_answered, s.icmp_echo_answered);
	}
out_ports:
	/* Every step from here takes EAL's shared locks for writing. */
	release_dead_apps_locks(runtime_dir);
	for (unsigned e = 0; e < g_cfg.n_engines; e++)
		mn_xport_fini(&g_engines[e]);
	if (ctrl_up)
		mn_ctrl_fini();
	mn_engine_unlink_arp(g_engines, g_cfg.n_engines);
	for (unsigned i = 0; i < n_ports; i++)
		mn_port_close(&g_ports[i]);
out_pools:
	for (unsigned e = 0; e < n_pools; e++)
		rte_mempool_free(pools[e]);
	if (mz) {
		g_info->magic = 0;
		rte_memzone_free(mz);
	}
out_eal:
	if (eal_up) {
		/* An app may have died in its EAL init since the first call. */
		release_dead_apps_locks(runtime_dir);
		rte_eal_cleanup();
		remove_prefix_files(g_cfg.instance, runtime_dir);
	}
out_lock:
	close(lock_fd);
	if (ret == 0)
		say("stopped");
	return ret;
}
