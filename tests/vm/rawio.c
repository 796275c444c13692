// SPDX-License-Identifier: MIT
/*
 * rawio.c - raw virtio-blk reads and writes through libvirtio-vfio's public API, for the VM
 * tests: `vv-rawio [--poll] [--plain] BDF read|write LBA COUNT` moves COUNT 512-byte sectors
 * between the disk and stdout/stdin. Completions come by MSI-X eventfd unless --poll.
 * --all-queues sets up every queue the device has (I/O still goes to queue 0), which is
 * how a device with fewer MSI-X vectors than queues ends up sharing one.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/virtio-vfio.h>

#define SECTOR 512
#define SEG    4096 /* one descriptor per 4 KiB, so that requests are real chains */

static void log_stderr(void *opaque, enum vv_log_level level, const char *msg)
{
	fprintf(stderr, "vv-rawio: %s\n", msg);
}

static int wait_one(struct vv_device *dev, struct vv_vq *vq, bool use_poll, void **token,
		    uint32_t *len)
{
	int efd = vv_device_queue_eventfd(dev, 0);
	time_t deadline = time(NULL) + 10;
	int ret;

	for (;;) {
		ret = vv_vq_get(vq, token, len);
		if (ret)
			return ret;
		if (time(NULL) > deadline)
			return -ETIMEDOUT;
		if (use_poll || efd < 0)
			continue;
		/* Re-arm, then re-check: a completion between get and enable would be lost. */
		if (!vv_vq_enable_cb(vq))
			continue;
		struct pollfd p = {.fd = efd, .events = POLLIN};
		uint64_t cnt;

		if (poll(&p, 1, 1000) > 0 && read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			return -EIO;
		vv_vq_disable_cb(vq);
	}
}

int main(int argc, char **argv)
{
	bool use_poll = false, plain = false, all_queues = false, write_op;
	struct vv_device *dev;
	struct vv_dma_buf buf;
	struct virtio_blk_outhdr *hdr;
	struct vv_sg *sg;
	uint64_t lba, features;
	unsigned count, nsg = 0;
	uint8_t *status, *data;
	void *token;
	uint32_t len;
	int ret, a = 1;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--poll"))
			use_poll = true;
		else if (!strcmp(argv[a], "--plain"))
			plain = true;
		else if (!strcmp(argv[a], "--all-queues"))
			all_queues = true;
	}
	if (argc - a != 4 || (strcmp(argv[a + 1], "read") && strcmp(argv[a + 1], "write"))) {
		fprintf(stderr,
			"usage: vv-rawio [--poll] [--plain] [--all-queues] BDF read|write LBA COUNT\n");
		return 2;
	}
	write_op = !strcmp(argv[a + 1], "write");
	lba = strtoull(argv[a + 2], NULL, 0);
	count = (unsigned)strtoul(argv[a + 3], NULL, 0);
	if (!count || count > 2048)
		return 2;
	vv_set_log_fn(log_stderr, NULL, VV_LOG_INFO);

	ret = vv_device_open(argv[a], &dev);
	if (ret)
		return 1;
	/* Ring features on by default, so the interesting paths run: INDIRECT_DESC, EVENT_IDX. */
	ret = vv_device_negotiate(
		dev,
		plain ? 0 : (1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_RING_F_EVENT_IDX),
		&features);
	if (!ret)
		ret = vv_device_setup_queues(dev, all_queues ? vv_device_num_queues(dev) : 1, NULL);
	if (!ret)
		ret = vv_device_start(dev);
	if (!ret)
		ret = vv_dma_alloc(dev, 4096 + (size_t)count * SECTOR, &buf);
	if (ret)
		goto out;
	fprintf(stderr, "vv-rawio: features 0x%llx, irq mode %d, queue size %u\n",
		(unsigned long long)features, vv_device_irq_mode(dev),
		vv_vq_size(vv_device_queue(dev, 0)));

	hdr = buf.vaddr;
	status = (uint8_t *)buf.vaddr + 64;
	data = (uint8_t *)buf.vaddr + 4096;
	hdr->type = htole32(write_op ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
	hdr->sector = htole64(lba);
	*status = 0xff;
	if (write_op && fread(data, SECTOR, count, stdin) != count) {
		fprintf(stderr, "vv-rawio: short input\n");
		ret = -EINVAL;
		goto out;
	}
	sg = calloc(2 + (count * SECTOR + SEG - 1) / SEG, sizeof(*sg));
	if (!sg) {
		ret = -ENOMEM;
		goto out;
	}
	sg[nsg++] = (struct vv_sg){buf.iova, sizeof(*hdr)};
	for (size_t off = 0; off < (size_t)count * SECTOR; off += SEG) {
		size_t l = (size_t)count * SECTOR - off;

		sg[nsg++] = (struct vv_sg){buf.iova + 4096 + off, (uint32_t)(l < SEG ? l : SEG)};
	}
	sg[nsg++] = (struct vv_sg){buf.iova + 64, 1};
	ret = vv_vq_add(vv_device_queue(dev, 0), sg, write_op ? nsg - 1 : 1, write_op ? 1 : nsg - 1,
			hdr);
	free(sg);
	if (!ret)
		ret = vv_vq_kick(vv_device_queue(dev, 0));
	if (!ret)
		ret = wait_one(dev, vv_device_queue(dev, 0), use_poll, &token, &len);
	if (ret == 1)
		ret = token == hdr && *status == VIRTIO_BLK_S_OK ? 0 : -EIO;
	if (ret) {
		fprintf(stderr, "vv-rawio: request failed: %s (status %u)\n", strerror(-ret),
			*status);
		goto out;
	}
	fprintf(stderr, "vv-rawio: %s %u sectors at %llu: ok, used len %u\n", argv[a + 1], count,
		(unsigned long long)lba, len);
	if (!write_op && fwrite(data, SECTOR, count, stdout) != count)
		ret = -EIO;
out:
	vv_device_close(dev);
	return ret ? 1 : 0;
}
