/* mn_rxintr: RX interrupts wake sleeping engines. See mn_rxintr.h. */
#include "mn_rxintr.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "mn_wake.h"

#define EVENTS 16
#define WAIT_MS 100	/* how often the thread looks at its stop flag */

static struct {
	int epfd;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	unsigned n_engines;
	struct mn_rxintr_engine *engines[MN_ABI_MAX_ENGINES];
} g = { .epfd = -1 };

static void *rxintr_thread(void *arg)
{
	struct rte_epoll_event ev[EVENTS];

	(void)arg;
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		int n = rte_epoll_wait_interruptible(g.epfd, ev, EVENTS, WAIT_MS);

		for (int i = 0; i < n; i++) {
			struct mn_rxintr_engine *re = ev[i].epdata.data;

			if (re == NULL)
				continue;
			atomic_fetch_add_explicit(&re->fired, 1, memory_order_relaxed);
			mn_wake_engine(re->wake);
		}
	}
	return NULL;
}

int mn_rxintr_start(void)
{
	int rc;

	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		return -errno;
	atomic_store(&g.stop, false);
	rc = rte_ctrl_thread_create(&g.thread, "mn-rxintr", NULL, rxintr_thread, NULL);
	if (rc != 0) {
		close(g.epfd);
		g.epfd = -1;
		return -rc;
	}
	g.running = true;
	return 0;
}

void mn_rxintr_stop(void)
{
	if (g.running) {
		atomic_store(&g.stop, true);
		pthread_join(g.thread, NULL);
		g.running = false;
	}
	for (unsigned i = 0; i < g.n_engines; i++)
		mn_rxintr_disarm(g.engines[i]);
	if (g.epfd >= 0)
		close(g.epfd);
	g.epfd = -1;
	g.n_engines = 0;
}

void mn_rxintr_engine_init(struct mn_rxintr_engine *re, struct mn_engine_wake *wake,
			   unsigned n_rxq)
{
	memset(re, 0, sizeof(*re));
	re->epfd = wake ? g.epfd : -1;
	re->wake = wake;
	re->n_rxq = n_rxq;
	if (g.n_engines < MN_ABI_MAX_ENGINES)
		g.engines[g.n_engines++] = re;
}

int mn_rxintr_add_queue(struct mn_rxintr_engine *re, uint16_t port_id, uint16_t queue)
{
	if (re->epfd < 0)
		return -ENOTSUP;
	if (re->n_q == MN_RXINTR_MAX_Q)
		return -ENOSPC;
	/* The only way ethdev says whether a queue has an interrupt: a PMD
	 * without (or a port configured without intr_conf.rxq) refuses, and
	 * logs "Rx Intr handle unset" at ERR, which is no error here: ethdev's
	 * log is muted for the question. */
	int lt = rte_log_register("lib.ethdev"), lvl = lt >= 0 ? rte_log_get_level((uint32_t)lt) : -1;
	int rc;

	if (lvl >= 0)
		rte_log_set_level((uint32_t)lt, RTE_LOG_CRIT);
	rc = rte_eth_dev_rx_intr_ctl_q(port_id, queue, re->epfd, RTE_INTR_EVENT_ADD, re);
	if (lvl >= 0)
		rte_log_set_level((uint32_t)lt, (uint32_t)lvl);
	if (rc != 0)
		return -ENOTSUP;
	rte_eth_dev_rx_intr_ctl_q(port_id, queue, re->epfd, RTE_INTR_EVENT_DEL, re);
	re->q[re->n_q].port_id = port_id;
	re->q[re->n_q].queue = queue;
	re->n_q++;
	return 0;
}

void mn_rxintr_arm(struct mn_rxintr_engine *re)
{
	if (re->armed || re->n_q == 0)
		return;
	for (unsigned i = 0; i < re->n_q; i++) {
		/* Where the PMD has per-queue masking; the others' fds are
		 * always live (-ENOTSUP is fine). */
		rte_eth_dev_rx_intr_enable(re->q[i].port_id, re->q[i].queue);
		rte_eth_dev_rx_intr_ctl_q(re->q[i].port_id, re->q[i].queue, re->epfd,
					  RTE_INTR_EVENT_ADD, re);
	}
	re->armed = true;
}

void mn_rxintr_disarm(struct mn_rxintr_engine *re)
{
	if (!re->armed)
		return;
	for (unsigned i = 0; i < re->n_q; i++) {
		rte_eth_dev_rx_intr_ctl_q(re->q[i].port_id, re->q[i].queue, re->epfd,
					  RTE_INTR_EVENT_DEL, re);
		rte_eth_dev_rx_intr_disable(re->q[i].port_id, re->q[i].queue);
	}
	re->armed = false;
}

void mn_rxintr_counts(unsigned lo, unsigned hi, unsigned *queues, uint64_t *fired)
{
	*queues = 0;
	*fired = 0;
	for (unsigned i = lo; i < hi && i < g.n_engines; i++) {
		*queues += g.engines[i]->n_q;
		*fired += atomic_load_explicit(&g.engines[i]->fired, memory_order_relaxed);
	}
}
