// SPDX-License-Identifier: MIT
/* device.c - a VFIO device: open, regions (config space, BARs with sparse mmap), reset, close. */
#include <errno.h>
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "util/log.h"
#include "vfio/vfio.h"

static int region_info(struct vfio_dev *dev, unsigned index, struct vfio_region *r)
{
	struct vfio_region_info info = {.argsz = sizeof(info), .index = index};

	if (ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	r->present = info.size > 0;
	r->mmappable = info.flags & VFIO_REGION_INFO_FLAG_MMAP;
	r->size = info.size;
	r->offset = info.offset;
	return 0;
}

/* The REQ interrupt fires when the kernel wants the device back (hot-unplug). */
static void req_irq_enable(struct vfio_dev *dev)
{
	struct vfio_irq_info info = {.argsz = sizeof(info), .index = VFIO_PCI_REQ_IRQ_INDEX};
	union {
		struct vfio_irq_set set;
		uint8_t bytes[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	} irq = {.set = {
			 .argsz = sizeof(irq),
			 .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			 .index = VFIO_PCI_REQ_IRQ_INDEX,
			 .count = 1,
		 }};
	int32_t fd;

	dev->req_fd = -1;
	if (ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) || info.count < 1)
		return;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return;
	memcpy(irq.set.data, &fd, sizeof(fd));
	if (ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, &irq)) {
		log_warn("%s: cannot register the VFIO request interrupt: %s", dev->bdf,
			 strerror(errno));
		close(fd);
		return;
	}
	dev->req_fd = fd;
}

int vfio_dev_open(const char *bdf, struct vfio_dev **ret_dev)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	struct vfio_irq_info msix = {.argsz = sizeof(msix), .index = VFIO_PCI_MSIX_IRQ_INDEX};
	struct vfio_dev *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev)
		return -ENOMEM;
	snprintf(dev->bdf, sizeof(dev->bdf), "%s", bdf);
	dev->fd = dev->req_fd = -1;
	ret = vfio_type1_open(bdf, &dev->iommu, &dev->fd);
	if (ret)
		goto err;
	if (ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info)) {
		ret = -errno;
		goto err;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		ret = -ENODEV;
		log_err("%s: VFIO does not present it as a PCI device", bdf);
		goto err;
	}
	dev->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	for (unsigned i = 0; i < 6; i++) {
		ret = region_info(dev, VFIO_PCI_BAR0_REGION_INDEX + i, &dev->bar[i]);
		if (ret)
			goto err;
	}
	ret = region_info(dev, VFIO_PCI_CONFIG_REGION_INDEX, &dev->config);
	if (ret)
		goto err;
	if (!ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &msix))
		dev->msix_max = msix.count;
	req_irq_enable(dev);
	*ret_dev = dev;
	return 0;
err:
	vfio_dev_close(dev);
	return ret;
}

void vfio_dev_close(struct vfio_dev *dev)
{
	if (!dev)
		return;
	vfio_msix_disable(dev);
	for (unsigned i = 0; i < 6; i++)
		if (dev->bar[i].map)
			munmap(dev->bar[i].map, dev->bar[i].map_len);
	if (dev->req_fd >= 0)
		close(dev->req_fd);
	/* The device fd goes first: vfio-pci then stops the device before DMA is unmapped. */
	if (dev->fd >= 0)
		close(dev->fd);
	vfio_iommu_close(dev->iommu);
	free(dev);
}

