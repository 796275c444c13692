#!/bin/bash
# SPDX-License-Identifier: MIT
# virtio-net on a real backend: a multi-queue tap in the run's own network namespace with
# the host's kernel behind it (tests/vm/run, "nic tap"; tests/vm/lib/tap-peer answers at
# 198.19.0.2, past a hop that computes checksums and cuts segments in software, so that
# the far side's own stack checks what our NIC sent). Several queue pairs carrying UDP at
# once, each on its own thread; checksum offload both ways and the library's software
# checksums; TCP segmentation sent (TSO) and coalesced frames received (GUEST_TSO), every
# byte checked on both sides; UDP segmentation (USO) where QEMU offers it (modern);
# `net serve --queues 4` answering the peer's TCP echo clients
# on several pairs; RSS with hash reports (QEMU's software RSS): each echo's hash
# is our own Toeplitz hash of it and it arrives on the pair the table names.
#vm: timeout 900
#vm: platforms stock modern
#vm: nic tap vt mac=52:54:00:00:07:01 queues=4 extra=rss=on,hash=on
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
tap=$VV_BUILD/tests/vv-nettap
for t in "$vv" "$tap"; do [ -x "$t" ] || vv_die "$t not built"; done

# key=value from the line of $1 that starts with $2.
val() { sed -n "s/^$2 \(.* \)\?$3=\([0-9]*\).*/\2/p" <<<"$1" | head -n 1; }
# The far peer's counter $2 after minus before, in the output $1.
far_delta() {
	local b a
	b=$(val "$1" far_before "$2")
	a=$(val "$1" far_after "$2")
	echo $((a - b))
}
run() { # the tool's output, shown; fails the case on the tool's failure
	local out rc=0
	out=$("$tap" "$@" 2>&1) || rc=$?
	echo "$out" >&2
	[ "$rc" = 0 ] || vv_die "vv-nettap $* failed ($rc)"
	echo "$out"
}

bdf=$(vv_bdf_by_mac 52:54:00:00:07:01)
"$vv" attach "$bdf" >/dev/null

# --- what the tap backend offers --------------------------------------------------------
"$vv" info "$bdf" | grep -Ei "^Queues|max queue pairs|HASH|RSS" || true
info=$(run --pairs 4 --offload csum,rxcsum,tso,rxtso,uso,rxuso "$bdf" info)
vv_assert_eq "$(sed -n 's/^max_pairs=//p' <<<"$info")" 4 "four queue pairs"
vv_assert_eq "$(sed -n 's/^pairs=//p' <<<"$info")" 4 "four pairs prepared"
caps=$(sed -n 's/^caps=//p' <<<"$info")
for c in mq tx_csum rx_csum mrg_rxbuf tx_tso4 tx_tso6 rx_tso4 rx_tso6; do
	grep -q "\(^\|,\)$c," <<<"$caps" || vv_die "tap: no $c in $caps"
done
uso=0
if grep -q "tx_uso," <<<"$caps"; then
	echo "USO offered by this QEMU"
	uso=1
else
	echo "USO: not offered (QEMU 7.2 has no host_uso; it needs QEMU >= 8.2): skipped"
fi
# Nothing asked, nothing negotiated.
caps=$(run "$bdf" info | sed -n 's/^caps=//p')
grep -Eq "(csum|tso|uso)" <<<"$caps" && vv_die "offloads negotiated unasked: $caps"
echo "== negotiation ok"

# --- four pairs at once, checksums offloaded both ways ------------------------------------
out=$(run --pairs 4 --offload csum,rxcsum "$bdf" udp 2000)
grep -q "^udp sent 8000 echoed 8000 bad 0 " <<<"$out" || vv_die "udp echo on 4 pairs"
busy=0
for q in 0 1 2 3; do
	tx=$(val "$out" "pair $q" tx_packets)
	rx=$(val "$out" "pair $q" rx_packets)
	off=$(val "$out" "pair $q" tx_csum_offload)
	sw=$(val "$out" "pair $q" tx_csum_sw)
	(( tx >= 2000 )) || vv_die "pair $q sent $tx"
	(( off >= 2000 && sw == 0 )) || vv_die "pair $q: checksums offloaded $off, by the library $sw"
	(( rx > 0 )) && busy=$((busy + 1))
done
(( busy >= 2 )) || vv_die "echoes came back on $busy pair(s) only"
echo "pairs receiving: $busy of 4"
# Every echo was checked here; the device (with the host's kernel) vouched for each one.
grep -q " csum_flagged 8000 " <<<"$out" || vv_die "receive checksums not offloaded"
vv_assert_eq "$(far_delta "$out" udp_csum_errors)" 0 "far side: UDP checksum errors"
(( $(far_delta "$out" udp_in) >= 8000 )) || vv_die "far side got fewer than 8000 datagrams"
echo "== 4 queue pairs, checksum offload both ways ok"

# --- no offloads: the library computes and checks the checksums ------------------------
out=$(run --pairs 2 "$bdf" udp 500)
grep -q "^udp sent 1000 echoed 1000 bad 0 csum_flagged 0 csum_checked_here 1000" <<<"$out" ||
	vv_die "udp without offloads"
for q in 0 1; do
	(( $(val "$out" "pair $q" tx_csum_sw) >= 500 )) || vv_die "pair $q: software checksums"
done
vv_assert_eq "$(far_delta "$out" udp_csum_errors)" 0 "far side: UDP checksum errors (software)"
echo "== software checksums ok"

