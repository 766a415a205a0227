# Helpers of the machnetd fault tests (bash; sourced, not run).
#
# Builds on test/integration/lib.sh over scripts/lib/mn.sh (unique
# instances, cleanup of processes, hugepage files and DPDK dirs by name,
# bounded waits scaled by MN_TIME_SCALE) and scripts/netns.sh
# (namespace pair with a veth, eBPF/tc faults). Two machnetd: "a" in
# namespace <P>a on <P>a0 as 198.18.0.1 and "b" in <P>b on <P>b0 as
# 198.18.0.2, both through net_af_packet; or two on memif (mn_pair).
#
# Environment (set by meson): MACHNETD, MN_SRC, MF_STREAM, MN_INJECT,
# MN_BPF_DIR, MF_RESULTS (results file, JSON lines; optional).
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

MF_NETNS="$MN_SRC/scripts/netns.sh"
MF_PREFIX=""
MF_RESULTS=${MF_RESULTS:-}
# Congestion control of the fault tests: "fixed" by default. With "auto"
# (Swift, 50 us target delay) streams on this 2-vCPU host slow to a crawl
# with multi-second stalls when the CPUs are busy (docs/RELIABILITY.md);
# these tests are about delivery, so they use the fixed window unless
# MF_CC=auto asks otherwise.
MF_CC=${MF_CC:-fixed}

# At exit, after the processes are stopped: this test's namespace pair.
mf_exit() {
	[ -z "$MF_PREFIX" ] || "$MF_NETNS" destroy "$MF_PREFIX" >/dev/null 2>&1
}
mn_at_exit mf_exit

mf_require() {
	mn_require_root
	mn_require_machnetd
	mn_require_hugepages 600
	[ -n "${MF_STREAM:-}" ] && [ -x "$MF_STREAM" ] || mn_fail "MF_STREAM is not set to an executable"
	[ -n "${MN_BPF_DIR:-}" ] && [ -f "$MN_BPF_DIR/mn_xdp_drop.bpf.o" ] || unset MN_BPF_DIR
	command -v dpdk-telemetry.py >/dev/null || mn_skip "no dpdk-telemetry.py"
}

mf_require_bpf() {
	command -v bpftool >/dev/null || mn_skip "no bpftool"
	command -v ethtool >/dev/null || mn_skip "no ethtool"
	[ -n "${MN_BPF_DIR:-}" ] || command -v clang >/dev/null || mn_skip "no eBPF objects and no clang"
}

# mf_veth [netns.sh create options]: this test's namespace pair (no kernel
# addresses unless given). Sets NSA NSB DEVA DEVB.
mf_veth() {
	MF_PREFIX="mf$$"
	MF_PREFIX=${MF_PREFIX:0:11}
	"$MF_NETNS" create "$MF_PREFIX" "$@" >/dev/null || mn_fail "netns.sh create"
	NSA="${MF_PREFIX}a"; NSB="${MF_PREFIX}b"
	DEVA="${MF_PREFIX}a0"; DEVB="${MF_PREFIX}b0"
}

# mf_mn SIDE [SED...]: starts machnetd SIDE (a or b) on its veth end with
# af_packet (qdisc_bypass=0 so tc dup/tbf on that side's egress work), small
# retry budget overridable by SED. Sets MF_INST_<SIDE>, MF_PID_<SIDE>.
mf_mn() {
	local side=$1 ns dev ip inst
	shift
	if [ "$side" = a ]; then ns=$NSA; dev=$DEVA; ip=198.18.0.1; else ns=$NSB; dev=$DEVB; ip=198.18.0.2; fi
	mn_instance "mf-$side"; inst=$MN_INSTANCE
	mn_conf "$MN_SRC/conf/veth-afpacket.conf" "$MN_TMP/$side.conf" "$inst" \
		"s/iface=[^,\"]*/iface=$dev,qdisc_bypass=0/" "s/ip = \"[0-9.]*\"/ip = \"$ip\"/" \
		"s/prefix_len = [0-9]*/prefix_len = 24/" "$@"
	[ -f "$MN_TMP/$side.extra" ] && cat "$MN_TMP/$side.extra" >> "$MN_TMP/$side.conf"
	grep -q '^transport' "$MN_TMP/$side.conf" || echo "transport = { cc = \"$MF_CC\"; };" >> "$MN_TMP/$side.conf"
	mn_start "$side" ip netns exec "$ns" "$MACHNETD" -c "$MN_TMP/$side.conf"
	mn_wait_log "$MN_TMP/$side.log" 'ready:' 20 "$MN_PID" || mn_fail "machnetd $side did not start"
	printf -v "MF_INST_$side" '%s' "$inst"
	printf -v "MF_PID_$side" '%s' "$MN_PID"
}

