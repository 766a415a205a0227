/* Unit tests for mn_config: defaults, every key of a full file, each class of
 * mistake reported at the right line, every shipped conf/ example loading, and
 * the EAL argument vector derived from a config.
 *
 * Usage: test_config DATA_DIR CONF_DIR (meson passes both).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mn_config.h"
#include "mn_cunit.h"

static const char *data_dir;
static const char *conf_dir;

static const char *path_in(char *buf, size_t len, const char *dir, const char *sub, const char *name)
{
	snprintf(buf, len, "%s/%s%s%s", dir, sub, sub[0] ? "/" : "", name);
	return buf;
}

static int load(const char *sub, const char *name, struct mn_config *cfg, char *err, size_t errlen)
{
	char p[1024];

	return mn_config_load(path_in(p, sizeof(p), data_dir, sub, name), cfg, err, errlen);
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void check_defaults_except_ifaces(const struct mn_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->instance, "mn0");
	CU_ASSERT_EQUAL(c->main_cpu, 0);
	CU_ASSERT_EQUAL(c->n_engines, 1);
	CU_ASSERT_EQUAL(c->engine_cpus[0], 1);
	CU_ASSERT_EQUAL(c->mbufs, 65535);
	CU_ASSERT_EQUAL(c->mbuf_cache, 256);
	CU_ASSERT_EQUAL(c->mbuf_data_size, 2176);
	CU_ASSERT_EQUAL(c->hugepage_mb, 1024);
	CU_ASSERT_EQUAL(c->min_rto_us, 1000);
	CU_ASSERT_EQUAL(c->max_rto_us, 1000000);
	CU_ASSERT_EQUAL(c->max_retries, 8);
	CU_ASSERT_EQUAL(c->give_up_ms, 60000);
	CU_ASSERT_EQUAL(c->max_flows, 65536);
	CU_ASSERT_EQUAL(c->window, 32);
	CU_ASSERT_EQUAL(c->cc, MN_CC_AUTO);
	CU_ASSERT_EQUAL(c->target_delay_us, 50);
	CU_ASSERT_EQUAL(c->connect_timeout_ms, 3000);
	CU_ASSERT_EQUAL(c->keepalive_ms, 1000);
	CU_ASSERT_EQUAL(c->idle, MN_IDLE_ADAPTIVE);
	CU_ASSERT_EQUAL(c->yield_us, 500);
	CU_ASSERT_EQUAL(c->rx_poll_us, 250);
	CU_ASSERT_EQUAL(c->rx_poll_max_us, 8000);
	CU_ASSERT_EQUAL(c->idle_polls, 256);
	CU_ASSERT_EQUAL(c->idle_sleep_us, 50);
	CU_ASSERT_EQUAL(c->spin_us, 0);
	CU_ASSERT_EQUAL(c->arp_timeout_s, 300);
	CU_ASSERT_EQUAL(c->max_apps, 64);
	CU_ASSERT_EQUAL(c->channel_ring, 1024);
	CU_ASSERT_EQUAL(c->app_max_flows, 0);	/* a quarter of an engine's */
	CU_ASSERT_EQUAL(c->app_max_listeners, 0);
	CU_ASSERT_EQUAL(c->n_eal_args, 0);
	CU_ASSERT_STRING_EQUAL(c->log_level, "");
	CU_ASSERT_FALSE(c->fault.enabled);
	CU_ASSERT_EQUAL(c->fault.seed, 1);
	for (int i = 0; i < 2; i++) {
		const struct mn_fault_params *d = i ? &c->fault.tx : &c->fault.rx;

		CU_ASSERT_EQUAL(d->drop_ppm + d->dup_ppm + d->corrupt_ppm + d->reorder_ppm, 0);
		CU_ASSERT_EQUAL(d->delay_us + d->jitter_us, 0);
		CU_ASSERT_EQUAL(d->reorder_us, 100);
		CU_ASSERT_FALSE(d->keep_order);
		CU_ASSERT_EQUAL(d->corrupt_min_off, 14);
		CU_ASSERT_EQUAL(d->corrupt_max_off, 65535);
		CU_ASSERT_EQUAL(d->queue, 4096);
	}
}

static void check_default_iface(const struct mn_cfg_iface *x)
{
	CU_ASSERT_STRING_EQUAL(x->name, "link0");
	CU_ASSERT_STRING_EQUAL(x->device, "net_null0");
	CU_ASSERT_STRING_EQUAL(x->pci, "");
	CU_ASSERT_FALSE(x->has_mac);
	CU_ASSERT_EQUAL(x->ip, IP(198, 18, 0, 1));
	CU_ASSERT_EQUAL(x->prefix_len, 24);
	CU_ASSERT_EQUAL(x->gateway, 0);
	CU_ASSERT_EQUAL(x->mtu, 1500);
	CU_ASSERT_TRUE(x->rx_checksum);
}

