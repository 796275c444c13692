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

	/*
	 * With VIRTIO_F_IN_ORDER (2.7.9) descriptors are placed in ring order (next[] stays
	 * i + 1, as 2.7.5.1 asks) and come back in that order: the oldest request's head is
	 * all reclaim needs. One used entry may stand for a batch: it names the last buffer's
	 * head and the used index moves by the batch's size.
	 */
	uint16_t used_head;  /* head of the oldest request in flight */
	uint16_t batch_left; /* buffers of the batch a used entry named, not yet handed back */
	uint32_t batch_len;  /* the length that entry gave: its named, last buffer's */

	void *mem; /* the ring memory, zeroed again by a queue reset */
	size_t mem_len;
};

#define to_split(v) container_of(v, struct vq_split, vq)

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

/*
 * The driver's state while one call runs, in locals. The library is built with
 * -fno-strict-aliasing, so every store into the ring could alias the fields of struct
 * vq_split and would force them to be reloaded; a cursor loaded once and stored once keeps
 * them in registers across a whole batch.
 */
struct cursor {
	struct vring_desc *desc;
	uint16_t *next;
	struct slot *slot;
	uint16_t *avail_ring;
	struct vring_desc *ind; /* indirect tables, NULL without INDIRECT_DESC */
	uint64_t ind_iova;
	unsigned ind_max, num;
	uint16_t free_head, avail_idx;
	unsigned num_free, in_flight;
};

static VV_INLINE void cursor_load(struct vq_split *s, struct cursor *c)
{
	*c = (struct cursor){
		.desc = s->desc,
		.next = s->next,
		.slot = s->slot,
		.avail_ring = s->avail->ring,
		.ind = s->vq.indirect ? s->indirect : NULL,
		.ind_iova = s->indirect_iova,
		.ind_max = s->vq.indirect_max,
		.num = s->vq.num,
		.free_head = s->free_head,
		.avail_idx = s->avail_idx,
		.num_free = s->vq.num_free,
		.in_flight = s->in_flight,
	};
}

static VV_INLINE void cursor_store(struct vq_split *s, const struct cursor *c)
{
	s->free_head = c->free_head;
	s->avail_idx = c->avail_idx;
	s->vq.num_free = c->num_free;
	s->in_flight = c->in_flight;
}

/*
 * Adds one request at the cursor: each descriptor is written as the list is walked, zero
 * lengths refused on the way. Nothing is published (the avail index moves only in
 * kick_prepare) and the cursor moves only on success, so a refusal leaves no trace.
 * @in_run: called from a run's loop (add_run()), which has made sure the ring has room and
 * moves the counts (free descriptors, requests in flight, the avail index) itself, once for
 * the run.
 */
