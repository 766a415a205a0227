#!/bin/bash
# The installed stack, used the way a Debian host uses it: the files land
# where Debian expects them; hello_world, built outside the tree with only
# `pkg-config --cflags --libs libmachnet`, talks between two machnetd started
# from the installed binary with /etc/machnet-style configs derived from the
# installed mn-a.conf / mn-b.conf; machnetd tells a service manager it is
# ready and stopping (the datagrams of systemd's Type=notify, read here from
# sockets of our own).
#
# The installed tree is $MN_INSTALL_ROOT when set (scripts/package.sh: the
# .debs unpacked with dpkg -x), else `meson install --destdir` of $MN_BUILD.
# Paths inside it: $MN_PREFIX (default /usr) and $MN_SYSCONFDIR (/etc), as
# the build was configured (meson sets both for its own test).
. "$(dirname "$0")/../integration/lib.sh"
mn_require_root
mn_require_hugepages 600
command -v cc >/dev/null || mn_skip "no C compiler"
command -v pkg-config >/dev/null || mn_skip "no pkg-config"

ROOT=${MN_INSTALL_ROOT:-}
if [ -z "$ROOT" ]; then
	[ -n "${MN_BUILD:-}" ] || mn_fail "neither MN_INSTALL_ROOT nor MN_BUILD is set"
	ROOT=$MN_TMP/root
	meson install -C "$MN_BUILD" --destdir "$ROOT" --no-rebuild --quiet \
		> "$MN_TMP/install.log" 2>&1 || mn_fail "meson install --destdir failed"
	mn_log "meson install --destdir $ROOT"
fi
P=${MN_PREFIX:-/usr}
E=${MN_SYSCONFDIR:-/etc}
multiarch=$(cc -print-multiarch 2>/dev/null)
LIBDIR=$ROOT$P/lib/${multiarch:+$multiarch/}
LIBDIR=${LIBDIR%/}

# 1. Debian's layout (FHS under the prefix).
for f in "$P/sbin/machnetd" "$P/bin/msg_gen" "$P/bin/hello_world" "$P/bin/machnet-stat" \
	"$P/bin/mn-pingpong" "$P/bin/mn-rawecho" "$P/bin/mn-yieldchain" "$P/bin/mn-hiccup" \
	"${LIBDIR#"$ROOT"}/libmachnet.so.0" "${LIBDIR#"$ROOT"}/libmachnet.so" \
	"${LIBDIR#"$ROOT"}/pkgconfig/libmachnet.pc" "$P/include/machnet.h" \
	"$E/machnet/mn-a.conf" "$E/machnet/mn-b.conf" "$E/default/machnet" \
	"$P/lib/tmpfiles.d/machnet.conf" "$P/libexec/machnet/machnet-hugepages" \
	"$P/share/man/man8/machnetd.8" "$P/share/man/man5/machnet.conf.5" \
	"$P/share/man/man3/libmachnet.3" "$P/share/man/man1/msg_gen.1" \
	"$P/share/man/man1/machnet-stat.1" "$P/share/man/man1/hello_world.1"; do
	[ -e "$ROOT$f" ] || [ -e "$ROOT$f.gz" ] || mn_fail "not installed: $f"
done
units=$(find "$ROOT" -name 'machnetd@.service' -path '*/systemd/system/*')
[ "$(echo "$units" | wc -w)" = 1 ] || mn_fail "machnetd@.service installed $(echo "$units" | wc -w) times"
grep -qx "ExecStart=$P/sbin/machnetd -c $E/machnet/%i.conf" "$units" ||
	mn_fail "machnetd@.service does not run $P/sbin/machnetd -c $E/machnet/%i.conf"
[ -e "$ROOT$P/bin/machnetd" ] && mn_fail "machnetd is in $P/bin (sbin expected)"
mn_log "layout under $P and $E: sbin, bin, lib, include, pkgconfig, machnet/*.conf, units, man pages"

# 2. hello_world from outside the tree, flags from the installed .pc only.
mkdir -p "$MN_TMP/app"
cp "$MN_SRC/apps/hello_world/hello_world.c" "$MN_TMP/app/"
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
flags=$(pkg-config --cflags --libs libmachnet) || mn_fail "pkg-config libmachnet"
flags=$(echo $flags)	# one space between words, none at the end
mn_log "pkg-config --cflags --libs libmachnet: $flags"
[ "$flags" = "-I$ROOT$P/include -L$LIBDIR -lmachnet" ] ||
	mn_fail "expected exactly -I$ROOT$P/include -L$LIBDIR -lmachnet (no DPDK flags), got: $flags"

# shellcheck disable=SC2086
(cd "$MN_TMP/app" && cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o hello_world hello_world.c $flags) \
	> "$MN_TMP/cc.log" 2>&1 || mn_fail "building hello_world outside the tree: $(cat "$MN_TMP/cc.log")"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