static void test_defaults_struct(void)
{
	struct mn_config c;

	memset(&c, 0xa5, sizeof(c));
	mn_config_defaults(&c);
	check_defaults_except_ifaces(&c);
	CU_ASSERT_EQUAL(c.n_ifaces, 0);
}

static void test_minimal_file(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(load("good", "minimal.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	check_defaults_except_ifaces(&c);
	CU_ASSERT_EQUAL_FATAL(c.n_ifaces, 1);
	check_default_iface(&c.ifaces[0]);
	CU_ASSERT_EQUAL(c.ifaces[0].line, 2);
}

static void test_empty_groups_file(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(load("good", "empty-groups.conf", &c, err, sizeof(err)), 0);
	check_defaults_except_ifaces(&c);
	CU_ASSERT_EQUAL_FATAL(c.n_ifaces, 1);
	check_default_iface(&c.ifaces[0]);
}

static void test_full_file(void)
{
	static const uint8_t mac[6] = { 0x02, 0xab, 0xcd, 0x00, 0x00, 0x09 };
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];
	const struct mn_cfg_iface *w, *l;

	CU_ASSERT_EQUAL_FATAL(load("good", "full.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.instance, "full_1-x");
	CU_ASSERT_EQUAL(c.main_cpu, 3);
	CU_ASSERT_EQUAL_FATAL(c.n_engines, 3);
	CU_ASSERT_EQUAL(c.engine_cpus[0], 5);
	CU_ASSERT_EQUAL(c.engine_cpus[1], 3);	/* sharing main's CPU is allowed */
	CU_ASSERT_EQUAL(c.engine_cpus[2], 7);
	CU_ASSERT_EQUAL(c.mbufs, 8192);
	CU_ASSERT_EQUAL(c.mbuf_cache, 128);
	CU_ASSERT_EQUAL(c.mbuf_data_size, 9216);
	CU_ASSERT_EQUAL(c.hugepage_mb, 256);
	CU_ASSERT_EQUAL_FATAL(c.n_ifaces, 2);
	w = &c.ifaces[0];
	CU_ASSERT_STRING_EQUAL(w->name, "wan");
	CU_ASSERT_STRING_EQUAL(w->device,
			       "net_memif3,role=client,socket=/run/machnet/x.sock,socket-abstract=no");
	CU_ASSERT_STRING_EQUAL(w->pci, "");
	CU_ASSERT_TRUE(w->has_mac);
	CU_ASSERT_EQUAL(memcmp(w->mac, mac, 6), 0);
	CU_ASSERT_EQUAL(w->ip, IP(198, 19, 4, 20));
	CU_ASSERT_EQUAL(w->prefix_len, 28);
	CU_ASSERT_EQUAL(w->gateway, IP(198, 19, 4, 17));
	CU_ASSERT_EQUAL(w->mtu, 9000);
	CU_ASSERT_FALSE(w->rx_checksum);
	CU_ASSERT_FALSE(mn_cfg_iface_by_mac(w));
	l = &c.ifaces[1];
	CU_ASSERT_STRING_EQUAL(l->name, "lan");
	CU_ASSERT_STRING_EQUAL(l->device, "");
	CU_ASSERT_STRING_EQUAL(l->pci, "0000:3b:00.1");	/* normalised */
	CU_ASSERT_FALSE(l->has_mac);
	CU_ASSERT_EQUAL(l->ip, IP(198, 18, 7, 1));
	CU_ASSERT_EQUAL(l->prefix_len, 16);
	CU_ASSERT_EQUAL(l->gateway, 0);
	CU_ASSERT_EQUAL(l->mtu, 576);
	CU_ASSERT_TRUE(l->rx_checksum);
	CU_ASSERT_EQUAL(c.min_rto_us, 200);
	CU_ASSERT_EQUAL(c.max_rto_us, 200);
	CU_ASSERT_EQUAL(c.max_retries, 64);
	CU_ASSERT_EQUAL(c.give_up_ms, 86400000);
	CU_ASSERT_EQUAL(c.max_flows, 1048576);
	CU_ASSERT_EQUAL(c.window, 256);
	CU_ASSERT_EQUAL(c.cc, MN_CC_FIXED);
	CU_ASSERT_EQUAL(c.target_delay_us, 120);
	CU_ASSERT_EQUAL(c.connect_timeout_ms, 500);
	CU_ASSERT_EQUAL(c.keepalive_ms, 3600000);	/* the top of the range */
	CU_ASSERT_EQUAL(c.idle, MN_IDLE_SLEEP);
	CU_ASSERT_EQUAL(c.idle_polls, 0);
	CU_ASSERT_EQUAL(c.idle_sleep_us, 20);
	CU_ASSERT_EQUAL(c.spin_us, 1000);	/* the top of the range */
	CU_ASSERT_EQUAL(c.arp_timeout_s, 30);
	CU_ASSERT_EQUAL(c.max_apps, 128);
	CU_ASSERT_EQUAL(c.channel_ring, 65536);
	CU_ASSERT_EQUAL(c.app_max_flows, 1048576);	/* the tops of the ranges */
	CU_ASSERT_EQUAL(c.app_max_listeners, 64);
	CU_ASSERT_STRING_EQUAL(c.log_level, "pmd.net.memif:debug");
	CU_ASSERT_EQUAL_FATAL(c.n_eal_args, 2);
	CU_ASSERT_STRING_EQUAL(c.eal_args[0], "--huge-dir=/dev/hugepages");
	CU_ASSERT_STRING_EQUAL(c.eal_args[1], "--single-file-segments");
}

/* mn_config_print() of c into out (NUL-terminated, at most cap - 1 bytes). */
static void print_config(const struct mn_config *c, char *out, size_t cap)
{
	FILE *f = fmemopen(out, cap - 1, "w");
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	mn_config_print(c, f);
	n = (size_t)ftell(f);
	fclose(f);
	out[n] = '\0';
}

/* The test-only fault group: every key, both directions; an omitted key in a
 * given direction keeps its default. */
static void test_fault_file(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], out[4096];
	const struct mn_fault_params *rx = &c.fault.rx, *tx = &c.fault.tx;

	CU_ASSERT_EQUAL_FATAL(load("good", "fault.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(c.fault.enabled);
	CU_ASSERT_EQUAL(c.fault.seed, 8589934597ull);
	CU_ASSERT_EQUAL(c.fault.line, 4);
	CU_ASSERT_EQUAL(rx->drop_ppm, 10000);
	CU_ASSERT_EQUAL(rx->dup_ppm, 10000);
	CU_ASSERT_EQUAL(rx->corrupt_ppm, 1000);
	CU_ASSERT_EQUAL(rx->reorder_ppm, 250000);
	CU_ASSERT_EQUAL(rx->reorder_us, 200);
	CU_ASSERT_EQUAL(rx->delay_us, 5000);
	CU_ASSERT_EQUAL(rx->jitter_us, 1000);
	CU_ASSERT_TRUE(rx->keep_order);
	CU_ASSERT_EQUAL(rx->corrupt_min_off, 34);
	CU_ASSERT_EQUAL(rx->corrupt_max_off, 41);
	CU_ASSERT_EQUAL(rx->queue, 8192);
	CU_ASSERT_EQUAL(tx->drop_ppm, 1000000);
	CU_ASSERT_EQUAL(tx->delay_us, 7);
	CU_ASSERT_EQUAL(tx->dup_ppm + tx->corrupt_ppm + tx->reorder_ppm + tx->jitter_us, 0);
	CU_ASSERT_EQUAL(tx->reorder_us, 100);
	CU_ASSERT_FALSE(tx->keep_order);
	CU_ASSERT_EQUAL(tx->corrupt_min_off, 14);
	CU_ASSERT_EQUAL(tx->corrupt_max_off, 65535);
	CU_ASSERT_EQUAL(tx->queue, 4096);
	print_config(&c, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fault           ENABLED (test only), seed 8589934597"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "rx  drop 10000 dup 10000 corrupt 1000 (bytes 34..41) "
				      "reorder 250000 ppm (+200 us), delay 5000 +- 1000 us in order, queue 8192"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "tx  drop 1000000 "));
}

/* One bad file per mistake: the message must start with "FILE:LINE: " (or
 * "FILE: " for line 0: the file as a whole) and contain the phrase. */
static const struct bad_case {
	const char *file;
	int line;
	const char *phrase;
} bad_cases[] = {
	{ "syntax.conf", 4, "syntax error" },
	{ "unknown-top.conf", 2, "unknown key 'interface' in top level (expected one of: instance, lcores," },
	{ "unknown-memory.conf", 3, "unknown key 'mbuf' in memory (expected one of: mbufs," },
	{ "unknown-nested.conf", 6, "unknown key 'mtus' in interfaces[0] (expected one of: name, device," },
	{ "wrong-type-mtu.conf", 6, "'interfaces[0].mtu' must be an integer" },
	{ "wrong-type-float.conf", 8, "'transport.window' must be an integer" },
	{ "wrong-type-group.conf", 1, "'memory' must be a group" },
	{ "wrong-type-bool.conf", 6, "'interfaces[0].rx_checksum' must be true or false" },
	{ "bad-ip.conf", 5, "'interfaces[0].ip' must be an IPv4 address" },
	{ "bad-cidr.conf", 5, "'interfaces[0].ip' must be an IPv4 address" },
	{ "network-address.conf", 5, "is the network or broadcast address of its /24 subnet" },
	{ "bad-mac.conf", 6, "'interfaces[0].mac' must be a MAC address" },
	{ "multicast-mac.conf", 6, "'interfaces[0].mac' must be a unicast address" },
	{ "bad-prefix.conf", 6, "'interfaces[0].prefix_len' must be in 0..32 (got 33)" },
	{ "prefix-twice.conf", 6, "prefix given twice" },
	{ "gateway-outside.conf", 6, "198.18.1.1 is not another host in the interface's subnet 198.18.0.0/24" },
	{ "mtu-range.conf", 6, "'interfaces[0].mtu' must be in 576..9000 (got 9001)" },
	{ "window-range.conf", 10, "'transport.window' must be in 1..256 (got 0)" },
	{ "retries-range.conf", 8, "'transport.max_retries' must be in 1..64 (got 65)" },
	{ "give-up-range.conf", 8, "'transport.give_up_ms' must be in 0..86400000 (got 86400001)" },
	{ "keepalive-range.conf", 8, "'transport.keepalive_ms' must be in 0..3600000 (got 3600001)" },
	{ "keepalive-negative.conf", 8, "'transport.keepalive_ms' must be in 0..3600000 (got -1)" },
	{ "rto-order.conf", 9, "'transport.min_rto_us' 5000 must be <= 'transport.max_rto_us' 4000" },
	{ "ack-delay-rto.conf", 10, "half of 'transport.min_rto_us' (200)" },
	{ "plain-rto-max.conf", 10, "'transport.plain_min_rto_us' 6000 must be <= 'transport.max_rto_us' 5000" },
	{ "ring-range.conf", 8, "'apps.channel_ring' must be in 64..65536 (got 32)" },
	{ "ring-pow2.conf", 10, "'apps.channel_ring' must be a power of two" },
	{ "app-flows-range.conf", 9, "'apps.max_flows' must be in 0..1048576 (got 2000000)" },
	{ "app-listeners-range.conf", 8, "'apps.max_listeners' must be in 0..64 (got 65)" },
	{ "app-flows-over.conf", 10, "'apps.max_flows' 5000 must be <= 'transport.max_flows' 4096" },
	{ "flows-range.conf", 9, "'transport.max_flows' must be in 16..1048576 (got 1048577)" },
	{ "apps-max.conf", 8, "'apps.max' must be in 1..128 (got 129)" },
	{ "dup-engines.conf", 5, "duplicate lcore: CPU 1" },
	{ "no-engines.conf", 1, "'lcores.engines' must list 1..16 CPUs (got 0)" },
	{ "engine-string.conf", 1, "'lcores.engines[1]' must be an integer" },
	{ "dup-names.conf", 3, "interfaces[1]: duplicate interface name 'link0'" },
	{ "dup-ips.conf", 3, "interfaces[1]: duplicate ip 198.18.0.1" },
	{ "dup-pci.conf", 3, "interfaces[1]: duplicate pci 0000:3b:00.0" },
	{ "dup-vdev.conf", 3, "interfaces[1]: duplicate vdev name 'net_null0'" },
	{ "missing-ip.conf", 2, "interfaces[0]: missing required key 'ip'" },
	{ "missing-interfaces.conf", 0, "missing required key 'interfaces'" },
	{ "empty-interfaces.conf", 2, "'interfaces' must hold 1..8 interfaces (got 0)" },
	{ "interfaces-group.conf", 1, "'interfaces' must be a list of groups" },
	{ "device-and-pci.conf", 6, "set either 'device' (a vdev) or 'pci', not both" },
	{ "no-device.conf", 2, "needs 'device' (a vdev), 'pci', or 'mac'" },
	{ "bad-pci.conf", 5, "'interfaces[0].pci' must be a PCI address" },
	{ "bad-device.conf", 4, "'interfaces[0].device' must be a DPDK vdev argument" },
	{ "cache-too-large.conf", 1, "'memory.mbuf_cache' must be in 0..512 (got 1024)" },
	{ "mbufs-too-few.conf", 1, "'memory.mbufs' must be in 1024..16777216 (got 1000)" },
	{ "data-size-mtu.conf", 6, "'memory.mbuf_data_size' 2176 is too small for interfaces[0].mtu 9000 (needs >= 9142" },
	{ "data-size-explicit.conf", 2, "'memory.mbuf_data_size' 1600 is too small for interfaces[0].mtu 1500" },
	{ "hugepage-small.conf", 3, "'memory.hugepage_mb' 64 cannot hold the mbuf pool" },
	{ "bad-instance.conf", 1, "'instance' must be 1..31 characters of [A-Za-z0-9_-]" },
	{ "bad-idle.conf", 8, "'engine.idle' must be \"busy\", \"yield\", \"sleep\" or \"adaptive\" (got \"spin\")" },
	{ "bad-cc.conf", 8, "'transport.cc' must be \"auto\" or \"fixed\"" },
	{ "eal-managed.conf", 10, "'eal.args[1]': --file-prefix is set by machnetd" },
	{ "eal-args-type.conf", 8, "'eal.args' must be an array of strings" },
	{ "fault-ppm-range.conf", 5, "'fault.rx.drop_ppm' must be in 0..1000000 (got 1000001)" },
	{ "fault-jitter.conf", 5, "'fault.tx.jitter_us' 2000 must be <= 'fault.tx.delay_us' 1000" },
	{ "fault-unknown.conf", 4, "unknown key 'loss_ppm' in fault.rx (expected one of: drop_ppm, dup_ppm," },
	{ "fault-unknown-top.conf", 3, "unknown key 'enable' in fault (expected one of: enabled, seed, rx, tx)" },
	{ "fault-offsets.conf", 5, "'fault.rx.corrupt_min_offset' 60 must be <= 'fault.rx.corrupt_max_offset' 20" },
	{ "fault-keep-order-type.conf", 6, "'fault.rx.keep_order' must be true or false" },
	{ "fault-seed.conf", 3, "'fault.seed' must be in 0..9223372036854775807 (got -1)" },
	{ "fault-reorder-us.conf", 5, "'fault.rx.reorder_us' must be in 1..1000000 (got 0)" },
	{ "fault-queue-mbufs.conf", 8, "fault queues can hold 12288 frames" },
	{ "fault-group-type.conf", 3, "'rx' must be a group" },
	/* the pre-scan (before libconfig): bounds, text, @include, integers */
	{ "include-dir.conf", 2, "@include is not supported" },
	{ "include-file.conf", 2, "@include is not supported" },
	{ "number-huge.conf", 3, "'memory.mbufs' must be in 1024..16777216 (got 99999999999999999999999999)" },
	{ "number-wraps.conf", 2, "'memory.mbufs' must be in 1024..16777216 (got 4294968320)" },
	{ "number-needs-l.conf", 3, "'fault.seed' = 8589934597 needs an L suffix" },
	{ "number-hex.conf", 2, "'lcores.engines[1]' must be in 0..1023 (got 0x100000000)" },
	{ "string-long.conf", 2, "string longer than 1024 bytes" },
	{ "nested-deep.conf", 2, "nested deeper than 16 levels" },
	{ "control-byte.conf", 2, "control character 0x01" },
	{ "bad-utf8.conf", 2, "invalid UTF-8 (byte 0xc3)" },
	{ "value-non-ascii.conf", 2, "'instance' must be printable ASCII (byte 0xc3 at offset 3)" },
	{ "line-long.conf", 2, "line is longer than 4096 bytes" },
	{ "too-many-items.conf", 2, "more than 2048 settings and list elements" },
};

static void test_bad_files(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct mn_config c;
		char err[MN_CFG_ERR_LEN], path[1024], prefix[1100];
		int r = load("bad", b->file, &c, err, sizeof(err));
		bool ok_prefix, ok_phrase;

		path_in(path, sizeof(path), data_dir, "bad", b->file);
		if (b->line > 0)
			snprintf(prefix, sizeof(prefix), "%s:%d: ", path, b->line);
		else
			snprintf(prefix, sizeof(prefix), "%s: ", path);
		ok_prefix = strncmp(err, prefix, strlen(prefix)) == 0;
		ok_phrase = strstr(err, b->phrase) != NULL;
		if (r != -EINVAL || !ok_prefix || !ok_phrase)
			fprintf(stderr, "\n  %s: r=%d, want line %d and \"%s\"\n  got \"%s\"\n",
				b->file, r, b->line, b->phrase, err);
		CU_ASSERT_EQUAL(r, -EINVAL);
		CU_ASSERT_TRUE(ok_prefix);
		CU_ASSERT_TRUE(ok_phrase);
	}
}

/* Every file in data/bad must have a row above, so none goes untested. */
static void test_bad_files_all_listed(void)
{
	char dir[1024];
	DIR *d = opendir(path_in(dir, sizeof(dir), data_dir, "", "bad"));
	struct dirent *e;
	int files = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		bool listed = false;

		if (n < 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		files++;
		for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
			if (strcmp(bad_cases[i].file, e->d_name) == 0)
				listed = true;
		if (!listed)
			fprintf(stderr, "\n  data/bad/%s has no expected error\n", e->d_name);
		CU_ASSERT_TRUE(listed);
	}
	closedir(d);
	CU_ASSERT_EQUAL(files, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
}

static void test_missing_file(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];

	CU_ASSERT_EQUAL(load("good", "does-not-exist.conf", &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does-not-exist.conf: cannot read"));
	/* A directory opens but is not a config. */
	CU_ASSERT_EQUAL(load("", "good", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
	/* Errors are still reported (as codes) without an err buffer. */
	CU_ASSERT_EQUAL(load("bad", "syntax.conf", &c, NULL, 0), -EINVAL);
}

/* An empty file parses but lacks interfaces; unreadable is -EACCES. */
static void test_empty_and_unreadable_file(void)
{
	char path[] = "/tmp/mn_config_test_XXXXXX";
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];
	int fd = mkstemp(path);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(mn_config_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ": missing required key 'interfaces'"));
	CU_ASSERT_EQUAL(chmod(path, 0), 0);
	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(mn_config_load(path, &c, err, sizeof(err)), -EACCES);
	} else {
		fprintf(stderr, "(root reads mode-0 files: -EACCES not checked) ");
	}
	unlink(path);
}

/* Every shipped example (conf/ *.conf) must load: the docs point at them. */
static void test_conf_examples(void)
{
	DIR *d = opendir(conf_dir);
	struct dirent *e;
	int n = 0;
	bool seen_a = false, seen_b = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct mn_config c;
		char err[MN_CFG_ERR_LEN], p[1024];
		int r;

		if (len < 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		r = mn_config_load(path_in(p, sizeof(p), conf_dir, "", e->d_name), &c, err, sizeof(err));
		if (r)
			fprintf(stderr, "\n  %s\n", err);
		CU_ASSERT_EQUAL(r, 0);
		n++;
		if (strcmp(e->d_name, "mn-a.conf") == 0)
			seen_a = r == 0 && strcmp(c.instance, "mn-a") == 0 &&
				 c.ifaces[0].ip == IP(198, 18, 0, 1);
		if (strcmp(e->d_name, "mn-b.conf") == 0)
			seen_b = r == 0 && strcmp(c.instance, "mn-b") == 0 &&
				 c.ifaces[0].ip == IP(198, 18, 0, 2);
	}
	closedir(d);
	CU_ASSERT(n >= 4);
	CU_ASSERT_TRUE(seen_a);
	CU_ASSERT_TRUE(seen_b);
}

static int find_arg(char **argv, int argc, const char *s)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], s) == 0)
			return i;
	return -1;
}

