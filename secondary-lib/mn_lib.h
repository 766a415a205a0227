/* mn_lib: libmachnet's internal helpers that need no EAL (unit-tested alone).
 * Each returns 0 or -errno unless it says otherwise. */
#ifndef MN_LIB_H
#define MN_LIB_H

#include <stddef.h>
#include <stdint.h>

#include "machnet.h"

/* Dotted-quad IPv4 to host order; -EINVAL for NULL or anything else. */
int mn_lib_parse_ip(const char *s, uint32_t *out);

/* Instance names are DPDK file prefixes and file names: [A-Za-z0-9_-]{1,31}. */
int mn_lib_check_instance(const char *name);

/* A message size: -EINVAL for 0, -EMSGSIZE above MACHNET_MSG_MAX_LEN. */
int mn_lib_check_size(size_t len);

/* msghdr to send: non-NULL, iovecs non-NULL where len > 0, lengths adding up
 * to msg_size (checked without overflow). */
int mn_lib_check_msghdr(const MachnetMsgHdr_t *h);

/* Scans EAL arguments: -EINVAL unless --proc-type=secondary (or
 * "--proc-type secondary") is there. Sets *has_lcores when -l, -c or
 * --lcores is given, and copies the --file-prefix value (or "rte") to
 * prefix. */
int mn_lib_scan_eal_args(int argc, char *const *argv, int *has_lcores, char *prefix,
			 size_t prefix_len);

/* DPDK's runtime directory for a prefix, as EAL computes it:
 * /var/run/dpdk/<prefix> for root, else $XDG_RUNTIME_DIR or /tmp. */
void mn_lib_runtime_dir(const char *prefix, char *out, size_t len);

/* Where app lcore lock files live: /run/machnet for root, else
 * $XDG_RUNTIME_DIR/machnet or /tmp/machnet. */
void mn_lib_lock_dir(char *out, size_t len);

/* Is a live primary serving prefix? Looks at <runtime dir>/config, which
 * every DPDK primary holds write-locked while it lives. 0: yes (*pid set),
 * -ENOENT: no (why in msg). */
int mn_lib_primary_alive(const char *prefix, int *pid, char *msg, size_t msglen);

/* Number of segments for len bytes with room bytes per segment. */
static inline uint32_t mn_lib_nsegs(size_t len, uint32_t room)
{
	return (uint32_t)((len + room - 1) / room);
}

#endif
