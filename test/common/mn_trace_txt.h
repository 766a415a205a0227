/* mn_trace_txt: parser for the decoded Machnet traces (decode.py's .txt).
 *
 * One struct per frame line; hex dumps, comments and the summary block are
 * skipped. Test support only; libc only.
 */
#ifndef MN_TRACE_TXT_H
#define MN_TRACE_TXT_H

#include <stdint.h>

enum mn_trace_dir { MN_TRACE_A_TO_B = 0, MN_TRACE_B_TO_A = 1, MN_TRACE_DIR_UNKNOWN = 2 };

struct mn_trace_line {
	int idx;
	double t;
	enum mn_trace_dir dir;
	int is_arp, is_ipv4, is_machnet;
	uint32_t frame_len;
	uint8_t eth_dst[6], eth_src[6];	/* ARP lines only */
	/* ARP */
	uint16_t arp_op;
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;		/* host order */
	/* IPv4 / UDP */
	uint8_t ver_ihl, tos, ttl, proto, df, mf;
	uint16_t tot_len, ip_id, frag_off, ip_csum;
	uint32_t src_ip, dst_ip;	/* host order */
	uint16_t src_port, dst_port, udp_len, udp_csum;
	/* Machnet header */
	uint16_t magic;
	uint8_t net_flags, msg_flags;
	uint32_t seqno, ackno;
	uint16_t sack_count;
	uint64_t sack_words[4];		/* decode.py's four big-endian u64 words */
	uint64_t timestamp1;
	uint32_t payload_len;
	int lost;			/* "[LOST" annotation */
};

/* Parses a trace. Returns the number of frame lines and a malloc'd array in
 * *out (free() it), or -errno (-EINVAL on a line it cannot read). */
int mn_trace_load(const char *path, struct mn_trace_line **out);

#endif