HELLO=$MN_TMP/app/hello_world
readelf -d "$HELLO" | grep -q 'NEEDED.*\[libmachnet.so.0\]' || mn_fail "hello_world does not need libmachnet.so.0"
readelf -d "$HELLO" | grep -qE 'RPATH|RUNPATH' && mn_fail "hello_world carries an rpath"
export LD_LIBRARY_PATH=$LIBDIR
ldd "$HELLO" | grep -q "libmachnet.so.0 => $LIBDIR" || mn_fail "libmachnet.so.0 is not the installed one: $(ldd "$HELLO" | grep machnet)"

# 3. Two stacks from the installed machnetd and configs.
MACHNETD=$ROOT$P/sbin/machnetd
notify_listen() {	# notify_listen NAME: datagram socket; datagrams go to NAME.notify
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a") as out:
    print("bound", file=out, flush=True)
    while True:
        d = s.recv(4096).decode()
        print(d.replace("\n", " "), file=out, flush=True)
        if "STOPPING=1" in d:
            break' "$MN_TMP/$1.sock" "$MN_TMP/$1.notify" &
	MN_PIDS+=($!)
	mn_wait_log "$MN_TMP/$1.notify" '^bound' 10 || mn_fail "notify listener $1"
}
mn_instance inst-a; A=$MN_INSTANCE
mn_instance inst-b; B=$MN_INSTANCE
sock="s#socket=[^,\"]*#socket=$MN_TMP/memif.sock#"
cpu='s/engines = \[[0-9]*\]/engines = [1]/'
mkdir -p "$MN_TMP/etc/machnet"
mn_conf "$ROOT$E/machnet/mn-a.conf" "$MN_TMP/etc/machnet/$A.conf" "$A" "$sock" "$cpu"
mn_conf "$ROOT$E/machnet/mn-b.conf" "$MN_TMP/etc/machnet/$B.conf" "$B" "$sock" "$cpu"
for s in a b; do
	inst=$A; [ $s = b ] && inst=$B
	"$MACHNETD" --check "$MN_TMP/etc/machnet/$inst.conf" > "$MN_TMP/check-$s.log" 2>&1 ||
		mn_fail "machnetd --check $inst.conf"
	notify_listen "notify-$s"
	NOTIFY_SOCKET=$MN_TMP/notify-$s.sock mn_start "$s" "$MACHNETD" -c "$MN_TMP/etc/machnet/$inst.conf"
	eval "P${s^^}=\$MN_PID"
	mn_wait_log "$MN_TMP/$s.log" 'ready:' 20 "$MN_PID" || mn_fail "installed machnetd $inst did not start"
	mn_wait_log "$MN_TMP/notify-$s.notify" 'READY=1' 10 || mn_fail "machnetd $inst sent no READY=1"
done
mn_wait_log "$MN_TMP/a.log" 'link0 \(port [0-9]+\): up' 15 "$PA" || mn_fail "mn-a link down"
mn_wait_log "$MN_TMP/b.log" 'link0 \(port [0-9]+\): up' 15 "$PB" || mn_fail "mn-b link down"
mn_log "two installed machnetd up ($A, $B), both notified READY=1"

# 4. hello_world between them, and the installed machnet-stat.
mn_app hello-srv "$A" "$HELLO" --local 198.18.0.1 --count 1
SP=$MN_PID
mn_wait_log "$MN_TMP/hello-srv.log" 'listening on' 20 "$SP" || mn_fail "hello_world server did not listen"
out=$(MACHNET_INSTANCE=$B timeout 20 "$HELLO" --local 198.18.0.2 --remote 198.18.0.1 --timeout 2000 2>&1) ||
	mn_fail "hello_world client: $out"
mn_log "$out"
echo "$out" | grep -q 'reply "hello, Hello World!"' || mn_fail "no reply: $out"
mn_wait_exit "$SP" 10
[ "$MN_RC" -eq 0 ] || mn_fail "hello_world server exit status $MN_RC"
stat=$(timeout 20 "$ROOT$P/bin/machnet-stat" -i "$A" 2>&1) || mn_fail "machnet-stat -i $A: $stat"
echo "$stat" | grep -q 'link0' || mn_fail "machnet-stat shows no link0: $stat"
mn_log "hello_world (built outside the tree) answered across the installed stacks; machnet-stat reads them"

# 5. SIGTERM: clean exit 0, STOPPING=1 first.
mn_stop "$PB" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "machnetd $B exit status $MN_RC"
mn_stop "$PA" TERM 20
[ "$MN_RC" -eq 0 ] || mn_fail "machnetd $A exit status $MN_RC"
for s in a b; do
	grep -q 'STOPPING=1' "$MN_TMP/notify-$s.notify" || mn_fail "machnetd $s sent no STOPPING=1"
done
mn_app_locks_rm "$A"
mn_app_locks_rm "$B"
mn_log "PASS"
