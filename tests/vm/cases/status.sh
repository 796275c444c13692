#!/bin/bash
# SPDX-License-Identifier: MIT
# `virtio-vfio status`: two `blk mount`s and a `net serve` listed with their devices, where
# they serve and their counters; the counters move under fio and match fio's own totals
# exactly (direct I/O, 4 KiB blocks); net serve's move under ping and TCP echo; the filter;
# entries gone after umount and SIGTERM; a stopped server does not hang `status`; the socket
# of a process killed with -9 is removed; a user's mount, its socket in $XDG_RUNTIME_DIR.
#vm: timeout 420
#vm: topology rootport
#vm: blk va serial=vvstat0 size=64M
#vm: blk vb serial=vvstat1 size=32M
#vm: netpair vna vka mac0=52:54:00:00:07:a0 mac1=52:54:00:00:07:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
sdir=/run/virtio-vfio
st() { "$vv" status --json; }
# The value of jq filter $1 in the status document.
sq() { st | jq -r "$1"; }
fio_name() { printf "%s" "${1//:/\\:}"; } # fio splits file names at ":"

vv_assert_eq "$("$vv" status)" "nothing is served (no 'blk mount' or 'net serve' runs)" \
	"status with nothing served"
vv_assert_eq "$(sq '[.version, (.processes | length)] | @tsv')" "1	0" "status --json, empty"

# --- two blk mounts: a daemon and one in the foreground ---------------------------------
b0=$(vv_bdf_by_serial vvstat0)
b1=$(vv_bdf_by_serial vvstat1)
"$vv" attach "$b0" "$b1" >/dev/null
mkdir -p /tmp/m /tmp/m2
"$vv" blk mount "$b0" /tmp/m
"$vv" blk mount -F "$b1" /tmp/m2 2>/tmp/m2.err &
fg=$!
vv_wait "mountpoint -q /tmp/m2" 100 || vv_die "second mount did not come up: $(cat /tmp/m2.err)"
f0=/tmp/m/vvstat0 # files are named by the serial

vv_assert_eq "$(sq '.processes | length')" 2 "two processes listed"
p0=$(sq ".processes[] | select(.mountpoint == \"/tmp/m\") | .pid")
vv_assert_eq "$(sq ".processes[] | select(.pid == $fg) | .mountpoint")" /tmp/m2 \
	"the foreground mount, by its pid"
[ -S "$sdir/$p0.sock" ] && [ -S "$sdir/$fg.sock" ] || vv_die "sockets: $(ls -l $sdir)"
vv_assert_eq "$(stat -c %a "$sdir/$p0.sock")" 600 "socket mode"
d0=".processes[] | select(.pid == $p0) | .devices[0]"
vv_assert_eq "$(sq "$d0 | [.bdf, .serial, .path, .size_bytes, .block_size, .queues, .mode, .state] | @tsv")" \
	"$b0	vvstat0	$f0	67108864	512	1	interrupt	ok" "device of the daemon"
vv_assert_eq "$(sq ".processes[] | select(.pid == $p0) | [.command, .access, .state] | @tsv")" \
	"blk mount	rw	serving" "the daemon's mount"
"$vv" status | tee /tmp/table
grep -q "^$p0 *blk mount *$b0 *$f0 " /tmp/table || vv_die "table row of $b0"

# --- the counters under fio: moving while it runs, its totals exactly at the end ----------
before=$(st)
count() { jq -r "$d0 | .$2" <<<"$1"; }
fio --name=status --filename="$(fio_name "$f0")" --rw=randrw --rwmixread=50 --bs=4k \
	--size=48M --io_size=24M --direct=1 --ioengine=libaio --iodepth=8 --randrepeat=0 \
	--output-format=json >/tmp/fio.json 2>/tmp/fio.err &
fiop=$!
seen=()
while kill -0 $fiop 2>/dev/null; do
	seen+=("$(sq "$d0 | .requests")")
	sleep 0.3
