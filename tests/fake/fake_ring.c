// SPDX-License-Identifier: MIT
/* fake_ring.c - a device-side split ring written from the spec, with hostile modes. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "fake_ring.h"
#include "virtqueue/vq.h"

int fake_mem_create(struct fake_mem *m, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->fd = memfd_create("vv-fake", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)len))
		return -errno;
	m->drv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	m->dev = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->drv == MAP_FAILED || m->dev == MAP_FAILED)
		return -errno;
	m->len = len;
	return 0;
}

void fake_mem_destroy(struct fake_mem *m)
{
	munmap(m->drv, m->len);
	munmap(m->dev, m->len);
	close(m->fd);
}

void *fake_mem_alloc(struct fake_mem *m, size_t len, size_t align, uint64_t *ret_iova)
{
	size_t off = (m->used + align - 1) & ~(align - 1);

	if (off + len > m->len)
		return NULL;
	m->used = off + len;
	*ret_iova = FAKE_IOVA_BASE + off;
	return m->drv + off;
}

/* The device's only way into memory: an IOVA range, checked. */
void *fake_dev_ptr(struct fake_ring *r, uint64_t iova, size_t len)
{
	return fake_seg_ptr(r, iova, len, false);
}

void *fake_seg_ptr(struct fake_ring *r, uint64_t iova, size_t len, bool write)
{
	if (r->iommu)
		return fake_iommu_ptr(r->iommu, iova, len, write);
	if (iova < FAKE_IOVA_BASE || iova - FAKE_IOVA_BASE > r->mem->len ||
	    len > r->mem->len - (iova - FAKE_IOVA_BASE))
		return NULL;
	return r->mem->dev + (iova - FAKE_IOVA_BASE);
}

void fake_ring_init(struct fake_ring *r, struct fake_mem *m, unsigned num, bool event_idx,
		    uint64_t desc, uint64_t avail, uint64_t used)
{
	memset(r, 0, sizeof(*r));
	r->mem = m;
	r->num = num;
	r->event_idx = event_idx;
	r->desc = desc;
	r->avail = avail;
	r->used = used;
	r->kick_fd = -1;
	r->irq_fd = -1;
}

static uint16_t ld16(struct fake_ring *r, uint64_t iova)
{
	return le16toh(__atomic_load_n((uint16_t *)fake_dev_ptr(r, iova, 2), __ATOMIC_ACQUIRE));
}

static void st16(struct fake_ring *r, uint64_t iova, uint16_t v)
{
	__atomic_store_n((uint16_t *)fake_dev_ptr(r, iova, 2), htole16(v), __ATOMIC_RELEASE);
}

#define MAX_SEGS FAKE_MAX_SEGS

/* Walks a chain (direct or one indirect table). Returns the segment count, -1 if malformed. */
static int walk_chain(struct fake_ring *r, uint16_t head, struct fake_seg *segs)
{
	struct vring_desc *table = fake_dev_ptr(r, r->desc, r->num * sizeof(*table));
	unsigned tsize = r->num, n = 0, i = head, steps = 0;
	struct vring_desc d = table[head];

	if (le16toh(d.flags) & VRING_DESC_F_INDIRECT) {
		tsize = le32toh(d.len) / sizeof(*table);
		table = fake_dev_ptr(r, le64toh(d.addr), le32toh(d.len));
		if (!table || !tsize)
			return -1;
		if (r->hostile == FAKE_DESC_LOOP)
			table[tsize - 1].flags |= htole16(VRING_DESC_F_NEXT),
				table[tsize - 1].next = 0;
		i = 0;
	}
	for (;;) {
		if (i >= tsize || ++steps > tsize || n >= MAX_SEGS)
			return -1; /* out of the table, or a loop */
		d = table[i];
		segs[n].len = le32toh(d.len);
		segs[n].write = le16toh(d.flags) & VRING_DESC_F_WRITE;
		segs[n].p = fake_seg_ptr(r, le64toh(d.addr), segs[n].len, segs[n].write);
		if (!segs[n].p)
			return -1;
		n++;
		if (!(le16toh(d.flags) & VRING_DESC_F_NEXT))
			return (int)n;
		i = le16toh(d.next);
	}
}

