/* mn_port: DPDK port setup. See mn_port.h. */
#include "mn_port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>

#define MN_RX_DESC 1024
#define MN_TX_DESC 1024

/* A memif client dials its server in dev_start: when nobody listens yet the
 * start fails, and that is a state to wait in, not an error. */
static bool memif_client(const struct mn_cfg_iface *ifc)
{
	return strncmp(ifc->device, "net_memif", 9) == 0 && strstr(ifc->device, "role=client");
}

static int find_port(const struct mn_cfg_iface *ifc, uint16_t *pid, char *err, size_t errlen)
{
	char name[MN_CFG_STR_LEN];
	uint16_t p;

	if (ifc->device[0]) {
		/* The ethdev of a vdev is named by the device string up to the
		 * first comma ("net_memif0"). */
		snprintf(name, sizeof(name), "%s", ifc->device);
		name[strcspn(name, ",")] = '\0';
	} else if (ifc->pci[0]) {
		snprintf(name, sizeof(name), "%s", ifc->pci);
	} else {
		RTE_ETH_FOREACH_DEV(p) {
			struct rte_ether_addr a;

			if (rte_eth_macaddr_get(p, &a) == 0 && memcmp(a.addr_bytes, ifc->mac, 6) == 0) {
				*pid = p;
				return 0;
			}
		}
		snprintf(err, errlen, "%s: no port has MAC %02x:%02x:%02x:%02x:%02x:%02x "
			 "(is the NIC bound to a DPDK driver?)", ifc->name, ifc->mac[0], ifc->mac[1],
			 ifc->mac[2], ifc->mac[3], ifc->mac[4], ifc->mac[5]);
		return -ENODEV;
	}
	if (rte_eth_dev_get_port_by_name(name, pid) != 0) {
		snprintf(err, errlen, "%s: no DPDK port named '%s' (device '%s' was not probed: "
			 "check the device string and the EAL log above)", ifc->name, name,
			 ifc->device[0] ? ifc->device : ifc->pci);
		return -ENODEV;
	}
	return 0;
}

/* RSS for IPv4/UDP where the device hashes it and the port has queues to
 * spread over; the driver's own key (read back after start) and its
 * default RETA (round robin over the queues). DPDK 22.11 cannot choose the
 * hash function: drivers default to Toeplitz, which mn_rss predicts; a
 * device that uses another costs steering, never correctness. */
static bool rss_wanted(const struct rte_eth_dev_info *info, uint16_t n_queues)
{
	return n_queues > 1 && (info->flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_UDP) &&
	       info->reta_size >= 1 && info->reta_size <= MN_RSS_RETA_MAX &&
	       info->hash_key_size >= MN_RSS_KEY_MIN && info->hash_key_size <= MN_RSS_KEY_MAX;
}

/* After start: the key and the RETA the NIC uses. Any failure, or an entry
 * naming a queue we did not set up, leaves has_rss false (connects then
 * follow the stride rule alone and steering delivers). */
