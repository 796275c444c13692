// SPDX-License-Identifier: MIT
/*
 * queue.c - one ublk queue and its thread: the kernel hands requests over as completions of
 * FETCH / COMMIT_AND_FETCH URING_CMDs on /dev/ublkcN, each with a tag whose descriptor the
 * kernel wrote in a shared read-only mapping; the thread sends them to its own virtqueue
 * through the library and answers each with the next COMMIT_AND_FETCH. One io_uring carries
 * both the ublk commands and a poll on the virtqueue's interrupt eventfd, so the thread sleeps
 * in one place (Documentation/block/ublk.rst, "Data plane").
 *
 * Data moves once: each tag owns a buffer in DMA memory, handed to the kernel with FETCH; the
 * kernel copies a write's data into it before the request reaches us and a read's data out of
 * it after we answer, and the device reads or writes that same buffer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ublk_int.h"

/* user_data: what a completion is about, and for a ublk command its tag. */
enum { UD_IO = 1, UD_IRQ = 2, UD_WAKE = 3, UD_CONFIG = 4 };
#define UD(kind, tag)  ((uint64_t)(kind) << 32 | (tag))
#define UD_KIND(ud)    ((unsigned)((ud) >> 32))
#define UD_TAG(ud)     ((unsigned)((ud)&0xffff))

#define STAT_INC(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

static struct io_uring_sqe *get_sqe(struct ublk_queue *uq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&uq->ring);

	/* Full: hand what is there to the kernel and take the slot that frees. */
	if (!sqe) {
		io_uring_submit(&uq->ring);
		sqe = io_uring_get_sqe(&uq->ring);
	}
	return sqe;
}

static void *tag_buf(struct ublk_queue *uq, unsigned tag)
{
	return (char *)uq->bufs.vaddr + (size_t)tag * uq->ex->max_io;
}

/* FETCH_REQ (first time) or COMMIT_AND_FETCH_REQ with @result: the tag goes back to the kernel. */
static int queue_io_cmd(struct ublk_queue *uq, unsigned op, unsigned tag, int result)
{
	struct io_uring_sqe *sqe = get_sqe(uq);
	struct ublksrv_io_cmd cmd = {
		.q_id = (uint16_t)uq->q,
		.tag = (uint16_t)tag,
		.result = result,
		.addr = (uint64_t)(uintptr_t)tag_buf(uq, tag),
	};

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = uq->ex->cdev;
	sqe->cmd_op = UBLK_IOC_IO(op);
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	io_uring_sqe_set_data64(sqe, UD(UD_IO, tag));
	return 0;
}

static void arm_poll(struct ublk_queue *uq, int fd, unsigned kind)
{
	struct io_uring_sqe *sqe = get_sqe(uq);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD(kind, 0));
}

static void answer(struct ublk_queue *uq, struct ublk_tag *t, int result)
{
	if (result < 0) {
		STAT_INC(uq->stats.errors, 1);
		/* The block layer knows -EOPNOTSUPP; anything else is an I/O error to it. */
		if (result != -EOPNOTSUPP)
			result = -EIO;
	} else if (t->op == UBLK_IO_OP_READ || t->op == UBLK_IO_OP_WRITE) {
		result = (int)t->bytes; /* what was transferred, for the kernel's copy */
		if (t->op == UBLK_IO_OP_READ)
			STAT_INC(uq->stats.bytes_read, t->bytes);
		else
			STAT_INC(uq->stats.bytes_written, t->bytes);
	}
	switch (t->op) {
	case UBLK_IO_OP_READ:
		STAT_INC(uq->stats.reads, 1);
		break;
	case UBLK_IO_OP_WRITE:
		STAT_INC(uq->stats.writes, 1);
		break;
	case UBLK_IO_OP_FLUSH:
		STAT_INC(uq->stats.flushes, 1);
		break;
	case UBLK_IO_OP_DISCARD:
		STAT_INC(uq->stats.discards, 1);
		break;
	case UBLK_IO_OP_WRITE_ZEROES:
		STAT_INC(uq->stats.write_zeroes, 1);
		break;
	default:
		break;
	}
	if (queue_io_cmd(uq, UBLK_IO_COMMIT_AND_FETCH_REQ, t->tag, result))
		fprintf(stderr, "virtio-vfio: %s: queue %u: no room to answer tag %u\n",
			uq->ex->name, uq->q, t->tag);
}

static int submit(struct ublk_queue *uq, struct ublk_tag *t);

static void wait_for_room(struct ublk_queue *uq, struct ublk_tag *t)
{
	unsigned depth = uq->ex->depth;

	t->waiting = true;
	uq->pending[(uq->pending_head + uq->npending++) % depth] = t->tag;
}

