// SPDX-License-Identifier: MIT
/*
 * test_ublk_params.c - the ublk parameters taken from a virtio-blk device's config: what the
 * kernel would refuse is never sent, and the device's values are bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ublk_int.h"

static struct vv_blk_info base(void)
{
	return (struct vv_blk_info){.capacity = 131072, .blk_size = 512, .seg_max = 254};
}

static void test_plain(void **state)
{
	struct vv_blk_info i = base();
	struct ublk_params p;
	char why[128];

	assert_int_equal(ublk_params_from_info(&i, ublk_max_io(&i), 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.types, UBLK_PARAM_TYPE_BASIC);
	assert_int_equal(p.len, sizeof(p));
	assert_int_equal(p.basic.dev_sectors, 131072);
	assert_int_equal(p.basic.logical_bs_shift, 9);
	assert_int_equal(p.basic.physical_bs_shift, 9);
	assert_int_equal(p.basic.max_sectors, 1024); /* 512 KiB */
	assert_int_equal(p.basic.attrs, 0);
}

static void test_attrs_and_blocks(void **state)
{
	struct vv_blk_info i = base();
	struct ublk_params p;
	char why[128];

	i.blk_size = 4096;
	i.physical_block_exp = 0;
	i.read_only = true;
	i.writeback = true;
	i.flush = true;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.basic.logical_bs_shift, 12);
	assert_int_equal(p.basic.attrs, UBLK_ATTR_READ_ONLY | UBLK_ATTR_VOLATILE_CACHE);
	assert_false(p.basic.attrs & UBLK_ATTR_FUA); /* virtio-blk has no FUA */
	assert_int_equal(p.basic.max_sectors, 128);

	i = base();
	i.physical_block_exp = 3; /* 4 KiB physical */
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.basic.physical_bs_shift, 12);
	assert_true(p.basic.io_min_shift >= p.basic.physical_bs_shift);
	i.physical_block_exp = 200; /* the device's word, nonsense: ignored */
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.basic.physical_bs_shift, 9);

	/* Writeback without FLUSH cannot be flushed: no volatile cache to announce. */
	i = base();
	i.writeback = true;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.basic.attrs, 0);
}

static void test_refused(void **state)
{
	struct vv_blk_info i = base();
	struct ublk_params p;
	char why[128] = "";

	i.blk_size = 8192;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "8192"));
	i.blk_size = 768;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), -EOPNOTSUPP);
}

static void test_discard(void **state)
{
	struct vv_blk_info i = base();
	struct ublk_params p;
	char why[128];

	i.discard = true;
	i.max_discard_sectors = 4194303;
	i.discard_sector_alignment = 8;
	i.write_zeroes = true;
	i.max_write_zeroes_sectors = 4194303;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.types, UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD);
	assert_int_equal(p.discard.discard_granularity, 4096);
	assert_int_equal(p.discard.max_discard_sectors, 4194303);
	assert_int_equal(p.discard.max_discard_segments, 1); /* ublk takes no more */
	assert_int_equal(p.discard.max_write_zeroes_sectors, 4194303);

	/* Write-zeroes alone: the block still needs a granularity, and no discard. */
	i = base();
	i.write_zeroes = true;
	i.max_write_zeroes_sectors = 2048;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.discard.discard_granularity, 512);
	assert_int_equal(p.discard.max_discard_sectors, 0);
	assert_int_equal(p.discard.max_write_zeroes_sectors, 2048);

	/* A misaligned alignment from the device falls back to the block size. */
	i.discard = true;
	i.discard_sector_alignment = 3;
	assert_int_equal(ublk_params_from_info(&i, 65536, 4096, &p, why, sizeof(why)), 0);
	assert_int_equal(p.discard.discard_granularity, 512);
}

static void test_max_io(void **state)
{
	struct vv_blk_info i = base();

	assert_int_equal(ublk_max_io(&i), 512u << 10);
	i.size_max = 65536;
	i.seg_max = 2;
	assert_int_equal(ublk_max_io(&i), 128u << 10);
	i.size_max = 512;
	i.seg_max = 1;
	assert_int_equal(ublk_max_io(&i), 4096); /* at least a page; the library splits */
	i.size_max = 0xffffffffu;
	i.seg_max = 0xffffffffu; /* no overflow */
	assert_int_equal(ublk_max_io(&i), 512u << 10);
}

static void test_bdf_tag(void **state)
{
	assert_int_equal(ublk_bdf_tag("0000:01:00.0"), UBLK_VV_MAGIC | 0x100);
	assert_int_equal(ublk_bdf_tag("0001:ff:1f.7"), UBLK_VV_MAGIC | 0x1ffff);
	assert_int_equal(ublk_bdf_tag("nonsense"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),	cmocka_unit_test(test_attrs_and_blocks),
		cmocka_unit_test(test_refused), cmocka_unit_test(test_discard),
		cmocka_unit_test(test_max_io),	cmocka_unit_test(test_bdf_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
