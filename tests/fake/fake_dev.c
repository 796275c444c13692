// SPDX-License-Identifier: MIT
/*
 * fake_dev.c - a virtio device in the test process behind the transport seam: registers in
 * memory, an IOMMU with per-mapping access, rings served on their own threads, interrupts
 * on eventfds, and a scribbler standing in for a hostile device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/mem.h>

#include "fake_dev.h"

#define F(bit)	   (1ULL << (bit))
#define PAGE	   4096u
#define IOVA_START (FAKE_IOVA_BASE << 4) /* far from any process address */

static struct fake_dev *D(struct vv_transport *t)
{
	return (struct fake_dev *)t;
}

/* --- the IOMMU: what the device may reach ------------------------------------------- */

void *fake_iommu_ptr(struct fake_iommu *m, uint64_t iova, size_t len, bool write)
{
	void *p = NULL;

	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; !m->stopped && i < m->nmaps; i++) {
		struct fake_map *e = &m->maps[i];

		if (iova < e->iova || iova - e->iova >= e->len || len > e->len - (iova - e->iova))
			continue;
		if (e->access & (write ? VV_DMA_DEVICE_WRITE : VV_DMA_DEVICE_READ))
			p = e->vaddr + (iova - e->iova);
		break;
	}
	if (!p)
		m->faults++;
	pthread_mutex_unlock(&m->lock);
	return p;
}

bool fake_iommu_stopped(struct fake_iommu *m)
{
	return __atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE);
}

static int iommu_add(struct fake_iommu *m, void *vaddr, size_t len, unsigned access, bool owned,
		     uint64_t *ret_iova)
{
	int ret = 0;

	if (!len || len % PAGE || (uintptr_t)vaddr % PAGE || !access ||
	    (access & ~VV_DMA_DEVICE_RW))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->nmaps; i++)
		if ((uint8_t *)vaddr < m->maps[i].vaddr + m->maps[i].len &&
		    m->maps[i].vaddr < (uint8_t *)vaddr + len)
			ret = -EEXIST;
	if (!ret && m->nmaps == FAKE_DEV_MAX_MAPS)
		ret = -ENOSPC;
	if (!ret) {
		/* A fresh IOVA every time, never reused: a stale one must fault, not alias. */
		m->maps[m->nmaps++] = (struct fake_map){vaddr, m->next_iova, len, access, owned};
		m->added++;
		*ret_iova = m->next_iova;
		m->next_iova += len + PAGE;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static void iommu_remove(struct fake_iommu *m, void *vaddr)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->nmaps; i++) {
		struct fake_map e = m->maps[i];

		if (e.vaddr != vaddr)
			continue;
		m->maps[i] = m->maps[--m->nmaps];
		if (e.owned)
			munmap(e.vaddr, e.len);
		break;
	}
	pthread_mutex_unlock(&m->lock);
}

/* --- registers ------------------------------------------------------------------------ */

static void stop_queues(struct fake_dev *d)
{
	for (unsigned i = 0; i < d->nq; i++)
		if (d->running[i]) {
			fake_ring_stop(&d->rings[i]);
			d->running[i] = false;
		}
}

static uint8_t get_status(struct vv_transport *t)
{
	return D(t)->status;
}

static void set_status(struct vv_transport *t, uint8_t status)
{
	struct fake_dev *d = D(t);

	if (!status) {
		stop_queues(d); /* a reset stops the device's use of every ring (4.1.4.3.2) */
		d->accepted = 0;
	}
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) && (d->accepted & ~d->offered))
		status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	d->status = status;
}

static uint64_t get_features(struct vv_transport *t)
{
	return D(t)->offered;
}

static void set_features(struct vv_transport *t, uint64_t features)
{
	D(t)->accepted = features;
}

static uint8_t config_generation(struct vv_transport *t)
{
	return D(t)->generation;
}

static void config_read(struct vv_transport *t, unsigned off, void *buf, size_t len)
{
	memcpy(buf, D(t)->config + off, len);
}

static void config_write(struct vv_transport *t, unsigned off, const void *buf, size_t len)
{
	memcpy(D(t)->config + off, buf, len);
}

static unsigned num_queues(struct vv_transport *t)
{
	return D(t)->nq;
}

static unsigned queue_max_size(struct vv_transport *t, unsigned idx)
{
	return idx < D(t)->nq ? D(t)->queue_max : 0;
}

static int setup_irqs(struct vv_transport *t, unsigned nq, enum vv_irq_mode *ret_mode)
{
	*ret_mode = D(t)->irqs ? VV_IRQ_PER_QUEUE : VV_IRQ_POLL;
	return 0;
}

