/* SPDX-License-Identifier: MIT */
/* vq_internal.h - struct vv_vq, shared by the public entry points and the ring layouts. */
#ifndef VV_VIRTQUEUE_VQ_INTERNAL_H
#define VV_VIRTQUEUE_VQ_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "util/compiler.h"
#include "virtqueue/vq.h"

/* One ring layout: split or packed (virtio 1.2 sections 2.7, 2.8). */
struct vq_ops {
	int (*add)(struct vv_vq *vq, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
		   void *token);
	bool (*kick_prepare)(struct vv_vq *vq);
	int (*get)(struct vv_vq *vq, void **ret_token, uint32_t *ret_len);
	/* Optional batched forms; vq.c loops over add/get where a layout has none. */
	int (*add_many)(struct vv_vq *vq, const struct vv_vq_req *reqs, unsigned n);
	int (*get_many)(struct vv_vq *vq, void **tokens, uint32_t *lens, unsigned max);
	void (*disable_cb)(struct vv_vq *vq);
	bool (*enable_cb)(struct vv_vq *vq);
	/* Back to the state create() left, handing tokens in flight to @unused (vq_reset()). */
	void (*reset)(struct vv_vq *vq, void (*unused)(void *ctx, void *token), void *ctx);
	void (*destroy)(struct vv_vq *vq);
};

struct vv_vq {
	const struct vq_ops *ops;
	char name[32];
	unsigned index;
	unsigned num;
	unsigned num_free;
	bool broken;
	enum vv_vq_len_check len_check;
	uint64_t len_clamped;
	bool event_idx;
	bool indirect;
	unsigned indirect_max;
	bool weak_barriers;
	bool in_order; /* VIRTIO_F_IN_ORDER: used in ring order, an entry may stand for a batch */
	void (*notify)(void *ctx, unsigned index);
	void *notify_ctx;
	uint64_t desc_iova, avail_iova, used_iova;
};

/*
 * Descriptors a queue may have in flight. With IN_ORDER one stays free: QEMU 10.0's in-order
 * device (virtqueue_ordered_fill()) bounds its search for a completed buffer by
 * (last_avail - used) % num, which is 0 when every descriptor is in flight, and then drops
 * every completion but the oldest's: the queue stalls for good (seen in the guest with blk).
 */
static inline unsigned vq_max_free(unsigned num, bool in_order)
{
	return in_order ? num - 1 : num;
}

/* The layout-independent part of a new queue, from its config and the transport's addresses. */
void vq_init(struct vv_vq *vq, const struct vq_ops *ops, const struct vq_config *cfg,
	     uint64_t desc_iova, uint64_t avail_iova, uint64_t used_iova);
void vq_broken(struct vv_vq *vq, const char *why, unsigned long long a, unsigned long long b);

/*
 * A used length against the request's writable bytes (2.7.8.1): within them, or clamped on
 * a CLAMP queue; 0 then. -EIO (the queue is broken) otherwise.
 */
int vq_used_len(struct vv_vq *vq, uint32_t *len, uint64_t in_len);

/*
 * A used entry that a get loop would not take (2.7.8), given what the driver knows of its
 * id: @token NULL when the id is out of range or not in flight, which breaks the queue; else
 * its length is checked by vq_used_len(). Out of line and by value: a call in the loop, or
 * a local whose address it took, would keep the loop's state out of registers, so the loop
 * breaks out to this and goes on after it. Returns the length to take, or -EIO.
 */
__attribute__((cold)) int64_t vq_used_slow(struct vv_vq *vq, uint32_t id, uint32_t len,
					   const void *token, uint64_t in_len);

/* A request's two counts as one word, so that a run's loop tests its shape at once. */
_Static_assert(offsetof(struct vv_vq_req, n_in) == offsetof(struct vv_vq_req, n_out) + 2,
	       "n_out and n_in are adjacent");

static VV_INLINE uint32_t shape_key(uint16_t n_out, uint16_t n_in)
{
	const uint16_t pair[2] = {n_out, n_in};
	uint32_t key;

	memcpy(&key, pair, sizeof(key));
	return key;
}

static VV_INLINE uint32_t req_shape(const struct vv_vq_req *r)
{
	uint32_t key;

	memcpy(&key, &r->n_out, sizeof(key));
	return key;
}

#endif /* VV_VIRTQUEUE_VQ_INTERNAL_H */
