// SPDX-License-Identifier: MIT
/*
 * bench_vq.c - the virtqueue engine's cost per request, for callgrind: batches of virtio-blk
 * shaped requests (16-byte header out, 4 KiB data in, status byte in) are added, kicked once
 * and collected in poll mode (notifications off), against the fake device run synchronously
 * between batches. The device's
 * work happens outside vv_vq_add/vv_vq_kick/vv_vq_get, so collecting only inside those
 * (bench/vq-instructions.sh) counts the driver alone. Also checks every token comes back.
 *
 * Usage: vv-bench-vq [BATCH [ITERATIONS [direct|indirect [split|packed [SEGMENTS
 *                    [one|many|driver [any|inorder|inorder1]]]]]]]
 * "many" posts and collects each batch with vv_vq_add_many/vv_vq_get_many; "driver" posts
 * each request with vv_vq_add and collects with vv_vq_get_many, as the blk driver does. "inorder"
 * negotiates VIRTIO_F_IN_ORDER with a device that writes one used entry per batch (what the
 * spec allows); "inorder1" with one that writes an entry per buffer (what QEMU does).
 * SEGMENTS 3 (default) is a virtio-blk request; 1 is one 4 KiB device-writable buffer, the
 * shape of a network receive buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_ring.h"
#include "virtqueue/vq.h"

#define MAX_BATCH 256

static unsigned kicks;

/* A doorbell is one MMIO write: count it, nothing more. */
static void on_notify(void *ctx, unsigned index)
{
	kicks++;
}

int main(int argc, char **argv)
{
	unsigned batch = argc > 1 ? (unsigned)atoi(argv[1]) : 32;
	unsigned iters = argc > 2 ? (unsigned)atoi(argv[2]) : 10000;
	bool indirect = argc > 3 && !strcmp(argv[3], "indirect");
	bool packed = argc > 4 && !strcmp(argv[4], "packed");
	unsigned nseg = argc > 5 ? (unsigned)atoi(argv[5]) : 3;
	bool many = argc > 6 && !strcmp(argv[6], "many");
	bool get_many = many || (argc > 6 && !strcmp(argv[6], "driver"));
	const char *order = argc > 7 ? argv[7] : "any";
	unsigned in_order_batch =
		!strcmp(order, "inorder") ? MAX_BATCH : !strcmp(order, "inorder1");
	static struct vv_sg sgs[MAX_BATCH][3];
	static struct vv_vq_req reqs[MAX_BATCH];
	static void *toks[MAX_BATCH];
	static uint32_t lens[MAX_BATCH];
	unsigned num = 256, tokens[MAX_BATCH];
	struct fake_env e;
	uint64_t iova, done = 0;
	uint8_t *mem;
	int ret;

	if (!batch || batch > MAX_BATCH || (nseg != 1 && nseg != 3) ||
	    (!indirect && batch * nseg > num)) {
		fprintf(stderr, "vv-bench-vq: batch 1..%u (%u without indirect)\n", MAX_BATCH,
			num / 3);
		return 2;
	}
	ret = fake_env_init_full(&e, 8u << 20, num, true, indirect, indirect ? 8 : 0, on_notify,
				 NULL, packed, in_order_batch);
	if (ret) {
		fprintf(stderr, "vv-bench-vq: fake device: %s\n", strerror(-ret));
		return 1;
	}
	/* Poll mode: the driver asks for no interrupts, as vv_blk_set_mode(POLL) does. */
	vv_vq_disable_cb(e.vq);
	mem = fake_mem_alloc(&e.mem, (size_t)batch * 8192, 4096, &iova);
	if (!mem)
		return 1;
	for (unsigned i = 0; i < batch; i++) {
		uint64_t b = iova + (uint64_t)i * 8192;

		sgs[i][0] = (struct vv_sg){nseg == 3 ? b : b + 4096, nseg == 3 ? 16 : 4096};
		sgs[i][1] = (struct vv_sg){b + 4096, 4096};
		sgs[i][2] = (struct vv_sg){b + 16, 1};
		reqs[i] = (struct vv_vq_req){sgs[i], (uint16_t)(nseg == 3),
					     (uint16_t)(nseg == 3 ? 2 : 1), &tokens[i]};
	}
	for (unsigned it = 0; it < iters && many; it++) {
		if (vv_vq_add_many(e.vq, reqs, batch) != (int)batch) {
			fprintf(stderr, "vv-bench-vq: add_many failed\n");
			return 1;
		}
		vv_vq_kick(e.vq);
		fake_ring_process(&e.dev);
		ret = vv_vq_get_many(e.vq, toks, lens, MAX_BATCH);
		if (ret != (int)batch) {
			fprintf(stderr, "vv-bench-vq: get_many returned %d\n", ret);
			return 1;
		}
		done += (unsigned)ret;
	}
	for (unsigned it = 0; it < iters && !many; it++) {
		for (unsigned i = 0; i < batch; i++) {
			uint64_t b = iova + (uint64_t)i * 8192;
			struct vv_sg blk[3] = {{b, 16}, {b + 4096, 4096}, {b + 16, 1}};
			struct vv_sg one = {b + 4096, 4096};

			tokens[i] = i;
			if (nseg == 3 ? vv_vq_add(e.vq, blk, 1, 2, &tokens[i])
				      : vv_vq_add(e.vq, &one, 0, 1, &tokens[i])) {
				fprintf(stderr, "vv-bench-vq: add failed\n");
				return 1;
			}
		}
		vv_vq_kick(e.vq);
		fake_ring_process(&e.dev);
		for (;;) {
			ret = get_many ? vv_vq_get_many(e.vq, toks, lens, MAX_BATCH)
				       : vv_vq_get(e.vq, toks, lens);
			if (ret <= 0)
				break;
			done += (unsigned)ret;
		}
		if (ret < 0) {
			fprintf(stderr, "vv-bench-vq: the queue broke\n");
			return 1;
		}
	}
	printf("%llu requests in batches of %u (%s, %s, %s), %u kicks\n", (unsigned long long)done,
	       batch, packed ? "packed" : "split", indirect ? "indirect" : "direct", order, kicks);
	fake_env_fini(&e);
	return done == (uint64_t)batch * iters ? 0 : 1;
}
