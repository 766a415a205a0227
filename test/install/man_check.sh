#!/bin/bash
# Every man page formats without a single groff warning (-ww) for the
# terminal devices man(1) uses, and the generated pages left nothing of
# their sources out: each key of docs/CONFIG.md's tables is in
# machnet.conf(5), each machnet_* prototype of machnet.h in libmachnet(3).
#
#   man_check.sh CONFIG.md MACHNET.H PAGE...
set -u
md=$1 header=$2
shift 2
fail() { echo "man_check: FAIL: $*"; exit 1; }
command -v groff >/dev/null || { echo "man_check: SKIP: groff is not installed"; exit 77; }

for page in "$@"; do
	for dev in utf8 ascii; do
		out=$(groff -ww -man -T"$dev" -z "$page" 2>&1)
		[ -z "$out" ] || fail "groff -ww -man -T$dev $(basename "$page"): $out"
	done
	head -1 "$page" | grep -q '^\.TH ' || fail "$(basename "$page") does not start with .TH"
	grep -q '^\.SH NAME' "$page" || fail "$(basename "$page") has no NAME section"
done

for page in "$@"; do
	case "$(basename "$page")" in
	machnet.conf.5)
		n=0
		while read -r key; do
			grep -qF "\\fB$key\\fR" "$page" || fail "machnet.conf.5 lacks key '$key' of $md"
			n=$((n + 1))
		done < <(grep -E '^\| `[a-z_]+`' "$md" | sed -E 's/^\| `([a-z_]+)`.*/\1/')
		[ $n -gt 10 ] || fail "only $n keys found in $md"
		echo "man_check: machnet.conf.5 has all $n keys of $(basename "$md")" ;;
	libmachnet.3)
		n=0
		while read -r fn; do
			grep -qx "\\.SS $fn()" "$page" || fail "libmachnet.3 lacks $fn()"
			n=$((n + 1))
		done < <(grep -E '^[A-Za-z].*\bmachnet_[a-z_]+\(' "$header" | grep -oE '\bmachnet_[a-z_]+\(' | tr -d '(' | sort -u)
		echo "man_check: libmachnet.3 documents all $n functions of $(basename "$header")" ;;
	esac
done
echo "man_check: $# pages clean under groff -ww"
