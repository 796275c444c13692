// SPDX-License-Identifier: MIT
/* blk.c - vv_blk: opens a virtio-blk device, reads its config, and offers async and sync I/O. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include <virtio-vfio/blk.h>
#include <virtio-vfio/device.h>
#include <virtio-vfio/ids.h>
#include <virtio-vfio/mem.h>

#include "devs/blk_cfg.h"
#include "devs/blk_dev.h"
#include "devs/blk_queue.h"
#include "util/compiler.h"
#include "util/log.h"
#include "util/time.h"

#define F(bit) (1ULL << (bit))
/* Every device feature this driver understands and honours (section 5.2.3). */
#define BLK_FEATURES                                                                     \
	(F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) | \
	 F(VIRTIO_BLK_F_TOPOLOGY) | F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_CONFIG_WCE) | \
	 F(VIRTIO_BLK_F_RO) | F(VIRTIO_BLK_F_MQ) | F(VIRTIO_BLK_F_DISCARD) |             \
	 F(VIRTIO_BLK_F_WRITE_ZEROES) | VV_RING_FEATURES)

#define BOUNCE_SIZE    (1u << 20)
#define SYNC_TIMEOUT_S 30

/* How vv_blk_wait() waits on one queue. */
struct blk_waiter {
	enum vv_blk_mode mode;
	uint64_t spin_ns; /* hybrid: how long to poll before sleeping */
	bool cb_on;	  /* device notifications enabled (our shadow) */
	unsigned resets;  /* times this queue was reset alone after breaking */
};

struct vv_blk {
	struct vv_device *dev;
	struct vv_blk_info info;
	unsigned nq;
	struct blk_queue *queues;
	struct blk_waiter *waiters;
	struct vv_dma_buf cmd_mem;
	struct vv_dma_buf bounce;
};

/* Section 5.2.4; checked by blk_parse_config(), since the device is untrusted. */
static int read_config(struct vv_blk *b, uint64_t features)
{
	struct virtio_blk_config c;
	size_t n = vv_device_config_size(b->dev);
	int ret;

	if (n > sizeof(c))
		n = sizeof(c);
	ret = vv_device_config_read(b->dev, 0, &c, n);
	if (!ret)
		ret = blk_parse_config(features, &c, n, &b->info);
	if (ret)
		log_err("%s: unusable virtio-blk configuration", vv_device_bdf(b->dev));
	return ret;
}

static int open_device(struct vv_device *dev, unsigned num_queues, unsigned queue_size,
		       struct vv_blk **ret_blk);

VV_EXPORT int vv_blk_open(const char *bdf, unsigned num_queues, struct vv_blk **ret_blk)
{
	struct vv_device *dev;
	int ret = vv_device_open(bdf, &dev);

	return ret ? ret : blk_open_device(dev, num_queues, ret_blk);
}

VV_EXPORT int vv_blk_open_opts(const char *bdf, const struct vv_blk_opts *opts,
			       struct vv_blk **ret_blk)
{
	static const struct vv_blk_opts defaults;
	struct vv_device *dev;
	int ret;

	if (!opts)
		opts = &defaults;
	/* Checked before the device is touched: a refusal changes nothing. */
	for (size_t i = 0; i < ARRAY_SIZE(opts->reserved); i++)
		if (opts->reserved[i])
			return -EINVAL;
	if (opts->queue_size & (opts->queue_size - 1))
		return -EINVAL;
	ret = vv_device_open(bdf, &dev);
	return ret ? ret : open_device(dev, opts->num_queues, opts->queue_size, ret_blk);
}

int blk_open_device(struct vv_device *dev, unsigned num_queues, struct vv_blk **ret_blk)
{
	return open_device(dev, num_queues, 0, ret_blk);
}

/* Takes @dev: on failure it is closed. */
static int open_device(struct vv_device *dev, unsigned num_queues, unsigned queue_size,
		       struct vv_blk **ret_blk)
{
	struct vv_blk *b = calloc(1, sizeof(*b));
	unsigned *sizes = NULL;
	uint64_t features;
	size_t per_q;
	int ret;

