/* SPDX-License-Identifier: MIT */
/*
 * blk.h - the virtio-blk driver (virtio 1.2 section 5.2) over libvirtio-vfio.
 *
 * Sectors are 512-byte units whatever the device's block size. Requests are asynchronous:
 * submit on a queue, kick, and completions call back from vv_blk_poll() on that queue. A
 * request larger than the device's limits (size_max, seg_max, discard and write-zeroes
 * limits) is split by the library; its callback runs once, after every part completed.
 * Simple synchronous helpers copy through a DMA bounce buffer.
 *
 * Thread safety: each queue may be driven by its own thread; calls on one queue must not run
 * concurrently. The sync helpers use queue 0.
 */
#ifndef VIRTIO_VFIO_BLK_H
#define VIRTIO_VFIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-vfio/vq.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vv_blk;
struct vv_device;

/* What the device told us, after negotiation. */
struct vv_blk_info {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t blk_size; /* logical block size in bytes (512 if not offered) */
	uint32_t size_max; /* bytes per segment; 0: no limit */
	uint32_t seg_max;  /* data segments per request */
	uint32_t max_discard_sectors;
	uint32_t max_write_zeroes_sectors;
	uint32_t discard_sector_alignment;
	uint16_t num_queues;
	uint8_t physical_block_exp;
	bool read_only;
	bool writeback; /* volatile write cache: FLUSH needed for durability */
	bool flush;
	bool discard;
	bool write_zeroes;
	bool write_zeroes_may_unmap;
	/* Since 0.2; 0 where the feature that gives them was not negotiated. */
	uint8_t alignment_offset;      /* TOPOLOGY: in logical blocks */
	uint16_t min_io_size;	       /* TOPOLOGY: in logical blocks */
	uint32_t opt_io_size;	       /* TOPOLOGY: in logical blocks */
	uint32_t max_discard_seg;      /* DISCARD: ranges per request */
	uint32_t max_write_zeroes_seg; /* WRITE_ZEROES: ranges per request */
};

/* Called once per submitted request: @result is 0, -EIO or -EOPNOTSUPP (device status). */
typedef void (*vv_blk_cb)(void *opaque, int result);

/**
 * vv_blk_open() - take an attached virtio-blk function and start it.
 * @bdf: PCI address of a function bound to vfio-pci.
 * @num_queues: queues to use (1..device's num_queues), 0 for all.
 * @ret_blk: set on success.
 *
 * Context: blocks while the device resets (up to 2 s).
 * Return: 0; -ENODEV if it is not a virtio-blk device; the errnos of vv_device_open() and
 * vv_device_setup_queues().
 */
int vv_blk_open(const char *bdf, unsigned num_queues, struct vv_blk **ret_blk);

/*
 * Options of vv_blk_open_opts(). Zero-initialize, then set what matters; 0 means the
 * default. @reserved must stay zero: later versions give it meaning, and a library that
 * does not know a nonzero field refuses it rather than ignore it.
 */
struct vv_blk_opts {
	unsigned num_queues;  /* queues to use (1..device's num_queues); 0: all */
	unsigned queue_size;  /* ring entries per queue, a power of 2; 0: the device's maximum */
	uint32_t reserved[8]; /* zero */
};

/**
 * vv_blk_open_opts() - vv_blk_open() with options.
 * @bdf: PCI address of a function bound to vfio-pci.
 * @opts: options, or NULL for the defaults.
 * @ret_blk: set on success.
 *
 * A @queue_size above the device's maximum is reduced to it (vv_device_setup_queues()).
 * Since 0.3.
 *
 * Context: blocks while the device resets (up to 2 s).
 * Return: as vv_blk_open(); -EINVAL for a queue size that is not a power of 2 or a nonzero
 * reserved field.
 */
int vv_blk_open_opts(const char *bdf, const struct vv_blk_opts *opts, struct vv_blk **ret_blk);

/**
 * vv_blk_close() - reset the device and free everything. In-flight requests are dropped
 * without callbacks: drain them first.
 * @blk: the driver, or NULL.
 */
void vv_blk_close(struct vv_blk *blk);

