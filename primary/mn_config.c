/* mn_config: libconfig reader and validator for machnetd (see mn_config.h and
 * docs/CONFIG.md). Everything here runs before EAL, so it must not depend on
 * DPDK; the DPDK limits it enforces are restated in mn_config_priv.h.
 *
 * The keys are rows of tables (mn_config_table.c); this file holds the
 * machinery the rows drive, the groups with lists or keys checked together,
 * and the load itself: read, pre-scan (mn_config_scan.c), libconfig, rows.
 */
#include "mn_config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
int mn_cfg_fail_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
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
int mn_cfg_fail_line(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, NULL, line, fmt, ap);
	va_end(ap);
	return r;
}

int mn_cfg_line_of(const config_setting_t *s)
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


int mn_cfg_check_keys(struct ctx *c, const config_setting_t *grp, const char *where,
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
		return mn_cfg_fail_at(c, m, "unknown key '%s' in %s (expected one of: %s)",
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
		return mn_cfg_fail_at(c, s, "'%s' must be a group: %s = { ... };", key, key);
	*out = s;
	return 0;
}

static bool is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

/* Integer member in [lo, hi]; untouched *out when absent. Sets *line. */
int mn_cfg_get_int(struct ctx *c, const config_setting_t *grp, const char *where,
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
		return mn_cfg_fail_at(c, s, "'%s' must be an integer", q);
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return mn_cfg_fail_at(c, s, "'%s' must be in %" PRId64 "..%" PRId64 " (got %" PRId64 ")",
			       q, lo, hi, v);
	*out = v;
	if (line)
		*line = mn_cfg_line_of(s);
	return 0;
}

/* String member; *found tells whether it was present. */
int mn_cfg_get_str(struct ctx *c, const config_setting_t *grp, const char *where,
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
		return mn_cfg_fail_at(c, s, "'%s' must be a string (in double quotes)", q);
	v = config_setting_get_string(s);
	/* Values end up in EAL arguments, logs and messages: text only. */
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return mn_cfg_fail_at(c, s, "'%s' must be printable ASCII (byte 0x%02x at offset %zu)",
				       q, (unsigned char)*p, (size_t)(p - v));
	if (strlen(v) >= dstlen)
		return mn_cfg_fail_at(c, s, "'%s' is too long (at most %zu characters)", q, dstlen - 1);
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
		return mn_cfg_fail_at(c, s, "'%s' must be true or false", qual(q, sizeof(q), where, key));
	*out = config_setting_get_bool(s) != 0;
	return 0;
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

int64_t mn_cfg_load_int(const void *p, size_t size)
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
void mn_cfg_apply_defaults(const struct group *gd, void *base)
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
int mn_cfg_parse_key(struct ctx *c, const config_setting_t *g, const char *where, const struct key *k,
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
		v = mn_cfg_load_int(f, k->size);
		if ((r = mn_cfg_get_int(c, g, where, k->name, k->lo, k->hi, &v, line)))
			return r;
		if (k->check_int && (r = k->check_int(c, s, q, v)))
			return r;
		store_int(f, k->size, v);
		return 0;
	case KT_BOOL:
		*line = mn_cfg_line_of(s);
		return get_bool(c, g, where, k->name, (bool *)f);
	case KT_STR:
		if ((r = mn_cfg_get_str(c, g, where, k->name, buf, sizeof(buf), NULL)))
			return r;
		if (k->check_str && (r = k->check_str(c, s, q, buf)))
			return r;
		if (strlen(buf) >= k->size)
			return mn_cfg_fail_at(c, s, "'%s' is too long (at most %zu characters)", q, k->size - 1);
		memcpy(f, buf, strlen(buf) + 1);
		*line = mn_cfg_line_of(s);
		return 0;
	case KT_ENUM:
		if ((r = mn_cfg_get_str(c, g, where, k->name, buf, MN_CFG_NAME_LEN, NULL)))
			return r;
		for (int i = 0; k->enums[i]; i++)
			if (strcmp(buf, k->enums[i]) == 0) {
				store_int(f, k->size, i);
				*line = mn_cfg_line_of(s);
				return 0;
			}
		{
			char list[128];

			enum_list(k->enums, list, sizeof(list));
			return mn_cfg_fail_at(c, s, "'%s' must be %s (got \"%s\")", q, list, buf);
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

	if ((r = mn_cfg_check_keys(c, g, where, gd)))
		return r;
	for (size_t i = 0; i < gd->n && i < MAX_ROWS; i++)
		if ((r = mn_cfg_parse_key(c, g, where, &gd->keys[i], base, &lines[i])))
			return r;
	return 0;
}

/* Top-level section gi: *out is the group setting, NULL when absent. */
static int parse_section(struct ctx *c, const config_setting_t *root, int gi, config_setting_t **out,
			 int lines[MAX_ROWS])
{
	const struct group *gd = &mn_cfg_groups[gi];
	int r;

	memset(lines, 0, sizeof(int) * MAX_ROWS);
	if ((r = get_group(c, root, gd->name, out)) || !*out)
		return r;
	return parse_table(c, *out, gd->name, gd, (char *)c->cfg + gd->base, lines);
}

int mn_cfg_check_instance(struct ctx *c, const config_setting_t *s, const char *q, const char *v)
{
	bool ok = v[0] != '\0' && strlen(v) < MN_CFG_NAME_LEN;

	for (const char *p = v; ok && *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			ok = false;
	if (ok)
		return 0;
	return mn_cfg_fail_at(c, s, "'%s' must be 1..%d characters of [A-Za-z0-9_-] (got \"%s\")",
		       q, MN_CFG_NAME_LEN - 1, v);
}

int mn_cfg_check_no_space(struct ctx *c, const config_setting_t *s, const char *q, const char *v)
{
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return mn_cfg_fail_at(c, s, "'%s' must not contain spaces (got \"%s\")", q, v);
	return 0;
}

int mn_cfg_check_pow2(struct ctx *c, const config_setting_t *s, const char *q, int64_t v)
{
	const struct key *k = &mn_cfg_groups[G_APPS].keys[1];

	if (v & (v - 1))
		return mn_cfg_fail_at(c, s, "'%s' must be a power of two in %" PRId64 "..%" PRId64 " (got %" PRId64 ")",
			       q, k->lo, k->hi, v);
	return 0;
}

void mn_config_defaults(struct mn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < G_COUNT; i++)
		if (!mn_cfg_groups[i].per_iface)
			mn_cfg_apply_defaults(&mn_cfg_groups[i], (char *)cfg + mn_cfg_groups[i].base);
	cfg->n_engines = 1;
	cfg->engine_cpus[0] = 1;
}

/* --- groups with lists or keys checked together ---------------------------- */

static int parse_lcores(struct ctx *c, const config_setting_t *root)
{
	const struct key *ek = &mn_cfg_groups[G_LCORES].keys[1];
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
		return mn_cfg_fail_at(c, e, "'lcores.engines' must be an array of CPU numbers: engines = [1, 2];");
	n = config_setting_length(e);
	if (n < 1 || n > MN_CFG_MAX_ENGINES)
		return mn_cfg_fail_at(c, e, "'lcores.engines' must list 1..%d CPUs (got %d)",
			       MN_CFG_MAX_ENGINES, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *x = config_setting_get_elem(e, (unsigned)i);
		int64_t cpu;

		if (!is_int(x))
			return mn_cfg_fail_at(c, x, "'lcores.engines[%d]' must be an integer CPU number", i);
		cpu = config_setting_get_int64(x);
		if (cpu < ek->lo || cpu > ek->hi)
			return mn_cfg_fail_at(c, x, "'lcores.engines[%d]' must be in %" PRId64 "..%" PRId64 " (got %" PRId64 ")",
				       i, ek->lo, ek->hi, cpu);
		for (int j = 0; j < i; j++)
			if (cfg->engine_cpus[j] == (unsigned)cpu)
				return mn_cfg_fail_at(c, x, "duplicate lcore: CPU %" PRId64
					       " is already engine %d's (two engines cannot share a CPU)",
					       cpu, j);
		cfg->engine_cpus[i] = (unsigned)cpu;
	}
	cfg->n_engines = (unsigned)n;
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
		return mn_cfg_fail_at(c, a, "'eal.args' must be an array of strings: args = [ \"--foo\" ];");
	n = config_setting_length(a);
	if (n > MN_CFG_MAX_EAL_ARGS)
		return mn_cfg_fail_at(c, a, "'eal.args' holds at most %d arguments (got %d)", MN_CFG_MAX_EAL_ARGS, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *x = config_setting_get_elem(a, (unsigned)i);
		const char *v, *m;

		if (config_setting_type(x) != CONFIG_TYPE_STRING)
			return mn_cfg_fail_at(c, x, "'eal.args[%d]' must be a string", i);
		v = config_setting_get_string(x);
		if (v[0] == '\0' || strlen(v) >= MN_CFG_STR_LEN)
			return mn_cfg_fail_at(c, x, "'eal.args[%d]' must be 1..%d characters", i, MN_CFG_STR_LEN - 1);
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				return mn_cfg_fail_at(c, x, "'eal.args[%d]' must be printable ASCII (byte 0x%02x at offset %zu)",
					       i, (unsigned char)*p, (size_t)(p - v));
		if ((m = managed_eal_arg(v)))
			return mn_cfg_fail_at(c, x, "'eal.args[%d]': %s is set by machnetd from the file "
				       "(instance, lcores, memory.hugepage_mb) or breaks secondaries; remove it", i, m);
		memcpy(cfg->eal_args[i], v, strlen(v) + 1);
	}
	cfg->n_eal_args = (unsigned)n;
	return 0;
}

/* fault.rx or fault.tx (dir 0 or 1): the rows, then the checks across them. */
static int parse_fault_dir(struct ctx *c, const config_setting_t *parent, int dir, struct lines *ln)
{
	const struct group *gd = &mn_cfg_groups[G_FAULT_RX + dir];
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
		return mn_cfg_fail_line(c, lines[K_FD_JITTER], "'%s.jitter_us' %u must be <= '%s.delay_us' %u "
				 "(a delay cannot go below 0)", gd->name, p->jitter_us, gd->name, p->delay_us);
	if (p->corrupt_min_off > p->corrupt_max_off)
		return mn_cfg_fail_line(c, lines[K_FD_MAX_OFF] ? lines[K_FD_MAX_OFF] : mn_cfg_line_of(g),
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
	c->cfg->fault.line = mn_cfg_line_of(g);
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
			return mn_cfg_fail_line(c, ln->mbuf_data_size ? ln->mbuf_data_size : ln->mtu[i],
					 "'memory.mbuf_data_size' %u is too small for interfaces[%u].mtu %u "
					 "(needs >= %u = mtu + 14 Ethernet + 128 headroom)",
					 cfg->mbuf_data_size, i, cfg->ifaces[i].mtu, need);
	}
	for (unsigned i = 0; i < cfg->n_ifaces; i++)
		if (cfg->ifaces[i].queues && cfg->ifaces[i].queues < cfg->n_engines)
			return mn_cfg_fail_line(c, cfg->ifaces[i].line,
					 "interfaces[%u].queues %u is fewer than the %u engines (each engine "
					 "transmits on a queue of its own; 0 = one per engine)",
					 i, cfg->ifaces[i].queues, cfg->n_engines);
	pool = (uint64_t)cfg->mbufs * (cfg->mbuf_data_size + MN_MBUF_OVERHEAD);
	if (pool > (uint64_t)cfg->hugepage_mb << 20)
		return mn_cfg_fail_line(c, ln->hugepage_mb ? ln->hugepage_mb : ln->mbufs ? ln->mbufs : ln->memory,
				 "'memory.hugepage_mb' %u cannot hold the mbuf pool: %u mbufs x (%u + %u B) = %" PRIu64
				 " MB", cfg->hugepage_mb, cfg->mbufs, cfg->mbuf_data_size, MN_MBUF_OVERHEAD,
				 (pool + (1 << 20) - 1) >> 20);
	if (cfg->min_rto_us > cfg->max_rto_us)
		return mn_cfg_fail_line(c, ln->min_rto ? ln->min_rto : ln->max_rto,
				 "'transport.min_rto_us' %u must be <= 'transport.max_rto_us' %u",
				 cfg->min_rto_us, cfg->max_rto_us);
	/* Left out, the plain-peer floor follows a smaller max_rto_us down. */
	if (cfg->plain_min_rto_us > cfg->max_rto_us) {
		if (ln->plain_min_rto)
			return mn_cfg_fail_line(c, ln->plain_min_rto,
					 "'transport.plain_min_rto_us' %u must be <= 'transport.max_rto_us' %u",
					 cfg->plain_min_rto_us, cfg->max_rto_us);
		c->cfg->plain_min_rto_us = cfg->max_rto_us;
	}
	/* A held ACK must never look like a loss to the peer. */
	if (cfg->ack_delay_us > cfg->min_rto_us / 2) {
		if (ln->ack_delay)
			return mn_cfg_fail_line(c, ln->ack_delay,
					 "'transport.ack_delay_us' %u must be <= half of 'transport.min_rto_us' (%u)",
					 cfg->ack_delay_us, cfg->min_rto_us / 2);
		c->cfg->ack_delay_us = cfg->min_rto_us / 2;
	}
	/* An app's share is at most an engine's whole table. */
	if (cfg->app_max_flows > cfg->max_flows)
		return mn_cfg_fail_line(c, ln->app_max_flows ? ln->app_max_flows : ln->max_flows,
				 "'apps.max_flows' %u must be <= 'transport.max_flows' %u",
				 cfg->app_max_flows, cfg->max_flows);
	if (cfg->fault.enabled) {
		int line;
		uint64_t held = fault_held_max(cfg, &line, ln);

		if (held > cfg->mbufs / 2)
			return mn_cfg_fail_line(c, line ? line : cfg->fault.line,
					 "fault queues can hold %" PRIu64 " frames (queue x delaying directions x "
					 "%u interfaces x %u engines), more than half of memory.mbufs %u: "
					 "lower fault.rx/tx.queue or raise memory.mbufs",
					 held, cfg->n_ifaces, cfg->n_engines, cfg->mbufs);
	}
	return 0;
}

/* The sections whose rows the table machinery parses alone. */
static int parse_plain_sections(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	config_setting_t *g;
	int lines[MAX_ROWS];
	int r;

	if ((r = mn_cfg_parse_key(c, root, "", &mn_cfg_groups[G_TOP].keys[0], c->cfg, &lines[0])))	/* instance */
		return r;
	if ((r = parse_section(c, root, G_MEMORY, &g, lines)))
		return r;
	ln->memory = mn_cfg_line_of(g);
	ln->mbufs = lines[K_MEM_MBUFS];
	ln->mbuf_data_size = lines[K_MEM_DATA];
	ln->hugepage_mb = lines[K_MEM_HUGE];
	if ((r = parse_section(c, root, G_TRANSPORT, &g, lines)))
		return r;
	ln->min_rto = lines[K_TR_MIN_RTO];
	ln->max_rto = lines[K_TR_MAX_RTO];
	ln->ack_delay = lines[K_TR_ACK_DELAY];
	ln->plain_min_rto = lines[K_TR_PLAIN_MIN_RTO];
	ln->max_flows = lines[K_TR_MAX_FLOWS];
	if ((r = parse_section(c, root, G_ENGINE, &g, lines)) ||
	    (r = parse_section(c, root, G_ARP, &g, lines)) ||
	    (r = parse_section(c, root, G_APPS, &g, lines)))
		return r;
	ln->app_max_flows = lines[K_APP_MAX_FLOWS];
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
		mn_cfg_fail_line(&c, 0, "path is too long");
		return -ENAMETOOLONG;
	}
	memcpy(cfg->path, path, strlen(path) + 1);

	/* Read here rather than by libconfig: it folds every open failure into
	 * one "file I/O error", and the bytes must be scanned before it parses
	 * them (they are then parsed from memory, the same bytes). */
	if ((r = mn_cfg_read_file(&c, path, &text, &len)))
		return r;
	if ((r = mn_cfg_scan(&c, text, len))) {
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
	if ((r = mn_cfg_check_keys(&c, root, "", &mn_cfg_groups[G_TOP])) ||
	    (r = parse_lcores(&c, root)) ||
	    (r = parse_plain_sections(&c, root, &ln)) ||
	    (r = mn_cfg_parse_interfaces(&c, root, &ln)) ||
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
