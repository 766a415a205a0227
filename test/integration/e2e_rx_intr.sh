#!/bin/bash
# RX interrupts wake sleeping engines (issue 16, item 1): two stacks on
# net_tap ports (the one PMD of DPDK 22.11 here with RX interrupts) in a
# namespace, their kernel tap interfaces joined by a bridge (given MACs of
# their own: see stack()). Each machnetd
# must report its RX queue as interrupt-driven; idle, an engine then sleeps
# until woken (a 100 ms bound instead of the rx_poll_us..rx_poll_max_us
# polling of memif: fewer wake-ups, counted), and after the engines have
# slept, requests are answered with A woken by mn-rxintr (rx_intr_fired
# grows). The RTTs of the first request after 1 s idle and of 200 requests
# 10 ms apart are logged (no timing assertions).
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_hugepages $((2 * 256))
[ -x "${MN_EPOLL_ECHO:-}" ] || mn_skip "MN_EPOLL_ECHO not built"
[ -e /dev/net/tun ] || mn_skip "no /dev/net/tun"
ls /usr/lib/*/dpdk/pmds-*/librte_net_tap.so* >/dev/null 2>&1 ||
	ls /usr/local/lib*/dpdk/pmds-*/librte_net_tap.so* >/dev/null 2>&1 ||
	mn_skip "DPDK has no net_tap PMD here"

NS="mnri$MN_ID"
mn_netns "$NS"
ip -n "$NS" link add br0 type bridge || mn_fail "bridge"
ip -n "$NS" link set br0 up

# stack SIDE N IP MAC PEER: machnetd in NS on net_tapN (kernel side mnt<SIDE><ID>).
stack() {
	local side=$1 n=$2 ip=$3 mac=$4 peer=$5 tap="mnt$1$MN_ID"
	mn_instance "mnit-ri$side"
	mn_conf "$MN_SRC/conf/veth-afpacket.conf" "$MN_TMP/$side.conf" "$MN_INSTANCE" \
		"s/device = .*/device = \"net_tap$n,iface=$tap\"; mac = \"$mac\";/" \
		"s/198\.18\.1\.1/$ip/"
	mn_start "$side" ip netns exec "$NS" "$MACHNETD" -c "$MN_TMP/$side.conf" --arp-probe "$peer"
	mn_wait_log "$MN_TMP/$side.log" 'ready:' 30 "$MN_PID" || mn_fail "stack $side did not start"
	grep -q 'rx interrupts: 1 of 1 RX queues' "$MN_TMP/$side.log" ||
		mn_fail "stack $side: its net_tap queue has no RX interrupt: $(grep 'rx interrupts' "$MN_TMP/$side.log")"
	# net_tap gives the kernel interface the port's MAC: as a bridge port
	# that MAC would be the bridge's own (a local FDB entry), and frames
	# to the stack would stop at the bridge. The kernel side gets another.
	ip -n "$NS" link set "$tap" address "${mac%:*}:9$n" || mn_fail "address of $tap"
	ip -n "$NS" link set "$tap" master br0 || mn_fail "enslave $tap"
	ip -n "$NS" link set "$tap" up
}
stack a 0 198.18.5.1 02:00:00:00:05:01 198.18.5.2; INST_A=$MN_INSTANCE; PA=$MN_PID
stack b 1 198.18.5.2 02:00:00:00:05:02 198.18.5.1; INST_B=$MN_INSTANCE; PB=$MN_PID
mn_wait_log "$MN_TMP/b.log" 'arp: 198\.18\.5\.1 is at' 20 "$PB" || mn_fail "B did not resolve A over the bridge"
mn_wait_log "$MN_TMP/a.log" 'arp: 198\.18\.5\.2 is at' 20 "$PA" || mn_fail "A did not resolve B over the bridge"

mn_app srv "$INST_A" ip netns exec "$NS" "$MN_EPOLL_ECHO" --local 198.18.5.1
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" 'listening on' 20 "$SP" || mn_fail "epoll_echo server did not listen"

# Idle with every queue interrupt-driven: an engine wakes for its timers and
# the 100 ms bound only. memif's polling (backing off to 8 ms) wakes it over
# 250 times in 2 s; allow 100 for timers and the control thread's doorbell.
s0=$(mn_stat "$INST_A" engine_sleeps) || mn_fail "telemetry of A"
sleep 2	# the measurement itself: nothing to await
s1=$(mn_stat "$INST_A" engine_sleeps) || mn_fail "telemetry of A"
mn_log "idle 2 s: A's engine slept $((s1 - s0)) times"
[ $((s1 - s0)) -lt 100 ] || mn_fail "A's engine woke $((s1 - s0)) times in 2 s idle: still polling RX"

f0=$(mn_stat "$INST_A" rx_intr_fired) || mn_fail "telemetry of A"
out=$(MACHNET_INSTANCE=$INST_B timeout "$(mn_s 60)" ip netns exec "$NS" "$MN_EPOLL_ECHO" \
	--local 198.18.5.2 --remote 198.18.5.1 --idle-ms 1000 --rounds 200 --gap-us 10000 2>&1) ||
	mn_fail "spaced requests: $out"
echo "$out" | sed 's/^/[tap, spaced] /'
echo "$out" | grep -q 'answered 200/200 ' || mn_fail "not every spaced request was answered"
f1=$(mn_stat "$INST_A" rx_intr_fired) || mn_fail "telemetry of A"
q=$(mn_stat "$INST_A" rx_intr_queues) || mn_fail "telemetry of A"
mn_log "A: $q RX queue(s) with interrupts, $((f1 - f0)) interrupts during the requests"
[ "$q" -eq 1 ] || mn_fail "A reports $q RX queues with interrupts"
[ $((f1 - f0)) -gt 0 ] || mn_fail "no RX interrupt woke A's engine for 200 requests after idling"

mn_stop "$SP" TERM 10
[ "$MN_RC" -eq 0 ] || mn_fail "server exit $MN_RC: $(tail -3 "$MN_TMP/srv.log")"
for p in "$PB" "$PA"; do
	mn_stop "$p" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "machnetd $p: exit status $MN_RC"
done
mn_log "PASS"
