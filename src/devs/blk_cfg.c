// SPDX-License-Identifier: MIT
/* blk_cfg.c - the virtio-blk configuration, read and checked (virtio 1.2 section 5.2.4). */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "devs/blk_cfg.h"
#include "util/log.h"

#define F(bit) (1ULL << (bit))

bool blk_capacity_ok(uint64_t sectors)
{
	return sectors <= BLK_MAX_CAPACITY;
}

/* The last field each feature makes valid: a device must provide the space up to it. */
static int check_len(uint64_t f, size_t cfg_len)
{
	static const struct {
		unsigned bit;
		size_t end;
	} need[] = {
		{VIRTIO_BLK_F_SIZE_MAX, offsetof(struct virtio_blk_config, size_max) + 4},
		{VIRTIO_BLK_F_SEG_MAX, offsetof(struct virtio_blk_config, seg_max) + 4},
		{VIRTIO_BLK_F_BLK_SIZE, offsetof(struct virtio_blk_config, blk_size) + 4},
		{VIRTIO_BLK_F_TOPOLOGY, offsetof(struct virtio_blk_config, opt_io_size) + 4},
		{VIRTIO_BLK_F_CONFIG_WCE, offsetof(struct virtio_blk_config, wce) + 1},
		{VIRTIO_BLK_F_MQ, offsetof(struct virtio_blk_config, num_queues) + 2},
		{VIRTIO_BLK_F_DISCARD,
		 offsetof(struct virtio_blk_config, discard_sector_alignment) + 4},
		{VIRTIO_BLK_F_WRITE_ZEROES,
		 offsetof(struct virtio_blk_config, write_zeroes_may_unmap) + 1},
	};

	if (cfg_len < sizeof(uint64_t))
		return -EIO; /* not even a capacity */
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if ((f & F(need[i].bit)) && cfg_len < need[i].end) {
			log_err("config space of %zu bytes lacks the field of feature %u", cfg_len,
				need[i].bit);
			return -EIO;
		}
	return 0;
}

int blk_parse_config(uint64_t f, const void *cfg, size_t cfg_len, struct vv_blk_info *out)
{
	struct virtio_blk_config c;
	int ret = check_len(f, cfg_len);

	if (ret)
		return ret;
	/* Fields past what the device has stay zero; check_len() says none is promised. */
	memset(&c, 0, sizeof(c));
	memcpy(&c, cfg, cfg_len < sizeof(c) ? cfg_len : sizeof(c));
	*out = (struct vv_blk_info){
		.capacity = le64toh(c.capacity),
		.blk_size = f & F(VIRTIO_BLK_F_BLK_SIZE) ? le32toh(c.blk_size) : 512,
		.size_max = f & F(VIRTIO_BLK_F_SIZE_MAX) ? le32toh(c.size_max) : 0,
		.seg_max = f & F(VIRTIO_BLK_F_SEG_MAX) ? le32toh(c.seg_max) : 0,
		.num_queues = f & F(VIRTIO_BLK_F_MQ) ? le16toh(c.num_queues) : 1,
		.physical_block_exp = f & F(VIRTIO_BLK_F_TOPOLOGY) ? c.physical_block_exp : 0,
		.alignment_offset = f & F(VIRTIO_BLK_F_TOPOLOGY) ? c.alignment_offset : 0,
		.min_io_size = f & F(VIRTIO_BLK_F_TOPOLOGY) ? le16toh(c.min_io_size) : 0,
		.opt_io_size = f & F(VIRTIO_BLK_F_TOPOLOGY) ? le32toh(c.opt_io_size) : 0,
		.read_only = f & F(VIRTIO_BLK_F_RO),
		.flush = f & F(VIRTIO_BLK_F_FLUSH),
		/* Section 5.2.5.1: with FLUSH but without CONFIG_WCE the cache is writeback. */
		.writeback =
			(f & F(VIRTIO_BLK_F_FLUSH)) && (!(f & F(VIRTIO_BLK_F_CONFIG_WCE)) || c.wce),
		.discard = f & F(VIRTIO_BLK_F_DISCARD),
		.write_zeroes = f & F(VIRTIO_BLK_F_WRITE_ZEROES),
	};
	if (out->discard) {
		out->max_discard_sectors = le32toh(c.max_discard_sectors);
		out->max_discard_seg = le32toh(c.max_discard_seg);
		out->discard_sector_alignment = le32toh(c.discard_sector_alignment);
	}
	if (out->write_zeroes) {
		out->max_write_zeroes_sectors = le32toh(c.max_write_zeroes_sectors);
		out->max_write_zeroes_seg = le32toh(c.max_write_zeroes_seg);
		out->write_zeroes_may_unmap = c.write_zeroes_may_unmap;
	}
	/*
	 * The device is untrusted. A block size that is not a power of 2 in 512..64K, no queue,
	 * a segment that cannot hold one sector, or a disk whose byte size overflows: nonsense.
	 */
	if (out->blk_size < 512 || out->blk_size > BLK_MAX_BLOCK_SIZE ||
	    (out->blk_size & (out->blk_size - 1)) || !out->num_queues ||
	    (out->size_max && out->size_max < 512) || !blk_capacity_ok(out->capacity)) {
		log_err("implausible config: blk_size %u, num_queues %u, size_max %u, capacity %llu",
			out->blk_size, out->num_queues, out->size_max,
			(unsigned long long)out->capacity);
		return -EIO;
	}
	return 0;
}
