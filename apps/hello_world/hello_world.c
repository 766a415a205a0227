/* hello_world: the smallest complete machnet-mp client and server.
 *
 * Read this first. It uses only the Machnet API (machnet.h) plus
 * machnet_strerror(), machnet_recv_timeout() and machnet_poll_event() for
 * clear errors, for waiting without spinning and for hearing at once that a
 * flow died (a program that never polls events only sees its replies stop).
 *
 *   server:  MACHNET_INSTANCE=mn-a hello_world --local 198.18.0.1
 *   client:  MACHNET_INSTANCE=mn-b hello_world --local 198.18.0.2 --remote 198.18.0.1
 *
 * The client connects, sends "Hello World!" and waits for the server's
 * reply; the server answers every message with "hello, <message>" on the
 * same flow. Exit status 0 when the client got its reply; 1 with a message
 * when it did not: no reply in time, or the flow was reset or timed out
 * while it waited (said at once, not at the end of --timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machnet.h"

#define HELLO_PORT 31580	/* Machnet's hello_world port */
#define WAIT_SLICE_US 10000	/* recv waits this long between event polls */

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: hello_world --local IP [--remote IP] [--count N] [--timeout MS]\n"
		"  --local IP     this host's machnet-mp IP (the machnetd interface)\n"
		"  --remote IP    server to greet; absent = be the server\n"
		"  --count N      server: exit after N messages (default: run until killed)\n"
		"  --timeout MS   client: how long to wait for the reply (default 2000)\n"
		"The machnetd instance comes from $MACHNET_INSTANCE (default mn0).\n");
	return rc;
}

static void print_flow(FILE *f, const MachnetFlow_t *fl)
{
	fprintf(f, "%u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", fl->src_ip >> 24, (fl->src_ip >> 16) & 0xff,
		(fl->src_ip >> 8) & 0xff, fl->src_ip & 0xff, fl->src_port, fl->dst_ip >> 24,
		(fl->dst_ip >> 16) & 0xff, (fl->dst_ip >> 8) & 0xff, fl->dst_ip & 0xff,
		fl->dst_port);
}

/* Takes the channel's events. A flow that was reset or timed out, or a
 * message dropped, is said on stderr; returns 1 when one was, 0 when none,
 * -1 when the channel failed (errno). */
static int flow_events(void *ch)
{
	MachnetEvent_t ev;
	int bad = 0;

	for (int k = 0; k < 64; k++) {
		int r = machnet_poll_event(ch, &ev);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (ev.type != MACHNET_EV_RESET && ev.type != MACHNET_EV_SEND_FAILED)
			continue;
		fprintf(stderr, "hello_world: flow ");
		print_flow(stderr, &ev.flow);
		if (ev.type == MACHNET_EV_SEND_FAILED)
			fprintf(stderr, ": a message was dropped: %s\n", machnet_strerror(ev.error));
		else if (ev.error == ETIMEDOUT)
			fprintf(stderr, " timed out: the peer stopped answering (ETIMEDOUT)\n");
		else if (ev.error == ECONNRESET || ev.error == 0)
			fprintf(stderr, " was reset by the peer (ECONNRESET): the other app or "
				"its machnetd closed it\n");
		else
			fprintf(stderr, " was reset: %s\n", machnet_strerror(ev.error));
		bad = 1;
	}
	return bad;
}

