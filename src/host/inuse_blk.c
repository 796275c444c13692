// SPDX-License-Identifier: MIT
/*
 * inuse_blk.c - finds what uses a disk or its partitions: mounts (by device number and by
 * source), swap, holders (dm, md), journals, btrfs members, loop devices, processes; and
 * claims the disk with O_EXCL so that nothing can start to while it changes hands.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/inuse_int.h"

/* ---- device numbers ---------------------------------------------------------------- */

int parse_majmin(const char *s, dev_t *ret)
{
	unsigned maj, min;
	int n = 0;

	if (sscanf(s, "%u:%u%n", &maj, &min, &n) != 2 || (s[n] && s[n] != '\n'))
		return -EINVAL;
	*ret = makedev(maj, min);
	return 0;
}

static int name_devt(const char *root, const char *name, dev_t *ret)
{
	char path[PATH_MAX], val[32];

	if (strchr(name, '/') || !*name || name[0] == '.')
		return -EINVAL;
	if (sysfs_path(path, sizeof(path), root, "/sys/class/block/%s/dev", name))
		return -ENAMETOOLONG;
	if (sysfs_read(path, val, sizeof(val)) <= 0)
		return -ENOENT;
	return parse_majmin(val, ret);
}

/* /dev/mapper/NAME is the dm device whose dm/name is NAME. */
static int dm_devt(const char *root, const char *dmname, dev_t *ret)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], val[256];
	struct dirent *de;
	int ret_err = -ENOENT;
	DIR *d;

	if (sysfs_path(dir, sizeof(dir), root, "/sys/class/block"))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (ret_err && (de = readdir(d))) {
		if (strncmp(de->d_name, "dm-", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s/dm/name", dir, de->d_name);
		if (sysfs_read(path, val, sizeof(val)) > 0 && !strcmp(val, dmname))
			ret_err = name_devt(root, de->d_name, ret);
	}
	closedir(d);
	return ret_err;
}

/*
 * The block device a path names. On the system, stat() answers (any node, any symlink such
 * as /dev/disk/by-uuid/...), without asking a FUSE or NFS server to refresh attributes; a
 * fake tree, or a node that is gone, is read by name: /dev/NAME or /dev/mapper/NAME.
 */
int path_devt(const char *root, const char *path, dev_t *ret)
{
	if (!(root && *root)) {
		struct statx stx;

		if (path[0] == '/' &&
		    !statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE, &stx)) {
			if (!S_ISBLK(stx.stx_mode))
				return -ENOTBLK;
			*ret = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
			return 0;
		}
	}
	if (strncmp(path, "/dev/", 5))
		return -ENOENT;
	if (!strncmp(path + 5, "mapper/", 7))
		return dm_devt(root, path + 12, ret);
	return name_devt(root, path + 5, ret);
}

/* The disk, then each of its partitions (the subdirectories that have a "partition" file). */
int blkset_read(const char *root, const char *disk, struct blkset *s)
{
	char dir[PATH_MAX], part[PATH_MAX + 300];
	struct dirent *de;
	int ret;
	DIR *d;

	s->n = 0;
	if (strlen(disk) >= sizeof(s->name[0]))
		return -ENAMETOOLONG;
	ret = name_devt(root, disk, &s->dev[0]);
	if (ret)
		return ret == -ENOENT ? 0 : ret; /* gone since sysfs named it */
	strcpy(s->name[0], disk);
	s->n = 1;
	if (sysfs_path(dir, sizeof(dir), root, "/sys/class/block/%s", disk))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && s->n < BLKSET_MAX) {
		if (strncmp(de->d_name, disk, strlen(disk)) ||
		    strlen(de->d_name) >= sizeof(s->name[0]))
			continue;
		snprintf(part, sizeof(part), "%s/%s/partition", dir, de->d_name);
		if (access(part, F_OK) || name_devt(root, de->d_name, &s->dev[s->n]))
			continue;
		strcpy(s->name[s->n++], de->d_name);
	}
	closedir(d);
	return 0;
}

int blkset_find(const struct blkset *s, dev_t dev)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->dev[i] == dev)
			return (int)i;
	return -1;
}

/* ---- mounts ------------------------------------------------------------------------ */

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

/* The first mount @match accepts; copies its mount point (escaped for printing). */
int mount_walk(const char *root, mount_match_fn match, void *arg, char *ret_mnt, size_t len)
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
		found = match(root, m, arg);
		if (found)
			escape_bytes(m->mnt, ret_mnt, len);
	}
	free(line);
	free(m);
	fclose(f);
	return found;
}

