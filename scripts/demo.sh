#!/usr/bin/env bash
# demo.sh: machnet-mp on one machine, from a fresh clone, in one command.
#
#   scripts/demo.sh [--duration S] [--no-setup]     (as root; from a user: sudo scripts/demo.sh)
#
# 1. scripts/setup.sh: packages, hugepages, build (only what is missing);
# 2. starts two machnetd linked by memif (conf/mn-a.conf as 198.18.0.1,
#    conf/mn-b.conf as 198.18.0.2) and shows them resolve each other by ARP;
# 3. runs hello_world: a server on stack A, a client on stack B;
# 4. runs Machnet's performance report on this machine with scripts/bench.sh
#    (1 KB messages; latency test at window 1, throughput test at window 32,
#    each beside the raw memif floor and the vCPU mode) and prints the table;
# 5. stops everything it started, and removes its hugepage files.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
DURATION=5
SETUP=1
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) DURATION=$2; shift 2 ;;
	--no-setup) SETUP=0; shift ;;
	-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: needs root (hugepages, DPDK); run: sudo $0" >&2; exit 1; }

say() { printf '\n== %s\n' "$*"; }

if [ "$SETUP" = 1 ]; then
	say "setting up (scripts/setup.sh)"
	"$top/scripts/setup.sh" || exit 1
fi
B=$top/build
TMP=$(mktemp -d /tmp/mn-demo.XXXXXX)
INST_A=demo-a-$$
INST_B=demo-b-$$
MN_LOG_TAG=demo
. "$top/scripts/lib/mn.sh"
# At exit the library stops what was started, newest first (apps, then the
# memif client B, then the server A) and removes the stacks' hugepage
# files, runtime dirs and locks.
mn_prefix "$INST_A"
mn_prefix "$INST_B"
mn_at_exit rm -rf "$TMP"
trap 'exit 130' INT TERM

# waitlog FILE REGEX SECONDS: until REGEX shows in FILE (bounded).
waitlog() {
	mn_wait_log "$@" && return 0
	tail -5 "$1" >&2
	return 1
}

# stack SIDE INSTANCE PEER_IP: one machnetd from conf/mn-SIDE.conf.
stack() {
	mn_conf_rewrite "$top/conf/mn-$1.conf" "$TMP/$1.conf" "$2" "s#socket=[^,\"]*#socket=$TMP/memif.sock#" || exit 1
	mn_spawn "$TMP/$1.log" "$B/primary/machnetd" -c "$TMP/$1.conf" --arp-probe "$3"
	waitlog "$TMP/$1.log" "ready:" 30 "$MN_PID" || exit 1
}

say "two machnetd linked by memif"
stack a "$INST_A" 198.18.0.2
stack b "$INST_B" 198.18.0.1
waitlog "$TMP/a.log" "arp: 198.18.0.2 is at" 10 || exit 1
waitlog "$TMP/b.log" "arp: 198.18.0.1 is at" 10 || exit 1
grep -h "ready:\|arp: " "$TMP/a.log" "$TMP/b.log" | sed 's/^/  /'

say "hello_world: server on A (198.18.0.1), client on B (198.18.0.2)"
mn_spawn "$TMP/hello-server.log" env MACHNET_INSTANCE="$INST_A" \
	"$B/apps/hello_world/hello_world" --local 198.18.0.1 --count 1
waitlog "$TMP/hello-server.log" "listening on" 20 "$MN_PID" || exit 1
MACHNET_INSTANCE=$INST_B timeout 20 "$B/apps/hello_world/hello_world" \
	--local 198.18.0.2 --remote 198.18.0.1 | sed 's/^/  client: /'
rc=${PIPESTATUS[0]}
waitlog "$TMP/hello-server.log" "received" 5 && sed 's/^/  server: /' "$TMP/hello-server.log"
[ "$rc" -eq 0 ] || { echo "demo.sh: hello_world failed (exit $rc)" >&2; exit 1; }
# The stacks go before the benchmark starts its own.
mn_stop_all
mn_clean_prefix "$INST_A" "$INST_B"

say "Machnet's performance report on this machine (scripts/bench.sh, ${DURATION}s per test)"
"$top/scripts/bench.sh" --reps 1 --duration "$DURATION" --out "$B/demo-bench"
