/* SPDX-License-Identifier: MIT */
/*
 * net_cfg.h - the virtio-net driver's decisions that depend only on what the device offers:
 * which features to accept, what its configuration says, the MAC address, the queue layout,
 * and which queue-pair and MTU requests are allowed. Pure functions, unit-tested alone.
 */
#ifndef VV_DEVS_NET_CFG_H
#define VV_DEVS_NET_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#define NET_HDR_LEN   12 /* struct virtio_net_hdr_v1: with VERSION_1 num_buffers is always there */
#define NET_HDR_HASH  20 /* struct virtio_net_hdr_v1_hash: with HASH_REPORT, both ways (5.1.6) */
#define NET_MIN_MTU   68
#define NET_DEF_MTU   1500
#define NET_MAX_PAIRS 64  /* a device offering more gets MQ declined (one pair, ctrl at 2) */
#define NET_RSS_TBL   128 /* RSS indirection table entries we send, at most */
#define NET_ETH_HLEN  14
#define NET_VLAN_HLEN 4

#define NET_F(bit)    (1ULL << (bit))

/* The largest frame a segmentation offload may carry: IP's 64 KiB, Ethernet and a VLAN tag. */
#define NET_GSO_MAX   (65535 + NET_ETH_HLEN + NET_VLAN_HLEN)

/* UDP segmentation (virtio 1.2 section 5.1.3), newer than Debian 12's linux-libc-dev. */
#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#define VIRTIO_NET_F_GUEST_USO6 55
#define VIRTIO_NET_F_HOST_USO	56
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* The device's configuration as the driver uses it (section 5.1.4). */
struct net_cfgvals {
	uint8_t mac[6];
	bool link_up;
	uint16_t max_pairs; /* 1 without MQ */
	uint16_t mtu;	    /* the device's maximum with F_MTU, else NET_DEF_MTU */
	/* With RSS or HASH_REPORT (5.1.4): the limits of vv_net_set_rss(). */
	uint8_t rss_key_max;
	uint16_t rss_table_max; /* 0 without RSS */
	uint32_t rss_hash_types;
};

/* Every feature bit the driver understands, plus the offloads asked for (VV_NET_OFFLOAD_*). */
uint64_t net_wanted_features(uint32_t offloads);

/*
 * Drops from @wanted what cannot work with this device, before negotiation: features whose
 * prerequisite is not offered (section 5.1.3.1), whose config field lies beyond @cfg_len or
 * holds nonsense (max_virtqueue_pairs 0, above NET_MAX_PAIRS or beyond @dev_queues; an MTU
 * below 68), and a control queue the device has no room for. @c is the device's config
 * read before negotiation (allowed by section 3.1.1), @cfg_len how much of it exists.
 */
uint64_t net_sanitize_features(uint64_t offered, uint64_t wanted, const struct virtio_net_config *c,
			       size_t cfg_len, unsigned dev_queues);

/*
 * Reads the fields of @c that the negotiated @features make valid. Returns 0, or -EIO if a
 * field the features promise is missing or out of range.
 */
int net_parse_config(uint64_t features, const struct virtio_net_config *c, size_t cfg_len,
		     struct net_cfgvals *out);

/* A unicast, non-zero address. */
bool net_mac_valid(const uint8_t mac[6]);

/*
 * The MAC address to use: the device's when F_MAC was negotiated and it is a valid unicast
 * address, otherwise @rnd made locally administered and unicast (section 5.1.5).
 * Returns true when the device's address was taken.
 */
bool net_pick_mac(uint64_t features, const uint8_t dev_mac[6], const uint8_t rnd[6],
		  uint8_t out[6]);

/* Virtqueues to set up: all pairs up to the control queue, which comes last (5.1.2). */
unsigned net_total_queues(uint64_t features, unsigned max_pairs);
/* Index of the control queue; only meaningful with CTRL_VQ. */
unsigned net_ctrl_index(uint64_t features, unsigned max_pairs);

/* 0 when @n pairs may be selected; -EINVAL (0, more than prepared) or -EOPNOTSUPP (no MQ). */
int net_check_pairs(uint64_t features, unsigned n, unsigned prepared);
/* 0 when @mtu is allowed; -EOPNOTSUPP above 1500 without F_MTU; -EINVAL otherwise. */
int net_check_mtu(uint64_t features, unsigned mtu, unsigned max_mtu);

/* Bytes of virtio-net header in every buffer, each way: 12, or 20 with HASH_REPORT. */
unsigned net_hdr_len(uint64_t features);

/*
 * Builds the data of VIRTIO_NET_CTRL_MQ_RSS_CONFIG (@steer, with RSS) or _HASH_CONFIG
 * (5.1.6.5.6.4, 5.1.6.5.6.5) for @rss in @out (@size bytes); @pairs are the active queue
 * pairs. Returns its length, -EINVAL for what the device's limits @v refuse (a table length
 * not a power of 2 or beyond the maximum, an entry past the active pairs, a key longer than
 * the maximum, hash types not supported) or -ENOSPC when @size is too small.
 */
struct vv_net_rss;
int net_rss_config(const struct vv_net_rss *rss, const struct net_cfgvals *v, unsigned pairs,
		   bool steer, uint8_t *out, size_t size);

/* VV_NET_CAP_* for the negotiated features. */
uint32_t net_caps(uint64_t features);

/*
 * Bytes per pool buffer, header included: 2 KiB, or with neither MRG_RXBUF nor a 2 KiB
 * buffer big enough, room for the header and a frame of @max_mtu (section 5.1.6.3.1).
 */
uint32_t net_buf_size(bool mrg_rxbuf, unsigned max_mtu);

#endif /* VV_DEVS_NET_CFG_H */
