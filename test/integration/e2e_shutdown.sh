#!/bin/bash
# machnetd stopped (SIGTERM) under running apps: one blocked in
# machnet_recv_timeout(-1), one sending in a loop on a flow to an echo
# server on the other stack, one inside machnet_connect (toward a frozen stack nobody
# answers, connect timeout 20 s). Each call must fail with ESHUTDOWN
# within a second of machnetd's exit, timed by the app itself (printed), and
# later calls fail the same way; no app hangs or crashes. Once they exited, a
# new machnetd with the same instance starts and serves an app again.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
mn_pair "/^transport = /d" "\$a transport = { cc = \"fixed\"; connect_timeout_ms = 20000; };"

mn_app echo "$MN_B" "$MN_ECHO_CHECK" server 198.18.0.2 7200 1000000000
EP=$MN_PID
mn_wait_log "$MN_TMP/echo.log" '^listening' 20 "$EP" || mn_fail "echo server did not listen"

mn_app recv "$MN_A" env MN_PRIMARY_PID="$MN_PA" "$MN_ECHO_CHECK" shutdown recv
RP=$MN_PID
mn_app send "$MN_A" env MN_PRIMARY_PID="$MN_PA" "$MN_ECHO_CHECK" shutdown send \
	198.18.0.1 198.18.0.2 7200
SP=$MN_PID
for a in recv send; do
	mn_wait_log "$MN_TMP/$a.log" '^ready' 20 || mn_fail "$a app not ready: $(cat "$MN_TMP/$a.log")"
done
# A connect that stays pending: mn-b's MAC is known (the sender's flow), and
# mn-b is frozen, so the SYN goes unanswered for the 20 s connect timeout.
kill -STOP "$MN_PB"
mn_app conn "$MN_A" env MN_PRIMARY_PID="$MN_PA" "$MN_ECHO_CHECK" shutdown connect \
	198.18.0.1 198.18.0.2 7201
CP=$MN_PID
# "ready" is printed right before machnet_connect(); the request reaches
# machnetd microseconds later, long before the TERM below is sent.
mn_wait_log "$MN_TMP/conn.log" '^ready' 20 "$CP" || mn_fail "conn app not ready"

mn_stop "$MN_PA" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-a exit status $MN_RC with apps attached"
for a in recv send conn; do
	case $a in recv) p=$RP ;; send) p=$SP ;; conn) p=$CP ;; esac
	mn_wait_exit "$p" 3
	[ "$MN_RC" -eq 0 ] || mn_fail "$a app: exit $MN_RC: $(cat "$MN_TMP/$a.log")"
	mn_log "$(grep '^shutdown' "$MN_TMP/$a.log")"
done

kill -CONT "$MN_PB"
# Same instance again, now that no secondary of the old one lives.
mn_app_locks_rm "$MN_A"
mn_start a2 "$MACHNETD" -c "$MN_TMP/a.conf"
MN_PA=$MN_PID
mn_wait_log "$MN_TMP/a2.log" 'ready:' 20 "$MN_PA" || mn_fail "a new mn-a did not start"
mn_app after "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 7300 1
AP=$MN_PID
mn_wait_log "$MN_TMP/after.log" '^listening' 20 "$AP" || mn_fail "no app works on the new mn-a"
mn_stop "$AP" TERM 5
mn_log "a new machnetd with instance $MN_A started and took an app"
mn_stop "$EP" TERM 5
mn_stop_pair
mn_log "PASS"
