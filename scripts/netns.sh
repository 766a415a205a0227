#!/usr/bin/env bash
# netns.sh: two network namespaces joined by a veth pair, and faults on it.
#
#   netns.sh create P [--ip] [--ip-a A/LEN] [--ip-b B/LEN] [--mtu N] [--keep-offload]
#   netns.sh destroy P
#   netns.sh fault P SIDE drop|corrupt|dup PPM [--port N]
#   netns.sh clear P SIDE [drop|corrupt|dup|rate|all]
#   netns.sh counters P SIDE
#   netns.sh blackhole P SECONDS [a|b|both]
#   netns.sh rate P SIDE MBIT
#   netns.sh show [P]
#   netns.sh newprefix [BASE]
#
# P is a prefix ([a-z][a-z0-9]{0,12}); it names the namespaces Pa and Pb and
# the veth ends Pa0 (in Pa) and Pb0 (in Pb). Give every user its own prefix
# (tests: include $$, or use `newprefix`). This script only ever touches
# namespaces it created itself: it records each one under $MN_NETNS_STATE and
# refuses to change a namespace it has no record of.
#
# SIDE (a or b) always names the receiving end: every fault acts on the frames
# travelling TOWARD that side.
#   drop, corrupt  XDP program on SIDE's veth end (frames arriving there);
#                  one XDP fault per side at a time (clear the other first).
#   dup            tc clsact egress on the peer's end (bpf_clone_redirect).
#   rate           tbf root qdisc on the peer's end.
# Only IPv4/UDP frames are hit (ARP passes); --port N narrows it to frames
# from or to UDP port N. PPM is the share in parts per million (10% = 100000).
# The eBPF objects come from $MN_BPF_DIR (built by meson in <build>/test/bpf)
# or, when it is unset, are compiled here from test/bpf with clang.
#
# Caveats that follow from where the kernel runs these hooks:
#   - A side whose DPDK port is af_xdp holds its own XDP program: drop and
#     corrupt cannot be put on that side.
#   - dup and rate sit in the peer's qdisc layer, which af_xdp and af_packet
#     with qdisc_bypass skip: the peer must be the kernel stack or af_packet
#     with qdisc_bypass=0.
#   - With veth TX checksum offload on, a Linux sender leaves UDP checksums
#     to be "completed" and the receiver trusts them, so corruption would go
#     unseen; create turns TX checksum offload off on both ends (real
#     checksums, as machnetd computes them) unless --keep-offload is given.
#   - No reordering, delay or jitter here (this kernel has no netem, and
#     eBPF cannot hold a frame back): those come from machnetd's own fault
#     injector.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
STATE=${MN_NETNS_STATE:-/run/machnet-netns}
BPF_SRC="$top/test/bpf"
MN_ADDR_RE='^198\.(18|19)\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$'

die() {
	echo "netns.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, XDP, tc)"
}

check_prefix() {
	[[ "$1" =~ ^[a-z][a-z0-9]{0,12}$ ]] ||
		die "bad prefix '$1': 1-13 chars [a-z0-9], starting with a letter (veth names max 15)"
}

check_side() {
	[ "$1" = a ] || [ "$1" = b ] || die "bad side '$1': a or b"
}

peer_of() {
	if [ "$1" = a ]; then echo b; else echo a; fi
}

ns_exists() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"
}

# The namespaces of P must exist and be ours.
owned() {
	[ -f "$STATE/$1/owner" ] || die "no namespaces '$1a'/'$1b' created by this script (see: netns.sh show)"
	ns_exists "$1a" && ns_exists "$1b" || die "namespaces of '$1' are gone; run: netns.sh destroy $1"
}

check_addr() {
	[[ "$1" =~ $MN_ADDR_RE ]] || die "bad address '$1': must be 198.18.x.y/len or 198.19.x.y/len (198.18.0.0/15)"
	local o3=${BASH_REMATCH[2]} o4=${BASH_REMATCH[3]} len=${BASH_REMATCH[4]}
	[ "$o3" -le 255 ] && [ "$o4" -le 255 ] && [ "$len" -ge 15 ] && [ "$len" -le 32 ] ||
		die "bad address '$1'"
}