static VV_INLINE int add_shape_at(struct cursor *c, const struct vv_sg *sg, unsigned n_out,
				  unsigned n_in, bool ind, void *token, bool in_run)
{
	unsigned total = n_out + n_in;
	uint16_t head = c->free_head, cur = head, last = head;
	uint32_t in_len = 0;
	struct slot *sl;

	if (ind && total > 1) {
		/* Each head owns one indirect table: it is free exactly when its head is. */
		struct vring_desc *t = c->ind + (size_t)head * c->ind_max;

		if (unlikely(total > c->ind_max))
			return -EINVAL;
		if (!in_run && !c->num_free)
			return -ENOSPC;
		for (unsigned i = 0; i < total; i++) {
			if (unlikely(!sg[i].len))
				return -EINVAL;
			/* A chain may not pass 4 GiB of writable bytes: used.len could not say. */
			if (i >= n_out &&
			    unlikely(__builtin_add_overflow(in_len, sg[i].len, &in_len)))
				return -EINVAL;
			set_desc(&t[i], sg[i].iova, sg[i].len,
				 (i >= n_out ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < total ? VRING_DESC_F_NEXT : 0),
				 (uint16_t)(i + 1));
		}
		set_desc(&c->desc[head],
			 c->ind_iova + (uint64_t)head * c->ind_max * sizeof(struct vring_desc),
			 total * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
		cur = c->next[head];
		total = 1;
	} else {
		if (unlikely(total > c->num))
			return -EINVAL;
		if (!in_run && c->num_free < total)
			return -ENOSPC;
		for (unsigned i = 0; i < total; i++) {
			uint32_t len = sg[i].len;
			bool more = i + 1 < total;
			uint16_t flags = more ? VRING_DESC_F_NEXT : 0;

			if (unlikely(!len))
				return -EINVAL;
			if (i >= n_out) {
				flags |= VRING_DESC_F_WRITE;
				if (unlikely(__builtin_add_overflow(in_len, len, &in_len)))
					return -EINVAL;
			}
			last = cur;
			cur = c->next[cur];
			/*
			 * The last one ends the chain: its next is never read, and a constant
			 * there lets its flags and next go in one store.
			 */
			set_desc(&c->desc[last], sg[i].iova, len, flags, more ? cur : 0);
		}
	}
	/*
	 * Where there is room for certain, the token is checked last: it need not stay in a
	 * register while the chain is written (the descriptors are free ones: a refusal here
	 * still leaves no trace).
	 */
	if (in_run && unlikely(!token))
		return -EINVAL;
	/* The chain keeps its links in next[]; the free list continues after it. */
	sl = &c->slot[head];
	sl->token = token;
	sl->in_len = in_len;
	sl->ndesc = (uint16_t)total;
	sl->last = last;
	c->free_head = cur;
	/* Only the ring entry now; the index is published once per batch by kick_prepare. */
	if (!in_run) {
		c->avail_ring[c->avail_idx & (c->num - 1)] = htole16(head);
		c->num_free -= total;
		c->in_flight++;
		c->avail_idx++;
	}
	return 0;
}

static VV_INLINE int add_shape(struct cursor *c, const struct vv_sg *sg, unsigned n_out,
			       unsigned n_in, bool ind, void *token)
{
	return add_shape_at(c, sg, n_out, n_in, ind, token, false);
}

/*
 * add_shape() for the shapes nearly every request has, with its counts as constants: the
 * compiler then unrolls the walk and drops the tests of which buffer is which. A virtio-blk
 * read or write (header, data, status: 2.7.4's readable-first order) and one buffer (a
 * network frame or receive buffer). Anything else takes the general walk.
 */
static VV_INLINE int add_one(struct cursor *c, const struct vv_sg *sg, unsigned n_out,
			     unsigned n_in, void *token)
{
	bool ind = c->ind;

	if (n_out == 1 && n_in == 2)
		return add_shape(c, sg, 1, 2, ind, token);
	if (n_out == 2 && n_in == 1)
		return add_shape(c, sg, 2, 1, ind, token);
	if (n_out + n_in == 1)
		return n_in ? add_shape(c, sg, 0, 1, false, token)
			    : add_shape(c, sg, 1, 0, false, token);
	/* A request of no buffers: the batched call leaves that check to us. */
	if (unlikely(!(n_out + n_in)))
		return -EINVAL;
	return add_shape(c, sg, n_out, n_in, ind, token);
}

/*
 * add_run()'s loop over [@r, @end), which the ring has room for, their ring entries from @ap
 * on, which does not wrap. Returns where it stopped: at @end, at another shape, or at a
 * refusal (@ret set).
 */
static VV_INLINE const struct vv_vq_req *add_seg(struct cursor *c, const struct vv_vq_req *r,
						 const struct vv_vq_req *end, uint16_t *ap,
						 unsigned n_out, unsigned n_in, bool ind,
						 uint32_t key, int *ret)
{
	for (; r < end; r++, ap++) {
		uint16_t head = c->free_head;

		if (req_shape(r) != key)
			break;
		if (unlikely(!r->sg)) {
			*ret = -EINVAL;
			break;
		}
		*ret = add_shape_at(c, r->sg, n_out, n_in, ind, r->token, true);
		if (unlikely(*ret))
			break;
		*ap = htole16(head);
	}
	return r;
}

/*
 * The requests from @reqs on that have the shape @n_out, @n_in, as long as they fit: a loop
 * of its own for each common shape, its counts and the indirect choice constant. One loop
 * for every shape kept more state live than the registers hold, and the spills cost more
 * than the descriptors' own stores. Returns how many were added; @ret is set on a refusal.
 */
static VV_INLINE unsigned add_run(struct cursor *c, const struct vv_vq_req *reqs, unsigned n,
				  unsigned n_out, unsigned n_in, bool ind, int *ret)
{
	const uint32_t key = shape_key((uint16_t)n_out, (uint16_t)n_in);
	/* Ring descriptors per request: how many requests the free ones hold is known now. */
	const unsigned per = ind ? 1 : n_out + n_in;
	const unsigned fit = c->num_free / per < n ? c->num_free / per : n;
	/* Where the avail ring wraps: the loop itself then needs no index, only a pointer. */
	const unsigned at = c->avail_idx & (c->num - 1), to_wrap = c->num - at;
	const struct vv_vq_req *r;
	unsigned i;

	/* Once for the run, so that the walk need not (a ring of 1 or 2 descriptors). */
	if (unlikely(!ind && n_out + n_in > c->num)) {
		*ret = -EINVAL;
		return 0;
	}
	/* Up to what fits, the ring's counts move once after the loop: fewer values live in it. */
	r = add_seg(c, reqs, reqs + (fit < to_wrap ? fit : to_wrap), &c->avail_ring[at], n_out,
		    n_in, ind, key, ret);
	if (fit > to_wrap && r == reqs + to_wrap && !*ret)
		r = add_seg(c, r, reqs + fit, c->avail_ring, n_out, n_in, ind, key, ret);
	i = (unsigned)(r - reqs);
	c->avail_idx = (uint16_t)(c->avail_idx + i);
	c->num_free -= i * per;
	c->in_flight += i;
	if (i < fit || *ret)
		return i;
	/*
	 * The run goes on past the room. The next request cannot fit; the checked add says
	 * why: -ENOSPC, or -EINVAL for one that never could.
	 */
	if (i < n && req_shape(&reqs[i]) == key) {
		if (unlikely(!reqs[i].sg || !reqs[i].token))
			*ret = -EINVAL;
		else
			*ret = add_shape(c, reqs[i].sg, n_out, n_in, ind, reqs[i].token);
	}
	return i;
}

static int split_add(struct vv_vq *v, const struct vv_sg *sg, unsigned n_out, unsigned n_in,
		     void *token)
{
	struct vq_split *s = to_split(v);
	struct cursor c;
	int ret;

	cursor_load(s, &c);
	ret = add_one(&c, sg, n_out, n_in, token);
	if (!ret)
		cursor_store(s, &c);
	return ret;
}

static int split_add_many(struct vv_vq *v, const struct vv_vq_req *reqs, unsigned n)
{
	struct vq_split *s = to_split(v);
	struct cursor c;
	unsigned i = 0;
	int ret = 0;

	cursor_load(s, &c);
	while (i < n && !ret) {
		const struct vv_vq_req *r = &reqs[i];
		unsigned left = n - i;

		if (r->n_out == 1 && r->n_in == 2)
			i += c.ind ? add_run(&c, r, left, 1, 2, true, &ret)
				   : add_run(&c, r, left, 1, 2, false, &ret);
		else if (r->n_out == 2 && r->n_in == 1)
			i += c.ind ? add_run(&c, r, left, 2, 1, true, &ret)
				   : add_run(&c, r, left, 2, 1, false, &ret);
		else if (r->n_out == 0 && r->n_in == 1) /* a receive buffer */
			i += add_run(&c, r, left, 0, 1, false, &ret);
		else if (r->n_out == 1 && r->n_in == 0) /* a frame, its header in front */
			i += add_run(&c, r, left, 1, 0, false, &ret);
		else if (unlikely(!r->sg || !r->token))
			ret = -EINVAL; /* add_one() refuses an empty request */
		else if (!(ret = add_one(&c, r->sg, r->n_out, r->n_in, r->token)))
			i++;
	}
	cursor_store(s, &c);
	return i || !ret ? (int)i : ret;
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

/*
 * The end of a get, in or out of order: @n requests that held @freed descriptors are done.
 * With callbacks on, tell the device where we are, so it interrupts for the next one.
 * Returns @n.
 */
static int split_retire(struct vv_vq *v, struct vq_split *s, unsigned n, unsigned freed)
{
	v->num_free += freed;
	s->in_flight -= n;
	s->last_used = (uint16_t)(s->last_used + n);
	if (v->event_idx && !(s->avail_flags & VRING_AVAIL_F_NO_INTERRUPT)) {
		write_once16(used_event(s), htole16(s->last_used));
		virt_mb(v->weak_barriers);
	}
	return (int)n;
}

/* vq_used_slow() for @id, which the device gave: a call with the loop's own few values. */
static __attribute__((noinline, cold)) int64_t used_slow(struct vv_vq *v, const struct slot *slot,
							 uint32_t id, uint32_t len)
{
	const struct slot *sl = id < v->num ? &slot[id] : NULL;

	return vq_used_slow(v, id, len, sl ? sl->token : NULL, sl ? sl->in_len : 0);
}

/* A checked completion: its token and length out, its whole chain back on the free list. */
static VV_INLINE void take(struct slot *sl, uint16_t *next, uint32_t id, uint32_t len, void **token,
			   uint32_t *ret_len, uint16_t *free_head, unsigned *freed)
{
	*token = sl->token;
	*ret_len = len;
	/* The whole chain goes back to the free list at once, links and all. */
	next[sl->last] = *free_head;
	*free_head = (uint16_t)id;
	*freed += sl->ndesc;
	sl->token = NULL;
}

/*
 * Takes up to @max completions. The used index is read once: everything it covers is then
 * ours to read (one barrier for the batch). Each entry is checked before it is used.
 */
static int split_get_many(struct vv_vq *v, void **tokens, uint32_t *lens, unsigned max)
{
	struct vq_split *s = to_split(v);
	uint16_t last_used = s->last_used, used_idx = le16toh(read_once16(&s->used->idx));
	uint16_t ready = (uint16_t)(used_idx - last_used), free_head = s->free_head;
	const struct vring_used_elem *ring = s->used->ring;
	struct slot *slot = s->slot;
	uint16_t *next = s->next;
	unsigned mask = v->num - 1, n, i = 0, freed = 0;

	if (!ready)
		return 0;
	/* The device may not complete more than is in flight (2.7.8). */
	if (unlikely(ready > s->in_flight)) {
		vq_broken(v, "used index jumped", used_idx, last_used);
		return -EIO;
	}
	/* Read the used entries only after the index that covers them. */
	virt_rmb(v->weak_barriers);
	n = ready < max ? ready : max;
	for (;;) {
		uint32_t id = 0, len = 0;
		int64_t slow;

		for (; i < n; i++) {
			const struct vring_used_elem *e = &ring[(uint16_t)(last_used + i) & mask];

			id = le32toh(read_once32(&e->id));
			len = le32toh(read_once32(&e->len));
			if (unlikely(id > mask || !slot[id].token || len > slot[id].in_len))
				break;
			take(&slot[id], next, id, len, &tokens[i], &lens[i], &free_head, &freed);
		}
		if (likely(i == n))
			break;
		/* The entry as read once: the device may rewrite it meanwhile. */
		slow = used_slow(v, slot, id, len);
		if (slow < 0)
			break;
		take(&slot[id], next, id, (uint32_t)slow, &tokens[i], &lens[i], &free_head, &freed);
		i++;
	}
	/* Those taken before a violation are done; the broken queue keeps the rest. */
	if (unlikely(i < n)) {
		if (!i)
			return -EIO;
		n = i;
	}
	s->free_head = free_head;
	return split_retire(v, s, n, freed);
}

static int split_get(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	return split_get_many(v, ret_token, ret_len, 1);
}

/*
 * The oldest request's position in the batch a used entry names: 0 when @id is the oldest
 * head in flight, k when it is the k-th after it. Only the first @window requests may be
 * named (the used index covers no more); anything else is not in order, and -1.
 */
static int in_order_batch(const struct slot *slot, unsigned num, uint16_t head, uint32_t id,
			  unsigned window)
{
	for (unsigned k = 0; k < window; k++) {
		if (head == id)
			return (int)k;
		head = (uint16_t)((head + slot[head].ndesc) & (num - 1));
	}
	return -1;
}

/*
 * split_get_many() with VIRTIO_F_IN_ORDER: the next completion is always the oldest request
 * in flight, so reclaim is a counter and the used entries are read only to learn where a
 * batch ends. The checks stay as strict: a used entry must name a head in flight no further
 * than its index covers, and its length must fit that request. The buffers the batch skips
 * were used completely (2.7.9): their length is their writable size.
 */
static int split_get_many_in_order(struct vv_vq *v, void **tokens, uint32_t *lens, unsigned max)
{
	struct vq_split *s = to_split(v);
	uint16_t last_used = s->last_used, used_idx = le16toh(read_once16(&s->used->idx));
	uint16_t ready = (uint16_t)(used_idx - last_used), head = s->used_head;
	uint16_t left = s->batch_left;
	uint32_t batch_len = s->batch_len;
	const struct vring_used_elem *ring = s->used->ring;
	struct slot *slot = s->slot;
	unsigned num = v->num, n, i, freed = 0;

	if (!ready)
		return 0;
	if (unlikely(ready > s->in_flight)) {
		vq_broken(v, "used index jumped", used_idx, last_used);
		return -EIO;
	}
	/* Read the used entries only after the index that covers them. */
	virt_rmb(v->weak_barriers);
	n = ready < max ? ready : max;
	for (i = 0; i < n; i++) {
		struct slot *sl = &slot[head];
		uint32_t len;

		if (!left) {
			/* The next entry sits where the next buffer's own would (2.7.9). */
			const struct vring_used_elem *e =
				&ring[(uint16_t)(last_used + i) & (num - 1)];
			uint32_t id = le32toh(read_once32(&e->id));
			int k;

			len = le32toh(read_once32(&e->len));
			if (likely(id == head)) {
				/*
				 * A batch of one, the oldest: what QEMU writes for each buffer.
				 * The length check's call only when it fails: keeps the loop's
				 * state in registers.
				 */
				if (unlikely(len > sl->in_len) &&
				    unlikely(vq_used_len(v, &len, sl->in_len)))
					break;
				goto take;
			}
			k = in_order_batch(slot, num, head, id, ready - i);
			if (unlikely(k < 0)) {
				vq_broken(v, "used id out of order", id, head);
				break;
			}
			if (unlikely(vq_used_len(v, &len, slot[id].in_len)))
				break;
			batch_len = len;
			left = (uint16_t)(k + 1);
		}
		/* Inside a batch: only its last buffer, the one named, has the device's length. */
		len = left == 1 ? batch_len : sl->in_len;
		left--;
	take:
		tokens[i] = sl->token;
		lens[i] = len;
		freed += sl->ndesc;
		sl->token = NULL;
		head = (uint16_t)((head + sl->ndesc) & (num - 1));
	}
	if (unlikely(i < n)) {
		if (!i)
			return -EIO;
		n = i;
	}
	s->used_head = head;
	s->batch_left = left;
	s->batch_len = batch_len;
	return split_retire(v, s, n, freed);
}

static int split_get_in_order(struct vv_vq *v, void **ret_token, uint32_t *ret_len)
{
	return split_get_many_in_order(v, ret_token, ret_len, 1);
}

static void split_disable_cb(struct vv_vq *v)
{
	struct vq_split *s = to_split(v);

	s->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	if (!v->event_idx) {
		write_once16(&s->avail->flags, htole16(s->avail_flags));
		return;
	}
	/*
	 * With EVENT_IDX the device ignores the flag and interrupts when the used index passes
	 * used_event (2.7.10). Left where the last get or enable_cb put it, at our position,
	 * the very next completion would interrupt: one interrupt per request for a driver
	 * that polls between requests (QD1). Just behind our position, the index passes it
	 * only after a whole lap of 2^16 completions.
	 */
	write_once16(used_event(s), htole16((uint16_t)(s->last_used - 1)));
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

static void split_reset(struct vv_vq *v, void (*unused)(void *ctx, void *token), void *ctx)
{
	struct vq_split *s = to_split(v);
	uint16_t flags = s->avail_flags;

	for (unsigned i = 0; i < v->num; i++) {
		if (s->slot[i].token && unused)
			unused(ctx, s->slot[i].token);
		s->slot[i] = (struct slot){0};
		s->next[i] = (uint16_t)((i + 1) & (v->num - 1));
	}
	memset(s->mem, 0, s->mem_len);
	s->free_head = s->used_head = 0;
	s->in_flight = 0;
	s->avail_idx = s->kicked_idx = s->last_used = 0;
	s->batch_left = 0;
	s->batch_len = 0;
	/* Callbacks stay as the driver chose them. */
	s->avail_flags = flags;
	if (!v->event_idx)
		write_once16(&s->avail->flags, htole16(flags));
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
	.add_many = split_add_many,
	.get_many = split_get_many,
	.disable_cb = split_disable_cb,
	.enable_cb = split_enable_cb,
	.reset = split_reset,
	.destroy = split_destroy,
};

/* The same ring with VIRTIO_F_IN_ORDER: only reclaim differs; adding is the same walk. */
static const struct vq_ops split_in_order_ops = {
	.add = split_add,
	.kick_prepare = split_kick_prepare,
	.get = split_get_in_order,
	.add_many = split_add_many,
	.get_many = split_get_many_in_order,
	.disable_cb = split_disable_cb,
	.enable_cb = split_enable_cb,
	.reset = split_reset,
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
	vq_init(&s->vq, cfg->in_order ? &split_in_order_ops : &split_ops, cfg, mem->iova,
		mem->iova + avail_off(cfg->num), mem->iova + used_off(cfg->num));
	s->mem = base;
	s->mem_len = vq_split_mem_size(cfg);
	s->desc = (void *)base;
	s->avail = (void *)(base + avail_off(cfg->num));
	s->used = (void *)(base + used_off(cfg->num));
	s->indirect = (void *)(base + indirect_off(cfg->num));
	s->indirect_iova = mem->iova + indirect_off(cfg->num);
	/* A free list in ring order: with IN_ORDER it stays so, as 2.7.5.1 asks. */
	for (unsigned i = 0; i < cfg->num; i++)
		s->next[i] = (uint16_t)((i + 1) & (cfg->num - 1));
	*ret_vq = &s->vq;
	return 0;
}
