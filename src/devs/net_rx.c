// SPDX-License-Identifier: MIT
/*
 * net_rx.c - the receive queue: buffers posted from the pool, frames taken back with their
 * virtio-net header checked (virtio 1.2 section 5.1.6.4), merged buffers put together.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "devs/net_queue.h"
#include "util/log.h"

#define REFILL_BATCH 64

int net_rxq_init(struct net_rxq *r, struct vv_vq *vq, struct net_pool *pool, struct net_qstats *st,
		 bool mrg_rxbuf, bool guest_csum, uint32_t max_frame, unsigned fill)
{
	memset(r, 0, sizeof(*r));
	r->vq = vq;
	r->pool = pool;
	r->st = st;
	r->name = pool->name;
	r->mrg_rxbuf = mrg_rxbuf;
	r->guest_csum = guest_csum;
	r->max_frame = max_frame;
	r->hdr_len = NET_HDR_LEN;
	/*
	 * At most what the ring can hold: with IN_ORDER one descriptor stays free (QEMU 10.0,
	 * vv_vq_free_count()), and a fill of the whole ring would take a buffer from the pool
	 * and give it back on every refill, never to post it.
	 */
	r->fill = fill < vv_vq_free_count(vq) ? fill : vv_vq_free_count(vq);
	if (!r->fill)
		return -EINVAL;
	return 0;
}

/* Frees a frame in assembly; the buffers the device still holds come back at reset. */
void net_rxq_fini(struct net_rxq *r)
{
	if (r->head)
		net_pool_put_chain(r->head);
	r->head = r->tail = NULL;
}

int net_rxq_refill(struct net_rxq *r)
{
	struct net_buf *b[REFILL_BATCH];
	struct vv_sg sg[REFILL_BATCH];
	struct vv_vq_req req[REFILL_BATCH];
	bool empty = false;
	int ret = 0;

	while (r->posted < r->fill) {
		unsigned want = r->fill - r->posted, got;
		int posted;

		if (want > REFILL_BATCH)
			want = REFILL_BATCH;
		/* One pool lock and one ring call for the whole batch; a buffer's fields are set
		 * when it comes back from the device. */
		got = net_pool_take(r->pool, b, want);
		for (unsigned i = 0; i < got; i++) {
			sg[i] = (struct vv_sg){b[i]->iova, r->pool->buf_size};
			req[i] = (struct vv_vq_req){
				.sg = &sg[i], .n_out = 0, .n_in = 1, .token = b[i]};
		}
		posted = got ? vv_vq_add_many(r->vq, req, got) : 0;
		if (posted == -ENOSPC)
			posted = 0; /* the ring holds fewer than fill: posted as many as fit */
		else if (posted < 0)
			ret = posted;
		if (posted < 0)
			posted = 0;
		for (unsigned i = 0; i < (unsigned)posted; i++)
			b[i]->state = NB_RX;
		r->posted += (unsigned)posted;
		if ((unsigned)posted < got) {
			net_pool_put(r->pool, b + posted, got - (unsigned)posted);
			break;
		}
		if (got < want) {
			empty = true;
			break;
		}
	}
	if (empty)
		net_stat_add(&r->st->rx_refill_empty, 1);
	__atomic_store_n(&r->st->rx_posted, r->posted, __ATOMIC_RELAXED);
	if (ret)
		return ret;
	return vv_vq_kick(r->vq);
}

/* Drops the assembled frame, counting it. */
static void drop(struct net_rxq *r)
{
	net_pool_put_chain(r->head);
	r->head = r->tail = NULL;
	net_stat_add(&r->st->rx_dropped, 1);
}

/*
 * The frame is complete: apply what the header says. Only offloads the driver accepted
 * may appear: a coalesced frame of a type not negotiated, or whose header does not fit it,
 * is dropped (UFO and GUEST_ECN are never negotiated); NEEDS_CSUM
 * and DATA_VALID count only with GUEST_CSUM (section 5.1.6.4.1), and a partial checksum is
 * completed here so that the application gets a frame as it would be on the wire.
 * Returns the frame, or NULL if it was dropped.
 */
static struct vv_net_buf *finish(struct net_rxq *r, const struct virtio_net_hdr_v1_hash *hh)
{
	const struct virtio_net_hdr_v1 *h = &hh->hdr;
	struct vv_net_buf *f = &r->head->pub;
	uint32_t total = f->pkt_len, segs = 0;
	int gso = 0;

