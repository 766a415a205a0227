/* mn_config: libconfig reader and validator for machnetd (see mn_config.h and
 * docs/CONFIG.md). Everything here runs before EAL, so it must not depend on
 * DPDK; the DPDK limits it enforces are restated as constants below.
 *
 * The keys are rows of tables (mn_config_table.h); this file holds the
 * machinery the rows drive, the checks that span keys, and the pre-scan that
 * bounds what libconfig is given (see mn_config_scan below).
 */
#include "mn_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

/* DPDK 22.11 facts restated, so the parser needs no DPDK headers. */
#define MN_PKTMBUF_HEADROOM	128	/* RTE_PKTMBUF_HEADROOM */
#define MN_ETH_HDR_LEN		14
#define MN_MEMPOOL_CACHE_MAX	512	/* RTE_MEMPOOL_CACHE_MAX_SIZE */
/* Per-mbuf cost beyond the data room: struct rte_mbuf (128 B) plus the mempool
 * object header and alignment; used only for the "does the pool fit" check. */
#define MN_MBUF_OVERHEAD	192

#include "mn_config_table.h"

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

/* Line of each row of one table after parse_table() (0 = absent). */
#define MAX_ROWS 16
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
		      const struct group *gd)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(m);
		char list[512];
		size_t off = 0;
		bool ok = false;

		for (size_t k = 0; k < gd->n; k++)
			if (name && strcmp(name, gd->keys[k].name) == 0)
				ok = true;
		if (ok)
			continue;
		list[0] = '\0';
		for (size_t k = 0; k < gd->n && off < sizeof(list); k++) {
			int r = snprintf(list + off, sizeof(list) - off, "%s%s", k ? ", " : "", gd->keys[k].name);

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
	/* Values end up in EAL arguments, logs and messages: text only. */
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return fail_at(c, s, "'%s' must be printable ASCII (byte 0x%02x at offset %zu)",
				       q, (unsigned char)*p, (size_t)(p - v));
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

/* --- the table machinery ------------------------------------------------ */

static void store_int(void *p, size_t size, int64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	uint64_t u64 = (uint64_t)v;

	switch (size) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &u32, 4); break;
	default: memcpy(p, &u64, 8); break;
	}
}

static int64_t load_int(const void *p, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1: memcpy(&u8, p, 1); return u8;
	case 2: memcpy(&u16, p, 2); return u16;
	case 4: memcpy(&u32, p, 4); return u32;
	default: memcpy(&u64, p, 8); return (int64_t)u64;
	}
}

/* Writes every default of a table into the group's struct at base. */
static void apply_defaults(const struct group *gd, void *base)
{
	for (size_t i = 0; i < gd->n; i++) {
		const struct key *k = &gd->keys[i];
		char *f = (char *)base + k->off;

		switch (k->type) {
		case KT_INT:
		case KT_ENUM:
			store_int(f, k->size, k->def);
			break;
		case KT_BOOL:
			*(bool *)f = k->def != 0;
			break;
		case KT_STR:
			snprintf(f, k->size, "%s", k->sdef ? k->sdef : "");
			break;
		case KT_CUSTOM:
			if (k->size)	/* a scalar the group's code parses */
				store_int(f, k->size, k->def);
			break;
		case KT_GROUP:
			break;
		}
	}
}

/* "\"a\", \"b\" or \"c\"" for an enum's names. */
static void enum_list(const char *const *names, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] && off < len; i++) {
		const char *sep = i == 0 ? "" : names[i + 1] ? ", " : " or ";
		int r = snprintf(buf + off, len - off, "%s\"%s\"", sep, names[i]);

		if (r < 0)
			break;
		off += (size_t)r;
	}
}

/* Parses one row from group setting g into the struct at base; *line is the
 * line of the setting, 0 when absent. */
