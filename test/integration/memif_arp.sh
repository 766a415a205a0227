#!/bin/bash
# Two machnetd over memif (mn-a server, mn-b client) resolve each other by
# ARP: each is started with --arp-probe for the other and must log the other's
# configured MAC; the counters must show the ARP exchange. The client is
# stopped first: the memif server has been seen to crash when its client
# disconnects (docs/dpdk-multiprocess-facts.md), and both must exit 0.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_hugepages 512

mn_instance mnit-a; A=$MN_INSTANCE
mn_instance mnit-b; B=$MN_INSTANCE
SOCK="$MN_TMP/memif.sock"
mn_conf "$MN_SRC/conf/mn-a.conf" "$MN_TMP/a.conf" "$A" "s#socket=[^,\"]*#socket=$SOCK#"
mn_conf "$MN_SRC/conf/mn-b.conf" "$MN_TMP/b.conf" "$B" "s#socket=[^,\"]*#socket=$SOCK#"

mn_start a "$MACHNETD" -c "$MN_TMP/a.conf" --arp-probe 198.18.0.2
PA=$MN_PID
mn_wait_log "$MN_TMP/a.log" 'ready:' 20 "$PA" || mn_fail "mn-a did not start"
mn_start b "$MACHNETD" -c "$MN_TMP/b.conf" --arp-probe 198.18.0.1
PB=$MN_PID
mn_wait_log "$MN_TMP/b.log" 'ready:' 20 "$PB" || mn_fail "mn-b did not start"

mn_wait_log "$MN_TMP/b.log" 'arp: 198\.18\.0\.1 is at 02:00:00:00:00:01$' 15 "$PB" ||
	mn_fail "mn-b did not resolve mn-a"
mn_wait_log "$MN_TMP/a.log" 'arp: 198\.18\.0\.2 is at 02:00:00:00:00:02$' 15 "$PA" ||
	mn_fail "mn-a did not resolve mn-b"

# The counters agree: each side learned the other and answered its request
# (unless the peer learned it from the request alone, so at least one answer).
for inst in "$A" "$B"; do
	learned=$(mn_stat "$inst" arp_learned) || mn_fail "telemetry of $inst"
	sent=$(mn_stat "$inst" arp_req_sent) || mn_fail "telemetry of $inst"
	mn_log "$inst: arp_learned=$learned arp_req_sent=$sent"
	[ "$learned" -ge 1 ] || mn_fail "$inst: arp_learned=$learned"
	[ "$sent" -ge 1 ] || mn_fail "$inst: arp_req_sent=$sent"
done
ans_a=$(mn_stat "$A" arp_req_answered); ans_b=$(mn_stat "$B" arp_req_answered)
[ $((ans_a + ans_b)) -ge 1 ] || mn_fail "no ARP request was answered"

mn_stop "$PB" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-b exit status $MN_RC"
mn_stop "$PA" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "mn-a exit status $MN_RC (memif server after client left)"
mn_log "PASS"
