#!/usr/bin/env bash
# bench_engines.sh: request-reply rate and CPU time per RPC with one and two
# engines per stack, between two machnetd over memif (issue 15's engines
# benchmark). On 2 CPUs the rate cannot double with a second engine: the
# figures are the CPU cost per RPC and the share of frames steered between
# engines.
#
#   scripts/bench_engines.sh [--engines 1,2,2x] [--window W] [--flows F]
#                            [--size B] [--duration S] [--reps N]
#                            [--out DIR] [--build DIR]
#
# Each engine setting and repetition starts two machnetd (conf/mn-a.conf,
# conf/mn-b.conf with unique instance names and a private memif socket;
# 2 engines: lcores.engines = [0, 1] on both, and memif then has 2 queue
# pairs), two msg_gen servers on A (ports P, P+1; pinned to CPU 1) and two
# msg_gen clients on B (pinned to CPU 0), client k to server k, each with
# F/2 flows and W/2 requests in flight: the same four apps whatever the
# engine count, so that only the stacks differ. With 2 engines each server
# and client asks for engine k (msg_gen --engine k):
#   2   client k to the server on engine k: each flow lives on the same
#       engine index at both ends, and frames arrive on the queue of the
#       engine that owns them (little steering);
#   2x  client k (engine k) to the server on engine 1-k: every frame arrives
#       on the queue of the engine that does not own its flow and is steered
#       (mn_steer), on both stacks: the worst case.
# The clients run --duration S after a 1 s warm-up; inside that window the
# script reads utime+stime of every thread of both machnetd and the four
# apps (/proc/PID/task/*/stat) and the telemetry counters steered_in,
# steered_out (/machnet/stats) and rx_frames (/machnet/proto) of both
# stacks, twice. From the deltas:
#   CPU s per million RPCs: stack (both machnetd, every thread), total
#       (stacks + the four apps); the JSON has each machnetd thread's share;
#   steered: steered_out / frames from the link, where frames from the link
#       = rx_frames - steered_in + steered_out (rx_frames counts what each
#       engine's proto took in, steered-in frames included).
# mn-pingpong runs right before and right after every run (the vCPU mode:
# fast, slow, or before>after when it flipped; scripts/bench.sh says why).
#
# Output: the table on stdout and in OUT/table.md, everything in
# OUT/bench_engines.json, logs in OUT/logs/. Needs root (hugepages).
# Processes and waits are scripts/lib/mn.sh's: bounded, killed by PID at
# exit.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
MN_LOG_TAG=bench_engines
. "$top/scripts/lib/mn.sh"
ENGINES=1,2,2x
WINDOW=32
FLOWS=8
SIZE=64
DURATION=5
WARMUP=1
REPS=1
OUT=
BUILD=$top/build
PORT=7400

usage() {
	awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	cat <<USAGE
Options:
  --engines LIST   engine settings, comma separated: 1, 2 or 2x (default $ENGINES)
  --window W       requests in flight over both clients, even (default $WINDOW)
  --flows F        flows over both clients, even (default $FLOWS)
  --size B         request and reply size in bytes, 24..1400 (default $SIZE)
  --duration S     measured seconds per run (default $DURATION)
  --reps N         repetitions, each on fresh stacks (default $REPS)
  --out DIR        results directory (default BUILD/bench/engines-<date-time>)
  --build DIR      meson build directory with the binaries (default build)
  -h, --help       this text
USAGE
}

