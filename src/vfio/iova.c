// SPDX-License-Identifier: MIT
/* iova.c - first-fit IOVA allocator over the IOMMU's usable ranges, with coalescing free. */
#include <errno.h>
#include <string.h>

#include "vfio/iova.h"

static void remove_at(struct iova_alloc *a, unsigned i)
{
	memmove(&a->free[i], &a->free[i + 1], (a->nfree - i - 1) * sizeof(a->free[0]));
	a->nfree--;
}

static int insert_at(struct iova_alloc *a, unsigned i, uint64_t start, uint64_t last)
{
	if (a->nfree == IOVA_MAX_EXTENTS)
		return -ENOSPC;
	memmove(&a->free[i + 1], &a->free[i], (a->nfree - i) * sizeof(a->free[0]));
	a->free[i] = (struct iova_extent){start, last};
	a->nfree++;
	return 0;
}

/*
 * Takes [start, last] out of the free space, wherever it overlaps it. Used for the ranges
 * no allocation may touch (the MSI window, below @min_iova) and by iova_alloc() itself.
 */
int iova_reserve(struct iova_alloc *a, uint64_t start, uint64_t last)
{
	if (start > last)
		return -EINVAL;
	for (unsigned i = 0; i < a->nfree; i++) {
		struct iova_extent *e = &a->free[i];

		if (e->last < start || e->start > last)
			continue;
		if (e->start >= start && e->last <= last) { /* swallowed whole */
			remove_at(a, i--);
		} else if (e->start < start && e->last > last) { /* split in two */
			int ret = insert_at(a, i + 1, last + 1, e->last);

			if (ret)
				return ret;
			a->free[i].last = start - 1;
			return 0;
		} else if (e->start < start) { /* cut the tail */
			e->last = start - 1;
		} else { /* cut the head */
			e->start = last + 1;
		}
	}
	return 0;
}

/*
 * @ranges: the IOMMU's usable ranges (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE), any order.
 * @min_iova: nothing below it is handed out; keeps IOVA 0 (a likely bug) unmappable.
 */
int iova_init(struct iova_alloc *a, const struct iova_extent *ranges, unsigned n, uint64_t min_iova)
{
	memset(a, 0, sizeof(*a));
	for (unsigned i = 0; i < n; i++) {
		unsigned pos = 0;
		int ret;

		if (ranges[i].start > ranges[i].last)
			return -EINVAL;
		while (pos < a->nfree && a->free[pos].start < ranges[i].start)
			pos++;
		ret = insert_at(a, pos, ranges[i].start, ranges[i].last);
		if (ret)
			return ret;
	}
	/* Overlapping ranges from a confused kernel would let two buffers share an IOVA. */
	for (unsigned i = 1; i < a->nfree; i++)
		if (a->free[i].start <= a->free[i - 1].last)
			return -EINVAL;
	return min_iova ? iova_reserve(a, 0, min_iova - 1) : 0;
}

/* First fit: the lowest @align-aligned block of @size bytes. @align is a power of two. */
int iova_alloc(struct iova_alloc *a, uint64_t size, uint64_t align, uint64_t *ret_iova)
{
	if (!size || !align || (align & (align - 1)))
		return -EINVAL;
	for (unsigned i = 0; i < a->nfree; i++) {
		const struct iova_extent *e = &a->free[i];
		uint64_t start = (e->start + align - 1) & ~(align - 1);

		if (start < e->start) /* the round-up wrapped */
			continue;
		if (start > e->last || e->last - start < size - 1)
			continue;
		if (iova_reserve(a, start, start + size - 1))
			return -ENOSPC; /* extent table full; nothing was changed */
		*ret_iova = start;
		return 0;
	}
	return -ENOMEM;
}

/* Gives back a block from iova_alloc(), merging it with its free neighbours. */
int iova_free(struct iova_alloc *a, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	unsigned i = 0;

	if (!size || last < iova)
		return -EINVAL;
	while (i < a->nfree && a->free[i].start <= iova)
		i++;
	/* Overlap with free space means a double free or a wrong size. */
	if ((i > 0 && a->free[i - 1].last >= iova) || (i < a->nfree && a->free[i].start <= last))
		return -EINVAL;
	if (i > 0 && a->free[i - 1].last + 1 == iova) {
		a->free[i - 1].last = last;
		if (i < a->nfree && last + 1 == a->free[i].start) {
			a->free[i - 1].last = a->free[i].last;
			remove_at(a, i);
		}
		return 0;
	}
	if (i < a->nfree && last + 1 == a->free[i].start) {
		a->free[i].start = iova;
		return 0;
	}
	return insert_at(a, i, iova, last);
}
