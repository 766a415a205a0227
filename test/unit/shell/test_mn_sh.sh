#!/bin/bash
# Unit test of scripts/lib/mn.sh, the supervisor of every script and test
# (no root, no DPDK): each bound holds, scaled by MN_TIME_SCALE, even when
# what is waited for never comes (a process that ignores TERM, a log line
# never written, a telemetry socket that never answers: the waits that let
# faults_mn_badinput run past meson's timeout on a loaded machine); cleanup
# goes by PID, newest first, and removes every file of a prefix, the apps'
# lcore locks included.
set -u
MN_SRC=${MN_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
T=$(mktemp -d /tmp/mn-sh-test.XXXXXX)
export MN_HUGE_DIR=$T/huge MN_DPDK_DIR=$T/dpdk MN_RUN_DIR=$T/run
mkdir -p "$MN_HUGE_DIR" "$MN_DPDK_DIR" "$MN_RUN_DIR" "$T/bin"
MN_TIME_SCALE=0.5
MN_LOG_TAG=test_mn_sh
. "$MN_SRC/scripts/lib/mn.sh"
mn_at_exit rm -rf "$T"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# Scaling: rounded up, never 0.
[ "$(mn_s 10)" = 5 ] && [ "$(mn_s 1)" = 1 ] && ok "mn_s scales" || bad "mn_s 10 = $(mn_s 10), mn_s 1 = $(mn_s 1)"

# mn_wait_log: found, timed out (within its scaled bound), and early out
# when the process it watches is gone.
mn_spawn "$T/a.log" bash -c 'sleep 0.2; echo "ready: yes"; sleep 30'
A=$MN_PID
mn_wait_log "$T/a.log" '^ready: ' 4 "$A" && ok "log line seen" || bad "log line not seen"
t0=$SECONDS
mn_wait_log "$T/a.log" '^never' 4 "$A" 2>/dev/null && bad "a line never written was seen"
[ $((SECONDS - t0)) -le 3 ] && ok "wait_log bound (2 s) held" || bad "wait_log took $((SECONDS - t0)) s for a 2 s bound"
mn_spawn "$T/b.log" true
t0=$SECONDS
mn_wait_log "$T/b.log" 'x' 20 "$MN_PID" 2>/dev/null && bad "exited process matched"
[ $((SECONDS - t0)) -le 2 ] && ok "wait_log gives up when the process is gone" || bad "wait_log on a dead pid took $((SECONDS - t0)) s"
mn_reap "$MN_PID"

# mn_stop: a process that ignores TERM is killed within the bounds
# (2 s asked + 5 s of mn_force, both halved), MN_RC 124.
mn_spawn "$T/c.log" bash -c 'trap "" TERM INT; echo up; while :; do sleep 0.1; done'
C=$MN_PID
mn_wait_log "$T/c.log" '^up' 4 "$C"
t0=$SECONDS
mn_stop "$C" INT 2 2>/dev/null
el=$((SECONDS - t0))
{ [ "$MN_RC" = 124 ] && ! kill -0 "$C" 2>/dev/null && [ $el -le 5 ]; } && ok "stuck process killed in $el s" ||
	bad "stuck process: rc $MN_RC, alive $(kill -0 "$C" 2>/dev/null && echo yes || echo no), $el s"
mn_stop "$A" TERM 4
[ "$MN_RC" = 143 ] && ok "stop by TERM: status 143" || bad "stop by TERM: status $MN_RC"

# mn_wait_exit: the status of a process that exits by itself; reaped pids
# are forgotten (no later cleanup signals a reused pid).
mn_spawn "$T/d.log" bash -c 'exit 3'
mn_wait_exit "$MN_PID" 4
[ "$MN_RC" = 3 ] && ok "exit status 3" || bad "exit status $MN_RC, want 3"
[ ${#MN_PIDS[@]} -eq 0 ] && ok "reaped pids forgotten" || bad "pids left: ${MN_PIDS[*]}"

# mn_wait_for: true, false at its bound.
mn_wait_for 2 "" test -d "$T" && ok "wait_for true" || bad "wait_for true"
t0=$SECONDS
mn_wait_for 2 "" test -e "$T/nothing" && bad "wait_for of nothing true"
[ $((SECONDS - t0)) -le 2 ] && ok "wait_for bound held" || bad "wait_for took $((SECONDS - t0)) s"

# mn_tel: a telemetry client that never answers is cut at 10 s, halved.
printf '#!/bin/sh\nexec sleep 60\n' > "$T/bin/dpdk-telemetry.py"
chmod +x "$T/bin/dpdk-telemetry.py"
t0=$SECONDS
PATH="$T/bin:$PATH" mn_tel x /machnet/stats && bad "silent telemetry answered"
[ $((SECONDS - t0)) -le 6 ] && ok "telemetry bound held ($((SECONDS - t0)) s)" || bad "telemetry took $((SECONDS - t0)) s"
# ... and one that answers gives key=value lines of every endpoint asked.
cat > "$T/bin/dpdk-telemetry.py" <<'PY'
#!/usr/bin/env python3
import json, sys
print('{"version": "x"}')
for ep in sys.stdin.read().split():
    print("--> " + json.dumps({ep: {"a_" + ep[-1]: 1, "pool_in_use": 7}}))
PY
out=$(PATH="$T/bin:$PATH" mn_tel x /m/s /m/p | tr '\n' ' ')
[ "$out" = "a_s=1 pool_in_use=7 a_p=1 pool_in_use=7 " ] && ok "telemetry lines" || bad "telemetry: '$out'"
v=$(PATH="$T/bin:$PATH" mn_tel_get x /m/s pool_in_use)
[ "$v" = 7 ] && ok "telemetry value" || bad "mn_tel_get: '$v'"

# mn_clean_prefix: hugepage files, runtime dir, instance lock, lcore locks;
# another prefix's files stay.
touch "$MN_HUGE_DIR/pfxmap_0" "$MN_HUGE_DIR/otmap_0" "$MN_RUN_DIR/pfx.lock" "$MN_RUN_DIR/pfx.lcore.3" "$MN_RUN_DIR/ot.lcore.1"
mkdir -p "$MN_DPDK_DIR/pfx"
[ "$(mn_hugefiles pfx)" = 1 ] || bad "mn_hugefiles pfx = $(mn_hugefiles pfx)"
mn_clean_prefix pfx
left=$(cd "$T" && find huge dpdk run -mindepth 1 | sort | tr '\n' ' ')
[ "$left" = "huge/otmap_0 run/ot.lcore.1 " ] && ok "prefix cleaned" || bad "left after cleanup: $left"

# mn_stop_all: newest first, each one stopped before the next is signalled.
for n in 1 2 3; do
	mn_spawn "$T/o$n.log" bash -c "trap 'echo $n >> $T/order; exit 0' TERM; echo up; while :; do sleep 0.05; done"
	mn_wait_log "$T/o$n.log" '^up' 4 "$MN_PID"
done
mn_stop_all
[ "$(tr -d '\n' < "$T/order")" = 321 ] && ok "stopped newest first" || bad "stop order $(tr -d '\n' < "$T/order")"

# The EXIT handling keeps a script's exit status (a failing test must not
# pass) and runs the hooks after the processes are gone.
# (A TERM between fork and exec is lost to bash's handler in the child:
# wait for the exec.)
bash -c '. "$1/scripts/lib/mn.sh"; mn_spawn /dev/null sleep 30; P=$MN_PID
	mn_wait_for 5 "" grep -qx sleep /proc/$P/comm
	mn_at_exit eval "kill -0 $P 2>/dev/null && echo alive || echo gone"; exit 3' _ "$MN_SRC" > "$T/exit.out" 2>&1
rc=$?
{ [ $rc = 3 ] && [ "$(cat "$T/exit.out")" = gone ]; } && ok "exit status kept, hooks after the processes" ||
	bad "exit: status $rc (want 3), hook said '$(cat "$T/exit.out")'"
bash -c '. "$1/scripts/lib/mn.sh"; false' _ "$MN_SRC"
[ $? = 1 ] && ok "status of the last command kept" || bad "status of 'false' not kept"

[ $fails -eq 0 ] || { echo "test_mn_sh: $fails failure(s)"; exit 1; }
echo "test_mn_sh: PASS"
