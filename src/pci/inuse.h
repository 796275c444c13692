/* SPDX-License-Identifier: MIT */
/*
 * inuse.h - tells whether the system depends on a PCI function, so that it is not taken
 * away from the kernel while a filesystem, swap, holder, interface or process uses it.
 */
#ifndef VV_PCI_INUSE_H
#define VV_PCI_INUSE_H

#include <stddef.h>

int pci_dev_in_use(const char *root, const char *bdf, char *reason, size_t len);

#endif /* VV_PCI_INUSE_H */
