// SPDX-License-Identifier: MIT
/*
 * packed.c - the packed virtqueue (virtio 1.2 section 2.8): one descriptor ring that the
 * driver and the device both write, told apart by wrap counters, plus the two event
 * suppression structures.
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

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED	(1u << VRING_PACKED_DESC_F_USED)
#define WRAP	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

/* Per buffer id while a request is in flight; the device only ever names the id. */
struct pslot {
	void *token;	 /* NULL: free */
	uint32_t in_len; /* bytes the device may write: the bound for the used length */
	uint16_t ndesc;	 /* ring descriptors the request took (1 when indirect) */
	uint16_t next;	 /* free list */
};

struct vq_packed {
	struct vv_vq vq;
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *driver; /* ours; the device reads it */
	struct vring_packed_desc_event *device; /* the device's; we read it */
	struct vring_packed_desc *indirect;	/* indirect_max entries per buffer id */
	uint64_t indirect_iova;

	/* Driver-private: the device can write every byte of the ring, but not these. */
	struct pslot *slot;
	uint16_t free_id;
	unsigned in_flight;
	uint16_t next_avail; /* ring position of our next descriptor */
	bool avail_wrap;
	uint16_t last_used; /* ring position of the next used descriptor */
	bool used_wrap;
	uint16_t added;	      /* descriptors made available since the last kick */
	uint16_t event_flags; /* shadow of driver->flags */

	/*
	 * With VIRTIO_F_IN_ORDER a buffer's id is its head's ring position, and buffers come
	 * back in ring order, so the oldest in flight is the one at last_used. One used
	 * descriptor may stand for a batch (2.8.20 area): it names the last buffer's id, and
	 * the device skips the batch's descriptors.
	 */
	uint16_t batch_left; /* buffers of that batch not yet handed back */
	uint32_t batch_len;  /* the length the device gave for the batch's last buffer */

	void *mem; /* the ring memory, zeroed again by a queue reset */
	size_t mem_len;
};

#define to_packed(v) container_of(v, struct vq_packed, vq)

/* Section 2.8.10: ring 16-aligned, each event suppression structure 4-aligned. */
static size_t driver_off(unsigned num)
{
	return sizeof(struct vring_packed_desc) * num;
}

static size_t device_off(unsigned num)
{
	return driver_off(num) + sizeof(struct vring_packed_desc_event);
}

static size_t indirect_off(unsigned num)
{
	return align_up(device_off(num) + sizeof(struct vring_packed_desc_event), 16);
}

size_t vq_packed_mem_size(const struct vq_config *cfg)
{
	size_t ind = cfg->indirect ? (size_t)cfg->num * cfg->indirect_max *
					     sizeof(struct vring_packed_desc)
				   : 0;

	return align_up(indirect_off(cfg->num) + ind, 4096);
}

/* The AVAIL and USED bits that make a descriptor available in the lap of @wrap (2.8.1). */
static uint16_t avail_bits(bool wrap)
{
	return wrap ? F_AVAIL : F_USED;
}

static void advance(uint16_t *pos, bool *wrap, unsigned n, unsigned num)
{
	*pos = (uint16_t)(*pos + n);
	if (*pos >= num) {
		*pos = (uint16_t)(*pos - num);
		*wrap = !*wrap;
	}
}

