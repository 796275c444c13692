/* SPDX-License-Identifier: MIT */
/*
 * io.h - the plugin's request engine: many nbdkit worker threads share the device's queues,
 * copying through bounded per-queue DMA bounce slots.
 */
#ifndef VV_NBDKIT_IO_H
#define VV_NBDKIT_IO_H

#include <stdbool.h>
#include <stdint.h>

struct vv_blk;
struct nbd_io;

/*
 * nbd_io_open() - per-queue locks, wake-ups and bounce slots for every queue of @blk.
 * Return: 0, or -errno (-ENOMEM, the errnos of vv_dma_alloc()).
 */
int nbd_io_open(struct vv_blk *blk, struct nbd_io **ret_io);

/* nbd_io_close() - frees what nbd_io_open() made; nothing may be in flight. NULL is fine. */
void nbd_io_close(struct nbd_io *io);

/*
 * nbd_io_rw() - read or write @count bytes at byte @offset, through the calling thread's
 * queue. Any alignment: reads cover whole blocks and copy out what was asked; a write's
 * partial edge blocks are read, patched and written back, one edge at a time.
 * Return: 0 or -errno (-EIO when the device failed or is gone).
 */
int nbd_io_rw(struct nbd_io *io, bool write, void *buf, uint32_t count, uint64_t offset);

/* nbd_io_flush() - a virtio-blk FLUSH: covers the whole device's cache. Return: 0, -errno. */
int nbd_io_flush(struct nbd_io *io);

/*
 * nbd_io_discard() / nbd_io_write_zeroes() - on whole blocks: the caller aligns.
 * Return: 0 or -errno (-EOPNOTSUPP without the feature).
 */
int nbd_io_discard(struct nbd_io *io, uint64_t offset, uint64_t count);
int nbd_io_write_zeroes(struct nbd_io *io, uint64_t offset, uint64_t count, bool unmap);

/*
 * nbd_io_refresh() - vv_blk_refresh() with queue 0 held, after a configuration interrupt.
 * Return: as vv_blk_refresh().
 */
int nbd_io_refresh(struct nbd_io *io, bool *ret_changed);

/* nbd_io_align() - bytes per block: the unit of every request the device sees. */
uint32_t nbd_io_align(const struct nbd_io *io);

#endif /* VV_NBDKIT_IO_H */
