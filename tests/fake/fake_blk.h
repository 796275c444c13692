/* SPDX-License-Identifier: MIT */
/*
 * fake_blk.h - the device side of virtio-blk (virtio 1.2 section 5.2.6) as a RAM disk, for
 * the fake devices: a request handler for fake_ring's device side.
 */
#ifndef VV_TESTS_FAKE_BLK_H
#define VV_TESTS_FAKE_BLK_H

#include <stdint.h>

#include "fake_ring.h"

#define FAKE_DISK_SECTORS 8192 /* 4 MiB */

struct fake_disk {
	uint8_t data[FAKE_DISK_SECTORS * 512];
	unsigned requests;
	unsigned max_data_segs;
	uint64_t max_data_bytes; /* the most data one request carried */
	uint32_t last_wz_flags;
	uint8_t force_status; /* 0: behave; else return this status */
};

/*
 * Serves one request on @ctx, a struct fake_disk. Whatever the driver's memory says (a
 * hostile test may rewrite it meanwhile), the disk is never accessed out of its bounds.
 */
uint32_t fake_disk_serve(void *ctx, struct fake_seg *segs, int n);

#endif /* VV_TESTS_FAKE_BLK_H */