	if (!b) {
		vv_device_close(dev);
		return -ENOMEM;
	}
	b->dev = dev;
	if (vv_device_type(b->dev) != VV_VIRTIO_BLK) {
		log_err("%s: a virtio %s device, not blk", vv_device_bdf(b->dev),
			vv_virtio_type_name(vv_device_type(b->dev)));
		ret = -ENODEV;
		goto err;
	}
	ret = vv_device_negotiate(b->dev, BLK_FEATURES, &features);
	if (!ret)
		ret = read_config(b, features);
	if (ret)
		goto err;
	b->nq = num_queues && num_queues < b->info.num_queues ? num_queues : b->info.num_queues;
	if (b->nq > vv_device_num_queues(b->dev))
		b->nq = vv_device_num_queues(b->dev);
	if (queue_size) {
		sizes = calloc(b->nq, sizeof(*sizes));
		if (!sizes) {
			ret = -ENOMEM;
			goto err;
		}
		for (unsigned i = 0; i < b->nq; i++)
			sizes[i] = queue_size;
	}
	ret = vv_device_setup_queues(b->dev, b->nq, sizes);
	free(sizes);
	if (ret)
		goto err;
	b->queues = calloc(b->nq, sizeof(*b->queues));
	b->waiters = calloc(b->nq, sizeof(*b->waiters));
	/* Interrupts where the queue has a vector of its own; without, it can only be polled. */
	for (unsigned i = 0; b->waiters && i < b->nq; i++)
		b->waiters[i] = (struct blk_waiter){.mode = vv_blk_queue_eventfd(b, i) >= 0
								    ? VV_BLK_MODE_IRQ
								    : VV_BLK_MODE_POLL,
						    .cb_on = true};
	/* A command slot per ring entry: pinned memory counts against RLIMIT_MEMLOCK. */
	per_q = 0;
	for (unsigned i = 0; i < b->nq; i++)
		if (blk_queue_mem_size(vv_vq_size(vv_device_queue(b->dev, i))) > per_q)
			per_q = blk_queue_mem_size(vv_vq_size(vv_device_queue(b->dev, i)));
	ret = b->queues && b->waiters ? vv_dma_alloc(b->dev, per_q * b->nq, &b->cmd_mem) : -ENOMEM;
	if (!ret)
		ret = vv_dma_alloc(b->dev, BOUNCE_SIZE, &b->bounce);
	for (unsigned i = 0; !ret && i < b->nq; i++)
		ret = blk_queue_init(&b->queues[i], vv_device_queue(b->dev, i), &b->info,
				     (uint8_t *)b->cmd_mem.vaddr + i * per_q,
				     b->cmd_mem.iova + i * per_q);
	if (!ret)
		ret = vv_device_start(b->dev);
	if (ret)
		goto err;
	log_info("%s: virtio-blk, %llu sectors, %u queue(s)%s", vv_device_bdf(b->dev),
		 (unsigned long long)b->info.capacity, b->nq,
		 b->info.read_only ? ", read-only" : "");
	*ret_blk = b;
	return 0;
err:
	vv_blk_close(b);
	return ret;
}

VV_EXPORT void vv_blk_close(struct vv_blk *b)
{
	if (!b)
		return;
	for (unsigned i = 0; b->queues && i < b->nq; i++)
		blk_queue_fini(&b->queues[i]);
	free(b->queues);
	free(b->waiters);
	/* vv_device_close() resets the device first, then frees all its DMA memory. */
	vv_device_close(b->dev);
	free(b);
}

VV_EXPORT const struct vv_blk_info *vv_blk_get_info(const struct vv_blk *b)
{
	return &b->info;
}

VV_EXPORT struct vv_device *vv_blk_device(struct vv_blk *b)
{
	return b->dev;
}

VV_EXPORT int vv_blk_refresh(struct vv_blk *b, bool *ret_changed)
{
	uint64_t cap;
	int ret;

	*ret_changed = false;
	/* A device that needs a reset raises a config interrupt too (section 2.1.2). */
	if (vv_device_aborted(b->dev))
		return -EIO;
	if (vv_device_needs_reset(b->dev)) {
		vv_device_abort(b->dev);
		return -EIO;
	}
	ret = vv_device_config_read(b->dev, offsetof(struct virtio_blk_config, capacity), &cap,
				    sizeof(cap));
	if (ret)
		return ret;
	cap = le64toh(cap);
	if (!blk_capacity_ok(cap)) {
		log_err("%s: implausible capacity %llu sectors", vv_device_bdf(b->dev),
			(unsigned long long)cap);
		vv_device_abort(b->dev);
		return -EIO;
	}
	*ret_changed = cap != vv_blk_capacity(b);
	if (*ret_changed)
		log_info("%s: capacity %llu -> %llu sectors", vv_device_bdf(b->dev),
			 (unsigned long long)vv_blk_capacity(b), (unsigned long long)cap);
	/* Other queues' threads check requests against it meanwhile (blk_queue.c). */
	__atomic_store_n(&b->info.capacity, cap, __ATOMIC_RELAXED);
	return 0;
}

