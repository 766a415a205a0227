#!/usr/bin/env bash
# bench.sh: msg_gen's request-reply benchmark between two machnetd stacks over
# memif, next to the floor of the same link and the vCPU mode of the moment.
#
#   scripts/bench.sh [--reps N] [--sizes 1024,...] [--windows 1,32]
#                    [--duration S] [--warmup S] [--out DIR] [--build DIR]
#                    [--skip-floor] [--skip-stack] [--app-cpus LIST]
#                    [--server-cpus LIST] [--client-cpus LIST]
#                    [--conf-a FILE] [--conf-b FILE] [--idle LIST]
#   scripts/bench.sh --cost [--cost-count N] [--cost-flows LIST] [--out DIR]
#
# Each repetition, for every size and window:
#   floor  mn-rawecho: a reflector (memif server, CPU 1) and a client (memif
#          client, CPU 0), two bare DPDK primaries: the least any stack can do.
#   stack  two machnetd (conf/mn-a.conf, conf/mn-b.conf with unique instance
#          names and a private memif socket; engine A on CPU 0, engine B on
#          CPU 1), msg_gen server on A pinned to CPU 1 and client on B pinned
#          to CPU 0 (--server-cpus, --client-cpus; --app-cpus sets both).
#   chain  mn-yieldchain (window 1 only, with the floor): four bare processes
#          pinned like the stack's two apps and two engines (the engines'
#          CPUs read from the configs), yielding when idle like them, pass a
#          token (and SIZE bytes) along the round trip's six hand-overs: the
#          scheduling floor of this topology.
# Every stack run also reads the context switches (voluntary and not) of
# every thread of both machnetd and both msg_gen from /proc/PID/task/*/status
# over a window inside the measured one: per request-reply = switches/s over
# the run's RPC/s.
# --cost runs only mn-cost (build/test/tools): the stack's own cost per 1 KB
# request-reply and per 64 KiB message, both ends in one thread (no
# scheduler, no link, no root or hugepages), at 1, 1,000 and 10,000 flows;
# it prints its 'cost:' lines and writes OUT/cost.json.
# mn-hiccup (1 s, each CPU) starts every repetition: how often a CPU is taken
# from a thread that never yields (timer ticks, interrupts, the hypervisor),
# the stalls a round trip's P99.9 is made of.
# mn-pingpong runs right before and right after every run: this VM's vCPUs
# flip between a fast and a slow core-to-core mode that moves every number
# 4-5x, so each result carries the mode it was taken in (fast, slow, unknown,
# or before>after when it flipped during the run). ratio = P50 / floor P50 of
# the same repetition, size and window.
#
# Output: the table on stdout and in OUT/table.md; everything (every run's
# JSON, both pingpongs, context switches, exit codes) in OUT/bench.json;
# logs in OUT/logs/.
# Needs root (hugepages). Processes and waits are scripts/lib/mn.sh's: every
# wait is bounded; at exit it kills by PID whatever this script started and
# removes the hugepage files, DPDK runtime dirs and lock files of the
# prefixes it used.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
MN_LOG_TAG=bench
. "$top/scripts/lib/mn.sh"
REPS=3
SIZES=1024
WINDOWS=1,32
DURATION=5
WARMUP=1
OUT=
BUILD=$top/build
SKIP_FLOOR=0
SKIP_STACK=0
FLOOR_CPU_REFLECT=1	# like machnetd's engines (conf/mn-*.conf)
FLOOR_CPU_CLIENT=0
APP_CPUS=	# both msg_gen processes (overrides the two below)
SERVER_CPUS=1	# msg_gen server (an app of A), beside engine B (conf/mn-b.conf)
CLIENT_CPUS=0	# msg_gen client (an app of B), beside engine A (conf/mn-a.conf)
CONF_A=$top/conf/mn-a.conf
CONF_B=$top/conf/mn-b.conf
COST=0
IDLE=
COST_COUNT=200000
COST_FLOWS=1,1000,10000

