// SPDX-License-Identifier: MIT
/*
 * knames.c - the names the kernel gave a virtio function (vda, eth0, a 9p tag, a console
 * port) and the virtio driver bound to it, from /sys: what `list` shows and the in-use
 * checks start from.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "host/knames.h"
#include "util/compiler.h"

static int add_kname(struct kname *names, unsigned max, unsigned *n, enum kname_kind kind,
		     const char *name)
{
	if (*n >= max)
		return 0; /* more names than the caller cares for: keep the first ones */
	if (strlen(name) >= sizeof(names[0].name))
		return -ENAMETOOLONG;
	names[*n].kind = kind;
	strcpy(names[*n].name, name);
	(*n)++;
	return 0;
}

/* Adds every entry of @dir (e.g. .../virtio2/block) as a name of @kind. */
static int add_dir_entries(const char *dir, enum kname_kind kind, struct kname *names, unsigned max,
			   unsigned *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d)))
		if (de->d_name[0] != '.')
			ret = add_kname(names, max, n, kind, de->d_name);
	closedir(d);
	return ret;
}

/*
 * The virtio core registers one "virtioN" child under a bound PCI function; the class
 * devices hang below it. Copies the child's path to @ret_path; returns 1 if there is one.
 */
static int virtio_child(const char *root, const char *bdf, char *ret_path, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int found = 0;
	DIR *d;
	int ret = sysfs_path(dir, sizeof(dir), root, "/sys/bus/pci/devices/%s", bdf);

	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "virtio", 6) || !isdigit((unsigned char)de->d_name[6]))
			continue;
		found = 1;
		if ((size_t)snprintf(ret_path, len, "%s/%s", dir, de->d_name) >= len)
			ret = -ENAMETOOLONG;
	}
	closedir(d);
	return ret ? ret : found;
}

/* The driver of the virtio child (virtio_blk, virtio_net, 9pnet_virtio, virtiofs, ...). */
int pci_sysfs_virtio_driver(const char *root, const char *bdf, char *buf, size_t len)
{
	char child[PATH_MAX], path[PATH_MAX + 16];
	int ret = virtio_child(root, bdf, child, sizeof(child));

	if (ret <= 0)
		return ret ? ret : -ENOENT;
	snprintf(path, sizeof(path), "%s/driver", child);
	return sysfs_link_basename(path, buf, len);
}

/*
 * The names the kernel gave the function: virtioN/block/vda, virtioN/net/eth0,
 * virtioN/virtio-ports/vport0p1, and a 9p transport's tag in virtioN/mount_tag.
 * Returns how many were found (0 when unbound or the driver makes none).
 */
int pci_sysfs_knames(const char *root, const char *bdf, struct kname *names, unsigned max)
{
	static const struct {
		const char *dir;
		enum kname_kind kind;
	} classes[] = {
		{"block", KNAME_BLOCK},
		{"net", KNAME_NET},
		{"virtio-ports", KNAME_PORT},
	};
	char child[PATH_MAX], sub[PATH_MAX + 32], tag[64];
	unsigned n = 0;
	int ret = virtio_child(root, bdf, child, sizeof(child));

	if (ret <= 0)
		return ret;
	ret = 0;
	for (size_t i = 0; i < ARRAY_SIZE(classes) && !ret; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", child, classes[i].dir);
		ret = add_dir_entries(sub, classes[i].kind, names, max, &n);
	}
	snprintf(sub, sizeof(sub), "%s/mount_tag", child);
	if (!ret && sysfs_read(sub, tag, sizeof(tag)) > 0)
		ret = add_kname(names, max, &n, KNAME_9P, tag);
	return ret ? ret : (int)n;
}