# Compiles the eBPF objects into the state directory unless MN_BPF_DIR names
# a directory that has them; prints the directory.
bpf_dir() {
	local d f
	if [ -n "${MN_BPF_DIR:-}" ]; then
		[ -f "$MN_BPF_DIR/mn_xdp_drop.bpf.o" ] || die "MN_BPF_DIR=$MN_BPF_DIR has no mn_xdp_drop.bpf.o"
		echo "$MN_BPF_DIR"
		return
	fi
	command -v clang >/dev/null || die "clang not found and MN_BPF_DIR unset: cannot build the eBPF objects"
	d="$STATE/bpf"
	mkdir -p "$d" || die "cannot create $d"
	for f in mn_xdp_drop mn_xdp_corrupt mn_tc_dup; do
		if [ ! -f "$d/$f.bpf.o" ] || [ "$BPF_SRC/$f.bpf.c" -nt "$d/$f.bpf.o" ] ||
		   [ "$BPF_SRC/mn_fault.bpf.h" -nt "$d/$f.bpf.o" ] || [ "$BPF_SRC/mn_xdp_udp.bpf.h" -nt "$d/$f.bpf.o" ]; then
			clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
				-c "$BPF_SRC/$f.bpf.c" -o "$d/$f.bpf.o.tmp" >&2 ||
				die "clang failed on $BPF_SRC/$f.bpf.c (is libbpf-dev installed?)"
			mv "$d/$f.bpf.o.tmp" "$d/$f.bpf.o"
		fi
	done
	echo "$d"
}

# json_get JSON PYEXPR: evaluates PYEXPR on the parsed JSON (as `j`), prints it.
json_get() {
	python3 -c 'import json,sys
try:
    j = json.loads(sys.argv[1] or "null")
    v = eval(sys.argv[2])
except Exception:
    v = None
print("" if v is None else v)' "$1" "$2"
}

# prog_name ID: prints the name of program ID.
prog_name() {
	json_get "$(bpftool -j prog show id "$1" 2>/dev/null)" 'j["name"]'
}

# xdp_prog NS DEV: prints "ID NAME" of the XDP program on DEV, or nothing.
xdp_prog() {
	local j id
	j=$(ip netns exec "$1" bpftool -j net show dev "$2" 2>/dev/null) || return 0
	id=$(json_get "$j" '([x["id"] for x in j[0].get("xdp") or []] or [None])[0]')
	[ -z "$id" ] || echo "$id $(prog_name "$id")"
}

# tc_prog NS DEV: prints "ID NAME" of the tc egress program on DEV, or nothing.
tc_prog() {
	local j id
	j=$(ip netns exec "$1" bpftool -j net show dev "$2" 2>/dev/null) || return 0
	id=$(json_get "$j" '([t["id"] for t in j[0].get("tc") or [] if t.get("kind") == "clsact/egress"] or [None])[0]')
	[ -z "$id" ] || echo "$id $(prog_name "$id")"
}

# prog_map PROG_ID MAPNAME: prints the id of the program's map MAPNAME.
prog_map() {
	local ids id j
	ids=$(json_get "$(bpftool -j prog show id "$1" 2>/dev/null)" '" ".join(str(i) for i in j.get("map_ids", []))')
	for id in $ids; do
		j=$(bpftool -j map show id "$id" 2>/dev/null)
		[ "$(json_get "$j" 'j["name"]')" = "$2" ] && { echo "$id"; return 0; }
	done
	return 1
}

le32() {
	local v=$1
	printf '0x%02x 0x%02x 0x%02x 0x%02x' $((v & 255)) $(((v >> 8) & 255)) $(((v >> 16) & 255)) $(((v >> 24) & 255))
}

# set_cfg PROG_ID PPM PORT
set_cfg() {
	local m
	m=$(prog_map "$1" mn_cfg) || die "program $1 has no mn_cfg map"
	# shellcheck disable=SC2046
	bpftool map update id "$m" key 0 0 0 0 value $(le32 "$2") $(le32 "$3") ||
		die "bpftool map update of map $m failed"
}

# print_cnt PROG_ID LABEL
print_cnt() {
	local m j
	m=$(prog_map "$1" mn_cnt) || return 0
	j=$(bpftool -j map lookup id "$m" key 0 0 0 0 2>/dev/null)
	echo "$2 seen=$(json_get "$j" 'j["formatted"]["value"]["seen"]') hit=$(json_get "$j" 'j["formatted"]["value"]["hit"]')"
}

cmd_newprefix() {
	local base=${1:-mn}
	check_prefix "$base"
	local p
	p="$base$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	[ ${#p} -le 13 ] || p="${p:0:13}"
	check_prefix "$p"
	echo "$p"
}

