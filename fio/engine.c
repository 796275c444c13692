// SPDX-License-Identifier: MIT
/*
 * engine.c - the fio external I/O engine: `fio --ioengine=external:.../virtio-vfio-fio.so
 * --thread --filename=0000\:00\:05.0`. Every job is a thread of one fio process sharing the
 * opened device (devices.c); each job drives one virtio queue of its own, asynchronously:
 * queue() adds requests to the ring, commit() rings the doorbell, getevents() reaps through
 * vv_blk_wait() in the completion mode the job chose (vv_mode, vv_spin_us). fio's I/O
 * buffers are registered for DMA once per job and device, so requests carry no copy.
 *
 * Built against the source of the installed fio (its ioengine_ops version must match).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fio.h"
#include "optgroup.h"

#include "vvfio.h"

#define VVFIO_MAX_ATTACH 8 /* devices one job may use (--filename=a:b:...) */

/* The engine's options, fio's `eo` (the first member may not sit at offset 0). */
struct vvfio_opts {
	void *pad;
	unsigned int mode;
	unsigned int spin_us;
};

/* One device as one job uses it: its queue and the job's buffers in its IOMMU. */
struct vvfio_attach {
	struct vvfio_dev *dev;
	struct vv_blk *blk;
	int q;		   /* -1 until the job's thread opens the file */
	unsigned inflight; /* requests on the queue */
	struct vv_dma_buf dma;
};

/* A job's state, fio's io_ops_data. */
struct vvfio_td {
	struct vvfio_attach att[VVFIO_MAX_ATTACH];
	unsigned natt;
	/* Completed requests not yet handed to fio: more may complete than getevents() asks. */
	struct io_u **ev;
	unsigned ev_cap, ev_n, ev_ret;
	void *mem; /* fio's I/O buffers (iomem_alloc), page-aligned for DMA registration */
	size_t mem_len;
};

