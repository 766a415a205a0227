/* mn_memif: memif PMD workarounds. See mn_memif.h. */
#include "mn_memif.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "mn_log.h"

/* memif cannot change its MAC once probed (mac_addr_set is not supported):
 * hand the configured MAC to it as a devarg instead. */
int mn_memif_mac_devargs(struct mn_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		struct mn_cfg_iface *f = &cfg->ifaces[i];
		size_t len = strlen(f->device);
		int n;

		if (!f->has_mac || strncmp(f->device, "net_memif", 9) != 0 ||
		    strstr(f->device, "mac=") != NULL)
			continue;
		n = snprintf(f->device + len, sizeof(f->device) - len,
			     ",mac=%02x:%02x:%02x:%02x:%02x:%02x", f->mac[0], f->mac[1],
			     f->mac[2], f->mac[3], f->mac[4], f->mac[5]);
		if (n < 0 || (size_t)n >= sizeof(f->device) - len) {
			f->device[len] = '\0';
			mn_log("%s: device string too long to add mac=", f->name);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

/* The memif PMD of DPDK 22.11 does not unlink its server socket at a crash
 * and refuses to start when the path exists ("Address already in use"), so a
 * machnetd killed with SIGKILL could not be restarted. We hold the instance
 * lock, so a server socket of ours that nobody accepts on is stale: remove
 * it. A socket someone listens on (another process's) is left alone. */
void mn_memif_unlink_stale_sockets(const struct mn_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_ifaces; i++) {
		const char *dev = cfg->ifaces[i].device, *p;
		struct sockaddr_un sa;
		struct stat st;
		size_t len;
		int fd, r;

		if (strncmp(dev, "net_memif", 9) != 0 || strstr(dev, "role=client") ||
		    strstr(dev, "socket-abstract=no") == NULL || (p = strstr(dev, "socket=")) == NULL)
			continue;
		p += 7;
		len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(sa.sun_path))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, p, len);
		if (lstat(sa.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r != 0 && errno == ECONNREFUSED && unlink(sa.sun_path) == 0)
			mn_log("%s: removed stale memif socket %s (left by a process that died)",
			    cfg->ifaces[i].name, sa.sun_path);
	}
}

/* Takes port i away from the engines: raises its hold word and waits
 * (bounded) until every engine has stepped back. true when they all did;
 * otherwise the hold is dropped again and false returned. */
static bool port_hold(struct mn_port *p, unsigned port, const struct mn_engine *engines,
		      unsigned n_engines)
{
	uint32_t h = atomic_fetch_add_explicit(&p->hold, 1, memory_order_acq_rel) + 1;
	struct timespec ts = { 0, 100 * 1000 };

	for (unsigned e = 0; e < n_engines; e++) {
		unsigned waited_us = 0;

		while (!mn_engine_port_parked(&engines[e], port, h)) {
			if (waited_us >= 200 * 1000) {
				atomic_fetch_add_explicit(&p->hold, 1, memory_order_acq_rel);
				return false;
			}
			nanosleep(&ts, NULL);
			waited_us += 100;
		}
	}
	return true;
}

static void port_release(struct mn_port *p)
{
	atomic_fetch_add_explicit(&p->hold, 1, memory_order_acq_rel);
}

/* The memif PMD of DPDK 22.11 dials its server only in dev_start: once the
 * server has gone (crashed, restarted), a client's link stays down for good,
 * and a client started before its server cannot start at all (mn_port_open
 * then leaves it held and stopped: p->dialling). While a memif client's
 * link is down, stop and start the port about once a second so it dials
 * again. The engines step back from the port meanwhile (port_hold): a burst
 * call racing dev_stop/dev_start is undefined in DPDK, and on a stopped port
 * it lands in ethdev's dummy functions, which log and dump a stack on every
 * call. Called every 100 ms (tick counts 10 ms steps). */
void mn_memif_redial(struct mn_port *p, unsigned port, int up, unsigned tick,
		     const struct mn_engine *engines, unsigned n_engines)
{
	static unsigned down_since[MN_CFG_MAX_IFACES];
	static bool waited[MN_CFG_MAX_IFACES];	/* a dial found no server */
	unsigned i = port;
	const char *dev = p->cfg ? p->cfg->device : "";

	if (i >= MN_CFG_MAX_IFACES || strncmp(dev, "net_memif", 9) != 0 ||
	    strstr(dev, "role=client") == NULL || (!p->started && !p->dialling))
		return;
	if (up == 1) {
		down_since[i] = 0;
		return;
	}
	if (down_since[i] == 0) {
		/* Dialling since it opened (no server then, logged by machnetd):
		 * the first start that succeeds is the server coming up, even
		 * when no redial failed before it. */
		if (p->dialling)
			waited[i] = true;
		down_since[i] = tick;
		return;
	}
	if ((tick - down_since[i]) % 100 != 0)
		return;
	if (!p->dialling) {
		if (!port_hold(p, port, engines, n_engines))
			return;	/* an engine did not step back in time: next round */
		rte_eth_dev_stop(p->port_id);
		p->started = false;
		p->dialling = true;
	}
	/* A start that cannot reach the server leaves the port stopped: the
	 * engines stay away from it until one succeeds. */
	if (rte_eth_dev_start(p->port_id) == 0) {
		p->started = true;
		p->dialling = false;
		port_release(p);
		if (waited[i])
			mn_log("%s: memif server up; connecting", p->cfg->name);
		waited[i] = false;
	} else {
		waited[i] = true;
		if ((tick - down_since[i]) % 1000 == 0)
			mn_log("%s: memif server not up yet; still dialling", p->cfg->name);
	}
}
