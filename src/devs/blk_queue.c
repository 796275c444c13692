// SPDX-License-Identifier: MIT
/* blk_queue.c - builds, splits and completes virtio-blk requests (virtio 1.2 section 5.2.6). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "devs/blk_cfg.h"
#include "devs/blk_queue.h"
#include "util/compiler.h"

#define SECTOR	      512
#define CMD_SIZE      64
#define MAX_PARTS     64  /* a submission splits into at most this many device requests */
#define MAX_SEGS      128 /* data segments per device request, whatever seg_max allows */
/*
 * Data bytes per device request. Behind a (virtual) IOMMU the device's backend may see every
 * page of a request as a segment of its own: QEMU translates our IOVAs page by page, merges
 * only pages that happen to be contiguous, and fails a request past 1024 (the device then
 * needs a reset). 1 MiB is 256 pages at worst; Linux's block layer stops near there too.
 */
#define MAX_REQ_BYTES (1u << 20)

/* Where the pieces of one device request live inside its 64-byte DMA slot. */
#define CMD_HDR	      0	 /* struct virtio_blk_outhdr, 16 bytes */
#define CMD_RANGE     16 /* struct virtio_blk_discard_write_zeroes, 16 bytes */
#define CMD_STATUS    32 /* 1 byte */
#define CMD_ID	      40 /* VIRTIO_BLK_ID_BYTES */

/* One submission as the caller sees it: its callback runs when all parts are done. */
struct blk_parent {
	vv_blk_cb cb;
	void *opaque;
	unsigned remaining;
	int result;
	char *id_out;
};

struct blk_cmd {
	struct blk_parent *parent;
	/*
	 * A one-buffer request's header, data and status, in driver memory. Only the data
	 * changes from one request to the next: header and status are set up once.
	 */
	struct vv_sg sg[3];
	/*
	 * The parent of a submission that is this one device request (a one-buffer read or
	 * write): none from the pool, and only its callback and opaque are set, as
	 * finish_cmd() calls it as soon as the slot completes.
	 */
	struct blk_parent own;
	/* That request as staged for the ring, read [0] and write [1]: built once. */
	struct vv_vq_req req[2];
	unsigned index; /* in q->cmds: a completion's token gives it without a division */
};

/* One device request being planned: its data segments and where they start on disk. */
struct part {
	uint64_t sector;
	unsigned first, nseg; /* in the split segment list */
};

static uint8_t *cmd_ptr(struct blk_queue *q, unsigned i, unsigned off)
{
	return q->cmd_mem + (size_t)i * CMD_SIZE + off;
}

static uint64_t cmd_iova(struct blk_queue *q, unsigned i, unsigned off)
{
	return q->cmd_iova + (uint64_t)i * CMD_SIZE + off;
}

/* Descriptors one request with @nseg data segments takes from the ring. */
static unsigned descs_needed(struct blk_queue *q, unsigned nseg)
{
	return vv_vq_indirect_max(q->vq) ? 1 : nseg + 2;
}

size_t blk_queue_mem_size(unsigned num)
{
	return (size_t)num * CMD_SIZE;
}

