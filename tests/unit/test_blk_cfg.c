// SPDX-License-Identifier: MIT
/*
 * test_blk_cfg.c - the virtio-blk configuration as the driver reads it: fields only with
 * their features, the writeback rule, and refusal of config spaces no driver could use.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>

#include "devs/blk_cfg.h"

#define F(b) (1ULL << (b))
#define FULL sizeof(struct virtio_blk_config)

/* QEMU's defaults for a 64 MiB disk. */
static struct virtio_blk_config qemu_cfg(void)
{
	struct virtio_blk_config c;

	memset(&c, 0, sizeof(c));
	c.capacity = htole64(131072);
	c.seg_max = htole32(254);
	c.blk_size = htole32(512);
	c.wce = 1;
	c.num_queues = htole16(4);
	c.max_discard_sectors = htole32(0x3fffff);
	c.discard_sector_alignment = htole32(1);
	c.max_write_zeroes_sectors = htole32(0x3fffff);
	c.write_zeroes_may_unmap = 1;
	return c;
}

static void test_fields_follow_features(void **state)
{
	struct virtio_blk_config c = qemu_cfg();
	struct vv_blk_info i;

	/* Nothing negotiated: only the capacity counts. */
	assert_int_equal(blk_parse_config(0, &c, FULL, &i), 0);
	assert_int_equal(i.capacity, 131072);
	assert_int_equal(i.blk_size, 512);
	assert_int_equal(i.seg_max, 0);
	assert_int_equal(i.num_queues, 1);
	assert_false(i.discard || i.write_zeroes || i.flush || i.writeback);

	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_MQ) |
						  F(VIRTIO_BLK_F_DISCARD) |
						  F(VIRTIO_BLK_F_WRITE_ZEROES),
					  &c, FULL, &i),
			 0);
	assert_int_equal(i.seg_max, 254);
	assert_int_equal(i.num_queues, 4);
	assert_int_equal(i.max_discard_sectors, 0x3fffff);
	assert_true(i.write_zeroes_may_unmap);
}

static void test_writeback(void **state)
{
	struct virtio_blk_config c = qemu_cfg();
	struct vv_blk_info i;

	/* Section 5.2.5.1: FLUSH without CONFIG_WCE means a writeback cache. */
	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_FLUSH), &c, FULL, &i), 0);
	assert_true(i.flush && i.writeback);
	c.wce = 0;
	assert_int_equal(
		blk_parse_config(F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_CONFIG_WCE), &c, FULL, &i),
		0);
	assert_false(i.writeback);
}

static void test_short_config(void **state)
{
	struct virtio_blk_config c = qemu_cfg();
	struct vv_blk_info i;

	assert_int_equal(blk_parse_config(0, &c, 4, &i), -EIO); /* not even a capacity */
	assert_int_equal(blk_parse_config(0, &c, 8, &i), 0);
	/* A feature whose field the device has no room for. */
	assert_int_equal(
		blk_parse_config(F(VIRTIO_BLK_F_DISCARD), &c,
				 offsetof(struct virtio_blk_config, max_discard_sectors) + 4, &i),
		-EIO);
	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_BLK_SIZE), &c, 20, &i), -EIO);
	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_BLK_SIZE), &c, 24, &i), 0);
}

static void test_nonsense_refused(void **state)
{
	struct virtio_blk_config c;
	struct vv_blk_info i;
	static const uint32_t bad_sizes[] = {0, 256, 511, 513, 3000, 1u << 17};

	for (size_t k = 0; k < sizeof(bad_sizes) / sizeof(bad_sizes[0]); k++) {
		c = qemu_cfg();
		c.blk_size = htole32(bad_sizes[k]);
		assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_BLK_SIZE), &c, FULL, &i), -EIO);
	}
	c = qemu_cfg();
	c.blk_size = htole32(4096);
	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_BLK_SIZE), &c, FULL, &i), 0);
	c.num_queues = 0;
	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_MQ), &c, FULL, &i), -EIO);
	c = qemu_cfg();
	c.size_max = htole32(100); /* a segment that cannot hold a sector */
	assert_int_equal(blk_parse_config(F(VIRTIO_BLK_F_SIZE_MAX), &c, FULL, &i), -EIO);
	c = qemu_cfg();
	c.capacity = htole64(UINT64_MAX / 256); /* bytes beyond an off_t */
	assert_int_equal(blk_parse_config(0, &c, FULL, &i), -EIO);
	assert_true(blk_capacity_ok(BLK_MAX_CAPACITY));
	assert_false(blk_capacity_ok(BLK_MAX_CAPACITY + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_follow_features),
		cmocka_unit_test(test_writeback),
		cmocka_unit_test(test_short_config),
		cmocka_unit_test(test_nonsense_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
