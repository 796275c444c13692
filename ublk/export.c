// SPDX-License-Identifier: MIT
/*
 * export.c - the ublk export's life: create the ublk device with the virtio-blk device's
 * parameters (or pick up one whose server died: user recovery), start a thread per queue,
 * start the block device, then wait for a signal or the loss of the device, and take it all
 * down in the order the driver wants (Documentation/block/ublk.rst, "Control commands").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ublk_int.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* /dev/ublkcN appears when ADD_DEV returns (devtmpfs), or a little later under udev. */
static int open_cdev(int id)
{
	char path[64];
	int fd = -1;

	snprintf(path, sizeof(path), "/dev/ublkc%d", id);
	for (int i = 0; i < 100 && fd < 0; i++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			break;
		if (fd < 0)
			sleep_ms(50);
	}
	return fd < 0 ? -errno : fd;
}

/*
 * A new ublk device: one queue per virtio queue (the driver allows at most one per CPU and
 * says how many it took), with user recovery so that a server killed mid-I/O leaves the
 * device waiting, its requests queued, for `--recover`. REISSUE: what the dead server had
 * taken is sent again to the next one; block reads and writes may be repeated safely.
 */
static int add_device(struct ublk_export *ex)
{
	struct ublksrv_ctrl_dev_info info = {
		.nr_hw_queues = (uint16_t)ex->nq,
		.queue_depth = (uint16_t)ex->depth,
		.max_io_buf_bytes = ex->max_io,
		.dev_id = (uint32_t)-1,
		.flags = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE,
		.ublksrv_flags = ublk_bdf_tag(ex->name),
	};
	struct ublk_params params;
	char why[200];
	int ret;

	ret = ublk_params_from_info(ex->info, ex->max_io, sysconf(_SC_PAGESIZE), &params, why,
				    sizeof(why));
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: %s\n", ex->name, why);
		return ret;
	}
	ret = ublk_ctrl_cmd(&ex->ctrl, UBLK_CMD_ADD_DEV, (uint32_t)-1, &info, sizeof(info), 0,
			    10000);
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: ublk cannot add a device: %s\n", ex->name,
			strerror(-ret));
		return ret;
	}
	ex->id = (int)info.dev_id;
	ex->dinfo = info;
	if (!(info.flags & UBLK_F_USER_RECOVERY))
		fprintf(stderr,
			"virtio-vfio: %s: warning: this kernel's ublk has no user "
			"recovery: if this process dies, /dev/ublkb%d fails its I/O\n",
			ex->name, ex->id);
	if (info.nr_hw_queues < ex->nq)
		ex->nq = info.nr_hw_queues; /* one per CPU at most: the rest stay unused */
	if (info.max_io_buf_bytes < ex->max_io) {
		ex->max_io = info.max_io_buf_bytes;
		params.basic.max_sectors = ex->max_io / SECTOR;
	}
	ret = ublk_ctrl_cmd(&ex->ctrl, UBLK_CMD_SET_PARAMS, (uint32_t)ex->id, &params,
			    sizeof(params), 0, 10000);
	if (ret)
		fprintf(stderr, "virtio-vfio: %s: ublk refused the device's parameters: %s\n",
			ex->name, strerror(-ret));
	return ret;
}

/*
 * Recovery: the dead server's device must be quiesced (its requests parked) and its char
 * device released before START_USER_RECOVERY is accepted (-EBUSY until then): the kernel
 * tears the dead process's io_uring down in the background.
 */
static int start_recovery(struct ublk_export *ex)
{
	int ret = 0;

	ex->id = ex->opts->recover_id;
	for (int i = 0; i < 300; i++) {
		ret = ublk_ctrl_get_info(&ex->ctrl, (uint32_t)ex->id, &ex->dinfo);
		if (ret)
			break;
		ret = ublk_ctrl_cmd(&ex->ctrl, UBLK_CMD_START_USER_RECOVERY, (uint32_t)ex->id, NULL,
				    0, 0, 10000);
		if (ret != -EBUSY)
			break;
		sleep_ms(100);
	}
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: cannot recover /dev/ublkb%d: %s%s\n", ex->name,
			ex->id, strerror(-ret),
			ret == -EBUSY ? " (its previous server has not let go of it)" : "");
		return ret;
	}
	ex->nq = ex->dinfo.nr_hw_queues;
	ex->depth = ex->dinfo.queue_depth;
	ex->max_io = ex->dinfo.max_io_buf_bytes;
	return 0;
}

