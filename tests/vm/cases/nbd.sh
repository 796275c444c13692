#!/bin/bash
# SPDX-License-Identifier: MIT
# The nbdkit plugin: `nbdkit virtio-vfio device=BDF` serves a disk driven in userspace.
# - Refused with clear messages: no device, a device still on the kernel's driver, a device
#   that is not a disk, a device another process drives.
# - nbdkit forks into the background and serves over TCP on a veth pair: nbdinfo sees the
#   size and the flags (flush, FUA, trim, zero, multi-conn); nbdcopy and qemu-img write and
#   read back with verification (unaligned too, with qemu-io); a client in another network
#   namespace reads and writes; the kernel's nbd client carries an ext4 filesystem.
# - Kill -9 of a client mid-write: every write whose flush was acknowledged is there, read
#   back through the server and, once it stopped, through the kernel's own driver.
# - A resized disk (QMP block_resize): new connections see the new size.
# - nbdkit -r serves read-only.
# - device_del under a client's write load: the server says why, fails what is in flight,
#   exits 0, and the kernel completes the removal.
#vm: timeout 900
#vm: topology rootport
#vm: blk vnbd serial=vvnbd0 size=64M discard
#vm: blk vnbdgone serial=vvnbd1 size=32M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
plugin=$VV_BUILD/nbdkit/nbdkit-virtio-vfio-plugin.so
[ -f "$plugin" ] || vv_die "no plugin at $plugin (nbdkit-plugin-dev missing at build time?)"
# A sanitized plugin needs the sanitizer's runtime first in nbdkit, which is not built with it.
# Only nbdkit gets it: the clients are not ours.
asan=$(ldd "$plugin" | awk '/libasan/ {print $3}')
nbdkit() {
	LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0 command nbdkit "$@"
}
uri=nbd://198.18.0.1:10809
# Bytes @2 at @3 of the disk, through qemu-img as an NBD client, into file @1.
nbd_dd() {
	rm -f "$1"
	c qemu-img dd -f raw -O raw bs="$2" skip=$(($3 / $2)) count=1 if=$uri of="$1"
}
# What nbdkit's threads wait on, for a client that hangs.
diag() {
	local p
	for p in $(pgrep -x nbdkit); do
		for t in /proc/$p/task/*; do echo "nbdkit $t: $(cat "$t/wchan")"; done
		! command -v gdb >/dev/null ||
			gdb -p "$p" -batch -ex 'thread apply all bt' 2>/dev/null | grep -E '^(Thread|#)'
	done
	pgrep -a -x 'nbdcopy|nbdkit'
	ss -tn 2>/dev/null | grep -E ':1081[0-9]'
	tail -n 20 /tmp/*.err 2>/dev/null
}
# Runs a client, failing (with what nbdkit waits on) if it takes over 3 minutes.
c() {
	timeout 180 "$@" || vv_die "'$*' failed ($?): $(diag)"
}
sanitizer_free() {
	! grep -q "Sanitizer\|runtime error" "$1" || vv_die "sanitizer report in $1: $(cat "$1")"
}

bdf=$(vv_bdf_by_serial vvnbd0)
gone=$(vv_bdf_by_serial vvnbd1)
kdisk=/dev/$(basename "$(dirname "$(grep -lx vvnbd0 /sys/block/vd*/serial)")")

# --- refusals ------------------------------------------------------------------------------
vv_refused 1 "device=NAME is required" nbdkit -f "$plugin"
vv_refused 1 "no virtio function has the kernel name 'nonsense'" nbdkit -f "$plugin" device=nonsense
vv_refused 1 "is not a device name" nbdkit -f "$plugin" device=no/such
vv_refused 1 "no such PCI device" nbdkit -f "$plugin" device=00:1f.7
vv_refused 1 "is bound to virtio-pci, not vfio-pci: run 'virtio-vfio attach $bdf' first" \
	nbdkit -f "$plugin" device="$bdf"
ninep=$(for d in /sys/bus/pci/devices/*; do
	[ -e "$d/virtio"*/driver ] && [ "$(basename "$(readlink -f "$d"/virtio*/driver)")" = 9pnet_virtio ] &&
		basename "$d"
done | head -n 1 || true)
[ -n "$ninep" ] || vv_die "no 9p function found"
vv_refused 1 "is a virtio 9p device, not blk" nbdkit -f "$plugin" device="$ninep"

