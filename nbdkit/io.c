// SPDX-License-Identifier: MIT
/*
 * io.c - NBD requests as virtio-blk requests. nbdkit calls the plugin from many worker
 * threads at once, while a virtqueue may be driven by one thread at a time (blk.h). So each
 * queue has a lock, held only to submit and kick, and to reap; whoever finds no one reaping
 * a queue reaps it for every thread waiting there, sleeping on the queue's interrupt eventfd
 * without the lock, so that others keep submitting meanwhile and the queue has real depth.
 * Threads are spread over the queues round robin, each keeping its queue.
 *
 * nbdkit's buffers are not DMA memory: data goes through bounce slots, a fixed number per
 * queue (SLOTS x SLOT_BYTES, mapped once), so no client can make the server hold more. A
 * request longer than a slot goes as several chunks, up to WINDOW of them in flight; the
 * library splits each chunk further by the device's size_max and seg_max.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <virtio-vfio/blk.h>
#include <virtio-vfio/device.h>
#include <virtio-vfio/mem.h>
#include <virtio-vfio/vq.h>

#include <nbdkit-plugin.h>

#include "io.h"

#define SECTOR	     512u
#define SLOT_BYTES   (128u << 10) /* a multiple of every block size virtio-blk allows */
#define SLOTS	     16u	  /* per queue: 2 MiB of pinned memory each */
#define WINDOW	     4u		  /* chunks one request keeps in flight */
#define SLEEP_MS     200	  /* a reaper looks again at least this often */
#define POLL_IDLE_US 50		  /* a queue without an interrupt vector is polled this often */
#define STALL_MS     30000	  /* requests in flight and no completion: the device is gone */

enum chunk_state { CHUNK_FREE, CHUNK_READY, CHUNK_INFLIGHT, CHUNK_DONE };

/* A piece of one request, in one bounce slot (none for flush, discard, write zeroes). */
struct chunk {
	struct queue *q;
	enum chunk_state state;
	int slot;
	uint64_t off; /* bytes on the device, block-aligned */
	uint32_t len;
	int result;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast after every reap and every freed slot */
	bool reaping;	     /* a thread reaps for everyone; the others wait on cond */
	unsigned idx;
	int efd; /* completion eventfd; -1: polled */
	struct vv_vq *vq;
	unsigned inflight;    /* requests on the ring */
	uint64_t stall_since; /* ms: first empty wait with requests in flight; 0: none */
	struct vv_dma_buf mem;
	unsigned free[SLOTS];
	unsigned nfree;
};

struct nbd_io {
	struct vv_blk *blk;
	uint32_t align;
	unsigned nq;
	atomic_uint next_q;
	pthread_mutex_t rmw_lock; /* partial-block writes, one at a time */
	struct queue q[];
};

/* The calling thread's queue, plus one; 0 until it first asks. */
static _Thread_local unsigned thread_q;

static struct queue *my_queue(struct nbd_io *io)
{
	if (!thread_q || thread_q > io->nq)
		thread_q = atomic_fetch_add(&io->next_q, 1) % io->nq + 1;
	return &io->q[thread_q - 1];
}

