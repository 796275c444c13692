// SPDX-License-Identifier: MIT
/*
 * plugin.c - nbdkit-virtio-vfio-plugin: serves a virtio-blk disk driven in userspace over
 * NBD. `nbdkit virtio-vfio device=0000:01:00.0 [queues=N]`.
 *
 * Life cycle: .config takes the parameters; .get_ready checks the device and opens it once,
 * to say what is wrong where the user sees it, then closes it again: DMA memory is pinned
 * in the process that maps it and excluded from fork(), so the device that serves is opened
 * in .after_fork, in the process that stays. A watcher thread then waits for the kernel's
 * hot-unplug request and for configuration changes; a removal aborts the device, what is in
 * flight fails with EIO, and the server shuts down, closing the device in .cleanup so the
 * kernel can complete the removal.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <virtio-vfio/blk.h>
#include <virtio-vfio/device.h>
#include <virtio-vfio/log.h>
#include <virtio-vfio/version.h>

#include "device.h"
#include "io.h"

#define SECTOR 512u

static const char *device_name;
static unsigned queues; /* 0: as many as the device has */
static char bdf[NBD_BDF_LEN];

static struct vv_blk *blk;
static struct nbd_io *io;
static struct vv_blk_info info;
static pthread_t watcher;
static bool watching;
static int stop_fd = -1;
static atomic_bool lost_said;

/* The library's messages go where nbdkit's go: stderr, or syslog once forked. */
static void log_to_nbdkit(void *opaque, enum vv_log_level level, const char *msg)
{
	if (level <= VV_LOG_WARN)
		nbdkit_error("%s", msg);
	else
		nbdkit_debug("%s", msg);
}

static void vvnbd_load(void)
{
	vv_set_log_fn(log_to_nbdkit, NULL, VV_LOG_INFO);
}

static int vvnbd_config(const char *key, const char *value)
{
	if (!strcmp(key, "device")) {
		device_name = value;
		return 0;
	}
	if (!strcmp(key, "queues")) {
		if (nbdkit_parse_unsigned("queues", value, &queues) == -1)
			return -1;
		if (queues < 1 || queues > 64) {
			nbdkit_error("queues=%s: expected 1..64", value);
			return -1;
		}
		return 0;
	}
	nbdkit_error("unknown parameter '%s' (expected device=NAME [queues=N])", key);
	return -1;
}

static int vvnbd_config_complete(void)
{
	if (!device_name) {
		nbdkit_error("device=NAME is required: a virtio-blk function attached with "
			     "'virtio-vfio attach' (see 'virtio-vfio list')");
		return -1;
	}
	return nbd_resolve_device(device_name, bdf);
}

#define vvnbd_config_help                                                                  \
	"device=<BDF>    (required) virtio-blk function bound to vfio-pci, e.g. 00:03.0\n" \
	"queues=<N>      virtqueues to use (default: all the device offers)"

static int open_device(void)
{
	int ret = vv_blk_open(bdf, queues, &blk);

	if (ret) {
		nbd_open_error(bdf, ret);
		return -1;
	}
	info = *vv_blk_get_info(blk);
	if (queues > vv_blk_num_queues(blk))
		nbdkit_debug("%s: queues=%u, the device has %u", bdf, queues,
			     vv_blk_num_queues(blk));
	return 0;
}

/* Checks and a trial open, before nbdkit forks: these errors reach the user. */
static int vvnbd_get_ready(void)
{
	if (nbd_check_device(bdf) || open_device())
		return -1;
	vv_blk_close(blk);
	blk = NULL;
	return 0;
}

/* The device is gone or broken: say so once, and end the server. */
static void device_lost(const char *why)
{
	if (!atomic_exchange(&lost_said, true)) {
		nbdkit_error("%s: %s; shutting down", bdf, why);
		nbdkit_shutdown();
	}
}

/*
 * Removal requests (the kernel repeats them until the device is closed: after the first,
 * this thread only waits to be stopped) and configuration changes (a resized disk: new
 * connections see the new size; DEVICE_NEEDS_RESET ends the server).
 */
