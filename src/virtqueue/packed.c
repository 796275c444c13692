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

/* The AVAIL and USED bits a used descriptor carries in the lap of @wrap: both equal to it. */
static uint16_t used_bits(bool wrap)
{
	return wrap ? F_AVAIL | F_USED : 0;
}

/*
 * Steps a ring position by @n descriptors. On a new lap the wrap counter turns, and with it
 * both of the AVAIL/USED patterns above: each is its own complement under F_AVAIL | F_USED.
 */
static VV_INLINE void advance(uint16_t *pos, uint16_t *bits, unsigned n, unsigned num)
{
	*pos = (uint16_t)(*pos + n);
	if (*pos >= num) {
		*pos = (uint16_t)(*pos - num);
		*bits ^= F_AVAIL | F_USED;
	}
}

/*
 * The driver's state while one add or get runs, in locals (as split.c's cursor): the library
 * is built with -fno-strict-aliasing, so every store into the ring could alias the fields of
 * struct vq_packed and would force them to be reloaded.
 */
struct cursor {
	struct vring_packed_desc *ring;
	struct pslot *slot;
	struct vring_packed_desc *ind; /* indirect tables, NULL without INDIRECT_DESC */
	uint64_t ind_iova;
	unsigned ind_max;
	bool in_order;
	unsigned num, num_free, in_flight;
	uint16_t pos;  /* next_avail (add) or last_used (get) */
	uint16_t bits; /* avail_bits() (add) or used_bits() (get) of the lap at pos */
	uint16_t free_id;
};

static VV_INLINE void cursor_load(struct vq_packed *p, struct cursor *c, bool add)
{
	*c = (struct cursor){
		.ring = p->ring,
		.slot = p->slot,
		.ind = p->vq.indirect ? p->indirect : NULL,
		.ind_iova = p->indirect_iova,
		.ind_max = p->vq.indirect_max,
		.in_order = p->vq.in_order,
		.num = p->vq.num,
		.num_free = p->vq.num_free,
		.in_flight = p->in_flight,
		.pos = add ? p->next_avail : p->last_used,
		.bits = add ? avail_bits(p->avail_wrap) : used_bits(p->used_wrap),
		.free_id = p->free_id,
	};
}

static VV_INLINE void cursor_store(struct vq_packed *p, const struct cursor *c, bool add)
{
	p->vq.num_free = c->num_free;
	p->in_flight = c->in_flight;
	p->free_id = c->free_id;
	if (add) {
		p->next_avail = c->pos;
		p->avail_wrap = c->bits == F_AVAIL;
	} else {
		p->last_used = c->pos;
		p->used_wrap = c->bits != 0;
	}
}

/*
 * Writes one request at the cursor, all but its head's flags, which are returned in
 * @head_flags: a packed descriptor is live once its flags are written, so the caller turns
 * the head available last (2.8.6). Everything is checked before anything is written, and the
 * cursor moves only on success.
 * @in_run: called from a run's loop (add_run()), which has made sure the ring has room and
 * moves the counts (free descriptors, requests in flight) itself, once for the run.
 */