cmd_create() {
	local p=$1 ipa="" ipb="" mtu=1500 offload=0 s ns dev
	shift
	check_prefix "$p"
	while [ $# -gt 0 ]; do
		case "$1" in
		--ip) ipa=198.18.0.1/24; ipb=198.18.0.2/24; shift ;;
		--ip-a) [ $# -ge 2 ] || die "--ip-a needs an address"; ipa=$2; shift 2 ;;
		--ip-b) [ $# -ge 2 ] || die "--ip-b needs an address"; ipb=$2; shift 2 ;;
		--mtu) [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 576 ] && [ "$2" -le 9000 ] ||
			die "--mtu needs 576..9000"; mtu=$2; shift 2 ;;
		--keep-offload) offload=1; shift ;;
		*) die "create: unknown option '$1'" ;;
		esac
	done
	[ -z "$ipa" ] || check_addr "$ipa"
	[ -z "$ipb" ] || check_addr "$ipb"
	need_root
	if [ -f "$STATE/$p/owner" ]; then
		:	# ours already: bring it to the requested shape below
	elif ns_exists "${p}a" || ns_exists "${p}b"; then
		die "namespace ${p}a or ${p}b exists but was not created by netns.sh: pick another prefix"
	fi
	mkdir -p "$STATE/$p" || die "cannot create $STATE/$p"
	echo "$$ $(date +%s)" > "$STATE/$p/owner"
	for s in a b; do
		ns="$p$s"
		ns_exists "$ns" || ip netns add "$ns" || die "ip netns add $ns failed"
		# Off before the veth end moves in, so it never gets an IPv6 address.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || die "sysctl in $ns failed"
		ip -n "$ns" link set lo up || die "lo up in $ns failed"
	done
	if ! ip -n "${p}a" link show "${p}a0" >/dev/null 2>&1; then
		# Create both ends inside the namespaces: nothing appears in the
		# caller's namespace, even for a moment.
		ip -n "${p}a" link add "${p}a0" type veth peer name "${p}b0" netns "${p}b" ||
			die "ip link add veth ${p}a0/${p}b0 failed"
	fi
	for s in a b; do
		ns="$p$s"; dev="$p${s}0"
		ip -n "$ns" link set "$dev" mtu "$mtu" || die "mtu $mtu on $dev failed"
		if [ $offload = 0 ]; then
			command -v ethtool >/dev/null || die "ethtool not found (needed to turn TX checksum offload off; or pass --keep-offload)"
			ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 ||
				die "ethtool -K $dev tx off failed"
		fi
		ip -n "$ns" link set "$dev" up || die "link up $dev failed"
	done
	[ -z "$ipa" ] || ip -n "${p}a" addr replace "$ipa" dev "${p}a0" || die "address $ipa on ${p}a0 failed"
	[ -z "$ipb" ] || ip -n "${p}b" addr replace "$ipb" dev "${p}b0" || die "address $ipb on ${p}b0 failed"
	wait_up "$p" 5 || die "veth ${p}a0/${p}b0 did not come up"
	echo "created ${p}a/${p}a0 <-> ${p}b/${p}b0 mtu $mtu${ipa:+ a=$ipa}${ipb:+ b=$ipb}"
}

