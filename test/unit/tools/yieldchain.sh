#!/bin/bash
# mn-yieldchain end to end: a short run on this machine's CPUs must pass the
# token around (round trips counted, percentiles ordered, JSON equal to the
# printed line), and bad usage must be refused.
set -u
YC=${MN_YIELDCHAIN:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "yieldchain: FAIL: $*"; exit 1; }
ncpu=$(nproc)
o=$((ncpu > 1 ? 1 : 0))
cpus=0,$o,0,$o	# the benchmark's crossed layout

out=$(timeout 30 "$YC" --cpus "$cpus" --copy 1024 --spin-us 2 --duration 0.3 --warmup 0.05 --json "$tmp/r.json") ||
	fail "run failed: $out"
echo "$out"
python3 - "$tmp/r.json" "$out" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
line = dict(kv.split("=", 1) for kv in sys.argv[2].split()[1:])
def bad(m):
    print("yieldchain: FAIL:", m); sys.exit(1)
if r["hops"] != 6 or r["copy"] != 1024 or r["idle"] != "yield" or r["spin_us"] != 2: bad(f"wrong echo of the options: {r}")
if r["rtts"] < 100: bad(f"only {r['rtts']} round trips in 0.3 s")
p = [r["p50_us"], r["p99_us"], r["p999_us"], r["p9999_us"], r["max_us"]]
if not all(0 < a <= b * 1.01 for a, b in zip(p, p[1:])): bad(f"percentiles out of order: {p}")
if int(line["rtts"]) != r["rtts"] or abs(float(line["p50_us"]) - r["p50_us"]) > 0.01: bad("line and JSON differ")
# One round trip at a time: rate x P50 cannot exceed about one second per
# second (2x slack: P50 may sit above the mean).
if r["rtt_per_s"] * r["p50_us"] / 1e6 > 1.0 * 1.05 * 2: bad(f"rate {r['rtt_per_s']} impossible with P50 {r['p50_us']} us")
print("yieldchain: json ok")
PY
for bad in "--cpus 0,1" "--copy 70000" "--duration 0" "--nope" "--cpus 0,1,1,x" "--spin-us 1001" "--spin-us x"; do
	# shellcheck disable=SC2086
	timeout 10 "$YC" $bad >/dev/null 2>&1; rc=$?
	[ $rc -eq 1 ] || fail "'$bad' exit $rc, want 1"
done
timeout 10 "$YC" --help | grep -q -- '--cpus C,B,A,S' || fail "--help"
echo "yieldchain: PASS"
