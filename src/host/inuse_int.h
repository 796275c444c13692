/* SPDX-License-Identifier: MIT */
/*
 * inuse_int.h - what the in-use detectors (inuse.c, inuse_blk.c, inuse_net.c,
 * inuse_proc.c) share. Not used outside them, so the set can move out of the library whole.
 */
#ifndef VV_PCI_INUSE_INT_H
#define VV_PCI_INUSE_INT_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "host/inuse.h"
#include "host/knames.h"
#include "util/escape.h"
#include "util/compiler.h"

/* snprintf into an array, where a cut-short name or path only shortens a message. */
void str_fmt(char *buf, size_t len, const char *fmt, ...) VV_PRINTF(3, 4);
#define fmt_into(buf, ...) str_fmt((buf), sizeof(buf), __VA_ARGS__)

/* Fills @u; either string may be NULL for "". */
void use_set(struct pci_user *u, const char *release, const char *fmt, ...) VV_PRINTF(3, 4);
/* Copies @in to @out with every byte that is not printable ASCII, and '\', as \xHH. */

/* A disk and its partitions, the disk first: what a virtio-blk function gives the system. */
#define BLKSET_MAX 129
struct blkset {
	unsigned n;
	char name[BLKSET_MAX][32];
	dev_t dev[BLKSET_MAX];
};

int blkset_read(const char *root, const char *disk, struct blkset *s);
int blkset_find(const struct blkset *s, dev_t dev);
/* A "maj:min" or the device of a /dev path, from sysfs (fake trees) or stat (the system). */
int parse_majmin(const char *s, dev_t *ret);
int path_devt(const char *root, const char *path, dev_t *ret);

/* Users that hold a device exclusively: mounts, swap, holders, journals, btrfs members. */
int blk_exclusive_user(const char *root, const struct blkset *s, struct pci_user *u);
/* Users that only keep it open: loop devices over it, processes. */
int blk_shared_user(const char *root, const struct blkset *s, struct pci_user *u);

/* Opens the device @dev (called @name in /dev) with @flags, through a node known to be it. */
int blk_open_dev(const char *name, dev_t dev, int flags);

/* One line of /proc/self/mountinfo, unescaped. */
struct mount_ent {
	char majmin[32];
	char mnt[PATH_MAX];
	char fstype[64];
	char source[PATH_MAX];
};

/* The first mount @match accepts; copies its mount point (escaped for printing). */
typedef bool (*mount_match_fn)(const char *root, const struct mount_ent *m, void *arg);
int mount_walk(const char *root, mount_match_fn match, void *arg, char *ret_mnt, size_t len);
const char *umount_hint(char *buf, size_t len, const char *mnt);
/* Mounts: the first whose filesystem type is @fstype and source is @source (NULL: any). */
int mount_find(const char *root, const char *fstype, const char *source, char *ret_mnt, size_t len);

/*
 * Walks /proc/PID/fd/N of every process but this one; @match gets the link's path (under
 * @root). On a match, fills @ret_pid and the escaped command name. Returns 1, 0 or -errno.
 */
typedef bool (*proc_fd_match_fn)(const char *root, const char *fdpath, void *arg);
int proc_find_fd(const char *root, proc_fd_match_fn match, void *arg, int *ret_pid, char *ret_comm,
		 size_t len);
/* The same through /proc/PID/maps: a mapping of a file that is one of @s's devices. */
int proc_find_mapping(const char *root, const struct blkset *s, int *ret_pid, char *ret_comm,
		      size_t len, unsigned *ret_idx);
void proc_comm(const char *root, int pid, char *buf, size_t len);

/* A virtio-net function: its interface, in this network namespace or any other. */
int net_in_use(const char *root, const char *bdf, const struct kname *names, int n,
	       struct pci_user *u);

#endif /* VV_PCI_INUSE_INT_H */
