// SPDX-License-Identifier: MIT
/*
 * inuse.c - tells whether the system uses a virtio PCI function, by what it gave the system
 * (disks, interfaces, 9p and virtiofs mounts) or by who holds its VFIO group; and claims its
 * disks for the time it changes hands. The detectors live in inuse_blk.c, inuse_net.c and
 * inuse_proc.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/inuse_int.h"

struct vfio_node {
	char want[32];
};

static bool match_vfio(const char *root, const char *fdpath, void *arg)
{
	const struct vfio_node *v = arg;
	char target[PATH_MAX];
	ssize_t n = readlink(fdpath, target, sizeof(target) - 1);

	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, v->want);
}

/* A process holding /dev/vfio/<group> open owns the device through VFIO. */
static int vfio_group_opener(const char *root, int group, struct pci_user *u)
{
	struct vfio_node v;
	char comm[256], cmd[64];
	int pid, ret;

	snprintf(v.want, sizeof(v.want), "/dev/vfio/%d", group);
	ret = proc_find_fd(root, match_vfio, &v, &pid, comm, sizeof(comm));
	if (ret > 0) {
		snprintf(cmd, sizeof(cmd), "end process %d", pid);
		use_set(u, cmd, "%s is open in process %d (%s)", v.want, pid, comm);
	}
	return ret;
}

/* Whether sysfs shows the virtio vendor ID; a fake tree without the file says no. */
static bool is_virtio_function(const char *root, const char *bdf)
{
	char path[PATH_MAX], val[16];

	if (sysfs_path(path, sizeof(path), root, "/sys/bus/pci/devices/%s/vendor", bdf) ||
	    sysfs_read(path, val, sizeof(val)) <= 0)
		return false;
	return strtoul(val, NULL, 16) == 0x1af4;
}