static int parse_key(struct ctx *c, const config_setting_t *g, const char *where, const struct key *k,
		     void *base, int *line)
{
	config_setting_t *s = config_setting_get_member(g, k->name);
	char *f = (char *)base + k->off;
	char q[96], buf[MN_CFG_STR_LEN];
	int64_t v;
	int r;

	*line = 0;
	if (!s)
		return 0;
	qual(q, sizeof(q), where, k->name);
	switch (k->type) {
	case KT_INT:
		v = load_int(f, k->size);
		if ((r = get_int(c, g, where, k->name, k->lo, k->hi, &v, line)))
			return r;
		if (k->check_int && (r = k->check_int(c, s, q, v)))
			return r;
		store_int(f, k->size, v);
		return 0;
	case KT_BOOL:
		*line = line_of(s);
		return get_bool(c, g, where, k->name, (bool *)f);
	case KT_STR:
		if ((r = get_str(c, g, where, k->name, buf, sizeof(buf), NULL)))
			return r;
		if (k->check_str && (r = k->check_str(c, s, q, buf)))
			return r;
		if (strlen(buf) >= k->size)
			return fail_at(c, s, "'%s' is too long (at most %zu characters)", q, k->size - 1);
		memcpy(f, buf, strlen(buf) + 1);
		*line = line_of(s);
		return 0;
	case KT_ENUM:
		if ((r = get_str(c, g, where, k->name, buf, MN_CFG_NAME_LEN, NULL)))
			return r;
		for (int i = 0; k->enums[i]; i++)
			if (strcmp(buf, k->enums[i]) == 0) {
				store_int(f, k->size, i);
				*line = line_of(s);
				return 0;
			}
		{
			char list[128];

			enum_list(k->enums, list, sizeof(list));
			return fail_at(c, s, "'%s' must be %s (got \"%s\")", q, list, buf);
		}
	case KT_GROUP:
	case KT_CUSTOM:
		break;
	}
	return 0;
}

/* Every table row of group g (unknown keys first); lines[i] is row i's line. */
static int parse_table(struct ctx *c, const config_setting_t *g, const char *where, const struct group *gd,
		       void *base, int lines[MAX_ROWS])
{
	int r;

	if ((r = check_keys(c, g, where, gd)))
		return r;
	for (size_t i = 0; i < gd->n && i < MAX_ROWS; i++)
		if ((r = parse_key(c, g, where, &gd->keys[i], base, &lines[i])))
			return r;
	return 0;
}

/* Top-level section gi: *out is the group setting, NULL when absent. */
static int parse_section(struct ctx *c, const config_setting_t *root, int gi, config_setting_t **out,
			 int lines[MAX_ROWS])
{
	const struct group *gd = &groups[gi];
	int r;

	memset(lines, 0, sizeof(int) * MAX_ROWS);
	if ((r = get_group(c, root, gd->name, out)) || !*out)
		return r;
	return parse_table(c, *out, gd->name, gd, (char *)c->cfg + gd->base, lines);
}

static int check_instance(struct ctx *c, const config_setting_t *s, const char *q, const char *v)
{
	bool ok = v[0] != '\0' && strlen(v) < MN_CFG_NAME_LEN;

	for (const char *p = v; ok && *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			ok = false;
	if (ok)
		return 0;
	return fail_at(c, s, "'%s' must be 1..%d characters of [A-Za-z0-9_-] (got \"%s\")",
		       q, MN_CFG_NAME_LEN - 1, v);
}

static int check_no_space(struct ctx *c, const config_setting_t *s, const char *q, const char *v)
{
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return fail_at(c, s, "'%s' must not contain spaces (got \"%s\")", q, v);
	return 0;
}

static int check_pow2(struct ctx *c, const config_setting_t *s, const char *q, int64_t v)
{
	const struct key *k = &apps_keys[1];

	if (v & (v - 1))
		return fail_at(c, s, "'%s' must be a power of two in %" PRId64 "..%" PRId64 " (got %" PRId64 ")",
			       q, k->lo, k->hi, v);
	return 0;
}

void mn_config_defaults(struct mn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < G_COUNT; i++)
		if (!groups[i].per_iface)
			apply_defaults(&groups[i], (char *)cfg + groups[i].base);
	cfg->n_engines = 1;
	cfg->engine_cpus[0] = 1;
}

