// SPDX-License-Identifier: MIT
/*
 * export.c - the FUSE block export: one event loop (libevent) serves the FUSE channel and the
 * devices' completion eventfds; FUSE requests are answered asynchronously from virtio-blk
 * completions, so one thread keeps a whole queue depth in flight.
 */
#define FUSE_USE_VERSION 34

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <virtio-vfio/virtio-vfio.h>

#include "export.h"

#define SECTOR	     512ULL
#define SLOT_SIZE    ((1u << 20) + 8192) /* a 1 MiB request plus its unaligned edges */
#define NSLOTS	     16			 /* per device: the queue depth the export keeps */
#define MAX_DEFERRED 256		 /* past this, stop reading the FUSE channel */
#define ROOT_INO     FUSE_ROOT_ID
#define DEV_INO(i)   ((fuse_ino_t)(i) + 2)

enum op_kind { OP_READ, OP_WRITE, OP_FSYNC, OP_FALLOC };

struct dev;

/* One FUSE request being served, or waiting for a slot or for a conflicting write. */
struct op {
	fuse_req_t req;
	struct dev *d;
	enum op_kind kind;
	uint64_t off; /* bytes, as the caller asked */
	size_t size;
	uint64_t first; /* sectors the device request covers */
	uint64_t nsect;
	bool rmw; /* unaligned write: read the edges, patch, write back */
	bool rmw_writing;
	bool punch;	 /* fallocate: may unmap */
	uint8_t *data;	 /* a write's payload */
	bool data_owned; /* data is our heap copy, not the FUSE buffer */
	int slot;	 /* -1: none */
	bool active;	 /* submitted to the device */
	struct op *next;
};

struct dev {
	struct export *ex;
	struct vv_blk *blk;
	const struct vv_blk_info *info;
	char name[16];
	uint64_t bytes;
	struct vv_dma_buf pool;
	struct op *slot_op[NSLOTS];
	struct op *active_writes; /* writes and fallocates on the device, for overlap checks */
	struct event *irq;
	struct event *config; /* config-change vector, when it has its own */
	int config_fd;
};

struct export
{
	struct fuse_session *se;
	struct event_base *base;
	struct event *fuse_ev, *sigterm, *sigint, *poll_timer;
	struct fuse_buf fbuf;
	struct dev *devs;
	unsigned n;
	struct op *deferred, *deferred_tail;
	unsigned ndeferred;
	unsigned inflight;
	bool stopping;
	bool reading;
	int error;
	uid_t uid;
	gid_t gid;
	time_t mounted; /* the files' times: we keep no others */
	const struct export_opts *opts;
};

static struct dev *dev_of(struct export *ex, fuse_ino_t ino)
{
	return ino >= 2 && ino - 2 < ex->n ? &ex->devs[ino - 2] : NULL;
}

static void fill_attr(struct export *ex, fuse_ino_t ino, struct stat *st)
{
	struct dev *d = dev_of(ex, ino);

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
	st->st_mode = S_IFREG | (d->info->read_only || ex->opts->read_only ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)d->bytes;
	st->st_blksize = d->info->blk_size;
	st->st_blocks = (blkcnt_t)(d->bytes / 512);
}

/* --- the loop's bookkeeping ----------------------------------------------------------- */

static void update_reading(struct export *ex)
{
	bool want = !ex->stopping && ex->ndeferred < MAX_DEFERRED;

	if (want == ex->reading)
		return;
	ex->reading = want;
	if (want)
		event_add(ex->fuse_ev, NULL);
	else
		event_del(ex->fuse_ev);
}

static void maybe_finish(struct export *ex)
{
	if (ex->stopping && !ex->inflight && !ex->ndeferred)
		event_base_loopbreak(ex->base);
}

static void op_free(struct op *op)
{
	if (op->data_owned)
		free(op->data);
	free(op);
}

static void release_op(struct op *op)
{
	struct dev *d = op->d;

	if (op->slot >= 0)
		d->slot_op[op->slot] = NULL;
	if (op->kind == OP_WRITE || op->kind == OP_FALLOC)
		for (struct op **p = &d->active_writes; *p; p = &(*p)->next)
			if (*p == op) {
				*p = op->next;
				break;
			}
	d->ex->inflight--;
}

