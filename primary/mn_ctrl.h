/* mn_ctrl: machnetd's control plane for applications (ABI: mn_abi.h
 * section 2).
 *
 * Promises:
 * - mn_ctrl_init() reserves everything apps will ever use (control memzone,
 *   every channel's rings, engine command rings) before any app can attach,
 *   so no memory is reserved while secondaries run.
 * - Requests arrive over DPDK multi-process IPC (action MN_CTRL_ACTION) and
 *   are answered at once: attach/detach/listen/connect/close are turned into
 *   struct mn_engine_cmd on the owning engine's command ring; results of
 *   flow work reach the app as events on its channel, sent by the engine.
 * - A control thread watches every registered app's pidfd; when an app dies
 *   (or says goodbye) each of its channels is handed back to its engine
 *   (MN_CMD_CHAN_DEL), and when the engine confirms, the rings are reset and
 *   the channel and slot are free again. Other apps are not affected.
 * - Each registered app has a quota of flows and listeners (struct
 *   mn_app_quota, apps.max_flows / max_listeners) that the engines charge;
 *   it is back at 0 when the app's slot is freed (see mn_chan.h).
 * - Control code never runs on an engine lcore and never touches mbufs.
 */
#ifndef MN_CTRL_H
#define MN_CTRL_H

#include <stddef.h>
#include <stdint.h>

#include "mn_abi.h"
#include "mn_engine_cmd.h"

struct rte_mempool;
struct mn_chan_engine;

struct mn_ctrl_params {
	const char *instance;
	unsigned n_engines;			/* 1..MN_ABI_MAX_ENGINES */
	struct rte_mempool *pools[MN_ABI_MAX_ENGINES];	/* engine i's pool */
	uint32_t mtu;				/* smallest interface MTU */
	uint32_t max_apps;			/* 1..MN_MAX_APPS */
	uint32_t n_chans;			/* 0: 4 per app, at most MN_MAX_CHANNELS */
	uint32_t ring_size;			/* power of two, >= 64 */
	uint32_t fill_target;			/* 0: 256 */
	uint32_t connect_timeout_ms;
	uint32_t engine_flows;			/* flows (listeners) of one engine's table: */
	uint32_t engine_listeners;		/* the per-app limits never exceed them */
	uint32_t app_max_flows;			/* apps.max_flows; 0: engine_flows / 4 */
	uint32_t app_max_listeners;		/* apps.max_listeners; 0: engine_listeners / 4 */
};

/* Creates the control memzone, channels and engine contexts. Primary, after
 * the pools exist and before the engines run. 0 or -errno with err filled. */
int mn_ctrl_init(const struct mn_ctrl_params *p, char *err, size_t errlen);

/* Engine id's context, for its loop (see mn_chan.h). NULL if out of range. */
struct mn_chan_engine *mn_ctrl_engine(unsigned id);

/* Registers the IPC action and starts the control thread; apps may attach
 * from now on. 0 or -errno. */
int mn_ctrl_start(void);

/* Marks the instance stopped (apps then fail with ESHUTDOWN), unregisters
 * the action and stops the control thread. */
void mn_ctrl_stop(void);

/* Frees what mn_ctrl_init() made (after the engines stopped). */
void mn_ctrl_fini(void);

/* Counters for stats. */
struct mn_ctrl_stats {
	uint64_t requests, bad_requests, apps_registered, apps_died, apps_left;
	uint64_t chans_attached, chans_released, mbufs_reclaimed, cmd_ring_full;
	/* Now, over every app: flows and listeners charged to app quotas. */
	uint64_t app_flows, app_listeners;
	/* Apps registered into a slot whose quota was not back at 0 (a leak:
	 * it is reset, and counted here). */
	uint64_t quota_leaks;
	uint32_t app_max_flows, app_max_listeners;	/* the limits in force */
	/* engine.idle = "adaptive": futex sleeps of the engines, doorbells
	 * that woke one, sleeps that overran their bound by over 1 ms, and
	 * futex wakes and eventfd writes the engines made for apps */
	uint64_t engine_sleeps, engine_wakeups, engine_late, app_wakes;
};
void mn_ctrl_get_stats(struct mn_ctrl_stats *out);

/* Descriptors apps handed over that failed validation (garbage, foreign or
 * misaligned pointers, bad lengths), summed over the channel table: TX
 * messages and used chains. Any thread; racy 64-bit reads. */
void mn_ctrl_chan_invalid(uint64_t *tx_invalid, uint64_t *used_invalid);

#endif