/* --- groups with lists or keys checked together ---------------------------- */

static int parse_lcores(struct ctx *c, const config_setting_t *root)
{
	const struct key *ek = &lcores_keys[1];
	struct mn_config *cfg = c->cfg;
	config_setting_t *g, *e;
	int lines[MAX_ROWS];
	int r, n;

	if ((r = parse_section(c, root, G_LCORES, &g, lines)) || !g)
		return r;
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
		if (cpu < ek->lo || cpu > ek->hi)
			return fail_at(c, x, "'lcores.engines[%d]' must be in %" PRId64 "..%" PRId64 " (got %" PRId64 ")",
				       i, ek->lo, ek->hi, cpu);
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
static int parse_one_iface(struct ctx *c, const config_setting_t *g, unsigned idx,
			   struct lines *ln)
{
	const struct group *gd = &groups[G_IFACES];
	const struct key *pk = &iface_keys[K_IF_PREFIX];
	struct mn_cfg_iface *ifc = &c->cfg->ifaces[idx];
	config_setting_t *s_name, *s_dev, *s_pci, *s_mac, *s_ip, *s_gw;
	char where[32], buf[MN_CFG_STR_LEN];
	int64_t v;
	int r, pl_line, ip_prefix = -1;

	snprintf(where, sizeof(where), "interfaces[%u]", idx);
	memset(ifc, 0, sizeof(*ifc));
	apply_defaults(gd, ifc);
	ifc->line = line_of(g);
	snprintf(ifc->name, sizeof(ifc->name), "link%u", idx);

	if ((r = check_keys(c, g, where, gd)))
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
	if ((r = get_int(c, g, where, pk->name, pk->lo, pk->hi, &v, &pl_line)))
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

	/* the plain rows (mtu, rx_checksum) */
	for (size_t i = K_IF_MTU; i < gd->n; i++) {
		int line;

		if ((r = parse_key(c, g, where, &gd->keys[i], ifc, &line)))
			return r;
		if (i == K_IF_MTU)
			ln->mtu[idx] = line;
	}
	return 0;
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
	struct mn_config *cfg = c->cfg;
	config_setting_t *g, *a;
	int lines[MAX_ROWS];
	int r, n;

	if ((r = parse_section(c, root, G_EAL, &g, lines)) || !g)
		return r;
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
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				return fail_at(c, x, "'eal.args[%d]' must be printable ASCII (byte 0x%02x at offset %zu)",
					       i, (unsigned char)*p, (size_t)(p - v));
		if ((m = managed_eal_arg(v)))
			return fail_at(c, x, "'eal.args[%d]': %s is set by machnetd from the file "
				       "(instance, lcores, memory.hugepage_mb) or breaks secondaries; remove it", i, m);
		memcpy(cfg->eal_args[i], v, strlen(v) + 1);
	}
	cfg->n_eal_args = (unsigned)n;
	return 0;
}

/* fault.rx or fault.tx (dir 0 or 1): the rows, then the checks across them. */
static int parse_fault_dir(struct ctx *c, const config_setting_t *parent, int dir, struct lines *ln)
{
	const struct group *gd = &groups[G_FAULT_RX + dir];
	struct mn_fault_params *p = dir ? &c->cfg->fault.tx : &c->cfg->fault.rx;
	config_setting_t *g;
	int lines[MAX_ROWS] = { 0 };
	int r;

	if ((r = get_group(c, parent, dir ? "tx" : "rx", &g)) || !g)
		return r;
	if ((r = parse_table(c, g, gd->name, gd, (char *)c->cfg + gd->base, lines)))
		return r;
	ln->fault_queue[dir] = lines[K_FD_QUEUE];
	/* The injector would clamp such delays at 0, skewing the mean the
	 * file asks for; say so instead. */
	if (p->jitter_us > p->delay_us)
		return fail_line(c, lines[K_FD_JITTER], "'%s.jitter_us' %u must be <= '%s.delay_us' %u "
				 "(a delay cannot go below 0)", gd->name, p->jitter_us, gd->name, p->delay_us);
	if (p->corrupt_min_off > p->corrupt_max_off)
		return fail_line(c, lines[K_FD_MAX_OFF] ? lines[K_FD_MAX_OFF] : line_of(g),
				 "'%s.corrupt_min_offset' %u must be <= '%s.corrupt_max_offset' %u",
				 gd->name, (unsigned)p->corrupt_min_off, gd->name, (unsigned)p->corrupt_max_off);
	return 0;
}

