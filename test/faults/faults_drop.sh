#!/bin/bash
# XDP drop program at 10% and 1%: of 20,000 datagrams, exactly the frames the
# program dropped are missing at the receiver, and that share is within 5
# sigma of the configured one. A port filter for another port drops nothing.
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
N=20000

for ppm in 100000 10000; do
	ft_refault b drop "$ppm" $N
	ft_stream "drop$ppm" $N 256 20000
	out="$FT_TMP/drop$ppm.out"
	lost=$(ft_key "$out" lost); dup=$(ft_key "$out" dup); bad=$(ft_key "$out" bad)
	drops=$(ft_key "$out" sock_drops)
	hit=$(ft_counter b xdp_drop hit); seen=$(ft_counter b xdp_drop seen)
	ft_log "ppm=$ppm sent=$N lost=$lost ($(awk -v l="$lost" -v n=$N 'BEGIN{printf "%.3f%%", 100*l/n}')) program seen=$seen hit=$hit bounds=[$FT_LO,$FT_HI]"
	[ "$seen" -eq $N ] || ft_fail "program saw $seen of $N datagrams"
	[ "$drops" -eq 0 ] || ft_fail "receiver socket dropped $drops"
	[ "$lost" -eq "$hit" ] || ft_fail "lost $lost != dropped by program $hit"
	[ "$dup" -eq 0 ] && [ "$bad" -eq 0 ] || ft_fail "dup=$dup bad=$bad"
	ft_within "$lost" "$FT_LO" "$FT_HI" || ft_fail "loss $lost outside [$FT_LO, $FT_HI] for ppm $ppm"
done

# Everything from or to port 6000: the stream on port 5000 is untouched.
"$NETNS" fault "$FT_PREFIX" b drop 1000000 --port 6000 >/dev/null || ft_fail "fault drop --port"
ft_stream portfilter 2000 256 20000
lost=$(ft_key "$FT_TMP/portfilter.out" lost)
[ "$lost" -eq 0 ] || ft_fail "port filter: lost $lost on an unfiltered port"
ft_log PASS