/* The device finished a request (or its part): answer, or send the flush a FUA write wants. */
static void on_done(void *opaque, int result)
{
	struct ublk_tag *t = opaque;
	struct ublk_queue *uq = t->uq;
	int ret;

	uq->dev_inflight--;
	if (!result && t->fua && !t->flushing) {
		t->flushing = true;
		ret = submit(uq, t);
		if (ret == -ENOSPC)
			wait_for_room(uq, t);
		else if (ret)
			answer(uq, t, ret);
		return;
	}
	answer(uq, t, result);
}

/*
 * Sends the tag's request (or, for a FUA write already written, its flush) to the device.
 * Returns 0, -ENOSPC when the virtqueue has no room now, or the error to answer with.
 */
static int submit(struct ublk_queue *uq, struct ublk_tag *t)
{
	struct vv_blk *blk = uq->ex->blk;
	struct vv_sg sg;
	int ret;

	if (t->flushing) {
		ret = vv_blk_submit_flush(blk, uq->q, on_done, t);
	} else {
		switch (t->op) {
		case UBLK_IO_OP_READ:
		case UBLK_IO_OP_WRITE:
			sg = (struct vv_sg){uq->bufs.iova + (uint64_t)t->tag * uq->ex->max_io,
					    t->bytes};
			ret = vv_blk_submit_rw(blk, uq->q, t->op == UBLK_IO_OP_WRITE, t->sector,
					       &sg, 1, on_done, t);
			break;
		case UBLK_IO_OP_FLUSH:
			ret = vv_blk_submit_flush(blk, uq->q, on_done, t);
			break;
		case UBLK_IO_OP_DISCARD:
			ret = vv_blk_submit_discard(blk, uq->q, t->sector, t->nsectors, on_done, t);
			break;
		case UBLK_IO_OP_WRITE_ZEROES:
			/* NOUNMAP: the caller wants the blocks kept allocated. */
			ret = vv_blk_submit_write_zeroes(blk, uq->q, t->sector, t->nsectors,
							 !(t->flags & UBLK_IO_F_NOUNMAP), on_done,
							 t);
			break;
		default:
			ret = -EOPNOTSUPP;
			break;
		}
	}
	if (!ret)
		uq->dev_inflight++;
	return ret;
}

/*
 * The kernel handed us tag @tag. Its descriptor is the kernel's, but read once into our own
 * copy and checked all the same: a length past the tag's buffer would let the device write
 * past it.
 */
static void take(struct ublk_queue *uq, unsigned tag)
{
	struct ublk_tag *t = &uq->tags[tag];
	struct ublksrv_io_desc d;
	int ret;

	STAT_INC(uq->stats.taken, 1);
	memcpy(&d, (const void *)&uq->descs[tag], sizeof(d));
	t->op = d.op_flags & 0xff;
	t->flags = d.op_flags >> 8;
	t->sector = d.start_sector;
	t->nsectors = d.nr_sectors;
	t->bytes = 0;
	t->flushing = false;
	t->fua = t->op == UBLK_IO_OP_WRITE && (t->flags & UBLK_IO_F_FUA) && uq->ex->info->flush;
	if (t->op == UBLK_IO_OP_READ || t->op == UBLK_IO_OP_WRITE) {
		if (!d.nr_sectors || (uint64_t)d.nr_sectors * SECTOR > uq->ex->max_io) {
			answer(uq, t, -EIO);
			return;
		}
		t->bytes = d.nr_sectors * SECTOR;
	}
	/* Behind others that wait for room: keep their order. */
	if (uq->npending) {
		wait_for_room(uq, t);
		return;
	}
	ret = submit(uq, t);
	if (ret == -ENOSPC)
		wait_for_room(uq, t);
	else if (ret)
		answer(uq, t, ret);
}

/* Completions made room on the virtqueue: send what waits for it, in order. */
static void retry_pending(struct ublk_queue *uq)
{
	unsigned depth = uq->ex->depth;

	while (uq->npending) {
		struct ublk_tag *t = &uq->tags[uq->pending[uq->pending_head]];
		int ret = submit(uq, t);

		if (ret == -ENOSPC) {
			/* Nothing on the device to free room: it can never fit. */
			if (!uq->dev_inflight)
				ret = -EIO;
			else
				return;
		}
		uq->pending_head = (uq->pending_head + 1) % depth;
		uq->npending--;
		t->waiting = false;
		if (ret)
			answer(uq, t, ret);
	}
}