static int queue_setup(struct vv_transport *t, unsigned idx, unsigned size, uint64_t desc,
		       uint64_t avail, uint64_t used)
{
	struct fake_dev *d = D(t);
	struct fake_ring *r = &d->rings[idx];

	if (idx >= d->nq || d->running[idx])
		return idx >= d->nq ? -EINVAL : -EBUSY;
	fake_ring_init(r, &d->unused_mem, size, d->accepted & F(VIRTIO_RING_F_EVENT_IDX), desc,
		       avail, used);
	r->iommu = &d->iommu;
	r->irq_fd = d->irqs ? d->irq_fd[idx] : -1;
	r->handler = d->handler;
	r->handler_ctx = d->handler_ctx;
	if (d->accepted & F(VIRTIO_F_RING_PACKED))
		fake_packed_init(r);
	if (d->accepted & F(VIRTIO_F_IN_ORDER))
		r->in_order_batch = d->in_order_batch ? d->in_order_batch : 1;
	if (fake_ring_start(r))
		return -ENOMEM;
	d->running[idx] = true;
	return 0;
}

/* VIRTIO_F_RING_RESET: the queue stops at once; queue_setup() starts it afresh. */
static int queue_reset(struct vv_transport *t, unsigned idx)
{
	struct fake_dev *d = D(t);

	if (idx >= d->nq)
		return -EINVAL;
	if (!(d->accepted & F(VIRTIO_F_RING_RESET)))
		return -EOPNOTSUPP;
	if (d->running[idx]) {
		fake_ring_stop(&d->rings[idx]);
		d->running[idx] = false;
	}
	d->queue_resets[idx]++;
	return 0;
}

static void notify(struct vv_transport *t, unsigned idx)
{
	fake_ring_kick(&D(t)->rings[idx]);
}

static int queue_eventfd(struct vv_transport *t, unsigned idx)
{
	return D(t)->irqs && idx < D(t)->nq ? D(t)->irq_fd[idx] : -1;
}

static int config_eventfd(struct vv_transport *t)
{
	return D(t)->irqs ? D(t)->config_fd : -1;
}

static int removal_eventfd(struct vv_transport *t)
{
	return D(t)->removal_fd;
}

static int dma_alloc(struct vv_transport *t, size_t len, unsigned access, void **ret_vaddr,
		     uint64_t *ret_iova)
{
	size_t rounded = (len + PAGE - 1) & ~(size_t)(PAGE - 1);
	void *va;
	int ret;

	if (!len)
		return -EINVAL;
	va = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (va == MAP_FAILED)
		return -errno;
	ret = iommu_add(&D(t)->iommu, va, rounded, access, true, ret_iova);
	if (ret) {
		munmap(va, rounded);
		return ret;
	}
	*ret_vaddr = va;
	return 0;
}

static int dma_map(struct vv_transport *t, void *vaddr, size_t len, unsigned access,
		   uint64_t *ret_iova)
{
	return iommu_add(&D(t)->iommu, vaddr, len, access, false, ret_iova);
}

static void dma_unmap(struct vv_transport *t, void *vaddr)
{
	iommu_remove(&D(t)->iommu, vaddr);
}

static void stop_dma(struct vv_transport *t)
{
	__atomic_store_n(&D(t)->iommu.stopped, true, __ATOMIC_RELEASE);
}

static void transport_close(struct vv_transport *t)
{
	struct fake_dev *d = D(t);

	stop_queues(d);
	pthread_mutex_lock(&d->iommu.lock);
	while (d->iommu.nmaps) {
		struct fake_map *e = &d->iommu.maps[--d->iommu.nmaps];

		if (e->owned)
			munmap(e->vaddr, e->len);
	}
	pthread_mutex_unlock(&d->iommu.lock);
}

static const struct vv_transport_ops fake_ops = {
	.get_status = get_status,
	.set_status = set_status,
	.get_features = get_features,
	.set_features = set_features,
	.config_generation = config_generation,
	.config_read = config_read,
	.config_write = config_write,
	.num_queues = num_queues,
	.queue_max_size = queue_max_size,
	.setup_irqs = setup_irqs,
	.queue_setup = queue_setup,
	.queue_reset = queue_reset,
	.notify = notify,
	.queue_eventfd = queue_eventfd,
	.config_eventfd = config_eventfd,
	.removal_eventfd = removal_eventfd,
	.dma_alloc = dma_alloc,
	.dma_map = dma_map,
	.dma_unmap = dma_unmap,
	.stop_dma = stop_dma,
	.close = transport_close,
};

int fake_dev_init(struct fake_dev *d, int type, uint64_t features, const void *config,
		  size_t config_len, unsigned nq, unsigned queue_max, bool irqs)
{
	memset(d, 0, sizeof(*d));
	if (nq > FAKE_DEV_MAX_QUEUES || config_len > sizeof(d->config))
		return -EINVAL;
	d->t = (struct vv_transport){
		.ops = &fake_ops, .name = "fake", .type = type, .config_len = config_len};
	pthread_mutex_init(&d->iommu.lock, NULL);
	d->iommu.next_iova = IOVA_START;
	d->offered = features | F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM);
	memcpy(d->config, config, config_len);
	d->nq = nq;
	d->queue_max = queue_max;
	d->irqs = irqs;
	d->config_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->removal_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (unsigned i = 0; i < nq; i++)
		d->irq_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (unsigned i = 0; i < nq; i++)
		if (d->irq_fd[i] < 0)
			return -errno;
	return d->config_fd < 0 || d->removal_fd < 0 ? -errno : 0;
}