static int disk_in_use(const char *root, const char *disk, struct pci_user *u)
{
	struct blkset *s = malloc(sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	ret = blkset_read(root, disk, s);
	if (!ret && s->n) {
		ret = blk_exclusive_user(root, s, u);
		if (!ret)
			ret = blk_shared_user(root, s, u);
	}
	free(s);
	return ret;
}

/*
 * Returns 1 and fills @ret_user ("/dev/vda1 is mounted on /data", "umount /data") when the
 * system uses the function, 0 when nothing was found, or a negative errno when the look-up
 * itself failed.
 */
int pci_dev_in_use(const char *root, const char *bdf, struct pci_user *ret_user)
{
	struct kname names[PCI_MAX_KNAMES];
	char driver[64], mnt[PATH_MAX], cmd[PATH_MAX + 16];
	int n, ret = 0;

	n = pci_sysfs_knames(root, bdf, names, ARRAY_SIZE(names));
	if (n < 0)
		return n;
	for (int i = 0; i < n && !ret; i++) {
		switch (names[i].kind) {
		case KNAME_BLOCK:
			ret = disk_in_use(root, names[i].name, ret_user);
			break;
		case KNAME_9P:
			ret = mount_find(root, "9p", names[i].name, mnt, sizeof(mnt));
			if (ret > 0)
				use_set(ret_user, umount_hint(cmd, sizeof(cmd), mnt),
					"9p share %s is mounted on %s", names[i].name, mnt);
			break;
		case KNAME_NET:	 /* below: the interface may be in another namespace */
		case KNAME_PORT: /* an idle console port is not worth a refusal */
			break;
		}
	}
	if (!ret)
		ret = net_in_use(root, bdf, names, n, ret_user);
	if (ret)
		return ret;

	if (pci_sysfs_virtio_driver(root, bdf, driver, sizeof(driver)) == 0 &&
	    !strcmp(driver, "virtiofs")) {
		/* sysfs does not show a virtiofs tag: any virtiofs mount may be this one. */
		ret = mount_find(root, "virtiofs", NULL, mnt, sizeof(mnt));
		if (ret > 0)
			use_set(ret_user, umount_hint(cmd, sizeof(cmd), mnt),
				"a virtiofs filesystem is mounted on %s", mnt);
		return ret;
	}
	ret = pci_sysfs_driver(root, bdf, driver, sizeof(driver));
	if (ret)
		return ret;
	if (!strcmp(driver, "vfio-pci")) {
		int group = pci_sysfs_iommu_group(root, bdf);

		if (group >= 0)
			return vfio_group_opener(root, group, ret_user);
	}
	if (*driver && strcmp(driver, "virtio-pci") && is_virtio_function(root, bdf)) {
		/* pci-stub, a vendor driver...: nothing above could see what it does with it. */
		use_set(ret_user, NULL,
			"it is bound to %s, a driver virtio-vfio cannot check for users (it knows "
			"virtio-pci and vfio-pci)",
			driver);
		return 1;
	}
	return 0;
}

struct pci_claim {
	int n;
	int fd[PCI_MAX_KNAMES];
};

/*
 * The kernel refused O_EXCL: something holds the disk or a partition exclusively. Name it
 * if the detectors can; else say which device, and what kind of thing does that.
 */
static void explain_busy(const struct blkset *s, struct pci_user *u)
{
	char cmd[128];
	unsigned busy = 0;

	if (blk_exclusive_user(NULL, s, u) > 0)
		return;
	for (unsigned i = 1; i < s->n && !busy; i++) {
		int fd = blk_open_dev(s->name[i], s->dev[i], O_RDONLY | O_EXCL);

		if (fd == -EBUSY)
			busy = i;
		if (fd >= 0)
			close(fd);
	}
	snprintf(cmd, sizeof(cmd),
		 "find the holder with 'lsblk /dev/%s' and 'findmnt', and stop it", s->name[0]);
	use_set(u, cmd,
		"/dev/%s is held exclusively by something virtio-vfio cannot name (a filesystem, "
		"swap, md, dm/LVM, an external journal or log, ZFS...)",
		s->name[busy]);
}

/*
 * Claims every disk of @bdf: opened with O_EXCL, which fails with EBUSY while a filesystem
 * (multi-device btrfs included), swap, md, dm, an external journal or log holds the disk or
 * any of its partitions, and makes every such claim fail while it lasts. One claim on the
 * whole disk covers its partitions: the kernel refuses a partition to anyone while another
 * holds the disk. The descriptors may stay open across the unbind: the driver's remove does
 * not wait for openers. Returns 0 with @ret_claim (holding nothing for other device types),
 * 1 with @ret_user when the disk is taken, or -errno.
 */
int pci_claim_open(const char *bdf, struct pci_claim **ret_claim, struct pci_user *ret_user)
{
	struct kname names[PCI_MAX_KNAMES];
	struct pci_claim *c;
	struct blkset *s;
	int n, ret = 0;

	n = pci_sysfs_knames(NULL, bdf, names, ARRAY_SIZE(names));
	if (n < 0)
		return n;
	c = calloc(1, sizeof(*c));
	s = malloc(sizeof(*s));
	if (!c || !s) {
		free(c);
		free(s);
		return -ENOMEM;
	}
	for (int i = 0; i < n && !ret; i++) {
		int fd;

		if (names[i].kind != KNAME_BLOCK)
			continue;
		ret = blkset_read(NULL, names[i].name, s);
		if (ret || !s->n)
			continue;
		fd = blk_open_dev(s->name[0], s->dev[0], O_RDONLY | O_EXCL);
		if (fd == -EBUSY) {
			explain_busy(s, ret_user);
			ret = 1;
		} else if (fd < 0) {
			ret = fd;
		} else {
			c->fd[c->n++] = fd;
		}
	}
	free(s);
	if (ret) {
		pci_claim_close(c);
		return ret;
	}
	*ret_claim = c;
	return 0;
}

void pci_claim_close(struct pci_claim *claim)
{
	if (!claim)
		return;
	for (int i = 0; i < claim->n; i++)
		close(claim->fd[i]);
	free(claim);
}
