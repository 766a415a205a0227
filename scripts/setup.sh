#!/usr/bin/env bash
# setup.sh: make a Debian 12 machine ready for machnet-mp, idempotently.
#
#   scripts/setup.sh [--hugepages N] [--builddir DIR] [--no-install] [--no-build]
#
# Installs the Debian packages the project needs (only what is missing),
# reserves 2 MiB hugepages and mounts hugetlbfs if needed, creates
# /run/machnet, and builds the project with meson/ninja. Needs root for the
# first three steps; run it again at any time, it only does what is missing.
set -euo pipefail

HUGEPAGES=${MN_HUGEPAGES:-1536}   # 3 GiB: two stacks (512 MiB each) plus apps and tests
BUILDDIR=build
DO_INSTALL=1
DO_BUILD=1
top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
	cat <<USAGE
Options:
  --hugepages N   reserve at least N 2 MiB hugepages (default $HUGEPAGES, env MN_HUGEPAGES)
  --builddir DIR  meson build directory, relative to the repository (default build)
  --no-install    do not install Debian packages
  --no-build      do not build
  -h, --help      this text
USAGE
}

while [ $# -gt 0 ]; do
	case "$1" in
	--hugepages) HUGEPAGES=$2; shift 2 ;;
	--builddir) BUILDDIR=$2; shift 2 ;;
	--no-install) DO_INSTALL=0; shift ;;
	--no-build) DO_BUILD=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

say() { echo "setup: $*"; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: $1 needs root; run: sudo $0" >&2
		exit 1
	fi
}

PACKAGES="build-essential pkg-config meson ninja-build dpdk dpdk-dev libdpdk-dev
libconfig-dev libcunit1-dev clang llvm libbpf-dev iproute2 iputils-ping python3 procps
util-linux kmod bpftool ethtool tcpdump tshark debhelper dpkg-dev lintian groff man-db systemd"

if [ "$DO_INSTALL" = 1 ]; then
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		need_root "installing packages"
		say "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	else
		say "packages present"
	fi
fi

# Hugepages: 2 MiB pages, reserved system-wide, never lowered by this script.
cur=$(cat /proc/sys/vm/nr_hugepages)
if [ "$cur" -lt "$HUGEPAGES" ]; then
	need_root "reserving hugepages"
	echo "$HUGEPAGES" > /proc/sys/vm/nr_hugepages
	cur=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$cur" -lt "$HUGEPAGES" ]; then
		echo "setup.sh: asked for $HUGEPAGES hugepages, the kernel gave $cur (memory fragmented?)" >&2
		exit 1
	fi
fi
say "hugepages: $cur x 2 MiB"

if ! grep -qs ' hugetlbfs ' /proc/mounts; then
	need_root "mounting hugetlbfs"
	mkdir -p /dev/hugepages
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
	say "mounted hugetlbfs on /dev/hugepages"
fi

if [ "$(id -u)" -eq 0 ]; then
	# machnetd's runtime directory: sockets, locks; root only (see docs/SECURITY).
	install -d -m 0700 /run/machnet
fi

if [ "$DO_BUILD" = 1 ]; then
	cd "$top"
	if [ ! -f "$BUILDDIR/build.ninja" ]; then
		meson setup "$BUILDDIR" >/dev/null
	fi
	ninja -C "$BUILDDIR" >/dev/null
	say "built in $top/$BUILDDIR"
fi
