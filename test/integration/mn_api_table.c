/* mn_api_table: the API misuse table against two live stacks. Every row is
 * one call with one bad (or good) input and the errno machnet.h documents
 * for it; a row fails when the call returns another errno, and the table
 * itself is checked against the lists of machnet.h (copied below), so an
 * errno a call does not list fails the run even where a row allows it.
 *   mn_api_table serve PORT SECONDS     (on the peer stack) listens on
 *       0.0.0.0:PORT and echoes every message until SECONDS have passed
 *   mn_api_table table LIP RIP PORT DEAD_IP
 *       RIP runs "serve PORT"; DEAD_IP is an address of LIP's subnet that
 *       nobody answers ARP for.
 *   mn_api_table hog LIP RIP PORT N L [wait]
 *       The per-app limits (machnetd run with apps.max_flows = N,
 *       apps.max_listeners = L): N connects to RIP:PORT succeed and the next
 *       is EDQUOT, L listens succeed and the next is EDQUOT. With "wait":
 *       prints "full", waits for SIGUSR1, then closes its flows (the share
 *       is back: N connects again, then EDQUOT), detaches and re-attaches
 *       (the same for flows and listeners), prints "refilled" and waits to
 *       be killed.
 *   mn_api_table other LIP RIP PORT2 PORT1 NLIS
 *       A second app on the same engine while "hog" holds its share:
 *       connects to RIP:PORT2 and gets its echo; connects to RIP:PORT1,
 *       whose listening app holds its share of flows, and sees the flow
 *       reset; takes NLIS listeners and the next is ENOSPC (the engine's
 *       table is full); tells the PORT2 server to quit.
 * MN_STRICT_FLOWS=1 makes a reconnect that reuses a closed flow's four
 * numbers a failure (machnet.h "Flows": local ports rotate).
 * Exit 0 when every row held; each row is printed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machnet.h"
#include "mn_clock.h"
#include "mn_replyflow.h"

#define MAX_ERRS 16

/* machnet.h's lists. C: the common ones, K: the control ones. */
#define C EINVAL, EBADF, EBUSY, ESHUTDOWN
#define K ETIMEDOUT, EPROTO
static const struct doc {
	const char *call;
	int errs[MAX_ERRS];
} g_doc[] = {
	{ "attach", { ENOTCONN, ESHUTDOWN, ENOSPC, EMFILE, EAGAIN, ESRCH, K } },
	{ "listen", { EADDRNOTAVAIL, EADDRINUSE, ENOSPC, EDQUOT, EAGAIN, K, C } },
	{ "connect", { ENETUNREACH, EADDRNOTAVAIL, ECONNREFUSED, ECONNRESET, EHOSTUNREACH,
		       ENOSPC, EDQUOT, EAGAIN, K, C } },
	{ "close", { ENOENT, EAGAIN, K, C } },
	{ "detach", { K, C } },
	{ "send", { EMSGSIZE, EAGAIN, C } },
	{ "sendmsg", { EMSGSIZE, EAGAIN, C } },
	{ "sendmmsg", { EMSGSIZE, EAGAIN, C } },
	{ "recv", { EMSGSIZE, C } },
	{ "recvmsg", { EMSGSIZE, C } },
	{ "recv_timeout", { EMSGSIZE, ETIMEDOUT, C } },
	{ "poll_event", { C } },
	{ "recv_wait", { C } },
	{ "channel_fd", { ENOSYS, C } },
	{ "attach_engine", { ENODEV, ENOTCONN, ESHUTDOWN, ENOSPC, EMFILE, EAGAIN, ESRCH, K } },
	{ "engine_count", { ENOTCONN, ESHUTDOWN } },
	{ "channel_engine", { C } },
	{ "zc_alloc", { EMSGSIZE, EAGAIN, C } },
	{ "zc_send", { EAGAIN, C } },
	{ "zc_recv", { C } },
	{ "zc_release", { EAGAIN, C } },
};
#undef C
#undef K

static int g_fail, g_rows;

static int documented(const char *call, int err)
{
	size_t i, j;

	for (i = 0; i < sizeof(g_doc) / sizeof(g_doc[0]); i++) {
		if (strcmp(g_doc[i].call, call) != 0)
			continue;
		for (j = 0; j < MAX_ERRS && g_doc[i].errs[j]; j++)
			if (g_doc[i].errs[j] == err)
				return 1;
		return 0;
	}
	return 0;
}

