// SPDX-License-Identifier: MIT
/* device.c - vv_device: opens a virtio-pci function over VFIO and takes it through initialization.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/mem.h>

#include "core/device.h"
#include "core/virtio.h"
#include "pci/pci_transport.h"
#include "util/compiler.h"
#include "util/log.h"
#include "util/memlock.h"
#include "virtqueue/vq.h"

#define MAX_INDIRECT 64 /* descriptors per indirect table: 256 KiB at 4 KiB per buffer */

struct vv_queue {
	struct vv_vq *vq;
	void *ring_vaddr;
	int eventfd; /* -1 when polling */
};

struct vv_device {
	struct vv_transport *t;
	uint64_t features;
	bool negotiated;
	bool started;
	enum vv_irq_mode irq_mode;
	unsigned nq;
	struct vv_queue *queues;
	pthread_mutex_t abort_lock; /* one vv_device_abort() does the work, the others wait */
	atomic_bool aborted;	    /* set once the device can no longer DMA */
};

int device_open_transport(struct vv_transport *t, struct vv_device **ret_dev)
{
	struct vv_device *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev) {
		t->ops->close(t);
		return -ENOMEM;
	}
	dev->t = t;
	pthread_mutex_init(&dev->abort_lock, NULL);
	atomic_init(&dev->aborted, false);
	ret = virtio_reset(t);
	if (ret) {
		vv_device_close(dev);
		return ret;
	}
	virtio_add_status(t, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_add_status(t, VIRTIO_CONFIG_S_DRIVER);
	*ret_dev = dev;
	return 0;
}

VV_EXPORT int vv_device_open(const char *bdf, struct vv_device **ret_dev)
{
	struct vv_transport *t;
	int ret = vpci_open(bdf, &t);

	return ret ? ret : device_open_transport(t, ret_dev);
}

VV_EXPORT void vv_device_close(struct vv_device *dev)
{
	if (!dev)
		return;
	/* Stop the device before its rings and buffers are unmapped (4.1.4.3.2). */
	if (!vv_device_aborted(dev))
		virtio_reset(dev->t);
	dev->t->ops->stop_dma(dev->t);
	for (unsigned i = 0; i < dev->nq; i++) {
		vq_destroy(dev->queues[i].vq);
		if (dev->queues[i].ring_vaddr)
			dev->t->ops->dma_unmap(dev->t, dev->queues[i].ring_vaddr);
	}
	free(dev->queues);
	dev->t->ops->close(dev->t);
	pthread_mutex_destroy(&dev->abort_lock);
	free(dev);
}

VV_EXPORT const char *vv_device_bdf(const struct vv_device *dev)
{
	return dev->t->name;
}

VV_EXPORT int vv_device_type(const struct vv_device *dev)
{
	return dev->t->type;
}

VV_EXPORT uint64_t vv_device_features_offered(struct vv_device *dev)
{
	return dev->t->ops->get_features(dev->t);
}

VV_EXPORT int vv_device_negotiate(struct vv_device *dev, uint64_t driver_features,
				  uint64_t *ret_features)
{
	int ret;

	if (dev->negotiated)
		return -EALREADY;
	ret = virtio_negotiate(dev->t, driver_features, &dev->features);
	if (ret) {
		virtio_fail(dev->t);
		return ret;
	}
	dev->negotiated = true;
	*ret_features = dev->features;
	return 0;
}

VV_EXPORT uint64_t vv_device_features(const struct vv_device *dev)
{
	return dev->features;
}

VV_EXPORT size_t vv_device_config_size(const struct vv_device *dev)
{
	return dev->t->config_len;
}

VV_EXPORT int vv_device_config_read(struct vv_device *dev, unsigned off, void *buf, size_t len)
{
	return virtio_config_read(dev->t, off, buf, len);
}

VV_EXPORT unsigned vv_device_num_queues(struct vv_device *dev)
{
	return dev->t->ops->num_queues(dev->t);
}

VV_EXPORT unsigned vv_device_queue_max_size(struct vv_device *dev, unsigned idx)
{
	return dev->t->ops->queue_max_size(dev->t, idx);
}

static void notify_queue(void *ctx, unsigned idx)
{
	struct vv_transport *t = ctx;

	t->ops->notify(t, idx);
}

