#!/bin/bash
# The memif link between two machnetd (mn-a memif server, mn-b client) must
# carry traffic again after either end leaves cleanly (SIGTERM) and comes
# back. MN_RECONNECT_ROUNDS (default 10) rounds of each:
#  client-idle:   SIGTERM mn-b with no app attached, restart it;
#  client-busy:   SIGTERM mn-b under an app streaming to mn-a (the case of
#                 faults_mn_process step 5), restart it;
#  server:        SIGTERM mn-a, restart it (mn-b redials);
#  server-kill:   SIGKILL mn-a, restart it; mn-b must survive (a crash of
#                 the memif client in DPDK's interrupt thread was seen once).
# After each restart both links must report up and a short verified echo
# exchange (mn_echo_check, fresh connect) must succeed within a bounded time.
# A dead round is classed by mn-a's counters during the probe: "refused"
# when mn-b's SYNs reached mn-a (rx_unexpected grew: they hit a flow mn-a
# still holds on the same tuple), "link" when no frame of mn-b arrived. A
# working round where rx_unexpected grew is counted as "cleared": the
# restarted mn-b met such an old flow and the handshake got past it. The
# test prints the counts and fails when any round was dead.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
command -v dpdk-telemetry.py >/dev/null || mn_skip "no dpdk-telemetry.py"

ROUNDS=${MN_RECONNECT_ROUNDS:-10}
PORT=7400
# The connect timeout is a wall-clock deadline of the stack: on a loaded
# machine (MN_TIME_SCALE) a probe's handshake needs as much more.
mn_pair "/^transport = /d" "\$a transport = { cc = \"fixed\"; connect_timeout_ms = $(($(mn_s 3) * 1000)); };"

server() {	# NAME: echo server on mn-a
	mn_app "$1" "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 $PORT 1000000000
	SRV=$MN_PID SRVLOG=$1
	mn_wait_log "$MN_TMP/$1.log" '^listening' 20 "$SRV" || mn_fail "echo server $1 did not listen"
}

# probe NAME: a fresh flow from mn-b, 20 verified messages up to 4 KiB,
# done within 15 s. 0 when it worked.
probe() {
	MACHNET_INSTANCE=$MN_B timeout "$(mn_s 30)" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 $PORT \
		20 "$RANDOM" 4 --max-size 4096 --deadline "$(mn_s 15)" > "$MN_TMP/$1.log" 2>&1
}

# count INSTANCE ENDPOINT KEY: one counter (empty when unreadable).
count() {
	mn_tel_get "$@"
}

grew() {	# BEFORE AFTER: both read and AFTER > BEFORE
	[ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt "$1" ]
}

dead_report() {	# KIND ROUND
	[ -n "${REPORTED:-}" ] && return
	REPORTED=1
	mn_log "$1 round $2: probe failed: $(tail -n 3 "$MN_TMP/probe.log" | tr '\n' ' ')"
	# "refused" with no listener (rst_unknown_sent) is the echo server gone,
	# not an old flow on the tuple.
	if kill -0 "$SRV" 2>/dev/null; then
		mn_log "  echo server: alive"
	else
		mn_log "  echo server: exited: $(tail -n 2 "$MN_TMP/$SRVLOG.log" | tr '\n' ' ')"
	fi
	mn_log "  mn-a stats: $(mn_nonzero "$MN_A" /machnet/stats)"
	mn_log "  mn-a proto: $(mn_nonzero "$MN_A" /machnet/proto)"
	mn_log "  mn-a port:  $(mn_nonzero "$MN_A" /ethdev/stats,0)"
	mn_log "  mn-b stats: $(mn_nonzero "$MN_B" /machnet/stats)"
	mn_log "  mn-b proto: $(mn_nonzero "$MN_B" /machnet/proto)"
	mn_log "  mn-b port:  $(mn_nonzero "$MN_B" /ethdev/stats,0)"
}

relaunch() {	# a|b INSTANCE ROUND: that machnetd again, once stopped; sets MN_PID
	mn_app_locks_rm "$2"
	mn_start "$1$3" "$MACHNETD" -c "$MN_TMP/$1.conf"
	mn_wait_log "$MN_TMP/$1$3.log" 'link0 \(port [0-9]+\): up' 30 "$MN_PID" ||
		mn_fail "round $3: restarted mn-$1: no link"
}

