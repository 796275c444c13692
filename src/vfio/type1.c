// SPDX-License-Identifier: MIT
/* type1.c - the VFIO type1 IOMMU backend: container, group, IOVA ranges, DMA map and unmap. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "util/log.h"
#include "util/memlock.h"
#include "vfio/vfio.h"

/* Keep IOVA 0 and its neighbourhood unmapped: a DMA there is a bug, and must fault. */
#define TYPE1_MIN_IOVA 0x100000

struct type1 {
	struct vfio_iommu base;
	int container;
	int group_fd;
	int group;
};

static struct type1 *to_type1(struct vfio_iommu *iommu)
{
	return container_of(iommu, struct type1, base);
}

static int type1_map(struct vfio_iommu *iommu, void *vaddr, uint64_t iova, size_t len,
		     unsigned access)
{
	/* READ and WRITE are the device's view: what it may read from, and write to, memory. */
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (access & VV_DMA_DEVICE_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (access & VV_DMA_DEVICE_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};

	return ioctl(to_type1(iommu)->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int type1_unmap(struct vfio_iommu *iommu, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};
	struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
	int container = to_type1(iommu)->container;

	/*
	 * When the group's last device is removed (hot-unplug), the kernel takes the group out
	 * of the container: it unmaps everything, and once no group is left the container has
	 * no IOMMU at all. An unmap then finds nothing (size 0), or fails with EINVAL as every
	 * IOMMU call does, GET_INFO included. Either way the mapping is gone: -ENOENT.
	 */
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
		int err = errno;

		if (err == EINVAL && ioctl(container, VFIO_IOMMU_GET_INFO, &info) &&
		    errno == EINVAL)
			return -ENOENT;
		return -err;
	}
	if (!unmap.size)
		return -ENOENT;
	/* Type1v2 never splits a mapping: a short unmap means our bookkeeping is wrong. */
	return unmap.size == len ? 0 : -EFAULT;
}

static void type1_close(struct vfio_iommu *iommu)
{
	struct type1 *t = to_type1(iommu);

	if (t->group_fd >= 0)
		close(t->group_fd);
	if (t->container >= 0)
		close(t->container);
	pthread_mutex_destroy(&t->base.lock);
	free(t);
}

static const struct vfio_iommu_ops type1_ops = {
	.name = "type1",
	.map = type1_map,
	.unmap = type1_unmap,
	.close = type1_close,
};

/*
 * Names the devices of @group that keep it from being viable: every device in a group must
 * be bound to vfio-pci (or to no driver) before any of them can be used through VFIO.
 */
int vfio_group_viable_explain(int group, char *buf, size_t len)
{
	char dir[PATH_MAX], drv[64];
	struct dirent *de;
	size_t off = 0;
	DIR *d;

	buf[0] = '\0';
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", group);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && off < len) {
		if (de->d_name[0] == '.' || pci_sysfs_driver(NULL, de->d_name, drv, sizeof(drv)))
			continue;
		if (!*drv || !strcmp(drv, "vfio-pci") || !strcmp(drv, "pcieport"))
			continue;
		off += snprintf(buf + off, len - off, "%s%s is bound to %s", off ? ", " : "",
				de->d_name, drv);
	}
	closedir(d);
	return 0;
}

/* VFIO_IOMMU_GET_INFO: page sizes and usable IOVA ranges. */
static int type1_get_info(struct type1 *t)
{
	struct vfio_iommu_type1_info *info;
	struct iova_extent ranges[IOVA_MAX_EXTENTS];
	unsigned nranges = 0;
	uint32_t argsz = sizeof(*info);
	int ret;

	info = vfio_info_get(t->container, VFIO_IOMMU_GET_INFO, &(struct vfio_iommu_type1_info){0},
			     sizeof(*info), &ret);
	if (!info)
		return ret;
	argsz = info->argsz;

	t->base.pgsize = info->flags & VFIO_IOMMU_INFO_PGSIZES
				 ? info->iova_pgsizes & -info->iova_pgsizes
				 : 4096;
	if (info->flags & VFIO_IOMMU_INFO_CAPS) {
		struct vfio_iommu_type1_info_cap_iova_range r;
		uint32_t off;

		off = vfio_info_cap_find(info, argsz, info->cap_offset,
					 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
		if (off && off + sizeof(r) <= argsz) {
			memcpy(&r, (char *)info + off, sizeof(r));
			for (uint32_t i = 0; i < r.nr_iovas && nranges < IOVA_MAX_EXTENTS; i++) {
				struct vfio_iova_range one;
				size_t at = off + sizeof(r) + i * sizeof(one);

				if (at + sizeof(one) > argsz)
					break;
				memcpy(&one, (char *)info + at, sizeof(one));
				ranges[nranges++] = (struct iova_extent){one.start, one.end};
			}
		}
	}
	free(info);
	if (!nranges) {
		/* Kernels before 5.4 report no ranges; assume a 39-bit space less the MSI window.
		 */
		log_warn("%s: IOMMU reports no IOVA ranges; assuming 39 bits", t->base.bdf);
		ranges[nranges++] = (struct iova_extent){0, 0xfedfffff};
		ranges[nranges++] = (struct iova_extent){0xfef00000, (1ULL << 39) - 1};
	}
	for (unsigned i = 0; i < nranges; i++)
		log_debug("%s: IOVA range 0x%llx-0x%llx", t->base.bdf,
			  (unsigned long long)ranges[i].start, (unsigned long long)ranges[i].last);
	return iova_init(&t->base.iova, ranges, nranges, TYPE1_MIN_IOVA);
}

/* Who may open the group node, and who we are: the fix is to give it to this user. */
static void explain_denied(const char *bdf, const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		log_err("%s: no permission to open %s", bdf, path);
		return;
	}
	log_err("%s: no permission to open %s (owner uid %u gid %u, mode %04o; this process is "
		"uid %u): run as root, or have root give the node to this user with "
		"'virtio-vfio attach --owner USER %s'",
		bdf, path, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777),
		(unsigned)geteuid(), bdf);
}

