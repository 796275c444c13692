// SPDX-License-Identifier: MIT
/* device.c - vv_device: opens a virtio-pci function over VFIO and takes it through initialization.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/ids.h>

#include "core/device.h"
#include "core/virtio.h"
#include "pci/modern.h"
#include "util/compiler.h"
#include "util/log.h"
#include "virtqueue/vq.h"

#define MAX_INDIRECT 64 /* descriptors per indirect table: 256 KiB at 4 KiB per buffer */

/* Identity from config space: a virtio function, and which type. */
static int read_identity(struct vv_device *dev)
{
	uint16_t id[2], subsys;
	int ret = vfio_cfg_read(dev->vdev, PCI_VENDOR_ID, id, sizeof(id));

	if (!ret)
		ret = vfio_cfg_read(dev->vdev, PCI_SUBSYSTEM_ID, &subsys, sizeof(subsys));
	if (ret)
		return ret;
	dev->type = vv_pci_virtio_type(le16toh(id[0]), le16toh(id[1]), le16toh(subsys));
	if (dev->type <= 0) {
		log_err("%s: %04x:%04x is not a virtio device", dev->bdf, le16toh(id[0]),
			le16toh(id[1]));
		return -ENODEV;
	}
	return 0;
}

VV_EXPORT int vv_device_open(const char *bdf, struct vv_device **ret_dev)
{
	struct vv_device *dev;
	int ret;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->config_eventfd = -1;
	pthread_mutex_init(&dev->abort_lock, NULL);
	atomic_init(&dev->aborted, false);
	ret = pci_bdf_parse(bdf, dev->bdf);
	if (ret) {
		log_err("'%s' is not a PCI address (expected 0000:00:05.0 or 00:05.0)", bdf);
		goto err;
	}
	if (pci_sysfs_exists(NULL, dev->bdf)) {
		log_err("%s: no such PCI device", dev->bdf);
		ret = -ENODEV;
		goto err;
	}
	ret = vfio_dev_open(dev->bdf, &dev->vdev);
	if (ret)
		goto err;
	ret = read_identity(dev);
	if (ret)
		goto err;
	/* Root-bus devices have no FLR; the virtio reset below is the one that counts. */
	if (vfio_dev_reset(dev->vdev) == 0)
		log_debug("%s: function reset", dev->bdf);
	ret = vfio_set_bus_master(dev->vdev, true);
	if (ret)
		goto err;
	ret = vpci_modern_open(dev->vdev, &dev->caps, &dev->t);
	if (ret)
		goto err;
	ret = virtio_reset(dev->t);
	if (ret)
		goto err;
	virtio_add_status(dev->t, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_add_status(dev->t, VIRTIO_CONFIG_S_DRIVER);
	*ret_dev = dev;
	return 0;
err:
	vv_device_close(dev);
	return ret;
}

VV_EXPORT void vv_device_close(struct vv_device *dev)
{
	if (!dev)
		return;
	/* Stop the device before its rings and buffers are unmapped (4.1.4.3.2). */
	if (dev->t && !vv_device_aborted(dev))
		virtio_reset(dev->t);
	if (dev->vdev)
		vfio_set_bus_master(dev->vdev, false);
	for (unsigned i = 0; i < dev->nq; i++) {
		vq_destroy(dev->queues[i].vq);
		if (dev->queues[i].ring_vaddr)
			vfio_dma_free(dev->vdev->iommu, dev->queues[i].ring_vaddr);
	}
	free(dev->queues);
	vpci_modern_close(dev->t);
	vfio_dev_close(dev->vdev);
	pthread_mutex_destroy(&dev->abort_lock);
	free(dev);
}

VV_EXPORT const char *vv_device_bdf(const struct vv_device *dev)
{
	return dev->bdf;
}

VV_EXPORT int vv_device_type(const struct vv_device *dev)
{
	return dev->type;
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

/*
 * Vector plan: vector 0 for config changes and one per queue when the device has n + 1;
 * otherwise vector 0 for config and vector 1 shared by all queues (or vector 0 for all
 * when there is one); with no MSI-X, polling.
 */
static int setup_irqs(struct vv_device *dev, unsigned n)
{
	unsigned max = dev->vdev->msix_max;
	unsigned want = max >= n + 1 ? n + 1 : max >= 2 ? 2 : max;
	int ret;

	dev->irq_mode = max >= n + 1 ? VV_IRQ_PER_QUEUE : max ? VV_IRQ_SHARED : VV_IRQ_POLL;
	if (dev->irq_mode == VV_IRQ_POLL) {
		log_info("%s: no MSI-X vectors: completions must be polled", dev->bdf);
		return 0;
	}
	if (dev->irq_mode == VV_IRQ_SHARED)
		log_info("%s: %u MSI-X vectors for %u queues: queues share one", dev->bdf, max, n);
	ret = vfio_msix_enable(dev->vdev, want);
	if (ret)
		return ret;
	ret = dev->t->ops->set_config_vector(dev->t, 0);
	if (ret) {
		log_err("%s: device refused MSI-X vector 0 for config changes", dev->bdf);
		return ret;
	}
	dev->config_eventfd = dev->vdev->msix_fds[0];
	return 0;
}

static uint16_t queue_vector(const struct vv_device *dev, unsigned idx)
{
	switch (dev->irq_mode) {
	case VV_IRQ_PER_QUEUE:
		return (uint16_t)(idx + 1);
	case VV_IRQ_SHARED:
		return dev->vdev->msix_count > 1 ? 1 : 0;
	case VV_IRQ_POLL:
		break;
	}
	return VV_NO_VECTOR;
}

static int setup_queue(struct vv_device *dev, unsigned idx, unsigned size)
{
	struct vv_queue *q = &dev->queues[idx];
	struct vq_config cfg = {
		.name = dev->bdf,
		.index = idx,
		.num = size,
		.event_idx = dev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
		.indirect = dev->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC),
		.weak_barriers = !(dev->features & (1ULL << VIRTIO_F_ORDER_PLATFORM)),
		.notify = notify_queue,
		.notify_ctx = dev->t,
	};
	struct vq_dma mem;
	uint16_t vector = queue_vector(dev, idx);
	int ret;

	bool packed = dev->features & (1ULL << VIRTIO_F_RING_PACKED);

	cfg.indirect_max = cfg.indirect ? MAX_INDIRECT : 0;
	mem.len = packed ? vq_packed_mem_size(&cfg) : vq_split_mem_size(&cfg);
	ret = vfio_dma_alloc(dev->vdev->iommu, mem.len, &mem.vaddr, &mem.iova);
	if (ret)
		return ret;
	q->ring_vaddr = mem.vaddr;
	/* The layout follows negotiation: packed when both sides offered it (2.8). */
	ret = packed ? vq_packed_create(&cfg, &mem, &q->vq) : vq_split_create(&cfg, &mem, &q->vq);
	if (ret)
		return ret;
	ret = dev->t->ops->queue_setup(dev->t, idx, size, vq_desc_iova(q->vq), vq_avail_iova(q->vq),
				       vq_used_iova(q->vq), vector);
	if (ret == -EBUSY && vector != VV_NO_VECTOR)
		log_err("%s: queue %u: device refused MSI-X vector %u", dev->bdf, idx, vector);
	else if (ret)
		log_err("%s: queue %u: setup failed: %s", dev->bdf, idx, strerror(-ret));
	if (ret)
		return ret;
	q->eventfd = vector == VV_NO_VECTOR ? -1 : dev->vdev->msix_fds[vector];
	log_debug("%s: queue %u: %u entries, vector %u", dev->bdf, idx, size, vector);
	return 0;
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
	ret = setup_irqs(dev, n);
	for (unsigned i = 0; !ret && i < n; i++) {
		unsigned max = vv_device_queue_max_size(dev, i);
		unsigned size = sizes && sizes[i] ? sizes[i] : max;

		if (size > max)
			size = max; /* the device may offer less than asked (4.1.5.1.3) */
		if (!size || (size & (size - 1))) {
			log_err("%s: queue %u: size %u is not a power of 2 (max %u)", dev->bdf, i,
				size, max);
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
	return dev->config_eventfd >= 0 ? dev->config_eventfd : -ENOENT;
}

VV_EXPORT int vv_device_start(struct vv_device *dev)
{
	virtio_add_status(dev->t, VIRTIO_CONFIG_S_DRIVER_OK);
	if (virtio_needs_reset(dev->t)) {
		log_err("%s: device needs a reset right after DRIVER_OK", dev->bdf);
		for (unsigned i = 0; i < dev->nq; i++)
			vq_mark_broken(dev->queues[i].vq);
		return -EIO;
	}
	dev->started = true;
	return 0;
}

VV_EXPORT int vv_device_removal_eventfd(const struct vv_device *dev)
{
	return dev->vdev->req_fd >= 0 ? dev->vdev->req_fd : -ENOENT;
}

VV_EXPORT bool vv_device_needs_reset(struct vv_device *dev)
{
	if (!virtio_needs_reset(dev->t))
		return false;
	log_err("%s: device signals DEVICE_NEEDS_RESET", dev->bdf);
	return true;
}

VV_EXPORT bool vv_device_aborted(const struct vv_device *dev)
{
	return atomic_load_explicit(&dev->aborted, memory_order_acquire);
}

/* Wakes whoever sleeps on one of the device's eventfds, so that they look at the device. */
static void wake_waiters(struct vv_device *dev)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < dev->nq; i++)
		if (dev->queues[i].eventfd >= 0 &&
		    write(dev->queues[i].eventfd, &one, sizeof(one)) != sizeof(one))
			log_debug("%s: cannot wake queue %u's waiters", dev->bdf, i);
	if (dev->config_eventfd >= 0 &&
	    write(dev->config_eventfd, &one, sizeof(one)) != sizeof(one))
		log_debug("%s: cannot wake the config waiters", dev->bdf);
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
		log_warn("%s: device aborted: I/O in flight fails with EIO", dev->bdf);
		if (virtio_reset(dev->t))
			log_warn("%s: reset timed out; Bus Master is cleared instead", dev->bdf);
		vfio_set_bus_master(dev->vdev, false);
		atomic_store_explicit(&dev->aborted, true, memory_order_release);
		wake_waiters(dev);
	}
	pthread_mutex_unlock(&dev->abort_lock);
}

VV_EXPORT int vv_dma_alloc(struct vv_device *dev, size_t len, struct vv_dma_buf *ret_buf)
{
	void *va;
	uint64_t iova;
	int ret = vfio_dma_alloc(dev->vdev->iommu, len, &va, &iova);

	if (ret)
		return ret;
	/* The allocator rounded up; report what is usable. */
	*ret_buf = (struct vv_dma_buf){.vaddr = va, .iova = iova, .len = len};
	return 0;
}

VV_EXPORT int vv_dma_register(struct vv_device *dev, void *vaddr, size_t len,
			      struct vv_dma_buf *ret_buf)
{
	uint64_t iova;
	int ret = vfio_dma_register(dev->vdev->iommu, vaddr, len, &iova);

	if (ret)
		return ret;
	*ret_buf = (struct vv_dma_buf){.vaddr = vaddr, .iova = iova, .len = len};
	return 0;
}

VV_EXPORT void vv_dma_free(struct vv_device *dev, struct vv_dma_buf *buf)
{
	if (!buf->vaddr)
		return;
	vfio_dma_free(dev->vdev->iommu, buf->vaddr);
	*buf = (struct vv_dma_buf){0};
}
