/* mn-rxcheck: captures the frames one sender puts on a link and judges each
 * with the codec (mn_wire_decode), so an injector's frames can be shown to
 * be exactly as malformed as they claim.
 *
 *   mn-rxcheck --iface IF --src-mac MAC --count N [--timeout-ms T]
 *              [--expect REASON] [--expect-nf FLAGS] [--distinct]
 *
 * Listens on IF (an AF_PACKET socket: every frame, before any stack sees
 * it), keeps the frames whose Ethernet source is MAC, and stops after N of
 * them or at the deadline. Prints "ready" once listening, one line per frame
 * ("frame LEN REASON ...") and a summary. Exit 0 only when N frames came and
 * each met every expectation given: REASON is a codec reason name
 * ("bad_ip_csum", "ok", ...), FLAGS the net_flags of accepted frames,
 * --distinct requires distinct (source IP, source port) pairs.
 * Exit status: 0 as expected, 1 not, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mn_toolutil.h"
#include "mn_wire.h"

#define RX_MAX_COUNT	100000ul

static int reason_of(const char *name)
{
	int r;

	for (r = 0; r < MN_RX__COUNT; r++)
		if (!strcmp(name, mn_rx_reason_str((enum mn_rx_reason)r)))
			return r;
	return -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	const char *iface = NULL;
	uint8_t mac[6];
	int have_mac = 0, distinct = 0, expect = -1, expect_nf = -1, fd, ifindex, i, rcvbuf = 8 << 20;
	unsigned long count = 0, timeout_ms = 5000, got = 0, bad = 0, v, dups = 0;
	unsigned long by_reason[MN_RX__COUNT] = { 0 };
	uint64_t *tuples = NULL, deadline;
	struct sockaddr_ll sll;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--distinct")) {
			distinct = 1;
			continue;
		}
		if (!val) {
			fprintf(stderr, "mn-rxcheck: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--iface")) {
			iface = val;
		} else if (!strcmp(a, "--src-mac") && !mn_tool_parse_mac(val, mac)) {
			have_mac = 1;
		} else if (!strcmp(a, "--count") && !mn_tool_parse_ul(val, RX_MAX_COUNT, &v) && v) {
			count = v;
		} else if (!strcmp(a, "--timeout-ms") && !mn_tool_parse_ul(val, 600000, &v) && v) {
			timeout_ms = v;
		} else if (!strcmp(a, "--expect") && (expect = reason_of(val)) >= 0) {
			;
		} else if (!strcmp(a, "--expect-nf") && !mn_tool_parse_ul(val, 255, &v)) {
			expect_nf = (int)v;
		} else {
			fprintf(stderr, "mn-rxcheck: bad option or value: %s %s\n", a, val);
			return 2;
		}
	}
	if (!iface || !have_mac || !count) {
		fprintf(stderr, "usage: mn-rxcheck --iface IF --src-mac MAC --count N [--timeout-ms T]\n"
				"                  [--expect REASON] [--expect-nf FLAGS] [--distinct]\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(iface);
	if (!ifindex) {
		fprintf(stderr, "mn-rxcheck: no interface '%s' here\n", iface);
		return 2;
	}
	tuples = calloc(count, sizeof(*tuples));
	if (!tuples) {
		perror("mn-rxcheck: calloc");
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("mn-rxcheck: socket(AF_PACKET) (needs CAP_NET_RAW)");
		free(tuples);
		return 1;
	}
	/* Room for a burst (root may exceed rmem_max); losing frames here
	 * would look like the sender's fault. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("mn-rxcheck: bind");
		goto fail;
	}
	printf("ready\n");
	fflush(stdout);

	deadline = mn_tool_mono_ns() + timeout_ms * 1000000u;
	while (got < count) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct mn_frame f;
		enum mn_rx_reason r;
		uint64_t now = mn_tool_mono_ns();
		ssize_t n;
		int ok = 1;

		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0 || (size_t)n > sizeof(buf))
			continue;
		/* Outgoing copies of our own frames are not what the peer sent. */
		if (from.sll_pkttype == PACKET_OUTGOING || n < 12 || memcmp(buf + 6, mac, 6))
			continue;
		r = mn_wire_decode(buf, (size_t)n, 0, &f);
		by_reason[r]++;
		if (expect >= 0 && (int)r != expect)
			ok = 0;
		if (r == MN_RX_OK) {
			if (expect_nf >= 0 && f.hdr.net_flags != expect_nf)
				ok = 0;
			tuples[got] = (uint64_t)f.addr.src_ip << 16 | f.addr.src_port;
			printf("frame %zd %s nf=0x%02x mf=0x%02x seq=%u ack=%u src=%u.%u.%u.%u:%u%s\n", n,
			       mn_rx_reason_str(r), f.hdr.net_flags, f.hdr.msg_flags, f.hdr.seqno,
			       f.hdr.ackno, f.addr.src_ip >> 24, (f.addr.src_ip >> 16) & 255,
			       (f.addr.src_ip >> 8) & 255, f.addr.src_ip & 255, f.addr.src_port,
			       ok ? "" : " UNEXPECTED");
		} else {
			if (expect_nf >= 0 || distinct)
				ok = 0;
			printf("frame %zd %s%s\n", n, mn_rx_reason_str(r), ok ? "" : " UNEXPECTED");
		}
		if (!ok)
			bad++;
		got++;
	}
	if (distinct && got > 1) {
		unsigned long k;

		qsort(tuples, got, sizeof(*tuples), cmp_u64);
		for (k = 1; k < got; k++)
			if (tuples[k] == tuples[k - 1])
				dups++;
	}
	printf("captured=%lu of %lu unexpected=%lu duplicate_tuples=%lu", got, count, bad, dups);
	for (i = 0; i < MN_RX__COUNT; i++)
		if (by_reason[i])
			printf(" %s=%lu", mn_rx_reason_str((enum mn_rx_reason)i), by_reason[i]);
	printf("\n");
	close(fd);
	free(tuples);
	return got == count && !bad && !dups ? 0 : 1;
fail:
	close(fd);
	free(tuples);
	return 1;
}
