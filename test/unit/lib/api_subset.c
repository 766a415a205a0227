/* api_subset: a program written against Microsoft Machnet's API only (none
 * of machnet-mp's additions), as a Machnet application would be. It must
 * build unchanged against libmachnet; an integration test runs it as
 *   api_subset server <local_ip> <port> <count>
 *   api_subset client <local_ip> <remote_ip> <port> <count>
 * against live machnetd instances. Exits 0 when every echo came back intact,
 * 1 on any failure (including machnet_init() without a machnetd).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machnet.h"
#include "mn_clock.h"
#include "mn_replyflow.h"

#define MAX_MSG 4096

static int server(void *ch, const char *ip, uint16_t port, long count)
{
	static char buf[MAX_MSG];
	double deadline = mn_now_s() + 30.0;
	long echoed = 0;

	if (machnet_listen(ch, ip, port) != 0) {
		perror("machnet_listen");
		return 1;
	}
	while (echoed < count && mn_now_s() < deadline) {
		MachnetFlow_t rx, flow;
		ssize_t n = machnet_recv(ch, buf, sizeof(buf), &rx);

		if (n < 0) {
			perror("machnet_recv");
			return 1;
		}
		if (n == 0)
			continue;
		/* A received flow names the sender as src: reply on the reverse
		 * (Machnet's echo idiom). */
		flow = mn_reply_flow(&rx);
		while (machnet_send(ch, flow, buf, (size_t)n) != 0) {
			if (mn_now_s() > deadline)
				return 1;
		}
		echoed++;
	}
	return echoed == count ? 0 : 1;
}

static int client(void *ch, const char *lip, const char *rip, uint16_t port, long count)
{
	static char out[MAX_MSG], in[MAX_MSG];
	MachnetFlow_t flow;
	double deadline = mn_now_s() + 30.0;
	long i;

	if (machnet_connect(ch, lip, rip, port, &flow) != 0) {
		perror("machnet_connect");
		return 1;
	}
	for (i = 0; i < count; i++) {
		size_t len = 1 + (size_t)(i * 131) % (MAX_MSG - 1);
		MachnetIovec_t iov[2];
		MachnetMsgHdr_t h;
		ssize_t n = 0;

		memset(out, (int)(i & 0xff), len);
		/* Alternate the plain and the scatter-gather calls. */
		if (i % 3 == 0) {
			while (machnet_send(ch, flow, out, len) != 0)
				if (mn_now_s() > deadline)
					return 1;
		} else {
			iov[0].base = out;
			iov[0].len = len / 2;
			iov[1].base = out + len / 2;
			iov[1].len = len - len / 2;
			h.msg_size = (uint32_t)len;
			h.flow_info = flow;
			h.msg_iov = iov;
			h.msg_iovlen = 2;
			h.flags = 0;
			if (i % 3 == 1) {
				while (machnet_sendmsg(ch, &h) != 0)
					if (mn_now_s() > deadline)
						return 1;
			} else {
				while (machnet_sendmmsg(ch, &h, 1) != 1)
					if (mn_now_s() > deadline)
						return 1;
			}
		}
		while (n == 0 && mn_now_s() < deadline) {
			MachnetIovec_t riov = { in, sizeof(in) };
			MachnetMsgHdr_t rh;

			memset(&rh, 0, sizeof(rh));
			rh.msg_iov = &riov;
			rh.msg_iovlen = 1;
			if (i % 2) {
				MachnetFlow_t from;

				n = machnet_recv(ch, in, sizeof(in), &from);
			} else {
				int r = machnet_recvmsg(ch, &rh);

				n = r == 1 ? (ssize_t)rh.msg_size : r;
			}
		}
		if (n != (ssize_t)len || memcmp(in, out, len) != 0) {
			fprintf(stderr, "echo %ld: got %zd bytes, want %zu\n", i, n, len);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	void *ch;

	if (machnet_init() != 0) {
		const char *inst = getenv("MACHNET_INSTANCE");
		int err = errno;

		/* The library does not print; the hint is the program's job. */
		fprintf(stderr, "api_subset: machnet_init() failed: %s%s%s%s\n", strerror(err),
			err == ENOENT ? "; is machnetd running with instance " : "",
			err == ENOENT ? (inst && *inst ? inst : "mn0") : "",
			err == ENOENT ? "?" : "");
		return 1;
	}
	ch = machnet_attach();
	if (ch == NULL) {
		fprintf(stderr, "api_subset: machnet_attach() failed\n");
		return 1;
	}
	if (argc == 5 && strcmp(argv[1], "server") == 0)
		return server(ch, argv[2], (uint16_t)atoi(argv[3]), atol(argv[4]));
	if (argc == 6 && strcmp(argv[1], "client") == 0)
		return client(ch, argv[2], argv[3], (uint16_t)atoi(argv[4]), atol(argv[5]));
	fprintf(stderr, "usage: api_subset server IP PORT N | client LIP RIP PORT N\n");
	return 2;
}
