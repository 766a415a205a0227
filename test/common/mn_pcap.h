/* mn_pcap: a reader for classic pcap files (test support only).
 *
 * Reads a whole capture into memory: either byte order, microsecond
 * (0xa1b2c3d4) or nanosecond (0xa1b23c4d) timestamps. pcapng is not read.
 * Self-contained (libc only) so a test can compile mn_pcap.c directly.
 */
#ifndef MN_PCAP_H
#define MN_PCAP_H

#include <stdint.h>

struct mn_pcap_pkt {
	double t;		/* capture time, seconds since the epoch */
	uint32_t len;		/* captured length: bytes at data */
	uint8_t *data;		/* malloc'd, exactly len bytes */
};

/* Returns the number of packets (>= 0) and a malloc'd array in *out, or
 * -errno (-EINVAL for a file that is not classic pcap or is cut short). */
int mn_pcap_load(const char *path, struct mn_pcap_pkt **out);

/* Frees what mn_pcap_load returned; pkts may be NULL. */
void mn_pcap_free(struct mn_pcap_pkt *pkts, int n);

#endif