static bool overlaps(const struct op *a, const struct op *b)
{
	return a->first < b->first + b->nsect && b->first < a->first + a->nsect;
}

/*
 * A read-modify-write must not interleave with another write of the same sectors: it would
 * write back stale neighbour data. Aligned writes may overlap each other (that is the
 * caller's business), but not an RMW, in either order.
 */
static bool write_conflicts(const struct op *op)
{
	for (const struct op *w = op->d->active_writes; w; w = w->next)
		if (overlaps(op, w) && (op->rmw || w->rmw))
			return true;
	return false;
}

static int take_slot(struct dev *d, struct op *op)
{
	for (int i = 0; i < NSLOTS; i++)
		if (!d->slot_op[i]) {
			d->slot_op[i] = op;
			op->slot = i;
			return 0;
		}
	return -EAGAIN;
}

static uint8_t *slot_mem(struct op *op)
{
	return (uint8_t *)op->d->pool.vaddr + (size_t)op->slot * SLOT_SIZE;
}

static struct vv_sg slot_sg(struct op *op)
{
	return (struct vv_sg){op->d->pool.iova + (uint64_t)op->slot * SLOT_SIZE,
			      (uint32_t)(op->nsect * SECTOR)};
}

static void finish(struct op *op, int err)
{
	struct export *ex = op->d->ex;

	release_op(op);
	if (err)
		fuse_reply_err(op->req, -err);
	else if (op->kind == OP_READ)
		fuse_reply_buf(op->req, (char *)slot_mem(op) + (op->off - op->first * SECTOR),
			       op->size);
	else if (op->kind == OP_WRITE)
		fuse_reply_write(op->req, op->size);
	else
		fuse_reply_err(op->req, 0);
	op_free(op);
	(void)ex;
}

static void run_deferred(struct export *ex);

static void on_done(void *opaque, int result)
{
	struct op *op = opaque;
	struct export *ex = op->d->ex;

	if (!result && op->rmw && !op->rmw_writing) {
		/* The edges are read: patch the caller's bytes in and write the sectors back. */
		struct vv_sg sg = slot_sg(op);

		memcpy(slot_mem(op) + (op->off - op->first * SECTOR), op->data, op->size);
		op->rmw_writing = true;
		result = vv_blk_submit_rw(op->d->blk, 0, true, op->first, &sg, 1, on_done, op);
		if (!result)
			return; /* kicked after the poll loop */
	}
	finish(op, result);
	run_deferred(ex);
	maybe_finish(ex);
}

/* Starts @op on its device; -EAGAIN when it has to wait (no slot, or a conflicting write). */
static int start(struct op *op)
{
	struct dev *d = op->d;
	struct vv_sg sg;
	int ret;

	if ((op->kind == OP_WRITE || op->kind == OP_FALLOC) && write_conflicts(op))
		return -EAGAIN;
	if ((op->kind == OP_READ || op->kind == OP_WRITE) && take_slot(d, op))
		return -EAGAIN;
	switch (op->kind) {
	case OP_READ:
		sg = slot_sg(op);
		ret = vv_blk_submit_rw(d->blk, 0, false, op->first, &sg, 1, on_done, op);
		break;
	case OP_WRITE:
		sg = slot_sg(op);
		if (!op->rmw)
			memcpy(slot_mem(op), op->data, op->size);
		ret = vv_blk_submit_rw(d->blk, 0, op->rmw ? false : true, op->first, &sg, 1,
				       on_done, op);
		break;
	case OP_FSYNC:
		ret = vv_blk_submit_flush(d->blk, 0, on_done, op);
		break;
	case OP_FALLOC:
		ret = vv_blk_submit_write_zeroes(d->blk, 0, op->first, op->nsect, op->punch,
						 on_done, op);
		break;
	default:
		ret = -EINVAL;
	}
	if (ret == -ENOSPC)
		ret = -EAGAIN; /* the ring is full: wait for completions */
	if (ret) {
		if (op->slot >= 0)
			d->slot_op[op->slot] = NULL;
		op->slot = -1;
		return ret;
	}
	op->active = true;
	d->ex->inflight++;
	if (op->kind == OP_WRITE || op->kind == OP_FALLOC) {
		op->next = d->active_writes;
		d->active_writes = op;
	}
	return vv_blk_kick(d->blk, 0);
}

