// SPDX-License-Identifier: MIT
/*
 * test_device.c - a second transport behind the seam: the fake device of fake_dev.c opened
 * as a vv_device, driven by the unchanged core and blk driver. Interrupts, DMA access,
 * removal and abort, all without VFIO.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/virtio-vfio.h>

#include "core/device.h"
#include "devs/blk_dev.h"
#include "fake_blk.h"
#include "fake_dev.h"

#define F(bit) (1ULL << (bit))

struct t {
	struct fake_dev fd;
	struct fake_disk disk;
	struct vv_blk *blk;
};

static struct t *open_blk_n(bool irqs, uint64_t extra, unsigned nq, unsigned in_order_batch)
{
	struct t *t = calloc(1, sizeof(*t));
	struct virtio_blk_config c = {.capacity = htole64(FAKE_DISK_SECTORS),
				      .num_queues = htole16((uint16_t)nq)};
	struct vv_device *dev;

	assert_non_null(t);
	if (nq > 1)
		extra |= F(VIRTIO_BLK_F_MQ);
	assert_int_equal(fake_dev_init(&t->fd, VV_VIRTIO_BLK,
				       F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_RING_F_EVENT_IDX) | extra,
				       &c, sizeof(c), nq, 64, irqs),
			 0);
	t->fd.handler = fake_disk_serve;
	t->fd.handler_ctx = &t->disk;
	t->fd.in_order_batch = in_order_batch;
	assert_int_equal(device_open_transport(&t->fd.t, &dev), 0);
	assert_int_equal(blk_open_device(dev, nq, &t->blk), 0);
	return t;
}

static struct t *open_blk(bool irqs, uint64_t extra)
{
	return open_blk_n(irqs, extra, 1, 0);
}

static void close_blk(struct t *t)
{
	vv_blk_close(t->blk);
	fake_dev_fini(&t->fd);
	free(t);
}

static void check_io(struct t *t)
{
	uint8_t out[8192], in[8192];

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(vv_blk_write(t->blk, 16, out, sizeof(out)), 0);
	assert_memory_equal(t->disk.data + 16 * 512, out, sizeof(out));
	assert_int_equal(vv_blk_read(t->blk, 16, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(in));
}

/* The core, the driver and their interrupts, on a transport that is not PCI. */
static void test_blk_over_fake_transport(void **state)
{
	for (int packed = 0; packed < 2; packed++)
		for (int irqs = 0; irqs < 2; irqs++) {
			struct t *t = open_blk(irqs, packed ? F(VIRTIO_F_RING_PACKED) : 0);
			struct vv_device *dev = vv_blk_device(t->blk);
			struct vv_pci_layout l;

			assert_int_equal(vv_device_irq_mode(dev),
					 irqs ? VV_IRQ_PER_QUEUE : VV_IRQ_POLL);
			assert_int_equal(vv_blk_queue_eventfd(t->blk, 0) >= 0, irqs);
			assert_int_equal(!!(vv_device_features(dev) & F(VIRTIO_F_RING_PACKED)),
					 packed);
			assert_int_equal(vv_device_pci_layout(dev, &l), -EOPNOTSUPP);
			check_io(t);
			assert_true(t->fd.rings[0].interrupts > 0 || !irqs);
			close_blk(t);
		}
}

static void done(void *opaque, int result)
{
	*(int *)opaque = result;
}

/*
 * VIRTIO_F_IN_ORDER through the core and the blk driver: negotiated when offered, on both
 * layouts, against a device that answers three requests with one used entry; data checked
 * end to end, and many requests in flight at once.
 */
static void test_blk_in_order(void **state)
{
	for (int packed = 0; packed < 2; packed++) {
		struct t *t = open_blk_n(
			true, F(VIRTIO_F_IN_ORDER) | (packed ? F(VIRTIO_F_RING_PACKED) : 0), 1, 3);
		struct vv_device *dev = vv_blk_device(t->blk);
		struct vv_dma_buf buf;
		int results[20]; /* 3 descriptors each: 60 of the 64 */

		assert_true(vv_device_features(dev) & F(VIRTIO_F_IN_ORDER));
		assert_int_equal(t->fd.rings[0].in_order_batch, 3);
		check_io(t);
		assert_int_equal(vv_dma_alloc(dev, 20 * 4096, &buf), 0);
		for (unsigned round = 0; round < 5; round++) {
			unsigned pending = 20;

			for (unsigned i = 0; i < 20; i++) {
				results[i] = 1;
				memset((uint8_t *)buf.vaddr + 4096 * i, (int)(i + round), 4096);
				assert_int_equal(
					vv_blk_submit_rw(t->blk, 0, true, 8 * i,
							 &(struct vv_sg){buf.iova + 4096 * i, 4096},
							 1, done, &results[i]),
					0);
			}
			vv_blk_kick(t->blk, 0);
			while (pending) {
				int n = vv_blk_wait(t->blk, 0, 1000);

				assert_true(n > 0);
				pending -= (unsigned)n;
			}
			for (unsigned i = 0; i < 20; i++) {
				assert_int_equal(results[i], 0);
				assert_int_equal(t->disk.data[4096 * i + 7], (uint8_t)(i + round));
			}
		}
		assert_false(vv_vq_is_broken(vv_device_queue(dev, 0)));
		vv_dma_free(dev, &buf);
		close_blk(t);
	}
}