static int setup_queue(struct vv_device *dev, unsigned idx, unsigned size)
{
	struct vv_queue *q = &dev->queues[idx];
	struct vq_config cfg = {
		.name = dev->t->name,
		.index = idx,
		.num = size,
		.event_idx = dev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
		.indirect = dev->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC),
		.weak_barriers = !(dev->features & (1ULL << VIRTIO_F_ORDER_PLATFORM)),
		.in_order = dev->features & (1ULL << VIRTIO_F_IN_ORDER),
		.notify = notify_queue,
		.notify_ctx = dev->t,
	};
	bool packed = dev->features & (1ULL << VIRTIO_F_RING_PACKED);
	struct vq_dma mem;
	int ret;

	cfg.indirect_max = cfg.indirect ? MAX_INDIRECT : 0;
	mem.len = packed ? vq_packed_mem_size(&cfg) : vq_split_mem_size(&cfg);
	ret = dev->t->ops->dma_alloc(dev->t, mem.len, VV_DMA_DEVICE_RW, &mem.vaddr, &mem.iova);
	if (ret)
		return ret;
	q->ring_vaddr = mem.vaddr;
	/* The layout follows negotiation: packed when both sides offered it (2.8). */
	ret = packed ? vq_packed_create(&cfg, &mem, &q->vq) : vq_split_create(&cfg, &mem, &q->vq);
	if (ret)
		return ret;
	ret = dev->t->ops->queue_setup(dev->t, idx, size, vq_desc_iova(q->vq), vq_avail_iova(q->vq),
				       vq_used_iova(q->vq));
	if (ret)
		return ret; /* the transport, which knows why, said so */
	q->eventfd = dev->t->ops->queue_eventfd(dev->t, idx);
	log_debug("%s: queue %u: %u entries, eventfd %d", dev->t->name, idx, size, q->eventfd);
	return 0;
}

VV_EXPORT int vv_device_queue_reset(struct vv_device *dev, unsigned idx,
				    void (*unused)(void *ctx, void *token), void *ctx)
{
	struct vv_queue *q;
	int ret;

	if (idx >= dev->nq)
		return -EINVAL;
	if (!(dev->features & (1ULL << VIRTIO_F_RING_RESET)) || !dev->t->ops->queue_reset)
		return -EOPNOTSUPP;
	q = &dev->queues[idx];
	/* Not while another thread aborts the device: the queue stays down with it. */
	pthread_mutex_lock(&dev->abort_lock);
	if (vv_device_aborted(dev)) {
		ret = -EIO;
		goto unlock;
	}
	/* The old ring and its buffers are the driver's again only once the device let go. */
	ret = dev->t->ops->queue_reset(dev->t, idx);
	if (ret)
		goto unlock;
	vq_reset(q->vq, unused, ctx);
	/* Same memory, same size, same vector: a fresh ring at the old addresses (2.6.1). */
	ret = dev->t->ops->queue_setup(dev->t, idx, vv_vq_size(q->vq), vq_desc_iova(q->vq),
				       vq_avail_iova(q->vq), vq_used_iova(q->vq));
	if (ret)
		vv_vq_break(q->vq);
	else
		log_info("%s: queue %u reset and enabled again", dev->t->name, idx);
unlock:
	pthread_mutex_unlock(&dev->abort_lock);
	return ret;
}

VV_EXPORT int vv_device_setup_queues(struct vv_device *dev, unsigned n, const unsigned *sizes)
{
	int ret;

	if (!dev->negotiated)
		return -EINVAL;
	if (dev->queues)
		return -EALREADY;
	if (!n || n > vv_device_num_queues(dev))
		return -EINVAL;
	dev->queues = calloc(n, sizeof(*dev->queues));
	if (!dev->queues)
		return -ENOMEM;
	dev->nq = n;
	ret = dev->t->ops->setup_irqs(dev->t, n, &dev->irq_mode);
	for (unsigned i = 0; !ret && i < n; i++) {
		unsigned max = vv_device_queue_max_size(dev, i);
		unsigned size = sizes && sizes[i] ? sizes[i] : max;

		if (size > max)
			size = max; /* the device may offer less than asked (4.1.5.1.3) */
		if (!size || (size & (size - 1))) {
			log_err("%s: queue %u: size %u is not a power of 2 (max %u)", dev->t->name,
				i, size, max);
			ret = -EINVAL;
			break;
		}
		ret = setup_queue(dev, i, size);
	}
	if (ret)
		virtio_fail(dev->t);
	return ret;
}

VV_EXPORT struct vv_vq *vv_device_queue(struct vv_device *dev, unsigned idx)
{
	return idx < dev->nq ? dev->queues[idx].vq : NULL;
}

VV_EXPORT enum vv_irq_mode vv_device_irq_mode(const struct vv_device *dev)
{
	return dev->irq_mode;
}

VV_EXPORT int vv_device_queue_eventfd(const struct vv_device *dev, unsigned idx)
{
	if (idx >= dev->nq || dev->queues[idx].eventfd < 0)
		return -ENOENT;
	return dev->queues[idx].eventfd;
}

VV_EXPORT int vv_device_config_eventfd(const struct vv_device *dev)
{
	int fd = dev->queues ? dev->t->ops->config_eventfd(dev->t) : -1;

	return fd >= 0 ? fd : -ENOENT;
}