static void test_eal_memif(void)
{
	static const char *const want[] = {
		"machnetd", "--proc-type=primary", "--file-prefix=mn-a", "--lcores=0@0,1@0",
		"-m", "512", "--iova-mode=va",
		"--vdev=net_memif0,role=server,socket=/run/machnet/mn-a.sock,socket-abstract=no",
		"--no-pci",
	};
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], p[1024], buf[2048];
	char *argv[MN_CFG_MAX_EAL_ARGS + 32];
	int argc;

	CU_ASSERT_EQUAL_FATAL(mn_config_load(path_in(p, sizeof(p), conf_dir, "", "mn-a.conf"),
					     &c, err, sizeof(err)), 0);
	argc = mn_config_eal_argv(&c, buf, sizeof(buf), argv, (int)(sizeof(argv) / sizeof(argv[0])));
	CU_ASSERT_EQUAL_FATAL(argc, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < argc; i++)
		CU_ASSERT_STRING_EQUAL(argv[i], want[i]);
	CU_ASSERT_PTR_NULL(argv[argc]);
}

static void test_eal_pci_and_extras(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], buf[2048];
	char *argv[MN_CFG_MAX_EAL_ARGS + 32];
	int argc, a;

	CU_ASSERT_EQUAL_FATAL(load("good", "full.conf", &c, err, sizeof(err)), 0);
	argc = mn_config_eal_argv(&c, buf, sizeof(buf), argv, (int)(sizeof(argv) / sizeof(argv[0])));
	CU_ASSERT_FATAL(argc > 4);
	CU_ASSERT_EQUAL(find_arg(argv, argc, "--no-pci"), -1);
	a = find_arg(argv, argc, "-a");
	CU_ASSERT_FATAL(a > 0 && a + 1 < argc);
	CU_ASSERT_STRING_EQUAL(argv[a + 1], "0000:3b:00.1");
	CU_ASSERT(find_arg(argv, argc, "--lcores=0@3,1@5,2@3,3@7") > 0);
	CU_ASSERT(find_arg(argv, argc, "--file-prefix=full_1-x") > 0);
	CU_ASSERT(find_arg(argv, argc, "--proc-type=primary") > 0);
	CU_ASSERT(find_arg(argv, argc, "--vdev=net_memif3,role=client,socket=/run/machnet/x.sock,"
			   "socket-abstract=no") > 0);
	a = find_arg(argv, argc, "-m");
	CU_ASSERT_FATAL(a > 0 && a + 1 < argc);
	CU_ASSERT_STRING_EQUAL(argv[a + 1], "256");
	/* log level, then the file's extra args, in order, at the end */
	CU_ASSERT_STRING_EQUAL(argv[argc - 3], "--log-level=pmd.net.memif:debug");
	CU_ASSERT_STRING_EQUAL(argv[argc - 2], "--huge-dir=/dev/hugepages");
	CU_ASSERT_STRING_EQUAL(argv[argc - 1], "--single-file-segments");
	CU_ASSERT_PTR_NULL(argv[argc]);
}

