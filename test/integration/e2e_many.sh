#!/bin/bash
# Many apps, many threads, at once: 4 echo-server apps on mn-a and 4 client
# apps on mn-b, each with 2 threads, each thread on its own channel
# (machnet_attach) with its own flows (2 per client thread, messages
# alternating between them). All 16 channels exchange seeded messages of
# mixed sizes (1 B .. 1 MiB, multi-packet ones included) concurrently; every
# echo must come back intact, on its flow, in that flow's order. Then no
# flows are left, the pools are back at their starting use and every app
# slot is free again.
. "$(dirname "$0")/lib.sh"
mn_e2e_require
mn_pair

APPS=4
THREADS=2
COUNT=${MN_MANY_COUNT:-150}	# per thread
MAXSZ=$((1 << 20))

mn_pool_base

SRV=()
for i in $(seq 0 $((APPS - 1))); do
	mn_app "srv$i" "$MN_A" "$MN_ECHO_CHECK" server 198.18.0.1 $((7000 + 10 * i)) \
		$((COUNT * 2)) --threads $THREADS
	SRV+=("$MN_PID")
done
for i in $(seq 0 $((APPS - 1))); do
	mn_wait_log "$MN_TMP/srv$i.log" '^listening' 20 "${SRV[$i]}" ||
		mn_fail "server app $i did not listen"
done
CLI=()
t0=$SECONDS
for i in $(seq 0 $((APPS - 1))); do
	mn_app "cli$i" "$MN_B" "$MN_ECHO_CHECK" client 198.18.0.2 198.18.0.1 \
		$((7000 + 10 * i)) $((COUNT * 2)) $((1000 + 100 * i)) 8 \
		--threads $THREADS --flows 2 --max-size $MAXSZ --deadline "$(mn_s ${MN_MANY_DEADLINE:-90})"
	CLI+=("$MN_PID")
done
# While they run, all 8 apps are registered on their stacks.
n=$(mn_apps_live "$MN_B")
[ "$n" = "$APPS" ] || mn_log "note: $n apps live on mn-b while clients run (some may have finished)"
for i in $(seq 0 $((APPS - 1))); do
	mn_wait_exit "${CLI[$i]}" 150
	if [ "$MN_RC" -ne 0 ]; then
		mn_dump_stats "$MN_A" "$MN_B"
		mn_fail "client app $i: exit $MN_RC: $(tail -5 "$MN_TMP/cli$i.log")"
	fi
	grep -c 'all intact and in order' "$MN_TMP/cli$i.log" | grep -qx $THREADS ||
		mn_fail "client app $i: not every thread reported success"
done
for i in $(seq 0 $((APPS - 1))); do
	mn_wait_exit "${SRV[$i]}" 20
	[ "$MN_RC" -eq 0 ] || mn_fail "server app $i: exit $MN_RC: $(tail -5 "$MN_TMP/srv$i.log")"
done
mn_log "$((APPS * THREADS)) client threads x $((COUNT * 2)) messages on 2 flows each, all verified, in $((SECONDS - t0)) s"
cat "$MN_TMP"/cli*.log | grep 'all intact' | sed "s/^/[$MN_TEST_NAME]   /"

mn_no_flows
mn_pools_back
for inst in "$MN_A" "$MN_B"; do
	n=$(mn_apps_live "$inst")
	[ "$n" = 0 ] || mn_fail "$inst: $n app slots still taken after every app exited"
done
mn_stop_pair
mn_log "PASS"
