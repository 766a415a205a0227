/* mn-inject: sends malformed or unsolicited machnet-mp frames from a raw
 * socket, and checks a stack's handshake from a plain Linux UDP socket.
 *
 *   mn-inject --iface IF --dst-mac MAC --dst-ip IP --dst-port P --kind K
 *             [--src-mac MAC] [--src-ip IP] [--src-port P] [--seq N] [--ack N]
 *             [--count N] [--rate R]
 *   mn-inject --syn --dst-ip IP --dst-port P [--src-ip IP] [--src-port P]
 *             [--timeout-ms T] [--tries N] [--complete]
 *
 * Defaults: --src-ip 198.18.1.10 and --src-port 40000 for raw frames (--syn:
 * the kernel's choice), --seq 1, --ack 1000, --count 1, --rate 1000,
 * --timeout-ms 1000, --tries 3.
 *
 * Raw mode builds each frame with the codec (mn_wire_encode, IP and UDP
 * checksums correct) and then damages exactly what --kind names, so a
 * receiver's counters can be checked reason by reason. --count frames are
 * sent at --rate frames/s (0: back to back). Kinds and the codec's verdict:
 *
 *   truncated-eth      14 bytes: Ethernet header only        too_short
 *   truncated-ip       cut inside the IP header (26 bytes)   too_short
 *   truncated-hdr      cut inside the 54-byte header (62 B)  too_short
 *   bad-ip-len         IP total length beyond the frame      bad_ip_len
 *   bad-udp-len        UDP length != IP length - 20          bad_udp_len
 *   bad-ip-csum        IP header checksum wrong              bad_ip_csum
 *   bad-udp-csum       UDP checksum wrong (and not 0)        bad_udp_csum
 *   bad-magic          magic 0x4e54                          bad_magic
 *   bad-net-flags      net_flags 0x04                        bad_net_flags
 *   bad-msg-flags      data with msg_flags 0x00              bad_msg_flags
 *   ctrl-with-payload  SYN carrying 16 bytes                 ctrl_with_payload
 *   rst-unknown        RST (seqno --seq) for no flow         ok (stack: ignore)
 *   ack-unknown        ACK 1/1 for no flow                   ok (stack: ignore)
 *   data-unknown       one-packet message for no flow        ok (stack: RST)
 *   ack-unsent         ACK with ackno --ack beyond what the stack sent on
 *                      the flow named by the ports           ok (stack: ignore)
 *   syn-flood          SYNs from distinct source IPs (from --src-ip on,
 *                      within 198.18.0.0/15) and ports       ok (stack: bounded)
 *
 * (A frame shorter than 14 bytes cannot be sent: the kernel refuses it.)
 *
 * --syn mode sends one SYN (the 54-byte header as UDP payload: magic 0x4e53,
 * net_flags 0x01, seqno 0, ackno 0) from a Linux UDP socket and waits, bounded,
 * for a SYN-ACK (net_flags 0x03, ackno 1); --tries resends after each timeout.
 * --complete answers the SYN-ACK with the ACK (seqno 1, ackno 1).
 * Prints "synack ok ..." and exits 0, or says what it got and exits 1.
 * Exit status: 0 done, 1 failure, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mn_toolutil.h"
#include "mn_wire.h"

#define INJ_MAX_FRAME	2048
#define INJ_DATA_LEN	32
#define INJ_MAX_COUNT	10000000ul
/* 198.18.0.0/15 */
#define NET_BENCH	0xc6120000u
#define NET_BENCH_MASK	0xfffe0000u

enum kind {
	K_TRUNC_ETH, K_TRUNC_IP, K_TRUNC_HDR, K_BAD_IP_LEN, K_BAD_UDP_LEN,
	K_BAD_IP_CSUM, K_BAD_UDP_CSUM, K_BAD_MAGIC, K_BAD_NET_FLAGS,
	K_BAD_MSG_FLAGS, K_CTRL_PAYLOAD, K_RST_UNKNOWN, K_ACK_UNKNOWN,
	K_DATA_UNKNOWN, K_ACK_UNSENT, K_SYN_FLOOD, K__COUNT
};

static const char *const kind_names[K__COUNT] = {
	"truncated-eth", "truncated-ip", "truncated-hdr", "bad-ip-len", "bad-udp-len",
	"bad-ip-csum", "bad-udp-csum", "bad-magic", "bad-net-flags",
	"bad-msg-flags", "ctrl-with-payload", "rst-unknown", "ack-unknown",
	"data-unknown", "ack-unsent", "syn-flood",
};

