#!/bin/bash
# End-to-end test of libmachnet with the primary's control/channel modules:
# chan_primary (a stand-in machnetd that echoes) and real secondary apps.
# Needs root and hugepages. Every process is ours, started here and killed by
# PID; every wait is bounded.
#   loopback.sh CHAN_PRIMARY LIVE_APP API_SUBSET
set -u
PRIMARY=$1 APP=$2 SUBSET=$3
PFX=mnlt$$
DIR=$(mktemp -d)
PPID_=""
fail=0

cleanup() {
	[ -n "$PPID_" ] && kill -9 "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
	for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
	rm -rf "/var/run/dpdk/$PFX" /dev/hugepages/${PFX}map_* /run/machnet/$PFX.lcore.* "$DIR"
}
trap cleanup EXIT

bad() { echo "FAIL: $*"; fail=1; }

# Waits up to $2 deciseconds for pattern $1 in file $3.
wait_for() {
	local i
	for ((i = 0; i < $2; i++)); do
		grep -q "$1" "$3" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

start_primary() {
	"$PRIMARY" "$PFX" 120 >"$DIR/primary.log" 2>&1 &
	PPID_=$!
	wait_for '^ready' 100 "$DIR/primary.log" || { bad "primary did not start"; cat "$DIR/primary.log"; exit 1; }
}

last_stat() { grep '^stats' "$DIR/primary.log" | tail -1; }

start_primary
export MACHNET_INSTANCE=$PFX

# 1. Every call of the API, the additions included.
timeout 60 "$APP" full || bad "live_app full"

# 1b. Two threads on one channel: EBUSY, never a crash or a torn message.
timeout 60 "$APP" race || bad "live_app race"

# 2. A program using Machnet's API only.
timeout 60 "$SUBSET" client 198.18.0.2 198.18.0.1 7 300 || bad "api_subset client"

# 3. An app killed while holding buffers: all come back, its slot is freed.
wait_for 'in_use=0 ' 50 <(last_stat) || true
"$APP" hold >"$DIR/hold.log" 2>&1 &
HP=$!
wait_for '^holding' 100 "$DIR/hold.log" || bad "hold app did not fill its channel"
sleep 0.3	# let the primary's 100 ms stats show the held buffers
held=$(last_stat | sed 's/.*in_use=\([0-9]*\).*/\1/')
died0=$(last_stat | sed 's/.*died=\([0-9]*\).*/\1/')
[ "${held:-0}" -gt 100 ] || bad "hold app holds only ${held:-?} buffers"
kill -9 $HP; wait $HP 2>/dev/null
ok=0
for ((i = 0; i < 50; i++)); do
	s=$(last_stat)
	case "$s" in *"in_use=0 "*"died=$((died0 + 1)) "*) ok=1; break;; esac
	sleep 0.1
done
[ $ok = 1 ] || bad "buffers of the killed app not reclaimed: $(last_stat)"
echo "after kill: held=$held; $(last_stat)"

# 4. The stack still works for the next app.
timeout 60 "$SUBSET" client 198.18.0.2 198.18.0.1 7 50 || bad "api_subset after a kill"

# 5. Primary death: a waiting app gets ESHUTDOWN, promptly.
"$APP" waitdeath >"$DIR/wd.log" 2>&1 &
WP=$!
wait_for '^attached' 100 "$DIR/wd.log" || bad "waitdeath app did not attach"
kill -9 "$PPID_"; wait "$PPID_" 2>/dev/null; PPID_=""
ok=0
for ((i = 0; i < 50; i++)); do
	if ! kill -0 $WP 2>/dev/null; then ok=1; break; fi
	sleep 0.1
done
[ $ok = 1 ] || bad "app did not notice machnetd's death within 5 s"
wait $WP || { bad "waitdeath app"; cat "$DIR/wd.log"; }

# 6. No machnetd: clear message, exit 1.
out=$(timeout 20 "$SUBSET" client 198.18.0.2 198.18.0.1 7 1 2>&1); rc=$?
[ $rc = 1 ] || bad "api_subset without machnetd exited $rc"
echo "$out" | grep -q "is machnetd running with instance $PFX" || bad "no hint: $out"

[ $fail = 0 ] && echo "loopback: all checks passed"
exit $fail