static void test_eal_shipped_pci(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], p[1024], buf[2048];
	char *argv[64];
	int argc, a;

	CU_ASSERT_EQUAL_FATAL(mn_config_load(path_in(p, sizeof(p), conf_dir, "", "pci-nic.conf"),
					     &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.idle, MN_IDLE_BUSY);
	argc = mn_config_eal_argv(&c, buf, sizeof(buf), argv, 64);
	CU_ASSERT_FATAL(argc > 0);
	CU_ASSERT_EQUAL(find_arg(argv, argc, "--no-pci"), -1);
	a = find_arg(argv, argc, "-a");
	CU_ASSERT_FATAL(a > 0 && a + 1 < argc);
	CU_ASSERT_STRING_EQUAL(argv[a + 1], "0000:3b:00.0");
}

static void test_eal_by_mac(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], buf[2048];
	char *argv[64];
	int argc;

	CU_ASSERT_EQUAL_FATAL(load("good", "by-mac.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(mn_cfg_iface_by_mac(&c.ifaces[0]));
	CU_ASSERT_FALSE(mn_cfg_iface_by_mac(&c.ifaces[1]));
	argc = mn_config_eal_argv(&c, buf, sizeof(buf), argv, 64);
	CU_ASSERT_FATAL(argc > 0);
	/* all PCI devices must be probed to find the port with that MAC */
	CU_ASSERT_EQUAL(find_arg(argv, argc, "--no-pci"), -1);
	CU_ASSERT_EQUAL(find_arg(argv, argc, "-a"), -1);
	CU_ASSERT(find_arg(argv, argc, "--vdev=net_memif0,socket=/run/machnet/m.sock,socket-abstract=no") > 0);
}

static void test_eal_limits(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], buf[2048];
	char *argv[64];
	int full;

	CU_ASSERT_EQUAL_FATAL(load("good", "full.conf", &c, err, sizeof(err)), 0);
	full = mn_config_eal_argv(&c, buf, sizeof(buf), argv, 64);
	CU_ASSERT_FATAL(full > 0);
	/* argv needs argc + 1 slots (NULL terminator) */
	CU_ASSERT_EQUAL(mn_config_eal_argv(&c, buf, sizeof(buf), argv, full), -E2BIG);
	CU_ASSERT_EQUAL(mn_config_eal_argv(&c, buf, sizeof(buf), argv, full + 1), full);
	CU_ASSERT_EQUAL(mn_config_eal_argv(&c, buf, 64, argv, 64), -ENOSPC);
	CU_ASSERT_EQUAL(mn_config_eal_argv(NULL, buf, sizeof(buf), argv, 64), -EINVAL);
}

