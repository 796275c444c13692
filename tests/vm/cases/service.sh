# SPDX-License-Identifier: MIT
# attach --persist across reboots, the systemd units and an fstab line, under systemd as
# PID 1 on a root whose /etc persists (an overlay on the read-only root, on a state disk).
# Boot 1: install, attach --persist (one disk with --owner), start and stop the export unit
# (readiness, pidfile, the mount, the journal's levels), fstab + mount -a, enable both.
# Boot 2: both disks came up on vfio-pci without the kernel's driver ever binding them, the
# owner applied, the unit and the fstab mount up at boot, the data of boot 1 there; detach.
# Boot 3: both back on virtio-pci.
#vm: timeout 900
#vm: init systemd
#vm: boots 3
#vm: blk d0 serial=vvsvc0 size=64M
#vm: blk d1 serial=vvsvc1 size=64M
#vm: netpair vsn vsk mac0=52:54:00:00:0b:a0 mac1=52:54:00:00:0b:a1
. "$VV_REPO/tests/vm/lib/guest.sh"
set -euo pipefail

vv=/usr/local/bin/virtio-vfio
saved=/var/lib/vv-case/bdfs
echo "boot $VV_BOOT, PID 1 is $(readlink /proc/1/exe)"
case "$(readlink /proc/1/exe)" in */systemd) ;; *) vv_die "PID 1 is not systemd" ;; esac

driver() { basename "$(readlink -f "/sys/bus/pci/devices/$1/driver")"; }
group_node() { echo "/dev/vfio/$(basename "$(readlink -f "/sys/bus/pci/devices/$1/iommu_group")")"; }
serial_of() { "$vv" info "$1" | awk '$1 == "serial" {print $2}'; }