/* Completes what the device finished on our virtqueue (the callbacks answer the kernel). */
static void drain(struct ublk_queue *uq)
{
	struct vv_device *dev = vv_blk_device(uq->ex->blk);
	struct vv_vq *vq = vv_device_queue(dev, uq->q);

	do {
		while (vv_blk_poll(uq->ex->blk, uq->q, 256) > 0)
			;
		/* A completion raced the re-arm: look again. A broken queue has nothing more. */
	} while (uq->irq_fd >= 0 && !vv_vq_enable_cb(vq) && !vv_vq_is_broken(vq));
	if (vv_device_aborted(dev) && !atomic_exchange(&uq->ex->lost, true)) {
		uint64_t one = 1;

		/* Whoever sees it first tells the main thread, which removes the block device. */
		if (write(uq->ex->event_fd, &one, 8) != 8)
			(void)0;
	}
}

/*
 * A configuration interrupt (queue 0's thread: vv_blk_refresh() wants the thread of queue
 * 0): a resized disk is the main thread's to tell the kernel about; a device that needs a
 * reset is aborted by the refresh, and the queues find that out.
 */
static void refresh(struct ublk_queue *uq)
{
	bool changed = false;
	uint64_t one = 1;

	if (vv_blk_refresh(uq->ex->blk, &changed) || !changed)
		return;
	atomic_store(&uq->ex->resized, vv_blk_capacity(uq->ex->blk));
	if (write(uq->ex->event_fd, &one, 8) != 8)
		(void)0;
}

