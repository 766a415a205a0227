#!/bin/bash
# tbf at 100 Mbit/s: an offered load of about 170 Mbit/s (wire bits) arrives
# at 100 Mbit/s +-10%; without tbf the same load arrives in full (so it is
# tbf that limits it).
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
SIZE=1400 PPS=15000 N=45000	# 3 s offered at 15000 * 1442 * 8 = 173 Mbit/s

ft_stream free $N $SIZE $PPS 30
free=$(ft_key "$FT_TMP/free.out" wire_mbps)
"$NETNS" rate "$FT_PREFIX" b 100 >/dev/null || ft_fail "rate"
ft_stream tbf $N $SIZE $PPS 30
tbf=$(ft_key "$FT_TMP/tbf.out" wire_mbps)
ft_log "without tbf: ${free} Mbit/s; tbf 100 Mbit/s: ${tbf} Mbit/s (wire bits incl. Ethernet/IP/UDP headers)"
ft_within "$free" 150 1000000 || ft_fail "offered load only reached $free Mbit/s without tbf"
ft_within "$tbf" 90 110 || ft_fail "throughput $tbf Mbit/s under tbf 100 Mbit/s"
ft_log PASS
