/* mn-rawecho: the floor of a memif link, measured with raw DPDK.
 *
 * Two DPDK primaries, one per side of a net_memif link, do the least that a
 * request-reply over that link can do: the client sends frames of the real
 * stack's size (96 B of Ethernet/IPv4/UDP/Machnet headers + payload), keeps
 * --window of them in flight and times each round trip; the reflector swaps
 * the MAC addresses and sends each frame straight back. msg_gen's numbers
 * between two machnetd stacks over the same kind of link read as ratios to
 * this floor (scripts/bench.sh, docs/PERFORMANCE.md).
 *
 *   mn-rawecho reflect [options] [-- EAL args]    memif server
 *   mn-rawecho client  [options] [-- EAL args]    memif client
 *
 * Each process is its own primary (--file-prefix, --in-memory: nothing needs
 * to attach to it, so it leaves no hugepage files behind) and runs on one
 * lcore pinned with --lcores=0@<cpu>. PCI is never probed.
 *
 * Stopping: the memif server has crashed (SIGSEGV) when its client
 * disconnected while it was polling, because the disconnect unmaps the rings
 * under the poller. So the client ends with a few "bye" frames (EtherType
 * 0x88b5), waits, and only then closes; the reflector stops polling on a bye
 * until the link is down. A client that dies without a bye is tolerated: the
 * reflector keeps polling a link that is down (rx returns nothing).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "mn_hist.h"

#define RE_HDR_BYTES	96	/* Eth 14 + IPv4 20 + UDP 8 + Machnet 54 */
#define RE_MSS		1418	/* 1500 - 20 - 8 - 54: one packet per message */
#define RE_MAGIC	0x6d6e7265u	/* "mnre" */
#define RE_BYE_TYPE	0x88b5	/* IEEE local experimental EtherType */
#define RE_BURST	32
#define RE_RING		1024
#define RE_MAX_WINDOW	512
#define RE_POOL_MBUFS	8191
#define RE_POOL_CACHE	256
/* A frame not back after this is lost. Not less: on this shared 2-vCPU
 * machine either process can be descheduled for tens of ms. */
#define RE_LOSS_MS	500
#define RE_MAX_EAL_ARGS	64

enum re_mode { RE_REFLECT, RE_CLIENT };

struct re_opts {
	enum re_mode mode;
	const char *socket;
	char prefix[64];
	int cpu;
	unsigned window;
	unsigned size;
	double duration;
	double warmup;
	double link_timeout;
	unsigned idle_polls;
	int busy;
	int once;
	unsigned mem_mb;
	const char *json;
	int extra_argc;
	char **extra_argv;
};

/* What the client writes at the start of the payload; the reflector returns
 * it unchanged. */
struct re_stamp {
	uint32_t magic;
	uint32_t slot;
	uint64_t seq;
	uint64_t tsc;
};

struct re_slot {
	uint64_t seq;
	uint64_t t_send;
	int busy;
};