/* One request on queue @q, waited for; returns its result. */
static int one_request(struct t *t, unsigned q, uint64_t iova)
{
	int result = 1;

	assert_int_equal(vv_blk_submit_rw(t->blk, q, false, 0, &(struct vv_sg){iova, 4096}, 1, done,
					  &result),
			 0);
	vv_blk_kick(t->blk, q);
	for (int i = 0; i < 500 && result == 1; i++)
		vv_blk_wait(t->blk, q, 10);
	return result;
}

/*
 * VIRTIO_F_RING_RESET: a device that breaks queue 1's rules gets that queue reset alone. Its
 * request fails with EIO, the queue then serves again, queue 0 never stops and the device is
 * not aborted. Without RING_RESET, or when the device keeps breaking the queue, the device
 * is given up on as before.
 */
static void test_blk_queue_reset(void **state)
{
	for (int packed = 0; packed < 2; packed++) {
		struct t *t = open_blk_n(
			true, F(VIRTIO_F_RING_RESET) | (packed ? F(VIRTIO_F_RING_PACKED) : 0), 2,
			0);
		struct vv_device *dev = vv_blk_device(t->blk);
		struct vv_dma_buf buf;

		assert_true(vv_device_features(dev) & F(VIRTIO_F_RING_RESET));
		assert_int_equal(vv_dma_alloc(dev, 4096, &buf), 0);
		assert_int_equal(one_request(t, 1, buf.iova), 0);
		for (unsigned round = 1; round <= 8; round++) {
			t->fd.rings[1].hostile = FAKE_BAD_ID;
			assert_int_equal(one_request(t, 1, buf.iova), -EIO);
			assert_int_equal(t->fd.queue_resets[1], round);
			assert_false(vv_device_aborted(dev));
			/* The reset queue serves again, the other one never stopped. */
			assert_int_equal(one_request(t, 1, buf.iova), 0);
			check_io(t);
		}
		assert_int_equal(t->fd.queue_resets[0], 0);
		/* A ninth time: given up on. */
		t->fd.rings[1].hostile = FAKE_BAD_ID;
		assert_int_equal(one_request(t, 1, buf.iova), -EIO);
		assert_true(vv_device_aborted(dev));
		assert_int_equal(t->fd.queue_resets[1], 8);
		vv_dma_free(dev, &buf);
		close_blk(t);
	}
	/* Not offered: the whole device is aborted, as ever. */
	{
		struct t *t = open_blk_n(true, 0, 2, 0);
		struct vv_device *dev = vv_blk_device(t->blk);
		struct vv_dma_buf buf;

		assert_int_equal(vv_device_queue_reset(dev, 1, NULL, NULL), -EOPNOTSUPP);
		assert_int_equal(vv_dma_alloc(dev, 4096, &buf), 0);
		t->fd.rings[1].hostile = FAKE_BAD_ID;
		assert_int_equal(one_request(t, 1, buf.iova), -EIO);
		assert_true(vv_device_aborted(dev));
		assert_int_equal(t->fd.queue_resets[1], 0);
		vv_dma_free(dev, &buf);
		close_blk(t);
	}
}

/* vv_device_queue_reset() hands back every token in flight and leaves a fresh queue. */
static void count_unused(void *ctx, void *token)
{
	(*(unsigned *)ctx)++;
}

static void test_queue_reset_raw(void **state)
{
	for (int v = 0; v < 4; v++) {
		bool packed = v & 1, in_order = v & 2;
		struct t *t =
			open_blk_n(false,
				   F(VIRTIO_F_RING_RESET) | (packed ? F(VIRTIO_F_RING_PACKED) : 0) |
					   (in_order ? F(VIRTIO_F_IN_ORDER) : 0),
				   2, 3);
		struct vv_device *dev = vv_blk_device(t->blk);
		struct vv_vq *vq = vv_device_queue(dev, 1);
		struct vv_dma_buf buf;
		unsigned unused = 0;
		int tags[3];

		assert_int_equal(vv_device_queue_reset(dev, 2, NULL, NULL), -EINVAL);
		assert_int_equal(vv_dma_alloc(dev, 4096, &buf), 0);
		/* Some laps first, so that a ring the device did not reset would show. */
		for (int i = 0; i < 70; i++)
			assert_int_equal(one_request(t, 1, buf.iova), 0);
		t->fd.rings[1].stalled = true; /* holds what it gets */
		for (int i = 0; i < 3; i++)
			assert_int_equal(
				vv_vq_add(vq, &(struct vv_sg){buf.iova, 512}, 0, 1, &tags[i]), 0);
		vv_vq_kick(vq);
		vv_vq_break(vq);
		assert_int_equal(vv_device_queue_reset(dev, 1, count_unused, &unused), 0);
		assert_int_equal(unused, 3);
		assert_false(vv_vq_is_broken(vq));
		/* IN_ORDER keeps one descriptor free (QEMU 10.0, see vq_max_free()). */
		assert_int_equal(vv_vq_free_count(vq), vv_vq_size(vq) - in_order);
		assert_false(t->fd.rings[1].stalled); /* the device side started afresh too */
		/* The fresh queue serves, from its first entry on. */
		for (int i = 0; i < 70; i++)
			assert_int_equal(one_request(t, 1, buf.iova), 0);
		check_io(t);
		vv_dma_free(dev, &buf);
		close_blk(t);
	}
}

