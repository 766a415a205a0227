#!/bin/bash
# machnetd's command line and its refusals: --help documents every flag;
# --check validates (FILE:LINE on a bad file); missing hugepages are reported
# before EAL; a memif config probes no PCI device; a second machnetd with the
# same instance is refused before EAL with a clear message.
. "$(dirname "$0")/lib.sh"
mn_require_root
mn_require_machnetd
mn_require_hugepages 256

# --help: exit 0 and every flag documented.
"$MACHNETD" --help > "$MN_TMP/help.txt" 2>&1 || mn_fail "--help exit status"
for flag in -c --config --check -v --verbose --arp-probe -h --help '-- EAL-ARGS'; do
	grep -qe "$flag" "$MN_TMP/help.txt" || mn_fail "--help does not document $flag"
done

mn_instance mnit-cli; INST=$MN_INSTANCE
SOCK="$MN_TMP/memif.sock"
mn_conf "$MN_SRC/conf/mn-a.conf" "$MN_TMP/good.conf" "$INST" "s#socket=[^,\"]*#socket=$SOCK#"

# --check: good file.
out=$("$MACHNETD" --check "$MN_TMP/good.conf" 2>&1) || mn_fail "--check good: $out"
echo "$out" | grep -q ': OK$' || mn_fail "--check good printed: $out"

# --check: bad value on line 4, reported as FILE:4: and exit 1, EAL untouched.
printf 'instance = "%s";\nlcores = { main = 0; engines = [1]; };\n\nmemory = { mbufs = "lots"; };\n' \
	"$INST" > "$MN_TMP/bad.conf"
out=$("$MACHNETD" --check "$MN_TMP/bad.conf" 2>&1); rc=$?
[ $rc -eq 1 ] || mn_fail "--check bad: exit $rc"
echo "$out" | grep -q "^$MN_TMP/bad.conf:4: " || mn_fail "--check bad printed: $out"
# The same file with -c fails the same way before EAL.
out=$("$MACHNETD" -c "$MN_TMP/bad.conf" 2>&1); rc=$?
[ $rc -ne 0 ] || mn_fail "-c bad: exit 0"
echo "$out" | grep -q "^$MN_TMP/bad.conf:4: " || mn_fail "-c bad printed: $out"
echo "$out" | grep -q '^EAL:' && mn_fail "-c bad reached EAL: $out"

# Not enough hugepages: clear message, no EAL.
sed 's/hugepage_mb = [0-9]*/hugepage_mb = 900000/' "$MN_TMP/good.conf" > "$MN_TMP/big.conf"
out=$("$MACHNETD" -c "$MN_TMP/big.conf" 2>&1); rc=$?
[ $rc -ne 0 ] || mn_fail "900 GB of hugepages: exit 0"
echo "$out" | grep -q 'hugepages are free' || mn_fail "hugepage message: $out"
echo "$out" | grep -q '^EAL:' && mn_fail "hugepage shortage reached EAL: $out"

# A memif config probes no PCI device (EAL and PCI bus at debug level).
mn_start first "$MACHNETD" -c "$MN_TMP/good.conf" -- --log-level=eal,debug --log-level=bus.pci,debug
P1=$MN_PID
mn_wait_log "$MN_TMP/first.log" 'ready:' 20 "$P1" || mn_fail "first machnetd did not start"
grep -E '^machnetd\[.*\]: eal args:.* --no-pci( |$)' "$MN_TMP/first.log" > /dev/null ||
	mn_fail "EAL arguments lack --no-pci"
grep -q 'EAL: .*debug\|EAL: open shared lib' "$MN_TMP/first.log" ||
	mn_fail "EAL debug logging is not on: the PCI check would prove nothing"
if grep -Ei 'Probe PCI driver|PCI device [0-9a-f]{4}:' "$MN_TMP/first.log"; then
	mn_fail "a PCI device was scanned or probed"
fi

# A second machnetd with the same instance: refused, non-zero, before EAL.
mn_start second "$MACHNETD" -c "$MN_TMP/good.conf"
P2=$MN_PID
mn_wait_exit "$P2" 10
[ "$MN_RC" -ne 0 ] && [ "$MN_RC" -ne 124 ] || mn_fail "second instance: exit $MN_RC"
grep -q "instance '$INST' is already running (pid $P1" "$MN_TMP/second.log" ||
	mn_fail "second instance message: $(cat "$MN_TMP/second.log")"
grep -q '^EAL:' "$MN_TMP/second.log" && mn_fail "second instance reached EAL"
kill -0 "$P1" || mn_fail "the first instance died"

mn_stop "$P1" INT 20
[ "$MN_RC" -eq 0 ] || mn_fail "SIGINT: exit $MN_RC"
mn_log "PASS"
