// SPDX-License-Identifier: MIT
/*
 * fuzz_dev_cfg.c - libFuzzer target: device configuration parsing. The first 8 bytes are
 * the features offered, the rest is the device's config space, given to the virtio-blk
 * parser and to the virtio-net feature sanitizer and parser. Whatever they accept must be
 * something the drivers can work with.
 */
#include <stdint.h>
#include <string.h>

#include "devs/blk_cfg.h"
#include "devs/net_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_blk(uint64_t features, const uint8_t *cfg, size_t len)
{
	struct vv_blk_info info;

	if (blk_parse_config(features, cfg, len, &info))
		return;
	if (info.blk_size < 512 || info.blk_size > BLK_MAX_BLOCK_SIZE ||
	    (info.blk_size & (info.blk_size - 1)) || !info.num_queues ||
	    (info.size_max && info.size_max < 512) || !blk_capacity_ok(info.capacity))
		__builtin_trap();
	/* The byte size of the disk fits an off_t, as the FUSE export needs. */
	if ((int64_t)(info.capacity * 512) < 0)
		__builtin_trap();
}

static void check_net(uint64_t offered, const uint8_t *cfg, size_t len)
{
	struct virtio_net_config c;
	struct net_cfgvals v;
	uint64_t f;
	/* The queue count a device reports comes from elsewhere: take one from the input. */
	unsigned dev_queues = len ? cfg[0] : 0;

	memset(&c, 0, sizeof(c));
	memcpy(&c, cfg, len < sizeof(c) ? len : sizeof(c));
	f = net_sanitize_features(offered, net_wanted_features(~0u), &c, len, dev_queues) & offered;
	if (net_parse_config(f, &c, len, &v))
		return;
	if (!v.max_pairs || v.max_pairs > NET_MAX_PAIRS || v.mtu < NET_MIN_MTU)
		__builtin_trap();
	if ((f & NET_F(VIRTIO_NET_F_CTRL_VQ)) && net_total_queues(f, v.max_pairs) > dev_queues)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t features;

	if (size < sizeof(features))
		return 0;
	memcpy(&features, data, sizeof(features));
	check_blk(features, data + sizeof(features), size - sizeof(features));
	check_net(features, data + sizeof(features), size - sizeof(features));
	return 0;
}
