#!/bin/bash
# SPDX-License-Identifier: MIT
# The fio engine, without a device: the installed fio loads it (same ioengine_ops version),
# lists its options, and refuses bad job files with the sentence that says what to do.
# Usage: check-engine.sh ENGINE.so        (TAP on stdout)
set -uo pipefail
eng=$1
n=0 bad=0

# A sanitized engine in an unsanitized fio: the sanitizer runtimes must be loaded first.
preload=$(ldd "$eng" | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
run_fio() {
	LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:exitcode=86 fio "$@" 2>&1
}
check() { # description want-substring fio-args...
	local what=$1 want=$2 out
	shift 2
	out=$(run_fio "$@")
	if [[ $out == *"$want"* ]]; then
		echo "ok $((++n)) - $what"
	else
		echo "not ok $((++n)) - $what: no '$want' in:"
		sed 's/^/# /' <<<"$out"
		bad=$((bad + 1))
	fi
}

check "fio loads the engine and lists vv_mode" "vv_mode" --enghelp="$eng"
check "fio lists vv_spin_us" "vv_spin_us" --enghelp="$eng"
check "vv_mode offers poll" "poll" --enghelp="$eng",vv_mode
check "a name that fits no form is refused" "escape each" --name=t --thread \
	--ioengine=external:"$eng" --filename=no/such --size=1M
check "a name no device has is refused" "no virtio function has the serial 'nosuchdisk'" --name=t --thread \
	--ioengine=external:"$eng" --filename='serial\:nosuchdisk' --size=1M
check "jobs run as processes are refused" "must be threads" --name=t \
	--ioengine=external:"$eng" --filename='0000\:00\:1f.7' --size=1M
check "a function that does not exist is refused" "no such PCI device" --name=t --thread \
	--ioengine=external:"$eng" --filename='00ff\:1f\:1f.7' --size=1M
check "a bad vv_mode is refused" "failed parsing vv_mode" --name=t --thread --ioengine=external:"$eng" \
	--vv_mode=sometimes --filename='00ff\:1f\:1f.7' --size=1M
echo "1..$n"
[ $bad = 0 ]
