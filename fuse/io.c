// SPDX-License-Identifier: MIT
/*
 * io.c - FUSE requests as virtio-blk requests. With one device a read or write keeps the
 * DMA-mapped buffer its FUSE request arrived in, so the device writes a read's data where
 * the reply is sent from and reads a write's payload in place: each byte is copied once, by
 * the kernel. With several, it takes a buffer of its device's own pool (a write's payload
 * copied there), since the buffer a request lands in is no device's. An
 * unaligned write reads only its edge blocks, patches them and writes edges and payload as
 * one scatter list; fallocate becomes WRITE_ZEROES, or writes of a zeroed buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"

_Thread_local struct worker *io_worker;

/*
 * Where an op's data lives (a read's data, a write's payload, the edge blocks), for us and
 * for its device: the buffer its request arrived in, with one device; a buffer of the
 * device's own pool, with several.
 */
static uint8_t *data_mem(const struct op *op)
{
	const struct worker *w = op->w;

	if (op->dbuf < 0)
		return w->bufs[op->buf].mem + BUF_PAGE;
	return w->dpools[op->d - w->ex->devs].mem + (size_t)op->dbuf * BUF_MAPPED;
}

static uint64_t data_iova(const struct op *op, size_t at)
{
	const struct worker *w = op->w;

	if (op->dbuf < 0)
		return w->bufs[op->buf].map.iova + at;
	return w->dpools[op->d - w->ex->devs].map.iova + (uint64_t)op->dbuf * BUF_MAPPED + at;
}

/* Where a write's payload is, for the device: it must lie in the op's data buffer. */
static int payload_iova(const struct op *op, size_t skip, uint64_t *ret_iova)
{
	const uint8_t *base = data_mem(op);

	if (op->data < base || op->data + op->size > base + RECV_SIZE)
		return -EIO; /* libfuse used memory of its own: splice must be off */
	*ret_iova = data_iova(op, (size_t)(op->data - base) + skip);
	return 0;
}

/* Back to the worker's free list; the worker takes it up when intake paused for want of one. */
static void put_buf(struct worker *w, int b)
{
	w->free_bufs[w->nfree++] = (unsigned)b;
}

/*
 * With several devices: a data buffer of the op's device, the payload of a write copied into
 * it, and the receive buffer back to the worker at once. False when the pool is empty: the
 * op waits for one of its device's requests to be answered.
 */
static bool take_dbuf(struct op *op)
{
	struct dpool *p = &op->w->dpools[op->d - op->w->ex->devs];

	if (!p->nfree)
		return false;
	op->dbuf = (int)p->free[--p->nfree];
	if (op->data) {
		memcpy(data_mem(op), op->data, op->size);
		op->data = data_mem(op);
	}
	put_buf(op->w, op->buf);
	op->buf = -1;
	return true;
}

struct op *io_new(fuse_req_t req, struct dev *d, enum op_kind kind)
{
	struct worker *w = io_worker;
	struct op *op = calloc(1, sizeof(*op));

	if (!op) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	*op = (struct op){.req = req, .d = d, .w = w, .kind = kind, .buf = -1, .dbuf = -1};
	/*
	 * Reads and writes keep the buffer their request is in (fallocate for its edge blocks):
	 * the worker receives the next request into another.
	 */
	if (kind != OP_FSYNC) {
		op->buf = w->cur;
		w->cur_taken = true;
	}
	w->inflight++;
	STAT_ADD(w->stats[d - w->ex->devs].taken, 1);
	return op;
}

/* --- the device's blocks ------------------------------------------------------------- */

/* The blocks covering [off, off + size), in sectors: a 4 KiB-block device fails smaller I/O. */
static void cover(struct op *op)
{
	uint64_t bs = op->d->info->blk_size;
	uint64_t start = op->off / bs * bs, end = (op->off + op->size + bs - 1) / bs * bs;

	op->first = start / SECTOR;
	op->nsect = (end - start) / SECTOR;
}

static bool overlaps(const struct op *a, const struct op *b)
{
	return a->first < b->first + b->nsect && b->first < a->first + a->nsect;
}

static bool is_rmw(const struct op *op)
{
	uint64_t bs = op->d->info->blk_size;

	return op->off % bs || op->size % bs;
}

/*
 * A write that patches edge blocks must not interleave with another write of the same
 * blocks: it would write back stale neighbour data. Aligned writes may overlap each other
 * (that is the caller's business), but not a patching one, in either order. Any worker's
 * writes count. Called with d->lock held.
 */
static bool conflicts(const struct op *op)
{
	for (const struct op *w = op->d->writes; w; w = w->wnext)
		if (overlaps(op, w) && (is_rmw(op) || is_rmw(w)))
			return true;
	return false;
}

