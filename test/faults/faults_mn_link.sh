#!/bin/bash
# Two machnetd on a real link (veth, af_packet, one per namespace) under the
# kernel's faults: for each condition an mf_stream client sends 100,000
# messages of mixed sizes (80% <= 256 B, up to 16 KiB) with 32 in flight and
# checks every echo arrives exactly once, intact and in order. Conditions:
# clean, 1% loss (XDP drop, both directions), 10% loss (toward the server:
# requests and the ACKs of echoes), 0.1% corruption (XDP, both directions:
# UDP checksums catch it), 1% duplication (tc, both directions), a 2 s
# blackhole (link down/up mid-run), a 100 Mbit/s tbf. MF_CONDS="a b ..."
# runs only the named conditions (manual runs).
# Throughput, P99 and retransmissions are printed and appended to MF_RESULTS.
. "$(dirname "$0")/mf_lib.sh"
mf_require
mf_require_bpf
mf_veth
# A retry budget that outlasts the 2 s blackhole: the default (8 retries,
# RTO from 1 ms doubling) gives up after about half a second of silence.
for s in a b; do
	mf_extra $s "transport = { cc = \"$MF_CC\"; max_retries = 16; max_rto_us = 1000000; };"
done
mf_mn a
mf_mn b
MF_STAT_INSTS="$MF_INST_a $MF_INST_b"
mf_server srv "$MF_INST_a" 198.18.0.1 7000
N=${MF_COUNT:-100000}
run() {	# LABEL [client options]
	local l=$1
	shift
	mf_run "$l" "$MF_INST_b" 198.18.0.2 198.18.0.1 7000 --count "$N" --window 32 \
		--max-size 16384 --seed "$RANDOM" --timeout "$(mn_s 300)" "$@"
}
clear_all() {
	local s
	for s in a b; do "$MF_NETNS" clear "$MF_PREFIX" $s all >/dev/null || mn_fail "clear $s"; done
}
want() { [ -z "${MF_CONDS:-}" ] || [[ " $MF_CONDS " == *" $1 "* ]]; }
fault_both() {	# KIND PPM [SIDES]
	local s
	for s in ${3:-a b}; do "$MF_NETNS" fault "$MF_PREFIX" $s "$1" "$2" >/dev/null || mn_fail "fault $s $1 $2"; done
}
counter_sum() {	# KIND: frames the programs of both sides hit
	local s t=0 v
	for s in a b; do
		v=$("$MF_NETNS" counters "$MF_PREFIX" $s | awk -v k="mn_$1" '$1 ~ k { for (i = 2; i <= NF; i++) if ($i ~ /^hit=/) print substr($i, 5) }')
		t=$((t + ${v:-0}))
	done
	echo $t
}

want clean && run clean
for c in "loss_1pct drop 10000" "loss_10pct_to_server drop 100000 a" "corrupt_0.1pct corrupt 1000" "dup_1pct dup 10000"; do
	read -r label kind ppm sides <<< "$c"
	want "$label" || continue
	clear_all
	fault_both "$kind" "$ppm" "$sides"
	run "$label" --timeout "$(mn_s 400)"
	hit=$(counter_sum "xdp_$kind"); [ "$kind" = dup ] && hit=$(counter_sum tc_dup)
	mn_log "$label: the eBPF programs hit $hit frames"
	[ "$hit" -gt 0 ] || mn_fail "$label: the fault never hit a frame"
done
clear_all

# Link down for 2 s in the middle of a stream (started once echoes flow).
if want blackhole_2s; then
run blackhole_2s --count $((N / 2)) --timeout "$(mn_s 200)" --progress 0.2 &
RP=$!
mn_wait_log "$MN_TMP/blackhole_2s.log" 'progress .* got=[1-9][0-9]{3,}' 20 ||
	mn_fail "stream before the blackhole did not flow"
"$MF_NETNS" blackhole "$MF_PREFIX" 2 both > "$MN_TMP/hole.out" 2>&1 || mn_fail "blackhole: $(cat "$MN_TMP/hole.out")"
mn_log "$(cat "$MN_TMP/hole.out")"
wait "$RP" || mn_fail "stream across the blackhole failed"
grep -q '^result' "$MN_TMP/blackhole_2s.log" || mn_fail "stream across the blackhole has no result"
fi

if want tbf_100mbit; then
	"$MF_NETNS" rate "$MF_PREFIX" a 100 >/dev/null || mn_fail "rate a"
	"$MF_NETNS" rate "$MF_PREFIX" b 100 >/dev/null || mn_fail "rate b"
	run tbf_100mbit
fi
clear_all
kill -0 "$MF_PID_a" && kill -0 "$MF_PID_b" || mn_fail "a machnetd died"
mn_log PASS
