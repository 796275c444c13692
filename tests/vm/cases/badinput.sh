#!/bin/bash
# SPDX-License-Identifier: MIT
# The bad-input table (docs/bad-input.md), row by row: each command must exit with the status
# given, say the given thing on stderr, print nothing on stdout that looks like success, end
# within 30 s, and leave every PCI function's driver and driver_override as they were (plus a
# per-row check: the disk still reads the same, the mount still serves, the NIC is still up).
# Two disks share slot 0x10 as functions 0 and 1: one IOMMU group, so attaching one alone
# meets a group that is not viable. VFIO missing comes last: its modules are unloaded.
#vm: timeout 420
#vm: topology rootbus
#vm: blk vb serial=vvbad0 size=16M
#vm: blk vmf0 serial=vvbad-mf0 size=8M extra=addr=0x10.0,multifunction=on
#vm: blk vmf1 serial=vvbad-mf1 size=8M extra=addr=0x10.1
#vm: netpair vn0 vn1 mac0=52:54:00:00:0b:a0 mac1=52:54:00:00:0b:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
drv() { basename "$(readlink -f "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || echo none; }

blk=$(vv_bdf_by_serial vvbad0)
mf0=$(vv_bdf_by_serial vvbad-mf0)
mf1=$(vv_bdf_by_serial vvbad-mf1)
net=$(vv_bdf_by_mac 52:54:00:00:0b:a0)
ifc=$(if_of 52:54:00:00:0b:a0)
disk=$(disk_of vvbad0)
ninep=$("$vv" list --json | jq -r '.devices[] | select(.type == "9p") | .bdf')
hostbridge=$(vv_bdf_by_id 0x8086 0x29c0) # q35 host bridge
sata=$(vv_bdf_by_id 0x8086 0x2922)       # ICH9 AHCI at 00:1f.2
short=${blk#0000:}
echo "blk=$blk mf0=$mf0 mf1=$mf1 net=$net ($ifc) 9p=$ninep host bridge=$hostbridge sata=$sata"
g0=$(basename "$(readlink -f "/sys/bus/pci/devices/$mf0/iommu_group")")
g1=$(basename "$(readlink -f "/sys/bus/pci/devices/$mf1/iommu_group")")
vv_assert_eq "$g0" "$g1" "the two functions of slot 0x10 share IOMMU group"
head -c $((1 << 20)) /dev/urandom >/tmp/pat
dd if=/tmp/pat of="/dev/$disk" bs=64k oflag=direct conv=fsync status=none
mkdir -p /tmp/m /tmp/m2 /tmp/fs
: >/tmp/notadir

# Every PCI function's driver and driver_override, and virtio-vfio's own state files.
# Few processes: under TCG each one costs.
snapshot() {
	ls -l /sys/bus/pci/devices/*/driver 2>/dev/null | sed 's/.* \/sys/\/sys/'
	grep -H . /sys/bus/pci/devices/*/driver_override
	ls /run/virtio-vfio 2>/dev/null || true
}
# Per-row state checks, by name: before (save) and after (compare).
check() {
	local when=$1 what=$2
	case "$what" in
	-) ;;
	disk) # the kernel's driver still reads what was written
		dd if="/dev/$(disk_of vvbad0)" bs=64k count=16 iflag=direct status=none |
			cmp -s - /tmp/pat || echo "the disk no longer reads back the pattern"
		;;
	mount) # the first mount still serves the disk
		head -c $((1 << 20)) /tmp/m/vvbad0 | cmp -s - /tmp/pat ||
			echo "the mount on /tmp/m no longer serves the disk"
		;;
	up)
		local flags
		flags=$(cat "/sys/class/net/$ifc/flags")
		[ $((flags & 1)) = 1 ] || echo "$ifc is no longer up"
		;;
	9p) [ -r "$VV_REPO/README.md" ] || echo "the 9p root no longer reads" ;;
	*) echo "unknown check $what" ;;
	esac
}

