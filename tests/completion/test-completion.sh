#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion (cli/virtio-vfio.bash) offers the commands, each command's options and
# the values some take. TAP on stdout. Usage: test-completion.sh COMPLETION-FILE
set -uo pipefail
. "$1"
n=0 bad=0
# complete WORDS... : COMPREPLY for the last word, sorted, on one line
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_virtio_vfio
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() { # WANT-WORD WORDS...: WANT-WORD among the completions
	local want=$1 got
	shift
	got=$(complete_line "$@")
	n=$((n + 1))
	if [[ " $got" == *" $want "* ]]; then
		echo "ok $n - '$*' offers $want"
	else
		echo "not ok $n - '$*' offers '$got', not $want"
		bad=$((bad + 1))
	fi
}
expect attach virtio-vfio at
expect doctor virtio-vfio do
expect --version virtio-vfio --ver
expect --owner virtio-vfio attach --
expect -u virtio-vfio attach -
expect --verbose virtio-vfio info -
expect --json virtio-vfio doctor --
expect bench virtio-vfio blk b
expect mount virtio-vfio blk m
expect export virtio-vfio blk e
expect --recover virtio-vfio blk export --rec
expect --foreground virtio-vfio blk mount --f
expect allow_other virtio-vfio blk mount -o a
expect hybrid virtio-vfio blk bench --mode h
expect randrw virtio-vfio blk bench --rw randr
expect --poll-us virtio-vfio net serve --p
expect bench virtio-vfio net b
expect --queue-pairs virtio-vfio net bench --q
expect rxonly virtio-vfio net bench --mode rx
expect root virtio-vfio attach --owner roo
echo "1..$n"
exit $((bad > 0))
