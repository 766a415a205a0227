# Shared helpers of the fault-tool tests (bash; sourced, not run).
#
# Each test gets its own namespace pair (prefix from the test name and the
# shell pid) with kernel addresses 198.18.0.1 (side a) and 198.18.0.2 (side
# b), destroyed by an EXIT trap together with every process the test started.
# Processes, waits (bounded, scaled by MN_TIME_SCALE) and the EXIT
# handling come from scripts/lib/mn.sh. Exit 77 means "skipped".
#
# Environment (set by meson; for a manual run point them at a build):
#   MN_INJECT, MN_RXCHECK, MN_UDPLOAD  tool paths
#   MN_BPF_DIR                         built eBPF objects (optional)
set -u

FT_NAME=$(basename "${0%.sh}")
FT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MN_LOG_TAG=$FT_NAME
. "$FT_SRC/scripts/lib/mn.sh"
NETNS="$FT_SRC/scripts/netns.sh"
FT_TMP=$(mktemp -d "/tmp/mn-ft-${FT_NAME}.XXXXXX")
FT_PREFIX=""
IPA=198.18.0.1
IPB=198.18.0.2

ft_log() { echo "[$FT_NAME] $*"; }
ft_fail() { ft_log "FAIL: $*"; exit 1; }
ft_skip() { ft_log "SKIP: $*"; exit 77; }

# At exit, after the processes are stopped (scripts/lib/mn.sh): the
# namespace pair and the temp dir.
ft_exit() {
	[ -z "$FT_PREFIX" ] || "$NETNS" destroy "$FT_PREFIX" >/dev/null
	rm -rf "$FT_TMP"
}
mn_at_exit ft_exit

ft_require() {
	local t
	[ "$(id -u)" -eq 0 ] || ft_skip "needs root"
	command -v bpftool >/dev/null || ft_skip "no bpftool (apt-get install bpftool)"
	command -v ethtool >/dev/null || ft_skip "no ethtool"
	command -v python3 >/dev/null || ft_skip "no python3"
	for t in "${MN_INJECT:-}" "${MN_RXCHECK:-}" "${MN_UDPLOAD:-}"; do
		[ -n "$t" ] && [ -x "$t" ] || ft_fail "MN_INJECT, MN_RXCHECK, MN_UDPLOAD must name the built tools"
	done
	if [ -n "${MN_BPF_DIR:-}" ] && [ ! -f "$MN_BPF_DIR/mn_xdp_drop.bpf.o" ]; then
		unset MN_BPF_DIR	# not built by meson: netns.sh compiles them
	fi
}

# ft_pair [create options]: creates this test's namespace pair with addresses.
ft_pair() {
	FT_PREFIX="ft$$"
	FT_PREFIX=${FT_PREFIX:0:11}
	"$NETNS" create "$FT_PREFIX" --ip "$@" >/dev/null || ft_fail "netns.sh create"
	NSA="${FT_PREFIX}a"; NSB="${FT_PREFIX}b"
	DEVA="${FT_PREFIX}a0"; DEVB="${FT_PREFIX}b0"
}

# ft_start NAME CMD...: runs CMD in the background, output in $FT_TMP/NAME.out;
# sets FT_PID.
ft_start() {
	local name=$1
	shift
	mn_spawn "$FT_TMP/$name.out" "$@"
	FT_PID=$MN_PID
}

# ft_wait_ready NAME PID: waits (5 s at most, scaled) for "ready" in NAME's output.
ft_wait_ready() {
	mn_wait_for 5 "$2" grep -q '^ready' "$FT_TMP/$1.out" && return 0
	cat "$FT_TMP/$1.out"
	ft_fail "$1 did not become ready"
}

# ft_join PID LIMIT_S: waits for PID (stopping it after LIMIT_S, scaled); sets FT_RC.
ft_join() {
	mn_wait_exit "$1" "$2"
	FT_RC=$MN_RC
}

# ft_key FILE KEY: prints the value of KEY=value in FILE (last occurrence).
ft_key() {
	grep -o "\b$2=[^ ]*" "$1" | tail -n 1 | cut -d= -f2
}

# ft_stream NAME COUNT SIZE PPS [RECV_TIMEOUT_S]: NAME's numbered UDP stream
# a -> b (port 5000); the receiver stops after 1 s of silence. Results in
# $FT_TMP/NAME.out (receiver) and NAME.send.
ft_stream() {
	local name=$1 count=$2 size=$3 pps=$4 limit=${5:-30} rp
	ft_start "$name" ip netns exec "$NSB" "$MN_UDPLOAD" recv --bind "$IPB" --port 5000 \
		--count "$count" --size "$size" --timeout-ms $(($(mn_s "$limit") * 1000)) --idle-ms 1000
	rp=$FT_PID
	ft_wait_ready "$name" "$rp"
	ip netns exec "$NSA" timeout "$(mn_s "$limit")" "$MN_UDPLOAD" send --dst "$IPB" --port 5000 \
		--count "$count" --size "$size" --pps "$pps" > "$FT_TMP/$name.send" 2>&1 ||
		ft_fail "sender: $(cat "$FT_TMP/$name.send")"
	ft_join "$rp" $((limit + 5))
	[ "$FT_RC" -eq 0 ] || ft_fail "receiver exit $FT_RC: $(cat "$FT_TMP/$name.out")"
	ft_log "$name: $(tr '\n' ' ' < "$FT_TMP/$name.out")"
}

# ft_counter SIDE KIND FIELD: a fault program's counter (seen or hit).
ft_counter() {
	"$NETNS" counters "$FT_PREFIX" "$1" | awk -v k="mn_$2" -v f="$3" \
		'$1 ~ k { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}

# ft_within X LO HI: true when LO <= X <= HI (numbers, awk arithmetic).
ft_within() {
	awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'
}

# ft_refault SIDE KIND PPM N: replaces SIDE's KIND program by one at PPM
# and sets FT_LO, FT_HI to the 5-sigma range of its hits over N frames.
ft_refault() {
	"$NETNS" clear "$FT_PREFIX" "$1" "$2" >/dev/null
	"$NETNS" fault "$FT_PREFIX" "$1" "$2" "$3" >/dev/null || ft_fail "fault $2 $3"
	read -r FT_LO FT_HI <<< "$(ft_binom_bounds "$4" "$3")"
}

# ft_binom_bounds N PPM: prints "LO HI", the 5-sigma range of a binomial count.
ft_binom_bounds() {
	awk -v n="$1" -v ppm="$2" 'BEGIN { p = ppm / 1e6; m = n * p; s = sqrt(n * p * (1 - p));
		printf "%d %d\n", m - 5 * s, m + 5 * s + 1 }'
}

# ft_snmp NS FIELD: a Udp counter of /proc/net/snmp in namespace NS.
ft_snmp() {
	ip netns exec "$1" awk -v f="$2" '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 }
		else print $col[f] }' /proc/net/snmp
}
