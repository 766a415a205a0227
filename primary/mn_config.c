/* mn_config: libconfig reader and validator for machnetd (see mn_config.h and
 * docs/CONFIG.md). Everything here runs before EAL, so it must not depend on
 * DPDK; the DPDK limits it enforces are restated as constants below.
 */
#include "mn_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

/* DPDK 22.11 facts restated, so the parser needs no DPDK headers. */
#define MN_PKTMBUF_HEADROOM	128	/* RTE_PKTMBUF_HEADROOM */
#define MN_ETH_HDR_LEN		14
#define MN_MEMPOOL_CACHE_MAX	512	/* RTE_MEMPOOL_CACHE_MAX_SIZE */
/* Per-mbuf cost beyond the data room: struct rte_mbuf (128 B) plus the mempool
 * object header and alignment; used only for the "does the pool fit" check. */
#define MN_MBUF_OVERHEAD	192

struct ctx {
	const char *path;
	char *err;
	size_t errlen;
	struct mn_config *cfg;
};

/* Lines of settings that cross-field checks point at (0 = not in the file). */
struct lines {
	int memory;
	int mbufs;
	int mbuf_data_size;
	int hugepage_mb;
	int min_rto;
	int max_rto;
	int ack_delay;
	int mtu[MN_CFG_MAX_IFACES];
	int fault_queue[2];	/* rx, tx */
};

static int vfail(struct ctx *c, const config_setting_t *s, int line, const char *fmt, va_list ap)
{
	const char *file = c->path;
	size_t n;
	int r;

	if (s && config_setting_source_file(s))
		file = config_setting_source_file(s);
	if (!c->err || c->errlen == 0)
		return -EINVAL;
	if (line > 0)
		r = snprintf(c->err, c->errlen, "%s:%d: ", file, line);
	else
		r = snprintf(c->err, c->errlen, "%s: ", file);
	n = r < 0 ? 0 : (size_t)r;
	if (n < c->errlen)
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	return -EINVAL;
}

/* Reports an error at setting s (its file and line). */
__attribute__((format(printf, 3, 4)))
static int fail_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, s, s ? (int)config_setting_source_line(s) : 0, fmt, ap);
	va_end(ap);
	return r;
}

/* Reports an error at an explicit line (cross-field checks). */
__attribute__((format(printf, 3, 4)))
static int fail_line(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, NULL, line, fmt, ap);
	va_end(ap);
	return r;
}

static int line_of(const config_setting_t *s)
{
	return s ? (int)config_setting_source_line(s) : 0;
}

/* "memory" + "mbufs" -> "memory.mbufs"; top level has an empty prefix. */
static const char *qual(char *buf, size_t len, const char *where, const char *key)
{
	if (where[0])
		snprintf(buf, len, "%s.%s", where, key);
	else
		snprintf(buf, len, "%s", key);
	return buf;
}

static int check_keys(struct ctx *c, const config_setting_t *grp, const char *where,
		      const char *const *known)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(m);
		char list[512];
		size_t off = 0;
		bool ok = false;

		for (const char *const *k = known; *k; k++)
			if (name && strcmp(name, *k) == 0)
				ok = true;
		if (ok)
			continue;
		list[0] = '\0';
		for (const char *const *k = known; *k && off < sizeof(list); k++) {
			int r = snprintf(list + off, sizeof(list) - off, "%s%s",
					 k == known ? "" : ", ", *k);
			if (r < 0)
				break;
			off += (size_t)r;
		}
		return fail_at(c, m, "unknown key '%s' in %s (expected one of: %s)",
			       name ? name : "?", where[0] ? where : "top level", list);
	}
	return 0;
}

/* Fetches group member key as a group; *out is NULL when absent. */
static int get_group(struct ctx *c, const config_setting_t *parent, const char *key,
		     config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(parent, key);

	*out = NULL;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail_at(c, s, "'%s' must be a group: %s = { ... };", key, key);
	*out = s;
	return 0;
}

static bool is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

/* Integer member in [lo, hi]; untouched *out when absent. Sets *line. */
static int get_int(struct ctx *c, const config_setting_t *grp, const char *where,
		   const char *key, int64_t lo, int64_t hi, int64_t *out, int *line)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char q[96];
	int64_t v;

	if (line)
		*line = 0;
	if (!s)
		return 0;
	qual(q, sizeof(q), where, key);
	if (!is_int(s))
		return fail_at(c, s, "'%s' must be an integer", q);
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return fail_at(c, s, "'%s' must be in %" PRId64 "..%" PRId64 " (got %" PRId64 ")",
			       q, lo, hi, v);
	*out = v;
	if (line)
		*line = line_of(s);
	return 0;
}

static int get_u32(struct ctx *c, const config_setting_t *grp, const char *where,
		   const char *key, int64_t lo, int64_t hi, uint32_t *out, int *line)
{
	int64_t v = *out;
	int r = get_int(c, grp, where, key, lo, hi, &v, line);

	if (r == 0)
		*out = (uint32_t)v;
	return r;
}

/* String member; *found tells whether it was present. */
static int get_str(struct ctx *c, const config_setting_t *grp, const char *where,
		   const char *key, char *dst, size_t dstlen, config_setting_t **found)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	const char *v;
	char q[96];

	if (found)
		*found = NULL;
	if (!s)
		return 0;
	qual(q, sizeof(q), where, key);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "'%s' must be a string (in double quotes)", q);
	v = config_setting_get_string(s);
	if (strlen(v) >= dstlen)
		return fail_at(c, s, "'%s' is too long (at most %zu characters)", q, dstlen - 1);
	memcpy(dst, v, strlen(v) + 1);
	if (found)
		*found = s;
	return 0;
}

