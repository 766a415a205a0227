#!/bin/bash
# The API misuse table (mn_api_table): every call of machnet.h with bad and
# good inputs against two live stacks, each row asserting the errno the
# header lists for it, and none outside the lists: connect to broadcast,
# loopback, 0.0.0.0, multicast, the stack's own IP and off-subnet
# (ENETUNREACH at once), to a closed port and to a silent IP; listen on
# foreign IPs, twice, over and under a wildcard, past the listener table
# (ENOSPC); a wildcard listener accepting; stale channel handles after a
# re-attach (EBADF); a second thread on a busy channel (EBUSY); channels past
# the per-process limit (EMFILE). Afterwards no flows are left and the pools
# are back where they started.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
[ -n "${MN_API_TABLE:-}" ] && [ -x "$MN_API_TABLE" ] || mn_fail "MN_API_TABLE is not set to an executable"
mn_require_hugepages 600
CONNECT_TIMEOUT_MS=300
PORT=7300
mn_pair "/^transport = /d" "\$a transport = { cc = \"fixed\"; connect_timeout_ms = $CONNECT_TIMEOUT_MS; };"

mn_pool_base

mn_app serve "$MN_B" "$MN_API_TABLE" serve "$PORT" 60
SP=$MN_PID
mn_wait_log "$MN_TMP/serve.log" '^listening' 20 "$SP" || mn_fail "serve did not listen: $(cat "$MN_TMP/serve.log")"
mn_app table "$MN_A" "$MN_API_TABLE" table 198.18.0.1 198.18.0.2 "$PORT" 198.18.0.99
TP=$MN_PID
mn_wait_exit "$TP" 60
cat "$MN_TMP/table.log"
[ "$MN_RC" -eq 0 ] || mn_fail "table: exit $MN_RC"
grep -q '^all rows as documented' "$MN_TMP/table.log" || mn_fail "table did not finish"
mn_wait_exit "$SP" 20
[ "$MN_RC" -eq 0 ] || mn_fail "serve: exit $MN_RC: $(cat "$MN_TMP/serve.log")"

mn_no_flows
mn_pools_back
mn_stop_pair
mn_log "PASS"
