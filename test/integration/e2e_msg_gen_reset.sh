#!/bin/bash
# Apps hear about their flows (issue 12, item 3): two machnetd over memif
# with a small retry budget (4 retries, RTO <= 50 ms, keepalive 500 ms).
#  1. kill -9 of the msg_gen server mid-run (window 32, --verify, --duration
#     120): the client says the flow was reset (ECONNRESET) and exits 3 at
#     once, not when --duration ends with "lost 32".
#  2. hello_world: its server stopped, then killed, while the client waits
#     for its reply with a 60 s --timeout: the client says the flow was reset
#     and exits 1 at once.
#  3. kill -9 of the server's machnetd under msg_gen: the client says its
#     flow timed out or was reset and exits 3 within keepalive + the retry
#     budget (with slack for a loaded machine), not at --duration.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages 600
KA_MS=500 RETRIES=4 MAX_RTO_MS=50
mn_pair '/^transport = /d' "\$a transport = { max_retries = $RETRIES; give_up_ms = 0; min_rto_us = 2000; max_rto_us = $((MAX_RTO_MS * 1000)); keepalive_ms = $KA_MS; cc = \"fixed\"; };"

ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
flowing() {	# NAME PID: the client has a second with responses
	mn_wait_log "$MN_TMP/$1.log" 'RX +[1-9][0-9]* msg/s' 30 "$2" || mn_fail "$1 did not flow"
}

# exchange N PORT: a msg_gen server sN on A and its client cN on B (window
# 32, verified), flowing; their PIDs in SRV and CLI.
exchange() {
	mn_app "s$1" "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --local_port "$2"
	SRV=$MN_PID
	mn_wait_log "$MN_TMP/s$1.log" 'server listening' 20 "$SRV" || mn_fail "msg_gen server"
	mn_app "c$1" "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 \
		--remote_port "$2" --msg_window 32 --verify --duration 120
	CLI=$MN_PID
	flowing "c$1" "$CLI"
}

# kill_expect STEP VICTIM CLIENT LOG BOUND RC REGEX WHAT: SIGKILL VICTIM; the
# client (PID CLIENT, log $MN_TMP/LOG.log) must exit with RC within BOUND
# seconds, its log matching REGEX.
kill_expect() {
	local log=$MN_TMP/$4.log t0 ms
	t0=$(date +%s.%N)
	kill -9 "$2"
	mn_wait_exit "$3" "$5"
	ms=$(ms_since "$t0")
	[ "$MN_RC" -eq "$6" ] || mn_fail "$1. $8: exit $MN_RC, wanted $6: $(tail -4 "$log")"
	grep -Eq "$7" "$log" || mn_fail "$1. $8: no such message: $(tail -4 "$log")"
	mn_log "$1. $8: \"$(grep -Em1 "$7" "$log")\", exit $6 $ms ms after the kill"
}

# 1. The server app dies.
exchange 1 888
kill_expect 1 "$SRV" "$CLI" c1 15 3 'msg_gen: flow 198\.18\.0\.2:[0-9]+ -> 198\.18\.0\.1:888 was reset by the peer \(ECONNRESET\)' \
	"client of the killed server"

# 2. hello_world's client waiting for a reply that will never come.
mn_app h-srv "$MN_A" "$MN_HELLO_WORLD" --local 198.18.0.1
HS=$MN_PID
mn_wait_log "$MN_TMP/h-srv.log" 'listening on' 20 "$HS" || mn_fail "hello_world server"
kill -STOP "$HS"
mn_app h-cli "$MN_B" "$MN_HELLO_WORLD" --local 198.18.0.2 --remote 198.18.0.1 --timeout 60000
HC=$MN_PID
mn_wait_log "$MN_TMP/h-cli.log" 'connected' 20 "$HC" || mn_fail "hello_world client did not connect"
kill_expect 2 "$HS" "$HC" h-cli 15 1 'was reset by the peer' "hello_world client of the killed server"

# 3. The server's machnetd dies. At most KA_MS + (RETRIES+1) RTOs of
# <= MAX_RTO_MS = 750 ms on a quiet machine; the bound (30 s, 40x) allows
# for a loaded 2-core box and is still a quarter of --duration.
exchange 3 890
S3=$SRV
kill_expect 3 "$MN_PA" "$CLI" c3 30 3 \
	'msg_gen: flow 198\.18\.0\.2:[0-9]+ -> 198\.18\.0\.1:890 (timed out \(ETIMEDOUT\)|was reset)' \
	"client of the killed machnetd"

mn_wait_exit "$MN_PA" 5
mn_stop "$S3" KILL 5	# its machnetd is gone: nothing to shut down cleanly
mn_stop "$MN_PB" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-b (the survivor) exit status $MN_RC"
mn_app_locks_rm "$MN_A"
mn_app_locks_rm "$MN_B"
mn_log "PASS"
