#!/bin/bash
# Two machnetd on memif with machnetd's own seeded fault injector on the
# receive side of both (config group 'fault'): for each condition an
# mf_stream client sends 100,000 messages of mixed sizes and checks every
# echo arrives exactly once, intact and in order. Conditions: 1% and 10%
# loss, 5 ms delay with 1 ms jitter (which reorders), 25% reordering, 1%
# duplication, 0.1% corruption. Throughput, P99 and retransmissions per
# condition are printed and appended to MF_RESULTS. MF_CONDS="label ..."
# runs only the named conditions (manual runs).
. "$(dirname "$0")/mf_lib.sh"
mf_require
N=${MF_COUNT:-100000}

cond() {	# LABEL WINDOW RX_FAULTS [TRANSPORT_KEYS]
	local label=$1 win=$2 rx=$3 tk=${4:-}
	[ -z "${MF_CONDS:-}" ] || [[ " $MF_CONDS " == *" $label "* ]] || return 0
	mn_pair "\$a fault = { enabled = true; seed = $RANDOM; rx = { $rx queue = 2048; }; };" \
		'/^transport = /d' "\$a transport = { cc = \"$MF_CC\"; $tk };"
	grep -q 'fault' "$MN_TMP/a.conf" || mn_fail "no fault group in the config"
	MF_STAT_INSTS="$MN_A $MN_B"
	mf_server "srv-$label" "$MN_A" 198.18.0.1 7000
	local sp=$MN_PID
	mf_run "$label" "$MN_B" 198.18.0.2 198.18.0.1 7000 --count "$N" --window "$win" \
		--max-size 16384 --seed "$RANDOM" --timeout "$(mn_s 400)"
	mn_stop "$sp" TERM 10
	mn_stop_pair
}

cond inj_loss_1pct 32 "drop_ppm = 10000;"
cond inj_loss_10pct 32 "drop_ppm = 100000;"
# 10 ms of round trip: a transport window of 256 packets keeps the link busy.
cond inj_delay_5ms_jitter_1ms 256 "delay_us = 5000; jitter_us = 1000;" "window = 256;"
cond inj_reorder_25pct 32 "reorder_ppm = 250000; reorder_us = 100;"
cond inj_dup_1pct 32 "dup_ppm = 10000;"
cond inj_corrupt_0.1pct 32 "corrupt_ppm = 1000;"
mn_log PASS
