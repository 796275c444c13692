/* SPDX-License-Identifier: MIT */
/*
 * knames.h - the names the kernel gave a virtio function and the virtio driver bound to it.
 * Host tools: the CLI's, not the library's.
 *
 * Every function takes @root, a prefix for /sys and /proc: NULL or "" is the running
 * system; the unit tests pass a directory holding a fake tree.
 */
#ifndef VV_HOST_KNAMES_H
#define VV_HOST_KNAMES_H

#include <stddef.h>

#include "util/sysfs.h"

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

#endif /* VV_HOST_KNAMES_H */
