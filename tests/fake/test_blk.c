// SPDX-License-Identifier: MIT
/*
 * test_blk.c - the virtio-blk request layer against the fake device acting as a RAM disk:
 * data end to end, splitting by seg_max / size_max / discard and write-zeroes limits,
 * all-or-nothing submission, status to errno, read-only, GET_ID.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>

#include "devs/blk_queue.h"
#include "fake_blk.h"
#include "fake_ring.h"

#define DISK_SECTORS FAKE_DISK_SECTORS

struct t {
	struct fake_env f;
	struct fake_disk disk;
	struct vv_blk_info info;
	struct blk_queue q;
	uint8_t *buf;
	uint64_t buf_iova;
	int results[16];
	int ncalls;
};

static void notify(void *ctx, unsigned idx)
{
}

static void done(void *opaque, int result)
{
	struct t *t = opaque;

	t->results[t->ncalls++ % 16] = result;
}

static struct t *setup_t(unsigned num, bool indirect, struct vv_blk_info info)
{
	struct t *t = calloc(1, sizeof(*t));
	uint64_t cmd_iova;
	void *cmd;

	assert_non_null(t);
	assert_int_equal(fake_env_init(&t->f, 8u << 20, num, true, indirect, 16, notify, t), 0);
	t->f.dev.handler = fake_disk_serve;
	t->f.dev.handler_ctx = &t->disk;
	t->info = info;
	cmd = fake_mem_alloc(&t->f.mem, blk_queue_mem_size(num), 4096, &cmd_iova);
	assert_non_null(cmd);
	assert_int_equal(blk_queue_init(&t->q, t->f.vq, &t->info, cmd, cmd_iova), 0);
	t->buf = fake_mem_alloc(&t->f.mem, 1u << 20, 4096, &t->buf_iova);
	assert_non_null(t->buf);
	return t;
}

static void teardown_t(struct t *t)
{
	blk_queue_fini(&t->q);
	fake_env_fini(&t->f);
	free(t);
}

static int run(struct t *t)
{
	assert_int_equal(blk_queue_kick(&t->q), 0);
	fake_ring_process(&t->f.dev);
	return blk_queue_poll(&t->q, 64);
}

static const struct vv_blk_info plain = {
	.capacity = DISK_SECTORS,
	.blk_size = 512,
	.flush = true,
	.discard = true,
	.write_zeroes = true,
	.write_zeroes_may_unmap = true,
	.max_discard_sectors = 16,
	.max_write_zeroes_sectors = 8,
	.num_queues = 1,
};

static void test_rw_roundtrip(void **state)
{
	struct t *t = setup_t(64, true, plain);
	struct vv_sg sg = {t->buf_iova, 65536};

	for (int i = 0; i < 65536; i++)
		t->buf[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(blk_queue_rw(&t->q, true, 8, &sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->results[0], 0);
	assert_memory_equal(t->disk.data + 8 * 512, t->buf, 65536);
	memset(t->buf, 0, 65536);
	assert_int_equal(blk_queue_rw(&t->q, false, 8, &sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_memory_equal(t->disk.data + 8 * 512, t->buf, 65536);
	teardown_t(t);
}

static void test_split_seg_and_size_max(void **state)
{
	struct vv_blk_info info = plain;
	struct t *t;
	struct vv_sg sg[10];

	info.seg_max = 4;
	info.size_max = 4096;
	t = setup_t(64, true, info);
	for (int i = 0; i < 65536; i++)
		t->buf[i] = (uint8_t)(i ^ 0x5a);
	/* One 64 KiB buffer: 16 segments of 4 KiB, 4 per request: 4 requests, 1 callback. */
	sg[0] = (struct vv_sg){t->buf_iova, 65536};
	assert_int_equal(blk_queue_rw(&t->q, true, 0, sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->ncalls, 1);
	assert_int_equal(t->disk.requests, 4);
	assert_int_equal(t->disk.max_data_segs, 4);
	assert_memory_equal(t->disk.data, t->buf, 65536);
	/* Ten 512-byte buffers scattered: 3 requests, sectors contiguous on disk. */
	for (int i = 0; i < 10; i++)
		sg[i] = (struct vv_sg){t->buf_iova + 8192 * i, 512};
	t->disk.requests = 0;
	assert_int_equal(blk_queue_rw(&t->q, true, 100, sg, 10, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->disk.requests, 3);
	for (int i = 0; i < 10; i++)
		assert_memory_equal(t->disk.data + (100 + i) * 512, t->buf + 8192 * i, 512);
	teardown_t(t);
}

/*
 * A 3 MiB + 512 B buffer, IOVA-contiguous: at most 1 MiB of data per device request, since a
 * backend behind a virtual IOMMU may see every page as a segment (QEMU fails past 1024).
 */
static void test_split_request_bytes(void **state)
{
	struct vv_blk_info info = {.capacity = DISK_SECTORS, .blk_size = 512};
	struct t *t = setup_t(64, true, info);
	size_t len = (3u << 20) + 512;
	uint64_t iova;
	uint8_t *big = fake_mem_alloc(&t->f.mem, len, 4096, &iova);
	struct vv_sg sg = {iova, (uint32_t)len};

	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	assert_int_equal(blk_queue_rw(&t->q, true, 0, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_kick(&t->q), 0);
	fake_ring_process(&t->f.dev);
	assert_int_equal(blk_queue_poll(&t->q, 16), 1);
	assert_int_equal(t->ncalls, 1);
	assert_int_equal(t->results[0], 0);
	assert_int_equal(t->disk.requests, 4);
	assert_true(t->disk.max_data_bytes <= (1u << 20));
	assert_memory_equal(t->disk.data, big, len);
	teardown_t(t);
}

static void test_all_or_nothing(void **state)
{
	struct vv_blk_info info = plain;
	struct t *t;
	struct vv_sg sg = {0, 12 * 4096};

	info.seg_max = 4;
	info.size_max = 4096;
	t = setup_t(8, false, info); /* 8 descriptors; 3 requests of 6 need 18 */
	sg.iova = t->buf_iova;
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), -ENOSPC);
	assert_int_equal(vv_vq_free_count(t->q.vq), 8); /* nothing half-queued */
	sg.len = 4 * 4096;
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	teardown_t(t);
}