usage() {
	awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	cat <<USAGE
Options:
  --reps N         repetitions (default $REPS)
  --sizes LIST     message sizes in bytes, comma separated (default $SIZES)
  --windows LIST   messages in flight, comma separated (default $WINDOWS)
  --duration S     measured seconds per run (default $DURATION)
  --warmup S       seconds before measuring, per run (default $WARMUP)
  --out DIR        results directory (default BUILD/bench/<date-time>)
  --build DIR      meson build directory with the binaries (default build)
  --skip-floor     no raw-echo floor runs
  --skip-stack     no machnetd/msg_gen runs
  --server-cpus L  CPUs of the msg_gen server (taskset list, default $SERVER_CPUS)
  --client-cpus L  CPUs of the msg_gen client (taskset list, default $CLIENT_CPUS)
  --app-cpus LIST  CPUs of both msg_gen processes
  --idle LIST      engine idle policies to compare in one run, e.g.
                   adaptive,yield: every repetition runs the stack once per
                   policy (engine.idle rewritten in both configs; the order
                   alternates between repetitions), and the report compares
                   each policy's medians with the last one's, per vCPU mode
                   (default: the configs' own policy, one stack per rep)
  --conf-a FILE    machnetd A's config (default conf/mn-a.conf)
  --conf-b FILE    machnetd B's config (default conf/mn-b.conf)
  --cost           only the in-process cost benchmark (mn-cost), see above
  --cost-count N   1 KB request-replies per flow count (default $COST_COUNT;
                   64 KiB messages: N/100)
  --cost-flows L   flow counts (default $COST_FLOWS)
  -h, --help       this text
USAGE
}

die() {
	echo "bench.sh: $*" >&2
	exit 1
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
is_secs() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_list() { [[ $1 =~ ^[0-9]+(,[0-9]+)*$ ]]; }

while [ $# -gt 0 ]; do
	case "$1" in
	--reps) [ $# -ge 2 ] && is_uint "$2" || die "--reps wants a positive integer"
		REPS=$2; shift 2 ;;
	--sizes) [ $# -ge 2 ] && is_list "$2" || die "--sizes wants a list like 1024,64"
		SIZES=$2; shift 2 ;;
	--windows) [ $# -ge 2 ] && is_list "$2" || die "--windows wants a list like 1,32"
		WINDOWS=$2; shift 2 ;;
	--duration) [ $# -ge 2 ] && is_secs "$2" || die "--duration wants seconds"
		DURATION=$2; shift 2 ;;
	--warmup) [ $# -ge 2 ] && is_secs "$2" || die "--warmup wants seconds"
		WARMUP=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || die "--out wants a directory"
		OUT=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || die "--build wants a directory"
		BUILD=$(cd "$2" 2>/dev/null && pwd) || die "no build directory '$2'"
		shift 2 ;;
	--skip-floor) SKIP_FLOOR=1; shift ;;
	--skip-stack) SKIP_STACK=1; shift ;;
	--app-cpus) [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+([,-][0-9]+)*$ ]] ||
			die "--app-cpus wants a CPU list like 0 or 0,1"
		APP_CPUS=$2; shift 2 ;;
	--server-cpus|--client-cpus)
		[ $# -ge 2 ] && [[ $2 =~ ^[0-9]+([,-][0-9]+)*$ ]] ||
			die "$1 wants a CPU list like 0 or 0,1"
		if [ "$1" = --server-cpus ]; then SERVER_CPUS=$2; else CLIENT_CPUS=$2; fi
		shift 2 ;;
	--conf-a|--conf-b)
		[ $# -ge 2 ] && [ -r "$2" ] || die "$1 wants a readable machnetd config"
		if [ "$1" = --conf-a ]; then CONF_A=$(realpath "$2"); else CONF_B=$(realpath "$2"); fi
		shift 2 ;;
	--idle) [ $# -ge 2 ] && [[ $2 =~ ^(busy|yield|sleep|adaptive)(,(busy|yield|sleep|adaptive))*$ ]] ||
			die "--idle wants a list of busy, yield, sleep, adaptive (e.g. adaptive,yield)"
		IDLE=$2; shift 2 ;;
	--cost) COST=1; shift ;;
	--cost-count) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -ge 100 ] ||
			die "--cost-count wants an integer >= 100"
		COST_COUNT=$2; shift 2 ;;
	--cost-flows) [ $# -ge 2 ] && is_list "$2" || die "--cost-flows wants a list like 1,1000"
		COST_FLOWS=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done

# --cost: one process, no root, no hugepages, no other run.
if [ $COST -eq 1 ]; then
	COSTBIN=$BUILD/test/tools/mn-cost
	[ -x "$COSTBIN" ] || die "$COSTBIN not found or not executable: build it (ninja -C $BUILD)"
	[ -n "$OUT" ] || OUT=$BUILD/bench/cost-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$OUT" || die "cannot create $OUT"
	"$COSTBIN" --flows "$COST_FLOWS" --count "$COST_COUNT" \
		--count64 $((COST_COUNT / 100)) --json "$OUT/cost.json" | tee "$OUT/cost.txt"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || die "mn-cost failed (exit $rc)"
	echo "[bench] cost: $OUT/cost.json" >&2
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (DPDK needs the hugepages and /run/machnet)"
command -v python3 >/dev/null || die "python3 is needed to assemble the results"
command -v pgrep >/dev/null || die "pgrep (procps) is needed to find the msg_gen client's threads"

PINGPONG=$BUILD/apps/tools/mn-pingpong
HICCUP=$BUILD/apps/tools/mn-hiccup
YIELDCHAIN=$BUILD/apps/tools/mn-yieldchain
RAWECHO=$BUILD/apps/tools/mn-rawecho
MACHNETD=$BUILD/primary/machnetd
MSG_GEN=$BUILD/apps/msg_gen/msg_gen
need_bin() {
	[ -x "$1" ] || die "$1 not found or not executable: build it (ninja -C $BUILD)${2:+ or pass $2}"
}
need_bin "$PINGPONG"
need_bin "$HICCUP"
[ $SKIP_FLOOR -eq 1 ] || need_bin "$RAWECHO" --skip-floor
[ $SKIP_FLOOR -eq 1 ] || need_bin "$YIELDCHAIN" --skip-floor
if [ $SKIP_STACK -eq 0 ]; then
	need_bin "$MACHNETD" --skip-stack
	need_bin "$MSG_GEN" --skip-stack
fi

# hugepages: 64 MB per raw-echo process, 512 MB per machnetd (conf/mn-*.conf)
need_mb=0
[ $SKIP_FLOOR -eq 1 ] || need_mb=128
[ $SKIP_STACK -eq 1 ] || need_mb=1024
hp_free=$(mn_hugepages_free_mb)
[ -n "$hp_free" ] || die "no hugepage information in /proc/meminfo"
[ "$hp_free" -ge $need_mb ] ||
	die "needs $need_mb MB of free hugepages, $hp_free MB free (scripts/setup.sh reserves them)"

[ -n "$OUT" ] || OUT=$BUILD/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/logs" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/mn-bench.XXXXXX) || die "mktemp failed"
MANIFEST=$OUT/runs.tsv
: > "$MANIFEST"
ID=$$

log() { echo "[bench] $*" >&2; }

# At exit (scripts/lib/mn.sh stops what was started, newest first: clients
# before the servers they talk to, the memif client (mn-b, raw-echo client)
# before the memif server; then the prefixes are cleaned): the temp dir.
mn_at_exit rm -rf "$TMP"
trap 'exit 130' INT TERM

# start NAME CMD...: CMD in the background, output in OUT/logs/NAME.log; sets PID.
start() {
	mn_spawn "$OUT/logs/$1.log" "${@:2}"
	PID=$MN_PID
}

# wait_exit PID TIMEOUT_S / stop PID SIGNAL TIMEOUT_S: scripts/lib/mn.sh's,
# with the status in RC (124 when it had to be stopped).
wait_exit() {
	mn_wait_exit "$@"
	RC=$MN_RC
}

stop() {
	mn_stop "$@"
	RC=$MN_RC
}

# pingpong FILE: the vCPU mode now, as mn-pingpong's JSON (nothing of ours
# should be polling while it runs).
pingpong() {
	timeout 5 "$PINGPONG" --json > "$1" 2>>"$OUT/logs/pingpong.err" || echo '{"mode": "error"}' > "$1"
}

# record REP TEST SIZE WINDOW JSON PP_BEFORE PP_AFTER RC [CTX_PREFIX]
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" \
		"${9:-}" >> "$MANIFEST"
}

