// SPDX-License-Identifier: MIT
/* test_ids.c - virtio PCI ID ranges and device type names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <virtio-vfio/ids.h>

static void test_is_virtio(void **state)
{
	assert_true(vv_pci_is_virtio(0x1af4, 0x1000));
	assert_true(vv_pci_is_virtio(0x1af4, 0x1042));
	assert_true(vv_pci_is_virtio(0x1af4, 0x107f));
	assert_false(vv_pci_is_virtio(0x1af4, 0x0fff));
	assert_false(vv_pci_is_virtio(0x1af4, 0x1080));
	assert_false(vv_pci_is_virtio(0x1af4, 0x1110)); /* ivshmem: same vendor, not virtio */
	assert_false(vv_pci_is_virtio(0x8086, 0x1042));
}

static void test_transitional(void **state)
{
	assert_true(vv_pci_is_transitional(0x1000));
	assert_true(vv_pci_is_transitional(0x103f));
	assert_false(vv_pci_is_transitional(0x1040));
}

static void test_type(void **state)
{
	assert_int_equal(vv_pci_virtio_type(0x1af4, 0x1041, 0), 1);
	assert_int_equal(vv_pci_virtio_type(0x1af4, 0x1042, 0x1100), 2);
	assert_int_equal(vv_pci_virtio_type(0x1af4, 0x1049, 0), 9);
	/* transitional: the type is the subsystem device ID */
	assert_int_equal(vv_pci_virtio_type(0x1af4, 0x1001, 2), 2);
	assert_int_equal(vv_pci_virtio_type(0x1af4, 0x1000, 1), 1);
	assert_int_equal(vv_pci_virtio_type(0x1af4, 0x1000, 0), -EINVAL);
	assert_int_equal(vv_pci_virtio_type(0x8086, 0x1000, 1), -ENODEV);
}

static void test_names(void **state)
{
	assert_string_equal(vv_virtio_type_name(1), "net");
	assert_string_equal(vv_virtio_type_name(2), "blk");
	assert_string_equal(vv_virtio_type_name(9), "9p");
	assert_string_equal(vv_virtio_type_name(26), "fs");
	assert_string_equal(vv_virtio_type_name(0), "unknown");
	assert_string_equal(vv_virtio_type_name(-EINVAL), "unknown");
	assert_string_equal(vv_virtio_type_name(14), "unknown"); /* a hole in the table */
	assert_string_equal(vv_virtio_type_name(63), "unknown");
	assert_string_equal(vv_virtio_type_name(100000), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_virtio),
		cmocka_unit_test(test_transitional),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
