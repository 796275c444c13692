// SPDX-License-Identifier: MIT
/* vq.c - the public virtqueue calls: argument checks, the broken state, dispatch to the layout. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "util/compiler.h"
#include "util/log.h"
#include "virtqueue/vq_internal.h"

/*
 * The device broke the protocol: from now on every call fails with -EIO and nothing the
 * device writes is used. Logged once, with the evidence.
 */
void vq_broken(struct vv_vq *vq, const char *why, unsigned long long a, unsigned long long b)
{
	if (vq->broken)
		return;
	vq->broken = true;
	log_err("%s: queue %u broken: %s (%llu, %llu)", vq->name, vq->index, why, a, b);
}

int vq_used_len(struct vv_vq *vq, uint32_t *len, uint64_t in_len)
{
	if (likely(*len <= in_len))
		return 0;
	if (vq->len_check == VV_VQ_LEN_STRICT) {
		vq_broken(vq, "used length exceeds the writable buffers", *len, in_len);
		return -EIO;
	}
	if (!vq->len_clamped++)
		log_warn("%s: queue %u: used length %u exceeds the writable buffers (%llu): "
			 "clamped, here and from now on",
			 vq->name, vq->index, *len, (unsigned long long)in_len);
	*len = (uint32_t)in_len;
	return 0;
}

int64_t vq_used_slow(struct vv_vq *vq, uint32_t id, uint32_t len, const void *token,
		     uint64_t in_len)
{
	if (!token) {
		vq_broken(vq, "used id not in flight", id, vq->num);
		return -EIO;
	}
	if (vq_used_len(vq, &len, in_len))
		return -EIO;
	return len;
}

void vq_init(struct vv_vq *vq, const struct vq_ops *ops, const struct vq_config *cfg,
	     uint64_t desc_iova, uint64_t avail_iova, uint64_t used_iova)
{
	*vq = (struct vv_vq){
		.ops = ops,
		.index = cfg->index,
		.num = cfg->num,
		.num_free = vq_max_free(cfg->num, cfg->in_order),
		.event_idx = cfg->event_idx,
		.indirect = cfg->indirect,
		.indirect_max = cfg->indirect ? cfg->indirect_max : 0,
		.weak_barriers = cfg->weak_barriers,
		.in_order = cfg->in_order,
		.notify = cfg->notify,
		.notify_ctx = cfg->notify_ctx,
		.desc_iova = desc_iova,
		.avail_iova = avail_iova,
		.used_iova = used_iova,
	};
	snprintf(vq->name, sizeof(vq->name), "%s", cfg->name ? cfg->name : "vq");
}

VV_EXPORT void vv_vq_break(struct vv_vq *vq)
{
	vq->broken = true;
}

VV_EXPORT int vv_vq_add(struct vv_vq *vq, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
			void *token)
{
	unsigned total = n_out + n_in;

	if (unlikely(vq->broken))
		return -EIO;
	/* Zero lengths are refused by the layout, in its one pass over @sg. */
	if (unlikely(!sg || !token || !total || total < n_out || total > UINT16_MAX))
		return -EINVAL;
	return vq->ops->add(vq, sg, n_out, n_in, token);
}

VV_EXPORT int vv_vq_add_many(struct vv_vq *vq, const struct vv_vq_req *reqs, unsigned n)
{
	unsigned i;
	int ret = 0;

	if (unlikely(vq->broken))
		return -EIO;
	if (unlikely(!reqs))
		return -EINVAL;
	if (vq->ops->add_many)
		return vq->ops->add_many(vq, reqs, n);
	for (i = 0; i < n; i++) {
		const struct vv_vq_req *r = &reqs[i];

		ret = !r->sg || !r->token || !(r->n_out + r->n_in)
			      ? -EINVAL
			      : vq->ops->add(vq, r->sg, r->n_out, r->n_in, r->token);
		if (ret)
			break;
	}
	return i || !ret ? (int)i : ret;
}

VV_EXPORT bool vv_vq_kick_prepare(struct vv_vq *vq)
{
	return !vq->broken && vq->ops->kick_prepare(vq);
}

VV_EXPORT void vv_vq_notify(struct vv_vq *vq)
{
	vq->notify(vq->notify_ctx, vq->index);
}

VV_EXPORT int vv_vq_kick(struct vv_vq *vq)
{
	if (unlikely(vq->broken))
		return -EIO;
	if (vq->ops->kick_prepare(vq))
		vv_vq_notify(vq);
	return 0;
}

VV_EXPORT int vv_vq_get(struct vv_vq *vq, void **ret_token, uint32_t *ret_len)
{
	if (unlikely(vq->broken))
		return -EIO;
	return vq->ops->get(vq, ret_token, ret_len);
}

VV_EXPORT int vv_vq_get_many(struct vv_vq *vq, void **ret_tokens, uint32_t *ret_lens, unsigned max)
{
	unsigned i = 0;
	int ret = 1;

	if (unlikely(vq->broken))
		return -EIO;
	if (vq->ops->get_many)
		return vq->ops->get_many(vq, ret_tokens, ret_lens, max);
	while (i < max && (ret = vq->ops->get(vq, &ret_tokens[i], &ret_lens[i])) == 1)
		i++;
	/* What was taken before a violation is the caller's; the next call fails. */
	return i || ret >= 0 ? (int)i : ret;
}

VV_EXPORT void vv_vq_set_len_check(struct vv_vq *vq, enum vv_vq_len_check check)
{
	vq->len_check = check;
}

VV_EXPORT uint64_t vv_vq_len_clamped(const struct vv_vq *vq)
{
	return vq->len_clamped;
}

VV_EXPORT unsigned vv_vq_indirect_max(const struct vv_vq *vq)
{
	return vq->indirect_max;
}

VV_EXPORT void vv_vq_disable_cb(struct vv_vq *vq)
{
	vq->ops->disable_cb(vq);
}

VV_EXPORT bool vv_vq_enable_cb(struct vv_vq *vq)
{
	/* A broken queue never completes anything: nothing to wait for, tell the caller to look. */
	return !vq->broken && vq->ops->enable_cb(vq);
}

VV_EXPORT unsigned vv_vq_size(const struct vv_vq *vq)
{
	return vq->num;
}

VV_EXPORT unsigned vv_vq_free_count(const struct vv_vq *vq)
{
	return vq->num_free;
}

VV_EXPORT bool vv_vq_is_broken(const struct vv_vq *vq)
{
	return vq->broken;
}

uint64_t vq_desc_iova(const struct vv_vq *vq)
{
	return vq->desc_iova;
}

uint64_t vq_avail_iova(const struct vv_vq *vq)
{
	return vq->avail_iova;
}

uint64_t vq_used_iova(const struct vv_vq *vq)
{
	return vq->used_iova;
}

void vq_reset(struct vv_vq *vq, void (*unused)(void *ctx, void *token), void *ctx)
{
	vq->ops->reset(vq, unused, ctx);
	vq->num_free = vq_max_free(vq->num, vq->in_order);
	vq->len_clamped = 0;
	vq->broken = false;
}

void vq_destroy(struct vv_vq *vq)
{
	if (vq)
		vq->ops->destroy(vq);
}
