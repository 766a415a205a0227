/* machnetd: the DPDK primary. Reads a config, refuses a second instance of
 * the same name, starts EAL, the ports and one engine per engine lcore,
 * publishes the instance in the MN_MZ_INFO memzone and serves telemetry until
 * SIGINT/SIGTERM; then stops everything and removes its hugepage files.
 *
 * This file is the order of things: main() is the list of setup steps and
 * their unwinding; each step's work is in its module (mn_eal, mn_instance,
 * mn_memif, mn_port, mn_engine, mn_ctrl, mn_transport, mn_telemetry,
 * mn_eal_locks).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_pdump.h>

#include "mn_abi.h"
#include "mn_config.h"
#include "mn_ctrl.h"
#include "mn_eal.h"
#include "mn_eal_locks.h"
#include "mn_engine.h"
#include "mn_instance.h"
#include "mn_log.h"
#include "mn_memif.h"
#include "mn_notify.h"
#include "mn_port.h"
#include "mn_steer.h"
#include "mn_rxintr.h"
#include "mn_telemetry.h"
#include "mn_transport.h"

#define MAX_PROBES MN_ENGINE_MAX_PROBES

static atomic_bool g_stop;
static struct mn_config g_cfg;
static struct mn_port g_ports[MN_CFG_MAX_IFACES];
static struct mn_engine g_engines[MN_CFG_MAX_ENGINES];

/* What the steps below set up, so that the unwinding undoes only that. */
static struct {
	const char *path;
	bool check, verbose, eal_up, ctrl_up;
	uint32_t probes[MAX_PROBES];
	unsigned n_probes, n_pools, n_ports;
	char *const *extra;	/* EAL arguments after "--" */
	int n_extra;
	int lock_fd;
	char runtime_dir[512];
	struct mn_eal_args eal;
	struct rte_mempool *pools[MN_CFG_MAX_ENGINES];
	struct mn_steer *steer;	/* several engines only */
	const struct rte_memzone *mz;
	struct mn_info *info;
	int link_up[MN_CFG_MAX_IFACES];
} D = { .lock_fd = -1 };

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
		"an error (lock file " MN_RUN_DIR "/<instance>.lock).\n"
		"Telemetry: /machnet/stats[,ENGINE] and /machnet/info\n"
		"(dpdk-telemetry.py -f <instance>).\n",
		MAX_PROBES);
}

static const char *ipstr(uint32_t ip_host, char *buf)
{
	uint32_t be = htonl(ip_host);

	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

/* Command line. -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "arp-probe", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct in_addr a;
	int c;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			D.path = optarg;
			break;
		case 'C':
			D.check = true;
			break;
		case 'v':
			D.verbose = true;
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "machnetd: --arp-probe: '%s' is not an IPv4 address\n",
					optarg);
				return 2;
			}
			if (D.n_probes == MAX_PROBES) {
				fprintf(stderr, "machnetd: at most %d --arp-probe\n", MAX_PROBES);
				return 2;
			}
			D.probes[D.n_probes++] = ntohl(a.s_addr);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* `machnetd --check FILE`: the file is the first operand. */
	if (!D.path && optind < argc && strcmp(argv[optind - 1], "--") != 0)
		D.path = argv[optind++];
	if (!D.path) {
		fprintf(stderr, "machnetd: no config file (-c FILE)\n");
		usage(stderr);
		return 2;
	}
	D.extra = argv + optind;
	D.n_extra = argc - optind;
	return -1;
}

