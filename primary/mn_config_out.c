/* mn_config_out.c: what is derived from a loaded config or from the rows:
 * the --check -v print, the reference tables of docs/CONFIG.md, and the EAL
 * argument vector. */
#include "mn_config_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *idle_name(enum mn_idle_policy p)
{
	switch (p) {
	case MN_IDLE_BUSY: return "busy";
	case MN_IDLE_YIELD: return "yield";
	case MN_IDLE_SLEEP: return "sleep";
	case MN_IDLE_ADAPTIVE: return "adaptive";
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

		fprintf(f, "  interface %-5s %s/%u", x->name, mn_cfg_ip_str(x->ip, a, sizeof(a)), x->prefix_len);
		if (x->gateway)
			fprintf(f, " via %s", mn_cfg_ip_str(x->gateway, b, sizeof(b)));
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
	fprintf(f, "  transport       rto %u..%u us, %u retries and %u ms to give up, window %u, cc %s, "
		"target delay %u us, connect timeout %u ms, keepalive ", cfg->min_rto_us, cfg->max_rto_us,
		cfg->max_retries, cfg->give_up_ms, cfg->window, cfg->cc == MN_CC_AUTO ? "auto" : "fixed",
		cfg->target_delay_us, cfg->connect_timeout_ms);
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
	if (cfg->idle == MN_IDLE_ADAPTIVE)
		fprintf(f, ", yield %u us then sleep (%u..%u us)", cfg->yield_us, cfg->rx_poll_us,
			cfg->rx_poll_max_us);
	if (cfg->spin_us && cfg->idle != MN_IDLE_BUSY)
		fprintf(f, ", not before %u us after work", cfg->spin_us);
	fprintf(f, "\n  arp             timeout %u s\n", cfg->arp_timeout_s);
	/* The per-app limits as machnetd applies them (0: a quarter). */
	fprintf(f, "  apps            max %u, channel ring %u; flows: %u per engine, %u per app; "
		"listeners: %u per app\n", cfg->max_apps, cfg->channel_ring, cfg->max_flows,
		cfg->app_max_flows ? cfg->app_max_flows : cfg->max_flows / 4,
		cfg->app_max_listeners ? cfg->app_max_listeners : MN_CFG_ENGINE_LISTENERS / 4);
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
			fprintf(f, "%" PRId64 "%s;\n", mn_cfg_load_int(v, k->size), k->hi > INT32_MAX ? "L" : "");
			break;
		case KT_BOOL:
			fprintf(f, "%s;\n", *(const bool *)v ? "true" : "false");
			break;
		case KT_STR:
			fprintf(f, "\"%s\";\n", v);
			break;
		case KT_ENUM:
			fprintf(f, "\"%s\";\n", k->enums[mn_cfg_load_int(v, k->size)]);
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
		const struct group *gd = &mn_cfg_groups[i];

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
		if (g > 0 && mn_cfg_groups[g].keys == mn_cfg_groups[g - 1].keys)
			continue;
		if (n++ == i)
			return mn_cfg_groups[g].name;
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
		if (group && strcmp(mn_cfg_groups[g].name, group) == 0)
			gd = &mn_cfg_groups[g];
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

