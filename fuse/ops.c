// SPDX-License-Identifier: MIT
/*
 * ops.c - the FUSE operations of the block export: a directory holding one regular file per
 * device, whose size is the capacity. Reads, writes, fsync and fallocate go to io.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "export_int.h"

struct dev *export_dev(struct export *ex, fuse_ino_t ino)
{
	return ino >= 2 && ino - 2 < ex->n ? &ex->devs[ino - 2] : NULL;
}

static uint64_t dev_bytes(struct dev *d)
{
	return atomic_load_explicit(&d->bytes, memory_order_relaxed);
}

static bool read_only(struct export *ex, struct dev *d)
{
	return d->info->read_only || ex->opts->read_only;
}

static void fill_attr(struct export *ex, fuse_ino_t ino, struct stat *st)
{
	struct dev *d = export_dev(ex, ino);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = ex->uid;
	st->st_gid = ex->gid;
	st->st_atime = st->st_mtime = st->st_ctime = ex->mounted;
	if (!d) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	st->st_mode = S_IFREG | (read_only(ex, d) ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)dev_bytes(d);
	st->st_blksize = d->info->blk_size;
	st->st_blocks = (blkcnt_t)(dev_bytes(d) / 512);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct export *ex = userdata;

	/*
	 * Requests are not spliced in: a write's payload would land in pipe pages no device
	 * reaches. Nor are our pages moved out. Large read answers are spliced from ours
	 * (reply.c). O_TRUNC arrives as a setattr we refuse.
	 */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_ATOMIC_O_TRUNC);
	if (ex->splice && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	conn->max_write = MAX_IO;
	/* The kernel's default of 12 caps async direct I/O depth well below our queue. */
	conn->max_background = 128;
	conn->congestion_threshold = 96;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct export *ex = fuse_req_userdata(req);
	struct fuse_entry_param e = {0};

	/*
	 * The BDF is a hidden alias: lookup finds it, readdir does not show it, so that scripts
	 * that know the address reach the disk, and tar, cp or a glob see each disk once.
	 */
	for (unsigned i = 0; parent == ROOT_INO && i < ex->n; i++)
		if (!strcmp(name, ex->devs[i].file) || !strcmp(name, ex->devs[i].name)) {
			e.ino = DEV_INO(i);
			e.attr_timeout = e.entry_timeout = 1.0;
			fill_attr(ex, e.ino, &e.attr);
			fuse_reply_entry(req, &e);
			return;
		}
	fuse_reply_err(req, ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct stat st;

	if (ino != ROOT_INO && !export_dev(ex, ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(ex, ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = export_dev(ex, ino);
	struct stat st;

	/* The size is the device's; times are not kept; owner and mode are the mounter's. */
	if (!d ||
	    (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) ||
	    ((to_set & FUSE_SET_ATTR_SIZE) && (uint64_t)attr->st_size != dev_bytes(d))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fill_attr(ex, ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	char buf[8192];
	size_t pos = 0;

	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (off_t i = off; i < (off_t)ex->n + 2; i++) {
		struct stat st = {0};
		const char *name = i == 0 ? "." : i == 1 ? ".." : ex->devs[i - 2].file;
		size_t need;

		st.st_ino = i < 2 ? ROOT_INO : DEV_INO(i - 2);
		st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
		need = fuse_add_direntry(req, buf + pos, sizeof(buf) - pos, name, &st, i + 1);
		if (pos + need > size || pos + need > sizeof(buf))
			break;
		pos += need;
	}
	fuse_reply_buf(req, buf, pos);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = export_dev(ex, ino);

	if (!d) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY && read_only(ex, d)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fi->flags & O_TRUNC) {
		fuse_reply_err(req, EPERM); /* a disk cannot be truncated */
		return;
	}
	fi->keep_cache = 1; /* only we change the device: the page cache stays valid */
	fi->noflush = 1;    /* close() needs no round trip; fsync() flushes */
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = export_dev(ex, ino);
	struct op *op;

	if (!d || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= dev_bytes(d) || !size) {
		fuse_reply_buf(req, NULL, 0); /* end of the device */
		return;
	}
	if (size > dev_bytes(d) - (uint64_t)off)
		size = dev_bytes(d) - (uint64_t)off;
	if (size > (MAX_IO))
		size = MAX_IO;
	op = io_new(req, d, OP_READ);
	if (!op)
		return;
	op->off = (uint64_t)off;
	op->size = size;
	io_submit(op);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = export_dev(ex, ino);
	struct op *op;

	if (!d || off < 0 || size > (MAX_IO)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	if ((uint64_t)off >= dev_bytes(d)) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	if (size > dev_bytes(d) - (uint64_t)off)
		size = dev_bytes(d) - (uint64_t)off; /* a short write at the end of the device */
	op = io_new(req, d, OP_WRITE);
	if (!op)
		return;
	op->off = (uint64_t)off;
	op->size = size;
	/* In the DMA-mapped buffer the request arrived in, which the op now holds. */
	op->data = (const uint8_t *)buf;
	io_submit(op);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = export_dev(ex, ino);
	struct op *op;

	/* Never ENOSYS: the kernel would remember it and report every later fsync as done. */
	if (!d || !d->info->writeback) {
		fuse_reply_err(req, 0);
		return;
	}
	op = io_new(req, d, OP_FSYNC);
	if (op)
		io_submit(op);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0); /* close(): fsync is where durability is asked for */
}

/*
 * fallocate promises zeroes, which DISCARD does not: PUNCH_HOLE becomes WRITE_ZEROES with
 * UNMAP, ZERO_RANGE without; plain allocation inside the device is already done.
 */
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = export_dev(ex, ino);
	struct op *op;
	bool punch = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);

	if (!d) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off < 0 || len <= 0 || (uint64_t)off + (uint64_t)len > dev_bytes(d)) {
		fuse_reply_err(req, mode ? EINVAL : EFBIG);
		return;
	}
	if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE) {
		fuse_reply_err(req, 0);
		return;
	}
	if (!punch && mode != FALLOC_FL_ZERO_RANGE &&
	    mode != (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (read_only(ex, d)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* Unaligned edges are patched; without WRITE_ZEROES io.c writes zeroes. */
	op = io_new(req, d, OP_FALLOC);
	if (!op)
		return;
	op->off = (uint64_t)off;
	op->size = (size_t)len;
	op->punch = punch;
	io_submit(op);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct export *ex = fuse_req_userdata(req);
	struct statvfs sv = {0};
	uint64_t total = 0;

	for (unsigned i = 0; i < ex->n; i++)
		total += dev_bytes(&ex->devs[i]);
	/* The block size is what losetup uses as discard granularity. */
	sv.f_bsize = sv.f_frsize = ex->n ? ex->devs[0].info->blk_size : 512;
	sv.f_blocks = total / sv.f_bsize;
	sv.f_files = ex->n + 1;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/* The directory holds exactly the exported devices: no new names, no removals. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EPERM);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops export_ops = {
	.create = op_create,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.rename = op_rename,
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
	.statfs = op_statfs,
};
