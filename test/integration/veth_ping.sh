#!/bin/bash
# machnetd on one end of a veth pair (af_packet, namespace A) answers the
# Linux kernel of namespace B: ARP for 198.18.1.1 and 20 pings, no loss.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_hugepages 256
command -v ping >/dev/null || mn_skip "no ping"

mn_instance mnit-veth; INST=$MN_INSTANCE
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

mn_conf "$MN_SRC/conf/veth-afpacket.conf" "$MN_TMP/veth.conf" "$INST" "s/iface=[^,\"]*/iface=$VA/"
mn_start veth ip netns exec "$NSA" "$MACHNETD" -c "$MN_TMP/veth.conf"
P=$MN_PID
mn_wait_log "$MN_TMP/veth.log" 'ready:' 20 "$P" || mn_fail "machnetd did not start"

ip netns exec "$NSB" ping -c 20 -i 0.05 -W 1 198.18.1.1 > "$MN_TMP/ping.log" 2>&1
cat "$MN_TMP/ping.log" | tail -n 3
grep -q ' 0% packet loss' "$MN_TMP/ping.log" || mn_fail "ping lost packets"
grep -q '20 received' "$MN_TMP/ping.log" || mn_fail "not 20 replies"
# The kernel learned our MAC by ARP from machnetd.
ip -n "$NSB" neigh show 198.18.1.1 | grep -q lladdr || mn_fail "kernel has no ARP entry"

echo_ans=$(mn_stat "$INST" icmp_echo_answered) || mn_fail "telemetry"
arp_ans=$(mn_stat "$INST" arp_req_answered) || mn_fail "telemetry"
mn_log "icmp_echo_answered=$echo_ans arp_req_answered=$arp_ans"
[ "$echo_ans" -ge 20 ] || mn_fail "icmp_echo_answered=$echo_ans"
[ "$arp_ans" -ge 1 ] || mn_fail "arp_req_answered=$arp_ans"

mn_stop "$P" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "exit status $MN_RC"
mn_log "PASS"