static void rss_read(struct mn_port *out, const struct rte_eth_dev_info *info)
{
	struct rte_eth_rss_reta_entry64 reta[MN_RSS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_conf rc;
	struct mn_rss *r = &out->rss;
	uint16_t n = info->reta_size;

	memset(&rc, 0, sizeof(rc));
	rc.rss_key = r->key;
	rc.rss_key_len = info->hash_key_size;
	if (rte_eth_dev_rss_hash_conf_get(out->port_id, &rc) != 0 ||
	    !(rc.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_UDP))
		return;
	memset(reta, 0, sizeof(reta));
	for (uint16_t g = 0; g < (n + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE; g++)
		reta[g].mask = UINT64_MAX;
	if (rte_eth_dev_rss_reta_query(out->port_id, reta, n) != 0)
		return;
	for (uint16_t k = 0; k < n; k++) {
		r->reta[k] = reta[k / RTE_ETH_RETA_GROUP_SIZE].reta[k % RTE_ETH_RETA_GROUP_SIZE];
		if (r->reta[k] >= out->n_queues)
			return;
	}
	r->key_len = info->hash_key_size;
	r->reta_size = n;
	out->has_rss = mn_rss_valid(r);
}

int mn_port_open(const struct mn_cfg_iface *ifc, uint16_t n_engines,
                 struct rte_mempool *const *pools, struct mn_port *out,
                 char *err, size_t errlen)
{
	const uint64_t csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_txconf txconf;
	uint16_t nb_rxd = MN_RX_DESC, nb_txd = MN_TX_DESC;
	const char *dev;
	/* Queue q is received by engine q % n_engines, into its pool. */
	uint16_t pid, n_queues = ifc->queues ? ifc->queues : n_engines;
	bool want_rss;
	int rc, socket;

	memset(out, 0, sizeof(*out));
	out->cfg = ifc;
	rc = find_port(ifc, &pid, err, errlen);
	if (rc)
		return rc;
	dev = ifc->device[0] ? ifc->device : ifc->pci[0] ? ifc->pci : ifc->name;
	out->port_id = pid;
	out->n_queues = n_queues;

	rc = rte_eth_dev_info_get(pid, &info);
	if (rc) {
		snprintf(err, errlen, "%s (%s): rte_eth_dev_info_get: %s", ifc->name, dev,
			 rte_strerror(-rc));
		return rc;
	}
	if (info.max_rx_queues < n_queues || info.max_tx_queues < n_queues) {
		snprintf(err, errlen, "%s (%s): %u engines (queues %u) need %u RX/TX queues, the "
			 "device has %u/%u (af_packet: add qpairs=%u to the device string)", ifc->name,
			 dev, n_engines, ifc->queues, n_queues, info.max_rx_queues, info.max_tx_queues,
			 n_queues);
		return -EINVAL;
	}

	memset(&conf, 0, sizeof(conf));
	if ((info.tx_offload_capa & csum) == csum) {
		conf.txmode.offloads = csum;
		out->tx_csum_offload = true;
	}
	/* RX interrupts wake a sleeping engine (mn_rxintr); PMDs without
	 * them ignore the flag. RSS spreads flows over the queues (software
	 * steering delivers what lands elsewhere without it). A device that
	 * refuses one is configured without it: intr first, then RSS, then
	 * both. */
	want_rss = rss_wanted(&info, n_queues);
	rc = -EINVAL;
	for (unsigned drop = 0; drop < 4 && rc; drop++) {
		bool intr = ifc->rx_interrupts && !(drop & 1), rss = want_rss && !(drop & 2);

		if ((drop & 1 && !ifc->rx_interrupts) || (drop & 2 && !want_rss))
			continue;	/* the same as an attempt made */
		conf.intr_conf.rxq = intr ? 1 : 0;
		conf.rxmode.mq_mode = rss ? RTE_ETH_MQ_RX_RSS : RTE_ETH_MQ_RX_NONE;
		conf.rx_adv_conf.rss_conf.rss_hf = rss ? RTE_ETH_RSS_NONFRAG_IPV4_UDP : 0;
		rc = rte_eth_dev_configure(pid, n_queues, n_queues, &conf);
	}
	if (rc) {
		snprintf(err, errlen, "%s (%s): rte_eth_dev_configure(%u queues): %s", ifc->name,
			 dev, n_queues, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_set_mtu(pid, ifc->mtu);
	if (rc == -ENOTSUP) {
		uint16_t cur = 0;

		/* Some vdevs (memif) cannot change MTU; fine if it already fits. */
		if (rte_eth_dev_get_mtu(pid, &cur) == 0 && cur < ifc->mtu) {
			snprintf(err, errlen, "%s (%s): MTU %u wanted, the device has %u and cannot "
				 "change it", ifc->name, dev, ifc->mtu, cur);
			goto fail_close;
		}
	} else if (rc) {
		snprintf(err, errlen, "%s (%s): rte_eth_dev_set_mtu(%u): %s", ifc->name, dev,
			 ifc->mtu, rte_strerror(-rc));
		goto fail_close;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
	if (rc) {
		snprintf(err, errlen, "%s (%s): rte_eth_dev_adjust_nb_rx_tx_desc: %s", ifc->name,
			 dev, rte_strerror(-rc));
		goto fail_close;
	}
	socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)SOCKET_ID_ANY;
	txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < n_queues; q++) {
		rc = rte_eth_rx_queue_setup(pid, q, nb_rxd, (unsigned)socket, NULL,
					    pools[q % n_engines]);
		if (rc) {
			snprintf(err, errlen, "%s (%s): rte_eth_rx_queue_setup(queue %u): %s",
				 ifc->name, dev, q, rte_strerror(-rc));
			goto fail_close;
		}
		rc = rte_eth_tx_queue_setup(pid, q, nb_txd, (unsigned)socket, &txconf);
		if (rc) {
			snprintf(err, errlen, "%s (%s): rte_eth_tx_queue_setup(queue %u): %s",
				 ifc->name, dev, q, rte_strerror(-rc));
			goto fail_close;
		}
	}
	if (ifc->has_mac) {
		struct rte_ether_addr want, cur;

		memcpy(want.addr_bytes, ifc->mac, 6);
		rc = rte_eth_dev_default_mac_addr_set(pid, &want);
		if (rc && (rte_eth_macaddr_get(pid, &cur) != 0 ||
			   !rte_is_same_ether_addr(&cur, &want))) {
			snprintf(err, errlen, "%s (%s): cannot set MAC %02x:%02x:%02x:%02x:%02x:%02x: "
				 "%s (for memif put mac=... in the device string)", ifc->name, dev,
				 want.addr_bytes[0], want.addr_bytes[1], want.addr_bytes[2],
				 want.addr_bytes[3], want.addr_bytes[4], want.addr_bytes[5],
				 rte_strerror(-rc));
			goto fail_close;
		}
	}
	rc = rte_eth_dev_start(pid);
	if (rc && memif_client(ifc)) {
		/* Held before any engine runs: odd hold, nothing to wait for. */
		atomic_store_explicit(&out->hold, 1, memory_order_release);
		out->dialling = true;
	} else if (rc) {
		snprintf(err, errlen, "%s (%s): rte_eth_dev_start: %s", ifc->name, dev,
			 rte_strerror(-rc));
		goto fail_close;
	} else {
		out->started = true;
		if (conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS)
			rss_read(out, &info);
	}
	/* memif's MAC is a devarg: known before the port starts. */
	rc = rte_eth_macaddr_get(pid, &out->mac);
	if (rc) {
		snprintf(err, errlen, "%s (%s): rte_eth_macaddr_get: %s", ifc->name, dev,
			 rte_strerror(-rc));
		goto fail_stop;
	}
	return 0;

fail_stop:
	if (out->started)
		rte_eth_dev_stop(pid);
	out->started = false;
	out->dialling = false;
fail_close:
	rte_eth_dev_close(pid);
	return rc ? rc : -EINVAL;
}

int mn_port_link_str(const struct mn_port *p, char *buf, size_t len)
{
	struct rte_eth_link link;

	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(p->port_id, &link) != 0)
		link.link_status = RTE_ETH_LINK_DOWN;
	if (link.link_status == RTE_ETH_LINK_UP)
		snprintf(buf, len, "%s (port %u): up, %u Mbps, %s-duplex", p->cfg->name,
			 p->port_id, link.link_speed,
			 link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half");
	else
		snprintf(buf, len, "%s (port %u): down", p->cfg->name, p->port_id);
	return link.link_status == RTE_ETH_LINK_UP;
}

void mn_port_close(struct mn_port *p)
{
	if (!p->cfg)
		return;
	if (p->started)
		rte_eth_dev_stop(p->port_id);
	p->started = false;
	p->dialling = false;
	rte_eth_dev_close(p->port_id);
	p->cfg = NULL;
}
