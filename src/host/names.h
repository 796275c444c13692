/* SPDX-License-Identifier: MIT */
/*
 * names.h - a virtio function by any of the names a user knows it by: its PCI address, the
 * kernel's name for it (vda, eth1), a disk's serial, a NIC's MAC. Host tools: the CLI's, the
 * fio engine's and the nbdkit plugin's, never the library's.
 *
 * Once a function is on vfio-pci the kernel no longer knows its serial, MAC or name, so
 * `attach` records them first (pci_names_record()) in VV_NAMES_DIR/<BDF>, and the resolver
 * reads the record while the function has no virtio driver. Every function takes @root, a
 * prefix for /sys and /run: NULL or "" is the running system; the unit tests pass a fake tree.
 */
#ifndef VV_HOST_NAMES_H
#define VV_HOST_NAMES_H

#include <stddef.h>

#include "util/sysfs.h"

/* One small text file per attached function: "kname=vda\nserial=vvdemo0\n". */
#define VV_NAMES_DIR "/run/virtio-vfio/devices"

/* The names of one function. Strings are printable ASCII (escape_bytes()), "" when unknown. */
struct pci_names {
	char kname[32];	 /* vda, eth1: the block device or interface */
	char serial[84]; /* a disk's serial (20 bytes, each escaped to at most 4) */
	char mac[18];	 /* a NIC's address, "52:54:00:12:34:56", lower case */
};

/*
 * pci_name_resolve() - the PCI function @name denotes. Forms, tried in this order:
 *   0000:01:00.0 or 01:00.0      a PCI address (it need not exist: callers check);
 *   serial:SERIAL                 the disk whose serial is SERIAL (as `info` shows it);
 *   mac:52:54:00:12:34:56, or the address alone   the NIC with that MAC (any case);
 *   vda, eth1                     the kernel's name for a disk or interface.
 * Live names (a function driven by the kernel's virtio driver) come from /sys; a function
 * without one (on vfio-pci) is known by its record. Where a kernel name was recorded for one
 * function and the kernel has since given it to another, the live one wins: the kernel reuses
 * names. On failure @why (if not NULL) says what went wrong, without the program's name.
 *
 * Context: reads /sys and VV_NAMES_DIR; never prints, never changes anything.
 * Return: 0 with @ret_bdf set; -EINVAL: @name fits no form (a usage error); -ENOENT: no
 * function has that name; -ENOTUNIQ: several do (@why lists them); another -errno when /sys
 * cannot be read.
 */
int pci_name_resolve(const char *root, const char *name, char ret_bdf[PCI_BDF_LEN], char *why,
		     size_t why_len);

/* The names the kernel gives @bdf now, from /sys. Return: 0, or -errno; -ENOENT: no virtio driver.
 */
int pci_names_live(const char *root, const char *bdf, struct pci_names *ret);
/* Records @names for @bdf (before attach). Return: 0 or -errno. */
int pci_names_record(const char *root, const char *bdf, const struct pci_names *names);
/* The record of @bdf. Return: 0, -ENOENT when there is none, or -errno. */
int pci_names_load(const char *root, const char *bdf, struct pci_names *ret);
/* Removes the record of @bdf (after detach); no record is fine. */
void pci_names_forget(const char *root, const char *bdf);

#endif /* VV_HOST_NAMES_H */
