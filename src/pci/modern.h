/* SPDX-License-Identifier: MIT */
/* modern.h - the virtio-pci modern transport (virtio 1.2 section 4.1) over a VFIO device. */
#ifndef VV_PCI_MODERN_H
#define VV_PCI_MODERN_H

#include "core/transport.h"
#include "pci/caps.h"
#include "vfio/vfio.h"

int vpci_modern_open(struct vfio_dev *vdev, struct vpci_caps *ret_caps,
		     struct vv_transport **ret_t);
void vpci_modern_close(struct vv_transport *t);

#endif /* VV_PCI_MODERN_H */