static int get_bool(struct ctx *c, const config_setting_t *grp, const char *where,
		    const char *key, bool *out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char q[96];

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail_at(c, s, "'%s' must be true or false", qual(q, sizeof(q), where, key));
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* Strict dotted quad (inet_pton), optionally followed by "/len". */
static int parse_ipv4(const char *s, uint32_t *ip, int *prefix)
{
	char tmp[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	*prefix = -1;
	if (slash) {
		const char *p = slash + 1;
		int v = 0;

		if (!*p || strlen(p) > 2)
			return -1;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			v = v * 10 + (*p - '0');
		}
		if (v > 32)
			return -1;
		*prefix = v;
	}
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "02:00:00:00:00:01" (':' or '-' separated, two hex digits each). */
static int parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		if (i < 5 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-')
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* PCI address as EAL takes it: [DDDD:]BB:DD.F, device <= 0x1f, function <= 7. */
static bool valid_pci(const char *s)
{
	size_t n = strlen(s);

	if (n == 12) {
		if (!all_hex(s, 4) || s[4] != ':')
			return false;
		s += 5;
		n -= 5;
	}
	if (n != 7 || !all_hex(s, 2) || s[2] != ':' || !all_hex(s + 3, 2) || s[5] != '.')
		return false;
	if (hexval(s[3]) * 16 + hexval(s[4]) > 0x1f)
		return false;
	return s[6] >= '0' && s[6] <= '7';
}

/* Rewrites a valid address as DDDD:BB:DD.F in lower case: the form EAL names
 * the ethdev by (rte_eth_dev_get_port_by_name), and one spelling per device
 * so duplicates are caught. */
static void normalize_pci(char *pci, size_t len)
{
	char tmp[MN_CFG_NAME_LEN];

	snprintf(tmp, sizeof(tmp), "%s%s", strlen(pci) == 7 ? "0000:" : "", pci);
	for (char *p = tmp; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(pci, len, "%s", tmp);
}

/* A vdev argument: "<driver><n>[,key=value...]" with no whitespace. Returns the
 * length of the device-name part, or 0 when malformed. */
static size_t vdev_name_len(const char *s)
{
	size_t n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (n == 0 || (s[n] != '\0' && s[n] != ','))
		return 0;
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p))
			return 0;
	return n;
}

static uint32_t prefix_mask(unsigned len)
{
	return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

static const char *ip_str(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

/* mn_fault_params_default() restated: the parser links no injector code. */
static void fault_dir_defaults(struct mn_fault_params *p)
{
	memset(p, 0, sizeof(*p));
	p->reorder_us = 100;
	p->corrupt_min_off = MN_FAULT_ETH_HDR_LEN;
	p->corrupt_max_off = UINT16_MAX;
	p->queue = MN_FAULT_QUEUE_DEFAULT;
}

void mn_config_defaults(struct mn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->instance, sizeof(cfg->instance), "mn0");
	cfg->main_cpu = 0;
	cfg->n_engines = 1;
	cfg->engine_cpus[0] = 1;
	cfg->mbufs = 65535;
	cfg->mbuf_cache = 256;
	cfg->mbuf_data_size = 2048 + MN_PKTMBUF_HEADROOM;
	cfg->hugepage_mb = 1024;
	cfg->min_rto_us = 1000;
	cfg->max_rto_us = 1000000;
	cfg->max_retries = 8;
	cfg->window = 32;
	cfg->cc = MN_CC_AUTO;
	cfg->target_delay_us = 50;
	cfg->connect_timeout_ms = 3000;
	cfg->keepalive_ms = 1000;
	cfg->ack_delay_us = 50;
	cfg->idle = MN_IDLE_YIELD;
	cfg->idle_polls = 256;
	cfg->idle_sleep_us = 50;
	cfg->spin_us = 0;
	cfg->arp_timeout_s = 300;
	cfg->max_apps = 64;
	cfg->channel_ring = 1024;
	cfg->fault.seed = 1;
	fault_dir_defaults(&cfg->fault.rx);
	fault_dir_defaults(&cfg->fault.tx);
}

static int parse_instance(struct ctx *c, const config_setting_t *root)
{
	config_setting_t *s;
	char buf[MN_CFG_STR_LEN];
	int r;

	buf[0] = '\0';
	r = get_str(c, root, "", "instance", buf, sizeof(buf), &s);
	if (r || !s)
		return r;
	if (buf[0] == '\0' || strlen(buf) >= MN_CFG_NAME_LEN)
		goto bad;
	for (const char *p = buf; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			goto bad;
	memcpy(c->cfg->instance, buf, strlen(buf) + 1);
	return 0;
bad:
	return fail_at(c, s, "'instance' must be 1..%d characters of [A-Za-z0-9_-] (got \"%s\")",
		       MN_CFG_NAME_LEN - 1, buf);
}

static int parse_lcores(struct ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "main", "engines", NULL };
	struct mn_config *cfg = c->cfg;
	config_setting_t *g, *e;
	int64_t v = cfg->main_cpu;
	int r, n;

	if ((r = get_group(c, root, "lcores", &g)) || !g)
		return r;
	if ((r = check_keys(c, g, "lcores", keys)))
		return r;
	if ((r = get_int(c, g, "lcores", "main", 0, CPU_SETSIZE - 1, &v, NULL)))
		return r;
	cfg->main_cpu = (unsigned)v;
	e = config_setting_get_member(g, "engines");
	if (!e)
		return 0;
	if (config_setting_type(e) != CONFIG_TYPE_ARRAY && config_setting_type(e) != CONFIG_TYPE_LIST)
		return fail_at(c, e, "'lcores.engines' must be an array of CPU numbers: engines = [1, 2];");
	n = config_setting_length(e);
	if (n < 1 || n > MN_CFG_MAX_ENGINES)
		return fail_at(c, e, "'lcores.engines' must list 1..%d CPUs (got %d)",
			       MN_CFG_MAX_ENGINES, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *x = config_setting_get_elem(e, (unsigned)i);
		int64_t cpu;

		if (!is_int(x))
			return fail_at(c, x, "'lcores.engines[%d]' must be an integer CPU number", i);
		cpu = config_setting_get_int64(x);
		if (cpu < 0 || cpu >= CPU_SETSIZE)
			return fail_at(c, x, "'lcores.engines[%d]' must be in 0..%d (got %" PRId64 ")",
				       i, CPU_SETSIZE - 1, cpu);
		for (int j = 0; j < i; j++)
			if (cfg->engine_cpus[j] == (unsigned)cpu)
				return fail_at(c, x, "duplicate lcore: CPU %" PRId64
					       " is already engine %d's (two engines cannot share a CPU)",
					       cpu, j);
		cfg->engine_cpus[i] = (unsigned)cpu;
	}
	cfg->n_engines = (unsigned)n;
	return 0;
}

static int parse_memory(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	static const char *const keys[] = { "mbufs", "mbuf_cache", "mbuf_data_size", "hugepage_mb", NULL };
	struct mn_config *cfg = c->cfg;
	config_setting_t *g;
	int r;

	if ((r = get_group(c, root, "memory", &g)) || !g)
		return r;
	ln->memory = line_of(g);
	if ((r = check_keys(c, g, "memory", keys)) ||
	    (r = get_u32(c, g, "memory", "mbufs", 1024, 1 << 24, &cfg->mbufs, &ln->mbufs)) ||
	    (r = get_u32(c, g, "memory", "mbuf_cache", 0, MN_MEMPOOL_CACHE_MAX,
			 &cfg->mbuf_cache, NULL)) ||
	    (r = get_u32(c, g, "memory", "mbuf_data_size", 256, UINT16_MAX,
			 &cfg->mbuf_data_size, &ln->mbuf_data_size)) ||
	    (r = get_u32(c, g, "memory", "hugepage_mb", 64, 1 << 20,
			 &cfg->hugepage_mb, &ln->hugepage_mb)))
		return r;
	return 0;
}

static int parse_one_iface(struct ctx *c, const config_setting_t *g, unsigned idx,
			   struct lines *ln)
{
	static const char *const keys[] = { "name", "device", "pci", "mac", "ip", "prefix_len",
					    "gateway", "mtu", "rx_checksum", NULL };
	struct mn_cfg_iface *ifc = &c->cfg->ifaces[idx];
	config_setting_t *s_name, *s_dev, *s_pci, *s_mac, *s_ip, *s_gw;
	char where[32], buf[MN_CFG_STR_LEN];
	int64_t v;
	int r, pl_line, ip_prefix = -1;

	snprintf(where, sizeof(where), "interfaces[%u]", idx);
	memset(ifc, 0, sizeof(*ifc));
	ifc->line = line_of(g);
	ifc->prefix_len = 24;
	ifc->mtu = 1500;
	ifc->rx_checksum = true;
	snprintf(ifc->name, sizeof(ifc->name), "link%u", idx);

	if ((r = check_keys(c, g, where, keys)))
		return r;
	if ((r = get_str(c, g, where, "name", ifc->name, sizeof(ifc->name), &s_name)))
		return r;
	if (s_name) {
		if (ifc->name[0] == '\0')
			return fail_at(c, s_name, "'%s.name' must not be empty", where);
		for (const char *p = ifc->name; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
				return fail_at(c, s_name, "'%s.name' must be [A-Za-z0-9_-] (got \"%s\")",
					       where, ifc->name);
	}
	if ((r = get_str(c, g, where, "device", ifc->device, sizeof(ifc->device), &s_dev)))
		return r;
	if (ifc->device[0] && vdev_name_len(ifc->device) == 0)
		return fail_at(c, s_dev, "'%s.device' must be a DPDK vdev argument such as "
			       "\"net_memif0,role=server,socket=/run/machnet/x.sock,socket-abstract=no\" "
			       "(got \"%s\")", where, ifc->device);
	if ((r = get_str(c, g, where, "pci", ifc->pci, sizeof(ifc->pci), &s_pci)))
		return r;
	if (ifc->pci[0] && !valid_pci(ifc->pci))
		return fail_at(c, s_pci, "'%s.pci' must be a PCI address DDDD:BB:DD.F or BB:DD.F (got \"%s\")",
			       where, ifc->pci);
	if (ifc->pci[0])
		normalize_pci(ifc->pci, sizeof(ifc->pci));
	if (ifc->device[0] && ifc->pci[0])
		return fail_at(c, s_pci, "%s: set either 'device' (a vdev) or 'pci', not both", where);

	buf[0] = '\0';
	if ((r = get_str(c, g, where, "mac", buf, sizeof(buf), &s_mac)))
		return r;
	if (s_mac && buf[0]) {
		if (parse_mac(buf, ifc->mac))
			return fail_at(c, s_mac, "'%s.mac' must be a MAC address like 02:00:00:00:00:01 (got \"%s\")",
				       where, buf);
		if (ifc->mac[0] & 1)
			return fail_at(c, s_mac, "'%s.mac' must be a unicast address (got multicast \"%s\")",
				       where, buf);
		if (!(ifc->mac[0] | ifc->mac[1] | ifc->mac[2] | ifc->mac[3] | ifc->mac[4] | ifc->mac[5]))
			return fail_at(c, s_mac, "'%s.mac' must not be all zeros", where);
		ifc->has_mac = true;
	}
	if (!ifc->device[0] && !ifc->pci[0] && !ifc->has_mac)
		return fail_at(c, g, "%s: needs 'device' (a vdev), 'pci', or 'mac' (to pick a PCI port by MAC)",
			       where);

	buf[0] = '\0';
	if ((r = get_str(c, g, where, "ip", buf, sizeof(buf), &s_ip)))
		return r;
	if (!s_ip)
		return fail_at(c, g, "%s: missing required key 'ip'", where);
	if (parse_ipv4(buf, &ifc->ip, &ip_prefix))
		return fail_at(c, s_ip, "'%s.ip' must be an IPv4 address like 198.18.0.1 or 198.18.0.1/24 (got \"%s\")",
			       where, buf);
	if (ifc->ip == 0 || ifc->ip >> 28 == 0xe || ifc->ip >> 28 == 0xf || ifc->ip >> 24 == 127)
		return fail_at(c, s_ip, "'%s.ip' must be a unicast host address (got \"%s\")", where, buf);

	v = ifc->prefix_len;
	if ((r = get_int(c, g, where, "prefix_len", 0, 32, &v, &pl_line)))
		return r;
	if (pl_line && ip_prefix >= 0)
		return fail_line(c, pl_line, "%s: prefix given twice (in 'ip' as /%d and in 'prefix_len')",
				 where, ip_prefix);
	ifc->prefix_len = (uint8_t)(ip_prefix >= 0 ? ip_prefix : v);
	if (ifc->prefix_len <= 30) {
		uint32_t m = prefix_mask(ifc->prefix_len);

		if ((ifc->ip & ~m) == 0 || (ifc->ip & ~m) == ~m)
			return fail_at(c, s_ip, "'%s.ip' %s is the network or broadcast address of its /%u subnet",
				       where, buf, ifc->prefix_len);
	}

	buf[0] = '\0';
	if ((r = get_str(c, g, where, "gateway", buf, sizeof(buf), &s_gw)))
		return r;
	if (s_gw && buf[0]) {
		uint32_t m = prefix_mask(ifc->prefix_len);
		int gp;
		char a[16];

		if (parse_ipv4(buf, &ifc->gateway, &gp) || gp >= 0 || ifc->gateway == 0)
			return fail_at(c, s_gw, "'%s.gateway' must be an IPv4 address or \"\" (got \"%s\")",
				       where, buf);
		if ((ifc->gateway & m) != (ifc->ip & m) || ifc->gateway == ifc->ip)
			return fail_at(c, s_gw, "'%s.gateway' %s is not another host in the interface's subnet %s/%u",
				       where, buf, ip_str(ifc->ip & m, a, sizeof(a)), ifc->prefix_len);
	}

	v = ifc->mtu;
	if ((r = get_int(c, g, where, "mtu", 576, 9000, &v, &ln->mtu[idx])))
		return r;
	ifc->mtu = (uint16_t)v;
	return get_bool(c, g, where, "rx_checksum", &ifc->rx_checksum);
}

static int parse_interfaces(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	struct mn_config *cfg = c->cfg;
	config_setting_t *l = config_setting_get_member(root, "interfaces");
	int n, r;

	if (!l)
		return fail_line(c, 0, "missing required key 'interfaces' (a list of at least one interface)");
	if (config_setting_type(l) != CONFIG_TYPE_LIST)
		return fail_at(c, l, "'interfaces' must be a list of groups: interfaces = ( { ... } );");
	n = config_setting_length(l);
	if (n < 1 || n > MN_CFG_MAX_IFACES)
		return fail_at(c, l, "'interfaces' must hold 1..%d interfaces (got %d)", MN_CFG_MAX_IFACES, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		const struct mn_cfg_iface *a = &cfg->ifaces[i];

		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return fail_at(c, g, "'interfaces[%d]' must be a group { name = ...; ip = ...; }", i);
		if ((r = parse_one_iface(c, g, (unsigned)i, ln)))
			return r;
		for (int j = 0; j < i; j++) {
			const struct mn_cfg_iface *b = &cfg->ifaces[j];
			size_t la = vdev_name_len(a->device), lb = vdev_name_len(b->device);
			char s[16];

			if (strcmp(a->name, b->name) == 0)
				return fail_line(c, a->line, "interfaces[%d]: duplicate interface name '%s' (also interfaces[%d])",
						 i, a->name, j);
			if (a->ip == b->ip)
				return fail_line(c, a->line, "interfaces[%d]: duplicate ip %s (also interfaces[%d])",
						 i, ip_str(a->ip, s, sizeof(s)), j);
			if (la && la == lb && memcmp(a->device, b->device, la) == 0)
				return fail_line(c, a->line, "interfaces[%d]: duplicate vdev name '%.*s' (also interfaces[%d])",
						 i, (int)la, a->device, j);
			if (a->pci[0] && strcmp(a->pci, b->pci) == 0)
				return fail_line(c, a->line, "interfaces[%d]: duplicate pci %s (also interfaces[%d])",
						 i, a->pci, j);
			if (a->has_mac && b->has_mac && memcmp(a->mac, b->mac, 6) == 0)
				return fail_line(c, a->line, "interfaces[%d]: duplicate mac (also interfaces[%d])", i, j);
		}
	}
	cfg->n_ifaces = (unsigned)n;
	return 0;
}

static int parse_transport(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	static const char *const keys[] = { "min_rto_us", "max_rto_us", "max_retries", "window", "cc",
					    "target_delay_us", "connect_timeout_ms", "keepalive_ms",
					    "ack_delay_us", NULL };
	struct mn_config *cfg = c->cfg;
	config_setting_t *g, *s;
	char cc[MN_CFG_NAME_LEN];
	int r;

	if ((r = get_group(c, root, "transport", &g)) || !g)
		return r;
	if ((r = check_keys(c, g, "transport", keys)) ||
	    (r = get_u32(c, g, "transport", "min_rto_us", 1, 60000000, &cfg->min_rto_us, &ln->min_rto)) ||
	    (r = get_u32(c, g, "transport", "max_rto_us", 1, 60000000, &cfg->max_rto_us, &ln->max_rto)) ||
	    (r = get_u32(c, g, "transport", "max_retries", 1, 64, &cfg->max_retries, NULL)) ||
	    (r = get_u32(c, g, "transport", "window", 1, 256, &cfg->window, NULL)) ||
	    (r = get_u32(c, g, "transport", "target_delay_us", 1, 1000000, &cfg->target_delay_us, NULL)) ||
	    (r = get_u32(c, g, "transport", "connect_timeout_ms", 1, 600000,
			 &cfg->connect_timeout_ms, NULL)) ||
	    (r = get_u32(c, g, "transport", "keepalive_ms", 0, 3600000, &cfg->keepalive_ms, NULL)) ||
	    (r = get_u32(c, g, "transport", "ack_delay_us", 0, 1000000, &cfg->ack_delay_us, &ln->ack_delay)) ||
	    (r = get_str(c, g, "transport", "cc", cc, sizeof(cc), &s)))
		return r;
	if (s) {
		if (strcmp(cc, "auto") == 0)
			cfg->cc = MN_CC_AUTO;
		else if (strcmp(cc, "fixed") == 0)
			cfg->cc = MN_CC_FIXED;
		else
			return fail_at(c, s, "'transport.cc' must be \"auto\" or \"fixed\" (got \"%s\")", cc);
	}
	return 0;
}

static int parse_engine(struct ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "idle", "idle_polls", "idle_sleep_us", "spin_us", NULL };
	struct mn_config *cfg = c->cfg;
	config_setting_t *g, *s;
	char idle[MN_CFG_NAME_LEN];
	int r;

	if ((r = get_group(c, root, "engine", &g)) || !g)
		return r;
	if ((r = check_keys(c, g, "engine", keys)) ||
	    (r = get_u32(c, g, "engine", "idle_polls", 0, 1000000, &cfg->idle_polls, NULL)) ||
	    (r = get_u32(c, g, "engine", "idle_sleep_us", 1, 1000000, &cfg->idle_sleep_us, NULL)) ||
	    (r = get_u32(c, g, "engine", "spin_us", 0, 1000, &cfg->spin_us, NULL)) ||
	    (r = get_str(c, g, "engine", "idle", idle, sizeof(idle), &s)))
		return r;
	if (s) {
		if (strcmp(idle, "busy") == 0)
			cfg->idle = MN_IDLE_BUSY;
		else if (strcmp(idle, "yield") == 0)
			cfg->idle = MN_IDLE_YIELD;
		else if (strcmp(idle, "sleep") == 0)
			cfg->idle = MN_IDLE_SLEEP;
		else
			return fail_at(c, s, "'engine.idle' must be \"busy\", \"yield\" or \"sleep\" (got \"%s\")",
				       idle);
	}
	return 0;
}

static int parse_arp(struct ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "timeout_s", NULL };
	config_setting_t *g;
	int r;

	if ((r = get_group(c, root, "arp", &g)) || !g)
		return r;
	if ((r = check_keys(c, g, "arp", keys)))
		return r;
	return get_u32(c, g, "arp", "timeout_s", 1, 86400, &c->cfg->arp_timeout_s, NULL);
}

static int parse_apps(struct ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "max", "channel_ring", NULL };
	struct mn_config *cfg = c->cfg;
	config_setting_t *g;
	int r, line;

	if ((r = get_group(c, root, "apps", &g)) || !g)
		return r;
	if ((r = check_keys(c, g, "apps", keys)) ||
	    (r = get_u32(c, g, "apps", "max", 1, 128, &cfg->max_apps, NULL)) ||
	    (r = get_u32(c, g, "apps", "channel_ring", 64, 65536, &cfg->channel_ring, &line)))
		return r;
	if (cfg->channel_ring & (cfg->channel_ring - 1))
		return fail_line(c, line, "'apps.channel_ring' must be a power of two in 64..65536 (got %u)",
				 cfg->channel_ring);
	return 0;
}

/* Arguments machnetd derives from the file itself; setting them again in
 * eal.args would contradict the file (or, for the memory modes, make
 * secondaries impossible: see docs/dpdk-multiprocess-facts.md). */
static const char *managed_eal_arg(const char *a)
{
	static const char *const managed[] = {
		"--file-prefix", "--proc-type", "--lcores", "-l", "-c", "--main-lcore", "-m",
		"--in-memory", "--no-shconf", "--no-huge", "--huge-unlink", NULL
	};

	for (const char *const *m = managed; *m; m++) {
		size_t n = strlen(*m);

		if (strncmp(a, *m, n) == 0 && (a[n] == '\0' || a[n] == '=' ||
					       ((*m)[1] != '-' && n == 2)))
			return *m;
	}
	return NULL;
}

static int parse_eal(struct ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = { "log_level", "args", NULL };
	struct mn_config *cfg = c->cfg;
	config_setting_t *g, *s, *a;
	int r, n;

	if ((r = get_group(c, root, "eal", &g)) || !g)
		return r;
	if ((r = check_keys(c, g, "eal", keys)) ||
	    (r = get_str(c, g, "eal", "log_level", cfg->log_level, sizeof(cfg->log_level), &s)))
		return r;
	for (const char *p = cfg->log_level; *p; p++)
		if (isspace((unsigned char)*p))
			return fail_at(c, s, "'eal.log_level' must not contain spaces (got \"%s\")",
				       cfg->log_level);
	a = config_setting_get_member(g, "args");
	if (!a)
		return 0;
	if (config_setting_type(a) != CONFIG_TYPE_ARRAY && config_setting_type(a) != CONFIG_TYPE_LIST)
		return fail_at(c, a, "'eal.args' must be an array of strings: args = [ \"--foo\" ];");
	n = config_setting_length(a);
	if (n > MN_CFG_MAX_EAL_ARGS)
		return fail_at(c, a, "'eal.args' holds at most %d arguments (got %d)", MN_CFG_MAX_EAL_ARGS, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *x = config_setting_get_elem(a, (unsigned)i);
		const char *v, *m;

		if (config_setting_type(x) != CONFIG_TYPE_STRING)
			return fail_at(c, x, "'eal.args[%d]' must be a string", i);
		v = config_setting_get_string(x);
		if (v[0] == '\0' || strlen(v) >= MN_CFG_STR_LEN)
			return fail_at(c, x, "'eal.args[%d]' must be 1..%d characters", i, MN_CFG_STR_LEN - 1);
		if ((m = managed_eal_arg(v)))
			return fail_at(c, x, "'eal.args[%d]': %s is set by machnetd from the file "
				       "(instance, lcores, memory.hugepage_mb) or breaks secondaries; remove it", i, m);
		memcpy(cfg->eal_args[i], v, strlen(v) + 1);
	}
	cfg->n_eal_args = (unsigned)n;
	return 0;
}

static int parse_fault_dir(struct ctx *c, const config_setting_t *parent, const char *dir,
			   struct mn_fault_params *p, int *queue_line)
{
	static const char *const keys[] = { "drop_ppm", "dup_ppm", "corrupt_ppm", "reorder_ppm",
					    "reorder_us", "delay_us", "jitter_us", "keep_order",
					    "corrupt_min_offset", "corrupt_max_offset", "queue", NULL };
	config_setting_t *g;
	char where[16];
	int64_t lo = p->corrupt_min_off, hi = p->corrupt_max_off;
	int r, jline, hline;

	snprintf(where, sizeof(where), "fault.%s", dir);
	if ((r = get_group(c, parent, dir, &g)) || !g)
		return r;
	if ((r = check_keys(c, g, where, keys)) ||
	    (r = get_u32(c, g, where, "drop_ppm", 0, MN_FAULT_PPM, &p->drop_ppm, NULL)) ||
	    (r = get_u32(c, g, where, "dup_ppm", 0, MN_FAULT_PPM, &p->dup_ppm, NULL)) ||
	    (r = get_u32(c, g, where, "corrupt_ppm", 0, MN_FAULT_PPM, &p->corrupt_ppm, NULL)) ||
	    (r = get_u32(c, g, where, "reorder_ppm", 0, MN_FAULT_PPM, &p->reorder_ppm, NULL)) ||
	    (r = get_u32(c, g, where, "reorder_us", 1, MN_FAULT_MAX_DELAY_US, &p->reorder_us, NULL)) ||
	    (r = get_u32(c, g, where, "delay_us", 0, MN_FAULT_MAX_DELAY_US, &p->delay_us, NULL)) ||
	    (r = get_u32(c, g, where, "jitter_us", 0, MN_FAULT_MAX_DELAY_US, &p->jitter_us, &jline)) ||
	    (r = get_bool(c, g, where, "keep_order", &p->keep_order)) ||
	    (r = get_int(c, g, where, "corrupt_min_offset", 0, UINT16_MAX, &lo, NULL)) ||
	    (r = get_int(c, g, where, "corrupt_max_offset", 0, UINT16_MAX, &hi, &hline)) ||
	    (r = get_u32(c, g, where, "queue", MN_FAULT_QUEUE_MIN, MN_FAULT_QUEUE_MAX, &p->queue,
			 queue_line)))
		return r;
	/* The injector would clamp such delays at 0, skewing the mean the
	 * file asks for; say so instead. */
	if (p->jitter_us > p->delay_us)
		return fail_line(c, jline, "'%s.jitter_us' %u must be <= '%s.delay_us' %u "
				 "(a delay cannot go below 0)", where, p->jitter_us, where, p->delay_us);
	if (lo > hi)
		return fail_line(c, hline ? hline : line_of(g),
				 "'%s.corrupt_min_offset' %" PRId64 " must be <= '%s.corrupt_max_offset' %"
				 PRId64, where, lo, where, hi);
	p->corrupt_min_off = (uint16_t)lo;
	p->corrupt_max_off = (uint16_t)hi;
	return 0;
}

static int parse_fault(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	static const char *const keys[] = { "enabled", "seed", "rx", "tx", NULL };
	struct mn_cfg_fault *fc = &c->cfg->fault;
	config_setting_t *g;
	int64_t seed = (int64_t)fc->seed;
	int r;

	if ((r = get_group(c, root, "fault", &g)) || !g)
		return r;
	fc->line = line_of(g);
	if ((r = check_keys(c, g, "fault", keys)) ||
	    (r = get_bool(c, g, "fault", "enabled", &fc->enabled)) ||
	    (r = get_int(c, g, "fault", "seed", 0, INT64_MAX, &seed, NULL)) ||
	    (r = parse_fault_dir(c, g, "rx", &fc->rx, &ln->fault_queue[0])) ||
	    (r = parse_fault_dir(c, g, "tx", &fc->tx, &ln->fault_queue[1])))
		return r;
	fc->seed = (uint64_t)seed;
	return 0;
}

/* Frames an enabled injector can hold at once: each one holds mbufs out of
 * the pool, and a pool drained by test faults would look like a stack bug. */
static uint64_t fault_held_max(const struct mn_config *cfg, int *line, const struct lines *ln)
{
	const struct mn_fault_params *d[2] = { &cfg->fault.rx, &cfg->fault.tx };
	uint64_t per = 0;

	*line = 0;
	for (int i = 0; i < 2; i++) {
		/* only timed or reordering directions hold frames (copies too) */
		if (!d[i]->delay_us && !d[i]->jitter_us && !d[i]->reorder_ppm)
			continue;
		per += d[i]->queue;
		if (ln->fault_queue[i] && !*line)
			*line = ln->fault_queue[i];
	}
	return per * cfg->n_ifaces * cfg->n_engines;
}

static int cross_checks(struct ctx *c, const struct lines *ln)
{
	const struct mn_config *cfg = c->cfg;
	uint64_t pool;

	/* DPDK's rte_mempool_create also refuses mbuf_cache * 1.5 > mbufs; the
	 * ranges (mbufs >= 1024, mbuf_cache <= 512) already guarantee it. */
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		uint32_t need = (uint32_t)cfg->ifaces[i].mtu + MN_ETH_HDR_LEN + MN_PKTMBUF_HEADROOM;

		if (cfg->mbuf_data_size < need)
			return fail_line(c, ln->mbuf_data_size ? ln->mbuf_data_size : ln->mtu[i],
					 "'memory.mbuf_data_size' %u is too small for interfaces[%u].mtu %u "
					 "(needs >= %u = mtu + 14 Ethernet + 128 headroom)",
					 cfg->mbuf_data_size, i, cfg->ifaces[i].mtu, need);
	}
	pool = (uint64_t)cfg->mbufs * (cfg->mbuf_data_size + MN_MBUF_OVERHEAD);
	if (pool > (uint64_t)cfg->hugepage_mb << 20)
		return fail_line(c, ln->hugepage_mb ? ln->hugepage_mb : ln->mbufs ? ln->mbufs : ln->memory,
				 "'memory.hugepage_mb' %u cannot hold the mbuf pool: %u mbufs x (%u + %u B) = %" PRIu64
				 " MB", cfg->hugepage_mb, cfg->mbufs, cfg->mbuf_data_size, MN_MBUF_OVERHEAD,
				 (pool + (1 << 20) - 1) >> 20);
	if (cfg->min_rto_us > cfg->max_rto_us)
		return fail_line(c, ln->min_rto ? ln->min_rto : ln->max_rto,
				 "'transport.min_rto_us' %u must be <= 'transport.max_rto_us' %u",
				 cfg->min_rto_us, cfg->max_rto_us);
	/* A held ACK must never look like a loss to the peer. */
	if (cfg->ack_delay_us > cfg->min_rto_us / 2) {
		if (ln->ack_delay)
			return fail_line(c, ln->ack_delay,
					 "'transport.ack_delay_us' %u must be <= half of 'transport.min_rto_us' (%u)",
					 cfg->ack_delay_us, cfg->min_rto_us / 2);
		c->cfg->ack_delay_us = cfg->min_rto_us / 2;
	}
	if (cfg->fault.enabled) {
		int line;
		uint64_t held = fault_held_max(cfg, &line, ln);

		if (held > cfg->mbufs / 2)
			return fail_line(c, line ? line : cfg->fault.line,
					 "fault queues can hold %" PRIu64 " frames (queue x delaying directions x "
					 "%u interfaces x %u engines), more than half of memory.mbufs %u: "
					 "lower fault.rx/tx.queue or raise memory.mbufs",
					 held, cfg->n_ifaces, cfg->n_engines, cfg->mbufs);
	}
	return 0;
}