static void *watch(void *arg)
{
	struct vv_device *dev = vv_blk_device(blk);
	int config_fd = vv_device_config_eventfd(dev);
	struct pollfd p[3] = {
		{.fd = stop_fd, .events = POLLIN},
		{.fd = vv_device_removal_eventfd(dev), .events = POLLIN},
		{.fd = -1, .events = POLLIN},
	};
	uint64_t n;

	/* A config vector shared with a queue is the queue's reaper's to read. */
	for (unsigned q = 0; q < vv_blk_num_queues(blk); q++)
		if (config_fd == vv_blk_queue_eventfd(blk, q))
			config_fd = -1;
	p[2].fd = config_fd;
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			device_lost("the device is being removed (hot-unplug)");
			vv_device_abort(dev);
			p[1].fd = -1;
			p[2].fd = -1;
		}
		if (p[2].revents & POLLIN) {
			bool changed = false;

			if (read(p[2].fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				break;
			if (nbd_io_refresh(io, &changed)) {
				device_lost("the device needs a reset or reports a bad capacity");
				p[2].fd = -1;
			} else if (changed) {
				nbdkit_debug("%s: capacity now %" PRIu64 " sectors", bdf,
					     vv_blk_capacity(blk));
			}
		}
	}
	return NULL;
}

static int vvnbd_after_fork(void)
{
	int ret;

	if (open_device())
		return -1;
	ret = nbd_io_open(blk, &io);
	if (ret) {
		nbd_open_error(bdf, ret);
		goto close_blk;
	}
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0 || pthread_create(&watcher, NULL, watch, NULL)) {
		nbdkit_error("%s: cannot start the watcher thread", bdf);
		goto close_io;
	}
	watching = true;
	nbdkit_debug("%s: serving %" PRIu64 " sectors of %u bytes on %u queue(s)%s", bdf,
		     vv_blk_capacity(blk), info.blk_size, vv_blk_num_queues(blk),
		     info.read_only ? ", read-only" : "");
	return 0;

close_io:
	if (stop_fd >= 0)
		close(stop_fd);
	stop_fd = -1;
	nbd_io_close(io);
	io = NULL;
close_blk:
	vv_blk_close(blk);
	blk = NULL;
	return -1;
}

static void vvnbd_cleanup(void)
{
	uint64_t one = 1;

	if (watching) {
		if (write(stop_fd, &one, sizeof(one)) < 0)
			nbdkit_debug("cannot stop the watcher: %m");
		pthread_join(watcher, NULL);
		watching = false;
	}
	if (stop_fd >= 0)
		close(stop_fd);
	stop_fd = -1;
	nbd_io_close(io);
	io = NULL;
	vv_blk_close(blk); /* resets the device; a pending removal completes now */
	blk = NULL;
}

/* Every connection shares the one device: the handle carries nothing. */
static void *vvnbd_open(int readonly)
{
	if (!blk) {
		nbdkit_error("%s: the device is not open", bdf);
		return NULL;
	}
	return &blk;
}

static void vvnbd_close(void *handle)
{
}

static int64_t vvnbd_get_size(void *handle)
{
	uint64_t bytes = vv_blk_capacity(blk) * SECTOR;

	/* A trailing partial block cannot be addressed. */
	return (int64_t)(bytes / nbd_io_align(io) * nbd_io_align(io));
}

static int vvnbd_block_size(void *handle, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	uint32_t align = nbd_io_align(io);

	/* Smaller or unaligned requests work (a write's edges are read and patched), slowly. */
	*minimum = align;
	*preferred = align > 4096 ? align : 4096;
	*maximum = 0xffffffff;
	return 0;
}

static int vvnbd_can_write(void *handle)
{
	return !info.read_only;
}

static int vvnbd_can_flush(void *handle)
{
	return 1;
}

static int vvnbd_is_rotational(void *handle)
{
	return 0;
}

static int vvnbd_can_trim(void *handle)
{
	return info.discard && !info.read_only;
}

static int vvnbd_can_zero(void *handle)
{
	/* Without WRITE_ZEROES nbdkit still offers zeroing, writing zeroes through .pwrite. */
	return info.write_zeroes;
}

static int vvnbd_can_fast_zero(void *handle)
{
	return info.write_zeroes;
}

static int vvnbd_can_fua(void *handle)
{
	/* FUA is a flush after the write when the device caches writes, nothing when not. */
	return NBDKIT_FUA_NATIVE;
}

