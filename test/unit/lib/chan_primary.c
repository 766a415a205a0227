/* chan_primary: a stand-in machnetd for testing libmachnet and the primary's
 * control/channel modules end to end, without ports or the transport. Its
 * "engine" (the main lcore) answers listen/connect/close at once and echoes
 * every message back to the channel it came from (same flow), so a
 * connect-and-echo app sees a working stack. Connecting to port 9 is
 * refused. Prints "ready" when apps may attach and, each 100 ms, the pool's
 * in-use count and the control counters, so a test can watch an app's
 * buffers come back after it is killed.
 *   chan_primary PREFIX SECONDS
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "mn_chan.h"
#include "mn_ctrl.h"
#include "mn_clock.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void handle_cmd(struct mn_chan_engine *e, const struct mn_engine_cmd *c, uint16_t *port)
{
	struct mn_event fl;

	switch (c->op) {
	case MN_CMD_LISTEN:
	case MN_CMD_CLOSE:
		mn_chan_reply(e, c, 0, NULL);
		break;
	case MN_CMD_CONNECT:
		if (c->remote_port == 9) {
			mn_chan_reply(e, c, -ECONNREFUSED, NULL);
			break;
		}
		memset(&fl, 0, sizeof(fl));
		fl.src_ip = c->local_ip;
		fl.dst_ip = c->remote_ip;
		fl.src_port = (*port)++;
		fl.dst_port = c->remote_port;
		mn_chan_reply(e, c, 0, &fl);
		break;
	case MN_CMD_CHAN_DEL:
		mn_chan_release(e, c);
		break;
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = { argv[0], "--no-pci", "-l", "0", "-m", "256", "--log-level=error",
			prefix, NULL };
	struct mn_ctrl_params p;
	struct mn_chan_engine *e;
	struct rte_mempool *mp;
	struct mn_ctrl_stats st;
	char err[256];
	double end, next_print = 0;
	uint16_t port = 40000;
	unsigned idle = 0;
	/* Echoes the app's RX ring had no room for: retried before taking more,
	 * so a slow reader pushes back on its sender instead of losing data. */
	struct mn_tx_msg pend[32];
	unsigned npend = 0;

	if (argc != 3)
		return 2;
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", argv[1]);
	if (rte_eal_init(8, eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	mp = rte_pktmbuf_pool_create("mn_pool_0", 16383, 256, 0, 2048 + 128, SOCKET_ID_ANY);
	if (mp == NULL) {
		fprintf(stderr, "pool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.instance = argv[1];
	p.n_engines = 1;
	p.pools[0] = mp;
	p.mtu = 1500;
	p.max_apps = 8;
	p.n_chans = 8;
	p.ring_size = 256;
	p.connect_timeout_ms = 1000;
	if (mn_ctrl_init(&p, err, sizeof(err)) < 0 || mn_ctrl_start() < 0) {
		fprintf(stderr, "mn_ctrl: %s\n", err);
		return 1;
	}
	e = mn_ctrl_engine(0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	end = mn_now_s() + atof(argv[2]);
	while (!g_stop && mn_now_s() < end) {
		struct mn_engine_cmd cmds[16];
		struct mn_tx_msg msgs[32];
		unsigned n, i, work;

		n = mn_chan_engine_cmds(e, cmds, 16);
		for (i = 0; i < n; i++)
			handle_cmd(e, &cmds[i], &port);
		mn_chan_service(e);
		work = n;
		if (npend) {
			unsigned k = 0;
			int r;

			for (i = 0; i < npend; i++) {
				r = mn_chan_deliver(e, pend[i].chan, pend[i].head, &pend[i].meta);
				if (r == -ENOBUFS)
					pend[k++] = pend[i];
				else if (r < 0)
					rte_pktmbuf_free(pend[i].head);
			}
			work += npend - k;
			npend = k;
		}
		n = npend ? 0 : mn_chan_poll_tx(e, msgs, 32);
		work += n;
		for (i = 0; i < n; i++) {
			int r = mn_chan_deliver(e, msgs[i].chan, msgs[i].head, &msgs[i].meta);

			if (r == -ENOBUFS)
				pend[npend++] = msgs[i];
			else if (r < 0)
				rte_pktmbuf_free(msgs[i].head);
		}
		/* Two CPUs shared with the apps: do not spin while idle. */
		if (work == 0 && ++idle > 64) {
			idle = 0;
			sched_yield();
		}
		if (mn_now_s() >= next_print) {
			next_print = mn_now_s() + 0.1;
			mn_ctrl_get_stats(&st);
			printf("stats in_use=%u apps=%lu died=%lu released=%lu reclaimed=%lu\n",
			       rte_mempool_in_use_count(mp), (unsigned long)st.apps_registered,
			       (unsigned long)st.apps_died, (unsigned long)st.chans_released,
			       (unsigned long)st.mbufs_reclaimed);
			fflush(stdout);
		}
	}
	mn_ctrl_stop();
	printf("exit in_use=%u\n", rte_mempool_in_use_count(mp));
	return 0;
}
