#!/bin/bash
# SPDX-License-Identifier: MIT
# The fio engine (virtio-vfio-fio.so): fio verify jobs at depth, one queue each, across the
# queues of a 4-queue disk in irq, poll and hybrid modes; trim and flush; the same job on the
# kernel's /dev/vdX and through the engine; and its refusals: a device that is no disk, one
# not attached, one another process holds, jobs run as processes, more jobs than queues.
#vm: timeout 600
#vm: topology rootport
#vm: blk vfe serial=vvfe0 size=128M discard extra=num-queues=4
#vm: blk vfk serial=vvfe-kernel size=16M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
eng=$VV_BUILD/fio/virtio-vfio-fio.so
if [ ! -f "$eng" ]; then
	# meson said why ("fio engine: skipped (...)"); scripts/test fetches fio's source first.
	echo "fioengine: SKIP, $eng was not built"
	exit 0
fi
# A sanitized engine in an unsanitized fio: the sanitizer runtimes must be loaded first.
# fio's own allocations at exit are not ours to report, hence no leak check in fio.
preload=$(ldd "$eng" | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
vvfio() {
	if [ -n "$preload" ]; then
		LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:exitcode=86 fio "$@"
	else
		fio "$@"
	fi
}
esc() { printf "%s" "${1//:/\\:}"; } # fio splits file names at ":"

bdf=$(vv_bdf_by_serial vvfe0)
kbdf=$(vv_bdf_by_serial vvfe-kernel)
kdisk=/dev/$(basename "$(dirname "$(grep -lx vvfe0 /sys/block/vd*/serial)")")

# The same job on the kernel's driver, before the disk changes hands.
job=(--name=same --rw=randrw --bs=4k --iodepth=16 --size=32M --time_based --runtime=5
	--output-format=json)
kiops=$(fio "${job[@]}" --filename="$kdisk" --ioengine=libaio --direct=1 |
	jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor')
"$vv" attach "$bdf" >/dev/null
eng_args=(--thread --ioengine=external:"$eng" --filename="$(esc "$bdf")")
# By the disk's serial (attach recorded it): any name the CLI takes, colons escaped.
eiops=$(vvfio "${job[@]}" --thread --ioengine=external:"$eng" --filename='serial\:vvfe0' |
	jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor')
echo "same job, 4K randrw QD16: kernel $kdisk $kiops IOPS, engine $eiops IOPS"
[ "$kiops" -gt 0 ] && [ "$eiops" -gt 0 ] || vv_die "a run did no I/O"

# Verify at depth: four jobs, four queues, each its own quarter of the disk.
verify() {
	local out
	out=$(vvfio --output-format=terse --terse-version=3 "${eng_args[@]}" --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randrepeat=0 --verify_state_save=0 "$@" 2>&1) ||
		{ echo "$out"; vv_die "fio verify through the engine failed: $*"; }
	echo "ok: verify $*" | cut -c1-160
}
verify --name=irq --rw=randwrite --bsrange=512-128k --size=24M --numjobs=4 \
	--offset_increment=32M --iodepth=32 --vv_mode=irq
verify --name=poll --rw=randwrite --bsrange=4k-256k --size=24M --numjobs=2 \
	--offset_increment=64M --iodepth=64 --vv_mode=poll
verify --name=hybrid --rw=write --bs=1M --size=16M --numjobs=2 --offset_increment=64M \
	--iodepth=8 --vv_mode=hybrid --vv_spin_us=20
# The short spelling of the address, and a verify with its writes flushed every 8.
out=$(vvfio --name=short --thread --ioengine=external:"$eng" --filename="$(esc "${bdf#0000:}")" \
	--rw=randwrite --bs=8k --size=8M --offset=100M --iodepth=8 --fsync=8 --verify=md5 \
	--do_verify=1 --verify_fatal=1 --verify_state_save=0 --output-format=json)
syncs=$(jq '.jobs[0].sync.total_ios // 0' <<<"$out")
[ "$syncs" -gt 0 ] || vv_die "no flush went through (sync total_ios $syncs)"
echo "ok: short address, $syncs flushes behind writes"

# Trim: data written, then discarded through the engine, reads back as zeroes once the
# kernel has the disk again (QEMU punches the image: discard=unmap).
vvfio --name=fill "${eng_args[@]}" --rw=write --bs=64k --size=4M --offset=112M --iodepth=4 \
	--output=/dev/null
out=$(vvfio --name=trim "${eng_args[@]}" --rw=trim --bs=64k --size=4M --offset=112M \
	--iodepth=4 --output-format=json)
trims=$(jq '.jobs[0].trim.total_ios' <<<"$out")
vv_assert_eq "$trims" 64 "trims done through the engine"

# Refusals, each with the sentence that says what to do.
refuse() { # want-substring fio-args...
	local want=$1 out
	shift
	out=$(vvfio --name=r --size=1M --output=/dev/null "$@" 2>&1) && vv_die "fio accepted: $*"
	[[ $out == *"$want"* ]] || { echo "$out"; vv_die "expected '$want'"; }
	echo "ok: refused: $want"
}
refuse "must be threads" --ioengine=external:"$eng" --filename="$(esc "$bdf")"
refuse "every queue of $bdf taken" "${eng_args[@]}" --numjobs=5 --time_based --runtime=2
refuse "not bound to vfio-pci: run 'virtio-vfio attach $kbdf' first" --thread \
	--ioengine=external:"$eng" --filename="$(esc "$kbdf")"
refuse "is a virtio 9p device, not blk" --thread --ioengine=external:"$eng" \
	--filename="$(esc "$(vv_bdf_by_id 0x1af4 0x1009)")" # the guest's root: never touched
refuse "is not a device name" --thread --ioengine=external:"$eng" --filename=no/such
refuse "no virtio function has the serial 'nosuch'" --thread --ioengine=external:"$eng" \
	--filename='serial\:nosuch'
# Another process holds the device: a second fio.
vvfio --name=holder "${eng_args[@]}" --rw=read --bs=4k --size=1M --time_based --runtime=30 \
	--eta=never --output=/dev/null &
holder=$!
vv_wait "ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q /dev/vfio/[0-9]" 300 ||
	vv_die "the first fio never opened the device"
refuse "in use by another process" "${eng_args[@]}"
for p in $(pgrep -f -- --name=holder); do kill "$p" 2>/dev/null || true; done
wait "$holder" || true

"$vv" detach "$bdf" >/dev/null
dd if="$kdisk" bs=64k skip=$((112 * 16)) count=64 iflag=direct status=none |
	cmp - <(head -c $((4 << 20)) /dev/zero) || vv_die "trimmed range does not read back as zeroes"
echo "ok: trimmed range reads back zeroes through the kernel"
echo "fioengine: all checks passed"
