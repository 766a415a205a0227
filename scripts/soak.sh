#!/bin/bash
# soak.sh: long run of two machnetd on memif with machnetd's fault injector
# (1% loss on both receive sides), 16 flows at full rate (mf_stream, every
# echo verified), sampling each machnetd's RSS and mbuf pool use every 10 s.
# Outside CI (docs/RELIABILITY.md).
#
#   scripts/soak.sh BUILD_DIR [SECONDS (600)] [LOSS_PPM (10000)]
#
# Passes (exit 0) when no message was lost, corrupted or reordered, neither
# machnetd died, and neither grew: RSS of the last third of the samples at
# most 4 MiB above the first third's maximum, and pool use back at its start
# once the stream ended. Samples go to BUILD_DIR/soak-samples.txt.
set -u
[ $# -ge 1 ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
B=$(cd "$1" && pwd) || exit 2
SECS=${2:-600}
LOSS=${3:-10000}
export MACHNETD="$B/primary/machnetd" MF_STREAM="$B/test/faults/mf_stream"
export MN_SRC=$(cd "$(dirname "$0")/.." && pwd)
export MN_TEST_NAME=soak
. "$MN_SRC/test/faults/mf_lib.sh"
mf_require
SAMPLES="$B/soak-samples.txt"

mn_pair "\$a fault = { enabled = true; seed = 11; rx = { drop_ppm = $LOSS; queue = 2048; }; };" \
	'/^transport = /d' "\$a transport = { cc = \"$MF_CC\"; };"
mn_pool_base
# The server must outlive the stream: mf_server's apps quit after 600 s,
# which at the default length reset the last flows 0.1 s before the end.
mn_app srv "$MN_A" "$MF_STREAM" server 198.18.0.1 7000 $((SECS + 600))
mn_wait_log "$MN_TMP/srv.log" '^listening' 20 "$MN_PID" || mn_fail "server did not listen"
SRV=$MN_PID
mn_app stream "$MN_B" "$MF_STREAM" client 198.18.0.2 198.18.0.1 7000 --count 0 \
	--duration "$SECS" --flows 16 --window 64 --max-size 16384 --timeout $((SECS + 300)) \
	--json "$MN_TMP/soak.json"
SP=$MN_PID

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
echo "# t_s rss_a_kb rss_b_kb pool_a pool_b msgs_rx_b retransmits_b" > "$SAMPLES"
t0=$SECONDS
while kill -0 "$SP" 2>/dev/null && [ $((SECONDS - t0)) -le $((SECS + 300)) ]; do
	kill -0 "$MN_PA" && kill -0 "$MN_PB" || mn_fail "a machnetd died"
	line="$((SECONDS - t0)) $(rss "$MN_PA") $(rss "$MN_PB") $(mn_stat "$MN_A" pool_in_use) $(mn_stat "$MN_B" pool_in_use) $(mn_stat "$MN_B" msgs_rx) $(mn_stat "$MN_B" retransmits)"
	echo "$line" >> "$SAMPLES"
	mn_log "sample: $line"
	for _ in $(seq 100); do kill -0 "$SP" 2>/dev/null || break; sleep 0.1; done
done
mn_wait_exit "$SP" 60
[ "$MN_RC" -eq 0 ] || mn_fail "stream: exit $MN_RC: $(grep -E '^(fail|error)' "$MN_TMP/stream.log")"
mn_log "$(grep '^result' "$MN_TMP/stream.log")"
mf_record soak "$MN_TMP/soak.json" "$(mn_stat "$MN_B" retransmits)" "$(mn_stat "$MN_B" rtos)"

# Growth: RSS (last third vs first third), pools back at their start.
python3 - "$SAMPLES" <<'PY' || mn_fail "RSS grew"
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if not l.startswith('#') and len(l.split()) == 7]
if len(rows) < 3:
    sys.exit("too few samples")
n = len(rows) // 3
for col, name in ((1, 'a'), (2, 'b')):
    first = max(r[col] for r in rows[:n]); last = max(r[col] for r in rows[-n:])
    print("RSS %s: first third max %d kB, last third max %d kB" % (name, first, last))
    if last > first + 4096:
        sys.exit("machnetd %s RSS grew by %d kB" % (name, last - first))
PY
mn_stop "$SRV" INT 10
mn_pools_back 20
mn_log "pools back at $base_a / $base_b"
mn_stop_pair
mn_log PASS
