// SPDX-License-Identifier: MIT
/* attach.c - `attach` and `detach`: hand virtio functions to vfio-pci and back to the kernel. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <virtio-vfio/ids.h>

#include "cli.h"
#include "pci/bind.h"
#include "pci/inuse.h"
#include "pci/sysfs.h"

extern char **environ;

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
 * Resolves DEVICE to a BDF that exists and is a virtio function; prints why not.
 * Returns 0 or EXIT_FAIL.
 */
int cli_resolve_virtio(const char *arg, char bdf[PCI_BDF_LEN])
{
	unsigned vendor, device;

	if (pci_bdf_parse(arg, bdf)) {
		cli_err("'%s' is not a PCI address (expected 0000:00:05.0 or 00:05.0)", arg);
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
static int virtio_type(const char *bdf)
{
	unsigned vendor, device, subsys;

	if (read_hex(bdf, "vendor", &vendor) || read_hex(bdf, "device", &device) ||
	    read_hex(bdf, "subsystem_device", &subsys))
		return -1;
	return vv_pci_virtio_type((uint16_t)vendor, (uint16_t)device, (uint16_t)subsys);
}

/*
 * Resolves DEVICE to a virtio function of @type bound to vfio-pci, or says what is wrong and
 * how to fix it (@purpose says why the type matters). Returns 0 or EXIT_FAIL.
 */
int cli_attached_device(const char *arg, int type, const char *purpose, char bdf[PCI_BDF_LEN])
{
	char drv[64];
	int got;

	if (cli_resolve_virtio(arg, bdf))
		return EXIT_FAIL;
	got = virtio_type(bdf);
	if (got >= 0 && got != type) {
		cli_err("%s is a virtio %s device, not %s: %s", bdf, vv_virtio_type_name(got),
			vv_virtio_type_name(type), purpose);
		return EXIT_FAIL;
	}
	if (pci_sysfs_driver(NULL, bdf, drv, sizeof(drv)) == 0 && strcmp(drv, "vfio-pci")) {
		cli_err("%s is bound to %s, not vfio-pci: run '%s attach %s' first", bdf,
			*drv ? drv : "no driver", prog, bdf);
		return EXIT_FAIL;
	}
	return 0;
}

/* The function, and every other function of its IOMMU group, must be unused. */
static int check_unused(const char *bdf, bool force)
{
	char reason[256], dir[PATH_MAX];
	int group, ret;
	struct dirent *de;
	DIR *d;

	ret = pci_dev_in_use(NULL, bdf, reason, sizeof(reason));
	if (ret > 0) {
		if (force) {
			fprintf(stderr, "%s: warning: %s: in use: %s; going on (--force)\n", prog,
				bdf, reason);
			return 0;
		}
		cli_err("%s is in use: %s; refusing (--force overrides)", bdf, reason);
		return EXIT_FAIL;
	}
	group = pci_sysfs_iommu_group(NULL, bdf);
	if (group < 0)
		return 0; /* reported later, with the fix */
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", group);
	d = opendir(dir);
	if (!d)
		return 0;
	ret = 0;
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, bdf))
			continue;
		if (pci_dev_in_use(NULL, de->d_name, reason, sizeof(reason)) > 0 && !force) {
			cli_err("%s shares IOMMU group %d with %s, which is in use: %s; refusing",
				bdf, group, de->d_name, reason);
			ret = EXIT_FAIL;
		}
	}
	closedir(d);
	return ret;
}

static void load_vfio_pci(void)
{
	static char arg0[] = "modprobe", arg1[] = "vfio-pci";
	char *const argv[] = {arg0, arg1, NULL};
	pid_t pid;
	int status;

	if (!access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		return;
	if (posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ) == 0)
		waitpid(pid, &status, 0);
}

