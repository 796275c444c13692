/* SPDX-License-Identifier: MIT */
/*
 * mem.h - DMA memory: buffers the device may read and write, at IOVAs the IOMMU translates.
 *
 * Each allocation is one IOMMU mapping and the container has a limited number (65535 by
 * default): allocate a few large pools and carve buffers out of them.
 *
 * Access: the IOMMU enforces what the device may do with each mapping. Memory the device
 * only reads (data to write, frames to send, zeroes) can be mapped VV_DMA_DEVICE_READ alone,
 * so that a faulty or hostile device cannot change it; a DMA write there fails in the IOMMU.
 *
 * Thread safety: any thread may map and unmap; calls on one device are serialized inside.
 */
#ifndef VIRTIO_VFIO_MEM_H
#define VIRTIO_VFIO_MEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vv_device;

/* What the device may do with a mapping: read memory, write it, or both. */
#define VV_DMA_DEVICE_READ  0x1u
#define VV_DMA_DEVICE_WRITE 0x2u
#define VV_DMA_DEVICE_RW    (VV_DMA_DEVICE_READ | VV_DMA_DEVICE_WRITE)

/* The same bytes as the process sees them (@vaddr) and as the device does (@iova). */
struct vv_dma_buf {
	void *vaddr;
	uint64_t iova;
	size_t len;
};

/**
 * vv_dma_alloc() - allocate zeroed memory the device can read and write.
 * @dev: the device.
 * @len: bytes; rounded up to the IOMMU page size.
 * @ret_buf: set on success.
 *
 * From 2 MiB up, the memory starts on a 2 MiB boundary, in process and IOMMU alike, and
 * asks for transparent huge pages, so that the IOMMU can map it in 2 MiB pages: the device's
 * accesses are then translated once per 2 MiB instead of once per 4 KiB. Prefer one large
 * allocation to many small ones.
 *
 * Context: may block while pages are pinned.
 * Return: 0; -EINVAL for @len 0; -ENOMEM when memory, IOVA space or RLIMIT_MEMLOCK ran out;
 * -ENOSPC when the container has no mappings left.
 */
int vv_dma_alloc(struct vv_device *dev, size_t len, struct vv_dma_buf *ret_buf);

/**
 * vv_dma_register() - make the caller's memory readable and writable by the device, without
 * copying: vv_dma_map() with VV_DMA_DEVICE_RW.
 * @dev: the device.
 * @vaddr: page-aligned memory of this process (e.g. from mmap()); it must stay mapped until
 *         vv_dma_free(). Its pages are pinned and excluded from fork() (MADV_DONTFORK).
 * @len: bytes, a multiple of the page size.
 * @ret_buf: set on success: @vaddr, the IOVA the device uses for it, @len.
 *
 * One buffer may be registered with several devices; each gives its own IOVA.
 *
 * Context: may block while pages are pinned.
 * Return: 0; -EINVAL for an unaligned or empty range; -EEXIST if part of it is already
 * mapped for @dev; -ENOMEM and -ENOSPC as vv_dma_alloc(); -EFAULT if the range is not
 * mapped in the process.
 */
int vv_dma_register(struct vv_device *dev, void *vaddr, size_t len, struct vv_dma_buf *ret_buf);

/**
 * vv_dma_map() - make the caller's memory reachable by the device, with the access given.
 * @dev: the device.
 * @vaddr: page-aligned memory of this process, as for vv_dma_register().
 * @len: bytes, a multiple of the page size.
 * @access: VV_DMA_DEVICE_READ, VV_DMA_DEVICE_WRITE or both (VV_DMA_DEVICE_RW).
 * @ret_buf: set on success: @vaddr, the IOVA the device uses for it, @len.
 *
 * A device that writes memory mapped VV_DMA_DEVICE_READ alone faults in the IOMMU; what
 * follows is the device's business (QEMU's virtio devices fail the request or the device).
 *
 * Context: may block while pages are pinned.
 * Return: as vv_dma_register(); -EINVAL also for an @access without either bit.
 */
int vv_dma_map(struct vv_device *dev, void *vaddr, size_t len, unsigned access,
	       struct vv_dma_buf *ret_buf);

/**
 * vv_dma_check_memlock() - whether @len more bytes can be pinned for DMA. Without
 * CAP_IPC_LOCK, VFIO counts every pinned page against RLIMIT_MEMLOCK; a program that maps
 * its buffers one by one asks first for the total, so that the limit it is told to set is
 * the one it needs, not the next step.
 * @dev: the device (for the message).
 * @len: bytes the caller is about to map.
 *
 * Context: reads /proc/self/status.
 * Return: 0 when they fit (or the kernel does not count); -ENOMEM after logging the limit
 * this process needs (`ulimit -l` value included).
 */
int vv_dma_check_memlock(struct vv_device *dev, size_t len);

/**
 * vv_dma_free() - unmap memory from vv_dma_alloc() or vv_dma_register(); the former is also
 * freed, the latter stays the caller's.
 * @dev: the device.
 * @buf: the buffer; its fields are cleared. A zeroed buffer is ignored.
 *
 * The device must no longer use the memory (its requests completed, or it was reset).
 *
 * Context: does not block.
 */
void vv_dma_free(struct vv_device *dev, struct vv_dma_buf *buf);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_MEM_H */
