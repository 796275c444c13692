// SPDX-License-Identifier: MIT
/*
 * net_status.c - what `net serve` tells `virtio-vfio status`: the interface and the device's
 * counters (vv_net_get_stats(): any thread, no lock of the data path).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "status.h"

static void render(struct json *j, void *ctx)
{
	struct net_status *ns = ctx;
	const struct vv_net_info *info = vv_net_get_info(ns->net);
	bool lost = vv_device_aborted(vv_net_device(ns->net));
	struct vv_net_stats s;
	uint8_t m[VV_NET_ETH_ALEN];
	char mac[18];

	vv_net_get_stats(ns->net, VV_NET_ALL_PAIRS, &s);
	vv_net_mac(ns->net, m);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	json_kv_str(j, "state", "serving");
	json_key(j, "devices");
	json_arr_begin(j);
	json_obj_begin(j);
	json_kv_str(j, "bdf", ns->bdf);
	json_kv_str(j, "mac", mac);
	json_kv_str(j, "ip", ns->cidr);
	json_kv_str(j, "link", vv_net_link_up(ns->net) ? "up" : "down");
	json_kv_int(j, "mtu", vv_net_mtu(ns->net));
	json_kv_int(j, "queues", info->queue_pairs);
	json_kv_str(j, "mode", ns->poll_us ? "hybrid" : "interrupt");
	json_kv_int(j, "poll_us", ns->poll_us);
	json_kv_int(j, "requests", (int64_t)(s.rx_packets + s.tx_packets));
	json_kv_int(j, "rx_packets", (int64_t)s.rx_packets);
	json_kv_int(j, "rx_bytes", (int64_t)s.rx_bytes);
	json_kv_int(j, "rx_dropped", (int64_t)s.rx_dropped);
	json_kv_int(j, "tx_packets", (int64_t)s.tx_packets);
	json_kv_int(j, "tx_bytes", (int64_t)s.tx_bytes);
	json_kv_int(j, "errors", (int64_t)s.rx_dropped);
	json_kv_int(j, "in_flight", s.bufs_tx_inflight);
	json_kv_int(j, "bufs_total", s.bufs_total);
	json_kv_int(j, "bufs_free", s.bufs_free);
	json_kv_int(j, "resets", lost);
	json_kv_str(j, "state", lost ? "lost" : "ok");
	/* Each prepared queue pair's frames: which pairs carry the traffic. */
	json_key(j, "pairs");
	json_arr_begin(j);
	for (unsigned q = 0; q < info->queue_pairs; q++) {
		struct vv_net_stats ps;

		vv_net_get_stats(ns->net, q, &ps);
		json_obj_begin(j);
		json_kv_int(j, "rx_packets", (int64_t)ps.rx_packets);
		json_kv_int(j, "tx_packets", (int64_t)ps.tx_packets);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
	json_arr_end(j);
}

void net_status_open(struct net_status *ns)
{
	int ret = status_srv_open("net serve", render, ns, &ns->srv);

	if (ret && ret != -ENOENT)
		fprintf(stderr, "%s: warning: no status endpoint: %s\n", prog, strerror(-ret));
}

void net_status_close(struct net_status *ns)
{
	status_srv_close(ns->srv);
	ns->srv = NULL;
}