restart_b() {	# ROUND
	mn_stop "$MN_PB" TERM 20
	[ "$MN_RC" -eq 0 ] || mn_fail "round $1: mn-b exit status $MN_RC after SIGTERM"
	relaunch b "$MN_B" "$1"; MN_PB=$MN_PID
}

restart_a() {	# ROUND [KILL]
	if [ "${2:-}" = KILL ]; then
		mn_stop "$MN_PA" KILL 20
		mn_stop "$SRV" KILL 10
		rm -f /dev/hugepages/"$MN_A"map_*; rm -rf "/var/run/dpdk/$MN_A"
	else
		mn_stop "$SRV" TERM 10
		mn_stop "$MN_PA" TERM 20
		[ "$MN_RC" -eq 0 ] || mn_fail "round $1: mn-a exit status $MN_RC after SIGTERM"
	fi
	relaunch a "$MN_A" "$1"; MN_PA=$MN_PID
	server "srv$1"
}

server srv0
probe probe || mn_fail "no traffic before any restart: $(cat "$MN_TMP/probe.log")"
mn_log "first exchange: $(grep -c . "$MN_TMP/probe.log") lines, ok"

KINDS="client-idle client-busy server server-kill"
declare -A DEAD REFUSED CLEARED
for kind in $KINDS; do DEAD[$kind]=0; REFUSED[$kind]=0; CLEARED[$kind]=0; done
t0=$SECONDS
for kind in $KINDS; do
	for ((r = 1; r <= ROUNDS; r++)); do
		n="$kind-$r"
		case $kind in
		client-idle)
			restart_b "$n" ;;
		client-busy)
			mn_app "busy$n" "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 $PORT \
				1000000 "$r" 4 --max-size 4096 --progress --deadline "$(mn_s 60)"
			BP=$MN_PID
			mn_wait_log "$MN_TMP/busy$n.log" '^progress [1-9]' 20 "$BP" || mn_fail "$n: stream did not flow"
			restart_b "$n"
			mn_wait_exit "$BP" 10 ;;
		server)
			restart_a "$n" ;;
		server-kill)
			restart_a "$n" KILL ;;
		esac
		kill -0 "$MN_PA" || mn_fail "$n: mn-a died"
		kill -0 "$MN_PB" || { wait "$MN_PB"; mn_fail "$n: mn-b died (exit $?)"; }
		u0=$(count "$MN_A" /machnet/proto rx_unexpected)
		f0=$(count "$MN_A" /machnet/proto rx_frames)
		ok=0
		probe probe && ok=1
		u1=$(count "$MN_A" /machnet/proto rx_unexpected)
		f1=$(count "$MN_A" /machnet/proto rx_frames)
		if [ $ok = 1 ]; then
			note=""
			if grew "$u0" "$u1"; then
				CLEARED[$kind]=$((CLEARED[$kind] + 1))
				note=" (after an old flow on the tuple was cleared)"
			fi
			mn_log "$n: reconnected link carries traffic$note"
		else
			DEAD[$kind]=$((DEAD[$kind] + 1))
			if grew "$u0" "$u1"; then
				REFUSED[$kind]=$((REFUSED[$kind] + 1))
				mn_log "$n: dead: refused (mn-a got $((f1 - f0)) frames, $((u1 - u0)) unexpected)"
			else
				mn_log "$n: dead: link (mn-a frames ${f0:-?} -> ${f1:-?})"
			fi
			dead_report "$kind" "$r"
			# Start the next round from a working link.
			restart_a "$n-recover"
			probe probe || mn_fail "$n: no traffic even after restarting mn-a"
		fi
	done
done
total=0
line=""
for kind in $KINDS; do
	line+=" $kind ${DEAD[$kind]}/$ROUNDS dead (${REFUSED[$kind]} refused), ${CLEARED[$kind]} old flow(s) cleared;"
	total=$((total + DEAD[$kind]))
done
mn_log "after reconnect:$line $((SECONDS - t0)) s"
[ "$total" -eq 0 ] || mn_fail "$total reconnect(s) carried no traffic"
mn_stop "$SRV" TERM 10
mn_stop_pair
mn_log "PASS"
