/* mn_eal_locks: releases the EAL locks that apps which died left taken.
 *
 * EAL's shared rwlocks (memzones, tail queues, mempools, memory hotplug)
 * live in the instance's config file, which every secondary maps. An app
 * killed while it holds one leaves it taken for good: its EAL init holds
 * the memory hotplug lock for reading through the whole hugepage attach
 * (tens of ms, the window random kills hit) and the memzone lock for
 * writing while it attaches the memzone table; lookups hold the others for
 * reading for microseconds. Nothing notices while the stack runs (machnetd
 * takes these locks for writing only when it stops), but then
 * rte_ring_free, rte_mempool_free, rte_memzone_free and rte_eal_cleanup
 * (rte_eal_memory_detach) spin forever: the e2e_kill_storm shutdown hang.
 * DPDK cannot reclaim them, so the primary does before it stops. A taken
 * lock is leaked when no other process maps the config file any more (the
 * lock word is in that mapping, so a holder must map it); while apps still
 * map it, a lock that is not let go within about a second is taken as
 * leaked too (this primary is going away; a live app of a stopping stack
 * gets ESHUTDOWN anyway). Main thread, shutdown only; logs what it does.
 */
#ifndef MN_EAL_LOCKS_H
#define MN_EAL_LOCKS_H

/* Releases the leaked locks of the EAL instance whose runtime directory is
 * runtime_dir (nothing when it is ""); call before each teardown step that
 * takes them for writing. Cheap when none is taken; waits at most ~2 s. */
void mn_eal_release_dead_locks(const char *runtime_dir);

#endif
