// SPDX-License-Identifier: MIT
/* sysfs.c - reads a PCI function's driver, IOMMU group and kernel names from /sys. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci/sysfs.h"
#include "util/compiler.h"

/*
 * Accepts "0000:00:05.0" and "00:05.0" (domain 0). The result is the kernel's spelling,
 * and nothing else gets through: a BDF ends up in sysfs paths, so "../" must never pass.
 */
int pci_bdf_parse(const char *in, char ret_bdf[PCI_BDF_LEN])
{
	unsigned dom = 0, bus, dev, fn;
	int n = 0;
	size_t len;

	if (!in)
		return -EINVAL;
	len = strlen(in);
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)in[i]) && in[i] != ':' && in[i] != '.')
			return -EINVAL;

	if (len == 12) {
		if (sscanf(in, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) != 4)
			return -EINVAL;
	} else if (len == 7) {
		if (sscanf(in, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) != 3)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if ((size_t)n != len || dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(ret_bdf, PCI_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

int sysfs_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s", root ? root : "");
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads a small attribute file; strips the trailing newline. Returns its length. */
int sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	/* Attributes such as mount_tag come NUL-padded; cut at the first NUL or newline. */
	n = (ssize_t)strcspn(buf, "\n");
	buf[n] = '\0';
	return (int)strlen(buf);
}

int pci_sysfs_exists(const char *root, const char *bdf)
{
	char path[PATH_MAX];
	int ret = sysfs_path(path, sizeof(path), root, "/sys/bus/pci/devices/%s", bdf);

	if (ret)
		return ret;
	return access(path, F_OK) ? -errno : 0;
}

/* Reads the basename of a symlink's target, e.g. the driver or the iommu_group. */
static int link_basename(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

/* Sets @buf to the bound driver's name, or to "" when no driver is bound. */
int pci_sysfs_driver(const char *root, const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];
	int ret = sysfs_path(path, sizeof(path), root, "/sys/bus/pci/devices/%s/driver", bdf);

	if (ret)
		return ret;
	ret = link_basename(path, buf, len);
	if (ret == -ENOENT) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	return ret;
}

/* Returns the IOMMU group number, or -ENOENT when the function is in none (no IOMMU). */
int pci_sysfs_iommu_group(const char *root, const char *bdf)
{
	char path[PATH_MAX], name[32], *end;
	unsigned long group;
	int ret = sysfs_path(path, sizeof(path), root, "/sys/bus/pci/devices/%s/iommu_group", bdf);

	if (ret)
		return ret;
	ret = link_basename(path, name, sizeof(name));
	if (ret)
		return ret;
	errno = 0;
	group = strtoul(name, &end, 10);
	if (errno || *end || end == name || group > INT_MAX)
		return -EINVAL;
	return (int)group;
}

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
	return link_basename(path, buf, len);
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