/* Every prefix of a valid file (cut mid-token, mid-string, mid-group) must
 * load or fail cleanly with a located message: no crash, no partial success
 * hidden behind an empty message. Run under ASan/UBSan this is a small fuzz. */
static void test_truncated_files(void)
{
	char src[1024], path[] = "/tmp/mn_config_trunc_XXXXXX";
	static char text[8192];
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];
	size_t len;
	FILE *f;
	int fd, ok = 0, bad = 0;

	f = fopen(path_in(src, sizeof(src), data_dir, "good", "full.conf"), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	CU_ASSERT_FATAL(len > 100 && len < sizeof(text));
	fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	for (size_t n = 0; n <= len; n++) {
		int r;

		f = fopen(path, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(fwrite(text, 1, n, f), n);
		fclose(f);
		r = mn_config_load(path, &c, err, sizeof(err));
		if (r == 0) {
			ok++;
			CU_ASSERT_EQUAL(c.n_ifaces, 2);
		} else {
			bad++;
			CU_ASSERT_EQUAL(r, -EINVAL);
			CU_ASSERT_EQUAL(strncmp(err, path, strlen(path)), 0);
			CU_ASSERT(strlen(err) > strlen(path) + 2);
		}
	}
	unlink(path);
	/* the whole file, and prefixes that only drop trailing sections, load */
	CU_ASSERT(ok >= 1);
	CU_ASSERT(bad >= 1);
}

/* A file over the size limit is refused before it is parsed, and a FIFO is
 * refused without waiting for a writer. */
static void test_size_and_fifo(void)
{
	char path[] = "/tmp/mn_config_big_XXXXXX";
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];
	int fd = mkstemp(path);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 256 * 1024 + 1), 0);
	close(fd);
	CU_ASSERT_EQUAL(mn_config_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ": is 262145 bytes, more than the 262144 a config file may have"));
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	CU_ASSERT_EQUAL(mn_config_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ": not a regular file"));
	unlink(path);
}

