// SPDX-License-Identifier: MIT
/*
 * blkio.c - exercises the virtio-blk driver's public API in the VM tests:
 *   vv-blkio BDF info | id | flush
 *   vv-blkio BDF read SECTOR COUNT      (to stdout)    | write SECTOR COUNT (from stdin)
 *   vv-blkio BDF zero SECTOR COUNT [unmap]             | discard SECTOR COUNT
 *   vv-blkio BDF stress SECTOR COUNT    async writes then reads of 4 KiB blocks on every
 *                                       queue at once, all data verified
 *   vv-blkio BDF fault                  a malformed request ahead of 8 good ones: the device
 *                                       sets DEVICE_NEEDS_RESET, and every request fails
 *                                       with EIO, each callback once
 *   vv-blkio BDF readonly               memory mapped for the device to read only: a write
 *                                       from it works, a read into it cannot change it
 *   vv-blkio BDF ringreset              VIRTIO_F_RING_RESET: queue 1 broken while queue 0
 *                                       has requests on the device; queue 1 is reset
 *                                       alone, its requests fail with EIO, it serves again,
 *                                       queue 0's requests complete with their data
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include <virtio-vfio/virtio-vfio.h>

static void log_stderr(void *opaque, enum vv_log_level level, const char *msg)
{
	fprintf(stderr, "vv-blkio: %s\n", msg);
}

struct wait {
	bool done;
	int result;
};

static void wait_done(void *opaque, int result)
{
	struct wait *w = opaque;

	w->done = true;
	w->result = result;
}

struct stress {
	unsigned outstanding, errors;
};

static void stress_done(void *opaque, int result)
{
	struct stress *s = opaque;

	s->outstanding--;
	s->errors += result != 0;
}

/* Fills block @i with bytes only it has, so misplaced data is caught. */
static void pattern(uint8_t *p, uint64_t i)
{
	for (unsigned b = 0; b < 4096; b += 8)
		memcpy(p + b, &(uint64_t){i * 0x9e3779b97f4a7c15ULL + b}, 8);
}

static int stress(struct vv_blk *blk, uint64_t sector, uint64_t count)
{
	unsigned nq = vv_blk_num_queues(blk);
	uint64_t blocks = count / 8;
	struct vv_dma_buf buf;
	struct stress s = {0};
	int ret = vv_dma_alloc(vv_blk_device(blk), blocks * 4096, &buf);

	if (ret)
		return ret;
	for (int pass = 0; pass < 2 && !ret; pass++) {
		bool write = pass == 0;
		uint64_t next = 0;

		if (!write)
			memset(buf.vaddr, 0, blocks * 4096);
		while ((next < blocks || s.outstanding) && !ret) {
			for (unsigned q = 0; q < nq && next < blocks; q++) {
				struct vv_sg sg = {buf.iova + next * 4096, 4096};

				if (write)
					pattern((uint8_t *)buf.vaddr + next * 4096, next);
				ret = vv_blk_submit_rw(blk, q, write, sector + next * 8, &sg, 1,
						       stress_done, &s);
				if (ret == -ENOSPC) {
					ret = 0;
					continue;
				}
				if (ret)
					break;
				s.outstanding++;
				next++;
			}
			for (unsigned q = 0; q < nq && !ret; q++) {
				ret = vv_blk_kick(blk, q);
				if (!ret) {
					int n = vv_blk_poll(blk, q, 256);

					ret = n < 0 ? n : 0;
				}
			}
		}
	}
	for (uint64_t i = 0; !ret && i < blocks; i++) {
		uint8_t want[4096];

		pattern(want, i);
		if (memcmp(want, (uint8_t *)buf.vaddr + i * 4096, 4096)) {
			fprintf(stderr, "vv-blkio: block %" PRIu64 " differs\n", i);
			ret = -EIO;
		}
	}
	if (!ret && s.errors)
		ret = -EIO;
	fprintf(stderr, "vv-blkio: stress %" PRIu64 " blocks on %u queues: %s\n", blocks, nq,
		ret ? strerror(-ret) : "ok");
	vv_dma_free(vv_blk_device(blk), &buf);
	return ret;
}

struct fault {
	unsigned calls, eio;
};

static void fault_done(void *opaque, int result)
{
	struct fault *f = opaque;

	f->calls++;
	f->eio += result == -EIO;
}

/*
 * A request whose header is 8 bytes instead of 16 breaks the device for QEMU ("outhdr too
 * short"): it sets DEVICE_NEEDS_RESET, raises a config interrupt and leaves the 8 good
 * requests behind it unanswered. The driver must see the bit on that interrupt and fail all
 * of them. The broken request goes straight on the ring, past the blk layer, which would
 * never build it; its token is never handed back, as QEMU never completes it.
 */
