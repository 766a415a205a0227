/* mn_transport_cmd: the transport glue's commands from apps (listen,
 * connect, close, a channel going away) and the connects waiting for ARP.
 * See mn_transport.h. */
#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "mn_proto.h"
#include "mn_steer.h"
#include "mn_transport_priv.h"

_Static_assert(MN_STEER_LIS == MN_TRANSPORT_LIS, "every listener slot is published");

/* ---------------- commands ---------------- */

static int port_of_ip(const struct mn_transport *x, uint32_t ip)
{
	for (unsigned i = 0; i < x->env.n_ports; i++)
		if (x->env.ports[i].ifc.ip == ip)
			return (int)i;
	return -1;
}

static void start_connect(struct mn_transport *x, struct mn_tr_flow *xf, const uint8_t mac[6])
{
	struct mn_flow_info fi;
	struct mn_flow *f;

	if (xf->state == XF_ARP)
		x->n_arp--;
	f = mn_proto_connect(x->ep, xf->lip, xf->rip, xf->rport, mac, xf, x->now);
	if (f == NULL) {
		int err = errno ? -errno : -ENOSPC;

		xf->state = XF_OPENING;	/* not XF_ARP: n_arp is settled */
		mn_tr_reply_cmd(x, xf, err);
		mn_tr_flow_free(x, xf);
		return;
	}
	mn_flow_info(f, &fi);
	xf->f = f;
	xf->lport = fi.local_port;
	xf->state = XF_OPENING;
	/* The SYN retry timer is new: look at proto's deadline again. */
	x->deadline = 0;
}

static void cmd_connect(struct mn_transport *x, const struct mn_engine_cmd *cmd)
{
	struct mn_tr_flow *xf;
	uint8_t mac[6];
	int pi = port_of_ip(x, cmd->local_ip), r;

	if (pi < 0) {
		mn_chan_reply(x->ce, cmd, -EADDRNOTAVAIL, NULL);
		return;
	}
	xf = mn_tr_flow_alloc(x, cmd->chan);
	if (xf == NULL) {
		mn_chan_reply(x->ce, cmd, -ENOSPC, NULL);
		return;
	}
	xf->state = XF_OPENING;	/* not XF_FREE, so that the free below takes it back */
	r = mn_tr_flow_charge(x, xf, cmd->chan);
	if (r < 0) {
		mn_tr_flow_free(x, xf);
		mn_chan_reply(x->ce, cmd, r, NULL);
		return;
	}
	x->st.connects++;
	xf->cmd = *cmd;
	xf->has_cmd = 1;
	xf->lip = cmd->local_ip;
	xf->rip = cmd->remote_ip;
	xf->rport = cmd->remote_port;
	xf->port = (uint8_t)pi;
	xf->state = XF_OPENING;
	r = mn_neigh_resolve(x->env.neigh, (unsigned)pi, cmd->remote_ip, mac);
	if (r == 0) {
		start_connect(x, xf, mac);
	} else if (r == -EINPROGRESS) {
		xf->state = XF_ARP;
		xf->arp_deadline = x->now + x->connect_timeout_ns;
		x->n_arp++;
	} else {
		mn_tr_reply_cmd(x, xf, r);
		mn_tr_flow_free(x, xf);
	}
}

static struct mn_tr_flow *cmd_flow(struct mn_transport *x, const struct mn_engine_cmd *cmd)
{
	struct mn_tr_flow *xf = NULL;

	if (cmd->flow_id >= 1 && cmd->flow_id <= x->flows_hw) {
		xf = &x->flows[cmd->flow_id - 1];
		if (xf->lip != cmd->local_ip || xf->rip != cmd->remote_ip ||
		    xf->lport != cmd->local_port || xf->rport != cmd->remote_port)
			xf = NULL;
	}
	if (xf == NULL)
		xf = mn_tr_flow_find(x, cmd->local_ip, cmd->local_port, cmd->remote_ip,
				cmd->remote_port);
	if (xf == NULL || xf->state == XF_FREE || xf->chan != cmd->chan || xf->orphan)
		return NULL;
	return xf;
}

