#!/usr/bin/env bash
# package.sh: build the Debian packages of machnet-mp, and check them.
#
#   scripts/package.sh [--out DIR] [--check]
#
# Copies the working tree (tracked and untracked files that git does not
# ignore) to DIR/src, runs `dpkg-buildpackage -us -uc -b` there and leaves
# the .deb, .changes and .buildinfo files in DIR (default build-deb/, which
# git ignores). With --check, then:
#   1. lintian on the .changes: no errors;
#   2. the .debs unpacked with dpkg -x into DIR/root (nothing is installed
#      on this machine);
#   3. systemd-analyze verify on the unpacked units (their paths pointed
#      into DIR/root, so the commands and man pages they name are checked);
#   4. the man pages under groff -ww, and libmachnet.so.0's exported symbols;
#   5. test/install/installed_stack.sh on DIR/root (root, hugepages): an app
#      built with pkg-config against two unpacked machnetd.
# Needs: dpkg-dev, debhelper, lintian, groff, systemd and the Build-Depends
# of debian/control. Ends with "package: OK" or the failed step.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
OUT=$top/build-deb
CHECK=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
	--check) CHECK=1; shift ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "package.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
say() { echo "package: $*"; }
die() { echo "package.sh: $*" >&2; exit 1; }

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$OUT/src/machnet-mp-$version
rm -rf "$OUT/src" "$OUT/root"
mkdir -p "$src"
(cd "$top" && git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$src" --) ||
	die "cannot copy the tree"
say "building $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b) > "$OUT/build.log" 2>&1 ||
	{ tail -40 "$OUT/build.log" >&2; die "dpkg-buildpackage failed (log: $OUT/build.log)"; }
rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mv "$OUT"/src/*.deb "$OUT"/src/*.changes "$OUT"/src/*.buildinfo "$OUT"/
say "built: $(cd "$OUT" && echo *.deb)"
[ "$CHECK" = 1 ] || exit 0

# 1. lintian
lintian --fail-on error --tag-display-limit 0 "$OUT"/*.changes > "$OUT/lintian.log" 2>&1 ||
	{ cat "$OUT/lintian.log" >&2; die "lintian reports errors"; }
say "lintian: no errors ($(grep -c '^[WI]:' "$OUT/lintian.log" || true) warnings/infos, $OUT/lintian.log)"

# 2. unpack
root=$OUT/root
mkdir -p "$root"
for d in "$OUT"/*.deb; do dpkg -x "$d" "$root"; done

# 3. systemd-analyze verify: it needs no running systemd, but checks that
# ExecStart= commands exist, so the unit paths are pointed into the tree.
command -v systemd-analyze >/dev/null || die "systemd-analyze is not installed (package systemd)"
vdir=$OUT/units
rm -rf "$vdir"; mkdir -p "$vdir"
for u in "$root"/lib/systemd/system/*; do
	sed -e "s#\([= ]\)/usr/#\1$root/usr/#g" -e "s#\([= ]\)/etc/#\1$root/etc/#g" "$u" > "$vdir/$(basename "$u")"
done
out=$(cd "$vdir" && MANPATH=$root/usr/share/man systemd-analyze verify \
	./machnetd@mn-a.service ./machnet-hugepages.service 2>&1) || die "systemd-analyze verify: $out"
[ -z "$out" ] || die "systemd-analyze verify: $out"
say "systemd-analyze verify: machnetd@.service, machnet-hugepages.service clean"

# 4. man pages, exported symbols
mdir=$OUT/man
rm -rf "$mdir"; mkdir -p "$mdir"
for p in "$root"/usr/share/man/man*/*.gz; do gzip -dc "$p" > "$mdir/$(basename "${p%.gz}")"; done
bash "$top/test/install/man_check.sh" "$top/docs/CONFIG.md" "$top/secondary-lib/machnet.h" "$mdir"/* ||
	die "man pages"
lib=$(find "$root" -name 'libmachnet.so.0.*' -type f | head -1)
bash "$top/test/install/symbols.sh" "$lib" "$root/usr/include/machnet.h" || die "exported symbols"

# 5. the unpacked stack at work
[ "$(id -u)" -eq 0 ] || die "the installed-stack test needs root (hugepages, DPDK)"
MN_INSTALL_ROOT=$root MN_SRC=$top MN_PREFIX=/usr MN_SYSCONFDIR=/etc \
	bash "$top/test/install/installed_stack.sh" || die "installed_stack on the unpacked .debs"
say "OK"
