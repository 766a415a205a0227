#!/usr/bin/env bash
# bench_scale.sh: request-reply rate with many concurrent flows between two
# machnetd stacks over memif (issue 15's flows benchmark), as a ratio to one
# flow, with the vCPU mode of each run and the memory per idle flow.
#
#   scripts/bench_scale.sh [--flows 1,100,...] [--window W] [--size B]
#                          [--duration S] [--reps N] [--out DIR] [--build DIR]
#   scripts/bench_scale.sh --connrate N [--connrate-step S] [--churn-par P]
#                          [--size B] [--reps N] [--out DIR] [--build DIR]
#
# Each repetition starts two machnetd (conf/mn-a.conf, conf/mn-b.conf with
# unique instance names, a private memif socket, transport.max_flows 131072,
# apps.max_flows 65536), an epoll_echo server on each, then for every flow
# count N, one after the other on the same stacks:
#   - epoll_echo clients open N flows (machnet_connect, one at a time), send
#     one verified request-reply on each, then for --duration keep --window
#     requests in flight, flow after flow, every reply checked whole
#     (apps/epoll_echo --load-ms); up to 50,000 flows one client on B
#     (pinned to CPU 0, the server on A to CPU 1, as scripts/bench.sh pins
#     msg_gen); above, the source ports of one address run out (64,512), so
#     two clients of N/2 flows, one each way, each with half the window, and
#     their rates add up;
#   - the clients then hold the flows open and idle while machnetd's VmRSS
#     and pool_in_use of both stacks are read; then close them all.
# mn-pingpong runs right before and right after every run (the vCPU mode:
# fast, slow, or before>after when it flipped; scripts/bench.sh says why).
# The memory per idle flow: (VmRSS at N flows - VmRSS before the first
# run) / N of each stack, with N its largest run (flow entries are taken
# as needed and reused, never returned: RSS only grows).
#
# --connrate N (the connection-rate benchmark of issue 15) runs, on the same
# two stacks, instead of the flow counts: N flows from B to A's server, each
# connected, used for one verified request-reply and closed (epoll_echo
# --churn, --churn-par flows at once, one thread and channel each; the
# client on CPU 0), as clients of --connrate-step flows one after the
# other. Before the first and after each, machnetd's VmRSS and the flows,
# app_flows and pool_in_use counters of both stacks are read (after the
# flows have ended: bounded wait for flows back at the start value), so the
# table shows whether each is back at its start after N flows.
#
# Output: the table on stdout and in OUT/table.md, everything in
# OUT/bench_scale.json, logs in OUT/logs/. Needs root (hugepages). Processes
# and waits are scripts/lib/mn.sh's: bounded, killed by PID at exit.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
MN_LOG_TAG=bench_scale
. "$top/scripts/lib/mn.sh"
FLOWS=1,100,1000,10000,100000
WINDOW=32
SIZE=64
DURATION=5
REPS=1
OUT=
BUILD=$top/build
PORT=7200
HALF_MAX=50000	# flows one client opens at most (one address's source ports)
CONNRATE=
STEP=100000
PAR=4

usage() {
	awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	cat <<USAGE
Options:
  --flows LIST     concurrent flow counts, comma separated (default $FLOWS; at most 100000)
  --window W       requests in flight (default $WINDOW)
  --size B         request and reply size in bytes, 16..65536 (default $SIZE)
  --duration S     seconds of load per flow count (default $DURATION)
  --reps N         repetitions, each on fresh stacks (default $REPS)
  --out DIR        results directory (default BUILD/bench/scale-<date-time>)
  --build DIR      meson build directory with the binaries (default build)
  --connrate N     connection rate instead: N flows (connect, one request-reply,
                   close) from B to A, and RSS / counters before and after
  --connrate-step S  flows per churn client (a measurement point each; default $STEP)
  --churn-par P    churn flows at once, 1..64 (default $PAR)
  -h, --help       this text
USAGE
}

die() {
	echo "bench_scale.sh: $*" >&2
	exit 1
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }

