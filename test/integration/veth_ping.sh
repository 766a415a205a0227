#!/bin/bash
# machnetd on one end of a veth pair (af_packet, namespace A) answers the
# Linux kernel of namespace B: 20 pings, no loss. Round 1 (one engine): the
# kernel must resolve 198.18.1.1 by asking machnetd. Round 2 (two engines, two
# queue pairs): machnetd resolves the kernel's MAC itself (--arp-probe from
# engine 0; the reply may land on either engine, which share what they learn).
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_hugepages 256
command -v ping >/dev/null || mn_skip "no ping"

NSA="mnitA$MN_ID"; NSB="mnitB$MN_ID"
VA="mva$MN_ID"; VB="mvb$MN_ID"
mn_netns "$NSA"
mn_netns "$NSB"
ip link add "$VA" type veth peer name "$VB" || mn_fail "ip link add veth"
ip link set "$VA" netns "$NSA" || { ip link del "$VA"; mn_fail "move $VA"; }
ip link set "$VB" netns "$NSB" || { ip link del "$VB" 2>/dev/null; mn_fail "move $VB"; }
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" addr add 198.18.1.2/24 dev "$VB"
ip -n "$NSB" link set "$VB" up
MAC_B=$(ip -n "$NSB" -o link show "$VB" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[ -n "$MAC_B" ] || mn_fail "no MAC for $VB"

run_round() {	# ENGINES LCORES QPAIRS PROBE(0/1)
	local n=$1 lcores=$2 qp=$3 probe=$4 inst P echo_ans arp_ans
	local extra=()
	[ "$probe" -eq 1 ] && extra=(--arp-probe 198.18.1.2)
	mn_instance "mnit-veth$n"; inst=$MN_INSTANCE
	mn_conf "$MN_SRC/conf/veth-afpacket.conf" "$MN_TMP/veth$n.conf" "$inst" \
		"s/iface=[^,\"]*/iface=$VA,qpairs=$qp/" "s/engines = \[[0-9, ]*\]/engines = [$lcores]/"
	ip -n "$NSB" neigh flush dev "$VB"
	mn_start "veth$n" ip netns exec "$NSA" "$MACHNETD" -c "$MN_TMP/veth$n.conf" "${extra[@]}"
	P=$MN_PID
	mn_wait_log "$MN_TMP/veth$n.log" "ready: $n engine" 20 "$P" || mn_fail "$n engines: did not start"

	ip netns exec "$NSB" ping -c 20 -i 0.05 -W 1 198.18.1.1 > "$MN_TMP/ping$n.log" 2>&1
	tail -n 2 "$MN_TMP/ping$n.log"
	grep -q ' 0% packet loss' "$MN_TMP/ping$n.log" || mn_fail "$n engines: ping lost packets"
	grep -q '20 received' "$MN_TMP/ping$n.log" || mn_fail "$n engines: not 20 replies"
	# The kernel learned our MAC by ARP from machnetd.
	ip -n "$NSB" neigh show 198.18.1.1 | grep -q lladdr || mn_fail "$n engines: kernel has no ARP entry"
	# And machnetd learned the kernel's.
	if [ "$probe" -eq 1 ]; then
		mn_wait_log "$MN_TMP/veth$n.log" "arp: 198\.18\.1\.2 is at $MAC_B\$" 10 "$P" ||
			mn_fail "$n engines: --arp-probe of the kernel's IP did not resolve"
	fi

	echo_ans=$(mn_stat "$inst" icmp_echo_answered) || mn_fail "telemetry"
	arp_ans=$(mn_stat "$inst" arp_req_answered) || mn_fail "telemetry"
	mn_log "$n engines: icmp_echo_answered=$echo_ans arp_req_answered=$arp_ans"
	[ "$echo_ans" -ge 20 ] || mn_fail "$n engines: icmp_echo_answered=$echo_ans"
	# Without a probe the kernel had to ask us.
	[ "$probe" -eq 1 ] || [ "$arp_ans" -ge 1 ] || mn_fail "$n engines: arp_req_answered=$arp_ans"

	mn_stop "$P" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "$n engines: exit status $MN_RC"
}

run_round 1 "1" 1 0
run_round 2 "0, 1" 2 1
mn_log "PASS"
