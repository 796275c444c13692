// SPDX-License-Identifier: MIT
/*
 * net_tx.c - the transmit queue: each frame gets its virtio-net header (virtio 1.2 section
 * 5.1.6.2) in the buffer's headroom, or in a header slot of the queue when it has none;
 * sent buffers go back to their pool when the device is done.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devs/net_queue.h"

#define SLOT_SIZE 24 /* a header slot: NET_HDR_HASH rounded up */

size_t net_txq_hdr_mem(unsigned ring_size)
{
	return (size_t)ring_size * SLOT_SIZE;
}

int net_txq_init(struct net_txq *t, struct vv_vq *vq, struct net_pool *pool, struct net_qstats *st,
		 bool csum, const unsigned *mtu, void *hdrs, uint64_t hdrs_iova)
{
	memset(t, 0, sizeof(*t));
	t->vq = vq;
	t->pool = pool;
	t->st = st;
	t->name = pool->name;
	t->csum = csum;
	t->mtu = mtu;
	t->hdr_len = NET_HDR_LEN;
	t->hdrs = hdrs;
	t->hdrs_iova = hdrs_iova;
	t->nslots = vv_vq_size(vq);
	/* A sent frame's used length means nothing to us: a device that gets it wrong is not
	 * worth losing the link over (see vv_vq_set_len_check()). */
	vv_vq_set_len_check(vq, VV_VQ_LEN_CLAMP);
	t->free_slots = calloc(t->nslots, sizeof(*t->free_slots));
	if (!t->free_slots)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nslots; i++)
		t->free_slots[t->nfree_slots++] = (uint16_t)(t->nslots - 1 - i);
	/* Completions are collected when sending; the caller asks for signals if it waits. */
	vv_vq_disable_cb(vq);
	return 0;
}

void net_txq_fini(struct net_txq *t)
{
	free(t->free_slots);
	t->free_slots = NULL;
}

static struct net_buf *nb(struct vv_net_buf *b)
{
	return net_buf_of(b);
}

/* Gives a sent frame's buffers back. */
static void release(struct net_txq *t, struct net_buf *head)
{
	unsigned n = 0;

	if (head->hdr_slot != NET_NO_SLOT) {
		t->free_slots[t->nfree_slots++] = head->hdr_slot;
		head->hdr_slot = NET_NO_SLOT;
	}
	for (struct vv_net_buf *s = &head->pub; s; s = s->next) {
		nb(s)->state = NB_APP; /* put_chain takes back what the application could free */
		n++;
	}
	net_pool_put_chain(head);
	__atomic_store_n(&t->st->tx_inflight, net_stat_get(&t->st->tx_inflight) - n,
			 __ATOMIC_RELAXED);
}

int net_txq_reclaim(struct net_txq *t)
{
	int done = 0;

	for (;;) {
		struct net_buf *head;
		uint32_t len;
		int ret = vv_vq_get(t->vq, (void **)&head, &len);

		if (ret < 0)
			return done ? done : ret;
		if (!ret)
			return done;
		release(t, head);
		done++;
	}
}

/*
 * Checks one frame before anything is queued: every segment lies inside its own buffer of
 * this driver and is held by the application, the length fits the MTU, a checksum position
 * lies inside the frame. Sets the frame's total length and segment count.
 */
static int check_frame(struct net_txq *t, struct vv_net_buf *f, uint32_t *ret_total,
		       unsigned *ret_nseg, uint32_t *ret_gso_segs)
{
	uint64_t total = 0;
	unsigned nseg = 0;
	unsigned mtu = __atomic_load_n(t->mtu, __ATOMIC_RELAXED);

	for (struct vv_net_buf *s = f; s; s = s->next) {
		struct net_buf *b = nb(s);

		if (++nseg > NET_TX_MAX_SEGS || !b->pool || b->pool->owner != t->pool->owner ||
		    b->state != NB_APP || !s->len || s->data < b->base ||
		    s->data > b->base + b->pool->buf_size ||
		    s->len > (size_t)(b->base + b->pool->buf_size - s->data))
			return -EINVAL;
		total += s->len;
	}
	/* A segmentation request is held to the MTU segment by segment (net_offload.c). */
	if (total < NET_ETH_HLEN ||
	    (f->gso_type == VV_NET_GSO_NONE && total > mtu + NET_ETH_HLEN + NET_VLAN_HLEN))
		return -EINVAL;
	if ((f->flags & VV_NET_BUF_F_CSUM_PARTIAL) &&
	    ((uint32_t)f->csum_start + f->csum_offset + 2 > total))
		return -EINVAL;
	*ret_gso_segs = 0;
	if (f->gso_type != VV_NET_GSO_NONE) {
		int ret = net_offload_tx_check(t->gso_ok, mtu, f, (uint32_t)total, ret_gso_segs);

		if (ret)
			return ret;
	}
	*ret_total = (uint32_t)total;
	*ret_nseg = nseg;
	return 0;
}

