/* SPDX-License-Identifier: MIT */
/*
 * device.h - a virtio-pci function driven through VFIO.
 *
 * Life cycle (virtio 1.2 section 3.1.1): vv_device_open() resets the device and sets
 * ACKNOWLEDGE and DRIVER; the driver reads what the device offers, calls
 * vv_device_negotiate(), reads its config, sets up queues with vv_device_setup_queues() and
 * calls vv_device_start() (DRIVER_OK). vv_device_close() resets the device and releases
 * everything, DMA memory included.
 *
 * The function must be bound to vfio-pci (`virtio-vfio attach`). Opening needs access to
 * /dev/vfio/GROUP and an RLIMIT_MEMLOCK large enough for the DMA memory, or CAP_IPC_LOCK.
 *
 * Thread safety: a device is not locked. Set it up from one thread; afterwards each queue
 * may be used from its own thread (see vq.h).
 */
#ifndef VIRTIO_VFIO_DEVICE_H
#define VIRTIO_VFIO_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-vfio/vq.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vv_device;

/**
 * vv_device_open() - open a virtio-pci function through VFIO and reset it.
 * @bdf: PCI address, "0000:00:05.0" or "00:05.0".
 * @ret_dev: set to the device on success.
 *
 * Context: blocks up to 2 s while the device resets. Logs the reason of any failure.
 * Return: 0; -EINVAL for a malformed @bdf; -ENODEV if the function does not exist, is not a
 * virtio 1.x device, or is in no IOMMU group; -ENOENT if it is not bound to vfio-pci;
 * -EACCES without permission for its VFIO group; -EBUSY if its group is open elsewhere or
 * not viable; -EPERM if the IOMMU lacks interrupt remapping; -ETIMEDOUT if reset never
 * completed; other negative errnos from VFIO.
 */
int vv_device_open(const char *bdf, struct vv_device **ret_dev);

/**
 * vv_device_close() - reset the device, free its queues and DMA memory, close VFIO.
 * @dev: the device, or NULL.
 *
 * Context: blocks up to 2 s while the device resets.
 */
void vv_device_close(struct vv_device *dev);

/**
 * vv_device_bdf() - the device's PCI address, in the kernel's spelling.
 * @dev: the device.
 *
 * Context: any.
 */
const char *vv_device_bdf(const struct vv_device *dev);

/**
 * vv_device_type() - the virtio device type (1 net, 2 blk, ...; see ids.h).
 * @dev: the device.
 *
 * Context: any.
 */
int vv_device_type(const struct vv_device *dev);

/**
 * vv_device_features_offered() - the 64 feature bits the device offers.
 * @dev: the device.
 *
 * Context: any, before vv_device_start().
 */
uint64_t vv_device_features_offered(struct vv_device *dev);

/*
 * The ring features the library implements (virtio 1.2 section 6): INDIRECT_DESC (28),
 * EVENT_IDX (29), RING_PACKED (34), IN_ORDER (35) and RING_RESET (40). A driver that passes
 * them to vv_device_negotiate() lets the device use them; the queues are laid out by what was
 * negotiated, and vv_device_queue_reset() works where RING_RESET was.
 */
#define VV_RING_FEATURES ((1ULL << 28) | (1ULL << 29) | (1ULL << 34) | (1ULL << 35) | (1ULL << 40))

/**
 * vv_device_negotiate() - accept the offered features the driver knows, and FEATURES_OK.
 * @dev: the device.
 * @driver_features: every feature bit the driver understands. VIRTIO_F_VERSION_1 (32) and
 *	VIRTIO_F_ACCESS_PLATFORM (33) are always added; bits the device does not offer are
 *	dropped.
 * @ret_features: set to the negotiated features.
 *
 * Context: once, after vv_device_open().
 * Return: 0; -EOPNOTSUPP if the device lacks VERSION_1 or ACCESS_PLATFORM (it would bypass
 * the IOMMU); -EIO if the device refused the features; -EALREADY if called twice.
 */
int vv_device_negotiate(struct vv_device *dev, uint64_t driver_features, uint64_t *ret_features);

/**
 * vv_device_features() - the negotiated features; 0 before vv_device_negotiate().
 * @dev: the device.
 *
 * Context: any.
 */
uint64_t vv_device_features(const struct vv_device *dev);

