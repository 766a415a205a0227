/* mn_telemetry: machnetd's telemetry commands. See mn_telemetry.h. */
#include "mn_telemetry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "mn_ctrl.h"
#include "mn_engine.h"
#include "mn_frame.h"
#include "mn_proto.h"
#include "mn_rxintr.h"
#include "mn_transport.h"
#include "mn_wire.h"

/* The proto counters /machnet/proto shows, in its order (struct
 * mn_proto_stats fields of the same name). */
#define MN_TEL_PROTO_COUNTERS(X) \
	X(rx_frames) X(rx_not_local) X(rx_data) X(rx_dup) X(rx_out_of_window) X(rx_ooo) \
	X(rx_backpressure) X(rx_nomem) X(rx_bad_framing) X(rx_acks) X(rx_stale_acks) \
	X(rx_dup_acks) X(rx_rst) X(rx_rst_ignored) X(rx_syn_ignored) X(rx_synack_ignored) \
	X(rx_unexpected) X(retransmits) X(fast_retransmits) X(rtos) X(rtos_spurious) X(rst_sent) \
	X(rst_unknown_sent) X(flows_opened) X(flows_failed) \
	X(keepalives_sent) X(keepalive_failures) X(tx_piggy_acks) X(rx_piggy_acks) \
	X(rx_window_closed) X(zwin_probes) X(zwin_opened) X(port_rss_miss)

static const struct mn_info *g_info;
static const struct mn_engine *g_engines;

static bool engine_range(int engine, unsigned *lo, unsigned *hi)
{
	*lo = 0;
	*hi = g_info->n_engines;
	if (engine >= 0) {
		*lo = (unsigned)engine;
		*hi = *lo + 1;
	}
	return *lo < *hi;
}

void mn_engine_stats_sum(const struct mn_info *info, int engine, struct mn_engine_stats *sum)
{
	unsigned lo = 0, hi = info->n_engines;

	memset(sum, 0, sizeof(*sum));
	if (engine >= 0) {
		lo = (unsigned)engine;
		hi = lo + 1;
	}
	for (unsigned i = lo; i < hi; i++) {
		const volatile struct mn_engine_stats *s = &info->stats[i];

#define ADD_(n) sum->n += s->n;
		MN_ENGINE_COUNTERS(ADD_)
		MN_ENGINE_FAULT_COUNTERS(ADD_)
#undef ADD_
		for (unsigned r = 0; r < MN_DROP__COUNT; r++)
			sum->drops[r] += s->drops[r];
	}
}

