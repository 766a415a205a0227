#!/bin/bash
# Bad input from the wire while a verified stream runs: from machnetd b's
# namespace, mn-inject sends every malformed kind, RST/ACK/data for unknown
# flows, ACKs for unsent data (on a live flow's tuple) and a SYN flood of
# 10,000 half-open connections at machnetd a's listener. machnetd a counts
# each kind under the reason it names, its transport never holds more than
# max_half_open (256) + the live flows, and the stream loses nothing.
. "$(dirname "$0")/mf_lib.sh"
mf_require
[ -n "${MN_INJECT:-}" ] && [ -x "$MN_INJECT" ] || mn_fail "MN_INJECT is not set"
command -v ethtool >/dev/null || mn_skip "no ethtool"
mf_veth
mf_mn a
mf_mn b
A=$MF_INST_a
mf_server srv "$A" 198.18.0.1 7000
MAC_A=$(ip netns exec "$NSA" cat "/sys/class/net/$DEVA/address")

# The stream runs across all the injections (ends by itself at --duration).
mn_app stream "$MF_INST_b" "$MF_STREAM" client 198.18.0.2 198.18.0.1 7000 --count 0 \
	--duration 1000 --window 32 --max-size 16384 --progress 1 --timeout "$(mn_s 1100)"
SP=$MN_PID
mn_wait_log "$MN_TMP/stream.log" 'progress .* got=[1-9]' 20 "$SP" || mn_fail "stream did not start"
SPORT=$(awk '/^flow/ { print $3; exit }' "$MN_TMP/stream.log")

inject() {	# KIND COUNT [extra mn-inject args]
	local kind=$1 n=$2
	shift 2
	ip netns exec "$NSB" timeout "$(mn_s 20)" "$MN_INJECT" --iface "$DEVB" --dst-mac "$MAC_A" --dst-ip 198.18.0.1 \
		--dst-port 7000 --src-ip 198.18.0.2 --src-port "${IPORT:-40000}" --kind "$kind" \
		--count "$n" --rate "${RATE:-20000}" "$@" > "$MN_TMP/inj-$kind.out" 2>&1 ||
		mn_fail "mn-inject $kind: $(cat "$MN_TMP/inj-$kind.out")"
}

# check KIND [COUNTER]: after N frames of KIND, a drop-reason counter (engine
# drop_*, codec_*, or a transport "ignored/unexpected/stale/rst" counter)
# grew by at least N: COUNTER when given, else any (printed). Polled: the
# frames may still be in flight. The whole check, snapshots and injection
# included, has one deadline (15 s, scaled): a poll that starts before it
# is the last one. Each telemetry read is itself bounded (mn_tel), so a
# check ends within the deadline plus one read.
N=50
REASONS='^(drop_|codec_|rx_rst_ignored|rx_unexpected|rx_stale_acks|rst_unknown_sent|rx_syn_ignored|rx_synack_ignored|rx_not_local|rx_out_of_window|rx_bad_framing)'
check() {
	local kind=$1 want=${2:-} deadline hit t0=$SECONDS
	deadline=$(mn_deadline 15)
	mf_snap "$A" "$MN_TMP/before"
	inject "$kind" $N
	while :; do
		mf_snap "$A" "$MN_TMP/after"
		hit=$(awk -F= -v n=$N -v re="$REASONS" 'NR == FNR { b[$1] = $2; next }
			$1 ~ re && ($1 in b) && $2 - b[$1] >= n { print $1 }' "$MN_TMP/before" "$MN_TMP/after" | tr '\n' ' ')
		if [ -n "$want" ]; then
			[[ " $hit " == *" $want "* ]] && break
		else
			[ -n "$hit" ] && break
		fi
		[ $SECONDS -lt "$deadline" ] || { mn_log "$kind: $(mf_delta "$MN_TMP/before" "$MN_TMP/after")"; mn_fail "$kind: not counted under ${want:-a drop reason} in $((SECONDS - t0)) s"; }
		sleep 0.2
	done
	mn_log "$kind x$N: counted under $hit ($((SECONDS - t0)) s)"
}

check truncated-eth drop_ip_malformed
check truncated-ip drop_ip_malformed
check truncated-hdr drop_ip_malformed
check bad-ip-len drop_ip_malformed
check bad-udp-len codec_bad_udp_len
check bad-ip-csum drop_ip_bad_csum
check bad-udp-csum codec_bad_udp_csum
check bad-magic drop_udp_not_transport
check bad-net-flags codec_bad_net_flags
check bad-msg-flags codec_bad_msg_flags
check ctrl-with-payload codec_ctrl_with_payload
check rst-unknown rx_rst_ignored
check ack-unknown rx_unexpected
check data-unknown rst_unknown_sent
# ACKs for data never sent, on the live flow's own tuple: stale, ignored.
IPORT=$SPORT check ack-unsent rx_stale_acks

# SYN flood: 10,000 distinct sources; the transport holds at most 256
# half-open flows next to the live one, and counts the rest as ignored.
mf_snap "$A" "$MN_TMP/before"
RATE=20000 inject syn-flood 10000 &
IP_PID=$!
max=0
deadline=$(mn_deadline 30)
while kill -0 $IP_PID 2>/dev/null && [ $SECONDS -lt $deadline ]; do
	f=$(mn_stat "$A" proto_flows /machnet/proto)
	[ -n "$f" ] && [ "$f" -gt "$max" ] && max=$f
	sleep 0.1
done
wait $IP_PID || mn_fail "syn flood"
mf_snap "$A" "$MN_TMP/after"
f=$(mf_get "$MN_TMP/after" proto_flows); [ "$f" -gt "$max" ] && max=$f
ign=$(( $(mf_get "$MN_TMP/after" rx_syn_ignored) - $(mf_get "$MN_TMP/before" rx_syn_ignored) ))
mn_log "syn flood x10000: max transport flows seen $max, SYNs ignored $ign, $(mf_delta "$MN_TMP/before" "$MN_TMP/after" | tr ' ' '\n' | grep -E 'syn|flows|rst' | tr '\n' ' ')"
[ "$max" -le $((256 + 1)) ] || mn_fail "half-open flows not bounded: $max > 257"
[ "$max" -ge 200 ] || mn_fail "the flood never filled the half-open table ($max): did it arrive?"
[ "$ign" -ge $((10000 - 256 * 3)) ] || mn_fail "only $ign flood SYNs counted as ignored"
# Half-open flows expire (connect timeout 5 s).
mn_wait_stat "$A" flows 1 15 >/dev/null || true
deadline=$(mn_deadline 20)
# (An unreadable count is not "expired": it waits like a high one.)
while f=$(mn_stat "$A" proto_flows /machnet/proto) || f=999; [ "$f" -gt 1 ]; do
	[ $SECONDS -lt $deadline ] || mn_fail "half-open flows did not expire"
	sleep 0.5
done

# The stream lost nothing across all of it.
mn_stop "$SP" INT 60
[ "$MN_RC" -eq 0 ] || mn_fail "stream: exit $MN_RC: $(grep -E '^(fail|error)' "$MN_TMP/stream.log")"
mn_log "stream beside the bad input: $(grep '^result' "$MN_TMP/stream.log")"
kill -0 "$MF_PID_a" || mn_fail "machnetd a died"
mn_log PASS
