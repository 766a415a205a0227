#!/bin/bash
# Many hosts (issue 15, item 4): four machnetd, each in its own network
# namespace on one end of a veth pair (af_packet), the other ends joined by
# a Linux bridge in a fifth namespace, 198.18.2.1-4/24. Each stack runs a
# msg_gen server; at the same time every stack runs a --verify client
# toward every other stack (12 clients): every request answered, 0 lost,
# 0 mismatched, and each stack resolved every other stack by ARP.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages $((4 * 256))
command -v ip >/dev/null || mn_skip "no ip"
N=4
REQS=${REQS:-2000}

NSBR="mnbr$MN_ID"
mn_netns "$NSBR"
ip -n "$NSBR" link add br0 type bridge || mn_fail "ip link add bridge"
ip -n "$NSBR" link set br0 up

INST=(); PIDS=()
for i in $(seq 1 $N); do
	ns="mnh$i-$MN_ID"; v="mh$i$MN_ID"; vb="mb$i$MN_ID"
	mn_netns "$ns"
	ip link add "$v" type veth peer name "$vb" || mn_fail "ip link add veth $i"
	ip link set "$v" netns "$ns" || { ip link del "$v"; mn_fail "move $v"; }
	ip link set "$vb" netns "$NSBR" || mn_fail "move $vb"
	ip -n "$NSBR" link set "$vb" master br0 up || mn_fail "enslave $vb"
	ip -n "$ns" link set "$v" up
	mn_instance "mnit-h$i"; INST[i]=$MN_INSTANCE
	mn_conf "$MN_SRC/conf/veth-afpacket.conf" "$MN_TMP/h$i.conf" "${INST[i]}" \
		"s/iface=[^,\"]*/iface=$v/" "s/198\.18\.1\.1/198.18.2.$i/"
	mn_start "h$i" ip netns exec "$ns" "$MACHNETD" -c "$MN_TMP/h$i.conf"
	PIDS[i]=$MN_PID
done
for i in $(seq 1 $N); do
	mn_wait_log "$MN_TMP/h$i.log" 'ready:' 30 "${PIDS[i]}" || mn_fail "stack $i did not start"
done

SRV=()
for i in $(seq 1 $N); do
	mn_app "srv$i" "${INST[i]}" "$MN_MSG_GEN" --local_ip "198.18.2.$i"
	SRV[i]=$MN_PID
done
for i in $(seq 1 $N); do
	mn_wait_log "$MN_TMP/srv$i.log" 'server listening' 30 "${SRV[i]}" || mn_fail "server $i"
done

# All clients at once: every stack talks to every other stack.
CLI=(); NAMES=()
for i in $(seq 1 $N); do
	for j in $(seq 1 $N); do
		[ "$i" = "$j" ] && continue
		mn_app "c$i-$j" "${INST[i]}" "$MN_MSG_GEN" --local_ip "198.18.2.$i" \
			--remote_ip "198.18.2.$j" --msg_window 4 --msg_nr "$REQS" --verify --warmup 0
		CLI+=("$MN_PID"); NAMES+=("c$i-$j")
	done
done
for k in "${!CLI[@]}"; do
	mn_wait_exit "${CLI[k]}" 120
	log="$MN_TMP/${NAMES[k]}.log"
	[ "$MN_RC" -eq 0 ] || mn_fail "${NAMES[k]}: exit $MN_RC: $(tail -3 "$log")"
	grep -Eq 'lost 0 +mismatched 0' "$log" || mn_fail "${NAMES[k]}: $(tail -3 "$log")"
	grep -Eq "received $REQS\b" "$log" || mn_fail "${NAMES[k]}: not $REQS replies: $(grep -A3 summary "$log")"
done
mn_log "$((N * (N - 1))) clients, $REQS verified request-replies each, all answered"

for i in $(seq 1 $N); do
	# Each peer's MAC came from ARP: resolved by this stack, or learned
	# from the peer's own request for this stack's address.
	learned=$(mn_stat "${INST[i]}" arp_learned) || mn_fail "stack $i: telemetry"
	ans=$(mn_stat "${INST[i]}" arp_req_answered) || mn_fail "stack $i: telemetry"
	mn_log "stack $i: arp_learned=$learned arp_req_answered=$ans"
	[ "$learned" -ge $((N - 1)) ] || mn_fail "stack $i: learned $learned MACs by ARP, expected at least $((N - 1))"
	n=$(mn_stat "${INST[i]}" flows_failed /machnet/proto) || mn_fail "stack $i: /machnet/proto"
	[ "$n" -eq 0 ] || mn_fail "stack $i: $n flows failed"
done
for i in $(seq 1 $N); do mn_stop "${SRV[i]}" INT 10; done
for i in $(seq 1 $N); do
	mn_stop "${PIDS[i]}" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "stack $i: exit status $MN_RC"
done
mn_log "PASS"
