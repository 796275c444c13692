/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - the transport-independent part of driving a virtio device: reset, the status
 * sequence, feature negotiation and consistent reads of device configuration.
 */
#ifndef VV_CORE_VIRTIO_H
#define VV_CORE_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>

#include "core/transport.h"

int virtio_reset(struct vv_transport *t);
void virtio_add_status(struct vv_transport *t, uint8_t bits);
void virtio_fail(struct vv_transport *t);
int virtio_negotiate(struct vv_transport *t, uint64_t driver_features, uint64_t *ret_features);
int virtio_config_read(struct vv_transport *t, unsigned off, void *buf, size_t len);
bool virtio_needs_reset(struct vv_transport *t);

/* Feature bits every virtio-vfio driver requires: virtio 1.x, and DMA through the IOMMU. */
#define VIRTIO_REQUIRED_FEATURES ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM))

#endif /* VV_CORE_VIRTIO_H */
