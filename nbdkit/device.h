/* SPDX-License-Identifier: MIT */
/* device.h - naming and checking the plugin's device; errors go to nbdkit_error(). */
#ifndef VV_NBDKIT_DEVICE_H
#define VV_NBDKIT_DEVICE_H

#define NBD_BDF_LEN 16 /* "dddd:bb:ss.f" and a NUL, with room */

/* nbd_resolve_device() - device=NAME to a PCI address. Return: 0, or -1 having said why. */
int nbd_resolve_device(const char *name, char bdf[NBD_BDF_LEN]);

/* nbd_check_device() - a virtio-blk function bound to vfio-pci? Return: 0, or -1 (said). */
int nbd_check_device(const char *bdf);

/* nbd_open_error() - says why vv_blk_open() failed with @err (-errno). */
void nbd_open_error(const char *bdf, int err);

#endif /* VV_NBDKIT_DEVICE_H */
