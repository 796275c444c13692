// SPDX-License-Identifier: MIT
/*
 * fake_packed.c - the device side of a packed ring (virtio 1.2 section 2.8), written from the
 * spec like fake_ring.c's split ring, with the same hostile modes: a driver test runs
 * unchanged on either layout.
 */
#include <endian.h>
#include <stdlib.h>

#include <linux/virtio_ring.h>

#include "fake_ring.h"

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED	(1u << VRING_PACKED_DESC_F_USED)
#define WRAP	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

static uint16_t ld16(uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

static struct vring_packed_desc_event *event(struct fake_ring *r, uint64_t iova)
{
	struct vring_packed_desc_event *e = fake_dev_ptr(r, iova, sizeof(*e));

	if (!e)
		abort(); /* the structures lie outside the memory: a test bug */
	return e;
}

/* A descriptor the driver made available in the lap of @wrap (2.8.1). */
static bool is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & F_AVAIL) == wrap && !!(flags & F_USED) != wrap;
}

static void step(uint16_t *pos, bool *wrap, unsigned n, unsigned num)
{
	*pos = (uint16_t)(*pos + n);
	if (*pos >= num) {
		*pos = (uint16_t)(*pos - num);
		*wrap = !*wrap;
	}
}

void fake_packed_init(struct fake_ring *r)
{
	r->packed = true;
	r->avail_wrap = r->used_wrap = true;
	r->driver_evt = r->avail;
	r->device_evt = r->used;
	/* Like split's avail_event of 0: with EVENT_IDX, ask for a kick at the first entry. */
	if (r->event_idx) {
		st16(&event(r, r->device_evt)->off_wrap, (uint16_t)WRAP);
		st16(&event(r, r->device_evt)->flags, VRING_PACKED_EVENT_FLAG_DESC);
	}
}

/*
 * Reads the chain at the device's avail position into @segs and moves past it. Returns the
 * segment count, or -1 if it is malformed (refused, skipped). *ret_ndesc is set to the ring
 * descriptors it took and *ret_id to its buffer id.
 */
static int walk(struct fake_ring *r, struct vring_packed_desc *ring, struct fake_seg *segs,
		unsigned *ret_ndesc, uint16_t *ret_id)
{
	uint16_t pos = r->last_avail;
	bool wrap = r->avail_wrap, bad = false;
	unsigned ndesc = 0;
	int n = 0;

	for (;;) {
		uint16_t flags = ld16(&ring[pos].flags);
		struct vring_packed_desc d = ring[pos]; /* after the acquire on its flags */

		if (!is_avail(flags, wrap) || ndesc >= r->num) {
			bad = true; /* a chain the driver has not finished, or one that never ends
				     */
			break;
		}
		ndesc++;
		*ret_id = le16toh(d.id);
		if (flags & VRING_DESC_F_INDIRECT) {
			uint32_t len = le32toh(d.len);
			struct vring_packed_desc *t = fake_dev_ptr(r, le64toh(d.addr), len);

			/* No links to loop on here: a bad table is a size that is no table. */
			if (!t || !len || len % sizeof(*t) || len / sizeof(*t) > FAKE_MAX_SEGS ||
			    r->hostile == FAKE_DESC_LOOP)
				bad = true;
			for (unsigned i = 0; !bad && i < len / sizeof(*t); i++) {
				segs[n].len = le32toh(t[i].len);
				segs[n].write = le16toh(t[i].flags) & VRING_DESC_F_WRITE;
				segs[n].p = fake_seg_ptr(r, le64toh(t[i].addr), segs[n].len,
							 segs[n].write);
				bad = !segs[n++].p;
			}
		} else if (n < FAKE_MAX_SEGS) {
			segs[n].len = le32toh(d.len);
			segs[n].write = flags & VRING_DESC_F_WRITE;
			segs[n].p = fake_seg_ptr(r, le64toh(d.addr), segs[n].len, segs[n].write);
			bad |= !segs[n++].p;
		} else {
			bad = true;
		}
		step(&pos, &wrap, 1, r->num);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}
	if (!ndesc)
		return -1;
	r->last_avail = pos;
	r->avail_wrap = wrap;
	*ret_ndesc = ndesc;
	return bad ? -1 : n;
}

