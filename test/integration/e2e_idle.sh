#!/bin/bash
# Scaling down (issue 16), with the default engine.idle = "adaptive":
# 1. an idle pair of stacks with an idle epoll server and an idle connected
#    client: over 10 s each of the four processes uses under 2% of one CPU
#    (CPU time from /proc/PID/stat; "yield" used a whole CPU per engine);
# 2. the first request after 1 s of idleness is answered, then 1,000
#    request-replies 10 ms apart are all answered (their RTTs are logged;
#    no timing assertions);
# 3. the epoll example serves 1,000 flows from one thread.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
[ -x "${MN_EPOLL_ECHO:-}" ] || mn_skip "MN_EPOLL_ECHO not built"
mn_pair ${MN_IDLE_SED:+"$MN_IDLE_SED"}

mn_app srv "$MN_A" "$MN_EPOLL_ECHO" --local 198.18.0.1
SP=$MN_PID
mn_wait_log "$MN_TMP/srv.log" 'listening on' 20 "$SP" || mn_fail "epoll_echo server did not listen"

# CPU time of PID, all threads: clock ticks of utime + stime (/proc/PID/stat,
# fields after the command name, which is in parentheses), and microseconds
# run (/proc/PID/task/*/schedstat: the scheduler's exact sum, where the tick
# counts are samples: a thread that wakes briefly, often at a tick, is
# charged whole ticks).
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
run_us() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s / 1000 }'; }
hz=$(getconf CLK_TCK)

# 1. Idle: the client connects, then sits in epoll_wait for 12 s; the
# window is its seconds 1 to 11 (the engines have long fallen asleep).
mn_app idle-cli "$MN_B" "$MN_EPOLL_ECHO" --local 198.18.0.2 --remote 198.18.0.1 \
	--idle-ms 12000 --rounds 1
CP=$MN_PID
mn_wait_log "$MN_TMP/idle-cli.log" 'idle for' 20 "$CP" || mn_fail "client did not connect: $(cat "$MN_TMP/idle-cli.log")"
sleep 1
s0=$(mn_stat "$MN_A" engine_sleeps) || mn_fail "telemetry of mn-a"
declare -A t0 u0 tt
for p in "$MN_PA" "$MN_PB" "$SP" "$CP"; do
	t0[$p]=$(ticks "$p") || mn_fail "no /proc/$p/stat"
	u0[$p]=$(run_us "$p")
done
for f in /proc/"$MN_PA"/task/*/stat; do tt[$f]=$(sed 's/^.*) //' "$f" | awk '{ print $12 + $13 }'); done
sleep 10	# the measurement itself: nothing to await
# Which of machnetd's threads used it (for the log).
for f in /proc/"$MN_PA"/task/*/stat; do
	[ -n "${tt[$f]:-}" ] || continue
	mn_log "  mn-a thread $(cat "${f%stat}comm"): $(( $(sed 's/^.*) //' "$f" | awk '{ print $12 + $13 }') - tt[$f] )) ticks"
done
over=""
for p in "$MN_PA" "$MN_PB" "$SP" "$CP"; do
	t=$(ticks "$p") || mn_fail "process $p died while idle"
	d=$((t - t0[$p]))
	u=$(( $(run_us "$p") - u0[$p] ))
	name=$(cat "/proc/$p/comm")
	mn_log "idle 10 s: $name (pid $p) ran $(awk -v u=$u 'BEGIN { printf "%.3f s = %.2f%% of a CPU", u / 1e6, u / 1e5 }') (schedstat); $(awk -v d=$d -v hz=$hz 'BEGIN { printf "%.2f s", d / hz }') in /proc/PID/stat ticks"
	# under 2% of one CPU over 10 s = under 0.2 s
	[ "$u" -lt 200000 ] || over="$over $name($p)"
done
s1=$(mn_stat "$MN_A" engine_sleeps) || mn_fail "telemetry of mn-a"
mn_log "mn-a engine: $((s1 - s0)) sleeps in about 10 s"
[ -z "$over" ] || mn_fail "idle processes over 2% of a CPU:$over"
mn_wait_exit "$CP" 30
[ "$MN_RC" -eq 0 ] || mn_fail "idle client exit $MN_RC: $(cat "$MN_TMP/idle-cli.log")"
grep 'first RTT' "$MN_TMP/idle-cli.log" | sed 's/^/[after 12 s idle] /'

# 2. First request after 1 s idle, then 1,000 request-replies 10 ms apart.
out=$(MACHNET_INSTANCE=$MN_B timeout "$(mn_s 60)" "$MN_EPOLL_ECHO" --local 198.18.0.2 \
	--remote 198.18.0.1 --idle-ms 1000 --rounds 1000 --gap-us 10000 2>&1) ||
	mn_fail "spaced requests: $out"
echo "$out" | sed 's/^/[spaced] /'
echo "$out" | grep -q 'answered 1000/1000 ' || mn_fail "not every spaced request was answered"

# 3. 1,000 flows against the one-thread server, 3 rounds of a message on
# every flow at once.
out=$(MACHNET_INSTANCE=$MN_B timeout "$(mn_s 120)" "$MN_EPOLL_ECHO" --local 198.18.0.2 \
	--remote 198.18.0.1 --flows 1000 --rounds 3 --timeout 20000 2>&1) ||
	mn_fail "1,000 flows: $out"
echo "$out" | sed 's/^/[1000 flows] /'
echo "$out" | grep -q 'answered 3000/3000 ' || mn_fail "not every request of the 1,000 flows was answered"

mn_stop "$SP" TERM 10
[ "$MN_RC" -eq 0 ] || mn_fail "server exit $MN_RC: $(tail -3 "$MN_TMP/srv.log")"
grep 'echoed' "$MN_TMP/srv.log" | sed 's/^/[server] /'
n=$(sed -n 's/.* \([0-9]*\) flows accepted.*/\1/p' "$MN_TMP/srv.log")
[ "${n:-0}" -ge 1002 ] || mn_fail "server accepted ${n:-?} flows, expected 1,002"
mn_stop_pair
mn_log "PASS"
