// SPDX-License-Identifier: MIT
/*
 * test_sysfs.c - BDF parsing, and a function's driver, IOMMU group and kernel names against a
 * fake /sys tree (fake_tree.c). The in-use detectors have their own test, test_inuse.c.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "host/knames.h"

#define root fake_root

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdf_parse),
		cmocka_unit_test(test_driver_and_group),
		cmocka_unit_test(test_knames),
	};

	return cmocka_run_group_tests(tests, fake_tree_setup, fake_tree_teardown);
}
