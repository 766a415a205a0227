/* mn_replyflow: the flow to answer a received message on. machnet_recv names
 * the sender as src_* and this end as dst_* (machnet.h), so the reply swaps
 * both pairs; the echoing test programs all answer this way. */
#ifndef MN_REPLYFLOW_H
#define MN_REPLYFLOW_H

#include "machnet.h"

static inline MachnetFlow_t mn_reply_flow(const MachnetFlow_t *rx)
{
	MachnetFlow_t tx;

	tx.src_ip = rx->dst_ip;
	tx.dst_ip = rx->src_ip;
	tx.src_port = rx->dst_port;
	tx.dst_port = rx->src_port;
	return tx;
}

#endif