/* --check -v prints every key's effective value after the summary. */
static void test_print_every_key(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], out[8192];

	CU_ASSERT_EQUAL_FATAL(load("good", "minimal.conf", &c, err, sizeof(err)), 0);
	print_config(&c, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    instance = \"mn0\";\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    memory.mbufs = 65535;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    interfaces[0].mtu = 1500;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    transport.cc = \"auto\";\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    lcores.engines[0] = 1;\n"));
	CU_ASSERT_EQUAL_FATAL(load("good", "fault.conf", &c, err, sizeof(err)), 0);
	print_config(&c, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    fault.seed = 8589934597L;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "    fault.rx.keep_order = true;\n"));
}

static void test_print(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN], out[4096];

	CU_ASSERT_EQUAL_FATAL(load("good", "full.conf", &c, err, sizeof(err)), 0);
	print_config(&c, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "full_1-x"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "198.19.4.20/28 via 198.19.4.17"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "02:ab:cd:00:00:09"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pci 0000:3b:00.1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "idle sleep"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not before 1000 us after work"));
	CU_ASSERT_PTR_NULL(strstr(out, "fault"));	/* only when enabled */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "channel ring 65536"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "connect timeout 500 ms, keepalive 3600000 ms, ack delay 50 us\n"));
	CU_ASSERT_EQUAL_FATAL(load("good", "keepalive-off.conf", &c, err, sizeof(err)), 0);
	print_config(&c, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "keepalive off, ack delay 50 us\n"));
	CU_ASSERT_EQUAL_FATAL(load("good", "ack-delay.conf", &c, err, sizeof(err)), 0);
	print_config(&c, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ack delay 30 us\n"));
}

