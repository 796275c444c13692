/* SPDX-License-Identifier: MIT */
/*
 * blk_cfg.h - what a virtio-blk device's configuration space says, checked. A pure function
 * of the bytes the device gave and the features negotiated, so the fuzzer can call it.
 */
#ifndef VV_DEVS_BLK_CFG_H
#define VV_DEVS_BLK_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-vfio/blk.h>

/* The largest logical block size taken: the Linux block layer's limit too. */
#define BLK_MAX_BLOCK_SIZE (64u << 10)
/* Sectors a disk may have: its size in bytes must fit an off_t. */
#define BLK_MAX_CAPACITY   ((uint64_t)INT64_MAX / 512)

/*
 * Fills @out from the @cfg_len bytes of config space at @cfg, for the negotiated @features
 * (section 5.2.4). Returns 0, or -EIO when a field the features promise lies beyond
 * @cfg_len or holds a value no driver could work with.
 */
int blk_parse_config(uint64_t features, const void *cfg, size_t cfg_len, struct vv_blk_info *out);

/* The capacity, which vv_blk_refresh() may change on another thread meanwhile. */
static inline uint64_t blk_info_capacity(const struct vv_blk_info *info)
{
	return __atomic_load_n(&info->capacity, __ATOMIC_RELAXED);
}

/* Whether a capacity read later (a resize) is one the driver can serve. */
bool blk_capacity_ok(uint64_t sectors);

#endif /* VV_DEVS_BLK_CFG_H */