static const char *name_of(int err)
{
	switch (err) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case ESHUTDOWN: return "ESHUTDOWN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPROTO: return "EPROTO";
	case ENOTCONN: return "ENOTCONN";
	case ENOSPC: return "ENOSPC";
	case ENODEV: return "ENODEV";
	case EDQUOT: return "EDQUOT";
	case EMFILE: return "EMFILE";
	case EAGAIN: return "EAGAIN";
	case ESRCH: return "ESRCH";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EADDRINUSE: return "EADDRINUSE";
	case ENETUNREACH: return "ENETUNREACH";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENOENT: return "ENOENT";
	case EMSGSIZE: return "EMSGSIZE";
	default: return "(unlisted)";
	}
}

/* One row: failed is whether the call reported failure (then errno is the
 * result), want and alt the accepted results (0 = success). */
static void row(const char *call, const char *input, int failed, int want, int alt)
{
	int got = failed ? errno : 0;
	int ok = got == want || (alt != 0 && got == alt);

	g_rows++;
	if (want != 0 && !documented(call, want)) {
		printf("FAIL table: %s %s expects %s, which machnet.h does not list\n", call,
		       input, name_of(want));
		g_fail = 1;
	}
	if (got != 0 && !documented(call, got)) {
		printf("FAIL %s %s -> %s (%d, %s): not in machnet.h's list\n", call, input,
		       name_of(got), got, strerror(got));
		g_fail = 1;
		return;
	}
	printf("%s %s %s -> %s%s%s\n", ok ? "ok  " : "FAIL", call, input, name_of(got),
	       ok ? "" : ", want ", ok ? "" : name_of(want));
	if (!ok)
		g_fail = 1;
}

/* A row whose outcome is not an errno (an echo came back whole). */
static void check(int cond, const char *what)
{
	g_rows++;
	printf("%s %s\n", cond ? "ok  " : "FAIL", what);
	if (!cond)
		g_fail = 1;
}

#define ROW(call, input, expr, want) row(call, input, (errno = 0, (expr)) == -1, want, 0)
#define ROW2(call, input, expr, want, alt) row(call, input, (errno = 0, (expr)) == -1, want, alt)
#define ROWP(call, input, expr, want) row(call, input, (errno = 0, (expr)) == NULL, want, 0)

/* ---- serve ---- */

