// SPDX-License-Identifier: MIT
/*
 * fuzz_used_ring.c - libFuzzer target: a device that writes arbitrary used entries, on a split
 * ring (used elements and the used index) or a packed ring (used descriptors: id, length and
 * the flags that carry the wrap counter). The driver must hand back only tokens it posted, each
 * once, with a length inside the writable buffers, give back exactly the descriptors each
 * request took, and otherwise break the queue; never crash or loop. With VIRTIO_F_IN_ORDER
 * (a bit of the first byte) a used entry may stand for a batch: then the tokens must also come
 * back in the order they were posted. Another bit takes the batched calls (vv_vq_add_many,
 * vv_vq_get_many) instead of one request at a time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "virtqueue/vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NUM	      8
#define STEP	      12 /* bytes of input per device step */

/* The first input byte. */
#define OPT_EVENT_IDX 1
#define OPT_INDIRECT  2
#define OPT_PACKED    4
#define OPT_IN_ORDER  8
#define OPT_MANY      16

struct harness {
	struct vv_vq *vq;
	bool packed, indirect, in_order, many;
	unsigned fifo[NUM], head, tail; /* in order: tokens as posted, oldest at head */
	void *dev;			/* split: the used ring; packed: the descriptor ring */
	uint32_t in_len[NUM];
	bool live[NUM]; /* token t is &live[t] */
};

static void no_notify(void *ctx, unsigned index)
{
}

/* Request t: 1 readable and 1..3 writable buffers. */
static unsigned writable(unsigned t)
{
	return 1 + t % 3;
}

/* Ring descriptors request t takes: its buffers, or one for its indirect table. */
static unsigned ndesc(const struct harness *h, unsigned t)
{
	return h->indirect ? 1 : 1 + writable(t);
}

/*
 * Posts every request not in flight that fits. Called again after each device step, so that
 * descriptors are reused and the packed ring laps: both wrap counters turn.
 */
static void post(struct harness *h)
{
	struct vv_sg sg[NUM][4];
	struct vv_vq_req req[NUM];
	unsigned n = 0;
	int took;

	for (unsigned t = 0; t < NUM; t++) {
		if (h->live[t])
			continue;
		h->in_len[t] = 0;
		for (unsigned i = 0; i < 1 + writable(t); i++) {
			sg[t][i] = (struct vv_sg){0x200000 + 4096 * t + 64 * i, 16 + i};
			if (i)
				h->in_len[t] += 16 + i;
		}
		req[n++] = (struct vv_vq_req){sg[t], 1, (uint16_t)writable(t), &h->live[t]};
	}
	/* Batched: the ring takes a prefix of the list; one at a time: each that fits. */
	if (h->many) {
		took = vv_vq_add_many(h->vq, req, n);
		for (int i = 0; i < took; i++) {
			unsigned t = (unsigned)((bool *)req[i].token - h->live);

			h->live[t] = true;
			h->fifo[h->tail++ % NUM] = t;
		}
	} else {
		for (unsigned i = 0; i < n; i++) {
			unsigned t = (unsigned)((bool *)req[i].token - h->live);

			if (vv_vq_add(h->vq, req[i].sg, 1, req[i].n_in, req[i].token) == 0) {
				h->live[t] = true;
				h->fifo[h->tail++ % NUM] = t;
			}
		}
	}
	vv_vq_kick(h->vq);
}

/* One device step: @pos picks the ring entry, @flags_idx is the used index or the flags. */
static void device_write(struct harness *h, uint16_t pos, uint32_t id, uint32_t len,
			 uint16_t flags_idx)
{
	if (h->packed) {
		/* A used descriptor is the one at the driver's position whose flags match its lap.
		 */
		struct vring_packed_desc *d = (struct vring_packed_desc *)h->dev + pos % NUM;

		d->id = (uint16_t)id;
		d->len = len;
		d->flags = flags_idx;
	} else {
		struct vring_used *used = h->dev;

		used->ring[pos % NUM].id = id;
		used->ring[pos % NUM].len = len;
		used->idx = flags_idx;
	}
}

/* Takes every completion; each must be a live token with a length inside its buffers. */
static void reap(struct harness *h)
{
	unsigned held = 0;
	uint32_t got[3];
	void *tok[3];
	int n;

	/* Batched calls take up to 3 at a time, so that a batch may end inside the device's. */
	for (int k = 0; k < 2 * NUM && (n = h->many ? vv_vq_get_many(h->vq, tok, got, 3)
						    : vv_vq_get(h->vq, tok, got)) > 0;
	     k++) {
		for (int i = 0; i < n; i++) {
			bool *flag = tok[i];
			unsigned t = (unsigned)(flag - h->live);

			if (t >= NUM || !*flag || got[i] > h->in_len[t])
				__builtin_trap(); /* unknown, repeated or over-long completion */
			if (h->in_order && h->fifo[h->head++ % NUM] != t)
				__builtin_trap(); /* in order: only ever the oldest */
			*flag = false;
		}
	}
	/* A completion gives back exactly what its request took, chains included. */
	for (unsigned t = 0; t < NUM; t++)
		if (h->live[t])
			held += ndesc(h, t);
	if (vv_vq_free_count(h->vq) + held != NUM - h->in_order) /* IN_ORDER keeps one free */
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[4 * 4096] __attribute__((aligned(4096)));
	struct vq_config cfg = {.name = "fuzz", .num = NUM, .notify = no_notify};
	struct vq_dma dma = {.vaddr = mem, .iova = 0x100000, .len = sizeof(mem)};
	struct harness h = {0};

	if (size < 1)
		return 0;
	cfg.event_idx = data[0] & OPT_EVENT_IDX;
	cfg.indirect = data[0] & OPT_INDIRECT;
	cfg.indirect_max = cfg.indirect ? 4 : 0;
	h.packed = data[0] & OPT_PACKED;
	cfg.in_order = h.in_order = data[0] & OPT_IN_ORDER;
	h.many = data[0] & OPT_MANY;
	h.indirect = cfg.indirect;
	memset(mem, 0, sizeof(mem));
	if ((h.packed ? vq_packed_create : vq_split_create)(&cfg, &dma, &h.vq))
		__builtin_trap();
	/* Split: the used ring, 4-aligned (2.7). Packed: the descriptor ring, at the start (2.8).
	 */
	h.dev = mem + ((h.packed ? vq_desc_iova(h.vq) : vq_used_iova(h.vq)) - dma.iova);
	post(&h);

	/* Then the input plays the device, 12 bytes a step: entry, id, length, index or flags. */
	for (size_t pos = 1; pos + STEP <= size; pos += STEP) {
		uint16_t slot, flags_idx;
		uint32_t id, len;

		memcpy(&slot, data + pos, 2);
		memcpy(&id, data + pos + 2, 4);
		memcpy(&len, data + pos + 6, 4);
		memcpy(&flags_idx, data + pos + 10, 2);
		device_write(&h, slot, id, len, flags_idx);
		reap(&h);
		if (vv_vq_is_broken(h.vq))
			break;
		post(&h);
	}
	vq_destroy(h.vq);
	return 0;
}
