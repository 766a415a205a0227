#!/bin/bash
# scripts/bench.sh --cost end to end, short (no timing asserted): it must
# print its two 'cost:' lines and write a well-formed OUT/cost.json with a
# request-reply and a 64 KiB case per flow count, nothing retransmitted on
# the lossless in-memory link; bad usage must be refused.
set -u
SRC=${MN_SRC:?}
BUILD=${MN_BUILD:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "bench_cost: FAIL: $*"; exit 1; }

out=$(timeout 120 bash "$SRC/scripts/bench.sh" --cost --cost-count 300 --cost-flows 1,40 \
	--build "$BUILD" --out "$tmp/o" 2>"$tmp/err") || fail "run failed: $out $(cat "$tmp/err")"
echo "$out"
echo "$out" | grep -Eq '^cost: [0-9]+ ns per 1 KB request-reply$' || fail "no '1 KB request-reply' line"
echo "$out" | grep -Eq '^cost: [0-9]+ ns per 64 KiB message$' || fail "no '64 KiB message' line"
[ "$(echo "$out" | grep -Ec '^cost: [0-9]+ ns per ')" -eq 2 ] || fail "not exactly two headline lines"
python3 - "$tmp/o/cost.json" "$out" <<'PY' || exit 1
import json, re, sys
def bad(m):
    print("bench_cost: FAIL:", m); sys.exit(1)
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    bad("cost.json: %s" % e)
cases = r.get("cases")
if not isinstance(cases, list): bad("no cases list")
got = {(c["kind"], c["flows"]) for c in cases}
if got != {("rr", 1), ("msg", 1), ("rr", 40), ("msg", 40)}: bad("cases %s" % sorted(got))
for c in cases:
    for k in ("ns_total", "ns_server", "ns_client", "wall_ns", "frames", "pure_acks", "retransmits"):
        if not isinstance(c.get(k), (int, float)): bad("case %s: %s missing" % (c, k))
    if c["ns_total"] <= 0: bad("case %s: no time" % c)
    if c["retransmits"] != 0: bad("case %s: retransmits on a lossless link" % c)
    want = 2 if c["kind"] == "rr" else 49	# 1 KB each way; 64 KiB = 47 packets + 2 ACKs
    if c["frames"] < want or c["frames"] > want + 1.5: bad("case %s: %s frames" % (c, c["frames"]))
    if c["count"] != (300 if c["kind"] == "rr" else 3): bad("case %s: count" % c)
head = re.search(r"^cost: (\d+) ns per 1 KB request-reply$", sys.argv[2], re.M)
rr1 = [c for c in cases if c["kind"] == "rr" and c["flows"] == 1][0]
if abs(int(head.group(1)) - rr1["ns_total"]) > 1: bad("headline and JSON differ")
print("bench_cost: json ok")
PY
for badopt in "--cost-count x" "--cost-count 5" "--cost-flows 1,,2" "--cost-flows"; do
	# shellcheck disable=SC2086
	timeout 10 bash "$SRC/scripts/bench.sh" --cost $badopt --build "$BUILD" --out "$tmp/x" \
		>/dev/null 2>&1 && fail "'$badopt' was accepted"
done
"$BUILD/test/tools/mn-cost" --flows 0 >/dev/null 2>&1 && fail "mn-cost --flows 0 was accepted"
timeout 10 bash "$SRC/scripts/bench.sh" --help | grep -q -- '--cost ' || fail "--help does not list --cost"
echo "bench_cost: PASS"
