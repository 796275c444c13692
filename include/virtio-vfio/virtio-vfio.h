/* SPDX-License-Identifier: MIT */
/*
 * virtio-vfio.h - the whole public API of libvirtio-vfio in one include.
 *
 * Conventions of every header here: handles are opaque; a fallible call returns 0 (or a
 * non-negative count) on success and a negative errno on failure, never setting errno as
 * its way to report; the library never prints unless asked (see log.h) and never exits.
 */
#ifndef VIRTIO_VFIO_H
#define VIRTIO_VFIO_H

#include <virtio-vfio/blk.h>
#include <virtio-vfio/device.h>
#include <virtio-vfio/ids.h>
#include <virtio-vfio/log.h>
#include <virtio-vfio/mem.h>
#include <virtio-vfio/net.h>
#include <virtio-vfio/version.h>
#include <virtio-vfio/vq.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vv_version() - the library's version string, e.g. "0.1.0".
 *
 * Compare it with VV_VERSION of the headers a program was built with (version.h) when that
 * matters.
 *
 * Context: any.
 * Return: a static string, never NULL.
 */
const char *vv_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_H */