int blk_queue_init(struct blk_queue *q, struct vv_vq *vq, const struct vv_blk_info *info, void *mem,
		   uint64_t mem_iova)
{
	/*
	 * header and status take two descriptors; indirect tables have their own bound. Nothing
	 * is in flight yet: the free count is what the ring can ever hold (one less than its
	 * size with IN_ORDER).
	 */
	unsigned num = vv_vq_size(vq);
	unsigned desc_room = vv_vq_indirect_max(vq) ? vv_vq_indirect_max(vq) : vv_vq_free_count(vq);

	memset(q, 0, sizeof(*q));
	q->vq = vq;
	q->info = info;
	q->max_segs = desc_room > 2 ? desc_room - 2 : 0;
	if (info->seg_max && info->seg_max < q->max_segs)
		q->max_segs = info->seg_max;
	if (q->max_segs > MAX_SEGS)
		q->max_segs = MAX_SEGS;
	if (!q->max_segs)
		return -EINVAL;
	q->one_max =
		info->size_max && info->size_max < MAX_REQ_BYTES ? info->size_max : MAX_REQ_BYTES;
	q->one_max -= q->one_max % SECTOR;
	/*
	 * No used length is read here: the status byte tells the outcome and the serial is
	 * NUL-padded in a buffer of its own size. Clamp rather than lose the disk to a device
	 * that miscounts (see vv_vq_set_len_check()).
	 */
	vv_vq_set_len_check(vq, VV_VQ_LEN_CLAMP);
	q->cmd_mem = mem;
	q->cmd_iova = mem_iova;
	q->ncmds = num;
	q->cmds = calloc(num, sizeof(*q->cmds));
	q->free_cmds = calloc(num, sizeof(*q->free_cmds));
	/* A live submission holds at least one slot: one parent per slot always suffices. */
	q->parents = calloc(num, sizeof(*q->parents));
	q->free_parents = calloc(num, sizeof(*q->free_parents));
	/* A staged request holds a command slot: there are never more than the slots. */
	q->staged = calloc(num, sizeof(*q->staged));
	q->one_descs = descs_needed(q, 1);
	if (!q->cmds || !q->free_cmds || !q->parents || !q->free_parents || !q->staged) {
		blk_queue_fini(q);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < num; i++) {
		struct virtio_blk_outhdr *hdr = (void *)cmd_ptr(q, i, CMD_HDR);

		q->free_cmds[q->nfree++] = num - 1 - i;
		q->free_parents[q->nfree_parents++] = &q->parents[num - 1 - i];
		hdr->ioprio = 0; /* always 0: written once; only the device reads it */
		q->cmds[i].index = i;
		/* A read: header out, data and status in (5.2.6). A write: the data goes out. */
		q->cmds[i].req[0] = (struct vv_vq_req){q->cmds[i].sg, 1, 2, &q->cmds[i]};
		q->cmds[i].req[1] = (struct vv_vq_req){q->cmds[i].sg, 2, 1, &q->cmds[i]};
		q->cmds[i].sg[0] = (struct vv_sg){cmd_iova(q, i, CMD_HDR), sizeof(*hdr)};
		q->cmds[i].sg[2] = (struct vv_sg){cmd_iova(q, i, CMD_STATUS), 1};
	}
	return 0;
}

/* Requests still in flight are dropped without callbacks (the device was reset). */
void blk_queue_fini(struct blk_queue *q)
{
	free(q->cmds);
	free(q->free_cmds);
	free(q->parents);
	free(q->free_parents);
	free(q->staged);
	q->cmds = NULL;
	q->free_cmds = NULL;
	q->parents = NULL;
	q->free_parents = NULL;
	q->staged = NULL;
	q->nstaged = 0;
}

/*
 * Adds the staged requests to the ring. Each was staged within the room the ring had, so
 * only a broken queue refuses them. Their parents stay set either way: on a broken queue
 * blk_queue_fail_all() completes them, as it does the requests on the ring.
 */
static int add_staged(struct blk_queue *q)
{
	unsigned n = q->nstaged;
	int ret;

	if (!n)
		return 0;
	q->nstaged = 0;
	ret = vv_vq_add_many(q->vq, q->staged, n);
	if (likely(ret == (int)n))
		return 0;
	if (ret >= 0)
		vv_vq_break(q->vq); /* cannot happen: room was counted; fail loudly, not hang */
	/* The next submission sees the broken queue (count_room()). */
	q->room = 0;
	return -EIO;
}

/*
 * Room for @nparts requests of @descs descriptors in all, added now: after what is staged,
 * so they reach the ring in submission order. 0, -ENOSPC, or -EIO on a broken queue.
 */
static int room_for(struct blk_queue *q, unsigned nparts, unsigned descs)
{
	int ret = add_staged(q);

	if (ret)
		return ret;
	return q->nfree >= nparts && vv_vq_free_count(q->vq) >= descs ? 0 : -ENOSPC;
}

/* From the queue's pool: no allocation per request. room_for() checked there is one. */
static struct blk_parent *new_parent(struct blk_queue *q, vv_blk_cb cb, void *opaque,
				     unsigned parts)
{
	struct blk_parent *p = q->free_parents[--q->nfree_parents];

	*p = (struct blk_parent){.cb = cb, .opaque = opaque, .remaining = parts};
	return p;
}

static void put_parent(struct blk_queue *q, struct blk_parent *p)
{
	q->free_parents[q->nfree_parents++] = p;
}

/* A free command slot, its header written and its status not one the device can report. */
static unsigned take_cmd(struct blk_queue *q, uint32_t type, uint64_t sector)
{
	unsigned c = q->free_cmds[--q->nfree];
	struct virtio_blk_outhdr *hdr = (void *)cmd_ptr(q, c, CMD_HDR);

	hdr->type = htole32(type);
	hdr->sector = htole64(sector);
	*cmd_ptr(q, c, CMD_STATUS) = 0xff;
	return c;
}

/*
 * Adds one device request: header, then @nseg data segments, then extra device-readable
 * bytes (a discard range) or device-writable ones (an id), then the status byte.
 */
