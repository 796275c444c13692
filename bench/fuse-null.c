// SPDX-License-Identifier: MIT
/*
 * fuse-null.c - the floor of a FUSE file's request in this guest: one file, "null", of
 * --size bytes, whose reads are answered from memory (zeros) and whose writes are taken and
 * dropped, by the low-level libfuse API and its own single-threaded loop. No device, no
 * copy beyond FUSE's own: what is left is the round trip through the kernel's FUSE, which
 * every FUSE request pays (bench/fuse-qd1.sh sets it beside our export).
 *
 * --splice answers reads through pipes instead of one writev(): the data is vmspliced into a
 * pipe of our own and handed to libfuse as a file descriptor, which it splices into its own
 * pipe and on to /dev/fuse. The kernel then copies from pipe pages it already holds, not
 * page by page from our memory: bench/bounds.sh sets the two side by side.
 *
 * Usage: fuse-null [--size BYTES] [--splice] MOUNTPOINT      (foreground; umount to end it)
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FILE_INO 2
#define MAX_IO	 (1u << 20)

static off_t file_size = 256 << 20;
static char zeros[MAX_IO];
static int data_pipe[2] = {-1, -1}; /* --splice */

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
	size = size < MAX_IO ? size : MAX_IO;
	if (data_pipe[0] >= 0 && size >= 8192) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
		struct iovec iov = {zeros, size};

		while (iov.iov_len) {
			ssize_t n = vmsplice(data_pipe[1], &iov, 1, 0);

			if (n <= 0) {
				fuse_reply_err(req, EIO);
				return;
			}
			iov.iov_base = (char *)iov.iov_base + n;
			iov.iov_len -= (size_t)n;
		}
		bv.buf[0].flags = FUSE_BUF_IS_FD;
		bv.buf[0].fd = data_pipe[0];
		fuse_reply_data(req, &bv, 0);
		return;
	}
	fuse_reply_buf(req, zeros, size);
}

static void do_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (data_pipe[0] >= 0)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
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
	.init = do_init,
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
	const char *mnt = NULL;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			file_size = strtoll(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--splice")) {
			/* Room for a whole reply: a vmsplice that does not fit would wait forever.
			 */
			if (pipe(data_pipe) || fcntl(data_pipe[0], F_SETPIPE_SZ, 2 * MAX_IO) < 0) {
				perror("fuse-null: pipe");
				return 1;
			}
		} else if (argv[i][0] != '-' && !mnt) {
			mnt = argv[i];
		} else {
			mnt = NULL;
			break;
		}
	}
	if (!mnt) {
		fprintf(stderr, "usage: %s [--size BYTES] [--splice] MOUNTPOINT\n", argv[0]);
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
