#!/bin/bash
# Misbehaving apps on two machnetd joined by memif, beside a verified stream:
#  - mf_evil attaches normally, then puts garbage on its own TX and used
#    rings (NULL, integers, its own memory, misaligned and interior pool
#    pointers, bad lengths/offsets/segment counts, a chain into app memory,
#    a cycle, the same mbuf twice): machnetd refuses each (chan_*_invalid),
#    keeps running, and the evil app itself still works afterwards.
#  - another app tries machnet_send and machnet_close on the streaming
#    app's flow tuple from its own channel: both are refused.
# The stream loses nothing.
. "$(dirname "$0")/mf_lib.sh"
mf_require
[ -n "${MF_EVIL:-}" ] && [ -x "$MF_EVIL" ] || mn_fail "MF_EVIL is not set"
mn_pair
mf_server srv "$MN_A" 198.18.0.1 7000
mf_server srv2 "$MN_A" 198.18.0.1 7001
mn_app stream "$MN_B" "$MF_STREAM" client 198.18.0.2 198.18.0.1 7000 --count 0 \
	--duration 600 --window 16 --max-size 16384 --progress 0.5 --timeout "$(mn_s 700)"
SP=$MN_PID
mn_wait_log "$MN_TMP/stream.log" 'progress .* got=[1-9]' 30 "$SP" || mn_fail "stream did not start"
read -r _ lip lport _ rip rport <<< "$(grep -m1 '^flow' "$MN_TMP/stream.log")"

inv() { mf_tel "$MN_B" /machnet/proto | awk -F= '$1 == "chan_tx_invalid" || $1 == "chan_used_invalid" { s += $2 } END { print s + 0 }'; }
i0=$(inv)
mn_app evil "$MN_B" "$MF_EVIL" 198.18.0.2 198.18.0.1 7001
EP=$MN_PID
mn_wait_exit "$EP" 60
[ "$MN_RC" -eq 0 ] || mn_fail "evil app: exit $MN_RC: $(cat "$MN_TMP/evil.log")"
read -r ntx nused <<< "$(sed -n 's/.*enqueued TX=\([0-9]*\) USED=\([0-9]*\).*/\1 \2/p' "$MN_TMP/evil.log")"
[ -n "$ntx" ] && [ "$ntx" -ge 10 ] && [ "$nused" -ge 10 ] || mn_fail "evil app enqueued too little: $(cat "$MN_TMP/evil.log")"
i1=$(inv)
# Every bad descriptor is refused. The duplicated mbuf (once on TX, twice
# on used, each ring's garbage in one enqueue) is well-formed at its first
# appearance; if the engine frees it and hands it back to the channel's
# fill ring before it looks at the used ring, its first used copy is a
# proper return too. The second used copy is always refused (same pass).
mn_log "evil: enqueued TX=$ntx USED=$nused garbage descriptors; machnetd refused $((i1 - i0))"
[ $((i1 - i0)) -ge $((ntx + nused - 2)) ] || mn_fail "only $((i1 - i0)) of $((ntx + nused)) refused"
kill -0 "$MN_PB" || mn_fail "machnetd b died"
grep -q 'round trip ok' "$MN_TMP/evil.log" || mn_fail "the evil app's own flow failed afterwards"

# Another app on the stream's flow tuple.
MACHNET_INSTANCE=$MN_B timeout "$(mn_s 30)" "$MF_STREAM" intrude "$lip" "$rip" "$lport" "$rport" > "$MN_TMP/intrude.log" 2>&1 ||
	mn_fail "intrusion not refused: $(cat "$MN_TMP/intrude.log")"
mn_log "foreign flow $lip:$lport -> $rip:$rport: $(tr '\n' ' ' < "$MN_TMP/intrude.log")"

g=$(grep progress "$MN_TMP/stream.log" | tail -1)
mn_stop "$SP" INT 60
[ "$MN_RC" -eq 0 ] || mn_fail "stream: exit $MN_RC: $(grep -E '^(fail|error)' "$MN_TMP/stream.log")"
mn_log "stream beside them: $(grep '^result' "$MN_TMP/stream.log")"
mn_stop_pair
mn_log PASS