static struct fio_option options[] = {
	{
		.name = "vv_mode",
		.lname = "virtio-vfio completion mode",
		.type = FIO_OPT_STR,
		.off1 = offsetof(struct vvfio_opts, mode),
		.help = "How completions are awaited",
		.def = "irq",
		.posval =
			{
				{.ival = "irq",
				 .oval = VV_BLK_MODE_IRQ,
				 .help = "sleep on the queue's interrupt (eventfd)"},
				{.ival = "poll",
				 .oval = VV_BLK_MODE_POLL,
				 .help = "spin on the used ring, device notifications off"},
				{.ival = "hybrid",
				 .oval = VV_BLK_MODE_HYBRID,
				 .help = "spin vv_spin_us, then sleep on the interrupt"},
			},
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "vv_spin_us",
		.lname = "virtio-vfio hybrid spin time",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct vvfio_opts, spin_us),
		.help = "hybrid mode: microseconds to poll before sleeping",
		.def = "50",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

/* Library diagnostics go where fio's own go, unless VV_LOG asked for them on stderr. */
static void log_to_fio(void *opaque, enum vv_log_level level, const char *msg)
{
	log_err("virtio-vfio: %s\n", msg);
}

static void set_log_once(void)
{
	if (!getenv("VV_LOG"))
		vv_set_log_fn(log_to_fio, NULL, VV_LOG_WARN);
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static struct vvfio_td *td_state(struct thread_data *td)
{
	if (!td->io_ops_data)
		td->io_ops_data = calloc(1, sizeof(struct vvfio_td));
	return td->io_ops_data;
}

/*
 * The device of file @f for job @td: found or opened, and remembered in the file. Runs in
 * fio's main thread (get_file_size, before the jobs start) or in the job's.
 */
static struct vvfio_attach *attach_file(struct thread_data *td, struct fio_file *f)
{
	struct vvfio_td *st = td_state(td);
	struct vvfio_dev *dev;
	char bdf[VVFIO_BDF_LEN], why[256];
	int err;

	if (FILE_ENG_DATA(f))
		return FILE_ENG_DATA(f);
	if (!st) {
		td_verror(td, ENOMEM, "virtio-vfio state");
		return NULL;
	}
	if (!td->o.use_thread) {
		log_err("virtio-vfio: job %s runs as a process; a device serves one process at a "
			"time, so its jobs must be threads of one fio: add --thread (thread=1)\n",
			td->o.name);
		td_verror(td, EINVAL, "virtio-vfio needs thread=1");
		return NULL;
	}
	pthread_once(&log_once, set_log_once);
	if (vvfio_resolve(f->file_name, bdf, why, sizeof(why))) {
		log_err("virtio-vfio: %s\n", why);
		td_verror(td, EINVAL, "virtio-vfio device name");
		return NULL;
	}
	/* Two files of one job on one device share the queue and the DMA registration. */
	for (unsigned i = 0; i < st->natt; i++) {
		if (!strcmp(vvfio_dev_bdf(st->att[i].dev), bdf)) {
			FILE_SET_ENG_DATA(f, &st->att[i]);
			return &st->att[i];
		}
	}
	if (st->natt == VVFIO_MAX_ATTACH) {
		log_err("virtio-vfio: job %s names more than %d devices\n", td->o.name,
			VVFIO_MAX_ATTACH);
		td_verror(td, EINVAL, "virtio-vfio devices per job");
		return NULL;
	}
	err = vvfio_dev_get(bdf, &dev, why, sizeof(why));
	if (err) {
		log_err("virtio-vfio: %s\n", why);
		td_verror(td, -err, "virtio-vfio open");
		return NULL;
	}
	st->att[st->natt] = (struct vvfio_attach){.dev = dev, .blk = vvfio_dev_blk(dev), .q = -1};
	FILE_SET_ENG_DATA(f, &st->att[st->natt]);
	return &st->att[st->natt++];
}

static int vvfio_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct vvfio_attach *a = attach_file(td, f);

	if (!a)
		return 1;
	f->real_file_size = vv_blk_capacity(a->blk) * 512;
	fio_file_set_size_known(f);
	return 0;
}

static int vvfio_init(struct thread_data *td)
{
	struct vvfio_td *st = td_state(td);

	if (!st)
		return 1;
	/* Every request fio has out (iodepth), plus room for one batch to spill over. */
	st->ev_cap = td->o.iodepth + 1;
	st->ev = calloc(st->ev_cap, sizeof(*st->ev));
	return st->ev ? 0 : 1;
}

/*
 * fio's I/O buffers, in memory the job registers with each device it opens: requests then
 * point at fio's own bytes (vv_dma_register needs page-aligned, page-sized memory).
 */
static int vvfio_iomem_alloc(struct thread_data *td, size_t total)
{
	struct vvfio_td *st = td_state(td);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (!st)
		return 1;
	st->mem_len = (total + page - 1) / page * page;
	p = mmap(NULL, st->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		st->mem_len = 0;
		return 1;
	}
	st->mem = p;
	td->orig_buffer = p;
	return 0;
}

static void vvfio_iomem_free(struct thread_data *td)
{
	struct vvfio_td *st = td->io_ops_data;

	if (!st || !st->mem)
		return;
	/* Out of every IOMMU first: the device must not reach memory given back. */
	for (unsigned i = 0; i < st->natt; i++)
		if (st->att[i].dma.len)
			vv_dma_free(vv_blk_device(st->att[i].blk), &st->att[i].dma);
	munmap(st->mem, st->mem_len);
	st->mem = NULL;
	td->orig_buffer = NULL;
}

/* In the job's thread: take the job's queue, set its mode, register the buffers. */
static int vvfio_open_file(struct thread_data *td, struct fio_file *f)
{
	struct vvfio_opts *o = td->eo;
	struct vvfio_td *st;
	struct vvfio_attach *a = attach_file(td, f);
	unsigned q;
	int err;

	if (!a)
		return 1;
	st = td->io_ops_data;
	if (a->q < 0) {
		if (vvfio_queue_take(a->dev, &q)) {
			log_err("virtio-vfio: job %s finds every queue of %s taken: it has %u, one "
				"per job; run fewer jobs (numjobs) on it, or give the device more "
				"queues (num-queues)\n",
				td->o.name, vvfio_dev_bdf(a->dev), vvfio_dev_num_queues(a->dev));
			td_verror(td, EBUSY, "virtio-vfio queue");
			return 1;
		}
		a->q = (int)q;
		err = vv_blk_set_mode(a->blk, q, (enum vv_blk_mode)o->mode, o->spin_us);
		if (err) {
			td_verror(td, -err, "virtio-vfio mode");
			return 1;
		}
	}
	if (!a->dma.len && st->mem) {
		err = vv_dma_register(vv_blk_device(a->blk), st->mem, st->mem_len, &a->dma);
		if (err) {
			log_err("virtio-vfio: %s: cannot map job %s's %zu buffer bytes for DMA: "
				"%s\n",
				vvfio_dev_bdf(a->dev), td->o.name, st->mem_len, strerror(-err));
			td_verror(td, -err, "virtio-vfio DMA");
			return 1;
		}
	}
	return 0;
}

/* The queue stays the job's until cleanup: fio may open the file again. */
static int vvfio_close_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

static void vvfio_done(void *opaque, int result)
{
	struct io_u *io_u = opaque;
	struct vvfio_td *st = io_u->engine_data;
	struct vvfio_attach *a = FILE_ENG_DATA(io_u->file);

	a->inflight--;
	if (result) {
		io_u->error = -result;
		io_u->resid = io_u->xfer_buflen;
	}
	/* Cannot overflow: at most iodepth requests are out, ev_cap is one more. */
	if (st->ev_n < st->ev_cap)
		st->ev[st->ev_n++] = io_u;
}

static enum fio_q_status vvfio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct vvfio_td *st = td->io_ops_data;
	struct vvfio_attach *a = FILE_ENG_DATA(io_u->file);
	uint64_t off = io_u->offset, len = io_u->xfer_buflen;
	uintptr_t buf = (uintptr_t)io_u->xfer_buf, mem = (uintptr_t)st->mem;
	unsigned q = (unsigned)a->q;
	struct vv_sg sg;
	int err;

