/* mn_eal_locks: the dead-app EAL lock repair. See mn_eal_locks.h. */
#include "mn_eal_locks.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_memzone.h>
#include <rte_rwlock.h>
#include <rte_version.h>

#include "mn_log.h"

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

void mn_eal_release_dead_locks(const char *runtime_dir)
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
		mn_log("%s is not mapped here: cannot release locks dead apps held", cfg_path);
		return;
	}
	head = (const void *)mcfg;
	/* EAL refuses to attach processes of another version by the same
	 * check: within one version the layout is fixed. */
	if (head->magic != RTE_MAGIC || head->version != RTE_VERSION) {
		mn_log("%s: magic %u version %#x, built for %#x: its locks are left alone",
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
					mn_log("%s lock: %#x, but the word at offset %#x does not "
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
				mn_log("%s lock: released a write hold left by an app that died "
				    "(%d other process(es) attached)", g_mcfg_locks[i].name, others);
			else
				mn_log("%s lock: released %d read hold(s) left by apps that died "
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

