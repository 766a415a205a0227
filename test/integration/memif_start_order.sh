#!/bin/bash
# A memif pair comes up in either start order (issue 12, item 5):
#  server-first: mn-a (memif server) then mn-b (client), as mn_pair does;
#  client-first: mn-b alone must not exit: it logs once that it waits for
#                its memif server, stays up (telemetry answers, an app can
#                attach, a connect toward the absent peer fails cleanly),
#                and once mn-a starts, mn-b logs "memif server up" and
#                both links come up.
# Each order ends with a verified echo exchange (mn_echo_check, 20 seeded
# messages up to 4 KiB) from mn-b to mn-a, and both stacks stop with exit 0.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
command -v dpdk-telemetry.py >/dev/null || mn_skip "no dpdk-telemetry.py"

PORT=7410
WAITING='link0: memif server not up yet; waiting for it'
LINK_UP='link0 \(port [0-9]+\): up'

# confs ORDER: fresh instance names and configs for one order (the socket
# in the test's temp dir, engines on CPU 1 as mn_pair has them).
confs() {
	local sock="$MN_TMP/$1.sock" cpu='s/engines = \[[0-9]*\]/engines = [1]/'
	mn_instance "mnso-a$1"; MN_A=$MN_INSTANCE
	mn_instance "mnso-b$1"; MN_B=$MN_INSTANCE
	mn_conf "$MN_SRC/conf/mn-a.conf" "$MN_TMP/a$1.conf" "$MN_A" "s#socket=[^,\"]*#socket=$sock#" "$cpu"
	mn_conf "$MN_SRC/conf/mn-b.conf" "$MN_TMP/b$1.conf" "$MN_B" "s#socket=[^,\"]*#socket=$sock#" "$cpu"
}

start_a() {	# ORDER
	mn_start "a$1" "$MACHNETD" -c "$MN_TMP/a$1.conf"
	MN_PA=$MN_PID
	mn_wait_log "$MN_TMP/a$1.log" 'ready:' 20 "$MN_PA" || mn_fail "$1: mn-a did not start"
}

start_b() {	# ORDER
	mn_start "b$1" "$MACHNETD" -c "$MN_TMP/b$1.conf"
	MN_PB=$MN_PID
	mn_wait_log "$MN_TMP/b$1.log" 'ready:' 20 "$MN_PB" || mn_fail "$1: mn-b did not start"
}

links_up() {	# ORDER
	mn_wait_log "$MN_TMP/a$1.log" "$LINK_UP" 20 "$MN_PA" || mn_fail "$1: mn-a link down"
	mn_wait_log "$MN_TMP/b$1.log" "$LINK_UP" 20 "$MN_PB" || mn_fail "$1: mn-b link down"
}

exchange() {	# ORDER: verified echoes from mn-b to mn-a, then both stop
	local sp
	mn_app "srv$1" "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 $PORT 20
	sp=$MN_PID
	mn_wait_log "$MN_TMP/srv$1.log" '^listening' 20 "$sp" || mn_fail "$1: echo server did not listen"
	MACHNET_INSTANCE=$MN_B timeout "$(mn_s 40)" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 $PORT \
		20 "$RANDOM" 4 --max-size 4096 --deadline "$(mn_s 20)" > "$MN_TMP/cli$1.log" 2>&1 ||
		mn_fail "$1: echo client: $(tail -n 3 "$MN_TMP/cli$1.log" | tr '\n' ' ')"
	mn_wait_exit "$sp" 10
	[ "$MN_RC" -eq 0 ] || mn_fail "$1: echo server exit status $MN_RC"
	mn_log "$1: 20 verified echoes over the memif link"
	mn_stop_pair
}

# 1. Server first (today's path).
confs server-first
start_a server-first
start_b server-first
links_up server-first
grep -q "$WAITING" "$MN_TMP/bserver-first.log" && mn_fail "server-first: mn-b waited for a server that was up"
exchange server-first

# 2. Client first.
confs client-first
mn_start bclient-first "$MACHNETD" -c "$MN_TMP/bclient-first.conf"
MN_PB=$MN_PID
mn_wait_log "$MN_TMP/bclient-first.log" "$WAITING" 20 "$MN_PB" || mn_fail "client-first: mn-b did not say it waits"
mn_wait_log "$MN_TMP/bclient-first.log" 'ready:' 20 "$MN_PB" || mn_fail "client-first: mn-b did not get ready alone"
# Meanwhile the stack serves: telemetry, an app attaching, and a connect
# toward the absent peer that fails (as with a link down), not hangs.
mn_stat "$MN_B" pool_in_use >/dev/null || mn_fail "client-first: no telemetry from the waiting mn-b"
rc=0
MACHNET_INSTANCE=$MN_B timeout "$(mn_s 30)" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 $PORT \
	1 1 1 --deadline "$(mn_s 10)" > "$MN_TMP/early.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && mn_fail "client-first: an exchange worked with no memif server"
[ "$rc" -eq 124 ] && mn_fail "client-first: a connect toward the absent peer hung"
mn_log "client-first: connect before the server: $(tail -n 1 "$MN_TMP/early.log")"
kill -0 "$MN_PB" 2>/dev/null || mn_fail "client-first: mn-b exited while waiting for its server"
n=$(grep -c "$WAITING" "$MN_TMP/bclient-first.log")
[ "$n" -eq 1 ] || mn_fail "client-first: the waiting line was logged $n times"
start_a client-first
mn_wait_log "$MN_TMP/bclient-first.log" 'link0: memif server up' 20 "$MN_PB" ||
	mn_fail "client-first: mn-b did not log the server coming up"
links_up client-first
exchange client-first
mn_log "PASS"