uint32_t fake_serve(struct fake_seg *segs, int n)
{
	static uint8_t in[1 << 20];
	size_t in_len = 0, out = 0;

	for (int i = 0; i < n; i++)
		if (!segs[i].write && in_len + segs[i].len <= sizeof(in)) {
			memcpy(in + in_len, segs[i].p, segs[i].len);
			in_len += segs[i].len;
		}
	for (int i = 0; i < n; i++)
		if (segs[i].write)
			for (uint32_t b = 0; b < segs[i].len; b++, out++)
				segs[i].p[b] = fake_transform(in, in_len, out);
	return (uint32_t)out;
}

/* What a hostile device writes instead of the truth; @again: it completed something before. */
void fake_lie(struct fake_ring *r, bool again, uint32_t *id, uint32_t *len)
{
	switch (r->hostile) {
	case FAKE_BAD_ID:
		*id = r->num + 5;
		break;
	case FAKE_DUP_ID:
		if (again)
			*id = r->last_id;
		break;
	case FAKE_BAD_LEN:
		*len += 1;
		break;
	default:
		break;
	}
	r->last_id = *id;
}

/* Writes the used element at the device's used position (2.7.8). */
static void put_used_split(struct fake_ring *r, uint32_t id, uint32_t len)
{
	struct vring_used_elem *e =
		fake_dev_ptr(r, r->used + 4 + 8 * (r->used_idx % r->num), sizeof(*e));

	if (!e)
		abort(); /* the ring itself lies outside the memory: a test bug */
	e->id = htole32(id);
	e->len = htole32(len);
}

/* The ring descriptors a chain takes: one for an indirect table, else its segments. */
static unsigned chain_ndesc(struct fake_ring *r, uint16_t head, int nsegs)
{
	struct vring_desc *table = fake_dev_ptr(r, r->desc, r->num * sizeof(*table));

	return le16toh(table[head].flags) & VRING_DESC_F_INDIRECT ? 1 : (unsigned)nsegs;
}

unsigned fake_ring_process(struct fake_ring *r)
{
	static __thread struct fake_seg segs[MAX_SEGS];
	unsigned done = 0, pending = 0;
	uint16_t avail_idx, old_used = r->used_idx;
	uint32_t pend_id = 0, pend_len = 0;

	if (r->stalled || (r->iommu && fake_iommu_stopped(r->iommu)))
		return 0; /* stuck, or DMA stopped (Bus Master off): the device reaches nothing */
	if (r->packed)
		return fake_packed_process(r);
	avail_idx = ld16(r, r->avail + 2);

	while (r->last_avail != avail_idx) {
		uint16_t head = ld16(r, r->avail + 4 + 2 * (r->last_avail % r->num));
		uint32_t id = head, len = 0;
		int n;

		r->last_avail++;
		if (head >= r->num || (n = walk_chain(r, head, segs)) < 0) {
			r->refused++;
			continue;
		}
		len = r->handler ? r->handler(r->handler_ctx, segs, n) : fake_serve(segs, n);
		fake_lie(r, done || r->used_idx, &id, &len);
		done++;
		if (!r->in_order_batch) {
			put_used_split(r, id, len);
			r->used_idx++;
			continue;
		}
		/* In order: one entry for the batch, where its first buffer's would be. */
		if (r->hostile == FAKE_IO_BEYOND)
			id = (head + chain_ndesc(r, head, n)) & (r->num - 1);
		pending++;
		pend_id = id;
		pend_len = len;
		if (pending == r->in_order_batch || r->last_avail == avail_idx) {
			put_used_split(r, pend_id, pend_len);
			r->used_idx += (uint16_t)(r->hostile == FAKE_IO_SHORT_IDX ? 1 : pending);
			pending = 0;
		}
	}
	if (pending) {
		/* Refused chains at the end of what was available: the batch ends here. */
		put_used_split(r, pend_id, pend_len);
		r->used_idx += (uint16_t)pending;
	}
	if (r->hostile == FAKE_IDX_JUMP && done)
		r->used_idx += (uint16_t)(r->num + 1);
	/* Used entries before the index that publishes them (release store). */
	st16(r, r->used + 2, r->used_idx);
	if (r->suppress_kicks)
		st16(r, r->used, VRING_USED_F_NO_NOTIFY);
	else if (r->event_idx)
		st16(r, r->used + 4 + 8 * r->num, r->last_avail); /* avail_event */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (done) {
		bool irq = r->event_idx ? vring_need_event(ld16(r, r->avail + 4 + 2 * r->num),
							   r->used_idx, old_used)
					: !(ld16(r, r->avail) & VRING_AVAIL_F_NO_INTERRUPT);
		fake_ring_interrupt(r, irq);
	}
	return done;
}

