/* SPDX-License-Identifier: MIT */
/*
 * blk_queue.h - virtio-blk requests on one virtqueue: building them within the device's
 * limits, splitting what exceeds them, and completing them. Knows nothing of VFIO, so the
 * fake device can serve it in unit tests.
 */
#ifndef VV_DEVS_BLK_QUEUE_H
#define VV_DEVS_BLK_QUEUE_H

#include <virtio-vfio/blk.h>

#include <virtio-vfio/vq.h>

struct blk_cmd;
struct blk_parent;

struct blk_queue {
	struct vv_vq *vq;
	const struct vv_blk_info *info;
	unsigned max_segs;    /* data segments one request may carry */
	uint32_t one_max;     /* the most bytes one request carries in one segment */
	struct blk_cmd *cmds; /* one per ring slot: header, status, discard range, id */
	uint8_t *cmd_mem;     /* their DMA memory */
	uint64_t cmd_iova;
	unsigned ncmds;
	unsigned *free_cmds; /* stack of free cmd indices */
	unsigned nfree;
	struct blk_parent *parents; /* one per slot: no allocation per request */
	struct blk_parent **free_parents;
	unsigned nfree_parents;
	/*
	 * One-buffer reads and writes, nearly every request, wait here until the kick, which
	 * adds them to the ring in one call (vv_vq_add_many()). The device sees nothing before
	 * the kick either way. @room is a lower bound on the ring's free descriptors less what
	 * the staged requests will take: a request is staged only within it, so the kick's add
	 * cannot run out of room.
	 */
	struct vv_vq_req *staged;
	unsigned nstaged;
	unsigned room;
	unsigned one_descs; /* descriptors a one-buffer request takes */
};

/* Bytes of DMA memory blk_queue_init() needs for a queue of @num entries. */
size_t blk_queue_mem_size(unsigned num);
int blk_queue_init(struct blk_queue *q, struct vv_vq *vq, const struct vv_blk_info *info, void *mem,
		   uint64_t mem_iova);
void blk_queue_fini(struct blk_queue *q);

int blk_queue_rw(struct blk_queue *q, bool write, uint64_t sector, const struct vv_sg *sg,
		 unsigned nsg, vv_blk_cb cb, void *opaque);
int blk_queue_flush(struct blk_queue *q, vv_blk_cb cb, void *opaque);
int blk_queue_range(struct blk_queue *q, uint32_t type, uint64_t sector, uint64_t nsectors,
		    bool unmap, vv_blk_cb cb, void *opaque);
int blk_queue_get_id(struct blk_queue *q, char *id_out, vv_blk_cb cb, void *opaque);
/* Adds what was staged to the ring and notifies the device if it asks. 0 or -EIO. */
int blk_queue_kick(struct blk_queue *q);
int blk_queue_poll(struct blk_queue *q, unsigned budget);
/*
 * Completes every request in flight with @err, without asking the device: only once the
 * device can no longer touch their buffers (reset, or removed). Returns the callbacks run.
 */
int blk_queue_fail_all(struct blk_queue *q, int err);

#endif /* VV_DEVS_BLK_QUEUE_H */
