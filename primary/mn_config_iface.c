/* mn_config_iface.c: the `interfaces` list: each entry's strings are checked
 * together (device xor pci, ip with its prefix, a gateway in the subnet),
 * then across entries (names, addresses and devices unique). */
#include "mn_config_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

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

int mn_cfg_hexval(int ch)
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
		int hi = mn_cfg_hexval(s[3 * i]), lo = mn_cfg_hexval(s[3 * i + 1]);

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
		if (mn_cfg_hexval(s[i]) < 0)
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
	if (mn_cfg_hexval(s[3]) * 16 + mn_cfg_hexval(s[4]) > 0x1f)
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

const char *mn_cfg_ip_str(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

static int parse_one_iface(struct ctx *c, const config_setting_t *g, unsigned idx,
			   struct lines *ln)
{
	const struct group *gd = &mn_cfg_groups[G_IFACES];
	const struct key *pk = &mn_cfg_groups[G_IFACES].keys[K_IF_PREFIX];
	struct mn_cfg_iface *ifc = &c->cfg->ifaces[idx];
	config_setting_t *s_name, *s_dev, *s_pci, *s_mac, *s_ip, *s_gw;
	char where[32], buf[MN_CFG_STR_LEN];
	int64_t v;
	int r, pl_line, ip_prefix = -1;

	snprintf(where, sizeof(where), "interfaces[%u]", idx);
	memset(ifc, 0, sizeof(*ifc));
	mn_cfg_apply_defaults(gd, ifc);
	ifc->line = mn_cfg_line_of(g);
	snprintf(ifc->name, sizeof(ifc->name), "link%u", idx);

	if ((r = mn_cfg_check_keys(c, g, where, gd)))
		return r;
	if ((r = mn_cfg_get_str(c, g, where, "name", ifc->name, sizeof(ifc->name), &s_name)))
		return r;
	if (s_name) {
		if (ifc->name[0] == '\0')
			return mn_cfg_fail_at(c, s_name, "'%s.name' must not be empty", where);
		for (const char *p = ifc->name; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
				return mn_cfg_fail_at(c, s_name, "'%s.name' must be [A-Za-z0-9_-] (got \"%s\")",
					       where, ifc->name);
	}
	if ((r = mn_cfg_get_str(c, g, where, "device", ifc->device, sizeof(ifc->device), &s_dev)))
		return r;
	if (ifc->device[0] && vdev_name_len(ifc->device) == 0)
		return mn_cfg_fail_at(c, s_dev, "'%s.device' must be a DPDK vdev argument such as "
			       "\"net_memif0,role=server,socket=/run/machnet/x.sock,socket-abstract=no\" "
			       "(got \"%s\")", where, ifc->device);
	if ((r = mn_cfg_get_str(c, g, where, "pci", ifc->pci, sizeof(ifc->pci), &s_pci)))
		return r;
	if (ifc->pci[0] && !valid_pci(ifc->pci))
		return mn_cfg_fail_at(c, s_pci, "'%s.pci' must be a PCI address DDDD:BB:DD.F or BB:DD.F (got \"%s\")",
			       where, ifc->pci);
	if (ifc->pci[0])
		normalize_pci(ifc->pci, sizeof(ifc->pci));
	if (ifc->device[0] && ifc->pci[0])
		return mn_cfg_fail_at(c, s_pci, "%s: set either 'device' (a vdev) or 'pci', not both", where);

	buf[0] = '\0';
	if ((r = mn_cfg_get_str(c, g, where, "mac", buf, sizeof(buf), &s_mac)))
		return r;
	if (s_mac && buf[0]) {
		if (parse_mac(buf, ifc->mac))
			return mn_cfg_fail_at(c, s_mac, "'%s.mac' must be a MAC address like 02:00:00:00:00:01 (got \"%s\")",
				       where, buf);
		if (ifc->mac[0] & 1)
			return mn_cfg_fail_at(c, s_mac, "'%s.mac' must be a unicast address (got multicast \"%s\")",
				       where, buf);
		if (!(ifc->mac[0] | ifc->mac[1] | ifc->mac[2] | ifc->mac[3] | ifc->mac[4] | ifc->mac[5]))
			return mn_cfg_fail_at(c, s_mac, "'%s.mac' must not be all zeros", where);
		ifc->has_mac = true;
	}
	if (!ifc->device[0] && !ifc->pci[0] && !ifc->has_mac)
		return mn_cfg_fail_at(c, g, "%s: needs 'device' (a vdev), 'pci', or 'mac' (to pick a PCI port by MAC)",
			       where);

	buf[0] = '\0';
	if ((r = mn_cfg_get_str(c, g, where, "ip", buf, sizeof(buf), &s_ip)))
		return r;
	if (!s_ip)
		return mn_cfg_fail_at(c, g, "%s: missing required key 'ip'", where);
	if (parse_ipv4(buf, &ifc->ip, &ip_prefix))
		return mn_cfg_fail_at(c, s_ip, "'%s.ip' must be an IPv4 address like 198.18.0.1 or 198.18.0.1/24 (got \"%s\")",
			       where, buf);
	if (ifc->ip == 0 || ifc->ip >> 28 == 0xe || ifc->ip >> 28 == 0xf || ifc->ip >> 24 == 127)
		return mn_cfg_fail_at(c, s_ip, "'%s.ip' must be a unicast host address (got \"%s\")", where, buf);

	v = ifc->prefix_len;
	if ((r = mn_cfg_get_int(c, g, where, pk->name, pk->lo, pk->hi, &v, &pl_line)))
		return r;
	if (pl_line && ip_prefix >= 0)
		return mn_cfg_fail_line(c, pl_line, "%s: prefix given twice (in 'ip' as /%d and in 'prefix_len')",
				 where, ip_prefix);
	ifc->prefix_len = (uint8_t)(ip_prefix >= 0 ? ip_prefix : v);
	if (ifc->prefix_len <= 30) {
		uint32_t m = prefix_mask(ifc->prefix_len);

		if ((ifc->ip & ~m) == 0 || (ifc->ip & ~m) == ~m)
			return mn_cfg_fail_at(c, s_ip, "'%s.ip' %s is the network or broadcast address of its /%u subnet",
				       where, buf, ifc->prefix_len);
	}

	buf[0] = '\0';
	if ((r = mn_cfg_get_str(c, g, where, "gateway", buf, sizeof(buf), &s_gw)))
		return r;
	if (s_gw && buf[0]) {
		uint32_t m = prefix_mask(ifc->prefix_len);
		int gp;
		char a[16];

		if (parse_ipv4(buf, &ifc->gateway, &gp) || gp >= 0 || ifc->gateway == 0)
			return mn_cfg_fail_at(c, s_gw, "'%s.gateway' must be an IPv4 address or \"\" (got \"%s\")",
				       where, buf);
		if ((ifc->gateway & m) != (ifc->ip & m) || ifc->gateway == ifc->ip)
			return mn_cfg_fail_at(c, s_gw, "'%s.gateway' %s is not another host in the interface's subnet %s/%u",
				       where, buf, mn_cfg_ip_str(ifc->ip & m, a, sizeof(a)), ifc->prefix_len);
	}

	/* the plain rows (mtu, rx_checksum) */
	for (size_t i = K_IF_MTU; i < gd->n; i++) {
		int line;

		if ((r = mn_cfg_parse_key(c, g, where, &gd->keys[i], ifc, &line)))
			return r;
		if (i == K_IF_MTU)
			ln->mtu[idx] = line;
	}
	return 0;
}

int mn_cfg_parse_interfaces(struct ctx *c, const config_setting_t *root, struct lines *ln)
{
	struct mn_config *cfg = c->cfg;
	config_setting_t *l = config_setting_get_member(root, "interfaces");
	int n, r;

	if (!l)
		return mn_cfg_fail_line(c, 0, "missing required key 'interfaces' (a list of at least one interface)");
	if (config_setting_type(l) != CONFIG_TYPE_LIST)
		return mn_cfg_fail_at(c, l, "'interfaces' must be a list of groups: interfaces = ( { ... } );");
	n = config_setting_length(l);
	if (n < 1 || n > MN_CFG_MAX_IFACES)
		return mn_cfg_fail_at(c, l, "'interfaces' must hold 1..%d interfaces (got %d)", MN_CFG_MAX_IFACES, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		const struct mn_cfg_iface *a = &cfg->ifaces[i];

		if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			return mn_cfg_fail_at(c, g, "'interfaces[%d]' must be a group { name = ...; ip = ...; }", i);
		if ((r = parse_one_iface(c, g, (unsigned)i, ln)))
			return r;
		for (int j = 0; j < i; j++) {
			const struct mn_cfg_iface *b = &cfg->ifaces[j];
			size_t la = vdev_name_len(a->device), lb = vdev_name_len(b->device);
			char s[16];

			if (strcmp(a->name, b->name) == 0)
				return mn_cfg_fail_line(c, a->line, "interfaces[%d]: duplicate interface name '%s' (also interfaces[%d])",
						 i, a->name, j);
			if (a->ip == b->ip)
				return mn_cfg_fail_line(c, a->line, "interfaces[%d]: duplicate ip %s (also interfaces[%d])",
						 i, mn_cfg_ip_str(a->ip, s, sizeof(s)), j);
			if (la && la == lb && memcmp(a->device, b->device, la) == 0)
				return mn_cfg_fail_line(c, a->line, "interfaces[%d]: duplicate vdev name '%.*s' (also interfaces[%d])",
						 i, (int)la, a->device, j);
			if (a->pci[0] && strcmp(a->pci, b->pci) == 0)
				return mn_cfg_fail_line(c, a->line, "interfaces[%d]: duplicate pci %s (also interfaces[%d])",
						 i, a->pci, j);
			if (a->has_mac && b->has_mac && memcmp(a->mac, b->mac, 6) == 0)
				return mn_cfg_fail_line(c, a->line, "interfaces[%d]: duplicate mac (also interfaces[%d])", i, j);
		}
	}
	cfg->n_ifaces = (unsigned)n;
	return 0;
}