static void wait_events(struct ublk_export *ex, bool (*done)(struct ublk_export *))
{
	uint64_t n;

	while (!done(ex)) {
		struct pollfd p = {.fd = ex->event_fd, .events = POLLIN};

		if (poll(&p, 1, -1) > 0 && read(ex->event_fd, &n, 8) < 0 && errno != EAGAIN)
			break;
	}
}

static bool all_reported(struct ublk_export *ex)
{
	unsigned failed = 0;

	for (unsigned q = 0; q < ex->nq; q++)
		failed += ex->queues[q].error != 0;
	return atomic_load(&ex->ready) + failed >= ex->nq;
}

/*
 * The disk changed size (QMP block_resize, a resized image): UBLK_CMD_UPDATE_SIZE gives
 * /dev/ublkbN the new size on Linux 6.16+; older kernels (6.12) refuse it, and the block
 * device keeps the size it started with (a shrunk disk answers EIO past its end).
 */
static void resize(struct ublk_export *ex)
{
	uint64_t sectors = atomic_exchange(&ex->resized, 0);
	int ret;

	if (!sectors || sectors == ex->size)
		return;
	ret = ublk_ctrl_cmd(&ex->ctrl, UBLK_CMD_UPDATE_SIZE_NR, (uint32_t)ex->id, NULL, 0, sectors,
			    5000);
	if (!ret) {
		fprintf(stderr, "virtio-vfio: %s: resized: /dev/ublkb%d has %llu bytes\n", ex->name,
			ex->id, (unsigned long long)sectors * SECTOR);
		ex->size = sectors;
		return;
	}
	fprintf(stderr,
		"virtio-vfio: %s: the disk now has %llu bytes, but this kernel's ublk cannot "
		"resize a started device (UBLK_CMD_UPDATE_SIZE: %s; Linux 6.16+): /dev/ublkb%d "
		"keeps %llu bytes until it is exported again\n",
		ex->name, (unsigned long long)sectors * SECTOR, strerror(-ret), ex->id,
		(unsigned long long)ex->size * SECTOR);
}

