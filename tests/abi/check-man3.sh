#!/bin/sh
# SPDX-License-Identifier: MIT
# Every exported function has a man3 page (scripts/kdoc-man3 finds its kernel-doc comment),
# and every page renders without a groff warning. TAP on stdout.
# Usage: check-man3.sh MAP KDOC-MAN3 HEADER...
set -eu
map=$1 kdoc=$2
shift 2
listed=$(sed -n '/global:/,$p' "$map" | grep -o 'vv_[a-z0-9_]*' | sort -u)
pages=$("$kdoc" --list "$@" | sed 's/\.3$//' | sort -u)
missing=$(printf '%s\n' "$listed" | while read -r s; do
	printf '%s\n' "$pages" | grep -qx "$s" || printf ' %s' "$s"
done)
echo "1..2"
if [ -z "$missing" ]; then echo "ok 1 - every export has a man3 page"; else echo "not ok 1 - no page for:$missing"; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$kdoc" -o "$dir" --version test "$@"
if command -v groff >/dev/null; then
	warn=$(groff -man -Tutf8 -ww -z "$dir"/*.3 2>&1)
	if [ -z "$warn" ]; then echo "ok 2 - pages render without warnings"; else echo "not ok 2 - $warn" | head -5; fi
else
	echo "ok 2 # SKIP no groff"
fi
