// SPDX-License-Identifier: MIT
/*
 * fuse-null.c - the floor of a FUSE file's request in this guest: one file, "null", of
 * --size bytes, whose reads are answered from memory (zeros) and whose writes are taken and
 * dropped, by the low-level libfuse API and its own single-threaded loop. No device, no
 * copy beyond FUSE's own: what is left is the round trip through the kernel's FUSE, which
 * every FUSE request pays (bench/fuse-qd1.sh sets it beside our export).
 *
 * Usage: fuse-null [--size BYTES] MOUNTPOINT      (foreground; umount to end it)
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_INO 2
#define MAX_IO	 (1u << 20)

static off_t file_size = 256 << 20;
static char zeros[MAX_IO];

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = file_size;
	}
}

static void do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {.ino = FILE_INO, .attr_timeout = 3600, .entry_timeout = 3600};

	if (parent != FUSE_ROOT_ID || strcmp(name, "null")) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void do_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	stat_of(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void do_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->keep_cache = 1; /* as our export (fuse/ops.c); fio's O_DIRECT passes the cache by */
	fuse_reply_open(req, fi);
}

static void do_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	if (off >= file_size)
		size = 0;
	else if ((off_t)size > file_size - off)
		size = (size_t)(file_size - off);
	fuse_reply_buf(req, zeros, size < MAX_IO ? size : MAX_IO);
}

static void do_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)off;
	(void)fi;
	fuse_reply_write(req, size);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = do_lookup,
	.getattr = do_getattr,
	.open = do_open,
	.read = do_read,
	.write = do_write,
};

int main(int argc, char **argv)
{
	char *fargv[] = {argv[0], NULL};
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct fuse_session *se;
	const char *mnt;
	int ret;

	if (argc == 4 && !strcmp(argv[1], "--size")) {
		file_size = strtoll(argv[2], NULL, 0);
		mnt = argv[3];
	} else if (argc == 2) {
		mnt = argv[1];
	} else {
		fprintf(stderr, "usage: %s [--size BYTES] MOUNTPOINT\n", argv[0]);
		return 2;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_session_mount(se, mnt))
		return 1;
	ret = fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	return ret ? 1 : 0;
}