static void on_cqe(struct ublk_queue *uq, const struct io_uring_cqe *cqe)
{
	unsigned tag = UD_TAG(cqe->user_data);
	uint64_t n;

	switch (UD_KIND(cqe->user_data)) {
	case UD_IO:
		if (tag >= uq->ex->depth)
			break;
		if (cqe->res == UBLK_IO_RES_OK) {
			take(uq, tag);
			break;
		}
		/*
		 * UBLK_IO_RES_ABORT: the device is stopping and the tag will not come back;
		 * any other result is the kernel refusing the command. Either way it is gone.
		 */
		if (cqe->res != UBLK_IO_RES_ABORT)
			fprintf(stderr, "virtio-vfio: %s: queue %u tag %u: ublk says %s\n",
				uq->ex->name, uq->q, tag, strerror(-cqe->res));
		if (!uq->tags[tag].closed) {
			uq->tags[tag].closed = true;
			uq->closed++;
		}
		break;
	case UD_IRQ:
		if (read(uq->irq_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			(void)0;
		/* One vector for everything: the config change may be why it fired. */
		if (uq->q == 0 && uq->config_fd < 0 &&
		    vv_device_config_eventfd(vv_blk_device(uq->ex->blk)) == uq->irq_fd)
			refresh(uq);
		drain(uq);
		if (!uq->stopping || uq->dev_inflight)
			arm_poll(uq, uq->irq_fd, UD_IRQ);
		break;
	case UD_CONFIG:
		if (read(uq->config_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			(void)0;
		refresh(uq);
		if (!uq->stopping)
			arm_poll(uq, uq->config_fd, UD_CONFIG);
		break;
	case UD_WAKE:
		if (read(uq->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			(void)0;
		uq->stopping = true;
		break;
	default:
		break;
	}
}

static void *queue_main(void *arg)
{
	struct ublk_queue *uq = arg;
	struct __kernel_timespec poll_ts = {0, 200000};
	struct ublk_export *ex = uq->ex;
	uint64_t one = 1;
	int ret = 0;

	/* Every tag to the kernel first: START_DEV waits until each queue fetched them all. */
	for (unsigned t = 0; t < ex->depth && !ret; t++)
		ret = queue_io_cmd(uq, UBLK_IO_FETCH_REQ, t, 0);
	if (uq->irq_fd >= 0)
		arm_poll(uq, uq->irq_fd, UD_IRQ);
	arm_poll(uq, uq->wake_fd, UD_WAKE);
	if (uq->config_fd >= 0)
		arm_poll(uq, uq->config_fd, UD_CONFIG);
	if (!ret && (ret = io_uring_submit(&uq->ring)) >= 0)
		ret = 0;
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: queue %u: cannot fetch requests: %s\n", ex->name,
			uq->q, strerror(-ret));
		uq->error = ret;
	} else {
		atomic_fetch_add(&ex->ready, 1);
	}
	if (write(ex->event_fd, &one, 8) != 8)
		(void)0;

	while (!uq->error) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* Done when stopped (or every tag aborted) and the device holds nothing of ours. */
		if ((uq->stopping || uq->closed == ex->depth) &&
		    (!uq->dev_inflight || vv_device_aborted(vv_blk_device(ex->blk))))
			break;
		if (uq->irq_fd >= 0)
			ret = io_uring_submit_and_wait(&uq->ring, 1);
		else
			ret = io_uring_submit_and_wait_timeout(&uq->ring, &cqe, 1, &poll_ts, NULL);
		if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EBUSY) {
			fprintf(stderr, "virtio-vfio: %s: queue %u: io_uring: %s\n", ex->name,
				uq->q, strerror(-ret));
			uq->error = ret;
			break;
		}
		io_uring_for_each_cqe(&uq->ring, head, cqe)
		{
			on_cqe(uq, cqe);
			seen++;
		}
		io_uring_cq_advance(&uq->ring, seen);
		if (uq->irq_fd < 0 || vv_device_aborted(vv_blk_device(ex->blk)))
			drain(uq);
		retry_pending(uq);
		vv_blk_kick(ex->blk, uq->q);
	}
	atomic_fetch_add(&ex->left, 1);
	if (write(ex->event_fd, &one, 8) != 8)
		(void)0;
	return NULL;
}

int ublk_queue_setup(struct ublk_export *ex, struct ublk_queue *uq, unsigned q)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t max_descs =
		((size_t)UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc) + (size_t)page - 1) /
		(size_t)page * (size_t)page;
	void *m;
	int ret;

	uq->ex = ex;
	uq->q = q;
	uq->wake_fd = -1;
	uq->irq_fd = vv_blk_queue_eventfd(ex->blk, q);
	uq->config_fd = vv_device_config_eventfd(vv_blk_device(ex->blk));
	if (q || uq->config_fd < 0 || uq->config_fd == uq->irq_fd)
		uq->config_fd = -1;
	/*
	 * The kernel's descriptors for this queue: exactly depth entries rounded up to a page,
	 * at the queue's slot of UBLK_MAX_QUEUE_DEPTH entries (ublk_ch_mmap() checks both).
	 */
	uq->descs_len = ((size_t)ex->depth * sizeof(struct ublksrv_io_desc) + (size_t)page - 1) /
			(size_t)page * (size_t)page;
	m = mmap(NULL, uq->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE, ex->cdev,
		 (off_t)(UBLKSRV_CMD_BUF_OFFSET + q * max_descs));
	if (m == MAP_FAILED) {
		ret = -errno;
		fprintf(stderr, "virtio-vfio: %s: queue %u: cannot map ublk descriptors: %s\n",
			ex->name, q, strerror(-ret));
		return ret;
	}
	uq->descs = m;
	ret = vv_dma_alloc(vv_blk_device(ex->blk), (size_t)ex->depth * ex->max_io, &uq->bufs);
	if (ret) {
		fprintf(stderr,
			"virtio-vfio: %s: queue %u: cannot allocate %zu MiB of DMA "
			"buffers: %s\n",
			ex->name, q, ((size_t)ex->depth * ex->max_io) >> 20, strerror(-ret));
		return ret;
	}
	uq->tags = calloc(ex->depth, sizeof(*uq->tags));
	uq->pending = calloc(ex->depth, sizeof(*uq->pending));
	if (!uq->tags || !uq->pending)
		return -ENOMEM;
	for (unsigned t = 0; t < ex->depth; t++)
		uq->tags[t] = (struct ublk_tag){.uq = uq, .tag = (uint16_t)t};
	uq->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (uq->wake_fd < 0)
		return -errno;
	/* Room for every tag's command, the polls, and a flush behind each FUA write. */
	ret = io_uring_queue_init(ex->depth * 2 + 8, &uq->ring, IORING_SETUP_SQE128);
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: queue %u: io_uring: %s\n", ex->name, q,
			strerror(-ret));
		return ret;
	}
	uq->ring_ok = true;
	return 0;
}

int ublk_queue_start(struct ublk_queue *uq)
{
	int ret = -pthread_create(&uq->thread, NULL, queue_main, uq);

	uq->started = !ret;
	return ret;
}

void ublk_queue_stop(struct ublk_queue *uq)
{
	uint64_t one = 1;

	if (uq->wake_fd >= 0 && write(uq->wake_fd, &one, 8) != 8)
		(void)0;
	if (uq->started)
		pthread_join(uq->thread, NULL);
	uq->started = false;
}

void ublk_queue_free(struct ublk_queue *uq)
{
	if (!uq->ex)
		return;
	/* Closing the ring cancels what the kernel still holds of ours (the fetches). */
	if (uq->ring_ok)
		io_uring_queue_exit(&uq->ring);
	uq->ring_ok = false;
	if (uq->wake_fd >= 0)
		close(uq->wake_fd);
	/* No request is on the device any more (the thread left with none): unmap. */
	vv_dma_free(vv_blk_device(uq->ex->blk), &uq->bufs);
	if (uq->descs)
		munmap((void *)uq->descs, uq->descs_len);
	free(uq->tags);
	free(uq->pending);
}