/* ack_delay_us: 50 by default; a min_rto_us below twice that pulls the
 * default down to half of it (a held ACK must never look like a loss), while
 * an explicit value above half is an error (data/bad/ack-delay-rto.conf). */
static void test_ack_delay(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(load("good", "minimal.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.ack_delay_us, 50);
	CU_ASSERT_EQUAL_FATAL(load("good", "ack-delay.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.min_rto_us, 60);
	CU_ASSERT_EQUAL(c.ack_delay_us, 30);
}

/* keepalive_ms: 0 (the bottom of the range) turns it off, and nothing else
 * in the group changes. */
static void test_keepalive_off(void)
{
	struct mn_config c;
	char err[MN_CFG_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(load("good", "keepalive-off.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.keepalive_ms, 0);
	CU_ASSERT_EQUAL(c.max_retries, 8);
	CU_ASSERT_EQUAL(c.min_rto_us, 1000);
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "defaults struct", test_defaults_struct },
		{ "minimal file gets every default", test_minimal_file },
		{ "empty groups get every default", test_empty_groups_file },
		{ "every key of a full file", test_full_file },
		{ "fault group (test-only)", test_fault_file },
		{ "bad files: line and message", test_bad_files },
		{ "every bad file has an expectation", test_bad_files_all_listed },
		{ "missing file", test_missing_file },
		{ "empty and unreadable file", test_empty_and_unreadable_file },
		{ "conf/ examples load", test_conf_examples },
		{ "EAL argv for memif", test_eal_memif },
		{ "EAL argv for PCI, log level, extra args", test_eal_pci_and_extras },
		{ "EAL argv for conf/pci-nic.conf", test_eal_shipped_pci },
		{ "EAL argv for a port chosen by MAC", test_eal_by_mac },
		{ "EAL argv buffer limits", test_eal_limits },
		{ "truncated files fail cleanly", test_truncated_files },
		{ "keepalive_ms 0 turns keepalive off", test_keepalive_off },
		{ "ack_delay_us default and limit", test_ack_delay },
		{ "print", test_print },
		{ "print every key", test_print_every_key },
		{ "size limit and FIFO", test_size_and_fifo },
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s DATA_DIR CONF_DIR\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	conf_dir = argv[2];
	return mn_cu_run("config", tests, sizeof(tests) / sizeof(tests[0]));
}