static VV_INLINE int add_shape_at(struct cursor *c, const struct vv_sg *sg, unsigned n_out,
				  unsigned n_in, bool ind, void *token, uint16_t *head_flags,
				  bool in_run)
{
	unsigned total = n_out + n_in, ndesc;
	bool use_indirect = ind && total > 1;
	uint16_t head = c->pos, id;
	struct vring_packed_desc *ring = c->ring;
	uint32_t in_len = 0;
	struct pslot *sl;

	/* A run checks that once, for all of its requests. */
	if (!in_run && unlikely(use_indirect ? total > c->ind_max : total > c->num))
		return -EINVAL;
	ndesc = use_indirect ? 1 : total;
	if (!in_run && c->num_free < ndesc)
		return -ENOSPC;
	for (unsigned i = 0; i < total; i++) {
		if (unlikely(!sg[i].len))
			return -EINVAL;
		/* A chain may not pass 4 GiB of writable bytes: the used length could not say. */
		if (i >= n_out && unlikely(__builtin_add_overflow(in_len, sg[i].len, &in_len)))
			return -EINVAL;
	}
	if (in_run && unlikely(!token))
		return -EINVAL;
	if (c->in_order) {
		id = head; /* ids in ring order: the device names the last of a batch */
	} else {
		id = c->free_id;
		c->free_id = c->slot[id].next;
	}
	/* Private memory: written first, so the token need not live across the ring's stores. */
	sl = &c->slot[id];
	sl->token = token;
	sl->in_len = in_len;
	sl->ndesc = (uint16_t)ndesc;

	if (use_indirect) {
		/* Each id owns one table: it is free exactly when the id is (2.8.19). */
		struct vring_packed_desc *t = c->ind + (size_t)id * c->ind_max;

		for (unsigned i = 0; i < total; i++) {
			t[i].addr = htole64(sg[i].iova);
			t[i].len = htole32(sg[i].len);
			t[i].id = 0;
			t[i].flags = htole16(i >= n_out ? VRING_DESC_F_WRITE : 0);
		}
		ring[head].addr = htole64(c->ind_iova + (uint64_t)id * c->ind_max * sizeof(*t));
		ring[head].len = htole32(total * (uint32_t)sizeof(*t));
		ring[head].id = htole16(id);
		*head_flags = VRING_DESC_F_INDIRECT | c->bits;
		advance(&c->pos, &c->bits, 1, c->num);
	} else if (in_run && c->pos + total <= c->num) {
		/* The chain does not wrap: one lap's bits for all of it, one step at its end. */
		for (unsigned i = 0; i < total; i++) {
			uint16_t flags = (i >= n_out ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < total ? VRING_DESC_F_NEXT : 0) | c->bits;

			ring[head + i].addr = htole64(sg[i].iova);
			ring[head + i].len = htole32(sg[i].len);
			ring[head + i].id = htole16(id); /* the device reads it from the last one */
			if (i)
				ring[head + i].flags = htole16(flags);
			else
				*head_flags = flags;
		}
		advance(&c->pos, &c->bits, total, c->num);
	} else {
		for (unsigned i = 0; i < total; i++) {
			uint16_t pos = c->pos, flags = (i >= n_out ? VRING_DESC_F_WRITE : 0) |
						       (i + 1 < total ? VRING_DESC_F_NEXT : 0) |
						       c->bits;

			ring[pos].addr = htole64(sg[i].iova);
			ring[pos].len = htole32(sg[i].len);
			ring[pos].id = htole16(id); /* the device reads it from the last one */
			if (i)
				ring[pos].flags = htole16(flags);
			else
				*head_flags = flags;
			advance(&c->pos, &c->bits, 1, c->num);
		}
	}
	if (!in_run) {
		c->num_free -= ndesc;
		c->in_flight++;
	}
	return 0;
}

static VV_INLINE int add_shape(struct cursor *c, const struct vv_sg *sg, unsigned n_out,
			       unsigned n_in, bool ind, void *token, uint16_t *head_flags)
{
	return add_shape_at(c, sg, n_out, n_in, ind, token, head_flags, false);
}

/*
 * add_shape() for the shapes nearly every request has, with its counts as constants, as in
 * split.c: a virtio-blk read or write (header, data, status) and one buffer.
 */
static VV_INLINE int add_one(struct cursor *c, const struct vv_sg *sg, unsigned n_out,
			     unsigned n_in, void *token, uint16_t *head_flags)
{
	bool ind = c->ind;

	if (n_out == 1 && n_in == 2)
		return add_shape(c, sg, 1, 2, ind, token, head_flags);
	if (n_out == 2 && n_in == 1)
		return add_shape(c, sg, 2, 1, ind, token, head_flags);
	if (n_out + n_in == 1)
		return n_in ? add_shape(c, sg, 0, 1, false, token, head_flags)
			    : add_shape(c, sg, 1, 0, false, token, head_flags);
	/* A request of no buffers: the batched call leaves that check to us. */
	if (unlikely(!(n_out + n_in)))
		return -EINVAL;
	return add_shape(c, sg, n_out, n_in, ind, token, head_flags);
}

/*
 * The requests from @reqs on that have the shape @n_out, @n_in, as long as they fit, in a
 * loop of their own (as split.c's add_run(): the room is known before it, the counts move
 * after it). Each head but the batch's first turns available as soon as its chain is written;
 * the first one's flags go to @first_flags, for publish(). Returns how many were added; @ret
 * is set on a refusal.
 */