if [ "$VV_BOOT" = 1 ]; then
	A=$(vv_bdf_by_serial vvsvc0)
	B=$(vv_bdf_by_serial vvsvc1)
	mkdir -p "$(dirname "$saved")"
	echo "$A $B" >"$saved"

	# The install: what a package would put in place (mount(8) looks for helpers in /sbin).
	install -m 755 "$VV_BUILD/cli/virtio-vfio" "$vv"
	install -m 755 "$VV_BUILD/cli/mount.virtio-vfio" /usr/sbin/mount.virtio-vfio
	ln -sf mount.virtio-vfio /usr/sbin/mount.fuse.virtio-vfio
	install -m 644 "$VV_BUILD"/systemd/*.service /etc/systemd/system/
	install -D -m 644 "$VV_REPO/systemd/60-virtio-vfio.rules" /etc/udev/rules.d/60-virtio-vfio.rules
	systemctl daemon-reload

	# attach --persist: recorded, listed as persistent.
	"$VV_BUILD/cli/virtio-vfio" attach --persist --owner nobody "$A" | tee /tmp/out
	grep -q "persistent" /tmp/out || vv_die "attach does not say persistent"
	"$VV_BUILD/cli/virtio-vfio" attach --persist "$B"
	vv_assert_eq "$(cat /etc/virtio-vfio/persist/$A | grep -c '^uid=65534$')" 1 "A's record holds the owner"
	"$vv" list | tee /tmp/out
	grep -q "^$A: persistent: vfio-pci at boot, /dev/vfio node owned by uid 65534" /tmp/out ||
		vv_die "list does not show A as persistent"
	grep -q "^$B: persistent: vfio-pci at boot$" /tmp/out || vv_die "list does not show B"
	vv_assert_eq "$("$vv" list --json | jq -r ".devices[] | select(.bdf == \"$A\") | .persistent")" \
		true "list --json: persistent"

	# The export unit: ready when systemctl start returns, the pidfile is the main pid.
	mkdir -p /etc/virtio-vfio
	echo "GLOBAL_OPTIONS=-v" >"/etc/virtio-vfio/blk-$A.conf"
	systemctl start "virtio-vfio-blk@$A.service"
	mp=/run/virtio-vfio/$A
	vv_assert_eq "$(systemctl is-active "virtio-vfio-blk@$A.service")" active "unit active"
	vv_assert_eq "$(findmnt -n -o FSTYPE "$mp")" fuse.virtio-vfio "mounted when start returned"
	vv_assert_eq "$(cat "/run/virtio-vfio/blk-$A.pid")" \
		"$(systemctl show -p MainPID --value "virtio-vfio-blk@$A.service")" "pidfile = MainPID"
	f=$(ls "$mp"/*) # whatever the export names it
	head -c 1M /dev/urandom >/tmp/pat
	dd if=/tmp/pat of="$f" bs=1M count=1 oflag=direct conv=notrunc status=none
	cmp /tmp/pat <(dd if="$f" bs=1M count=1 iflag=direct status=none) || vv_die "data through the unit"
	cp /tmp/pat /var/lib/vv-case/pat
	systemctl stop "virtio-vfio-blk@$A.service"
	vv_assert_eq "$(systemctl show -p Result --value "virtio-vfio-blk@$A.service")" success "stopped cleanly"
	vv_assert_eq "$(systemctl show -p ExecMainStatus --value "virtio-vfio-blk@$A.service")" 0 "exit 0"
	! mountpoint -q "$mp" || vv_die "still mounted after stop"
	[ ! -e "/run/virtio-vfio/blk-$A.pid" ] || vv_die "pidfile left behind"
	# The journal: the library's info lines at priority 6, the "<N>" prefix consumed.
	journalctl -q -u "virtio-vfio-blk@$A.service" -o json >/tmp/j
	jq -r 'select(.MESSAGE | type == "string") | "\(.PRIORITY) \(.MESSAGE)"' /tmp/j |
		grep 'virtio-vfio' | tee /tmp/jl | head -n 5
	grep -q '^6 virtio-vfio: ' /tmp/jl || vv_die "no library info line at priority 6"
	! grep -q '^[0-9] <' /tmp/jl || vv_die "a <N> prefix reached the journal as text"
	# An error at priority 3: an instance with no such device.
	! systemctl start virtio-vfio-blk@0000:7f:1f.7.service 2>/dev/null || vv_die "bogus unit started"
	journalctl -q -u virtio-vfio-blk@0000:7f:1f.7.service -p err..err -o cat | tee /tmp/je
	grep -q 'virtio-vfio: ' /tmp/je || vv_die "no error line at priority 3"

	# fstab: mount -a through the helper, again as a no-op, umount.
	mkdir -p /mnt/vvb
	echo "$B /mnt/vvb fuse.virtio-vfio defaults,nofail,x-systemd.requires=virtio-vfio-persist.service,queues=2 0 0" >>/etc/fstab
	systemctl daemon-reload
	mount -a
	vv_assert_eq "$(findmnt -n -o FSTYPE /mnt/vvb)" fuse.virtio-vfio "mount -a mounted the fstab line"
	mount -a
	vv_assert_eq "$(findmnt -n /mnt/vvb | wc -l)" 1 "mount -a again is a no-op"
	fb=$(ls /mnt/vvb/*)
	dd if=/tmp/pat of="$fb" bs=1M count=1 oflag=direct conv=notrunc status=none
	umount /mnt/vvb
	vv_wait_gone "$B"

	# The net unit: ready means serving; the kernel's NIC in a namespace pings it.
	net=$(vv_bdf_by_mac 52:54:00:00:0b:a0)
	for a in /sys/class/net/*/address; do
		[ "$(cat "$a")" = 52:54:00:00:0b:a1 ] && kif=$(basename "$(dirname "$a")")
	done
	"$vv" attach "$net"
	echo "IP=198.18.11.1/24" >"/etc/virtio-vfio/net-$net.conf"
	systemctl start "virtio-vfio-net@$net.service"
	vv_assert_eq "$(systemctl is-active "virtio-vfio-net@$net.service")" active "net unit active"
	ip netns add peer
	ip link set "$kif" netns peer
	ip -n peer link set "$kif" up
	ip -n peer addr add 198.18.11.2/24 dev "$kif"
	ip netns exec peer ping -c 2 -W 5 198.18.11.1 || vv_die "no ping answer from the net unit"
	vv_assert_eq "$(cat "/run/virtio-vfio/net-$net.pid")" \
		"$(systemctl show -p MainPID --value "virtio-vfio-net@$net.service")" "net pidfile = MainPID"
	systemctl stop "virtio-vfio-net@$net.service"
	vv_assert_eq "$(systemctl show -p Result --value "virtio-vfio-net@$net.service")" success "net unit stopped cleanly"
	journalctl -q -u "virtio-vfio-net@$net.service" -o cat | grep -q "serving 198.18.11.1/24" ||
		vv_die "net serve's ready line not in the journal"
	ip netns del peer
	"$vv" detach "$net"

	systemctl enable "virtio-vfio-blk@$A.service" virtio-vfio-persist.service
	systemctl daemon-reload
	exit 0
