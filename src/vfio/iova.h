/* SPDX-License-Identifier: MIT */
/*
 * iova.h - hands out I/O virtual addresses inside the ranges the IOMMU can translate.
 *
 * Process virtual addresses cannot serve as IOVAs: QEMU's intel-iommu translates only 39
 * bits by default and 0xfee00000-0xfeefffff is the MSI window. The allocator starts from
 * VFIO_IOMMU_GET_INFO's IOVA ranges and never returns anything outside them.
 */
#ifndef VV_VFIO_IOVA_H
#define VV_VFIO_IOVA_H

#include <stddef.h>
#include <stdint.h>

struct iova_extent {
	uint64_t start; /* inclusive */
	uint64_t last;	/* inclusive, so that a range may end at 2^64 - 1 */
};

#define IOVA_MAX_EXTENTS 512 /* free extents: holes left by buffers unmapped out of order */

/* Free space as a sorted list of disjoint extents. */
struct iova_alloc {
	struct iova_extent free[IOVA_MAX_EXTENTS];
	unsigned nfree;
};

int iova_init(struct iova_alloc *a, const struct iova_extent *ranges, unsigned n,
	      uint64_t min_iova);
int iova_reserve(struct iova_alloc *a, uint64_t start, uint64_t last);
int iova_alloc(struct iova_alloc *a, uint64_t size, uint64_t align, uint64_t *ret_iova);
int iova_free(struct iova_alloc *a, uint64_t iova, uint64_t size);

#endif /* VV_VFIO_IOVA_H */
