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
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages 600
CONNECT_TIMEOUT_MS=300
mn_pair "/^transport = /d" "\$a transport = { cc = \"fixed\"; connect_timeout_ms = $CONNECT_TIMEOUT_MS; };"

base_a=$(mn_stat "$MN_A" pool_in_use) || mn_fail "telemetry of $MN_A"
base_b=$(mn_stat "$MN_B" pool_in_use) || mn_fail "telemetry of $MN_B"

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

mn_wait_stat "$MN_A" flows 0 10 >/dev/null || mn_fail "mn-a still has flows"
mn_wait_stat "$MN_B" flows 0 10 >/dev/null || mn_fail "mn-b still has flows"
v=$(mn_wait_stat "$MN_A" pool_in_use "$base_a" 10) || mn_fail "mn-a pool in use $v, started at $base_a"
v=$(mn_wait_stat "$MN_B" pool_in_use "$base_b" 10) || mn_fail "mn-b pool in use $v, started at $base_b"
mn_stop_pair
mn_log "PASS"