struct opts {
	const char *iface;
	int have_dst_mac, have_src_mac, syn_mode, complete;
	struct mn_l2l3 a;	/* dst/src MAC, IPs, ports */
	int have_dst_ip, have_src_ip, have_src_port;
	int kind;
	uint32_t seq, ack;
	unsigned long count, rate, timeout_ms, tries;
};

static int parse_ip(const char *s, uint32_t *host)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -1;
	*host = ntohl(in.s_addr);
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Builds frame i of the kind into buf; returns the number of bytes to send. */
static size_t build(const struct opts *o, unsigned long i, uint8_t *buf)
{
	struct mn_l2l3 a = o->a;
	struct mn_hdr h = { .magic = MN_MAGIC };
	uint32_t plen = 0;
	size_t len;
	uint8_t *ip = buf + MN_ETH_HLEN, *udp = ip + MN_IP_HLEN;
	uint32_t k;

	switch (o->kind) {
	case K_BAD_MSG_FLAGS:
		h.net_flags = MN_NF_DATA;
		h.msg_flags = 0x00;
		h.seqno = o->seq;
		h.ackno = MN_ACKNO_NONE;
		plen = INJ_DATA_LEN;
		break;
	case K_DATA_UNKNOWN:
	case K_TRUNC_ETH:
	case K_TRUNC_IP:
	case K_TRUNC_HDR:
	case K_BAD_IP_LEN:
	case K_BAD_UDP_LEN:
	case K_BAD_IP_CSUM:
	case K_BAD_UDP_CSUM:
	case K_BAD_MAGIC:
		h.net_flags = MN_NF_DATA;
		h.msg_flags = MN_MF_FIRST | MN_MF_LAST;
		h.seqno = o->seq;
		h.ackno = MN_ACKNO_NONE;
		plen = INJ_DATA_LEN;
		break;
	case K_BAD_NET_FLAGS:
		h.net_flags = 0x04;
		break;
	case K_CTRL_PAYLOAD:
		h.net_flags = MN_NF_SYN;
		plen = 16;
		break;
	case K_RST_UNKNOWN:
		h.net_flags = MN_NF_RST;
		h.seqno = o->seq;
		break;
	case K_ACK_UNKNOWN:
		h.net_flags = MN_NF_ACK;
		h.seqno = 1;
		h.ackno = 1;
		break;
	case K_ACK_UNSENT:
		h.net_flags = MN_NF_ACK;
		h.seqno = o->seq;
		h.ackno = o->ack;
		break;
	case K_SYN_FLOOD:
		h.net_flags = MN_NF_SYN;
		/* 4096 source addresses times 15 ports per address before a
		 * tuple repeats; addresses wrap inside 198.18.0.0/15. */
		k = (uint32_t)(i % 4096u);
		a.src_ip = NET_BENCH | ((a.src_ip + k) & ~NET_BENCH_MASK);
		a.src_port = (uint16_t)(1024u + (a.src_port + (i / 4096u) * 4099u) % 64512u);
		break;
	}
	for (k = 0; k < plen; k++)
		buf[MN_ALL_HLEN + k] = (uint8_t)(0xa0 + k + i);
	mn_wire_encode(buf, &a, &h, buf + MN_ALL_HLEN, plen, MN_ENC_CSUM_IP | MN_ENC_CSUM_UDP);
	len = MN_ALL_HLEN + plen;

	switch (o->kind) {
	case K_TRUNC_ETH:
		return MN_ETH_HLEN;
	case K_TRUNC_IP:
		return MN_ETH_HLEN + 12;
	case K_TRUNC_HDR:
		return MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN + 20;
	case K_BAD_IP_LEN:
		put16(ip + 2, (uint16_t)(get16(ip + 2) + 200));
		mn_wire_fill_csums(buf, plen);	/* only the length is wrong */
		put16(udp + 4, (uint16_t)(get16(ip + 2) - MN_IP_HLEN));
		break;
	case K_BAD_UDP_LEN:
		put16(udp + 4, (uint16_t)(get16(udp + 4) - 8));
		break;
	case K_BAD_IP_CSUM:
		put16(ip + 10, get16(ip + 10) ^ 0x5a5a);
		break;
	case K_BAD_UDP_CSUM: {
		uint16_t c = get16(udp + 6) ^ 0x5a5a;

		/* 0 would mean "no checksum", which is valid. */
		put16(udp + 6, c ? c : (uint16_t)(get16(udp + 6) ^ 0x1111));
		break;
	}
	case K_BAD_MAGIC:
		put16(buf + MN_ALL_HLEN - MN_HDR_LEN, MN_MAGIC + 1);
		mn_wire_fill_csums(buf, plen);
		break;
	default:
		break;
	}
	return len;
}