static VV_INLINE unsigned add_run(struct cursor *c, const struct vv_vq_req *reqs, unsigned n,
				  unsigned n_out, unsigned n_in, bool ind, bool first,
				  uint16_t *first_flags, int *ret)
{
	const uint32_t key = shape_key((uint16_t)n_out, (uint16_t)n_in);
	const unsigned per = ind ? 1 : n_out + n_in;
	const unsigned fit = c->num_free / per < n ? c->num_free / per : n;
	const struct vv_vq_req *r, *end = reqs + fit;
	unsigned i;

	/* Once for the run: a chain longer than its table or the ring can never fit. */
	if (unlikely(ind && n_out + n_in > 1 ? n_out + n_in > c->ind_max : n_out + n_in > c->num)) {
		*ret = -EINVAL;
		return 0;
	}
	for (r = reqs; r < end; r++) {
		uint16_t head = c->pos, head_flags = 0;

		if (req_shape(r) != key)
			break;
		if (unlikely(!r->sg)) {
			*ret = -EINVAL;
			break;
		}
		*ret = add_shape_at(c, r->sg, n_out, n_in, ind, r->token, &head_flags, true);
		if (unlikely(*ret))
			break;
		if (first && r == reqs)
			*first_flags = head_flags;
		else
			write_once16(&c->ring[head].flags, htole16(head_flags));
	}
	i = (unsigned)(r - reqs);
	c->num_free -= i * per;
	c->in_flight += i;
	if (i < fit || *ret)
		return i;
	/*
	 * The run goes on past the room. The next request cannot fit; the checked add says
	 * why: -ENOSPC, or -EINVAL for one that never could.
	 */
	if (i < n && req_shape(r) == key) {
		uint16_t head_flags;

		if (unlikely(!r->sg || !r->token))
			*ret = -EINVAL;
		else
			*ret = add_shape(c, r->sg, n_out, n_in, ind, r->token, &head_flags);
	}
	return i;
}

/*
 * Publishes what add_one() wrote from ring position @head on: the chains must be visible
 * before the first head turns available (2.8.6). The device reads the ring in order, so it
 * reaches a later request's head, already written, only after this one.
 */
static VV_INLINE void publish(struct vq_packed *p, const struct cursor *c, uint16_t head,
			      uint16_t head_flags)
{
	unsigned added = p->added + (p->vq.num_free - c->num_free);

	p->added = (uint16_t)(added < p->vq.num ? added : p->vq.num);
	cursor_store(p, c, true);
	virt_wmb(p->vq.weak_barriers);
	write_once16(&p->ring[head].flags, htole16(head_flags));
}

static int packed_add(struct vv_vq *v, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
		      void *token)
{
	struct vq_packed *p = to_packed(v);
	uint16_t head = p->next_avail, head_flags = 0;
	struct cursor c;
	int ret;

	cursor_load(p, &c, true);
	ret = add_one(&c, sg, n_out, n_in, token, &head_flags);
	if (!ret)
		publish(p, &c, head, head_flags);
	return ret;
}

/* One barrier for the batch: its first head is turned available last, after the others. */
static int packed_add_many(struct vv_vq *v, const struct vv_vq_req *reqs, unsigned n)
{
	struct vq_packed *p = to_packed(v);
	uint16_t first = p->next_avail, first_flags = 0;
	struct cursor c;
	unsigned i = 0;
	int ret = 0;

	cursor_load(p, &c, true);
	while (i < n && !ret) {
		const struct vv_vq_req *r = &reqs[i];
		unsigned left = n - i, k;
		uint16_t head = c.pos, head_flags = 0;

		if (r->n_out == 1 && r->n_in == 2)
			k = c.ind ? add_run(&c, r, left, 1, 2, true, !i, &first_flags, &ret)
				  : add_run(&c, r, left, 1, 2, false, !i, &first_flags, &ret);
		else if (r->n_out == 2 && r->n_in == 1)
			k = c.ind ? add_run(&c, r, left, 2, 1, true, !i, &first_flags, &ret)
				  : add_run(&c, r, left, 2, 1, false, !i, &first_flags, &ret);
		else if (r->n_out == 0 && r->n_in == 1) /* a receive buffer */
			k = add_run(&c, r, left, 0, 1, false, !i, &first_flags, &ret);
		else if (r->n_out == 1 && r->n_in == 0) /* a frame, its header in front */
			k = add_run(&c, r, left, 1, 0, false, !i, &first_flags, &ret);
		else if (unlikely(!r->sg || !r->token)) {
			ret = -EINVAL; /* add_one() refuses an empty request */
			break;
		} else if ((ret = add_one(&c, r->sg, r->n_out, r->n_in, r->token, &head_flags)))
			break;
		else {
			k = 1;
			if (i)
				write_once16(&c.ring[head].flags, htole16(head_flags));
			else
				first_flags = head_flags;
		}
		i += k;
	}
	if (i)
		publish(p, &c, first, first_flags);
	return i || !ret ? (int)i : ret;
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
	return (flags & (F_AVAIL | F_USED)) == used_bits(wrap);
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

	return (flags & (F_AVAIL | F_USED)) == used_bits(p->used_wrap);
}