	r->head = r->tail = NULL;
	/* A coalesced frame only of a type negotiated, its header checked (net_offload.c). */
	if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
		gso = net_offload_rx(r->gso_ok, h, f, total, &segs);
		if (gso < 0)
			net_stat_add(&r->st->rx_bad_hdr, 1);
	}
	/* 5.1.6.4.3.4: one of the report types there are; the value is anyone's. */
	if (r->hash_report && gso >= 0) {
		f->hash_type = (uint8_t)le16toh(hh->hash_report);
		f->hash = le32toh(hh->hash_value);
		if (le16toh(hh->hash_report) > VV_NET_HASH_UDPV6_EX) {
			net_stat_add(&r->st->rx_bad_hdr, 1);
			gso = -EINVAL;
		}
	}
	if (gso < 0 || total < NET_ETH_HLEN || total > (gso ? NET_GSO_MAX : r->max_frame)) {
		r->head = net_buf_of(f);
		drop(r);
		return NULL;
	}
	if (gso) {
		net_stat_add(&r->st->rx_gso, 1);
		net_stat_add(&r->st->rx_gso_segs, segs);
		goto done;
	}
	if (r->guest_csum && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (net_csum_complete(f, total, le16toh(h->csum_start), le16toh(h->csum_offset))) {
			r->head = net_buf_of(f);
			drop(r);
			return NULL;
		}
		f->flags |= VV_NET_BUF_F_CSUM_VALID;
		net_stat_add(&r->st->rx_csum_completed, 1);
	} else if (r->guest_csum && (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)) {
		f->flags |= VV_NET_BUF_F_CSUM_VALID;
		net_stat_add(&r->st->rx_csum_valid, 1);
	}
done:
	return f; /* counted by the caller, once per burst */
}

/* The device broke the protocol: no more frames from this queue until reset. */
static void broken(struct net_rxq *r, const char *why, unsigned a, unsigned b)
{
	log_err("%s: rx queue %u: %s (%u, %u): queue broken", r->name, r->index, why, a, b);
	vv_vq_break(r->vq);
}

#define RX_BATCH 64 /* buffers taken off the ring per call */

/*
 * Takes buffers off the ring RX_BATCH at a time (one read of the used index each) and puts
 * frames together from them; the packet and byte counters move once per burst.
 */
int net_rxq_burst(struct net_rxq *r, struct vv_net_buf **out, unsigned n)
{
	struct virtio_net_hdr_v1_hash *h = &r->hdr;
	void *tok[RX_BATCH];
	uint32_t lens[RX_BATCH];
	unsigned done = 0, got = 0, i = 0;
	uint64_t bytes = 0;
	int ret = 0;

	while (done < n) {
		struct net_buf *b;
		uint32_t len;

		if (i == got) {
			/* At most one buffer per frame still wanted: never more frames than @n. */
			unsigned want = n - done < RX_BATCH ? n - done : RX_BATCH;
			int k = vv_vq_get_many(r->vq, tok, lens, want);

			if (k <= 0) {
				ret = k;
				break;
			}
			got = (unsigned)k;
			i = 0;
		}
		b = tok[i];
		len = lens[i++];
		r->posted--;
		b->state = NB_APP;
		if (!r->head) {
			/* First buffer of a frame: the header, then data (5.1.6.4). */
			if (len < r->hdr_len) {
				net_pool_put_chain(b);
				broken(r, "buffer shorter than the header", len, r->hdr_len);
				ret = -EIO;
				break;
			}
			memcpy(h, b->base, r->hdr_len);
			r->want = r->mrg_rxbuf ? le16toh(h->hdr.num_buffers) : 1;
			/* The rest of the frame must be in buffers we posted and not yet got. */
			if (!r->want || r->want - 1 > r->posted) {
				net_pool_put_chain(b);
				broken(r, "num_buffers beyond the buffers posted", r->want,
				       r->posted + 1);
				ret = -EIO;
				break;
			}
			net_buf_reset(b, r->hdr_len);
			b->pub.len = len - r->hdr_len;
			b->pub.pkt_len = b->pub.len;
			r->head = r->tail = b;
			r->got = 1;
		} else {
			/* A merged buffer: frame data from its first byte, no header. */
			net_buf_reset(b, 0);
			b->pub.len = len;
			r->head->pub.pkt_len += len;
			r->tail->pub.next = &b->pub;
			r->tail = b;
			r->got++;
		}
		if (r->got == r->want) {
			struct vv_net_buf *f = finish(r, h);

			if (f) {
				out[done++] = f;
				bytes += f->pkt_len;
			}
		}
	}
	if (done) {
		net_stat_add(&r->st->rx_packets, done);
		net_stat_add(&r->st->rx_bytes, bytes);
	}
	if (ret < 0) {
		/* Buffers taken off the ring after the one that broke it go back to the pool. */
		for (; i < got; i++) {
			struct net_buf *b = tok[i];

			r->posted--;
			b->state = NB_APP;
			net_pool_put_chain(b);
		}
		__atomic_store_n(&r->st->rx_posted, r->posted, __ATOMIC_RELAXED);
		/* Broken (the vq layer or we said why): the frames taken so far are good. */
		net_rxq_fini(r);
		return done ? (int)done : -EIO;
	}
	/* Every buffer taken belongs to a frame returned or being assembled (@want <= @n). */
	ret = net_rxq_refill(r);
	if (ret < 0 && !done)
		return ret;
	return (int)done;
}
