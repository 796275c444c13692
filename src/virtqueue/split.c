// SPDX-License-Identifier: MIT
/* split.c - the split virtqueue (virtio 1.2 section 2.7): descriptor table, avail and used rings.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "util/barrier.h"
#include "util/compiler.h"
#include "virtqueue/vq_internal.h"

/* Per ring slot (descriptor head) while a request is in flight. */
struct slot {
	void *token;	 /* NULL: not in flight */
	uint32_t in_len; /* bytes the device may write: the bound for used.len */
	uint16_t ndesc;	 /* ring descriptors the chain holds (1 when indirect) */
	uint16_t last;	 /* its last descriptor: the chain goes back to the free list at once */
};

struct vq_split {
	struct vv_vq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *indirect; /* indirect_max descriptors per head */
	uint64_t indirect_iova;

	/*
	 * Driver-private state. The device can write every byte of the rings, so the free list
	 * and what each chain holds live here, where it cannot reach (like the kernel's
	 * desc_extra).
	 */
	uint16_t *next;
	struct slot *slot;
	uint16_t free_head;
	unsigned in_flight;
	uint16_t avail_idx;   /* shadow: next avail index we will publish */
	uint16_t kicked_idx;  /* avail index at the last kick */
	uint16_t last_used;   /* next used entry to consume */
	uint16_t avail_flags; /* shadow of avail->flags */
};

#define to_split(v) ((struct vq_split *)(v))

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* Section 2.7: descriptor table 16-aligned, avail ring 2-aligned, used ring 4-aligned. */
static size_t avail_off(unsigned num)
{
	return sizeof(struct vring_desc) * num;
}

static size_t used_off(unsigned num)
{
	return align_up(avail_off(num) + sizeof(uint16_t) * (3 + num), 4);
}

static size_t indirect_off(unsigned num)
{
	return align_up(used_off(num) + sizeof(uint16_t) * 3 + sizeof(struct vring_used_elem) * num,
			16);
}

size_t vq_split_mem_size(const struct vq_config *cfg)
{
	size_t ind = cfg->indirect
			     ? (size_t)cfg->num * cfg->indirect_max * sizeof(struct vring_desc)
			     : 0;

	return align_up(indirect_off(cfg->num) + ind, 4096);
}

/* used_event lives after the avail ring, avail_event after the used ring (2.7.10). */
static uint16_t *used_event(struct vq_split *s)
{
	return &s->avail->ring[s->vq.num];
}

