/* SPDX-License-Identifier: MIT */
/*
 * fake_ring.h - the device side of a split virtqueue, in the test process.
 *
 * Independent of the driver's ring code: it only shares the spec's structure layout. Its
 * memory is a memfd mapped twice: the driver uses one mapping, the device the other, and
 * IOVAs are offsets from a base far from both, so any vaddr/IOVA mix-up yields wrong data or
 * a refused address instead of a silent pass.
 */
#ifndef VV_TESTS_FAKE_RING_H
#define VV_TESTS_FAKE_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_IOVA_BASE 0x100000000ULL

struct fake_mem {
	int fd;
	uint8_t *drv; /* the driver's view */
	uint8_t *dev; /* the device's view */
	size_t len;
	size_t used; /* bump allocator */
};

int fake_mem_create(struct fake_mem *m, size_t len);
void fake_mem_destroy(struct fake_mem *m);
/* Carves @len bytes (@align-aligned); returns the driver pointer and sets @ret_iova. */
void *fake_mem_alloc(struct fake_mem *m, size_t len, size_t align, uint64_t *ret_iova);

enum fake_hostile {
	FAKE_HONEST,
	FAKE_BAD_ID,	/* used id out of range */
	FAKE_DUP_ID,	/* completes an id a second time */
	FAKE_BAD_LEN,	/* used len beyond the writable buffers */
	FAKE_IDX_JUMP,	/* used index moves past everything in flight */
	FAKE_DESC_LOOP, /* (device side) an indirect table that loops: refused, no hang */
	/* With in_order_batch (VIRTIO_F_IN_ORDER): */
	FAKE_IO_SHORT_IDX, /* split: a batch's entry names its last buffer, the index moves one */
	FAKE_IO_BEYOND,	   /* names the ring position after the last buffer: not in flight */
};

/* One buffer of a chain as the device sees it. */
struct fake_seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

/* Serves one request; returns the used length. NULL handler: the transform below. */
typedef uint32_t (*fake_handler)(void *ctx, struct fake_seg *segs, int n);

struct fake_iommu;

struct fake_ring {
	struct fake_mem *mem;
	struct fake_iommu *iommu; /* fake_dev.c: when set, IOVAs go through it instead of mem */
	int irq_fd;		  /* when >= 0, signalled for each interrupt the driver wants */
	unsigned num;
	bool event_idx;
	uint64_t desc, avail, used; /* IOVAs */
	uint16_t last_avail;
	uint16_t used_idx;
	uint32_t last_id;
	enum fake_hostile hostile;
	/*
	 * VIRTIO_F_IN_ORDER (2.7.9, 2.8): 0 writes a used entry per buffer; N >= 1 writes one
	 * entry for every N buffers served (fewer at the end of what is available), naming
	 * the batch's last buffer, and skips the rest, as the spec allows an in-order device.
	 */
	unsigned in_order_batch;
	unsigned interrupts;
	unsigned refused;      /* chains the device refused as malformed */
	bool suppress_kicks;   /* sets VRING_USED_F_NO_NOTIFY / never moves avail_event */
	volatile bool stalled; /* a device that stopped answering: serves nothing */
	fake_handler handler;
	void *handler_ctx;

	/* packed layout (fake_packed.c): ring positions and wrap counters, device side */
	bool packed;
	bool avail_wrap, used_wrap;
	uint64_t driver_evt, device_evt; /* event suppression structures (IOVAs) */
	/*
	 * Packed: leaves its event position where it is while it serves past it, with
	 * notifications still asked for at that position (VRING_PACKED_EVENT_FLAG_DESC), as
	 * QEMU's virtio-net does after a send the backend held back (virtio_net_tx_complete()
	 * enables notifications, then serves more; a packed pop never moves off_wrap).
	 */
	bool freeze_event;

	/* threaded mode */
	pthread_t thread;
	int kick_fd;
	volatile bool stop;
};

void fake_ring_init(struct fake_ring *r, struct fake_mem *m, unsigned num, bool event_idx,
		    uint64_t desc, uint64_t avail, uint64_t used);
/* Serves every available request; returns how many it completed. */
unsigned fake_ring_process(struct fake_ring *r);
int fake_ring_start(struct fake_ring *r);
void fake_ring_stop(struct fake_ring *r);
void fake_ring_kick(struct fake_ring *r);
/* Counts an interrupt the driver asked for (@irq), and signals irq_fd. */
void fake_ring_interrupt(struct fake_ring *r, bool irq);

/* What the fake device writes: each writable byte i is readable byte (i mod R) ^ 0x5a. */
static inline uint8_t fake_transform(const uint8_t *in, size_t in_len, size_t i)
{
	return in_len ? (uint8_t)(in[i % in_len] ^ 0x5a) : (uint8_t)i;
}

/* A driver queue (src/virtqueue) wired to a fake device ring, in fresh fake memory. */
struct vv_vq;
struct fake_env {
	struct fake_mem mem;
	struct fake_ring dev;
	struct vv_vq *vq;
};

int fake_env_init(struct fake_env *e, size_t mem_size, unsigned num, bool event_idx, bool indirect,
		  unsigned indirect_max, void (*notify)(void *, unsigned), void *notify_ctx);
/* The same with the layout chosen: split, or packed. */
int fake_env_init_layout(struct fake_env *e, size_t mem_size, unsigned num, bool event_idx,
			 bool indirect, unsigned indirect_max, void (*notify)(void *, unsigned),
			 void *notify_ctx, bool packed);
/* And with VIRTIO_F_IN_ORDER when @in_order_batch > 0: the device's batch (in_order_batch). */
int fake_env_init_full(struct fake_env *e, size_t mem_size, unsigned num, bool event_idx,
		       bool indirect, unsigned indirect_max, void (*notify)(void *, unsigned),
		       void *notify_ctx, bool packed, unsigned in_order_batch);

/* For the layouts' device sides (fake_ring.c, fake_packed.c). */
#define FAKE_MAX_SEGS 1024
void *fake_dev_ptr(struct fake_ring *r, uint64_t iova, size_t len);
/* The same for a buffer of a chain: @write says the device will write it. */
void *fake_seg_ptr(struct fake_ring *r, uint64_t iova, size_t len, bool write);
/* fake_dev.c: what the device reaches at @iova, NULL where the IOMMU does not allow it. */
void *fake_iommu_ptr(struct fake_iommu *m, uint64_t iova, size_t len, bool write);
bool fake_iommu_stopped(struct fake_iommu *m);
uint32_t fake_serve(struct fake_seg *segs, int n);
void fake_lie(struct fake_ring *r, bool again, uint32_t *id, uint32_t *len);
void fake_packed_init(struct fake_ring *r);
unsigned fake_packed_process(struct fake_ring *r);
void fake_env_fini(struct fake_env *e);

#endif /* VV_TESTS_FAKE_RING_H */