/* The config, and --check's answer. -1 to go on, else the exit code. */
static int load_config(void)
{
	char err[MN_CFG_ERR_LEN];

	if (mn_config_load(D.path, &g_cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	mn_log_set_instance(g_cfg.instance);
	if (!D.check)
		return -1;
	if (D.verbose)
		mn_config_print(&g_cfg, stdout);
	printf("%s: OK\n", D.path);
	return 0;
}

/* What can be refused before EAL touches anything. */
static int preflight(void)
{
	long free_mb = mn_eal_hugepages_free_mb();

	if (free_mb >= 0 && free_mb < (long)g_cfg.hugepage_mb) {
		mn_log("only %ld MB of hugepages are free, the config asks for %u MB "
		       "(memory.hugepage_mb): reserve more (scripts/setup.sh, or "
		       "echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) "
		       "or lower hugepage_mb", free_mb, g_cfg.hugepage_mb);
		return -1;
	}
	if (mn_memif_mac_devargs(&g_cfg))
		return -1;
	mn_memif_unlink_stale_sockets(&g_cfg);
	return mn_eal_args_build(&g_cfg, D.extra, D.n_extra, &D.eal);
}

/* From here on a signal must not kill us mid-setup: that would leave
 * hugepage files behind. Setup finishes, then the loop sees the flag. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int start_eal(void)
{
	if (rte_eal_init(D.eal.argc, D.eal.argv) < 0) {
		mn_log("rte_eal_init failed: %s (are hugepages reserved and hugetlbfs mounted? "
		       "is another DPDK primary using prefix '%s'?)", rte_strerror(rte_errno),
		       g_cfg.instance);
		return -1;
	}
	D.eal_up = true;
	snprintf(D.runtime_dir, sizeof(D.runtime_dir), "%s", rte_eal_get_runtime_dir());
	if (rte_lcore_count() != g_cfg.n_engines + 1) {
		mn_log("EAL has %u lcores, the config needs %u (main + %u engines): do not pass "
		       "-l/--lcores after --", rte_lcore_count(), g_cfg.n_engines + 1,
		       g_cfg.n_engines);
		return -1;
	}
	return 0;
}

static void stop_eal(void)
{
	if (!D.eal_up)
		return;
	/* An app may have died in its EAL init since the first call. */
	mn_eal_release_dead_locks(D.runtime_dir);
	rte_eal_cleanup();
	mn_eal_remove_prefix_files(g_cfg.instance, D.runtime_dir);
}

/* The instance memzone (published later, by publish_info). */
static int create_info(void)
{
	D.mz = rte_memzone_reserve_aligned(MN_MZ_INFO, sizeof(struct mn_info), SOCKET_ID_ANY, 0,
					   MN_ABI_CACHE_LINE);
	if (!D.mz) {
		mn_log("rte_memzone_reserve(%s, %zu B): %s", MN_MZ_INFO, sizeof(struct mn_info),
		       rte_strerror(rte_errno));
		return -1;
	}
	D.info = D.mz->addr;
	memset(D.info, 0, sizeof(*D.info));
	return 0;
}

static int create_pools(void)
{
	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		char name[MN_OBJ_NAME_LEN];

		snprintf(name, sizeof(name), MN_POOL_NAME_FMT, e);
		D.pools[e] = rte_pktmbuf_pool_create(name, g_cfg.mbufs, g_cfg.mbuf_cache, 0,
						     (uint16_t)g_cfg.mbuf_data_size,
						     (int)rte_socket_id());
		if (!D.pools[e]) {
			mn_log("rte_pktmbuf_pool_create(%s, %u mbufs of %u B): %s (raise "
			       "memory.hugepage_mb or lower memory.mbufs)", name, g_cfg.mbufs,
			       g_cfg.mbuf_data_size, rte_strerror(rte_errno));
			return -1;
		}
		D.n_pools++;
		snprintf(D.info->pool_names[e], MN_OBJ_NAME_LEN, "%s", name);
	}
	return 0;
}

static void free_pools_and_info(void)
{
	for (unsigned e = 0; e < D.n_pools; e++)
		rte_mempool_free(D.pools[e]);
	if (D.mz) {
		D.info->magic = 0;
		rte_memzone_free(D.mz);
	}
}

