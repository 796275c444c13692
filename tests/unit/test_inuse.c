// SPDX-License-Identifier: MIT
/*
 * test_inuse.c - each in-use detector against a fake /sys and /proc tree (fake_tree.c):
 * mounts by device number and by source (btrfs), multi-device btrfs, swap, dm/LVM/md holders,
 * external journals, loop devices, processes with the disk open or mapped, interfaces that
 * are up or members of a bridge or carry a VLAN, 9p, VFIO group openers, unknown drivers.
 * What only the kernel can answer (O_EXCL, other network namespaces) is the VM case's.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "host/inuse.h"
#include "host/inuse_int.h"

#define root	    fake_root
#define MOUNTS_BASE "22 1 0:21 / /proc rw - proc proc rw\n"

/* @want_what NULL: not in use. @want_release NULL: not checked. */
static void assert_use(const char *bdf, const char *want_what, const char *want_release)
{
	struct pci_user u = {"", ""};
	int ret = pci_dev_in_use(root, bdf, &u);

	if (want_what) {
		assert_int_equal(ret, 1);
		assert_string_equal(u.what, want_what);
		if (want_release)
			assert_string_equal(u.release, want_release);
	} else {
		assert_int_equal(ret, 0);
	}
}

static void assert_in_use(const char *bdf, const char *want_what)
{
	assert_use(bdf, want_what, NULL);
}

static void put_mountinfo(const char *lines)
{
	fake_put("proc/self/mountinfo", lines);
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
	put_mountinfo(MOUNTS_BASE
		      "40 1 254:1 / /my\\040data rw,relatime shared:5 - ext4 /dev/vda1 rw\n");
	assert_use(BLK, "/dev/vda1 is mounted on /my data", "umount /my data");
	put_mountinfo(MOUNTS_BASE);
}

static void test_whole_disk_mounted(void **state)
{
	put_mountinfo("40 1 254:0 / / rw - ext4 /dev/vda rw\n");
	assert_use(BLK, "/dev/vda is mounted on /", ""); /* nobody unmounts / to attach */
	put_mountinfo(MOUNTS_BASE);
}

/* btrfs shows an anonymous device number: only the source names the disk. */
static void test_btrfs_source(void **state)
{
	put_mountinfo(MOUNTS_BASE "45 1 0:47 / /mnt/b rw,relatime shared:9 - btrfs /dev/vda1 "
				  "rw,space_cache=v2,subvolid=5,subvol=/\n");
	assert_use(BLK, "/dev/vda1 is mounted on /mnt/b", "umount /mnt/b");
	/* The same through a dm name. */
	fake_mkdir("sys/class/block/dm-3/dm");
	fake_put("sys/class/block/dm-3/dev", "254:1\n"); /* pretend: vda1's number */
	fake_put("sys/class/block/dm-3/dm/name", "data\n");
	put_mountinfo(MOUNTS_BASE "45 1 0:47 / /mnt/b rw - btrfs /dev/mapper/data rw\n");
	assert_in_use(BLK, "/dev/vda1 is mounted on /mnt/b");
	fake_rm("sys/class/block/dm-3");
	/* Another disk's btrfs is not ours. */
	put_mountinfo(MOUNTS_BASE "45 1 0:47 / /mnt/b rw - btrfs /dev/vdb rw\n");
	assert_in_use(BLK, NULL);
	put_mountinfo(MOUNTS_BASE);
}

/* A two-device btrfs mounted by its other device: sysfs lists every member. */
static void test_btrfs_member(void **state)
{
	fake_mkdir("sys/fs/btrfs/features");
	fake_mkdir("sys/fs/btrfs/0b5e-fs/devices/vda1");
	fake_mkdir("sys/fs/btrfs/0b5e-fs/devices/vdb");
	put_mountinfo(MOUNTS_BASE "45 1 0:47 / /pool rw - btrfs /dev/vdb rw\n");
	assert_use(BLK, "/dev/vda1 is a device of the btrfs filesystem mounted on /pool",
		   "umount /pool");
	put_mountinfo(MOUNTS_BASE);
	assert_in_use(BLK, "/dev/vda1 is a device of btrfs filesystem 0b5e-fs");
	fake_rm("sys/fs/btrfs");
}