static int serve(uint16_t port, double seconds)
{
	static char buf[65536];
	double end = mn_now_s() + seconds;
	long echoed = 0;
	void *ch;

	if (machnet_init() != 0 || (ch = machnet_attach()) == NULL ||
	    machnet_listen(ch, "0.0.0.0", port) != 0) {
		fprintf(stderr, "serve: %s (%s)\n", machnet_strerror(errno), machnet_init_detail());
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	while (mn_now_s() < end) {
		MachnetFlow_t rx, tx;
		ssize_t n = machnet_recv_timeout(ch, buf, sizeof(buf), &rx, 100000);

		if (n < 0 && errno == ETIMEDOUT)
			continue;
		if (n < 0) {
			/* An 8 MiB message of the EAGAIN rows does not fit: fine. */
			if (errno == EMSGSIZE)
				continue;
			fprintf(stderr, "serve: recv: %s\n", machnet_strerror(errno));
			return 1;
		}
		if (n == 4 && memcmp(buf, "quit", 4) == 0)
			break;
		tx = mn_reply_flow(&rx);
		while (machnet_send(ch, tx, buf, (size_t)n) != 0 && errno == EAGAIN &&
		       mn_now_s() < end)
			;
		echoed++;
	}
	printf("serve: echoed %ld\n", echoed);
	return 0;
}

/* ---- table ---- */

struct busy_arg {
	void *ch;
	const char *lip, *dead_ip;
	uint16_t port;
	_Atomic int done;
};

static void *slow_connect(void *p)
{
	struct busy_arg *a = p;
	MachnetFlow_t f;

	/* Waits for ARP or the handshake timeout: long enough to be caught. */
	long tries = 0;
	int r;

	/* The main thread may hold the channel for a moment: retry that. */
	do
		r = machnet_connect(a->ch, a->lip, a->dead_ip, a->port, &f);
	while (r == -1 && errno == EBUSY && ++tries < 100000000);
	atomic_store(&a->done, 1);
	return NULL;
}

/* Receives one message (bounded): its length, or -1 with errno. */
static ssize_t recv_some(void *ch, void *buf, size_t len, MachnetFlow_t *f)
{
	return machnet_recv_timeout(ch, buf, len, f, 5000000);
}

static int table(const char *lip, const char *rip, uint16_t port, const char *dead_ip)
{
	static uint8_t big[MACHNET_MSG_MAX_LEN + 1];
	char buf[256], small[10];
	void *ch, *old, *lch, *many[80];
	MachnetFlow_t f, g, nf = { 0 }, from;
	MachnetIovec_t iov = { buf, 8 };
	MachnetMsgHdr_t h = { 16, { 0 }, &iov, 1, 0 };
	MachnetEvent_t ev;
	MachnetZcMsg_t zc;
	struct busy_arg ba;
	pthread_t t;
	uint16_t p;
	ssize_t n;
	int i, busy = 0, saved;
	long tries;
	double end;
	char in[32];

	ROWP("attach", "before machnet_init()", machnet_attach(), ENOTCONN);
	ROWP("attach_engine", "before machnet_init()", machnet_attach_engine(0), ENOTCONN);
	ROW("engine_count", "before machnet_init()", machnet_engine_count(), ENOTCONN);
	if (machnet_init() != 0) {
		printf("FAIL machnet_init: %s (%s)\n", machnet_strerror(errno),
		       machnet_init_detail());
		return 1;
	}
	ch = machnet_attach();
	if (ch == NULL) {
		printf("FAIL attach: %s\n", machnet_strerror(errno));
		return 1;
	}

	/* engines: the app's choice, and what is not an engine */
	{
		int n_eng = machnet_engine_count();
		void *ce;

		ROW("engine_count", "after machnet_init()", n_eng, 0);
		ROW("channel_engine", "NULL channel", machnet_channel_engine(NULL), EINVAL);
		ROW("channel_engine", "the first channel", machnet_channel_engine(ch), 0);
		ROWP("attach_engine", "engine == count", machnet_attach_engine((unsigned)n_eng),
		     ENODEV);
		ROWP("attach_engine", "engine 1000000", machnet_attach_engine(1000000), ENODEV);
		ROWP("attach_engine", "the last engine",
		     (ce = machnet_attach_engine((unsigned)n_eng - 1)), 0);
		if (ce != NULL) {
			check(machnet_channel_engine(ce) == n_eng - 1,
			      "attach_engine(last): the channel is on the engine asked for");
			machnet_detach(ce);
			ROW("channel_engine", "a detached channel", machnet_channel_engine(ce), EBADF);
		}
	}

	/* listen */
	ROW("listen", "NULL ip", machnet_listen(ch, NULL, 80), EINVAL);
	ROW("listen", "\"1.2.3\"", machnet_listen(ch, "1.2.3", 80), EINVAL);
	ROW("listen", "port 0", machnet_listen(ch, lip, 0), EINVAL);
	ROW("listen", "NULL channel", machnet_listen(NULL, lip, 80), EINVAL);
	ROW("listen", "198.18.0.77 (not ours)", machnet_listen(ch, "198.18.0.77", 80),
	    EADDRNOTAVAIL);
	ROW("listen", "127.0.0.1", machnet_listen(ch, "127.0.0.1", 80), EADDRNOTAVAIL);
	ROW("listen", "224.0.0.1", machnet_listen(ch, "224.0.0.1", 80), EADDRNOTAVAIL);
	ROW("listen", "lip:P", machnet_listen(ch, lip, (uint16_t)(port + 1)), 0);
	ROW("listen", "lip:P again", machnet_listen(ch, lip, (uint16_t)(port + 1)), EADDRINUSE);
	ROW("listen", "0.0.0.0:P over lip:P", machnet_listen(ch, "0.0.0.0", (uint16_t)(port + 1)),
	    EADDRINUSE);
	ROW("listen", "0.0.0.0:Q", machnet_listen(ch, "0.0.0.0", (uint16_t)(port + 2)), 0);
	ROW("listen", "lip:Q under 0.0.0.0:Q", machnet_listen(ch, lip, (uint16_t)(port + 2)),
	    EADDRINUSE);
	ROW("listen", "0.0.0.0:Q again", machnet_listen(ch, "0.0.0.0", (uint16_t)(port + 2)),
	    EADDRINUSE);
	/* An app's listeners are bounded (apps.max_listeners, below the
	 * engine's 64 here): the next one is EDQUOT. The engine's own limit
	 * (ENOSPC) takes a second app: "other". */
	lch = machnet_attach();
	for (i = 0, p = (uint16_t)(port + 100); i < 80; i++, p++)
		if (machnet_listen(lch, lip, p) != 0)
			break;
	saved = errno;
	printf("     (%d more listeners taken)\n", i);
	errno = saved;
	row("listen", "one more than the app's share", i < 80, EDQUOT, 0);
	ROW("detach", "the channel holding them", machnet_detach(lch), 0);
	lch = machnet_attach();
	ROW("listen", "after they were freed", machnet_listen(lch, lip, (uint16_t)(port + 100)), 0);
	ROW("detach", "that channel", machnet_detach(lch), 0);

	/* connect */
	ROW("connect", "NULL flow", machnet_connect(ch, lip, rip, port, NULL), EINVAL);
	ROW("connect", "port 0", machnet_connect(ch, lip, rip, 0, &f), EINVAL);
	ROW("connect", "bad remote string", machnet_connect(ch, lip, "x", port, &f), EINVAL);
	ROW("connect", "to 255.255.255.255", machnet_connect(ch, lip, "255.255.255.255", port, &f),
	    ENETUNREACH);
	ROW("connect", "to 127.0.0.1", machnet_connect(ch, lip, "127.0.0.1", port, &f),
	    ENETUNREACH);
	ROW("connect", "to 0.0.0.0", machnet_connect(ch, lip, "0.0.0.0", port, &f), ENETUNREACH);
	ROW("connect", "to 224.0.0.1", machnet_connect(ch, lip, "224.0.0.1", port, &f),
	    ENETUNREACH);
	ROW("connect", "to the stack's own IP", machnet_connect(ch, lip, lip, port, &f),
	    ENETUNREACH);
	ROW("connect", "off-subnet, no gateway", machnet_connect(ch, lip, "198.19.0.1", port, &f),
	    ENETUNREACH);
	ROW("connect", "from 198.18.0.77 (not ours)",
	    machnet_connect(ch, "198.18.0.77", rip, port, &f), EADDRNOTAVAIL);
	ROW("connect", "to a closed port", machnet_connect(ch, lip, rip, (uint16_t)(port + 50), &f),
	    ECONNREFUSED);
	ROW2("connect", "to an IP nobody answers", machnet_connect(ch, lip, dead_ip, port, &f),
	     EHOSTUNREACH, ETIMEDOUT);
	ROW("connect", "to the wildcard listener", machnet_connect(ch, lip, rip, port, &f), 0);

	/* send / recv on the flow */
	ROW("send", "NULL buf", machnet_send(ch, f, NULL, 10), EINVAL);
	ROW("send", "len 0", machnet_send(ch, f, buf, 0), EINVAL);
	ROW("send", "8 MiB + 1", machnet_send(ch, f, big, MACHNET_MSG_MAX_LEN + 1), EMSGSIZE);
	ROW("sendmsg", "NULL msghdr", machnet_sendmsg(ch, NULL), EINVAL);
	ROW("sendmsg", "iovecs short of msg_size", machnet_sendmsg(ch, &h), EINVAL);
	ROW("sendmmsg", "NULL array", machnet_sendmmsg(ch, NULL, 1), EINVAL);
	ROW("sendmmsg", "vlen -1", machnet_sendmmsg(ch, &h, -1), EINVAL);
	ROW("recv", "NULL buf", machnet_recv(ch, NULL, 10, &from), EINVAL);
	ROW("recv", "NULL flow", machnet_recv(ch, buf, 10, NULL), EINVAL);
	ROW("recvmsg", "NULL msghdr", machnet_recvmsg(ch, NULL), EINVAL);
	ROW("recv_timeout", "nothing arrives in 10 ms",
	    machnet_recv_timeout(ch, buf, sizeof(buf), &from, 10000), ETIMEDOUT);
	ROW("poll_event", "NULL event", machnet_poll_event(ch, NULL), EINVAL);
	ROW("recv_wait", "NULL channel", machnet_recv_wait(NULL, 0), EINVAL);
	ROW("channel_fd", "NULL channel", machnet_channel_fd(NULL), EINVAL);
	ROW("zc_alloc", "len 0", machnet_zc_alloc(ch, 0, &zc), EINVAL);
	ROW("zc_alloc", "8 MiB + 1", machnet_zc_alloc(ch, MACHNET_MSG_MAX_LEN + 1, &zc), EMSGSIZE);
	ROW("zc_alloc", "NULL msg", machnet_zc_alloc(ch, 10, NULL), EINVAL);
	memset(&zc, 0, sizeof(zc));
	ROW("zc_send", "no message", machnet_zc_send(ch, &zc), EINVAL);
	ROW("zc_recv", "NULL msg", machnet_zc_recv(ch, NULL), EINVAL);
	ROW("zc_release", "no message", machnet_zc_release(ch, &zc), EINVAL);
	ROW("send", "100 B on the flow", machnet_send(ch, f, big, 100), 0);
	for (end = mn_now_s() + 5, n = 0; n == 0 && mn_now_s() < end;)
		n = machnet_recv(ch, small, sizeof(small), &from);
	row("recv", "the 100 B echo into 10 B", n == -1, EMSGSIZE, 0);

	/* Backpressure: the largest messages, not read, until EAGAIN. */
	for (i = 0; i < 1000; i++)
		if (machnet_send(ch, f, big, MACHNET_MSG_MAX_LEN) != 0)
			break;
	row("send", "8 MiB messages until backpressure", i < 1000, EAGAIN, 0);
	for (i = 0; i < 1000; i++) {
		if (machnet_zc_alloc(ch, MACHNET_MSG_MAX_LEN, &zc) != 0)
			break;
		machnet_zc_release(ch, &zc);
	}
	row("zc_alloc", "8 MiB until backpressure", i < 1000, EAGAIN, 0);

	/* close */
	ROW("close", "NULL flow", machnet_close(ch, NULL), EINVAL);
	ROW("close", "a flow never opened", machnet_close(ch, &nf), ENOENT);
	ROW("close", "the flow", machnet_close(ch, &f), 0);
	ROW("close", "the flow again", machnet_close(ch, &f), ENOENT);

	/* A reconnect must not be confused with the closed flow. */
	ROW("connect", "again to the same peer", machnet_connect(ch, lip, rip, port, &g), 0);
	if (g.src_port == f.src_port) {
		printf("%s stale flow: the new flow got the closed one's local port %u\n",
		       getenv("MN_STRICT_FLOWS") ? "FAIL" : "KNOWN", g.src_port);
		if (getenv("MN_STRICT_FLOWS"))
			g_fail = 1;
	} else {
		ROW("close", "the old flow after a reconnect", machnet_close(ch, &f), ENOENT);
	}
	ROW("send", "on the new flow", machnet_send(ch, g, "ping", 4), 0);
	n = 0;
	n = recv_some(ch, in, sizeof(in), &from);
	check(n == 4 && memcmp(in, "ping", 4) == 0, "recv its echo");

	/* Two threads on one channel: the second gets EBUSY while the first
	 * is inside a connect. */
	memset(&ba, 0, sizeof(ba));
	ba.ch = ch;
	ba.lip = lip;
	ba.dead_ip = dead_ip;
	ba.port = port;
	if (pthread_create(&t, NULL, slow_connect, &ba) != 0) {
		printf("FAIL pthread_create\n");
		return 1;
	}
	for (tries = 0; !atomic_load(&ba.done) && tries < 100000000; tries++) {
		if (machnet_poll_event(ch, &ev) == -1) {
			row("poll_event", "while another thread connects", 1, EBUSY, 0);
			busy = 1;
			break;
		}
	}
	pthread_join(t, NULL);
	if (!busy)
		row("poll_event", "while another thread connects", 0, EBUSY, 0);
	ROW("send", "after the other thread left", machnet_send(ch, g, "ok", 2), 0);

	/* Stale handles. */
	old = ch;
	ROW("detach", "the channel", machnet_detach(old), 0);
	ROW("detach", "it again", machnet_detach(old), EBADF);
	ch = machnet_attach();
	ROWP("attach", "a new channel", ch, 0);
	ROW("send", "on the old handle", machnet_send(old, g, "x", 1), EBADF);
	ROW("listen", "on the old handle", machnet_listen(old, lip, port), EBADF);
	ROW("close", "on the old handle", machnet_close(old, &g), EBADF);
	ROW("poll_event", "on the old handle", machnet_poll_event(old, &ev), EBADF);
	ROW("recv_wait", "on the old handle", machnet_recv_wait(old, 0), EBADF);
	ROW("channel_fd", "on the old handle", machnet_channel_fd(old), EBADF);
	ROW("detach", "the old handle", machnet_detach(old), EBADF);
	ROW("connect", "on the new channel", machnet_connect(ch, lip, rip, port, &g), 0);
	ROW("send", "on it", machnet_send(ch, g, "pong", 4), 0);
	n = recv_some(ch, in, sizeof(in), &from);
	check(n == 4 && memcmp(in, "pong", 4) == 0, "recv its echo on the new channel");
	ROW("send", "on a value never handed out", machnet_send((void *)in, g, "x", 1), EBADF);

	/* Channels per process. */
	for (i = 0; i < 80; i++)
		if ((many[i] = machnet_attach()) == NULL)
			break;
	saved = errno;
	printf("     (%d more channels attached)\n", i);
	errno = saved;
	row("attach", "one more than a process may hold", i < 80, EMFILE, 0);
	while (i-- > 0)
		machnet_detach(many[i]);
	/* Tells serve to end. */
	while (machnet_send(ch, g, "quit", 4) != 0 && errno == EAGAIN)
		;
	ROW("detach", "the last channel", machnet_detach(ch), 0);

	printf("%s: %d rows\n", g_fail ? "FAIL" : "all rows as documented", g_rows);
	return g_fail;
}

/* ---- per-app limits ---- */

/* Opens flows to rip:port until one fails: n must succeed and the next get
 * EDQUOT. The flows are left in fl[0..n). */
static void fill_flows(void *ch, const char *lip, const char *rip, uint16_t port, int n,
		       MachnetFlow_t *fl, const char *when)
{
	char what[96];

	int i, saved;

	for (i = 0; i <= n; i++)
		if (machnet_connect(ch, lip, rip, port, &fl[i]) != 0)
			break;
	saved = errno;
	snprintf(what, sizeof(what), "%d flows %s (%d taken)", n, when, i);
	errno = saved;
	row("connect", what, i <= n, EDQUOT, 0);
	if (i != n) {
		printf("FAIL %d connects succeeded, want %d\n", i, n);
		g_fail = 1;
	}
	if (i > n)
		machnet_close(ch, &fl[n]);
}

static void fill_listeners(void *ch, const char *lip, uint16_t base, int n, int want,
			   const char *when)
{
	char what[96];

	int i, saved;

	for (i = 0; i <= n; i++)
		if (machnet_listen(ch, lip, (uint16_t)(base + i)) != 0)
			break;
	saved = errno;
	snprintf(what, sizeof(what), "%d listeners %s (%d taken)", n, when, i);
	errno = saved;
	row("listen", what, i <= n, want, 0);
	if (i != n) {
		printf("FAIL %d listens succeeded, want %d\n", i, n);
		g_fail = 1;
	}
}

/* Waits (bounded) for SIGUSR1, which the calling thread has blocked. */
static int wait_usr1(int seconds)
{
	struct timespec ts = { seconds, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return sigtimedwait(&set, NULL, &ts) == SIGUSR1 ? 0 : -1;
}

static int hog(const char *lip, const char *rip, uint16_t port, int n, int nlis, int wait)
{
	static MachnetFlow_t fl[1 << 16];	/* n + 1 at most */
	void *ch;
	int i;

	if (n < 1 || n >= (1 << 16) - 1)
		return 2;
	if (machnet_init() != 0 || (ch = machnet_attach()) == NULL) {
		printf("FAIL init/attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	fill_flows(ch, lip, rip, port, n, fl, "at once, then EDQUOT");
	fill_listeners(ch, lip, (uint16_t)(port + 400), nlis, EDQUOT, "at once, then EDQUOT");
	if (!wait) {
		ROW("detach", "the channel", machnet_detach(ch), 0);
		printf("%s: %d rows\n", g_fail ? "FAIL" : "all rows as documented", g_rows);
		return g_fail;
	}
	printf("full\n");
	fflush(stdout);
	if (wait_usr1(60) != 0) {
		printf("FAIL no SIGUSR1 within 60 s\n");
		return 1;
	}
	/* Closed flows give their share back at once. */
	for (i = 0; i < n; i++)
		ROW("close", "one of the app's flows", machnet_close(ch, &fl[i]), 0);
	fill_flows(ch, lip, rip, port, n, fl, "again after closing them");
	/* So does a detach, for flows and listeners. */
	ROW("detach", "the full channel", machnet_detach(ch), 0);
	ch = machnet_attach();
	ROWP("attach", "a new channel", ch, 0);
	if (ch == NULL)
		return 1;
	fill_flows(ch, lip, rip, port, n, fl, "again after the detach");
	fill_listeners(ch, lip, (uint16_t)(port + 400), nlis, EDQUOT, "again after the detach");
	printf("%s: %d rows\n", g_fail ? "FAIL" : "refilled", g_rows);
	fflush(stdout);
	/* Killed here (SIGKILL) by the test. */
	wait_usr1(60);
	printf("FAIL not killed within 60 s\n");
	return 1;
}

static int other(const char *lip, const char *rip, uint16_t port2, uint16_t port1, int nlis)
{
	MachnetFlow_t f, g, from;
	MachnetEvent_t ev;
	double end;
	char in[8];
	ssize_t n;
	void *ch;
	int got = 0;

	if (machnet_init() != 0 || (ch = machnet_attach()) == NULL) {
		printf("FAIL init/attach: %s\n", machnet_strerror(errno));
		return 1;
	}
	ROW("connect", "a second app while the first holds its share",
	    machnet_connect(ch, lip, rip, port2, &f), 0);
	ROW("send", "on it", machnet_send(ch, f, "ping", 4), 0);
	n = recv_some(ch, in, sizeof(in), &from);
	check(n == 4 && memcmp(in, "ping", 4) == 0, "recv its echo");
	/* The listening app holds its share of flows: the accepted flow is
	 * reset at once. */
	ROW("connect", "to an app holding its share", machnet_connect(ch, lip, rip, port1, &g), 0);
	for (end = mn_now_s() + 5; !got && mn_now_s() < end;)
		got = machnet_poll_event(ch, &ev) == 1 && ev.type == MACHNET_EV_RESET &&
		      ev.flow.src_port == g.src_port;
	check(got && ev.error == ECONNRESET, "that flow is reset (ECONNRESET)");
	fill_listeners(ch, lip, (uint16_t)(port1 + 600), nlis, ENOSPC,
		       "to the engine's limit, then ENOSPC");
	while (machnet_send(ch, f, "quit", 4) != 0 && errno == EAGAIN)
		;
	ROW("detach", "the channel", machnet_detach(ch), 0);
	printf("%s: %d rows\n", g_fail ? "FAIL" : "all rows as documented", g_rows);
	return g_fail;
}

int main(int argc, char **argv)
{
	sigset_t set;

	/* Blocked in every thread (before DPDK starts its own), for hog's
	 * sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((argc == 7 || argc == 8) && strcmp(argv[1], "hog") == 0)
		return hog(argv[2], argv[3], (uint16_t)atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
			   argc == 8);
	if (argc == 7 && strcmp(argv[1], "other") == 0)
		return other(argv[2], argv[3], (uint16_t)atoi(argv[4]), (uint16_t)atoi(argv[5]),
			     atoi(argv[6]));
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve((uint16_t)atoi(argv[2]), atof(argv[3]));
	if (argc == 6 && strcmp(argv[1], "table") == 0)
		return table(argv[2], argv[3], (uint16_t)atoi(argv[4]), argv[5]);
	fprintf(stderr, "usage: mn_api_table serve PORT SECONDS | table LIP RIP PORT DEAD_IP |\n"
		"       hog LIP RIP PORT N L [wait] | other LIP RIP PORT2 PORT1 NLIS\n");
	return 2;
}
