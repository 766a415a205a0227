#!/bin/bash
# Liveness. An app pair streams echoes while another pair (msg_gen, verified)
# runs beside it; both apps of the first pair are killed with SIGKILL
# mid-stream. machnetd and the other pair carry on with nothing lost; once the
# killed apps' flows are gone both pools are back at their starting use; the
# app starts again and works. Last, machnetd is stopped under a waiting app,
# whose next call fails with ESHUTDOWN within a second.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
mn_pair

mn_pool_base
died_a=$(mn_stat "$MN_A" apps_died)

# The pair that must not notice anything.
mn_app mg-srv "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1
MGS=$MN_PID
mn_wait_log "$MN_TMP/mg-srv.log" 'server listening' 20 "$MGS" || mn_fail "msg_gen server"
mn_app mg-cli "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 \
	--msg_window 8 --duration 6 --warmup 0 --verify
MGC=$MN_PID

# The victims: a streaming echo pair, killed in the middle.
mn_app v-srv "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 6000 100000000
VS=$MN_PID
mn_wait_log "$MN_TMP/v-srv.log" '^listening' 20 "$VS" || mn_fail "victim server did not listen"
mn_app v-cli "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 6000 100000000 7 16
VC=$MN_PID
# Mid-stream: messages are flowing (the server's engine delivers).
sleep 1.5
kill -0 "$VC" 2>/dev/null || mn_fail "victim client ended early: $(cat "$MN_TMP/v-cli.log")"
kill -9 "$VC"
sleep 0.2
kill -9 "$VS"
wait "$VC" "$VS" 2>/dev/null

mn_wait_exit "$MGC" 30
[ "$MN_RC" -eq 0 ] || mn_fail "msg_gen client beside the killed apps: exit $MN_RC"
grep -Eq 'lost 0 +mismatched 0' "$MN_TMP/mg-cli.log" || mn_fail "msg_gen lost messages"
grep -A3 summary "$MN_TMP/mg-cli.log"
mn_stop "$MGS" INT 10

mn_pools_back
mn_no_flows
d=$(mn_stat "$MN_A" apps_died)
[ "$d" -ge $((died_a + 2)) ] || mn_fail "mn-a saw $d app deaths, want >= $((died_a + 2))"
mn_log "after the kills: pools back at $base_a / $base_b, $d deaths seen on mn-a"

# The app starts again and works.
mn_app r-srv "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 6000 200
RS=$MN_PID
mn_wait_log "$MN_TMP/r-srv.log" '^listening' 20 "$RS" || mn_fail "restarted server did not listen"
mn_app r-cli "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 6000 200 9
mn_wait_exit "$MN_PID" 20
if [ "$MN_RC" -ne 0 ]; then
	mn_dump_stats "$MN_A" "$MN_B"
	mn_fail "restarted client: exit $MN_RC"
fi
mn_wait_exit "$RS" 20
[ "$MN_RC" -eq 0 ] || mn_fail "restarted server exit $MN_RC"

# machnetd goes away under a waiting app: ESHUTDOWN within a second.
mn_app wd "$MN_B" env MN_PRIMARY_PID="$MN_PB" "$MN_ECHO_CHECK" waitdown
WD=$MN_PID
mn_wait_log "$MN_TMP/wd.log" '^attached' 20 "$WD" || mn_fail "waitdown app did not attach"
mn_stop "$MN_PB" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-b exit status $MN_RC with an app attached"
mn_wait_exit "$WD" 1
[ "$MN_RC" -eq 0 ] || mn_fail "waiting app: exit $MN_RC within 1 s of machnetd's exit: $(cat "$MN_TMP/wd.log")"
mn_log "$(grep waitdown "$MN_TMP/wd.log")"
mn_stop "$MN_PA" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-a exit status $MN_RC"
mn_log "PASS"