static int iface_mac(int fd, const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static int do_raw(struct opts *o)
{
	static uint8_t buf[INJ_MAX_FRAME];
	struct sockaddr_ll sll;
	unsigned long i, sent = 0, errors = 0;
	uint64_t next, gap_ns;
	int fd, ifindex, rc = 0;

	ifindex = (int)if_nametoindex(o->iface);
	if (!ifindex) {
		fprintf(stderr, "mn-inject: no interface '%s' here (run it inside the namespace)\n", o->iface);
		return 1;
	}
	/* Protocol 0: this socket only sends, it never receives. */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("mn-inject: socket(AF_PACKET) (needs CAP_NET_RAW)");
		return 1;
	}
	if (!o->have_src_mac && iface_mac(fd, o->iface, o->a.src_mac) < 0) {
		perror("mn-inject: SIOCGIFHWADDR");
		close(fd);
		return 1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, o->a.dst_mac, 6);

	gap_ns = o->rate ? 1000000000u / o->rate : 0;
	next = mn_tool_mono_ns();
	for (i = 0; i < o->count; i++) {
		size_t len = build(o, i, buf);

		if (gap_ns) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
					       .tv_nsec = (long)(next % 1000000000u) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			next += gap_ns;
		}
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			if (!errors)
				fprintf(stderr, "mn-inject: sendto: %s\n", strerror(errno));
			errors++;
		} else {
			sent++;
		}
	}
	printf("sent=%lu errors=%lu kind=%s\n", sent, errors, kind_names[o->kind]);
	if (errors)
		rc = 1;
	close(fd);
	return rc;
}

static void sin_of(uint32_t ip, uint16_t port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(ip);
	sa->sin_port = htons(port);
}

static int send_hdr(int fd, uint8_t nf, uint32_t seq, uint32_t ack)
{
	uint8_t p[MN_HDR_LEN];
	struct mn_hdr h = { .magic = MN_MAGIC, .net_flags = nf, .seqno = seq, .ackno = ack };

	mn_hdr_encode(p, &h);
	return send(fd, p, sizeof(p), 0) == (ssize_t)sizeof(p) ? 0 : -1;
}

static int do_syn(struct opts *o)
{
	struct sockaddr_in me, peer;
	unsigned long t;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("mn-inject: socket");
		return 1;
	}
	sin_of(o->have_src_ip ? o->a.src_ip : 0, o->a.src_port, &me);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("mn-inject: bind");
		goto fail;
	}
	sin_of(o->a.dst_ip, o->a.dst_port, &peer);
	/* connect: only the peer's datagrams reach this socket. */
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)) < 0) {
		perror("mn-inject: connect");
		goto fail;
	}
	for (t = 0; t < o->tries; t++) {
		uint64_t deadline = mn_tool_mono_ns() + o->timeout_ms * 1000000u;

		if (send_hdr(fd, MN_NF_SYN, 0, 0) < 0) {
			perror("mn-inject: send SYN");
			goto fail;
		}
		for (;;) {
			uint8_t buf[2048];
			struct pollfd pfd = { fd, POLLIN, 0 };
			struct mn_hdr h;
			uint64_t now = mn_tool_mono_ns();
			ssize_t n;

			if (now >= deadline)
				break;
			if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
				continue;
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0) {
				/* ICMP port unreachable comes back as ECONNREFUSED. */
				printf("reply error: %s\n", strerror(errno));
				continue;
			}
			if (n < MN_HDR_LEN) {
				printf("reply ignored: %zd bytes, shorter than the header\n", n);
				continue;
			}
			mn_hdr_decode(buf, &h);
			if (h.magic != MN_MAGIC || h.net_flags != MN_NF_SYNACK || h.ackno != 1 ||
			    n != MN_HDR_LEN) {
				printf("reply ignored: len=%zd magic=0x%04x net_flags=0x%02x seqno=%u ackno=%u\n",
				       n, h.magic, h.net_flags, h.seqno, h.ackno);
				continue;
			}
			if (o->complete && send_hdr(fd, MN_NF_ACK, 1, 1) < 0) {
				perror("mn-inject: send ACK");
				goto fail;
			}
			getsockname(fd, (struct sockaddr *)&me, &(socklen_t){ sizeof(me) });
			printf("synack ok seqno=%u ackno=%u from %s:%u to port %u try=%lu%s\n",
			       h.seqno, h.ackno, inet_ntoa(peer.sin_addr), o->a.dst_port,
			       ntohs(me.sin_port), t + 1, o->complete ? " ack sent" : "");
			close(fd);
			return 0;
		}
	}
	printf("no synack after %lu tries of %lu ms\n", o->tries, o->timeout_ms);