/* Queues one checked frame; -ENOSPC leaves everything as it was. */
static int add_frame(struct net_txq *t, struct vv_net_buf *f, uint32_t total, unsigned nseg)
{
	struct vv_sg sg[NET_TX_MAX_SEGS + 1];
	struct net_buf *head = nb(f);
	struct virtio_net_hdr_v1_hash hh = {0}; /* the hash fields mean nothing sent (5.1.6.2) */
	struct virtio_net_hdr_v1 h = {0};
	bool in_buf = f->data - head->base >= t->hdr_len;
	unsigned n = 0;
	uint16_t slot = NET_NO_SLOT;
	uint8_t *hdr;
	int ret;

	if (!in_buf) {
		if (!t->nfree_slots)
			return -ENOSPC;
		slot = t->free_slots[t->nfree_slots - 1];
	}
	if (f->flags & VV_NET_BUF_F_CSUM_PARTIAL) {
		if (t->csum) {
			/* Section 5.1.6.2: the device completes the sum from csum_start. */
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = htole16(f->csum_start);
			h.csum_offset = htole16(f->csum_offset);
		}
	}
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	net_offload_tx_hdr(f, &h);
	if (in_buf) {
		/* Header and frame in one descriptor (ANY_LAYOUT is implied by VERSION_1). */
		hdr = f->data - t->hdr_len;
		sg[n++] = (struct vv_sg){head->iova + (uint64_t)(hdr - head->base),
					 t->hdr_len + f->len};
	} else {
		hdr = t->hdrs + (size_t)slot * SLOT_SIZE;
		sg[n++] = (struct vv_sg){t->hdrs_iova + (uint64_t)slot * SLOT_SIZE, t->hdr_len};
		sg[n++] = (struct vv_sg){head->iova + (uint64_t)(f->data - head->base), f->len};
	}
	for (struct vv_net_buf *s = f->next; s; s = s->next)
		sg[n++] = (struct vv_sg){nb(s)->iova + (uint64_t)(s->data - nb(s)->base), s->len};
	hh.hdr = h;
	memcpy(hdr, &hh, t->hdr_len);
	ret = vv_vq_add(t->vq, sg, n, 0, head);
	if (ret)
		return ret;
	if (slot != NET_NO_SLOT)
		t->nfree_slots--;
	head->hdr_slot = slot;
	for (struct vv_net_buf *s = f; s; s = s->next)
		nb(s)->state = NB_TX;
	__atomic_store_n(&t->st->tx_inflight, net_stat_get(&t->st->tx_inflight) + nseg,
			 __ATOMIC_RELAXED);
	net_stat_add(&t->st->tx_packets, 1);
	net_stat_add(&t->st->tx_bytes, total);
	return 0;
}

int net_txq_burst(struct net_txq *t, struct vv_net_buf **bufs, unsigned n)
{
	bool reclaimed = false;
	unsigned sent = 0;
	int ret = 0;

	if (vv_vq_free_count(t->vq) < n) {
		ret = net_txq_reclaim(t);
		if (ret < 0)
			return ret;
		reclaimed = true;
	}
	while (sent < n) {
		struct vv_net_buf *f = bufs[sent];
		uint32_t total, gso_segs;
		unsigned nseg;

		ret = check_frame(t, f, &total, &nseg, &gso_segs);
		if (ret)
			break;
		/* Without CSUM the library fills the checksum in: the frame leaves complete. */
		if ((f->flags & VV_NET_BUF_F_CSUM_PARTIAL) && !t->csum) {
			ret = net_csum_complete(f, total, f->csum_start, f->csum_offset);
			if (ret)
				break;
			f->flags &= (uint16_t)~VV_NET_BUF_F_CSUM_PARTIAL;
			net_stat_add(&t->st->tx_csum_sw, 1);
		}
		ret = add_frame(t, f, total, nseg);
		if (ret == -ENOSPC && !reclaimed) {
			reclaimed = true;
			ret = net_txq_reclaim(t);
			if (ret >= 0)
				continue;
		}
		if (ret)
			break;
		if (f->flags & VV_NET_BUF_F_CSUM_PARTIAL)
			net_stat_add(&t->st->tx_csum_offload, 1);
		if (gso_segs) {
			net_stat_add(&t->st->tx_gso, 1);
			net_stat_add(&t->st->tx_gso_segs, gso_segs);
		}
		sent++;
	}
	/* Frames queued are the library's now: a broken queue reports on the next call. */
	if (sent)
		vv_vq_kick(t->vq);
	if (ret == -ENOSPC)
		ret = 0; /* the ring is full: the caller sees fewer sent */
	if (ret < 0 && !sent)
		return ret;
	return (int)sent;
}
