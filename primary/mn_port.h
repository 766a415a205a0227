/* mn_port: one configured interface as a started DPDK port.
 *
 * Finds the ethdev of a config interface (vdev name, PCI address or MAC),
 * gives it one RX/TX queue pair per engine (queue q fills from pools[q]),
 * sets MTU and MAC from the config, turns on IPv4/UDP TX checksum offload
 * where the device offers it, RSS over IPv4/UDP where the device has it and
 * there is more than one queue (then reads back the key and RETA), and
 * starts it. A memif client whose server
 * is not up yet cannot start (DPDK 22.11's memif dials only in dev_start):
 * its port is left configured, stopped and held (dialling), and
 * mn_memif_redial starts it once the server answers. Control path only.
 */
#ifndef MN_PORT_H
#define MN_PORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "mn_config.h"
#include "mn_rss.h"

struct mn_port {
	const struct mn_cfg_iface *cfg;
	uint16_t port_id;
	uint16_t n_queues;
	bool started;
	/* Held and stopped: a memif client waiting for its server (at open,
	 * or since the server went away); mn_memif_redial dials until a start
	 * succeeds, then releases the hold. */
	bool dialling;
	bool tx_csum_offload;	/* the NIC fills IPv4 and UDP checksums */
	/* RSS over IPv4/UDP with the key and RETA read back after start:
	 * engines' connects pick source ports whose replies land on their own
	 * queues (mn_port_pick). False without RSS (memif, af_packet, af_xdp,
	 * one queue) or when the key or RETA could not be read. */
	bool has_rss;
	struct mn_rss rss;
	struct rte_ether_addr mac;	/* as the port reports it after start */
	/* Odd while the main thread restarts the running port (the memif
	 * redial): DPDK's burst calls must not race dev_stop/dev_start, so the
	 * engines leave the port alone and acknowledge the value they saw in
	 * their mn_engine_port.parked. */
	_Atomic uint32_t hold;
	/* Times the main thread saw the link come up (down -> up); the
	 * engines' ARP forgets resolutions that failed before (mn_neigh). */
	_Atomic uint32_t link_ups;
};

/* Opens ifc as described above. Returns 0, or -errno with err holding a
 * message that names the device and the reason. On failure nothing is left
 * started. 0 with out->dialling set: a memif client whose server is not up
 * (its hold word is odd, so the engines never touch it until it starts). */
int mn_port_open(const struct mn_cfg_iface *ifc, uint16_t n_engines,
                 struct rte_mempool *const *pools, struct mn_port *out,
                 char *err, size_t errlen);

/* Writes "link0 (port 0): up 10 Gbps full-duplex" or "... down" to buf. Returns
 * 1 when the link is up, 0 when down. */
int mn_port_link_str(const struct mn_port *p, char *buf, size_t len);

/* Stops and closes the port (idempotent). */
void mn_port_close(struct mn_port *p);

#endif
