#!/bin/bash
# SPDX-License-Identifier: MIT
# Device names: every form (full and short PCI address, kernel name, serial:SERIAL, mac:MAC
# and the bare MAC) names the same function before attach, while attached (from the record
# attach keeps) and after detach; a serial two disks share is an error naming both. The
# export names its files by serial (vvname0), or vvblkN for a serial that is no safe file
# name (one with a colon); the BDF opens the same file without being listed. fio, tar and
# qemu-img take the names as written in virtio-vfio(1), where the BDF trips each of them.
#vm: timeout 300
#vm: topology rootport
#vm: blk vn0 serial=vvname0 size=16M
#vm: blk vn1 serial=bad:name size=8M
#vm: blk vd0 serial=vvdup size=8M
#vm: blk vd1 serial=vvdup size=8M
#vm: netpair vnet0 vnet1 mac0=52:54:00:00:0a:e0 mac1=52:54:00:00:0a:e1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
# The BDF a name resolves to: doctor resolves any DEVICE, attached or not, and says which.
bdf_of() { "$vv" doctor --json "$1" | jq -r .device; }

b0=$(vv_bdf_by_serial vvname0)
b1=$(vv_bdf_by_serial bad:name)
nb=$(vv_bdf_by_mac 52:54:00:00:0a:e0)
d0=$(disk_of vvname0)
d1=$(disk_of bad:name)
ifc=$(if_of 52:54:00:00:0a:e0)
echo "disk $b0 ($d0), disk $b1 ($d1), nic $nb ($ifc)"

check_names() { # WHEN: every form names the same function
	local n
	for n in "$b0" "${b0#0000:}" "$d0" serial:vvname0; do
		vv_assert_eq "$(bdf_of "$n")" "$b0" "$1: '$n'"
	done
	vv_assert_eq "$(bdf_of "$d1")" "$b1" "$1: '$d1'"
	vv_assert_eq "$(bdf_of serial:bad:name)" "$b1" "$1: 'serial:bad:name'"
	for n in "$ifc" mac:52:54:00:00:0a:e0 52:54:00:00:0A:E0; do
		vv_assert_eq "$(bdf_of "$n")" "$nb" "$1: '$n'"
	done
	# The bash completion offers the same names.
	for n in "$b0" "$d0" serial:vvname0 mac:52:54:00:00:0a:e0; do
		comp "${n%?}" | grep -qxF -- "$n" || vv_die "$1: completion lacks $n: $(comp "${n%?}")"
	done
	echo "ok: $1: the completion offers $b0, $d0, serial:vvname0 and the MAC"
}
. "$VV_REPO/cli/virtio-vfio.bash"
comp() { # the completions of "virtio-vfio info WORD"
	COMP_WORDS=(virtio-vfio info "$1") COMP_CWORD=2 COMPREPLY=()
	_virtio_vfio
	printf '%s\n' "${COMPREPLY[@]}"
}

check_names "before attach"
vv_refused 1 "serial 'vvdup' names 2 functions" "$vv" attach serial:vvdup
out=$("$vv" attach serial:vvdup 2>&1 >/dev/null) || true
for b in $(grep -lx vvdup /sys/block/vd*/serial); do
	b=$(vv_pci_of "$(dirname "$b")/device")
	[[ $out == *"$b"* ]] || vv_die "the ambiguity does not name $b: $out"
done
vv_refused 1 "no virtio function has the kernel name 'vdzz'" "$vv" attach vdzz
vv_refused 2 "is not a device name" "$vv" attach 'no:such:form'

# Attached by three different forms (--json: each outcome); the record keeps every name.
"$vv" attach --json serial:vvname0 "$d1" mac:52:54:00:00:0a:e0 | tee /tmp/att.json
vv_assert_eq "$(jq -r '[.version, (.devices[] | .device, .bdf, .result, .driver)] | join(" ")' /tmp/att.json)" \
	"1 serial:vvname0 $b0 attached virtio-pci $d1 $b1 attached virtio-pci mac:52:54:00:00:0a:e0 $nb attached virtio-pci" \
	"attach --json"
for b in "$b0" "$b1" "$nb"; do
	[ -s "/run/virtio-vfio/devices/$b" ] || vv_die "no record for $b"
done
[ ! -e "/sys/block/$d0" ] || vv_die "$d0 still there after attach"
check_names "attached"
"$vv" info "$d0" | grep -q "serial *vvname0" || vv_die "info by kernel name"
# blk bench opens through vv_blk_open_opts(): a ring of 64 entries; JSON with its schema version.
vv_assert_eq "$("$vv" blk bench --time 1 --queue-size 64 --json "$d0" | jq -r .version)" 1 \
	"blk bench --queue-size 64 --json by kernel name"