/**
 * vv_blk_get_info() - device parameters. Its capacity changes in vv_blk_refresh(): threads
 * other than the one calling that read it with vv_blk_capacity().
 * @blk: the driver.
 *
 * Context: any.
 */
const struct vv_blk_info *vv_blk_get_info(const struct vv_blk *blk);

/**
 * vv_blk_capacity() - the capacity in 512-byte sectors, as vv_blk_refresh() last read it.
 * @blk: the driver.
 *
 * Context: any thread, also while another runs vv_blk_refresh() (an atomic read).
 */
uint64_t vv_blk_capacity(const struct vv_blk *blk);

/** vv_blk_device() - the underlying device, e.g. for vv_dma_alloc(). Context: any. */
struct vv_device *vv_blk_device(struct vv_blk *blk);

/**
 * vv_blk_refresh() - look at the device after a configuration interrupt (see
 * vv_device_config_eventfd() on vv_blk_device()): re-read the capacity, and give up on the
 * device (vv_device_abort()) if it signals DEVICE_NEEDS_RESET or reports a capacity that
 * overflows.
 * @blk: the driver.
 * @ret_changed: set to whether the capacity changed.
 *
 * Context: the thread that drives queue 0 (requests check against the capacity).
 * Return: 0; -EIO if the device was aborted, or its config cannot be read consistently.
 */
int vv_blk_refresh(struct vv_blk *blk, bool *ret_changed);

/** vv_blk_num_queues() - queues in use. Context: any. */
unsigned vv_blk_num_queues(const struct vv_blk *blk);

/**
 * vv_blk_submit_rw() - queue a read or write of the sectors starting at @sector.
 * @blk: the driver.
 * @q: queue number.
 * @write: true to write.
 * @sector: first 512-byte sector.
 * @sg: the data buffers, in DMA memory (vv_dma_alloc()); lengths multiples of 512.
 * @nsg: number of buffers.
 * @cb: completion callback; @opaque is passed to it.
 *
 * Context: does not block; call vv_blk_kick() to start the I/O.
 * Return: 0; -EINVAL for a bad range or lengths; -EROFS writing a read-only device;
 * -ENOSPC if the queue has no room now; -EIO if the queue is broken. A queue is seen broken
 * from the vv_blk_kick() or vv_blk_poll() that met it on: a request submitted before then
 * fails through its callback, with -EIO.
 */
int vv_blk_submit_rw(struct vv_blk *blk, unsigned q, bool write, uint64_t sector,
		     const struct vv_sg *sg, unsigned nsg, vv_blk_cb cb, void *opaque);

/**
 * vv_blk_submit_flush() - queue a cache flush; completes at once (0) without FLUSH.
 * Return: as vv_blk_submit_rw().
 */
int vv_blk_submit_flush(struct vv_blk *blk, unsigned q, vv_blk_cb cb, void *opaque);

/**
 * vv_blk_submit_discard() - queue a discard (no promise of zeroes).
 * Return: as vv_blk_submit_rw(); -EOPNOTSUPP without VIRTIO_BLK_F_DISCARD.
 */
int vv_blk_submit_discard(struct vv_blk *blk, unsigned q, uint64_t sector, uint64_t nsectors,
			  vv_blk_cb cb, void *opaque);

/**
 * vv_blk_submit_write_zeroes() - queue a write of zeroes; with @unmap the device may
 * deallocate (it still reads back zeroes).
 * Return: as vv_blk_submit_rw(); -EOPNOTSUPP without VIRTIO_BLK_F_WRITE_ZEROES.
 */
int vv_blk_submit_write_zeroes(struct vv_blk *blk, unsigned q, uint64_t sector, uint64_t nsectors,
			       bool unmap, vv_blk_cb cb, void *opaque);

/**
 * vv_blk_kick() - start what was submitted on @q. Requests reach the device's ring here,
 * all in one call (the library may hold them until then); one kick per batch is cheapest.
 * Return: 0; -EIO if the queue is broken: what was submitted then fails through its
 * callback from vv_blk_poll().
 */
int vv_blk_kick(struct vv_blk *blk, unsigned q);

