// SPDX-License-Identifier: MIT
/* fake_tree.c - builds the fake /sys and /proc tree that fake_tree.h describes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"

char fake_root[PATH_MAX];

void fake_mkdir(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	for (char *p = path + strlen(fake_root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

void fake_put(const char *rel, const char *content)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

void fake_link(const char *rel, const char *target)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* Removes a file, link or directory tree. */
void fake_rm(const char *rel)
{
	char cmd[PATH_MAX * 2 + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", fake_root, rel);
	assert_int_equal(system(cmd), 0);
}

int fake_tree_setup(void **state)
{
	snprintf(fake_root, sizeof(fake_root), "%s/vv-sysfs-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	assert_non_null(mkdtemp(fake_root));

	/* virtio-blk with a partition */
	fake_mkdir("sys/bus/pci/devices/" BLK "/virtio2/block/vda");
	fake_link("sys/bus/pci/devices/" BLK "/driver", "../../../bus/pci/drivers/virtio-pci");
	fake_link("sys/bus/pci/devices/" BLK "/iommu_group", "../../../kernel/iommu_groups/7");
	fake_mkdir("sys/class/block/vda/vda1");
	fake_mkdir("sys/class/block/vda/holders");
	fake_put("sys/class/block/vda/dev", "254:0\n");
	fake_put("sys/class/block/vda/vda1/partition", "1\n");
	fake_mkdir("sys/class/block/vda1/holders");
	fake_put("sys/class/block/vda1/dev", "254:1\n");
	/* another disk, of another function */
	fake_mkdir("sys/class/block/vdb/holders");
	fake_put("sys/class/block/vdb/dev", "254:16\n");
	fake_mkdir("sys/block");

	/* virtio-net */
	fake_mkdir("sys/bus/pci/devices/" NET "/virtio3/net/eth1");
	fake_link("sys/bus/pci/devices/" NET "/driver", "../../../bus/pci/drivers/virtio-pci");
	fake_mkdir("sys/class/net/eth1");
	fake_put("sys/class/net/eth1/flags", "0x1002\n");

	/* virtio-9p, its tag NUL-padded as the kernel shows it */
	fake_mkdir("sys/bus/pci/devices/" NINEP "/virtio0");
	fake_link("sys/bus/pci/devices/" NINEP "/virtio0/driver",
		  "../../../../bus/virtio/drivers/9pnet_virtio");
	fake_put("sys/bus/pci/devices/" NINEP "/virtio0/mount_tag", "hostroot");

	/* bound to vfio-pci, group 12 */
	fake_mkdir("sys/bus/pci/devices/" VFIO);
	fake_link("sys/bus/pci/devices/" VFIO "/driver", "../../../bus/pci/drivers/vfio-pci");
	fake_link("sys/bus/pci/devices/" VFIO "/iommu_group", "../../../kernel/iommu_groups/12");

	/* no driver, no group */
	fake_mkdir("sys/bus/pci/devices/" BARE);

	fake_mkdir("proc/self");
	fake_put("proc/self/mountinfo", "22 1 0:21 / /proc rw,nosuid - proc proc rw\n");
	fake_put("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	fake_mkdir("proc/4242/fd");
	fake_put("proc/4242/comm", "qemu-fake\n");
	fake_link("proc/4242/fd/0", "/dev/null");
	return 0;
}

int fake_tree_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	return system(cmd);
}
