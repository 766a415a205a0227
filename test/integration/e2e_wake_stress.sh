#!/bin/bash
# Wake-up races over real stacks (issue 16): both engines fall asleep the
# moment they have nothing to do (spin_us = 0, yield_us = 0), and apps send
# at random moments, so sends, deliveries and control requests keep landing
# while an engine or an app is on its way to sleep:
# 1. epoll_echo (both ends asleep in epoll_wait on the channel fd): 16 flows,
#    3,000 rounds of a message on every flow, a random 0..2 ms apart:
#    96,000 messages, every request answered and checked;
# 2. msg_gen --wait (both ends asleep in machnet_recv_wait, the futex path),
#    window 1 then 8, verified: nothing lost.
# A lost wake-up cannot lose a message (an engine sleeps at most
# rx_poll_max_us), so the engines' late-sleep counter is logged as well.
# The protocol alone (mn_wake.h) is raced with 1,000,000 messages by
# wake_race_1m (test_wake 500000; the unit test wake_race runs 100,000).
. "$(dirname "$0")/lib.sh"
mn_e2e_require
[ -x "${MN_EPOLL_ECHO:-}" ] || mn_skip "MN_EPOLL_ECHO not built"
mn_pair 's/spin_us = [0-9]*;/spin_us = 0; yield_us = 0;/'
grep -q 'yield_us = 0' "$MN_TMP/a.conf" || mn_fail "config rewrite failed"

mn_app srv "$MN_A" "$MN_EPOLL_ECHO" --local 198.18.0.1
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" 'listening on' 20 "$SP" || mn_fail "epoll_echo server did not listen"
out=$(MACHNET_INSTANCE=$MN_B timeout "$(mn_s 150)" "$MN_EPOLL_ECHO" --local 198.18.0.2 \
	--remote 198.18.0.1 --flows 16 --rounds 3000 --random-gap-us 2000 --timeout 10000 2>&1) ||
	mn_fail "epoll_echo stress: $out"
echo "$out" | sed 's/^/[epoll] /'
echo "$out" | grep -q 'answered 48000/48000 requests on 16 flows, 0 unexpected' ||
	mn_fail "not every request was answered"
mn_stop "$SP" TERM 10
[ "$MN_RC" -eq 0 ] || mn_fail "server exit $MN_RC"

mn_app mg-srv "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --wait
SP=$MN_PID
mn_wait_log "$MN_TMP/mg-srv.log" 'server listening' 20 "$SP" || mn_fail "msg_gen server"
for w in 1 8; do
	MACHNET_INSTANCE=$MN_B timeout "$(mn_s 60)" "$MN_MSG_GEN" --local_ip 198.18.0.2 \
		--remote_ip 198.18.0.1 --verify --wait --msg_window $w --duration 3 \
		> "$MN_TMP/mg-w$w.log" 2>&1 || mn_fail "msg_gen --wait w$w: $(tail -5 "$MN_TMP/mg-w$w.log")"
	grep -A3 'summary' "$MN_TMP/mg-w$w.log" | sed "s/^/[msg_gen --wait w$w] /"
	grep -Eq 'lost 0 +mismatched 0' "$MN_TMP/mg-w$w.log" || mn_fail "msg_gen --wait w$w: losses"
done
mn_stop "$SP" INT 10

for i in "$MN_A" "$MN_B"; do
	mn_log "$i: engine sleeps $(mn_stat "$i" engine_sleeps), doorbell wake-ups $(mn_stat "$i" engine_wakeups), late $(mn_stat "$i" engine_late), app wake-ups $(mn_stat "$i" app_wakes)"
done
mn_stop_pair
mn_log "PASS"
