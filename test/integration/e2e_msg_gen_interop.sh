#!/bin/bash
# msg_gen against Machnet's msg_gen layout, two stacks over memif:
#  1. a server that answers as Machnet's msg_gen server does (--layout
#     machnet: the window slot echoed, Machnet's pattern after it): our
#     client detects it, measures (RPC/s, RTT) and verifies the slot and the
#     pattern of every response; 0 lost, 0 mismatched.
#  2. the same server with a client that requires our layout (--layout mp):
#     a clear message and exit status 4 at the first response.
#  3. our server (auto) and our client: the server detects our layout and
#     echoes every request; --verify checks every byte; 0 lost, 0 mismatched.
#  4. our client sending exactly Machnet's requests (--layout machnet) to
#     our auto server: answered in Machnet's layout, verified.
#  5. a server that is no msg_gen (hello_world's): the format is not
#     recognised, said, exit status 4, promptly.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_apps
mn_require_hugepages 600
mn_pair

mn_app mg-compat "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --local_port 888 --layout machnet
CP=$MN_PID
mn_app mg-auto "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --local_port 889
AP=$MN_PID
mn_app hello "$MN_A" "$MN_HELLO_WORLD" --local 198.18.0.1
HP=$MN_PID
mn_wait_log "$MN_TMP/mg-compat.log" 'server listening' 20 "$CP" || mn_fail "msg_gen --layout machnet server"
mn_wait_log "$MN_TMP/mg-auto.log" 'server listening' 20 "$AP" || mn_fail "msg_gen server"
mn_wait_log "$MN_TMP/hello.log" 'listening on' 20 "$HP" || mn_fail "hello_world server"

client() {	# NAME EXPECTED-EXIT client options...
	local name=$1 want=$2 rc
	shift 2
	MACHNET_INSTANCE=$MN_B timeout 60 "$MN_MSG_GEN" --local_ip 198.18.0.2 \
		--remote_ip 198.18.0.1 "$@" > "$MN_TMP/$name.log" 2>&1
	rc=$?
	[ "$rc" -eq "$want" ] || mn_fail "msg_gen $*: exit $rc, wanted $want: $(tail -5 "$MN_TMP/$name.log")"
	grep -A4 'summary' "$MN_TMP/$name.log" | sed "s/^/[$name] /"
}
measured() {	# NAME: a summary with a positive rate and RTT, nothing lost
	local log=$MN_TMP/$1.log
	grep -Eq 'lost 0 +mismatched 0' "$log" || mn_fail "$1: losses or mismatches"
	grep -Eq '^  RPC/s: [1-9][0-9]*$' "$log" || mn_fail "$1: no RPC/s measured"
	grep -Eq '^  RTT us: p50 [0-9.]*[1-9]' "$log" || mn_fail "$1: no RTT measured"
}

# 1. Machnet's server layout: measured and verified as far as it goes.
client compat 0 --remote_port 888 --verify --msg_window 8 --msg_nr 20000 --warmup 0 \
	--json "$MN_TMP/compat.json"
measured compat
grep -q 'received 20000 ' "$MN_TMP/compat.log" || mn_fail "compat: not every request answered"
grep -q 'server answers in machnet layout' "$MN_TMP/compat.log" || mn_fail "compat: layout not detected"
grep -q 'layout: machnet (Machnet.s server layout: slot and pattern verified)' "$MN_TMP/compat.log" ||
	mn_fail "compat: summary does not say what was verified"
grep -q '"layout": "machnet"' "$MN_TMP/compat.json" || mn_fail "compat: JSON layout"
grep -q 'first request in mp layout' "$MN_TMP/mg-compat.log" || mn_fail "compat server did not see our request"

# 2. Our layout required, Machnet's answers: said at once.
t0=$SECONDS
client need-mp 4 --remote_port 888 --layout mp --msg_window 4 --duration 30
[ $((SECONDS - t0)) -lt 20 ] || mn_fail "need-mp: took $((SECONDS - t0)) s to give up"
grep -q "is in Machnet's layout; expected machnet-mp's layout (--layout mp)" "$MN_TMP/need-mp.log" ||
	mn_fail "need-mp: no clear message: $(tail -3 "$MN_TMP/need-mp.log")"

# 3. Both ends ours: every byte verified.
client ours 0 --remote_port 889 --verify --msg_window 32 --msg_nr 50000 --warmup 0 --msg_size 4000
measured ours
grep -q 'received 50000 ' "$MN_TMP/ours.log" || mn_fail "ours: not every request answered"
grep -q 'layout: mp (both ends machnet-mp: every byte verified)' "$MN_TMP/ours.log" ||
	mn_fail "ours: not verified as both ends ours"
grep -q 'first request in mp layout' "$MN_TMP/mg-auto.log" || mn_fail "auto server did not detect our layout"

# 4. Machnet's requests to our server: Machnet's answers.
client as-machnet 0 --remote_port 889 --layout machnet --verify --msg_window 8 --msg_nr 20000 \
	--warmup 0 --msg_size 64
measured as-machnet
grep -q 'layout: machnet' "$MN_TMP/as-machnet.log" || mn_fail "as-machnet: layout"
grep -q 'first request in machnet layout' "$MN_TMP/mg-auto.log" ||
	mn_fail "auto server did not detect Machnet's layout"

# 5. Not a msg_gen at all.
t0=$SECONDS
# (100 B: hello_world's buffer is 1 KiB; it answers "hello, " and the
# request up to its first NUL, which is in the slot.)
client not-mg 4 --remote_port 31580 --msg_window 1 --msg_size 100 --duration 30
[ $((SECONDS - t0)) -lt 20 ] || mn_fail "not-mg: took $((SECONDS - t0)) s to give up"
grep -q 'is in neither msg_gen layout' "$MN_TMP/not-mg.log" ||
	mn_fail "not-mg: no clear message: $(tail -3 "$MN_TMP/not-mg.log")"

for p in "$CP" "$AP"; do
	mn_stop "$p" INT 10
	[ "$MN_RC" -eq 0 ] || mn_fail "msg_gen server $p: exit status $MN_RC"
done
mn_stop "$HP" INT 10
mn_stop_pair
mn_log "PASS"