static volatile sig_atomic_t g_stop;
static struct mn_hist g_hist;
static struct re_slot g_slots[RE_MAX_WINDOW];
static uint32_t g_free[RE_MAX_WINDOW];

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mn-rawecho reflect|client [options] [-- EAL args]\n"
		"  --socket PATH      memif control socket (default /run/machnet/rawecho.sock)\n"
		"  --prefix NAME      DPDK --file-prefix (default rawecho-<mode>-<pid>)\n"
		"  --cpu N            CPU of the polling lcore (default: reflect 1, client 0)\n"
		"  --mem MB           EAL memory (default 64)\n"
		"  --link-timeout S   wait this long for the link (default 10)\n"
		" client:\n"
		"  --window W         frames in flight, 1..%d (default 1)\n"
		"  --size B           payload bytes after the 96 B of headers, %zu..%d (default 1024)\n"
		"  --warmup S         seconds before measuring (default 0.5)\n"
		"  --duration S       seconds measured (default 2)\n"
		"  --json FILE        also write the result as JSON\n"
		" reflect:\n"
		"  --duration S       exit after S seconds (default 0: on SIGINT/SIGTERM)\n"
		"  --idle-polls N     sched_yield() after N empty polls in a row (default 256)\n"
		"  --busy             never yield (for a dedicated core)\n"
		"  --once             exit when the client says bye\n"
		"  --json FILE        write counters as JSON at exit\n"
		"EAL arguments after -- are appended to --no-pci --in-memory\n"
		"--file-prefix=<prefix> --lcores=0@<cpu> -m <mem> --vdev=net_memif0,...\n",
		RE_MAX_WINDOW, sizeof(struct re_stamp), RE_MSS);
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct re_opts *o)
{
	int i, cpu_set = 0;
	unsigned u;

	memset(o, 0, sizeof(*o));
	o->socket = "/run/machnet/rawecho.sock";
	o->window = 1;
	o->size = 1024;
	o->duration = -1;
	o->warmup = 0.5;
	o->link_timeout = 10;
	o->idle_polls = 256;
	o->mem_mb = 64;
	if (argc < 2)
		return -EINVAL;
	if (!strcmp(argv[1], "reflect"))
		o->mode = RE_REFLECT;
	else if (!strcmp(argv[1], "client"))
		o->mode = RE_CLIENT;
	else
		return -EINVAL;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (!strcmp(a, "--")) {
			o->extra_argc = argc - i - 1;
			o->extra_argv = argv + i + 1;
			break;
		} else if (!strcmp(a, "--busy")) {
			o->busy = 1;
			continue;
		} else if (!strcmp(a, "--once")) {
			o->once = 1;
			continue;
		} else if (!v) {
			fprintf(stderr, "mn-rawecho: %s needs a value\n", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--socket")) {
			o->socket = v;
		} else if (!strcmp(a, "--prefix")) {
			if (strlen(v) >= sizeof(o->prefix) || !*v)
				rc = -EINVAL;
			else
				snprintf(o->prefix, sizeof(o->prefix), "%s", v);
		} else if (!strcmp(a, "--cpu")) {
			rc = parse_uint(v, 0, CPU_SETSIZE - 1, &u);
			o->cpu = (int)u;
			cpu_set = 1;
		} else if (!strcmp(a, "--mem")) {
			rc = parse_uint(v, 16, 4096, &o->mem_mb);
		} else if (!strcmp(a, "--window")) {
			rc = parse_uint(v, 1, RE_MAX_WINDOW, &o->window);
		} else if (!strcmp(a, "--size")) {
			rc = parse_uint(v, sizeof(struct re_stamp), RE_MSS, &o->size);
		} else if (!strcmp(a, "--duration")) {
			rc = parse_double(v, 0, 3600, &o->duration);
		} else if (!strcmp(a, "--warmup")) {
			rc = parse_double(v, 0, 600, &o->warmup);
		} else if (!strcmp(a, "--link-timeout")) {
			rc = parse_double(v, 0.1, 600, &o->link_timeout);
		} else if (!strcmp(a, "--idle-polls")) {
			rc = parse_uint(v, 1, UINT_MAX, &o->idle_polls);
		} else if (!strcmp(a, "--json")) {
			o->json = v;
		} else {
			fprintf(stderr, "mn-rawecho: unknown option %s\n", a);
			return -EINVAL;
		}
		if (rc) {
			fprintf(stderr, "mn-rawecho: bad value for %s: %s\n", a, v);
			return rc;
		}
	}
	if (!cpu_set)
		o->cpu = o->mode == RE_REFLECT ? 1 : 0;
	if (o->duration < 0)
		o->duration = o->mode == RE_REFLECT ? 0 : 2;
	if (o->mode == RE_CLIENT && o->duration == 0) {
		fprintf(stderr, "mn-rawecho: client --duration must be > 0\n");
		return -EINVAL;
	}
	if (!o->prefix[0])
		snprintf(o->prefix, sizeof(o->prefix), "rawecho-%s-%ld",
			 o->mode == RE_REFLECT ? "r" : "c", (long)getpid());
	return 0;
}

/* EAL init with the arguments this tool always needs in front of the user's.
 * Returns 0 or -errno. */