static int fault(struct vv_blk *blk)
{
	struct vv_device *dev = vv_blk_device(blk);
	struct pollfd p = {.fd = vv_device_config_eventfd(dev), .events = POLLIN};
	struct fault f = {0};
	struct vv_dma_buf buf;
	bool changed;
	int ret;

	if (p.fd < 0)
		return -EOPNOTSUPP;
	ret = vv_dma_alloc(dev, 9 * 4096, &buf);
	if (ret)
		return ret;
	struct vv_sg bad[2] = {{buf.iova + 8 * 4096, 8}, {buf.iova + 8 * 4096 + 512, 1}};

	memset((uint8_t *)buf.vaddr + 8 * 4096, 0, 8);
	ret = vv_vq_add(vv_device_queue(dev, 0), bad, 1, 1, &f);
	for (unsigned i = 0; i < 8 && !ret; i++) {
		struct vv_sg sg = {buf.iova + i * 4096, 4096};

		ret = vv_blk_submit_rw(blk, 0, false, i * 8, &sg, 1, fault_done, &f);
	}
	if (!ret)
		ret = vv_blk_kick(blk, 0);
	if (!ret && poll(&p, 1, 10000) != 1) {
		fprintf(stderr, "vv-blkio: no config interrupt within 10 s\n");
		ret = -ETIMEDOUT;
	}
	if (!ret) {
		ret = vv_blk_refresh(blk, &changed);
		fprintf(stderr, "vv-blkio: refresh after the interrupt: %s, aborted %d\n",
			strerror(-ret), vv_device_aborted(dev));
		ret = ret == -EIO && vv_device_aborted(dev) ? 0 : -EPROTO;
	}
	if (!ret && vv_blk_poll(blk, 0, 64) != 8)
		ret = -EPROTO;
	if (!ret && (vv_blk_poll(blk, 0, 64) != -EIO || f.calls != 8 || f.eio != 8))
		ret = -EPROTO;
	fprintf(stderr, "vv-blkio: fault: %u callbacks, %u with EIO\n", f.calls, f.eio);
	vv_dma_free(dev, &buf);
	return ret;
}

/*
 * The IOMMU enforces vv_dma_map()'s access: the device may read a VV_DMA_DEVICE_READ page
 * (a write from it reaches the disk) but not write it. A read of other bytes into it leaves
 * it unchanged: QEMU's intel-iommu refuses the write, and QEMU drops it (its bounce buffer
 * writes nowhere) and may still call the request done; what the device says is its own
 * business, the memory is ours.
 */
static int readonly(struct vv_blk *blk)
{
	struct vv_device *dev = vv_blk_device(blk);
	struct pollfd p = {.fd = vv_device_config_eventfd(dev), .events = POLLIN};
	uint8_t *page =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vv_dma_buf ro;
	struct wait w = {0};
	int ret;

	if (page == MAP_FAILED)
		return -ENOMEM;
	memset(page, 0xab, 4096);
	ret = vv_dma_map(dev, page, 4096, VV_DMA_DEVICE_READ, &ro);
	if (!ret)
		ret = vv_blk_submit_rw(blk, 0, true, 0, &(struct vv_sg){ro.iova, 4096}, 1,
				       wait_done, &w);
	if (!ret)
		ret = vv_blk_kick(blk, 0);
	for (int i = 0; !ret && !w.done && i < 30; i++)
		ret = vv_blk_wait(blk, 0, 1000) < 0 ? -EIO : 0;
	if (!ret)
		ret = w.done ? w.result : -ETIMEDOUT;
	/* Other bytes at sector 8, for the read below: a write that got through would show. */
	if (!ret)
		ret = vv_blk_write(blk, 8, (uint8_t[4096]){[0 ... 4095] = 0x5c}, 4096);
	fprintf(stderr, "vv-blkio: readonly: a write from the page: %s\n", strerror(-ret));
	if (ret)
		goto out;
	w = (struct wait){0};
	ret = vv_blk_submit_rw(blk, 0, false, 8, &(struct vv_sg){ro.iova, 4096}, 1, wait_done, &w);
	if (!ret)
		ret = vv_blk_kick(blk, 0);
	/* The device's answer: a failed request, or giving up on itself (config interrupt). */
	for (int i = 0; !ret && !w.done && i < 100; i++) {
		if (vv_device_needs_reset(dev))
			break;
		if (p.fd >= 0)
			poll(&p, 1, 100);
		vv_blk_poll(blk, 0, 8);
	}
	fprintf(stderr, "vv-blkio: readonly: a read into the page: %s, needs reset %d\n",
		w.done ? strerror(-w.result) : "not completed", vv_device_needs_reset(dev));
	for (int i = 0; !ret && i < 4096; i++)
		if (page[i] != 0xab)
			ret = -EPROTO; /* the device wrote where it may not */
out:
	if (!w.done)
		vv_device_abort(dev); /* before the page goes, with a request still on it */
	vv_dma_free(dev, &ro);
	munmap(page, 4096);
	return ret;
}