/* Serves until a signal or the loss of the device. Returns 0 or -ENODEV (lost). */
static int serve(struct ublk_export *ex, int sig_fd)
{
	struct vv_device *dev = vv_blk_device(ex->blk);
	int removal = vv_device_removal_eventfd(dev);
	uint64_t n;

	for (;;) {
		struct pollfd p[3] = {{.fd = sig_fd, .events = POLLIN},
				      {.fd = ex->event_fd, .events = POLLIN},
				      {.fd = removal, .events = POLLIN}};

		if (poll(p, removal >= 0 ? 3 : 2, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				return 0;
		}
		if (removal >= 0 && p[2].revents) {
			/*
			 * The kernel wants the device back (hot-unplug) and waits until we close
			 * it: give up on it. The abort fails what is in flight with EIO and wakes
			 * the queue threads, which tell us through event_fd.
			 */
			if (read(removal, &n, 8) < 0 && errno != EAGAIN)
				(void)0;
			if (!vv_device_aborted(dev))
				fprintf(stderr, "virtio-vfio: %s: the device is being removed\n",
					ex->name);
			vv_device_abort(dev);
		}
		if (p[1].revents && read(ex->event_fd, &n, 8) < 0 && errno != EAGAIN)
			(void)0;
		resize(ex);
		if (atomic_load(&ex->lost) || vv_device_aborted(dev)) {
			atomic_store(&ex->lost, true);
			return -ENODEV;
		}
		if (atomic_load(&ex->left)) {
			fprintf(stderr, "virtio-vfio: %s: a queue stopped serving\n", ex->name);
			return -EIO;
		}
	}
}

/*
 * STOP_DEV removes /dev/ublkbN: it syncs and shuts down what is mounted on it, so the
 * queues keep serving meanwhile. A device that stops answering would hold it forever: after
 * the grace period it is aborted, and what is left fails with EIO.
 */
static void stop_device(struct ublk_export *ex)
{
	unsigned grace = ex->opts->stop_timeout_ms ? ex->opts->stop_timeout_ms : 30000;
	int ret = ublk_ctrl_start(&ex->ctrl, UBLK_CMD_STOP_DEV, (uint32_t)ex->id, NULL, 0, 0);

	if (!ret)
		ret = ublk_ctrl_wait(&ex->ctrl, (int)grace);
	if (ret == -ETIME) {
		fprintf(stderr,
			"virtio-vfio: %s: no answer %g s after stop: giving up on the "
			"device\n",
			ex->name, grace / 1000.0);
		vv_device_abort(vv_blk_device(ex->blk));
		ret = ublk_ctrl_wait(&ex->ctrl, -1);
	}
	if (ret)
		fprintf(stderr, "virtio-vfio: %s: ublk STOP_DEV: %s\n", ex->name, strerror(-ret));
}

void ublk_export_stats(const struct ublk_export *ex, struct ublk_stats *ret)
{
	uint64_t taken = 0, answered = 0;

	*ret = (struct ublk_stats){.id = ex->id, .queues = ex->nq, .depth = ex->depth};
	for (unsigned q = 0; q < ex->nq; q++) {
		const struct ublk_qstats *s = &ex->queues[q].stats;
		uint64_t r = atomic_load_explicit(&s->reads, memory_order_relaxed);
		uint64_t w = atomic_load_explicit(&s->writes, memory_order_relaxed);
		uint64_t f = atomic_load_explicit(&s->flushes, memory_order_relaxed);
		uint64_t d = atomic_load_explicit(&s->discards, memory_order_relaxed);
		uint64_t z = atomic_load_explicit(&s->write_zeroes, memory_order_relaxed);

		ret->reads += r;
		ret->writes += w;
		ret->flushes += f;
		ret->discards += d;
		ret->write_zeroes += z;
		answered += r + w + f + d + z;
		taken += atomic_load_explicit(&s->taken, memory_order_relaxed);
		ret->bytes_read += atomic_load_explicit(&s->bytes_read, memory_order_relaxed);
		ret->bytes_written += atomic_load_explicit(&s->bytes_written, memory_order_relaxed);
		ret->errors += atomic_load_explicit(&s->errors, memory_order_relaxed);
	}
	/* Read while they move: a difference that would go negative is clamped. */
	ret->in_flight = taken > answered ? taken - answered : 0;
	ret->lost = atomic_load(&ex->lost) || vv_device_aborted(vv_blk_device(ex->blk));
	ret->stopping = atomic_load(&ex->stopping);
}

/* What each queue served, once it stopped: where the requests went, for the log. */
static void say_counts(struct ublk_export *ex)
{
	for (unsigned q = 0; q < ex->nq; q++) {
		struct ublk_qstats *s = &ex->queues[q].stats;

		fprintf(stderr,
			"virtio-vfio: %s: /dev/ublkb%d queue %u served %llu reads (%llu bytes), %llu "
			"writes (%llu bytes), %llu flushes, %llu discards, %llu write-zeroes, %llu "
			"errors\n",
			ex->name, ex->id, q, (unsigned long long)atomic_load(&s->reads),
			(unsigned long long)atomic_load(&s->bytes_read),
			(unsigned long long)atomic_load(&s->writes),
			(unsigned long long)atomic_load(&s->bytes_written),
			(unsigned long long)atomic_load(&s->flushes),
			(unsigned long long)atomic_load(&s->discards),
			(unsigned long long)atomic_load(&s->write_zeroes),
			(unsigned long long)atomic_load(&s->errors));
	}
}

int ublk_export_run(struct vv_blk *blk, const char *name, const struct ublk_opts *opts,
		    ublk_ready_fn ready, void *ready_ctx)
{
	struct ublk_export ex = {
		.blk = blk,
		.info = vv_blk_get_info(blk),
		.name = name,
		.opts = opts,
		.id = -1,
		.cdev = -1,
		.event_fd = -1,
	};
	bool recover = opts->recover_id >= 0, started = false;
	unsigned nqueues = vv_blk_num_queues(blk);
	sigset_t sigs, old;
	int ret, sig_fd = -1;

	atomic_init(&ex.ready, 0);
	atomic_init(&ex.left, 0);
	atomic_init(&ex.lost, false);
	atomic_init(&ex.stopping, false);
	atomic_init(&ex.resized, 0);
	ex.size = vv_blk_capacity(blk);
	ex.nq = opts->queues && opts->queues < nqueues ? opts->queues : nqueues;
	ex.depth = opts->depth ? opts->depth : UBLK_DEPTH_DEFAULT;
	ex.max_io = ublk_max_io(ex.info);

	/* Signals become a file the main thread polls; the queue threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	ex.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sig_fd < 0 || ex.event_fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = ublk_ctrl_open(&ex.ctrl);
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: %s: %s\n", name, UBLK_CONTROL_PATH,
			strerror(-ret));
		goto out;
	}
	/*
	 * Queues that share an interrupt vector share its eventfd, and an eventfd cannot
	 * reliably wake two threads: then one queue serves (as the FUSE export does).
	 */
	for (unsigned q = 1; !recover && q < ex.nq; q++) {
		int efd = vv_blk_queue_eventfd(blk, q);

		if (efd >= 0 && efd == vv_blk_queue_eventfd(blk, 0)) {
			fprintf(stderr,
				"virtio-vfio: %s: its queues share an interrupt vector: one "
				"ublk queue\n",
				name);
			ex.nq = 1;
		}
	}
	ret = recover ? start_recovery(&ex) : add_device(&ex);
	if (ret)
		goto out_dev; /* a device added but refused its parameters goes again */
	if (ex.nq > nqueues) {
		fprintf(stderr, "virtio-vfio: %s: /dev/ublkb%d has %u queues, the device only %u\n",
			name, ex.id, ex.nq, nqueues);
		ret = -EINVAL;
		goto out_dev;
	}
	ret = open_cdev(ex.id);
	if (ret < 0) {
		fprintf(stderr, "virtio-vfio: %s: /dev/ublkc%d: %s\n", name, ex.id, strerror(-ret));
		goto out_dev;
	}
	ex.cdev = ret;

	ex.queues = calloc(ex.nq, sizeof(*ex.queues));
	ret = ex.queues ? 0 : -ENOMEM;
	ret = ret ? ret
		  : vv_dma_check_memlock(vv_blk_device(blk), (size_t)ex.nq * ex.depth * ex.max_io);
	for (unsigned q = 0; q < ex.nq && !ret; q++)
		ret = ublk_queue_setup(&ex, &ex.queues[q], q);
	for (unsigned q = 0; q < ex.nq && !ret; q++)
		ret = ublk_queue_start(&ex.queues[q]);
	if (ret)
		goto out_queues;
	wait_events(&ex, all_reported);
	if (atomic_load(&ex.ready) < ex.nq) {
		ret = -EIO;
		goto out_queues;
	}

	/*
	 * Every tag is fetched: START_DEV adds the disk (and reads its partition table through
	 * the queues); END_USER_RECOVERY lets the parked requests through to us.
	 */
	ret = ublk_ctrl_cmd(&ex.ctrl, recover ? UBLK_CMD_END_USER_RECOVERY : UBLK_CMD_START_DEV,
			    (uint32_t)ex.id, NULL, 0, (uint64_t)getpid(), -1);
	if (ret) {
		fprintf(stderr, "virtio-vfio: %s: ublk %s: %s\n", name,
			recover ? "END_USER_RECOVERY" : "START_DEV", strerror(-ret));
		goto out_queues;
	}
	started = true;
	if (ready)
		ready(ready_ctx, ex.id, ex.nq, ex.depth);

	if (opts->serving)
		opts->serving(&ex, opts->serving_ctx);
	ret = serve(&ex, sig_fd);
	atomic_store(&ex.stopping, true);
	if (ret == -ENODEV)
		fprintf(stderr,
			"virtio-vfio: %s: device lost: I/O in flight failed with EIO; "
			"removing /dev/ublkb%d\n",
			name, ex.id);

out_queues:
	/* With the queues still serving: the block device's last I/O needs them. */
	if (started)
		stop_device(&ex);
	for (unsigned q = 0; ex.queues && q < ex.nq; q++)
		ublk_queue_stop(&ex.queues[q]);
	/* The counters go away next: whoever reads them stops first. */
	if (started && opts->serving)
		opts->serving(NULL, opts->serving_ctx);
	if (started)
		say_counts(&ex);
	for (unsigned q = 0; ex.queues && q < ex.nq; q++)
		ublk_queue_free(&ex.queues[q]);
	free(ex.queues);
	if (ex.cdev >= 0)
		close(ex.cdev);
	/* Everything written is on the device: make it durable before the reset. */
	if (!atomic_load(&ex.lost) && !vv_device_aborted(vv_blk_device(blk)) &&
	    ex.info->writeback && vv_blk_flush(blk) && !ret)
		ret = -EIO;
out_dev:
	/*
	 * DEL_DEV waits until the char device is released: the rings above are gone. A
	 * recovery that failed leaves the device as it found it, parked, for another try.
	 */
	if (ex.id >= 0 && (started || !recover)) {
		int r = ublk_ctrl_cmd(&ex.ctrl, UBLK_CMD_DEL_DEV, (uint32_t)ex.id, NULL, 0, 0,
				      30000);

		if (r)
			fprintf(stderr, "virtio-vfio: %s: ublk DEL_DEV of device %d: %s\n", name,
				ex.id, strerror(-r));
	}
	if (atomic_load(&ex.lost))
		ret = -ENODEV;
	ublk_ctrl_close(&ex.ctrl);
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (ex.event_fd >= 0)
		close(ex.event_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}
