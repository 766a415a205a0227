#!/bin/bash
# SIGTERM stops machnetd with exit 0 and leaves nothing behind: no hugepage
# files of its prefix, no DPDK runtime dir, the memif socket gone. A new
# machnetd with the same instance then starts.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_hugepages 256

mn_instance mnit-term; INST=$MN_INSTANCE
SOCK="$MN_TMP/memif.sock"
mn_conf "$MN_SRC/conf/mn-a.conf" "$MN_TMP/a.conf" "$INST" "s#socket=[^,\"]*#socket=$SOCK#"

for round in 1 2; do
	mn_start "run$round" "$MACHNETD" -c "$MN_TMP/a.conf"
	P=$MN_PID
	mn_wait_log "$MN_TMP/run$round.log" 'ready:' 20 "$P" || mn_fail "round $round: did not start"
	n=$(mn_hugefiles "$INST")
	[ "$n" -gt 0 ] || mn_fail "round $round: no hugepage files while running (test would prove nothing)"
	[ -d "/var/run/dpdk/$INST" ] || mn_fail "round $round: no runtime dir while running"
	[ -S "$SOCK" ] || mn_fail "round $round: no memif socket while running"

	mn_stop "$P" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "round $round: exit status $MN_RC after SIGTERM"
	grep -q 'stopped$' "$MN_TMP/run$round.log" || mn_fail "round $round: no 'stopped' line"
	n=$(mn_hugefiles "$INST")
	[ "$n" -eq 0 ] || mn_fail "round $round: $n hugepage files left"
	[ -e "/var/run/dpdk/$INST" ] && mn_fail "round $round: runtime dir left"
	[ -e "$SOCK" ] && mn_fail "round $round: memif socket left"
	mn_log "round $round: had hugepage files, exit 0, all removed"
done
# SIGTERM in the middle of startup (EAL init, pools, ports): no files left.
mn_start early "$MACHNETD" -c "$MN_TMP/a.conf"
P=$MN_PID
mn_wait_log "$MN_TMP/early.log" 'eal args:' 20 "$P" || mn_fail "early: did not get to EAL"
mn_stop "$P" TERM 20
# 143 only when the signal beat the handler, i.e. before EAL made any file.
[ "$MN_RC" -eq 0 ] || [ "$MN_RC" -eq 143 ] || mn_fail "early: exit status $MN_RC"
n=$(mn_hugefiles "$INST")
[ "$n" -eq 0 ] || mn_fail "early: $n hugepage files left (exit $MN_RC)"
[ -e "/var/run/dpdk/$INST" ] && mn_fail "early: runtime dir left (exit $MN_RC)"
mn_log "early SIGTERM: exit $MN_RC, nothing left"
mn_log "PASS"