static int add_cmd(struct blk_queue *q, struct blk_parent *parent, uint32_t type, uint64_t sector,
		   const struct vv_sg *data, unsigned nseg, bool data_in, unsigned extra_off,
		   uint32_t extra_len, bool extra_in)
{
	struct vv_sg sg[MAX_SEGS + 4];
	unsigned c = take_cmd(q, type, sector), n = 0, n_out;
	int ret;

	q->cmds[c].parent = parent;
	sg[n++] = q->cmds[c].sg[0]; /* the header, as blk_queue_init() set it up */
	if (!data_in)
		for (unsigned i = 0; i < nseg; i++)
			sg[n++] = data[i];
	if (extra_len && !extra_in)
		sg[n++] = (struct vv_sg){cmd_iova(q, c, extra_off), extra_len};
	n_out = n;
	if (data_in)
		for (unsigned i = 0; i < nseg; i++)
			sg[n++] = data[i];
	if (extra_len && extra_in)
		sg[n++] = (struct vv_sg){cmd_iova(q, c, extra_off), extra_len};
	sg[n++] = q->cmds[c].sg[2]; /* the status byte */

	ret = vv_vq_add(q->vq, sg, n_out, n - n_out, &q->cmds[c]);
	q->room = 0; /* the ring has less than counted: count again before staging */
	if (ret) {
		/* Room was checked: only a broken queue gets here. */
		q->cmds[c].parent = NULL;
		q->free_cmds[q->nfree++] = c;
	}
	return ret;
}

/*
 * A submission failed after @added of its parts were queued: the caller gets the error now,
 * so its callback must never run; the parts in flight still return the parent to the pool.
 */
static void abandon(struct blk_queue *q, struct blk_parent *parent, unsigned nparts, unsigned added)
{
	parent->cb = NULL;
	parent->remaining -= nparts - added;
	if (!parent->remaining)
		put_parent(q, parent);
}

/*
 * The ring's free descriptors less what the staged requests take, counted again when the
 * bound is used up: completions only add to it. -ENOSPC when a one-buffer request does not
 * fit; -EIO on a broken queue. Whatever finds the queue broken (a kick, a poll, fail_all)
 * sets the bound to 0, so that every submission after it comes here and fails at once.
 */
static int count_room(struct blk_queue *q)
{
	unsigned free = vv_vq_free_count(q->vq), staged = q->nstaged * q->one_descs;

	if (vv_vq_is_broken(q->vq))
		return -EIO;
	q->room = free > staged ? free - staged : 0;
	return q->room < q->one_descs ? -ENOSPC : 0;
}

/*
 * Stages a one-buffer read or write in a free command slot; it reaches the ring at the kick.
 * The caller made sure of the room. A command slot is always free then, as there is one per
 * ring entry; the test costs less than what a miscount would.
 */
static VV_INLINE int stage_one(struct blk_queue *q, bool write, uint64_t sector,
			       const struct vv_sg *data, vv_blk_cb cb, void *opaque)
{
	struct blk_cmd *cmd;

	if (unlikely(!q->nfree))
		return -ENOSPC;
	cmd = &q->cmds[take_cmd(q, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector)];
	cmd->sg[1] = *data;
	cmd->own.cb = cb; /* finish_cmd() reads nothing else of it */
	cmd->own.opaque = opaque;
	cmd->parent = &cmd->own;
	q->staged[q->nstaged++] = cmd->req[write];
	q->room -= q->one_descs;
	return 0;
}

/*
 * stage_one() once the room bound is used up: count it again (and see a broken queue) first.
 * Out of line and reached by a tail call, so that the common path makes no call and keeps
 * everything in scratch registers.
 */
static __attribute__((noinline)) int stage_one_recount(struct blk_queue *q, bool write,
						       uint64_t sector, const struct vv_sg *data,
						       vv_blk_cb cb, void *opaque)
{
	int ret = count_room(q);

	return ret ? ret : stage_one(q, write, sector, data, cb, opaque);
}

/*
 * blk_queue_rw() for one buffer that one device request carries whole: header, data, status.
 * A function of its own, so the general path's planning arrays stay out of its frame.
 */
static VV_INLINE int rw_one(struct blk_queue *q, bool write, uint64_t sector,
			    const struct vv_sg *data, vv_blk_cb cb, void *opaque)
{
	uint64_t cap = blk_info_capacity(q->info);

	if (data->len % SECTOR || sector > cap || data->len / SECTOR > cap - sector)
		return -EINVAL;
	if (unlikely(q->room < q->one_descs))
		return stage_one_recount(q, write, sector, data, cb, opaque);
	return stage_one(q, write, sector, data, cb, opaque);
}