static int parse_fault(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	config_setting_t *g;
	int lines[MAX_ROWS];
	int r;

	if ((r = parse_section(c, root, G_FAULT, &g, lines)) || !g)
		return r;
	c->cfg->fault.line = line_of(g);
	if ((r = parse_fault_dir(c, g, 0, ln)) || (r = parse_fault_dir(c, g, 1, ln)))
		return r;
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

/* --- pre-scan: bounds on the raw bytes, before libconfig sees them ---------
 *
 * libconfig's flex scanner rescans a token from its start each time its
 * buffer refills (every 8 KiB), so a long token costs the square of its
 * length (a 16 MiB string: over a minute), and libconfig 1.5 reads integers
 * without an L suffix as 32 bits (2^32 + 1024 silently became 1024), and
 * exits the process from inside flex on an @include it cannot read. The scan
 * below is linear and rejects all of that with FILE:LINE first. It follows
 * libconfig's lexical rules (strings, comments, names, numbers); where it
 * could disagree, the limits still hold because the file size bounds them.
 */
#define SCAN_MAX_FILE	(256 * 1024)	/* shipped configs are ~2 KiB */
#define SCAN_MAX_LINE	4096
#define SCAN_MAX_STRLIT	1024		/* raw bytes of one "..." (escapes count 2-4) */
#define SCAN_MAX_DEPTH	16		/* nested groups, lists, arrays */
#define SCAN_MAX_ITEMS	8192		/* settings and list elements */

struct scan_frame {
	bool list;		/* ( ) or [ ]: index counts elements; { }: key is the last name */
	const char *key;
	size_t klen;
	unsigned index;
};

struct scan {
	struct ctx *c;
	int line;
	int depth;
	struct scan_frame fr[SCAN_MAX_DEPTH + 1];
};

/* "interfaces[0].mtu" for the value being scanned. */
static void scan_path(const struct scan *s, char *buf, size_t len, bool with_index)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k <= s->depth && off < len; k++) {
		const struct scan_frame *f = &s->fr[k];
		int r = 0;

		if (f->list && with_index)
			r = snprintf(buf + off, len - off, "[%u]", f->index);
		else if (!f->list && f->key)
			r = snprintf(buf + off, len - off, "%s%.*s", off ? "." : "", (int)f->klen, f->key);
		off += r > 0 ? (size_t)r : 0;
	}
}

/* The row for "group.key" (indexes stripped), or NULL. */
static const struct key *find_key(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t glen = dot ? (size_t)(dot - path) : 0;
	const char *name = dot ? dot + 1 : path;

	for (int i = 0; i < G_COUNT; i++) {
		if (strlen(groups[i].name) != glen || strncmp(groups[i].name, path, glen) != 0)
			continue;
		for (size_t k = 0; k < groups[i].n; k++)
			if (strcmp(groups[i].keys[k].name, name) == 0)
				return &groups[i].keys[k];
	}
	return NULL;
}

/* An integer literal at t (libconfig's forms: [-+]?[0-9]+, 0x[0-9A-Fa-f]+,
 * either with L or LL). Returns its length, 0 if it is not one (a float). */
