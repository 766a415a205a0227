/* mf_stream: the verified message stream of the fault tests.
 *
 *   mf_stream server LIP PORT [MAX_S]
 *       echoes every message on the reverse of the flow it came on until
 *       SIGTERM/SIGINT or MAX_S seconds (default 600); prints "listening",
 *       every flow event, and "server: echoed N" at the end.
 *   mf_stream client LIP RIP PORT [options]
 *       --count N      messages to send (default 100000; 0 = until --duration)
 *       --duration S   stop sending after S seconds (default: none)
 *       --seed S       content and size seed (default 1)
 *       --window W     messages in flight over all flows (default 32)
 *       --flows F      flows, used round-robin (default 1, max 64)
 *       --max-size B   largest message (default 65536): sizes are 80% 1..256 B,
 *                      17% 257..4096 B, 3% 4097..B
 *       --timeout S    give up after S seconds (default 120)
 *       --progress S   print "progress sent=.. got=.." every S seconds
 *       --json FILE    write the result as one JSON object
 *       Checks that every echo comes back exactly once, in order per flow,
 *       with the size and bytes that were sent. Prints one line
 *       "result msgs=.. secs=.. msg_per_s=.. mbit_s=.. p50_us=.. p99_us=.."
 *       Exit 0: all intact; 1: a check failed; 3: a call failed or a flow
 *       was reset ("error: <what> errno=<NAME>"); 4: timeout.
 *   mf_stream intrude LIP RIP LPORT RPORT
 *       attaches its own channel and tries machnet_send and machnet_close on
 *       the flow LIP:LPORT -> RIP:RPORT, which belongs to another app: both
 *       must be refused (prints "refused send errno=.." and "refused close
 *       errno=.."); exit 0 when they are.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machnet.h"
#include "mn_clock.h"
#include "mn_replyflow.h"

#define MAX_FLOWS 64
#define MAX_WINDOW 4096
#define HIST_BUCKETS 1280	/* up to 2^40 ns */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static const char *errname(int e)
{
	switch (e) {
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ESHUTDOWN: return "ESHUTDOWN";
	case ENOTCONN: return "ENOTCONN";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	default: return "E?";
	}
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Mostly small so that 100,000 messages stay a few seconds on a clean link,
 * with enough multi-segment ones to exercise reassembly under loss. */
static size_t msg_size(uint64_t seed, uint64_t i, size_t max)
{
	uint64_t r = mix(seed * 1000003u + i), p = r % 100;
	size_t len;

	if (p < 80)
		len = 1 + (size_t)(mix(r) % 256);
	else if (p < 97)
		len = 257 + (size_t)(mix(r) % (4096 - 256));
	else
		len = 4097 + (size_t)(mix(r) % (max > 4097 ? max - 4096 : 1));
	return len > max ? max : len;
}

static void fill(uint8_t *p, size_t len, uint64_t seed, uint64_t i)
{
	uint64_t x = mix(seed ^ (i << 20));

	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)((x >> ((j & 7) << 3)) + (j >> 3));
}

/* Log-spaced RTT histogram: 32 buckets per power of two of nanoseconds. */
struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count;
	double max_us;
};

static void hist_add(struct hist *h, double us)
{
	double ns = us * 1e3;
	int b = ns < 1 ? 0 : (int)(log2(ns) * 32);

	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	h->n[b]++;
	h->count++;
	if (us > h->max_us)
		h->max_us = us;
}

static double hist_pct(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->count), acc = 0;

	for (int b = 0; b < HIST_BUCKETS; b++) {
		acc += h->n[b];
		if (acc >= want && acc > 0)
			return exp2((b + 1) / 32.0) / 1e3;	/* bucket's upper edge */
	}
	return h->max_us;
}