rows=0 failures=0
fail() {
	echo "FAILED ROW: $*"
	failures=$((failures + 1))
}
# row EXIT WANT CHECK COMMAND...: one line of the table.
row() {
	local want_rc=$1 want=$2 what=$3 before after rc bad t0=$EPOCHREALTIME
	shift 3
	rows=$((rows + 1))
	before=$(snapshot)
	bad=$(check before "$what")
	[ -z "$bad" ] || { fail "$* : before: $bad"; return; }
	set +e
	timeout 30 "$@" >/tmp/row.out 2>/tmp/row.err
	rc=$?
	set -e
	local msg where=/tmp/row.err
	# doctor's findings are its report, on stdout; everything else speaks on stderr.
	[ "${2:-}" != doctor ] || where="/tmp/row.err /tmp/row.out"
	msg=$(cat $where | grep -F -- "$want" | head -n 1 || true)
	local line="$*"
	echo "ROW	${line#"$vv" }	$rc	${msg:-$(head -n 1 /tmp/row.err)}"
	local lines=() l
	mapfile -t lines </tmp/row.err
	[ "$rc" != 1 ] || [ ${#lines[@]} -lt 2 ] || printf '	| %s\n' "${lines[@]}"
	if [ "${2:-}" = doctor ]; then
		mapfile -t lines </tmp/row.out
		for l in "${lines[@]}"; do [[ $l != "[FAIL]"* ]] || echo "	| $l"; done
	fi
	if [ "$rc" = 124 ]; then
		fail "$* : hung (killed after 30 s)"
		return
	fi
	[ "$rc" = "$want_rc" ] || fail "$* : exit $rc, expected $want_rc"
	[ -n "$msg" ] || fail "$* : stderr lacks '$want': $(cat /tmp/row.err)"
	# A sanitizer's report exits 1 too: it must not pass for a refusal.
	! grep -q "Sanitizer\|runtime error" /tmp/row.err || fail "$* : sanitizer: $(cat /tmp/row.err)"
	if [ "${2:-}" = doctor ]; then
		# doctor's report is its output; it must not say all is well.
		! grep -q '^0 problems' /tmp/row.out || fail "$* : doctor says 0 problems"
	elif [ -s /tmp/row.out ]; then
		fail "$* : stdout is not empty: $(cat /tmp/row.out)"
	fi
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "$* : state changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
	bad=$(check after "$what")
	[ -z "$bad" ] || fail "$* : $bad"
	t0=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	[ "$t0" -lt 2000 ] || echo "slow row: $t0 ms"
}

# --- DEVICE nonexistent, malformed, not virtio: every command that takes one -----------
for cmd in attach detach info doctor "blk bench" "blk mount" "net serve"; do
	read -ra c <<<"$cmd"
	tail=()
	case "$cmd" in
	"blk mount") tail=(/tmp/m) ;;
	"net serve") tail=(--ip 198.18.0.1/24) ;;
	esac
	row 1 "0000:0f:1f.7: no such PCI device" disk "$vv" "${c[@]}" 0000:0f:1f.7 "${tail[@]}"
	row 2 "'00:zz.0' is not a device name" - "$vv" "${c[@]}" 00:zz.0 "${tail[@]}"
	row 2 "'../../x' is not a device name" - "$vv" "${c[@]}" ../../x "${tail[@]}"
	row 1 "no virtio function has the kernel name 'vdzz'" - "$vv" "${c[@]}" vdzz "${tail[@]}"
	row 1 "8086:29c0 is not a virtio device" - "$vv" "${c[@]}" "$hostbridge" "${tail[@]}"
done
row 1 "8086:2922 is not a virtio device" - "$vv" attach "$sata"
# The other name forms (host/names.h): malformed is a usage error, unknown a failure.
row 2 "'serial:': expected serial:SERIAL" - "$vv" attach serial:
row 2 "'mac:52:54': expected mac:52:54:00:12:34:56" - "$vv" attach mac:52:54
row 2 "'a:b' is not a device name" - "$vv" doctor --json a:b
row 2 "'a:b' is not a device name" - "$vv" attach --json "$blk" a:b
row 1 "no virtio function has the serial 'nosuch'" - "$vv" attach serial:nosuch
row 1 "no virtio function has the MAC '52:54:00:00:0b:ff'" - "$vv" attach 52:54:00:00:0B:FF