/*
 * One-buffer requests until the ring is full: they are staged, and the kick adds them; the
 * refusal (-ENOSPC) comes when the ring could not hold one more at the kick, and takes
 * nothing with it, so round after round the same number fits and all complete.
 */
static void test_one_buffer_until_full(void **state)
{
	struct vv_blk_info info = plain;

	/* 8 descriptors: two requests of 3; indirect, eight of 1 (all the command slots). */
	for (int ind = 0; ind < 2; ind++) {
		struct t *t = setup_t(8, ind, info);
		int fits = ind ? 8 : 2;

		for (int round = 0; round < 20; round++) {
			struct vv_sg sg = {t->buf_iova, 4096};
			int n = 0, ret;

			while (!(ret = blk_queue_rw(&t->q, round & 1, (uint64_t)n * 8, &sg, 1, done,
						    t)))
				n++;
			assert_int_equal(ret, -ENOSPC);
			assert_int_equal(n, fits);
			assert_int_equal(vv_vq_free_count(t->q.vq),
					 8); /* staged: not on the ring */
			assert_int_equal(blk_queue_kick(&t->q), 0);
			assert_int_equal(vv_vq_free_count(t->q.vq), 8 - fits * (ind ? 1 : 3));
			assert_int_equal(run(t), fits);
			assert_int_equal(vv_vq_free_count(t->q.vq), 8);
		}
		assert_int_equal(t->ncalls, 20 * fits);
		for (int i = 0; i < 16; i++)
			assert_int_equal(t->results[i], 0);
		teardown_t(t);
	}
}

/*
 * Staged one-buffer requests and the requests added at once share the ring: a flush or a
 * split request goes in after what was staged before it, and the room counted for staging
 * leaves out what those took, so the kick's add is never refused.
 */
static void test_staged_then_added(void **state)
{
	struct vv_blk_info info = plain;
	struct t *t;
	struct vv_sg sg = {0, 4096}, big = {0, 2 * 4096};

	info.size_max = 4096;
	info.seg_max = 1;	      /* 8 KiB: two device requests */
	t = setup_t(16, false, info); /* direct: 3 descriptors a request */
	sg.iova = big.iova = t->buf_iova;
	assert_int_equal(blk_queue_rw(&t->q, true, 0, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_rw(&t->q, true, 8, &sg, 1, done, t), 0);
	assert_int_equal(vv_vq_free_count(t->q.vq), 16);
	/* The flush adds the two staged writes first, then itself: 3 + 3 + 2. */
	assert_int_equal(blk_queue_flush(&t->q, done, t), 0);
	assert_int_equal(vv_vq_free_count(t->q.vq), 8);
	/* Two parts of 3 fit in 8; then one more one-buffer request does not. */
	assert_int_equal(blk_queue_rw(&t->q, false, 16, &big, 1, done, t), 0);
	assert_int_equal(vv_vq_free_count(t->q.vq), 2);
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), -ENOSPC);
	assert_int_equal(run(t), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(t->results[i], 0);
	/* The completions made room again; staged requests count against it. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), -ENOSPC);
	assert_int_equal(blk_queue_flush(&t->q, done, t), -ENOSPC); /* 15 taken, 1 left */
	assert_int_equal(vv_vq_free_count(t->q.vq), 1);
	assert_int_equal(run(t), 5);
	assert_int_equal(t->ncalls, 9);
	assert_int_equal(t->disk.requests, 10);
	teardown_t(t);
}

