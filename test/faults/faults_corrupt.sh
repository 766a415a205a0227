#!/bin/bash
# XDP corruption at 2% and 10%: every corrupted datagram fails the
# receiving kernel's UDP checksum check (Udp InCsumErrors grows by exactly the
# program's hit count), none reaches the application damaged, and the hit
# share is within 5 sigma of the configured one.
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
N=20000

for ppm in 20000 100000; do
	ft_refault b corrupt "$ppm" $N
	csum0=$(ft_snmp "$NSB" InCsumErrors)
	ft_stream "corrupt$ppm" $N 512 20000
	out="$FT_TMP/corrupt$ppm.out"
	csum=$(( $(ft_snmp "$NSB" InCsumErrors) - csum0 ))
	unique=$(ft_key "$out" unique); bad=$(ft_key "$out" bad)
	hit=$(ft_counter b xdp_corrupt hit)
	ft_log "ppm=$ppm sent=$N corrupted=$hit csum_errors=$csum delivered=$unique damaged_delivered=$bad bounds=[$FT_LO,$FT_HI]"
	[ "$csum" -eq "$hit" ] || ft_fail "checksum errors $csum != corrupted $hit"
	[ "$bad" -eq 0 ] || ft_fail "$bad damaged datagrams reached the application"
	[ $((unique + hit)) -eq $N ] || ft_fail "delivered $unique + corrupted $hit != $N"
	ft_within "$hit" "$FT_LO" "$FT_HI" || ft_fail "corrupted $hit outside [$FT_LO, $FT_HI]"
done
ft_log PASS
