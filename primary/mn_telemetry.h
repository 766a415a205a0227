/* mn_telemetry: machnetd's DPDK telemetry commands.
 *
 *   /machnet/stats[,ENGINE]  engine counters (summed, or of one engine),
 *                            then the transport glue's, proto's summary,
 *                            the pool and the control plane's
 *   /machnet/info            instance, engines and interfaces
 *   /machnet/proto           every proto counter shown, codec drops by
 *                            reason, the flows proto holds
 * Field names are an interface (tests and tools read them): each comes
 * from a counter list (MN_ENGINE_COUNTERS and friends in mn_abi.h,
 * MN_TRANSPORT_COUNTERS, MN_TEL_PROTO_COUNTERS in mn_telemetry.c), so a new
 * counter is added in one place. The callbacks run on DPDK's telemetry
 * thread and read counters other threads write: each 64-bit value whole
 * (x86-64), not a snapshot of all.
 */
#ifndef MN_TELEMETRY_H
#define MN_TELEMETRY_H

#include "mn_abi.h"

struct mn_engine;

/* Registers the commands over info (the commands answer -EAGAIN until its
 * magic is set) and engines[0 .. info->n_engines). 0 or -1 (a registration
 * failed; machnetd runs on without telemetry). */
int mn_telemetry_init(const struct mn_info *info, const struct mn_engine *engines);

/* The engine counters of engine (all engines when < 0), summed from info. */
void mn_engine_stats_sum(const struct mn_info *info, int engine, struct mn_engine_stats *sum);

#endif
