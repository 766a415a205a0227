#!/bin/bash
# msg_gen between two stacks: 1,000,000 verified requests with 32 in flight
# (the benchmark issue's correctness bar),
# then 3 s with one in flight; nothing lost or mismatched. The printed
# latencies and rates are recorded in the log (no timing assertions).
. "$(dirname "$0")/lib.sh"
mn_e2e_require
mn_pair

mn_app mg-srv "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1
SP=$MN_PID
mn_wait_log "$MN_TMP/mg-srv.log" 'server listening' 20 "$SP" || mn_fail "msg_gen server"

run() {
	local name=$1
	shift
	MACHNET_INSTANCE=$MN_B timeout "$(mn_s 120)" "$MN_MSG_GEN" --local_ip 198.18.0.2 \
		--remote_ip 198.18.0.1 --verify "$@" > "$MN_TMP/$name.log" 2>&1 ||
		mn_fail "msg_gen $* exited $?: $(tail -5 "$MN_TMP/$name.log")"
	grep -A3 'summary' "$MN_TMP/$name.log" | sed "s/^/[$name] /"
	grep -Eq 'lost 0 +mismatched 0' "$MN_TMP/$name.log" || mn_fail "msg_gen $*: losses"
}
run w32 --msg_window 32 --msg_nr 1000000 --warmup 0
grep -Eq 'received 1000000 +lost 0' "$MN_TMP/w32.log" || mn_fail "w32: not every request answered"
run w1 --msg_window 1 --duration 4
# Both stacks run this code with the default transport.ack_delay_us: the
# ACKs of requests and replies ride on the data (proto's piggybacked ACKs).
for inst in "$MN_A" "$MN_B"; do
	n=$(mn_stat "$inst" tx_piggy_acks /machnet/proto) || mn_fail "$inst: no /machnet/proto"
	m=$(mn_stat "$inst" rx_piggy_acks /machnet/proto) || mn_fail "$inst: no /machnet/proto"
	mn_log "$inst: $n ACKs sent and $m received on data packets"
	[ "$n" -gt 1000 ] && [ "$m" -gt 1000 ] || mn_fail "$inst: ACKs did not ride on data ($n sent, $m received)"
done

mn_stop "$SP" INT 10
mn_stop_pair
mn_log "PASS"
