/* SPDX-License-Identifier: MIT */
/*
 * ids.h - virtio device types and their PCI identities.
 *
 * virtio 1.2 section 4.1.2: a virtio PCI function has vendor 0x1af4. Modern functions use
 * device ID 0x1040 + type (0x1040-0x107f); transitional functions use 0x1000-0x103f and
 * carry the type in the PCI subsystem device ID.
 *
 * Thread safety: every function here is pure and may be called from any thread.
 */
#ifndef VIRTIO_VFIO_IDS_H
#define VIRTIO_VFIO_IDS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VV_PCI_VENDOR_VIRTIO 0x1af4

/* Device types of virtio 1.2 section 5, by the names the kernel and QEMU use. */
enum vv_virtio_type {
	VV_VIRTIO_NET = 1,
	VV_VIRTIO_BLK = 2,
	VV_VIRTIO_CONSOLE = 3,
	VV_VIRTIO_RNG = 4,
	VV_VIRTIO_BALLOON = 5,
	VV_VIRTIO_SCSI = 8,
	VV_VIRTIO_9P = 9,
	VV_VIRTIO_GPU = 16,
	VV_VIRTIO_INPUT = 18,
	VV_VIRTIO_VSOCK = 19,
	VV_VIRTIO_CRYPTO = 20,
	VV_VIRTIO_IOMMU = 23,
	VV_VIRTIO_MEM = 24,
	VV_VIRTIO_FS = 26,
	VV_VIRTIO_PMEM = 27,
};

/**
 * vv_pci_is_virtio() - whether a PCI identity is a virtio function.
 * @vendor: PCI vendor ID.
 * @device: PCI device ID.
 *
 * Context: any.
 * Return: true for vendor 0x1af4 with device 0x1000-0x107f.
 */
bool vv_pci_is_virtio(uint16_t vendor, uint16_t device);

/**
 * vv_pci_is_transitional() - whether a virtio PCI function is transitional (has a legacy
 * interface next to the modern one).
 * @device: PCI device ID of a virtio function.
 *
 * Context: any.
 * Return: true for device IDs 0x1000-0x103f.
 */
bool vv_pci_is_transitional(uint16_t device);

/**
 * vv_pci_virtio_type() - the virtio device type of a PCI function.
 * @vendor: PCI vendor ID.
 * @device: PCI device ID.
 * @subsys_device: PCI subsystem device ID; only used for transitional functions.
 *
 * Context: any.
 * Return: the device type (> 0), -ENODEV if the function is not virtio, -EINVAL if a
 * transitional function's subsystem ID names no type (0).
 */
int vv_pci_virtio_type(uint16_t vendor, uint16_t device, uint16_t subsys_device);

/**
 * vv_virtio_type_name() - short name of a virtio device type.
 * @type: a virtio device type ID.
 *
 * Context: any.
 * Return: a static string such as "blk", "net", "9p"; "unknown" for IDs without a name.
 * Never NULL.
 */
const char *vv_virtio_type_name(int type);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_IDS_H */