# ctx_snap FILE LABEL:PID...: the time, then for each process one grep of
# its threads' /proc/PID/task/*/status (name, tid, voluntary and
# nonvoluntary context switches so far), each line prefixed with LABEL. One
# grep per process keeps the snapshot short; a thread that is gone is left
# out.
ctx_snap() {
	local file=$1 lp
	shift
	date +%s.%N > "$file"
	for lp in "$@"; do
		grep -H -E '^(Name|Pid|voluntary_ctxt_switches|nonvoluntary_ctxt_switches):' \
			/proc/"${lp#*:}"/task/*/status 2>/dev/null | sed "s/^/${lp%%:*}\t/" >> "$file"
	done
}

# sleep_until T: sleeps until the epoch time T (seconds, fractions allowed).
sleep_until() {
	sleep "$(awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
}

# ctx_window PREFIX CLIENT_LOG CLIENT_PID LABEL:PID...: once the msg_gen
# client has started its clock (its 'requests in' line), snapshots the
# context switches of every thread (the client's msg_gen is CLIENT_PID's
# child: timeout runs it) inside its measured window: after the warm-up
# plus a little, and a while before its end, so that the client is still
# there on a loaded machine (PREFIX.before, PREFIX.after). Sampling points,
# not conditions: the sleeps are the window.
ctx_window() {
	local prefix=$1 clog=$2 cpid=$3 child t0 first last
	shift 3
	mn_wait_log "$clog" 'requests in' 30 "$cpid" || return 1
	t0=$(date +%s.%N)
	child=$(pgrep -P "$cpid" | head -n 1)
	[ -n "$child" ] || return 1
	# msg_gen measures from its warm-up's end to --duration after its start
	read -r first last < <(awk -v t="$t0" -v w="$WARMUP" -v d="$DURATION" 'BEGIN {
		m = d - w; s = m / 8; if (s > 0.3) s = 0.3; e = m / 4; if (e > 0.5) e = 0.5
		printf "%.3f %.3f\n", t + w + s, t + d - e }')
	sleep_until "$first"
	ctx_snap "$prefix.before" "$@" "msg_gen-client:$child"
	sleep_until "$last"
	ctx_snap "$prefix.after" "$@" "msg_gen-client:$child"
}

# floor_run REP SIZE WINDOW
floor_run() {
	local rep=$1 size=$2 win=$3 tag="r$1-floor-s$2-w$3"
	local sock=$TMP/floor.sock pr="mnbench-$ID-$tag-r" pc="mnbench-$ID-$tag-c"
	local rpid limit=$RUN_LIMIT
	mn_prefix "$pr"
	mn_prefix "$pc"
	rm -f "$sock"
	pingpong "$OUT/$tag.pp-before.json"
	start "$tag-reflect" "$RAWECHO" reflect --socket "$sock" --prefix "$pr" \
		--cpu $FLOOR_CPU_REFLECT --once --duration "$limit" \
		--json "$OUT/$tag.reflect.json"
	rpid=$PID
	if ! mn_wait_for 10 "$rpid" test -S "$sock"; then
		log "floor $tag: reflector did not create $sock (see $OUT/logs/$tag-reflect.log)"
		stop "$rpid" TERM 10
		record "$rep" floor "$size" "$win" "" "$OUT/$tag.pp-before.json" "" 1
		return 1
	fi
	start "$tag-client" timeout -s INT "$limit" "$RAWECHO" client --socket "$sock" \
		--prefix "$pc" --cpu $FLOOR_CPU_CLIENT --window "$win" --size "$size" \
		--duration "$DURATION" --warmup "$WARMUP" --json "$OUT/$tag.json"
	wait_exit "$PID" $((limit + 10))
	local crc=$RC
	# the client said bye: the reflector leaves by itself once the link is down
	wait_exit "$rpid" 10
	[ $RC -eq 0 ] || log "floor $tag: reflector exit status $RC"
	pingpong "$OUT/$tag.pp-after.json"
	rm -f "$sock"
	[ $crc -eq 0 ] || log "floor $tag: client exit status $crc (see $OUT/logs/$tag-client.log)"
	record "$rep" floor "$size" "$win" "$OUT/$tag.json" "$OUT/$tag.pp-before.json" \
		"$OUT/$tag.pp-after.json" "$crc"
	log "floor $tag: $(tail -n 1 "$OUT/logs/$tag-client.log")"
	return $crc
}

# chain_run REP SIZE: the scheduling floor at window 1 (mn-yieldchain), its
# four processes on the CPUs of the client, engine B, engine A and the
# server (the first CPU of each list). Without the engines' spin_us: with
# nothing to overlap it only adds (mn-yieldchain --spin-us shows it), so the
# floor is the chain that yields at once.
chain_run() {
	local rep=$1 size=$2 tag="r$1-chain-s$2-w1" crc
	local cpus="${CLIENT_CPUS%%[,-]*},$ENGINE_B,$ENGINE_A,${SERVER_CPUS%%[,-]*}"
	pingpong "$OUT/$tag.pp-before.json"
	timeout "$RUN_LIMIT" \
		"$YIELDCHAIN" --cpus "$cpus" --copy "$size" --duration "$DURATION" \
		--warmup "$WARMUP" --json "$OUT/$tag.json" > "$OUT/logs/$tag.log" 2>&1
	crc=$?
	pingpong "$OUT/$tag.pp-after.json"
	record "$rep" chain "$size" 1 "$OUT/$tag.json" "$OUT/$tag.pp-before.json" \
		"$OUT/$tag.pp-after.json" "$crc"
	log "chain $tag: $(tail -n 1 "$OUT/logs/$tag.log")"
	return $crc
}

# stack_rep REP [POLICY]: two machnetd (their engine.idle set to POLICY when
# given), then every size and window with msg_gen.
stack_rep() {
	local pol=${2:-} sfx=${2:+-$2}
	local rep=$1 ia="mnbench-a-$ID-$1$sfx" ib="mnbench-b-$ID-$1$sfx" sock=$TMP/memif-$1$sfx.sock
	local pa pb ps size win tag limit=$RUN_LIMIT side inst conf fails=0
	local idle_sed=()
	[ -z "$pol" ] || idle_sed=("s/idle[[:space:]]*=[[:space:]]*\"[a-z]*\"/idle = \"$pol\"/")
	mn_prefix "$ia"
	mn_prefix "$ib"
	for side in a b; do
		inst=$ia conf=$CONF_A
		[ $side = b ] && inst=$ib conf=$CONF_B
		mn_conf_rewrite "$conf" "$TMP/$side-$rep$sfx.conf" "$inst" "s#socket=[^,\"]*#socket=$sock#" \
			"${idle_sed[@]}" || die "cannot write $TMP/$side-$rep$sfx.conf"
		[ -z "$pol" ] || grep -q "^[^#]*idle = \"$pol\"" "$TMP/$side-$rep$sfx.conf" ||
			die "--idle: $conf has no 'idle = \"...\"' setting to rewrite"
	done
	rep=$rep$sfx
	rm -f "$sock"
	start "r$rep-machnetd-a" "$MACHNETD" -c "$TMP/a-$rep.conf" --arp-probe 198.18.0.2
	pa=$PID
	mn_wait_log "$OUT/logs/r$rep-machnetd-a.log" 'ready:' 30 "$pa" ||
		die "machnetd A did not become ready (see $OUT/logs/r$rep-machnetd-a.log)"
	start "r$rep-machnetd-b" "$MACHNETD" -c "$TMP/b-$rep.conf" --arp-probe 198.18.0.1
	pb=$PID
	mn_wait_log "$OUT/logs/r$rep-machnetd-b.log" 'ready:' 30 "$pb" ||
		die "machnetd B did not become ready (see $OUT/logs/r$rep-machnetd-b.log)"
	mn_wait_log "$OUT/logs/r$rep-machnetd-b.log" 'arp: 198.18.0.1 is at' 15 "$pb" ||
		die "machnetd B never resolved A over memif (see $OUT/logs/r$rep-machnetd-*.log)"

	for size in ${SIZES//,/ }; do
		tag="r$rep-stack-s$size"
		start "$tag-server" taskset -c "$SERVER_CPUS" "$MSG_GEN" --instance "$ia" --local_ip 198.18.0.1 --msg_size "$size"
		ps=$PID
		if ! mn_wait_log "$OUT/logs/$tag-server.log" 'server listening' 20 "$ps"; then
			log "stack $tag: msg_gen server did not start (see $OUT/logs/$tag-server.log)"
			stop "$ps" INT 10
			for win in ${WINDOWS//,/ }; do
				record "${rep%%-*}" "stack$sfx" "$size" "$win" "" "" "" 1
			done
			fails=$((fails + 1))
			continue
		fi
		for win in ${WINDOWS//,/ }; do
			tag="r$rep-stack-s$size-w$win"
			pingpong "$OUT/$tag.pp-before.json"
			start "$tag-client" timeout -s INT "$limit" taskset -c "$CLIENT_CPUS" \
				"$MSG_GEN" --instance "$ib" \
				--local_ip 198.18.0.2 --remote_ip 198.18.0.1 --msg_size "$size" \
				--msg_window "$win" --duration "$DURATION" --warmup "$WARMUP" \
				--json "$OUT/$tag.json"
			ctx_window "$OUT/$tag.ctx" "$OUT/logs/$tag-client.log" "$PID" \
				"machnetd-a:$pa" "machnetd-b:$pb" "msg_gen-server:$ps" ||
				log "stack $tag: no context switch window"
			wait_exit "$PID" $((limit + 10))
			local crc=$RC
			pingpong "$OUT/$tag.pp-after.json"
			[ $crc -eq 0 ] || { log "stack $tag: msg_gen client exit status $crc (see $OUT/logs/$tag-client.log)"; fails=$((fails + 1)); }
			record "${rep%%-*}" "stack$sfx" "$size" "$win" "$OUT/$tag.json" "$OUT/$tag.pp-before.json" \
				"$OUT/$tag.pp-after.json" "$crc" "$OUT/$tag.ctx"
			log "stack $tag: rc $crc"
		done
		stop "$ps" INT 5
		[ $RC -eq 0 ] || log "stack r$rep-s$size: msg_gen server exit status $RC"
	done
	# memif client (B) first: the server side has crashed when its client left
	stop "$pb" TERM 20
	[ $RC -eq 0 ] || log "stack r$rep: machnetd B exit status $RC"
	stop "$pa" TERM 20
	[ $RC -eq 0 ] || log "stack r$rep: machnetd A exit status $RC"
	rm -f "$sock"
	return $fails
}

if [ -n "$APP_CPUS" ]; then
	SERVER_CPUS=$APP_CPUS
	CLIENT_CPUS=$APP_CPUS
fi
# engine_cpu CONF: the CPU of the config's (first) engine.
engine_cpu() {
	sed -n 's/^[[:space:]]*lcores[[:space:]]*=.*engines[[:space:]]*=[[:space:]]*\[[[:space:]]*\([0-9]*\).*/\1/p' "$1" | head -n 1
}
ENGINE_A=$(engine_cpu "$CONF_A")
ENGINE_B=$(engine_cpu "$CONF_B")
[ -n "$ENGINE_A" ] && [ -n "$ENGINE_B" ] ||
	die "cannot read 'lcores = { ... engines = [N] ... }' from $CONF_A or $CONF_B"

