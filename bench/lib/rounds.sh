# SPDX-License-Identifier: MIT
# Sourced by the bench cases that print tables of rounds (bench/bounds.sh, bench/spdk.sh):
# each measurement goes into res[WHO,ROUND] with row(); table() then gives, per contender,
# the median and range over the $rounds rounds and the median and range of its per-round
# ratio to a reference's figure of the same round.
declare -A res

row() { # round who value unit
	printf 'round %s %-26s %10.1f %s\n' "$@"
	res["$2,$1"]=$3
}

stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'; }

# table TITLE REFERENCE WHO...
table() {
	local title=$1 ref=$2 w v q
	shift 2
	printf '\n%-28s %26s %26s\n' "$title" "median (range)" "x $ref"
	for w in "$@"; do
		v=() q=()
		for r in $(seq "$rounds"); do
			v+=("${res[$w,$r]}")
			q+=("$(awk -v x="${res[$w,$r]}" -v y="${res[$ref,$r]}" \
				'BEGIN { printf "%.3f", x / y }')")
		done
		printf '%-28s %26s %26s\n' "$w" "$(stats "${v[@]}")" "$(stats "${q[@]}")"
	done
}