/*
 * Staged requests fail with the rest when the device is gone, and are never added after:
 * the kick then has nothing to add. A queue broken from outside refuses submissions from the
 * kick that met it on.
 */
static void test_staged_fail_all(void **state)
{
	struct t *t = setup_t(16, true, plain);
	struct vv_sg sg = {t->buf_iova, 4096};

	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_rw(&t->q, true, 8, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_fail_all(&t->q, -EIO), 2);
	assert_int_equal(t->ncalls, 2);
	assert_int_equal(t->results[0], -EIO);
	assert_int_equal(t->results[1], -EIO);
	assert_int_equal(blk_queue_kick(&t->q), 0);
	assert_int_equal(vv_vq_free_count(t->q.vq), 16);
	assert_int_equal(t->q.nfree, t->q.ncmds);
	assert_int_equal(t->q.nfree_parents, t->q.ncmds);
	/* The queue serves again. */
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->results[2], 0);

	/*
	 * Broken from outside with one request staged: a submission is still staged (the
	 * queue learns of it at the kick), the kick fails, and from then on submissions fail
	 * at once. fail_all answers the two staged ones, once each.
	 */
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	vv_vq_break(t->q.vq);
	assert_int_equal(blk_queue_rw(&t->q, false, 8, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_kick(&t->q), -EIO);
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), -EIO);
	assert_int_equal(blk_queue_flush(&t->q, done, t), -EIO);
	assert_int_equal(blk_queue_fail_all(&t->q, -EIO), 2);
	assert_int_equal(t->ncalls, 5);
	assert_int_equal(t->results[3], -EIO);
	assert_int_equal(t->results[4], -EIO);
	assert_int_equal(t->q.nfree, t->q.ncmds);
	assert_int_equal(t->q.nfree_parents, t->q.ncmds);
	teardown_t(t);
}

static void test_invalid(void **state)
{
	struct vv_blk_info info = plain;
	struct t *t = setup_t(16, true, info);
	struct vv_sg sg = {t->buf_iova, 1000};

	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), -EINVAL); /* not 512n */
	sg.len = 1024;
	assert_int_equal(blk_queue_rw(&t->q, false, DISK_SECTORS - 1, &sg, 1, done, t), -EINVAL);
	assert_int_equal(blk_queue_rw(&t->q, false, UINT64_MAX, &sg, 1, done, t), -EINVAL);
	assert_int_equal(blk_queue_range(&t->q, VIRTIO_BLK_T_DISCARD, 0, 0, false, done, t),
			 -EINVAL);
	teardown_t(t);

	info.read_only = true;
	info.discard = false;
	t = setup_t(16, true, info);
	sg = (struct vv_sg){t->buf_iova, 512};
	assert_int_equal(blk_queue_rw(&t->q, true, 0, &sg, 1, done, t), -EROFS);
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_range(&t->q, VIRTIO_BLK_T_DISCARD, 0, 8, false, done, t),
			 -EOPNOTSUPP);
	assert_int_equal(blk_queue_range(&t->q, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, false, done, t),
			 -EROFS);
	teardown_t(t);
}

/* Options a library cannot honour are refused before any device is touched. */
static void test_open_opts_refused(void **state)
{
	struct vv_blk_opts o = {.reserved[3] = 1};
	struct vv_blk *b = NULL;

	assert_int_equal(vv_blk_open_opts("0000:00:00.0", &o, &b), -EINVAL);
	o = (struct vv_blk_opts){.queue_size = 96};
	assert_int_equal(vv_blk_open_opts("0000:00:00.0", &o, &b), -EINVAL);
	assert_null(b);
}