# --- TCP: segmentation sent, coalesced frames received ------------------------------------
bytes=2000000
out=$(run --offload csum,rxcsum,tso,rxtso "$bdf" tcp $bytes)
grep -q "^tcp sent $bytes echoed $bytes .* rx_bad 0 ok$" <<<"$out" || vv_die "tcp echo with TSO"
gso=$(val "$out" offload tx_gso)
segs=$(val "$out" offload tx_gso_segs)
(( gso > 0 && segs > gso )) || vv_die "no segmentation requests sent ($gso, $segs segments)"
vv_assert_eq "$(far_delta "$out" tcp_csum_errors)" 0 "far side: TCP checksum errors"
# The far side got the segments the device cut, not the requests.
(( $(far_delta "$out" rx_packets) >= segs )) || vv_die "far side saw fewer frames than segments"
coal=$(sed -n 's/.* rx_coalesced \([0-9]*\) .*/\1/p' <<<"$out")
max=$(sed -n 's/.* rx_max_frame \([0-9]*\) .*/\1/p' <<<"$out")
(( coal > 0 && max > 1514 )) || vv_die "no coalesced frames received ($coal, largest $max)"
vv_assert_eq "$(val "$out" offload rx_bad_hdr)" 0 "headers refused"
echo "== TSO: $gso requests for $segs segments; GUEST_TSO: $coal coalesced frames, up to $max bytes"

# The same without segmentation either way: MSS-sized frames only.
out=$(run --offload csum "$bdf" tcp 300000)
grep -q "^tcp sent 300000 echoed 300000 .* rx_coalesced 0 .* rx_bad 0 ok$" <<<"$out" ||
	vv_die "tcp echo without segmentation"
vv_assert_eq "$(val "$out" offload tx_gso)" 0 "no segmentation requests without TSO"
(( $(sed -n 's/.* rx_max_frame \([0-9]*\) .*/\1/p' <<<"$out") <= 1514 )) || vv_die "frame > MTU"
echo "== TCP without segmentation ok"

# --- UDP segmentation, where the device offers it (QEMU >= 8.2: the modern platform) ------
if [ "$uso" = 1 ]; then
	out=$(run --offload csum,uso "$bdf" uso 50)
	grep -q "^uso requests 50 datagrams 400 echoed 400 bad 0$" <<<"$out" || vv_die "USO"
	vv_assert_eq "$(val "$out" offload tx_gso)" 50 "USO requests"
	vv_assert_eq "$(val "$out" offload tx_gso_segs)" 400 "USO segments"
	vv_assert_eq "$(far_delta "$out" udp_csum_errors)" 0 "far side: UDP checksum errors (USO)"
	(( $(far_delta "$out" udp_in) >= 400 )) || vv_die "far side got fewer than 400 datagrams"
	echo "== USO: 50 requests cut into 400 datagrams, each echoed and checked"
fi

# --- RSS: the device hashes and steers; both checked frame by frame ----------------------
info=$(run --pairs 4 --offload rss,hash "$bdf" info)
caps=$(sed -n 's/^caps=//p' <<<"$info")
for c in rx_hash rss; do grep -q "\(^\|,\)$c," <<<"$caps" || vv_die "tap: no $c in $caps"; done
out=$(run --pairs 4 --offload rss,hash "$bdf" rss 32 40)
grep -q "^rss sent 1280 echoed 1280 ok 1280 bad_hash 0 bad_type 0 bad_queue 0 " <<<"$out" ||
	vv_die "RSS"
used=$(sed -n 's/.* pairs_used \([0-9]*\)$/\1/p' <<<"$out")
(( used >= 3 )) || vv_die "32 flows steered to $used pair(s) only"
echo "== RSS: 32 flows over $used pairs, every hash and pair as computed here"

# --- net serve on 4 queue pairs: the far peer's 5 rounds of 8 TCP echo connections -------
vv_assert_eq "$(run "$bdf" far client | sed -n 's/^far //p')" "client started" "peer's client"
log=/tmp/serve.log
"$vv" net serve "$bdf" --queues 4 --ip 198.18.0.1/24 --gw 198.18.0.2 >"$log" 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q "serving 198.18.0.1/24" "$log" && break; sleep 0.1; done
grep -q "serving 198.18.0.1/24" "$log" || { cat "$log"; vv_die "net serve did not start"; }
# The client is done when the frame count stops moving for 5 s (at most 240 s).
last=-1 still=0
for _ in $(seq 240); do
	sleep 1
	rx=$("$vv" status --json | jq '[.processes[].devices[] | select(.bdf == "'"$bdf"'") | .rx_packets] | add // 0')
	if [ "$rx" = "$last" ] && (( rx > 0 )); then
		still=$((still + 1))
		(( still >= 5 )) && break
	else
		still=0
	fi
	last=$rx
done
st=$("$vv" status --json | jq -c '.processes[].devices[] | select(.bdf == "'"$bdf"'")')
echo "$st"
vv_assert_eq "$(jq '.queues' <<<"$st")" 4 "net serve: pairs prepared"
busy=$(jq '[.pairs[] | select(.rx_packets > 100)] | length' <<<"$st")
(( busy >= 2 )) || vv_die "net serve: traffic on $busy pair(s) only: $(jq -c .pairs <<<"$st")"
kill -TERM "$serve"
rc=0; wait "$serve" || rc=$?
trap - EXIT
vv_assert_eq "$rc" 0 "net serve: exit status after SIGTERM"
cat "$log"
res=$(run "$bdf" far result | sed -n 's/^far //p')
echo "peer's client: $res"
grep -q "client_rounds=5 client_ok=40 client_bad=0 " <<<"$res" || vv_die "net serve's echo: $res"
echo "== net serve: 40 TCP echo connections of 64 KiB over $busy of 4 pairs"

"$vv" detach "$bdf" >/dev/null
echo "nettap: all checks passed"
