/* mn_csum: Internet checksums (RFC 1071) for IPv4, UDP and ICMP.
 *
 * Pure C, no EAL: used by proto's codec, by machnetd's ARP/ICMP code and by
 * ports that have no TX checksum offload (memif, af_packet, af_xdp).
 *
 * The partial-sum form lets a caller sum a header and a payload that live in
 * different buffers (an mbuf chain) and fold once at the end.
 */
#ifndef MN_CSUM_H
#define MN_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds the 16-bit big-endian words of buf[0..len) to sum and returns the new
 * unfolded sum. An odd trailing byte is padded with zero. `odd_offset` says
 * whether buf starts at an odd byte offset of the checksummed stream (then
 * its bytes are swapped into place); pass 0 for the first piece. */
uint32_t mn_csum_partial(const void *buf, size_t len, uint32_t sum, int odd_offset);

/* Folds a partial sum to 16 bits and complements it: the value to store (in
 * network order use htons). Never returns 0 for UDP callers: see
 * mn_csum_udp_fixup(). */
uint16_t mn_csum_fold(uint32_t sum);

/* Checksum of an IPv4 header of ihl*4 bytes whose checksum field is taken
 * as zero. Returns the value in host order. */
uint16_t mn_csum_ipv4_hdr(const void *iphdr);

/* Returns 1 when an IPv4 header (checksum field included) sums correctly. */
int mn_csum_ipv4_hdr_ok(const void *iphdr);

/* Sum of the IPv4 pseudo-header for UDP: addresses in network order as they
 * appear in the IP header, udp_len in host order. */
uint32_t mn_csum_pseudo4(uint32_t saddr_be, uint32_t daddr_be, uint8_t proto,
                         uint16_t udp_len);

/* UDP checksum (host order) over pseudo-header, UDP header (whose checksum
 * field is taken as zero) and payload, which may be split into a header part
 * and a payload part. A computed 0 is sent as 0xFFFF (RFC 768). */
uint16_t mn_csum_udp4(const void *iphdr, const void *udp_and_head, size_t head_len,
                      const void *payload, size_t payload_len);

/* Returns 1 when a received UDP datagram's checksum is correct or absent (0).
 * `udp` points at the UDP header, followed contiguously by udp_len bytes. */
int mn_csum_udp4_ok(const void *iphdr, const void *udp, uint16_t udp_len);

#endif
