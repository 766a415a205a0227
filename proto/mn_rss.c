/* mn_rss: the Toeplitz hash and RETA lookup of a NIC's RSS. See mn_rss.h. */
#include "mn_rss.h"

bool mn_rss_valid(const struct mn_rss *r)
{
	return r != NULL && r->key_len >= MN_RSS_KEY_MIN && r->key_len <= MN_RSS_KEY_MAX &&
	       r->reta_size >= 1 && r->reta_size <= MN_RSS_RETA_MAX;
}

/* For every set bit of the input (most significant bit of in[0] first),
 * XOR the 32 key bits that start at that bit's position. */
uint32_t mn_rss_toeplitz(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len)
{
	uint32_t h = 0;

	for (size_t i = 0; i < len && i + 4 <= key_len; i++) {
		uint64_t k;

		if (in[i] == 0)
			continue;
		/* Key bytes i..i+4: the windows of this byte's 8 bits. */
		k = (uint64_t)key[i] << 32 | (uint64_t)key[i + 1] << 24 |
		    (uint64_t)key[i + 2] << 16 | (uint64_t)key[i + 3] << 8 |
		    (i + 4 < key_len ? key[i + 4] : 0);
		for (unsigned b = 0; b < 8; b++)
			if (in[i] & (0x80u >> b))
				h ^= (uint32_t)(k >> (8 - b));
	}
	return h;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint32_t mn_rss_hash_v4_udp(const struct mn_rss *r, uint32_t src_ip, uint32_t dst_ip,
			    uint16_t sport, uint16_t dport)
{
	uint8_t in[12];

	put32(in, src_ip);
	put32(in + 4, dst_ip);
	put16(in + 8, sport);
	put16(in + 10, dport);
	return mn_rss_toeplitz(r->key, r->key_len, in, sizeof(in));
}

uint16_t mn_rss_reply_queue(const struct mn_rss *r, uint32_t lip, uint16_t lport, uint32_t rip,
			    uint16_t rport)
{
	return mn_rss_queue(r, mn_rss_hash_v4_udp(r, rip, lip, rport, lport));
}

bool mn_rss_lands(const struct mn_rss *r, uint32_t lip, uint16_t lport, uint32_t rip,
		  uint16_t rport, uint16_t queue)
{
	return mn_rss_reply_queue(r, lip, lport, rip, rport) == queue;
}

uint32_t mn_rss_reply_base(const struct mn_rss *r, uint32_t lip, uint32_t rip, uint16_t rport)
{
	return mn_rss_hash_v4_udp(r, rip, lip, rport, 0);
}

uint32_t mn_rss_lport_part(const struct mn_rss *r, uint16_t lport)
{
	return mn_rss_hash_v4_udp(r, 0, 0, 0, lport);
}