fi

read -r A B <"$saved"
if [ "$VV_BOOT" = 2 ]; then
	systemctl --no-pager status virtio-vfio-persist.service "virtio-vfio-blk@$A.service" mnt-vvb.mount |
		grep -v '^ *[└├│]' || true
	for d in "$A" "$B"; do
		vv_assert_eq "$(driver "$d")" vfio-pci "$d on vfio-pci after the reboot"
		vv_assert_eq "$(cat "/sys/bus/pci/devices/$d/driver_override")" vfio-pci "$d override"
	done
	! dmesg | grep -E 'virtio_blk.*\[vd[a-z]+\]' || vv_die "the kernel's virtio_blk bound a disk"
	[ -z "$(ls /sys/block | grep '^vd' || true)" ] || vv_die "a vd disk exists"
	vv_assert_eq "$(stat -c %U "$(group_node "$A")")" nobody "A's node owned as recorded"
	vv_assert_eq "$(systemctl is-active virtio-vfio-persist.service)" active "persist service ran"
	vv_assert_eq "$(systemctl is-active "virtio-vfio-blk@$A.service")" active "export unit up at boot"
	vv_assert_eq "$(findmnt -n -o FSTYPE /mnt/vvb)" fuse.virtio-vfio "fstab line mounted at boot"
	systemctl show -p After mnt-vvb.mount | grep -q virtio-vfio-persist.service ||
		vv_die "the fstab mount is not ordered after the persist service"
	systemctl show -p Before "virtio-vfio-blk@$A.service" | grep -q local-fs.target ||
		vv_die "the export unit is not ordered before local-fs.target"
	cmp /var/lib/vv-case/pat <(dd if="$(ls /run/virtio-vfio/$A/*)" bs=1M count=1 iflag=direct status=none) ||
		vv_die "A's data after the reboot"
	cmp /var/lib/vv-case/pat <(dd if="$(ls /mnt/vvb/*)" bs=1M count=1 iflag=direct status=none) ||
		vv_die "B's data after the reboot"

	# detach: not any more, not at the next boot either.
	systemctl disable --now "virtio-vfio-blk@$A.service"
	vv_assert_eq "$(serial_of "$A")" vvsvc0 "A is the same disk"
	umount /mnt/vvb
	vv_wait_gone "$B"
	sed -i '\|/mnt/vvb|d' /etc/fstab
	systemctl daemon-reload
	"$vv" detach "$A" "$B"
	[ -z "$(ls /etc/virtio-vfio/persist)" ] || vv_die "records left after detach"
	! "$vv" list | grep -q persistent || vv_die "list still shows a persistent binding"
	exit 0
fi

# Boot 3: the kernel's again.
for d in "$A" "$B"; do
	vv_assert_eq "$(driver "$d")" virtio-pci "$d back on virtio-pci"
done
vv_assert_eq "$(vv_bdf_by_serial vvsvc0)" "$A" "vvsvc0 is a vd disk again"
vv_assert_eq "$(systemctl is-active virtio-vfio-persist.service || true)" inactive "nothing to persist"
