// SPDX-License-Identifier: MIT
/* dma.c - DMA memory: anonymous pages pinned and mapped in the IOMMU at IOVAs we allocate. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/log.h"
#include "util/memlock.h"
#include "vfio/vfio.h"

#define HUGE_2M (2ULL << 20)

/* The granule of a mapping: the larger of the CPU page and the IOMMU's smallest page. */
static size_t iommu_align(const struct vfio_iommu *iommu)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return iommu->pgsize > page ? iommu->pgsize : page;
}

/* Says why MAP_DMA ran out, in terms a user can act on. */
static void explain_map_failure(struct vfio_iommu *iommu, size_t len, int err)
{
	struct rlimit rl;

	if (err == -ENOMEM && !getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY)
		log_err("%s: cannot pin %zu bytes for DMA: RLIMIT_MEMLOCK is %llu bytes; raise it "
			"(ulimit -l) or run with CAP_IPC_LOCK",
			iommu->bdf, len, (unsigned long long)rl.rlim_cur);
	else if (err == -ENOSPC)
		log_err("%s: the IOMMU container has no DMA mappings left "
			"(vfio_iommu_type1.dma_entry_limit)",
			iommu->bdf);
	else
		log_err("%s: VFIO_IOMMU_MAP_DMA of %zu bytes failed: %s", iommu->bdf, len,
			strerror(-err));
}

/*
 * Maps [@va, @va + @len) at a fresh IOVA and records the mapping; @owned says whether the
 * pages are ours to munmap when it goes. Each call costs one of the container's limited
 * mappings: pool. Called with iommu->lock held.
 */
static int map_region(struct vfio_iommu *iommu, void *va, size_t len, unsigned access, bool owned,
		      uint64_t *ret_iova)
{
	size_t align = iommu_align(iommu);
	struct vfio_dma_map *m = calloc(1, sizeof(*m));
	uint64_t iova, skip = 0;
	int ret;

	if (!m)
		return -ENOMEM;
	/*
	 * A large buffer's IOVA sits at the same offset in a 2 MiB page as its address, so that
	 * every huge page in it can be one large IOMMU page (map_anon() makes that offset 0).
	 */
	if (len >= HUGE_2M) {
		align = HUGE_2M;
		skip = (uintptr_t)va & (HUGE_2M - 1);
	}
	ret = iova_alloc(&iommu->iova, skip + len, align, &iova);
	if (ret) {
		log_err("%s: no IOVA space left for %zu bytes", iommu->bdf, len);
		goto err_free;
	}
	/* Checked here, not left to MAP_DMA's bare ENOMEM: the message names the limit needed. */
	ret = memlock_check(iommu->bdf, len);
	if (ret)
		goto err_iova;
	ret = iommu->ops->map(iommu, va, iova + skip, len, access);
	if (ret) {
		explain_map_failure(iommu, len, ret);
		goto err_iova;
	}
	iova += skip;
	*m = (struct vfio_dma_map){.vaddr = va,
				   .iova = iova,
				   .len = len,
				   .skip = skip,
				   .owned = owned,
				   .next = iommu->maps};
	iommu->maps = m;
	log_debug("%s: DMA %zu bytes at IOVA 0x%llx (%s)", iommu->bdf, len,
		  (unsigned long long)iova, access == VV_DMA_DEVICE_READ ? "device reads" : "rw");
	*ret_iova = iova;
	return 0;

err_iova:
	iova_free(&iommu->iova, iova, skip + len);
err_free:
	free(m);
	return ret;
}

/*
 * Anonymous memory for @len bytes. From 2 MiB up it starts on a 2 MiB boundary and asks for
 * transparent huge pages: map_region() gives such a buffer a 2 MiB-aligned IOVA, so each
 * huge page is one IOMMU large page, and the device's DMA is translated once per 2 MiB
 * instead of once per 4 KiB (under QEMU's emulated IOMMU, a walk and an iovec each).
 * The kernel places a mapping on a 4 KiB boundary, so it is made 2 MiB longer and trimmed.
 */
static void *map_anon(size_t len)
{
	size_t extra = len >= HUGE_2M ? HUGE_2M : 0, head;
	uint8_t *p, *va;

	p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (!extra)
		return p;
	va = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	head = (size_t)(va - p); /* below 2 MiB: the tail is never empty */
	if (head)
		munmap(p, head);
	munmap(va + len, extra - head);
	/* Only a hint: with THP off, or none free, the pages are small and all still works. */
	madvise(va, len, MADV_HUGEPAGE);
	return va;
}