static uint16_t *avail_event(struct vq_split *s)
{
	return (uint16_t *)&s->used->ring[s->vq.num];
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Makes the chain at @head (ending at @last) a request in flight and queues its avail entry. */
static void commit(struct vq_split *s, uint16_t head, uint16_t last, unsigned ndesc,
		   uint32_t in_len, void *token)
{
	struct slot *sl = &s->slot[head];
	uint16_t idx = s->avail_idx;

	sl->token = token;
	sl->in_len = in_len;
	sl->ndesc = (uint16_t)ndesc;
	sl->last = last;
	s->vq.num_free -= ndesc;
	s->in_flight++;
	s->avail_idx = (uint16_t)(idx + 1);
	/* Only the ring entry now; the index is published once per batch by kick_prepare. */
	s->avail->ring[idx & (s->vq.num - 1)] = htole16(head);
}

static int add_indirect(struct vq_split *s, const struct vv_sg *sg, unsigned n_out, unsigned total,
			void *token)
{
	uint16_t head = s->free_head;
	/* Each head owns one indirect table, so a table is free exactly when its head is. */
	struct vring_desc *t = s->indirect + (size_t)head * s->vq.indirect_max;
	uint64_t in_len = 0;

	if (total > s->vq.indirect_max)
		return -EINVAL;
	if (!s->vq.num_free)
		return -ENOSPC;
	for (unsigned i = 0; i < total; i++) {
		if (unlikely(!sg[i].len))
			return -EINVAL;
		if (i >= n_out)
			in_len += sg[i].len;
		set_desc(&t[i], sg[i].iova, sg[i].len,
			 (i >= n_out ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < total ? VRING_DESC_F_NEXT : 0),
			 (uint16_t)(i + 1));
	}
	if (in_len > UINT32_MAX)
		return -EINVAL;
	set_desc(&s->desc[head],
		 s->indirect_iova + (uint64_t)head * s->vq.indirect_max * sizeof(struct vring_desc),
		 total * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
	s->free_head = s->next[head];
	commit(s, head, head, 1, (uint32_t)in_len, token);
	return 0;
}

/*
 * One pass over the buffers: each descriptor is written as the list is walked (zero lengths
 * refused on the way: nothing is published before commit(), so a refusal leaves no trace).
 */
static int split_add(struct vv_vq *v, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
		     void *token)
{
	struct vq_split *s = to_split(v);
	/*
	 * Locals throughout: a 16-bit store into the ring may alias the uint16_t fields of *s,
	 * and the compiler would reload them after each one.
	 */
	struct vring_desc *const desc = s->desc;
	const uint16_t *const next = s->next;
	unsigned total = n_out + n_in;
	uint16_t head = s->free_head, cur = head, last = head;
	uint64_t in_len = 0;

	if (v->indirect && total > 1)
		return add_indirect(s, sg, n_out, total, token);
	if (unlikely(total > v->num))
		return -EINVAL;
	if (v->num_free < total)
		return -ENOSPC;
	for (unsigned i = 0; i < total; i++) {
		uint32_t len = sg[i].len;
		uint16_t flags = VRING_DESC_F_NEXT;

		if (unlikely(!len))
			return -EINVAL;
		if (i >= n_out) {
			flags |= VRING_DESC_F_WRITE;
			in_len += len;
		}
		last = cur;
		cur = next[cur];
		set_desc(&desc[last], sg[i].iova, len, flags, cur);
	}
	if (unlikely(in_len > UINT32_MAX))
		return -EINVAL;
	desc[last].flags &= htole16((uint16_t)~VRING_DESC_F_NEXT);
	/* The chain keeps its links in next[]; the free list continues after it. */
	s->free_head = cur;
	commit(s, head, last, total, (uint32_t)in_len, token);
	return 0;
}

static bool split_kick_prepare(struct vv_vq *v)
{
	struct vq_split *s = to_split(v);
	uint16_t old = s->kicked_idx, new = s->avail_idx;

	if (old == new)
		return false;
	/* Descriptors and avail ring entries must be visible before the new avail index. */
	virt_wmb(v->weak_barriers);
	write_once16(&s->avail->idx, htole16(new));
	s->kicked_idx = new;
	/* The index store must be visible before we read whether the device wants a kick. */
	virt_mb(v->weak_barriers);
	if (v->event_idx)
		return vring_need_event(le16toh(read_once16(avail_event(s))), new, old);
	return !(le16toh(read_once16(&s->used->flags)) & VRING_USED_F_NO_NOTIFY);
}

static int split_get(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	struct vq_split *s = to_split(v);
	uint16_t last_used = s->last_used, used_idx = le16toh(read_once16(&s->used->idx));
	const struct vring_used_elem *e;
	struct slot *sl;
	uint32_t id, len;
	void *token;

	if (used_idx == last_used)
		return 0;
	/* The device may not complete more than is in flight (2.7.8). */
	if (unlikely((uint16_t)(used_idx - last_used) > s->in_flight)) {
		vq_broken(v, "used index jumped", used_idx, last_used);
		return -EIO;
	}
	/* Read the used entry only after the index that covers it. */
	virt_rmb(v->weak_barriers);
	e = &s->used->ring[last_used & (v->num - 1)];
	id = le32toh(read_once32(&e->id));
	len = le32toh(read_once32(&e->len));
	if (unlikely(id >= v->num || !s->slot[id].token)) {
		vq_broken(v, "used id not in flight", id, v->num);
		return -EIO;
	}
	sl = &s->slot[id];
	if (unlikely(len > sl->in_len)) {
		vq_broken(v, "used length exceeds the writable buffers", len, sl->in_len);
		return -EIO;
	}
	token = sl->token;
	/* The whole chain goes back to the free list at once, links and all. */
	s->next[sl->last] = s->free_head;
	s->free_head = (uint16_t)id;
	v->num_free += sl->ndesc;
	sl->token = NULL;
	s->in_flight--;
	s->last_used = ++last_used;
	/* With callbacks on, tell the device where we are, so it interrupts for the next one. */
	if (v->event_idx && !(s->avail_flags & VRING_AVAIL_F_NO_INTERRUPT)) {
		write_once16(used_event(s), htole16(last_used));
		virt_mb(v->weak_barriers);
	}
	*ret_token = token;
	*ret_len = len;
	return 1;
}

static void split_disable_cb(struct vv_vq *v)
{
	struct vq_split *s = to_split(v);

	s->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	/* With EVENT_IDX the flag is ignored by the device; not moving used_event suffices. */
	if (!v->event_idx)
		write_once16(&s->avail->flags, htole16(s->avail_flags));
}

static bool split_enable_cb(struct vv_vq *v)
{
	struct vq_split *s = to_split(v);

	s->avail_flags &= ~VRING_AVAIL_F_NO_INTERRUPT;
	if (v->event_idx)
		write_once16(used_event(s), htole16(s->last_used));
	else
		write_once16(&s->avail->flags, htole16(s->avail_flags));
	/* Publish the request for interrupts before looking for completions that raced it. */
	virt_mb(v->weak_barriers);
	return le16toh(read_once16(&s->used->idx)) == s->last_used;
}

static void split_destroy(struct vv_vq *v)
{
	struct vq_split *s = to_split(v);

	free(s->next);
	free(s->slot);
	free(s);
}

static const struct vq_ops split_ops = {
	.add = split_add,
	.kick_prepare = split_kick_prepare,
	.get = split_get,
	.disable_cb = split_disable_cb,
	.enable_cb = split_enable_cb,
	.destroy = split_destroy,
};

int vq_split_create(const struct vq_config *cfg, const struct vq_dma *mem, struct vv_vq **ret_vq)
{
	struct vq_split *s;
	uint8_t *base = mem->vaddr;

	if (!cfg->num || cfg->num > 32768 || (cfg->num & (cfg->num - 1)) || !cfg->notify ||
	    (cfg->indirect && !cfg->indirect_max) || mem->len < vq_split_mem_size(cfg) ||
	    (mem->iova & 15) || ((uintptr_t)mem->vaddr & 15))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->next = calloc(cfg->num, sizeof(*s->next));
	s->slot = calloc(cfg->num, sizeof(*s->slot));
	if (!s->next || !s->slot) {
		split_destroy(&s->vq);
		return -ENOMEM;
	}
	s->vq = (struct vv_vq){
		.ops = &split_ops,
		.index = cfg->index,
		.num = cfg->num,
		.num_free = cfg->num,
		.event_idx = cfg->event_idx,
		.indirect = cfg->indirect,
		.indirect_max = cfg->indirect ? cfg->indirect_max : 0,
		.weak_barriers = cfg->weak_barriers,
		.notify = cfg->notify,
		.notify_ctx = cfg->notify_ctx,
		.desc_iova = mem->iova,
		.avail_iova = mem->iova + avail_off(cfg->num),
		.used_iova = mem->iova + used_off(cfg->num),
	};
	snprintf(s->vq.name, sizeof(s->vq.name), "%s", cfg->name ? cfg->name : "vq");
	s->desc = (void *)base;
	s->avail = (void *)(base + avail_off(cfg->num));
	s->used = (void *)(base + used_off(cfg->num));
	s->indirect = (void *)(base + indirect_off(cfg->num));
	s->indirect_iova = mem->iova + indirect_off(cfg->num);
	for (unsigned i = 0; i < cfg->num; i++)
		s->next[i] = (uint16_t)((i + 1) & (cfg->num - 1));
	*ret_vq = &s->vq;
	return 0;
}