VV_EXPORT uint64_t vv_blk_capacity(const struct vv_blk *b)
{
	return blk_info_capacity(&b->info);
}

VV_EXPORT unsigned vv_blk_num_queues(const struct vv_blk *b)
{
	return b->nq;
}

VV_EXPORT int vv_blk_submit_rw(struct vv_blk *b, unsigned q, bool write, uint64_t sector,
			       const struct vv_sg *sg, unsigned nsg, vv_blk_cb cb, void *opaque)
{
	if (q >= b->nq)
		return -EINVAL;
	return blk_queue_rw(&b->queues[q], write, sector, sg, nsg, cb, opaque);
}

VV_EXPORT int vv_blk_submit_flush(struct vv_blk *b, unsigned q, vv_blk_cb cb, void *opaque)
{
	return q < b->nq ? blk_queue_flush(&b->queues[q], cb, opaque) : -EINVAL;
}

VV_EXPORT int vv_blk_submit_discard(struct vv_blk *b, unsigned q, uint64_t sector,
				    uint64_t nsectors, vv_blk_cb cb, void *opaque)
{
	return q < b->nq ? blk_queue_range(&b->queues[q], VIRTIO_BLK_T_DISCARD, sector, nsectors,
					   false, cb, opaque)
			 : -EINVAL;
}

VV_EXPORT int vv_blk_submit_write_zeroes(struct vv_blk *b, unsigned q, uint64_t sector,
					 uint64_t nsectors, bool unmap, vv_blk_cb cb, void *opaque)
{
	return q < b->nq ? blk_queue_range(&b->queues[q], VIRTIO_BLK_T_WRITE_ZEROES, sector,
					   nsectors, unmap, cb, opaque)
			 : -EINVAL;
}

VV_EXPORT int vv_blk_kick(struct vv_blk *b, unsigned q)
{
	return q < b->nq ? blk_queue_kick(&b->queues[q]) : -EINVAL;
}

/*
 * The queue is done for: the device was aborted (removed, needs a reset, or broke this or
 * another queue's rules). What was in flight fails now; the device can no longer touch it.
 */
static int fail_queue(struct vv_blk *b, unsigned q)
{
	int n;

	vv_vq_break(b->queues[q].vq); /* new submissions fail at once */
	n = blk_queue_fail_all(&b->queues[q], -EIO);
	return n ? n : -EIO;
}

/*
 * A queue the device broke, given a second chance where the device offers VIRTIO_F_RING_RESET:
 * the device resets that queue alone (4.1.4.3.2) and no longer touches its buffers, so the
 * requests in flight on it fail with EIO and the queue serves again; the other queues never
 * stop. A device that keeps breaking it is given up on as before.
 */
#define MAX_QUEUE_RESETS 8

static int reset_queue(struct vv_blk *b, unsigned q)
{
	struct blk_waiter *w = &b->waiters[q];
	int ret, n;

	if (w->resets >= MAX_QUEUE_RESETS) {
		log_err("%s: queue %u broke %u times: giving up on the device",
			vv_device_bdf(b->dev), q, w->resets + 1);
		return -EIO;
	}
	ret = vv_device_queue_reset(b->dev, q, NULL, NULL);
	if (ret) {
		if (ret != -EOPNOTSUPP)
			log_err("%s: queue %u: reset failed (%d)", vv_device_bdf(b->dev), q, ret);
		return ret;
	}
	w->resets++;
	n = blk_queue_fail_all(&b->queues[q], -EIO);
	log_warn("%s: queue %u reset after the device broke it: %d request(s) in flight failed "
		 "with EIO, the queue serves again",
		 vv_device_bdf(b->dev), q, n);
	return n;
}

