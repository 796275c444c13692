// SPDX-License-Identifier: MIT
/*
 * net_offload.c - segmentation offloads in the virtio-net header (virtio 1.2 sections
 * 5.1.6.2 and 5.1.6.4): which GSO types the negotiated features allow each way, the checks
 * of a send request before it reaches the device, and the checks of a coalesced frame's
 * header, which the device wrote and is not trusted, before the application sees it.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>

#include "devs/net_queue.h"

#define TCP_CSUM_OFF 16 /* offsetof(struct tcphdr, check) */
#define UDP_CSUM_OFF 6	/* offsetof(struct udphdr, check) */
#define TCP_MIN_HLEN 20
#define UDP_HLEN     8

uint32_t net_offload_tx_mask(uint64_t f)
{
	uint32_t m = 0;

	if (f & NET_F(VIRTIO_NET_F_HOST_TSO4))
		m |= NET_GSO_BIT(VV_NET_GSO_TCPV4);
	if (f & NET_F(VIRTIO_NET_F_HOST_TSO6))
		m |= NET_GSO_BIT(VV_NET_GSO_TCPV6);
	if (f & NET_F(VIRTIO_NET_F_HOST_USO))
		m |= NET_GSO_BIT(VV_NET_GSO_UDP_L4);
	return m;
}

uint32_t net_offload_rx_mask(uint64_t f)
{
	uint32_t m = 0;

	if (f & NET_F(VIRTIO_NET_F_GUEST_TSO4))
		m |= NET_GSO_BIT(VV_NET_GSO_TCPV4);
	if (f & NET_F(VIRTIO_NET_F_GUEST_TSO6))
		m |= NET_GSO_BIT(VV_NET_GSO_TCPV6);
	if (f & (NET_F(VIRTIO_NET_F_GUEST_USO4) | NET_F(VIRTIO_NET_F_GUEST_USO6)))
		m |= NET_GSO_BIT(VV_NET_GSO_UDP_L4);
	return m;
}

/* Byte @at of the frame, across segments; NULL past the end. */
static const uint8_t *byte_at(const struct vv_net_buf *b, uint32_t at)
{
	for (; b; b = b->next) {
		if (at < b->len)
			return b->data + at;
		at -= b->len;
	}
	return NULL;
}

/*
 * The end of the L4 header that starts at @start in a frame of @total bytes: read from the
 * TCP data offset, or UDP's fixed 8 bytes. 0 when it does not fit the frame.
 */
static uint32_t l4_end(const struct vv_net_buf *f, uint32_t total, uint8_t type, uint32_t start)
{
	uint32_t len = UDP_HLEN;

	if (type != VV_NET_GSO_UDP_L4) {
		const uint8_t *doff = byte_at(f, start + 12);

		if (!doff)
			return 0;
		len = (uint32_t)(*doff >> 4) * 4;
		if (len < TCP_MIN_HLEN)
			return 0;
	}
	return start + len <= total ? start + len : 0;
}

/* The checksum position a segmentation of @type needs: the L4 checksum field. */
static bool csum_fits(uint8_t type, uint32_t start, uint32_t offset, uint32_t total)
{
	uint32_t want = type == VV_NET_GSO_UDP_L4 ? UDP_CSUM_OFF : TCP_CSUM_OFF;

	return start >= NET_ETH_HLEN && offset == want && start + offset + 2 <= total;
}

static uint32_t segs_of(uint32_t total, uint32_t hdr_len, uint32_t gso_size)
{
	return (total - hdr_len + gso_size - 1) / gso_size;
}

int net_offload_tx_check(uint32_t gso_ok, unsigned mtu, struct vv_net_buf *f, uint32_t total,
			 uint32_t *ret_segs)
{
	uint32_t hdr_len = f->hdr_len;

	if (f->gso_type > VV_NET_GSO_UDP_L4)
		return -EINVAL;
	if (!(gso_ok & NET_GSO_BIT(f->gso_type)))
		return -EOPNOTSUPP;
	/* 5.1.6.2: segmentation rests on the device's checksum offload. */
	if (!(f->flags & VV_NET_BUF_F_CSUM_PARTIAL) || !f->gso_size || total > NET_GSO_MAX ||
	    !csum_fits(f->gso_type, f->csum_start, f->csum_offset, total))
		return -EINVAL;
	if (!hdr_len)
		hdr_len = l4_end(f, total, f->gso_type, f->csum_start);
	/* The headers replicated in each segment: at least to the checksum, short of the end. */
	if (!hdr_len || hdr_len < (uint32_t)f->csum_start + f->csum_offset + 2 || hdr_len >= total)
		return -EINVAL;
	/* Each segment is a frame the MTU must allow. */
	if (hdr_len + f->gso_size > mtu + NET_ETH_HLEN + NET_VLAN_HLEN)
		return -EINVAL;
	f->hdr_len = (uint16_t)hdr_len;
	*ret_segs = segs_of(total, hdr_len, f->gso_size);
	return 0;
}

void net_offload_tx_hdr(const struct vv_net_buf *f, struct virtio_net_hdr_v1 *h)
{
	static const uint8_t virtio_type[] = {
		[VV_NET_GSO_NONE] = VIRTIO_NET_HDR_GSO_NONE,
		[VV_NET_GSO_TCPV4] = VIRTIO_NET_HDR_GSO_TCPV4,
		[VV_NET_GSO_TCPV6] = VIRTIO_NET_HDR_GSO_TCPV6,
		[VV_NET_GSO_UDP_L4] = VIRTIO_NET_HDR_GSO_UDP_L4,
	};

	if (f->gso_type == VV_NET_GSO_NONE || f->gso_type > VV_NET_GSO_UDP_L4)
		return;
	h->gso_type = virtio_type[f->gso_type];
	h->gso_size = htole16(f->gso_size);
	h->hdr_len = htole16(f->hdr_len);
}

int net_offload_rx(uint32_t gso_ok, const struct virtio_net_hdr_v1 *h, struct vv_net_buf *f,
		   uint32_t total, uint32_t *ret_segs)
{
	uint32_t start = le16toh(h->csum_start), offset = le16toh(h->csum_offset);
	uint32_t gso_size = le16toh(h->gso_size), hdr_len;
	uint8_t type;

	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		type = VV_NET_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		type = VV_NET_GSO_TCPV6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		type = VV_NET_GSO_UDP_L4;
		break;
	default:
		/* UFO and the ECN bit are never negotiated; the rest does not exist. */
		return -EINVAL;
	}
	/*
	 * Only what was negotiated (5.1.6.4.1), always with NEEDS_CSUM at the L4 checksum: a
	 * coalesced frame's checksum field holds the pseudo-header sum, not a checksum.
	 */
	if (!(gso_ok & NET_GSO_BIT(type)) || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    !gso_size || total > NET_GSO_MAX || !csum_fits(type, start, offset, total))
		return -EINVAL;
	/* The device's hdr_len is only a hint: the headers' end is read from the frame. */
	hdr_len = l4_end(f, total, type, start);
	if (!hdr_len || hdr_len >= total)
		return -EINVAL;
	f->flags |= VV_NET_BUF_F_CSUM_VALID | VV_NET_BUF_F_CSUM_PARTIAL;
	f->csum_start = (uint16_t)start;
	f->csum_offset = (uint16_t)offset;
	f->gso_type = type;
	f->gso_size = (uint16_t)gso_size;
	f->hdr_len = (uint16_t)hdr_len;
	*ret_segs = segs_of(total, hdr_len, gso_size);
	return 1;
}