/*
 * What the device may do with a mapping is what the caller asked: a buffer mapped for the
 * device to read is out of its reach for writing. The request that tries is refused by the
 * IOMMU and never completes; abort fails it, and the memory is untouched.
 */
static void test_read_only_mapping(void **state)
{
	struct t *t = open_blk(true, 0);
	struct vv_device *dev = vv_blk_device(t->blk);
	uint8_t *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vv_dma_buf ro;
	int result = 1;

	assert_true(mem != MAP_FAILED);
	memset(mem, 0xab, 4096);
	memset(t->disk.data, 0x11, 4096);
	assert_int_equal(vv_dma_map(dev, mem, 4096, 0, &ro), -EINVAL);
	assert_int_equal(vv_dma_map(dev, mem, 4096, VV_DMA_DEVICE_READ, &ro), 0);
	/* The device may read it: a write request from it works. */
	assert_int_equal(vv_blk_submit_rw(t->blk, 0, true, 0, &(struct vv_sg){ro.iova, 4096}, 1,
					  done, &result),
			 0);
	vv_blk_kick(t->blk, 0);
	while (result == 1)
		vv_blk_wait(t->blk, 0, 100);
	assert_int_equal(result, 0);
	assert_int_equal(t->disk.data[0], 0xab);
	/* It may not write it. */
	result = 1;
	assert_int_equal(vv_blk_submit_rw(t->blk, 0, false, 8, &(struct vv_sg){ro.iova, 4096}, 1,
					  done, &result),
			 0);
	vv_blk_kick(t->blk, 0);
	for (int i = 0; i < 50 && !t->fd.iommu.faults; i++)
		usleep(2000);
	assert_true(t->fd.iommu.faults > 0);
	assert_int_equal(vv_blk_wait(t->blk, 0, 20), 0);
	assert_int_equal(result, 1);
	vv_device_abort(dev);
	vv_blk_wait(t->blk, 0, 0);
	assert_int_equal(result, -EIO);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(mem[i], 0xab);
	vv_dma_free(dev, &ro);
	munmap(mem, 4096);
	close_blk(t);
}

/* The platform's removal notice reaches the driver's waiters; abort ends what is in flight. */
static void test_removal(void **state)
{
	struct t *t = open_blk(true, 0);
	struct vv_device *dev = vv_blk_device(t->blk);
	struct pollfd p = {.fd = vv_device_removal_eventfd(dev), .events = POLLIN};

	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 0), 0);
	fake_dev_remove(&t->fd);
	assert_int_equal(poll(&p, 1, 0), 1);
	/* vv_blk_wait() watches the notice by itself: it aborts the device. */
	vv_blk_wait(t->blk, 0, 100);
	assert_true(vv_device_aborted(dev));
	assert_true(t->fd.iommu.stopped);
	assert_int_equal(vv_blk_read(t->blk, 0, (uint8_t[512]){0}, 512), -EIO);
	close_blk(t);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Nothing in flight: in every mode a wait of 0 only looks, and a timed wait ends after about
 * its timeout (the deadline is on the coarse clock: within a tick, at most 10 ms here).
 */
static void test_wait_timeouts(void **state)
{
	static const enum vv_blk_mode modes[] = {VV_BLK_MODE_POLL, VV_BLK_MODE_HYBRID,
						 VV_BLK_MODE_IRQ};
	struct t *t = open_blk(true, 0);

	for (unsigned i = 0; i < 3; i++) {
		uint64_t t0;

		assert_int_equal(vv_blk_set_mode(t->blk, 0, modes[i], 50), 0);
		t0 = mono_ms();
		assert_int_equal(vv_blk_wait(t->blk, 0, 0), 0);
		assert_true(mono_ms() - t0 < 50);
		t0 = mono_ms();
		assert_int_equal(vv_blk_wait(t->blk, 0, 60), 0);
		assert_true(mono_ms() - t0 >= 60 - 10);
		assert_true(mono_ms() - t0 < 2000);
	}
	close_blk(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_timeouts),
		cmocka_unit_test(test_blk_over_fake_transport),
		cmocka_unit_test(test_blk_in_order),
		cmocka_unit_test(test_blk_queue_reset),
		cmocka_unit_test(test_queue_reset_raw),
		cmocka_unit_test(test_read_only_mapping),
		cmocka_unit_test(test_removal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