static int packed_add(struct vv_vq *v, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
		      void *token)
{
	struct vq_packed *p = to_packed(v);
	unsigned total = n_out + n_in, ndesc;
	bool use_indirect = v->indirect && total > 1, wrap = p->avail_wrap;
	uint16_t head = p->next_avail, pos = head, id, head_flags;
	uint64_t in_len = 0;

	if (use_indirect ? total > v->indirect_max : total > v->num)
		return -EINVAL;
	ndesc = use_indirect ? 1 : total;
	if (v->num_free < ndesc)
		return -ENOSPC;
	/* Checked before anything is written: a packed descriptor is live once written. */
	for (unsigned i = 0; i < total; i++) {
		if (unlikely(!sg[i].len))
			return -EINVAL;
		if (i >= n_out)
			in_len += sg[i].len;
	}
	if (in_len > UINT32_MAX)
		return -EINVAL;
	if (v->in_order) {
		id = head; /* ids in ring order: the device names the last of a batch */
	} else {
		id = p->free_id;
		p->free_id = p->slot[id].next;
	}

	if (use_indirect) {
		/* Each id owns one table: it is free exactly when the id is (2.8.19). */
		struct vring_packed_desc *t = p->indirect + (size_t)id * v->indirect_max;

		for (unsigned i = 0; i < total; i++) {
			t[i].addr = htole64(sg[i].iova);
			t[i].len = htole32(sg[i].len);
			t[i].id = 0;
			t[i].flags = htole16(i >= n_out ? VRING_DESC_F_WRITE : 0);
		}
		p->ring[head].addr =
			htole64(p->indirect_iova + (uint64_t)id * v->indirect_max * sizeof(*t));
		p->ring[head].len = htole32(total * (uint32_t)sizeof(*t));
		p->ring[head].id = htole16(id);
		head_flags = VRING_DESC_F_INDIRECT | avail_bits(wrap);
		advance(&p->next_avail, &p->avail_wrap, 1, v->num);
	} else {
		for (unsigned i = 0; i < total; i++) {
			uint16_t flags = (i >= n_out ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < total ? VRING_DESC_F_NEXT : 0) | avail_bits(wrap);

			p->ring[pos].addr = htole64(sg[i].iova);
			p->ring[pos].len = htole32(sg[i].len);
			p->ring[pos].id = htole16(id); /* the device reads it from the last one */
			if (i)
				p->ring[pos].flags = htole16(flags);
			else
				head_flags = flags;
			advance(&pos, &wrap, 1, v->num);
		}
		p->next_avail = pos;
		p->avail_wrap = wrap;
	}
	v->num_free -= ndesc;
	p->slot[id].token = token;
	p->slot[id].in_len = (uint32_t)in_len;
	p->slot[id].ndesc = (uint16_t)ndesc;
	p->in_flight++;
	if (p->added < v->num)
		p->added = (uint16_t)(p->added + ndesc);
	/* The whole chain must be visible before its head turns available (2.8.6). */
	virt_wmb(v->weak_barriers);
	write_once16(&p->ring[head].flags, htole16(head_flags));
	return 0;
}

/* A ring position and its lap as one number in [0, 2 * num): the next after num - 1 is num. */
static unsigned lap_pos(uint16_t pos, bool wrap, unsigned num)
{
	return wrap ? pos : pos + num;
}

/*
 * Whether the device has visibly consumed the descriptor at its own event position @event
 * (lap @wrap): it asks to be told when we make that descriptor available, and we did, long
 * ago. A device that moves its event position as it consumes never leaves it so (it
 * disables notifications while it works, or moves the position); QEMU does: its
 * virtio_net_tx_complete(), after a send the backend held back (the peer's receive ring
 * full), enables notifications at the position it reached and then sends what else is
 * queued, and a packed pop, unlike a split one, never moves the event. The position stays
 * behind the device's for good; vring_need_event() never passes it again, and the queue
 * waits for a notification that is never sent (QEMU 7.2 and 10.0 alike).
 *
 * The evidence is what the device wrote back: our used position is past the event, or the
 * descriptor at the event position is a used one of its lap. Both mean the device read the
 * descriptor there, so a notification only costs one doorbell write. A device that has not
 * caught up yet (the event at a descriptor it has not used) is not second-guessed.
 */
static bool event_consumed(struct vq_packed *p, uint16_t event, bool wrap)
{
	unsigned num = p->vq.num, used = lap_pos(p->last_used, p->used_wrap, num);
	unsigned d = (lap_pos(event, wrap, num) + 2 * num - used) % (2 * num);
	unsigned outstanding =
		(lap_pos(p->next_avail, p->avail_wrap, num) + 2 * num - used) % (2 * num);
	uint16_t flags;

	if (event >= num || d > num)
		return true; /* nonsense, or behind our used position (less than a lap) */
	if (d >= outstanding)
		return false; /* at or past what we made available: not read yet */
	flags = le16toh(read_once16(&p->ring[event].flags));
	return !!(flags & F_AVAIL) == wrap && !!(flags & F_USED) == wrap;
}

static bool packed_kick_prepare(struct vv_vq *v)
{
	struct vq_packed *p = to_packed(v);
	uint16_t new = p->next_avail, old = (uint16_t)(new - p->added), flags, off_wrap, event;
	bool lapped = p->added >= v->num; /* old is ambiguous: compare nothing, just ask */

	if (!p->added)
		return false;
	p->added = 0;
	/* The descriptors' flags must be visible before we read what the device wants. */
	virt_mb(v->weak_barriers);
	flags = le16toh(read_once16(&p->device->flags));
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !v->event_idx || lapped)
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	off_wrap = le16toh(read_once16(&p->device->off_wrap));
	event = off_wrap & (uint16_t)~WRAP;
	/* An event position in the previous lap lies num before ours (2.8.10.1). */
	if (!!(off_wrap & WRAP) != p->avail_wrap)
		event = (uint16_t)(event - v->num);
	return vring_need_event(event, new, old) ||
	       event_consumed(p, off_wrap & (uint16_t)~WRAP, off_wrap & WRAP);
}

