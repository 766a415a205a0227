#!/bin/bash
# The exported interface of libmachnet.so: SONAME libmachnet.so.0, every
# defined dynamic symbol is a machnet_* function of machnet.h under the
# version node MACHNET_0 (libmachnet.map), plus that node itself, and every
# machnet_* function machnet.h declares is exported.
#
#   symbols.sh LIBMACHNET.SO MACHNET.H
set -u
lib=$1 header=$2
fail() { echo "symbols: FAIL: $*"; exit 1; }
command -v nm >/dev/null && command -v readelf >/dev/null || { echo "symbols: SKIP: no binutils"; exit 77; }

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libmachnet.so.0 ] || fail "SONAME is '$soname', expected libmachnet.so.0"

# "ADDR TYPE NAME[@@VERSION]" (binutils >= 2.35 print the version; older
# ones need --with-symbol-versions, which newer ones accept too).
syms=$(nm -D --defined-only --with-symbol-versions "$lib" 2>/dev/null) ||
	syms=$(nm -D --defined-only "$lib") || fail "nm -D $lib"
exported=()
while read -r _ type name; do
	[ -n "$name" ] || { name=$type; type=?; }
	case "$name" in
	MACHNET_0 | MACHNET_0@@MACHNET_0)
		[ "$type" = A ] || fail "version node $name has type $type, expected A" ;;
	machnet_*@@MACHNET_0)
		exported+=("${name%@@MACHNET_0}") ;;
	machnet_*)
		fail "$name is exported without the version node MACHNET_0" ;;
	*)
		fail "$name ($type) is exported: only machnet_* may be (secondary-lib/libmachnet.map)" ;;
	esac
done <<<"$syms"

# Declarations only: names that open a prototype line (not mentions in comments).
declared=$(grep -E '^[A-Za-z].*\bmachnet_[a-z_]+\(' "$header" | grep -oE '\bmachnet_[a-z_]+\(' | tr -d '(' | sort -u)
got=$(printf '%s\n' "${exported[@]}" | sort -u)
[ -n "$declared" ] || fail "no machnet_* prototype found in $header"
missing=$(comm -23 <(echo "$declared") <(echo "$got"))
extra=$(comm -13 <(echo "$declared") <(echo "$got"))
[ -z "$missing" ] || fail "declared in machnet.h but not exported: $(echo $missing)"
[ -z "$extra" ] || fail "exported but not declared in machnet.h: $(echo $extra)"
echo "symbols: $(echo "$got" | wc -l) machnet_* functions under MACHNET_0, SONAME $soname, nothing else exported"
