/* SPDX-License-Identifier: MIT */
/*
 * pci_transport.h - the virtio-pci transport as the core opens it: a function bound to
 * vfio-pci, by address. All the core sees of it; nothing of VFIO comes with it.
 */
#ifndef VV_PCI_PCI_TRANSPORT_H
#define VV_PCI_PCI_TRANSPORT_H

#include "core/transport.h"

/*
 * Opens the function at @bdf ("0000:00:05.0" or "00:05.0") through VFIO: a virtio device,
 * reset (FLR where it has one), Bus Master on, its capabilities checked and its registers
 * mapped. Logs the reason of any failure. Returns 0 or the errnos of vv_device_open().
 */
int vpci_open(const char *bdf, struct vv_transport **ret_t);

#endif /* VV_PCI_PCI_TRANSPORT_H */
