// SPDX-License-Identifier: MIT
/* test_iova.c - the IOVA allocator: stays inside the IOMMU's ranges, aligns, frees, coalesces. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vfio/iova.h"

/* What QEMU intel-iommu (aw-bits=39) reports through VFIO: the MSI window is a hole. */
static const struct iova_extent qemu_ranges[] = {
	{0xfef00000, 0x7fffffffffULL},
	{0, 0xfedfffff},
};

static void test_stays_in_ranges(void **state)
{
	struct iova_alloc a;
	uint64_t iova;

	assert_int_equal(iova_init(&a, qemu_ranges, 2, 0x10000), 0);
	assert_int_equal(a.nfree, 2);
	assert_int_equal(a.free[0].start, 0x10000);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &iova), 0);
	assert_int_equal(iova, 0x10000);
	/* A block too big for the low range comes from above the MSI window. */
	assert_int_equal(iova_alloc(&a, 0x100000000ULL, 0x1000, &iova), 0);
	assert_true(iova >= 0xfef00000);
	assert_true(iova + 0x100000000ULL - 1 <= 0x7fffffffffULL);
	/* More than the address width can hold: no. */
	assert_int_equal(iova_alloc(&a, 0x8000000000ULL, 0x1000, &iova), -ENOMEM);
}

static void test_never_in_msi_window(void **state)
{
	struct iova_alloc a;
	uint64_t iova;

	assert_int_equal(iova_init(&a, qemu_ranges, 2, 0x10000), 0);
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(iova_alloc(&a, 0x200000, 0x200000, &iova), 0);
		assert_true(iova + 0x200000 - 1 < 0xfee00000 || iova > 0xfeefffff);
		assert_int_equal(iova % 0x200000, 0);
	}
}

static void test_free_coalesces(void **state)
{
	static const struct iova_extent r[] = {{0x100000, 0x1fffff}};
	struct iova_alloc a;
	uint64_t x, y, z;

	assert_int_equal(iova_init(&a, r, 1, 0), 0);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &x), 0);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &y), 0);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &z), 0);
	assert_int_equal(iova_free(&a, y, 0x1000), 0);
	assert_int_equal(a.nfree, 2);
	assert_int_equal(iova_free(&a, y, 0x1000), -EINVAL); /* double free */
	assert_int_equal(iova_free(&a, x, 0x1000), 0);
	assert_int_equal(iova_free(&a, z, 0x1000), 0);
	assert_int_equal(a.nfree, 1);
	assert_int_equal(a.free[0].start, 0x100000);
	assert_int_equal(a.free[0].last, 0x1fffff);
}

static void test_alignment_and_exhaustion(void **state)
{
	static const struct iova_extent r[] = {{0x1000, 0x3fff}};
	struct iova_alloc a;
	uint64_t iova;

	assert_int_equal(iova_init(&a, r, 1, 0), 0);
	assert_int_equal(iova_alloc(&a, 0x2000, 0x2000, &iova), 0);
	assert_int_equal(iova, 0x2000);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &iova), 0);
	assert_int_equal(iova, 0x1000);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &iova), -ENOMEM);
	assert_int_equal(iova_alloc(&a, 0x1000, 3, &iova), -EINVAL);
	assert_int_equal(iova_alloc(&a, 0, 0x1000, &iova), -EINVAL);
}

static void test_top_of_address_space(void **state)
{
	static const struct iova_extent r[] = {{0xfffffffffffff000ULL, UINT64_MAX}};
	struct iova_alloc a;
	uint64_t iova;

	assert_int_equal(iova_init(&a, r, 1, 0), 0);
	assert_int_equal(iova_alloc(&a, 0x2000, 0x1000, &iova), -ENOMEM);
	assert_int_equal(iova_alloc(&a, 0x1000, 0x10000, &iova), -ENOMEM); /* round-up wraps */
	assert_int_equal(iova_alloc(&a, 0x1000, 0x1000, &iova), 0);
	assert_int_equal(iova, 0xfffffffffffff000ULL);
	assert_int_equal(iova_free(&a, iova, 0x1000), 0);
}

static void test_bad_ranges(void **state)
{
	static const struct iova_extent overlap[] = {{0, 0x2000}, {0x1000, 0x3000}};
	static const struct iova_extent inverted[] = {{0x2000, 0x1000}};
	struct iova_alloc a;

	assert_int_equal(iova_init(&a, overlap, 2, 0), -EINVAL);
	assert_int_equal(iova_init(&a, inverted, 1, 0), -EINVAL);
}

static void test_random_churn(void **state)
{
	static const struct iova_extent r[] = {{0x10000, 0xffffffff}};
	struct {
		uint64_t iova, size;
	} live[32] = {0};
	struct iova_alloc a;

	srand(1);
	assert_int_equal(iova_init(&a, r, 1, 0), 0);
	for (int step = 0; step < 20000; step++) {
		int k = rand() % 32;

		if (live[k].size) {
			assert_int_equal(iova_free(&a, live[k].iova, live[k].size), 0);
			live[k].size = 0;
		} else {
			uint64_t size = (uint64_t)(1 + rand() % 64) << 12;

			assert_int_equal(iova_alloc(&a, size, 0x1000, &live[k].iova), 0);
			live[k].size = size;
			/* no two live blocks overlap */
			for (int j = 0; j < 32; j++)
				if (j != k && live[j].size)
					assert_true(live[j].iova + live[j].size <= live[k].iova ||
						    live[k].iova + size <= live[j].iova);
		}
	}
	for (int k = 0; k < 32; k++)
		if (live[k].size)
			assert_int_equal(iova_free(&a, live[k].iova, live[k].size), 0);
	assert_int_equal(a.nfree, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stays_in_ranges),
		cmocka_unit_test(test_never_in_msi_window),
		cmocka_unit_test(test_free_coalesces),
		cmocka_unit_test(test_alignment_and_exhaustion),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_random_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