# mf_extra SIDE TEXT: config text appended to SIDE's config (before mf_mn).
mf_extra() {
	printf '%s\n' "$2" >> "$MN_TMP/$1.extra"
}

# mf_server NAME INSTANCE IP PORT: starts an mf_stream echo server.
mf_server() {
	mn_app "$1" "$2" "$MF_STREAM" server "$3" "$4" 600
	mn_wait_log "$MN_TMP/$1.log" '^listening' 20 "$MN_PID" || mn_fail "server $1 did not listen"
}

# mf_stats INSTANCE: prints "retransmits rtos" of an instance.
mf_stats() {
	local out
	out=$(mn_tel "$1" /machnet/stats) || { echo "? ?"; return; }
	awk -F= '$1 == "retransmits" { x = $2 } $1 == "rtos" { o = $2 }
		END { print (x == "" ? "?" : x), (o == "" ? "?" : o) }' <<< "$out"
}

# mf_run LABEL INSTANCE LIP RIP PORT [client options]: one verified stream;
# fails the test unless every message came back intact and in order. Prints
# and records (MF_RESULTS) throughput, P99 and the retransmissions of both
# stacks during the run (instances in MF_STAT_INSTS).
mf_run() {
	local label=$1 inst=$2 lip=$3 rip=$4 port=$5 i r0=() r1=() rtx=0 rto=0 a b k
	[ -n "${MF_STAT_INSTS:-}" ] || { rtx="?"; rto="?"; }
	shift 5
	for i in ${MF_STAT_INSTS:-}; do r0+=("$(mf_stats "$i")"); done
	MACHNET_INSTANCE=$inst timeout "$(mn_s 600)" "$MF_STREAM" client "$lip" "$rip" "$port" \
		--json "$MN_TMP/$label.json" "$@" > "$MN_TMP/$label.log" 2>&1
	MF_RC=$?
	k=0
	for i in ${MF_STAT_INSTS:-}; do
		r1=($(mf_stats "$i")); read -r a b <<< "${r0[$k]}"
		if [ "$a" != "?" ] && [ "${r1[0]}" != "?" ]; then
			rtx=$((rtx + r1[0] - a)); rto=$((rto + r1[1] - b))
		else
			rtx="?"; rto="?"
		fi
		k=$((k + 1))
	done
	[ "$MF_RC" -eq 0 ] || mn_fail "$label: stream exit $MF_RC: $(grep -E '^(fail|error)' "$MN_TMP/$label.log" | head -3)"
	MF_LINE="$(grep '^result' "$MN_TMP/$label.log") retransmits=$rtx rtos=$rto"
	mn_log "$label: $MF_LINE"
	mf_record "$label" "$MN_TMP/$label.json" "$rtx" "$rto"
}

# mf_record LABEL JSON RETRANSMITS RTOS: appends one JSON line to MF_RESULTS.
mf_record() {
	[ -n "$MF_RESULTS" ] || return 0
	python3 -c 'import json,sys,time
d=json.load(open(sys.argv[2]))
d.update(test=sys.argv[5], condition=sys.argv[1], retransmits=int(sys.argv[3]), rtos=int(sys.argv[4]),
         cc=sys.argv[7], time=time.strftime("%Y-%m-%dT%H:%M:%S"))
open(sys.argv[6], "a").write(json.dumps(d) + "\n")' "$1" "$2" "${3/\?/-1}" "${4/\?/-1}" "$MN_TEST_NAME" "$MF_RESULTS" "$MF_CC" ||
		mn_log "cannot append to $MF_RESULTS"
}

# mf_tel INSTANCE ENDPOINT...: the endpoints' counters as "key=value" lines.
mf_tel() {
	mn_tel "$@"
}

# mf_snap INSTANCE FILE: all counters of /machnet/stats and /machnet/proto.
mf_snap() {
	mn_tel "$1" /machnet/stats /machnet/proto > "$2" || mn_fail "telemetry of $1"
}

# mf_delta BEFORE AFTER: prints "key=+n" for every counter that grew.
mf_delta() {
	awk -F= 'NR == FNR { b[$1] = $2; next } ($1 in b) && $2 + 0 > b[$1] + 0 { printf "%s=+%d ", $1, $2 - b[$1] }' "$1" "$2"
}

# mf_get FILE KEY
mf_get() {
	awk -F= -v k="$2" '$1 == k { print $2 }' "$1"
}