	fio_ro_check(td, io_u);
	io_u->engine_data = st;
	a->inflight++; /* before submitting: a flush the device needs not may complete at once */
	switch (io_u->ddir) {
	case DDIR_READ:
	case DDIR_WRITE:
		if (off % 512 || len % 512 || !len || len > UINT32_MAX) {
			err = -EINVAL; /* the device counts 512-byte sectors */
			break;
		}
		/* Only the registered buffers have an IOVA: fio's own, from iomem_alloc. */
		if (!a->dma.len || buf < mem || len > st->mem_len ||
		    buf - mem > st->mem_len - len) {
			err = -EFAULT;
			break;
		}
		sg.iova = a->dma.iova + (uint64_t)(buf - mem);
		sg.len = (uint32_t)len;
		err = vv_blk_submit_rw(a->blk, q, io_u->ddir == DDIR_WRITE, off / 512, &sg, 1,
				       vvfio_done, io_u);
		break;
	case DDIR_SYNC:
	case DDIR_DATASYNC:
	case DDIR_SYNC_FILE_RANGE:
		/* VIRTIO_BLK_T_FLUSH (virtio 1.2 section 5.2.6): the device's write cache. */
		err = vv_blk_submit_flush(a->blk, q, vvfio_done, io_u);
		break;
	case DDIR_TRIM:
		/* VIRTIO_BLK_T_DISCARD (5.2.6): split by the library to the device's limits. */
		if (off % 512 || len % 512) {
			err = -EINVAL;
			break;
		}
		err = vv_blk_submit_discard(a->blk, q, off / 512, len / 512, vvfio_done, io_u);
		break;
	default:
		err = -EINVAL;
	}
	if (err)
		a->inflight--;
	/* The ring is full: fio commits, reaps and retries. With nothing out to reap, the
	 * request can never fit (more descriptors than the ring has): an error, not a hang. */
	if (err == -ENOSPC && a->inflight)
		return FIO_Q_BUSY;
	if (err) {
		io_u->error = -err;
		io_u->resid = len;
		return FIO_Q_COMPLETED;
	}
	return FIO_Q_QUEUED;
}