static int attach_one(const char *arg, bool force)
{
	char bdf[PCI_BDF_LEN], orig[64], why[256];
	int ret, group;

	ret = cli_resolve_virtio(arg, bdf);
	if (ret)
		return ret;
	if (pci_sysfs_driver(NULL, bdf, orig, sizeof(orig))) {
		cli_err("%s: cannot read its driver from sysfs", bdf);
		return EXIT_FAIL;
	}
	group = pci_sysfs_iommu_group(NULL, bdf);
	if (!strcmp(orig, "vfio-pci")) {
		printf("%s: already attached (vfio-pci, /dev/vfio/%d)\n", bdf, group);
		return 0;
	}
	ret = check_unused(bdf, force);
	if (ret)
		return ret;
	if (group < 0) {
		cli_err("%s: in no IOMMU group: boot with an IOMMU on (intel_iommu=on; QEMU: "
			"-device intel-iommu,intremap=on first); see '%s doctor'",
			bdf, prog);
		return EXIT_FAIL;
	}
	if (pci_group_blockers(bdf, why, sizeof(why)) > 0) {
		cli_err("%s: %s; VFIO needs the whole group: attach it too", bdf, why);
		return EXIT_FAIL;
	}
	load_vfio_pci();
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK)) {
		cli_err("vfio-pci is not available: modprobe vfio-pci failed");
		return EXIT_FAIL;
	}
	/* Record first: if we die between unbind and bind, detach still knows the way back. */
	if (*orig && pci_state_save_driver(bdf, orig))
		fprintf(stderr, "%s: warning: cannot record the original driver in %s\n", prog,
			VV_STATE_DIR);
	ret = pci_bind_driver(bdf, "vfio-pci");
	if (ret) {
		cli_err("%s: binding to vfio-pci failed: %s", bdf, strerror(-ret));
		if (*orig && pci_bind_driver(bdf, orig) == 0)
			pci_clear_override(bdf);
		pci_state_forget(bdf);
		return EXIT_FAIL;
	}
	printf("%s: attached (was %s), /dev/vfio/%d\n", bdf, *orig ? orig : "unbound", group);
	return 0;
}

static int detach_one(const char *arg, bool force)
{
	char bdf[PCI_BDF_LEN], cur[64], orig[64], reason[256];
	struct kname names[PCI_MAX_KNAMES];
	int ret, n;

	ret = cli_resolve_virtio(arg, bdf);
	if (ret)
		return ret;
	if (pci_sysfs_driver(NULL, bdf, cur, sizeof(cur))) {
		cli_err("%s: cannot read its driver from sysfs", bdf);
		return EXIT_FAIL;
	}
	if (strcmp(cur, "vfio-pci")) {
		printf("%s: not attached (driver: %s)\n", bdf, *cur ? cur : "none");
		return 0;
	}
	if (pci_dev_in_use(NULL, bdf, reason, sizeof(reason)) > 0) {
		if (!force) {
			cli_err("%s is in use: %s; refusing (--force overrides)", bdf, reason);
			return EXIT_FAIL;
		}
		fprintf(stderr, "%s: warning: %s: %s; going on (--force)\n", prog, bdf, reason);
	}
	if (pci_state_load_driver(bdf, orig, sizeof(orig)))
		snprintf(orig, sizeof(orig), "virtio-pci");
	ret = pci_bind_driver(bdf, orig);
	pci_clear_override(bdf);
	if (ret) {
		cli_err("%s: giving it back to %s failed: %s", bdf, orig, strerror(-ret));
		return EXIT_FAIL;
	}
	pci_state_forget(bdf);
	printf("%s: detached, back on %s", bdf, orig);
	n = pci_sysfs_knames(NULL, bdf, names, PCI_MAX_KNAMES);
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " (", names[i].name);
	printf("%s\n", n > 0 ? ")" : "");
	return 0;
}

static void usage(FILE *out, const char *cmd)
{
	if (!strcmp(cmd, "attach"))
		fprintf(out,
			"Usage: %s attach [--force] DEVICE...\n"
			"\n"
			"Take virtio PCI functions from their kernel driver and bind them to vfio-pci,\n"
			"so that a virtio-vfio program can drive them. DEVICE is a PCI address such as\n"
			"0000:00:05.0 or 00:05.0. Refuses a function the system uses (a mounted disk,\n"
			"swap, an up interface, a mounted 9p share) or whose IOMMU group holds one;\n"
			"already attached functions are left as they are.\n"
			"\n"
			"Options:\n"
			"  -f, --force  attach even if in use (the kernel loses the device at once)\n"
			"  -h, --help   show this help\n",
			prog);
	else
		fprintf(out,
			"Usage: %s detach [--force] DEVICE...\n"
			"\n"
			"Give attached functions back to the driver they had before attach (virtio-pci\n"
			"if unknown). Refuses while a process holds the device's VFIO group open.\n"
			"\n"
			"Options:\n"
			"  -f, --force  detach even while a process uses it\n"
			"  -h, --help   show this help\n",
			prog);
}

static int run(int argc, char **argv, const char *cmd, int (*one)(const char *, bool))
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool force = false;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			usage(stdout, cmd);
			return EXIT_OK;
		default:
			usage(stderr, cmd);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("%s: no DEVICE given", cmd);
		usage(stderr, cmd);
		return EXIT_USAGE;
	}
	if (geteuid() != 0)
		fprintf(stderr, "%s: warning: not root: sysfs writes will likely be refused\n",
			prog);
	for (int i = optind; i < argc; i++)
		if (one(argv[i], force))
			ret = EXIT_FAIL;
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	return run(argc, argv, "attach", attach_one);
}

int cmd_detach(int argc, char **argv)
{
	return run(argc, argv, "detach", detach_one);
}