struct by_type {
	const char *fstype, *source;
};

static bool match_type(const char *root, const struct mount_ent *m, void *arg)
{
	const struct by_type *t = arg;

	return !strcmp(m->fstype, t->fstype) && (!t->source || !strcmp(m->source, t->source));
}

int mount_find(const char *root, const char *fstype, const char *source, char *ret_mnt, size_t len)
{
	struct by_type t = {fstype, source};

	return mount_walk(root, match_type, &t, ret_mnt, len);
}

struct by_dev {
	const struct blkset *s;
	int idx; /* out: which device */
};

/*
 * mountinfo's maj:min is the superblock's device, which is not the disk for btrfs (an
 * anonymous 0:N) and some others: the source, resolved to a device, says it too.
 */
static bool match_dev(const char *root, const struct mount_ent *m, void *arg)
{
	struct by_dev *b = arg;
	dev_t dev;

	if (!parse_majmin(m->majmin, &dev) && (b->idx = blkset_find(b->s, dev)) >= 0)
		return true;
	return m->source[0] == '/' && !path_devt(root, m->source, &dev) &&
	       (b->idx = blkset_find(b->s, dev)) >= 0;
}

/* "umount MNT"; nothing for the root filesystem, which no one releases to attach. */
const char *umount_hint(char *buf, size_t len, const char *mnt)
{
	if (!strcmp(mnt, "/"))
		return NULL;
	snprintf(buf, len, "umount %s", mnt);
	return buf;
}

static int mounted(const char *root, const struct blkset *s, struct pci_user *u)
{
	struct by_dev b = {s, -1};
	char mnt[PATH_MAX], cmd[PATH_MAX + 16];
	int ret = mount_walk(root, match_dev, &b, mnt, sizeof(mnt));

	if (ret > 0)
		use_set(u, umount_hint(cmd, sizeof(cmd), mnt), "/dev/%s is mounted on %s",
			s->name[b.idx], mnt);
	return ret;
}

/* ---- swap, holders, journals, btrfs -------------------------------------------------- */

static int swap_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	char path[PATH_MAX], *line = NULL, cmd[64];
	size_t cap = 0;
	int found = 0, idx;
	dev_t dev;
	FILE *f;

	if (sysfs_path(path, sizeof(path), root, "/proc/swaps"))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no swap support at all */
	while (!found && getline(&line, &cap, f) > 0) {
		line[strcspn(line, " \t\n")] = '\0';
		unescape_octal(line);
		if (line[0] == '/' && !path_devt(root, line, &dev) &&
		    (idx = blkset_find(s, dev)) >= 0) {
			snprintf(cmd, sizeof(cmd), "swapoff /dev/%s", s->name[idx]);
			use_set(u, cmd, "/dev/%s is in use as swap", s->name[idx]);
			found = 1;
		}
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

/* LVM names its dm devices VG-LV with each '-' of a name doubled: the VG is up to a lone '-'. */
static void lvm_vg(const char *dmname, char *vg, size_t len)
{
	size_t o = 0;

	for (; *dmname && o + 1 < len; dmname++) {
		if (dmname[0] == '-' && dmname[1] == '-')
			dmname++;
		else if (dmname[0] == '-')
			break;
		vg[o++] = *dmname;
	}
	vg[o] = '\0';
}

/* "/dev/vda is held by dm-0 (/dev/mapper/vg-lv, LVM)" and how to stop the holder. */
static int holder_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	char path[PATH_MAX], holder[256], dmname[256], uuid[256], vg[256], cmd[600];
	int ret = 0;

	for (unsigned i = 0; i < s->n && !ret; i++) {
		if (sysfs_path(path, sizeof(path), root, "/sys/class/block/%s/holders", s->name[i]))
			return -ENAMETOOLONG;
		ret = first_entry(path, holder, sizeof(holder));
		if (ret <= 0)
			continue;
		sysfs_path(path, sizeof(path), root, "/sys/class/block/%s/dm/name", holder);
		if (sysfs_read(path, dmname, sizeof(dmname)) > 0) {
			sysfs_path(path, sizeof(path), root, "/sys/class/block/%s/dm/uuid", holder);
			if (sysfs_read(path, uuid, sizeof(uuid)) > 0 && !strncmp(uuid, "LVM-", 4)) {
				lvm_vg(dmname, vg, sizeof(vg));
				snprintf(cmd, sizeof(cmd), "vgchange -an %s", vg);
				use_set(u, cmd, "/dev/%s is held by %s (LVM volume group %s)",
					s->name[i], holder, vg);
			} else {
				snprintf(cmd, sizeof(cmd), "dmsetup remove %s", dmname);
				use_set(u, cmd, "/dev/%s is held by %s (/dev/mapper/%s)",
					s->name[i], holder, dmname);
			}
		} else if (!strncmp(holder, "md", 2)) {
			snprintf(cmd, sizeof(cmd), "mdadm --stop /dev/%s", holder);
			use_set(u, cmd, "/dev/%s is held by %s (md RAID)", s->name[i], holder);
		} else {
			use_set(u, NULL, "/dev/%s is held by %s", s->name[i], holder);
		}
	}
	return ret;
}

