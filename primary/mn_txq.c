/* mn_txq: an engine's transmit queue on one port. See mn_txq.h. */
#include "mn_txq.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "mn_fault.h"

void mn_txq_init(struct mn_txq *q, uint16_t port_id, uint16_t queue, const _Atomic uint32_t *hold,
		 struct mn_engine_stats *st, uint64_t cycles_per_us)
{
	q->port_id = port_id;
	q->queue = queue;
	q->n = 0;
	q->fault = NULL;
	q->hold = hold;
	q->st = st;
	q->cycles_per_us = cycles_per_us;
}

void mn_txq_flush(struct mn_txq *q)
{
	uint16_t sent;

	if (unlikely(q->fault != NULL)) {
		uint64_t t = mn_txq_now_ns(q->cycles_per_us);

		q->n = mn_fault_apply(q->fault, (void **)q->pkts, q->n, MN_TXQ_SIZE, t);
		q->n += mn_fault_release(q->fault, (void **)(q->pkts + q->n), MN_TXQ_SIZE - q->n, t);
	}
	if (q->n == 0)
		return;
	if (unlikely(mn_txq_port_held(q))) {
		/* Its link is down and it is being restarted: what was queued
		 * is lost as on a dead wire, and the transport resends it. */
		q->st->tx_fail += q->n;
		rte_pktmbuf_free_bulk(q->pkts, q->n);
		q->n = 0;
		return;
	}
	sent = rte_eth_tx_burst(q->port_id, q->queue, q->pkts, q->n);
	for (uint16_t i = 0; i < sent; i++)
		q->st->tx_bytes += rte_pktmbuf_pkt_len(q->pkts[i]);
	q->st->tx_pkts += sent;
	if (sent < q->n) {
		q->st->tx_fail += (uint64_t)(q->n - sent);
		rte_pktmbuf_free_bulk(&q->pkts[sent], q->n - sent);
	}
	q->n = 0;
}
