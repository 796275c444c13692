// SPDX-License-Identifier: MIT
/*
 * persist.c - the records of `attach --persist`: which functions go to vfio-pci at boot, and
 * who owns their VFIO group node then. A line "key=value" each; unknown keys are ignored so
 * that a newer record still loads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/persist.h"
#include "util/file.h"

static int dir_path(char *buf, size_t len, const char *root)
{
	if ((size_t)snprintf(buf, len, "%s%s", root ? root : "", VV_PERSIST_DIR) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int rec_path(char *buf, size_t len, const char *root, const char *bdf)
{
	char dir[PATH_MAX];
	int ret = dir_path(dir, sizeof(dir), root);

	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, bdf) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p of the record directory, 0755: the records hold no secret. */
static int make_dir(const char *root)
{
	char dir[PATH_MAX];
	int ret = dir_path(dir, sizeof(dir), root);

	if (ret)
		return ret;
	for (char *p = dir + 1 + (root ? strlen(root) : 0); *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int pci_persist_save(const char *root, const char *bdf, const struct pci_persist *p)
{
	char path[PATH_MAX], buf[256];
	int len, ret;

	if (pci_bdf_parse(bdf, (char[PCI_BDF_LEN]){0}))
		return -EINVAL;
	ret = make_dir(root);
	if (!ret)
		ret = rec_path(path, sizeof(path), root, bdf);
	if (ret)
		return ret;
	len = snprintf(
		buf, sizeof(buf),
		"# virtio-vfio attach --persist: bound to vfio-pci at boot\ndriver=vfio-pci\n");
	if (p->owner) {
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "uid=%u\n", (unsigned)p->uid);
		if (p->gid != (gid_t)-1)
			len += snprintf(buf + len, sizeof(buf) - (size_t)len, "gid=%u\n",
					(unsigned)p->gid);
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "mode=%04o\n",
				p->mode & 07777);
	}
	/* It must survive a crash: the binding is for the next boot. */
	return file_replace(path, buf, (size_t)len, true);
}

static int parse_uint(const char *s, int base, unsigned long max, unsigned long *ret_v)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret_v = v;
	return 0;
}

int pci_persist_load(const char *root, const char *bdf, struct pci_persist *ret_p)
{
	struct pci_persist p = {.gid = (gid_t)-1, .mode = 0600};
	char path[PATH_MAX], line[256];
	unsigned long v;
	FILE *f;
	int ret;

	ret = rec_path(path, sizeof(path), root, bdf);
	if (ret)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "uid=", 4)) {
			ret = parse_uint(line + 4, 10, (uid_t)-2, &v);
			p.uid = (uid_t)v;
			p.owner = true;
		} else if (!strncmp(line, "gid=", 4)) {
			ret = parse_uint(line + 4, 10, (gid_t)-2, &v);
			p.gid = (gid_t)v;
		} else if (!strncmp(line, "mode=", 5)) {
			ret = parse_uint(line + 5, 8, 0777, &v);
			/* The node is a door to DMA: never anything for "other". */
			if (!ret && (v & 0007))
				ret = -EINVAL;
			p.mode = (unsigned)v;
		} else if (!strncmp(line, "driver=", 7)) {
			if (strcmp(line + 7, "vfio-pci"))
				ret = -EINVAL;
		}
	}
	fclose(f);
	if (ret)
		return -EINVAL;
	*ret_p = p;
	return 0;
}

int pci_persist_forget(const char *root, const char *bdf)
{
	char path[PATH_MAX];
	int ret = rec_path(path, sizeof(path), root, bdf);

	if (ret)
		return ret;
	/* Looked up first: on a read-only /etc, unlink() of a missing record says EROFS. */
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int pci_persist_each(const char *root, int (*fn)(const char *bdf, void *ctx), void *ctx)
{
	char dir[PATH_MAX], bdf[PCI_BDF_LEN];
	struct dirent *de;
	int ret = dir_path(dir, sizeof(dir), root);
	DIR *d;

	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		/* Only canonical addresses: not ".", not a leftover "X.tmp", not a note. */
		if (pci_bdf_parse(de->d_name, bdf) || strcmp(bdf, de->d_name))
			continue;
		ret = fn(bdf, ctx);
	}
	closedir(d);
	return ret;
}
