/* SPDX-License-Identifier: MIT */
/*
 * vq.h - how the library creates virtqueues: the contract between the ring implementations
 * (split.c, packed.c) and the transports that own the memory and the doorbell (the
 * virtio-pci transport, and the in-process fake device in tests).
 */
#ifndef VV_VIRTQUEUE_VQ_H
#define VV_VIRTQUEUE_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-vfio/vq.h>

/* DMA memory: the same bytes seen by us at @vaddr and by the device at @iova. */
struct vq_dma {
	void *vaddr;
	uint64_t iova;
	size_t len;
};

struct vq_config {
	const char *name;      /* device name for log messages, e.g. the BDF */
	unsigned index;	       /* queue number, for the doorbell and log messages */
	unsigned num;	       /* ring size: a power of 2, 1..32768 */
	bool event_idx;	       /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	       /* VIRTIO_F_INDIRECT_DESC negotiated */
	unsigned indirect_max; /* descriptors per indirect table; 0 when !indirect */
	bool weak_barriers;    /* true unless VIRTIO_F_ORDER_PLATFORM was negotiated */
	bool in_order;	       /* VIRTIO_F_IN_ORDER negotiated: completions in ring order */
	void (*notify)(void *ctx, unsigned index); /* rings the doorbell */
	void *notify_ctx;
};

/* Bytes of zeroed DMA memory vq_split_create() needs for @cfg (rings + indirect tables). */
size_t vq_split_mem_size(const struct vq_config *cfg);

/*
 * Lays out the split ring (virtio 1.2 section 2.7) in @mem, which must be zeroed, at least
 * vq_split_mem_size() bytes, and 4 KiB-aligned in both address spaces. The memory stays the
 * caller's: it must outlive the queue.
 * Returns 0, -EINVAL for a bad config or too small memory, -ENOMEM.
 */
int vq_split_create(const struct vq_config *cfg, const struct vq_dma *mem, struct vv_vq **ret_vq);

/* The packed ring (virtio 1.2 section 2.8): the same contract; any @num up to 32768. */
size_t vq_packed_mem_size(const struct vq_config *cfg);
int vq_packed_create(const struct vq_config *cfg, const struct vq_dma *mem, struct vv_vq **ret_vq);

/*
 * Where the device finds the three parts; the transport programs these. For a packed ring:
 * the descriptor ring, the driver and the device event suppression structures.
 */
uint64_t vq_desc_iova(const struct vv_vq *vq);
uint64_t vq_avail_iova(const struct vv_vq *vq);
uint64_t vq_used_iova(const struct vv_vq *vq);

/*
 * Puts the queue back as vq_*_create() left it, after the device reset it (VIRTIO_F_RING_RESET,
 * virtio 1.2 section 2.6.1): the ring memory zeroed, indices and wrap counters at their start,
 * not broken. Each token still in flight is handed to @unused (when not NULL) first: the
 * device no longer owns its buffers. The ring addresses do not change.
 */
void vq_reset(struct vv_vq *vq, void (*unused)(void *ctx, void *token), void *ctx);

/* Frees the queue; tokens still in flight are forgotten. Accepts NULL. */
void vq_destroy(struct vv_vq *vq);

#endif /* VV_VIRTQUEUE_VQ_H */
