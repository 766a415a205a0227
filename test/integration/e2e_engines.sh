#!/bin/bash
# Several engines per stack (issue 15): frames reach the engine that owns
# their flow whatever queue they arrive on (mn_steer).
#  1. mn-a and mn-b with 2 engines each over a 2-queue memif link. Eight
#     apps at once: an echo client with 2 channels (one per engine) against
#     an echo server with 2 channels, and an echo client with one channel
#     against a server with one, verified messages of mixed sizes; three
#     msg_gen clients (--flows 8, --verify; one of them with a channel per
#     thread) against one msg_gen server with one channel, on engine 1
#     (--engine 1: machnet_attach_engine), which must take every flow
#     wherever its SYN lands. One msg_gen client is killed (SIGKILL)
#     half-way: the others do not notice. 100,000 messages (request-replies
#     and echoes) arrive intact and in order; frames were steered.
#  2. mn-a with 2 engines, mn-b with 1 and queues = 2 on its memif (memif
#     connects as many queue pairs as the end with fewer has, so the
#     1-engine end polls both): msg_gen both ways, verified.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
ECHO_N=${ECHO_N:-3000}	# per thread of the 2-channel echo pair
ECHO1_N=${ECHO1_N:-14000}	# the 1-channel echo pair (smaller messages)
REQS=${REQS:-40000}	# per msg_gen client that runs to the end (m1, m3)
two='s/engines = \[1\]/engines = [0, 1]/'

steered() {	# INSTANCE: frames steered out + in
	local o i
	o=$(mn_stat "$1" steered_out) && i=$(mn_stat "$1" steered_in) || mn_fail "$1: telemetry"
	echo $((o + i))
}

# --- 1. two engines on both sides
MN_PAIR_A=$two MN_PAIR_B=$two mn_pair
mn_wait_log "$MN_TMP/a.log" 'ready: 2 engine' 1 "$MN_PA" || mn_fail "mn-a: not 2 engines: $(grep ready: "$MN_TMP/a.log")"
mn_pool_base

mn_app esrv "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 7100 "$ECHO_N" --threads 2
ES=$MN_PID
# The msg_gen server asks for engine 1 (machnet_attach_engine): every flow
# to it lives there, whichever queue its frames arrive on.
mn_app msrv "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --local_port 7200 --engine 1
MS=$MN_PID
mn_wait_log "$MN_TMP/msrv.log" 'server listening' 20 "$MS" || mn_fail "msg_gen server"
grep -q 'channel on engine 1$' "$MN_TMP/msrv.log" ||
	mn_fail "msg_gen --engine 1: $(grep -m1 engine "$MN_TMP/msrv.log")"
mn_wait_log "$MN_TMP/esrv.log" 'listening' 20 "$ES" || mn_fail "echo server"
mn_app esrv1 "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 7110 "$ECHO1_N"
E1S=$MN_PID
mn_wait_log "$MN_TMP/esrv1.log" 'listening' 20 "$E1S" || mn_fail "1-channel echo server"

mn_app ecli "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 7100 "$ECHO_N" 7 4 \
	--threads 2 --flows 4 --max-size 300000
EC=$MN_PID
mn_app ecli1 "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 7110 "$ECHO1_N" 11 8 \
	--flows 4 --max-size 65536
E1C=$MN_PID
mn_app m3 "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 --remote_port 7200 \
	--threads 2 --flows 8 --msg_window 16 --msg_nr "$REQS" --verify --warmup 0
M3=$MN_PID
mn_app m1 "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 --remote_port 7200 \
	--flows 8 --msg_window 16 --msg_nr "$REQS" --verify --warmup 0
M1=$MN_PID
mn_app m2 "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 --remote_port 7200 \
	--flows 8 --msg_window 16 --verify --warmup 0 --duration 600
M2=$MN_PID
# Kill m2 once it has answers, while m1 and the echo client still run.
mn_wait_log "$MN_TMP/m2.log" 'RX +[1-9][0-9]* msg/s' 30 "$M2" || mn_fail "m2: no replies"
kill -KILL "$M2"
mn_wait_exit "$M2" 10
mn_log "killed msg_gen m2 (pid $M2) mid-run"