fail:
	close(fd);
	return 1;
}

static void usage(void)
{
	int k;

	fprintf(stderr,
		"usage: mn-inject --iface IF --dst-mac MAC --dst-ip IP --dst-port P --kind K\n"
		"                 [--src-mac MAC] [--src-ip IP] [--src-port P] [--seq N] [--ack N]\n"
		"                 [--count N] [--rate R]\n"
		"       mn-inject --syn --dst-ip IP --dst-port P [--src-ip IP] [--src-port P]\n"
		"                 [--timeout-ms T] [--tries N] [--complete]\n"
		"kinds:");
	for (k = 0; k < K__COUNT; k++)
		fprintf(stderr, " %s", kind_names[k]);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .kind = -1, .count = 1, .rate = 1000, .timeout_ms = 1000,
			  .tries = 3, .ack = 1000, .seq = 1 };
	unsigned long v;
	int i, k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--syn")) {
			o.syn_mode = 1;
			continue;
		}
		if (!strcmp(a, "--complete")) {
			o.complete = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return 0;
		}
		if (!val) {
			fprintf(stderr, "mn-inject: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--iface")) {
			o.iface = val;
		} else if (!strcmp(a, "--dst-mac") && !mn_tool_parse_mac(val, o.a.dst_mac)) {
			o.have_dst_mac = 1;
		} else if (!strcmp(a, "--src-mac") && !mn_tool_parse_mac(val, o.a.src_mac)) {
			o.have_src_mac = 1;
		} else if (!strcmp(a, "--dst-ip") && !parse_ip(val, &o.a.dst_ip)) {
			o.have_dst_ip = 1;
		} else if (!strcmp(a, "--src-ip") && !parse_ip(val, &o.a.src_ip)) {
			o.have_src_ip = 1;
		} else if (!strcmp(a, "--dst-port") && !mn_tool_parse_ul(val, 65535, &v) && v) {
			o.a.dst_port = (uint16_t)v;
		} else if (!strcmp(a, "--src-port") && !mn_tool_parse_ul(val, 65535, &v)) {
			o.a.src_port = (uint16_t)v;
			o.have_src_port = 1;
		} else if (!strcmp(a, "--seq") && !mn_tool_parse_ul(val, 0xffffffffu, &v)) {
			o.seq = (uint32_t)v;
		} else if (!strcmp(a, "--ack") && !mn_tool_parse_ul(val, 0xffffffffu, &v)) {
			o.ack = (uint32_t)v;
		} else if (!strcmp(a, "--count") && !mn_tool_parse_ul(val, INJ_MAX_COUNT, &v) && v) {
			o.count = v;
		} else if (!strcmp(a, "--rate") && !mn_tool_parse_ul(val, 10000000, &v)) {
			o.rate = v;
		} else if (!strcmp(a, "--timeout-ms") && !mn_tool_parse_ul(val, 600000, &v) && v) {
			o.timeout_ms = v;
		} else if (!strcmp(a, "--tries") && !mn_tool_parse_ul(val, 1000, &v) && v) {
			o.tries = v;
		} else if (!strcmp(a, "--kind")) {
			for (k = 0; k < K__COUNT; k++)
				if (!strcmp(val, kind_names[k]))
					o.kind = k;
			if (o.kind < 0) {
				fprintf(stderr, "mn-inject: unknown kind '%s'\n", val);
				usage();
				return 2;
			}
		} else {
			fprintf(stderr, "mn-inject: bad option or value: %s %s\n", a, val);
			usage();
			return 2;
		}
	}
	if (!o.have_dst_ip || !o.a.dst_port) {
		fprintf(stderr, "mn-inject: --dst-ip and --dst-port are required\n");
		usage();
		return 2;
	}
	if (o.syn_mode)
		return do_syn(&o);	/* without --src-port the kernel picks one */
	if (!o.have_src_port)
		o.a.src_port = 40000;
	if (!o.iface || !o.have_dst_mac || o.kind < 0) {
		fprintf(stderr, "mn-inject: raw mode needs --iface, --dst-mac and --kind\n");
		usage();
		return 2;
	}
	if (!o.have_src_ip)
		o.a.src_ip = NET_BENCH | 0x100u | 0x0a;	/* 198.18.1.10 */
	if ((o.a.src_ip & NET_BENCH_MASK) != NET_BENCH || (o.a.dst_ip & NET_BENCH_MASK) != NET_BENCH) {
		fprintf(stderr, "mn-inject: raw frames only use 198.18.0.0/15 addresses\n");
		return 2;
	}
	return do_raw(&o);
}
