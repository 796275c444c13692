/* SPDX-License-Identifier: MIT */
/*
 * sysfs.h - what the kernel tells about a PCI function through /sys: its driver, IOMMU
 * group and the names the kernel gave it (vda, eth0).
 *
 * Every function takes @root, a prefix for /sys and /proc: NULL or "" is the running
 * system; the unit tests pass a directory holding a fake tree.
 */
#ifndef VV_PCI_SYSFS_H
#define VV_PCI_SYSFS_H

#include <stddef.h>

/* "0000:00:05.0" plus the terminating NUL. */
#define PCI_BDF_LEN 13

int pci_bdf_parse(const char *in, char ret_bdf[PCI_BDF_LEN]);

int sysfs_read(const char *path, char *buf, size_t len);
int sysfs_path(char *buf, size_t len, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

int pci_sysfs_exists(const char *root, const char *bdf);
int pci_sysfs_driver(const char *root, const char *bdf, char *buf, size_t len);
int pci_sysfs_iommu_group(const char *root, const char *bdf);
int pci_sysfs_virtio_driver(const char *root, const char *bdf, char *buf, size_t len);

enum kname_kind {
	KNAME_BLOCK, /* /dev/<name> */
	KNAME_NET,   /* network interface */
	KNAME_9P,    /* mount tag of a 9p transport */
	KNAME_PORT,  /* virtio-console port */
};

struct kname {
	enum kname_kind kind;
	char name[64];
};

#define PCI_MAX_KNAMES 8

int pci_sysfs_knames(const char *root, const char *bdf, struct kname *names, unsigned max);

#endif /* VV_PCI_SYSFS_H */
