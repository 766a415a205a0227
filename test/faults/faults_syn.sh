#!/bin/bash
# `mn-inject --syn` (the "Linux UDP socket gets a SYN-ACK" check) against a
# stand-in responder: a correct SYN-ACK passes and is ACKed with --complete;
# a SYN-ACK with ackno 2 and no answer at all both fail, within the bound.
. "$(dirname "$0")/lib.sh"
ft_require
ft_pair
RESP="$(dirname "$0")/synack_responder.py"

# respond NAME ACKNO: starts the responder in namespace b on port 888.
respond() {
	ft_start "$1" ip netns exec "$NSB" python3 "$RESP" "$IPB" 888 "$2" --ack-wait-ms 2000
	RP=$FT_PID
	ft_wait_ready "$1" "$RP"
}

respond good 1
ip netns exec "$NSA" "$MN_INJECT" --syn --dst-ip "$IPB" --dst-port 888 --timeout-ms 1000 \
	--tries 2 --complete > "$FT_TMP/syn-good" 2>&1
rc=$?
ft_join "$RP" 15
ft_log "good: $(cat "$FT_TMP/syn-good") / responder: $(tr '\n' ' ' < "$FT_TMP/good.out")"
[ $rc -eq 0 ] || ft_fail "valid SYN-ACK not recognised"
grep -q '^synack ok seqno=0 ackno=1 ' "$FT_TMP/syn-good" || ft_fail "unexpected output"
grep -q 'got ack nf=0x02 seq=1 ack=1' "$FT_TMP/good.out" || ft_fail "--complete sent no ACK 1/1"

respond badack 2
start=$SECONDS
ip netns exec "$NSA" "$MN_INJECT" --syn --dst-ip "$IPB" --dst-port 888 --timeout-ms 500 \
	--tries 2 > "$FT_TMP/syn-bad" 2>&1
rc=$?
ft_join "$RP" 15
ft_log "ackno 2: rc=$rc $(tr '\n' ' ' < "$FT_TMP/syn-bad")"
[ $rc -eq 1 ] || ft_fail "SYN-ACK with ackno 2 accepted"
grep -q 'reply ignored: .*net_flags=0x03 seqno=0 ackno=2' "$FT_TMP/syn-bad" || ft_fail "bad reply not reported"

start=$SECONDS
ip netns exec "$NSA" "$MN_INJECT" --syn --dst-ip "$IPB" --dst-port 889 --timeout-ms 500 \
	--tries 2 > "$FT_TMP/syn-none" 2>&1
rc=$?
ft_log "nobody: rc=$rc $(tr '\n' ' ' < "$FT_TMP/syn-none")"
[ $rc -eq 1 ] || ft_fail "no responder but rc $rc"
[ $((SECONDS - start)) -le 3 ] || ft_fail "2 tries of 500 ms took $((SECONDS - start)) s"
ft_log PASS