static void test_swap(void **state)
{
	fake_put("proc/swaps",
		 "Filename\tType\tSize\tUsed\tPriority\n"
		 "/dev/vda1                               partition\t1048572\t0\t-2\n");
	assert_use(BLK, "/dev/vda1 is in use as swap", "swapoff /dev/vda1");
	fake_put("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n"
			       "/swapfile                               file\t1048572\t0\t-2\n");
	assert_in_use(BLK, NULL);
	fake_put("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
}

static void test_holder(void **state)
{
	fake_mkdir("sys/class/block/vda/holders/dm-0");
	assert_use(BLK, "/dev/vda is held by dm-0", "");
	/* dm-linear: named, removed with dmsetup */
	fake_mkdir("sys/class/block/dm-0/dm");
	fake_put("sys/class/block/dm-0/dm/name", "lin\n");
	fake_put("sys/class/block/dm-0/dm/uuid", "\n");
	assert_use(BLK, "/dev/vda is held by dm-0 (/dev/mapper/lin)", "dmsetup remove lin");
	/* LVM: the volume group, with LVM's doubled dashes undone */
	fake_put("sys/class/block/dm-0/dm/name", "my--vg-lv--a\n");
	fake_put("sys/class/block/dm-0/dm/uuid", "LVM-abcdef\n");
	assert_use(BLK, "/dev/vda is held by dm-0 (LVM volume group my-vg)", "vgchange -an my-vg");
	fake_rm("sys/class/block/dm-0");
	fake_rm("sys/class/block/vda/holders/dm-0");
	/* md, on the partition */
	fake_mkdir("sys/class/block/vda1/holders/md127");
	assert_use(BLK, "/dev/vda1 is held by md127 (md RAID)", "mdadm --stop /dev/md127");
	fake_rm("sys/class/block/vda1/holders/md127");
}

/* jbd2 names an external journal after its device; "vda-8" is a filesystem's own. */
static void test_external_journal(void **state)
{
	fake_mkdir("proc/fs/jbd2/vda-8");
	assert_in_use(BLK, NULL);
	fake_mkdir("proc/fs/jbd2/vda1");
	assert_in_use(BLK, "/dev/vda1 is the external journal of a mounted ext4 filesystem");
	fake_rm("proc/fs");
}

static void test_loop(void **state)
{
	fake_mkdir("sys/block/loop0/loop");
	fake_mkdir("sys/block/loop1");
	fake_put("sys/block/loop0/loop/backing_file", "/var/lib/image.raw\n");
	assert_in_use(BLK, NULL);
	fake_put("sys/block/loop0/loop/backing_file", "/dev/vda1\n");
	assert_use(BLK, "/dev/vda1 backs loop device /dev/loop0", "losetup -d /dev/loop0");
	/* What is on the loop device comes first. */
	fake_mkdir("sys/class/block/loop0");
	fake_put("sys/class/block/loop0/dev", "7:0\n");
	put_mountinfo(MOUNTS_BASE "50 1 7:0 / /l rw - ext4 /dev/loop0 rw\n");
	assert_use(BLK, "/dev/vda1 backs loop device /dev/loop0, mounted on /l",
		   "umount /l; losetup -d /dev/loop0");
	put_mountinfo(MOUNTS_BASE);
	fake_rm("sys/block/loop0");
	fake_rm("sys/block/loop1");
	fake_rm("sys/class/block/loop0");
}

/* A process holding the raw disk, named with its command escaped. */
static void test_process_open(void **state)
{
	fake_mkdir("proc/777/fd");
	fake_put("proc/777/comm", "\x1b[31mevil\\\n");
	fake_link("proc/777/fd/0", "/dev/null");
	fake_link("proc/777/fd/5", "/dev/vda1");
	assert_use(BLK, "/dev/vda1 is open in process 777 (\\x1b[31mevil\\x5c)",
		   "end process 777 or have it close the device");
	fake_rm("proc/777");
	fake_mkdir("proc/778");
	fake_put("proc/778/comm", "mapper\n");
	fake_put("proc/778/maps", "55d0c000-55d0d000 r-xp 00000000 fe:01 1234   /usr/bin/mapper\n"
				  "7f0000000000-7f0000100000 rw-s 00000000 00:05 88     /dev/vda\n"
				  "7ffd0000-7ffd1000 rw-p 00000000 00:00 0      [stack]\n");
	assert_use(BLK, "/dev/vda is mapped into process 778 (mapper)",
		   "end process 778 or have it unmap the device");
	fake_rm("proc/778");
}

static void test_interface_up(void **state)
{
	fake_put("sys/class/net/eth1/flags", "0x1003\n");
	assert_use(NET, "interface eth1 is up", "ip link set eth1 down");
	fake_put("sys/class/net/eth1/flags", "0x1002\n");
}

static void test_interface_member(void **state)
{
	fake_mkdir("sys/class/net/br0");
	fake_put("sys/class/net/br0/uevent", "DEVTYPE=bridge\nINTERFACE=br0\nIFINDEX=5\n");
	fake_link("sys/class/net/eth1/master", "../br0");
	fake_link("sys/class/net/eth1/upper_br0", "../br0");
	assert_use(NET, "interface eth1 is a member of bridge br0", "ip link set eth1 nomaster");
	fake_rm("sys/class/net/eth1/master");
	fake_rm("sys/class/net/eth1/upper_br0");
	fake_mkdir("sys/class/net/eth1.10");
	fake_put("sys/class/net/eth1.10/uevent", "DEVTYPE=vlan\nINTERFACE=eth1.10\n");
	fake_link("sys/class/net/eth1/upper_eth1.10", "../eth1.10");
	assert_use(NET, "interface eth1 carries vlan eth1.10", "ip link del eth1.10");
	fake_rm("sys/class/net/eth1/upper_eth1.10");
	fake_rm("sys/class/net/eth1.10");
	fake_rm("sys/class/net/br0");
	assert_in_use(NET, NULL);
}

static void test_9p_mounted(void **state)
{
	put_mountinfo(MOUNTS_BASE "30 1 0:30 / /mnt/host ro - 9p otherfs rw\n"
				  "31 1 0:31 / / ro - 9p hostroot ro,trans=virtio\n");
	assert_use(NINEP, "9p share hostroot is mounted on /", "");
	put_mountinfo(MOUNTS_BASE "31 1 0:31 / /mnt/h ro - 9p hostroot ro,trans=virtio\n");
	assert_use(NINEP, "9p share hostroot is mounted on /mnt/h", "umount /mnt/h");
	put_mountinfo(MOUNTS_BASE);
}

static void test_vfio_open(void **state)
{
	fake_link("proc/4242/fd/9", "/dev/vfio/12");
	assert_use(VFIO, "/dev/vfio/12 is open in process 4242 (qemu-fake)", "end process 4242");
	fake_rm("proc/4242/fd/9");
	assert_in_use(VFIO, NULL);
}

static void test_malformed_mountinfo(void **state)
{
	/* Truncated lines and a missing separator are skipped, not misread. */
	put_mountinfo("40 1 254:1\n"
		      "41 1 254:1 / /x rw shared:1 ext4 /dev/vda1 rw\n"
		      "42 1 nonsense / /y rw - ext4 relative/path rw\n"
		      "\n");
	assert_in_use(BLK, NULL);
	put_mountinfo(MOUNTS_BASE);
}

/*
 * A virtio function on a driver we cannot see into (pci-stub, a vendor driver) is in use
 * for all we know; a function that is not virtio is the group check's business.
 */
static void test_unknown_driver(void **state)
{
	fake_mkdir("sys/bus/pci/devices/" STUB);
	fake_link("sys/bus/pci/devices/" STUB "/driver", "../../../bus/pci/drivers/pci-stub");
	fake_put("sys/bus/pci/devices/" STUB "/vendor", "0x8086\n");
	assert_in_use(STUB, NULL);
	fake_put("sys/bus/pci/devices/" STUB "/vendor", "0x1af4\n");
	assert_use(STUB,
		   "it is bound to pci-stub, a driver virtio-vfio cannot check for users (it "
		   "knows virtio-pci and vfio-pci)",
		   "");
	fake_rm("sys/bus/pci/devices/" STUB "/driver"); /* unbound: nothing uses it */
	assert_in_use(STUB, NULL);
}

static void test_escape_bytes(void **state)
{
	char out[16];

	escape_bytes("ok name", out, sizeof(out));
	assert_string_equal(out, "ok name");
	escape_bytes("a\tb\x7f\xff", out, sizeof(out));
	assert_string_equal(out, "a\\x09b\\x7f\\xff");
	/* Cut at a whole escape, never inside one. */
	escape_bytes("abcdefghijkl\x1b", out, sizeof(out));
	assert_string_equal(out, "abcdefghijkl");
}

static void test_path_devt(void **state)
{
	dev_t dev;

	assert_int_equal(path_devt(root, "/dev/vda1", &dev), 0);
	assert_int_equal(dev, makedev(254, 1));
	assert_int_equal(path_devt(root, "/dev/nosuch", &dev), -ENOENT);
	assert_int_equal(path_devt(root, "/dev/../etc/x", &dev), -EINVAL);
	assert_int_equal(path_devt(root, "/dev/mapper/none", &dev), -ENOENT);
	assert_int_equal(path_devt(root, "tmpfs", &dev), -ENOENT);
	assert_int_equal(parse_majmin("8:17", &dev), 0);
	assert_int_equal(dev, makedev(8, 17));
	assert_int_equal(parse_majmin("8:17x", &dev), -EINVAL);
	assert_int_equal(parse_majmin("0:", &dev), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_in_use),
		cmocka_unit_test(test_partition_mounted),
		cmocka_unit_test(test_whole_disk_mounted),
		cmocka_unit_test(test_btrfs_source),
		cmocka_unit_test(test_btrfs_member),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_holder),
		cmocka_unit_test(test_external_journal),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_process_open),
		cmocka_unit_test(test_interface_up),
		cmocka_unit_test(test_interface_member),
		cmocka_unit_test(test_9p_mounted),
		cmocka_unit_test(test_vfio_open),
		cmocka_unit_test(test_malformed_mountinfo),
		cmocka_unit_test(test_unknown_driver),
		cmocka_unit_test(test_escape_bytes),
		cmocka_unit_test(test_path_devt),
	};

	return cmocka_run_group_tests(tests, fake_tree_setup, fake_tree_teardown);
}