/*
 * jbd2 names a journal after its device: "vda-8" for one inside a filesystem (whose mount is
 * found above), the bare device name for an external one (mke2fs -O journal_dev).
 */
static int journal_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < s->n; i++) {
		if (sysfs_path(path, sizeof(path), root, "/proc/fs/jbd2/%s", s->name[i]))
			return -ENAMETOOLONG;
		if (!access(path, F_OK)) {
			use_set(u, "unmount the ext4 filesystem that uses it",
				"/dev/%s is the external journal of a mounted ext4 filesystem",
				s->name[i]);
			return 1;
		}
	}
	return 0;
}

struct btrfs_fs {
	const char *root;
	char devices[PATH_MAX]; /* /sys/fs/btrfs/FSID/devices */
};

/* A btrfs mount whose source is one of the filesystem's devices. */
static bool match_btrfs(const char *root, const struct mount_ent *m, void *arg)
{
	const struct btrfs_fs *fs = arg;
	char path[PATH_MAX + 300];
	const char *name;

	if (strcmp(m->fstype, "btrfs") || strncmp(m->source, "/dev/", 5))
		return false;
	name = strrchr(m->source, '/') + 1;
	snprintf(path, sizeof(path), "%s/%s", fs->devices, name);
	return !access(path, F_OK);
}

/* A multi-device btrfs shows one device as its source; its sysfs lists every member. */
static int btrfs_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	char dir[PATH_MAX], path[PATH_MAX + 600], mnt[PATH_MAX], cmd[PATH_MAX + 16];
	struct btrfs_fs fs = {root, ""};
	struct dirent *de;
	int found = 0;
	DIR *d;

	if (sysfs_path(dir, sizeof(dir), root, "/sys/fs/btrfs"))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return 0; /* no btrfs module */
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "features"))
			continue;
		for (unsigned i = 0; i < s->n && !found; i++) {
			snprintf(path, sizeof(path), "%s/%s/devices/%s", dir, de->d_name,
				 s->name[i]);
			if (access(path, F_OK))
				continue;
			found = 1;
			fmt_into(fs.devices, "%s/%s/devices", dir, de->d_name);
			if (mount_walk(root, match_btrfs, &fs, mnt, sizeof(mnt)) > 0) {
				snprintf(cmd, sizeof(cmd), "umount %s", mnt);
				use_set(u, cmd,
					"/dev/%s is a device of the btrfs filesystem mounted on %s",
					s->name[i], mnt);
			} else {
				use_set(u, "unmount it",
					"/dev/%s is a device of btrfs filesystem %s", s->name[i],
					de->d_name);
			}
		}
	}
	closedir(d);
	return found;
}

int blk_exclusive_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	int ret = mounted(root, s, u);

	if (!ret)
		ret = swap_user(root, s, u);
	if (!ret)
		ret = holder_user(root, s, u);
	if (!ret)
		ret = btrfs_user(root, s, u);
	if (!ret)
		ret = journal_user(root, s, u);
	return ret;
}

/* ---- loop devices and processes ------------------------------------------------------ */

/*
 * What a loop device is bound to, by device number: LOOP_GET_STATUS64's lo_rdevice is the
 * backing inode's rdev, right even when the path in backing_file has gone or lies.
 */
static int loop_rdev(const char *loop, dev_t want_loop, dev_t *ret)
{
	struct loop_info64 info;
	char path[300];
	struct stat st;
	int fd, err;

	fmt_into(path, "/dev/%s", loop);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != want_loop ? -ENODEV : 0;
	if (!err && ioctl(fd, LOOP_GET_STATUS64, &info))
		err = -errno;
	close(fd);
	if (!err)
		*ret = (dev_t)info.lo_rdevice;
	return err;
}