void fake_dev_fini(struct fake_dev *d)
{
	fake_dev_scribble_stop(d);
	for (unsigned i = 0; i < d->nq; i++)
		close(d->irq_fd[i]);
	close(d->config_fd);
	close(d->removal_fd);
	pthread_mutex_destroy(&d->iommu.lock);
}

void fake_dev_remove(struct fake_dev *d)
{
	uint64_t one = 1;

	if (write(d->removal_fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* --- the hostile device --------------------------------------------------------------- */

static bool holds_ring(const struct fake_dev *d, const struct fake_map *e)
{
	for (unsigned q = 0; q < d->nq; q++) {
		const struct fake_ring *r = &d->rings[q];

		if (r->desc >= e->iova && r->desc - e->iova < e->len)
			return true;
	}
	return false;
}

/* Rewrites [at, at + len) of a mapping with the next words of @x. */
static void scribble(uint8_t *at, size_t len, uint64_t *x)
{
	for (size_t off = 0; off + 8 <= len; off += 8) {
		*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
		__atomic_store_n((uint64_t *)(void *)(at + off), *x, __ATOMIC_RELAXED);
	}
}

/*
 * What a device that wants to take the process over does: keep rewriting every byte it may
 * write, in a pattern that changes every pass, so that anything the driver or a parser
 * reads from there twice may differ between the reads. Structures and payloads begin at the
 * start of a mapping or of a page (a request header, a write's data, a ring), so those are
 * hit most: each pass the first 256 bytes of every mapping, every 16th pass the start of
 * every page, every 256th pass everything.
 */
#define SCRIBBLE_CHUNK (64u << 10) /* rewritten per hold of the IOMMU lock */

/*
 * Rewrites part of mapping @i, [@off, @off + SCRIBBLE_CHUNK), as @pass asks, under the IOMMU
 * lock (the driver may unmap meanwhile; a mapping that changed is left alone). Returns false
 * past its end, or when it is gone or not the device's to write.
 */
static bool scribble_chunk(struct fake_dev *d, unsigned i, const uint8_t *vaddr, size_t off,
			   unsigned pass, uint64_t *x)
{
	struct fake_map *e;
	bool more = false;
	size_t end;

	pthread_mutex_lock(&d->iommu.lock);
	e = &d->iommu.maps[i];
	if (i >= d->iommu.nmaps || e->vaddr != vaddr || off >= e->len ||
	    !(e->access & VV_DMA_DEVICE_WRITE) || (!d->scribble_rings && holds_ring(d, e)))
		goto out;
	end = e->len - off < SCRIBBLE_CHUNK ? e->len : off + SCRIBBLE_CHUNK;
	if (!(pass % 256)) {
		scribble(e->vaddr + off, end - off, x);
		d->scribbled += end - off;
		more = true;
	} else if (!(pass % 16)) {
		for (size_t pg = off; pg < end; pg += PAGE, d->scribbled += 128)
			scribble(e->vaddr + pg, 128, x);
		more = true;
	} else {
		scribble(e->vaddr, e->len < 256 ? e->len : 256, x);
		d->scribbled += e->len < 256 ? e->len : 256;
	}
out:
	pthread_mutex_unlock(&d->iommu.lock);
	return more;
}

static void *scribble_main(void *arg)
{
	struct fake_dev *d = arg;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (unsigned pass = 0; __atomic_load_n(&d->scribbling, __ATOMIC_RELAXED); pass++) {
		for (unsigned i = 0;; i++) {
			const uint8_t *vaddr;

			pthread_mutex_lock(&d->iommu.lock);
			vaddr = i < d->iommu.nmaps ? d->iommu.maps[i].vaddr : NULL;
			pthread_mutex_unlock(&d->iommu.lock);
			if (!vaddr)
				break;
			/* In chunks: the device's own threads need the lock to reach memory too. */
			for (size_t off = 0; scribble_chunk(d, i, vaddr, off, pass, &x);
			     off += SCRIBBLE_CHUNK)
				;
		}
	}
	return NULL;
}

int fake_dev_scribble_start(struct fake_dev *d, bool rings)
{
	d->scribble_rings = rings;
	d->scribbling = true;
	return -pthread_create(&d->scribbler, NULL, scribble_main, d);
}

void fake_dev_scribble_stop(struct fake_dev *d)
{
	if (!d->scribbling)
		return;
	d->scribbling = false;
	pthread_join(d->scribbler, NULL);
}
