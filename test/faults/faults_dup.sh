#!/bin/bash
# tc egress duplication at 1%: the receiver sees exactly the program's hit
# count of duplicates, no loss, and the share is within 5 sigma.
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
N=20000 PPM=10000

"$NETNS" fault "$FT_PREFIX" b dup $PPM >/dev/null || ft_fail "fault dup"
ft_stream dup $N 256 20000
out="$FT_TMP/dup.out"
dup=$(ft_key "$out" dup); lost=$(ft_key "$out" lost); bad=$(ft_key "$out" bad)
hit=$(ft_counter b tc_dup hit); seen=$(ft_counter b tc_dup seen)
read -r lo hi <<< "$(ft_binom_bounds $N $PPM)"
ft_log "ppm=$PPM sent=$N duplicates=$dup program seen=$seen hit=$hit lost=$lost bounds=[$lo,$hi]"
[ "$seen" -eq $N ] || ft_fail "program saw $seen of $N (clones must not be counted again)"
[ "$dup" -eq "$hit" ] || ft_fail "duplicates $dup != cloned $hit"
[ "$lost" -eq 0 ] && [ "$bad" -eq 0 ] || ft_fail "lost=$lost bad=$bad"
ft_within "$dup" "$lo" "$hi" || ft_fail "duplicates $dup outside [$lo, $hi]"
ft_log PASS
