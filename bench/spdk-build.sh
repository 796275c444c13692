#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds SPDK's bdevperf, issue 15's userspace peer, for `scripts/bench spdk`.
# Usage: bench/spdk-build.sh SPDK-SOURCE OUT-DIR; prints the path of bdevperf.
# SPDK-SOURCE: an SPDK source tree, v24.01 (the version issue 15 measured: `git clone -b v24.01
# https://github.com/spdk/spdk`; SPDK is not packaged in Debian, and its submodules are not
# needed). It is copied to OUT-DIR and built there, against Debian's DPDK (pkg-config), with
# no ISA-L, tests, apps or vhost target, for a CPU QEMU's TCG emulates (`-cpu max`: SSE4.2).
set -euo pipefail
src=$(realpath "$1")
out=$(realpath -m "$2")
[ -f "$src/examples/bdev/bdevperf/bdevperf.c" ] || { echo "no SPDK source at $src" >&2; exit 2; }
bin=$out/build/examples/bdevperf
recipe=2 # bump when the steps below change: an older build is then made again
if [ -x "$bin" ] && [ "$out/.built-from" -nt "$src/VERSION" ] &&
	[ "$(cat "$out/.built-from")" = "$src $recipe" ]; then
	echo "$bin"
	exit 0
fi
for p in libdpdk-dev uuid-dev libssl-dev libaio-dev libnuma-dev; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ -z "${need[*]:-}" ] || apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

rm -rf "$out"
mkdir -p "$out"
# A copy: SPDK builds in its tree, and the edits below stay out of the source.
tar -C "$src" --exclude=.git -cf - . | tar -C "$out" -xf -
cd "$out"
# Debian 12 ships DPDK 22.11.11. SPDK v24.01 checks DPDK's version at start-up and refuses a
# 22.11 LTS release above 22.11.4, only because it had not seen them: an LTS release keeps
# its ABI (DPDK's ABI policy), and testpmd, built against the same libraries, works here.
sed -i 's/if (minor > 4) {/if (minor > 11) {/' lib/env_dpdk/pci_dpdk.c
grep -q 'minor > 11' lib/env_dpdk/pci_dpdk.c || { echo "cannot adapt pci_dpdk.c" >&2; exit 1; }
# SPDK does not accept VIRTIO_F_ACCESS_PLATFORM (bit 33), and QEMU refuses FEATURES_OK from
# a driver that does not when the device offers it, as every device of our test bed does
# (iommu_platform=on: the library always negotiates it). Through VFIO every address SPDK
# gives the device is an IOVA mapped in the IOMMU already, so accepting the bit changes
# nothing SPDK does; it only says so.
sed -i 's/1ULL << VIRTIO_RING_F_EVENT_IDX)$/1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_F_IOMMU_PLATFORM)/' \
	module/bdev/virtio/bdev_virtio_blk.c
grep -q VIRTIO_F_IOMMU_PLATFORM module/bdev/virtio/bdev_virtio_blk.c ||
	{ echo "cannot adapt bdev_virtio_blk.c" >&2; exit 1; }
# ISA-L (its crc and compression, which bdevperf does not use) is a submodule built with
# nasm; without it SPDK falls back to its own code, as on other architectures.
sed -i 's/^\tCONFIG\[ISAL\]=y$/\tCONFIG[ISAL]=n/' configure
mkdir -p isa-l && touch isa-l/autogen.sh
./configure --with-dpdk --target-arch=corei7 --disable-tests --disable-unit-tests \
	--disable-apps --without-vhost --without-crypto --without-fio --without-idxd \
	--without-usdt --without-fuse --without-nvme-cuse >"$out/configure.log" 2>&1 ||
	{ tail -20 "$out/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$out/make.log" 2>&1 || { tail -30 "$out/make.log" >&2; exit 1; }
[ -x "$bin" ] || { echo "make did not build $bin" >&2; exit 1; }
echo "$src $recipe" >"$out/.built-from"
echo "$bin"