/* Whether the descriptor at our used position was written back by the device (2.8.1). */
static bool used_ready(struct vq_packed *p)
{
	uint16_t flags = le16toh(read_once16(&p->ring[p->last_used].flags));
	bool avail = flags & F_AVAIL, used = flags & F_USED;

	return avail == used && used == p->used_wrap;
}

/* Tells the device, with EVENT_IDX, to notify at our next used position. */
static void publish_used_event(struct vq_packed *p)
{
	write_once16(&p->driver->off_wrap,
		     htole16((uint16_t)(p->last_used | (p->used_wrap ? WRAP : 0))));
}

static int packed_get(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	struct vq_packed *p = to_packed(v);
	struct vring_packed_desc *d = &p->ring[p->last_used];
	uint16_t id;
	uint32_t len;

	if (!used_ready(p))
		return 0;
	if (!p->in_flight) {
		vq_broken(v, "used descriptor with nothing in flight", p->last_used, 0);
		return -EIO;
	}
	/* Read the descriptor only after the flags that say it is ours. */
	virt_rmb(v->weak_barriers);
	id = le16toh(read_once16(&d->id));
	len = le32toh(read_once32(&d->len));
	if (id >= v->num || !p->slot[id].token) {
		vq_broken(v, "used id not in flight", id, v->num);
		return -EIO;
	}
	if (vq_used_len(v, &len, p->slot[id].in_len))
		return -EIO;
	*ret_token = p->slot[id].token;
	*ret_len = len;
	/* The device skips as many descriptors as the request took (2.8.7). */
	advance(&p->last_used, &p->used_wrap, p->slot[id].ndesc, v->num);
	v->num_free += p->slot[id].ndesc;
	p->slot[id].token = NULL;
	p->slot[id].next = p->free_id;
	p->free_id = id;
	p->in_flight--;
	if (v->event_idx && p->event_flags == VRING_PACKED_EVENT_FLAG_DESC) {
		publish_used_event(p);
		virt_mb(v->weak_barriers);
	}
	return 1;
}

/*
 * packed_get() with VIRTIO_F_IN_ORDER. The checks stay as strict: a used descriptor must name
 * a buffer in flight, counted from the oldest, and its length must fit that buffer. Buffers
 * a batch skips were used completely: their length is their writable size.
 */
static int packed_get_in_order(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	struct vq_packed *p = to_packed(v);
	uint16_t head = p->last_used;
	struct pslot *sl = &p->slot[head];
	uint32_t len;

	if (!p->batch_left) {
		struct vring_packed_desc *d = &p->ring[head];
		uint16_t id, h = head;
		unsigned k;

		if (!used_ready(p))
			return 0;
		if (!p->in_flight) {
			vq_broken(v, "used descriptor with nothing in flight", head, 0);
			return -EIO;
		}
		/* Read the descriptor only after the flags that say it is ours. */
		virt_rmb(v->weak_barriers);
		id = le16toh(read_once16(&d->id));
		len = le32toh(read_once32(&d->len));
		if (likely(id == head)) {
			/* A batch of one, the oldest; the check's call only when it fails. */
			if (unlikely(len > sl->in_len) && vq_used_len(v, &len, sl->in_len))
				return -EIO;
			goto take;
		}
		for (k = 0; k < p->in_flight && h != id; k++)
			h = (uint16_t)((h + p->slot[h].ndesc) % v->num);
		if (k == p->in_flight) {
			vq_broken(v, "used id out of order", id, head);
			return -EIO;
		}
		if (vq_used_len(v, &len, p->slot[id].in_len))
			return -EIO;
		p->batch_left = (uint16_t)(k + 1);
		p->batch_len = len;
	}
	/* Inside a batch: only its last buffer, the one named, has the device's length. */
	len = p->batch_left == 1 ? p->batch_len : sl->in_len;
	p->batch_left--;
take:
	*ret_token = sl->token;
	*ret_len = len;
	advance(&p->last_used, &p->used_wrap, sl->ndesc, v->num);
	v->num_free += sl->ndesc;
	sl->token = NULL;
	p->in_flight--;
	if (v->event_idx && p->event_flags == VRING_PACKED_EVENT_FLAG_DESC) {
		publish_used_event(p);
		virt_mb(v->weak_barriers);
	}
	return 1;
}