/**
 * vv_blk_poll() - complete up to @budget requests on @q, calling their callbacks.
 *
 * A device that breaks the ring's rules is aborted (vv_device_abort()). On an aborted
 * device every request still in flight on @q completes here with -EIO, each callback once,
 * whatever @budget; later calls return -EIO. Where the device offers VIRTIO_F_RING_RESET,
 * a broken queue is first reset alone (vv_device_queue_reset()): the requests in flight on
 * @q complete with -EIO, each callback once, and @q serves again while the other queues
 * never stop; a queue broken a ninth time, or whose reset fails, aborts the device as
 * above.
 * Return: number completed (>= 0), or -EIO if the queue is broken and nothing was left.
 */
int vv_blk_poll(struct vv_blk *blk, unsigned q, unsigned budget);

/**
 * vv_blk_queue_eventfd() - readable when @q may have completions (MSI-X), see
 * vv_device_queue_eventfd(). Return: the fd, or -ENOENT when the device is polled.
 */
int vv_blk_queue_eventfd(const struct vv_blk *blk, unsigned q);

/* How vv_blk_wait() waits for completions on a queue. */
enum vv_blk_mode {
	VV_BLK_MODE_IRQ,    /* sleep on the queue's eventfd: a system call per wake-up */
	VV_BLK_MODE_POLL,   /* device notifications off; spin on the used ring, no system call */
	VV_BLK_MODE_HYBRID, /* spin up to spin_us, then enable notifications and sleep */
};

/**
 * vv_blk_set_mode() - choose how vv_blk_wait() waits on queue @q.
 * @blk: the driver.
 * @q: queue number.
 * @mode: interrupt, poll or hybrid. A queue without its own eventfd (no MSI-X vector) is
 *        always polled.
 * @spin_us: hybrid only: microseconds to poll before sleeping.
 *
 * Polling turns the device's notifications for @q off (the ring's event suppression), so
 * the device does not interrupt at all while the queue is polled.
 *
 * Context: the thread that drives @q. Default: VV_BLK_MODE_IRQ.
 * Return: 0, or -EINVAL for a bad queue or mode.
 */
int vv_blk_set_mode(struct vv_blk *blk, unsigned q, enum vv_blk_mode mode, unsigned spin_us);

/**
 * vv_blk_wait() - complete the requests that are done on @q (their callbacks run), waiting
 * for at least one as set by vv_blk_set_mode().
 * @blk: the driver.
 * @q: queue number.
 * @timeout_ms: longest wait, on the coarse monotonic clock (so to within one clock tick,
 *              1-10 ms); -1: no limit; 0: just look, never wait.
 *
 * Context: the thread that drives @q; blocks (or spins) up to @timeout_ms. In poll mode it
 * takes no lock and reads no precise clock; its only system call is a look at the removal
 * eventfd every 65536 empty polls.
 * A hot-unplug request from the kernel (vv_device_removal_eventfd()) seen while waiting
 * aborts the device: what is in flight then completes with -EIO.
 * Return: the number completed (> 0); 0 if none completed in time; -EIO if the queue is
 * broken; -EINVAL for a bad queue.
 */
int vv_blk_wait(struct vv_blk *blk, unsigned q, int timeout_ms);

/**
 * vv_blk_read() / vv_blk_write() - synchronous I/O of @len bytes (a multiple of 512) from
 * or to any memory, through the library's DMA bounce buffer, on queue 0.
 * Context: blocks until done; after 30 s without an answer the device is aborted.
 * Return: 0; -EINVAL, -EROFS, -EIO, -EOPNOTSUPP, -ETIMEDOUT.
 */
int vv_blk_read(struct vv_blk *blk, uint64_t sector, void *buf, size_t len);
int vv_blk_write(struct vv_blk *blk, uint64_t sector, const void *buf, size_t len);

/** vv_blk_flush() - synchronous flush. Return: as vv_blk_read(). */
int vv_blk_flush(struct vv_blk *blk);

/**
 * vv_blk_get_id() - the device's serial (VIRTIO_BLK_T_GET_ID), NUL-terminated.
 * Return: as vv_blk_read().
 */
int vv_blk_get_id(struct vv_blk *blk, char serial[21]);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_BLK_H */
