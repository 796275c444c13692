/* SPDX-License-Identifier: MIT */
/*
 * blk_dev.h - the virtio-blk driver on a device opened by someone else: vv_blk_open() opens
 * a PCI function and calls it; the tests call it on a fake device.
 */
#ifndef VV_DEVS_BLK_DEV_H
#define VV_DEVS_BLK_DEV_H

#include <virtio-vfio/blk.h>
#include <virtio-vfio/device.h>

/* vv_blk_open() on @dev, which it owns from now on, also on failure. */
int blk_open_device(struct vv_device *dev, unsigned num_queues, struct vv_blk **ret_blk);

#endif /* VV_DEVS_BLK_DEV_H */
