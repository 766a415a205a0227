/* mn_transport_priv: what the transport glue's files share (mn_transport.c:
 * flows, proto callbacks, sends, entry points; mn_transport_cmd.c: the
 * channels' commands and connects waiting for ARP). Not for other modules.
 */
#ifndef MN_TRANSPORT_PRIV_H
#define MN_TRANSPORT_PRIV_H

#include <rte_cycles.h>

#include "mn_proto.h"
#include "mn_transport.h"

enum { XF_FREE = 0, XF_ARP, XF_OPENING, XF_OPEN, XF_CLOSING };

#define CMD_BURST 16
#define TX_BURST 32
/* Channel of a parked message whose channel went away: nobody to tell. */
#define CHAN_GONE UINT16_MAX

static inline uint64_t clock_ns(const struct mn_transport *x)
{
	return (uint64_t)((double)(rte_rdtsc() - x->tsc0) * x->ns_per_tsc);
}

/* Listener cookies name the channel and its generation, so a flow accepted
 * after its listener's channel went away (and the id was reused) is
 * recognised. */
static inline void *lis_cookie(const struct mn_transport *x, uint16_t chan)
{
	return (void *)(uintptr_t)(((uint64_t)x->ce->chans[chan].gen << 16 | chan) + 1);
}

/* The glue's entry of the flow with this tuple, or NULL. The entry is the
 * proto flow's cookie (set at connect and accept), so proto's flow hash is
 * the only table: a flow still resolving ARP has no proto flow and is not
 * found (the app has no tuple of it yet: its connect has not been answered),
 * an ended one neither (proto clears the cookie), nor one refused at accept
 * (cookie NULL). */
static inline struct mn_tr_flow *mn_tr_flow_find(const struct mn_transport *x, uint32_t lip,
						 uint16_t lport, uint32_t rip, uint16_t rport)
{
	struct mn_flow *f = mn_proto_find(x->ep, lip, lport, rip, rport);

	return f != NULL ? mn_flow_cookie(f) : NULL;
}
/* A free entry for channel chan (counted in flows_full when none), or NULL. */
struct mn_tr_flow *mn_tr_flow_alloc(struct mn_transport *x, uint16_t chan);
void mn_tr_flow_free(struct mn_transport *x, struct mn_tr_flow *xf);
/* Charges xf, a new flow of channel chan, to its app's quota: 0, or
 * -EDQUOT when the app holds apps.max_flows (counted in quota_flows; xf is
 * left uncharged for the caller to free). */
int mn_tr_flow_charge(struct mn_transport *x, struct mn_tr_flow *xf, uint16_t chan);
/* Releases xf's charge, if any (its end, or its app let go of it). */
void mn_tr_flow_uncharge(struct mn_tr_flow *xf);
/* ev describes xf's flow (type, status). */
void mn_tr_flow_event(const struct mn_transport *x, const struct mn_tr_flow *xf, uint16_t type,
		      int status, struct mn_event *ev);
/* Answers the command a flow holds (CONNECT or CLOSE), once. */
void mn_tr_reply_cmd(struct mn_transport *x, struct mn_tr_flow *xf, int status);
/* One message from a channel: sent, parked behind its flow's, or failed. */
void mn_tr_take_msg(struct mn_transport *x, struct mn_tx_msg *msg);
/* Runs the commands the channels' control thread queued; returns how many. */
unsigned mn_tr_run_cmds(struct mn_transport *x);

#endif
