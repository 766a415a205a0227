#!/bin/bash
# Ride out pauses (issue 12, item 2): two machnetd over memif with the
# default transport (give_up_ms 60 s, max_rto 1 s), msg_gen window 32
# --verify between them.
#  1. SIGSTOP of the server's machnetd for PAUSE_S (30) s, then SIGCONT: no
#     reply while it is stopped, replies again on their own after it, the
#     client's flow never reset.
#  2. The same with SIGSTOP of the server app.
#  3. The same with SIGSTOP of the client's machnetd (the sending side's
#     own stack: its timers stop with it and find every deadline passed at
#     SIGCONT, which must not count as give-up time).
# At the end: every request answered, 0 lost, 0 mismatched.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
mn_pair
PAUSE_S=${PAUSE_S:-30}

mn_app srv "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" 'server listening' 20 "$SP" || mn_fail "msg_gen server"
# Long enough for the three pauses, the waits around them (scaled) and some
# traffic after the last one.
DUR=$((3 * PAUSE_S + 3 * $(mn_s 20) + 15))
mn_app cli "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 \
	--msg_window 32 --verify --duration "$DUR"
CP=$MN_PID

# rx_after LINE: the client printed a second with replies after line LINE.
rx_after() { tail -n +"$(($1 + 1))" "$MN_TMP/cli.log" | grep -Eq 'RX +[1-9][0-9]* msg/s'; }
stalled_after() { tail -n +"$(($1 + 1))" "$MN_TMP/cli.log" | grep -Eq 'RX +0 msg/s'; }
lines() { wc -l < "$MN_TMP/cli.log"; }

# pause WHAT PID: stops PID for PAUSE_S s and checks that traffic stalled
# meanwhile and resumed after SIGCONT.
pause() {
	local what=$1 pid=$2 mark t0 t1
	mark=$(lines)
	mn_wait_for 10 "$CP" rx_after "$mark" || mn_fail "$what: no traffic before the pause"
	kill -STOP "$pid"
	mark=$(lines)
	sleep "$PAUSE_S"	# the fault itself
	stalled_after "$mark" || { kill -CONT "$pid"; mn_fail "$what: traffic did not stall while stopped"; }
	mark=$(lines)
	kill -CONT "$pid"
	t0=$SECONDS
	mn_wait_for 20 "$CP" rx_after "$mark" ||
		mn_fail "$what: no traffic within $(mn_s 20) s of SIGCONT: $(tail -3 "$MN_TMP/cli.log")"
	t1=$SECONDS
	kill -0 "$CP" 2>/dev/null || mn_fail "$what: client exited: $(tail -3 "$MN_TMP/cli.log")"
	mn_log "$what stopped ${PAUSE_S} s: replies again $((t1 - t0)) s (+1 s of reporting) after SIGCONT"
}

pause "server machnetd" "$MN_PA"
pause "server app" "$SP"
pause "client machnetd" "$MN_PB"

mn_wait_exit "$CP" $((DUR + 30))
[ "$MN_RC" -eq 0 ] || mn_fail "client exit $MN_RC: $(tail -5 "$MN_TMP/cli.log")"
grep -A3 'summary' "$MN_TMP/cli.log" | sed "s/^/[cli] /"
grep -Eq 'lost 0 +mismatched 0' "$MN_TMP/cli.log" || mn_fail "losses: $(tail -5 "$MN_TMP/cli.log")"
for inst in "$MN_A" "$MN_B"; do
	n=$(mn_stat "$inst" flows_failed /machnet/proto) || mn_fail "$inst: no /machnet/proto"
	[ "$n" -eq 0 ] || mn_fail "$inst: $n flows failed"
done
mn_log "$(mn_stat "$MN_B" rtos /machnet/proto) RTOs on the client's stack, no flow failed"

mn_stop "$SP" INT 10
mn_stop_pair
mn_log "PASS"
