/* mn_config_priv.h: what the parts of the config parser share (mn_config.c:
 * loading and the table machinery; mn_config_table.c: the rows;
 * mn_config_iface.c: interfaces; mn_config_scan.c: the pre-scan;
 * mn_config_out.c: printing, the reference tables, the EAL argv). Private to
 * those files. Pure C + libconfig, no DPDK.
 */
#ifndef MN_CONFIG_PRIV_H
#define MN_CONFIG_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "mn_config.h"

/* DPDK 22.11 facts restated, so the parser needs no DPDK headers. */
#define MN_PKTMBUF_HEADROOM	128	/* RTE_PKTMBUF_HEADROOM */
#define MN_ETH_HDR_LEN		14
#define MN_MEMPOOL_CACHE_MAX	512	/* RTE_MEMPOOL_CACHE_MAX_SIZE */
/* Per-mbuf cost beyond the data room: struct rte_mbuf (128 B) plus the mempool
 * object header and alignment; used only for the "does the pool fit" check. */
#define MN_MBUF_OVERHEAD	192

/* One load: where errors go. */
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
	int plain_min_rto;
	int max_flows;		/* transport.max_flows */
	int app_max_flows;	/* apps.max_flows */
	int mtu[MN_CFG_MAX_IFACES];
	int fault_queue[2];	/* rx, tx */
};

/* Line of each row of one table after parse_table() (0 = absent). */
#define MAX_ROWS 16

/* --- the rows (mn_config_table.c) ---------------------------------------------
 *
 * Each group's keys are rows: the key, its type, default, range, where it
 * lands in struct mn_config and its help text. mn_config.c parses, validates
 * and fills the defaults from them, mn_config_out.c prints them (--check -v)
 * and writes the reference tables of docs/CONFIG.md (the config-doc test
 * compares them). Rows of type KT_CUSTOM are keys the group's own code parses
 * (lists, and strings whose checks span several keys); the table still names
 * them (known keys, documentation) and, for integers, holds their range.
 */
enum key_type {
	KT_INT,		/* integer field of 1, 2, 4 or 8 bytes in lo..hi */
	KT_BOOL,	/* bool field */
	KT_STR,		/* char[] field; check() may restrict it further */
	KT_ENUM,	/* string naming one of enums[]; the field is an enum (int) */
	KT_GROUP,	/* a sub-group with its own table (documented in its section) */
	KT_CUSTOM,	/* parsed by the group's code */
};

struct key {
	const char *name;
	enum key_type type;
	size_t off;		/* of the field in the group's struct */
	size_t size;		/* of the field */
	int64_t def, lo, hi;	/* KT_INT (lo/hi also for KT_CUSTOM integers), KT_BOOL def */
	const char *sdef;	/* KT_STR default */
	const char *const *enums; /* KT_ENUM names, NULL-terminated; index = value */
	/* Extra validation of a string value (before it is stored) or of an
	 * integer in range; returns 0 or fail_at()'s -EINVAL. */
	int (*check_str)(struct ctx *c, const config_setting_t *s, const char *q, const char *v);
	int (*check_int)(struct ctx *c, const config_setting_t *s, const char *q, int64_t v);
	/* Documentation: NULL fields are derived from the row. */
	const char *type_md, *def_md, *range_md;
	const char *help;
};

struct group {
	const char *name;	/* "" (top level), "memory", "fault.rx", ... */
	const struct key *keys;
	size_t n;
	size_t base;		/* offset of the group's struct in struct mn_config */
	bool per_iface;		/* base is of ifaces[0]; fields are in struct mn_cfg_iface */
};

/* Indexes of the rows the group code reads (their order in mn_config_table.c). */
enum { K_MEM_MBUFS, K_MEM_CACHE, K_MEM_DATA, K_MEM_HUGE };
enum { K_IF_PREFIX = 5, K_IF_MTU = 7 };
enum { K_TR_MIN_RTO, K_TR_MAX_RTO, K_TR_ACK_DELAY = 8, K_TR_PLAIN_MIN_RTO = 9, K_TR_MAX_FLOWS = 11 };	/* row order in transport_keys */
enum { K_APP_MAX_FLOWS = 2 };	/* row order in apps_keys */
enum { K_FD_JITTER = 6, K_FD_MIN_OFF = 8, K_FD_MAX_OFF = 9, K_FD_QUEUE = 10 };
enum { G_TOP, G_LCORES, G_MEMORY, G_IFACES, G_TRANSPORT, G_ENGINE, G_ARP, G_APPS, G_EAL, G_FAULT,
       G_FAULT_RX, G_FAULT_TX, G_COUNT };

/* Every group, in the order of the file's sections and of docs/CONFIG.md. */
extern const struct group mn_cfg_groups[G_COUNT];

/* --- mn_config.c ---------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
int mn_cfg_fail_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
int mn_cfg_fail_line(struct ctx *c, int line, const char *fmt, ...);
int mn_cfg_line_of(const config_setting_t *s);
int mn_cfg_check_keys(struct ctx *c, const config_setting_t *grp, const char *where,
		      const struct group *gd);
int mn_cfg_get_int(struct ctx *c, const config_setting_t *grp, const char *where,
		   const char *key, int64_t lo, int64_t hi, int64_t *out, int *line);
int mn_cfg_get_str(struct ctx *c, const config_setting_t *grp, const char *where,
		   const char *key, char *dst, size_t dstlen, config_setting_t **found);
int mn_cfg_parse_key(struct ctx *c, const config_setting_t *g, const char *where, const struct key *k,
		     void *base, int *line);
void mn_cfg_apply_defaults(const struct group *gd, void *base);
int64_t mn_cfg_load_int(const void *p, size_t size);
/* row checks (referenced by the rows) */
int mn_cfg_check_instance(struct ctx *c, const config_setting_t *s, const char *q, const char *v);
int mn_cfg_check_no_space(struct ctx *c, const config_setting_t *s, const char *q, const char *v);
int mn_cfg_check_pow2(struct ctx *c, const config_setting_t *s, const char *q, int64_t v);

/* --- mn_config_iface.c ------------------------------------------------------------- */

int mn_cfg_parse_interfaces(struct ctx *c, const config_setting_t *root, struct lines *ln);
const char *mn_cfg_ip_str(uint32_t ip, char *buf, size_t len);
int mn_cfg_hexval(int ch);

/* --- mn_config_scan.c -------------------------------------------------------------- */

/* Reads path whole (a regular file within the size limit) into a
 * NUL-terminated buffer the caller frees. */
int mn_cfg_read_file(struct ctx *c, const char *path, char **out, size_t *outlen);
/* Bounds the raw bytes before libconfig parses them (see the file). */
int mn_cfg_scan(struct ctx *c, const char *buf, size_t len);

#endif
