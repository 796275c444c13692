# SPDX-License-Identifier: MIT
# bash completion for virtio-vfio: commands, options, and device names (PCI addresses, the
# kernel's names, serial:SERIAL, mac:MAC) read from /sys and the records attach keeps.
# Works with and without the bash-completion package.

# The names of virtio functions, in every form virtio-vfio(1) DEVICE NAMES accepts.
_virtio_vfio_devices() {
	local d bdf v n f
	for d in /sys/bus/pci/devices/*; do
		[ -r "$d/vendor" ] || continue
		v=$(<"$d/vendor")
		[ "$v" = 0x1af4 ] || continue
		bdf=${d##*/}
		echo "$bdf"
		for n in "$d"/virtio*/block/* "$d"/virtio*/net/*; do
			[ -e "$n" ] || continue
			echo "${n##*/}"
			# $(<file): a serial attribute need not end in a newline, which read wants.
			[ -r "$n/serial" ] && v=$(<"$n/serial") && [ -n "$v" ] && echo "serial:$v"
			[ -r "$n/address" ] && v=$(<"$n/address") && echo "mac:$v"
		done
		f=/run/virtio-vfio/devices/$bdf
		if [ -r "$f" ]; then
			while IFS='=' read -r n v; do
				[ -n "$v" ] || continue
				case $n in
				kname) echo "$v" ;;
				serial) echo "serial:$v" ;;
				mac) echo "mac:$v" ;;
				esac
			done <"$f"
		fi
	done
}

_virtio_vfio() {
	local cur prev words cword
	if declare -F _get_comp_words_by_ref >/dev/null; then
		# Colons belong to PCI addresses and MACs: no word break there.
		_get_comp_words_by_ref -n : cur prev words cword
	else
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	fi

	local global="-v --verbose -h --help -V --version"
	local cmd="" sub="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=${words[i]}
			elif [ -z "$sub" ] && { [ "$cmd" = blk ] || [ "$cmd" = net ]; }; then
				sub=${words[i]}
			fi
			;;
		esac
	done

	local opts="" devices=1 words_out=""
	case "$cmd${sub:+ $sub}" in
	"")
		words_out="list attach detach info doctor blk net $global"
		devices=0
		;;
	list) opts="--json" devices=0 ;;
	attach)
		opts="-f --force -u --owner --json"
		case $prev in
		-u | --owner)
			mapfile -t COMPREPLY < <(compgen -u -- "$cur")
			return
			;;
		esac
		;;
	detach) opts="-f --force --json" ;;
	info | doctor) opts="--json" ;;
	blk)
		words_out="mount export bench"
		devices=0
		;;
	net)
		words_out="serve bench"
		devices=0
		;;
	"blk mount")
		opts="-F --foreground -o --options"
		case $prev in
		-o | --options)
			mapfile -t COMPREPLY < <(compgen -W "ro rw allow_other queues=" -- "$cur")
			return
			;;
		esac
		# The last argument is a mountpoint: directories too.
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		;;
	"blk export")
		opts="--ublk --queues --depth --recover -F --foreground --pidfile --json"
		case $prev in --queues | --depth) return ;; --pidfile)
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			return
			;;
		esac
		;;
	"blk bench")
		opts="--rw --bs --qd --queues --queue-size --time --mode --spin-us --json"
		case $prev in
		--rw)
			mapfile -t COMPREPLY < <(compgen -W "randread randwrite read write randrw" -- "$cur")
			return
			;;
		--mode)
			mapfile -t COMPREPLY < <(compgen -W "irq poll hybrid" -- "$cur")
			return
			;;
		--bs | --qd | --queues | --queue-size | --time | --spin-us) return ;;
		esac
		;;
	"net bench")
		opts="--mode --size --burst --time --queue-pairs --dst --json"
		case $prev in
		--mode)
			mapfile -t COMPREPLY < <(compgen -W "txonly rxonly fwd rtt" -- "$cur")
			return
			;;
		--size | --burst | --time | --queue-pairs | --dst) return ;;
		esac
		;;
	"net serve")
		opts="--ip --gw --poll-us --queues"
		case $prev in --ip | --gw | --poll-us | --queues) return ;; esac
		;;
	*) return ;;
	esac
	[ -n "$cmd" ] && opts="$opts -v --verbose -h --help"

	if [[ $cur == -* ]]; then
		words_out="$opts"
		[ -n "$cmd" ] || words_out=$global
	elif [ "$devices" = 1 ]; then
		words_out="$words_out $(_virtio_vfio_devices)"
	fi
	local more
	mapfile -t more < <(compgen -W "$words_out" -- "$cur")
	COMPREPLY+=("${more[@]}")
	if declare -F __ltrim_colon_completions >/dev/null; then
		__ltrim_colon_completions "$cur"
	fi
}
complete -F _virtio_vfio virtio-vfio