static int open_ports(void)
{
	char err[MN_CFG_ERR_LEN], line[256], ip_s[INET_ADDRSTRLEN], rss[64];

	for (unsigned i = 0; i < g_cfg.n_ifaces; i++) {
		const struct mn_cfg_iface *f = &g_cfg.ifaces[i];
		const uint8_t *mac = g_ports[i].mac.addr_bytes;

		if (mn_port_open(f, (uint16_t)g_cfg.n_engines, D.pools, &g_ports[i], err,
				 sizeof(err))) {
			mn_log("%s", err);
			return -1;
		}
		D.n_ports++;
		/* A memif client before its server: not an error, the
		 * supervisor's redial connects it once the server is up. */
		if (g_ports[i].dialling)
			mn_log("%s: memif server not up yet; waiting for it (dialling every second)",
			       f->name);
		mn_port_link_str(&g_ports[i], line, sizeof(line));
		if (g_ports[i].has_rss)
			snprintf(rss, sizeof(rss), "ipv4-udp (RETA %u entries over %u queues)",
				 (unsigned)g_ports[i].rss.reta_size, (unsigned)g_ports[i].n_queues);
		else
			snprintf(rss, sizeof(rss), "off");
		mn_log("%s %s mac %02x:%02x:%02x:%02x:%02x:%02x ip %s/%u, tx checksum %s, rss %s, %s",
		       f->name, f->device[0] ? f->device : f->pci, mac[0], mac[1], mac[2], mac[3],
		       mac[4], mac[5], ipstr(f->ip, ip_s), f->prefix_len,
		       g_ports[i].tx_csum_offload ? "offload" : "software", rss, line);
		D.link_up[i] = -1;
	}
	return 0;
}

/* The engines over the ports, and their ARP rings to each other. */
static int init_engines(void)
{
	int rc;

	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		rc = mn_engine_init(&g_engines[e], e, &g_cfg, g_ports, D.n_ports, D.pools[e],
				    &D.info->stats[e], &g_stop);
		if (rc) {
			mn_log("engine %u: setup failed: %s", e, strerror(-rc));
			return -1;
		}
	}
	rc = mn_engine_link_arp(g_engines, g_cfg.n_engines);
	if (rc) {
		mn_log("engine ARP rings: rte_ring_create: %s", rte_strerror(-rc));
		return -1;
	}
	return 0;
}

/* The control plane for apps: its memzone, the channels' rings. */
static int init_ctrl(void)
{
	struct mn_ctrl_params cp;
	char err[MN_CFG_ERR_LEN];
	uint32_t mtu = UINT32_MAX;

	memset(&cp, 0, sizeof(cp));
	for (unsigned i = 0; i < D.n_ports; i++)
		if (g_cfg.ifaces[i].mtu < mtu)
			mtu = g_cfg.ifaces[i].mtu;
	cp.instance = g_cfg.instance;
	cp.n_engines = g_cfg.n_engines;
	for (unsigned e = 0; e < g_cfg.n_engines; e++)
		cp.pools[e] = D.pools[e];
	cp.mtu = mtu;
	cp.max_apps = g_cfg.max_apps;
	cp.ring_size = g_cfg.channel_ring;
	cp.connect_timeout_ms = g_cfg.connect_timeout_ms;
	cp.engine_flows = g_cfg.max_flows;
	cp.engine_listeners = MN_TRANSPORT_LIS;
	cp.app_max_flows = g_cfg.app_max_flows;
	cp.app_max_listeners = g_cfg.app_max_listeners;
	if (mn_ctrl_init(&cp, err, sizeof(err))) {
		mn_log("%s", err);
		return -1;
	}
	D.ctrl_up = true;
	return 0;
}

/* Each engine's transport, bound to its channels; then the --arp-probes. */
static int init_transports(void)
{
	char ip_s[INET_ADDRSTRLEN];
	int rc;

	if (g_cfg.n_engines > 1) {
		/* Each engine may have steered the SYNs of every flow the
		 * others can hold. */
		D.steer = mn_steer_create(g_cfg.n_engines, D.pools,
					  (g_cfg.n_engines - 1) * g_cfg.max_flows);
		if (D.steer == NULL) {
			mn_log("steering between %u engines: %s", g_cfg.n_engines, strerror(errno));
			return -1;
		}
	}
	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		struct mn_transport_env env;

		mn_engine_transport_env(&g_engines[e], &env);
		env.steer = D.steer;
		rc = mn_transport_init(&g_engines[e].x, &env, &g_cfg, mn_ctrl_engine(e));
		if (rc) {
			mn_log("engine %u: transport setup failed: %s", e, strerror(-rc));
			return -1;
		}
	}
	for (unsigned i = 0; i < D.n_probes; i++) {
		if (mn_engine_add_probe(&g_engines[0], D.probes[i]) < 0) {
			mn_log("--arp-probe %s: no interface reaches it", ipstr(D.probes[i], ip_s));
			return -1;
		}
	}
	return 0;
}