while [ $# -gt 0 ]; do
	case "$1" in
	--flows) [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--flows wants a list like 1,100"
		FLOWS=$2; shift 2 ;;
	--window) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -ge 2 ] || die "--window wants an integer >= 2"
		WINDOW=$2; shift 2 ;;
	--size) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -ge 16 ] && [ "$2" -le 65536 ] ||
			die "--size wants 16..65536"
		SIZE=$2; shift 2 ;;
	--duration) [ $# -ge 2 ] && is_uint "$2" || die "--duration wants whole seconds"
		DURATION=$2; shift 2 ;;
	--reps) [ $# -ge 2 ] && is_uint "$2" || die "--reps wants a positive integer"
		REPS=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || die "--out wants a directory"
		OUT=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || die "--build wants a directory"
		BUILD=$(cd "$2" 2>/dev/null && pwd) || die "no build directory '$2'"
		shift 2 ;;
	--connrate) [ $# -ge 2 ] && is_uint "$2" || die "--connrate wants a number of flows"
		CONNRATE=$2; shift 2 ;;
	--connrate-step) [ $# -ge 2 ] && is_uint "$2" || die "--connrate-step wants a number of flows"
		STEP=$2; shift 2 ;;
	--churn-par) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -le 64 ] || die "--churn-par wants 1..64"
		PAR=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done
