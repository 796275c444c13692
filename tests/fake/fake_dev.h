/* SPDX-License-Identifier: MIT */
/*
 * fake_dev.h - a whole virtio device in the test process, behind the library's transport
 * seam (src/core/transport.h): registers, an IOMMU that honours each mapping's access,
 * queues served by the device-side rings of fake_ring.c on their own threads, interrupts on
 * eventfds, a removal notice, and a hostile mode that rewrites every byte the device can
 * reach as fast as it can.
 *
 * The driver opens it with device_open_transport() and drives it like a PCI function, so
 * the code above the seam (core, drivers, the FUSE export) runs unchanged against it.
 */
#ifndef VV_TESTS_FAKE_DEV_H
#define VV_TESTS_FAKE_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/transport.h"
#include "fake_ring.h"

#define FAKE_DEV_MAX_QUEUES 8
#define FAKE_DEV_MAX_MAPS   1024

struct fake_map {
	uint8_t *vaddr;
	uint64_t iova;
	size_t len;
	unsigned access; /* VV_DMA_DEVICE_* */
	bool owned;	 /* from dma_alloc: munmap on unmap */
};

/* The device's view of memory: what the driver mapped, and how. */
struct fake_iommu {
	pthread_mutex_t lock;
	struct fake_map maps[FAKE_DEV_MAX_MAPS];
	unsigned nmaps;
	uint64_t next_iova;
	unsigned faults; /* device accesses the IOMMU refused: unmapped or read-only */
	unsigned added;	 /* mappings made so far */
	bool stopped;	 /* DMA stopped (Bus Master off) */
};

struct fake_dev {
	struct vv_transport t;
	struct fake_iommu iommu;
	uint64_t offered, accepted;
	uint8_t status;
	uint8_t generation;
	uint8_t config[256];
	unsigned nq;
	unsigned queue_max;
	bool irqs; /* one eventfd per queue, one for config; else polling */
	int irq_fd[FAKE_DEV_MAX_QUEUES];
	int config_fd;
	int removal_fd;
	struct fake_mem unused_mem; /* the rings reach memory through the IOMMU only */
	struct fake_ring rings[FAKE_DEV_MAX_QUEUES];
	bool running[FAKE_DEV_MAX_QUEUES];
	unsigned in_order_batch; /* with IN_ORDER accepted: used entries per batch (0: 1) */
	unsigned queue_resets[FAKE_DEV_MAX_QUEUES]; /* VIRTIO_F_RING_RESET resets per queue */
	fake_handler handler;			    /* serves each request; NULL: fake_serve() */
	void *handler_ctx;

	/* hostile mode: fake_dev_scribble_start() */
	pthread_t scribbler;
	volatile bool scribbling;
	bool scribble_rings;	    /* the rings too, not only the buffers */
	_Atomic uint64_t scribbled; /* bytes rewritten */
};

/*
 * A device of virtio @type offering @features (VERSION_1 and ACCESS_PLATFORM are added),
 * with @config_len bytes of @config, @nq queues of at most @queue_max entries, and an
 * eventfd per queue when @irqs. Returns 0 or -errno.
 */
int fake_dev_init(struct fake_dev *d, int type, uint64_t features, const void *config,
		  size_t config_len, unsigned nq, unsigned queue_max, bool irqs);
/* After vv_device_close(), which closed the transport. */
void fake_dev_fini(struct fake_dev *d);

/* Rewrites every byte of every mapping (@rings: the rings too) until stopped. */
int fake_dev_scribble_start(struct fake_dev *d, bool rings);
void fake_dev_scribble_stop(struct fake_dev *d);

/* The platform wants the device back: signals the removal eventfd. */
void fake_dev_remove(struct fake_dev *d);

#endif /* VV_TESTS_FAKE_DEV_H */