/* Tells the device, with EVENT_IDX, to notify at our next used position. */
static void publish_used_event(struct vq_packed *p)
{
	write_once16(&p->driver->off_wrap,
		     htole16((uint16_t)(p->last_used | (p->used_wrap ? WRAP : 0))));
}

/*
 * The end of a get, in or out of order, that took @n: with EVENT_IDX and callbacks on, tell
 * the device where we are, once for the batch, so it interrupts for the next one. A queue
 * broken on the first look returns -EIO; one broken later keeps what came before it.
 */
static int retire(struct vq_packed *p, const struct cursor *c, unsigned n)
{
	struct vv_vq *v = &p->vq;

	if (!n)
		return v->broken ? -EIO : 0;
	cursor_store(p, c, false);
	if (v->event_idx && p->event_flags == VRING_PACKED_EVENT_FLAG_DESC) {
		publish_used_event(p);
		virt_mb(v->weak_barriers);
	}
	return (int)n;
}

/*
 * Reads the used descriptor at the cursor: 1 with its id and length, 0 when the device has not
 * written it back yet, -1 when the queue broke (a used descriptor with nothing in flight).
 */
static VV_INLINE int read_used(struct vv_vq *v, const struct cursor *c, uint16_t *id, uint32_t *len)
{
	struct vring_packed_desc *d = &c->ring[c->pos];
	uint16_t flags = le16toh(read_once16(&d->flags));

	if ((flags & (F_AVAIL | F_USED)) != c->bits)
		return 0;
	if (unlikely(!c->in_flight)) {
		vq_broken(v, "used descriptor with nothing in flight", c->pos, 0);
		return -1;
	}
	/* Read the descriptor only after the flags that say it is ours. */
	virt_rmb(v->weak_barriers);
	*id = le16toh(read_once16(&d->id));
	*len = le32toh(read_once32(&d->len));
	return 1;
}

/* vq_used_slow() for @id, which the device gave: a call with the loop's own few values. */
static __attribute__((noinline, cold)) int64_t used_slow(struct vv_vq *v, const struct pslot *slot,
							 uint16_t id, uint32_t len)
{
	const struct pslot *sl = id < v->num ? &slot[id] : NULL;

	return vq_used_slow(v, id, len, sl ? sl->token : NULL, sl ? sl->in_len : 0);
}

/* A checked completion: its token and length out, its id free, its descriptors passed. */
static VV_INLINE void take(struct cursor *c, uint16_t id, uint32_t len, void **token,
			   uint32_t *ret_len)
{
	struct pslot *sl = &c->slot[id];

	*token = sl->token;
	*ret_len = len;
	sl->token = NULL;
	sl->next = c->free_id;
	c->free_id = id;
	c->num_free += sl->ndesc;
	c->in_flight--;
	advance(&c->pos, &c->bits, sl->ndesc, c->num);
}

/*
 * Takes up to @max completions. Each used descriptor is checked before it is used: its id must
 * be in flight and its length within that request's writable bytes. The next one lies as many
 * descriptors further as the request took (2.8.7), which only its id tells.
 */