static uint8_t *slot_mem(const struct queue *q, int slot)
{
	return (uint8_t *)q->mem.vaddr + (size_t)slot * SLOT_BYTES;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs in whichever thread reaps, with the queue's lock held. */
static void chunk_done(void *opaque, int result)
{
	struct chunk *c = opaque;

	c->result = result;
	c->state = CHUNK_DONE;
	c->q->inflight--;
}

/*
 * Completes what the device finished on @q (callbacks run here), then re-arms its interrupt:
 * a completion that raced the re-arm is looked for once more. Lock held. Returns the count.
 */
static unsigned reap(struct nbd_io *io, struct queue *q)
{
	unsigned total = 0;
	int n;

	do {
		while ((n = vv_blk_poll(io->blk, q->idx, 256)) > 0)
			total += (unsigned)n;
		if (n < 0) /* broken: every request in flight has completed with -EIO */
			break;
	} while (q->efd >= 0 && !vv_vq_enable_cb(q->vq) && !vv_vq_is_broken(q->vq));
	return total;
}

/* Without the lock: until @q's interrupt fires (or an abort writes it), or a while passes. */
static void sleep_on(struct queue *q)
{
	struct pollfd p = {.fd = q->efd, .events = POLLIN};
	uint64_t n;

	if (q->efd < 0) {
		usleep(POLL_IDLE_US);
		return;
	}
	if (poll(&p, 1, SLEEP_MS) == 1 && read(q->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: another reader took it; nothing else can go wrong with an eventfd */
	}
}

/*
 * Requests on @q and no completion for STALL_MS: the device stopped answering. As the library's
 * sync helpers and the FUSE export do, give up on it: the abort resets it, and what is in flight
 * completes with -EIO.
 */
static void give_up(struct nbd_io *io, struct queue *q)
{
	struct vv_device *dev = vv_blk_device(io->blk);

	if (!vv_device_aborted(dev)) {
		nbdkit_error("%s: queue %u: no answer for %u s with %u requests in flight; "
			     "giving up on the device",
			     vv_device_bdf(dev), q->idx, STALL_MS / 1000, q->inflight);
		vv_device_abort(dev);
	}
	q->stall_since = 0;
}

/*
 * A slot came free: a reaper asleep on the eventfd waits for it too, and would otherwise
 * notice only at the next completion. Lock held, so a reaper is asleep or about to be.
 */
static void wake_reaper(struct queue *q)
{
	uint64_t one = 1;

	if (q->reaping && q->efd >= 0 && write(q->efd, &one, sizeof(one)) < 0) {
		/* the counter is full: the reaper wakes anyway */
	}
}

/*
 * Waits, lock held, until something may have changed on @q: a completion or a freed slot.
 * Either this thread reaps for all, or it sleeps until the one that does is done.
 */
static void wait_progress(struct nbd_io *io, struct queue *q)
{
	if (q->reaping) {
		pthread_cond_wait(&q->cond, &q->lock);
		return;
	}
	q->reaping = true;
	if (!reap(io, q)) {
		pthread_mutex_unlock(&q->lock);
		sleep_on(q);
		pthread_mutex_lock(&q->lock);
		if (reap(io, q) || !q->inflight)
			q->stall_since = 0;
		else if (!q->stall_since)
			q->stall_since = now_ms();
		else if (now_ms() - q->stall_since >= STALL_MS)
			give_up(io, q);
	} else {
		q->stall_since = 0;
	}
	q->reaping = false;
	pthread_cond_broadcast(&q->cond);
}

/* Submits a chunk that holds its data; lock held. -ENOSPC: the ring is full, try later. */
static int submit(struct nbd_io *io, struct queue *q, struct chunk *c, bool write)
{
	struct vv_sg sg = {.iova = q->mem.iova + (uint64_t)c->slot * SLOT_BYTES, .len = c->len};
	int ret;

	/* In flight before the call: the library may complete a request inside it. */
	c->state = CHUNK_INFLIGHT;
	q->inflight++;
	ret = vv_blk_submit_rw(io->blk, q->idx, write, c->off / SECTOR, &sg, 1, chunk_done, c);
	if (ret) {
		c->state = CHUNK_READY;
		q->inflight--;
		return ret;
	}
	return vv_blk_kick(io->blk, q->idx);
}

/*
 * Reads or writes the device bytes covering [@off, @off + @len) in chunks of a slot, @buf
 * being those bytes: a read covers whole blocks and copies out only what was asked; a write
 * must be block-aligned. The lock is dropped for every copy.
 */
static int rw_chunks(struct nbd_io *io, bool write, uint8_t *buf, uint64_t off, uint32_t len)
{
	struct queue *q = my_queue(io);
	struct chunk ch[WINDOW];
	uint64_t end = off + len, pos = off / io->align * io->align;
	uint64_t dev_end = (end + io->align - 1) / io->align * io->align;
	unsigned busy = 0;
	int result = 0;

	for (unsigned i = 0; i < WINDOW; i++)
		ch[i] = (struct chunk){.q = q, .state = CHUNK_FREE, .slot = -1};
	pthread_mutex_lock(&q->lock);
	for (;;) {
		bool progress = false;

		/* Harvest: copy out what completed and give its slot back. */
		for (unsigned i = 0; i < WINDOW; i++) {
			struct chunk *c = &ch[i];

			if (c->state != CHUNK_DONE)
				continue;
			if (c->result && !result)
				result = c->result;
			if (!write && !c->result && !result) {
				uint64_t a = c->off > off ? c->off : off;
				uint64_t b = c->off + c->len < end ? c->off + c->len : end;

				pthread_mutex_unlock(&q->lock);
				memcpy(buf + (a - off), slot_mem(q, c->slot) + (a - c->off), b - a);
				pthread_mutex_lock(&q->lock);
			}
			q->free[q->nfree++] = (unsigned)c->slot;
			*c = (struct chunk){.q = q, .state = CHUNK_FREE, .slot = -1};
			busy--;
			progress = true;
		}
		if (progress) {
			pthread_cond_broadcast(&q->cond);
			wake_reaper(q);
		}
		/* Start more: a free window entry and a free slot each; none after an error. */
		for (unsigned i = 0; i < WINDOW; i++) {
			struct chunk *c = &ch[i];
			int ret;

			if (result) {
				/* One the ring had no room for goes no further: its slot back. */
				if (c->state == CHUNK_READY) {
					c->state = CHUNK_DONE;
					progress = true;
				}
				continue;
			}
			if (c->state == CHUNK_FREE && pos < dev_end && q->nfree) {
				c->slot = (int)q->free[--q->nfree];
				c->off = pos;
				c->len = dev_end - pos < SLOT_BYTES ? (uint32_t)(dev_end - pos)
								    : SLOT_BYTES;
				pos += c->len;
				c->state = CHUNK_READY;
				busy++;
				if (write) {
					pthread_mutex_unlock(&q->lock);
					memcpy(slot_mem(q, c->slot), buf + (c->off - off), c->len);
					pthread_mutex_lock(&q->lock);
				}
			}
			if (c->state != CHUNK_READY)
				continue;
			ret = submit(io, q, c, write);
			if (ret == -ENOSPC)
				break; /* the ring is full: wait for completions */
			if (ret && c->state == CHUNK_READY) {
				/* Never reached the device: it gets no callback. */
				c->state = CHUNK_DONE;
				c->result = ret;
			} else if (ret && !result) {
				result = ret; /* the kick failed: the queue is broken */
			}
			progress = true;
		}
		if (!busy && (pos >= dev_end || result))
			break;
		if (!progress)
			wait_progress(io, q);
	}
	pthread_mutex_unlock(&q->lock);
	return result;
}

/* One request without data (flush, discard, write zeroes), from @start on @q. */
typedef int (*start_fn)(struct nbd_io *io, struct queue *q, struct chunk *c, const void *arg);

static int one_request(struct nbd_io *io, start_fn start, const void *arg)
{
	struct queue *q = my_queue(io);
	struct chunk c = {.q = q, .state = CHUNK_READY, .slot = -1};
	int ret;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		/* In flight before the call: a flush without VIRTIO_BLK_F_FLUSH completes in it. */
		c.state = CHUNK_INFLIGHT;
		q->inflight++;
		ret = start(io, q, &c, arg);
		if (!ret)
			break;
		c.state = CHUNK_READY;
		q->inflight--;
		if (ret != -ENOSPC)
			break;
		wait_progress(io, q);
	}
	if (!ret) {
		/* Even when the kick failed the request is on the ring: it completes (-EIO). */
		ret = vv_blk_kick(io->blk, q->idx);
		while (c.state != CHUNK_DONE)
			wait_progress(io, q);
		if (!ret)
			ret = c.result;
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static int start_flush(struct nbd_io *io, struct queue *q, struct chunk *c, const void *arg)
{
	return vv_blk_submit_flush(io->blk, q->idx, chunk_done, c);
}

struct range {
	uint64_t off, count;
	bool zeroes, unmap;
};

static int start_range(struct nbd_io *io, struct queue *q, struct chunk *c, const void *arg)
{
	const struct range *r = arg;

	if (r->zeroes)
		return vv_blk_submit_write_zeroes(io->blk, q->idx, r->off / SECTOR,
						  r->count / SECTOR, r->unmap, chunk_done, c);
	return vv_blk_submit_discard(io->blk, q->idx, r->off / SECTOR, r->count / SECTOR,
				     chunk_done, c);
}

/* Writes @len bytes at @at within the block at @blk_off: read it, patch it, write it back. */
static int rmw(struct nbd_io *io, uint64_t blk_off, const uint8_t *data, uint32_t at, uint32_t len)
{
	uint8_t *tmp = malloc(io->align);
	int ret;

	if (!tmp)
		return -ENOMEM;
	/* Two writes to different bytes of one block must not undo each other. */
	pthread_mutex_lock(&io->rmw_lock);
	ret = rw_chunks(io, false, tmp, blk_off, io->align);
	if (!ret) {
		memcpy(tmp + at, data, len);
		ret = rw_chunks(io, true, tmp, blk_off, io->align);
	}
	pthread_mutex_unlock(&io->rmw_lock);
	free(tmp);
	return ret;
}

int nbd_io_rw(struct nbd_io *io, bool write, void *buf, uint32_t count, uint64_t offset)
{
	uint8_t *p = buf;
	uint32_t head, n;
	int ret;

	if (!write)
		return rw_chunks(io, false, p, offset, count);
	head = (uint32_t)(offset % io->align);
	if (head) {
		n = io->align - head < count ? io->align - head : count;
		ret = rmw(io, offset - head, p, head, n);
		if (ret)
			return ret;
		p += n;
		offset += n;
		count -= n;
	}
	n = count / io->align * io->align;
	if (n) {
		ret = rw_chunks(io, true, p, offset, n);
		if (ret)
			return ret;
		p += n;
		offset += n;
		count -= n;
	}
	return count ? rmw(io, offset, p, 0, count) : 0;
}

int nbd_io_flush(struct nbd_io *io)
{
	return one_request(io, start_flush, NULL);
}

int nbd_io_discard(struct nbd_io *io, uint64_t offset, uint64_t count)
{
	struct range r = {.off = offset, .count = count};

	return one_request(io, start_range, &r);
}

int nbd_io_write_zeroes(struct nbd_io *io, uint64_t offset, uint64_t count, bool unmap)
{
	struct range r = {.off = offset, .count = count, .zeroes = true, .unmap = unmap};

	return one_request(io, start_range, &r);
}

int nbd_io_refresh(struct nbd_io *io, bool *ret_changed)
{
	int ret;

	pthread_mutex_lock(&io->q[0].lock);
	ret = vv_blk_refresh(io->blk, ret_changed);
	pthread_mutex_unlock(&io->q[0].lock);
	return ret;
}

uint32_t nbd_io_align(const struct nbd_io *io)
{
	return io->align;
}

int nbd_io_open(struct vv_blk *blk, struct nbd_io **ret_io)
{
	unsigned nq = vv_blk_num_queues(blk);
	struct vv_device *dev = vv_blk_device(blk);
	struct nbd_io *io;
	int ret = 0;

	/*
	 * Queues that share a vector share an eventfd, which cannot reliably wake two reapers:
	 * then one queue serves every thread.
	 */
	for (unsigned i = 1; i < nq; i++)
		if (vv_blk_queue_eventfd(blk, i) >= 0 &&
		    vv_blk_queue_eventfd(blk, i) == vv_blk_queue_eventfd(blk, 0))
			nq = 1;
	io = calloc(1, sizeof(*io) + nq * sizeof(io->q[0]));
	if (!io)
		return -ENOMEM;
	io->blk = blk;
	io->align = vv_blk_get_info(blk)->blk_size;
	if (io->align < SECTOR)
		io->align = SECTOR;
	io->nq = nq;
	pthread_mutex_init(&io->rmw_lock, NULL);
	for (unsigned i = 0; i < nq; i++) {
		struct queue *q = &io->q[i];

		pthread_mutex_init(&q->lock, NULL);
		pthread_cond_init(&q->cond, NULL);
		q->idx = i;
		q->vq = vv_device_queue(dev, i);
		q->efd = vv_blk_queue_eventfd(blk, i);
		if (q->efd < 0)
			q->efd = -1;
		for (unsigned s = 0; s < SLOTS; s++)
			q->free[q->nfree++] = SLOTS - 1 - s;
		if (!ret)
			ret = vv_dma_alloc(dev, (size_t)SLOTS * SLOT_BYTES, &q->mem);
	}
	if (ret) {
		nbd_io_close(io);
		return ret;
	}
	*ret_io = io;
	return 0;
}

void nbd_io_close(struct nbd_io *io)
{
	if (!io)
		return;
	for (unsigned i = 0; i < io->nq; i++) {
		if (io->q[i].mem.vaddr)
			vv_dma_free(vv_blk_device(io->blk), &io->q[i].mem);
		pthread_mutex_destroy(&io->q[i].lock);
		pthread_cond_destroy(&io->q[i].cond);
	}
	pthread_mutex_destroy(&io->rmw_lock);
	free(io);
}