# --- the wrong kind of device, or not attached -----------------------------------------
row 1 "is a virtio net device, not blk" - "$vv" blk mount "$net" /tmp/m
row 1 "is a virtio net device, not blk" - "$vv" blk bench "$net"
row 1 "is a virtio blk device, not net" disk "$vv" net serve "$blk" --ip 198.18.0.1/24
row 1 "is a virtio 9p device, not blk" 9p "$vv" blk mount "$ninep" /tmp/m
row 1 "not vfio-pci: run 'virtio-vfio attach $blk' first" disk "$vv" blk mount "$blk" /tmp/m
row 1 "not vfio-pci: run 'virtio-vfio attach $blk' first" disk "$vv" info "$blk"
row 1 "not vfio-pci: run 'virtio-vfio attach $blk' first" disk "$vv" blk bench "$blk"
row 1 "not vfio-pci: run 'virtio-vfio attach $net' first" - "$vv" net serve "$net" --ip 198.18.0.1/24

# --- blk export --ublk: its usage errors; on a kernel without ublk (Debian 12's 6.1) the
# refusal that points to blk mount, before the device is even looked at ----------------------
row 2 "blk export: say how to export: --ublk" - "$vv" blk export "$blk"
row 2 "blk export: give one DEVICE" - "$vv" blk export --ublk
row 2 "blk export: --depth wants a number from 1 to 1024, not '0'" - "$vv" blk export --ublk --depth 0 "$blk"
if [ ! -e /dev/ublk-control ]; then
	row 1 "blk export --ublk: this kernel has no ublk: /dev/ublk-control is missing" disk \
		"$vv" blk export --ublk "$blk"
	row 1 "'virtio-vfio blk mount $disk DIR' exports the disk as a file over FUSE instead" disk \
		"$vv" blk export --ublk "$disk"
fi

# --- in use: a mounted disk, the 9p root, an up NIC -------------------------------------
mkfs.ext4 -q -F "/dev/$disk"
mount "/dev/$disk" /tmp/fs
row 1 "is in use: /dev/$disk is mounted on /tmp/fs" - "$vv" attach "$blk"
row 1 "is in use: /dev/$disk is mounted on /tmp/fs" - "$vv" attach "$short"
umount /tmp/fs
# mkfs, mount and umount wrote there: the new reference
dd if="/dev/$disk" of=/tmp/pat bs=64k count=16 iflag=direct status=none
row 1 "is in use: 9p share hostroot is mounted on /" 9p "$vv" attach "$ninep"
ip link set "$ifc" up
row 1 "is in use: interface $ifc is up" up "$vv" attach "$net"
ip link set "$ifc" down

# --- a group that is not viable: its other function is still on virtio-pci --------------
row 1 "IOMMU group $g0 also holds $mf1, bound to virtio-pci" - "$vv" attach "$mf0"
row 1 "group $g0 is not viable" - "$vv" doctor "$mf0"
# Bound to vfio-pci behind virtio-vfio's back: the library meets the group the kernel refuses.
vv_bind_vfio "$mf0"
row 1 "IOMMU group $g0 is not viable" - "$vv" info "$mf0"
row 1 "IOMMU group $g0 is not viable" - "$vv" blk bench --time 1 "$mf0"
vv_unbind_vfio "$mf0"

# --- missing arguments, unknown options, unknown commands ------------------------------
row 2 "Usage:" - "$vv"
row 2 "unknown command 'frob'" - "$vv" frob
row 2 "unrecognized option '--bogus'" - "$vv" --bogus list
for cmd in list attach detach doctor info "blk mount" "blk bench" "net serve"; do
	read -ra c <<<"$cmd"
	row 2 "unrecognized option '--bogus'" - "$vv" "${c[@]}" --bogus "$blk"
