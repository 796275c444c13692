#!/bin/bash
# SPDX-License-Identifier: MIT
# Running without root: `attach --owner` gives the group node to a user, who then runs blk
# bench, blk mount (FUSE through the setuid fusermount3) and net serve; RLIMIT_MEMLOCK too
# small and a node owned by someone else fail with the message that says what to do; detach
# gives the devices back to the kernel's drivers.
#vm: timeout 420
#vm: topology rootport
#vm: blk vnr serial=vvnonroot0 size=64M
#vm: netpair vnn vkn mac0=52:54:00:00:07:a0 mac1=52:54:00:00:07:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
NOBODY=65534
drv() { basename "$(readlink -f "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || echo none; }
group_of() { basename "$(readlink -f "/sys/bus/pci/devices/$1/iommu_group")"; }
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
# Runs the rest as uid:gid $1 with no supplementary groups and no capabilities.
as() {
	local id=$1
	shift
	setpriv --reuid="$id" --regid="$id" --clear-groups -- "$@"
}
# Runs a command that must fail with exit $1 and say $2 on stderr.
blk=$(vv_bdf_by_serial vvnonroot0)
net=$(vv_bdf_by_mac 52:54:00:00:07:a0)
echo "memlock as the guest starts: $(ulimit -l) KiB"
ls -l /usr/bin/fusermount3 /dev/fuse
# devtmpfs makes /dev/fuse 0600; on a real system udev's default rules make it 0666
# (KERNEL=="fuse", MODE="0666"), which FUSE mounts by users need. The guest runs no udev.
chmod 0666 /dev/fuse

# --- attach --owner: a bad owner changes nothing -------------------------------------
vv_refused 2 "no user 'nosuchuser'" "$vv" attach --owner nosuchuser "$blk"
vv_refused 2 "no group 'nosuchgroup'" "$vv" attach --owner nobody:nosuchgroup "$blk"
vv_assert_eq "$(drv "$blk")" virtio-pci "a bad --owner leaves the disk alone"
"$vv" attach --help | grep -q -- "--owner USER" || vv_die "attach --help lacks --owner"

"$vv" attach --owner nobody "$blk" | tee /tmp/attach.txt
gb=$(group_of "$blk")
grep -q "^$blk: attached (was virtio-pci), /dev/vfio/$gb owned by uid $NOBODY gid $NOBODY" \
	/tmp/attach.txt || vv_die "attach output: $(cat /tmp/attach.txt)"
vv_assert_eq "$(stat -c '%u:%g %a' "/dev/vfio/$gb")" "$NOBODY:$NOBODY 600" "blk group node"
"$vv" attach --owner "$NOBODY" "$net"
gn=$(group_of "$net")
vv_assert_eq "$(stat -c '%u:%g %a' "/dev/vfio/$gn")" "$NOBODY:$NOBODY 600" "net group node (numeric uid)"
# On an attached function --owner only changes the owner; a GROUP may open it too.
"$vv" attach --owner "nobody:100" "$net" | grep -q "already attached" || vv_die "re-attach"
vv_assert_eq "$(stat -c '%u:%g %a' "/dev/vfio/$gn")" "$NOBODY:100 660" "USER:GROUP, mode 0660"
"$vv" attach --owner nobody "$net" >/dev/null
vv_assert_eq "$(stat -c '%u:%g %a' "/dev/vfio/$gn")" "$NOBODY:$NOBODY 600" "back to 0600"

# --- doctor, as the owner: the node is accessible, the memlock limit is explained ---------
as $NOBODY "$vv" doctor "$blk" | tee /tmp/doctor.txt || true
grep -q "/dev/vfio/$gb is accessible" /tmp/doctor.txt || vv_die "doctor as nobody: node"
grep -q "RLIMIT_MEMLOCK is" /tmp/doctor.txt || vv_die "doctor as nobody: memlock"

# --- another user: told to ask for attach --owner ------------------------------------------
vv_refused 1 "attach --owner USER $blk" as 1000 "$vv" blk bench --time 1 "$blk"

# --- blk bench as nobody, within the default limit (8 MiB since Linux 5.16) ----------------
as $NOBODY "$vv" blk bench --time 2 "$blk" | tee /tmp/bench.txt
grep -q "IOPS" /tmp/bench.txt || vv_die "bench as nobody: $(cat /tmp/bench.txt)"
as $NOBODY "$vv" blk bench --time 1 --rw randwrite --allow-write --mode poll "$blk" >/dev/null ||
	vv_die "polled write bench as nobody"

# --- memlock too small: the message names what is needed ------------------------------
set +e
out=$(prlimit --memlock=1048576:1048576 setpriv --reuid=$NOBODY --regid=$NOBODY \
	--clear-groups -- "$vv" blk bench --time 1 "$blk" 2>&1 >/dev/null)
rc=$?
set -e
echo "bench under 1 MiB: rc $rc: $out"
[ "$rc" = 1 ] || vv_die "bench under a 1 MiB memlock limit exited $rc"
[[ $out == *"RLIMIT_MEMLOCK is 1 MiB; this process needs at least "*" MiB locked"*"ulimit -l "* ]] ||
	vv_die "no clear memlock message: $out"