/* Submits @n 4 KiB requests on @q from block @first of @buf (sector = block * 8). */
static int submit_blocks(struct vv_blk *blk, unsigned q, bool write, struct vv_dma_buf *buf,
			 unsigned first, unsigned n, struct stress *s)
{
	for (unsigned i = first; i < first + n; i++) {
		struct vv_sg sg = {buf->iova + (uint64_t)i * 4096, 4096};
		int ret;

		if (write)
			pattern((uint8_t *)buf->vaddr + (size_t)i * 4096, i);
		else
			memset((uint8_t *)buf->vaddr + (size_t)i * 4096, 0, 4096);
		ret = vv_blk_submit_rw(blk, q, write, (uint64_t)i * 8, &sg, 1, stress_done, s);
		if (ret)
			return ret;
		s->outstanding++;
	}
	return vv_blk_kick(blk, q);
}

static int drain(struct vv_blk *blk, unsigned q, struct stress *s)
{
	for (int i = 0; s->outstanding && i < 3000; i++) {
		int n = vv_blk_wait(blk, q, 10);

		if (n < 0)
			return n;
	}
	return s->outstanding ? -ETIMEDOUT : 0;
}

static int check_blocks(struct vv_dma_buf *buf, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		uint8_t want[4096];

		pattern(want, i);
		if (memcmp(want, (uint8_t *)buf->vaddr + (size_t)i * 4096, 4096)) {
			fprintf(stderr, "vv-blkio: block %u differs\n", i);
			return -EIO;
		}
	}
	return 0;
}

/*
 * VIRTIO_F_RING_RESET. Blocks 0-63 go through queue 1 and 64-127 through queue 0 first, so the
 * device's queue 1 is far from its start: a queue the device did not reset would see our
 * fresh ring's index go backwards and fail. Then 32 reads wait on queue 0 (kicked, not
 * reaped) while queue 1, with 8 reads answered on it but not reaped, is broken the way a
 * protocol violation breaks it (vv_vq_break(): what the driver does when it finds one). The
 * next vv_blk_poll() on queue 1 resets it alone: those 8 fail with EIO. Queue 1 then
 * writes and reads again (several laps of its ring), and queue 0's 32 reads complete with
 * their data: the other queue never noticed. The device was never aborted.
 */