int mn_config_load(const char *path, struct mn_config *cfg, char *err, size_t errlen)
{
	static const char *const top[] = { "instance", "lcores", "memory", "interfaces", "transport",
					   "engine", "arp", "apps", "eal", "fault", NULL };
	struct ctx c = { .path = path, .err = err, .errlen = errlen, .cfg = cfg };
	struct lines ln;
	config_t lc;
	const config_setting_t *root;
	struct stat st;
	FILE *f;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !cfg)
		return -EINVAL;
	mn_config_defaults(cfg);
	memset(&ln, 0, sizeof(ln));
	if (strlen(path) >= sizeof(cfg->path)) {
		fail_line(&c, 0, "path is too long");
		return -ENAMETOOLONG;
	}
	memcpy(cfg->path, path, strlen(path) + 1);

	/* libconfig folds every open failure into one "file I/O error"; find the
	 * errno ourselves so callers can tell a missing file from a bad one. */
	f = fopen(path, "r");
	if (!f) {
		r = -errno;
		fail_line(&c, 0, "cannot read: %s", strerror(errno));
		return r;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		fclose(f);
		return fail_line(&c, 0, "not a regular file");
	}
	fclose(f);

	config_init(&lc);
	if (!config_read_file(&lc, path)) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO) {
			r = errno ? -errno : -EIO;
			fail_line(&c, 0, "cannot read: %s", config_error_text(&lc));
		} else {
			const char *f2 = config_error_file(&lc);
			const char *t = config_error_text(&lc);

			if (!t)
				t = "syntax error";
			if (err && errlen)
				snprintf(err, errlen, "%s:%d: %s%s", f2 ? f2 : path, config_error_line(&lc),
					 strstr(t, "syntax error") ? "" : "syntax error: ", t);
			r = -EINVAL;
		}
		goto out;
	}
	root = config_root_setting(&lc);
	if ((r = check_keys(&c, root, "", top)) ||
	    (r = parse_instance(&c, root)) ||
	    (r = parse_lcores(&c, root)) ||
	    (r = parse_memory(&c, root, &ln)) ||
	    (r = parse_interfaces(&c, root, &ln)) ||
	    (r = parse_transport(&c, root, &ln)) ||
	    (r = parse_engine(&c, root)) ||
	    (r = parse_arp(&c, root)) ||
	    (r = parse_apps(&c, root)) ||
	    (r = parse_eal(&c, root)) ||
	    (r = parse_fault(&c, root, &ln)) ||
	    (r = cross_checks(&c, &ln)))
		goto out;
	r = 0;