VV_EXPORT int vv_blk_poll(struct vv_blk *b, unsigned q, unsigned budget)
{
	int n;

	if (q >= b->nq)
		return -EINVAL;
	if (unlikely(vv_device_aborted(b->dev)))
		return fail_queue(b, q);
	n = blk_queue_poll(&b->queues[q], budget);
	if (unlikely(n < 0) && vv_vq_is_broken(b->queues[q].vq)) {
		n = reset_queue(b, q);
		if (n >= 0)
			return n;
		/* A device that breaks the ring's rules is stopped before its buffers go back. */
		vv_device_abort(b->dev);
		return fail_queue(b, q);
	}
	return n;
}

VV_EXPORT int vv_blk_queue_eventfd(const struct vv_blk *b, unsigned q)
{
	return vv_device_queue_eventfd(b->dev, q);
}

/* --- completion modes ---------------------------------------------------------------------- */

static void set_cb(struct vv_blk *b, unsigned q, bool on)
{
	struct blk_waiter *w = &b->waiters[q];

	if (w->cb_on == on)
		return;
	w->cb_on = on;
	if (!on)
		vv_vq_disable_cb(b->queues[q].vq);
}

VV_EXPORT int vv_blk_set_mode(struct vv_blk *b, unsigned q, enum vv_blk_mode mode, unsigned spin_us)
{
	if (q >= b->nq || mode > VV_BLK_MODE_HYBRID)
		return -EINVAL;
	/* Without its own eventfd a queue can only be polled. */
	if (mode != VV_BLK_MODE_POLL && vv_blk_queue_eventfd(b, q) < 0)
		mode = VV_BLK_MODE_POLL;
	b->waiters[q].mode = mode;
	b->waiters[q].spin_ns = (uint64_t)spin_us * 1000;
	/* Polling and the spin phase run with the device's notifications off. */
	set_cb(b, q, mode == VV_BLK_MODE_IRQ);
	return 0;
}

/* The kernel asks for the device back (hot-unplug): it completes nothing more. */
static void removal_requested(struct vv_blk *b)
{
	log_err("%s: the kernel asks for the device back (hot-unplug)", vv_device_bdf(b->dev));
	vv_device_abort(b->dev); /* the owner may watch the fd too: not read here */
}

/* For polling waiters, which never sleep on the removal eventfd. */
static void check_removal(struct vv_blk *b)
{
	struct pollfd p = {.fd = vv_device_removal_eventfd(b->dev), .events = POLLIN};

	if (p.fd >= 0 && !vv_device_aborted(b->dev) && poll(&p, 1, 0) == 1)
		removal_requested(b);
}

/*
 * Sleeps on @q's eventfd until it fires or @deadline (0: none) passes. Notifications are
 * enabled first and the ring looked at once more: a completion that raced the enable would
 * otherwise be slept through. Returns completions found, 0 when woken or timed out.
 */
