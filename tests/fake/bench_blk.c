// SPDX-License-Identifier: MIT
/*
 * bench_blk.c - the virtio-blk request path's cost per request, for callgrind: batches of 4 KiB
 * reads are submitted one by one (blk_queue_rw(), what vv_blk_submit_rw() calls), kicked once
 * and completed (blk_queue_poll(), the completion callbacks included) in poll mode, against the
 * fake RAM disk served synchronously between batches. The disk's work happens outside those
 * calls, so collecting only inside them (bench/vq-instructions.sh) counts the driver alone.
 *
 * Usage: vv-bench-blk [BATCH [ITERATIONS [split|packed [direct|indirect [any|inorder1]]]]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devs/blk_queue.h"
#include "fake_blk.h"
#include "fake_ring.h"

#define MAX_BATCH 128

static void on_notify(void *ctx, unsigned index)
{
}

static void on_done(void *opaque, int result)
{
	unsigned *bad = opaque;

	*bad += result != 0;
}

int main(int argc, char **argv)
{
	unsigned batch = argc > 1 ? (unsigned)atoi(argv[1]) : 32;
	unsigned iters = argc > 2 ? (unsigned)atoi(argv[2]) : 10000;
	bool packed = argc > 3 && !strcmp(argv[3], "packed");
	bool indirect = argc > 4 && !strcmp(argv[4], "indirect");
	bool in_order = argc > 5 && !strcmp(argv[5], "inorder1");
	struct vv_blk_info info = {.capacity = FAKE_DISK_SECTORS, .blk_size = 512, .num_queues = 1};
	static struct fake_disk disk;
	unsigned num = 256, bad = 0;
	uint64_t done = 0, cmd_iova, iova;
	struct blk_queue q;
	struct fake_env e;
	uint8_t *mem;
	void *cmd;
	int ret;

	if (!batch || batch > MAX_BATCH) {
		fprintf(stderr, "vv-bench-blk: batch 1..%u\n", MAX_BATCH);
		return 2;
	}
	ret = fake_env_init_full(&e, 8u << 20, num, true, indirect, indirect ? 8 : 0, on_notify,
				 NULL, packed, in_order);
	if (ret) {
		fprintf(stderr, "vv-bench-blk: fake device: %s\n", strerror(-ret));
		return 1;
	}
	e.dev.handler = fake_disk_serve;
	e.dev.handler_ctx = &disk;
	cmd = fake_mem_alloc(&e.mem, blk_queue_mem_size(num), 4096, &cmd_iova);
	mem = fake_mem_alloc(&e.mem, (size_t)batch * 4096, 4096, &iova);
	if (!cmd || !mem || blk_queue_init(&q, e.vq, &info, cmd, cmd_iova))
		return 1;
	/* Poll mode: no interrupts asked for, as vv_blk_set_mode(POLL) does. */
	vv_vq_disable_cb(e.vq);
	for (unsigned it = 0; it < iters; it++) {
		for (unsigned i = 0; i < batch; i++) {
			struct vv_sg sg = {iova + (uint64_t)i * 4096, 4096};

			if (blk_queue_rw(&q, false, (uint64_t)(it * batch + i) * 8 % 8192, &sg, 1,
					 on_done, &bad)) {
				fprintf(stderr, "vv-bench-blk: submit failed\n");
				return 1;
			}
		}
		blk_queue_kick(&q);
		fake_ring_process(&e.dev);
		ret = blk_queue_poll(&q, batch);
		if (ret != (int)batch) {
			fprintf(stderr, "vv-bench-blk: poll returned %d\n", ret);
			return 1;
		}
		done += (unsigned)ret;
	}
	printf("%llu reads of 4 KiB in batches of %u (%s, %s, %s), %u failed\n",
	       (unsigned long long)done, batch, packed ? "packed" : "split",
	       indirect ? "indirect" : "direct", in_order ? "inorder1" : "any", bad);
	blk_queue_fini(&q);
	fake_env_fini(&e);
	return bad ? 1 : 0;
}