void fake_ring_interrupt(struct fake_ring *r, bool irq)
{
	uint64_t one = 1;

	r->interrupts += irq;
	if (irq && r->irq_fd >= 0 && write(r->irq_fd, &one, sizeof(one)) < 0)
		abort();
}

static void *thread_main(void *arg)
{
	struct fake_ring *r = arg;

	while (!r->stop) {
		struct pollfd p = {.fd = r->kick_fd, .events = POLLIN};
		uint64_t v;

		if (!fake_ring_process(r) && poll(&p, 1, 1) > 0 &&
		    read(r->kick_fd, &v, sizeof(v)) < 0)
			break;
	}
	return NULL;
}

int fake_ring_start(struct fake_ring *r)
{
	r->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->kick_fd < 0)
		return -errno;
	r->stop = false;
	return -pthread_create(&r->thread, NULL, thread_main, r);
}

void fake_ring_stop(struct fake_ring *r)
{
	r->stop = true;
	pthread_join(r->thread, NULL);
	close(r->kick_fd);
	r->kick_fd = -1;
}

void fake_ring_kick(struct fake_ring *r)
{
	uint64_t one = 1;

	if (r->kick_fd >= 0 && write(r->kick_fd, &one, sizeof(one)) < 0)
		abort();
}

int fake_env_init(struct fake_env *e, size_t mem_size, unsigned num, bool event_idx, bool indirect,
		  unsigned indirect_max, void (*notify)(void *, unsigned), void *notify_ctx)
{
	return fake_env_init_layout(e, mem_size, num, event_idx, indirect, indirect_max, notify,
				    notify_ctx, false);
}

int fake_env_init_layout(struct fake_env *e, size_t mem_size, unsigned num, bool event_idx,
			 bool indirect, unsigned indirect_max, void (*notify)(void *, unsigned),
			 void *notify_ctx, bool packed)
{
	return fake_env_init_full(e, mem_size, num, event_idx, indirect, indirect_max, notify,
				  notify_ctx, packed, 0);
}

int fake_env_init_full(struct fake_env *e, size_t mem_size, unsigned num, bool event_idx,
		       bool indirect, unsigned indirect_max, void (*notify)(void *, unsigned),
		       void *notify_ctx, bool packed, unsigned in_order_batch)
{
	struct vq_config cfg = {
		.name = "fake",
		.num = num,
		.event_idx = event_idx,
		.indirect = indirect,
		.indirect_max = indirect ? indirect_max : 0,
		.weak_barriers = true,
		.in_order = in_order_batch > 0,
		.notify = notify,
		.notify_ctx = notify_ctx,
	};
	struct vq_dma dma;
	int ret = fake_mem_create(&e->mem, mem_size);

	if (ret)
		return ret;
	dma.len = packed ? vq_packed_mem_size(&cfg) : vq_split_mem_size(&cfg);
	dma.vaddr = fake_mem_alloc(&e->mem, dma.len, 4096, &dma.iova);
	if (!dma.vaddr)
		return -ENOMEM;
	ret = packed ? vq_packed_create(&cfg, &dma, &e->vq) : vq_split_create(&cfg, &dma, &e->vq);
	if (ret)
		return ret;
	fake_ring_init(&e->dev, &e->mem, num, event_idx, vq_desc_iova(e->vq), vq_avail_iova(e->vq),
		       vq_used_iova(e->vq));
	if (packed)
		fake_packed_init(&e->dev);
	e->dev.in_order_batch = in_order_batch;
	return 0;
}

void fake_env_fini(struct fake_env *e)
{
	vq_destroy(e->vq);
	fake_mem_destroy(&e->mem);
}