# Data the kernel's driver wrote, to be served as it is.
head -c $((1 << 20)) /dev/urandom >/tmp/pre
dd if=/tmp/pre of="$kdisk" bs=1M oflag=direct status=none
"$vv" attach "$bdf" >/dev/null

# --- the network: our side 198.18.0.1, a peer namespace 198.18.0.2 ------------------------
ip link set lo up
ip netns add peer
ip link add vnbd0 type veth peer name vnbd1
ip link set vnbd1 netns peer
ip addr add 198.18.0.1/24 dev vnbd0
ip link set vnbd0 up
ip -n peer addr add 198.18.0.2/24 dev vnbd1
ip -n peer link set vnbd1 up
ip -n peer link set lo up

# --- serve: nbdkit forks; the device is opened in the process that stays -------------------
# By the disk's serial: any name the CLI takes (attach recorded it).
nbdkit -i 198.18.0.1 -p 10809 --pidfile /tmp/nbdkit.pid "$plugin" device=serial:vvnbd0 \
	2>/tmp/nbdkit.err || vv_die "nbdkit did not start: $(cat /tmp/nbdkit.err)"
vv_wait "[ -s /tmp/nbdkit.pid ] && nbdinfo --size $uri >/dev/null 2>&1" 300 ||
	vv_die "nbdkit does not answer: $(cat /tmp/nbdkit.err)"
npid=$(cat /tmp/nbdkit.pid)
vv_refused 1 "is in use by another process" nbdkit -f -p 10810 "$plugin" device="$bdf"

info=$(nbdinfo --json $uri)
vv_assert_eq "$(jq '.exports[0]["export-size"]' <<<"$info")" $((64 << 20)) "nbdinfo: size"
for flag in can_flush can_fua can_trim can_zero can_multi_conn; do
	vv_assert_eq "$(jq ".exports[0].$flag" <<<"$info")" true "nbdinfo: $flag"
done
vv_assert_eq "$(jq '.exports[0].is_read_only' <<<"$info")" false "nbdinfo: writable"

# What the kernel wrote is what NBD reads.
nbd_dd /tmp/pre.nbd $((1 << 20)) 0
cmp /tmp/pre /tmp/pre.nbd || vv_die "NBD reads differ from what the kernel wrote"
echo "ok: NBD reads what the kernel's driver wrote"

# nbdcopy: several connections, many requests in flight, whole disk both ways.
head -c $((64 << 20)) /dev/urandom >/tmp/img
c nbdcopy --flush /tmp/img $uri
c nbdcopy $uri /tmp/back
cmp /tmp/img /tmp/back || vv_die "nbdcopy round trip differs"
echo "ok: nbdcopy writes and reads back 64 MiB"

# qemu-img and qemu-io: a converted image, then unaligned writes and reads with patterns.
head -c $((8 << 20)) /dev/urandom >/tmp/q
c qemu-img convert -n -f raw -O raw /tmp/q $uri
c qemu-img convert -f raw -O raw $uri /tmp/qback
cmp -n $((8 << 20)) /tmp/q /tmp/qback || vv_die "qemu-img round trip differs"
c qemu-io -f raw -c "write -P 0x5a 1000 3000" -c "write -P 0xa5 $((9 << 20)) 1M" -c flush \
	$uri >/dev/null
out=$(qemu-io -f raw -c "read -P 0x5a 1000 3000" -c "read -P 0xa5 $((9 << 20)) 1M" $uri)
! grep -qi "pattern verification failed\|error" <<<"$out" || vv_die "qemu-io: $out"
# The rest of the two edge blocks is as it was.
nbd_dd /tmp/edge 8192 0
cmp -n 1000 /tmp/q /tmp/edge || vv_die "bytes before the unaligned write changed"
cmp -i 4000 -n 4192 /tmp/q /tmp/edge || vv_die "bytes after the unaligned write changed"
echo "ok: qemu-img and qemu-io (unaligned) write and read back"

