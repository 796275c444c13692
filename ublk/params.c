// SPDX-License-Identifier: MIT
/*
 * params.c - the ublk device's parameters (struct ublk_params) from what the virtio-blk
 * device said (struct vv_blk_info): sizes, block sizes, cache, discard and write-zeroes
 * limits, read-only. A pure function: every value comes from the device, so each is bounded
 * before the kernel sees it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ublk_int.h"

static unsigned ilog2_u64(uint64_t v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint32_t ublk_max_io(const struct vv_blk_info *info)
{
	uint64_t max = UBLK_MAX_IO_DEFAULT;

	/*
	 * A request within size_max * seg_max goes to the device whole (virtio 1.2 section
	 * 5.2.4: seg_max data segments of at most size_max bytes); past it the library splits.
	 */
	if (info->size_max && info->seg_max && (uint64_t)info->size_max * info->seg_max < max)
		max = (uint64_t)info->size_max * info->seg_max;
	max &= ~(uint64_t)4095;
	return max < 4096 ? 4096 : (uint32_t)max;
}

int ublk_params_from_info(const struct vv_blk_info *info, uint32_t max_io, long page_size,
			  struct ublk_params *ret, char *why, size_t len)
{
	struct ublk_params p = {.len = sizeof(p), .types = UBLK_PARAM_TYPE_BASIC};
	struct ublk_param_basic *b = &p.basic;
	unsigned lshift, pshift;
	uint64_t v;

	if (!pow2(info->blk_size) || info->blk_size < SECTOR ||
	    info->blk_size > (unsigned long)page_size) {
		snprintf(why, len,
			 "its logical block size %u is not one ublk can export (a power of 2 from "
			 "512 to the page size, %ld)",
			 info->blk_size, page_size);
		return -EOPNOTSUPP;
	}
	lshift = ilog2_u64(info->blk_size);
	/* The exponent is the device's word: a physical block past 1 MiB is taken as none. */
	pshift = lshift + info->physical_block_exp;
	if (pshift > 20)
		pshift = lshift;

	/*
	 * No UBLK_ATTR_FUA: virtio-blk has no FUA write, so the block layer follows a FUA
	 * write with a flush of its own. The cache is volatile when the device has one
	 * (VIRTIO_BLK_F_FLUSH with writeback, virtio 1.2 section 5.2.6.2).
	 */
	if (info->read_only)
		b->attrs |= UBLK_ATTR_READ_ONLY;
	if (info->writeback && info->flush)
		b->attrs |= UBLK_ATTR_VOLATILE_CACHE;
	b->logical_bs_shift = (uint8_t)lshift;
	b->physical_bs_shift = (uint8_t)pshift;
	b->io_min_shift = (uint8_t)pshift;
	v = (uint64_t)info->min_io_size * info->blk_size;
	if (pow2(v) && ilog2_u64(v) >= pshift && ilog2_u64(v) <= 20)
		b->io_min_shift = (uint8_t)ilog2_u64(v);
	b->io_opt_shift = (uint8_t)pshift;
	v = (uint64_t)info->opt_io_size * info->blk_size;
	if (pow2(v) && ilog2_u64(v) >= pshift && ilog2_u64(v) <= 24)
		b->io_opt_shift = (uint8_t)ilog2_u64(v);
	b->max_sectors = max_io / SECTOR;
	b->dev_sectors = info->capacity;

	/*
	 * Discard and write-zeroes share one parameter block. ublk takes one range per discard
	 * (it refuses more), which is all a virtio request needs too.
	 */
	if (info->discard || info->write_zeroes) {
		struct ublk_param_discard *d = &p.discard;
		uint64_t gran = info->blk_size;

		p.types |= UBLK_PARAM_TYPE_DISCARD;
		if (info->discard) {
			v = (uint64_t)info->discard_sector_alignment * SECTOR;
			if (pow2(v) && v >= info->blk_size && v <= (1u << 30))
				gran = v;
			d->max_discard_sectors =
				info->max_discard_sectors ? info->max_discard_sectors : 0x3fffff;
			d->max_discard_segments = 1;
		}
		d->discard_granularity = (uint32_t)gran;
		if (info->write_zeroes)
			d->max_write_zeroes_sectors = info->max_write_zeroes_sectors
							      ? info->max_write_zeroes_sectors
							      : 0x3fffff;
	}
	*ret = p;
	return 0;
}
