/* SPDX-License-Identifier: MIT */
/*
 * device.h - opening a vv_device on a transport someone else made: the PCI transport in
 * vv_device_open(), a fake device in the tests.
 */
#ifndef VV_CORE_DEVICE_H
#define VV_CORE_DEVICE_H

#include <virtio-vfio/device.h>

#include "core/transport.h"

/*
 * Takes @t through reset, ACKNOWLEDGE and DRIVER, like vv_device_open(). The device owns
 * @t from then on, also on failure: vv_device_close() (or the failure) closes it.
 */
int device_open_transport(struct vv_transport *t, struct vv_device **ret_dev);

#endif /* VV_CORE_DEVICE_H */