static int eal_start(const char *prog, const struct re_opts *o)
{
	static char a_prefix[96], a_lcores[32], a_mem[16], a_vdev[512];
	char *eal[RE_MAX_EAL_ARGS];
	int n = 0, i;

	if (o->extra_argc > RE_MAX_EAL_ARGS - 12)
		return -E2BIG;
	snprintf(a_prefix, sizeof(a_prefix), "--file-prefix=%s", o->prefix);
	snprintf(a_lcores, sizeof(a_lcores), "--lcores=0@%d", o->cpu);
	snprintf(a_mem, sizeof(a_mem), "%u", o->mem_mb);
	if ((size_t)snprintf(a_vdev, sizeof(a_vdev),
			     "--vdev=net_memif0,role=%s,socket=%s,socket-abstract=no",
			     o->mode == RE_REFLECT ? "server" : "client",
			     o->socket) >= sizeof(a_vdev))
		return -ENAMETOOLONG;
	eal[n++] = (char *)prog;
	eal[n++] = "--no-pci";
	eal[n++] = "--in-memory";
	eal[n++] = "--no-telemetry";
	eal[n++] = a_prefix;
	eal[n++] = a_lcores;
	eal[n++] = "-m";
	eal[n++] = a_mem;
	eal[n++] = a_vdev;
	for (i = 0; i < o->extra_argc; i++)
		eal[n++] = o->extra_argv[i];
	eal[n] = NULL;
	if (rte_eal_init(n, eal) < 0)
		return -(rte_errno ? rte_errno : EINVAL);
	return 0;
}

/* Configure and start the single memif port. Returns its id or -errno. */
static int port_start(struct rte_mempool **pool_out)
{
	struct rte_eth_conf conf;
	struct rte_mempool *pool;
	uint16_t port = RTE_MAX_ETHPORTS, p;
	int rc, sock;

	RTE_ETH_FOREACH_DEV(p) {
		port = p;
		break;
	}
	if (port == RTE_MAX_ETHPORTS) {
		fprintf(stderr, "mn-rawecho: no ethdev: was the memif vdev created?\n");
		return -ENODEV;
	}
	sock = rte_socket_id();
	pool = rte_pktmbuf_pool_create("rawecho_pool", RE_POOL_MBUFS, RE_POOL_CACHE,
				       0, RTE_MBUF_DEFAULT_BUF_SIZE, sock);
	if (!pool) {
		fprintf(stderr, "mn-rawecho: rte_pktmbuf_pool_create: %s (more --mem?)\n",
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) < 0) {
		fprintf(stderr, "mn-rawecho: rte_eth_dev_configure: %s\n", strerror(-rc));
		goto fail;
	}
	if ((rc = rte_eth_rx_queue_setup(port, 0, RE_RING, sock, NULL, pool)) < 0) {
		fprintf(stderr, "mn-rawecho: rte_eth_rx_queue_setup: %s\n", strerror(-rc));
		goto fail;
	}
	if ((rc = rte_eth_tx_queue_setup(port, 0, RE_RING, sock, NULL)) < 0) {
		fprintf(stderr, "mn-rawecho: rte_eth_tx_queue_setup: %s\n", strerror(-rc));
		goto fail;
	}
	if ((rc = rte_eth_dev_start(port)) < 0) {
		fprintf(stderr, "mn-rawecho: rte_eth_dev_start: %s\n", strerror(-rc));
		goto fail;
	}
	*pool_out = pool;
	return port;
fail:
	rte_mempool_free(pool);
	return rc;
}

static void port_stop(uint16_t port, struct rte_mempool *pool)
{
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_mempool_free(pool);
}

static int link_up(uint16_t port)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(port, &link) != 0)
		return 0;
	return link.link_status == RTE_ETH_LINK_UP;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Wait up to timeout_s for the link to reach state `up`. 0 or -ETIMEDOUT. */
