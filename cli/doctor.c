// SPDX-License-Identifier: MIT
/* doctor.c - `virtio-vfio doctor`: checks everything VFIO needs and prints the fix for each gap. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "json.h"
#include "host/bind.h"
#include "pci/caps.h"
#include "util/memlock.h"

struct tally {
	int fail, warn;
	struct json *json; /* --json: each check is an element of "checks" */
};

VV_PRINTF(3, 4) static void report(struct tally *t, const char *level, const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "FAIL"))
		t->fail++;
	else if (!strcmp(level, "warn"))
		t->warn++;
	if (t->json) {
		char msg[1024];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		json_obj_begin(t->json);
		json_kv_str(t->json, "level", !strcmp(level, "FAIL") ? "fail" : level);
		json_kv_str(t->json, "message", msg);
		json_obj_end(t->json);
		return;
	}
	printf("[%-4s] ", level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = de->d_name[0] != '.';
	closedir(d);
	return found;
}

static bool file_contains(const char *path, const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/*
 * What blk mount pins for one device with one queue (fuse/export_int.h, src/devs/blk.c):
 * 32 FUSE buffers of 1 MiB + 12 KiB per worker (queue), whatever the number of devices; per
 * device a 1 MiB bounce buffer, 1 MiB of zeroes without WRITE_ZEROES, the ring and its
 * request headers (measured: 34,456 kB with WRITE_ZEROES). blk bench and net serve need
 * less than 8 MiB.
 */
#define MOUNT_NEED_MIB 34

/* VFIO type1 counts pinned DMA memory against RLIMIT_MEMLOCK, unless CAP_IPC_LOCK. */
static void check_memlock(struct tally *t)
{
	struct memlock m;
	int ret = memlock_get(&m);

	if (ret)
		report(t, "warn", "cannot read RLIMIT_MEMLOCK and VmLck: %s", strerror(-ret));
	else if (m.cap_ipc_lock)
		report(t, "ok", "CAP_IPC_LOCK (root): DMA memory can be pinned without limit");
	else if (m.unlimited)
		report(t, "ok", "RLIMIT_MEMLOCK is unlimited: DMA memory can be pinned");
	else if (m.limit < (64ULL << 20))
		report(t, "warn",
		       "RLIMIT_MEMLOCK is %llu KiB and VFIO counts DMA memory against it: "
		       "blk mount needs about %d MiB for a disk (33 more per queue, 2 more per "
		       "disk), blk bench and net serve under 8 MiB: ulimit -l 65536 or more "
		       "(memlock in limits.conf)",
		       (unsigned long long)m.limit >> 10, MOUNT_NEED_MIB);
	else
		report(t, "ok",
		       "RLIMIT_MEMLOCK is %llu KiB: enough for blk mount of one device (about "
		       "%d MiB for a disk, 33 more per queue, 2 more per disk)",
		       (unsigned long long)m.limit >> 10, MOUNT_NEED_MIB);
}

static void check_system(struct tally *t)
{
	char val[16];

	if (dir_has_entries("/sys/class/iommu"))
		report(t, "ok", "an IOMMU is present and enabled");
	else
		report(t, "FAIL", "no IOMMU is enabled: " CLI_IOMMU_HOWTO);

	if (file_contains("/proc/interrupts", "IR-"))
		report(t, "ok", "interrupt remapping is active");
	else if (sysfs_read("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", val,
			    sizeof(val)) > 0 &&
		 val[0] == 'Y')
		report(t, "warn",
		       "no interrupt remapping; allow_unsafe_interrupts=Y lets a device "
		       "forge interrupts");
	else
		report(t, "warn",
		       "no interrupt remapping seen: VFIO type1 will refuse devices "
		       "(QEMU: intel-iommu,intremap=on with -machine kernel-irqchip=split)");

	if (!access("/sys/bus/pci/drivers/vfio-pci", F_OK) &&
	    !access("/sys/module/vfio_iommu_type1", F_OK))
		report(t, "ok", "vfio-pci and vfio_iommu_type1 are loaded");
	else
		report(t, "FAIL", "VFIO modules missing: " CLI_VFIO_HOWTO);

	if (!access("/dev/vfio/vfio", R_OK | W_OK))
		report(t, "ok", "/dev/vfio/vfio is accessible");
	else
		report(t, "FAIL", "/dev/vfio/vfio: %s (modprobe vfio; check permissions)",
		       strerror(errno));

	check_memlock(t);
}

/* BAR sizes from sysfs "resource": one "start end flags" line per resource. */
static void bar_sizes(const char *bdf, uint64_t size[PCI_NUM_BARS])
{
	char path[PATH_MAX];
	unsigned long long s, e, fl;
	FILE *f;

	memset(size, 0, PCI_NUM_BARS * sizeof(size[0]));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "re");
	if (!f)
		return;
	for (int i = 0; i < PCI_NUM_BARS && fscanf(f, "%llx %llx %llx", &s, &e, &fl) == 3; i++)
		size[i] = e > s ? e - s + 1 : 0;
	fclose(f);
}

/* Whether the device offers ACCESS_PLATFORM, as far as the kernel's driver saw it. */
static int access_platform(const char *bdf)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], bits[80];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", bdf);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "virtio", 6))
			continue;
		/* "features": the negotiated bits as '0'/'1' characters, bit 0 first. */
		snprintf(path, sizeof(path), "%s/%s/features", dir, de->d_name);
		if (sysfs_read(path, bits, sizeof(bits)) > 33)
			ret = bits[33] == '1';
	}
	closedir(d);
	return ret;
}

