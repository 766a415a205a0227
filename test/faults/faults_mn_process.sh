#!/bin/bash
# Process faults on two machnetd joined by memif (mn-a server, mn-b client),
# with a small retry budget (4 retries, RTO <= 50 ms):
#  1. kill -9 of a server app mid-stream: its client gets ECONNRESET; a
#     second stream beside it (other app pair) completes intact.
#  2. SIGSTOP of a receiving app for 5 s: its stream stalls, resumes on
#     SIGCONT and completes intact (backpressure, no loss).
#  3. kill -9 of the peer machnetd (mn-a, memif server): mn-b's app gets
#     ECONNRESET or ETIMEDOUT within keepalive + the retry budget (also when
#     all it sent was ACKed and it only waits for echoes), mn-b survives,
#     and takes mn-a back when it restarts (a new stream works).
#  4. kill -9 of the memif client machnetd (mn-b): mn-a survives and takes
#     mn-b back when it restarts (a new stream works).
#  5. machnetd stopped under a streaming app: the app gets ESHUTDOWN; after
#     machnetd restarts, the app started again works.
. "$(dirname "$0")/mf_lib.sh"
mf_require
KA_MS=500 RETRIES=4 MAX_RTO_MS=50
mn_pair '/^transport = /d' "\$a transport = { max_retries = $RETRIES; give_up_ms = 0; min_rto_us = 2000; max_rto_us = $((MAX_RTO_MS * 1000)); keepalive_ms = $KA_MS; cc = \"$MF_CC\"; };"
MF_STAT_INSTS="$MN_A $MN_B"

stream() {	# NAME INSTANCE PORT [client options]
	local n=$1 i=$2 p=$3
	shift 3
	mn_app "$n" "$i" "$MF_STREAM" client 198.18.0.2 198.18.0.1 "$p" --window 16 \
		--max-size 8192 --progress 0.2 --timeout "$(mn_s 100)" "$@"
}
flowing() {	# NAME PID: waits until the stream has echoes back
	mn_wait_log "$MN_TMP/$1.log" 'progress .* got=[1-9][0-9]{2,}' 30 "$2" || mn_fail "$1 did not flow"
}
errno_of() { grep -o 'errno=[A-Z?]*' "$MN_TMP/$1.log" | head -1 | cut -d= -f2; }

# 1. kill -9 of an app mid-stream.
mf_server s1 "$MN_A" 198.18.0.1 7001; S1=$MN_PID
mf_server s2 "$MN_A" 198.18.0.1 7002; S2=$MN_PID
stream c1 "$MN_B" 7001 --count 0 --duration 60; C1=$MN_PID
stream c2 "$MN_B" 7002 --count 0 --duration 6; C2=$MN_PID
flowing c1 "$C1"; flowing c2 "$C2"
t0=$(date +%s.%N)
kill -9 "$S1"
mn_wait_exit "$C1" 10
t1=$(date +%s.%N)
[ "$MN_RC" -eq 3 ] && [ "$(errno_of c1)" = ECONNRESET ] ||
	mn_fail "client of the killed app: exit $MN_RC, $(grep -E '^(error|fail)' "$MN_TMP/c1.log")"
mn_log "1. app killed: its peer got $(grep '^error' "$MN_TMP/c1.log") $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f ms after the kill", (b - a) * 1000 }')"
mn_wait_exit "$C2" 60
[ "$MN_RC" -eq 0 ] || mn_fail "the other stream: exit $MN_RC: $(grep -E '^(error|fail)' "$MN_TMP/c2.log")"
mn_log "1. the other flow: $(grep '^result' "$MN_TMP/c2.log")"

# 2. SIGSTOP of the receiving app for 5 s.
stream c3 "$MN_B" 7002 --count 0 --duration 12; C3=$MN_PID
flowing c3 "$C3"
kill -STOP "$S2"
sleep 1
g1=$(grep -c progress "$MN_TMP/c3.log"); got1=$(grep progress "$MN_TMP/c3.log" | tail -1 | grep -o 'got=[0-9]*')
sleep 4
got2=$(grep progress "$MN_TMP/c3.log" | tail -1 | grep -o 'got=[0-9]*')
kill -CONT "$S2"
[ "$got1" = "$got2" ] || mn_fail "echoes arrived while the server was stopped ($got1 -> $got2)"
mn_wait_exit "$C3" 60
[ "$MN_RC" -eq 0 ] || mn_fail "stream across SIGSTOP: exit $MN_RC: $(grep -E '^(error|fail)' "$MN_TMP/c3.log")"
mn_log "2. server stopped 5 s at $got1 ($g1 progress lines): $(grep '^result' "$MN_TMP/c3.log")"

