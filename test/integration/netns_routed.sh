#!/bin/bash
# Two subnets joined by a router (issue 15, item 4): stack A (198.18.3.2/24,
# gateway 198.18.3.1) and stack B (198.18.4.2/24, gateway 198.18.4.1), each
# in its own namespace on a veth (af_packet) to a Linux router namespace
# that forwards between 198.18.3.0/24 and 198.18.4.0/24. Each stack must
# reach the other through its configured gateway: A's resolution of B's
# address gives the router's MAC (ARP for the gateway, not the peer, which
# no ARP broadcast could reach), and a --verify msg_gen exchange crosses
# the router both ways.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages $((2 * 256))
REQS=${REQS:-2000}

NSR="mnrt$MN_ID"; NSA="mnra$MN_ID"; NSB="mnrb$MN_ID"
mn_netns "$NSR"; mn_netns "$NSA"; mn_netns "$NSB"
ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1 || mn_fail "ip_forward in $NSR"

# link SIDE NS SUBNET: a veth from the router (SUBNET.1) to NS; prints
# the router end's MAC.
link() {
	local side=$1 ns=$2 net=$3 v="ms$1$MN_ID" r="mr$1$MN_ID"
	ip link add "$v" type veth peer name "$r" || mn_fail "ip link add veth $side"
	ip link set "$v" netns "$ns" || { ip link del "$v"; mn_fail "move $v"; }
	ip link set "$r" netns "$NSR" || mn_fail "move $r"
	ip -n "$NSR" addr add "$net.1/24" dev "$r" || mn_fail "address $net.1"
	ip -n "$NSR" link set "$r" up
	ip -n "$ns" link set "$v" up
	ip -n "$NSR" -o link show "$r" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}
GW_A_MAC=$(link a "$NSA" 198.18.3); GW_B_MAC=$(link b "$NSB" 198.18.4)
MAC_B=$(ip -n "$NSB" -o link show "msb$MN_ID" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[ -n "$GW_A_MAC" ] && [ -n "$GW_B_MAC" ] && [ -n "$MAC_B" ] || mn_fail "no MACs"

# stack SIDE NS IP GATEWAY PEER: machnetd in NS, probing the peer's address.
stack() {
	local side=$1 ns=$2 ip=$3 gw=$4 peer=$5
	mn_instance "mnit-r$side"
	mn_conf "$MN_SRC/conf/veth-afpacket.conf" "$MN_TMP/$side.conf" "$MN_INSTANCE" \
		"s/iface=[^,\"]*/iface=ms$side$MN_ID/" "s/198\.18\.1\.1/$ip/" \
		"s/prefix_len = 24;/prefix_len = 24; gateway = \"$gw\";/"
	mn_start "$side" ip netns exec "$ns" "$MACHNETD" -c "$MN_TMP/$side.conf" --arp-probe "$peer"
	mn_wait_log "$MN_TMP/$side.log" 'ready:' 30 "$MN_PID" || mn_fail "stack $side did not start"
}
stack a "$NSA" 198.18.3.2 198.18.3.1 198.18.4.2; INST_A=$MN_INSTANCE; PA=$MN_PID
stack b "$NSB" 198.18.4.2 198.18.4.1 198.18.3.2; INST_B=$MN_INSTANCE; PB=$MN_PID

# The next hop toward B is the gateway: A's probe of B's address answers
# with the router's MAC on A's side, never B's own.
mn_wait_log "$MN_TMP/a.log" "arp: 198\.18\.4\.2 is at $GW_A_MAC\$" 10 "$PA" ||
	mn_fail "A did not resolve 198.18.4.2 to the gateway's MAC $GW_A_MAC: $(grep 'arp:' "$MN_TMP/a.log")"
grep -q "is at $MAC_B" "$MN_TMP/a.log" && mn_fail "A resolved B's own MAC across the router"
mn_wait_log "$MN_TMP/b.log" "arp: 198\.18\.3\.2 is at $GW_B_MAC\$" 10 "$PB" ||
	mn_fail "B did not resolve 198.18.3.2 to the gateway's MAC $GW_B_MAC"

mn_app srv "$INST_B" "$MN_MSG_GEN" --local_ip 198.18.4.2
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" 'server listening' 30 "$SP" || mn_fail "msg_gen server"
mn_app cli "$INST_A" "$MN_MSG_GEN" --local_ip 198.18.3.2 --remote_ip 198.18.4.2 \
	--msg_window 8 --msg_nr "$REQS" --verify --warmup 0
mn_wait_exit "$MN_PID" 120
[ "$MN_RC" -eq 0 ] || mn_fail "client exit $MN_RC: $(tail -3 "$MN_TMP/cli.log")"
grep -Eq "received $REQS +lost 0 +mismatched 0" "$MN_TMP/cli.log" ||
	mn_fail "client: $(grep -A3 summary "$MN_TMP/cli.log")"
fwd=$(ip netns exec "$NSR" cat /proc/net/snmp | awk '/^Ip:/ { if (h) print $7; h = 1 }')
mn_log "$REQS verified request-replies across the router (router forwarded $fwd datagrams)"
[ "$fwd" -ge $((2 * REQS)) ] || mn_fail "the router forwarded only $fwd datagrams"

mn_stop "$SP" INT 10
for p in "$PA" "$PB"; do
	mn_stop "$p" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "machnetd $p: exit status $MN_RC"
done
mn_log "PASS"