static void check_device(struct tally *t, const char *bdf)
{
	char drv[64], why[256], path[64];
	uint8_t cfg[256];
	uint64_t bars[PCI_NUM_BARS];
	struct vpci_caps caps;
	int group, fd, ap;
	ssize_t n;

	group = pci_sysfs_iommu_group(NULL, bdf);
	if (group < 0) {
		report(t, "FAIL", "%s is in no IOMMU group (see the IOMMU check above)", bdf);
		return;
	}
	report(t, "ok", "%s is in IOMMU group %d", bdf, group);
	if (pci_group_blockers(bdf, why, sizeof(why)) > 0)
		report(t, "FAIL", "group %d is not viable: %s; attach every device of the group",
		       group, why);
	else
		report(t, "ok", "group %d is viable (no other device bound to a host driver)",
		       group);

	pci_sysfs_driver(NULL, bdf, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci")) {
		snprintf(path, sizeof(path), "/dev/vfio/%d", group);
		if (!access(path, R_OK | W_OK))
			report(t, "ok", "bound to vfio-pci; %s is accessible", path);
		else
			report(t, "FAIL",
			       "bound to vfio-pci but %s: %s (as root: '%s attach --owner USER "
			       "%s' gives it to USER)",
			       path, strerror(errno), prog, bdf);
	} else {
		report(t, "info", "bound to %s: run '%s attach %s' to use it",
		       *drv ? drv : "nothing", prog, bdf);
		ap = access_platform(bdf);
		if (ap == 1)
			report(t, "ok", "the device uses the IOMMU (VIRTIO_F_ACCESS_PLATFORM)");
		else if (ap == 0)
			report(t, "FAIL",
			       "the device lacks VIRTIO_F_ACCESS_PLATFORM and would bypass "
			       "the IOMMU (QEMU: iommu_platform=on,disable-legacy=on)");
	}

	/* Config space beyond 64 bytes needs root; the capability walk needs it. */
	snprintf(why, sizeof(why), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(why, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, cfg, sizeof(cfg)) : -1;
	if (fd >= 0)
		close(fd);
	if (n < (ssize_t)sizeof(cfg)) {
		report(t, "warn",
		       "cannot read config space past 64 bytes: run as root for the "
		       "capability checks");
		return;
	}
	bar_sizes(bdf, bars);
	if (vpci_caps_parse(cfg, sizeof(cfg), bars, &caps, why, sizeof(why))) {
		report(t, "FAIL", "virtio capabilities: %s", why);
		return;
	}
	report(t, "ok", "virtio 1.x capabilities found (common BAR%u, notify BAR%u)",
	       caps.common.bar, caps.notify.bar);
	if (caps.msix.present && caps.msix.table_size >= 2)
		report(t, "ok", "%u MSI-X vectors (one for config, %u for queues)",
		       caps.msix.table_size, caps.msix.table_size - 1);
	else if (caps.msix.present)
		report(t, "warn", "only 1 MSI-X vector: config and queues share it");
	else
		report(t, "warn", "no MSI-X: completions will be polled");
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s doctor [--json] [DEVICE]\n"
		"\n"
		"Check what driving devices through VFIO needs: IOMMU, interrupt remapping, VFIO\n"
		"modules, /dev/vfio access, memlock limits; with DEVICE also its IOMMU group,\n"
		"driver, ACCESS_PLATFORM and MSI-X vectors. Prints the fix for each problem.\n"
		"Exit status 1 if any check failed.\n"
		"\n"
		"Options:\n"
		"  --json         the checks as JSON (virtio-vfio(1), JSON OUTPUT)\n"
		"  -v, --verbose  log what the library does\n"
		"  -h, --help     show this help\n",
		prog);
}

int cmd_doctor(int argc, char **argv)
{
	struct tally t = {0};
	char bdf[PCI_BDF_LEN];
	struct json j;
	bool json;
	int c;

	c = cli_parse_json_help(argc, argv, usage, &json);
	if (c >= 0)
		return c;
	if (argc - optind > 1) {
		cli_err("doctor: at most one DEVICE");
		return EXIT_USAGE;
	}
	/* Resolved first, so that a bad DEVICE leaves stdout empty. */
	if (optind < argc) {
		int ret = cli_resolve_virtio(argv[optind], bdf);

		if (ret)
			return ret;
	}
	if (json) {
		t.json = &j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_int(&j, "version", CLI_JSON_SCHEMA);
		json_kv_str(&j, "device", optind < argc ? bdf : NULL);
		json_key(&j, "checks");
		json_arr_begin(&j);
	}
	check_system(&t);
	if (optind < argc)
		check_device(&t, bdf);
	if (json) {
		json_arr_end(&j);
		json_kv_int(&j, "problems", t.fail);
		json_kv_int(&j, "warnings", t.warn);
		json_obj_end(&j);
	} else {
		printf("\n%d problem%s, %d warning%s\n", t.fail, t.fail == 1 ? "" : "s", t.warn,
		       t.warn == 1 ? "" : "s");
	}
	return t.fail ? EXIT_FAIL : EXIT_OK;
}