out:
	config_destroy(&lc);
	return r;
}

static const char *idle_name(enum mn_idle_policy p)
{
	switch (p) {
	case MN_IDLE_BUSY: return "busy";
	case MN_IDLE_YIELD: return "yield";
	case MN_IDLE_SLEEP: return "sleep";
	}
	return "?";
}

void mn_config_print(const struct mn_config *cfg, void *file)
{
	FILE *f = file;
	char a[16], b[16];

	fprintf(f, "config %s\n", cfg->path[0] ? cfg->path : "(defaults)");
	fprintf(f, "  instance        %s\n", cfg->instance);
	fprintf(f, "  lcores          main cpu %u; engines on cpu", cfg->main_cpu);
	for (unsigned i = 0; i < cfg->n_engines; i++)
		fprintf(f, "%s%u", i ? "," : " ", cfg->engine_cpus[i]);
	fprintf(f, "\n  memory          %u mbufs (cache %u, data room %u B), %u MB hugepages\n",
		cfg->mbufs, cfg->mbuf_cache, cfg->mbuf_data_size, cfg->hugepage_mb);
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		const struct mn_cfg_iface *x = &cfg->ifaces[i];

		fprintf(f, "  interface %-5s %s/%u", x->name, ip_str(x->ip, a, sizeof(a)), x->prefix_len);
		if (x->gateway)
			fprintf(f, " via %s", ip_str(x->gateway, b, sizeof(b)));
		fprintf(f, " mtu %u rx_checksum %s\n", x->mtu, x->rx_checksum ? "on" : "off");
		if (x->device[0])
			fprintf(f, "                  vdev %s\n", x->device);
		if (x->pci[0])
			fprintf(f, "                  pci %s\n", x->pci);
		if (x->has_mac)
			fprintf(f, "                  mac %02x:%02x:%02x:%02x:%02x:%02x%s\n",
				x->mac[0], x->mac[1], x->mac[2], x->mac[3], x->mac[4], x->mac[5],
				mn_cfg_iface_by_mac(x) ? " (selects the PCI port)" : "");
	}
	fprintf(f, "  transport       rto %u..%u us, %u retries, window %u, cc %s, target delay %u us, "
		"connect timeout %u ms, keepalive ", cfg->min_rto_us, cfg->max_rto_us, cfg->max_retries,
		cfg->window, cfg->cc == MN_CC_AUTO ? "auto" : "fixed", cfg->target_delay_us,
		cfg->connect_timeout_ms);
	if (cfg->keepalive_ms)
		fprintf(f, "%u ms", cfg->keepalive_ms);
	else
		fprintf(f, "off");
	if (cfg->ack_delay_us)
		fprintf(f, ", ack delay %u us\n", cfg->ack_delay_us);
	else
		fprintf(f, ", ack delay off\n");
	fprintf(f, "  engine          idle %s after %u empty polls", idle_name(cfg->idle), cfg->idle_polls);
	if (cfg->idle == MN_IDLE_SLEEP)
		fprintf(f, ", sleep %u us", cfg->idle_sleep_us);
	if (cfg->spin_us && cfg->idle != MN_IDLE_BUSY)
		fprintf(f, ", not before %u us after work", cfg->spin_us);
	fprintf(f, "\n  arp             timeout %u s\n", cfg->arp_timeout_s);
	fprintf(f, "  apps            max %u, channel ring %u\n", cfg->max_apps, cfg->channel_ring);
	fprintf(f, "  eal             log level %s, %u extra args",
		cfg->log_level[0] ? cfg->log_level : "(default)", cfg->n_eal_args);
	for (unsigned i = 0; i < cfg->n_eal_args; i++)
		fprintf(f, " %s", cfg->eal_args[i]);
	fprintf(f, "\n");
	if (!cfg->fault.enabled)
		return;
	fprintf(f, "  fault           ENABLED (test only), seed %" PRIu64 "\n", cfg->fault.seed);
	for (int i = 0; i < 2; i++) {
		const struct mn_fault_params *d = i ? &cfg->fault.tx : &cfg->fault.rx;

		fprintf(f, "    %s  drop %u dup %u corrupt %u (bytes %u..%u) reorder %u ppm (+%u us), "
			"delay %u +- %u us%s, queue %u\n", i ? "tx" : "rx", d->drop_ppm, d->dup_ppm,
			d->corrupt_ppm, d->corrupt_min_off, d->corrupt_max_off, d->reorder_ppm, d->reorder_us,
			d->delay_us, d->jitter_us, d->keep_order ? " in order" : "", d->queue);
	}
}

