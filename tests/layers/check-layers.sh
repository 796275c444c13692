#!/bin/bash
# SPDX-License-Identifier: MIT
# The layers of docs/architecture.md, enforced: every project header a file includes must come
# from a layer that file may use, and the shared library must hold no host-tools code.
# Usage: check-layers.sh SRCDIR LIBVIRTIO_VFIO_SO LIBVV_HOST_A       (TAP on stdout)
set -uo pipefail
src=$1 so=$(realpath "$2") host=$(realpath "$3")
n=0 bad=0

# Folder -> what its files may include, besides headers of their own folder (a name without a
# slash is a file's own folder, or a component's include path: fuse's export.h for the CLI).
#   util       the bottom: depends on nothing here
#   vfio       VFIO: container, group, DMA, regions, interrupts
#   pci        the virtio-pci transport: implements the seam, core/transport.h
#   virtqueue  the rings
#   core       the device life cycle: opens the PCI transport through pci_transport.h only
#   devs       the drivers: the public API (vq.h included) and their own files
#   host       host tools (binding, in-use, names): the CLI's, never the library's
#   fuse       the FUSE export: the public API only
#   ublk       the ublk export: the public API only
#   fio        the fio engine: the public API (and fio's headers, from its source), and the
#              device name resolver (host/names.h, util/sysfs.h for PCI_BDF_LEN)
#   nbdkit     the nbdkit plugin: the public API and the device name resolver
#   cli        the tool: host tools, and the capability parser for `doctor`
allowed() {
	case "$1" in
	src/util) echo "util/" ;;
	src/vfio) echo "util/ vfio/" ;;
	src/pci) echo "util/ vfio/ pci/ core/transport.h" ;;
	src/virtqueue) echo "util/ virtqueue/" ;;
	src/core) echo "util/ virtqueue/ core/ pci/pci_transport.h" ;;
	src/devs) echo "util/ devs/" ;;
	src/host) echo "util/ host/" ;;
	src) echo "util/" ;;
	fuse) echo "" ;;
	ublk) echo "" ;;
	fio) echo "host/names.h util/sysfs.h" ;;
	nbdkit) echo "host/names.h util/sysfs.h" ;;
	cli) echo "util/ host/ pci/caps.h netstack/" ;;
	cli/netstack) echo "util/" ;;
	include/virtio-vfio) echo "" ;;
	esac
}

check_file() {
	local f=$1 dir rules inc ok r
	dir=$(dirname "$f")
	rules=$(allowed "$dir")
	while read -r inc; do
		[ -n "$inc" ] || continue
		# Public headers include no project header by quotes at all.
		if [ "$dir" = include/virtio-vfio ]; then
			echo "not ok $((++n)) - $f includes \"$inc\": a public header includes <virtio-vfio/...> only"
			bad=$((bad + 1))
			continue
		fi
		[[ $inc != */* ]] && continue
		[[ $inc == "${dir#src/}"/* ]] && continue
		ok=0
		for r in $rules; do
			if [[ $r == */ && $inc == "$r"* ]] || [ "$inc" = "$r" ]; then
				ok=1
				break
			fi
		done
		if [ $ok = 0 ]; then
			echo "not ok $((++n)) - $f includes \"$inc\": $dir may use only: ${rules:-its own headers}"
			bad=$((bad + 1))
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src/$f")
}

cd "$src" || exit 2
files=$(find src fuse ublk fio nbdkit cli include/virtio-vfio -name '*.[ch]' | sort)
for f in $files; do
	check_file "$f"
done
if [ $bad = 0 ]; then
	echo "ok $((++n)) - $(echo "$files" | wc -l) files include only from the layers they may use"
else
	echo "not ok $((++n)) - layer violations: $bad"
fi

# The shared library links no host-tools code: none of the host archive's functions is in it.
# Compiler-made symbols (the sanitizers' _sub_I_...) are in both and are none of ours.
host_fns=$(nm --defined-only "$host" 2>/dev/null | awk '$2 ~ /^[Tt]$/ && $3 !~ /^_/ {print $3}' | sort -u)
so_fns=$(nm --defined-only "$so" 2>/dev/null | awk '$2 ~ /^[Tt]$/ {print $3}' | sort -u)
if [ -z "$host_fns" ] || [ -z "$so_fns" ]; then
	echo "not ok $((++n)) - cannot list the functions of $host or $so"
	bad=$((bad + 1))
else
	both=$(comm -12 <(echo "$host_fns") <(echo "$so_fns"))
	if [ -n "$both" ]; then
		echo "not ok $((++n)) - libvirtio-vfio holds host-tools code: $(echo $both)"
		bad=$((bad + 1))
	else
		echo "ok $((++n)) - libvirtio-vfio holds none of the $(echo "$host_fns" | wc -l) host-tools functions"
	fi
fi
echo "1..$n"
[ $bad = 0 ]
