#!/bin/bash
# The API misuse table (mn_api_table): every call of machnet.h with bad and
# good inputs against two live stacks, each row asserting the errno the
# header lists for it, and none outside the lists: connect to broadcast,
# loopback, 0.0.0.0, multicast, the stack's own IP and off-subnet
# (ENETUNREACH at once), to a closed port and to a silent IP; listen on
# foreign IPs, twice, over and under a wildcard, past the listener table
# (ENOSPC); a wildcard listener accepting; stale channel handles after a
# re-attach (EBADF); a second thread on a busy channel (EBUSY); channels past
# the per-process limit (EMFILE); a reconnect that would reuse a closed
# flow's tuple (MN_STRICT_FLOWS). First the per-app limits (apps.max_flows
# 8, apps.max_listeners 40): an app at its share gets EDQUOT while a second
# app on the same engine connects, a flow accepted for an app at its share
# is reset, the engine's listener table still ends in ENOSPC; the share
# comes back after close, detach and SIGKILL (telemetry app_flows and
# app_listeners back to 0, and a new app takes the whole share again).
# Afterwards no flows are left and the pools are back where they started.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
[ -n "${MN_API_TABLE:-}" ] && [ -x "$MN_API_TABLE" ] || mn_fail "MN_API_TABLE is not set to an executable"
mn_require_hugepages 600
CONNECT_TIMEOUT_MS=300
PORT=7300
PORT2=7310
MAXF=8
MAXL=40
mn_pair "/^transport = /d" "\$a transport = { cc = \"fixed\"; connect_timeout_ms = $CONNECT_TIMEOUT_MS; };" \
	"s/^apps = .*/apps = { max = 64; channel_ring = 1024; max_flows = $MAXF; max_listeners = $MAXL; };/"

mn_pool_base

mn_app serve "$MN_B" "$MN_API_TABLE" serve "$PORT" 120
SP=$MN_PID
mn_app serve2 "$MN_B" "$MN_API_TABLE" serve "$PORT2" 60
SP2=$MN_PID
mn_wait_log "$MN_TMP/serve.log" '^listening' 20 "$SP" || mn_fail "serve did not listen: $(cat "$MN_TMP/serve.log")"
mn_wait_log "$MN_TMP/serve2.log" '^listening' 20 "$SP2" || mn_fail "serve2 did not listen: $(cat "$MN_TMP/serve2.log")"

# Per-app limits. hog takes its whole share on mn-a (its flows to serve
# take serve's whole share on mn-b too).
mn_app hog "$MN_A" "$MN_API_TABLE" hog 198.18.0.1 198.18.0.2 "$PORT" "$MAXF" "$MAXL" wait
HP=$MN_PID
mn_wait_log "$MN_TMP/hog.log" '^full' 30 "$HP" || mn_fail "hog: $(cat "$MN_TMP/hog.log")"
v=$(mn_wait_stat "$MN_A" app_flows "$MAXF" 10) || mn_fail "mn-a app_flows $v, want $MAXF"
v=$(mn_wait_stat "$MN_A" app_listeners "$MAXL" 10) || mn_fail "mn-a app_listeners $v, want $MAXL"
mn_app other "$MN_A" "$MN_API_TABLE" other 198.18.0.1 198.18.0.2 "$PORT2" "$PORT" $((64 - MAXL))
OP=$MN_PID
mn_wait_exit "$OP" 30
cat "$MN_TMP/other.log"
[ "$MN_RC" -eq 0 ] || mn_fail "other: exit $MN_RC"
mn_wait_exit "$SP2" 20
[ "$MN_RC" -eq 0 ] || mn_fail "serve2: exit $MN_RC: $(cat "$MN_TMP/serve2.log")"
[ "$(mn_stat "$MN_B" quota_flows)" -ge 1 ] || mn_fail "mn-b counted no refused accept (quota_flows)"
kill -USR1 "$HP"
mn_wait_log "$MN_TMP/hog.log" '^(refilled|FAIL)' 30 "$HP" || mn_fail "hog: $(cat "$MN_TMP/hog.log")"
grep -q '^refilled' "$MN_TMP/hog.log" || mn_fail "hog: $(cat "$MN_TMP/hog.log")"
mn_stop "$HP" KILL 10
cat "$MN_TMP/hog.log"
v=$(mn_wait_stat "$MN_A" app_flows 0 10) || mn_fail "mn-a app_flows $v after SIGKILL"
v=$(mn_wait_stat "$MN_A" app_listeners 0 10) || mn_fail "mn-a app_listeners $v after SIGKILL"
mn_app hog2 "$MN_A" "$MN_API_TABLE" hog 198.18.0.1 198.18.0.2 "$PORT" "$MAXF" "$MAXL"
mn_wait_exit "$MN_PID" 30
cat "$MN_TMP/hog2.log"
[ "$MN_RC" -eq 0 ] || mn_fail "hog2 (after SIGKILL): exit $MN_RC"
for s in "$MN_A" "$MN_B"; do
	v=$(mn_wait_stat "$s" app_flows 0 10) || mn_fail "$s app_flows $v at the end of the limits"
	[ "$(mn_stat "$s" quota_leaks)" = 0 ] || mn_fail "$s quota_leaks"
done
[ "$(mn_stat "$MN_A" quota_flows)" -ge 4 ] || mn_fail "mn-a quota_flows below the 4 refusals"
[ "$(mn_stat "$MN_A" quota_listeners)" -ge 3 ] || mn_fail "mn-a quota_listeners below the 3 refusals"

mn_app table "$MN_A" env MN_STRICT_FLOWS=1 "$MN_API_TABLE" table 198.18.0.1 198.18.0.2 "$PORT" 198.18.0.99
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
