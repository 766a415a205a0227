#!/bin/bash
# Real Linux peers of one machnetd (namespace a, af_packet on a veth); the
# kernel of namespace b (198.18.0.2) is the peer. Linux ping gets every
# echo answered; a Linux UDP socket sending a well-formed machnet SYN
# (mn-inject --syn --complete) to a listening app gets a correct SYN-ACK;
# every frame machnetd sent, captured on the kernel's side, is valid
# Ethernet/IPv4/UDP with correct IP and UDP checksums (tshark when installed,
# otherwise tcpdump -vv's own checksum verdicts). Also: machnetd's files are
# private (run dir 0700, hugepage files 0600, DPDK runtime dir 0700).
. "$(dirname "$0")/mf_lib.sh"
mf_require
[ -n "${MN_INJECT:-}" ] && [ -x "$MN_INJECT" ] || mn_fail "MN_INJECT is not set"
command -v ping >/dev/null || mn_skip "no ping"
command -v tcpdump >/dev/null || mn_skip "no tcpdump"
mf_veth --ip-b 198.18.0.2/24
mf_mn a
A=$MF_INST_a
mf_server srv "$A" 198.18.0.1 888

mn_start cap ip netns exec "$NSB" tcpdump -i "$DEVB" --immediate-mode -U -w "$MN_TMP/cap.pcap" -s 0 'ip src 198.18.0.1'
CP=$MN_PID
mn_wait_log "$MN_TMP/cap.log" 'listening on' 10 "$CP" || mn_fail "tcpdump did not start"

ip netns exec "$NSB" ping -c 20 -i 0.05 -W 1 198.18.0.1 > "$MN_TMP/ping.out" 2>&1
mn_log "ping: $(grep -E 'packet loss' "$MN_TMP/ping.out")"
grep -q ' 0% packet loss' "$MN_TMP/ping.out" || mn_fail "ping lost packets"

for port in 40001 40002 40003; do
	ip netns exec "$NSB" "$MN_INJECT" --syn --dst-ip 198.18.0.1 --dst-port 888 --src-port $port \
		--timeout-ms 2000 --tries 3 --complete > "$MN_TMP/syn$port.out" 2>&1 ||
		mn_fail "no valid SYN-ACK from machnetd: $(cat "$MN_TMP/syn$port.out")"
	mn_log "syn from a Linux UDP socket (port $port): $(head -1 "$MN_TMP/syn$port.out")"
	grep -q '^synack ok' "$MN_TMP/syn$port.out" || mn_fail "unexpected mn-inject output"
done
# A SYN to a port nobody listens on is refused (RST), not answered.
ip netns exec "$NSB" "$MN_INJECT" --syn --dst-ip 198.18.0.1 --dst-port 889 --timeout-ms 500 \
	--tries 1 > "$MN_TMP/syn889.out" 2>&1 && mn_fail "SYN to a closed port got a SYN-ACK"

# Every frame is written as it arrives (--immediate-mode, -U): wait for the
# three SYN-ACKs to be on disk before stopping the capture.
deadline=$(mn_deadline 5)
while [ "$(tcpdump -nr "$MN_TMP/cap.pcap" udp 2>/dev/null | wc -l)" -lt 3 ] && [ $SECONDS -lt $deadline ]; do
	sleep 0.1
done
mn_stop "$CP" INT 10
n=$(tcpdump -nr "$MN_TMP/cap.pcap" 2>/dev/null | wc -l)
nudp=$(tcpdump -nr "$MN_TMP/cap.pcap" udp 2>/dev/null | wc -l)
mn_log "captured $n frames from machnetd, $nudp UDP"
[ "$nudp" -ge 3 ] || { tcpdump -nr "$MN_TMP/cap.pcap" 2>&1 | tail -8; mn_fail "fewer than 3 UDP frames from machnetd captured"; }
tcpdump -nvvr "$MN_TMP/cap.pcap" > "$MN_TMP/cap.txt" 2>/dev/null
grep -Eiq 'bad (udp |ip )?cksum|bad hdr length|truncated' "$MN_TMP/cap.txt" && {
	grep -Ei -B1 'bad|truncated' "$MN_TMP/cap.txt" | head; mn_fail "tcpdump reports bad frames"; }
ok=$(grep -c 'udp sum ok' "$MN_TMP/cap.txt")
[ "$ok" -ge "$nudp" ] || mn_fail "tcpdump verified only $ok of $nudp UDP checksums"
if command -v tshark >/dev/null; then
	tshark -r "$MN_TMP/cap.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'ip.checksum.status == 0 || udp.checksum.status == 0 || _ws.malformed || _ws.expert.severity >= error' \
		-T fields -e frame.number > "$MN_TMP/tshark.bad" 2> "$MN_TMP/tshark.err" ||
		mn_fail "tshark could not read the capture: $(tail -2 "$MN_TMP/tshark.err")"
	tb=$(grep -c '^[0-9]' "$MN_TMP/tshark.bad")
	# status 0 is "bad" (1 good, 2 unverified): any bad or malformed frame fails.
	[ "$tb" -eq 0 ] || { head "$MN_TMP/tshark.bad"; mn_fail "tshark flags $tb frames (bad checksum or malformed)"; }
	tshark -r "$MN_TMP/cap.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'udp.checksum.status == 1' -T fields -e frame.number > "$MN_TMP/tshark.good" 2>/dev/null
	tg=$(grep -c '^[0-9]' "$MN_TMP/tshark.good")
	mn_log "tshark: $tg UDP checksums good, $tb frames flagged"
	# ICMP/ARP frames have no UDP checksum status: only UDP ones count.
	[ "$tg" -ge "$nudp" ] || mn_fail "tshark: only $tg of $nudp UDP checksums good"
else
	mn_log "tshark not installed: tcpdump's verdicts only ($ok UDP checksums ok)"
fi

# Private files.
mode() { stat -c %a "$1"; }
[ "$(mode /run/machnet)" = 700 ] || mn_fail "/run/machnet mode $(mode /run/machnet)"
[ "$(mode "/var/run/dpdk/$A")" = 700 ] || mn_fail "/var/run/dpdk/$A mode $(mode "/var/run/dpdk/$A")"
nh=0
for f in /dev/hugepages/"$A"map_* "/run/machnet/$A.lock"; do
	[ -e "$f" ] || continue
	m=$(mode "$f")
	[ $((8#$m & 8#077)) -eq 0 ] || mn_fail "$f is mode $m: readable by others"
	nh=$((nh + 1))
done
[ "$nh" -ge 2 ] || mn_fail "no hugepage files of $A found"
# Apps' own sockets (mp_socket_<pid>_*) follow the app's umask; the 0700
# directory keeps others out of them anyway.
others=$(find "/var/run/dpdk/$A" -perm /077 ! -name 'mp_socket_*_*' | wc -l)
[ "$others" -eq 0 ] || mn_fail "files in /var/run/dpdk/$A open to others: $(find "/var/run/dpdk/$A" -perm /077)"
mn_log "modes: /run/machnet 700, /var/run/dpdk/$A 700 (nothing inside open to others), $((nh - 1)) hugepage files private"
mn_log PASS