static int vvfio_commit(struct thread_data *td)
{
	struct vvfio_td *st = td->io_ops_data;
	int err;

	for (unsigned i = 0; i < st->natt; i++) {
		if (st->att[i].q < 0)
			continue;
		err = vv_blk_kick(st->att[i].blk, (unsigned)st->att[i].q);
		if (err) {
			td_verror(td, -err, "virtio-vfio kick");
			return err;
		}
	}
	return 0;
}

static int vvfio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			   const struct timespec *t)
{
	struct vvfio_td *st = td->io_ops_data;
	int timeout = t ? (int)(t->tv_sec * 1000 + t->tv_nsec / 1000000) : -1;
	int ret;

	/* What fio took last time leaves; what it was not given comes first now. */
	memmove(st->ev, st->ev + st->ev_ret, (st->ev_n - st->ev_ret) * sizeof(*st->ev));
	st->ev_n -= st->ev_ret;
	st->ev_ret = 0;
	for (unsigned i = 0; i < st->natt; i++)
		if (st->att[i].q >= 0)
			vv_blk_poll(st->att[i].blk, (unsigned)st->att[i].q, st->ev_cap);
	while (st->ev_n < min) {
		if (st->natt == 1) {
			ret = vv_blk_wait(st->att[0].blk, (unsigned)st->att[0].q, timeout);
		} else {
			/* Several devices: no one queue to sleep on, so look at each in turn. */
			ret = 0;
			for (unsigned i = 0; i < st->natt; i++) {
				int r = st->att[i].q < 0 ? 0
							 : vv_blk_wait(st->att[i].blk,
								       (unsigned)st->att[i].q, 0);
				if (r < 0)
					ret = r;
			}
		}
		if (ret < 0) {
			td_verror(td, -ret, "virtio-vfio wait");
			return ret;
		}
		if (ret == 0 && st->natt == 1 && timeout >= 0)
			break;
	}
	st->ev_ret = st->ev_n < max ? st->ev_n : max;
	return (int)st->ev_ret;
}

static struct io_u *vvfio_event(struct thread_data *td, int event)
{
	struct vvfio_td *st = td->io_ops_data;

	return st->ev[event];
}

static void vvfio_cleanup(struct thread_data *td)
{
	struct vvfio_td *st = td->io_ops_data;

	if (!st)
		return;
	vvfio_iomem_free(td);
	for (unsigned i = 0; i < st->natt; i++) {
		if (st->att[i].q >= 0)
			vvfio_queue_give(st->att[i].dev, (unsigned)st->att[i].q);
		vvfio_dev_put(st->att[i].dev);
	}
	free(st->ev);
	free(st);
	td->io_ops_data = NULL;
}

/* fio looks the engine up by this name (dlsym "ioengine"); the only symbol exported. */
__attribute__((visibility("default"))) struct ioengine_ops ioengine = {
	.name = "virtio-vfio",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL | FIO_RAWIO,
	.init = vvfio_init,
	.queue = vvfio_queue,
	.commit = vvfio_commit,
	.getevents = vvfio_getevents,
	.event = vvfio_event,
	.cleanup = vvfio_cleanup,
	.open_file = vvfio_open_file,
	.close_file = vvfio_close_file,
	.get_file_size = vvfio_get_file_size,
	.iomem_alloc = vvfio_iomem_alloc,
	.iomem_free = vvfio_iomem_free,
	.option_struct_size = sizeof(struct vvfio_opts),
	.options = options,
};
