// SPDX-License-Identifier: MIT
/* inuse_proc.c - finds the processes that hold a device: open files and mappings in /proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/inuse_int.h"
#include "util/escape.h"

void str_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void use_set(struct pci_user *u, const char *release, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->what, sizeof(u->what), fmt, ap);
	va_end(ap);
	snprintf(u->release, sizeof(u->release), "%s", release ? release : "");
}

void proc_comm(const char *root, int pid, char *buf, size_t len)
{
	char path[PATH_MAX], raw[64];

	if (sysfs_path(path, sizeof(path), root, "/proc/%d/comm", pid) ||
	    sysfs_read(path, raw, sizeof(raw)) < 0)
		snprintf(raw, sizeof(raw), "?");
	escape_bytes(raw, buf, len);
}

static int pid_of(const char *name)
{
	char *end;
	long pid;

	if (!isdigit((unsigned char)name[0]))
		return -1;
	pid = strtol(name, &end, 10);
	return *end || pid <= 0 || pid > INT_MAX ? -1 : (int)pid;
}

/*
 * Calls @look(root, dir, pid, arg) for every process but this one (whose descriptors include
 * the claim on the very device being checked; in a fake tree every pid is a fake) until it
 * returns non-zero; then names that process. Returns 1 with @ret_pid and the escaped command
 * name, 0 when none matched, or -errno.
 */
static int proc_walk(const char *root,
		     int (*look)(const char *root, const char *dir, int pid, void *arg), void *arg,
		     int *ret_pid, char *ret_comm, size_t len)
{
	int self = getpid(), found = 0, pid;
	char dir[PATH_MAX];
	struct dirent *pe;
	DIR *proc;

	if (sysfs_path(dir, sizeof(dir), root, "/proc"))
		return -ENAMETOOLONG;
	proc = opendir(dir);
	if (!proc)
		return -errno;
	while (!found && (pe = readdir(proc))) {
		pid = pid_of(pe->d_name);
		if (pid < 0 || (pid == self && !(root && *root)))
			continue;
		found = look(root, dir, pid, arg) > 0;
		if (found) {
			*ret_pid = pid;
			proc_comm(root, pid, ret_comm, len);
		}
	}
	closedir(proc);
	return found;
}

struct fd_look {
	proc_fd_match_fn match;
	void *arg;
};

static int look_fds(const char *root, const char *dir, int pid, void *arg)
{
	const struct fd_look *l = arg;
	char path[2 * PATH_MAX];
	struct dirent *fe;
	int found = 0;
	DIR *fds;

	snprintf(path, sizeof(path), "%s/%d/fd", dir, pid);
	fds = opendir(path);
	if (!fds)
		return 0; /* gone, or not ours to look at */
	while (!found && (fe = readdir(fds))) {
		if (fe->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%d/fd/%s", dir, pid, fe->d_name);
		found = l->match(root, path, l->arg);
	}
	closedir(fds);
	return found;
}

int proc_find_fd(const char *root, proc_fd_match_fn match, void *arg, int *ret_pid, char *ret_comm,
		 size_t len)
{
	struct fd_look l = {match, arg};

	return proc_walk(root, look_fds, &l, ret_pid, ret_comm, len);
}

/*
 * The device behind one mapping. On the system, through map_files/ (the file itself, even
 * when its path has gone); in a fake tree, by the path maps shows.
 */
static int mapping_devt(const char *root, int pid, const char *range, const char *file, dev_t *ret)
{
	char path[PATH_MAX];

	if (root && *root)
		return path_devt(root, file, ret);
	if (sysfs_path(path, sizeof(path), NULL, "/proc/%d/map_files/%s", pid, range))
		return -ENAMETOOLONG;
	return path_devt(NULL, path, ret);
}

/* Scans one process's maps; returns the index in @s of a mapped device, or -1. */
static int maps_of(const char *root, int pid, const struct blkset *s)
{
	char path[PATH_MAX], *line = NULL, range[64], file[PATH_MAX];
	uint64_t last_dev = 0, last_ino = 0;
	size_t cap = 0;
	int idx = -1;
	FILE *f;

	if (sysfs_path(path, sizeof(path), root, "/proc/%d/maps", pid))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (idx < 0 && getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		uint64_t ino;
		int off = 0;
		dev_t dev;

		/* "start-end perms offset maj:min inode   path" */
		if (sscanf(line, "%63s %*s %*s %x:%x %" SCNu64 " %n", range, &maj, &min, &ino,
			   &off) < 4 ||
		    !ino || !off || line[off] != '/')
			continue;
		/* A file is mapped in many pieces: look at each file once. */
		if (makedev(maj, min) == last_dev && ino == last_ino)
			continue;
		last_dev = makedev(maj, min);
		last_ino = ino;
		snprintf(file, sizeof(file), "%s", line + off);
		file[strcspn(file, "\n")] = '\0';
		if (!mapping_devt(root, pid, range, file, &dev))
			idx = blkset_find(s, dev);
	}
	free(line);
	fclose(f);
	return idx;
}

struct map_look {
	const struct blkset *s;
	int idx;
};

static int look_maps(const char *root, const char *dir, int pid, void *arg)
{
	struct map_look *l = arg;

	l->idx = maps_of(root, pid, l->s);
	return l->idx >= 0;
}

int proc_find_mapping(const char *root, const struct blkset *s, int *ret_pid, char *ret_comm,
		      size_t len, unsigned *ret_idx)
{
	struct map_look l = {s, -1};
	int found = proc_walk(root, look_maps, &l, ret_pid, ret_comm, len);

	if (found > 0)
		*ret_idx = (unsigned)l.idx;
	return found;
}
