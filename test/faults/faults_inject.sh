#!/bin/bash
# mn-inject's frames, captured on the peer's veth end and judged by the
# codec: every kind yields exactly the rejection reason it names (or is a
# well-formed frame of the intended type), and a SYN flood uses distinct
# source addresses and ports.
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
SMAC=02:00:00:00:00:aa
DMAC=$(ip netns exec "$NSB" cat "/sys/class/net/$DEVB/address")

# [RATE=R] inject KIND COUNT RXCHECK-EXPECTATIONS...
inject() {
	local kind=$1 count=$2 name rp
	shift 2
	name="rx-$kind"
	ft_start "$name" ip netns exec "$NSB" "$MN_RXCHECK" --iface "$DEVB" --src-mac $SMAC \
		--count "$count" --timeout-ms 5000 "$@"
	rp=$FT_PID
	ft_wait_ready "$name" "$rp"
	ip netns exec "$NSA" "$MN_INJECT" --iface "$DEVA" --src-mac $SMAC --dst-mac "$DMAC" \
		--dst-ip "$IPB" --dst-port 888 --src-ip 198.18.1.10 --src-port 40000 \
		--kind "$kind" --count "$count" --rate "${RATE:-0}" --seq 7 --ack 5000 > "$FT_TMP/$name.send" 2>&1 ||
		ft_fail "mn-inject $kind: $(cat "$FT_TMP/$name.send")"
	ft_join "$rp" 10
	ft_log "$kind: $(tail -n 1 "$FT_TMP/$name.out")"
	[ "$FT_RC" -eq 0 ] || { grep -v ' ok ' "$FT_TMP/$name.out" | tail -n 20; ft_fail "$kind: not as intended"; }
}

inject truncated-eth 3 --expect too_short
inject truncated-ip 3 --expect too_short
inject truncated-hdr 3 --expect too_short
inject bad-ip-len 3 --expect bad_ip_len
inject bad-udp-len 3 --expect bad_udp_len
inject bad-ip-csum 3 --expect bad_ip_csum
inject bad-udp-csum 3 --expect bad_udp_csum
inject bad-magic 3 --expect bad_magic
inject bad-net-flags 3 --expect bad_net_flags
inject bad-msg-flags 3 --expect bad_msg_flags
inject ctrl-with-payload 3 --expect ctrl_with_payload
inject rst-unknown 3 --expect ok --expect-nf 0x80
inject ack-unknown 3 --expect ok --expect-nf 0x02
inject data-unknown 3 --expect ok --expect-nf 0x00
inject ack-unsent 3 --expect ok --expect-nf 0x02
RATE=20000 inject syn-flood 2000 --expect ok --expect-nf 0x01 --distinct
grep -q 'seq=7 ack=4294967295' "$FT_TMP/rx-data-unknown.out" || ft_fail "data-unknown: seqno/ackno not as asked"
grep -q 'seq=7 ack=5000' "$FT_TMP/rx-ack-unsent.out" || ft_fail "ack-unsent: seqno/ackno not as asked"
# Every flood source stays in 198.18.0.0/15.
if grep '^frame' "$FT_TMP/rx-syn-flood.out" | grep -v ' src=198\.1[89]\.' | grep -q .; then
	ft_fail "syn-flood source outside 198.18.0.0/15"
fi
# The checker itself rejects a frame that is not what it expects.
ft_start rx-neg ip netns exec "$NSB" "$MN_RXCHECK" --iface "$DEVB" --src-mac $SMAC \
	--count 1 --timeout-ms 5000 --expect bad_udp_csum
rp=$FT_PID
ft_wait_ready rx-neg "$rp"
ip netns exec "$NSA" "$MN_INJECT" --iface "$DEVA" --src-mac $SMAC --dst-mac "$DMAC" \
	--dst-ip "$IPB" --dst-port 888 --kind bad-ip-csum > /dev/null || ft_fail "mn-inject"
ft_join "$rp" 10
[ "$FT_RC" -eq 1 ] || ft_fail "mn-rxcheck accepted bad_ip_csum as bad_udp_csum (rc $FT_RC)"
ft_log PASS
