# Shared helpers of the integration tests (bash; sourced, not run).
#
# Every test gets a unique id (test name + shell pid), a private temp dir and
# an EXIT trap that kills by PID what the test started, deletes the network
# namespaces and links it made, and removes the hugepage files, DPDK runtime
# dirs and lock files of the instances it named. Waits are polls with a
# bounded deadline. Exit 77 means "skipped" (meson shows SKIP).
#
# Environment (set by meson): MACHNETD = path of the binary, MN_SRC = source root.

set -u

MN_TEST_NAME=${MN_TEST_NAME:-$(basename "${0%.sh}")}
MN_ID="$$"
MN_TMP=$(mktemp -d "/tmp/mn-it-${MN_TEST_NAME}.XXXXXX")
MN_PIDS=()
MN_PREFIXES=()
MN_NETNS=()
MN_FAILED=0
MACHNETD=${MACHNETD:-}
MN_SRC=${MN_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

mn_log() { echo "[$MN_TEST_NAME] $*"; }

mn_fail() {
	local f
	mn_log "FAIL: $*"
	# The logs of everything the test started, so that a CI failure can be
	# read without a rerun (the temp dir goes with the cleanup).
	for f in "$MN_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 15 lines)"
		tail -n 15 "$f"
	done
	MN_FAILED=1
	exit 1
}

mn_skip() {
	mn_log "SKIP: $*"
	exit 77
}

mn_cleanup() {
	local rc=$? pid deadline p ns
	trap - EXIT
	for pid in "${MN_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || continue
	done
	deadline=$((SECONDS + 5))
	for pid in "${MN_PIDS[@]}"; do
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null && mn_log "killed stuck pid $pid"
		wait "$pid" 2>/dev/null
	done
	for ns in "${MN_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null	# takes its veth ends with it
	done
	for p in "${MN_PREFIXES[@]}"; do
		rm -f /dev/hugepages/"${p}"map_* 2>/dev/null
		rm -rf "/var/run/dpdk/$p" "/run/machnet/$p.lock" /run/machnet/"$p".lcore.*
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$MN_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $f"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$MN_TMP"
	exit $rc
}
trap mn_cleanup EXIT

mn_require_root() {
	[ "$(id -u)" -eq 0 ] || mn_skip "needs root"
}

mn_require_machnetd() {
	[ -n "$MACHNETD" ] && [ -x "$MACHNETD" ] || mn_fail "MACHNETD is not set to an executable"
}

# mn_require_hugepages MB: skip when fewer MB of hugepages are free.
mn_require_hugepages() {
	local free size
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	size=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
	[ -n "$free" ] && [ -n "$size" ] || mn_skip "no hugepage information"
	[ $((free * size / 1024)) -ge "$1" ] || mn_skip "needs $1 MB of free hugepages"
}

# mn_instance BASE: prints a unique instance name and registers it for cleanup.
# (Call it in the main shell, not in $(...), so the registration sticks.)
mn_instance() {
	MN_INSTANCE="${1}-${MN_ID}"
	MN_PREFIXES+=("$MN_INSTANCE")
}

# mn_conf SRC OUT INSTANCE [sed expressions...]: copies SRC with the instance
# renamed, small memory (8191 mbufs, 256 MB) and the given substitutions.
mn_conf() {
	local src=$1 out=$2 inst=$3
	shift 3
	local args=(-e "s/^instance = .*/instance = \"$inst\";/"
		    -e "s/mbufs = [0-9]*/mbufs = 8191/"
		    -e "s/hugepage_mb = [0-9]*/hugepage_mb = 256/")
	local e
	for e in "$@"; do
		args+=(-e "$e")
	done
	sed "${args[@]}" "$src" > "$out" || mn_fail "cannot write $out"
}

# mn_start NAME CMD...: runs CMD in the background with output in
# $MN_TMP/NAME.log; sets MN_PID.
mn_start() {
	local name=$1
	shift
	"$@" > "$MN_TMP/$name.log" 2>&1 &
	MN_PID=$!
	MN_PIDS+=("$MN_PID")
}

# mn_wait_log FILE REGEX TIMEOUT_S [PID]: waits until FILE has a line matching
# REGEX (extended); fails early when PID died.
mn_wait_log() {
	local file=$1 re=$2 limit=$3 pid=${4:-}
	local deadline=$((SECONDS + limit))
	while [ $SECONDS -lt $deadline ]; do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -Eq -- "$re" "$file" 2>/dev/null && return 0
			mn_log "process $pid exited while waiting for /$re/ in $file"
			return 1
		fi
		sleep 0.05
	done
	mn_log "timeout (${limit}s) waiting for /$re/ in $file"
	return 1
}

# mn_stop PID SIGNAL TIMEOUT_S: signals PID and waits for it; sets MN_RC to
# its exit status (124 when it had to be killed).
mn_stop() {
	kill "-$2" "$1" 2>/dev/null
	mn_wait_exit "$1" "$3"
}

# mn_wait_exit PID TIMEOUT_S: waits for PID to exit by itself; MN_RC as mn_stop.
mn_wait_exit() {
	local pid=$1 limit=$2
	local deadline=$((SECONDS + limit))
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		MN_RC=124
		return
	fi
	wait "$pid"
	MN_RC=$?
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
	local out ep=${3:-/machnet/stats}
	out=$(echo "$ep" | timeout 10 dpdk-telemetry.py -f "$1" 2>/dev/null) || return 1
	python3 -c 'import json,sys
line=[l for l in sys.argv[1].splitlines() if sys.argv[3] in l][-1]
d=json.loads(line[line.index("{"):])[sys.argv[3]]
print(d[sys.argv[2]])' "$out" "$2" "$ep"
}

# mn_hugefiles PREFIX: number of hugepage files of PREFIX.
mn_hugefiles() {
	find /dev/hugepages -maxdepth 1 -name "${1}map_*" 2>/dev/null | wc -l
}

# mn_pair [SED...]: starts two machnetd joined by memif, mn-a (198.18.0.1,
# memif server) and mn-b (198.18.0.2), from conf/mn-a.conf / mn-b.conf with
# unique instance names and the extra sed expressions (applied to both);
# waits until both are ready and both links are up. Sets MN_A, MN_B (instance
# names) and MN_PA, MN_PB (pids). Both engines go on CPU 1 (the configs put
# mn-a's on CPU 0 for the benchmark's pinned apps): the tests' apps are not
# pinned, and some spin, so an engine beside them waits for scheduler ticks
# (faults_mn_inject took 430 s instead of 200 s).
mn_pair() {
	mn_instance mnit-a; MN_A=$MN_INSTANCE
	mn_instance mnit-b; MN_B=$MN_INSTANCE
	local sock="$MN_TMP/memif.sock" cpu='s/engines = \[[0-9]*\]/engines = [1]/'
	mn_conf "$MN_SRC/conf/mn-a.conf" "$MN_TMP/a.conf" "$MN_A" "s#socket=[^,\"]*#socket=$sock#" "$cpu" "$@"
	mn_conf "$MN_SRC/conf/mn-b.conf" "$MN_TMP/b.conf" "$MN_B" "s#socket=[^,\"]*#socket=$sock#" "$cpu" "$@"
	mn_start a "$MACHNETD" -c "$MN_TMP/a.conf"
	MN_PA=$MN_PID
	mn_wait_log "$MN_TMP/a.log" 'ready:' 20 "$MN_PA" || mn_fail "mn-a did not start"
	mn_start b "$MACHNETD" -c "$MN_TMP/b.conf"
	MN_PB=$MN_PID
	mn_wait_log "$MN_TMP/b.log" 'ready:' 20 "$MN_PB" || mn_fail "mn-b did not start"
	mn_wait_log "$MN_TMP/a.log" 'link0 \(port [0-9]+\): up' 15 "$MN_PA" || mn_fail "mn-a link down"
	mn_wait_log "$MN_TMP/b.log" 'link0 \(port [0-9]+\): up' 15 "$MN_PB" || mn_fail "mn-b link down"
}

# mn_app_locks_rm INSTANCE: removes the app lcore lock files of an instance.
mn_app_locks_rm() {
	rm -f /run/machnet/"$1".lcore.* 2>/dev/null
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

# mn_require_apps: the app binaries set by meson.
mn_require_apps() {
	local v
	for v in MN_ECHO_CHECK MN_HELLO_WORLD MN_MSG_GEN; do
		[ -n "${!v:-}" ] && [ -x "${!v}" ] || mn_fail "$v is not set to an executable"
	done
}

# mn_app NAME INSTANCE CMD...: mn_start with MACHNET_INSTANCE=INSTANCE.
mn_app() {
	local name=$1 inst=$2
	shift 2
	mn_start "$name" env MACHNET_INSTANCE="$inst" "$@"
}

# mn_wait_stat INSTANCE KEY VALUE TIMEOUT_S: waits until counter KEY equals
# VALUE; prints the last value read.
mn_wait_stat() {
	local deadline=$((SECONDS + $4)) v=""
	while [ $SECONDS -lt $deadline ]; do
		v=$(mn_stat "$1" "$2") || v="?"
		[ "$v" = "$3" ] && { echo "$v"; return 0; }
		sleep 0.2
	done
	echo "$v"
	return 1
}

# mn_dump_stats INSTANCE...: prints every /machnet/stats counter that is not
# zero (for failure reports).
mn_dump_stats() {
	local i out
	for i in "$@"; do
		out=$(echo /machnet/stats | timeout 10 dpdk-telemetry.py -f "$i" 2>/dev/null) || continue
		python3 -c 'import json,sys
line=[l for l in sys.argv[1].splitlines() if "/machnet/stats" in l][-1]
d=json.loads(line[line.index("{"):])["/machnet/stats"]
print(sys.argv[2] + ": " + " ".join("%s=%s" % (k, v) for k, v in d.items() if v))' "$out" "$i"
	done
}