/* Appends one formatted argument: the text goes into buf, the pointer into argv. */
__attribute__((format(printf, 6, 7)))
static int push(char *buf, size_t buflen, size_t *off, char **argv, int *argc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= buflen)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, buflen - *off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= buflen - *off)
		return -ENOSPC;
	argv[(*argc)++] = buf + *off;
	*off += (size_t)n + 1;
	return 0;
}

int mn_config_eal_argv(const struct mn_config *cfg, char *buf, size_t buflen, char **argv, int max_argv)
{
	char lcores[MN_CFG_MAX_ENGINES * 16 + 16];
	size_t off = 0, lo = 0;
	bool pci = false, by_mac = false;
	int argc = 0, r, need;

	if (!cfg || !buf || !argv || max_argv < 1)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		if (cfg->ifaces[i].pci[0])
			pci = true;
		if (mn_cfg_iface_by_mac(&cfg->ifaces[i]))
			by_mac = true;
	}
	/* Count first so a short argv fails cleanly instead of half-filled. */
	need = 7 + (int)cfg->n_eal_args + (cfg->log_level[0] ? 1 : 0) + 1;
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		if (cfg->ifaces[i].device[0])
			need++;
		else if (cfg->ifaces[i].pci[0] && !by_mac)
			need += 2;
	}
	if (!pci && !by_mac)
		need++;
	if (need > max_argv)
		return -E2BIG;

	lo += (size_t)snprintf(lcores, sizeof(lcores), "0@%u", cfg->main_cpu);
	for (unsigned i = 0; i < cfg->n_engines && lo < sizeof(lcores); i++)
		lo += (size_t)snprintf(lcores + lo, sizeof(lcores) - lo, ",%u@%u", i + 1, cfg->engine_cpus[i]);