static int sleep_on(struct vv_blk *b, unsigned q, uint64_t deadline)
{
	/* The removal request too: a device being unplugged completes nothing more. */
	struct pollfd p[2] = {
		{.fd = vv_blk_queue_eventfd(b, q), .events = POLLIN},
		{.fd = vv_device_removal_eventfd(b->dev), .events = POLLIN},
	};
	uint64_t n, now;
	int timeout = -1;

	b->waiters[q].cb_on = true;
	if (!vv_vq_enable_cb(b->queues[q].vq))
		return vv_blk_poll(b, q, UINT32_MAX);
	if (deadline) {
		now = now_coarse_ns();
		timeout = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
	}
	if (poll(p, p[1].fd >= 0 ? 2 : 1, timeout) <= 0)
		return 0;
	if (p[1].revents & POLLIN)
		removal_requested(b);
	if ((p[0].revents & POLLIN) && read(p[0].fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

VV_EXPORT int vv_blk_wait(struct vv_blk *b, unsigned q, int timeout_ms)
{
	struct blk_waiter *w;
	uint64_t spin_start = 0, deadline = 0;
	unsigned spins = 0;
	int n;

	if (q >= b->nq)
		return -EINVAL;
	w = &b->waiters[q];
	n = vv_blk_poll(b, q, UINT32_MAX);
	if (n || timeout_ms == 0)
		return n;
	/*
	 * Deadlines on the coarse clock: the precise one can cost a system call and an emulated
	 * device read (util/time.h), which, taken every few dozen empty looks, was most of a
	 * polled request's time in a TCG guest. Hybrid's spin window, microseconds long, needs
	 * the precise clock: it is read every 1024 empty looks (a few microseconds of spinning
	 * on hardware, tens under TCG).
	 */
	if (timeout_ms > 0)
		deadline = now_coarse_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	for (;;) {
		bool spin = w->mode == VV_BLK_MODE_POLL ||
			    (w->mode == VV_BLK_MODE_HYBRID && w->cb_on == false);

		if (spin) {
			n = vv_blk_poll(b, q, UINT32_MAX);
			if (n)
				return n;
			/* The clocks only every 64 empty looks: polling stays cheap. */
			if (++spins % 64)
				continue;
			if (!(spins % 65536))
				check_removal(b);
			if (deadline && now_coarse_ns() >= deadline)
				return 0;
			if (w->mode != VV_BLK_MODE_HYBRID || spins % 1024)
				continue;
			if (!spin_start) {
				spin_start = now_ns();
				continue;
			}
			if (now_ns() - spin_start >= w->spin_ns) {
				n = sleep_on(b, q, deadline);
				set_cb(b, q, false); /* the next wait spins first again */
				if (n)
					return n;
				n = vv_blk_poll(b, q, UINT32_MAX);
				if (n || (deadline && now_coarse_ns() >= deadline))
					return n;
				spin_start = 0;
			}
			continue;
		}
		/* Interrupt mode, or hybrid right after a sleep. */
		n = sleep_on(b, q, deadline);
		if (!n)
			n = vv_blk_poll(b, q, UINT32_MAX);
		if (w->mode == VV_BLK_MODE_HYBRID)
			set_cb(b, q, false);
		if (n || (deadline && now_coarse_ns() >= deadline))
			return n;
	}
}

/* --- synchronous helpers: queue 0, one request at a time, waiting on the eventfd ---------- */

struct sync_wait {
	bool done;
	int result;
};

static void sync_done(void *opaque, int result)
{
	struct sync_wait *w = opaque;

	w->done = true;
	w->result = result;
}

static int sync_wait(struct vv_blk *b, struct sync_wait *w)
{
	time_t deadline = time(NULL) + SYNC_TIMEOUT_S;
	int ret = vv_blk_kick(b, 0);

	while (!ret && !w->done) {
		ret = vv_blk_wait(b, 0, 100);
		if (ret < 0 || w->done)
			break;
		ret = 0;
		if (time(NULL) > deadline) {
			/* @w lives on our stack: the request must be over before we return. */
			log_err("%s: no answer within %d s: giving up on the device",
				vv_device_bdf(b->dev), SYNC_TIMEOUT_S);
			vv_device_abort(b->dev);
			vv_blk_poll(b, 0, UINT32_MAX);
			return -ETIMEDOUT;
		}
	}
	return ret < 0 && !w->done ? ret : w->result;
}

static int sync_rw(struct vv_blk *b, bool write, uint64_t sector, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (len % 512)
		return -EINVAL;
	while (len) {
		size_t n = len < BOUNCE_SIZE ? len : BOUNCE_SIZE;
		struct vv_sg sg = {b->bounce.iova, (uint32_t)n};
		struct sync_wait w = {0};
		int ret;

		if (write)
			memcpy(b->bounce.vaddr, p, n);
		ret = vv_blk_submit_rw(b, 0, write, sector, &sg, 1, sync_done, &w);
		if (!ret)
			ret = sync_wait(b, &w);
		if (ret)
			return ret;
		if (!write)
			memcpy(p, b->bounce.vaddr, n);
		p += n;
		len -= n;
		sector += n / 512;
	}
	return 0;
}

VV_EXPORT int vv_blk_read(struct vv_blk *b, uint64_t sector, void *buf, size_t len)
{
	return sync_rw(b, false, sector, buf, len);
}

VV_EXPORT int vv_blk_write(struct vv_blk *b, uint64_t sector, const void *buf, size_t len)
{
	return sync_rw(b, true, sector, (void *)buf, len);
}

VV_EXPORT int vv_blk_flush(struct vv_blk *b)
{
	struct sync_wait w = {0};
	int ret = vv_blk_submit_flush(b, 0, sync_done, &w);

	return ret ? ret : w.done ? w.result : sync_wait(b, &w);
}

VV_EXPORT int vv_blk_get_id(struct vv_blk *b, char serial[21])
{
	struct sync_wait w = {0};
	int ret;

	memset(serial, 0, 21);
	ret = blk_queue_get_id(&b->queues[0], serial, sync_done, &w);
	return ret ? ret : sync_wait(b, &w);
}
