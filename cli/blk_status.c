// SPDX-License-Identifier: MIT
/*
 * blk_status.c - what `blk mount` tells `virtio-vfio status`: the mount, and for each device
 * its counters, summed over the export's workers (export_stats(): relaxed loads, no lock).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "export.h"
#include "status.h"

void blk_status_init(struct blk_status *bs, struct vv_blk *const *blks, const char *const *names,
		     unsigned n, const char *mountpoint, const struct export_opts *eo)
{
	*bs = (struct blk_status){.eo = eo,
				  .n = n < STATUS_MAX_DEVS ? n : STATUS_MAX_DEVS,
				  .blks = blks,
				  .names = names};
	/* Asked now, while no worker drives queue 0: an answer from the device, bounded. */
	for (unsigned i = 0; i < bs->n; i++)
		if (vv_blk_get_id(blks[i], bs->serial[i]))
			bs->serial[i][0] = 0;
	bs->mountpoint = realpath(mountpoint, NULL);
}

void blk_status_fini(struct blk_status *bs)
{
	status_srv_close(bs->srv);
	bs->srv = NULL;
	free(bs->mountpoint);
	bs->mountpoint = NULL;
}

static void render_dev(struct json *j, struct blk_status *bs, unsigned i)
{
	const struct vv_blk_info *info = vv_blk_get_info(bs->blks[i]);
	struct export_dev_stats s;
	char path[PATH_MAX];

	export_stats(bs->ex, i, &s);
	snprintf(path, sizeof(path), "%s/%s", bs->mountpoint ? bs->mountpoint : "", bs->names[i]);
	json_obj_begin(j);
	json_kv_str(j, "bdf", vv_device_bdf(vv_blk_device(bs->blks[i])));
	json_kv_str(j, "serial", bs->serial[i]);
	json_kv_str(j, "name", bs->names[i]);
	json_kv_str(j, "path", path);
	json_kv_int(j, "size_bytes", (int64_t)s.size_bytes);
	json_kv_int(j, "block_size", info->blk_size);
	json_kv_int(j, "queues", export_workers(bs->ex));
	json_kv_str(j, "mode", vv_blk_queue_eventfd(bs->blks[i], 0) >= 0 ? "interrupt" : "poll");
	json_kv_int(j, "requests", (int64_t)(s.reads + s.writes + s.flushes + s.fallocates));
	json_kv_int(j, "reads", (int64_t)s.reads);
	json_kv_int(j, "writes", (int64_t)s.writes);
	json_kv_int(j, "flushes", (int64_t)s.flushes);
	json_kv_int(j, "fallocates", (int64_t)s.fallocates);
	json_kv_int(j, "bytes_read", (int64_t)s.bytes_read);
	json_kv_int(j, "bytes_written", (int64_t)s.bytes_written);
	json_kv_int(j, "errors", (int64_t)s.errors);
	json_kv_int(j, "in_flight", (int64_t)s.in_flight);
	json_kv_int(j, "device_in_flight", (int64_t)s.dev_in_flight);
	json_kv_int(j, "resets", s.lost);
	json_kv_str(j, "state", s.lost ? "lost" : "ok");
	json_obj_end(j);
}

static void render(struct json *j, void *ctx)
{
	struct blk_status *bs = ctx;

	json_kv_str(j, "mountpoint", bs->mountpoint);
	json_kv_str(j, "access", bs->eo->read_only ? "ro" : "rw");
	json_kv_int(j, "workers", export_workers(bs->ex));
	json_kv_str(j, "state", export_stopping(bs->ex) ? "stopping" : "serving");
	json_key(j, "devices");
	json_arr_begin(j);
	for (unsigned i = 0; i < bs->n; i++)
		render_dev(j, bs, i);
	json_arr_end(j);
}

void blk_status_serving(struct export *ex, void *ctx)
{
	struct blk_status *bs = ctx;
	int ret;

	if (!ex) {
		/* The counters go away next: the thread that reads them first. */
		status_srv_close(bs->srv);
		bs->srv = NULL;
		return;
	}
	bs->ex = ex;
	ret = status_srv_open("blk mount", render, bs, &bs->srv);
	if (ret && ret != -ENOENT)
		fprintf(stderr, "%s: warning: no status endpoint: %s\n", prog, strerror(-ret));
}
