// SPDX-License-Identifier: MIT
/*
 * device.c - what the subcommands share about the DEVICE they are given: a virtio function
 * that exists, of the right type, attached, and driven by no other process.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-vfio/ids.h>

#include "cli.h"
#include "host/inuse.h"
#include "host/names.h"
#include "util/sysfs.h"

static int read_hex(const char *bdf, const char *attr, unsigned *ret)
{
	char path[PATH_MAX], buf[16];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	if (sysfs_read(path, buf, sizeof(buf)) <= 0)
		return -EIO;
	*ret = (unsigned)strtoul(buf, NULL, 16);
	return 0;
}

/*
 * Resolves DEVICE (a PCI address, kernel name, serial:SERIAL or MAC: host/names.h) to a BDF
 * that exists and is a virtio function; prints why not. Returns 0, EXIT_USAGE when DEVICE
 * is no name at all, or EXIT_FAIL.
 */
int cli_resolve_virtio(const char *arg, char bdf[PCI_BDF_LEN])
{
	unsigned vendor, device;
	char why[320];
	int ret = pci_name_resolve(NULL, arg, bdf, why, sizeof(why));

	if (ret == -EINVAL) {
		cli_err("%s", why);
		return EXIT_USAGE;
	}
	if (ret == -ENOENT) {
		cli_err("%s (see '%s list')", why, prog);
		return EXIT_FAIL;
	}
	if (ret) {
		cli_err("%s", why);
		return EXIT_FAIL;
	}
	if (pci_sysfs_exists(NULL, bdf)) {
		cli_err("%s: no such PCI device (see '%s list')", bdf, prog);
		return EXIT_FAIL;
	}
	if (read_hex(bdf, "vendor", &vendor) || read_hex(bdf, "device", &device)) {
		cli_err("%s: cannot read its IDs from sysfs", bdf);
		return EXIT_FAIL;
	}
	if (!vv_pci_is_virtio((uint16_t)vendor, (uint16_t)device)) {
		cli_err("%s: %04x:%04x is not a virtio device; refusing", bdf, vendor, device);
		return EXIT_FAIL;
	}
	return 0;
}

/* The virtio type of a function cli_resolve_virtio() accepted, or -1 when sysfs won't say. */
int cli_virtio_type(const char *bdf)
{
	unsigned vendor, device, subsys;

	if (read_hex(bdf, "vendor", &vendor) || read_hex(bdf, "device", &device) ||
	    read_hex(bdf, "subsystem_device", &subsys))
		return -1;
	return vv_pci_virtio_type((uint16_t)vendor, (uint16_t)device, (uint16_t)subsys);
}

/*
 * Resolves DEVICE to a virtio function of @type (0: any) bound to vfio-pci that no other
 * process drives, or says what is wrong and how to fix it (@purpose says why the type
 * matters; @busy_hint, if any, is added to the in-use message). Returns 0, EXIT_USAGE or
 * EXIT_FAIL.
 */
int cli_attached_device(const char *arg, int type, const char *purpose, const char *busy_hint,
			char bdf[PCI_BDF_LEN])
{
	struct pci_user user;
	char drv[64];
	int got;

	int ret = cli_resolve_virtio(arg, bdf);

	if (ret)
		return ret;
	got = cli_virtio_type(bdf);
	if (type > 0 && got >= 0 && got != type) {
		cli_err("%s is a virtio %s device, not %s: %s", bdf, vv_virtio_type_name(got),
			vv_virtio_type_name(type), purpose);
		return EXIT_FAIL;
	}
	if (pci_sysfs_driver(NULL, bdf, drv, sizeof(drv)) == 0 && strcmp(drv, "vfio-pci")) {
		cli_err("%s is bound to %s, not vfio-pci: run '%s attach %s' first", bdf,
			*drv ? drv : "no driver", prog, bdf);
		return EXIT_FAIL;
	}
	/* Say who has it now: opening it could only say -EBUSY. */
	if (pci_dev_in_use(NULL, bdf, &user) > 0) {
		cli_err("%s is in use: %s; a device serves one process at a time%s%s", bdf,
			user.what, busy_hint ? " " : "", busy_hint ? busy_hint : "");
		return EXIT_FAIL;
	}
	return 0;
}