done
wait $fiop || vv_die "fio failed: $(cat /tmp/fio.err)"
after=$(st)
rd=$(jq '.jobs[0].read.total_ios' /tmp/fio.json)
rb=$(jq '.jobs[0].read.io_bytes' /tmp/fio.json)
wr=$(jq '.jobs[0].write.total_ios' /tmp/fio.json)
wb=$(jq '.jobs[0].write.io_bytes' /tmp/fio.json)
echo "fio: $rd reads ($rb bytes), $wr writes ($wb bytes); status seen during the run: ${seen[*]}"
vv_assert_eq $(($(count "$after" reads) - $(count "$before" reads))) "$rd" "reads match fio"
vv_assert_eq $(($(count "$after" writes) - $(count "$before" writes))) "$wr" "writes match fio"
vv_assert_eq $(($(count "$after" bytes_read) - $(count "$before" bytes_read))) "$rb" \
	"bytes read match fio"
vv_assert_eq $(($(count "$after" bytes_written) - $(count "$before" bytes_written))) "$wb" \
	"bytes written match fio"
vv_assert_eq $((rb + wb)) $((24 << 20)) "fio did all its I/O"
vv_assert_eq "$(count "$after" errors)/$(count "$after" in_flight)" 0/0 "no errors, none in flight"
# Moving: some look during the run saw neither the start nor the end.
start=$(count "$before" requests) end=$(count "$after" requests) mid=0
for v in "${seen[@]}"; do ((v > start && v < end)) && mid=$((mid + 1)); done
((mid >= 1)) || vv_die "no look during fio saw the counters between $start and $end: ${seen[*]}"
echo "ok: $mid looks during fio saw the counters move"
# The other mount saw none of it.
vv_assert_eq "$(sq ".processes[] | select(.pid == $fg) | .devices[0].requests")" 0 \
	"the other mount's counters"

