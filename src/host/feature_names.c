// SPDX-License-Identifier: MIT
/* feature_names.c - feature bit names (virtio 1.2 sections 5.1.3, 5.2.3, 6), for `info`. */
#include <stddef.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/ids.h>

#include "host/feature_names.h"
#include "util/compiler.h"

struct name {
	unsigned bit;
	const char *name;
};

/* Section 6: reserved feature bits, the same for every device type. */
static const struct name transport_names[] = {
	{VIRTIO_RING_F_INDIRECT_DESC, "RING_INDIRECT_DESC"},
	{VIRTIO_RING_F_EVENT_IDX, "RING_EVENT_IDX"},
	{VIRTIO_F_VERSION_1, "VERSION_1"},
	{VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM"},
	{VIRTIO_F_RING_PACKED, "RING_PACKED"},
	{VIRTIO_F_IN_ORDER, "IN_ORDER"},
	{VIRTIO_F_ORDER_PLATFORM, "ORDER_PLATFORM"},
	{VIRTIO_F_SR_IOV, "SR_IOV"},
	{38, "NOTIFICATION_DATA"},
	{39, "NOTIF_CONFIG_DATA"},
	{40, "RING_RESET"},
	{27, "ANY_LAYOUT"},
	{24, "NOTIFY_ON_EMPTY"},
};

static const struct name blk_names[] = {
	{VIRTIO_BLK_F_SIZE_MAX, "SIZE_MAX"},
	{VIRTIO_BLK_F_SEG_MAX, "SEG_MAX"},
	{VIRTIO_BLK_F_GEOMETRY, "GEOMETRY"},
	{VIRTIO_BLK_F_RO, "RO"},
	{VIRTIO_BLK_F_BLK_SIZE, "BLK_SIZE"},
	{VIRTIO_BLK_F_FLUSH, "FLUSH"},
	{VIRTIO_BLK_F_TOPOLOGY, "TOPOLOGY"},
	{VIRTIO_BLK_F_CONFIG_WCE, "CONFIG_WCE"},
	{VIRTIO_BLK_F_MQ, "MQ"},
	{VIRTIO_BLK_F_DISCARD, "DISCARD"},
	{VIRTIO_BLK_F_WRITE_ZEROES, "WRITE_ZEROES"},
	{15, "LIFETIME"},
	{16, "SECURE_ERASE"},
	{17, "ZONED"},
	{2, "SCSI"},
};

static const struct name net_names[] = {
	{VIRTIO_NET_F_CSUM, "CSUM"},
	{VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM"},
	{VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, "CTRL_GUEST_OFFLOADS"},
	{VIRTIO_NET_F_MTU, "MTU"},
	{VIRTIO_NET_F_MAC, "MAC"},
	{VIRTIO_NET_F_GUEST_TSO4, "GUEST_TSO4"},
	{VIRTIO_NET_F_GUEST_TSO6, "GUEST_TSO6"},
	{VIRTIO_NET_F_GUEST_ECN, "GUEST_ECN"},
	{VIRTIO_NET_F_GUEST_UFO, "GUEST_UFO"},
	{VIRTIO_NET_F_HOST_TSO4, "HOST_TSO4"},
	{VIRTIO_NET_F_HOST_TSO6, "HOST_TSO6"},
	{VIRTIO_NET_F_HOST_ECN, "HOST_ECN"},
	{VIRTIO_NET_F_HOST_UFO, "HOST_UFO"},
	{VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF"},
	{VIRTIO_NET_F_STATUS, "STATUS"},
	{VIRTIO_NET_F_CTRL_VQ, "CTRL_VQ"},
	{VIRTIO_NET_F_CTRL_RX, "CTRL_RX"},
	{VIRTIO_NET_F_CTRL_VLAN, "CTRL_VLAN"},
	{VIRTIO_NET_F_CTRL_RX_EXTRA, "CTRL_RX_EXTRA"},
	{VIRTIO_NET_F_GUEST_ANNOUNCE, "GUEST_ANNOUNCE"},
	{VIRTIO_NET_F_MQ, "MQ"},
	{VIRTIO_NET_F_CTRL_MAC_ADDR, "CTRL_MAC_ADDR"},
	{61, "RSC_EXT"},
	{62, "STANDBY"},
	{60, "RSS"},
	{59, "GUEST_HDRLEN"},
	{57, "HASH_REPORT"},
	{63, "SPEED_DUPLEX"},
};

static const char *lookup(const struct name *t, size_t n, unsigned bit)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].bit == bit)
			return t[i].name;
	return NULL;
}

/* Returns the bit's name for a device of @type, or NULL when it has none we know. */
const char *virtio_feature_name(int type, unsigned bit)
{
	const char *n = lookup(transport_names, ARRAY_SIZE(transport_names), bit);

	if (n)
		return n;
	if (type == VV_VIRTIO_BLK)
		return lookup(blk_names, ARRAY_SIZE(blk_names), bit);
	if (type == VV_VIRTIO_NET)
		return lookup(net_names, ARRAY_SIZE(net_names), bit);
	return NULL;
}
