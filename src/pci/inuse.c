// SPDX-License-Identifier: MIT
/* inuse.c - finds what uses a virtio PCI function: mounts, swap, holders, interfaces, openers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci/inuse.h"
#include "pci/sysfs.h"
#include "util/compiler.h"

struct mount_ent {
	char majmin[32];
	char mnt[PATH_MAX];
	char fstype[64];
	char source[PATH_MAX];
};

/* mountinfo escapes space, tab, newline and backslash as \ooo (octal); undo it in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

static void copy_field(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
	unescape_octal(dst);
}

/*
 * proc(5) mountinfo: "id parent maj:min root mountpoint options [optional...] - fstype source
 * superoptions". The optional fields vary in number; the "-" separator ends them.
 */
static int parse_mountinfo_line(char *line, struct mount_ent *m)
{
	char *save = NULL, *tok;
	char *field[5] = {0};
	int i = 0;

	for (tok = strtok_r(line, " \n", &save); tok && i < 5; tok = strtok_r(NULL, " \n", &save))
		field[i++] = tok;
	if (i < 5)
		return -EINVAL;
	while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-"))
		;
	if (!tok)
		return -EINVAL;
	copy_field(m->majmin, sizeof(m->majmin), field[2]);
	copy_field(m->mnt, sizeof(m->mnt), field[4]);
	copy_field(m->fstype, sizeof(m->fstype), strtok_r(NULL, " \n", &save));
	copy_field(m->source, sizeof(m->source), strtok_r(NULL, " \n", &save));
	return 0;
}

enum mount_key { BY_MAJMIN, BY_9P_TAG, BY_FSTYPE };

/* Finds the first mount matching @key/@value; copies its mount point to @ret_mnt. */
static int find_mount(const char *root, enum mount_key key, const char *value, char *ret_mnt,
		      size_t len)
{
	char path[PATH_MAX], *line = NULL;
	struct mount_ent *m;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	if (sysfs_path(path, sizeof(path), root, "/proc/self/mountinfo"))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	m = malloc(sizeof(*m));
	if (!m) {
		fclose(f);
		return -ENOMEM;
	}
	while (!found && getline(&line, &cap, f) > 0) {
		if (parse_mountinfo_line(line, m))
			continue;
		switch (key) {
		case BY_MAJMIN:
			found = !strcmp(m->majmin, value);
			break;
		case BY_9P_TAG:
			found = !strcmp(m->fstype, "9p") && !strcmp(m->source, value);
			break;
		case BY_FSTYPE:
			found = !strcmp(m->fstype, value);
			break;
		}
		if (found)
			snprintf(ret_mnt, len, "%s", m->mnt);
	}
	free(line);
	free(m);
	fclose(f);
	return found;
}

static int is_swap(const char *root, const char *devname)
{
	char path[PATH_MAX], dev[PATH_MAX], *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	if (sysfs_path(path, sizeof(path), root, "/proc/swaps"))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no swap support at all */
	snprintf(dev, sizeof(dev), "/dev/%s", devname);
	while (!found && getline(&line, &cap, f) > 0) {
		line[strcspn(line, " \t\n")] = '\0';
		unescape_octal(line);
		found = !strcmp(line, dev);
	}
	free(line);
	fclose(f);
	return found;
}

