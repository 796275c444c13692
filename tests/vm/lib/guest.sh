# SPDX-License-Identifier: MIT
# Helpers for VM case scripts, sourced inside the guest. Cases find devices by serial, MAC or
# ID, never by slot.

vv_die() {
	echo "FAILED: $*" >&2
	exit 1
}

# Waits up to $2 tenths of a second for the shell command $1 to succeed; 1 if it never did.
vv_wait() {
	for _ in $(seq "$2"); do eval "$1" && return 0; sleep 0.1; done
	return 1
}

# Waits up to $2 seconds for a line of file $1 to match pattern $3. If none does, shows the
# file and returns 1, which ends a case run under `set -e`; `|| true` makes the wait optional.
vv_wait_for() {
	for _ in $(seq $(($2 * 10))); do grep -q "$3" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "--- $1:"
	cat "$1"
	echo "FAILED: no '$3' in $1 after $2 s"
	return 1
}

# Waits up to 10 s for the `blk mount` daemon serving $1 to end.
vv_wait_gone() {
	vv_wait "! pgrep -f 'blk mount.*$1' >/dev/null" 100 || vv_die "daemon for $1 still running"
}

# Attaches the disk with serial $1 and serves it with `blk mount -F` on /tmp/m, in the
# background, its stderr in /tmp/m.err. Sets bdf, mpid (the daemon) and f (the disk's file).
vv_mount_fg() {
	bdf=$(vv_bdf_by_serial "$1")
	"$VV_BUILD/cli/virtio-vfio" attach "$bdf" >/dev/null
	mkdir -p /tmp/m
	"$VV_BUILD/cli/virtio-vfio" blk mount -F "$bdf" /tmp/m 2>/tmp/m.err &
	mpid=$!
	vv_wait "mountpoint -q /tmp/m" 100 || vv_die "mount did not come up: $(cat /tmp/m.err)"
	f=/tmp/m/$1
}

# Runs a command that must be refused: exit status $1, a message on stderr holding $2, no
# sanitizer report. Prints the message.
vv_refused() {
	local code=$1 want=$2 out rc
	shift 2
	set +e
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	set -e
	[ "$rc" = "$code" ] || vv_die "'$*' exited $rc, expected $code ($out)"
	case "$out" in *"$want"*) ;; *) vv_die "'$*' said '$out', expected '$want'" ;; esac
	! grep -q "Sanitizer\|runtime error" <<<"$out" || vv_die "sanitizer: $out"
	echo "refused as expected: $out"
}

vv_assert_eq() {
	[ "$1" = "$2" ] || vv_die "$3: got '$1', expected '$2'"
	echo "ok: $3"
}

# PCI function of a sysfs device path: the nearest ancestor named like a BDF.
vv_pci_of() {
	local p
	p=$(readlink -f "$1")
	while [ "$p" != / ]; do
		case "$(basename "$p")" in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])
			basename "$p"
			return 0
			;;
		esac
		p=$(dirname "$p")
	done
	return 1
}

vv_bdf_by_serial() {
	local s
	for s in /sys/block/vd*/serial; do
		[ -e "$s" ] && [ "$(cat "$s")" = "$1" ] && { vv_pci_of "$(dirname "$s")/device"; return; }
	done
	vv_die "no virtio disk with serial $1"
}

# The block device node of the virtio disk with serial $1, on the kernel's driver.
vv_disk_by_serial() {
	local s
	for s in /sys/block/vd*/serial; do
		[ -e "$s" ] && [ "$(cat "$s")" = "$1" ] && { echo "/dev/$(basename "$(dirname "$s")")"; return; }
	done
	vv_die "no virtio disk with serial $1"
}

vv_bdf_by_mac() {
	local a
	for a in /sys/class/net/*/address; do
		[ "$(cat "$a")" = "$1" ] && [ -e "$(dirname "$a")/device" ] &&
			{ vv_pci_of "$(dirname "$a")/device"; return; }
	done
	echo "no interface with MAC $1" >&2
	return 1
}

# Nth (default 1st) PCI function with VENDOR DEVICE, e.g. vv_bdf_by_id 0x1af4 0x1042.
vv_bdf_by_id() {
	local d n=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] || continue
		n=$((n + 1))
		[ "$n" = "${3:-1}" ] && { basename "$d"; return; }
	done
	vv_die "no PCI function $1:$2 #${3:-1}"
}

# Plain sysfs binding, independent of virtio-vfio's own attach.
vv_bind_vfio() {
	local d=/sys/bus/pci/devices/$1
	echo vfio-pci >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe || true
	[ "$(basename "$(readlink -f "$d/driver")")" = vfio-pci ] || vv_die "$1 did not bind to vfio-pci"
}

vv_unbind_vfio() {
	local d=/sys/bus/pci/devices/$1
	echo >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe || true
}
