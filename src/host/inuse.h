/* SPDX-License-Identifier: MIT */
/*
 * inuse.h - tells whether the system depends on a PCI function, so that it is not taken
 * away from the kernel while a filesystem, swap, holder, loop device, interface, network
 * namespace or process uses it; and claims its disks so that nothing new can start to.
 *
 * Like sysfs.h, every look-up takes @root, a prefix for /sys, /proc and /dev: NULL or "" is
 * the running system; the unit tests pass a directory holding a fake tree (where what only
 * the kernel can answer, such as other network namespaces or O_EXCL, is not looked at).
 */
#ifndef VV_PCI_INUSE_H
#define VV_PCI_INUSE_H

#include <stddef.h>

/* Who uses a function, for a refusal: what it is, and how to let go of it. */
struct pci_user {
	char what[512];	   /* "/dev/vda1 is mounted on /data" */
	char release[512]; /* "umount /data"; "" when there is no one-line way */
};

int pci_dev_in_use(const char *root, const char *bdf, struct pci_user *ret_user);

/*
 * The function's disks held open with O_EXCL: while a claim is open no filesystem, swap,
 * md, dm/LVM, journal or other exclusive user can take them.
 */
struct pci_claim;

int pci_claim_open(const char *bdf, struct pci_claim **ret_claim, struct pci_user *ret_user);
void pci_claim_close(struct pci_claim *claim);

#endif /* VV_PCI_INUSE_H */