VV_EXPORT int vv_device_start(struct vv_device *dev)
{
	virtio_add_status(dev->t, VIRTIO_CONFIG_S_DRIVER_OK);
	if (virtio_needs_reset(dev->t)) {
		log_err("%s: device needs a reset right after DRIVER_OK", dev->t->name);
		for (unsigned i = 0; i < dev->nq; i++)
			vv_vq_break(dev->queues[i].vq);
		return -EIO;
	}
	dev->started = true;
	return 0;
}

VV_EXPORT int vv_device_removal_eventfd(const struct vv_device *dev)
{
	int fd = dev->t->ops->removal_eventfd(dev->t);

	return fd >= 0 ? fd : -ENOENT;
}

VV_EXPORT int vv_device_pci_layout(const struct vv_device *dev, struct vv_pci_layout *ret_layout)
{
	if (!dev->t->ops->pci_layout)
		return -EOPNOTSUPP;
	return dev->t->ops->pci_layout(dev->t, ret_layout);
}

VV_EXPORT bool vv_device_needs_reset(struct vv_device *dev)
{
	if (!virtio_needs_reset(dev->t))
		return false;
	log_err("%s: device signals DEVICE_NEEDS_RESET", dev->t->name);
	return true;
}

VV_EXPORT bool vv_device_aborted(const struct vv_device *dev)
{
	return atomic_load_explicit(&dev->aborted, memory_order_acquire);
}

/* Wakes whoever sleeps on one of the device's eventfds, so that they look at the device. */
static void wake_waiters(struct vv_device *dev)
{
	int config_fd = vv_device_config_eventfd(dev);
	uint64_t one = 1;

	for (unsigned i = 0; i < dev->nq; i++)
		if (dev->queues[i].eventfd >= 0 &&
		    write(dev->queues[i].eventfd, &one, sizeof(one)) != sizeof(one))
			log_debug("%s: cannot wake queue %u's waiters", dev->t->name, i);
	if (config_fd >= 0 && write(config_fd, &one, sizeof(one)) != sizeof(one))
		log_debug("%s: cannot wake the config waiters", dev->t->name);
}

/*
 * Buffers in flight may only go back to their owners once the device cannot write them any
 * more: the virtio reset stops a device that follows the spec (4.1.4.3.2), and clearing Bus
 * Master stops one that does not. Only then is the abort visible to vv_device_aborted().
 */
VV_EXPORT void vv_device_abort(struct vv_device *dev)
{
	pthread_mutex_lock(&dev->abort_lock);
	if (!atomic_load_explicit(&dev->aborted, memory_order_relaxed)) {
		log_warn("%s: device aborted: I/O in flight fails with EIO", dev->t->name);
		if (virtio_reset(dev->t))
			log_warn("%s: reset timed out; its DMA is stopped instead", dev->t->name);
		dev->t->ops->stop_dma(dev->t);
		atomic_store_explicit(&dev->aborted, true, memory_order_release);
		wake_waiters(dev);
	}
	pthread_mutex_unlock(&dev->abort_lock);
}

VV_EXPORT int vv_dma_alloc(struct vv_device *dev, size_t len, struct vv_dma_buf *ret_buf)
{
	void *va;
	uint64_t iova;
	int ret = dev->t->ops->dma_alloc(dev->t, len, VV_DMA_DEVICE_RW, &va, &iova);

	if (ret)
		return ret;
	/* The allocator rounded up; report what is usable. */
	*ret_buf = (struct vv_dma_buf){.vaddr = va, .iova = iova, .len = len};
	return 0;
}

VV_EXPORT int vv_dma_map(struct vv_device *dev, void *vaddr, size_t len, unsigned access,
			 struct vv_dma_buf *ret_buf)
{
	uint64_t iova;
	int ret = dev->t->ops->dma_map(dev->t, vaddr, len, access, &iova);

	if (ret)
		return ret;
	*ret_buf = (struct vv_dma_buf){.vaddr = vaddr, .iova = iova, .len = len};
	return 0;
}

VV_EXPORT int vv_dma_register(struct vv_device *dev, void *vaddr, size_t len,
			      struct vv_dma_buf *ret_buf)
{
	return vv_dma_map(dev, vaddr, len, VV_DMA_DEVICE_RW, ret_buf);
}

VV_EXPORT int vv_dma_check_memlock(struct vv_device *dev, size_t len)
{
	return memlock_check(dev->t->name, len);
}

VV_EXPORT void vv_dma_free(struct vv_device *dev, struct vv_dma_buf *buf)
{
	if (!buf->vaddr)
		return;
	dev->t->ops->dma_unmap(dev->t, buf->vaddr);
	*buf = (struct vv_dma_buf){0};
}