# --- the filter ---------------------------------------------------------------------------
vv_assert_eq "$("$vv" status --json "$b1" | jq -r '[.processes[].pid] | @tsv')" "$fg" "by BDF"
vv_assert_eq "$("$vv" status --json "${b1#0000:}" | jq -r '[.processes[].pid] | @tsv')" "$fg" \
	"by short BDF"
vv_assert_eq "$("$vv" status --json vvstat0 | jq -r '[.processes[].pid] | @tsv')" "$p0" "by serial"
vv_assert_eq "$("$vv" status --json /tmp/m/ | jq -r '[.processes[].pid] | @tsv')" "$p0" \
	"by mountpoint"
vv_assert_eq "$("$vv" status --json "$f0" | jq -r '[.processes[].pid] | @tsv')" "$p0" "by file"
vv_refused 1 "nothing serves 0000:99:00.0" "$vv" status 0000:99:00.0

# --- net serve --------------------------------------------------------------------------
a0=$(vv_bdf_by_mac 52:54:00:00:07:a0)
ka=$(basename "$(dirname "$(grep -lx 52:54:00:00:07:a1 /sys/class/net/*/address)")")
ip netns add peer
ip link set "$ka" netns peer
ip -n peer link set "$ka" up
ip -n peer addr add 198.18.0.2/24 dev "$ka"
"$vv" attach "$a0" >/dev/null
"$vv" net serve "$a0" --ip 198.18.0.1/24 >/tmp/serve.log 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null || true' EXIT
vv_wait "grep -q serving /tmp/serve.log" 300 || vv_die "net serve: $(cat /tmp/serve.log)"
n0=".processes[] | select(.pid == $serve) | .devices[0]"
vv_assert_eq "$(sq "$n0 | [.bdf, .mac, .ip, .link] | @tsv")" \
	"$a0	52:54:00:00:07:a0	198.18.0.1/24	up" "net serve listed"
before=$(st)
ip netns exec peer ping -c 10 -i 0.2 -W 5 198.18.0.1 >/dev/null
got=$(printf 'hello, status' | ip netns exec peer nc -N -w 20 198.18.0.1 7)
vv_assert_eq "$got" "hello, status" "TCP echo"
after=$(st)
for k in rx_packets tx_packets; do
	d=$(($(jq -r "$n0 | .$k" <<<"$after") - $(jq -r "$n0 | .$k" <<<"$before")))
	((d >= 10)) || vv_die "$k moved by $d under 10 pings"
	echo "ok: $k moved by $d"
done
d=$(($(jq -r "$n0 | .rx_bytes" <<<"$after") - $(jq -r "$n0 | .rx_bytes" <<<"$before")))
((d >= 10 * 98 + 13)) || vv_die "rx_bytes moved by $d only"
"$vv" status "$a0" | grep -q "^$serve *net serve *$a0 *198.18.0.1/24 " || vv_die "net table row"

# A server that does not answer (stopped) costs `status` its deadline, not a hang.
kill -STOP $serve
t0=$(date +%s)
out=$("$vv" status --json 2>&1 >/dev/null) || true
kill -CONT $serve
t1=$(date +%s)
((t1 - t0 <= 5)) || vv_die "status took $((t1 - t0)) s with a stopped server"
[[ $out == *"$serve.sock: no status"* ]] || vv_die "stopped server: '$out'"
echo "ok: a stopped server is skipped ($out)"
vv_assert_eq "$(sq "$n0 | .state")" ok "net serve answers again"

# --- entries vanish: SIGTERM, umount, kill -9 ----------------------------------------------
kill -TERM $serve
wait $serve || vv_die "net serve exit status $?"
trap - EXIT
[ ! -e "$sdir/$serve.sock" ] || vv_die "net serve left its socket"
vv_assert_eq "$(sq "[.processes[] | select(.pid == $serve)] | length")" 0 "net serve gone"

umount /tmp/m
vv_wait_gone "$b0"
[ ! -e "$sdir/$p0.sock" ] || vv_die "blk mount left its socket"
vv_assert_eq "$(sq '[.processes[].pid] | @tsv')" "$fg" "the unmounted one gone"

kill -9 $fg
wait $fg 2>/dev/null || true
umount /tmp/m2 2>/dev/null || umount -l /tmp/m2
[ -S "$sdir/$fg.sock" ] || vv_die "kill -9 should have left the socket behind"
out=$("$vv" status 2>&1)
echo "$out"
[[ $out == *"removed $sdir/$fg.sock: its process $fg is gone"* ]] || vv_die "stale socket: $out"
[ ! -e "$sdir/$fg.sock" ] || vv_die "stale socket still there"
vv_assert_eq "$(sq '.processes | length')" 0 "nothing listed at the end"

# --- a user's mount: its socket in its XDG_RUNTIME_DIR, seen by the user and by root; root's
# own mount is not the user's to read ----------------------------------------------------------
NOBODY=65534
xdg=/run/user/$NOBODY
"$vv" detach "$b1" >/dev/null
"$vv" attach --owner $NOBODY "$b1" >/dev/null
chmod 0666 /dev/fuse # devtmpfs makes it 0600; udev's rules make it 0666 (see nonroot)
mkdir -p "$xdg" /tmp/m3
chown $NOBODY:$NOBODY "$xdg" /tmp/m3
chmod 700 "$xdg"
as_nobody() {
	XDG_RUNTIME_DIR=$xdg prlimit --memlock=unlimited:unlimited \
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"
}
as_nobody "$vv" blk mount "$b1" /tmp/m3
up=$(pgrep -f "blk mount $b1")
[ -S "$xdg/virtio-vfio/$up.sock" ] || vv_die "no user socket: $(ls -lR "$xdg")"
"$vv" blk mount "$b0" /tmp/m
p0=$(pgrep -f "blk mount $b0")
vv_assert_eq "$(as_nobody "$vv" status --json 2>/tmp/st.err | jq -r '.processes[] | [.pid, .uid, .mountpoint] | @tsv')" \
	"$up	$NOBODY	/tmp/m3" "the user sees its own mount"
grep -q "1 serving process of other users not shown" /tmp/st.err ||
	vv_die "the user was not told about root's mount: $(cat /tmp/st.err)"
vv_assert_eq "$(sq '[.processes[].pid] | @tsv')" "$(printf '%s\n' $p0 $up | sort -n | paste -sd '\t')" \
	"root sees both, by pid"
as_nobody fusermount3 -u /tmp/m3
vv_wait "! pgrep -f 'blk mount $b1' >/dev/null" 100 || vv_die "the user's mount did not end"
[ ! -e "$xdg/virtio-vfio/$up.sock" ] || vv_die "the user's mount left its socket"
umount /tmp/m
vv_wait_gone "$b0"
vv_assert_eq "$(sq '.processes | length')" 0 "nothing listed at the end"
"$vv" detach "$b0" "$b1" "$a0" >/dev/null
echo "status: all checks passed"
