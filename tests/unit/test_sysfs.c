// SPDX-License-Identifier: MIT
/*
 * test_sysfs.c - BDF parsing, and driver / IOMMU group / kernel names / in-use detection
 * against a fake /sys and /proc tree built in a temporary directory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pci/inuse.h"
#include "pci/sysfs.h"

#define BLK   "0000:00:03.0"
#define NET   "0000:01:00.0"
#define NINEP "0000:00:02.0"
#define VFIO  "0000:02:00.0"
#define BARE  "0000:03:00.0"
#define STUB  "0000:04:00.0"

static char root[PATH_MAX];

static void mkdir_p(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void put(const char *rel, const char *content)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

static void put_mountinfo(const char *lines)
{
	put("proc/self/mountinfo", lines);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "%s/vv-sysfs-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	assert_non_null(mkdtemp(root));

	/* virtio-blk with a partition */
	mkdir_p("sys/bus/pci/devices/" BLK "/virtio2/block/vda");
	link_to("sys/bus/pci/devices/" BLK "/driver", "../../../bus/pci/drivers/virtio-pci");
	link_to("sys/bus/pci/devices/" BLK "/iommu_group", "../../../kernel/iommu_groups/7");
	mkdir_p("sys/class/block/vda/vda1");
	mkdir_p("sys/class/block/vda/holders");
	put("sys/class/block/vda/dev", "254:0\n");
	put("sys/class/block/vda/vda1/partition", "1\n");
	mkdir_p("sys/class/block/vda1/holders");
	put("sys/class/block/vda1/dev", "254:1\n");

	/* virtio-net */
	mkdir_p("sys/bus/pci/devices/" NET "/virtio3/net/eth1");
	link_to("sys/bus/pci/devices/" NET "/driver", "../../../bus/pci/drivers/virtio-pci");
	mkdir_p("sys/class/net/eth1");
	put("sys/class/net/eth1/flags", "0x1002\n");

	/* virtio-9p, its tag NUL-padded as the kernel shows it */
	mkdir_p("sys/bus/pci/devices/" NINEP "/virtio0");
	link_to("sys/bus/pci/devices/" NINEP "/virtio0/driver",
		"../../../../bus/virtio/drivers/9pnet_virtio");
	put("sys/bus/pci/devices/" NINEP "/virtio0/mount_tag", "hostroot");

	/* bound to vfio-pci, group 12 */
	mkdir_p("sys/bus/pci/devices/" VFIO);
	link_to("sys/bus/pci/devices/" VFIO "/driver", "../../../bus/pci/drivers/vfio-pci");
	link_to("sys/bus/pci/devices/" VFIO "/iommu_group", "../../../kernel/iommu_groups/12");

	/* no driver, no group */
	mkdir_p("sys/bus/pci/devices/" BARE);

	mkdir_p("proc/self");
	put_mountinfo("22 1 0:21 / /proc rw,nosuid - proc proc rw\n");
	put("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	mkdir_p("proc/4242/fd");
	put("proc/4242/comm", "qemu-fake\n");
	link_to("proc/4242/fd/0", "/dev/null");
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_bdf_parse(void **state)
{
	char bdf[PCI_BDF_LEN];

	assert_int_equal(pci_bdf_parse("0000:00:05.0", bdf), 0);
	assert_string_equal(bdf, "0000:00:05.0");
	assert_int_equal(pci_bdf_parse("00:05.0", bdf), 0);
	assert_string_equal(bdf, "0000:00:05.0");
	assert_int_equal(pci_bdf_parse("0001:3A:1f.7", bdf), 0);
	assert_string_equal(bdf, "0001:3a:1f.7");

	static const char *const bad[] = {
		"",
		"0:5.0",
		"00:05",
		"00:05.8",
		"00:20.0",
		"0000:00:05.0x",
		"../../etc/x",
		"00:05.0/../x",
		"0000-00:05.0",
		"g0:05.0",
		" 00:05.0",
		"0000:00:5.00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pci_bdf_parse(bad[i], bdf), -EINVAL);
	assert_int_equal(pci_bdf_parse(NULL, bdf), -EINVAL);
}

static void test_driver_and_group(void **state)
{
	char drv[64];

	assert_int_equal(pci_sysfs_driver(root, BLK, drv, sizeof(drv)), 0);
	assert_string_equal(drv, "virtio-pci");
	assert_int_equal(pci_sysfs_driver(root, BARE, drv, sizeof(drv)), 0);
	assert_string_equal(drv, "");
	assert_int_equal(pci_sysfs_iommu_group(root, BLK), 7);
	assert_int_equal(pci_sysfs_iommu_group(root, VFIO), 12);
	assert_int_equal(pci_sysfs_iommu_group(root, BARE), -ENOENT);
	assert_int_equal(pci_sysfs_exists(root, BLK), 0);
	assert_int_equal(pci_sysfs_exists(root, "0000:09:00.0"), -ENOENT);
	assert_int_equal(pci_sysfs_virtio_driver(root, NINEP, drv, sizeof(drv)), 0);
	assert_string_equal(drv, "9pnet_virtio");
	assert_int_equal(pci_sysfs_virtio_driver(root, BARE, drv, sizeof(drv)), -ENOENT);
}

static void test_knames(void **state)
{
	struct kname n[PCI_MAX_KNAMES];

	assert_int_equal(pci_sysfs_knames(root, BLK, n, PCI_MAX_KNAMES), 1);
	assert_int_equal(n[0].kind, KNAME_BLOCK);
	assert_string_equal(n[0].name, "vda");
	assert_int_equal(pci_sysfs_knames(root, NET, n, PCI_MAX_KNAMES), 1);
	assert_int_equal(n[0].kind, KNAME_NET);
	assert_string_equal(n[0].name, "eth1");
	assert_int_equal(pci_sysfs_knames(root, NINEP, n, PCI_MAX_KNAMES), 1);
	assert_int_equal(n[0].kind, KNAME_9P);
	assert_string_equal(n[0].name, "hostroot");
	assert_int_equal(pci_sysfs_knames(root, BARE, n, PCI_MAX_KNAMES), 0);
	assert_int_equal(pci_sysfs_knames(root, "0000:09:00.0", n, PCI_MAX_KNAMES), -ENOENT);
}

static void assert_in_use(const char *bdf, const char *want_reason)
{
	char reason[256] = "";
	int ret = pci_dev_in_use(root, bdf, reason, sizeof(reason));

	if (want_reason) {
		assert_int_equal(ret, 1);
		assert_string_equal(reason, want_reason);
	} else {
		assert_int_equal(ret, 0);
	}
}

static void test_nothing_in_use(void **state)
{
	assert_in_use(BLK, NULL);
	assert_in_use(NET, NULL);
	assert_in_use(NINEP, NULL);
	assert_in_use(VFIO, NULL);
	assert_in_use(BARE, NULL);
}

static void test_partition_mounted(void **state)
{
	/* The mount point has a space, which mountinfo escapes as \040. */
	put_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n"
		      "40 1 254:1 / /my\\040data rw,relatime shared:5 - ext4 /dev/vda1 rw\n");
	assert_in_use(BLK, "/dev/vda1 is mounted on /my data");
	put_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n");
}

static void test_whole_disk_mounted(void **state)
{
	put_mountinfo("40 1 254:0 / / rw - ext4 /dev/vda rw\n");
	assert_in_use(BLK, "/dev/vda is mounted on /");
	put_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n");
}

static void test_swap(void **state)
{
	put("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n"
			  "/dev/vda1                               partition\t1048572\t0\t-2\n");
	assert_in_use(BLK, "/dev/vda1 is in use as swap");
	put("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
}

static void test_holder(void **state)
{
	mkdir_p("sys/class/block/vda/holders/dm-0");
	assert_in_use(BLK, "/dev/vda is held by dm-0");
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/sys/class/block/vda/holders/dm-0", root);
	rmdir(path);
}

static void test_interface_up(void **state)
{
	put("sys/class/net/eth1/flags", "0x1003\n");
	assert_in_use(NET, "interface eth1 is up");
	put("sys/class/net/eth1/flags", "0x1002\n");
}

static void test_9p_mounted(void **state)
{
	put_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n"
		      "30 1 0:30 / /mnt/host ro - 9p otherfs rw\n"
		      "31 1 0:31 / / ro - 9p hostroot ro,trans=virtio\n");
	assert_in_use(NINEP, "9p share hostroot is mounted on /");
	put_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n");
}

static void test_vfio_open(void **state)
{
	char path[PATH_MAX * 2];

	link_to("proc/4242/fd/9", "/dev/vfio/12");
	assert_in_use(VFIO, "/dev/vfio/12 is open in process 4242 (qemu-fake)");
	snprintf(path, sizeof(path), "%s/proc/4242/fd/9", root);
	unlink(path);
	assert_in_use(VFIO, NULL);
}

static void test_malformed_mountinfo(void **state)
{
	/* Truncated lines and a missing separator are skipped, not misread. */
	put_mountinfo("40 1 254:1\n"
		      "41 1 254:1 / /x rw shared:1 ext4 /dev/vda1 rw\n"
		      "\n");
	assert_in_use(BLK, NULL);
	put_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n");
}

/*
 * A virtio function on a driver we cannot see into (pci-stub, a vendor driver) is in use
 * for all we know; a function that is not virtio is the group check's business.
 */
static void test_unknown_driver(void **state)
{
	char path[PATH_MAX * 2];

	mkdir_p("sys/bus/pci/devices/" STUB);
	link_to("sys/bus/pci/devices/" STUB "/driver", "../../../bus/pci/drivers/pci-stub");
	put("sys/bus/pci/devices/" STUB "/vendor", "0x8086\n");
	assert_in_use(STUB, NULL);
	put("sys/bus/pci/devices/" STUB "/vendor", "0x1af4\n");
	assert_in_use(STUB, "it is bound to pci-stub, a driver virtio-vfio cannot check for users "
			    "(it knows virtio-pci and vfio-pci)");
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/" STUB "/driver", root);
	unlink(path); /* unbound: nothing uses it */
	assert_in_use(STUB, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdf_parse),
		cmocka_unit_test(test_driver_and_group),
		cmocka_unit_test(test_knames),
		cmocka_unit_test(test_nothing_in_use),
		cmocka_unit_test(test_partition_mounted),
		cmocka_unit_test(test_whole_disk_mounted),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_holder),
		cmocka_unit_test(test_interface_up),
		cmocka_unit_test(test_9p_mounted),
		cmocka_unit_test(test_vfio_open),
		cmocka_unit_test(test_malformed_mountinfo),
		cmocka_unit_test(test_unknown_driver),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
