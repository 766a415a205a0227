#!/bin/bash
# Blackhole: the link goes down for 2 s in the middle of a 2000 datagram/s
# stream. Nothing arrives while it is down, and the stream resumes after.
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
N=12000 PPS=2000

ft_start bh ip netns exec "$NSB" "$MN_UDPLOAD" recv --bind "$IPB" --port 5000 \
	--count $N --size 256 --timeout-ms 25000 --idle-ms 6000
rp=$FT_PID
ft_wait_ready bh "$rp"
ft_start bhsend ip netns exec "$NSA" "$MN_UDPLOAD" send --dst "$IPB" --port 5000 \
	--count $N --size 256 --pps $PPS
sp=$FT_PID
# Let the stream run (about 1.5 s at 2000/s) before cutting it.
deadline=$(mn_deadline 10)
until [ "$(ft_snmp "$NSB" InDatagrams)" -ge 3000 ] || [ $SECONDS -ge $deadline ]; do
	sleep 0.05
done
[ "$(ft_snmp "$NSB" InDatagrams)" -ge 3000 ] || ft_fail "stream did not start"
"$NETNS" blackhole "$FT_PREFIX" 2 > "$FT_TMP/bh.times" || ft_fail "blackhole"
down=$(ft_key "$FT_TMP/bh.times" down_at); up=$(ft_key "$FT_TMP/bh.times" up_at); ready=$(ft_key "$FT_TMP/bh.times" ready_at)
ft_join "$sp" 20
ft_join "$rp" 30
[ "$FT_RC" -eq 0 ] || ft_fail "receiver exit $FT_RC"
out="$FT_TMP/bh.out"
ft_log "link down_at=$down up_at=$up carrier_ready_at=$ready; receiver: $(tr '\n' ' ' < "$out"); sender: $(cat "$FT_TMP/bhsend.out")"
gap=$(ft_key "$out" max_gap_s); from=$(ft_key "$out" gap_from); to=$(ft_key "$out" gap_to)
after=$(ft_key "$out" after_gap); last=$(ft_key "$out" last); lost=$(ft_key "$out" lost)
# The longest silence covers the whole time the link was down...
awk -v f="$from" -v t="$to" -v d="$down" -v u="$up" 'BEGIN { exit !(f <= d && t >= u) }' ||
	ft_fail "arrivals while the link was down: silence [$from, $to] vs down [$down, $up]"
ft_within "$gap" 1.9 5 || ft_fail "longest silence $gap s, expected about 2 s"
# ...and the stream came back and went on for at least 1 s (2000 datagrams).
[ "$after" -ge 1000 ] || ft_fail "only $after datagrams after the blackhole"
awk -v l="$last" -v u="$up" 'BEGIN { exit !(l >= u + 1) }' || ft_fail "stream did not resume"
ft_log "silence ${gap}s, lost $lost datagrams (~$PPS/s while down), $after after"
ft_log PASS