static int open_group(struct type1 *t, const char *bdf)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	char path[64], why[512];
	int ret;

	snprintf(path, sizeof(path), "/dev/vfio/%d", t->group);
	t->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (t->group_fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			log_err("%s: %s does not exist: the device is not bound to vfio-pci "
				"(run: virtio-vfio attach %s)",
				bdf, path, bdf);
		else if (ret == -EACCES || ret == -EPERM)
			explain_denied(bdf, path);
		else if (ret == -EBUSY)
			log_err("%s: %s is already open in another process", bdf, path);
		else
			log_err("%s: cannot open %s: %s", bdf, path, strerror(-ret));
		return ret;
	}
	if (ioctl(t->group_fd, VFIO_GROUP_GET_STATUS, &status))
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		vfio_group_viable_explain(t->group, why, sizeof(why));
		log_err("%s: IOMMU group %d is not viable: %s; bind every device of the group to "
			"vfio-pci",
			bdf, t->group, *why ? why : "a device of the group is in use");
		return -EBUSY;
	}
	if (ioctl(t->group_fd, VFIO_GROUP_SET_CONTAINER, &t->container)) {
		ret = -errno;
		log_err("%s: cannot add group %d to a container: %s", bdf, t->group,
			strerror(-ret));
		return ret;
	}
	return 0;
}

/* Said once at open, so that -v shows the budget before any mapping runs out of it. */
static void log_budget(const char *bdf)
{
	struct memlock m;

	if (!memlock_get(&m) && !m.unlimited)
		log_info("%s: no CAP_IPC_LOCK: DMA memory is pinned against RLIMIT_MEMLOCK "
			 "(%llu KiB, %llu KiB locked already)",
			 bdf, (unsigned long long)m.limit >> 10,
			 (unsigned long long)m.locked >> 10);
}

int vfio_type1_open(const char *bdf, struct vfio_iommu **ret_iommu, int *ret_device_fd)
{
	struct type1 *t = calloc(1, sizeof(*t));
	int ret, fd;

	if (!t)
		return -ENOMEM;
	t->base.ops = &type1_ops;
	pthread_mutex_init(&t->base.lock, NULL);
	t->container = t->group_fd = -1;
	snprintf(t->base.bdf, sizeof(t->base.bdf), "%s", bdf);

	t->group = pci_sysfs_iommu_group(NULL, bdf);
	if (t->group < 0) {
		ret = t->group == -ENOENT ? -ENODEV : t->group;
		log_err("%s: not in an IOMMU group: is an IOMMU present and on "
			"(intel_iommu=on on the kernel command line)?",
			bdf);
		goto err_free;
	}
	t->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (t->container < 0) {
		ret = -errno;
		log_err("%s: cannot open /dev/vfio/vfio: %s (modprobe vfio-pci)", bdf,
			strerror(-ret));
		goto err_free;
	}
	if (ioctl(t->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		ret = -EOPNOTSUPP;
		log_err("%s: the kernel's VFIO lacks the type1v2 IOMMU (modprobe vfio_iommu_type1)",
			bdf);
		goto err_free;
	}
	ret = open_group(t, bdf);
	if (ret)
		goto err_free;
	if (ioctl(t->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		ret = -errno;
		if (ret == -EPERM)
			log_err("%s: the IOMMU has no interrupt remapping (QEMU: intel-iommu,intremap=on;"
				" or vfio_iommu_type1.allow_unsafe_interrupts=1 at your own risk)",
				bdf);
		else
			log_err("%s: VFIO_SET_IOMMU failed: %s", bdf, strerror(-ret));
		goto err_free;
	}
	ret = type1_get_info(t);
	if (ret) {
		log_err("%s: cannot read the IOMMU's properties: %s", bdf, strerror(-ret));
		goto err_free;
	}
	fd = ioctl(t->group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: cannot get the VFIO device: %s", bdf, strerror(-ret));
		goto err_free;
	}
	log_budget(bdf);
	*ret_iommu = &t->base;
	*ret_device_fd = fd;
	return 0;

err_free:
	type1_close(&t->base);
	return ret;
}
