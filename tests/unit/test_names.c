// SPDX-License-Identifier: MIT
/*
 * test_names.c - the device name resolver (host/names.c) against a fake /sys and /run
 * (fake_tree.c): every name form, live names and records, the kernel's reused names,
 * ambiguity, malformed names; and which serials may be file names (util/escape.c).
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
#include "host/names.h"
#include "util/escape.h"

#define root fake_root

static void expect(const char *name, int want, const char *want_bdf)
{
	char bdf[PCI_BDF_LEN] = "", why[320] = "";
	int ret = pci_name_resolve(root, name, bdf, why, sizeof(why));

	if (ret != want)
		fail_msg("'%s': got %d (%s), want %d", name, ret, why, want);
	if (want == 0)
		assert_string_equal(bdf, want_bdf);
	else
		assert_true(*why);
}

static int names_setup(void **state)
{
	int ret = fake_tree_setup(state);

	fake_mkdir("sys/block/vda");
	fake_put("sys/block/vda/serial", "vvdemo0\n");
	fake_put("sys/class/net/eth1/address", "52:54:00:AA:bb:01\n");
	return ret;
}

static void test_live(void **state)
{
	struct pci_names n;

	assert_int_equal(pci_names_live(root, BLK, &n), 0);
	assert_string_equal(n.kname, "vda");
	assert_string_equal(n.serial, "vvdemo0");
	assert_string_equal(n.mac, "");
	assert_int_equal(pci_names_live(root, NET, &n), 0);
	assert_string_equal(n.kname, "eth1");
	assert_string_equal(n.mac, "52:54:00:aa:bb:01");
	assert_int_equal(pci_names_live(root, VFIO, &n), -ENOENT);
	assert_int_equal(pci_names_live(root, BARE, &n), -ENOENT);

	expect("0000:00:03.0", 0, BLK);
	expect("00:03.0", 0, BLK);
	expect("vda", 0, BLK);
	expect("serial:vvdemo0", 0, BLK);
	expect("eth1", 0, NET);
	expect("52:54:00:aa:BB:01", 0, NET);
	expect("mac:52:54:00:AA:BB:01", 0, NET);
	/* A PCI address need not exist: callers say "no such device" with their own words. */
	expect("00:1f.7", 0, "0000:00:1f.7");

	expect("vdz", -ENOENT, NULL);
	expect("serial:nope", -ENOENT, NULL);
	expect("52:54:00:00:00:00", -ENOENT, NULL);
	expect("hostroot", -ENOENT, NULL); /* a 9p tag is no disk or interface name */
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"zz:zz",
		"00:5.0",
		"0000:00:05.0x",
		"serial:",
		"mac:",
		"mac:zz",
		"mac:52:54:00:12:34",
		"a/b",
		"..",
		"vd a",
		"\x1b[31m",

		"0123456789abcdef0123456789abcdef", /* 32 bytes: longer than any kernel name */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(bad[i], -EINVAL, NULL);
	assert_int_equal(pci_name_resolve(root, NULL, (char[PCI_BDF_LEN]){0}, NULL, 0), -EINVAL);
}

static void test_records(void **state)
{
	struct pci_names rec = {.kname = "vdc", .serial = "vvold0", .mac = ""}, got;
	char bdf[PCI_BDF_LEN], why[320];

	/* Attached without a record: not found, and the message says which function it may be. */
	assert_int_equal(pci_name_resolve(root, "vdc", bdf, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, VFIO));

	assert_int_equal(pci_names_record(root, VFIO, &rec), 0);
	assert_int_equal(pci_names_load(root, VFIO, &got), 0);
	assert_string_equal(got.kname, "vdc");
	assert_string_equal(got.serial, "vvold0");
	expect("vdc", 0, VFIO);
	expect("serial:vvold0", 0, VFIO);

	/* The kernel gave "vda" to another disk since: the live name wins. */
	snprintf(rec.kname, sizeof(rec.kname), "vda");
	assert_int_equal(pci_names_record(root, VFIO, &rec), 0);
	expect("vda", 0, BLK);

	/* Two disks with one serial: an error that names both. */
	snprintf(rec.serial, sizeof(rec.serial), "vvdemo0");
	assert_int_equal(pci_names_record(root, VFIO, &rec), 0);
	assert_int_equal(pci_name_resolve(root, "serial:vvdemo0", bdf, why, sizeof(why)),
			 -ENOTUNIQ);
	assert_non_null(strstr(why, BLK));
	assert_non_null(strstr(why, VFIO));

	/* A record is read only while no virtio driver has the function. */
	assert_int_equal(pci_names_record(root, BLK, &rec), 0);
	expect("vda", 0, BLK);
	pci_names_forget(root, BLK);

	pci_names_forget(root, VFIO);
	assert_int_equal(pci_names_load(root, VFIO, &got), -ENOENT);
	expect("serial:vvdemo0", 0, BLK);

	/* Only the kernel's spelling of a BDF becomes a path. */
	assert_int_equal(pci_names_record(root, "../../etc", &rec), -EINVAL);
	assert_int_equal(pci_names_record(root, "00:02.0", &rec), -EINVAL);
}

/* A serial is the device's: what it holds is escaped, in the names and in the record. */
static void test_hostile_serial(void **state)
{
	struct pci_names n;

	fake_put("sys/block/vda/serial", "a\x1b]0;x\x07\\\n");
	assert_int_equal(pci_names_live(root, BLK, &n), 0);
	assert_string_equal(n.serial, "a\\x1b]0;x\\x07\\x5c");
	assert_int_equal(pci_names_record(root, VFIO, &n), 0);
	pci_names_forget(root, VFIO);
	fake_put("sys/block/vda/serial", "vvdemo0\n");
}

static void test_safe_name(void **state)
{
	static const char *const good[] = {"vvdemo0", "QM00001", "disk-1.a_b+c", "A",
					   "12345678901234567890"};
	static const char *const bad[] = {"",
					  ".hidden",
					  "-rf",
					  "a:b",
					  "a,b",
					  "a b",
					  "a/b",
					  "a\\b",
					  "a*",
					  "a?",
					  "\x1b[1m",
					  "a\n",
					  "123456789012345678901"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(escape_is_safe_name(good[i], 20));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (escape_is_safe_name(bad[i], 20))
			fail_msg("'%s' passed as a safe name", bad[i]);
	assert_false(escape_is_safe_name(NULL, 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live),	  cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_records),	  cmocka_unit_test(test_hostile_serial),
		cmocka_unit_test(test_safe_name),
	};

	return cmocka_run_group_tests(tests, names_setup, fake_tree_teardown);
}