#define PUSH(...) do { if ((r = push(buf, buflen, &off, argv, &argc, __VA_ARGS__))) return r; } while (0)
	PUSH("machnetd");
	PUSH("--proc-type=primary");
	PUSH("--file-prefix=%s", cfg->instance);
	PUSH("--lcores=%s", lcores);
	PUSH("-m");
	PUSH("%u", cfg->hugepage_mb);
	PUSH("--iova-mode=va");
	for (unsigned i = 0; i < cfg->n_ifaces; i++)
		if (cfg->ifaces[i].device[0])
			PUSH("--vdev=%s", cfg->ifaces[i].device);
	if (by_mac) {
		/* A port chosen by MAC can be any PCI device: EAL must probe them
		 * all, so neither --no-pci nor an allow-list (which would hide it). */
	} else if (pci) {
		for (unsigned i = 0; i < cfg->n_ifaces; i++)
			if (cfg->ifaces[i].pci[0]) {
				PUSH("-a");
				PUSH("%s", cfg->ifaces[i].pci);
			}
	} else {
		PUSH("--no-pci");
	}
	if (cfg->log_level[0])
		PUSH("--log-level=%s", cfg->log_level);
	for (unsigned i = 0; i < cfg->n_eal_args; i++)
		PUSH("%s", cfg->eal_args[i]);
#undef PUSH
	argv[argc] = NULL;
	return argc;
}