# Longest any one run may take: its measured time and warm-up, plus start-up.
RUN_LIMIT=$(python3 -c "import math; print(math.ceil($DURATION + $WARMUP) + 30)")

log "results in $OUT (reps $REPS, sizes $SIZES, windows $WINDOWS, ${DURATION}s + ${WARMUP}s warm-up)"
failed=0
pingpong "$OUT/start.pp.json"
for ((rep = 1; rep <= REPS; rep++)); do
	timeout 10 "$HICCUP" --cpus 0,1 --duration 1 --json "$OUT/r$rep.hiccup.json" \
		> "$OUT/logs/r$rep-hiccup.log" 2>&1 || log "mn-hiccup failed (see $OUT/logs/r$rep-hiccup.log)"
	if [ $SKIP_FLOOR -eq 0 ]; then
		for size in ${SIZES//,/ }; do
			for win in ${WINDOWS//,/ }; do
				floor_run "$rep" "$size" "$win" || failed=$((failed + 1))
			done
			if [[ ,$WINDOWS, == *,1,* ]]; then
				chain_run "$rep" "$size" || failed=$((failed + 1))
			fi
		done
	fi
	if [ $SKIP_STACK -eq 0 ] && [ -z "$IDLE" ]; then
		stack_rep "$rep" || failed=$((failed + 1))
	elif [ $SKIP_STACK -eq 0 ]; then
		# Alternate the order: neither policy always runs first after
		# the floor, or always on the warmer caches.
		pols=${IDLE//,/ }
		[ $((rep % 2)) -eq 1 ] || pols=$(echo "$pols" | tr ' ' '\n' | tac | tr '\n' ' ')
		for pol in $pols; do
			stack_rep "$rep" "$pol" || failed=$((failed + 1))
		done
	fi
done

# Assemble: one JSON with every run, and the report's table.
MN_BENCH_IDLE=$IDLE python3 - "$MANIFEST" "$OUT" "$REPS" "$DURATION" "$WARMUP" <<'PY'
import json, os, statistics, sys

manifest, out, reps, duration, warmup = sys.argv[1:6]

def load(path):
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError:
        return None

def ctx_read(path):
    try:
        with open(path) as f:
            t = float(f.readline())
            raw = {}
            for l in f:
                # LABEL \t /proc/PID/task/TID/status:Field:\tvalue
                label, rest = l.rstrip("\n").split("\t", 1)
                path, field, value = rest.split(":", 2)
                raw.setdefault((label, path.split("/")[4]), {})[field] = value.strip()
            th = {}
            for key, v in raw.items():
                if "voluntary_ctxt_switches" in v and "nonvoluntary_ctxt_switches" in v:
                    th[key] = (v.get("Name", "?"), int(v["voluntary_ctxt_switches"]),
                               int(v["nonvoluntary_ctxt_switches"]))
            return t, th
    except (OSError, ValueError):
        return None

# Context switches of every thread over the sampled window; per request-reply
# = switches/s over the run's RPC/s.
def ctx_switches(prefix, rpc_per_s):
    b, a = ctx_read(prefix + ".before"), ctx_read(prefix + ".after")
    if not b or not a or a[0] <= b[0]:
        return None
    dt = a[0] - b[0]
    threads, by_proc = [], {}
    for key, (name, vol, nvol) in sorted(a[1].items()):
        if key not in b[1]:
            continue
        dv, dn = vol - b[1][key][1], nvol - b[1][key][2]
        per = (dv + dn) / dt / rpc_per_s if rpc_per_s else None
        threads.append({"proc": key[0], "tid": int(key[1]), "name": name, "voluntary": dv,
                        "nonvoluntary": dn, "per_s": (dv + dn) / dt, "per_rpc": per})
        p = by_proc.setdefault(key[0], {"voluntary": 0, "nonvoluntary": 0})
        p["voluntary"] += dv
        p["nonvoluntary"] += dn
    for p in by_proc.values():
        p["per_s"] = (p["voluntary"] + p["nonvoluntary"]) / dt
        p["per_rpc"] = p["per_s"] / rpc_per_s if rpc_per_s else None
    # the engines: machnetd's lcore threads (rte-worker-*, DPDK's name)
    eng = [t for t in threads if t["name"].startswith("rte-worker")]
    return {"window_s": dt, "threads": threads, "by_proc": by_proc,
            "engine_per_rpc": {t["proc"] + "/" + t["name"]: t["per_rpc"] for t in eng},
            "rpc_per_engine_switch": {t["proc"] + "/" + t["name"]:
                                      (1 / t["per_rpc"] if t["per_rpc"] else None) for t in eng}}

def mode_of(pp):
    return pp.get("mode", "error") if pp else "none"

runs = []
with open(manifest) as f:
    for line in f:
        rep, test, size, win, res, ppb, ppa, rc, ctx = line.rstrip("\n").split("\t")
        r = load(res)
        b, a = load(ppb), load(ppa)
        mb, ma = mode_of(b), mode_of(a)
        run = {"rep": int(rep), "test": test, "size": int(size), "window": int(win),
               "exit_status": int(rc), "result": r, "pingpong_before": b,
               "pingpong_after": a,
               "vcpu_mode": mb if mb == ma or ma == "none" else mb + ">" + ma}
        if r and test == "chain":
            run["p50_us"], run["p99_us"], run["p999_us"] = r.get("p50_us"), r.get("p99_us"), r.get("p999_us")
            run["rpc_per_s"] = r.get("rtt_per_s")
        elif r:
            rt = r.get("rtt_us", {})
            run["p50_us"], run["p99_us"], run["p999_us"] = rt.get("p50"), rt.get("p99"), rt.get("p999")
            run["rpc_per_s"] = r.get("frames_per_s") if test == "floor" else r.get("rpc_per_s")
        if ctx:
            run["ctx_switches"] = ctx_switches(ctx, run.get("rpc_per_s"))
        runs.append(run)

floor = {(r["rep"], r["size"], r["window"]): r for r in runs
         if r["test"] == "floor" and r.get("p50_us")}
chain = {(r["rep"], r["size"]): r for r in runs if r["test"] == "chain" and r.get("p50_us")}
for r in runs:
    ch = chain.get((r["rep"], r["size"]))
    if ch and r["test"].startswith("stack") and r["window"] == 1 and r.get("p50_us"):
        r["chain_p50_us"] = ch["p50_us"]
    fl = floor.get((r["rep"], r["size"], r["window"]))
    if fl and r.get("p50_us"):
        r["floor_p50_us"] = fl["p50_us"]
        r["ratio"] = r["p50_us"] / fl["p50_us"]
        if r.get("rpc_per_s") and fl.get("rpc_per_s"):
            r["rpc_ratio"] = r["rpc_per_s"] / fl["rpc_per_s"]

def name(test, win):
    kind = "Latency" if win == 1 else "Throughput"
    if test.startswith("stack-"):   # --idle: the policy it ran with
        return "machnet-mp (%s) %s" % (test[6:], kind)
    return {"floor": "floor (raw memif) ", "chain": "scheduling floor (yield chain) "}.get(
        test, "machnet-mp ") + kind

def us(v):
    return "-" if v is None else ("%.2f us" % v if v < 10 else "%.1f us" % v)

def rate(v):
    return "-" if v is None else "{:,.0f}".format(v)

def ratio(v):
    return "-" if v is None else "%.2fx" % v

def cs(r):
    c = r.get("ctx_switches")
    if not c:
        return "-"
    short = {"machnetd-a": "A", "machnetd-b": "B", "msg_gen-server": "srv", "msg_gen-client": "cli"}
    return " ".join("%s %.2f" % (short.get(p, p), v["per_rpc"])
                    for p, v in sorted(c["by_proc"].items()) if v.get("per_rpc") is not None)

hdr = ("| Test | size | window | rep | P50 | P99 | P99.9 | RPC/s | floor P50 | ratio | ctx sw/RPC | vCPU mode |\n"
       "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
rows = []
for r in runs:
    if not r.get("p50_us"):
        rows.append("| %s | %d | %d | %d | failed (exit %d) | | | | | | | %s |" % (
            name(r["test"], r["window"]), r["size"], r["window"], r["rep"],
            r["exit_status"], r["vcpu_mode"]))
        continue
    rows.append("| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        name(r["test"], r["window"]), r["size"], r["window"], r["rep"], us(r["p50_us"]),
        us(r["p99_us"]), us(r["p999_us"]), rate(r["rpc_per_s"]), us(r.get("floor_p50_us")),
        ratio(r.get("ratio")), cs(r), r["vcpu_mode"]))

# medians over the repetitions taken in one and the same mode
groups = {}
for r in runs:
    if r.get("p50_us") and r["vcpu_mode"] in ("fast", "slow"):
        groups.setdefault((r["test"], r["size"], r["window"], r["vcpu_mode"]), []).append(r)
med_hdr = ("| Test | size | window | runs | P50 | P99 | P99.9 | RPC/s | floor P50 | ratio | vCPU mode |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n")
med_rows, summary = [], []
for key in sorted(groups, key=lambda k: (k[1], k[2], k[3], k[0])):
    g = groups[key]
    m = lambda f: statistics.median([x[f] for x in g if x.get(f) is not None]) \
        if any(x.get(f) is not None for x in g) else None
    s = {"test": key[0], "size": key[1], "window": key[2], "vcpu_mode": key[3], "runs": len(g),
         "p50_us": m("p50_us"), "p99_us": m("p99_us"), "p999_us": m("p999_us"),
         "rpc_per_s": m("rpc_per_s"), "floor_p50_us": m("floor_p50_us"), "ratio": m("ratio"),
         "chain_p50_us": m("chain_p50_us")}
    summary.append(s)
    med_rows.append("| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |" % (
        name(key[0], key[2]), key[1], key[2], len(g), us(s["p50_us"]), us(s["p99_us"]),
        us(s["p999_us"]), rate(s["rpc_per_s"]), us(s["floor_p50_us"]), ratio(s["ratio"]), key[3]))

# --idle: each policy's medians against the last policy's, per size, window
# and vCPU mode (only medians taken in one and the same mode compare)
idle = [p for p in os.environ.get("MN_BENCH_IDLE", "").split(",") if p]
idle_lines = []
if len(idle) > 1:
    base = idle[-1]
    med = {(s["test"], s["size"], s["window"], s["vcpu_mode"]): s for s in summary}
    pct = lambda a, b: "-" if a is None or not b else "%+.1f%%" % (100.0 * (a - b) / b)
    for (test, size, win, mode), s in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][3], kv[0][0])):
        b = med.get(("stack-" + base, size, win, mode))
        if not test.startswith("stack-") or test == "stack-" + base or not b:
            continue
        idle_lines.append("| %s vs %s | %d | %d | %s | %d / %d | %s vs %s (%s) | %s vs %s (%s) |" % (
            test[6:], base, size, win, mode, s["runs"], b["runs"], us(s["p50_us"]), us(b["p50_us"]),
            pct(s["p50_us"], b["p50_us"]), rate(s["rpc_per_s"]), rate(b["rpc_per_s"]),
            pct(s["rpc_per_s"], b["rpc_per_s"])))