/**
 * vv_device_config_size() - bytes of device-specific configuration the device exposes.
 * @dev: the device.
 *
 * Context: any.
 */
size_t vv_device_config_size(const struct vv_device *dev);

/**
 * vv_device_config_read() - a consistent read of device configuration.
 * @dev: the device.
 * @off: offset in the device-specific configuration.
 * @buf: receives @len bytes, little-endian as the device stores them.
 * @len: bytes to read.
 *
 * Retries while the device's config generation changes (section 2.5.1).
 *
 * Context: does not block.
 * Return: 0; -EINVAL if the range lies outside the device config; -EIO if the generation
 * never settles.
 */
int vv_device_config_read(struct vv_device *dev, unsigned off, void *buf, size_t len);

/**
 * vv_device_num_queues() - number of virtqueues the device offers.
 * @dev: the device.
 *
 * Context: any.
 */
unsigned vv_device_num_queues(struct vv_device *dev);

/**
 * vv_device_queue_reset() - reset one queue and enable it again, the others untouched.
 * @dev: the device, its queues set up.
 * @idx: the queue.
 * @unused: called with each token still in flight on it, once the device no longer uses
 *	its buffers; may be NULL.
 * @ctx: passed to @unused.
 *
 * Needs VIRTIO_F_RING_RESET (bit 40) negotiated (virtio 1.2 sections 2.6.1, 4.1.4.3.2):
 * the device resets the queue, the ring is laid out afresh in the same memory (not broken
 * any more, nothing in flight) and the queue is enabled again with the same size and
 * interrupt. The way back from a broken queue without resetting the whole device.
 *
 * Context: the thread that drives the queue; no call on it may run meanwhile. Sleeps while
 * the device resets the queue (up to 2 s).
 * Return: 0; -EINVAL if @idx is no queue set up; -EOPNOTSUPP without RING_RESET;
 * -EIO if the device was aborted; -ETIMEDOUT if the device never finished the reset;
 * -EBUSY or -EINVAL if it refused the queue again (the queue is then broken).
 */
int vv_device_queue_reset(struct vv_device *dev, unsigned idx,
			  void (*unused)(void *ctx, void *token), void *ctx);

/**
 * vv_device_queue_max_size() - largest ring the device accepts for queue @idx.
 * @dev: the device.
 * @idx: queue number.
 *
 * Context: before vv_device_start().
 * Return: the size, 0 if the queue does not exist.
 */
unsigned vv_device_queue_max_size(struct vv_device *dev, unsigned idx);

/* How completions are signalled, chosen by vv_device_setup_queues(). */
enum vv_irq_mode {
	VV_IRQ_PER_QUEUE = 0, /* one MSI-X vector per queue, one for config changes */
	VV_IRQ_SHARED = 1,    /* too few vectors: all queues share one */
	VV_IRQ_POLL = 2,      /* no MSI-X: the caller polls vv_vq_get() */
};

/**
 * vv_device_setup_queues() - allocate and enable queues 0..@n-1.
 * @dev: the device, after vv_device_negotiate().
 * @n: number of queues.
 * @sizes: ring size per queue (a power of 2), or NULL for each queue's maximum. A size above
 *	the device's maximum is reduced to it.
 *
 * Picks one MSI-X vector per queue if the device has enough, else a shared vector, else
 * polling (see vv_device_irq_mode()). Ring memory is DMA memory of the device.
 *
 * Context: once, before vv_device_start().
 * Return: 0; -EINVAL for a bad @n or size; -ENOMEM; -ENOSPC if DMA mappings ran out;
 * -EBUSY if the device refused an interrupt vector; -EALREADY if called twice.
 */
int vv_device_setup_queues(struct vv_device *dev, unsigned n, const unsigned *sizes);

/**
 * vv_device_queue() - queue @idx after vv_device_setup_queues(); NULL if none.
 * @dev: the device.
 * @idx: queue number.
 *
 * Context: any.
 */
struct vv_vq *vv_device_queue(struct vv_device *dev, unsigned idx);

/**
 * vv_device_irq_mode() - how completions are signalled.
 * @dev: the device.
 *
 * Context: any.
 */
enum vv_irq_mode vv_device_irq_mode(const struct vv_device *dev);

