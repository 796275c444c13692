/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the seam between the virtio core and a transport: virtio-pci modern over
 * VFIO (src/pci/), or a fake device in tests. No VFIO or PCI header may appear here.
 *
 * Two kinds of calls, like SPDK's virtio_dev_ops and the kernel's virtio_config_ops:
 * - register accesses with no policy; the core (virtio.c) owns the status sequence, feature
 *   negotiation and config generations;
 * - what the platform gives a driver: interrupts on eventfds (the transport's vector plan,
 *   as in Linux's virtio_pci_common.c), DMA memory at IOVAs, the removal notice, and a way
 *   to stop the device's DMA outright.
 */
#ifndef VV_CORE_TRANSPORT_H
#define VV_CORE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-vfio/device.h>

struct vv_transport;

struct vv_transport_ops {
	uint8_t (*get_status)(struct vv_transport *t);
	void (*set_status)(struct vv_transport *t, uint8_t status);
	uint64_t (*get_features)(struct vv_transport *t);
	void (*set_features)(struct vv_transport *t, uint64_t features);
	uint8_t (*config_generation)(struct vv_transport *t);
	/* Device config: bytes [off, off + len) already checked against config_len. */
	void (*config_read)(struct vv_transport *t, unsigned off, void *buf, size_t len);
	void (*config_write)(struct vv_transport *t, unsigned off, const void *buf, size_t len);
	unsigned (*num_queues)(struct vv_transport *t);
	/* Selects queue @idx and returns its maximum size; 0 when it does not exist. */
	unsigned (*queue_max_size)(struct vv_transport *t, unsigned idx);

	/*
	 * Plans interrupts for queues 0..@nq-1 and routes configuration changes: one eventfd
	 * per queue, a shared one, or none (polling). Before any queue_setup().
	 */
	int (*setup_irqs)(struct vv_transport *t, unsigned nq, enum vv_irq_mode *ret_mode);
	/*
	 * Programs queue @idx with @size and the ring addresses, routes it to its planned
	 * interrupt and enables it. Returns -EBUSY if the device refused the interrupt or was
	 * not reset, -EINVAL if it refused the queue.
	 */
	int (*queue_setup)(struct vv_transport *t, unsigned idx, unsigned size, uint64_t desc,
			   uint64_t avail, uint64_t used);
	/*
	 * Optional: resets queue @idx alone (VIRTIO_F_RING_RESET, 4.1.4.3.2) and returns once
	 * the device no longer uses its ring; queue_setup() then enables it again. Returns 0,
	 * -EOPNOTSUPP when the transport cannot, -ETIMEDOUT when the device never finishes.
	 */
	int (*queue_reset)(struct vv_transport *t, unsigned idx);
	/* Rings queue @idx's doorbell; set up by queue_setup(). */
	void (*notify)(struct vv_transport *t, unsigned idx);
	/* The eventfd signalled for queue @idx, or configuration changes; -1 for none. */
	int (*queue_eventfd)(struct vv_transport *t, unsigned idx);
	int (*config_eventfd)(struct vv_transport *t);
	/* Signalled when the platform wants the device back (hot-unplug); -1 for none. */
	int (*removal_eventfd)(struct vv_transport *t);

	/* DMA memory, as in mem.h; @access is VV_DMA_DEVICE_READ and/or _WRITE. */
	int (*dma_alloc)(struct vv_transport *t, size_t len, unsigned access, void **ret_vaddr,
			 uint64_t *ret_iova);
	int (*dma_map)(struct vv_transport *t, void *vaddr, size_t len, unsigned access,
		       uint64_t *ret_iova);
	/* Unmaps what dma_alloc() or dma_map() gave; frees what dma_alloc() gave. */
	void (*dma_unmap)(struct vv_transport *t, void *vaddr);
	/* Stops the device's DMA whatever its state (PCI: Bus Master off). Not undone. */
	void (*stop_dma)(struct vv_transport *t);
	/* Optional (PCI only): the structures the transport found, for introspection. */
	int (*pci_layout)(struct vv_transport *t, struct vv_pci_layout *ret_layout);
	/* Releases everything; the device was reset first, its DMA memory is unmapped here. */
	void (*close)(struct vv_transport *t);
};

struct vv_transport {
	const struct vv_transport_ops *ops;
	const char *name;  /* for messages, e.g. the BDF */
	int type;	   /* virtio device type (ids.h) */
	size_t config_len; /* bytes of device-specific config the transport exposes */
};

#endif /* VV_CORE_TRANSPORT_H */