hiccup = {}
for rep in range(1, int(reps) + 1):
    h = load(os.path.join(out, "r%d.hiccup.json" % rep))
    if h:
        hiccup[rep] = h
stall_lines = []
for rep, h in sorted(hiccup.items()):
    stall_lines.append("rep %d: " % rep + ", ".join(
        "CPU %d %.0f stalls/s (%d of 10-50 us), longest %.0f us, %.2f%% lost" % (
            c["cpu"], c["stalls_per_s"], c["buckets_us"]["10_20"] + c["buckets_us"]["20_50"],
            c["max_us"], c["lost_pct"]) for c in h["cpus"]))

# every thread that switched, per stack run
cs_lines = []
for r in runs:
    c = r.get("ctx_switches")
    if not c:
        continue
    th = ", ".join("%s/%s %.2f (%d+%d)" % (t["proc"], t["name"], t["per_rpc"] or 0, t["voluntary"],
                                          t["nonvoluntary"])
                   for t in c["threads"] if t["voluntary"] + t["nonvoluntary"] > 0)
    cs_lines.append("rep %d%s, size %d, window %d (%.2f s): %s" % (
        r["rep"], " " + r["test"][6:] if r["test"].startswith("stack-") else "", r["size"],
        r["window"], c["window_s"], th))