/*
 * Reads and writes: the caller's buffers are cut so that no segment exceeds size_max and no
 * request carries more than max_segs segments. Everything is planned before anything is
 * queued, so a submission either goes in whole or not at all. Out of line: its arrays take
 * 5 KiB of stack, which the one-buffer path does not need.
 */
static __attribute__((noinline)) int rw_plan(struct blk_queue *q, bool write, uint64_t sector,
					     const struct vv_sg *sg, unsigned nsg, vv_blk_cb cb,
					     void *opaque)
{
	struct vv_sg seg[MAX_PARTS * 4];
	struct part parts[MAX_PARTS];
	unsigned nseg = 0, nparts = 0, descs = 0, p;
	uint64_t bytes = 0, at = sector, cap;
	struct blk_parent *parent;
	int ret = 0;

	for (unsigned i = 0; i < nsg; i++) {
		uint64_t off = 0, max = q->one_max;

		if (!sg[i].len || sg[i].len % SECTOR)
			return -EINVAL;
		while (off < sg[i].len) {
			uint64_t l = sg[i].len - off < max ? sg[i].len - off : max;

			if (nseg == sizeof(seg) / sizeof(seg[0]))
				return -EINVAL;
			seg[nseg++] = (struct vv_sg){sg[i].iova + off, (uint32_t)l};
			off += l;
		}
		bytes += sg[i].len;
	}
	cap = blk_info_capacity(q->info);
	if (sector > cap || bytes / SECTOR > cap - sector)
		return -EINVAL;

	for (unsigned s = 0; s < nseg;) {
		unsigned n = 0;
		uint64_t len = 0;

		/* Up to max_segs segments and MAX_REQ_BYTES of data; at least one segment. */
		while (s + n < nseg && n < q->max_segs &&
		       (!n || len + seg[s + n].len <= MAX_REQ_BYTES))
			len += seg[s + n++].len;
		if (nparts == MAX_PARTS)
			return -EINVAL;
		parts[nparts++] = (struct part){.sector = at, .first = s, .nseg = n};
		at += len / SECTOR;
		descs += descs_needed(q, n);
		s += n;
	}
	ret = room_for(q, nparts, descs);
	if (ret)
		return ret;
	parent = new_parent(q, cb, opaque, nparts);
	for (p = 0; p < nparts && !ret; p++)
		ret = add_cmd(q, parent, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			      parts[p].sector, &seg[parts[p].first], parts[p].nseg, !write, 0, 0,
			      false);
	if (ret)
		abandon(q, parent, nparts, p - 1);
	return ret;
}

int blk_queue_rw(struct blk_queue *q, bool write, uint64_t sector, const struct vv_sg *sg,
		 unsigned nsg, vv_blk_cb cb, void *opaque)
{
	if (!nsg || !sg || !cb)
		return -EINVAL;
	if (write && q->info->read_only)
		return -EROFS;
	/* One buffer that one request carries whole, the common case: nothing to plan. */
	if (nsg == 1 && sg->len && sg->len <= q->one_max)
		return rw_one(q, write, sector, sg, cb, opaque);
	return rw_plan(q, write, sector, sg, nsg, cb, opaque);
}

int blk_queue_kick(struct blk_queue *q)
{
	int ret = add_staged(q);

	return ret ? ret : vv_vq_kick(q->vq);
}

int blk_queue_flush(struct blk_queue *q, vv_blk_cb cb, void *opaque)
{
	struct blk_parent *parent;
	int ret;

	if (!q->info->flush) {
		cb(opaque, 0); /* no FLUSH offered: the device has no cache to flush */
		return 0;
	}
	ret = room_for(q, 1, descs_needed(q, 0));
	if (ret)
		return ret;
	parent = new_parent(q, cb, opaque, 1);
	ret = add_cmd(q, parent, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, 0, 0, false);
	if (ret)
		abandon(q, parent, 1, 0);
	return ret;
}

