#!/usr/bin/env bash
# test.sh: set the machine up, build, and run every test of machnet-mp.
#
#   scripts/test.sh [--quick] [--no-setup] [--contend] [--suite NAME]...  (as root, or with sudo)
#
# Runs, in order:
#   1. scripts/setup.sh (packages, hugepages, build in build/);
#   2. the unit and integration suites of build/ (gcc);
#   3. the unit suite again under ASan+UBSan (build-asan/);
#   4. a clang build with the libFuzzer target, fuzzed for 60 s (build-clang/);
#   5. scripts/package.sh --check: the Debian packages built, lintian, and
#      an app built with pkg-config against the unpacked packages (build-deb/).
# Ends with one line "N passed, N failed" (", N skipped" when some were)
# and exits non-zero when anything failed. --quick runs step 2 only.
# --contend runs the tests with one CPU-bound process per CPU beside them
# (started and stopped by PID here): the suite on a busy machine.
#
# Before the tests it measures how much slower than a quiet machine this
# one runs (a fixed CPU loop's wall time over its CPU time, with the
# contenders running) and exports it as MN_TIME_SCALE: the tests' waits
# for the stack stretch by it, and meson's timeouts by its ceiling. Set
# MN_TIME_SCALE to impose a factor instead.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
MN_LOG_TAG=test.sh
MN_TIME_SCALE_SET=${MN_TIME_SCALE:-}
. scripts/lib/mn.sh
QUICK=0
CONTEND=0
SETUP=1
SUITES=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; shift ;;
	--no-setup) SETUP=0; shift ;;
	--contend) CONTEND=1; shift ;;
	--suite) SUITES+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ ${#SUITES[@]} -eq 0 ] && SUITES=(unit integration)

pass=0; fail=0; skip=0
failed_names=()

# Adds the results of one meson test run (its testlog.json) to the totals.
tally() {
	local log=$1 label=$2 out
	if [ ! -f "$log" ]; then
		echo "test.sh: $label produced no test log" >&2
		fail=$((fail + 1)); failed_names+=("$label: (no log)")
		return
	fi
	out=$(python3 - "$log" "$label" <<'PY'
import json, sys
p = f = s = 0
names = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    res = r.get("result", "")
    if res in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif res == "SKIP":
        s += 1
    else:
        f += 1
        names.append(f"{sys.argv[2]}: {r.get('name')} ({res})")
print(p, f, s)
for n in names:
    print(n)
PY
)
	read -r p f s <<<"$(head -1 <<<"$out")"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	while IFS= read -r n; do [ -n "$n" ] && failed_names+=("$n"); done < <(tail -n +2 <<<"$out")
}

# One build + test step: builddir, meson setup options (env CC honoured), suites.
run_step() {
	local dir=$1 opts=$2; shift 2
	local suite_args=()
	for s in "$@"; do suite_args+=(--suite "$s"); done
	echo "== $dir: meson test ${suite_args[*]}"
	if [ ! -f "$dir/build.ninja" ]; then
		# shellcheck disable=SC2086
		if ! meson setup "$dir" $opts >"$dir.setup.log" 2>&1; then
			cat "$dir.setup.log" >&2
			fail=$((fail + 1)); failed_names+=("$dir: meson setup"); return
		fi
	fi
	if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
		tail -40 "$dir.ninja.log" >&2
		fail=$((fail + 1)); failed_names+=("$dir: build"); return
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs --timeout-multiplier "$TIMEOUT_MULT" "${suite_args[@]}"
	tally "$dir/meson-logs/testlog.json" "$dir"
}

if [ "$SETUP" = 1 ]; then
	if ! scripts/setup.sh; then
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

# contenders: one busy loop per CPU, at the tests' own priority
if [ "$CONTEND" = 1 ]; then
	for ((i = 0; i < $(nproc); i++)); do
		mn_spawn /dev/null bash -c 'while :; do :; done'
	done
	echo "== contention: $(nproc) CPU-bound processes (pids ${MN_PIDS[*]})"
fi
if [ -n "${MN_TIME_SCALE_SET:-}" ]; then
	echo "== time scale: $MN_TIME_SCALE (given)"
else
	MN_TIME_SCALE=$(mn_measure_scale)
	echo "== time scale: $MN_TIME_SCALE (measured: a CPU loop's wall time / CPU time)"
fi
export MN_TIME_SCALE
TIMEOUT_MULT=$(mn_s 1)

run_step build "" "${SUITES[@]}"
if [ "$QUICK" = 0 ]; then
	run_step build-asan "-Db_sanitize=address,undefined -Db_lundef=false" unit
	CC=clang run_step build-clang "-Dfuzz=true" fuzz
	echo "== build-deb: scripts/package.sh --check"
	if scripts/package.sh --check >build-deb.log 2>&1; then
		pass=$((pass + 1))
		tail -1 build-deb.log
	else
		tail -40 build-deb.log >&2
		fail=$((fail + 1)); failed_names+=("build-deb: scripts/package.sh --check")
	fi
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed_names[@]}"
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
