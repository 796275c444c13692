// SPDX-License-Identifier: MIT
/*
 * fuzz_used_ring.c - libFuzzer target: a device that writes arbitrary used-ring entries and
 * indices. The driver must hand back only tokens it posted, each once, with a length inside
 * the writable buffers, and otherwise break the queue; never crash or loop.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "virtqueue/vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NUM 8

static void no_notify(void *ctx, unsigned index)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[4 * 4096] __attribute__((aligned(4096)));
	struct vq_config cfg = {.name = "fuzz", .num = NUM, .notify = no_notify};
	struct vq_dma dma = {.vaddr = mem, .iova = 0x100000, .len = sizeof(mem)};
	struct vv_sg sg[4];
	uint32_t in_len[NUM];
	bool live[NUM] = {0};
	struct vring_used *used;
	struct vv_vq *vq;
	size_t pos = 0;

	if (size < 1)
		return 0;
	cfg.event_idx = data[0] & 1;
	cfg.indirect = data[0] & 2;
	cfg.indirect_max = cfg.indirect ? 4 : 0;
	memset(mem, 0, sizeof(mem));
	if (vq_split_create(&cfg, &dma, &vq))
		__builtin_trap();
	/* The used ring is 4-aligned in the 4096-aligned memory (section 2.7). */
	used = (struct vring_used *)(void *)(mem + (vq_used_iova(vq) - dma.iova));

	/* Post up to NUM requests of 1 readable + (1..3) writable buffers. */
	for (unsigned t = 0; t < NUM; t++) {
		unsigned n_in = 1 + t % 3;

		in_len[t] = 0;
		for (unsigned i = 0; i < 1 + n_in; i++) {
			sg[i] = (struct vv_sg){0x200000 + 4096 * t + 64 * i, 16 + i};
			if (i)
				in_len[t] += 16 + i;
		}
		if (vv_vq_add(vq, sg, 1, n_in, &live[t]) == 0)
			live[t] = true;
	}
	vv_vq_kick(vq);

	/* Then the input plays the device: each 12-byte step writes one used entry and idx. */
	for (pos = 1; pos + 12 <= size; pos += 12) {
		uint16_t slot, idx;
		uint32_t id, len;
		void *tok;
		uint32_t got;
		int ret;

		memcpy(&slot, data + pos, 2);
		memcpy(&id, data + pos + 2, 4);
		memcpy(&len, data + pos + 6, 4);
		memcpy(&idx, data + pos + 10, 2);
		used->ring[slot % NUM].id = id;
		used->ring[slot % NUM].len = len;
		used->idx = idx;
		for (int k = 0; k < 2 * NUM && (ret = vv_vq_get(vq, &tok, &got)) == 1; k++) {
			bool *flag = tok;
			unsigned t = (unsigned)(flag - live);

			if (t >= NUM || !*flag || got > in_len[t])
				__builtin_trap(); /* unknown, repeated or over-long completion */
			*flag = false;
		}
		if (vv_vq_is_broken(vq))
			break;
	}
	vq_destroy(vq);
	return 0;
}
