/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the seam between the virtio core and a transport: virtio-pci modern over
 * VFIO (src/pci/modern.c), or a fake device in tests. No VFIO header may appear here.
 *
 * Like the kernel's virtio_config_ops: every call is a register access with no policy; the
 * core (virtio.c) owns the status sequence, feature negotiation and config generations.
 */
#ifndef VV_CORE_TRANSPORT_H
#define VV_CORE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define VV_NO_VECTOR 0xffff /* VIRTIO_MSI_NO_VECTOR */

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
	 * Programs queue @idx with @size and the ring addresses, routes it to MSI-X @vector
	 * (VV_NO_VECTOR: none) and enables it. Returns -EBUSY if the device refused the vector,
	 * -EINVAL if it refused the queue.
	 */
	int (*queue_setup)(struct vv_transport *t, unsigned idx, unsigned size, uint64_t desc,
			   uint64_t avail, uint64_t used, uint16_t vector);
	/* Rings queue @idx's doorbell; set up by queue_setup(). */
	void (*notify)(struct vv_transport *t, unsigned idx);
	/* Routes configuration-change interrupts to @vector; -EBUSY if refused. */
	int (*set_config_vector)(struct vv_transport *t, uint16_t vector);
	/* Reads and clears the ISR status (section 4.1.4.5); for INTx and polling. */
	uint8_t (*read_isr)(struct vv_transport *t);
};

struct vv_transport {
	const struct vv_transport_ops *ops;
	const char *name;  /* for messages, e.g. the BDF */
	size_t config_len; /* bytes of device-specific config the transport exposes */
};

#endif /* VV_CORE_TRANSPORT_H */
