#include "mn_csum.h"

#include <string.h>

uint32_t mn_csum_partial(const void *buf, size_t len, uint32_t sum, int odd_offset)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	if (len == 0)
		return sum;
	/* A piece that starts at an odd stream offset contributes its first
	 * byte as the low half of a word; summing it swapped and swapping the
	 * result back is equivalent (RFC 1071 byte-order independence). */
	if (odd_offset) {
		acc += *p++;
		len--;
	}
	while (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

static uint16_t fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t mn_csum_fold(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

uint16_t mn_csum_ipv4_hdr(const void *iphdr)
{
	const uint8_t *ip = iphdr;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	uint32_t sum = mn_csum_partial(ip, 10, 0, 0);

	/* Skip the checksum field (bytes 10-11) itself. */
	sum = mn_csum_partial(ip + 12, hlen - 12, sum, 0);
	return mn_csum_fold(sum);
}

int mn_csum_ipv4_hdr_ok(const void *iphdr)
{
	const uint8_t *ip = iphdr;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;

	return fold16(mn_csum_partial(ip, hlen, 0, 0)) == 0xffff;
}

uint32_t mn_csum_pseudo4(uint32_t saddr_be, uint32_t daddr_be, uint8_t proto,
                         uint16_t udp_len)
{
	uint8_t ph[12];

	memcpy(ph, &saddr_be, 4);
	memcpy(ph + 4, &daddr_be, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(udp_len >> 8);
	ph[11] = (uint8_t)udp_len;
	return mn_csum_partial(ph, sizeof(ph), 0, 0);
}

uint16_t mn_csum_udp4(const void *iphdr, const void *udp_and_head, size_t head_len,
                      const void *payload, size_t payload_len)
{
	const uint8_t *ip = iphdr;
	const uint8_t *udp = udp_and_head;
	uint32_t saddr, daddr;
	uint32_t sum;
	uint16_t res;

	memcpy(&saddr, ip + 12, 4);
	memcpy(&daddr, ip + 16, 4);
	sum = mn_csum_pseudo4(saddr, daddr, 17, (uint16_t)(head_len + payload_len));
	sum = mn_csum_partial(udp, 6, sum, 0);		/* ports and length */
	sum = mn_csum_partial(udp + 8, head_len - 8, sum, 0);
	sum = mn_csum_partial(payload, payload_len, sum, (int)(head_len & 1));
	res = mn_csum_fold(sum);
	return res == 0 ? 0xffff : res;
}

int mn_csum_udp4_ok(const void *iphdr, const void *udp, uint16_t udp_len)
{
	const uint8_t *ip = iphdr;
	const uint8_t *u = udp;
	uint32_t saddr, daddr, sum;

	if (u[6] == 0 && u[7] == 0)
		return 1;	/* checksum not used by the sender */
	memcpy(&saddr, ip + 12, 4);
	memcpy(&daddr, ip + 16, 4);
	sum = mn_csum_pseudo4(saddr, daddr, 17, udp_len);
	sum = mn_csum_partial(u, udp_len, sum, 0);
	return fold16(sum) == 0xffff;
}
