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

#define TX_BATCH 32 /* frames reclaimed, or prepared and posted, per ring call */

/*
 * Gives the buffers of @n sent frames back: their header slots to the queue, their buffers
 * to their pools with one lock per batch, the in-flight count updated once.
 */
static void release(struct net_txq *t, void *const *heads, unsigned n)
{
	struct net_buf *batch[64];
	unsigned nbat = 0, segs = 0;

	for (unsigned i = 0; i < n; i++) {
		struct net_buf *head = heads[i];

		if (head->hdr_slot != NET_NO_SLOT) {
			t->free_slots[t->nfree_slots++] = head->hdr_slot;
			head->hdr_slot = NET_NO_SLOT;
		}
		for (struct vv_net_buf *s = &head->pub; s; s = s->next) {
			if (nbat == ARRAY_SIZE(batch)) {
				net_pool_put_mixed(batch, nbat);
				nbat = 0;
			}
			batch[nbat++] = nb(s);
			segs++;
		}
	}
	if (nbat)
		net_pool_put_mixed(batch, nbat);
	__atomic_store_n(&t->st->tx_inflight, net_stat_get(&t->st->tx_inflight) - segs,
			 __ATOMIC_RELAXED);
}

int net_txq_reclaim(struct net_txq *t)
{
	void *heads[TX_BATCH];
	uint32_t lens[TX_BATCH];
	int done = 0;

	for (;;) {
		/* Each completion checked by the ring; the used index read once per call. */
		int n = vv_vq_get_many(t->vq, heads, lens, TX_BATCH);

		if (n < 0)
			return done ? done : n;
		release(t, heads, (unsigned)n);
		done += n;
		if (n < TX_BATCH)
			return done;
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

/*
 * Prepares one checked frame for the ring: its header (in the headroom, or in a header slot
 * taken from the queue's stack) and its buffers into @sg and @req. -ENOSPC when no header
 * slot is free; unprep_frame() undoes it for a frame the ring did not take.
 */
static int prep_frame(struct net_txq *t, struct vv_net_buf *f, struct vv_sg *sg,
		      struct vv_vq_req *req, uint16_t *ret_slot)
{
	struct net_buf *head = nb(f);
	struct virtio_net_hdr_v1_hash hh = {0}; /* the hash fields mean nothing sent (5.1.6.2) */
	struct virtio_net_hdr_v1 h = {0};
	bool in_buf = f->data - head->base >= t->hdr_len;
	unsigned n = 0;
	uint16_t slot = NET_NO_SLOT;
	uint8_t *hdr;

	if (!in_buf) {
		if (!t->nfree_slots)
			return -ENOSPC;
		slot = t->free_slots[--t->nfree_slots];
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
	*req = (struct vv_vq_req){.sg = sg, .n_out = (uint16_t)n, .n_in = 0, .token = head};
	*ret_slot = slot;
	return 0;
}

/* A prepared frame the ring did not take: its header slot goes back (newest first). */
static void unprep_frame(struct net_txq *t, uint16_t slot)
{
	if (slot != NET_NO_SLOT)
		t->free_slots[t->nfree_slots++] = slot;
}

/*
 * Sends in chunks of TX_BATCH: every frame of a chunk is checked and prepared, then one
 * vv_vq_add_many() posts them; the counters move once per burst (issue 15: the per-frame
 * ring call, lock and counter updates cost more than the frame's own work).
 */
int net_txq_burst(struct net_txq *t, struct vv_net_buf **bufs, unsigned n)
{
	struct vv_sg sg[TX_BATCH][NET_TX_MAX_SEGS + 1];
	struct vv_vq_req req[TX_BATCH];
	uint16_t slot[TX_BATCH];
	uint32_t total[TX_BATCH];
	unsigned nseg[TX_BATCH];
	uint32_t gso_segs[TX_BATCH];
	bool reclaimed = false;
	unsigned sent = 0, segs = 0, offload = 0, csum_sw = 0, gso = 0, gso_total = 0;
	uint64_t bytes = 0;
	int ret = 0;

	if (vv_vq_free_count(t->vq) < n) {
		ret = net_txq_reclaim(t);
		if (ret < 0)
			return ret;
		ret = 0;
		reclaimed = true;
	}
	while (sent < n && !ret) {
		unsigned want = n - sent < TX_BATCH ? n - sent : TX_BATCH, k;
		int posted;

		for (k = 0; k < want; k++) {
			struct vv_net_buf *f = bufs[sent + k];

			ret = check_frame(t, f, &total[k], &nseg[k], &gso_segs[k]);
			if (ret)
				break;
			/* Without CSUM the library fills the checksum in: the frame leaves
			 * complete. */
			if ((f->flags & VV_NET_BUF_F_CSUM_PARTIAL) && !t->csum) {
				ret = net_csum_complete(f, total[k], f->csum_start, f->csum_offset);
				if (ret)
					break;
				f->flags &= (uint16_t)~VV_NET_BUF_F_CSUM_PARTIAL;
				csum_sw++;
			}
			ret = prep_frame(t, f, sg[k], &req[k], &slot[k]);
			if (ret)
				break;
			/* Marked now: a buffer that appears again in this burst (the same frame
			 * twice, or in two chains) fails its check instead of going out twice. */
			for (struct vv_net_buf *s = f; s; s = s->next)
				nb(s)->state = NB_TX;
		}
		posted = k ? vv_vq_add_many(t->vq, req, k) : 0;
		if (posted < 0) {
			ret = posted;
			posted = 0;
		} else if ((unsigned)posted < k) {
			ret = -ENOSPC; /* the ring is full at frame @posted */
		}
		for (unsigned i = k; i-- > (unsigned)posted;) {
			unprep_frame(t, slot[i]);
			for (struct vv_net_buf *s = bufs[sent + i]; s; s = s->next)
				nb(s)->state = NB_APP;
		}
		for (unsigned i = 0; i < (unsigned)posted; i++) {
			struct vv_net_buf *f = bufs[sent + i];

			nb(f)->hdr_slot = slot[i];
			bytes += total[i];
			segs += nseg[i];
			if (f->flags & VV_NET_BUF_F_CSUM_PARTIAL)
				offload++;
			if (gso_segs[i]) {
				gso++;
				gso_total += gso_segs[i];
			}
		}
		sent += (unsigned)posted;
		if (ret == -ENOSPC && !reclaimed) {
			reclaimed = true;
			ret = net_txq_reclaim(t);
			if (ret >= 0)
				ret = 0;
		}
	}
	if (sent) {
		__atomic_store_n(&t->st->tx_inflight, net_stat_get(&t->st->tx_inflight) + segs,
				 __ATOMIC_RELAXED);
		net_stat_add(&t->st->tx_packets, sent);
		net_stat_add(&t->st->tx_bytes, bytes);
		if (offload)
			net_stat_add(&t->st->tx_csum_offload, offload);
		/* Frames queued are the library's now: a broken queue reports on the next call. */
		vv_vq_kick(t->vq);
	}
	if (csum_sw)
		net_stat_add(&t->st->tx_csum_sw, csum_sw);
	if (gso) {
		net_stat_add(&t->st->tx_gso, gso);
		net_stat_add(&t->st->tx_gso_segs, gso_total);
	}
	if (ret == -ENOSPC)
		ret = 0; /* the ring is full: the caller sees fewer sent */
	if (ret < 0 && !sent)
		return ret;
	return (int)sent;
}