static int loop_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], backing[PATH_MAX], mnt[PATH_MAX];
	char cmd[PATH_MAX + 80];
	struct dirent *de;
	int found = 0, idx = -1;
	DIR *d;

	if (sysfs_path(dir, sizeof(dir), root, "/sys/block"))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!found && (de = readdir(d))) {
		struct blkset *loop;
		dev_t dev, ldev;

		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%s/loop/backing_file", dir, de->d_name);
		if (sysfs_read(path, backing, sizeof(backing)) <= 0)
			continue; /* not bound */
		idx = -1;
		if (!path_devt(root, backing, &dev))
			idx = blkset_find(s, dev);
		if (idx < 0 && !(root && *root) && !name_devt(NULL, de->d_name, &ldev) &&
		    !loop_rdev(de->d_name, ldev, &dev))
			idx = blkset_find(s, dev);
		if (idx < 0)
			continue;
		found = 1;
		/* Name what sits on the loop device too: that is what must go first. */
		loop = malloc(sizeof(*loop));
		if (loop && !blkset_read(root, de->d_name, loop) && loop->n &&
		    mount_walk(root, match_dev, &(struct by_dev){loop, -1}, mnt, sizeof(mnt)) > 0) {
			fmt_into(cmd, "umount %s; losetup -d /dev/%s", mnt, de->d_name);
			use_set(u, cmd, "/dev/%s backs loop device /dev/%s, mounted on %s",
				s->name[idx], de->d_name, mnt);
		} else {
			snprintf(cmd, sizeof(cmd), "losetup -d /dev/%s", de->d_name);
			use_set(u, cmd, "/dev/%s backs loop device /dev/%s", s->name[idx],
				de->d_name);
		}
		free(loop);
	}
	closedir(d);
	return found;
}

struct fd_dev {
	const struct blkset *s;
	int idx;
};

static bool match_fd_dev(const char *root, const char *fdpath, void *arg)
{
	struct fd_dev *f = arg;
	char target[PATH_MAX];
	dev_t dev;

	if (root && *root) {
		/* A fake tree's links point at names, not at devices. */
		ssize_t n = readlink(fdpath, target, sizeof(target) - 1);

		if (n < 0)
			return false;
		target[n] = '\0';
		fdpath = target;
	}
	if (path_devt(root, fdpath, &dev))
		return false;
	f->idx = blkset_find(f->s, dev);
	return f->idx >= 0;
}

int blk_shared_user(const char *root, const struct blkset *s, struct pci_user *u)
{
	struct fd_dev f = {s, -1};
	char comm[256], cmd[64];
	unsigned idx;
	int ret, pid;

	ret = loop_user(root, s, u);
	if (ret)
		return ret;
	ret = proc_find_fd(root, match_fd_dev, &f, &pid, comm, sizeof(comm));
	if (ret > 0) {
		snprintf(cmd, sizeof(cmd), "end process %d or have it close the device", pid);
		use_set(u, cmd, "/dev/%s is open in process %d (%s)", s->name[f.idx], pid, comm);
		return 1;
	}
	if (ret < 0)
		return ret;
	ret = proc_find_mapping(root, s, &pid, comm, sizeof(comm), &idx);
	if (ret > 0) {
		snprintf(cmd, sizeof(cmd), "end process %d or have it unmap the device", pid);
		use_set(u, cmd, "/dev/%s is mapped into process %d (%s)", s->name[idx], pid, comm);
	}
	return ret;
}

/* ---- the claim ------------------------------------------------------------------------ */

/*
 * Opens the node of @dev with @flags, making sure it is that device: /dev/NAME when it is,
 * else a private node made for the purpose (a system without devtmpfs, a stale /dev).
 */
int blk_open_dev(const char *name, dev_t dev, int flags)
{
	char path[64], dir[] = "/dev/.virtio-vfio-XXXXXX", node[64];
	struct stat st;
	int fd, err;

	snprintf(path, sizeof(path), "/dev/%s", name);
	if (!lstat(path, &st) && S_ISBLK(st.st_mode) && st.st_rdev == dev) {
		fd = open(path, flags | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (!fstat(fd, &st) && S_ISBLK(st.st_mode) && st.st_rdev == dev)
			return fd;
		close(fd); /* replaced under us */
	}
	if (!mkdtemp(dir))
		return -errno;
	snprintf(node, sizeof(node), "%s/%s", dir, name);
	fd = mknod(node, S_IFBLK | 0600, dev) ? -errno : open(node, flags | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	unlink(node);
	rmdir(dir);
	return fd < 0 ? err : fd;
}