static int scan_number(struct scan *s, const char *t, const char *end, size_t *len)
{
	const char *p = t;
	bool neg = false, hex = false, wide = false, over = false;
	uint64_t mag = 0, lim;
	char path[128], plain[128];
	const struct key *k;
	int n;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p == t && end - p > 2 && p[0] == '0' && (p[1] | 0x20) == 'x' && isxdigit((unsigned char)p[2])) {
		hex = true;
		for (p += 2; p < end && isxdigit((unsigned char)*p); p++) {
			over |= mag >> 60 != 0;
			mag = mag << 4 | (uint64_t)hexval(*p);
		}
	} else {
		for (; p < end && isdigit((unsigned char)*p); p++) {
			unsigned d = (unsigned)(*p - '0');

			over |= mag > (UINT64_MAX - d) / 10;
			mag = mag * 10 + d;
		}
		if (p < end && (*p == '.' || ((*p | 0x20) == 'e' && p + 1 < end &&
					      (isdigit((unsigned char)p[1]) || p[1] == '-' || p[1] == '+'))))
			return 0;
	}
	if (p < end && *p == 'L') {
		wide = true;
		if (++p < end && *p == 'L')
			p++;
	}
	*len = (size_t)(p - t);
	/* what libconfig 1.5 reads correctly: 32-bit without L, 64-bit with */
	lim = wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
	if (!over && (mag <= lim || (neg && !hex && mag == lim + 1)))
		return 0;
	n = (int)*len;
	scan_path(s, path, sizeof(path), true);
	scan_path(s, plain, sizeof(plain), false);
	k = find_key(plain);
	if (!path[0])
		snprintf(path, sizeof(path), "value");
	if (k && k->lo < k->hi && !over && !neg && !wide && mag <= (uint64_t)INT64_MAX &&
	    (int64_t)mag >= k->lo && (int64_t)mag <= k->hi)
		return fail_line(s->c, s->line, "'%s' = %.*s needs an L suffix (%.*sL): an integer without one is "
				 "32-bit", path, n, t, n, t);
	if (k && k->lo < k->hi)
		return fail_line(s->c, s->line, "'%s' must be in %" PRId64 "..%" PRId64 " (got %.*s)",
				 path, k->lo, k->hi, n, t);
	return fail_line(s->c, s->line, "'%s' = %.*s does not fit in an integer (-2147483648..2147483647, "
			 "or 64-bit with an L suffix)", path, n, t);
}

