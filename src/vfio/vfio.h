/* SPDX-License-Identifier: MIT */
/*
 * vfio.h - the VFIO layer: an IOMMU backend behind an ops table (type1 today, iommufd next),
 * DMA memory mapped at allocated IOVAs, and a device's regions and interrupts.
 */
#ifndef VV_VFIO_VFIO_H
#define VV_VFIO_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-vfio/mem.h>

#include "util/sysfs.h"
#include "vfio/iova.h"

#include <linux/vfio.h>

struct vfio_iommu;

void *vfio_info_get(int fd, unsigned long request, const void *query, uint32_t query_len,
		    int *ret_err);
uint32_t vfio_info_cap_find(const void *info, uint32_t argsz, uint32_t first, uint16_t id);

/*
 * What callers need of an IOMMU backend. type1 implements it over a container and group;
 * iommufd would over an IOAS and the device cdev, without callers noticing.
 */
struct vfio_iommu_ops {
	const char *name;
	/* @access: VV_DMA_DEVICE_READ and/or VV_DMA_DEVICE_WRITE, what the device may do. */
	int (*map)(struct vfio_iommu *iommu, void *vaddr, uint64_t iova, size_t len,
		   unsigned access);
	int (*unmap)(struct vfio_iommu *iommu, uint64_t iova, size_t len);
	void (*close)(struct vfio_iommu *iommu);
};

struct vfio_dma_map {
	void *vaddr;
	uint64_t iova;
	size_t len;
	uint64_t skip; /* IOVA space taken before @iova, to match @vaddr's place in 2 MiB */
	bool owned;    /* ours to munmap: vfio_dma_alloc(), not vfio_dma_register() */
	struct vfio_dma_map *next;
};

struct vfio_iommu {
	const struct vfio_iommu_ops *ops;
	char bdf[PCI_BDF_LEN]; /* for messages */
	uint64_t pgsize;       /* smallest IOMMU page size */
	/* Mappings may be made and undone from several threads (the FUSE export's workers). */
	pthread_mutex_t lock;
	struct iova_alloc iova;	   /* under lock */
	struct vfio_dma_map *maps; /* under lock */
};

int vfio_type1_open(const char *bdf, struct vfio_iommu **ret_iommu, int *ret_device_fd);
int vfio_group_viable_explain(int group, char *buf, size_t len);

int vfio_dma_alloc(struct vfio_iommu *iommu, size_t len, unsigned access, void **ret_vaddr,
		   uint64_t *ret_iova);
int vfio_dma_register(struct vfio_iommu *iommu, void *vaddr, size_t len, unsigned access,
		      uint64_t *ret_iova);
int vfio_dma_free(struct vfio_iommu *iommu, void *vaddr);
void vfio_iommu_close(struct vfio_iommu *iommu);

struct vfio_region {
	bool present;
	bool mmappable;
	uint64_t size;
	uint64_t offset; /* of the region in the device fd */
	void *map;	 /* mmap of [map_off, map_off + map_len) or NULL */
	uint64_t map_off;
	size_t map_len;
};

struct vfio_dev {
	char bdf[PCI_BDF_LEN];
	struct vfio_iommu *iommu;
	int fd;
	bool can_reset;
	struct vfio_region bar[6];
	struct vfio_region config;
	unsigned msix_max; /* vectors VFIO offers */
	int *msix_fds;
	unsigned msix_count; /* vectors enabled, 0 when off */
	int req_fd;	     /* REQ interrupt (hot-unplug request), -1 if unsupported */
};

int vfio_dev_open(const char *bdf, struct vfio_dev **ret_dev);
void vfio_dev_close(struct vfio_dev *dev);

int vfio_cfg_read(struct vfio_dev *dev, unsigned off, void *buf, size_t len);
int vfio_cfg_write(struct vfio_dev *dev, unsigned off, const void *buf, size_t len);
int vfio_bar_map(struct vfio_dev *dev, unsigned bar, uint64_t off, uint64_t len, void **ret);
int vfio_set_bus_master(struct vfio_dev *dev, bool on);
int vfio_dev_reset(struct vfio_dev *dev);

int vfio_msix_enable(struct vfio_dev *dev, unsigned count);
void vfio_msix_disable(struct vfio_dev *dev);

#endif /* VV_VFIO_VFIO_H */
