// SPDX-License-Identifier: MIT
/*
 * device.c - what device=NAME names, and whether the plugin may drive it: a virtio-blk
 * function bound to vfio-pci. Says what is wrong, and how to fix it, through nbdkit_error()
 * with the words the virtio-vfio tool uses for the same mistakes.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nbdkit-plugin.h>

#include <virtio-vfio/ids.h>

#include "device.h"
#include "host/names.h"
#include "util/sysfs.h"

/*
 * The one place that turns a name into a PCI address. Today: a PCI address, with or without
 * its domain (0000:00:05.0 or 00:05.0), hex digits only, since it ends up in sysfs paths.
 */
_Static_assert(NBD_BDF_LEN >= PCI_BDF_LEN, "a BDF fits");

int nbd_resolve_device(const char *name, char bdf[NBD_BDF_LEN])
{
	char why[320];

	/* Any name the CLI takes: a PCI address, vda, serial:SERIAL, a MAC (host/names.h). */
	if (pci_name_resolve(NULL, name, bdf, why, sizeof(why))) {
		nbdkit_error("device=%s: %s (see 'virtio-vfio list')", name, why);
		return -1;
	}
	return 0;
}

static int read_hex(const char *bdf, const char *attr, unsigned *ret)
{
	char path[PATH_MAX], buf[32];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	*ret = (unsigned)strtoul(buf, NULL, 16);
	return 0;
}

int nbd_check_device(const char *bdf)
{
	unsigned vendor = 0, device = 0, subsys = 0;
	char path[PATH_MAX], drv[PATH_MAX];
	const char *name;
	ssize_t n;
	int type;

	if (read_hex(bdf, "vendor", &vendor) == -ENOENT) {
		nbdkit_error("%s: no such PCI device (see 'virtio-vfio list')", bdf);
		return -1;
	}
	if (read_hex(bdf, "vendor", &vendor) || read_hex(bdf, "device", &device) ||
	    read_hex(bdf, "subsystem_device", &subsys)) {
		nbdkit_error("%s: cannot read its IDs from sysfs", bdf);
		return -1;
	}
	if (!vv_pci_is_virtio((uint16_t)vendor, (uint16_t)device)) {
		nbdkit_error("%s: %04x:%04x is not a virtio device; refusing", bdf, vendor, device);
		return -1;
	}
	type = vv_pci_virtio_type((uint16_t)vendor, (uint16_t)device, (uint16_t)subsys);
	if (type != VV_VIRTIO_BLK) {
		nbdkit_error("%s is a virtio %s device, not blk: nbdkit serves disks", bdf,
			     vv_virtio_type_name(type));
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, drv, sizeof(drv) - 1);
	drv[n > 0 ? n : 0] = '\0';
	name = strrchr(drv, '/') ? strrchr(drv, '/') + 1 : drv;
	if (strcmp(name, "vfio-pci")) {
		nbdkit_error("%s is bound to %s, not vfio-pci: run 'virtio-vfio attach %s' first",
			     bdf, *name ? name : "no driver", bdf);
		return -1;
	}
	return 0;
}

void nbd_open_error(const char *bdf, int err)
{
	switch (err) {
	case -EBUSY:
		nbdkit_error("%s is in use by another process; a device serves one process at a "
			     "time (see 'virtio-vfio list')",
			     bdf);
		break;
	case -EACCES:
	case -EPERM:
		nbdkit_error("%s: permission denied: run as root, or give this user "
			     "/dev/vfio/<group> and 'ulimit -l' (see 'virtio-vfio doctor %s')",
			     bdf, bdf);
		break;
	case -ENOMEM:
		nbdkit_error("%s: out of memory for DMA buffers: raise 'ulimit -l' or run as root",
			     bdf);
		break;
	default:
		nbdkit_error("%s: cannot open the device: %s", bdf, strerror(-err));
	}
}
