/* mn_abi.h: the ABI between machnetd (the DPDK primary) and libmachnet (apps,
 * DPDK secondaries). Every struct, object name, request code and version that
 * crosses the process boundary lives here and nowhere else. Any change to a
 * layout below bumps MN_ABI_VERSION; a secondary refuses to attach to a
 * primary whose version differs.
 */
#ifndef MN_ABI_H
#define MN_ABI_H

#include <stdint.h>

#define MN_ABI_VERSION 1u

/* ===== Section 1: instance description and statistics (owner: machnetd core) ===== */

/* ===== end of section 1 ===== */

/* ===== Section 2: app slots, channels and control requests (owner: libmachnet) ===== */

/* ===== end of section 2 ===== */

#endif