static int server(const char *ip, uint16_t port, double max_s)
{
	uint8_t *buf = malloc(MACHNET_MSG_MAX_LEN);
	double deadline = mn_now_s() + max_s;
	uint64_t n = 0;
	void *ch;

	if (buf == NULL || (ch = machnet_attach()) == NULL) {
		printf("error: attach errno=%s\n", errname(errno));
		return 3;
	}
	if (machnet_listen(ch, ip, port) != 0) {
		printf("error: listen errno=%s\n", errname(errno));
		return 3;
	}
	printf("listening\n");
	fflush(stdout);
	while (!g_stop && mn_now_s() < deadline) {
		MachnetFlow_t rx, tx;
		MachnetEvent_t ev;
		ssize_t len;

		while (machnet_poll_event(ch, &ev) == 1) {
			printf("event type=%u errno=%s port=%u\n", ev.type, errname(ev.error),
			       ev.flow.dst_port);
			fflush(stdout);
		}
		len = machnet_recv(ch, buf, MACHNET_MSG_MAX_LEN, &rx);
		if (len < 0) {
			printf("error: recv errno=%s\n", errname(errno));
			return 3;
		}
		if (len == 0)
			continue;
		tx = mn_reply_flow(&rx);
		while (machnet_send(ch, tx, buf, (size_t)len) != 0) {
			if (errno != EAGAIN || g_stop || mn_now_s() > deadline) {
				/* The peer going away resets the flow: not ours to fail. */
				if (errno == ENOTCONN || errno == ECONNRESET)
					break;
				printf("error: send errno=%s\n", errname(errno));
				return 3;
			}
		}
		n++;
	}
	printf("server: echoed %llu\n", (unsigned long long)n);
	return 0;
}

struct pending {
	uint64_t idx;
	double t;
};

struct flow {
	MachnetFlow_t f;
	struct pending q[MAX_WINDOW];
	uint32_t head, len;
};

struct copts {
	uint64_t count, seed;
	double duration, timeout, progress;
	uint32_t window, flows;
	size_t max_size;
	const char *json;
};

