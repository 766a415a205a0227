# mn.sh: the process supervisor of machnet-mp's scripts and tests (bash;
# sourced, not run). One copy of what every script needs to run DPDK
# processes on a shared machine without leaving anything behind:
#
#   - start a process in the background with its output in a file, its PID
#     registered (mn_spawn); stop it by PID with a bound, TERM then KILL
#     (mn_stop, mn_wait_exit, mn_stop_all); never a kill by name;
#   - wait for a log line or any condition, always bounded (mn_wait_log,
#     mn_wait_for), deadlines scaled by MN_TIME_SCALE (mn_s, mn_deadline);
#   - unique DPDK prefixes / machnet instances, and their cleanup: hugepage
#     files, /var/run/dpdk/<prefix>, /run/machnet/<instance>.lock and the
#     apps' /run/machnet/<instance>.lcore.* locks (mn_prefix, mn_clean_prefix);
#   - a config copied with the instance renamed and sed expressions applied
#     (mn_conf_rewrite);
#   - telemetry as key=value lines (mn_tel, mn_tel_get).
#
# An EXIT trap (installed here) stops what was spawned, newest first (apps
# before their machnetd, the memif client before the server), runs the
# hooks of mn_at_exit last-registered first, cleans the registered prefixes
# and exits with the script's status. A script that needs its own trap
# calls mn_exit from it.
#
# MN_TIME_SCALE (default 1, may be fractional): how much slower than a
# quiet machine this one runs; scripts/test.sh measures it (mn_measure_scale)
# and exports it. Every bound of this library is multiplied by it.

[ -n "${MN_LIB_LOADED:-}" ] && return 0
MN_LIB_LOADED=1

