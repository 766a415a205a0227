#include "mn_csum.h"

#include <string.h>

/* Sum of buf[0..len) as 16-bit words in the CPU's byte order, folded to 16
 * bits. Every 1 KB payload is summed on each send and each receive on ports
 * without checksum offload (memif), and for 64 KiB messages these sums were
 * 60% of the stack's instructions (mn-cost under callgrind), so with gcc
 * and clang the bulk is added 64 bits at a time with its carries counted
 * (add, adc: half the instructions of the 32-bit-halves loop below, which
 * stays for other compilers). Both are exact: 2^16 = 1 modulo 2^16 - 1, so
 * any word width sums to the same ones'-complement value. */
static uint16_t sum_native16(const uint8_t *p, size_t len)
{
	uint64_t a = 0;
	uint64_t w0, w1;

#if defined(__GNUC__) || defined(__clang__)
	{
		uint64_t w2, w3, sum = 0, carries = 0;

		/* A 64-bit sum and its carries out of bit 63 (add, adc). */
		while (len >= 32) {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + 8, 8);
			memcpy(&w2, p + 16, 8);
			memcpy(&w3, p + 24, 8);
			carries += __builtin_add_overflow(sum, w0, &sum);
			carries += __builtin_add_overflow(sum, w1, &sum);
			carries += __builtin_add_overflow(sum, w2, &sum);
			carries += __builtin_add_overflow(sum, w3, &sum);
			p += 32;
			len -= 32;
		}
		while (len >= 8) {
			memcpy(&w0, p, 8);
			carries += __builtin_add_overflow(sum, w0, &sum);
			p += 8;
			len -= 8;
		}
		/* Each carry is worth 2^64 = 1 (end-around carry); below 2^32
		 * carries (2^35 bytes) a stays below 2^34, and it is 0 only for
		 * an all-zero sum. */
		a = (sum & 0xffffffffu) + (sum >> 32) + carries;
	}
#else
	{
		uint64_t b = 0;

		/* Eight bytes per step in 32-bit halves: the 64-bit accumulators
		 * cannot overflow below 2^35 bytes. */
		while (len >= 16) {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + 8, 8);
			a += (w0 & 0xffffffffu) + (w0 >> 32);
			b += (w1 & 0xffffffffu) + (w1 >> 32);
			p += 16;
			len -= 16;
		}
		a += b;
	}
#endif
	while (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		a += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the first byte of a zero-padded word. */
		uint16_t h = 0;

		memcpy(&h, p, 1);
		a += h;
	}
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	return (uint16_t)a;
}

static inline int little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;

	memcpy(&b, &one, 1);
	return b == 1;
}

uint32_t mn_csum_partial(const void *buf, size_t len, uint32_t sum, int odd_offset)
{
	uint32_t s;
	uint64_t acc;

	if (len == 0)
		return sum;
	s = sum_native16(buf, len);
	/* RFC 1071: a ones'-complement sum taken in the other byte order is the
	 * byte-swapped sum. A little-endian sum needs one swap to be the
	 * big-endian one; a piece at an odd stream offset needs one more. */
	if (little_endian() != (odd_offset != 0))
		s = (uint32_t)((s >> 8) | ((s & 0xff) << 8));
	acc = (uint64_t)sum + s;
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
