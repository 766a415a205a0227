/* mn_memif: what machnetd does around DPDK 22.11's memif PMD, whose
 * server socket outlives a crash, whose MAC is a devarg, and whose client
 * dials only in dev_start. Main thread; logs what it does.
 */
#ifndef MN_MEMIF_H
#define MN_MEMIF_H

#include "mn_config.h"
#include "mn_engine.h"
#include "mn_port.h"

/* Adds mac=<configured MAC> to every memif device string that has a MAC
 * in the config and none in its devargs. 0 or -ENAMETOOLONG (said). */
int mn_memif_mac_devargs(struct mn_config *cfg);

/* Removes the stale server sockets of cfg's memif servers (see the .c). */
void mn_memif_unlink_stale_sockets(const struct mn_config *cfg);

/* Every 100 ms for each port (index port, link state up from
 * mn_port_link_str, tick in 10 ms steps): restarts a memif client whose
 * link stays down, while the engines step back from it, and starts one
 * that mn_port_open left dialling (its server was not up yet). Logs
 * "<iface>: memif server up; connecting" when a dial that had found no
 * server gets through. */
void mn_memif_redial(struct mn_port *p, unsigned port, int up, unsigned tick,
		     const struct mn_engine *engines, unsigned n_engines);

#endif