/* Reverse of open_ports .. init_transports; every step takes EAL's shared
 * locks for writing. Each call is a no-op for what was not set up. */
/* RX interrupts where the PMDs have them: a sleeping engine then wakes on
 * a frame rather than looking every rx_poll_us (mn_rxintr). Without them
 * (memif, af_packet, af_xdp in DPDK 22.11) nothing changes: not an error. */
static int init_rx_intr(void)
{
	unsigned with = 0, all = 0;
	int rc = mn_rxintr_start();

	if (rc) {
		mn_log("warning: no RX interrupt thread (%s): sleeping engines poll RX every "
		       "rx_poll_us", strerror(-rc));
		return 0;
	}
	for (unsigned e = 0; e < g_cfg.n_engines; e++) {
		with += mn_engine_rx_intr_init(&g_engines[e]);
		all += g_engines[e].rxi.n_rxq;
	}
	if (g_cfg.idle == MN_IDLE_ADAPTIVE)
		mn_log("rx interrupts: %u of %u RX queues%s", with, all,
		       with == all ? " (a sleeping engine wakes on a frame)"
				   : " (the others are looked at every rx_poll_us while asleep)");
	return 0;
}

static void teardown_stack(void)
{
	mn_rxintr_stop();
	mn_eal_release_dead_locks(D.runtime_dir);
	for (unsigned e = 0; e < g_cfg.n_engines; e++)
		mn_transport_fini(&g_engines[e].x);
	mn_steer_free(D.steer);
	D.steer = NULL;
	if (D.ctrl_up)
		mn_ctrl_fini();
	mn_engine_unlink_arp(g_engines, g_cfg.n_engines);
	for (unsigned e = 0; e < g_cfg.n_engines; e++)
		mn_engine_fini(&g_engines[e]);
	for (unsigned i = 0; i < D.n_ports; i++)
		mn_port_close(&g_ports[i]);
}

/* Fills the instance memzone, registers telemetry and pdump, then sets
 * magic: secondaries treat the memzone as usable from then on. */
static void publish_info(void)
{
	struct mn_info *in = D.info;
	struct timespec ts;

	in->abi_version = MN_ABI_VERSION;
	in->primary_pid = (int32_t)getpid();
	in->n_ifaces = D.n_ports;
	in->n_engines = g_cfg.n_engines;
	in->mbuf_data_size = g_cfg.mbuf_data_size;
	clock_gettime(CLOCK_REALTIME, &ts);
	in->start_time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	snprintf(in->instance, sizeof(in->instance), "%s", g_cfg.instance);
	for (unsigned i = 0; i < D.n_ports; i++) {
		struct mn_abi_iface *f = &in->ifaces[i];

		snprintf(f->name, sizeof(f->name), "%s", g_cfg.ifaces[i].name);
		memcpy(f->mac, g_ports[i].mac.addr_bytes, 6);
		f->port_id = g_ports[i].port_id;
		f->ip = g_cfg.ifaces[i].ip;
		f->gateway = g_cfg.ifaces[i].gateway;
		f->mtu = g_cfg.ifaces[i].mtu;
		f->prefix_len = g_cfg.ifaces[i].prefix_len;
		f->tx_csum_offload = g_ports[i].tx_csum_offload;
	}
	if (mn_telemetry_init(in, g_engines))
		mn_log("warning: cannot register telemetry commands");
	if (rte_pdump_init() != 0)
		mn_log("warning: rte_pdump_init: %s (dpdk-pdump will not attach)",
		       rte_strerror(rte_errno));
	atomic_thread_fence(memory_order_release);
	in->magic = MN_INFO_MAGIC;
}

/* One engine per worker lcore, then the control thread that serves apps. */
static int start_engines(void)
{
	unsigned e = 0, lcore;
	int rc;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		rc = rte_eal_remote_launch(mn_engine_main, &g_engines[e], lcore);
		if (rc) {
			mn_log("rte_eal_remote_launch(engine %u on lcore %u): %s", e, lcore,
			       strerror(-rc));
			return -1;
		}
		e++;
	}
	rc = mn_ctrl_start();
	if (rc) {
		mn_log("cannot start the control plane for apps: %s", strerror(-rc));
		return -1;
	}
	mn_log("ready: %u engine(s), %u interface(s), pid %d", g_cfg.n_engines, D.n_ports,
	       (int)getpid());
	/* systemd Type=notify: the ports are up and apps can attach. */
	mn_notify("READY=1\nSTATUS=ready");
	return 0;
}