static int client(const char *lip, const char *rip, uint16_t port, const struct copts *o)
{
	static struct flow fl[MAX_FLOWS];
	static struct hist h;
	uint8_t *out = malloc(o->max_size), *in = malloc(MACHNET_MSG_MAX_LEN);
	uint8_t *want = malloc(o->max_size);
	double t0, deadline, stop_send, next_prog;
	uint64_t sent = 0, got = 0, bytes = 0;
	uint32_t inflight = 0, rr = 0;
	void *ch;

	if (!out || !in || !want || (ch = machnet_attach()) == NULL) {
		printf("error: attach errno=%s\n", errname(errno));
		return 3;
	}
	for (uint32_t k = 0; k < o->flows; k++) {
		struct in_addr a;

		if (machnet_connect(ch, lip, rip, port, &fl[k].f) != 0) {
			printf("error: connect errno=%s\n", errname(errno));
			return 3;
		}
		a.s_addr = htonl(fl[k].f.src_ip);
		printf("flow %s %u -> %s %u\n", inet_ntoa(a), fl[k].f.src_port, rip,
		       fl[k].f.dst_port);
	}
	fflush(stdout);
	t0 = mn_now_s();
	deadline = t0 + o->timeout;
	stop_send = o->duration > 0 ? t0 + o->duration : 1e300;
	next_prog = o->progress > 0 ? t0 + o->progress : 1e300;
	for (;;) {
		MachnetFlow_t from;
		MachnetEvent_t ev;
		double t = mn_now_s();
		bool sending = !g_stop && t < stop_send && (o->count == 0 || sent < o->count);
		struct flow *f;
		ssize_t n;
		size_t len;

		if (!sending && inflight == 0)
			break;
		if (t > deadline) {
			printf("error: timeout sent=%llu got=%llu\n", (unsigned long long)sent,
			       (unsigned long long)got);
			return 4;
		}
		if (t >= next_prog) {
			printf("progress t=%.1f sent=%llu got=%llu\n", t - t0,
			       (unsigned long long)sent, (unsigned long long)got);
			fflush(stdout);
			next_prog += o->progress;
		}
		if (machnet_poll_event(ch, &ev) == 1 && ev.type == MACHNET_EV_RESET) {
			printf("error: reset errno=%s sent=%llu got=%llu after %.3f s\n",
			       errname(ev.error), (unsigned long long)sent,
			       (unsigned long long)got, mn_now_s() - t0);
			return 3;
		}
		f = &fl[rr];
		if (sending && inflight < o->window && f->len < MAX_WINDOW) {
			len = msg_size(o->seed, sent, o->max_size);
			fill(out, len, o->seed, sent);
			if (machnet_send(ch, f->f, out, len) == 0) {
				struct pending *p = &f->q[(f->head + f->len) % MAX_WINDOW];

				p->idx = sent;
				p->t = mn_now_s();
				f->len++;
				inflight++;
				sent++;
				bytes += len;
				rr = (rr + 1) % o->flows;
			} else if (errno != EAGAIN) {
				printf("error: send errno=%s sent=%llu got=%llu\n", errname(errno),
				       (unsigned long long)sent, (unsigned long long)got);
				return 3;
			}
		}
		n = machnet_recv(ch, in, MACHNET_MSG_MAX_LEN, &from);
		if (n < 0) {
			printf("error: recv errno=%s sent=%llu got=%llu\n", errname(errno),
			       (unsigned long long)sent, (unsigned long long)got);
			return 3;
		}
		if (n == 0)
			continue;
		f = NULL;
		for (uint32_t k = 0; k < o->flows; k++)
			if (fl[k].f.src_port == from.dst_port && fl[k].f.dst_port == from.src_port &&
			    fl[k].f.dst_ip == from.src_ip)
				f = &fl[k];
		if (f == NULL || f->len == 0) {
			printf("fail: echo of %zd B on an unknown flow or none outstanding (dup?)\n",
			       n);
			return 1;
		}
		{
			struct pending *p = &f->q[f->head];

			len = msg_size(o->seed, p->idx, o->max_size);
			if ((size_t)n != len) {
				printf("fail: echo of message %llu has %zd B, want %zu (lost, dup or "
				       "reordered)\n", (unsigned long long)p->idx, n, len);
				return 1;
			}
			fill(want, len, o->seed, p->idx);
			if (memcmp(in, want, len) != 0) {
				printf("fail: echo of message %llu (%zu B) is corrupt\n",
				       (unsigned long long)p->idx, len);
				return 1;
			}
			hist_add(&h, (mn_now_s() - p->t) * 1e6);
			f->head = (f->head + 1) % MAX_WINDOW;
			f->len--;
			inflight--;
			got++;
		}
	}
	{
		double secs = mn_now_s() - t0;
		double mbit = (double)bytes * 2 * 8 / secs / 1e6;	/* both directions */
		double p50 = hist_pct(&h, 0.5), p99 = hist_pct(&h, 0.99);

		printf("result msgs=%llu bytes=%llu secs=%.3f msg_per_s=%.0f mbit_s=%.2f "
		       "p50_us=%.1f p99_us=%.1f max_us=%.1f lost=0 dup=0 bad=0\n",
		       (unsigned long long)got, (unsigned long long)bytes, secs,
		       (double)got / secs, mbit, p50, p99, h.max_us);
		if (o->json) {
			FILE *jf = fopen(o->json, "w");

			if (jf == NULL) {
				printf("error: cannot write %s\n", o->json);
				return 1;
			}
			fprintf(jf, "{\"msgs\": %llu, \"bytes\": %llu, \"secs\": %.3f, "
				"\"msg_per_s\": %.0f, \"mbit_s\": %.2f, \"p50_us\": %.1f, "
				"\"p99_us\": %.1f, \"max_us\": %.1f, \"flows\": %u, \"window\": %u}\n",
				(unsigned long long)got, (unsigned long long)bytes, secs,
				(double)got / secs, mbit, p50, p99, h.max_us, o->flows, o->window);
			fclose(jf);
		}
	}
	return 0;
}

