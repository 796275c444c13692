// SPDX-License-Identifier: MIT
/* net_cfg.c - virtio-net feature choice, config parsing, MAC choice and request checks. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/device.h>
#include <virtio-vfio/net.h>

#include "devs/net_cfg.h"

/* Field ends in struct virtio_net_config: a field exists if the device's config reaches it. */
#define CFG_END(field) \
	(offsetof(struct virtio_net_config, field) + sizeof(((struct virtio_net_config *)0)->field))

uint64_t net_wanted_features(uint32_t offloads)
{
	uint64_t f = NET_F(VIRTIO_NET_F_MAC) | NET_F(VIRTIO_NET_F_STATUS) |
		     NET_F(VIRTIO_NET_F_MTU) | NET_F(VIRTIO_NET_F_MRG_RXBUF) |
		     NET_F(VIRTIO_NET_F_CTRL_VQ) | NET_F(VIRTIO_NET_F_CTRL_RX) |
		     NET_F(VIRTIO_NET_F_CTRL_MAC_ADDR) | NET_F(VIRTIO_NET_F_MQ) |
		     VV_RING_FEATURES; /* the ring layout is the core's business */

	/*
	 * Not IN_ORDER, though the queues handle it (fake device; case inorder with it on):
	 * QEMU 10.0.2's in-order fill (virtqueue_ordered_fill(), fixed upstream by 6fcf5eba)
	 * reads past its array when the buffers of one merged frame cross the ring's end, so
	 * the buffer at position 0 is never marked used and receive stops for good (seen:
	 * 253 buffers in use, the used index frozen at 256). MRG_RXBUF is worth more than
	 * IN_ORDER's few instructions. The frames lost earlier (999 of 1000) were not its
	 * doing (docs/testing.md, inorder).
	 */
	f &= ~(1ULL << VIRTIO_F_IN_ORDER);

	/*
	 * Checksum offloads only when asked: a stack that checks every checksum in software
	 * (lwIP) gains nothing from GUEST_CSUM, and CSUM only matters to one that offloads.
	 */
	if (offloads & VV_NET_OFFLOAD_TX_CSUM)
		f |= NET_F(VIRTIO_NET_F_CSUM);
	if (offloads & VV_NET_OFFLOAD_RX_CSUM)
		f |= NET_F(VIRTIO_NET_F_GUEST_CSUM);
	/* Segmentation rests on checksum offload (section 5.1.3.1): ask for both. */
	if (offloads & VV_NET_OFFLOAD_TX_TSO)
		f |= NET_F(VIRTIO_NET_F_CSUM) | NET_F(VIRTIO_NET_F_HOST_TSO4) |
		     NET_F(VIRTIO_NET_F_HOST_TSO6);
	if (offloads & VV_NET_OFFLOAD_TX_USO)
		f |= NET_F(VIRTIO_NET_F_CSUM) | NET_F(VIRTIO_NET_F_HOST_USO);
	if (offloads & VV_NET_OFFLOAD_RX_TSO)
		f |= NET_F(VIRTIO_NET_F_GUEST_CSUM) | NET_F(VIRTIO_NET_F_GUEST_TSO4) |
		     NET_F(VIRTIO_NET_F_GUEST_TSO6);
	if (offloads & VV_NET_OFFLOAD_RX_USO)
		f |= NET_F(VIRTIO_NET_F_GUEST_CSUM) | NET_F(VIRTIO_NET_F_GUEST_USO4) |
		     NET_F(VIRTIO_NET_F_GUEST_USO6);
	if (offloads & VV_NET_OFFLOAD_RX_HASH)
		f |= NET_F(VIRTIO_NET_F_HASH_REPORT);
	if (offloads & VV_NET_OFFLOAD_RSS)
		f |= NET_F(VIRTIO_NET_F_RSS);
	return f;
}