static void test_status_to_errno(void **state)
{
	struct t *t = setup_t(16, true, plain);
	struct vv_sg sg = {t->buf_iova, 512};

	t->disk.force_status = VIRTIO_BLK_S_IOERR;
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->results[0], -EIO);
	t->disk.force_status = VIRTIO_BLK_S_UNSUPP;
	assert_int_equal(blk_queue_flush(&t->q, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->results[1], -EOPNOTSUPP);
	t->disk.force_status = 0x77; /* undefined status */
	assert_int_equal(blk_queue_flush(&t->q, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->results[2], -EIO);
	teardown_t(t);
}

static void test_write_zeroes_split_and_unmap(void **state)
{
	struct t *t = setup_t(16, true, plain);

	memset(t->disk.data, 0xee, 64 * 512);
	/* 20 sectors with max 8 per request: 3 requests, one callback, all zero. */
	assert_int_equal(blk_queue_range(&t->q, VIRTIO_BLK_T_WRITE_ZEROES, 4, 20, true, done, t),
			 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->disk.requests, 3);
	assert_int_equal(t->disk.last_wz_flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	for (int i = 0; i < 64 * 512; i++)
		assert_int_equal(t->disk.data[i], i >= 4 * 512 && i < 24 * 512 ? 0 : 0xee);
	assert_int_equal(blk_queue_range(&t->q, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, false, done, t),
			 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->disk.last_wz_flags, 0);
	teardown_t(t);
}

static void test_flush_and_id(void **state)
{
	struct vv_blk_info info = plain;
	struct t *t;
	char id[21] = {0};

	info.flush = false;
	t = setup_t(16, false, info);
	/* Without FLUSH there is no cache: the callback runs at once with success. */
	assert_int_equal(blk_queue_flush(&t->q, done, t), 0);
	assert_int_equal(t->ncalls, 1);
	assert_int_equal(t->results[0], 0);
	assert_int_equal(t->disk.requests, 0);
	assert_int_equal(blk_queue_get_id(&t->q, id, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_string_equal(id, "fake-serial-0123");
	teardown_t(t);
}

static void test_hostile_status_untouched(void **state)
{
	/* A device that completes without writing the status byte: 0xff maps to -EIO. */
	struct t *t = setup_t(16, true, plain);
	struct vv_sg sg = {t->buf_iova, 512};

	t->disk.force_status = 0xff;
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	assert_int_equal(run(t), 1);
	assert_int_equal(t->results[0], -EIO);
	teardown_t(t);
}

/*
 * A device that breaks the ring's rules (a used id it was never given) breaks the queue;
 * once the device is stopped, blk_queue_fail_all() answers every submission still in
 * flight exactly once with the error, a split one included, and every slot is free again.
 */
static void test_hostile_then_fail_all(void **state)
{
	struct vv_blk_info info = plain;
	struct t *t;
	struct vv_sg sg = {0, 4096}, one;

	info.size_max = 4096;
	t = setup_t(16, false, info);
	sg.iova = t->buf_iova;
	one = sg;
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), 0);
	sg.len = 3 * 4096; /* three device requests, one callback */
	assert_int_equal(blk_queue_rw(&t->q, true, 8, &sg, 1, done, t), 0);
	assert_int_equal(blk_queue_flush(&t->q, done, t), 0);
	t->f.dev.hostile = FAKE_BAD_ID;
	assert_int_equal(run(t), -EIO);
	assert_true(vv_vq_is_broken(t->q.vq));
	assert_int_equal(t->ncalls, 0);
	/* The poll met the broken ring: a one-buffer submission is refused at once. */
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &one, 1, done, t), -EIO);

	assert_int_equal(blk_queue_fail_all(&t->q, -EIO), 3);
	assert_int_equal(t->ncalls, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(t->results[i], -EIO);
	assert_int_equal(t->q.nfree, t->q.ncmds);
	assert_int_equal(t->q.nfree_parents, t->q.ncmds);
	/* Nothing left, and nothing new is taken: the caller hears of it at once. */
	assert_int_equal(blk_queue_fail_all(&t->q, -EIO), 0);
	assert_int_equal(blk_queue_rw(&t->q, false, 0, &sg, 1, done, t), -EIO);
	assert_int_equal(blk_queue_flush(&t->q, done, t), -EIO);
	assert_int_equal(t->ncalls, 3);
	assert_int_equal(t->q.nfree, t->q.ncmds);
	assert_int_equal(t->q.nfree_parents, t->q.ncmds);
	teardown_t(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rw_roundtrip),
		cmocka_unit_test(test_split_seg_and_size_max),
		cmocka_unit_test(test_split_request_bytes),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_one_buffer_until_full),
		cmocka_unit_test(test_staged_then_added),
		cmocka_unit_test(test_staged_fail_all),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_open_opts_refused),
		cmocka_unit_test(test_status_to_errno),
		cmocka_unit_test(test_write_zeroes_split_and_unmap),
		cmocka_unit_test(test_flush_and_id),
		cmocka_unit_test(test_hostile_status_untouched),
		cmocka_unit_test(test_hostile_then_fail_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
