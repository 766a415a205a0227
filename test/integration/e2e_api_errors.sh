#!/bin/bash
# The errnos machnet.h documents, against two live stacks: EMSGSIZE (8 MiB +
# 1), EADDRNOTAVAIL (listen/connect from an IP machnetd does not own),
# EADDRINUSE (listen twice), ECONNREFUSED (closed port), ETIMEDOUT or
# EHOSTUNREACH toward an IP of the subnet nobody answers ARP for, within the
# configured connect timeout (+0.5 s), a peer's close seen as
# MACHNET_EV_RESET (ECONNRESET) and a later send on the flow as
# MACHNET_EV_SEND_FAILED (ENOTCONN), ENOENT and EBADF for gone flows and
# channels. Then no flows are left and the pools are back where they started.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
CONNECT_TIMEOUT_MS=300
mn_pair "/^transport = /d" "\$a transport = { cc = \"fixed\"; connect_timeout_ms = $CONNECT_TIMEOUT_MS; };"

mn_pool_base

mn_app closer "$MN_B" "$MN_ECHO_CHECK" closer 198.18.0.2 7100
CP=$MN_PID
mn_wait_log "$MN_TMP/closer.log" '^listening' 20 "$CP" || mn_fail "closer did not listen"
mn_app errors "$MN_A" "$MN_ECHO_CHECK" errors 198.18.0.1 198.18.0.2 7100 198.18.0.99 \
	"$CONNECT_TIMEOUT_MS"
EP=$MN_PID
mn_wait_exit "$EP" 30
cat "$MN_TMP/errors.log"
[ "$MN_RC" -eq 0 ] || mn_fail "errors app: exit $MN_RC"
mn_wait_exit "$CP" 10
[ "$MN_RC" -eq 0 ] || mn_fail "closer: exit $MN_RC: $(cat "$MN_TMP/closer.log")"

mn_no_flows
mn_pools_back
mn_stop_pair
mn_log "PASS"