MN_PIDS=()	# spawned and not yet reaped, in start order
MN_PREFIXES=()	# DPDK prefixes / instances to clean at exit
MN_EXIT_HOOKS=()
MN_PID=
MN_RC=
MN_LOG_TAG=${MN_LOG_TAG:-$(basename "${0%.sh}")}
MN_TIME_SCALE=${MN_TIME_SCALE:-1}
[[ $MN_TIME_SCALE =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "mn.sh: MN_TIME_SCALE '$MN_TIME_SCALE' is not a number: 1" >&2; MN_TIME_SCALE=1; }
# The scale in hundredths, so that bounds stay in bash's integer arithmetic
# (at least 0.01: a bound never becomes 0).
MN_SCALE_PCT=$(awk -v s="$MN_TIME_SCALE" 'BEGIN { p = int(s * 100 + 0.5); print (p < 1 ? 1 : p) }')
# Where DPDK and machnet keep their files (variables for the library's own
# test, which runs without root).
MN_HUGE_DIR=${MN_HUGE_DIR:-/dev/hugepages}
MN_DPDK_DIR=${MN_DPDK_DIR:-/var/run/dpdk}
MN_RUN_DIR=${MN_RUN_DIR:-/run/machnet}

mn_say() { echo "[$MN_LOG_TAG] $*" >&2; }

# mn_s SECONDS: prints SECONDS scaled by MN_TIME_SCALE (rounded up).
mn_s() {
	echo $(( ($1 * MN_SCALE_PCT + 99) / 100 ))
}

# mn_deadline SECONDS: prints the value of $SECONDS at which a wait of
# SECONDS (scaled) ends.
mn_deadline() {
	echo $(( SECONDS + ($1 * MN_SCALE_PCT + 99) / 100 ))
}

# mn_spawn FILE CMD...: runs CMD in the background, stdout and stderr in
# FILE; registers and sets MN_PID.
mn_spawn() {
	local file=$1
	shift
	"$@" > "$file" 2>&1 &
	MN_PID=$!
	MN_PIDS+=("$MN_PID")
}

# mn_forget PID: drops a reaped PID, so that no later cleanup signals a
# process that reused it.
mn_forget() {
	local i
	for i in "${!MN_PIDS[@]}"; do
		[ "${MN_PIDS[i]}" = "$1" ] && unset 'MN_PIDS[i]'
	done
	MN_PIDS=("${MN_PIDS[@]}")
}

# mn_reap PID: collects PID's exit status into MN_RC and forgets it.
mn_reap() {
	wait "$1" 2>/dev/null
	MN_RC=$?
	mn_forget "$1"
}

# mn_wait_gone PID SECONDS: true once PID has exited, false when still
# alive after SECONDS (scaled).
mn_wait_gone() {
	local deadline
	deadline=$(mn_deadline "$2")
	while kill -0 "$1" 2>/dev/null; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

# mn_force PID: TERM, 5 s (scaled), then KILL; reaps it. For a process that
# did not do what it was asked to in time.
mn_force() {
	kill -CONT "$1" 2>/dev/null	# a stopped process cannot act on TERM
	kill -TERM "$1" 2>/dev/null
	if ! mn_wait_gone "$1" 5; then
		kill -KILL "$1" 2>/dev/null
		mn_say "killed stuck pid $1"
	fi
	mn_reap "$1"
}

# mn_wait_exit PID SECONDS: waits for PID to exit by itself; sets MN_RC to
# its exit status, or 124 when it had to be stopped (mn_force).
mn_wait_exit() {
	if mn_wait_gone "$1" "$2"; then
		mn_reap "$1"
		return 0
	fi
	mn_force "$1"
	MN_RC=124
}

# mn_stop PID SIGNAL SECONDS: sends SIGNAL, then as mn_wait_exit.
mn_stop() {
	kill "-$2" "$1" 2>/dev/null
	mn_wait_exit "$1" "$3"
}

# mn_stop_all: stops every registered process, newest first, each with
# the bound of mn_force.
mn_stop_all() {
	local i pid
	for ((i = ${#MN_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${MN_PIDS[i]}
		if kill -0 "$pid" 2>/dev/null; then
			mn_force "$pid"
		else
			wait "$pid" 2>/dev/null
		fi
	done
	MN_PIDS=()
}

# mn_wait_for SECONDS PID CMD...: polls CMD until it succeeds (true) or
# SECONDS (scaled) pass (false); gives up early once PID (when not empty)
# has exited and CMD still fails.
mn_wait_for() {
	local deadline pid=$2
	deadline=$(mn_deadline "$1")
	shift 2
	while :; do
		"$@" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			"$@" && return 0
			return 2
		fi
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# mn_wait_log FILE REGEX SECONDS [PID]: waits until FILE has a line that
# matches REGEX (extended); says why when it gives up.
mn_wait_log() {
	local rc
	mn_wait_for "$3" "${4:-}" grep -Eq -- "$2" "$1" 2>/dev/null
	rc=$?
	case $rc in
	0) return 0 ;;
	2) mn_say "process $4 exited while waiting for /$2/ in $1" ;;
	*) mn_say "timeout ($(mn_s "$3") s) waiting for /$2/ in $1" ;;
	esac
	return 1
}

# mn_prefix NAME: registers a DPDK prefix (machnet instance) for cleanup.
mn_prefix() {
	MN_PREFIXES+=("$1")
}

# mn_clean_prefix PREFIX...: removes what DPDK and machnet leave of a
# prefix whose processes are gone: hugepage files, the runtime directory,
# machnetd's instance lock and the apps' lcore locks.
mn_clean_prefix() {
	local p
	for p in "$@"; do
		rm -f "$MN_HUGE_DIR/$p"map_* "$MN_RUN_DIR/$p".lock "$MN_RUN_DIR/$p".lcore.* 2>/dev/null
		rm -rf "${MN_DPDK_DIR:?}/$p"
	done
}

# mn_app_locks_rm INSTANCE: removes only the apps' lcore locks of an
# instance (what a killed app leaves for the next one).
mn_app_locks_rm() {
	rm -f "$MN_RUN_DIR/$1".lcore.* 2>/dev/null
}

# mn_hugefiles PREFIX: number of hugepage files of PREFIX.
mn_hugefiles() {
	find "$MN_HUGE_DIR" -maxdepth 1 -name "${1}map_*" 2>/dev/null | wc -l
}

# mn_hugepages_free_mb: free hugepage memory in MB (empty when unknown).
mn_hugepages_free_mb() {
	awk '/^HugePages_Free:/ { f = $2 } /^Hugepagesize:/ { s = $2 }
		END { if (f != "" && s != "") print int(f * s / 1024) }' /proc/meminfo
}

# mn_bench_begin TAG BINARY...: the checks and the results directory every
# benchmark script starts with. Needs root and python3; each BINARY must
# be executable; 1024 MB of hugepages must be free. Sets OUT (given with
# --out, or BUILD/bench/TAG-<date-time>, made absolute), TMP (a private
# directory, removed at exit) and MANIFEST (OUT/runs.tsv, emptied). Exits
# 1 with the reason on stderr (the caller's die()).
mn_bench_begin() {
	local tag=$1 b hp_free
	shift
	[ "$(id -u)" -eq 0 ] || die "must run as root (DPDK needs the hugepages and /run/machnet)"
	command -v python3 >/dev/null || die "python3 is needed to assemble the results"
	for b in "$@"; do
		[ -x "$b" ] || die "$b not found or not executable: build it (ninja -C $BUILD)"
	done
	hp_free=$(mn_hugepages_free_mb)
	[ -n "$hp_free" ] && [ "$hp_free" -ge 1024 ] || die "needs 1024 MB of free hugepages, ${hp_free:-?} MB free"
	[ -n "$OUT" ] || OUT=$BUILD/bench/$tag-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$OUT/logs" || die "cannot create $OUT"
	OUT=$(cd "$OUT" && pwd)
	TMP=$(mktemp -d "/tmp/mn-bench-$tag.XXXXXX") || die "mktemp failed"
	mn_at_exit rm -rf "$TMP"
	trap 'exit 130' INT TERM
	MANIFEST=$OUT/runs.tsv
	: > "$MANIFEST"
}

# mn_conf_rewrite SRC OUT INSTANCE [SED...]: copies a machnetd config with
# its instance renamed and the sed expressions applied.
mn_conf_rewrite() {
	local src=$1 out=$2 e args=(-e "s/^instance = .*/instance = \"$3\";/")
	shift 3
	for e in "$@"; do
		args+=(-e "$e")
	done
	sed "${args[@]}" "$src" > "$out"
}

# mn_tel INSTANCE ENDPOINT...: prints the dicts of the endpoints of a
# machnetd's telemetry (/machnet/stats, /machnet/proto, /ethdev/stats,0,
# ...) as key=value lines, all in one session of dpdk-telemetry.py; false
# when the socket did not answer within 10 s (scaled).
mn_tel() {
	local out inst=$1
	shift
	out=$(printf '%s\n' "$@" | timeout "$(mn_s 10)" dpdk-telemetry.py -f "$inst" 2>/dev/null) || return 1
	python3 -c 'import json,sys
lines = sys.argv[1].splitlines()
for ep in sys.argv[2:]:
    line = [l for l in lines if ep in l][-1]
    for k, v in json.loads(line[line.index("{"):])[ep].items():
        print("%s=%s" % (k, v))' "$out" "$@" 2>/dev/null
}

# mn_tel_get INSTANCE ENDPOINT KEY: one value of mn_tel; false when absent.
mn_tel_get() {
	local v
	v=$(mn_tel "$1" "$2" | awk -F= -v k="$3" '$1 == k { print substr($0, length(k) + 2); f = 1 } END { exit !f }') || return 1
	echo "$v"
}

# mn_measure_scale: prints how many times longer than its CPU time a fixed
# CPU-bound loop takes in wall time now (at least 1), the median of three
# tries: the share of a CPU a process gets on this machine at the moment,
# inverted. Bounded at 3 x 10 s.
mn_measure_scale() {
	python3 - <<'PY'
import time
def once():
    t0, c0 = time.monotonic(), time.process_time()
    x = 0
    while time.process_time() - c0 < 0.3 and time.monotonic() - t0 < 10:
        for _ in range(10000):
            x += 1
    return (time.monotonic() - t0) / max(time.process_time() - c0, 1e-3)
print("%.2f" % max(1.0, sorted(once() for _ in range(3))[1]))
PY
}

# mn_at_exit CMD...: runs CMD at exit, after the processes are stopped
# (hooks run last-registered first).
mn_at_exit() {
	local q
	printf -v q '%q ' "$@"
	MN_EXIT_HOOKS+=("$q")
}

# mn_exit: the EXIT trap; keeps the script's exit status (in MN_EXIT_RC
# for the hooks).
mn_exit() {
	MN_EXIT_RC=$?	# first: any command, even "local", would reset $?
	local i
	trap - EXIT
	mn_stop_all
	for ((i = ${#MN_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${MN_EXIT_HOOKS[i]}"
	done
	mn_clean_prefix "${MN_PREFIXES[@]}"
	exit $MN_EXIT_RC
}
trap mn_exit EXIT