/* Registers a write with its device; false if it has to wait for an overlapping one. */
static bool claim(struct op *op)
{
	struct dev *d = op->d;
	bool ok;

	pthread_mutex_lock(&d->lock);
	ok = !conflicts(op);
	if (ok) {
		op->wnext = d->writes;
		d->writes = op;
		op->registered = true;
		if (op->waiting)
			d->waiters--;
		op->waiting = false;
	} else if (!op->waiting) {
		op->waiting = true;
		d->waiters++;
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/* Unregisters a write; true if ops (on any worker) wait for that. */
static bool unclaim(struct op *op)
{
	struct dev *d = op->d;
	bool waiters;

	pthread_mutex_lock(&d->lock);
	for (struct op **p = &d->writes; *p; p = &(*p)->wnext)
		if (*p == op) {
			*p = op->wnext;
			break;
		}
	waiters = d->waiters > 0;
	pthread_mutex_unlock(&d->lock);
	op->registered = false;
	return waiters;
}

/* --- steps: the device requests of one phase ------------------------------------------ */

static void add_step(struct op *op, struct step s)
{
	op->steps[op->nsteps++] = s;
}

static struct step rw_step(int kind, uint64_t sector, uint64_t iova, uint32_t len)
{
	return (struct step){.kind = kind, .sector = sector, .nsg = 1, .sg = {{iova, len}}};
}

static void step_done(void *opaque, int result);
static void advance(struct op *op);

/*
 * Queues the op's remaining steps on its worker's queue (kicked at the end of the loop pass).
 * Returns 0 when all are queued, -EAGAIN when the ring is full (the op waits on the deferred
 * list), or an error. A step may complete inside the submit call (a flush the device does
 * not need): op->queuing keeps step_done() from finishing the op under our feet.
 */
static int queue_steps(struct op *op)
{
	struct worker *w = op->w;
	unsigned di = (unsigned)(op->d - op->d->ex->devs), q = w->q[di];
	int ret = 0;

	op->queuing = true;
	while (op->next_step < op->nsteps) {
		struct step *s = &op->steps[op->next_step++];

		op->pending++;
		w->nreq++;
		atomic_fetch_add(&op->d->inflight, 1);
		switch (s->kind) {
		case STEP_READ:
		case STEP_WRITE:
			ret = vv_blk_submit_rw(op->d->blk, q, s->kind == STEP_WRITE, s->sector,
					       s->sg, s->nsg, step_done, op);
			break;
		case STEP_FLUSH:
			ret = vv_blk_submit_flush(op->d->blk, q, step_done, op);
			break;
		case STEP_ZEROES:
			ret = vv_blk_submit_write_zeroes(op->d->blk, q, s->sector, s->nsect,
							 op->punch, step_done, op);
			break;
		}
		if (!ret) {
			w->kick[di] = true;
			continue;
		}
		op->next_step--;
		op->pending--;
		w->nreq--;
		atomic_fetch_sub(&op->d->inflight, 1);
		if (ret == -ENOSPC && w->nreq) {
			ret = -EAGAIN; /* the ring is full: completions will make room */
		} else if (ret == -ENOSPC) {
			/* An empty ring that cannot take it never will. */
			fprintf(stderr, "virtio-vfio: %s: a request does not fit the queue\n",
				op->d->name);
			ret = -EIO;
		}
		break;
	}
	op->queuing = false;
	return ret;
}

/* Rings the doorbells of the queues this loop pass added requests to. */
void io_kick(struct worker *w)
{
	for (unsigned i = 0; i < w->ex->n; i++)
		if (w->kick[i]) {
			w->kick[i] = false;
			vv_blk_kick(w->ex->devs[i].blk, w->q[i]);
		}
}

static void defer(struct op *op)
{
	struct worker *w = op->w;

	op->next = NULL;
	if (w->deferred_tail)
		w->deferred_tail->next = op;
	else
		w->deferred = op;
	w->deferred_tail = op;
}

/* The worker's counters for the op's device; taken - (the kinds summed) is in flight. */
static void count(const struct op *op, int err)
{
	struct wstats *s = &op->w->stats[op->d - op->w->ex->devs];

	if (err)
		STAT_ADD(s->errors, 1);
	switch (op->kind) {
	case OP_READ:
		if (!err)
			STAT_ADD(s->bytes_read, op->size);
		STAT_ADD(s->reads, 1);
		break;
	case OP_WRITE:
		if (!err)
			STAT_ADD(s->bytes_written, op->size);
		STAT_ADD(s->writes, 1);
		break;
	case OP_FSYNC:
		STAT_ADD(s->flushes, 1);
		break;
	case OP_FALLOC:
		STAT_ADD(s->fallocates, 1);
		break;
	}
}

void io_release(struct op *op)
{
	struct worker *w = op->w;

	if (op->buf >= 0)
		put_buf(w, op->buf);
	if (op->dbuf >= 0) {
		struct dpool *p = &w->dpools[op->d - w->ex->devs];

		p->free[p->nfree++] = (unsigned)op->dbuf;
	}
	free(op);
}

/*
 * Answers the FUSE request and lets go of everything the op held; a large read's answer
 * is sent by the replier, which gives the op back to be let go of (reply.c).
 */
static void complete(struct op *op)
{
	struct worker *w = op->w;
	int err = op->err;

	if (op->registered && unclaim(op))
		w->wake_others = true; /* this worker retries its own deferred list anyway */
	/* Before the answer: whoever got it finds it counted (fio, then `status`). */
	count(op, err);
	w->inflight--;
	if (err) {
		fuse_reply_err(op->req, -err);
	} else if (op->kind == OP_READ) {
		if (reply_read(w, op, data_mem(op) + (op->off - op->first * SECTOR))) {
			w->replying++; /* the worker lets go of it when it comes back */
			return;
		}
	} else if (op->kind == OP_WRITE) {
		fuse_reply_write(op->req, op->size);
	} else {
		fuse_reply_err(op->req, 0);
	}
	io_release(op);
}

/* Phase 0 of an unaligned write or fallocate: read the edge blocks that are only partly ours. */
static void plan_edges(struct op *op)
{
	uint64_t bs = op->d->info->blk_size, end = op->off + op->size;
	uint64_t first_blk = op->off / bs, last_blk = (end - 1) / bs;

	op->phase = PH_EDGES;
	if (op->off % bs || (first_blk == last_blk && end % bs))
		add_step(op, rw_step(STEP_READ, first_blk * bs / SECTOR, data_iova(op, RECV_SIZE),
				     (uint32_t)bs));
	if (end % bs && last_blk != first_blk)
		add_step(op, rw_step(STEP_READ, last_blk * bs / SECTOR,
				     data_iova(op, RECV_SIZE + EDGE_MAX), (uint32_t)bs));
}

static void patch(uint8_t *to, const uint8_t *from, size_t len)
{
	if (from)
		memcpy(to, from, len);
	else
		memset(to, 0, len);
}

/*
 * The next piece of a fallocate's aligned middle: WRITE_ZEROES where the device has it,
 * else writes of the zeroed buffer, ZERO_SEGS times per request.
 */
static void plan_zeroes(struct op *op)
{
	const struct vv_blk_info *info = op->d->info;
	uint64_t left = op->zero_end - op->zero_next;
	struct step s = {.sector = op->zero_next};

	if (info->write_zeroes) {
		/* Bounded so the library's split of one request fits any ring. */
		uint64_t max = info->max_write_zeroes_sectors
				       ? 8ULL * info->max_write_zeroes_sectors
				       : left;

		s.kind = STEP_ZEROES;
		s.nsect = left < max ? left : max;
	} else {
		uint64_t per = ZERO_SIZE / SECTOR;

		s.kind = STEP_WRITE;
		s.nsect = left < per * ZERO_SEGS ? left : per * ZERO_SEGS;
		for (uint64_t at = 0; at < s.nsect; at += per)
			s.sg[s.nsg++] = (struct vv_sg){
				op->d->zero_map.iova,
				(uint32_t)((s.nsect - at < per ? s.nsect - at : per) * SECTOR)};
	}
	op->zero_next += s.nsect;
	add_step(op, s);
}

/*
 * The main phase. Reads and aligned writes are one request on the held buffer. A patched
 * write sends [head block][payload middle][tail block] as one request; a fallocate writes
 * patched edge blocks and zeroes the middle separately.
 */
static int plan_main(struct op *op)
{
	uint64_t bs = op->d->info->blk_size, end = op->off + op->size;
	uint64_t first_blk = op->off / bs, last_blk = (end - 1) / bs;
	size_t head = op->off % bs, tail = end % bs;
	uint8_t *edge0 = op->kind == OP_FSYNC ? NULL : data_mem(op) + RECV_SIZE;
	uint8_t *edge1 = edge0 ? edge0 + EDGE_MAX : NULL;
	size_t hl, tl, mid;
	struct step s = {.kind = STEP_WRITE, .sector = op->first};
	uint64_t iova;
	int ret;

	op->phase = PH_MAIN;
	switch (op->kind) {
	case OP_READ:
		add_step(op, rw_step(STEP_READ, op->first, data_iova(op, 0),
				     (uint32_t)(op->nsect * SECTOR)));
		return 0;
	case OP_FSYNC:
		add_step(op, (struct step){.kind = STEP_FLUSH});
		return 0;
	case OP_WRITE:
	case OP_FALLOC:
		break;
	}
	if (op->kind == OP_WRITE && !head && !tail) {
		ret = payload_iova(op, 0, &iova);
		if (!ret)
			add_step(op, rw_step(STEP_WRITE, op->first, iova, (uint32_t)op->size));
		return ret;
	}
	if (first_blk == last_blk && (head || tail)) {
		/* One block, partly ours: it was read into edge 0. */
		patch(edge0 + head, op->data, op->size);
		add_step(op,
			 rw_step(STEP_WRITE, op->first, data_iova(op, RECV_SIZE), (uint32_t)bs));
		return 0;
	}
	hl = head ? bs - head : 0;
	tl = tail;
	mid = op->size - hl - tl;
	if (hl)
		patch(edge0 + head, op->data, hl);
	if (tl)
		patch(edge1, op->data ? op->data + op->size - tl : NULL, tl);
	if (op->kind == OP_FALLOC) {
		if (hl)
			add_step(op, rw_step(STEP_WRITE, first_blk * bs / SECTOR,
					     data_iova(op, RECV_SIZE), (uint32_t)bs));
		if (tl)
			add_step(op, rw_step(STEP_WRITE, last_blk * bs / SECTOR,
					     data_iova(op, RECV_SIZE + EDGE_MAX), (uint32_t)bs));
		op->zero_next = (op->off + hl) / SECTOR;
		op->zero_end = op->zero_next + mid / SECTOR;
		if (mid)
			plan_zeroes(op);
		return 0;
	}
	if (hl)
		s.sg[s.nsg++] = (struct vv_sg){data_iova(op, RECV_SIZE), (uint32_t)bs};
	if (mid) {
		ret = payload_iova(op, hl, &iova);
		if (ret)
			return ret;
		s.sg[s.nsg++] = (struct vv_sg){iova, (uint32_t)mid};
	}
	if (tl)
		s.sg[s.nsg++] = (struct vv_sg){data_iova(op, RECV_SIZE + EDGE_MAX), (uint32_t)bs};
	add_step(op, s);
	return 0;
}

/* After a hard error: queue nothing more, answer once what is queued has completed. */
static void fail(struct op *op, int err)
{
	op->err = err;
	op->next_step = op->nsteps;
	if (!op->pending && !op->queuing)
		complete(op);
}

/* Queues the planned steps; an op with none left, or whose steps all completed, is answered. */
static void run(struct op *op)
{
	int ret = queue_steps(op);

	if (ret == -EAGAIN)
		defer(op);
	else if (ret)
		fail(op, ret);
	else if (!op->pending)
		advance(op); /* everything completed inside the submit calls */
}

/* Plans the op's next steps, or answers it when there are none left. */
static void advance(struct op *op)
{
	int ret = 0;

	op->nsteps = op->next_step = 0;
	if (!op->err && op->phase == PH_EDGES)
		ret = plan_main(op);
	else if (!op->err && op->kind == OP_FALLOC && op->zero_next < op->zero_end)
		plan_zeroes(op);
	if (ret)
		op->err = ret;
	if (op->err || !op->nsteps)
		complete(op);
	else
		run(op);
}

static void step_done(void *opaque, int result)
{
	struct op *op = opaque;

	op->pending--;
	op->w->nreq--;
	atomic_fetch_sub(&op->d->inflight, 1);
	if (result && !op->err)
		op->err = result;
	if (!op->pending && !op->queuing && op->next_step == op->nsteps)
		advance(op);
}

/* Starts an op: claims its blocks if it writes, then reads its edges or goes to the main phase. */
static void begin(struct op *op)
{
	bool writes = op->kind == OP_WRITE || op->kind == OP_FALLOC;

	if (op->buf >= 0 && op->w->ex->n > 1 && !take_dbuf(op)) {
		defer(op);
		return;
	}
	if (writes && !claim(op)) {
		defer(op);
		return;
	}
	op->started = true;
	op->nsteps = op->next_step = 0;
	if (writes && is_rmw(op)) {
		plan_edges(op);
		run(op);
	} else {
		op->phase = PH_EDGES; /* nothing to read first */
		advance(op);
	}
}

void io_submit(struct op *op)
{
	if (op->kind != OP_FSYNC)
		cover(op);
	/* Behind what already waits on this worker: no overtaking. */
	if (op->w->deferred)
		defer(op);
	else
		begin(op);
}

void io_run_deferred(struct worker *w)
{
	struct op *list = w->deferred;

	w->deferred = w->deferred_tail = NULL;
	while (list) {
		struct op *op = list;

		list = op->next;
		if (!op->started)
			begin(op);
		else
			run(op);
	}
}
