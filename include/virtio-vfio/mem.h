/* SPDX-License-Identifier: MIT */
/*
 * mem.h - DMA memory: buffers the device may read and write, at IOVAs the IOMMU translates.
 *
 * Each allocation is one IOMMU mapping and the container has a limited number (65535 by
 * default): allocate a few large pools and carve buffers out of them.
 *
 * Thread safety: allocation and free on one device must not run concurrently.
 */
#ifndef VIRTIO_VFIO_MEM_H
#define VIRTIO_VFIO_MEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vv_device;

/* The same bytes as the process sees them (@vaddr) and as the device does (@iova). */
struct vv_dma_buf {
	void *vaddr;
	uint64_t iova;
	size_t len;
};

/**
 * vv_dma_alloc() - allocate zeroed memory the device can reach.
 * @dev: the device.
 * @len: bytes; rounded up to the IOMMU page size.
 * @ret_buf: set on success.
 *
 * Context: may block while pages are pinned.
 * Return: 0; -EINVAL for @len 0; -ENOMEM when memory, IOVA space or RLIMIT_MEMLOCK ran out;
 * -ENOSPC when the container has no mappings left.
 */
int vv_dma_alloc(struct vv_device *dev, size_t len, struct vv_dma_buf *ret_buf);

/**
 * vv_dma_register() - make the caller's memory reachable by the device, without copying.
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