# Unaligned writes as they arrive (libnbd, its alignment checks off): several in flight at
# once, to different bytes of the same blocks; each edge is read, patched and written back by
# the plugin, and none undoes another. The bytes around them stay as they were.
c /usr/bin/python3 - "$uri" <<'EOF'
import sys, nbd
h = nbd.NBD()
h.set_strict_mode(0)
h.connect_uri(sys.argv[1])
base = 48 << 20
old = bytes((i * 13 + 5) % 256 for i in range(8192))
h.pwrite(old, base)
h.flush()
pieces = [(7, 93), (100, 412), (512, 1), (513, 3000), (3513, 583), (4100, 4000)]
want = bytearray(old)
cookies = []
for off, n in pieces:
    b = bytes((off * 7 + i) % 251 for i in range(n))
    want[off:off + n] = b
    cookies.append(h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(b)), base + off))
while h.aio_in_flight() > 0:
    h.poll(-1)
for c in cookies:
    h.aio_command_completed(c)
got = h.pread(8192, base)
bad = [i for i in range(8192) if got[i] != want[i]]
assert not bad, "bytes differ from %d (%d of them)" % (bad[0], len(bad))
print("ok: %d unaligned writes in flight at once, edges patched, neighbours intact" % len(pieces))
h.shutdown()
EOF

# Zero and trim reach the device.
c qemu-io -f raw -c "write -z $((16 << 20)) 4M" -c "discard $((20 << 20)) 4M" $uri >/dev/null
out=$(qemu-io -f raw -c "read -P 0 $((16 << 20)) 4M" $uri)
! grep -qi "failed\|error" <<<"$out" || vv_die "zeroes: $out"
echo "ok: write zeroes and discard"

# --- a client in another network namespace --------------------------------------------------
ip netns exec peer nbdinfo --size $uri >/tmp/peersize
vv_assert_eq "$(cat /tmp/peersize)" $((64 << 20)) "peer namespace: size"
head -c $((4 << 20)) /dev/urandom >/tmp/peer
c ip netns exec peer qemu-io -f raw -c "write -P 0x77 $((40 << 20)) 4M" -c flush $uri >/dev/null
out=$(ip netns exec peer qemu-io -f raw -c "read -P 0x77 $((40 << 20)) 4M" $uri)
! grep -qi "failed\|error" <<<"$out" || vv_die "peer: $out"
c ip netns exec peer nbdcopy $uri /tmp/peerback
c nbdcopy $uri /tmp/back
cmp /tmp/peerback /tmp/back || vv_die "the peer reads other bytes than we do"
echo "ok: a client in another network namespace reads and writes over TCP"

# --- the kernel's nbd client with ext4 on it -----------------------------------------------
if [ -e /dev/nbd0 ] || modprobe nbd 2>/dev/null; then
	timeout 60 nbd-client 198.18.0.1 10809 /dev/nbd0 -b 4096 -C 2 >/tmp/nbdc.out 2>&1 ||
		vv_die "nbd-client: $(cat /tmp/nbdc.out)"
	vv_wait "[ \"\$(cat /sys/block/nbd0/size)\" != 0 ]" 100 || vv_die "nbd0 has no size"
	mkfs.ext4 -q -F /dev/nbd0
	mkdir -p /tmp/fs
	mount /dev/nbd0 /tmp/fs
	cp /tmp/peer /tmp/fs/f
	sync
	umount /tmp/fs
	mount /dev/nbd0 /tmp/fs
	echo 3 >/proc/sys/vm/drop_caches
	cmp /tmp/peer /tmp/fs/f || vv_die "ext4 on /dev/nbd0: file differs"
	umount /tmp/fs
	nbd-client -d /dev/nbd0 >/dev/null 2>&1
	echo "ok: the kernel's nbd client carries ext4"
else
	vv_die "the nbd module does not load"
fi

# --- a resized disk: the config interrupt reaches the plugin, new connections see the size -
echo 'VV-QMP: {"execute": "block_resize", "arguments": {"node-name": "d_vnbd", "size": 100663296}}' >/dev/console
vv_wait "[ \"\$(nbdinfo --size $uri 2>/dev/null)\" = 100663296 ]" 300 ||
	vv_die "size after block_resize: $(nbdinfo --size $uri)"
echo "ok: after block_resize to 96 MiB, new connections see it"