die() {
	echo "bench_engines.sh: $*" >&2
	exit 1
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
is_even() { is_uint "$1" && [ $(($1 % 2)) -eq 0 ]; }

while [ $# -gt 0 ]; do
	case "$1" in
	--engines) [ $# -ge 2 ] && [[ $2 =~ ^(1|2|2x)(,(1|2|2x))*$ ]] || die "--engines wants a list of 1, 2, 2x"
		ENGINES=$2; shift 2 ;;
	--window) [ $# -ge 2 ] && is_even "$2" || die "--window wants an even integer"
		WINDOW=$2; shift 2 ;;
	--flows) [ $# -ge 2 ] && is_even "$2" && [ "$2" -le 512 ] || die "--flows wants an even integer <= 512"
		FLOWS=$2; shift 2 ;;
	--size) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -ge 24 ] && [ "$2" -le 1400 ] || die "--size wants 24..1400"
		SIZE=$2; shift 2 ;;
	--duration) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -ge 2 ] || die "--duration wants whole seconds >= 2"
		DURATION=$2; shift 2 ;;
	--reps) [ $# -ge 2 ] && is_uint "$2" || die "--reps wants a positive integer"
		REPS=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || die "--out wants a directory"
		OUT=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || die "--build wants a directory"
		BUILD=$(cd "$2" 2>/dev/null && pwd) || die "no build directory '$2'"
		shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done

command -v dpdk-telemetry.py >/dev/null || die "dpdk-telemetry.py is needed for the steering counters"
MACHNETD=$BUILD/primary/machnetd
MSG_GEN=$BUILD/apps/msg_gen/msg_gen
PINGPONG=$BUILD/apps/tools/mn-pingpong
mn_bench_begin engines "$MACHNETD" "$MSG_GEN" "$PINGPONG"
ID=$$
LIMIT=$((DURATION + WARMUP + 60))

log() { echo "[bench_engines] $*" >&2; }
pingpong() {
	timeout 5 "$PINGPONG" --json > "$1" 2>>"$OUT/logs/pingpong.err" || echo '{"mode": "error"}' > "$1"
}

# ticks FILE LABEL:PID...: the time, then every thread's stat line of each
# process, prefixed with its label (a thread that is gone is left out).
ticks() {
	local file=$1 lp f
	shift
	date +%s.%N > "$file"
	for lp in "$@"; do
		for f in /proc/"${lp#*:}"/task/*/stat; do
			{ read -r line < "$f" && printf '%s\t%s\n' "${lp%%:*}" "$line"; } 2>/dev/null
		done >> "$file"
	done
}

# counters FILE INSTANCE...: the telemetry of each stack, INSTANCE<tab>key=value.
counters() {
	local file=$1 i
	shift
	: > "$file"
	for i in "$@"; do
		mn_tel "$i" /machnet/stats /machnet/proto | sed "s/^/$i\t/" >> "$file"
	done
}

sleep_until() {
	sleep "$(awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
}

# run REP SETTING: two fresh stacks, four apps, one measured window.
run() {
	local rep=$1 set=$2 tag="r$1-e$2" ia="mneng-a-$ID-$1-$2" ib="mneng-b-$ID-$1-$2"
	local sock=$TMP/memif-$tag.sock side conf inst eng=() pa pb k rc=0 t0 first last
	local srv=() cli=() sp sc e_srv e_cli
	mn_prefix "$ia"
	mn_prefix "$ib"
	[ "$set" = 1 ] || eng=('s/engines = \[[0-9]*\]/engines = [0, 1]/')
	for side in a b; do
		inst=$ia conf=$top/conf/mn-a.conf
		[ $side = b ] && inst=$ib conf=$top/conf/mn-b.conf
		mn_conf_rewrite "$conf" "$TMP/$side-$tag.conf" "$inst" "s#socket=[^,\"]*#socket=$sock#" \
			"${eng[@]}" || die "cannot write $TMP/$side-$tag.conf"
	done
	[ "$set" = 1 ] || grep -q 'engines = \[0, 1\]' "$TMP/a-$tag.conf" ||
		die "conf/mn-a.conf has no 'engines = [N]' to rewrite"
	rm -f "$sock"
	mn_spawn "$OUT/logs/$tag-machnetd-a.log" "$MACHNETD" -c "$TMP/a-$tag.conf" --arp-probe 198.18.0.2
	pa=$MN_PID
	mn_wait_log "$OUT/logs/$tag-machnetd-a.log" 'ready:' 30 "$pa" || die "machnetd A did not start ($tag)"
	mn_spawn "$OUT/logs/$tag-machnetd-b.log" "$MACHNETD" -c "$TMP/b-$tag.conf" --arp-probe 198.18.0.1
	pb=$MN_PID
	mn_wait_log "$OUT/logs/$tag-machnetd-b.log" 'ready:' 30 "$pb" || die "machnetd B did not start ($tag)"
	mn_wait_log "$OUT/logs/$tag-machnetd-b.log" 'arp: 198.18.0.1 is at' 15 "$pb" ||
		die "machnetd B never resolved A over memif ($tag)"
	for k in 0 1; do
		e_srv=()
		[ "$set" = 1 ] || e_srv=(--engine "$k")
		mn_spawn "$OUT/logs/$tag-server$k.log" taskset -c 1 "$MSG_GEN" --instance "$ia" \
			--local_ip 198.18.0.1 --local_port $((PORT + k)) --msg_size "$SIZE" "${e_srv[@]}"
		srv+=("$MN_PID")
	done
	for k in 0 1; do
		mn_wait_log "$OUT/logs/$tag-server$k.log" 'server listening' 20 "${srv[k]}" ||
			die "msg_gen server $k did not start ($tag)"
	done
	pingpong "$OUT/$tag.pp-before.json"
	for k in 0 1; do
		e_cli=() sp=$((PORT + k))
		[ "$set" = 1 ] || e_cli=(--engine "$k")
		[ "$set" = 2x ] && sp=$((PORT + 1 - k))
		mn_spawn "$OUT/logs/$tag-client$k.log" taskset -c 0 "$MSG_GEN" --instance "$ib" \
			--local_ip 198.18.0.2 --remote_ip 198.18.0.1 --remote_port "$sp" --msg_size "$SIZE" \
			--flows $((FLOWS / 2)) --msg_window $((WINDOW / 2)) --duration $((DURATION + WARMUP)) \
			--warmup $WARMUP --json "$OUT/$tag-client$k.json" "${e_cli[@]}"
		cli+=("$MN_PID")
	done
	for k in 0 1; do
		mn_wait_log "$OUT/logs/$tag-client$k.log" 'requests in' 30 "${cli[k]}" ||
			{ rc=1; log "$tag: client $k did not start (see $OUT/logs/$tag-client$k.log)"; }
	done
	if [ $rc -eq 0 ]; then
		# Sampling points inside the clients' measured window, not conditions.
		t0=$(date +%s.%N)
		read -r first last < <(awk -v t="$t0" -v w="$WARMUP" -v d="$DURATION" \
			'BEGIN { printf "%.3f %.3f\n", t + w + 0.2, t + w + d - 0.6 }')
		sleep_until "$first"
		counters "$OUT/$tag.tel-before" "$ia" "$ib"
		ticks "$OUT/$tag.ticks-before" "A:$pa" "B:$pb" "srv0:${srv[0]}" "srv1:${srv[1]}" \
			"cli0:${cli[0]}" "cli1:${cli[1]}"
		sleep_until "$last"
		ticks "$OUT/$tag.ticks-after" "A:$pa" "B:$pb" "srv0:${srv[0]}" "srv1:${srv[1]}" \
			"cli0:${cli[0]}" "cli1:${cli[1]}"
		counters "$OUT/$tag.tel-after" "$ia" "$ib"
	fi
	for k in 0 1; do
		mn_wait_exit "${cli[k]}" $LIMIT
		[ "$MN_RC" -eq 0 ] || { rc=1; log "$tag: client $k exit status $MN_RC (see $OUT/logs/$tag-client$k.log)"; }
	done
	pingpong "$OUT/$tag.pp-after.json"
	for k in 0 1; do
		mn_stop "${srv[k]}" INT 10
	done
	mn_stop "$pb" TERM 20
	mn_stop "$pa" TERM 20
	rm -f "$sock"
	printf '%s\t%s\t%s\t%s\n' "$rep" "$set" "$rc" "$tag" >> "$MANIFEST"
	log "$tag: rc $rc, $(grep -ho '"rpc_per_s": [0-9.]*' "$OUT/$tag"-client*.json 2>/dev/null | tr '\n' ' ')"
}

log "results in $OUT (engines $ENGINES, window $WINDOW, $FLOWS flows, ${SIZE} B, ${DURATION} s, $REPS rep(s))"
for ((r = 1; r <= REPS; r++)); do
	for e in ${ENGINES//,/ }; do
		run "$r" "$e"
	done
done

python3 - "$OUT" "$WINDOW" "$FLOWS" "$SIZE" "$DURATION" "$(getconf CLK_TCK)" <<'PY'
import json, os, statistics, sys
out, window, flows, size, duration, hz = sys.argv[1], *map(int, sys.argv[2:])
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return None
def ticks(p):
    """label -> {tid: (comm, ticks)}, and the time."""
    with open(p) as f:
        t = float(f.readline())
        d = {}
        for line in f:
            label, st = line.rstrip("\n").split("\t", 1)
            comm = st[st.index("(") + 1:st.rindex(")")]
            rest = st[st.rindex(")") + 2:].split()
            # fields 14 and 15 (utime, stime); rest starts at field 3
            d.setdefault(label, {})[int(st.split()[0])] = (comm, int(rest[11]) + int(rest[12]))
    return t, d
def tel(p):
    d = {}
    for line in open(p):
        inst, kv = line.rstrip("\n").split("\t", 1)
        k, v = kv.split("=", 1)
        try:
            d.setdefault(inst, {})[k] = int(v)
        except ValueError:
            pass
    return d
runs = []
for line in open(os.path.join(out, "runs.tsv")):
    rep, eng, rc, tag = line.rstrip("\n").split("\t")
    p = lambda s: os.path.join(out, tag + s)
    b, a = load(p(".pp-before.json")) or {"mode": "none"}, load(p(".pp-after.json")) or {"mode": "none"}
    mb, ma = b.get("mode", "none"), a.get("mode", "none")
    r = {"rep": int(rep), "engines": eng, "exit_status": int(rc),
         "vcpu_mode": mb if mb == ma else mb + ">" + ma, "pingpong_before": b, "pingpong_after": a}
    cl = [load(p("-client%d.json" % k)) for k in (0, 1)]
    r["clients"] = cl
    ok = int(rc) == 0 and all(cl) and os.path.exists(p(".ticks-after"))
    if ok:
        r["rpc_per_s"] = sum(c["rpc_per_s"] for c in cl)
        r["p50_us"] = [c["rtt_us"]["p50"] for c in cl]
        r["lost"] = sum(c["lost"] for c in cl)
        t0, d0 = ticks(p(".ticks-before"))
        t1, d1 = ticks(p(".ticks-after"))
        dt = t1 - t0
        cpu, threads = {}, {}
        for label, th in d1.items():
            s = 0
            for tid, (comm, tk) in th.items():
                x = tk - d0.get(label, {}).get(tid, (comm, 0))[1]
                s += x
                if label in ("A", "B") and x:
                    threads["%s:%s" % (label, comm)] = threads.get("%s:%s" % (label, comm), 0) + x / hz
            cpu[label] = s / hz
        rpcs = r["rpc_per_s"] * dt
        stack = cpu["A"] + cpu["B"]
        total = sum(cpu.values())
        r.update({"window_s": round(dt, 3), "cpu_s": cpu, "machnetd_threads_cpu_s": threads,
                  "cpu_share_of_2_cpus": total / dt / 2,
                  "stack_cpu_s_per_mrpc": stack / rpcs * 1e6,
                  "total_cpu_s_per_mrpc": total / rpcs * 1e6})
        t0, t1 = tel(p(".tel-before")), tel(p(".tel-after"))
        st = {}
        for inst in t1:
            dd = {k: t1[inst].get(k, 0) - t0.get(inst, {}).get(k, 0)
                  for k in ("rx_frames", "steered_in", "steered_out", "steer_drop", "steer_full")}
            link = dd["rx_frames"] - dd["steered_in"] + dd["steered_out"]
            dd["link_frames"] = link
            dd["steered_share"] = dd["steered_out"] / link if link > 0 else None
            st["A" if "-a-" in inst else "B"] = dd
        r["steering"] = st
        sin = sum(v["steered_out"] for v in st.values())
        lk = sum(v["link_frames"] for v in st.values())
        r["steered_share"] = sin / lk if lk else None
    else:
        r["rpc_per_s"] = None
    runs.append(r)
def f(v, fmt):
    return fmt % v if v is not None else "-"
lines = ["| rep | engines | RPC/s | stack CPU s / M RPC | total CPU s / M RPC | CPU used (of 2) | steered (A/B) | vCPU mode |",
         "|---|---|---|---|---|---|---|---|"]
for r in runs:
    if r["rpc_per_s"] is None:
        lines.append("| %d | %s | fail | - | - | - | - | %s |" % (r["rep"], r["engines"], r["vcpu_mode"]))
        continue
    s = r["steering"]
    lines.append("| %d | %s | %.0f | %.2f | %.2f | %.0f%% | %s/%s | %s |" % (
        r["rep"], r["engines"], r["rpc_per_s"], r["stack_cpu_s_per_mrpc"], r["total_cpu_s_per_mrpc"],
        100 * r["cpu_share_of_2_cpus"], f(100 * s["A"]["steered_share"] if s.get("A", {}).get("steered_share") is not None else None, "%.1f%%"),
        f(100 * s["B"]["steered_share"] if s.get("B", {}).get("steered_share") is not None else None, "%.1f%%"), r["vcpu_mode"]))
summ = []
groups = {}
for r in runs:
    if r["rpc_per_s"] is not None:
        groups.setdefault((r["engines"], r["vcpu_mode"]), []).append(r)
if groups:
    lines += ["", "Medians per engine setting and vCPU mode:", "",
              "| engines | vCPU mode | runs | RPC/s | stack CPU s / M RPC | total CPU s / M RPC | steered |",
              "|---|---|---|---|---|---|---|"]
    for (e, m), g in sorted(groups.items()):
        med = lambda k: statistics.median(x[k] for x in g if x.get(k) is not None) if any(x.get(k) is not None for x in g) else None
        s = {"engines": e, "vcpu_mode": m, "runs": len(g), "rpc_per_s": med("rpc_per_s"),
             "stack_cpu_s_per_mrpc": med("stack_cpu_s_per_mrpc"), "total_cpu_s_per_mrpc": med("total_cpu_s_per_mrpc"),
             "steered_share": med("steered_share")}
        summ.append(s)
        lines.append("| %s | %s | %d | %.0f | %.2f | %.2f | %s |" % (e, m, len(g), s["rpc_per_s"],
                     s["stack_cpu_s_per_mrpc"], s["total_cpu_s_per_mrpc"],
                     f(100 * s["steered_share"] if s["steered_share"] is not None else None, "%.1f%%")))
table = "\n".join(lines) + "\n"
open(os.path.join(out, "table.md"), "w").write(table)
json.dump({"window": window, "flows": flows, "size": size, "duration_s": duration, "clk_tck": hz,
           "runs": runs, "summary": summ}, open(os.path.join(out, "bench_engines.json"), "w"), indent=1)
print(table, end="")
PY
