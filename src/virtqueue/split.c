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

static int split_add(struct vv_vq *v, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
		     void *token)
{
	struct vq_split *s = to_split(v);
	unsigned total = n_out + n_in, ndesc;
	uint64_t in_len = 0;
	uint16_t head = s->free_head, cur, prev = 0;
	bool use_indirect = v->indirect && total > 1;

	if (use_indirect ? total > v->indirect_max : total > v->num)
		return -EINVAL;
	ndesc = use_indirect ? 1 : total;
	if (v->num_free < ndesc)
		return -ENOSPC;
	for (unsigned i = n_out; i < total; i++)
		in_len += sg[i].len;
	if (in_len > UINT32_MAX)
		return -EINVAL;

	if (use_indirect) {
		/* Each head owns one indirect table, so a table is free exactly when its head is.
		 */
		struct vring_desc *t = s->indirect + (size_t)head * v->indirect_max;
		uint64_t t_iova = s->indirect_iova +
				  (uint64_t)head * v->indirect_max * sizeof(struct vring_desc);

		for (unsigned i = 0; i < total; i++)
			set_desc(&t[i], sg[i].iova, sg[i].len,
				 (i >= n_out ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < total ? VRING_DESC_F_NEXT : 0),
				 (uint16_t)(i + 1));
		set_desc(&s->desc[head], t_iova, total * sizeof(struct vring_desc),
			 VRING_DESC_F_INDIRECT, 0);
		s->free_head = s->next[head];
	} else {
		cur = head;
		for (unsigned i = 0; i < total; i++) {
			prev = cur;
			set_desc(&s->desc[cur], sg[i].iova, sg[i].len,
				 (i >= n_out ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < total ? VRING_DESC_F_NEXT : 0),
				 s->next[cur]);
			cur = s->next[cur];
		}
		/* The chain keeps its links in next[]; the free list continues after it. */
		s->free_head = s->next[prev];
	}
	v->num_free -= ndesc;
	s->slot[head] = (struct slot){.token = token, .in_len = (uint32_t)in_len, .ndesc = ndesc};
	s->in_flight++;

	/* Only the ring entry now; the index is published once per batch by kick_prepare. */
	s->avail->ring[s->avail_idx & (v->num - 1)] = htole16(head);
	s->avail_idx++;
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

/* Gives a completed chain's descriptors back to the free list. */
static void free_chain(struct vq_split *s, uint16_t head)
{
	uint16_t last = head;

	for (unsigned i = 1; i < s->slot[head].ndesc; i++)
		last = s->next[last];
	s->next[last] = s->free_head;
	s->free_head = head;
	s->vq.num_free += s->slot[head].ndesc;
	s->slot[head].token = NULL;
	s->in_flight--;
}

static int split_get(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	struct vq_split *s = to_split(v);
	uint16_t used_idx = le16toh(read_once16(&s->used->idx));
	struct vring_used_elem *e;
	uint32_t id, len;

	if (used_idx == s->last_used)
		return 0;
	/* The device may not complete more than is in flight (2.7.8). */
	if ((uint16_t)(used_idx - s->last_used) > s->in_flight) {
		vq_broken(v, "used index jumped", used_idx, s->last_used);
		return -EIO;
	}
	/* Read the used entry only after the index that covers it. */
	virt_rmb(v->weak_barriers);
	e = &s->used->ring[s->last_used & (v->num - 1)];
	id = le32toh(read_once32(&e->id));
	len = le32toh(read_once32(&e->len));
	if (id >= v->num || !s->slot[id].token) {
		vq_broken(v, "used id not in flight", id, v->num);
		return -EIO;
	}
	if (len > s->slot[id].in_len) {
		vq_broken(v, "used length exceeds the writable buffers", len, s->slot[id].in_len);
		return -EIO;
	}
	*ret_token = s->slot[id].token;
	*ret_len = len;
	free_chain(s, (uint16_t)id);
	s->last_used++;

	/* With callbacks on, tell the device where we are, so it interrupts for the next one. */
	if (v->event_idx && !(s->avail_flags & VRING_AVAIL_F_NO_INTERRUPT)) {
		write_once16(used_event(s), htole16(s->last_used));
		virt_mb(v->weak_barriers);
	}
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
