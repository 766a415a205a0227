#!/bin/bash
# An app that exits right after machnet_send() returned: every message it
# queued must still reach the peer. The sender's machnetd is stopped
# (SIGSTOP) while the app queues COUNT messages on 2 flows and exits, so
# that they are all still in the channel's TX ring when machnetd resumes and
# learns of the exit at the same moment; the echo server on the other stack
# must receive every one of them, round after round. Then the same with
# machnet_close() of every flow right behind the sends: the close request
# reaches machnetd before the engine has taken the messages from the ring,
# and must not overtake them.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages 600
mn_pair

ROUNDS=${MN_EXIT_ROUNDS:-5}
COUNT=200	# fits the channel's fill ring: no refill needed while stopped
PORT=7200

base_a=$(mn_stat "$MN_A" pool_in_use) || mn_fail "telemetry of $MN_A"
base_b=$(mn_stat "$MN_B" pool_in_use) || mn_fail "telemetry of $MN_B"
tx0=$(mn_stat "$MN_B" msgs_tx) || mn_fail "telemetry of $MN_B"
mn_app srv "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 $PORT $((2 * ROUNDS * COUNT))
SRV=$MN_PID
mn_wait_log "$MN_TMP/srv.log" '^listening' 20 "$SRV" || mn_fail "server did not listen"

for r in $(seq 1 "$ROUNDS"); do
	mn_app "snd$r" "$MN_B" "$MN_ECHO_CHECK" sendexit 198.18.0.2 198.18.0.1 $PORT $COUNT \
		$((500 + r)) --flows 2 --max-size 1400
	pid=$MN_PID
	mn_wait_log "$MN_TMP/snd$r.log" '^connected' 20 "$pid" || mn_fail "round $r: sender did not connect"
	kill -STOP "$MN_PB"
	kill -USR1 "$pid"
	mn_wait_exit "$pid" 20
	kill -CONT "$MN_PB"
	[ "$MN_RC" -eq 0 ] || mn_fail "round $r: sender exit $MN_RC: $(tail -3 "$MN_TMP/snd$r.log")"
	want=$((tx0 + r * COUNT))
	v=$(mn_wait_stat "$MN_B" msgs_tx $want 10) ||
		mn_fail "round $r: mn-b handed $((v - tx0)) of $((r * COUNT)) queued messages to the" \
			"transport: the rest were dropped with the exited app's channel"
done
mn_log "$ROUNDS apps each queued $COUNT messages and exited at once: all handed to the transport"

for r in $(seq 1 "$ROUNDS"); do
	mn_app "cls$r" "$MN_B" "$MN_ECHO_CHECK" sendexit 198.18.0.2 198.18.0.1 $PORT $COUNT \
		$((600 + r)) --flows 2 --max-size 1400 --close
	pid=$MN_PID
	mn_wait_log "$MN_TMP/cls$r.log" '^connected' 20 "$pid" || mn_fail "close round $r: sender did not connect"
	kill -STOP "$MN_PB"
	kill -USR1 "$pid"
	# The sends fill the ring; the first close waits for stopped machnetd.
	mn_wait_log "$MN_TMP/cls$r.log" '^sendexit: sent' 20 "$pid" ||
		{ kill -CONT "$MN_PB"; mn_fail "close round $r: sender did not send: $(tail -3 "$MN_TMP/cls$r.log")"; }
	kill -CONT "$MN_PB"
	mn_wait_exit "$pid" 20
	[ "$MN_RC" -eq 0 ] && grep -qx closed "$MN_TMP/cls$r.log" ||
		mn_fail "close round $r: sender exit $MN_RC: $(tail -3 "$MN_TMP/cls$r.log")"
	want=$((tx0 + (ROUNDS + r) * COUNT))
	v=$(mn_wait_stat "$MN_B" msgs_tx $want 10) ||
		mn_fail "close round $r: mn-b handed $((v - tx0 - ROUNDS * COUNT)) of $((r * COUNT))" \
			"messages sent before machnet_close() to the transport"
done
mn_wait_exit "$SRV" 30
[ "$MN_RC" -eq 0 ] || mn_fail "server exit $MN_RC: $(tail -3 "$MN_TMP/srv.log")"
grep -qx "server 0: echoed $((2 * ROUNDS * COUNT))" "$MN_TMP/srv.log" ||
	mn_fail "server: $(tail -1 "$MN_TMP/srv.log"), want $((2 * ROUNDS * COUNT))"
mn_log "$ROUNDS apps queued $COUNT messages and exited, $ROUNDS closed their flows right after: all $((2 * ROUNDS * COUNT)) arrived"

mn_wait_stat "$MN_A" flows 0 10 >/dev/null || mn_fail "mn-a still has flows"
mn_wait_stat "$MN_B" flows 0 10 >/dev/null || mn_fail "mn-b still has flows"
v=$(mn_wait_stat "$MN_A" pool_in_use "$base_a" 10) || mn_fail "mn-a pool in use $v, started at $base_a"
v=$(mn_wait_stat "$MN_B" pool_in_use "$base_b" 10) || mn_fail "mn-b pool in use $v, started at $base_b"
mn_stop_pair
mn_log "PASS"