uint64_t net_sanitize_features(uint64_t offered, uint64_t wanted, const struct virtio_net_config *c,
			       size_t cfg_len, unsigned dev_queues)
{
	uint64_t f = offered & wanted;
	const uint64_t needs_ctrl = NET_F(VIRTIO_NET_F_CTRL_RX) |
				    NET_F(VIRTIO_NET_F_CTRL_MAC_ADDR) | NET_F(VIRTIO_NET_F_MQ) |
				    NET_F(VIRTIO_NET_F_RSS) | NET_F(VIRTIO_NET_F_HASH_REPORT);
	const uint64_t rss = NET_F(VIRTIO_NET_F_RSS) | NET_F(VIRTIO_NET_F_HASH_REPORT);

	if ((f & NET_F(VIRTIO_NET_F_MAC)) && cfg_len < CFG_END(mac))
		f &= ~NET_F(VIRTIO_NET_F_MAC);
	if ((f & NET_F(VIRTIO_NET_F_STATUS)) && cfg_len < CFG_END(status))
		f &= ~NET_F(VIRTIO_NET_F_STATUS);
	if (f & NET_F(VIRTIO_NET_F_MTU)) {
		if (cfg_len < CFG_END(mtu) || le16toh(c->mtu) < NET_MIN_MTU)
			f &= ~NET_F(VIRTIO_NET_F_MTU); /* as Linux's virtnet_validate() */
	}
	if (f & NET_F(VIRTIO_NET_F_MQ)) {
		unsigned pairs = cfg_len >= CFG_END(max_virtqueue_pairs)
					 ? le16toh(c->max_virtqueue_pairs)
					 : 0;

		if (!pairs || pairs > NET_MAX_PAIRS || 2 * pairs + 1 > dev_queues)
			f &= ~NET_F(VIRTIO_NET_F_MQ);
	}
	/* Without MQ: receiveq1, transmitq1, then the control queue (5.1.2). */
	if ((f & NET_F(VIRTIO_NET_F_CTRL_VQ)) && !(f & NET_F(VIRTIO_NET_F_MQ)) && dev_queues < 3)
		f &= ~NET_F(VIRTIO_NET_F_CTRL_VQ);
	/*
	 * RSS and HASH_REPORT (5.1.4.1): their limits must be there and make sense: a key of at
	 * least 40 bytes (the Toeplitz key's size), a table of a power of 2 entries up to 128
	 * (what the control queue carries), some hash type.
	 */
	if (f & rss) {
		uint16_t tbl = cfg_len >= CFG_END(supported_hash_types)
				       ? le16toh(c->rss_max_indirection_table_length)
				       : 0;

		if (cfg_len < CFG_END(supported_hash_types) || c->rss_max_key_size < 40 ||
		    !le32toh(c->supported_hash_types))
			f &= ~rss;
		if (!tbl || tbl > NET_RSS_TBL || (tbl & (tbl - 1)))
			f &= ~NET_F(VIRTIO_NET_F_RSS);
	}
	/* RSS steers to queue pairs: it needs MQ (5.1.3.1). */
	if (!(f & NET_F(VIRTIO_NET_F_MQ)))
		f &= ~NET_F(VIRTIO_NET_F_RSS);
	if (!(f & NET_F(VIRTIO_NET_F_CTRL_VQ)))
		f &= ~needs_ctrl;
	/*
	 * Section 5.1.3.1: HOST_* segmentation needs CSUM, GUEST_* needs GUEST_CSUM. Coalesced
	 * frames of 64 KiB also need MRG_RXBUF here: without it every receive buffer would have
	 * to hold 64 KiB (5.1.6.3.1), and the pool keeps 2 KiB buffers.
	 */
	if (!(f & NET_F(VIRTIO_NET_F_CSUM)))
		f &= ~(NET_F(VIRTIO_NET_F_HOST_TSO4) | NET_F(VIRTIO_NET_F_HOST_TSO6) |
		       NET_F(VIRTIO_NET_F_HOST_USO));
	if (!(f & NET_F(VIRTIO_NET_F_GUEST_CSUM)) || !(f & NET_F(VIRTIO_NET_F_MRG_RXBUF)))
		f &= ~(NET_F(VIRTIO_NET_F_GUEST_TSO4) | NET_F(VIRTIO_NET_F_GUEST_TSO6) |
		       NET_F(VIRTIO_NET_F_GUEST_USO4) | NET_F(VIRTIO_NET_F_GUEST_USO6));
	return f;
}

int net_parse_config(uint64_t features, const struct virtio_net_config *c, size_t cfg_len,
		     struct net_cfgvals *out)
{
	struct net_cfgvals v = {.link_up = true, .max_pairs = 1, .mtu = NET_DEF_MTU};

