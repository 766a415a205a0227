#!/bin/bash
# mn-hiccup end to end: a stall we cause (SIGSTOP for 200 ms) must show up
# as a stall of at least that long, counted in the top bucket and in the
# time lost; JSON and the printed line must agree; bad usage is refused.
set -u
H=${MN_HICCUP:?}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "hiccup: FAIL: $*"; exit 1; }

# 5 s of measuring: the stop must fall inside it even when this script
# waits seconds for a CPU (a --contend run once saw a 1.5 s measurement
# end before the script had stopped it).
D=5
"$H" --cpus 0 --duration $D --json "$tmp/h.json" > "$tmp/out" 2> "$tmp/err" &
pid=$!
# wait (bounded) until the loop runs, then take the CPU away for 200 ms
for _ in $(seq 1 400); do
	grep -q measuring "$tmp/err" && break
	sleep 0.01
done
grep -q measuring "$tmp/err" || fail "never started: $(cat "$tmp/err")"
kill -STOP "$pid"
# Its line is printed when measuring ends: none yet, so the stop is inside.
[ -s "$tmp/out" ] && fail "this script got no CPU for $D s: the stop came after the measurement"
sleep 0.2	# the stall itself, not a wait for a condition
kill -CONT "$pid"
wait "$pid" || fail "exit $?: $(cat "$tmp/err")"
pid=
cat "$tmp/out"
python3 - "$tmp/h.json" "$(cat "$tmp/out")" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
line = dict(kv.split("=", 1) for kv in sys.argv[2].split()[1:])
def bad(m):
    print("hiccup: FAIL:", m); sys.exit(1)
if r["tool"] != "mn-hiccup" or len(r["cpus"]) != 1: bad(f"shape: {r}")
c = r["cpus"][0]
if c["cpu"] != 0: bad("cpu")
if c["max_us"] < 190000: bad(f"a 200 ms stop measured as {c['max_us']} us")
if c["buckets_us"]["ge1000"] < 1: bad("the stop is not in the >= 1 ms bucket")
if c["stalls"] != sum(c["buckets_us"].values()): bad("buckets do not add up")
# the loop ends at its first reading after 5 s (later on a loaded machine)
if not (5 <= c["seconds"] < 15): bad(f"measured {c['seconds']} s of 5")
# the 200 ms stop is time lost
if c["lost_pct"] / 100 * c["seconds"] < 0.19: bad(f"lost {c['lost_pct']}% of {c['seconds']} s")
if int(line["stalls"]) != c["stalls"] or abs(float(line["max_us"]) - c["max_us"]) > 0.2: bad("line and JSON differ")
print("hiccup: json ok")
PY
for bad in "--cpus x" "--cpus 0,,1" "--duration 0" "--threshold-us 10" "--nope 1" "--cpus"; do
	# shellcheck disable=SC2086
	timeout 10 "$H" $bad >/dev/null 2>&1; rc=$?
	[ $rc -eq 1 ] || fail "'$bad' exit $rc, want 1"
done
timeout 10 "$H" --help | grep -q -- '--threshold-us' || fail "--help"
echo "hiccup: PASS"