/* Writes a used descriptor at the device's used position: id and length, then the flags. */
static void put_used(struct fake_ring *r, struct vring_packed_desc *ring, uint16_t id, uint32_t len,
		     unsigned ndesc)
{
	struct vring_packed_desc *d = &ring[r->used_idx];

	d->id = htole16(id);
	d->len = htole32(len);
	st16(&d->flags, r->used_wrap ? (uint16_t)(F_AVAIL | F_USED) : 0);
	step(&r->used_idx, &r->used_wrap, ndesc, r->num);
}

unsigned fake_packed_process(struct fake_ring *r)
{
	static __thread struct fake_seg segs[FAKE_MAX_SEGS];
	struct vring_packed_desc *ring = fake_dev_ptr(r, r->desc, r->num * sizeof(*ring));
	struct vring_packed_desc_event *drv = event(r, r->driver_evt);
	struct vring_packed_desc_event *dev = event(r, r->device_evt);
	unsigned done = 0, advanced = 0, pending = 0, pend_ndesc = 0;
	uint32_t pend_id = 0, pend_len = 0;

	if (!ring)
		abort();
	while (is_avail(ld16(&ring[r->last_avail].flags), r->avail_wrap)) {
		unsigned ndesc = 0;
		uint16_t id = 0, head = r->last_avail;
		uint32_t len;
		int n = walk(r, ring, segs, &ndesc, &id);

		if (n < 0) {
			r->refused++;
			if (!ndesc)
				break;
			continue;
		}
		uint32_t id32 = id;

		len = r->handler ? r->handler(r->handler_ctx, segs, n) : fake_serve(segs, n);
		fake_lie(r, done, &id32, &len);
		advanced += ndesc;
		done++;
		if (!r->in_order_batch) {
			put_used(r, ring, (uint16_t)id32, len, ndesc);
			continue;
		}
		/* In order: one used descriptor for the batch, at its first buffer's place. */
		if (r->hostile == FAKE_IO_BEYOND)
			id32 = (head + ndesc) % r->num;
		pending++;
		pend_ndesc += ndesc;
		pend_id = id32;
		pend_len = len;
		if (pending == r->in_order_batch ||
		    !is_avail(ld16(&ring[r->last_avail].flags), r->avail_wrap)) {
			put_used(r, ring, (uint16_t)pend_id, pend_len, pend_ndesc);
			pending = pend_ndesc = 0;
		}
	}
	if (pending)
		put_used(r, ring, (uint16_t)pend_id, pend_len, pend_ndesc);
	if (r->hostile == FAKE_IDX_JUMP && done) {
		/* One completion more than was in flight. */
		put_used(r, ring, (uint16_t)r->last_id, 0, 1);
		advanced++;
	}
	if (r->suppress_kicks) {
		st16(&dev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	} else if (r->event_idx && !r->freeze_event) {
		st16(&dev->off_wrap, (uint16_t)(r->last_avail | (r->avail_wrap ? WRAP : 0)));
		st16(&dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (done) {
		uint16_t flags = ld16(&drv->flags), off_wrap = ld16(&drv->off_wrap);
		uint16_t ev = off_wrap & (uint16_t)~WRAP, new = r->used_idx;
		bool irq;

		if (flags == VRING_PACKED_EVENT_FLAG_DESC && r->event_idx) {
			if (!!(off_wrap & WRAP) != r->used_wrap)
				ev = (uint16_t)(ev - r->num);
			irq = vring_need_event(ev, new, (uint16_t)(new - advanced));
		} else {
			irq = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
		}
		fake_ring_interrupt(r, irq);
	}
	return done;
}