	if (features & NET_F(VIRTIO_NET_F_MAC)) {
		if (cfg_len < CFG_END(mac))
			return -EIO;
		memcpy(v.mac, c->mac, sizeof(v.mac));
	}
	if (features & NET_F(VIRTIO_NET_F_STATUS)) {
		if (cfg_len < CFG_END(status))
			return -EIO;
		v.link_up = le16toh(c->status) & VIRTIO_NET_S_LINK_UP;
	}
	if (features & NET_F(VIRTIO_NET_F_MQ)) {
		if (cfg_len < CFG_END(max_virtqueue_pairs))
			return -EIO;
		v.max_pairs = le16toh(c->max_virtqueue_pairs);
		if (!v.max_pairs || v.max_pairs > NET_MAX_PAIRS)
			return -EIO;
	}
	if (features & NET_F(VIRTIO_NET_F_MTU)) {
		if (cfg_len < CFG_END(mtu))
			return -EIO;
		v.mtu = le16toh(c->mtu);
		if (v.mtu < NET_MIN_MTU)
			return -EIO;
	}
	if (features & (NET_F(VIRTIO_NET_F_RSS) | NET_F(VIRTIO_NET_F_HASH_REPORT))) {
		if (cfg_len < CFG_END(supported_hash_types) || c->rss_max_key_size < 40 ||
		    !le32toh(c->supported_hash_types))
			return -EIO;
		v.rss_key_max = c->rss_max_key_size;
		v.rss_hash_types = le32toh(c->supported_hash_types);
	}
	if (features & NET_F(VIRTIO_NET_F_RSS)) {
		v.rss_table_max = le16toh(c->rss_max_indirection_table_length);
		if (!v.rss_table_max || v.rss_table_max > NET_RSS_TBL ||
		    (v.rss_table_max & (v.rss_table_max - 1)))
			return -EIO;
	}
	*out = v;
	return 0;
}

