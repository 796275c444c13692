/* SPDX-License-Identifier: MIT */
/*
 * sysfs.h - a PCI function's address, and what the kernel tells of it through /sys: its
 * driver and IOMMU group. The bottom layer: it depends on nothing else here.
 *
 * Every function takes @root, a prefix for /sys and /proc: NULL or "" is the running
 * system; the unit tests pass a directory holding a fake tree.
 */
#ifndef VV_UTIL_SYSFS_H
#define VV_UTIL_SYSFS_H

#include <stddef.h>

/* "0000:00:05.0" plus the terminating NUL. */
#define PCI_BDF_LEN 13

int pci_bdf_parse(const char *in, char ret_bdf[PCI_BDF_LEN]);

int sysfs_read(const char *path, char *buf, size_t len);
int sysfs_path(char *buf, size_t len, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The basename of a symlink's target, e.g. the driver or the iommu_group. */
int sysfs_link_basename(const char *path, char *buf, size_t len);

int pci_sysfs_exists(const char *root, const char *bdf);
int pci_sysfs_driver(const char *root, const char *bdf, char *buf, size_t len);
int pci_sysfs_iommu_group(const char *root, const char *bdf);
#endif /* VV_UTIL_SYSFS_H */
