# Shared helpers of the integration tests (bash; sourced, not run): the
# test-specific layer over scripts/lib/mn.sh (processes by PID, bounded and
# scaled waits, prefix cleanup, telemetry).
#
# Every test gets a unique id (test name + shell pid), a private temp dir and
# the library's EXIT handling: it kills by PID what the test started, then
# prints the logs of a failed test, deletes the network namespaces it made
# and removes the hugepage files, DPDK runtime dirs and lock files of the
# instances it named. Exit 77 means "skipped" (meson shows SKIP).
#
# Environment (set by meson): MACHNETD = path of the binary, MN_SRC = source
# root; MN_TIME_SCALE (set by scripts/test.sh) stretches every wait.

set -u

MN_TEST_NAME=${MN_TEST_NAME:-$(basename "${0%.sh}")}
MN_LOG_TAG=$MN_TEST_NAME
MN_SRC=${MN_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$MN_SRC/scripts/lib/mn.sh"
MN_ID="$$"
MN_TMP=$(mktemp -d "/tmp/mn-it-${MN_TEST_NAME}.XXXXXX")
MN_NETNS=()
MACHNETD=${MACHNETD:-}

mn_log() { echo "[$MN_TEST_NAME] $*"; }

# mn_fail MSG: fails the test (the exit handler prints the logs).
mn_fail() {
	mn_log "FAIL: $*"
	exit 1
}

mn_skip() {
	mn_log "SKIP: $*"
	exit 77
}

# At exit, after the processes are stopped: the logs of everything a failed
# test started, so that a CI failure can be read without a rerun; then the
# namespaces (they take their veth ends with them) and the temp dir.
mn_it_exit() {
	local f ns
	if [ "$MN_EXIT_RC" -ne 0 ] && [ "$MN_EXIT_RC" -ne 77 ]; then
		for f in "$MN_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	for ns in "${MN_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$MN_TMP"
}
mn_at_exit mn_it_exit

mn_require_root() {
	[ "$(id -u)" -eq 0 ] || mn_skip "needs root"
}

mn_require_machnetd() {
	[ -n "$MACHNETD" ] && [ -x "$MACHNETD" ] || mn_fail "MACHNETD is not set to an executable"
}

# mn_require_hugepages MB: skip when fewer MB of hugepages are free.
mn_require_hugepages() {
	local free
	free=$(mn_hugepages_free_mb)
	[ -n "$free" ] || mn_skip "no hugepage information"
	[ "$free" -ge "$1" ] || mn_skip "needs $1 MB of free hugepages"
}

# mn_require_apps: the app binaries set by meson.
mn_require_apps() {
	local v
	for v in MN_ECHO_CHECK MN_HELLO_WORLD MN_MSG_GEN; do
		[ -n "${!v:-}" ] && [ -x "${!v}" ] || mn_fail "$v is not set to an executable"
	done
}

# mn_e2e_require: what every end-to-end test needs (root, machnetd, the
# apps, 600 MB of hugepages).
mn_e2e_require() {
	mn_require_root
	mn_require_machnetd
	mn_require_apps
	mn_require_hugepages 600
}

# mn_instance BASE: sets MN_INSTANCE to a unique instance name and registers
# it for cleanup. (Call it in the main shell, not in $(...), so the
# registration sticks.)
mn_instance() {
	MN_INSTANCE="${1}-${MN_ID}"
	mn_prefix "$MN_INSTANCE"
}

# mn_conf SRC OUT INSTANCE [sed expressions...]: copies SRC with the instance
# renamed, small memory (8191 mbufs, 256 MB) and the given substitutions.
mn_conf() {
	local src=$1 out=$2 inst=$3
	shift 3
	mn_conf_rewrite "$src" "$out" "$inst" "s/mbufs = [0-9]*/mbufs = 8191/" \
		"s/hugepage_mb = [0-9]*/hugepage_mb = 256/" "$@" || mn_fail "cannot write $out"
}

# mn_start NAME CMD...: runs CMD in the background with output in
# $MN_TMP/NAME.log; sets MN_PID.
mn_start() {
	local name=$1
	shift
	mn_spawn "$MN_TMP/$name.log" "$@"
}

# mn_app NAME INSTANCE CMD...: mn_start with MACHNET_INSTANCE=INSTANCE.
mn_app() {
	local name=$1 inst=$2
	shift 2
	mn_start "$name" env MACHNET_INSTANCE="$inst" "$@"
}

# mn_netns NAME: creates a namespace with IPv6 off and lo up, registered for cleanup.
mn_netns() {
	ip netns add "$1" || mn_fail "ip netns add $1"
	MN_NETNS+=("$1")
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 || mn_fail "sysctl in $1"
	ip -n "$1" link set lo up
}

# mn_stat INSTANCE KEY [ENDPOINT]: prints one counter of /machnet/stats, or
# of ENDPOINT (e.g. /machnet/proto) (telemetry).
mn_stat() {
	mn_tel_get "$1" "${3:-/machnet/stats}" "$2"
}

# mn_wait_stat INSTANCE KEY VALUE TIMEOUT_S: waits until counter KEY equals
# VALUE; prints the last value read.
mn_wait_stat() {
	local deadline v=""
	deadline=$(mn_deadline "$4")
	while [ $SECONDS -lt "$deadline" ]; do
		v=$(mn_stat "$1" "$2") || v="?"
		[ "$v" = "$3" ] && { echo "$v"; return 0; }
		sleep 0.2
	done
	echo "$v"
	return 1
}

# mn_apps_live INSTANCE: apps attached now (registered - died - left, one
# telemetry read); "?" and false when telemetry did not answer.
mn_apps_live() {
	local out
	out=$(mn_tel "$1" /machnet/stats) || { echo "?"; return 1; }
	awk -F= '$1 == "apps_registered" { r = $2 } $1 == "apps_died" { d = $2 } $1 == "apps_left" { l = $2 }
		END { if (r == "" || d == "" || l == "") { print "?"; exit 1 } print r - d - l }' <<< "$out"
}

# mn_nonzero INSTANCE ENDPOINT: the endpoint's counters that are not zero
# (nor lists), on one line; "(no telemetry)" when it did not answer.
mn_nonzero() {
	local out
	out=$(mn_tel "$1" "$2") || { echo "(no telemetry)"; return; }
	awk -F= '$2 != "0" && $2 !~ /^\[/ { printf "%s%s", (n++ ? " " : ""), $0 } END { print "" }' <<< "$out"
}

# mn_dump_stats INSTANCE...: prints every /machnet/stats counter that is not
# zero (for failure reports).
mn_dump_stats() {
	local i
	for i in "$@"; do
		echo "$i: $(mn_nonzero "$i" /machnet/stats)"
	done
}

# mn_pair [SED...]: starts two machnetd joined by memif, mn-a (198.18.0.1,
# memif server) and mn-b (198.18.0.2), from conf/mn-a.conf / mn-b.conf with
# unique instance names and the extra sed expressions (applied to both);
# waits until both are ready and both links are up. Sets MN_A, MN_B (instance
# names) and MN_PA, MN_PB (pids). Both engines go on CPU 1 (the configs put
# mn-a's on CPU 0 for the benchmark's pinned apps): the tests' apps are not
# pinned, and some spin, so an engine beside them waits for scheduler ticks
# (faults_mn_inject took 430 s instead of 200 s). MN_PAIR_A / MN_PAIR_B: one
# more sed expression for that side alone (e.g. its engines).
mn_pair() {
	mn_instance mnit-a; MN_A=$MN_INSTANCE
	mn_instance mnit-b; MN_B=$MN_INSTANCE
	local sock="$MN_TMP/memif.sock" cpu='s/engines = \[[0-9]*\]/engines = [1]/'
	mn_conf "$MN_SRC/conf/mn-a.conf" "$MN_TMP/a.conf" "$MN_A" "s#socket=[^,\"]*#socket=$sock#" "$cpu" \
		"${MN_PAIR_A:-s/^//}" "$@"
	mn_conf "$MN_SRC/conf/mn-b.conf" "$MN_TMP/b.conf" "$MN_B" "s#socket=[^,\"]*#socket=$sock#" "$cpu" \
		"${MN_PAIR_B:-s/^//}" "$@"
	mn_start a "$MACHNETD" -c "$MN_TMP/a.conf"
	MN_PA=$MN_PID
	mn_wait_log "$MN_TMP/a.log" 'ready:' 20 "$MN_PA" || mn_fail "mn-a did not start"
	mn_start b "$MACHNETD" -c "$MN_TMP/b.conf"
	MN_PB=$MN_PID
	mn_wait_log "$MN_TMP/b.log" 'ready:' 20 "$MN_PB" || mn_fail "mn-b did not start"
	mn_wait_log "$MN_TMP/a.log" 'link0 \(port [0-9]+\): up' 15 "$MN_PA" || mn_fail "mn-a link down"
	mn_wait_log "$MN_TMP/b.log" 'link0 \(port [0-9]+\): up' 15 "$MN_PB" || mn_fail "mn-b link down"
}

# mn_pool_base: records the pools in use of both stacks of the pair now, in
# base_a and base_b.
mn_pool_base() {
	base_a=$(mn_stat "$MN_A" pool_in_use) || mn_fail "telemetry of $MN_A"
	base_b=$(mn_stat "$MN_B" pool_in_use) || mn_fail "telemetry of $MN_B"
}

# mn_pools_back [SECONDS]: both pools come back to base_a / base_b (within
# SECONDS, 10 by default, scaled).
mn_pools_back() {
	local v
	v=$(mn_wait_stat "$MN_A" pool_in_use "$base_a" "${1:-10}") || mn_fail "mn-a pool in use $v, started at $base_a"
	v=$(mn_wait_stat "$MN_B" pool_in_use "$base_b" "${1:-10}") || mn_fail "mn-b pool in use $v, started at $base_b"
}

# mn_no_flows [a|b]...: the stacks named (both by default) come to hold no
# flow within 10 s (scaled).
mn_no_flows() {
	local side inst
	for side in ${*:-a b}; do
		inst=$MN_A
		[ "$side" = b ] && inst=$MN_B
		mn_wait_stat "$inst" flows 0 10 >/dev/null || mn_fail "mn-$side still has flows"
	done
}

# mn_stop_pair: stops mn-b (memif client) first, then mn-a; both must exit 0.
mn_stop_pair() {
	mn_stop "$MN_PB" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "mn-b exit status $MN_RC"
	mn_stop "$MN_PA" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "mn-a exit status $MN_RC"
	mn_app_locks_rm "$MN_A"
	mn_app_locks_rm "$MN_B"
}