/* Copies the first entry of a directory such as holders/ to @ret_name; 0 when empty. */
static int first_entry(const char *dir, char *ret_name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(ret_name, len, "%s", de->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

/* One block device (a disk or a partition): mounted, swap or held by dm/md. */
static int blockdev_in_use(const char *root, const char *name, char *reason, size_t len)
{
	char path[PATH_MAX], majmin[32], other[PATH_MAX];
	int ret;

	if (sysfs_path(path, sizeof(path), root, "/sys/class/block/%s/dev", name))
		return -ENAMETOOLONG;
	if (sysfs_read(path, majmin, sizeof(majmin)) > 0) {
		ret = find_mount(root, BY_MAJMIN, majmin, other, sizeof(other));
		if (ret > 0)
			snprintf(reason, len, "/dev/%s is mounted on %s", name, other);
		if (ret)
			return ret;
	}
	ret = is_swap(root, name);
	if (ret > 0)
		snprintf(reason, len, "/dev/%s is in use as swap", name);
	if (ret)
		return ret;
	if (sysfs_path(path, sizeof(path), root, "/sys/class/block/%s/holders", name))
		return -ENAMETOOLONG;
	ret = first_entry(path, other, sizeof(other));
	if (ret > 0)
		snprintf(reason, len, "/dev/%s is held by %s", name, other);
	return ret;
}

/* A disk and each of its partitions (the subdirectories that have a "partition" file). */
static int disk_in_use(const char *root, const char *disk, char *reason, size_t len)
{
	char dir[PATH_MAX], part[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;
	int ret = blockdev_in_use(root, disk, reason, len);

	if (ret)
		return ret;
	if (sysfs_path(dir, sizeof(dir), root, "/sys/class/block/%s", disk))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		if (strncmp(de->d_name, disk, strlen(disk)))
			continue;
		snprintf(part, sizeof(part), "%s/%s/partition", dir, de->d_name);
		if (!access(part, F_OK))
			ret = blockdev_in_use(root, de->d_name, reason, len);
	}
	closedir(d);
	return ret;
}

/* An interface that is up or has an address carries traffic the system relies on. */
static int netdev_in_use(const char *root, const char *ifname, char *reason, size_t len)
{
	char path[PATH_MAX], val[32];
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (sysfs_path(path, sizeof(path), root, "/sys/class/net/%s/flags", ifname))
		return -ENAMETOOLONG;
	if (sysfs_read(path, val, sizeof(val)) > 0 && (strtoul(val, NULL, 0) & IFF_UP)) {
		snprintf(reason, len, "interface %s is up", ifname);
		return 1;
	}

	/* Addresses live in the kernel's netlink state, not in a file a test could fake. */
	if ((root && *root) || getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next) {
		char addr[INET6_ADDRSTRLEN] = "";

		if (!i->ifa_addr || strcmp(i->ifa_name, ifname))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
				  addr, sizeof(addr));
		else if (i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, addr,
				  sizeof(addr));
		if (*addr) {
			snprintf(reason, len, "interface %s has address %s", ifname, addr);
			found = 1;
		}
	}
	freeifaddrs(ifa);
	return found;
}

/* A process holding /dev/vfio/<group> open owns the device through VFIO. */
static int vfio_group_opener(const char *root, int group, char *reason, size_t len)
{
	char dir[PATH_MAX], want[32], path[2 * PATH_MAX], target[PATH_MAX], comm[64];
	struct dirent *pe, *fe;
	int found = 0;
	DIR *proc, *fds;

	snprintf(want, sizeof(want), "/dev/vfio/%d", group);
	if (sysfs_path(dir, sizeof(dir), root, "/proc"))
		return -ENAMETOOLONG;
	proc = opendir(dir);
	if (!proc)
		return -errno;
	while (!found && (pe = readdir(proc))) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s/fd", dir, pe->d_name);
		fds = opendir(path);
		if (!fds)
			continue; /* gone, or not ours to look at */
		while (!found && (fe = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "%s/%s/fd/%s", dir, pe->d_name, fe->d_name);
			n = readlink(path, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			found = !strcmp(target, want);
		}
		closedir(fds);
		if (found) {
			snprintf(path, sizeof(path), "%s/%s/comm", dir, pe->d_name);
			if (sysfs_read(path, comm, sizeof(comm)) < 0)
				strcpy(comm, "?");
			snprintf(reason, len, "%s is open in process %s (%s)", want, pe->d_name,
				 comm);
		}
	}
	closedir(proc);
	return found;
}

/* Whether sysfs shows the virtio vendor ID; a fake tree without the file says no. */
static bool is_virtio_function(const char *root, const char *bdf)
{
	char path[PATH_MAX], val[16];

	if (sysfs_path(path, sizeof(path), root, "/sys/bus/pci/devices/%s/vendor", bdf) ||
	    sysfs_read(path, val, sizeof(val)) <= 0)
		return false;
	return strtoul(val, NULL, 16) == 0x1af4;
}

/*
 * Returns 1 and a one-line @reason ("/dev/vda1 is mounted on /data") when the system uses the
 * function, 0 when nothing was found, or a negative errno when the look-up itself failed.
 */
int pci_dev_in_use(const char *root, const char *bdf, char *reason, size_t len)
{
	struct kname names[PCI_MAX_KNAMES];
	char driver[64], mnt[PATH_MAX];
	int n, ret = 0;

	n = pci_sysfs_knames(root, bdf, names, ARRAY_SIZE(names));
	if (n < 0)
		return n;
	for (int i = 0; i < n && !ret; i++) {
		switch (names[i].kind) {
		case KNAME_BLOCK:
			ret = disk_in_use(root, names[i].name, reason, len);
			break;
		case KNAME_NET:
			ret = netdev_in_use(root, names[i].name, reason, len);
			break;
		case KNAME_9P:
			ret = find_mount(root, BY_9P_TAG, names[i].name, mnt, sizeof(mnt));
			if (ret > 0)
				snprintf(reason, len, "9p share %s is mounted on %s", names[i].name,
					 mnt);
			break;
		case KNAME_PORT:
			break; /* an idle console port is not worth a refusal */
		}
	}
	if (ret)
		return ret;

	if (pci_sysfs_virtio_driver(root, bdf, driver, sizeof(driver)) == 0 &&
	    !strcmp(driver, "virtiofs")) {
		/* sysfs does not show a virtiofs tag: any virtiofs mount may be this one. */
		ret = find_mount(root, BY_FSTYPE, "virtiofs", mnt, sizeof(mnt));
		if (ret > 0)
			snprintf(reason, len, "a virtiofs filesystem is mounted on %s", mnt);
		return ret;
	}
	ret = pci_sysfs_driver(root, bdf, driver, sizeof(driver));
	if (ret)
		return ret;
	if (!strcmp(driver, "vfio-pci")) {
		int group = pci_sysfs_iommu_group(root, bdf);

		if (group >= 0)
			return vfio_group_opener(root, group, reason, len);
	}
	if (*driver && strcmp(driver, "virtio-pci") && is_virtio_function(root, bdf)) {
		/* pci-stub, a vendor driver...: nothing above could see what it does with it. */
		snprintf(reason, len,
			 "it is bound to %s, a driver virtio-vfio cannot check for users (it knows "
			 "virtio-pci and vfio-pci)",
			 driver);
		return 1;
	}
	return 0;
}