# -v after the command, as before it.
"$vv" info -v serial:vvname0 2>/tmp/v.err >/dev/null
"$vv" -v info serial:vvname0 2>/tmp/v2.err >/dev/null
[ -s /tmp/v.err ] && [ -s /tmp/v2.err ] || vv_die "info -v logged nothing"
echo "ok: -v after the command logs ($(wc -l </tmp/v.err) lines), as before it ($(wc -l </tmp/v2.err))"

# The export: vvname0 by its serial, the colon serial as vvblk1; the BDF is a hidden alias.
mkdir -p /tmp/m
"$vv" blk mount serial:vvname0 "$d1" /tmp/m
vv_assert_eq "$(ls /tmp/m | tr '\n' ' ')" "vvblk1 vvname0 " "file names: serial, else vvblkN"
vv_assert_eq "$(stat -c %i "/tmp/m/$b0")" "$(stat -c %i /tmp/m/vvname0)" "the BDF opens vvname0"
vv_assert_eq "$(stat -c %s /tmp/m/vvname0)" $((16 << 20)) "vvname0 is the 16 MiB disk"
vv_assert_eq "$(stat -c %s /tmp/m/vvblk1)" $((8 << 20)) "vvblk1 is the 8 MiB disk"

# Each tool takes the names as written, absolute and relative; the BDF trips each of them
# (fio always: it splits --filename at colons; tar and qemu-img when no slash comes before
# the colon, as in a name relative to the mountpoint: a remote host, a protocol).
contrast() { # TOOL ARGS...: must fail on the BDF
	local out
	if out=$("$@" 2>&1); then vv_die "'$*' took the BDF"; fi
	echo "for contrast, $1 on the BDF: $(head -c 160 <<<"$out" | tr '\n' ' ')"
}
fio --name=names --filename=/tmp/m/vvname0 --rw=randwrite --bs=4k --size=4M --direct=1 \
	--ioengine=psync --verify=crc32c --verify_fatal=1 --do_verify=1 --output=/dev/null
(cd /tmp/m && fio --name=rel --filename=vvname0 --rw=randread --bs=4k --size=4M --direct=1 \
	--ioengine=psync --output=/dev/null)
echo "ok: fio --filename=/tmp/m/vvname0 wrote and verified; --filename=vvname0 read"
contrast fio --name=bdf --filename="/tmp/m/$b0" --rw=read --bs=4k --size=4k --output=/dev/null

tar -cf /tmp/t.tar -C /etc hostname passwd
dd if=/tmp/t.tar of=/tmp/m/vvblk1 conv=notrunc,fsync status=none
vv_assert_eq "$(tar -tf /tmp/m/vvblk1 | tr '\n' ' ')" "hostname passwd " "tar -tf /tmp/m/vvblk1"
vv_assert_eq "$(cd /tmp/m && tar -tf vvblk1 | tr '\n' ' ')" "hostname passwd " "tar -tf vvblk1"
tar -cf /tmp/disk.tar -C /tmp/m vvname0
vv_assert_eq "$(tar -tf /tmp/disk.tar)" vvname0 "tar -cf of the exported file"
(cd /tmp/m && contrast tar -tf "$b1")

qemu-img info /tmp/m/vvname0 | tee /tmp/qi
grep -q "file format: raw" /tmp/qi || vv_die "qemu-img info: no raw format"
grep -q "virtual size: 16 MiB" /tmp/qi || vv_die "qemu-img info: wrong size"
(cd /tmp/m && qemu-img info vvblk1) | grep -q "virtual size: 8 MiB" || vv_die "qemu-img info vvblk1"
echo "ok: qemu-img info /tmp/m/vvname0 and vvblk1"
(cd /tmp/m && contrast qemu-img info "$b0")

umount /tmp/m
vv_wait_gone serial:vvname0

# Detach by name; the records go, and the kernel's names are back.
"$vv" detach --json "$d0" serial:bad:name 52:54:00:00:0a:e0 | tee /tmp/det.json
vv_assert_eq "$(jq -r '[.devices[] | .bdf, .result, .driver] | join(" ")' /tmp/det.json)" \
	"$b0 detached virtio-pci $b1 detached virtio-pci $nb detached virtio-pci" "detach --json"
for b in "$b0" "$b1" "$nb"; do
	[ ! -e "/run/virtio-vfio/devices/$b" ] || vv_die "record of $b left after detach"
done
for _ in $(seq 50); do grep -qx vvname0 /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
d0=$(disk_of vvname0)
d1=$(disk_of bad:name)
vv_wait "grep -qlx 52:54:00:00:0a:e0 /sys/class/net/*/address" 50 || vv_die "NIC not back"
ifc=$(if_of 52:54:00:00:0a:e0)
check_names "after detach"
echo "names: all forms resolve before, during and after attach"
