/* SPDX-License-Identifier: MIT */
/*
 * persist.h - the bindings `attach --persist` records so that they survive a reboot: one file
 * per function in /etc/virtio-vfio/persist, named by its PCI address.
 */
#ifndef VV_HOST_PERSIST_H
#define VV_HOST_PERSIST_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/sysfs.h"

/*
 * The udev rule (60-virtio-vfio.rules) tests for $PERSIST_DIR/$kernel and sets
 * driver_override before any driver probes the function; the initramfs hook reads the same
 * files. Changing the path means changing both.
 */
#define VV_PERSIST_DIR "/etc/virtio-vfio/persist"

struct pci_persist {
	bool owner; /* hand /dev/vfio/GROUP to uid:gid at boot */
	uid_t uid;
	gid_t gid;     /* (gid_t)-1: leave the node's group */
	unsigned mode; /* 0600 or 0660 */
};

/*
 * Records @bdf (canonical) as bound to vfio-pci at boot, with @p's owner. @root prefixes the
 * path (NULL: "/"; tests use a scratch tree). Written to a temporary file and renamed, so a
 * crash leaves the old record or the new one. Returns 0 or -errno.
 */
int pci_persist_save(const char *root, const char *bdf, const struct pci_persist *p);

/* Reads @bdf's record. Returns 0, -ENOENT without one, -EINVAL if it is malformed. */
int pci_persist_load(const char *root, const char *bdf, struct pci_persist *ret_p);

/* Removes @bdf's record. Returns 0 (also when there was none) or -errno. */
int pci_persist_forget(const char *root, const char *bdf);

/*
 * Calls @fn for each recorded function, in directory order; stops at the first non-zero
 * return and returns it. Entries that are no PCI address are skipped. Returns 0, what @fn
 * returned, or -errno if the directory cannot be read (0 if it does not exist).
 */
int pci_persist_each(const char *root, int (*fn)(const char *bdf, void *ctx), void *ctx);

#endif /* VV_HOST_PERSIST_H */
