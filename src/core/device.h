/* SPDX-License-Identifier: MIT */
/* device.h - struct vv_device, shared by the library's layers and the CLI's `info`. */
#ifndef VV_CORE_DEVICE_H
#define VV_CORE_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <virtio-vfio/device.h>
#include <virtio-vfio/mem.h>

#include "core/transport.h"
#include "pci/caps.h"
#include "vfio/vfio.h"

struct vv_queue {
	struct vv_vq *vq;
	void *ring_vaddr;
	int eventfd; /* -1 when polling */
};

struct vv_device {
	char bdf[PCI_BDF_LEN];
	int type;
	struct vfio_dev *vdev;
	struct vv_transport *t;
	struct vpci_caps caps;
	uint64_t features;
	bool negotiated;
	bool started;
	enum vv_irq_mode irq_mode;
	unsigned nq;
	struct vv_queue *queues;
	int config_eventfd;	    /* -1 when none */
	pthread_mutex_t abort_lock; /* one vv_device_abort() does the work, the others wait */
	atomic_bool aborted;	    /* set once the device can no longer DMA */
};

#endif /* VV_CORE_DEVICE_H */