/* Transport, channel and pool counters of /machnet/stats. */
static void tel_transport(struct rte_tel_data *d, int engine)
{
	struct mn_transport_stats xs;
	struct mn_ctrl_stats cs;
	uint64_t in_use = 0, flows = 0, msgs_sent = 0, msgs_delivered = 0, retransmits = 0;
	uint64_t rtos = 0, rst_sent = 0, rx_backpressure = 0, rx_dropped = 0, rx_window_closed = 0;
	uint64_t rxi_fired;
	unsigned lo, hi, rxi_queues;

	memset(&xs, 0, sizeof(xs));
	engine_range(engine, &lo, &hi);
	for (unsigned i = lo; i < hi; i++) {
		const struct mn_transport *t = mn_engine_transport(&g_engines[i]);
		const volatile struct mn_transport_stats *x = mn_transport_stats(t);
		const struct mn_proto *ep = mn_transport_proto(t);
		const volatile struct mn_proto_stats *ps;

		in_use += mn_engine_pool_in_use(&g_engines[i]);
#define ADD_(n, shown) xs.n += x->n;
		MN_TRANSPORT_COUNTERS(ADD_)
#undef ADD_
		flows += mn_transport_nflows(t);
		if (ep == NULL)
			continue;
		ps = mn_proto_stats(ep);
		msgs_sent += ps->msgs_sent;
		msgs_delivered += ps->msgs_delivered;
		retransmits += ps->retransmits;
		rtos += ps->rtos;
		rst_sent += ps->rst_sent + ps->rst_unknown_sent;
		rx_backpressure += ps->rx_backpressure;
		rx_window_closed += ps->rx_window_closed;
		for (unsigned r = 1; r < MN_RX__COUNT; r++)
			rx_dropped += ps->rx_drop[r];
	}
	mn_ctrl_get_stats(&cs);
	rte_tel_data_add_dict_u64(d, "pool_in_use", in_use);
	rte_tel_data_add_dict_u64(d, "flows", flows);
#define SHOW_(n, shown) if (shown) rte_tel_data_add_dict_u64(d, #n, xs.n);
	MN_TRANSPORT_COUNTERS(SHOW_)
#undef SHOW_
	rte_tel_data_add_dict_u64(d, "proto_msgs_sent", msgs_sent);
	rte_tel_data_add_dict_u64(d, "proto_msgs_delivered", msgs_delivered);
	rte_tel_data_add_dict_u64(d, "retransmits", retransmits);
	rte_tel_data_add_dict_u64(d, "rtos", rtos);
	rte_tel_data_add_dict_u64(d, "rst_sent", rst_sent);
	rte_tel_data_add_dict_u64(d, "rx_backpressure", rx_backpressure);
	rte_tel_data_add_dict_u64(d, "rx_window_closed", rx_window_closed);
	rte_tel_data_add_dict_u64(d, "rx_codec_drops", rx_dropped);
	rte_tel_data_add_dict_u64(d, "apps_registered", cs.apps_registered);
	rte_tel_data_add_dict_u64(d, "apps_died", cs.apps_died);
	rte_tel_data_add_dict_u64(d, "apps_left", cs.apps_left);
	rte_tel_data_add_dict_u64(d, "chans_attached", cs.chans_attached);
	rte_tel_data_add_dict_u64(d, "chans_released", cs.chans_released);
	rte_tel_data_add_dict_u64(d, "mbufs_reclaimed", cs.mbufs_reclaimed);
	/* Per-app limits: what apps hold now (all engines), and the limits. */
	rte_tel_data_add_dict_u64(d, "app_flows", cs.app_flows);
	rte_tel_data_add_dict_u64(d, "app_listeners", cs.app_listeners);
	rte_tel_data_add_dict_u64(d, "app_max_flows", cs.app_max_flows);
	rte_tel_data_add_dict_u64(d, "app_max_listeners", cs.app_max_listeners);
	rte_tel_data_add_dict_u64(d, "quota_leaks", cs.quota_leaks);
	rte_tel_data_add_dict_u64(d, "engine_sleeps", cs.engine_sleeps);
	rte_tel_data_add_dict_u64(d, "engine_wakeups", cs.engine_wakeups);
	rte_tel_data_add_dict_u64(d, "engine_late", cs.engine_late);
	rte_tel_data_add_dict_u64(d, "app_wakes", cs.app_wakes);
	mn_rxintr_counts(lo, hi, &rxi_queues, &rxi_fired);
	rte_tel_data_add_dict_u64(d, "rx_intr_queues", rxi_queues);
	rte_tel_data_add_dict_u64(d, "rx_intr_fired", rxi_fired);
}

static bool ready(void)
{
	return g_info && g_info->magic == MN_INFO_MAGIC;
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mn_engine_stats s;
	char key[64];
	int engine = -1;

	(void)cmd;
	if (!ready())
		return -EAGAIN;
	if (params && params[0]) {
		char *end;
		long v = strtol(params, &end, 10);

		if (*end || v < 0 || v >= (long)g_info->n_engines)
			return -EINVAL;
		engine = (int)v;
	}
	mn_engine_stats_sum(g_info, engine, &s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "engine", engine);
#define SHOW_(n) rte_tel_data_add_dict_u64(d, #n, s.n);
	MN_ENGINE_COUNTERS(SHOW_)
	MN_ENGINE_FAULT_COUNTERS(SHOW_)
#undef SHOW_
	for (unsigned r = 0; r < MN_DROP__COUNT; r++) {
		snprintf(key, sizeof(key), "drop_%s", mn_drop_reason_str(r));
		rte_tel_data_add_dict_u64(d, key, s.drops[r]);
	}
	tel_transport(d, engine);
	return 0;
}

