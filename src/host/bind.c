// SPDX-License-Identifier: MIT
/* bind.c - binds a PCI function to a named driver via driver_override and drivers_probe. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/bind.h"
#include "util/sysfs.h"
#include "util/log.h"

static int write_attr(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(val))
		ret = -EIO;
	close(fd);
	return ret;
}

/*
 * Binds @bdf to @driver ("vfio-pci", "virtio-pci", ...), the way the kernel documents it:
 * driver_override names the only driver that may claim the function, unbind releases it from
 * the current one, drivers_probe lets the named one claim it. Never new_id: that would claim
 * every device with the same IDs. Leaves driver_override set to @driver so no other driver
 * grabs the function later; an empty @driver clears it and lets the kernel choose.
 * Returns 0 once sysfs shows the function bound to @driver; -EIO if it did not bind.
 */
int pci_bind_driver(const char *bdf, const char *driver)
{
	char path[PATH_MAX], cur[64];
	int ret;

	ret = pci_sysfs_driver(NULL, bdf, cur, sizeof(cur));
	if (ret)
		return ret;
	if (*driver && !strcmp(cur, driver))
		return 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	ret = write_attr(path, *driver ? driver : "\n");
	if (ret) {
		log_err("%s: cannot write %s: %s", bdf, path, strerror(-ret));
		return ret;
	}
	if (*cur) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		ret = write_attr(path, bdf);
		if (ret) {
			log_err("%s: cannot unbind from %s: %s", bdf, cur, strerror(-ret));
			return ret;
		}
	}
	/* drivers_probe reports the probe's own result: EINVAL etc. when no driver took it. */
	ret = write_attr("/sys/bus/pci/drivers_probe", bdf);
	if (ret && ret != -ENODEV)
		log_debug("%s: drivers_probe: %s", bdf, strerror(-ret));

	ret = pci_sysfs_driver(NULL, bdf, cur, sizeof(cur));
	if (ret)
		return ret;
	if (*driver && strcmp(cur, driver)) {
		log_err("%s: not bound to %s after probing (bound to: %s)", bdf, driver,
			*cur ? cur : "nothing");
		return -EIO;
	}
	return 0;
}

/*
 * VFIO hands out a whole IOMMU group or nothing: every other function of the group must be
 * unbound or on vfio-pci. Bridges (pcieport) do not count. Returns 1 with @why naming the
 * first blocker, 0 when the group is fine.
 */
int pci_group_blockers(const char *bdf, char *why, size_t len)
{
	char dir[PATH_MAX], drv[64];
	struct dirent *de;
	int group = pci_sysfs_iommu_group(NULL, bdf), found = 0;
	DIR *d;

	if (group < 0)
		return group;
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", group);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, bdf))
			continue;
		if (pci_sysfs_driver(NULL, de->d_name, drv, sizeof(drv)) || !*drv ||
		    !strcmp(drv, "vfio-pci") || !strcmp(drv, "pcieport"))
			continue;
		snprintf(why, len, "IOMMU group %d also holds %s, bound to %s", group, de->d_name,
			 drv);
		found = 1;
	}
	closedir(d);
	return found;
}

static void state_path(char *buf, size_t len, const char *bdf)
{
	snprintf(buf, len, "%s/%s.driver", VV_STATE_DIR, bdf);
}

int pci_state_save_driver(const char *bdf, const char *driver)
{
	char path[PATH_MAX];
	FILE *f;

	if (mkdir(VV_STATE_DIR, 0755) && errno != EEXIST)
		return -errno;
	state_path(path, sizeof(path), bdf);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", driver);
	return fclose(f) ? -errno : 0;
}

int pci_state_load_driver(const char *bdf, char *driver, size_t len)
{
	char path[PATH_MAX];

	state_path(path, sizeof(path), bdf);
	return sysfs_read(path, driver, len) > 0 ? 0 : -ENOENT;
}

void pci_state_forget(const char *bdf)
{
	char path[PATH_MAX];

	state_path(path, sizeof(path), bdf);
	unlink(path);
}

/* Lets the kernel choose the driver again on the next probe, without unbinding now. */
int pci_clear_override(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	return write_attr(path, "\n");
}
