// SPDX-License-Identifier: MIT
/*
 * sysfs.c - a PCI function's address, and what /sys says of it: its driver and IOMMU group.
 * Depends on nothing, so that both the VFIO layer and the PCI transport can use it.
 */
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

#include "util/sysfs.h"
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
int sysfs_link_basename(const char *path, char *buf, size_t len)
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
	ret = sysfs_link_basename(path, buf, len);
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
	ret = sysfs_link_basename(path, name, sizeof(name));
	if (ret)
		return ret;
	errno = 0;
	group = strtoul(name, &end, 10);
	if (errno || *end || end == name || group > INT_MAX)
		return -EINVAL;
	return (int)group;
}
