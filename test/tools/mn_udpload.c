/* mn-udpload: a Linux UDP sender and receiver that measure what a faulty
 * link did to a numbered stream: loss, duplicates, damaged payloads, the
 * longest silence and the throughput.
 *
 *   mn-udpload send --dst IP --port P [--count N] [--size S] [--pps R]
 *                   [--duration-ms D]
 *   mn-udpload recv --bind IP --port P --count N [--timeout-ms T] [--idle-ms I]
 *
 * Every datagram carries a magic, its sequence number and a pattern derived
 * from both, so the receiver can tell a duplicate from a damaged copy. The
 * receiver prints "ready" once bound, then key=value results; times are
 * CLOCK_REALTIME seconds so a script can compare them with `date +%s.%N`.
 * sock_drops is the socket's own drop count (SO_RXQ_OVFL), which includes
 * datagrams the kernel rejected for a bad UDP checksum.
 * Exit status: 0 done, 1 runtime error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UL_MAGIC	0x4d4e5544u	/* "MNUD" */
#define UL_HDR		8		/* magic + seq */
#define UL_MAX_SIZE	65000
#define UL_MAX_COUNT	10000000u
#define UL_WIRE_EXTRA	42		/* Ethernet 14 + IPv4 20 + UDP 8 */

struct opts {
	const char *ip;
	unsigned port;
	unsigned long count;
	unsigned size;
	unsigned long pps;
	unsigned long duration_ms;
	unsigned long timeout_ms;
	unsigned long idle_ms;
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint8_t pattern(uint32_t seq, unsigned i)
{
	return (uint8_t)(seq * 131u + i * 7u + 1u);
}

static void fill(uint8_t *buf, unsigned size, uint32_t seq)
{
	uint32_t m = htonl(UL_MAGIC), s = htonl(seq);
	unsigned i;

	memcpy(buf, &m, 4);
	memcpy(buf + 4, &s, 4);
	for (i = UL_HDR; i < size; i++)
		buf[i] = pattern(seq, i);
}

/* 0 and *seq for an intact datagram, -1 for a damaged one. */
static int check(const uint8_t *buf, size_t len, unsigned size, uint32_t *seq)
{
	uint32_t m, s;
	unsigned i;

	if (len != size)
		return -1;
	memcpy(&m, buf, 4);
	memcpy(&s, buf + 4, 4);
	if (ntohl(m) != UL_MAGIC)
		return -1;
	*seq = ntohl(s);
	for (i = UL_HDR; i < size; i++)
		if (buf[i] != pattern(*seq, i))
			return -1;
	return 0;
}

static int parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int addr_of(const char *ip, unsigned port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static int do_send(const struct opts *o)
{
	static uint8_t buf[UL_MAX_SIZE];
	struct sockaddr_in dst;
	uint64_t t0, next, gap_ns, deadline;
	unsigned long sent = 0, errors = 0, i;
	int fd;

	if (addr_of(o->ip, o->port, &dst) < 0) {
		fprintf(stderr, "mn-udpload: bad --dst '%s'\n", o->ip);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("mn-udpload: socket");
		return 1;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	gap_ns = o->pps ? 1000000000u / o->pps : 0;
	deadline = o->duration_ms ? t0 + o->duration_ms * 1000000u : UINT64_MAX;
	next = t0;
	for (i = 0; i < o->count; i++) {
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (gap_ns) {
			struct timespec ts = {
				.tv_sec = (time_t)(next / 1000000000u),
				.tv_nsec = (long)(next % 1000000000u),
			};
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			next += gap_ns;
		}
		fill(buf, o->size, (uint32_t)i);
		/* A link that is down or a full queue shows up as an error
		 * here; the stream goes on, as it would on a real wire. */
		if (sendto(fd, buf, o->size, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			errors++;
		else
			sent++;
	}
	printf("sent=%lu send_errors=%lu elapsed_s=%.3f\n", sent, errors,
	       (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	close(fd);
	return 0;
}

static int do_recv(const struct opts *o)
{
	static uint8_t buf[UL_MAX_SIZE + 1];
	struct sockaddr_in me;
	uint8_t *seen;
	unsigned long received = 0, unique = 0, dup = 0, bad = 0, reorder = 0;
	unsigned long after_gap = 0, sock_drops = 0;
	uint64_t start, deadline, first = 0, last = 0, gap = 0, gap_from = 0, gap_to = 0;
	uint64_t last_mono = 0;
	uint32_t max_seq = 0;
	int fd, one = 1, rcvbuf = 8 << 20;

	if (addr_of(o->ip, o->port, &me) < 0) {
		fprintf(stderr, "mn-udpload: bad --bind '%s'\n", o->ip);
		return 2;
	}
	seen = calloc(o->count, 1);
	if (!seen) {
		perror("mn-udpload: calloc");
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("mn-udpload: socket");
		free(seen);
		return 1;
	}
	/* A big buffer (FORCE: root may exceed rmem_max) keeps the receiver
	 * from adding its own loss; SO_RXQ_OVFL reports any it still adds. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("mn-udpload: bind");
		close(fd);
		free(seen);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	start = now_ns(CLOCK_MONOTONIC);
	deadline = start + o->timeout_ms * 1000000u;
	while (unique < o->count || o->idle_ms) {
		uint64_t t = now_ns(CLOCK_MONOTONIC), wait_until = deadline;
		char cbuf[CMSG_SPACE(sizeof(uint32_t))];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct cmsghdr *c;
		uint64_t rt;
		uint32_t seq;
		ssize_t n;

		if (received && o->idle_ms && last_mono + o->idle_ms * 1000000u < wait_until)
			wait_until = last_mono + o->idle_ms * 1000000u;
		if (t >= wait_until)
			break;
		if (poll(&pfd, 1, (int)((wait_until - t) / 1000000u) + 1) <= 0)
			continue;
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			continue;
		last_mono = now_ns(CLOCK_MONOTONIC);
		rt = now_ns(CLOCK_REALTIME);
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t d;

				memcpy(&d, CMSG_DATA(c), sizeof(d));
				sock_drops = d;
			}
		received++;
		if (first && rt - last > gap) {
			gap = rt - last;
			gap_from = last;
			gap_to = rt;
			after_gap = 0;
		}
		after_gap++;
		if (!first)
			first = rt;
		last = rt;
		if (check(buf, (size_t)n, o->size, &seq) < 0 || seq >= o->count) {
			bad++;
			continue;
		}
		if (seen[seq]) {
			dup++;
			continue;
		}
		seen[seq] = 1;
		unique++;
		if (unique > 1 && seq < max_seq)
			reorder++;
		if (seq > max_seq)
			max_seq = seq;
	}
	{
		double span = first && last > first ? (double)(last - first) / 1e9 : 0.0;
		double okbytes = (double)(unique + dup) * o->size;

		printf("received=%lu unique=%lu dup=%lu bad=%lu lost=%lu reordered=%lu sock_drops=%lu\n",
		       received, unique, dup, bad, o->count - unique, reorder, sock_drops);
		printf("first=%.6f last=%.6f span_s=%.6f\n", (double)first / 1e9,
		       (double)last / 1e9, span);
		printf("max_gap_s=%.6f gap_from=%.6f gap_to=%.6f after_gap=%lu\n",
		       (double)gap / 1e9, (double)gap_from / 1e9, (double)gap_to / 1e9,
		       gap ? after_gap : 0);
		printf("payload_mbps=%.3f wire_mbps=%.3f\n",
		       span > 0 ? okbytes * 8 / span / 1e6 : 0.0,
		       span > 0 ? (double)(unique + dup) * (o->size + UL_WIRE_EXTRA) * 8 / span / 1e6 : 0.0);
	}
	close(fd);
	free(seen);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mn-udpload send --dst IP --port P [--count N] [--size S] [--pps R] [--duration-ms D]\n"
		"       mn-udpload recv --bind IP --port P --count N [--size S] [--timeout-ms T] [--idle-ms I]\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 1000, .size = 256, .timeout_ms = 10000 };
	unsigned long v;
	int sender, i;

	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
		usage();
		return 2;
	}
	sender = !strcmp(argv[1], "send");
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			fprintf(stderr, "mn-udpload: %s needs a value\n", a);
			return 2;
		}
		i++;
		if ((sender && !strcmp(a, "--dst")) || (!sender && !strcmp(a, "--bind"))) {
			o.ip = val;
		} else if (!strcmp(a, "--port") && !parse_ul(val, 65535, &v) && v) {
			o.port = (unsigned)v;
		} else if (!strcmp(a, "--count") && !parse_ul(val, UL_MAX_COUNT, &v) && v) {
			o.count = v;
		} else if (!strcmp(a, "--size") && !parse_ul(val, UL_MAX_SIZE, &v) && v >= UL_HDR) {
			o.size = (unsigned)v;
		} else if (sender && !strcmp(a, "--pps") && !parse_ul(val, 10000000, &v)) {
			o.pps = v;
		} else if (sender && !strcmp(a, "--duration-ms") && !parse_ul(val, 3600000, &v)) {
			o.duration_ms = v;
		} else if (!sender && !strcmp(a, "--timeout-ms") && !parse_ul(val, 3600000, &v) && v) {
			o.timeout_ms = v;
		} else if (!sender && !strcmp(a, "--idle-ms") && !parse_ul(val, 3600000, &v)) {
			o.idle_ms = v;
		} else {
			fprintf(stderr, "mn-udpload: bad option or value: %s %s\n", a, val);
			usage();
			return 2;
		}
	}
	if (!o.ip || !o.port) {
		usage();
		return 2;
	}
	return sender ? do_send(&o) : do_recv(&o);
}