# --- blk mount as nobody: FUSE via fusermount3 ------------------------------------------------
mnt=/tmp/nrmnt
mkdir -p "$mnt" && chown $NOBODY:$NOBODY "$mnt"
# The default 8 MiB is too little for the export's buffers: refused up front, with the value.
set +e
out=$(as $NOBODY "$vv" blk mount "$blk" "$mnt" 2>&1)
rc=$?
set -e
echo "mount under the default limit: rc $rc: $out"
[ "$rc" = 1 ] || vv_die "mount under 8 MiB exited $rc"
need=$(sed -n 's/.*ulimit -l \([0-9]*\).*/\1/p' <<<"$out" | head -1)
[ -n "$need" ] || vv_die "mount: no 'ulimit -l N' in: $out"
mountpoint -q "$mnt" && vv_die "a failed mount left $mnt mounted"
# Exactly the value named is enough.
prlimit --memlock=$((need << 10)):$((need << 10)) setpriv --reuid=$NOBODY --regid=$NOBODY \
	--clear-groups -- "$vv" blk mount "$blk" "$mnt" ||
	vv_die "mount as nobody with the named limit ($need KiB) failed"
f=$mnt/vvnonroot0
daemon=$(pgrep -f "blk mount $blk")
echo "mount daemon: uid $(awk '/^Uid:/ {print $2}' /proc/$daemon/status), $(grep VmLck /proc/$daemon/status)"
# Without allow_other, FUSE keeps everyone else out, root included: look as nobody.
vv_assert_eq "$(as $NOBODY stat -c %u "$f")" $NOBODY "the disk file belongs to nobody"
grep -q " $mnt fuse.*user_id=$NOBODY," /proc/mounts || vv_die "no fuse mount of nobody's: $(grep "$mnt" /proc/mounts)"
head -c $((3 << 20)) /dev/urandom >/tmp/pat && chmod 644 /tmp/pat
as $NOBODY dd if=/tmp/pat of="$f" bs=1M seek=5 conv=notrunc,fsync status=none
as $NOBODY dd if="$f" bs=1M skip=5 count=3 iflag=direct status=none | cmp - /tmp/pat ||
	vv_die "read back through the FUSE file as nobody differs"
[ -r "$f" ] && head -c1 "$f" >/dev/null 2>&1 && vv_die "root could read nobody's FUSE file"
as $NOBODY fusermount3 -u "$mnt"
for _ in $(seq 100); do pgrep -f "blk mount $blk" >/dev/null || break; sleep 0.1; done
pgrep -f "blk mount $blk" >/dev/null && vv_die "daemon still running after fusermount3 -u"
mountpoint -q "$mnt" && vv_die "still mounted after fusermount3 -u"
echo "ok: blk mount as nobody, written, read back, unmounted"

# --- net serve as nobody: ping from the kernel's side, SIGTERM -------------------------
kif=$(if_of 52:54:00:00:07:a1)
ip netns add peer
ip link set "$kif" netns peer
ip -n peer link set lo up
ip -n peer link set "$kif" up
ip -n peer addr add 198.18.7.2/24 dev "$kif"
log=/tmp/serve.log
# setpriv itself, not the function: $! must be the pid that becomes net serve.
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- \
	"$vv" net serve "$net" --ip 198.18.7.1/24 >"$log" 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null || true' EXIT
vv_wait_for "$log" 60 "serving 198.18.7.1/24 on 52:54:00:00:07:a0, link up"
echo "net serve: uid $(awk '/^Uid:/ {print $2}' /proc/$serve/status), $(grep VmLck /proc/$serve/status)"
ip netns exec peer ping -c 3 -W 5 198.18.7.1 || vv_die "no ping answer from net serve as nobody"
kill -TERM "$serve"
rc=0; wait "$serve" || rc=$?
trap - EXIT
vv_assert_eq "$rc" 0 "net serve as nobody: exit status after SIGTERM"
cat "$log"
ip netns del peer

# --- detach: the kernel's drivers take them back; the nodes go with the groups ---------
"$vv" detach "$blk"
vv_assert_eq "$(drv "$blk")" virtio-pci "blk back on virtio-pci"
[ ! -e "/dev/vfio/$gb" ] || vv_die "/dev/vfio/$gb still there after detach: $(ls -l /dev/vfio/$gb)"
for _ in $(seq 50); do grep -qx vvnonroot0 /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
disk=$(basename "$(dirname "$(grep -lx vvnonroot0 /sys/block/vd*/serial)")")
dd if="/dev/$disk" bs=1M skip=5 count=3 iflag=direct status=none | cmp - /tmp/pat ||
	vv_die "the kernel does not read what nobody wrote"
"$vv" detach "$net"
vv_assert_eq "$(drv "$net")" virtio-pci "net back on virtio-pci"
[ ! -e "/dev/vfio/$gn" ] || vv_die "/dev/vfio/$gn still there after detach"
for _ in $(seq 50); do vv_bdf_by_mac 52:54:00:00:07:a0 >/dev/null 2>&1 && break; sleep 0.1; done
vv_assert_eq "$(vv_bdf_by_mac 52:54:00:00:07:a0)" "$net" "the interface is back"
# A new attach without --owner: root's node again.
"$vv" attach "$blk" >/dev/null
vv_assert_eq "$(stat -c '%u:%g %a' "/dev/vfio/$(group_of "$blk")")" "0:0 600" "a fresh node is root's"
"$vv" detach "$blk" >/dev/null

echo "nonroot: all checks passed"