for n in ${FLOWS//,/ }; do
	[ "$n" -ge 1 ] && [ "$n" -le $((2 * HALF_MAX)) ] || die "--flows: $n is not in 1..$((2 * HALF_MAX))"
done

MACHNETD=$BUILD/primary/machnetd
ECHO=$BUILD/apps/epoll_echo/epoll_echo
PINGPONG=$BUILD/apps/tools/mn-pingpong
mn_bench_begin scale "$MACHNETD" "$ECHO" "$PINGPONG"
: > "$OUT/connrate.tsv"
ID=$$
# glibc's MALLOC_PERTURB_ (meson sets it) writes every page of the flow
# tables at start: the memory per flow is measured as machnetd runs.
unset MALLOC_PERTURB_

log() { echo "[bench_scale] $*" >&2; }
pingpong() {
	timeout 5 "$PINGPONG" --json > "$1" 2>>"$OUT/logs/pingpong.err" || echo '{"mode": "error"}' > "$1"
}
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# run REP N PA PB IA IB: one flow count on the running stacks; one line of
# the manifest.
run() {
	local rep=$1 n=$2 pa=$3 pb=$4 ia=$5 ib=$6 tag="r$1-f$2" ncli=1 per=$2 win=$WINDOW
	local pids=() logs=() i rc=0 lim=$((DURATION + 120)) ra rb pla plb
	if [ "$n" -gt $HALF_MAX ]; then
		ncli=2 per=$((n / 2)) win=$((WINDOW / 2))
	fi
	pingpong "$OUT/$tag.pp-before.json"
	for ((i = 0; i < ncli; i++)); do
		# client 0: an app of B to A's server (CPU 0); client 1: the other way (CPU 1)
		local inst=$ib lip=198.18.0.2 rip=198.18.0.1 cpu=0
		[ $i -eq 1 ] && inst=$ia lip=198.18.0.1 rip=198.18.0.2 cpu=1
		mn_spawn "$OUT/logs/$tag-c$i.log" env MACHNET_INSTANCE="$inst" \
			taskset -c $cpu "$ECHO" --local $lip --remote $rip --port $PORT --flows "$per" \
			--size "$SIZE" --window "$win" --load-ms $((DURATION * 1000)) --timeout 60000 \
			--hold $((lim * 1000)) --close
		pids+=("$MN_PID")
		logs+=("$OUT/logs/$tag-c$i.log")
	done
	for ((i = 0; i < ncli; i++)); do
		mn_wait_log "${logs[i]}" 'holding' $lim "${pids[i]}" || { rc=1; log "$tag: client $i did not finish its load (see ${logs[i]})"; }
	done
	ra=$(rss "$pa") rb=$(rss "$pb")
	pla=$(mn_tel_get "$ia" /machnet/stats pool_in_use) plb=$(mn_tel_get "$ib" /machnet/stats pool_in_use)
	for ((i = 0; i < ncli; i++)); do
		kill -USR1 "${pids[i]}" 2>/dev/null
		mn_wait_exit "${pids[i]}" $lim
		[ "$MN_RC" -eq 0 ] || { rc=1; log "$tag: client $i exit status $MN_RC (see ${logs[i]})"; }
	done
	pingpong "$OUT/$tag.pp-after.json"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$n" "$ncli" "$win" "$rc" \
		"$ra" "$rb" "$pla" "$plb" "$(IFS=,; echo "${logs[*]}")" >> "$MANIFEST"
	log "$tag: $(grep -h 'load:' "${logs[@]}" | tr '\n' ' ')"
}

# counters INST PID: machnetd's VmRSS, flows, app_flows, pool_in_use (tab separated).
counters() {
	local k v out
	out=$(rss "$2")
	for k in flows app_flows pool_in_use; do
		v=$(mn_tel_get "$1" /machnet/stats $k) || v=-1
		out+=$'\t'$v
	done
	echo "$out"
}
flows_at() { [ "$(mn_tel_get "$1" /machnet/stats flows)" = "$2" ]; }

# connrate REP PA PB IA IB: CONNRATE flows in churn clients of STEP flows,
# B to A; a line of OUT/connrate.tsv before the first and after each.
connrate() {
	local rep=$1 pa=$2 pb=$3 ia=$4 ib=$5 done=0 n rc fa0 fb0 lg
	fa0=$(mn_tel_get "$ia" /machnet/stats flows) fb0=$(mn_tel_get "$ib" /machnet/stats flows)
	pingpong "$OUT/r$rep-connrate.pp-before.json"
	printf '%s\t0\t0\t-\t%s\t%s\n' "$rep" "$(counters "$ia" "$pa")" "$(counters "$ib" "$pb")" >> "$OUT/connrate.tsv"
	while [ $done -lt "$CONNRATE" ]; do
		n=$((CONNRATE - done < STEP ? CONNRATE - done : STEP))
		lg=$OUT/logs/r$rep-churn-$done.log
		# at least 100 flows/s, or the client counts as hung
		mn_spawn "$lg" env MACHNET_INSTANCE="$ib" taskset -c 0 "$ECHO" --local 198.18.0.2 \
			--remote 198.18.0.1 --port $PORT --churn "$n" --churn-par "$PAR" --size "$SIZE"
		mn_wait_exit "$MN_PID" $((n / 100 + 60))
		rc=$MN_RC
		done=$((done + n))
		# the ends of the last flows may still be on their way
		mn_wait_for 5 "" flows_at "$ia" "$fa0" && mn_wait_for 5 "" flows_at "$ib" "$fb0"
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$done" "$rc" "$lg" \
			"$(counters "$ia" "$pa")" "$(counters "$ib" "$pb")" >> "$OUT/connrate.tsv"
		log "r$rep connrate: $done flows: $(grep -h 'churn:' "$lg" | tr '\n' ' ')"
		[ "$rc" -eq 0 ] || { log "r$rep connrate: client exit status $rc (see $lg)"; break; }
	done
	pingpong "$OUT/r$rep-connrate.pp-after.json"
}

# rep REP: two stacks, an epoll_echo server on each, every flow count.
rep() {
	local r=$1 ia="mnscale-a-$ID-$1" ib="mnscale-b-$ID-$1" sock=$TMP/memif-$1.sock side conf inst
	local pa pb sa sb n
	mn_prefix "$ia"
	mn_prefix "$ib"
	for side in a b; do
		inst=$ia conf=$top/conf/mn-a.conf
		[ $side = b ] && inst=$ib conf=$top/conf/mn-b.conf
		mn_conf_rewrite "$conf" "$TMP/$side-$r.conf" "$inst" "s#socket=[^,\"]*#socket=$sock#" \
			"s/^transport = {/transport = { max_flows = 131072;/" \
			"s/^apps = {/apps = { max_flows = 65536;/" || die "cannot write $TMP/$side-$r.conf"
	done
	rm -f "$sock"
	mn_spawn "$OUT/logs/r$r-machnetd-a.log" "$MACHNETD" -c "$TMP/a-$r.conf" --arp-probe 198.18.0.2
	pa=$MN_PID
	mn_wait_log "$OUT/logs/r$r-machnetd-a.log" 'ready:' 30 "$pa" || die "machnetd A did not start"
	mn_spawn "$OUT/logs/r$r-machnetd-b.log" "$MACHNETD" -c "$TMP/b-$r.conf" --arp-probe 198.18.0.1
	pb=$MN_PID
	mn_wait_log "$OUT/logs/r$r-machnetd-b.log" 'ready:' 30 "$pb" || die "machnetd B did not start"
	mn_wait_log "$OUT/logs/r$r-machnetd-b.log" 'arp: 198.18.0.1 is at' 15 "$pb" ||
		die "machnetd B never resolved A over memif"
	printf 'start\t%s\t%s\t%s\n' "$r" "$(rss "$pa")" "$(rss "$pb")" >> "$OUT/rss_start.tsv"
	mn_spawn "$OUT/logs/r$r-server-a.log" env MACHNET_INSTANCE="$ia" taskset -c 1 "$ECHO" --local 198.18.0.1 --port $PORT
	sa=$MN_PID
	mn_spawn "$OUT/logs/r$r-server-b.log" env MACHNET_INSTANCE="$ib" taskset -c 0 "$ECHO" --local 198.18.0.2 --port $PORT
	sb=$MN_PID
	mn_wait_log "$OUT/logs/r$r-server-a.log" 'listening on' 20 "$sa" || die "server on A did not listen"
	mn_wait_log "$OUT/logs/r$r-server-b.log" 'listening on' 20 "$sb" || die "server on B did not listen"
	if [ -n "$CONNRATE" ]; then
		connrate "$r" "$pa" "$pb" "$ia" "$ib"
	else
		for n in ${FLOWS//,/ }; do
			run "$r" "$n" "$pa" "$pb" "$ia" "$ib"
		done
	fi
	mn_stop "$sa" TERM 10
	mn_stop "$sb" TERM 10
	mn_stop "$pb" TERM 20
	mn_stop "$pa" TERM 20
	rm -f "$sock"
}

[ -n "$CONNRATE" ] && FLOWS="none, connrate $CONNRATE in steps of $STEP, $PAR at once"
log "results in $OUT (flows $FLOWS, window $WINDOW, ${SIZE} B, ${DURATION} s each, $REPS rep(s))"
: > "$OUT/rss_start.tsv"
for ((r = 1; r <= REPS; r++)); do
	rep "$r"
done

python3 - "$OUT" "$WINDOW" "$SIZE" "$DURATION" "$PAR" <<'PY'
import json, os, re, sys
out, window, size, duration, par = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return {"mode": "none"}
start = {}
for line in open(os.path.join(out, "rss_start.tsv")):
    t = line.rstrip("\n").split("\t")
    start[t[1]] = (int(t[2]), int(t[3]))
runs = []
for line in open(os.path.join(out, "runs.tsv")):
    rep, n, ncli, win, rc, ra, rb, pla, plb, logs = line.rstrip("\n").split("\t")
    rate, conn, bad = 0.0, [], 0
    for lg in logs.split(","):
        txt = open(lg).read()
        m = re.search(r"load: (\d+) replies in ([\d.]+) s: (\d+) rpc/s.*?(\d+) bad", txt)
        if m:
            rate += float(m.group(3))
            bad += int(m.group(4))
        m = re.search(r"flows connected to \S+ in ([\d.]+) ms", txt)
        if m:
            conn.append(float(m.group(1)))
    tag = "r%s-f%s" % (rep, n)
    b, a = load(os.path.join(out, tag + ".pp-before.json")), load(os.path.join(out, tag + ".pp-after.json"))
    mb, ma = b.get("mode", "none"), a.get("mode", "none")
    runs.append({"rep": int(rep), "flows": int(n), "clients": int(ncli), "window_per_client": int(win),
                 "exit_status": int(rc), "rpc_per_s": rate if int(rc) == 0 else None, "bad_replies": bad,
                 "connect_ms": max(conn) if conn else None,
                 "rss_kb": [int(ra), int(rb)], "pool_in_use": [int(pla or 0), int(plb or 0)],
                 "rss_start_kb": list(start.get(rep, (0, 0))),
                 "vcpu_mode": mb if mb == ma else mb + ">" + ma,
                 "pingpong_before": b, "pingpong_after": a})
base = {r["rep"]: r["rpc_per_s"] for r in runs if r["flows"] == 1}
for r in runs:
    b = base.get(r["rep"])
    r["ratio_to_1"] = r["rpc_per_s"] / b if b and r["rpc_per_s"] else None
big = {}
for r in runs:
    if r["rep"] not in big or r["flows"] > big[r["rep"]]["flows"]:
        big[r["rep"]] = r
mem = [{"rep": k, "flows": r["flows"],
        "bytes_per_idle_flow": [round((r["rss_kb"][i] - r["rss_start_kb"][i]) * 1024 / r["flows"]) for i in (0, 1)]}
       for k, r in sorted(big.items())]
lines = ["| rep | flows | clients | RPC/s | ratio to 1 flow | connect (ms) | VmRSS A/B (kB) | pool_in_use A/B | vCPU mode |",
         "|---|---|---|---|---|---|---|---|---|"]
for r in runs:
    lines.append("| %d | %d | %d | %s | %s | %s | %d/%d | %d/%d | %s |" % (
        r["rep"], r["flows"], r["clients"], "%.0f" % r["rpc_per_s"] if r["rpc_per_s"] else "fail",
        "%.2f" % r["ratio_to_1"] if r["ratio_to_1"] else "-",
        "%.0f" % r["connect_ms"] if r["connect_ms"] is not None else "-",
        r["rss_kb"][0], r["rss_kb"][1], r["pool_in_use"][0], r["pool_in_use"][1], r["vcpu_mode"]))
for m in mem:
    lines.append("")
    lines.append("memory per idle flow (rep %d, %d flows): A %d B, B %d B (VmRSS growth / flows)" % (
        m["rep"], m["flows"], m["bytes_per_idle_flow"][0], m["bytes_per_idle_flow"][1]))
if not runs:
    lines = []
# --connrate: one point per line of connrate.tsv (rep, flows so far, exit
# status, log, then VmRSS/flows/app_flows/pool_in_use of A and of B).
keys = ["rss_kb", "flows", "app_flows", "pool_in_use"]
conn = {}
for line in open(os.path.join(out, "connrate.tsv")):
    t = line.rstrip("\n").split("\t")
    rep, n, rc, lg, a, b = int(t[0]), int(t[1]), int(t[2]), t[3], t[4:8], t[8:12]
    pt = {"flows_done": n, "exit_status": rc}
    for i, k in enumerate(keys):
        pt[k] = [int(a[i]), int(b[i])]
    if lg != "-":
        m = re.search(r"churn: (\d+) flows in ([\d.]+) s: (\d+) flows/s.*?(\d+) failures", open(lg).read())
        pt.update({"step_flows": int(m.group(1)), "step_s": float(m.group(2)),
                   "step_flows_per_s": float(m.group(3)), "step_failures": int(m.group(4))} if m else
                  {"step_flows": 0, "step_s": 0.0, "step_flows_per_s": None, "step_failures": None})
    conn.setdefault(rep, []).append(pt)
crate = []
for rep, pts in sorted(conn.items()):
    s0, steps = pts[0], pts[1:]
    secs = sum(p["step_s"] for p in steps)
    ok = sum(p["step_flows"] for p in steps)
    b, a = load(os.path.join(out, "r%d-connrate.pp-before.json" % rep)), load(os.path.join(out, "r%d-connrate.pp-after.json" % rep))
    mb, ma = b.get("mode", "none"), a.get("mode", "none")
    last = pts[-1]
    crate.append({"rep": rep, "flows_done": ok, "seconds": secs, "flows_per_s": ok / secs if secs else None,
                  "failures": sum(p["step_failures"] or (1 if p["exit_status"] else 0) for p in steps),
                  "parallel": par, "start": s0, "end": last, "points": pts,
                  "back_at_start": {k: last[k] == s0[k] for k in keys if k != "rss_kb"},
                  "vcpu_mode": mb if mb == ma else mb + ">" + ma, "pingpong_before": b, "pingpong_after": a})
if crate:
    lines += ["| rep | flows | s | flows/s | failures | VmRSS A start>end (kB) | VmRSS B start>end (kB) | flows A/B | app_flows A/B | pool_in_use A/B | vCPU mode |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda s0, e, k: "%d>%d" % (s0[k][0], e[k][0]) + "/" + "%d>%d" % (s0[k][1], e[k][1])
    for c in crate:
        s0, e = c["start"], c["end"]
        lines.append("| %d | %d | %.1f | %s | %d | %d>%d | %d>%d | %s | %s | %s | %s |" % (
            c["rep"], c["flows_done"], c["seconds"], "%.0f" % c["flows_per_s"] if c["flows_per_s"] else "-",
            c["failures"], s0["rss_kb"][0], e["rss_kb"][0], s0["rss_kb"][1], e["rss_kb"][1],
            f(s0, e, "flows"), f(s0, e, "app_flows"), f(s0, e, "pool_in_use"), c["vcpu_mode"]))
    lines += ["", "| rep | flows so far | step flows/s | VmRSS A/B (kB) | flows A/B | pool_in_use A/B |", "|---|---|---|---|---|---|"]
    for c in crate:
        for p in c["points"]:
            lines.append("| %d | %d | %s | %d/%d | %d/%d | %d/%d |" % (c["rep"], p["flows_done"],
                "%.0f" % p["step_flows_per_s"] if p.get("step_flows_per_s") else "-",
                p["rss_kb"][0], p["rss_kb"][1], p["flows"][0], p["flows"][1], p["pool_in_use"][0], p["pool_in_use"][1]))
table = "\n".join(lines) + "\n"
open(os.path.join(out, "table.md"), "w").write(table)
json.dump({"window": window, "size": size, "duration_s": duration, "runs": runs, "memory": mem,
           "connrate": crate},
          open(os.path.join(out, "bench_scale.json"), "w"), indent=1)
print(table, end="")
PY