done
row 2 "attach: no DEVICE given" - "$vv" attach
# One meaning per letter: --owner is -u, --foreground is -F (-f is --force, -o mount options).
row 2 "invalid option -- 'o'" - "$vv" attach -o nobody "$blk"
row 2 "invalid option -- 'f'" - "$vv" blk mount -f "$blk" /tmp/m
row 2 "invalid option -- 'F'" - "$vv" attach -F "$blk"
row 2 "detach: no DEVICE given" - "$vv" detach
row 2 "info: expected exactly one DEVICE" - "$vv" info
row 2 "info: expected exactly one DEVICE" - "$vv" info "$blk" "$net"
row 2 "doctor: at most one DEVICE" - "$vv" doctor "$blk" "$net"
row 2 "list: unexpected argument" - "$vv" list "$blk"
row 2 "Usage:" - "$vv" blk
row 2 "blk: unknown subcommand 'frob'" - "$vv" blk frob
row 2 "give 1 to 16 DEVICEs and a MOUNTPOINT" - "$vv" blk mount
row 2 "give 1 to 16 DEVICEs and a MOUNTPOINT" - "$vv" blk mount /tmp/m
row 2 "blk mount: unknown option 'frob'" - "$vv" blk mount -o frob "$blk" /tmp/m
row 2 "blk mount: -o queues wants a number from 1 to 1024, not '0'" - "$vv" blk mount -o queues=0 "$blk" /tmp/m
row 2 "blk bench: give one DEVICE" - "$vv" blk bench
row 2 "blk bench: bad value 'sideways'" - "$vv" blk bench --rw sideways "$blk"
row 2 "Usage:" - "$vv" net
row 2 "net: unknown subcommand 'frob'" - "$vv" net frob
row 2 "net serve: give one DEVICE" - "$vv" net serve --ip 198.18.0.1/24
row 2 "net serve: --ip ADDR/PREFIX is required" - "$vv" net serve "$net"
row 2 "net serve: bad address '198.18.0.300/24'" - "$vv" net serve "$net" --ip 198.18.0.300/24

# --- blk mount: the mountpoint, and a device already mounted ---------------------------
"$vv" attach "$blk" >/dev/null
row 1 "blk mount: mountpoint /tmp/nonexistent: No such file or directory" - \
	"$vv" blk mount "$blk" /tmp/nonexistent
row 1 "blk mount: mountpoint /tmp/notadir: not a directory" - "$vv" blk mount "$blk" /tmp/notadir
"$vv" blk mount "$blk" /tmp/m
row 1 "$blk is in use: /dev/vfio/" mount "$vv" blk mount "$blk" /tmp/m2
row 1 "$blk is in use: /dev/vfio/" mount "$vv" blk bench --time 1 "$blk"
row 1 "$blk is in use: /dev/vfio/" mount "$vv" detach "$blk"
row 1 "$blk is in use: /dev/vfio/" mount "$vv" info "$blk"
umount /tmp/m
vv_wait_gone "$blk"
"$vv" detach "$blk" >/dev/null
for _ in $(seq 50); do grep -qx vvbad0 /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done

# --- a driver we do not know: pci-stub (loaded by the guest's init, bound to nothing) ---
[ -d /sys/bus/pci/drivers/pci-stub ] || vv_die "pci-stub is not loaded (tests/vm/lib/mkguest)"
echo pci-stub >"/sys/bus/pci/devices/$mf1/driver_override"
echo "$mf1" >"/sys/bus/pci/devices/$mf1/driver/unbind"
echo "$mf1" >/sys/bus/pci/drivers_probe
vv_assert_eq "$(drv "$mf1")" pci-stub "a disk on pci-stub"
row 1 "is in use: it is bound to pci-stub, a driver virtio-vfio cannot check" - "$vv" attach "$mf1"
row 1 "$mf1 is bound to pci-stub, not vfio-pci" - "$vv" blk mount "$mf1" /tmp/m
echo "$mf1" >"/sys/bus/pci/devices/$mf1/driver/unbind"
echo >"/sys/bus/pci/devices/$mf1/driver_override"
echo "$mf1" >/sys/bus/pci/drivers_probe
vv_assert_eq "$(drv "$mf1")" virtio-pci "the disk back on virtio-pci"

# --- VFIO missing: unload it (the chroot has no modules for modprobe to load back) -----
for m in vfio_pci vfio_pci_core vfio_iommu_type1 vfio_virqfd vfio; do
	if grep -q "^$m " /proc/modules; then rmmod "$m"; fi
done
[ ! -e /sys/bus/pci/drivers/vfio-pci ] || vv_die "vfio-pci still loaded"
row 1 "vfio-pci is not available ('modprobe vfio-pci' failed): the kernel needs CONFIG_VFIO_PCI" disk "$vv" attach "$blk"
row 1 "VFIO modules missing: the kernel needs CONFIG_VFIO_PCI" - "$vv" doctor
row 1 "VFIO modules missing" disk "$vv" doctor "$blk"

echo "$rows rows, $failures failed"
[ "$failures" = 0 ] || vv_die "$failures of $rows rows failed"
echo "badinput: all checks passed"