/* Length of the valid UTF-8 sequence at p, 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool name_start(int ch)
{
	return isalpha(ch) || ch == '*';
}

static bool name_char(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '_' || ch == '*';
}

static int mn_config_scan(struct ctx *c, const char *buf, size_t len)
{
	enum { S_CODE, S_STRING, S_COMMENT, S_LINE_COMMENT } st = S_CODE;
	const char *p = buf, *end = buf + len, *line_start = buf;
	struct scan s = { .c = c, .line = 1 };
	int str_line = 0, items = 0;
	size_t str_len = 0;

	while (p < end) {
		unsigned char ch = (unsigned char)*p;
		size_t n;

		if (ch == '\n') {
			s.line++;
			line_start = p + 1;
			if (st == S_LINE_COMMENT)
				st = S_CODE;
			if (st == S_STRING && ++str_len > SCAN_MAX_STRLIT)
				goto long_string;
			p++;
			continue;
		}
		if ((size_t)(p - line_start) >= SCAN_MAX_LINE)
			return fail_line(c, s.line, "line is longer than %d bytes", SCAN_MAX_LINE);
		if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\f') || ch == 0x7f)
			return fail_line(c, s.line, "control character 0x%02x (a config file is text)", ch);
		if (!(n = utf8_len((const unsigned char *)p, (const unsigned char *)end)))
			return fail_line(c, s.line, "invalid UTF-8 (byte 0x%02x)", ch);
		if (ch == '@') {
			const char *q = line_start;

			while (*q == ' ' || *q == '\t')
				q++;
			/* Refused in any state: libconfig's rule for it must never fire. */
			if (q == p && (size_t)(end - p) >= 8 && memcmp(p, "@include", 8) == 0)
				return fail_line(c, s.line, "@include is not supported: write every setting in "
						 "this one file (docs/CONFIG.md)");
		}
		switch (st) {
		case S_STRING:
			if (ch == '"') {
				st = S_CODE;
				p++;
				continue;
			}
			/* \" and \\ are escapes; a lone backslash is itself */
			if (ch == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
				n = 2;
			str_len += n;
			if (str_len > SCAN_MAX_STRLIT)
				goto long_string;
			p += n;
			continue;
		case S_COMMENT:
			if (ch == '*' && p + 1 < end && p[1] == '/') {
				st = S_CODE;
				n = 2;
			}
			p += n;
			continue;
		case S_LINE_COMMENT:
			p += n;
			continue;
		case S_CODE:
			break;
		}
		if (ch == '"') {
			st = S_STRING;
			str_line = s.line;
			str_len = 0;
		} else if (ch == '#' || (ch == '/' && p + 1 < end && p[1] == '/')) {
			st = S_LINE_COMMENT;
		} else if (ch == '/' && p + 1 < end && p[1] == '*') {
			st = S_COMMENT;
			n = 2;
		} else if (ch == '{' || ch == '(' || ch == '[') {
			if (s.depth == SCAN_MAX_DEPTH)
				return fail_line(c, s.line, "nested deeper than %d levels", SCAN_MAX_DEPTH);
			s.fr[++s.depth] = (struct scan_frame){ .list = ch != '{' };
		} else if (ch == '}' || ch == ')' || ch == ']') {
			if (s.depth > 0)
				s.depth--;
		} else if (ch == '=' || ch == ':' || ch == ',') {
			if (ch == ',' && s.fr[s.depth].list)
				s.fr[s.depth].index++;
			if (++items > SCAN_MAX_ITEMS)
				return fail_line(c, s.line, "more than %d settings and list elements", SCAN_MAX_ITEMS);
		} else if (name_start(ch)) {
			const char *t = p;

			while (p < end && name_char((unsigned char)*p))
				p++;
			if (!s.fr[s.depth].list) {
				s.fr[s.depth].key = t;
				s.fr[s.depth].klen = (size_t)(p - t);
			}
			continue;
		} else if (isdigit(ch) || ((ch == '-' || ch == '+') && p + 1 < end && isdigit((unsigned char)p[1]))) {
			size_t tl = 0;
			int r = scan_number(&s, p, end, &tl);

			if (r)
				return r;
			if (tl) {
				p += tl;
				continue;
			}
			/* a float: its digits, point, exponent */
			p++;
			while (p < end && (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' ||
					   ((*p == '-' || *p == '+') && (p[-1] | 0x20) == 'e')))
				p++;
			continue;
		}
		p += n;
	}
	return 0;
long_string:
	return fail_line(c, str_line, "string longer than %d bytes (no value may be longer than %d characters)",
			 SCAN_MAX_STRLIT, MN_CFG_STR_LEN - 1);
}

/* Reads path whole (a regular file of at most SCAN_MAX_FILE bytes) into a
 * NUL-terminated buffer the caller frees. */