static int serve(void *ch, const char *local, long count)
{
	char buf[1024], reply[1100];
	MachnetFlow_t rx, tx;

	if (machnet_listen(ch, local, HELLO_PORT) != 0) {
		fprintf(stderr, "hello_world: listen %s:%d: %s\n", local, HELLO_PORT,
			machnet_strerror(errno));
		return 1;
	}
	printf("hello_world: listening on %s:%d\n", local, HELLO_PORT);
	fflush(stdout);
	for (long n = 0; count < 0 || n < count;) {
		/* Wait up to 1 s for a message; ETIMEDOUT just means none yet. */
		ssize_t len = machnet_recv_timeout(ch, buf, sizeof(buf) - 1, &rx, 1000000);
		int err = errno;

		/* A client that leaves resets its flow: said, and the server
		 * serves on. */
		if (flow_events(ch) < 0) {
			fprintf(stderr, "hello_world: events: %s\n", machnet_strerror(errno));
			return 1;
		}
		errno = err;
		if (len < 0 && errno == ETIMEDOUT)
			continue;
		if (len < 0) {
			fprintf(stderr, "hello_world: recv: %s\n", machnet_strerror(errno));
			return 1;
		}
		buf[len] = '\0';
		printf("hello_world: received \"%s\"\n", buf);
		fflush(stdout);
		/* A received flow names the sender as src; reply on the reverse. */
		tx.src_ip = rx.dst_ip;
		tx.dst_ip = rx.src_ip;
		tx.src_port = rx.dst_port;
		tx.dst_port = rx.src_port;
		snprintf(reply, sizeof(reply), "hello, %s", buf);
		if (machnet_send(ch, tx, reply, strlen(reply)) != 0) {
			fprintf(stderr, "hello_world: send: %s\n", machnet_strerror(errno));
			return 1;
		}
		n++;
	}
	return 0;
}

static int greet(void *ch, const char *local, const char *remote, int timeout_ms)
{
	const char *msg = "Hello World!";
	char buf[1100];
	MachnetFlow_t flow, rx;
	ssize_t len = -1;
	long waited_us = 0;

	if (machnet_connect(ch, local, remote, HELLO_PORT, &flow) != 0) {
		fprintf(stderr, "hello_world: connect %s -> %s:%d: %s\n", local, remote,
			HELLO_PORT, machnet_strerror(errno));
		return 1;
	}
	if (machnet_send(ch, flow, msg, strlen(msg)) != 0) {
		fprintf(stderr, "hello_world: send: %s\n", machnet_strerror(errno));
		return 1;
	}
	printf("hello_world: connected ");
	print_flow(stdout, &flow);
	printf(", sent \"%s\"\n", msg);
	fflush(stdout);
	/* Wait in slices, polling events between them: a reset or timed-out
	 * flow ends the wait at once instead of at the end of --timeout. */
	errno = ETIMEDOUT;
	while (waited_us < (long)timeout_ms * 1000) {
		long slice = (long)timeout_ms * 1000 - waited_us;
		int ev;

		if (slice > WAIT_SLICE_US)
			slice = WAIT_SLICE_US;
		len = machnet_recv_timeout(ch, buf, sizeof(buf) - 1, &rx, slice);
		if (len >= 0 || errno != ETIMEDOUT)
			break;
		waited_us += slice;
		ev = flow_events(ch);
		if (ev != 0) {
			if (ev < 0)
				fprintf(stderr, "hello_world: events: %s\n", machnet_strerror(errno));
			else
				fprintf(stderr, "hello_world: no reply: the flow is gone\n");
			return 1;
		}
		errno = ETIMEDOUT;
	}
	if (len < 0) {
		if (errno == ETIMEDOUT)
			fprintf(stderr, "hello_world: no reply within %d ms\n", timeout_ms);
		else
			fprintf(stderr, "hello_world: recv: %s\n", machnet_strerror(errno));
		return 1;
	}
	buf[len] = '\0';
	printf("hello_world: reply \"%s\"\n", buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *local = NULL, *remote = NULL;
	long count = -1;
	int timeout_ms = 2000;
	void *ch;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(0);
		if (i + 1 >= argc)
			return usage(2);
		if (!strcmp(argv[i], "--local"))
			local = argv[++i];
		else if (!strcmp(argv[i], "--remote"))
			remote = argv[++i];
		else if (!strcmp(argv[i], "--count"))
			count = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--timeout"))
			timeout_ms = atoi(argv[++i]);
		else
			return usage(2);
	}
	if (local == NULL)
		return usage(2);

	/* Join machnetd (a DPDK secondary process, set up by the library). */
	if (machnet_init() != 0) {
		fprintf(stderr, "hello_world: machnet_init: %s\n", machnet_strerror(errno));
		return 1;
	}
	/* A channel: this thread's pair of rings to one machnetd engine. */
	ch = machnet_attach();
	if (ch == NULL) {
		fprintf(stderr, "hello_world: machnet_attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	return remote ? greet(ch, local, remote, timeout_ms) : serve(ch, local, count);
}