mn_wait_exit "$EC" 300
[ "$MN_RC" -eq 0 ] || mn_fail "echo client: exit $MN_RC: $(tail -3 "$MN_TMP/ecli.log")"
mn_wait_exit "$ES" 30
[ "$MN_RC" -eq 0 ] || mn_fail "echo server: exit $MN_RC: $(tail -3 "$MN_TMP/esrv.log")"
mn_wait_exit "$E1C" 300
[ "$MN_RC" -eq 0 ] || mn_fail "1-channel echo client: exit $MN_RC: $(tail -3 "$MN_TMP/ecli1.log")"
mn_wait_exit "$E1S" 30
[ "$MN_RC" -eq 0 ] || mn_fail "1-channel echo server: exit $MN_RC: $(tail -3 "$MN_TMP/esrv1.log")"
for m in m1 m3; do
	p=$M1; [ $m = m3 ] && p=$M3
	mn_wait_exit "$p" 300
	[ "$MN_RC" -eq 0 ] || mn_fail "$m: exit $MN_RC: $(tail -3 "$MN_TMP/$m.log")"
	grep -Eq "received $REQS +lost 0 +mismatched 0" "$MN_TMP/$m.log" ||
		mn_fail "$m: $(grep -A3 summary "$MN_TMP/$m.log")"
done
sa=$(steered "$MN_A"); sb=$(steered "$MN_B")
mn_log "2+2 engines, 8 apps: $((2 * ECHO_N + ECHO1_N)) echoes and $((2 * REQS)) request-replies verified" \
	"($((2 * ECHO_N + ECHO1_N + 2 * REQS)) messages); frames steered: mn-a $sa, mn-b $sb"
[ "$sa" -gt 0 ] && [ "$sb" -gt 0 ] || mn_fail "no frame was steered (mn-a $sa, mn-b $sb)"
for inst in "$MN_A" "$MN_B"; do
	d=$(mn_stat "$inst" steer_drop) || mn_fail "telemetry"
	mn_log "$inst: steer_drop=$d"
done
mn_stop "$MS" INT 10
mn_no_flows
mn_pools_back
mn_stop_pair

# --- 2. two engines against one, both ways
MN_PAIR_A=$two MN_PAIR_B='s/mtu = 1500;/mtu = 1500; queues = 2;/' mn_pair
grep -q 'queues = 2;' "$MN_TMP/b.conf" || mn_fail "mn-b's config has no queues = 2"
mn_app srva "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --local_port 7300
SA=$MN_PID
mn_app srvb "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --local_port 7301
SB=$MN_PID
mn_wait_log "$MN_TMP/srva.log" 'server listening' 20 "$SA" || mn_fail "server on mn-a"
mn_wait_log "$MN_TMP/srvb.log" 'server listening' 20 "$SB" || mn_fail "server on mn-b"
mn_app ba "$MN_B" "$MN_MSG_GEN" --local_ip 198.18.0.2 --remote_ip 198.18.0.1 --remote_port 7300 \
	--threads 2 --flows 4 --msg_window 8 --duration 5 --verify --warmup 0
BA=$MN_PID
mn_app ab "$MN_A" "$MN_MSG_GEN" --local_ip 198.18.0.1 --remote_ip 198.18.0.2 --remote_port 7301 \
	--threads 2 --flows 4 --msg_window 8 --duration 5 --verify --warmup 0
AB=$MN_PID
for c in ba ab; do
	p=$BA; [ "$c" = ab ] && p=$AB
	mn_wait_exit "$p" 60
	[ "$MN_RC" -eq 0 ] || mn_fail "$c: exit $MN_RC: $(tail -3 "$MN_TMP/$c.log")"
	grep -Eq "received [1-9][0-9]* +lost 0 +mismatched 0" "$MN_TMP/$c.log" ||
		mn_fail "$c: $(grep -A3 summary "$MN_TMP/$c.log")"
	mn_log "$c: $(grep -o 'received [0-9]*' "$MN_TMP/$c.log") verified"
done
mn_log "2 engines <-> 1 engine, both ways: mn-a steered $(steered "$MN_A") frames"
mn_stop "$SA" INT 10
mn_stop "$SB" INT 10
mn_stop_pair
mn_log "PASS"
