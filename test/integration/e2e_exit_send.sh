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
mn_e2e_require
mn_pair

ROUNDS=${MN_EXIT_ROUNDS:-5}
COUNT=200	# fits the channel's fill ring: no refill needed while stopped
PORT=7200

mn_pool_base
tx0=$(mn_stat "$MN_B" msgs_tx) || mn_fail "telemetry of $MN_B"
mn_app srv "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 $PORT $((2 * ROUNDS * COUNT))
SRV=$MN_PID
mn_wait_log "$MN_TMP/srv.log" '^listening' 20 "$SRV" || mn_fail "server did not listen"

# sender_round KIND R N: the R-th sender of KIND ("exit": queues COUNT
# messages and exits with machnetd stopped; "close": queues them and closes
# its flows right behind, machnetd resumed once all are queued); it is the
# N-th sender overall, so mn-b must have handed N * COUNT to the transport.
sender_round() {
	local kind=$1 r=$2 n=$3 tag pid v extra=() seed=$((500 + $3))
	tag="$kind$r"
	[ "$kind" = close ] && extra=(--close)
	mn_app "$tag" "$MN_B" "$MN_ECHO_CHECK" sendexit 198.18.0.2 198.18.0.1 $PORT $COUNT \
		"$seed" --flows 2 --max-size 1400 "${extra[@]}"
	pid=$MN_PID
	mn_wait_log "$MN_TMP/$tag.log" '^connected' 20 "$pid" || mn_fail "$tag: sender did not connect"
	kill -STOP "$MN_PB"
	kill -USR1 "$pid"
	if [ "$kind" = close ]; then
		# The sends fill the ring; the first close waits for stopped machnetd.
		mn_wait_log "$MN_TMP/$tag.log" '^sendexit: sent' 20 "$pid" ||
			{ kill -CONT "$MN_PB"; mn_fail "$tag: sender did not send: $(tail -3 "$MN_TMP/$tag.log")"; }
		kill -CONT "$MN_PB"
		mn_wait_exit "$pid" 20
		[ "$MN_RC" -ne 0 ] || grep -qx closed "$MN_TMP/$tag.log" ||
			mn_fail "$tag: sender exited 0 without closing: $(tail -3 "$MN_TMP/$tag.log")"
	else
		mn_wait_exit "$pid" 20
		kill -CONT "$MN_PB"
	fi
	[ "$MN_RC" -eq 0 ] || mn_fail "$tag: sender exit $MN_RC: $(tail -3 "$MN_TMP/$tag.log")"
	v=$(mn_wait_stat "$MN_B" msgs_tx $((tx0 + n * COUNT)) 10) ||
		mn_fail "$tag: mn-b handed $((v - tx0 - (n - 1) * COUNT)) of this sender's $COUNT queued" \
			"messages to the transport (the rest were dropped by the $kind)"
}

for r in $(seq 1 "$ROUNDS"); do
	sender_round exit "$r" "$r"
done
mn_log "$ROUNDS apps each queued $COUNT messages and exited at once: all handed to the transport"
for r in $(seq 1 "$ROUNDS"); do
	sender_round close "$r" $((ROUNDS + r))
done
mn_wait_exit "$SRV" 30
[ "$MN_RC" -eq 0 ] || mn_fail "server exit $MN_RC: $(tail -3 "$MN_TMP/srv.log")"
grep -qx "server 0: echoed $((2 * ROUNDS * COUNT))" "$MN_TMP/srv.log" ||
	mn_fail "server: $(tail -1 "$MN_TMP/srv.log"), want $((2 * ROUNDS * COUNT))"
mn_log "$ROUNDS apps queued $COUNT messages and exited, $ROUNDS closed their flows right after: all $((2 * ROUNDS * COUNT)) arrived"

mn_no_flows
mn_pools_back
mn_stop_pair
mn_log "PASS"