# 3. kill -9 of the peer machnetd (mn-a), under two apps of mn-b: c4
# streams (mn-b likely has data unACKed: the RTO finds the dead peer) and c4k
# only waits, its server stopped with everything c4k sent ACKed (only the
# keepalive can find it). Both must hear within keepalive + the retry budget:
# at most KA_MS + (RETRIES+1) RTOs of <= MAX_RTO_MS = 750 ms; the bound (25x)
# allows for a loaded 2-core box.
mf_server s3k "$MN_A" 198.18.0.1 7005; S3K=$MN_PID
stream c4 "$MN_B" 7002 --count 0 --duration 60; C4=$MN_PID
stream c4k "$MN_B" 7005 --count 0 --duration 60; C4K=$MN_PID
flowing c4 "$C4"; flowing c4k "$C4K"
kill -STOP "$S3K"
last_got() { grep progress "$MN_TMP/$1.log" | tail -1 | grep -o 'got=[0-9]*'; }
prev=; stable=0
for _ in $(seq 1 100); do	# <= 20 s: until c4k's echoes stop for 3 progress lines
	g=$(last_got c4k)
	if [ "$g" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
	prev=$g
	[ "$stable" -ge 3 ] && break
	sleep 0.2
done
[ "$stable" -ge 3 ] || mn_fail "c4k still gets echoes from a stopped server"
worst_ms=$((KA_MS + (RETRIES + 1) * MAX_RTO_MS))
bound_s=$((worst_ms * 25 / 1000 + 1))
tel0=$(mf_tel "$MN_B" /machnet/proto) || mn_fail "telemetry of $MN_B"
t0=$(date +%s.%N)
kill -9 "$MN_PA"
msg=
for c in c4 c4k; do
	case $c in c4) p=$C4 ;; c4k) p=$C4K ;; esac
	mn_wait_exit "$p" "$bound_s"
	t1=$(date +%s.%N)
	e=$(errno_of $c)
	[ "$MN_RC" -eq 3 ] && { [ "$e" = ECONNRESET ] || [ "$e" = ETIMEDOUT ]; } ||
		mn_fail "$c of mn-b after mn-a's death: exit $MN_RC $(grep -E '^(error|fail)' "$MN_TMP/$c.log")"
	msg="$msg $c got $e by $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f ms", (b - a) * 1000 }');"
done
tel1=$(mf_tel "$MN_B" /machnet/proto) || mn_fail "telemetry of $MN_B"
cnt() { echo "$1" | sed -n "s/^$2=//p"; }
dka=$(( $(cnt "$tel1" keepalives_sent) - $(cnt "$tel0" keepalives_sent) ))
dkf=$(( $(cnt "$tel1" keepalive_failures) - $(cnt "$tel0" keepalive_failures) ))
drto=$(( $(cnt "$tel1" rtos) - $(cnt "$tel0" rtos) ))
[ "$dkf" -ge 1 ] || mn_fail "c4k's flow did not fail by unanswered keepalives (keepalive_failures +$dkf, rtos +$drto)"
mn_log "3. peer machnetd killed:$msg worst case ${worst_ms} ms + scheduling (mn-b: keepalives_sent +$dka, keepalive_failures +$dkf, rtos +$drto)"
kill -9 "$S3K" 2>/dev/null
kill -9 "$S2" 2>/dev/null
mn_wait_exit "$MN_PA" 10	# its lock and files are released at exit
kill -0 "$MN_PB" || mn_fail "mn-b died with its memif peer"
rm -f /dev/hugepages/"$MN_A"map_*; rm -rf "/var/run/dpdk/$MN_A"
mn_start a2 "$MACHNETD" -c "$MN_TMP/a.conf"; MN_PA=$MN_PID
mn_wait_log "$MN_TMP/a2.log" 'link0 \(port [0-9]+\): up' 30 "$MN_PA" || mn_fail "restarted mn-a: no link"
mf_server s3 "$MN_A" 198.18.0.1 7003
mf_run after_peer_restart "$MN_B" 198.18.0.2 198.18.0.1 7003 --count 5000 --window 16 --max-size 8192 --timeout "$(mn_s 60)"

# 4. kill -9 of the memif client (mn-b); mn-a must survive and take it back.
kill -0 "$MN_PB" || mn_fail "mn-b died after its memif peer came back"
kill -9 "$MN_PB"
mn_wait_exit "$MN_PB" 10
kill -0 "$MN_PA" || mn_fail "mn-a (memif server) died when its client was killed: $(tail -5 "$MN_TMP/a2.log")"
rm -f /dev/hugepages/"$MN_B"map_*; rm -rf "/var/run/dpdk/$MN_B"; mn_app_locks_rm "$MN_B"
mn_start b2 "$MACHNETD" -c "$MN_TMP/b.conf"; MN_PB=$MN_PID
mn_wait_log "$MN_TMP/b2.log" 'link0 \(port [0-9]+\): up' 30 "$MN_PB" || mn_fail "restarted mn-b: no link"
mf_run after_client_restart "$MN_B" 198.18.0.2 198.18.0.1 7003 --count 5000 --window 16 --max-size 8192 --timeout "$(mn_s 60)"
kill -0 "$MN_PA" || mn_fail "mn-a died"

# 5. machnetd stopped under a streaming app, then restarted.
stream c5 "$MN_B" 7003 --count 0 --duration 60; C5=$MN_PID
flowing c5 "$C5"
mn_stop "$MN_PB" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-b exit $MN_RC with an app attached"
mn_wait_exit "$C5" 10
[ "$MN_RC" -eq 3 ] && [ "$(errno_of c5)" = ESHUTDOWN ] || mn_fail "app under a stopped machnetd: exit $MN_RC $(grep -E '^(error|fail)' "$MN_TMP/c5.log")"
mn_log "5. machnetd stopped: app got $(grep '^error' "$MN_TMP/c5.log")"
mn_app_locks_rm "$MN_B"
mn_start b3 "$MACHNETD" -c "$MN_TMP/b.conf"; MN_PB=$MN_PID
mn_wait_log "$MN_TMP/b3.log" 'link0 \(port [0-9]+\): up' 30 "$MN_PB" || mn_fail "restarted mn-b: no link"
mf_run after_machnetd_restart "$MN_B" 198.18.0.2 198.18.0.1 7003 --count 5000 --window 16 --max-size 8192 --timeout "$(mn_s 60)"
mn_stop_pair
mn_log PASS