/**
 * vv_device_queue_eventfd() - the eventfd that becomes readable when queue @idx may have
 * completions. Read its 8-byte counter to clear it. Shared between queues in
 * VV_IRQ_SHARED mode.
 * @dev: the device.
 * @idx: queue number.
 *
 * Context: any.
 * Return: the fd (owned by the device); -ENOENT in VV_IRQ_POLL mode or for a bad @idx.
 */
int vv_device_queue_eventfd(const struct vv_device *dev, unsigned idx);

/**
 * vv_device_config_eventfd() - the eventfd that becomes readable when the device changes its
 * configuration (a disk resized, a link going down). Read its 8-byte counter to clear it;
 * it may be the queues' eventfd too when the device has a single vector.
 * @dev: the device.
 *
 * Context: any, after vv_device_setup_queues().
 * Return: the fd (owned by the device); -ENOENT in VV_IRQ_POLL mode.
 */
int vv_device_config_eventfd(const struct vv_device *dev);

/**
 * vv_device_removal_eventfd() - the eventfd that becomes readable when the kernel wants the
 * device back: it is being hot-unplugged (QEMU device_del, a write to sysfs "remove"). The
 * kernel's removal waits until the device is closed and repeats the request until then, so
 * the owner should vv_device_abort() it, let the I/O in flight fail, and vv_device_close() it.
 * vv_blk_wait() watches it by itself.
 * @dev: the device.
 *
 * Context: any.
 * Return: the fd (owned by the device); -ENOENT when the kernel offers no request interrupt.
 */
int vv_device_removal_eventfd(const struct vv_device *dev);

/**
 * vv_device_needs_reset() - whether the device set DEVICE_NEEDS_RESET (virtio 1.2 section
 * 2.1.2): it stopped working and completes nothing more until reset. Worth a look on every
 * configuration interrupt, since a device raises one when it sets the bit.
 * @dev: the device.
 *
 * Context: any; reads a device register.
 */
bool vv_device_needs_reset(struct vv_device *dev);

/**
 * vv_device_abort() - give up on the device for good: reset it (and clear Bus Master) so it
 * can no longer read or write memory, then wake every waiter on its eventfds. From then on
 * drivers fail what was in flight with -EIO, and every new request, without asking the
 * device: vv_blk_poll() does so the next time it looks at a queue. Drivers call it by
 * themselves when a device breaks the ring's rules or needs a reset; the owner calls it on
 * vv_device_removal_eventfd(). Idempotent; vv_device_close() remains to be called.
 * @dev: the device.
 *
 * Context: any thread; may block up to 2 s on a device that does not finish its reset.
 */
void vv_device_abort(struct vv_device *dev);

/**
 * vv_device_aborted() - whether vv_device_abort() has completed.
 * @dev: the device.
 *
 * Context: any thread; reads no device register.
 */
bool vv_device_aborted(const struct vv_device *dev);

/* Where one virtio-pci structure lives: @length bytes at @offset in BAR @bar (4.1.4). */
struct vv_pci_region {
	bool present;
	uint8_t bar;
	uint32_t offset;
	uint32_t length;
};

/* What the capability walk found, as the driver uses it. */
struct vv_pci_layout {
	struct vv_pci_region common; /* section 4.1.4.3 */
	struct vv_pci_region notify; /* section 4.1.4.4 */
	struct vv_pci_region isr;    /* section 4.1.4.5 */
	struct vv_pci_region device; /* section 4.1.4.6; absent for devices without config */
	uint32_t notify_off_multiplier;
	uint16_t msix_vectors;		 /* table size; 0: no MSI-X capability */
	struct vv_pci_region msix_table; /* length: msix_vectors * 16 */
	struct vv_pci_region msix_pba;	 /* length: one bit per vector, in 8-byte words */
};

/**
 * vv_device_pci_layout() - the virtio-pci structures and MSI-X table the device has, as
 * checked and used by the library (for tools such as `virtio-vfio info`).
 * @dev: the device.
 * @ret_layout: set on success.
 *
 * Context: any; reads no device register.
 * Return: 0; -EOPNOTSUPP for a device not on a PCI transport.
 */
int vv_device_pci_layout(const struct vv_device *dev, struct vv_pci_layout *ret_layout);

/**
 * vv_device_start() - set DRIVER_OK: the device may now use the queues.
 * @dev: the device.
 *
 * Context: does not block.
 * Return: 0; -EIO if the device signals DEVICE_NEEDS_RESET.
 */
int vv_device_start(struct vv_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_DEVICE_H */