/* Apps see ESHUTDOWN from here on; then the engines stop. */
static void stop_engines(void)
{
	struct mn_engine_stats s;

	atomic_store(&g_stop, true);
	if (D.ctrl_up)
		mn_ctrl_stop();
	rte_eal_mp_wait_lcore();
	if (!D.verbose)
		return;
	mn_engine_stats_sum(D.info, -1, &s);
	mn_log("rx %" PRIu64 " tx %" PRIu64 " arp answered %" PRIu64 " icmp answered %" PRIu64,
	       s.rx_pkts, s.tx_pkts, s.arp_req_answered, s.icmp_echo_answered);
}

/* The --arp-probe results as they change. */
static void report_probes(int *reported)
{
	char ip_s[INET_ADDRSTRLEN];
	unsigned n;
	const struct mn_probe *probes = mn_engine_probes(&g_engines[0], &n);

	for (unsigned i = 0; i < n; i++) {
		const struct mn_probe *pr = &probes[i];
		int st = atomic_load_explicit(&pr->state, memory_order_acquire);

		if (st == reported[i])
			continue;
		if (st == 1)
			mn_log("arp: %s is at %02x:%02x:%02x:%02x:%02x:%02x", ipstr(pr->ip, ip_s),
			       pr->mac[0], pr->mac[1], pr->mac[2], pr->mac[3], pr->mac[4], pr->mac[5]);
		else if (st == -1)
			mn_log("arp: %s does not answer yet; retrying", ipstr(pr->ip, ip_s));
		reported[i] = st;
	}
}

/* The main thread's life while the engines run: probes every 10 ms, links
 * (and memif redials) every 100 ms, until a signal. */
static void supervise(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int reported[MAX_PROBES] = { 0 };
	char line[256];

	for (unsigned tick = 1; !atomic_load(&g_stop); tick++) {
		nanosleep(&ts, NULL);
		report_probes(reported);
		if (tick % 10 != 0)
			continue;
		for (unsigned i = 0; i < D.n_ports; i++) {
			int up = mn_port_link_str(&g_ports[i], line, sizeof(line));

			/* Counted before the line is logged: whoever waits for
			 * "up" in the log finds the engines' ARP told. */
			if (up == 1 && D.link_up[i] != 1)
				atomic_fetch_add_explicit(&g_ports[i].link_ups, 1, memory_order_release);
			if (up != D.link_up[i])
				mn_log("link %s", line);
			D.link_up[i] = up;
			mn_memif_redial(&g_ports[i], i, up, tick, g_engines, g_cfg.n_engines);
		}
	}
	mn_log("stopping");
	mn_notify("STOPPING=1");
}

int main(int argc, char **argv)
{
	int rc, ret = 1;

	/* Everything machnetd and EAL create (hugepage files, the DPDK runtime
	 * directory, memif sockets, lock files) is for this user only: the
	 * shared memory is the whole stack's state (docs/SECURITY.md). */
	umask(077);
	if ((rc = parse_args(argc, argv)) >= 0 || (rc = load_config()) >= 0)
		return rc;
	D.lock_fd = mn_instance_lock(g_cfg.instance);
	if (D.lock_fd < 0)
		return 1;
	if (preflight())
		goto out_lock;
	catch_signals();
	if (start_eal())
		goto out_eal;
	if (create_info() || create_pools())
		goto out_pools;
	if (open_ports() || init_engines() || init_ctrl() || init_transports() || init_rx_intr())
		goto out_stack;
	publish_info();
	if (start_engines())
		goto out_engines;
	supervise();
	ret = 0;
out_engines:
	stop_engines();
out_stack:
	teardown_stack();
out_pools:
	free_pools_and_info();
out_eal:
	stop_eal();
out_lock:
	mn_instance_unlock(D.lock_fd);
	if (ret == 0)
		mn_log("stopped");
	return ret;
}
