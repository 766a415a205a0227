#!/bin/bash
# A connect to a port nobody listens on is refused by the peer's RST, fast:
# the first one includes the ARP resolution, the second finds the MAC cached.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
mn_pair

for round in first second; do
	out=$(MACHNET_INSTANCE=$MN_B timeout "$(mn_s 20)" "$MN_ECHO_CHECK" refused 198.18.0.2 198.18.0.1 4444 100 2>&1) ||
		mn_fail "$round connect: $out"
	mn_log "$round: $out"
	echo "$out" | grep -q 'Connection refused' || mn_fail "no clear message: $out"
done
rst=$(mn_stat "$MN_A" rst_sent) || mn_fail "telemetry of $MN_A"
[ "$rst" -ge 2 ] || mn_fail "mn-a sent $rst RSTs, want >= 2"

mn_stop_pair
mn_log "PASS"
