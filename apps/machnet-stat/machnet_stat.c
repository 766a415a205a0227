/* machnet-stat: prints a running machnetd's per-engine counters.
 *
 * Attaches as a DPDK secondary of the instance and only reads the MN_MZ_INFO
 * memzone: it never touches a mempool or a ring, so it cannot disturb the
 * primary or its apps, and needs no lcore id of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memzone.h>

#include "mn_abi.h"
#include "mn_pkt.h"	/* mn_drop_reason_str */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: machnet-stat [-i INSTANCE] [-w SECONDS [-n COUNT]]\n"
		"  -i INSTANCE  machnetd instance (its DPDK file prefix); default\n"
		"               $MACHNET_INSTANCE, else mn0\n"
		"  -w SECONDS   repeat every SECONDS (default: print once)\n"
		"  -n COUNT     stop after COUNT repetitions (with -w)\n"
		"  -h           this text\n");
}

static void print_engine(const char *label, const volatile struct mn_engine_stats *s)
{
	printf("%-8s rx %" PRIu64 " pkts %" PRIu64 " B  tx %" PRIu64 " pkts %" PRIu64
	       " B  tx_fail %" PRIu64 "\n", label, s->rx_pkts, s->rx_bytes, s->tx_pkts,
	       s->tx_bytes, s->tx_fail);
	printf("%-8s arp: answered %" PRIu64 " sent %" PRIu64 " learned %" PRIu64
	       " resolved %" PRIu64 " failed %" PRIu64 "  icmp echo answered %" PRIu64 "\n", "",
	       s->arp_req_answered, s->arp_req_sent, s->arp_learned, s->arp_resolved,
	       s->arp_failed, s->icmp_echo_answered);
	printf("%-8s polls %" PRIu64 " (idle %" PRIu64 ")  drops:", "", s->polls, s->idle_polls);
	for (unsigned r = 0; r < MN_DROP__COUNT; r++)
		if (s->drops[r])
			printf(" %s=%" PRIu64, mn_drop_reason_str(r), s->drops[r]);
	printf("\n");
	if (s->fault_dropped | s->fault_duplicated | s->fault_corrupted | s->fault_delayed |
	    s->fault_reordered | s->fault_queue_full)
		printf("%-8s faults: dropped %" PRIu64 " duplicated %" PRIu64 " corrupted %" PRIu64
		       " delayed %" PRIu64 " reordered %" PRIu64 " queue_full %" PRIu64 "\n", "",
		       s->fault_dropped, s->fault_duplicated, s->fault_corrupted, s->fault_delayed,
		       s->fault_reordered, s->fault_queue_full);
}

static void print_info(const struct mn_info *info)
{
	char ip[INET_ADDRSTRLEN], label[16];

	printf("instance %s  pid %d  engines %u  abi %u\n", info->instance, info->primary_pid,
	       info->n_engines, info->abi_version);
	for (unsigned i = 0; i < info->n_ifaces && i < MN_ABI_MAX_IFACES; i++) {
		const struct mn_abi_iface *f = &info->ifaces[i];
		uint32_t be = htonl(f->ip);

		inet_ntop(AF_INET, &be, ip, sizeof(ip));
		printf("%s  port %u  %02x:%02x:%02x:%02x:%02x:%02x  %s/%u  mtu %u\n", f->name,
		       f->port_id, f->mac[0], f->mac[1], f->mac[2], f->mac[3], f->mac[4],
		       f->mac[5], ip, f->prefix_len, f->mtu);
	}
	for (unsigned e = 0; e < info->n_engines && e < MN_ABI_MAX_ENGINES; e++) {
		snprintf(label, sizeof(label), "engine%u", e);
		print_engine(label, &info->stats[e]);
	}
}

int main(int argc, char **argv)
{
	const char *instance = getenv("MACHNET_INSTANCE");
	char prefix[64];
	char *eal_argv[] = { argv[0], "--proc-type=secondary", prefix, "--no-pci",
			     "--log-level=lib.eal:error", NULL };
	const struct rte_memzone *mz;
	const struct mn_info *info;
	long wait_s = 0, count = 0;
	int c;

	while ((c = getopt(argc, argv, "i:w:n:h")) != -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 'w':
			wait_s = strtol(optarg, NULL, 10);
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!instance || !instance[0])
		instance = "mn0";
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", instance);
	/* Without a primary, EAL would fail after creating a runtime dir. */
	{
		char cfg[512];

		snprintf(cfg, sizeof(cfg), "/var/run/dpdk/%s/config", instance);
		if (access(cfg, F_OK) != 0) {
			fprintf(stderr, "machnet-stat: no DPDK primary with prefix '%s' (%s: %s); "
				"is machnetd running with instance %s?\n", instance, cfg,
				strerror(errno), instance);
			return 1;
		}
	}
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "machnet-stat: cannot attach to instance '%s': %s (is machnetd "
			"running with instance %s?)\n", instance, rte_strerror(rte_errno), instance);
		return 1;
	}
	mz = rte_memzone_lookup(MN_MZ_INFO);
	if (!mz || mz->len < sizeof(struct mn_info)) {
		fprintf(stderr, "machnet-stat: no %s memzone in instance '%s' (is machnetd "
			"running with instance %s?)\n", MN_MZ_INFO, instance, instance);
		rte_eal_cleanup();
		return 1;
	}
	info = mz->addr;
	if (info->magic != MN_INFO_MAGIC || info->abi_version != MN_ABI_VERSION) {
		fprintf(stderr, "machnet-stat: instance '%s' is not ready or has ABI %u (this "
			"tool: %u)\n", instance, info->abi_version, MN_ABI_VERSION);
		rte_eal_cleanup();
		return 1;
	}
	for (long i = 0;; i++) {
		if (kill(info->primary_pid, 0) != 0 && errno == ESRCH) {
			fprintf(stderr, "machnet-stat: machnetd (pid %d) is gone\n", info->primary_pid);
			rte_eal_cleanup();
			return 1;
		}
		print_info(info);
		fflush(stdout);
		if (wait_s <= 0 || (count > 0 && i + 1 >= count))
			break;
		sleep((unsigned)wait_s);
		printf("\n");
	}
	rte_eal_cleanup();
	return 0;
}