static int link_wait(uint16_t port, int up, double timeout_s)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t end = rte_rdtsc() + (uint64_t)(timeout_s * (double)hz);

	while (link_up(port) != up) {
		if (g_stop || rte_rdtsc() > end)
			return -ETIMEDOUT;
		sleep_us(1000);
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ---- reflector ---------------------------------------------------------- */

struct re_reflect_stats {
	uint64_t rx, tx, tx_drop, polls, yields, byes, link_downs;
};

static int is_bye(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	return m->data_len >= sizeof(*eh) &&
	       eh->ether_type == rte_cpu_to_be_16(RE_BYE_TYPE);
}

static int run_reflect(uint16_t port, const struct re_opts *o)
{
	struct re_reflect_stats st;
	struct rte_mbuf *pkts[RE_BURST];
	uint64_t hz = rte_get_tsc_hz();
	uint64_t end = o->duration > 0 ? rte_rdtsc() + (uint64_t)(o->duration * (double)hz) : UINT64_MAX;
	unsigned empty = 0;
	char buf[512];

	memset(&st, 0, sizeof(st));
	printf("mn-rawecho: reflecting on CPU %d (%s), socket %s\n", o->cpu,
	       o->busy ? "busy polling" : "yield when idle", o->socket);
	fflush(stdout);
	while (!g_stop) {
		uint16_t n, sent, i;
		int bye = 0;

		n = rte_eth_rx_burst(port, 0, pkts, RE_BURST);
		st.polls++;
		if (n == 0) {
			empty++;
			if (!o->busy && empty >= o->idle_polls) {
				sched_yield();
				st.yields++;
			}
			/* the deadline is only looked at while idle */
			if ((empty & 63) == 0 && rte_rdtsc() > end)
				break;
			continue;
		}
		empty = 0;
		st.rx += n;
		for (i = 0; i < n; i++) {
			struct rte_ether_hdr *eh;
			struct rte_ether_addr tmp;

			if (is_bye(pkts[i])) {
				bye = 1;
				continue;
			}
			eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
			tmp = eh->src_addr;
			eh->src_addr = eh->dst_addr;
			eh->dst_addr = tmp;
		}
		if (!bye) {
			sent = rte_eth_tx_burst(port, 0, pkts, n);
			st.tx += sent;
			for (i = sent; i < n; i++) {
				rte_pktmbuf_free(pkts[i]);
				st.tx_drop++;
			}
			continue;
		}
		/* The client is leaving: free everything, stop touching the
		 * rings until its disconnect has been handled. */
		rte_pktmbuf_free_bulk(pkts, n);
		st.byes++;
		if (link_wait(port, 0, 2.0) == 0)
			st.link_downs++;
		if (o->once)
			break;
	}

	snprintf(buf, sizeof(buf),
		 "{\"tool\": \"mn-rawecho\", \"mode\": \"reflect\", \"cpu\": %d, "
		 "\"busy\": %s, \"idle_polls\": %u, \"rx\": %" PRIu64 ", \"tx\": %" PRIu64
		 ", \"tx_drop\": %" PRIu64 ", \"polls\": %" PRIu64 ", \"yields\": %" PRIu64
		 ", \"byes\": %" PRIu64 "}\n",
		 o->cpu, o->busy ? "true" : "false", o->idle_polls, st.rx, st.tx,
		 st.tx_drop, st.polls, st.yields, st.byes);
	printf("mn-rawecho: reflector done: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64
	       " byes %" PRIu64 "\n", st.rx, st.tx, st.tx_drop, st.byes);
	if (o->json && write_file(o->json, buf) != 0)
		fprintf(stderr, "mn-rawecho: cannot write %s: %s\n", o->json, strerror(errno));
	return 0;
}

/* ---- client ------------------------------------------------------------- */

struct re_client_stats {
	uint64_t sent, received, measured, lost, stale, tx_full, alloc_fail;
};

/* The frame every request starts from: addresses of the two ends of a
 * Machnet link (198.18.0.2 -> 198.18.0.1), a zeroed Machnet header and
 * payload; only the stamp changes per frame. */
static void build_template(uint8_t *f, unsigned size)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	static const struct rte_ether_addr src = {{ 0x02, 0, 0, 0, 0xfe, 0x02 }};
	static const struct rte_ether_addr dst = {{ 0x02, 0, 0, 0, 0xfe, 0x01 }};
	unsigned l3 = RE_HDR_BYTES - sizeof(*eh) + size;
	unsigned i;

	memset(f, 0, RE_HDR_BYTES + size);
	eh->src_addr = src;
	eh->dst_addr = dst;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)l3);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0xc6120002);	/* 198.18.0.2 */
	ip->dst_addr = rte_cpu_to_be_32(0xc6120001);	/* 198.18.0.1 */
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(31580);
	udp->dst_port = rte_cpu_to_be_16(31580);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(l3 - sizeof(*ip)));
	for (i = sizeof(struct re_stamp); i < size; i++)
		f[RE_HDR_BYTES + i] = (uint8_t)i;
}

static void send_byes(uint16_t port, struct rte_mempool *pool, const uint8_t *tmpl)
{
	struct rte_mbuf *m;
	int i;

	for (i = 0; i < 4; i++) {
		struct rte_ether_hdr *eh;

		m = rte_pktmbuf_alloc(pool);
		if (!m)
			return;
		eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN);
		memcpy(eh, tmpl, RTE_ETHER_MIN_LEN);
		eh->ether_type = rte_cpu_to_be_16(RE_BYE_TYPE);
		if (rte_eth_tx_burst(port, 0, &m, 1) != 1)
			rte_pktmbuf_free(m);
	}
}