static void set_event_flags(struct vq_packed *p, uint16_t flags)
{
	if (p->event_flags == flags)
		return;
	p->event_flags = flags;
	write_once16(&p->driver->flags, htole16(flags));
}

static void packed_disable_cb(struct vv_vq *v)
{
	set_event_flags(to_packed(v), VRING_PACKED_EVENT_FLAG_DISABLE);
}

static bool packed_enable_cb(struct vv_vq *v)
{
	struct vq_packed *p = to_packed(v);

	if (v->event_idx) {
		publish_used_event(p);
		/* The position before the flags that make the device read it. */
		virt_wmb(v->weak_barriers);
		set_event_flags(p, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		set_event_flags(p, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	/* Publish the request for notifications before looking for completions that raced it. */
	virt_mb(v->weak_barriers);
	return !p->batch_left && !used_ready(p);
}

static void packed_reset(struct vv_vq *v, void (*unused)(void *ctx, void *token), void *ctx)
{
	struct vq_packed *p = to_packed(v);
	uint16_t flags = p->event_flags;

	for (unsigned i = 0; i < v->num; i++) {
		if (p->slot[i].token && unused)
			unused(ctx, p->slot[i].token);
		p->slot[i] = (struct pslot){.next = (uint16_t)(i + 1)};
	}
	memset(p->mem, 0, p->mem_len);
	p->free_id = 0;
	p->in_flight = 0;
	p->next_avail = p->last_used = p->added = 0;
	p->avail_wrap = p->used_wrap = true; /* 2.8.1, as at creation */
	p->batch_left = 0;
	p->batch_len = 0;
	/* Notifications stay as the driver chose them. */
	p->event_flags = flags;
	write_once16(&p->driver->flags, htole16(flags));
}

static void packed_destroy(struct vv_vq *v)
{
	struct vq_packed *p = to_packed(v);

	free(p->slot);
	free(p);
}

static const struct vq_ops packed_ops = {
	.add = packed_add,
	.kick_prepare = packed_kick_prepare,
	.get = packed_get,
	.disable_cb = packed_disable_cb,
	.enable_cb = packed_enable_cb,
	.reset = packed_reset,
	.destroy = packed_destroy,
};

/* With VIRTIO_F_IN_ORDER: adding is the same (ids follow the ring), reclaim differs. */
static const struct vq_ops packed_in_order_ops = {
	.add = packed_add,
	.kick_prepare = packed_kick_prepare,
	.get = packed_get_in_order,
	.disable_cb = packed_disable_cb,
	.enable_cb = packed_enable_cb,
	.reset = packed_reset,
	.destroy = packed_destroy,
};

int vq_packed_create(const struct vq_config *cfg, const struct vq_dma *mem, struct vv_vq **ret_vq)
{
	struct vq_packed *p;
	uint8_t *base = mem->vaddr;

	/* Unlike split, any size up to 32768 works (2.8.10); ids are 16-bit. */
	if (!cfg->num || cfg->num > 32768 || !cfg->notify ||
	    (cfg->indirect && !cfg->indirect_max) || mem->len < vq_packed_mem_size(cfg) ||
	    (mem->iova & 15) || ((uintptr_t)mem->vaddr & 15))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->slot = calloc(cfg->num, sizeof(*p->slot));
	if (!p->slot) {
		packed_destroy(&p->vq);
		return -ENOMEM;
	}
	/* The transport's desc/driver/device addresses. */
	vq_init(&p->vq, cfg->in_order ? &packed_in_order_ops : &packed_ops, cfg, mem->iova,
		mem->iova + driver_off(cfg->num), mem->iova + device_off(cfg->num));
	p->mem = base;
	p->mem_len = vq_packed_mem_size(cfg);
	p->ring = (void *)base;
	p->driver = (void *)(base + driver_off(cfg->num));
	p->device = (void *)(base + device_off(cfg->num));
	p->indirect = (void *)(base + indirect_off(cfg->num));
	p->indirect_iova = mem->iova + indirect_off(cfg->num);
	/* Both wrap counters start at 1 (2.8.1); notifications start enabled. */
	p->avail_wrap = p->used_wrap = true;
	p->event_flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	for (unsigned i = 0; i < cfg->num; i++)
		p->slot[i].next = (uint16_t)(i + 1);
	*ret_vq = &p->vq;
	return 0;
}