/* A request that has to wait keeps its payload: the FUSE buffer is reused at once. */
static int own_data(struct op *op)
{
	uint8_t *copy;

	if (!op->data || op->data_owned)
		return 0;
	copy = malloc(op->size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, op->data, op->size);
	op->data = copy;
	op->data_owned = true;
	return 0;
}

static void submit(struct op *op)
{
	struct export *ex = op->d->ex;
	/* An RMW patches its payload in when the read completes, long after this handler. */
	int ret = op->rmw ? own_data(op) : 0;

	if (!ret)
		ret = ex->deferred ? -EAGAIN : start(op); /* keep order behind waiting requests */
	if (ret == -EAGAIN)
		ret = own_data(op);
	if (ret == 0 && !op->active) {
		op->next = NULL;
		if (ex->deferred_tail)
			ex->deferred_tail->next = op;
		else
			ex->deferred = op;
		ex->deferred_tail = op;
		ex->ndeferred++;
		update_reading(ex);
	} else if (ret) {
		if (op->active)
			release_op(op);
		fuse_reply_err(op->req, -ret);
		op_free(op);
	}
}

static void run_deferred(struct export *ex)
{
	struct op *list = ex->deferred, *keep = NULL, *keep_tail = NULL;

	ex->deferred = ex->deferred_tail = NULL;
	while (list) {
		struct op *op = list;
		int ret;

		list = op->next;
		ret = start(op);
		if (ret == -EAGAIN) {
			op->next = NULL;
			if (keep_tail)
				keep_tail->next = op;
			else
				keep = op;
			keep_tail = op;
			continue;
		}
		ex->ndeferred--;
		if (ret) {
			if (op->active)
				release_op(op);
			fuse_reply_err(op->req, -ret);
			op_free(op);
		}
	}
	ex->deferred = keep;
	ex->deferred_tail = keep_tail;
	update_reading(ex);
}

static struct op *new_op(fuse_req_t req, struct dev *d, enum op_kind kind)
{
	struct op *op = calloc(1, sizeof(*op));

	if (!op) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	*op = (struct op){.req = req, .d = d, .kind = kind, .slot = -1};
	return op;
}