static int run_client(uint16_t port, struct rte_mempool *pool, const struct re_opts *o)
{
	static uint8_t tmpl[RE_HDR_BYTES + RE_MSS];
	struct re_client_stats st;
	struct rte_mbuf *pkts[RE_BURST];
	const unsigned frame = RE_HDR_BYTES + o->size;
	const uint64_t hz = rte_get_tsc_hz();
	const double ns_per_tsc = 1e9 / (double)hz;
	const uint64_t loss_tsc = hz / 1000 * RE_LOSS_MS;
	uint64_t seq = 0, t0, warm_end, meas_end, next_scan, now, t_last;
	unsigned nfree = 0, i;
	char buf[1536];
	int rc = 0;

	memset(&st, 0, sizeof(st));
	mn_hist_reset(&g_hist);
	build_template(tmpl, o->size);
	for (i = 0; i < o->window; i++) {
		g_slots[i].busy = 0;
		g_free[nfree++] = o->window - 1 - i;
	}

	t0 = rte_rdtsc();
	warm_end = t0 + (uint64_t)(o->warmup * (double)hz);
	meas_end = warm_end + (uint64_t)(o->duration * (double)hz);
	next_scan = t0 + hz / 1000;
	now = t0;
	while (!g_stop && now < meas_end) {
		uint16_t n, k, sent;

		/* replies */
		n = rte_eth_rx_burst(port, 0, pkts, RE_BURST);
		now = rte_rdtsc();
		for (i = 0; i < n; i++) {
			struct re_stamp s;
			struct re_slot *sl;

			if (pkts[i]->data_len < RE_HDR_BYTES + sizeof(s)) {
				st.stale++;
				continue;
			}
			memcpy(&s, rte_pktmbuf_mtod_offset(pkts[i], void *, RE_HDR_BYTES), sizeof(s));
			if (s.magic != RE_MAGIC || s.slot >= o->window ||
			    !g_slots[s.slot].busy || g_slots[s.slot].seq != s.seq) {
				st.stale++;
				continue;
			}
			sl = &g_slots[s.slot];
			sl->busy = 0;
			g_free[nfree++] = s.slot;
			st.received++;
			if (s.tsc >= warm_end) {
				mn_hist_add(&g_hist, (uint64_t)((double)(now - s.tsc) * ns_per_tsc));
				st.measured++;
			}
		}
		if (n)
			rte_pktmbuf_free_bulk(pkts, n);

		/* refill the window */
		k = (uint16_t)RTE_MIN(nfree, (unsigned)RE_BURST);
		if (k && rte_pktmbuf_alloc_bulk(pool, pkts, k) != 0) {
			st.alloc_fail++;
			k = 0;
		}
		now = rte_rdtsc();
		for (i = 0; i < k; i++) {
			struct re_stamp s;
			uint8_t *d = (uint8_t *)rte_pktmbuf_append(pkts[i], (uint16_t)frame);
			uint32_t slot = g_free[--nfree];

			memcpy(d, tmpl, frame);
			s.magic = RE_MAGIC;
			s.slot = slot;
			s.seq = ++seq;
			s.tsc = now;
			memcpy(d + RE_HDR_BYTES, &s, sizeof(s));
			g_slots[slot].seq = s.seq;
			g_slots[slot].t_send = now;
			g_slots[slot].busy = 1;
		}
		sent = k ? rte_eth_tx_burst(port, 0, pkts, k) : 0;
		st.sent += sent;
		if (sent < k) {
			st.tx_full++;
			for (i = sent; i < k; i++) {
				struct re_stamp s;

				memcpy(&s, rte_pktmbuf_mtod_offset(pkts[i], void *, RE_HDR_BYTES), sizeof(s));
				g_slots[s.slot].busy = 0;
				g_free[nfree++] = s.slot;
				rte_pktmbuf_free(pkts[i]);
			}
		}

		/* frames that never came back free their slot */
		if (now >= next_scan) {
			next_scan = now + hz / 1000;
			for (i = 0; i < o->window; i++) {
				if (g_slots[i].busy && now - g_slots[i].t_send > loss_tsc) {
					g_slots[i].busy = 0;
					g_free[nfree++] = i;
					st.lost++;
				}
			}
		}
	}

	/* Leave: tell the reflector, drain what is still coming back, then the
	 * caller closes the port. */
	send_byes(port, pool, tmpl);
	t_last = rte_rdtsc() + hz / 50;
	while (rte_rdtsc() < t_last) {
		uint16_t n = rte_eth_rx_burst(port, 0, pkts, RE_BURST);

		if (n)
			rte_pktmbuf_free_bulk(pkts, n);
		else
			sleep_us(100);
	}

	double secs = (double)(RTE_MIN(now, meas_end) - RTE_MIN(warm_end, now)) * ns_per_tsc / 1e9;
	double fps = secs > 0 ? (double)st.measured / secs : 0;
	double p50 = (double)mn_hist_percentile(&g_hist, 50) / 1e3;
	double p99 = (double)mn_hist_percentile(&g_hist, 99) / 1e3;
	double p999 = (double)mn_hist_percentile(&g_hist, 99.9) / 1e3;
	double p9999 = (double)mn_hist_percentile(&g_hist, 99.99) / 1e3;
	double mx = (double)g_hist.max / 1e3, mnv = g_hist.count ? (double)g_hist.min / 1e3 : 0;
	double mean = mn_hist_mean(&g_hist) / 1e3;

	printf("mn-rawecho: size %u (frame %u B) window %u: %.0f frames/s, RTT us "
	       "p50 %.3f p99 %.3f p99.9 %.3f max %.3f (measured %" PRIu64 ", lost %" PRIu64
	       ", stale %" PRIu64 ", tx full %" PRIu64 ")\n",
	       o->size, frame, o->window, fps, p50, p99, p999, mx, st.measured, st.lost,
	       st.stale, st.tx_full);
	snprintf(buf, sizeof(buf),
		 "{\"tool\": \"mn-rawecho\", \"mode\": \"client\", \"cpu\": %d, "
		 "\"size\": %u, \"frame_bytes\": %u, \"window\": %u, "
		 "\"warmup_s\": %.3f, \"duration_s\": %.3f, \"frames_per_s\": %.0f, "
		 "\"rtt_us\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, "
		 "\"p9999\": %.3f, \"min\": %.3f, \"max\": %.3f, \"mean\": %.3f}, "
		 "\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", \"measured\": %" PRIu64
		 ", \"lost\": %" PRIu64 ", \"stale\": %" PRIu64 ", \"tx_full\": %" PRIu64
		 ", \"alloc_fail\": %" PRIu64 ", \"interrupted\": %s}\n",
		 o->cpu, o->size, frame, o->window, o->warmup, secs, fps,
		 p50, p99, p999, p9999, mnv, mx, mean,
		 st.sent, st.received, st.measured, st.lost, st.stale, st.tx_full,
		 st.alloc_fail, g_stop ? "true" : "false");
	if (o->json && write_file(o->json, buf) != 0) {
		fprintf(stderr, "mn-rawecho: cannot write %s: %s\n", o->json, strerror(errno));
		rc = -EIO;
	}
	if (st.measured == 0) {
		fprintf(stderr, "mn-rawecho: no reply measured (is the reflector running?)\n");
		rc = -EIO;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct re_opts o;
	struct rte_mempool *pool = NULL;
	char runtime_dir[PATH_MAX];
	int rc, port;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (parse_opts(argc, argv, &o) != 0) {
		usage(stderr);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if ((rc = eal_start(argv[0], &o)) != 0) {
		fprintf(stderr, "mn-rawecho: rte_eal_init: %s (root? hugepages? unique --prefix?)\n",
			rte_strerror(-rc));
		return 1;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	port = port_start(&pool);
	if (port < 0) {
		if (o.mode == RE_CLIENT)
			fprintf(stderr, "mn-rawecho: is a reflector (memif server) listening on %s?\n",
				o.socket);
		rc = port;
		goto out_eal;
	}
	if (o.mode == RE_CLIENT) {
		if (link_wait((uint16_t)port, 1, o.link_timeout) != 0) {
			fprintf(stderr, "mn-rawecho: memif link not up after %.1f s (no reflector on %s?)\n",
				o.link_timeout, o.socket);
			rc = -ETIMEDOUT;
			goto out_port;
		}
		rc = run_client((uint16_t)port, pool, &o);
	} else {
		rc = run_reflect((uint16_t)port, &o);
	}
out_port:
	port_stop((uint16_t)port, pool);
out_eal:
	rte_eal_cleanup();
	/* --in-memory leaves only the empty runtime dir; rmdir() fails harmlessly
	 * if anything else is in it */
	rmdir(runtime_dir);
	return rc == 0 ? 0 : (rc == -ETIMEDOUT ? 3 : 2);
}
