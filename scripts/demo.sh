#!/usr/bin/env bash
# demo.sh: machnet-mp on one machine, from a fresh clone, in one command.
#
#   sudo scripts/demo.sh [--duration S] [--no-setup]
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
PIDS=()
INST_A=demo-a-$$
INST_B=demo-b-$$

cleanup() {
	local i pid n
	trap - EXIT INT TERM
	# newest first: apps, then the memif client (B), then the server (A)
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
			sleep 0.05
			n=$((n + 1))
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for p in "$INST_A" "$INST_B"; do
		rm -f /dev/hugepages/"$p"map_* 2>/dev/null
		rm -rf "/var/run/dpdk/$p" "/run/machnet/$p.lock"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# waitlog FILE PATTERN SECONDS: until PATTERN shows in FILE (bounded).
waitlog() {
	local n
	for ((n = 0; n < $3 * 20; n++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "demo.sh: timed out waiting for '$2' in $1:" >&2
	tail -5 "$1" >&2
	return 1
}

# stack SIDE INSTANCE PEER_IP: one machnetd from conf/mn-SIDE.conf.
stack() {
	sed -e "s/^instance = .*/instance = \"$2\";/" \
	    -e "s#socket=[^,\"]*#socket=$TMP/memif.sock#" \
	    "$top/conf/mn-$1.conf" > "$TMP/$1.conf"
	"$B/primary/machnetd" -c "$TMP/$1.conf" --arp-probe "$3" > "$TMP/$1.log" 2>&1 &
	PIDS+=($!)
	waitlog "$TMP/$1.log" "ready:" 30 || exit 1
}

say "two machnetd linked by memif"
stack a "$INST_A" 198.18.0.2
stack b "$INST_B" 198.18.0.1
waitlog "$TMP/a.log" "arp: 198.18.0.2 is at" 10 || exit 1
waitlog "$TMP/b.log" "arp: 198.18.0.1 is at" 10 || exit 1
grep -h "ready:\|arp: " "$TMP/a.log" "$TMP/b.log" | sed 's/^/  /'

say "hello_world: server on A (198.18.0.1), client on B (198.18.0.2)"
MACHNET_INSTANCE=$INST_A "$B/apps/hello_world/hello_world" --local 198.18.0.1 --count 1 \
	> "$TMP/hello-server.log" 2>&1 &
PIDS+=($!)
waitlog "$TMP/hello-server.log" "listening on" 20 || exit 1
MACHNET_INSTANCE=$INST_B timeout 20 "$B/apps/hello_world/hello_world" \
	--local 198.18.0.2 --remote 198.18.0.1 | sed 's/^/  client: /'
rc=${PIPESTATUS[0]}
waitlog "$TMP/hello-server.log" "received" 5 && sed 's/^/  server: /' "$TMP/hello-server.log"
[ "$rc" -eq 0 ] || { echo "demo.sh: hello_world failed (exit $rc)" >&2; exit 1; }
cleanup
trap cleanup EXIT
PIDS=()

say "Machnet's performance report on this machine (scripts/bench.sh, ${DURATION}s per test)"
"$top/scripts/bench.sh" --reps 1 --duration "$DURATION" --out "$B/demo-bench"