static int intrude(const char *lip, const char *rip, uint16_t lport, uint16_t rport)
{
	MachnetFlow_t f;
	MachnetEvent_t ev;
	struct in_addr a;
	double deadline;
	int ok = 1;
	void *ch = machnet_attach();
	static const char msg[] = "not yours";

	if (ch == NULL || inet_aton(lip, &a) == 0) {
		printf("error: attach errno=%s\n", errname(errno));
		return 3;
	}
	f.src_ip = ntohl(a.s_addr);
	if (inet_aton(rip, &a) == 0)
		return 2;
	f.dst_ip = ntohl(a.s_addr);
	f.src_port = lport;
	f.dst_port = rport;
	/* A send may be accepted onto the ring and refused by machnetd later:
	 * then an EV_SEND_FAILED says so. */
	if (machnet_send(ch, f, msg, sizeof(msg)) != 0) {
		printf("refused send errno=%s\n", errname(errno));
	} else {
		deadline = mn_now_s() + 2;
		ok = 0;
		while (mn_now_s() < deadline) {
			if (machnet_poll_event(ch, &ev) == 1 && ev.type == MACHNET_EV_SEND_FAILED) {
				printf("refused send errno=%s (event)\n", errname(ev.error));
				ok = 1;
				break;
			}
		}
		if (!ok)
			printf("fail: send on a foreign flow was not refused\n");
	}
	if (machnet_close(ch, &f) != 0) {
		printf("refused close errno=%s\n", errname(errno));
	} else {
		printf("fail: close of a foreign flow succeeded\n");
		ok = 0;
	}
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		goto usage;
	if (machnet_init() != 0) {
		printf("error: machnet_init errno=%s\n", errname(errno));
		return 3;
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "server") == 0)
		return server(argv[2], (uint16_t)atoi(argv[3]), argc == 5 ? atof(argv[4]) : 600);
	if (argc == 6 && strcmp(argv[1], "intrude") == 0)
		return intrude(argv[2], argv[3], (uint16_t)atoi(argv[4]), (uint16_t)atoi(argv[5]));
	if (argc >= 5 && strcmp(argv[1], "client") == 0) {
		static const struct option lo[] = {
			{ "count", required_argument, NULL, 'n' },
			{ "duration", required_argument, NULL, 'd' },
			{ "seed", required_argument, NULL, 's' },
			{ "window", required_argument, NULL, 'w' },
			{ "flows", required_argument, NULL, 'f' },
			{ "max-size", required_argument, NULL, 'm' },
			{ "timeout", required_argument, NULL, 't' },
			{ "progress", required_argument, NULL, 'p' },
			{ "json", required_argument, NULL, 'j' },
			{ NULL, 0, NULL, 0 }
		};
		struct copts o = { .count = 100000, .seed = 1, .timeout = 120, .window = 32,
				   .flows = 1, .max_size = 65536 };
		int c;

		optind = 5;
		while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
			switch (c) {
			case 'n': o.count = strtoull(optarg, NULL, 0); break;
			case 'd': o.duration = atof(optarg); break;
			case 's': o.seed = strtoull(optarg, NULL, 0); break;
			case 'w': o.window = (uint32_t)atoi(optarg); break;
			case 'f': o.flows = (uint32_t)atoi(optarg); break;
			case 'm': o.max_size = strtoul(optarg, NULL, 0); break;
			case 't': o.timeout = atof(optarg); break;
			case 'p': o.progress = atof(optarg); break;
			case 'j': o.json = optarg; break;
			default: goto usage;
			}
		}
		if (o.window < 1 || o.window > MAX_WINDOW || o.flows < 1 || o.flows > MAX_FLOWS ||
		    o.max_size < 1 || o.max_size > MACHNET_MSG_MAX_LEN ||
		    (o.count == 0 && o.duration <= 0))
			goto usage;
		return client(argv[2], argv[3], (uint16_t)atoi(argv[4]), &o);
	}
usage:
	fprintf(stderr, "usage: mf_stream server LIP PORT [MAX_S] | client LIP RIP PORT [options] "
		"| intrude LIP RIP LPORT RPORT (see the source's header)\n");
	return 2;
}