static int read_config_file(struct ctx *c, const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		fail_line(c, 0, "cannot read: %s", strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = fail_line(c, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > SCAN_MAX_FILE) {
		r = fail_line(c, 0, "is %lld bytes, more than the %d a config file may have",
			      (long long)st.st_size, SCAN_MAX_FILE);
		goto out;
	}
	buf = malloc(SCAN_MAX_FILE + 2);
	if (!buf) {
		r = -ENOMEM;
		fail_line(c, 0, "out of memory");
		goto out;
	}
	/* up to one byte over the limit: a file that grew since fstat */
	while (len <= SCAN_MAX_FILE && (n = read(fd, buf + len, SCAN_MAX_FILE + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			fail_line(c, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > SCAN_MAX_FILE) {
		r = fail_line(c, 0, "is more than the %d bytes a config file may have", SCAN_MAX_FILE);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* The sections whose rows the table machinery parses alone. */
static int parse_plain_sections(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	config_setting_t *g;
	int lines[MAX_ROWS];
	int r;

	if ((r = parse_key(c, root, "", &top_keys[0], c->cfg, &lines[0])))	/* instance */
		return r;
	if ((r = parse_section(c, root, G_MEMORY, &g, lines)))
		return r;
	ln->memory = line_of(g);
	ln->mbufs = lines[K_MEM_MBUFS];
	ln->mbuf_data_size = lines[K_MEM_DATA];
	ln->hugepage_mb = lines[K_MEM_HUGE];
	if ((r = parse_section(c, root, G_TRANSPORT, &g, lines)))
		return r;
	ln->min_rto = lines[K_TR_MIN_RTO];
	ln->max_rto = lines[K_TR_MAX_RTO];
	ln->ack_delay = lines[K_TR_ACK_DELAY];
	if ((r = parse_section(c, root, G_ENGINE, &g, lines)) ||
	    (r = parse_section(c, root, G_ARP, &g, lines)) ||
	    (r = parse_section(c, root, G_APPS, &g, lines)))
		return r;
	return 0;
}

int mn_config_load(const char *path, struct mn_config *cfg, char *err, size_t errlen)
{
	struct ctx c = { .path = path, .err = err, .errlen = errlen, .cfg = cfg };
	struct lines ln;
	config_t lc;
	const config_setting_t *root;
	char *text = NULL;
	size_t len = 0;
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

	/* Read here rather than by libconfig: it folds every open failure into
	 * one "file I/O error", and the bytes must be scanned before it parses
	 * them (they are then parsed from memory, the same bytes). */
	if ((r = read_config_file(&c, path, &text, &len)))
		return r;
	if ((r = mn_config_scan(&c, text, len))) {
		free(text);
		return r;
	}
	config_init(&lc);
	if (!config_read_string(&lc, text)) {
		const char *t = config_error_text(&lc);

		if (!t)
			t = "syntax error";
		if (err && errlen)
			snprintf(err, errlen, "%s:%d: %s%s", path, config_error_line(&lc),
				 strstr(t, "syntax error") ? "" : "syntax error: ", t);
		r = -EINVAL;
		goto out;
	}
	root = config_root_setting(&lc);
	if ((r = check_keys(&c, root, "", &groups[G_TOP])) ||
	    (r = parse_lcores(&c, root)) ||
	    (r = parse_plain_sections(&c, root, &ln)) ||
	    (r = parse_interfaces(&c, root, &ln)) ||
	    (r = parse_eal(&c, root)) ||
	    (r = parse_fault(&c, root, &ln)) ||
	    (r = cross_checks(&c, &ln)))
		goto out;
	r = 0;
out:
	config_destroy(&lc);
	free(text);
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

static void print_summary(const struct mn_config *cfg, FILE *f)
{
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

/* One "group.key = value" line per scalar row: the effective value of every
 * key, in the file's syntax. */
static void print_rows(const struct group *gd, const char *where, const void *base, FILE *f)
{
	for (size_t i = 0; i < gd->n; i++) {
		const struct key *k = &gd->keys[i];
		const char *v = (const char *)base + k->off;

		if (k->type == KT_GROUP || (k->type == KT_CUSTOM && !k->size))
			continue;
		fprintf(f, "    %s%s%s = ", where, where[0] ? "." : "", k->name);
		switch (k->type) {
		case KT_INT:
		case KT_CUSTOM:
			fprintf(f, "%" PRId64 "%s;\n", load_int(v, k->size), k->hi > INT32_MAX ? "L" : "");
			break;
		case KT_BOOL:
			fprintf(f, "%s;\n", *(const bool *)v ? "true" : "false");
			break;
		case KT_STR:
			fprintf(f, "\"%s\";\n", v);
			break;
		case KT_ENUM:
			fprintf(f, "\"%s\";\n", k->enums[load_int(v, k->size)]);
			break;
		case KT_GROUP:
			break;
		}
	}
}

void mn_config_print(const struct mn_config *cfg, void *file)
{
	FILE *f = file;

	print_summary(cfg, f);
	fprintf(f, "  every key, as loaded:\n");
	for (int i = 0; i < G_COUNT; i++) {
		const struct group *gd = &groups[i];

		/* the test-only group is printed only when in use */
		if (i >= G_FAULT && !cfg->fault.enabled)
			continue;
		if (!gd->per_iface) {
			print_rows(gd, gd->name, (const char *)cfg + gd->base, f);
			continue;
		}
		for (unsigned j = 0; j < cfg->n_ifaces; j++) {
			char where[32];

			snprintf(where, sizeof(where), "%s[%u]", gd->name, j);
			print_rows(gd, where, &cfg->ifaces[j], f);
		}
	}
	for (unsigned i = 0; i < cfg->n_engines; i++)
		fprintf(f, "    lcores.engines[%u] = %u;\n", i, cfg->engine_cpus[i]);
	for (unsigned i = 0; i < cfg->n_eal_args; i++)
		fprintf(f, "    eal.args[%u] = \"%s\";\n", i, cfg->eal_args[i]);
}

/* --- the reference tables of docs/CONFIG.md --------------------------------- */

const char *mn_config_group_name(unsigned i)
{
	unsigned n = 0;

	for (int g = 0; g < G_COUNT; g++) {
		/* fault.tx has fault.rx's rows: one table for both */
		if (g > 0 && groups[g].keys == groups[g - 1].keys)
			continue;
		if (n++ == i)
			return groups[g].name;
	}
	return NULL;
}

static const char *type_md(const struct key *k)
{
	if (k->type_md)
		return k->type_md;
	switch (k->type) {
	case KT_INT: return "integer";
	case KT_BOOL: return "boolean";
	case KT_STR: case KT_ENUM: return "string";
	case KT_GROUP: return "group";
	case KT_CUSTOM: break;
	}
	return "?";
}

int mn_config_reference_md(const char *group, void *file)
{
	FILE *f = file;
	const struct group *gd = NULL;

	for (int g = 0; g < G_COUNT && !gd; g++)
		if (group && strcmp(groups[g].name, group) == 0)
			gd = &groups[g];
	if (!gd)
		return -ENOENT;
	fprintf(f, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < gd->n; i++) {
		const struct key *k = &gd->keys[i];
		char buf[160];

		if (!k->help)	/* a section of its own */
			continue;
		fprintf(f, "| `%s` | %s | ", k->name, type_md(k));
		if (k->def_md)
			fprintf(f, "%s", k->def_md);
		else if (k->type == KT_BOOL)
			fprintf(f, "`%s`", k->def ? "true" : "false");
		else if (k->type == KT_STR)
			fprintf(f, "`\"%s\"`", k->sdef ? k->sdef : "");
		else if (k->type == KT_ENUM)
			fprintf(f, "`\"%s\"`", k->enums[k->def]);
		else
			fprintf(f, "`%" PRId64 "`", k->def);
		fprintf(f, " | ");
		if (k->range_md) {
			fprintf(f, "%s", k->range_md);
		} else if (k->type == KT_ENUM) {
			for (int e = 0; k->enums[e]; e++)
				fprintf(f, "%s`\"%s\"`", e ? ", " : "", k->enums[e]);
		} else if (k->type == KT_INT || k->type == KT_CUSTOM) {
			snprintf(buf, sizeof(buf), "%" PRId64 "..%" PRId64, k->lo, k->hi);
			fprintf(f, "%s", buf);
		} else if (k->type == KT_STR) {
			fprintf(f, "< %zu chars", k->size);
		}
		fprintf(f, " | %s |\n", k->help);
	}
	return 0;
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