table = "Every run (ctx sw/RPC: context switches per request-reply of every thread of machnetd A,"
table += " B, the msg_gen client and server, summed per process):\n\n" + hdr + "\n".join(rows) + "\n"
table += "\nMedians over the runs taken in one vCPU mode:\n\n" + med_hdr + "\n".join(med_rows) + "\n"
if idle_lines:
    table += ("\nIdle policies (--idle), medians of one vCPU mode against the last policy's"
              " (P50: lower is better; RPC/s: higher is better):\n\n"
              "| policies | size | window | vCPU mode | runs | P50 | RPC/s |\n"
              "|---|---|---|---|---|---|---|\n" + "\n".join(idle_lines) + "\n")
if cs_lines:
    table += ("\nContext switches per request-reply of every thread that switched (voluntary +"
              " nonvoluntary in the window):\n\n" + "\n".join("- " + l for l in cs_lines) + "\n")
if stall_lines:
    table += ("\nCPU stalls of >= 5 us seen by a thread that never yields (mn-hiccup, 1 s at the"
              " start of each repetition):\n\n" + "\n".join("- " + l for l in stall_lines) + "\n")
print(table)
with open(os.path.join(out, "table.md"), "w") as f:
    f.write(table)
with open(os.path.join(out, "bench.json"), "w") as f:
    json.dump({"reps": int(reps), "duration_s": float(duration), "warmup_s": float(warmup),
               "start_pingpong": load(os.path.join(out, "start.pp.json")),
               "runs": runs, "medians_by_mode": summary,
               "hiccup": {str(k): v for k, v in hiccup.items()}}, f, indent=2)
    f.write("\n")
PY
[ $? -eq 0 ] || { log "assembling the results failed"; failed=$((failed + 1)); }
log "table: $OUT/table.md, all results: $OUT/bench.json"
[ $failed -eq 0 ] || { log "$failed run(s) failed"; exit 1; }
exit 0