/* Takes every message a channel has queued so far (machnet_send() returned
 * 0 for each): a command from the app overtakes its own earlier sends
 * otherwise, as commands and messages travel on different rings. */
static void drain_chan(struct mn_transport *x, uint16_t chan)
{
	struct mn_tx_msg msgs[TX_BURST];
	unsigned i, n;

	do {
		n = mn_chan_poll_tx_one(x->ce, chan, msgs, TX_BURST);
		for (i = 0; i < n; i++)
			mn_tr_take_msg(x, &msgs[i]);
	} while (n == TX_BURST);
}

static void cmd_close(struct mn_transport *x, const struct mn_engine_cmd *cmd)
{
	struct mn_tr_flow *xf = cmd_flow(x, cmd);

	if (xf == NULL || xf->state == XF_CLOSING) {
		mn_chan_reply(x->ce, cmd, -ENOENT, NULL);
		return;
	}
	/* Messages sent before the close go out before it, like a closed
	 * socket's: take them from the ring; parked ones hold the close back
	 * until they are in proto (retry_parked). */
	drain_chan(x, cmd->chan);
	/* A connect still waiting is answered first. */
	mn_tr_reply_cmd(x, xf, -ECONNABORTED);
	if (xf->f == NULL) {
		/* Still resolving ARP: nothing was sent; its parked messages fail. */
		mn_tr_flow_free(x, xf);
		mn_chan_reply(x->ce, cmd, 0, NULL);
		return;
	}
	xf->cmd = *cmd;
	xf->has_cmd = 1;
	xf->state = XF_CLOSING;
	if (xf->npend == 0)
		mn_proto_close(xf->f, x->now);
}

static void cmd_listen(struct mn_transport *x, const struct mn_engine_cmd *cmd)
{
	struct mn_app_quota *q = x->ce->chans[cmd->chan].quota;
	unsigned i;
	int r;

	for (i = 0; i < MN_TRANSPORT_LIS; i++)
		if (!x->lis[i].used)
			break;
	if (i == MN_TRANSPORT_LIS) {
		mn_chan_reply(x->ce, cmd, -ENOSPC, NULL);
		return;
	}
	/* EDQUOT for the app's own limit, as for flows (mn_tr_flow_charge). */
	if (q != NULL && !mn_quota_take(&q->listeners, q->max_listeners)) {
		x->st.quota_listeners++;
		mn_chan_reply(x->ce, cmd, -EDQUOT, NULL);
		return;
	}
	r = mn_proto_listen(x->ep, cmd->local_ip, cmd->local_port, lis_cookie(x, cmd->chan));
	if (r == 0) {
		x->lis[i].used = 1;
		x->lis[i].ip = cmd->local_ip;
		x->lis[i].port = cmd->local_port;
		x->lis[i].chan = cmd->chan;
		if (x->env.steer != NULL)
			mn_steer_listen(x->env.steer, x->env.engine_id, i, cmd->local_ip,
					cmd->local_port);
		x->lis[i].quota = q;
	} else if (q != NULL) {
		mn_quota_put(&q->listeners);
	}
	mn_chan_reply(x->ce, cmd, r, NULL);
}

/* The channel is going away: its listeners go and its flows are closed in
 * proto (which sends what they hold, then RST, and releases their buffers);
 * then the channel's buffers are reclaimed. Every message the app queued
 * before it went (machnet_send() returned 0) is still sent, as a closed
 * socket's data is: the ones in its TX ring are taken first (this command
 * runs before the loop's own poll of the rings), and a flow with parked
 * messages is closed only when the last of them is in proto (retry_parked).
 * Only a full park loses any (counted in send_failed).
 * (mn_proto_abort() here, for an immediate teardown, made e2e_kill's
 * restarted app pair stall: not understood yet, so close for now.) */
