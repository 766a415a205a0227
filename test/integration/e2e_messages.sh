#!/bin/bash
# 10,000 messages of seeded random sizes (1 B .. 8 MiB: mostly small, a few
# dozen of 1 MiB or more) go from an app on mn-b to an echo app on mn-a and
# back; every echo must arrive in order with the right bytes. Afterwards,
# with the apps gone, both pools are back to their starting use.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages 800
# 8 MiB messages in flight both ways need more than the default test pool.
mn_pair "s/mbufs = 8191/mbufs = 32767/" "s/hugepage_mb = 256/hugepage_mb = 384/"

mn_pool_base
N=10000
SEED=${MN_SEED:-$RANDOM}
mn_log "seed $SEED"

mn_app srv "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 5000 $N
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" '^listening' 20 "$SP" || mn_fail "echo server did not listen"
mn_app cli "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 5000 $N "$SEED"
CP=$MN_PID
mn_wait_exit "$CP" 200
[ "$MN_RC" -eq 0 ] || mn_fail "client exit status $MN_RC (seed $SEED)"
mn_log "$(cat "$MN_TMP/cli.log")"
mn_wait_exit "$SP" 20
[ "$MN_RC" -eq 0 ] || mn_fail "server exit status $MN_RC"

# Both apps have exited: their flows are reset and every buffer is back.
mn_pools_back
mn_no_flows a
mn_log "pools back to $base_a / $base_b mbufs in use"

mn_stop_pair
mn_log "PASS"