static int ringreset(struct vv_blk *blk)
{
	struct vv_device *dev = vv_blk_device(blk);
	struct stress s0 = {0}, s1 = {0};
	struct vv_dma_buf buf;
	int ret, n;

	if (vv_blk_num_queues(blk) < 2)
		return -EOPNOTSUPP;
	if (!(vv_device_features(dev) & (1ULL << 40))) {
		fprintf(stderr, "vv-blkio: ringreset: RING_RESET not negotiated\n");
		return -EOPNOTSUPP;
	}
	ret = vv_dma_alloc(dev, 128 * 4096, &buf);
	if (ret)
		return ret;
	ret = submit_blocks(blk, 1, true, &buf, 0, 64, &s1);
	if (!ret)
		ret = drain(blk, 1, &s1);
	if (!ret)
		ret = submit_blocks(blk, 0, true, &buf, 64, 64, &s0);
	if (!ret)
		ret = drain(blk, 0, &s0);
	if (ret || s0.errors || s1.errors)
		goto out;
	/* Queue 0: 32 reads on the device. Queue 1: 8 reads the device answers, unreaped. */
	ret = submit_blocks(blk, 0, false, &buf, 64, 32, &s0);
	if (!ret)
		ret = submit_blocks(blk, 1, false, &buf, 0, 8, &s1);
	if (ret)
		goto out;
	usleep(500000); /* the device answers the 8: none is left inside it at the reset */
	vv_vq_break(vv_device_queue(dev, 1));
	n = vv_blk_poll(blk, 1, 64);
	fprintf(stderr, "vv-blkio: ringreset: poll on the broken queue: %d, %u EIO, aborted %d\n",
		n, s1.errors, vv_device_aborted(dev));
	if (n != 8 || s1.errors != 8 || s1.outstanding || vv_device_aborted(dev) ||
	    vv_vq_is_broken(vv_device_queue(dev, 1))) {
		ret = -EPROTO;
		goto out;
	}
	s1.errors = 0;
	/* Queue 1 again, four laps of 64 writes and reads over its ring of the device's size. */
	for (unsigned lap = 0; lap < 4 && !ret; lap++) {
		ret = submit_blocks(blk, 1, true, &buf, 0, 32, &s1);
		if (!ret)
			ret = drain(blk, 1, &s1);
		if (!ret)
			ret = submit_blocks(blk, 1, false, &buf, 0, 32, &s1);
		if (!ret)
			ret = drain(blk, 1, &s1);
		if (!ret)
			ret = s1.errors ? -EIO : check_blocks(&buf, 0, 32);
	}
	fprintf(stderr, "vv-blkio: ringreset: queue 1 after its reset: %s\n", strerror(-ret));
	if (ret)
		goto out;
	ret = drain(blk, 0, &s0);
	if (!ret)
		ret = s0.errors ? -EIO : check_blocks(&buf, 64, 32);
	fprintf(stderr, "vv-blkio: ringreset: queue 0's reads across the reset: %s\n",
		strerror(-ret));
out:
	vv_dma_free(dev, &buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct vv_blk *blk;
	const struct vv_blk_info *in;
	uint64_t sector = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	uint64_t count = argc > 4 ? strtoull(argv[4], NULL, 0) : 0;
	const char *cmd = argc > 2 ? argv[2] : "";
	uint8_t *data = NULL;
	int ret;

	if (argc < 3) {
		fprintf(stderr,
			"usage: vv-blkio BDF info|id|flush|read|write|zero|discard|stress|fault|"
			"readonly|ringreset ...\n");
		return 2;
	}
	vv_set_log_fn(log_stderr, NULL, VV_LOG_INFO);
	ret = vv_blk_open(argv[1], 0, &blk);
	if (ret)
		return 1;
	in = vv_blk_get_info(blk);
	if (!strcmp(cmd, "info")) {
		printf("capacity=%" PRIu64 " blk_size=%u queues=%u ro=%d flush=%d writeback=%d "
		       "discard=%d write_zeroes=%d seg_max=%u packed=%d\n",
		       in->capacity, in->blk_size, vv_blk_num_queues(blk), in->read_only, in->flush,
		       in->writeback, in->discard, in->write_zeroes, in->seg_max,
		       !!(vv_device_features(vv_blk_device(blk)) & (1ULL << VIRTIO_F_RING_PACKED)));
	} else if (!strcmp(cmd, "id")) {
		char id[21];

		ret = vv_blk_get_id(blk, id);
		if (!ret)
			printf("%s\n", id);
	} else if (!strcmp(cmd, "flush")) {
		ret = vv_blk_flush(blk);
	} else if (!strcmp(cmd, "read") || !strcmp(cmd, "write")) {
		data = malloc(count * 512);
		if (!data)
			ret = -ENOMEM;
		else if (!strcmp(cmd, "read")) {
			ret = vv_blk_read(blk, sector, data, count * 512);
			if (!ret && fwrite(data, 512, count, stdout) != count)
				ret = -EIO;
		} else if (fread(data, 512, count, stdin) != count) {
			ret = -EINVAL;
		} else {
			ret = vv_blk_write(blk, sector, data, count * 512);
		}
	} else if (!strcmp(cmd, "zero") || !strcmp(cmd, "discard")) {
		struct wait w = {0};
		bool zero = !strcmp(cmd, "zero");

		ret = zero ? vv_blk_submit_write_zeroes(blk, 0, sector, count,
							argc > 5 && !strcmp(argv[5], "unmap"),
							wait_done, &w)
			   : vv_blk_submit_discard(blk, 0, sector, count, wait_done, &w);
		if (!ret)
			ret = vv_blk_kick(blk, 0);
		while (!ret && !w.done) {
			int n = vv_blk_poll(blk, 0, 1);

			ret = n < 0 ? n : 0;
		}
		if (!ret)
			ret = w.result;
	} else if (!strcmp(cmd, "stress")) {
		ret = stress(blk, sector, count);
	} else if (!strcmp(cmd, "fault")) {
		ret = fault(blk);
	} else if (!strcmp(cmd, "readonly")) {
		ret = readonly(blk);
	} else if (!strcmp(cmd, "ringreset")) {
		ret = ringreset(blk);
	} else {
		fprintf(stderr, "vv-blkio: unknown command %s\n", cmd);
		ret = -EINVAL;
	}
	if (ret)
		fprintf(stderr, "vv-blkio: %s: %s\n", cmd, strerror(-ret));
	free(data);
	vv_blk_close(blk);
	return ret ? 1 : 0;
}