static void cmd_chan_del(struct mn_transport *x, const struct mn_engine_cmd *cmd)
{
	unsigned i;

	for (i = 0; i < MN_TRANSPORT_LIS; i++) {
		if (x->lis[i].used && x->lis[i].chan == cmd->chan) {
			mn_proto_unlisten(x->ep, x->lis[i].ip, x->lis[i].port);
			x->lis[i].used = 0;
			if (x->lis[i].quota != NULL)
				mn_quota_put(&x->lis[i].quota->listeners);
			x->lis[i].quota = NULL;
			if (x->env.steer != NULL)
				mn_steer_listen(x->env.steer, x->env.engine_id, i, 0, 0);
		}
	}
	drain_chan(x, cmd->chan);
	for (i = 0; i < x->npend; i++)
		if (x->pend[i].msg.chan == cmd->chan)
			x->pend[i].msg.chan = CHAN_GONE;
	x->chan_pend[cmd->chan] = 0;
	for (i = 0; i < x->flows_hw; i++) {
		struct mn_tr_flow *xf = &x->flows[i];

		if (xf->state == XF_FREE || xf->chan != cmd->chan || xf->orphan)
			continue;
		xf->orphan = 1;
		xf->has_cmd = 0;
		/* The app let go of it: its share is back now (the slot may be
		 * reused as soon as this channel's release is confirmed), while
		 * proto still closes the flow toward the peer. */
		mn_tr_flow_uncharge(xf);
		if (xf->f == NULL) {
			/* Still resolving ARP: its parked messages fail. */
			mn_tr_flow_free(x, xf);
			continue;
		}
		xf->state = XF_CLOSING;
		if (xf->npend == 0)
			mn_proto_close(xf->f, x->now);
	}
	mn_chan_release(x->ce, cmd);
}

unsigned mn_tr_run_cmds(struct mn_transport *x)
{
	struct mn_engine_cmd cmds[CMD_BURST];
	unsigned n = mn_chan_engine_cmds(x->ce, cmds, CMD_BURST);

	for (unsigned i = 0; i < n; i++) {
		switch (cmds[i].op) {
		case MN_CMD_LISTEN:
			cmd_listen(x, &cmds[i]);
			break;
		case MN_CMD_CONNECT:
			cmd_connect(x, &cmds[i]);
			break;
		case MN_CMD_CLOSE:
			cmd_close(x, &cmds[i]);
			break;
		case MN_CMD_CHAN_DEL:
			cmd_chan_del(x, &cmds[i]);
			break;
		default:
			break;
		}
	}
	return n;
}

void mn_transport_arp_resolved(struct mn_transport *x, unsigned port, uint32_t ip,
			       const uint8_t mac[6])
{
	const struct mn_iface *ifc = &x->env.ports[port].ifc;

	if (x->n_arp == 0)
		return;
	x->now = clock_ns(x);
	for (uint32_t i = 0; i < x->flows_hw && x->n_arp; i++) {
		struct mn_tr_flow *xf = &x->flows[i];

		if (xf->state == XF_ARP && xf->port == port &&
		    mn_neigh_next_hop(ifc->ip, ifc->prefix_len, ifc->gateway, xf->rip) == ip)
			start_connect(x, xf, mac);
	}
}

void mn_transport_tick(struct mn_transport *x)
{
	uint8_t mac[6];

	if (x->n_arp == 0)
		return;
	for (uint32_t i = 0; i < x->flows_hw && x->n_arp; i++) {
		struct mn_tr_flow *xf = &x->flows[i];
		int r;

		if (xf->state != XF_ARP)
			continue;
		r = x->now >= xf->arp_deadline ? -ETIMEDOUT :
		    mn_neigh_resolve(x->env.neigh, xf->port, xf->rip, mac);
		if (r == 0) {
			start_connect(x, xf, mac);
		} else if (r != -EINPROGRESS) {
			mn_tr_reply_cmd(x, xf, r);
			mn_tr_flow_free(x, xf);
		}
	}
}