# wait_up P SECONDS: polls until both ends report operstate UP.
wait_up() {
	local p=$1 deadline=$((SECONDS + $2)) s ok
	while :; do
		ok=1
		for s in a b; do
			[ "$(ip netns exec "$p$s" cat "/sys/class/net/$p${s}0/operstate" 2>/dev/null)" = up ] || ok=0
		done
		[ $ok = 1 ] && return 0
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

cmd_destroy() {
	local p=$1 s
	check_prefix "$p"
	need_root
	if [ ! -f "$STATE/$p/owner" ]; then
		if ns_exists "${p}a" || ns_exists "${p}b"; then
			die "namespaces of '$p' were not created by netns.sh: not touching them"
		fi
		return 0	# nothing of ours: already destroyed
	fi
	for s in a b; do
		# Deleting the namespace deletes its veth end, its XDP and tc state.
		if ns_exists "$p$s"; then
			ip netns del "$p$s" || die "ip netns del $p$s failed"
		fi
	done
	rm -rf "${STATE:?}/$p"
	echo "destroyed $p"
}

cmd_fault() {
	local p=$1 side=$2 kind=$3 ppm=$4 port=0 peer dir cur id
	shift 4
	check_prefix "$p"; check_side "$side"
	[[ "$ppm" =~ ^[0-9]+$ ]] && [ "$ppm" -le 1000000 ] || die "bad PPM '$ppm': 0..1000000"
	while [ $# -gt 0 ]; do
		case "$1" in
		--port) [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -le 65535 ] || die "--port needs 0..65535"
			port=$2; shift 2 ;;
		*) die "fault: unknown option '$1'" ;;
		esac
	done
	need_root; owned "$p"
	command -v bpftool >/dev/null || die "bpftool not found (apt-get install bpftool)"
	peer=$(peer_of "$side")
	dir=$(bpf_dir) || exit 1
	case "$kind" in
	drop|corrupt)
		cur=$(xdp_prog "$p$side" "$p${side}0")
		if [ -n "$cur" ] && [ "${cur#* }" != "mn_xdp_$kind" ]; then
			die "side $side already has XDP program '${cur#* }': clear it first"
		fi
		if [ -z "$cur" ]; then
			ip -n "$p$side" link set dev "$p${side}0" xdp obj "$dir/mn_xdp_$kind.bpf.o" sec xdp ||
				die "attaching mn_xdp_$kind to $p${side}0 failed"
			cur=$(xdp_prog "$p$side" "$p${side}0")
		fi
		;;
	dup)
		cur=$(tc_prog "$p$peer" "$p${peer}0")
		if [ -z "$cur" ]; then
			tc -n "$p$peer" qdisc replace dev "$p${peer}0" clsact || die "clsact on $p${peer}0 failed"
			tc -n "$p$peer" filter replace dev "$p${peer}0" egress pref 1 handle 1 bpf da \
				obj "$dir/mn_tc_dup.bpf.o" sec tc || die "attaching mn_tc_dup to $p${peer}0 egress failed"
			cur=$(tc_prog "$p$peer" "$p${peer}0")
		fi
		;;
	*) die "bad fault kind '$kind': drop, corrupt or dup" ;;
	esac
	id=${cur%% *}
	[ -n "$id" ] || die "program not found after attaching"
	set_cfg "$id" "$ppm" "$port"
	echo "fault $kind ppm=$ppm port=$port toward $side (prog $id)"
}

cmd_clear() {
	local p=$1 side=$2 what=${3:-all} peer cur
	check_prefix "$p"; check_side "$side"
	case "$what" in drop|corrupt|dup|rate|all) ;; *) die "bad clear kind '$what'" ;; esac
	need_root; owned "$p"
	peer=$(peer_of "$side")
	if [ "$what" = all ] || [ "$what" = drop ] || [ "$what" = corrupt ]; then
		cur=$(xdp_prog "$p$side" "$p${side}0")
		if [ -n "$cur" ] && { [ "$what" = all ] || [ "${cur#* }" = "mn_xdp_$what" ]; }; then
			ip -n "$p$side" link set dev "$p${side}0" xdp off || die "xdp off on $p${side}0 failed"
		fi
	fi
	if [ "$what" = all ] || [ "$what" = dup ]; then
		if tc -n "$p$peer" qdisc show dev "$p${peer}0" | grep -q clsact; then
			tc -n "$p$peer" qdisc del dev "$p${peer}0" clsact || die "removing clsact on $p${peer}0 failed"
		fi
	fi
	if [ "$what" = all ] || [ "$what" = rate ]; then
		if tc -n "$p$peer" qdisc show dev "$p${peer}0" root | grep -q '^qdisc tbf'; then
			tc -n "$p$peer" qdisc del dev "$p${peer}0" root || die "removing tbf on $p${peer}0 failed"
		fi
	fi
	echo "cleared $what toward $side"
}

cmd_counters() {
	local p=$1 side=$2 peer cur
	check_prefix "$p"; check_side "$side"
	need_root; owned "$p"
	peer=$(peer_of "$side")
	cur=$(xdp_prog "$p$side" "$p${side}0")
	[ -z "$cur" ] || print_cnt "${cur%% *}" "${cur#* }"
	cur=$(tc_prog "$p$peer" "$p${peer}0")
	[ -z "$cur" ] || print_cnt "${cur%% *}" "${cur#* }"
	return 0
}

now() {
	date +%s.%N
}