/* DISCARD and WRITE_ZEROES: one range per request, split by the device's per-request limit. */
int blk_queue_range(struct blk_queue *q, uint32_t type, uint64_t sector, uint64_t nsectors,
		    bool unmap, vv_blk_cb cb, void *opaque)
{
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	uint32_t max = discard ? q->info->max_discard_sectors : q->info->max_write_zeroes_sectors;
	uint64_t cap;
	unsigned nparts, p;
	struct blk_parent *parent;
	int ret = 0;

	if (discard ? !q->info->discard : !q->info->write_zeroes)
		return -EOPNOTSUPP;
	if (q->info->read_only)
		return -EROFS;
	cap = blk_info_capacity(q->info);
	if (!nsectors || sector > cap || nsectors > cap - sector)
		return -EINVAL;
	if (!max)
		max = UINT32_MAX;
	if ((nsectors + max - 1) / max > MAX_PARTS)
		return -EINVAL;
	nparts = (unsigned)((nsectors + max - 1) / max);
	ret = room_for(q, nparts, nparts * descs_needed(q, 1));
	if (ret)
		return ret;
	parent = new_parent(q, cb, opaque, nparts);
	for (p = 0; p < nparts && !ret; p++) {
		uint64_t n =
			nsectors - (uint64_t)p * max < max ? nsectors - (uint64_t)p * max : max;
		unsigned c = q->free_cmds[q->nfree - 1]; /* the slot add_cmd() takes next */
		struct virtio_blk_discard_write_zeroes *r = (void *)cmd_ptr(q, c, CMD_RANGE);

		r->sector = htole64(sector + (uint64_t)p * max);
		r->num_sectors = htole32((uint32_t)n);
		r->flags = htole32(!discard && unmap && q->info->write_zeroes_may_unmap
					   ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
					   : 0);
		ret = add_cmd(q, parent, type, 0, NULL, 0, false, CMD_RANGE, sizeof(*r), false);
	}
	if (ret)
		abandon(q, parent, nparts, p - 1);
	return ret;
}

int blk_queue_get_id(struct blk_queue *q, char *id_out, vv_blk_cb cb, void *opaque)
{
	struct blk_parent *parent;
	int ret;

	ret = room_for(q, 1, descs_needed(q, 1));
	if (ret)
		return ret;
	parent = new_parent(q, cb, opaque, 1);
	parent->id_out = id_out;
	ret = add_cmd(q, parent, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, false, CMD_ID,
		      VIRTIO_BLK_ID_BYTES, true);
	if (ret)
		abandon(q, parent, 1, 0);
	return ret;
}

static int status_errno(uint8_t status)
{
	switch (status) {
	case VIRTIO_BLK_S_OK:
		return 0;
	case VIRTIO_BLK_S_UNSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO; /* IOERR, or a value the spec does not define */
	}
}

/*
 * One device request is over, with @ret: the slot goes back to the pool, and when it was the
 * last part of its submission the caller hears of it. Returns 1 when a callback ran.
 */
static int finish_cmd(struct blk_queue *q, unsigned c, int ret)
{
	struct blk_cmd *cmd = &q->cmds[c];
	struct blk_parent *p = cmd->parent;

	cmd->parent = NULL;
	q->free_cmds[q->nfree++] = c;
	/* The request was the whole submission (never abandoned: it fails only here). */
	if (p == &cmd->own) {
		p->cb(p->opaque, ret);
		return 1;
	}
	if (ret && !p->result)
		p->result = ret;
	if (!ret && p->id_out)
		memcpy(p->id_out, cmd_ptr(q, c, CMD_ID), VIRTIO_BLK_ID_BYTES);
	if (--p->remaining)
		return 0;
	vv_blk_cb cb = p->cb;
	void *opaque = p->opaque;
	int result = p->result;

	/* Back in the pool first: the callback may submit again. */
	put_parent(q, p);
	if (!cb)
		return 0; /* abandoned: the submitter was told at once */
	cb(opaque, result);
	return 1;
}

int blk_queue_poll(struct blk_queue *q, unsigned budget)
{
	unsigned done = 0;

	while (done < budget) {
		/* Completions in batches: one read of the used index for up to 32. */
		void *toks[32];
		uint32_t lens[32];
		unsigned want = budget - done < 32 ? budget - done : 32;
		int got = vv_vq_get_many(q->vq, toks, lens, want);

		if (unlikely(got < 0)) {
			q->room = 0; /* the next submission sees the broken queue (count_room()) */
			return got;
		}
		for (int k = 0; k < got; k++) {
			unsigned c = ((struct blk_cmd *)toks[k])->index;

			done += (unsigned)finish_cmd(q, c,
						     status_errno(*cmd_ptr(q, c, CMD_STATUS)));
		}
		if ((unsigned)got < want)
			break;
	}
	return (int)done;
}

int blk_queue_fail_all(struct blk_queue *q, int err)
{
	int done = 0;

	/* Staged requests hold their slots and parents too: they fail with the rest. */
	q->nstaged = 0;
	q->room = 0;
	for (unsigned c = 0; c < q->ncmds; c++)
		if (q->cmds[c].parent)
			done += finish_cmd(q, c, err);
	return done;
}