bool net_mac_valid(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

bool net_pick_mac(uint64_t features, const uint8_t dev_mac[6], const uint8_t rnd[6], uint8_t out[6])
{
	if ((features & NET_F(VIRTIO_NET_F_MAC)) && net_mac_valid(dev_mac)) {
		memcpy(out, dev_mac, 6);
		return true;
	}
	memcpy(out, rnd, 6);
	/* Unicast and locally administered (IEEE 802 bits 0 and 1 of the first byte). */
	out[0] = (uint8_t)((out[0] & ~1u) | 2u);
	return false;
}

unsigned net_total_queues(uint64_t features, unsigned max_pairs)
{
	if (features & NET_F(VIRTIO_NET_F_MQ))
		return 2 * max_pairs + 1;
	return features & NET_F(VIRTIO_NET_F_CTRL_VQ) ? 3 : 2;
}

unsigned net_ctrl_index(uint64_t features, unsigned max_pairs)
{
	return features & NET_F(VIRTIO_NET_F_MQ) ? 2 * max_pairs : 2;
}

int net_check_pairs(uint64_t features, unsigned n, unsigned prepared)
{
	if (n > 1 && !(features & NET_F(VIRTIO_NET_F_MQ)))
		return -EOPNOTSUPP;
	if (!n || n > prepared)
		return -EINVAL;
	return 0;
}

int net_check_mtu(uint64_t features, unsigned mtu, unsigned max_mtu)
{
	if (mtu > NET_DEF_MTU && !(features & NET_F(VIRTIO_NET_F_MTU)))
		return -EOPNOTSUPP;
	if (mtu < NET_MIN_MTU || mtu > max_mtu)
		return -EINVAL;
	return 0;
}

uint32_t net_caps(uint64_t f)
{
	uint32_t caps = 0;

	if (f & NET_F(VIRTIO_NET_F_STATUS))
		caps |= VV_NET_CAP_LINK_STATUS;
	if (f & NET_F(VIRTIO_NET_F_MTU))
		caps |= VV_NET_CAP_MTU;
	if (f & NET_F(VIRTIO_NET_F_CTRL_VQ))
		caps |= VV_NET_CAP_CTRL;
	if (f & NET_F(VIRTIO_NET_F_CTRL_RX))
		caps |= VV_NET_CAP_PROMISC | VV_NET_CAP_ALLMULTI;
	if (f & NET_F(VIRTIO_NET_F_CTRL_MAC_ADDR))
		caps |= VV_NET_CAP_SET_MAC;
	if (f & NET_F(VIRTIO_NET_F_MQ))
		caps |= VV_NET_CAP_MQ;
	if (f & NET_F(VIRTIO_NET_F_CSUM))
		caps |= VV_NET_CAP_TX_CSUM;
	if (f & NET_F(VIRTIO_NET_F_GUEST_CSUM))
		caps |= VV_NET_CAP_RX_CSUM;
	if (f & NET_F(VIRTIO_NET_F_MRG_RXBUF))
		caps |= VV_NET_CAP_MRG_RXBUF;
	if (f & NET_F(VIRTIO_NET_F_HOST_TSO4))
		caps |= VV_NET_CAP_TX_TSO4;
	if (f & NET_F(VIRTIO_NET_F_HOST_TSO6))
		caps |= VV_NET_CAP_TX_TSO6;
	if (f & NET_F(VIRTIO_NET_F_HOST_USO))
		caps |= VV_NET_CAP_TX_USO;
	if (f & NET_F(VIRTIO_NET_F_GUEST_TSO4))
		caps |= VV_NET_CAP_RX_TSO4;
	if (f & NET_F(VIRTIO_NET_F_GUEST_TSO6))
		caps |= VV_NET_CAP_RX_TSO6;
	if (f & (NET_F(VIRTIO_NET_F_GUEST_USO4) | NET_F(VIRTIO_NET_F_GUEST_USO6)))
		caps |= VV_NET_CAP_RX_USO;
	if (f & NET_F(VIRTIO_NET_F_HASH_REPORT))
		caps |= VV_NET_CAP_RX_HASH;
	if (f & NET_F(VIRTIO_NET_F_RSS))
		caps |= VV_NET_CAP_RSS;
	return caps;
}

unsigned net_hdr_len(uint64_t features)
{
	return features & NET_F(VIRTIO_NET_F_HASH_REPORT) ? NET_HDR_HASH : NET_HDR_LEN;
}

int net_rss_config(const struct vv_net_rss *rss, const struct net_cfgvals *v, unsigned pairs,
		   bool steer, uint8_t *out, size_t size)
{
	/* virtio_net_rss_config, or virtio_net_hash_config: hash types, 8 bytes, key. */
	size_t len = (steer ? 4 + 2 + 2 + 2u * rss->table_len + 2 : 4 + 8) + 1 + rss->key_len;
	uint8_t *p = out;

	if ((rss->hash_types & ~v->rss_hash_types) || rss->key_len > v->rss_key_max ||
	    (rss->key_len && !rss->key))
		return -EINVAL;
	if (steer) {
		if (!rss->table || !rss->table_len || rss->table_len > v->rss_table_max ||
		    (rss->table_len & (rss->table_len - 1)))
			return -EINVAL;
		for (unsigned i = 0; i < rss->table_len; i++)
			if (rss->table[i] >= pairs)
				return -EINVAL;
	}
	if (len > size)
		return -ENOSPC;
	memset(out, 0, len);
	p[0] = (uint8_t)rss->hash_types, p[1] = (uint8_t)(rss->hash_types >> 8);
	p[2] = (uint8_t)(rss->hash_types >> 16), p[3] = (uint8_t)(rss->hash_types >> 24);
	p += 4;
	if (steer) {
		/*
		 * The mask, the queue of what no hash type covers, the table. Entries are queue
		 * pair numbers (receiveqN is pair N-1), as Linux sends them and QEMU reads them.
		 */
		uint16_t mask = (uint16_t)(rss->table_len - 1), unclassified = rss->table[0];

		p[0] = (uint8_t)mask, p[1] = (uint8_t)(mask >> 8);
		p[2] = (uint8_t)unclassified, p[3] = (uint8_t)(unclassified >> 8);
		p += 4;
		for (unsigned i = 0; i < rss->table_len; i++, p += 2)
			p[0] = (uint8_t)rss->table[i], p[1] = (uint8_t)(rss->table[i] >> 8);
		/* max_tx_vq: the pairs stay as they are (RSS_CONFIG also sets the count). */
		p[0] = (uint8_t)pairs, p[1] = (uint8_t)(pairs >> 8);
		p += 2;
	} else {
		p += 8; /* reserved[4] of virtio_net_hash_config */
	}
	*p++ = (uint8_t)rss->key_len;
	if (rss->key_len)
		memcpy(p, rss->key, rss->key_len);
	return (int)len;
}

uint32_t net_buf_size(bool mrg_rxbuf, unsigned max_mtu)
{
	uint32_t need = NET_HDR_HASH + NET_ETH_HLEN + NET_VLAN_HLEN + max_mtu;

	if (mrg_rxbuf || need <= 2048)
		return 2048;
	return (need + 1023) & ~1023u;
}