/*
 * Safe: every connection drives the same device, and a virtio-blk FLUSH covers all the
 * writes it completed, whichever queue they came on (5.2.6: VIRTIO_BLK_T_FLUSH).
 */
static int vvnbd_can_multi_conn(void *handle)
{
	return 1;
}

/* Hands @ret (-errno) to the client, noticing a device that is gone. */
static int fail(int ret)
{
	if (ret == -EIO && vv_device_aborted(vv_blk_device(blk)))
		device_lost("the device was lost (removed, reset or broke the protocol)");
	nbdkit_set_error(-ret);
	return -1;
}

static int flush_if_cached(uint32_t flags)
{
	int ret;

	if (!(flags & NBDKIT_FLAG_FUA) || !info.writeback)
		return 0;
	ret = nbd_io_flush(io);
	return ret ? fail(ret) : 0;
}

static int vvnbd_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	int ret = nbd_io_rw(io, false, buf, count, offset);

	return ret ? fail(ret) : 0;
}

static int vvnbd_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	int ret = nbd_io_rw(io, true, (void *)buf, count, offset);

	return ret ? fail(ret) : flush_if_cached(flags);
}

static int vvnbd_flush(void *handle, uint32_t flags)
{
	int ret = nbd_io_flush(io);

	return ret ? fail(ret) : 0;
}

/* Whole blocks only: the rest of an unaligned trim is left alone, which NBD allows. */
static int vvnbd_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint32_t align = nbd_io_align(io);
	uint64_t start = (offset + align - 1) / align * align;
	uint64_t end = (offset + count) / align * align;
	int ret = 0;

	if (end > start)
		ret = nbd_io_discard(io, start, end - start);
	return ret ? fail(ret) : flush_if_cached(flags);
}

static int vvnbd_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint32_t align = nbd_io_align(io);
	int ret;

	/*
	 * Unaligned: EOPNOTSUPP makes nbdkit write the zeroes through .pwrite, which patches
	 * the edges; a fast zero may not fall back, so it is refused with ENOTSUP.
	 */
	if (offset % align || count % align) {
		nbdkit_set_error(flags & NBDKIT_FLAG_FAST_ZERO ? ENOTSUP : EOPNOTSUPP);
		return -1;
	}
	ret = nbd_io_write_zeroes(io, offset, count, flags & NBDKIT_FLAG_MAY_TRIM);
	if (ret == -EOPNOTSUPP && (flags & NBDKIT_FLAG_FAST_ZERO))
		ret = -ENOTSUP;
	return ret ? fail(ret) : flush_if_cached(flags);
}

static struct nbdkit_plugin plugin = {
	.name = "virtio-vfio",
	.longname = "nbdkit virtio-vfio plugin: a virtio-blk disk driven in userspace",
	.version = VV_VERSION,
	.description = "Serves a virtio-blk function bound to vfio-pci, through libvirtio-vfio.",
	.load = vvnbd_load,
	.config = vvnbd_config,
	.config_complete = vvnbd_config_complete,
	.config_help = vvnbd_config_help,
	.magic_config_key = "device",
	.get_ready = vvnbd_get_ready,
	.after_fork = vvnbd_after_fork,
	.cleanup = vvnbd_cleanup,
	.open = vvnbd_open,
	.close = vvnbd_close,
	.get_size = vvnbd_get_size,
	.block_size = vvnbd_block_size,
	.can_write = vvnbd_can_write,
	.can_flush = vvnbd_can_flush,
	.is_rotational = vvnbd_is_rotational,
	.can_trim = vvnbd_can_trim,
	.can_zero = vvnbd_can_zero,
	.can_fast_zero = vvnbd_can_fast_zero,
	.can_fua = vvnbd_can_fua,
	.can_multi_conn = vvnbd_can_multi_conn,
	.pread = vvnbd_pread,
	.pwrite = vvnbd_pwrite,
	.flush = vvnbd_flush,
	.trim = vvnbd_trim,
	.zero = vvnbd_zero,
	.errno_is_preserved = 0,
};

/* Many worker threads per connection: io.c shares the queues among them. */
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* The macro defines it; declared for -Wmissing-prototypes. */
NBDKIT_DLL_PUBLIC struct nbdkit_plugin *plugin_init(void);

NBDKIT_REGISTER_PLUGIN(plugin)