# --- kill -9 of a client mid-write loses no acknowledged flush ----------------------------
: >/tmp/acked
(for i in $(seq 1 30); do
	qemu-io -f raw -c "write -P $i $((i << 20)) 1M" -c flush $uri >/dev/null || exit 0
	echo "$i" >>/tmp/acked
done) &
loop=$!
vv_wait "[ \$(wc -l </tmp/acked) -ge 3 ]" 600 || vv_die "the writer acknowledged nothing"
kill -STOP "$loop"
victim=$(pgrep -n qemu-io || true)
[ -n "$victim" ] && kill -9 "$victim"
kill -9 "$loop"
wait "$loop" 2>/dev/null || true
n=$(wc -l </tmp/acked)
for i in $(cat /tmp/acked); do
	out=$(qemu-io -f raw -c "read -P $i $((i << 20)) 1M" $uri)
	! grep -qi "failed\|error" <<<"$out" || vv_die "acknowledged write $i lost: $out"
done
echo "ok: $n acknowledged writes read back after the writer was killed mid-write"
kill -0 "$npid" || vv_die "nbdkit died with its client"

# Stop the server; the kernel's own driver sees the same bytes.
kill "$npid"
vv_wait "! kill -0 $npid 2>/dev/null" 300 || vv_die "nbdkit did not stop"
sanitizer_free /tmp/nbdkit.err
"$vv" detach "$bdf" >/dev/null
vv_wait "grep -qx vvnbd0 /sys/block/vd*/serial" 100 || vv_die "the kernel did not take the disk back"
kdisk=/dev/$(basename "$(dirname "$(grep -lx vvnbd0 /sys/block/vd*/serial)")")
for i in $(cat /tmp/acked); do
	cmp <(head -c $((1 << 20)) /dev/zero | tr '\0' "\\$(printf %03o "$i")") \
		<(dd if="$kdisk" bs=1M skip="$i" count=1 iflag=direct status=none) ||
		vv_die "write $i not on the disk"
done
echo "ok: the kernel's driver reads every acknowledged write"

# --- read-only, then removal under load ------------------------------------------------------
"$vv" attach "$gone" >/dev/null
nbdkit -f -r -i 198.18.0.1 -p 10811 "$plugin" device="$gone" queues=1 2>/tmp/ro.err &
rpid=$!
vv_wait "nbdinfo --size nbd://198.18.0.1:10811 >/dev/null 2>&1" 300 ||
	vv_die "nbdkit -r does not answer: $(cat /tmp/ro.err)"
vv_assert_eq "$(nbdinfo --json nbd://198.18.0.1:10811 | jq '.exports[0].is_read_only')" true \
	"nbdkit -r: read-only"
kill "$rpid"
wait "$rpid" || true

nbdkit -f -i 198.18.0.1 -p 10812 "$plugin" device="$gone" 2>/tmp/gone.err &
gpid=$!
guri=nbd://198.18.0.1:10812
vv_wait "nbdinfo --size $guri >/dev/null 2>&1" 300 || vv_die "no server: $(cat /tmp/gone.err)"
head -c $((32 << 20)) /dev/urandom >/tmp/g
# One request at a time, so that the client, failing on the first EIO, leaves no reply unread
# and closes its connection cleanly. A reset connection makes nbdkit log "read request: %m"
# while it shuts down; with the sanitizer's runtime preloaded into nbdkit (above), that has
# left glibc's locale lock with a reader count of -1, and nbdkit hung for good in exit(), in
# p11-kit's destructor (freelocale). Seen in every such run of the sanitized plugin, also
# before the DMA buffers moved to huge pages, and in none of the release plugin's.
(while nbdcopy --connections=1 --requests=1 /tmp/g $guri; do :; done) >/dev/null 2>&1 &
load=$!
sleep 3
kill -0 "$load" || vv_die "the load did not run"
echo 'VV-QMP: {"execute": "device_del", "arguments": {"id": "vnbdgone"}}' >/dev/console
# pciehp waits 5 s for a cancel of the attention button, then removes the function.
vv_wait "! kill -0 $gpid 2>/dev/null" 400 || vv_die "nbdkit did not end: $(diag)"
rc=0
wait "$gpid" || rc=$?
vv_assert_eq "$rc" 0 "nbdkit's exit status after removal"
grep -q "being removed" /tmp/gone.err || vv_die "no reason given: $(cat /tmp/gone.err)"
sanitizer_free /tmp/gone.err
echo "ok: nbdkit said: $(grep "being removed" /tmp/gone.err | head -n 1)"
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
vv_wait "[ ! -e /sys/bus/pci/devices/$gone ]" 300 || vv_die "$gone not removed: $(dmesg | tail)"
echo "ok: the kernel completed the removal"