cmd_blackhole() {
	local p=$1 secs=$2 which=${3:-both} s sides t_down t_up
	check_prefix "$p"
	[[ "$secs" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "bad SECONDS '$secs'"
	awk -v s="$secs" 'BEGIN { exit !(s > 0 && s <= 600) }' || die "SECONDS must be in (0, 600]"
	case "$which" in a) sides=a ;; b) sides=b ;; both) sides="a b" ;; *) die "bad side '$which': a, b or both" ;; esac
	need_root; owned "$p"
	# down_at is taken once the link is down and up_at before it is
	# brought back: nothing can cross in [down_at, up_at]. Frames flow
	# again some time after up_at (carrier, qdisc activation and ARP: up to
	# about 1 s on this kernel), so the outage is longer than SECONDS.
	for s in $sides; do
		ip -n "$p$s" link set "$p${s}0" down || die "link down $p${s}0 failed"
	done
	t_down=$(now)
	sleep "$secs"
	t_up=$(now)
	for s in $sides; do
		ip -n "$p$s" link set "$p${s}0" up || die "link up $p${s}0 failed"
	done
	wait_up "$p" 5 || die "link did not come back up"
	echo "blackhole down_at=$t_down up_at=$t_up ready_at=$(now)"
}

cmd_rate() {
	local p=$1 side=$2 mbit=$3 peer burst
	check_prefix "$p"; check_side "$side"
	[[ "$mbit" =~ ^[0-9]+$ ]] && [ "$mbit" -ge 1 ] && [ "$mbit" -le 100000 ] || die "bad MBIT '$mbit': 1..100000"
	need_root; owned "$p"
	peer=$(peer_of "$side")
	# Burst: 4 ms worth of bytes, at least 32 full frames so a 1 kHz
	# timer can keep up; a short queue (latency) so excess is dropped.
	burst=$((mbit * 1000000 / 8 / 250))
	[ $burst -ge 49152 ] || burst=49152
	tc -n "$p$peer" qdisc replace dev "$p${peer}0" root tbf rate "${mbit}mbit" \
		burst "$burst" latency 20ms || die "tbf on $p${peer}0 failed"
	echo "rate ${mbit}mbit toward $side (tbf on $p${peer}0, burst $burst)"
}

cmd_show() {
	local only=${1:-} p s ns dev cur
	[ -d "$STATE" ] || { echo "(no namespaces created by netns.sh)"; return 0; }
	for p in $(ls "$STATE"); do
		[ -f "$STATE/$p/owner" ] || continue
		[ -z "$only" ] || [ "$only" = "$p" ] || continue
		echo "== $p (created by pid/time: $(cat "$STATE/$p/owner"))"
		for s in a b; do
			ns="$p$s"; dev="$p${s}0"
			ns_exists "$ns" || { echo "  $ns: missing"; continue; }
			echo "  $ns/$dev: $(ip -n "$ns" -br addr show dev "$dev" 2>/dev/null | tr -s ' ')" \
				"mac $(ip netns exec "$ns" cat "/sys/class/net/$dev/address" 2>/dev/null)"
			cur=$(xdp_prog "$ns" "$dev")
			[ -z "$cur" ] || echo "    xdp: $cur"
			cur=$(tc_prog "$ns" "$dev")
			[ -z "$cur" ] || echo "    tc egress: $cur"
			echo "    qdisc: $(tc -n "$ns" qdisc show dev "$dev" 2>/dev/null | tr '\n' ';')"
		done
		for s in a b; do
			ns_exists "$p$s" || continue
			cmd_counters "$p" "$s" 2>/dev/null | sed "s/^/  toward $s: /"
		done
	done
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
create)    [ $# -ge 1 ] || usage; cmd_create "$@" ;;
destroy)   [ $# -eq 1 ] || usage; cmd_destroy "$1" ;;
fault)     [ $# -ge 4 ] || usage; cmd_fault "$@" ;;
clear)     [ $# -ge 2 ] && [ $# -le 3 ] || usage; cmd_clear "$@" ;;
counters)  [ $# -eq 2 ] || usage; cmd_counters "$@" ;;
blackhole) [ $# -ge 2 ] && [ $# -le 3 ] || usage; cmd_blackhole "$@" ;;
rate)      [ $# -eq 3 ] || usage; cmd_rate "$@" ;;
show)      [ $# -le 1 ] || usage; cmd_show "$@" ;;
newprefix) [ $# -le 1 ] || usage; cmd_newprefix "$@" ;;
-h|--help|help) usage ;;
*) die "unknown command '$cmd' (see --help)" ;;
esac