/* --- FUSE operations ------------------------------------------------------------------ */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Pipe pages are not DMA-mapped: no splice. O_TRUNC then arrives as a setattr we refuse. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_ATOMIC_O_TRUNC);
	conn->max_write = 1u << 20;
	/* The kernel's default of 12 caps async direct I/O depth well below our queue. */
	conn->max_background = 128;
	conn->congestion_threshold = 96;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct export *ex = fuse_req_userdata(req);
	struct fuse_entry_param e = {0};

	for (unsigned i = 0; parent == ROOT_INO && i < ex->n; i++)
		if (!strcmp(name, ex->devs[i].name)) {
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

	if (ino != ROOT_INO && !dev_of(ex, ino)) {
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
	struct dev *d = dev_of(ex, ino);
	struct stat st;

	/* The size is the device's; times are not kept; owner and mode are the mounter's. */
	if (!d ||
	    (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) ||
	    ((to_set & FUSE_SET_ATTR_SIZE) && (uint64_t)attr->st_size != d->bytes)) {
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
		const char *name = i == 0 ? "." : i == 1 ? ".." : ex->devs[i - 2].name;
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
	struct dev *d = dev_of(ex, ino);

	if (!d) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY && (d->info->read_only || ex->opts->read_only)) {
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

/*
 * The device blocks covering [off, off + size), in 512-byte sectors. A device with 4 KiB
 * logical blocks fails requests that are not 4 KiB-aligned, so the unit is its block size.
 */
static void cover(struct op *op)
{
	uint64_t bs = op->d->info->blk_size;
	uint64_t start = op->off / bs * bs, end = (op->off + op->size + bs - 1) / bs * bs;

	op->first = start / SECTOR;
	op->nsect = (end - start) / SECTOR;
	op->rmw = op->off % bs || op->size % bs;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = dev_of(ex, ino);
	struct op *op;

	if (!d || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= d->bytes || !size) {
		fuse_reply_buf(req, NULL, 0); /* end of the device */
		return;
	}
	if (size > d->bytes - (uint64_t)off)
		size = d->bytes - (uint64_t)off;
	if (size > (1u << 20))
		size = 1u << 20;
	op = new_op(req, d, OP_READ);
	if (!op)
		return;
	op->off = (uint64_t)off;
	op->size = size;
	cover(op);
	op->rmw = false;
	submit(op);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = dev_of(ex, ino);
	struct op *op;

	if (!d || off < 0 || size > (1u << 20)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	if ((uint64_t)off >= d->bytes) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	if (size > d->bytes - (uint64_t)off)
		size = d->bytes - (uint64_t)off; /* a short write at the end of the device */
	op = new_op(req, d, OP_WRITE);
	if (!op)
		return;
	op->off = (uint64_t)off;
	op->size = size;
	/* Borrowed: start() copies it into the DMA slot now, or submit() takes a copy. */
	op->data = (uint8_t *)buf;
	cover(op);
	submit(op);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct export *ex = fuse_req_userdata(req);
	struct dev *d = dev_of(ex, ino);
	struct op *op;

	/* Never ENOSYS: the kernel would remember it and report every later fsync as done. */
	if (!d || !d->info->writeback) {
		fuse_reply_err(req, 0);
		return;
	}
	op = new_op(req, d, OP_FSYNC);
	if (op)
		submit(op);
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
	struct dev *d = dev_of(ex, ino);
	struct op *op;
	bool punch = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);

	if (!d) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off < 0 || len <= 0 || (uint64_t)off + (uint64_t)len > d->bytes) {
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
	if (d->info->read_only || ex->opts->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!d->info->write_zeroes || off % d->info->blk_size || len % d->info->blk_size) {
		/* TODO(issue 4): write zero buffers instead, and RMW unaligned edges. */
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	op = new_op(req, d, OP_FALLOC);
	if (!op)
		return;
	op->off = (uint64_t)off;
	op->size = (size_t)len;
	cover(op);
	op->punch = punch;
	submit(op);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct export *ex = fuse_req_userdata(req);
	struct statvfs sv = {0};
	uint64_t total = 0;

	for (unsigned i = 0; i < ex->n; i++)
		total += ex->devs[i].bytes;
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

static const struct fuse_lowlevel_ops ops = {
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

/* --- event sources -------------------------------------------------------------------- */

static void on_fuse(evutil_socket_t fd, short what, void *arg)
{
	struct export *ex = arg;

	for (int i = 0; i < 64 && ex->reading; i++) {
		int res = fuse_session_receive_buf(ex->se, &ex->fbuf);

		if (res == -EINTR || res == -EAGAIN)
			return;
		if (res <= 0) {
			/* -ENODEV: unmounted. Finish what is in flight, then leave. */
			ex->stopping = true;
			update_reading(ex);
			maybe_finish(ex);
			return;
		}
		fuse_session_process_buf(ex->se, &ex->fbuf);
	}
}

static void drain(struct dev *d)
{
	struct vv_vq *vq = vv_device_queue(vv_blk_device(d->blk), 0);

	do {
		while (vv_blk_poll(d->blk, 0, 256) > 0)
			;
	} while (!vv_vq_enable_cb(vq)); /* a completion raced the re-arm: look again */
	vv_blk_kick(d->blk, 0);		/* RMW second halves queued from callbacks */
}

/* A configuration change: a resized disk becomes a file of the new size. */
static void refresh(struct dev *d)
{
	bool changed = false;

	if (vv_blk_refresh(d->blk, &changed) || !changed)
		return;
	d->bytes = d->info->capacity * SECTOR;
	fuse_lowlevel_notify_inval_inode(d->ex->se, DEV_INO(d - d->ex->devs), 0, 0);
}

static void on_config(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	refresh(arg);
}

static void on_irq(evutil_socket_t fd, short what, void *arg)
{
	struct dev *d = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (fd == d->config_fd)
		refresh(d); /* one vector for everything */
	drain(d);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
	struct export *ex = arg;

	for (unsigned i = 0; i < ex->n; i++)
		drain(&ex->devs[i]);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct export *ex = arg;

	ex->stopping = true;
	update_reading(ex);
	maybe_finish(ex);
}

int export_run(struct vv_blk **blks, const char *const *bdfs, unsigned n, const char *mountpoint,
	       const struct export_opts *opts, void (*ready)(void *ctx), void *ready_ctx)
{
	char optstr[128];
	char *argv[] = {(char *)"virtio-vfio", (char *)"-o", optstr, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct export ex = {
		.n = n, .opts = opts, .uid = getuid(), .gid = getgid(), .mounted = time(NULL)};
	bool polled = false;
	int ret = 0;

	snprintf(optstr, sizeof(optstr),
		 "fsname=virtio-vfio,subtype=virtio-vfio,default_permissions%s",
		 opts->allow_other ? ",allow_other" : "");
	ex.devs = calloc(n, sizeof(*ex.devs));
	ex.base = event_base_new();
	if (!ex.devs || !ex.base) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		struct dev *d = &ex.devs[i];
		int efd;

		d->ex = &ex;
		d->blk = blks[i];
		d->info = vv_blk_get_info(blks[i]);
		d->bytes = d->info->capacity * SECTOR;
		snprintf(d->name, sizeof(d->name), "%s", bdfs[i]);
		ret = vv_dma_alloc(vv_blk_device(blks[i]), (size_t)SLOT_SIZE * NSLOTS, &d->pool);
		if (ret) {
			fprintf(stderr, "virtio-vfio: %s: cannot allocate DMA buffers: %s\n",
				d->name, strerror(-ret));
			goto out;
		}
		d->config_fd = vv_device_config_eventfd(vv_blk_device(blks[i]));
		efd = vv_blk_queue_eventfd(blks[i], 0);
		if (d->config_fd >= 0 && d->config_fd != efd) {
			d->config = event_new(ex.base, d->config_fd, EV_READ | EV_PERSIST,
					      on_config, d);
			event_add(d->config, NULL);
		}
		if (efd >= 0) {
			d->irq = event_new(ex.base, efd, EV_READ | EV_PERSIST, on_irq, d);
			event_add(d->irq, NULL);
		} else {
			polled = true;
		}
	}
	if (polled) {
		struct timeval tv = {0, 200};

		ex.poll_timer = event_new(ex.base, -1, EV_PERSIST, on_poll_timer, &ex);
		event_add(ex.poll_timer, &tv);
	}

	ex.se = fuse_session_new(&args, &ops, sizeof(ops), &ex);
	if (!ex.se) {
		fprintf(stderr, "virtio-vfio: cannot create the FUSE session\n");
		ret = -EINVAL;
		goto out;
	}
	if (fuse_session_mount(ex.se, mountpoint)) {
		fprintf(stderr, "virtio-vfio: cannot mount on %s\n", mountpoint);
		ret = -EIO;
		goto out_session;
	}
	fcntl(fuse_session_fd(ex.se), F_SETFL, fcntl(fuse_session_fd(ex.se), F_GETFL) | O_NONBLOCK);
	ex.fuse_ev = event_new(ex.base, fuse_session_fd(ex.se), EV_READ | EV_PERSIST, on_fuse, &ex);
	ex.sigterm = evsignal_new(ex.base, SIGTERM, on_signal, &ex);
	ex.sigint = evsignal_new(ex.base, SIGINT, on_signal, &ex);
	event_add(ex.sigterm, NULL);
	event_add(ex.sigint, NULL);
	update_reading(&ex);
	if (ready)
		ready(ready_ctx);

	event_base_dispatch(ex.base);

	/* Everything in flight completed; make it durable before the device is reset. */
	for (unsigned i = 0; i < n; i++)
		if (ex.devs[i].info->writeback && vv_blk_flush(ex.devs[i].blk))
			ret = -EIO;
	fuse_session_unmount(ex.se);
out_session:
	fuse_session_destroy(ex.se);
out:
	if (ex.fuse_ev)
		event_free(ex.fuse_ev);
	if (ex.sigterm)
		event_free(ex.sigterm);
	if (ex.sigint)
		event_free(ex.sigint);
	if (ex.poll_timer)
		event_free(ex.poll_timer);
	for (unsigned i = 0; ex.devs && i < n; i++) {
		if (ex.devs[i].irq)
			event_free(ex.devs[i].irq);
		if (ex.devs[i].config)
			event_free(ex.devs[i].config);
		vv_dma_free(vv_blk_device(blks[i]), &ex.devs[i].pool);
	}
	free(ex.fbuf.mem);
	free(ex.devs);
	if (ex.base)
		event_base_free(ex.base);
	fuse_opt_free_args(&args);
	return ret;
}
