// SPDX-License-Identifier: MIT
/*
 * export.c - the FUSE block export, set up and torn down: the devices (the zero buffer for
 * fallocate), the FUSE session and its mount (or a caller's channel), the workers (worker.c),
 * and at the end the flush that makes what was written durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "export_int.h"

/*
 * A channel given by the caller behaves like /dev/fuse: one message per read and write, and
 * an answer is never dropped for want of room (the fd is non-blocking for reading).
 */
static ssize_t channel_read(int fd, void *buf, size_t len, void *userdata)
{
	return read(fd, buf, len);
}

static ssize_t channel_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	ssize_t n;

	while ((n = writev(fd, iov, count)) < 0 && errno == EAGAIN)
		poll(&p, 1, -1);
	return n;
}

static int setup_dev(struct export *ex, struct dev *d, struct vv_blk *blk, const char *name,
		     const char *file)
{
	int ret;

	d->ex = ex;
	d->blk = blk;
	d->info = vv_blk_get_info(blk);
	d->config_fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->file, sizeof(d->file), "%s", file);
	atomic_init(&d->bytes, vv_blk_capacity(blk) * SECTOR);
	atomic_init(&d->inflight, 0);
	pthread_mutex_init(&d->lock, NULL);
	atomic_init(&d->lost, false);
	if (d->info->blk_size > EDGE_MAX) {
		fprintf(stderr,
			"virtio-vfio: %s: logical block size %u is not supported (at most %u)\n",
			d->name, d->info->blk_size, EDGE_MAX);
		return -EOPNOTSUPP;
	}
	if (!d->info->write_zeroes) {
		/*
		 * fallocate writes these instead; the device may only read them. Populated
		 * pages of our own: the shared zero page is no page to pin for a device.
		 */
		d->zero = mmap(NULL, ZERO_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (d->zero == MAP_FAILED) {
			d->zero = NULL;
			return -ENOMEM;
		}
		ret = vv_dma_map(vv_blk_device(blk), d->zero, ZERO_SIZE, VV_DMA_DEVICE_READ,
				 &d->zero_map);
		if (!ret && mprotect(d->zero, ZERO_SIZE, PROT_READ))
			ret = -errno;
		if (ret) {
			fprintf(stderr, "virtio-vfio: %s: cannot allocate DMA memory: %s\n",
				d->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

unsigned export_workers(const struct export *ex)
{
	return ex->nworkers;
}

bool export_stopping(const struct export *ex)
{
	return atomic_load(&ex->stopping);
}

void export_stats(const struct export *ex, unsigned dev, struct export_dev_stats *ret)
{
	const struct dev *d = &ex->devs[dev];
	uint64_t taken = 0, answered = 0;

	*ret = (struct export_dev_stats){0};
	for (unsigned i = 0; i < ex->nworkers; i++) {
		const struct wstats *s = &ex->workers[i].stats[dev];
		uint64_t r = STAT_GET(s->reads), w = STAT_GET(s->writes);
		uint64_t f = STAT_GET(s->flushes), z = STAT_GET(s->fallocates);

		/* Read while they move: a difference that would go negative is clamped. */
		taken += STAT_GET(s->taken);
		answered += r + w + f + z;
		ret->reads += r;
		ret->writes += w;
		ret->flushes += f;
		ret->fallocates += z;
		ret->bytes_read += STAT_GET(s->bytes_read);
		ret->bytes_written += STAT_GET(s->bytes_written);
		ret->errors += STAT_GET(s->errors);
	}
	ret->in_flight = taken > answered ? taken - answered : 0;
	ret->dev_in_flight = atomic_load_explicit(&d->inflight, memory_order_relaxed);
	ret->size_bytes = atomic_load_explicit(&d->bytes, memory_order_relaxed);
	ret->lost = atomic_load(&d->lost) || vv_device_aborted(vv_blk_device(d->blk));
}

int export_run(struct vv_blk **blks, const char *const *bdfs, const char *const *files, unsigned n,
	       const char *mountpoint, const struct export_opts *opts, void (*ready)(void *ctx),
	       void *ready_ctx)
{
	char optstr[384];
	char *argv[] = {(char *)"virtio-vfio", (char *)"-o", optstr, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct export ex = {
		.n = n, .opts = opts, .uid = getuid(), .gid = getgid(), .mounted = time(NULL)};
	int ret = 0;

	snprintf(optstr, sizeof(optstr), "fsname=%s,subtype=virtio-vfio,default_permissions%s",
		 opts->fsname ? opts->fsname : "virtio-vfio",
		 opts->allow_other ? ",allow_other" : "");
	atomic_init(&ex.stopping, false);
	atomic_init(&ex.lost, false);
	atomic_init(&ex.running, 0);
	ex.devs = calloc(n, sizeof(*ex.devs));
	if (!ex.devs) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n && !ret; i++)
		ret = setup_dev(&ex, &ex.devs[i], blks[i], bdfs[i], files ? files[i] : bdfs[i]);
	if (ret)
		goto out;

	ex.se = fuse_session_new(&args, &export_ops, sizeof(export_ops), &ex);
	if (!ex.se) {
		fprintf(stderr, "virtio-vfio: cannot create the FUSE session\n");
		ret = -EINVAL;
		goto out;
	}
	if (!mountpoint) {
		static const struct fuse_custom_io channel = {.read = channel_read,
							      .writev = channel_writev};

		if (fuse_session_custom_io(ex.se, &channel, opts->channel_fd)) {
			ret = -EINVAL;
			goto out_session;
		}
	} else if (fuse_session_mount(ex.se, mountpoint)) {
		fprintf(stderr, "virtio-vfio: cannot mount on %s\n", mountpoint);
		ret = -EIO;
		goto out_session;
	} else {
		ex.splice = true;
	}
	fcntl(fuse_session_fd(ex.se), F_SETFL, fcntl(fuse_session_fd(ex.se), F_GETFL) | O_NONBLOCK);

	ret = workers_setup(&ex);
	if (ret)
		goto out_workers;
	if (opts->serving)
		opts->serving(&ex, opts->serving_ctx);
	ret = workers_run(&ex, ready, ready_ctx);
	/* Every path out (unmount, signal, stop deadline, lost device) comes by here. */
	if (opts->serving)
		opts->serving(NULL, opts->serving_ctx);

	/* Everything in flight completed; make it durable before the device is reset. */
	for (unsigned i = 0; i < n; i++)
		if (!atomic_load(&ex.devs[i].lost) && ex.devs[i].info->writeback &&
		    vv_blk_flush(ex.devs[i].blk))
			ret = -EIO;
	if (atomic_load(&ex.lost))
		ret = -ENODEV;

out_workers:
	workers_free(&ex);
	fuse_session_unmount(ex.se);
	fuse_session_unmount(ex.se);
out_session:
	fuse_session_destroy(ex.se);
out:
	for (unsigned i = 0; ex.devs && i < n; i++) {
		vv_dma_free(vv_blk_device(blks[i]), &ex.devs[i].zero_map);
		if (ex.devs[i].zero)
			munmap(ex.devs[i].zero, ZERO_SIZE);
		pthread_mutex_destroy(&ex.devs[i].lock);
	}
	free(ex.devs);
	fuse_opt_free_args(&args);
	return ret;
}