/* /machnet/proto: every transport counter shown summed over the engines,
 * codec rejections by reason, and the flows the transport holds (half-open
 * included), for the bad-input and SYN-flood tests. */
static int tel_proto(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct {
#define FIELD_(n) uint64_t n;
		MN_TEL_PROTO_COUNTERS(FIELD_)
#undef FIELD_
	} v;
	uint64_t drops[MN_RX__COUNT] = { 0 }, nflows = 0, txi, usi;
	char key[64];

	(void)cmd;
	(void)params;
	if (!ready())
		return -EAGAIN;
	memset(&v, 0, sizeof(v));
	for (unsigned i = 0; i < g_info->n_engines; i++) {
		const struct mn_proto *ep = mn_transport_proto(mn_engine_transport(&g_engines[i]));
		const volatile struct mn_proto_stats *ps;

		if (ep == NULL)
			continue;
		ps = mn_proto_stats(ep);
		nflows += mn_proto_nflows(ep);
		for (unsigned r = 1; r < MN_RX__COUNT; r++)
			drops[r] += ps->rx_drop[r];
#define ADD_(n) v.n += ps->n;
		MN_TEL_PROTO_COUNTERS(ADD_)
#undef ADD_
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "proto_flows", nflows);
#define SHOW_(n) rte_tel_data_add_dict_u64(d, #n, v.n);
	MN_TEL_PROTO_COUNTERS(SHOW_)
#undef SHOW_
	if (g_info->n_engines > 0) {
		mn_ctrl_chan_invalid(&txi, &usi);
		rte_tel_data_add_dict_u64(d, "chan_tx_invalid", txi);
		rte_tel_data_add_dict_u64(d, "chan_used_invalid", usi);
	}
	for (unsigned r = 1; r < MN_RX__COUNT; r++) {
		snprintf(key, sizeof(key), "codec_%s", mn_rx_reason_str((enum mn_rx_reason)r));
		rte_tel_data_add_dict_u64(d, key, drops[r]);
	}
	return 0;
}

static int tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char key[64], val[128];

	(void)cmd;
	(void)params;
	if (!ready())
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "instance", g_info->instance);
	rte_tel_data_add_dict_int(d, "abi_version", (int)g_info->abi_version);
	rte_tel_data_add_dict_int(d, "pid", g_info->primary_pid);
	rte_tel_data_add_dict_int(d, "engines", (int)g_info->n_engines);
	for (unsigned i = 0; i < g_info->n_ifaces; i++) {
		const struct mn_abi_iface *f = &g_info->ifaces[i];
		uint32_t ip = htonl(f->ip);
		char ipstr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ip, ipstr, sizeof(ipstr));
		snprintf(key, sizeof(key), "iface%u", i);
		snprintf(val, sizeof(val), "%s port %u %02x:%02x:%02x:%02x:%02x:%02x %s/%u mtu %u",
			 f->name, f->port_id, f->mac[0], f->mac[1], f->mac[2], f->mac[3], f->mac[4],
			 f->mac[5], ipstr, f->prefix_len, f->mtu);
		rte_tel_data_add_dict_string(d, key, val);
	}
	return 0;
}

int mn_telemetry_init(const struct mn_info *info, const struct mn_engine *engines)
{
	g_info = info;
	g_engines = engines;
	if (rte_telemetry_register_cmd("/machnet/stats", tel_stats,
				       "Engine counters, summed or of one engine. Parameters: int engine") ||
	    rte_telemetry_register_cmd("/machnet/info", tel_info,
				       "Instance, engines and interfaces. Takes no parameters") ||
	    rte_telemetry_register_cmd("/machnet/proto", tel_proto,
				       "Transport counters, codec drops by reason, flows. No parameters"))
		return -1;
	return 0;
}
