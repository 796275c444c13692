#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks that the shared library exports exactly the global symbols of the version script,
# all vv_-prefixed, and that the test program above references every one of them.
set -eu
lib=$1 map=$2 abi_src=$3

exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" { print $3 }' |
	sed 's/@.*//' | sort -u)
listed=$(sed -n '/global:/,/local:/p' "$map" | grep -o 'vv_[a-z0-9_]*' | sort -u)

echo "1..3"
if [ "$exported" = "$listed" ]; then
	echo "ok 1 - exports match $(basename "$map")"
else
	echo "not ok 1 - exports differ from $(basename "$map")"
	diff -u "$(printf '%s\n' "$listed" > "${TMPDIR:-/tmp}/vv-listed.$$"; echo "${TMPDIR:-/tmp}/vv-listed.$$")" \
		- <<EOT | sed 's/^/# /'
$exported
EOT
	rm -f "${TMPDIR:-/tmp}/vv-listed.$$"
fi
bad=$(printf '%s\n' "$exported" | grep -v '^vv_' || true)
if [ -z "$bad" ]; then echo "ok 2 - every export is vv_-prefixed"; else echo "not ok 2 - stray exports: $bad"; fi
missing=""
# Whole words, taken literally: a substring match lets vv_vq_get_many stand in for vv_vq_get.
for s in $listed; do grep -qwF -- "$s" "$abi_src" || missing="$missing $s"; done
if [ -z "$missing" ]; then echo "ok 3 - test_abi.c references every export"; else echo "not ok 3 - test_abi.c lacks:$missing"; fi