static int cfg_access(struct vfio_dev *dev, unsigned off, void *buf, size_t len, bool write)
{
	ssize_t n;

	if (off > dev->config.size || len > dev->config.size - off)
		return -EINVAL;
	n = write ? pwrite(dev->fd, buf, len, (off_t)(dev->config.offset + off))
		  : pread(dev->fd, buf, len, (off_t)(dev->config.offset + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_cfg_read(struct vfio_dev *dev, unsigned off, void *buf, size_t len)
{
	return cfg_access(dev, off, buf, len, false);
}

int vfio_cfg_write(struct vfio_dev *dev, unsigned off, const void *buf, size_t len)
{
	return cfg_access(dev, off, (void *)buf, len, true);
}

/* vfio-pci clears Bus Master on open; without it the device cannot reach our rings. */
int vfio_set_bus_master(struct vfio_dev *dev, bool on)
{
	uint16_t cmd;
	int ret = vfio_cfg_read(dev, PCI_COMMAND, &cmd, sizeof(cmd));

	if (ret)
		return ret;
	cmd = le16toh(cmd);
	cmd = on ? cmd | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MASTER;
	cmd = htole16(cmd);
	return vfio_cfg_write(dev, PCI_COMMAND, &cmd, sizeof(cmd));
}

int vfio_dev_reset(struct vfio_dev *dev)
{
	if (!dev->can_reset)
		return -ENOTTY;
	return ioctl(dev->fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

/*
 * Finds the part of the BAR that may be mmapped and contains [off, off + len): the whole
 * BAR, or one area of the sparse-mmap capability (vfio-pci cuts out the MSI-X table).
 */
static int mmap_window(struct vfio_dev *dev, unsigned bar, uint64_t off, uint64_t len,
		       uint64_t *ret_off, uint64_t *ret_len)
{
	struct vfio_region_info *info;
	struct vfio_region_info query = {.index = VFIO_PCI_BAR0_REGION_INDEX + bar};
	uint32_t argsz;
	int ret;

	info = vfio_info_get(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &query, sizeof(query), &ret);
	if (!info)
		return ret;
	argsz = info->argsz;
	ret = -EOPNOTSUPP;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP))
		goto out;
	*ret_off = 0;
	*ret_len = info->size;
	ret = 0;
	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS) {
		struct vfio_region_info_cap_sparse_mmap sp;
		uint32_t c = vfio_info_cap_find(info, argsz, info->cap_offset,
						VFIO_REGION_INFO_CAP_SPARSE_MMAP);

		if (c && c + sizeof(sp) <= argsz) {
			memcpy(&sp, (char *)info + c, sizeof(sp));
			ret = -EOPNOTSUPP; /* only the listed areas may be mapped */
			for (uint32_t i = 0; i < sp.nr_areas; i++) {
				struct vfio_region_sparse_mmap_area a;
				size_t at = c + sizeof(sp) + i * sizeof(a);

				if (at + sizeof(a) > argsz)
					break;
				memcpy(&a, (char *)info + at, sizeof(a));
				if (off >= a.offset && off + len <= a.offset + a.size) {
					*ret_off = a.offset;
					*ret_len = a.size;
					ret = 0;
					break;
				}
			}
		}
	}
out:
	free(info);
	return ret;
}

/* Returns in @ret a pointer to BAR offset @off, mapping the BAR (or its window) once. */
int vfio_bar_map(struct vfio_dev *dev, unsigned bar, uint64_t off, uint64_t len, void **ret)
{
	struct vfio_region *r;
	uint64_t woff = 0, wlen = 0;
	void *p;
	int err;

	if (bar >= 6 || !dev->bar[bar].present || off > dev->bar[bar].size ||
	    len > dev->bar[bar].size - off)
		return -EINVAL;
	r = &dev->bar[bar];
	if (r->map && off >= r->map_off && off + len <= r->map_off + r->map_len) {
		*ret = (char *)r->map + (off - r->map_off);
		return 0;
	}
	if (r->map)
		return -EOPNOTSUPP; /* a second window of one BAR: not needed by virtio-pci */
	err = mmap_window(dev, bar, off, len, &woff, &wlen);
	if (err) {
		log_err("%s: BAR%u cannot be mmapped at 0x%llx+0x%llx", dev->bdf, bar,
			(unsigned long long)off, (unsigned long long)len);
		return err;
	}
	p = mmap(NULL, wlen, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd,
		 (off_t)(r->offset + woff));
	if (p == MAP_FAILED) {
		err = -errno;
		log_err("%s: mmap of BAR%u failed: %s", dev->bdf, bar, strerror(-err));
		return err;
	}
	r->map = p;
	r->map_off = woff;
	r->map_len = wlen;
	*ret = (char *)p + (off - woff);
	return 0;
}
