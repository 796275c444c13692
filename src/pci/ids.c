// SPDX-License-Identifier: MIT
/* ids.c - maps PCI identities to virtio device types and their short names. */
#include <errno.h>

#include <virtio-vfio/ids.h>

#include "util/compiler.h"

/* virtio 1.2 section 4.1.2.1: the ID ranges of virtio PCI functions. */
#define VIRTIO_PCI_TRANS_FIRST 0x1000
#define VIRTIO_PCI_TRANS_LAST  0x103f
#define VIRTIO_PCI_MODERN_BASE 0x1040
#define VIRTIO_PCI_MODERN_LAST 0x107f

VV_EXPORT bool vv_pci_is_virtio(uint16_t vendor, uint16_t device)
{
	return vendor == VV_PCI_VENDOR_VIRTIO && device >= VIRTIO_PCI_TRANS_FIRST &&
	       device <= VIRTIO_PCI_MODERN_LAST;
}

VV_EXPORT bool vv_pci_is_transitional(uint16_t device)
{
	return device >= VIRTIO_PCI_TRANS_FIRST && device <= VIRTIO_PCI_TRANS_LAST;
}

VV_EXPORT int vv_pci_virtio_type(uint16_t vendor, uint16_t device, uint16_t subsys_device)
{
	if (!vv_pci_is_virtio(vendor, device))
		return -ENODEV;
	if (device >= VIRTIO_PCI_MODERN_BASE)
		return device - VIRTIO_PCI_MODERN_BASE;
	/* Transitional: the type is in the subsystem device ID (section 4.1.2.1). */
	return subsys_device ? (int)subsys_device : -EINVAL;
}

VV_EXPORT const char *vv_virtio_type_name(int type)
{
	/* Names as in virtio 1.2 section 5 and the Linux/QEMU device names. */
	static const char *const names[] = {
		[1] = "net",	      [2] = "blk",	     [3] = "console",
		[4] = "rng",	      [5] = "balloon",	     [6] = "ioport",
		[7] = "rpmsg",	      [8] = "scsi",	     [9] = "9p",
		[10] = "mac80211",    [11] = "rproc-serial", [12] = "caif",
		[13] = "balloon",     [16] = "gpu",	     [17] = "timer",
		[18] = "input",	      [19] = "vsock",	     [20] = "crypto",
		[21] = "signal-dist", [22] = "pstore",	     [23] = "iommu",
		[24] = "mem",	      [25] = "sound",	     [26] = "fs",
		[27] = "pmem",	      [28] = "rpmb",	     [29] = "mac80211-hwsim",
		[30] = "video-enc",   [31] = "video-dec",    [32] = "scmi",
		[33] = "nitro-sec",   [34] = "i2c",	     [35] = "watchdog",
		[36] = "can",	      [38] = "param-serv",   [39] = "audio-policy",
		[40] = "bt",	      [41] = "gpio",	     [42] = "rdma",
	};

	if (type <= 0 || (unsigned)type >= ARRAY_SIZE(names) || !names[type])
		return "unknown";
	return names[type];
}