static VV_INLINE int get_many(struct vv_vq *v, void **tokens, uint32_t *lens, unsigned max)
{
	struct vq_packed *p = to_packed(v);
	struct cursor c;
	unsigned i = 0, n;

	cursor_load(p, &c, false);
	/* No more than are in flight: one more used descriptor breaks the queue, below. */
	n = max < c.in_flight ? max : c.in_flight;
	for (;;) {
		uint32_t len = 0;
		uint16_t id = 0;
		int64_t slow;

		for (; i < n; i++) {
			struct vring_packed_desc *d = &c.ring[c.pos];
			uint16_t flags = le16toh(read_once16(&d->flags));

			if ((flags & (F_AVAIL | F_USED)) != c.bits)
				goto out;
			/* Read the descriptor only after the flags that say it is ours. */
			virt_rmb(v->weak_barriers);
			id = le16toh(read_once16(&d->id));
			len = le32toh(read_once32(&d->len));
			if (unlikely(id >= c.num || !c.slot[id].token || len > c.slot[id].in_len))
				break;
			take(&c, id, len, &tokens[i], &lens[i]);
		}
		if (likely(i == n))
			break;
		/* The descriptor as read once: the device may rewrite it meanwhile. */
		slow = used_slow(v, c.slot, id, len);
		if (slow < 0)
			goto out;
		take(&c, id, (uint32_t)slow, &tokens[i], &lens[i]);
		i++;
	}
	if (i < max && !c.in_flight &&
	    (le16toh(read_once16(&c.ring[c.pos].flags)) & (F_AVAIL | F_USED)) == c.bits)
		vq_broken(v, "used descriptor with nothing in flight", c.pos, 0);
out:
	return retire(p, &c, i);
}

static int packed_get_many(struct vv_vq *v, void **tokens, uint32_t *lens, unsigned max)
{
	return get_many(v, tokens, lens, max);
}

/* A copy of its own, where the compiler knows @max: the batch's bookkeeping folds away. */
static int packed_get(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	return get_many(v, ret_token, ret_len, 1);
}

/*
 * packed_get_many() with VIRTIO_F_IN_ORDER. The checks stay as strict: a used descriptor must
 * name a buffer in flight, counted from the oldest, and its length must fit that buffer.
 * Buffers a batch skips were used completely: their length is their writable size.
 */
static int packed_get_many_in_order(struct vv_vq *v, void **tokens, uint32_t *lens, unsigned max)
{
	struct vq_packed *p = to_packed(v);
	uint16_t left = p->batch_left;
	uint32_t batch_len = p->batch_len;
	struct cursor c;
	unsigned i;

	cursor_load(p, &c, false);
	for (i = 0; i < max; i++) {
		struct pslot *sl = &c.slot[c.pos];
		uint32_t len;

		if (!left) {
			uint16_t id, h = c.pos;
			unsigned k;

			if (read_used(v, &c, &id, &len) <= 0)
				break;
			if (likely(id == c.pos)) {
				/* A batch of one, the oldest: what QEMU writes for each buffer. */
				if (unlikely(len > sl->in_len) &&
				    unlikely(vq_used_len(v, &len, sl->in_len)))
					break;
				goto take;
			}
			for (k = 0; k < c.in_flight && h != id; k++)
				h = (uint16_t)((h + c.slot[h].ndesc) % c.num);
			if (unlikely(k == c.in_flight)) {
				vq_broken(v, "used id out of order", id, c.pos);
				break;
			}
			if (unlikely(vq_used_len(v, &len, c.slot[id].in_len)))
				break;
			left = (uint16_t)(k + 1);
			batch_len = len;
		}
		/* Inside a batch: only its last buffer, the one named, has the device's length. */
		len = left == 1 ? batch_len : sl->in_len;
		left--;
	take:
		tokens[i] = sl->token;
		lens[i] = len;
		sl->token = NULL;
		c.num_free += sl->ndesc;
		c.in_flight--;
		advance(&c.pos, &c.bits, sl->ndesc, c.num);
	}
	p->batch_left = left;
	p->batch_len = batch_len;
	return retire(p, &c, i);
}

static int packed_get_in_order(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	return packed_get_many_in_order(v, ret_token, ret_len, 1);
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
	.add_many = packed_add_many,
	.get_many = packed_get_many,
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
	.add_many = packed_add_many,
	.get_many = packed_get_many_in_order,
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