static bool access_ok(unsigned access)
{
	return access && !(access & ~VV_DMA_DEVICE_RW);
}

/* Allocates @len bytes (rounded up to the IOMMU page) of zeroed memory mapped for the device. */
int vfio_dma_alloc(struct vfio_iommu *iommu, size_t len, unsigned access, void **ret_vaddr,
		   uint64_t *ret_iova)
{
	size_t align = iommu_align(iommu);
	void *va;
	int ret;

	if (!len || !access_ok(access))
		return -EINVAL;
	len = (len + align - 1) & ~(align - 1);
	va = map_anon(len);
	if (!va)
		return -ENOMEM;
	/* A fork must not copy-on-write pages the device writes to. */
	madvise(va, len, MADV_DONTFORK);
	pthread_mutex_lock(&iommu->lock);
	ret = map_region(iommu, va, len, access, true, ret_iova);
	pthread_mutex_unlock(&iommu->lock);
	if (ret) {
		munmap(va, len);
		return ret;
	}
	*ret_vaddr = va;
	return 0;
}

/*
 * Maps the caller's memory; it must be page-aligned and stay mapped in the process until
 * vfio_dma_free(). The same memory may be registered with several devices (containers).
 */
int vfio_dma_register(struct vfio_iommu *iommu, void *vaddr, size_t len, unsigned access,
		      uint64_t *ret_iova)
{
	size_t align = iommu_align(iommu);
	int ret = 0;

	if (!len || (uintptr_t)vaddr % align || len % align || !access_ok(access))
		return -EINVAL;
	pthread_mutex_lock(&iommu->lock);
	for (struct vfio_dma_map *m = iommu->maps; m && !ret; m = m->next)
		if ((uint8_t *)vaddr < (uint8_t *)m->vaddr + m->len &&
		    (uint8_t *)m->vaddr < (uint8_t *)vaddr + len)
			ret = -EEXIST;
	if (!ret) {
		madvise(vaddr, len, MADV_DONTFORK);
		ret = map_region(iommu, vaddr, len, access, false, ret_iova);
	}
	pthread_mutex_unlock(&iommu->lock);
	return ret;
}

/*
 * Unmaps from the IOMMU before the pages go: never munmap memory the device may still write.
 * Called with iommu->lock held, or once nothing else uses the IOMMU.
 */
static int release(struct vfio_iommu *iommu, struct vfio_dma_map *m)
{
	int ret = iommu->ops->unmap(iommu, m->iova, m->len);

	/* Not mapped any more (the device was removed): no device reaches the pages. */
	if (ret == -ENOENT) {
		log_debug("%s: IOVA 0x%llx was no longer mapped", iommu->bdf,
			  (unsigned long long)m->iova);
		ret = 0;
	}
	if (ret) {
		/* Leak rather than free pages the device might still reach. */
		log_err("%s: DMA unmap of IOVA 0x%llx failed: %s", iommu->bdf,
			(unsigned long long)m->iova, strerror(-ret));
		return ret;
	}
	/* A full extent table only loses this range for later use; the mapping is gone. */
	if (iova_free(&iommu->iova, m->iova - m->skip, m->skip + m->len))
		log_warn("%s: IOVA 0x%llx+0x%zx cannot be reused", iommu->bdf,
			 (unsigned long long)m->iova, m->len);
	if (m->owned)
		munmap(m->vaddr, m->len);
	free(m);
	return 0;
}

int vfio_dma_free(struct vfio_iommu *iommu, void *vaddr)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&iommu->lock);
	for (struct vfio_dma_map **p = &iommu->maps; *p; p = &(*p)->next) {
		struct vfio_dma_map *m = *p;

		if (m->vaddr == vaddr) {
			*p = m->next;
			ret = release(iommu, m);
			break;
		}
	}
	pthread_mutex_unlock(&iommu->lock);
	return ret;
}

void vfio_iommu_close(struct vfio_iommu *iommu)
{
	if (!iommu)
		return;
	while (iommu->maps) {
		struct vfio_dma_map *m = iommu->maps;

		iommu->maps = m->next;
		release(iommu, m);
	}
	iommu->ops->close(iommu);
}
