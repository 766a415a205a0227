#!/bin/sh
# The include rules of the tree (docs/ARCHITECTURE.md), checked on the
# sources' "quoted" includes (angle-bracket ones are system and DPDK headers):
#   apps/           machnet.h, or a header of apps/ itself
#   proto/          only headers of proto/ (a plain C library: no EAL, no
#                   primary, no library)
#   secondary-lib/  only headers of secondary-lib/ (nothing of primary/)
# primary/ may include anything. Usage: check_includes.sh SRCROOT, exit 1
# with one line per forbidden include; check_includes.sh --selftest shows
# that a planted forbidden include is caught and a clean tree passes.
set -u

check() {
	root=$1
	bad=0
	for area in apps proto secondary-lib; do
		[ -d "$root/$area" ] || continue
		for f in $(find "$root/$area" -name '*.[ch]' | sort); do
			for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
				base=${h##*/}
				ok=0
				case $area in
				apps)
					if [ "$h" = machnet.h ]; then
						ok=1
					elif [ "$base" = "$h" ] && [ -n "$(find "$root/apps" -name "$h" | head -1)" ]; then
						ok=1
					fi
					;;
				*)
					if [ "$base" = "$h" ] && [ -f "$root/$area/$h" ]; then
						ok=1
					fi
					;;
				esac
				if [ $ok -eq 0 ]; then
					echo "${f#$root/}: #include \"$h\" is not allowed in $area/"
					bad=1
				fi
			done
		done
	done
	return $bad
}

if [ "${1:-}" = --selftest ]; then
	t=$(mktemp -d) || exit 1
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t/proto" "$t/apps/x" "$t/secondary-lib" "$t/primary"
	printf '#include "mn_wire.h"\n' > "$t/proto/a.c"
	: > "$t/proto/mn_wire.h"
	printf '#include "machnet.h"\n#include "local.h"\n' > "$t/apps/x/m.c"
	: > "$t/apps/x/local.h"
	: > "$t/secondary-lib/machnet.h"
	: > "$t/primary/mn_engine.h"
	check "$t" || { echo "selftest: a clean tree was refused"; exit 1; }
	for plant in 'proto/a.c:mn_engine.h' 'apps/x/m.c:mn_abi.h' \
		     'secondary-lib/l.c:../primary/mn_engine.h'; do
		pf=${plant%%:*}
		printf '#include "%s"\n' "${plant#*:}" >> "$t/$pf"
		if check "$t" > /dev/null; then
			echo "selftest: planted include ${plant#*:} in $pf was not caught"
			exit 1
		fi
		sed -i '$d' "$t/$pf"
		check "$t" > /dev/null || { echo "selftest: $pf not clean again"; exit 1; }
	done
	echo "selftest: ok"
	exit 0
fi
check "${1:?usage: check_includes.sh SRCROOT | --selftest}"
