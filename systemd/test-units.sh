#!/bin/bash
# SPDX-License-Identifier: MIT
# test-units.sh SRCDIR CLI: systemd-analyze verify on the units (an instance of each
# template), pointed at the built CLI so that their commands exist. Skips (77) without
# systemd-analyze.
set -euo pipefail
src=$1 cli=$2
command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$src"/*.service.in; do
	sed "s|@bindir@|$(dirname "$cli")|g" "$f" >"$tmp/$(basename "$f" .in)"
done
# An instance of each template, named as one (verify takes no ':' in a file name).
cp "$tmp/virtio-vfio-blk@.service" "$tmp/virtio-vfio-blk@vvdisk0.service"
cp "$tmp/virtio-vfio-net@.service" "$tmp/virtio-vfio-net@vvnic0.service"
echo "1..3"
n=0
for u in virtio-vfio-persist.service virtio-vfio-blk@vvdisk0.service virtio-vfio-net@vvnic0.service; do
	n=$((n + 1))
	if out=$(cd "$tmp" && systemd-analyze verify --man=no "./$u" 2>&1) && [ -z "$out" ]; then
		echo "ok $n - systemd-analyze verify $u"
	else
		echo "not ok $n - systemd-analyze verify $u"
		echo "$out" | sed 's/^/# /'
		exit 1
	fi
done
