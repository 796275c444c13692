// SPDX-License-Identifier: MIT
/*
 * test_dma.c - DMA memory over a recording IOMMU backend: buffers of 2 MiB and more start on
 * a 2 MiB boundary in the process and in the IOMMU alike (so the IOMMU can use large pages),
 * smaller ones take what they need, and every mapping is undone on free.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfio/vfio.h"

#define MIB (1ULL << 20)

static unsigned nmapped;

static int rec_map(struct vfio_iommu *iommu, void *vaddr, uint64_t iova, size_t len,
		   unsigned access)
{
	(void)iommu, (void)vaddr, (void)iova, (void)len, (void)access;
	nmapped++;
	return 0;
}

static int rec_unmap(struct vfio_iommu *iommu, uint64_t iova, size_t len)
{
	(void)iommu, (void)iova, (void)len;
	nmapped--;
	return 0;
}

static void rec_close(struct vfio_iommu *iommu)
{
	(void)iommu;
}

static const struct vfio_iommu_ops rec_ops = {"rec", rec_map, rec_unmap, rec_close};

/* As QEMU intel-iommu reports it: the MSI window is a hole. */
static const struct iova_extent ranges[] = {{0, 0xfedfffff}, {0xfef00000, 0x7fffffffffULL}};

static void setup(struct vfio_iommu *iommu)
{
	memset(iommu, 0, sizeof(*iommu));
	iommu->ops = &rec_ops;
	iommu->pgsize = 4096;
	strcpy(iommu->bdf, "0000:00:00.0");
	pthread_mutex_init(&iommu->lock, NULL);
	assert_int_equal(iova_init(&iommu->iova, ranges, 2, 0x10000), 0);
	nmapped = 0;
}

static void test_large_aligned(void **state)
{
	/* Under the default 8 MiB memlock limit: the test runs as any user. */
	static const size_t sizes[] = {2 * MIB, 3 * MIB + 4096, 6 * MIB};
	struct vfio_iommu iommu;

	(void)state;
	setup(&iommu);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* A small one first, so that the next IOVA and address are not aligned by luck. */
		void *small, *va;
		uint64_t small_iova, iova;

		assert_int_equal(
			vfio_dma_alloc(&iommu, 4096, VV_DMA_DEVICE_RW, &small, &small_iova), 0);
		assert_int_equal(vfio_dma_alloc(&iommu, sizes[i], VV_DMA_DEVICE_RW, &va, &iova), 0);
		assert_int_equal((uintptr_t)va % (2 * MIB), 0);
		assert_int_equal(iova % (2 * MIB), 0);
		/* Zeroed, and all of it ours: the trimmed ends must not have taken the middle. */
		assert_int_equal(((uint8_t *)va)[0], 0);
		assert_int_equal(((uint8_t *)va)[sizes[i] - 1], 0);
		memset(va, 0xa5, sizes[i]);
		assert_int_equal(vfio_dma_free(&iommu, small), 0);
		assert_int_equal(vfio_dma_free(&iommu, va), 0);
	}
	assert_int_equal(nmapped, 0);
	vfio_iommu_close(&iommu);
}

/* The caller's memory: its IOVA takes the address's offset within 2 MiB, whatever that is. */
static void test_register_phase(void **state)
{
	static const uint64_t offs[] = {0, 64 << 10, 2 * MIB - 4096};
	struct vfio_iommu iommu;
	void *small;
	uint64_t small_iova;

	(void)state;
	setup(&iommu);
	assert_int_equal(vfio_dma_alloc(&iommu, 4096, VV_DMA_DEVICE_RW, &small, &small_iova), 0);
	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint8_t *mem = malloc(8 * MIB), *va;
		uint64_t iova;

		assert_non_null(mem);
		va = (uint8_t *)(((uintptr_t)mem + 2 * MIB - 1) & ~(uintptr_t)(2 * MIB - 1)) +
		     offs[i];
		assert_int_equal(vfio_dma_register(&iommu, va, 4 * MIB, VV_DMA_DEVICE_RW, &iova),
				 0);
		assert_int_equal(iova % (2 * MIB), offs[i]);
		assert_int_equal(vfio_dma_free(&iommu, va), 0);
		free(mem);
	}
	/* Everything given back: the whole space is one extent again, as at the start. */
	assert_int_equal(vfio_dma_free(&iommu, small), 0);
	assert_int_equal(iommu.iova.nfree, 2);
	assert_int_equal(nmapped, 0);
	vfio_iommu_close(&iommu);
}

static void test_small_unaligned(void **state)
{
	struct vfio_iommu iommu;
	void *va[8];
	uint64_t iova[8];

	(void)state;
	setup(&iommu);
	/* Below 2 MiB a buffer takes IOVA space page by page: eight fit in 32 KiB. */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(vfio_dma_alloc(&iommu, 4096, VV_DMA_DEVICE_RW, &va[i], &iova[i]),
				 0);
	uint64_t lo = iova[0], hi = iova[0];

	for (unsigned i = 1; i < 8; i++) {
		lo = iova[i] < lo ? iova[i] : lo;
		hi = iova[i] > hi ? iova[i] : hi;
	}
	assert_int_equal(hi - lo, 7 * 4096);
	assert_int_equal(nmapped, 8);
	vfio_iommu_close(&iommu);
	assert_int_equal(nmapped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_aligned),
		cmocka_unit_test(test_register_phase),
		cmocka_unit_test(test_small_unaligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
