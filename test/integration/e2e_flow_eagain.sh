#!/bin/bash
# Per-flow send backpressure (issue 12, item 1: "machnet_send returns EAGAIN
# once its own per-flow send buffer is full"). One client channel on mn-b
# with two flows to mn-a: S to a server that does not read, F to an echo
# server. The client offers a 64 KiB message on S, then does one
# request-reply on F, over and over for RUN_S seconds. Once S's send buffer
# (transport.tx_flow_pkts) is full, sends on S fail with EAGAIN at once
# while F keeps working: every request-reply on F is answered within 5 s,
# hundreds of them while S is blocked. (Before, S's messages were accepted
# and parked until the channel's share of the park ran out; then nothing
# of the channel was taken, and F's requests waited behind S.) Then the
# server reads: every message S accepted arrives intact and in order.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
SLOWRX=${MN_SLOWRX:?MN_SLOWRX not set}
RUN_S=${RUN_S:-8}
mn_pair

mn_app rrsrv "$MN_A" "$SLOWRX" rr-server 198.18.0.1 7001 $((RUN_S + $(mn_s 120)))
RP=$MN_PID
mn_wait_log "$MN_TMP/rrsrv.log" 'listening' 20 "$RP" || mn_fail "rr-server: $(cat "$MN_TMP/rrsrv.log")"
mn_app srv "$MN_A" "$SLOWRX" server 198.18.0.1 7000 $((RUN_S + $(mn_s 120)))
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" 'listening' 20 "$SP" || mn_fail "server: $(cat "$MN_TMP/srv.log")"

mn_app cli "$MN_B" "$SLOWRX" mixed 198.18.0.2 198.18.0.1 7000 7001 "$RUN_S" $((RUN_S + $(mn_s 120)))
CP=$MN_PID
mn_wait_log "$MN_TMP/cli.log" '^mixed: S accepted' $((RUN_S + $(mn_s 30))) "$CP" ||
	mn_fail "mixed client: $(tail -n 3 "$MN_TMP/cli.log")"
line=$(grep '^mixed: S accepted' "$MN_TMP/cli.log")
mn_log "$line"
kill -USR1 "$SP"
mn_wait_exit "$CP" $(mn_s 120)
[ "$MN_RC" -eq 0 ] || mn_fail "mixed client exit $MN_RC: $(tail -n 3 "$MN_TMP/cli.log")"
mn_wait_exit "$SP" $(mn_s 60)
[ "$MN_RC" -eq 0 ] || mn_fail "server exit $MN_RC: $(tail -n 3 "$MN_TMP/srv.log")"
grep 'server: got' "$MN_TMP/srv.log" | sed 's/^/[server] /'

e=$(echo "$line" | sed -n 's/.*EAGAIN \([0-9]*\);.*/\1/p')
b=$(echo "$line" | sed -n 's/.*, \([0-9]*\) of them while S was blocked/\1/p')
[ "${e:-0}" -gt 0 ] || mn_fail "S never saw EAGAIN: its send buffer never filled"
[ "${b:-0}" -ge 100 ] || mn_fail "only ${b:-0} request-replies on F while S was blocked"
d=$(mn_stat "$MN_B" send_failed) || mn_fail "telemetry of mn-b"
[ "$d" -eq 0 ] || mn_fail "mn-b failed $d sends"
mn_stop "$RP" TERM 10
mn_stop_pair
mn_log "PASS"
