// SPDX-License-Identifier: MIT
/*
 * blk_export.c - `virtio-vfio blk export --ublk`: an attached virtio-blk function as a real
 * block device, /dev/ublkbN, served by this process through the kernel's ublk driver
 * (ublk/ublk.h); with --recover, picks up the /dev/ublkbN a killed server left waiting.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "daemon.h"
#include "json.h"
#include "logfwd.h"
#include "service.h"
#include "status.h"
#include "ublk.h"

enum { OPT_UBLK = 0x160, OPT_QUEUES, OPT_DEPTH, OPT_RECOVER };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s blk export --ublk [--queues N] [--depth N] [--recover] [-F]\n"
		"                       [--pidfile FILE] [--json] DEVICE\n"
		"\n"
		"Export an attached virtio-blk function as a block device, /dev/ublkbN, served by\n"
		"this process through the kernel's ublk driver (Linux 6.0+, module ublk_drv):\n"
		"partition it, mkfs it, mount it. Its size, block sizes, cache, discard,\n"
		"write-zeroes and read-only come from the device. Prints the block device once it\n"
		"is there and keeps serving in the background; SIGTERM or SIGINT removes it (after\n"
		"syncing what is mounted on it), flushes and resets the device. If the server is\n"
		"killed, /dev/ublkbN waits, its I/O held, until --recover picks it up.\n"
		"\n"
		"Options:\n"
		"      --ublk         export through ublk (the only kind of export today)\n"
		"      --queues N     ublk queues, each a virtqueue and a thread (default: all the\n"
		"                     device has; the kernel allows at most one per CPU)\n"
		"      --depth N      requests in flight per queue, 1 to %d (default %d); each\n"
		"                     holds a DMA buffer of the largest request (512 KiB)\n"
		"      --recover      serve again the /dev/ublkbN of DEVICE whose server died\n"
		"                     (its queues and depth are kept); what was mounted stays\n"
		"  -F, --foreground   stay in the foreground\n"
		"      --pidfile FILE write the serving process's pid to FILE\n"
		"      --json         print the block device as JSON\n"
		"  -v, --verbose      log what the library does\n"
		"  -h, --help         show this help\n"
		"\n"
		"Without ublk in the kernel (Debian 12's 6.1 has none), 'blk mount' exports the disk\n"
		"as a file over FUSE.\n",
		prog, UBLK_DEPTH_MAX, UBLK_DEPTH_DEFAULT);
}

static int parse_num(const char *opt, const char *s, long max, unsigned *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max) {
		cli_err("blk export: %s wants a number from 1 to %ld, not '%s'", opt, max, s);
		return EXIT_USAGE;
	}
	*ret = (unsigned)v;
	return 0;
}

/* What the serving child tells the waiting parent: the device, or that it failed. */
struct ready_msg {
	int id;
	unsigned queues, depth;
};

struct ctx {
	int pipe_fd;
	bool json;
	const char *bdf;
	bool recover;
	/* `virtio-vfio status`: our socket, and what it reads (ublk_export_stats()). */
	struct status_srv *srv;
	struct ublk_export *ex;
	struct vv_blk *blk;
	char serial[21];
};

static void render(struct json *j, void *arg)
{
	struct ctx *c = arg;
	const struct vv_blk_info *info = vv_blk_get_info(c->blk);
	struct ublk_stats s;
	char dev[48], name[32];

	ublk_export_stats(c->ex, &s);
	snprintf(name, sizeof(name), "ublkb%d", s.id);
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	json_kv_str(j, "device", dev);
	json_kv_str(j, "access", info->read_only ? "ro" : "rw");
	json_kv_int(j, "workers", s.queues);
	json_kv_int(j, "depth", s.depth);
	json_kv_str(j, "state", s.stopping ? "stopping" : "serving");
	json_key(j, "devices");
	json_arr_begin(j);
	json_obj_begin(j);
	json_kv_str(j, "bdf", c->bdf);
	json_kv_str(j, "serial", c->serial);
	json_kv_str(j, "name", name);
	json_kv_str(j, "path", dev);
	json_kv_int(j, "size_bytes", (int64_t)(info->capacity * 512));
	json_kv_int(j, "block_size", info->blk_size);
	json_kv_int(j, "queues", s.queues);
	json_kv_str(j, "mode", vv_blk_queue_eventfd(c->blk, 0) >= 0 ? "interrupt" : "poll");
	json_kv_int(j, "requests",
		    (int64_t)(s.reads + s.writes + s.flushes + s.discards + s.write_zeroes));
	json_kv_int(j, "reads", (int64_t)s.reads);
	json_kv_int(j, "writes", (int64_t)s.writes);
	json_kv_int(j, "flushes", (int64_t)s.flushes);
	json_kv_int(j, "discards", (int64_t)s.discards);
	json_kv_int(j, "write_zeroes", (int64_t)s.write_zeroes);
	json_kv_int(j, "bytes_read", (int64_t)s.bytes_read);
	json_kv_int(j, "bytes_written", (int64_t)s.bytes_written);
	json_kv_int(j, "errors", (int64_t)s.errors);
	json_kv_int(j, "in_flight", (int64_t)s.in_flight);
	json_kv_int(j, "resets", s.lost);
	json_kv_str(j, "state", s.lost ? "lost" : "ok");
	json_obj_end(j);
	json_arr_end(j);
}

static void serving(struct ublk_export *ex, void *arg)
{
	struct ctx *c = arg;
	int ret;

	if (!ex) {
		/* The counters go away next: the thread that reads them first. */
		status_srv_close(c->srv);
		c->srv = NULL;
		return;
	}
	c->ex = ex;
	ret = status_srv_open("blk export", render, c, &c->srv);
	if (ret && ret != -ENOENT)
		fprintf(stderr, "%s: warning: no status endpoint: %s\n", prog, strerror(-ret));
}

static void print_ready(const struct ctx *c, const struct ready_msg *m, pid_t pid)
{
	if (c->json) {
		struct json j;
		char dev[32];

		snprintf(dev, sizeof(dev), "/dev/ublkb%d", m->id);
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_int(&j, "version", CLI_JSON_SCHEMA);
		json_kv_str(&j, "bdf", c->bdf);
		json_kv_str(&j, "device", dev);
		json_kv_int(&j, "ublk_id", m->id);
		json_kv_int(&j, "queues", m->queues);
		json_kv_int(&j, "depth", m->depth);
		json_kv_int(&j, "pid", pid);
		json_kv_bool(&j, "recovered", c->recover);
		json_obj_end(&j);
		putchar('\n');
	} else {
		printf("%s: /dev/ublkb%d%s (%u queue%s, depth %u)\n", c->bdf, m->id,
		       c->recover ? " recovered" : "", m->queues, m->queues == 1 ? "" : "s",
		       m->depth);
	}
	fflush(stdout);
}

static void on_ready(void *arg, int id, unsigned queues, unsigned depth)
{
	struct ctx *c = arg;
	struct ready_msg m = {id, queues, depth};

	if (c->pipe_fd < 0)
		print_ready(c, &m, getpid());
	daemon_ready(&c->pipe_fd, &m, sizeof(m));
}

/* The parent prints what the child, now serving, reports. */
static void parent_ready(void *ctx, const void *msg, pid_t child)
{
	print_ready(ctx, msg, child);
}

int blk_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ublk", no_argument, NULL, OPT_UBLK},
		{"queues", required_argument, NULL, OPT_QUEUES},
		{"depth", required_argument, NULL, OPT_DEPTH},
		{"recover", no_argument, NULL, OPT_RECOVER},
		{"foreground", no_argument, NULL, 'F'},
		{"pidfile", required_argument, NULL, OPT_PIDFILE},
		{"json", no_argument, NULL, 'j'},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct ublk_opts uo = {.recover_id = -1};
	struct ctx ctx = {.pipe_fd = -1};
	struct ublk_found found;
	const char *pidfile = NULL;
	bool ublk = false, foreground = false, queues_set = false, depth_set = false;
	char bdf[PCI_BDF_LEN], why[256];
	struct vv_blk *blk = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+Fvh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_UBLK:
			ublk = true;
			break;
		case OPT_QUEUES:
			if (parse_num("--queues", optarg, 1024, &uo.queues))
				return EXIT_USAGE;
			queues_set = true;
			break;
		case OPT_DEPTH:
			if (parse_num("--depth", optarg, UBLK_DEPTH_MAX, &uo.depth))
				return EXIT_USAGE;
			depth_set = true;
			break;
		case OPT_RECOVER:
			ctx.recover = true;
			break;
		case 'F':
			foreground = true;
			break;
		case OPT_PIDFILE:
			pidfile = optarg;
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'v':
			cli_verbose();
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!ublk) {
		cli_err("blk export: say how to export: --ublk (a block device, /dev/ublkbN); "
			"'blk mount' exports disks as files over FUSE");
		return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		cli_err("blk export: give one DEVICE");
		return EXIT_USAGE;
	}
	if (ctx.recover && (queues_set || depth_set)) {
		cli_err("blk export: --recover keeps the queues and depth /dev/ublkbN has; "
			"drop --queues and --depth");
		return EXIT_USAGE;
	}
	if (ublk_available(why, sizeof(why))) {
		cli_err("blk export --ublk: %s. 'virtio-vfio blk mount %s DIR' exports the disk "
			"as a file over FUSE instead",
			why, argv[optind]);
		return EXIT_FAIL;
	}
	ret = cli_blk_device(argv[optind], "(exported already? see 'virtio-vfio list')", bdf);
	if (ret)
		return ret;
	ctx.bdf = bdf;

	/* A ublk device of this function whose server died: only --recover may take it. */
	ret = ublk_find(bdf, &found);
	if (ret < 0) {
		cli_err("blk export: looking for ublk devices: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	if (ctx.recover) {
		if (!ret) {
			cli_err("blk export --recover: no /dev/ublkbN of %s waits for a server",
				bdf);
			return EXIT_FAIL;
		}
		if (found.server_alive) {
			cli_err("blk export --recover: /dev/ublkb%d of %s is served by pid %d",
				found.id, bdf, found.pid);
			return EXIT_FAIL;
		}
		if (!found.recoverable) {
			cli_err("blk export --recover: /dev/ublkb%d was made without user recovery",
				found.id);
			return EXIT_FAIL;
		}
		uo.recover_id = found.id;
		uo.queues = found.queues;
		uo.depth = found.depth;
	} else if (ret) {
		cli_err("blk export: /dev/ublkb%d of %s %s: 'blk export --ublk --recover %s' "
			"picks it up",
			found.id, bdf,
			found.server_alive ? "exists already" : "waits for its server (it died)",
			argv[optind]);
		return EXIT_FAIL;
	}

	if (!foreground &&
	    (ret = daemon_start(sizeof(struct ready_msg), parent_ready, &ctx, &ctx.pipe_fd))) {
		cli_err("blk export: cannot daemonize: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	/* I/O through our own block device must not wait on our writeback: best effort. */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);

	ret = vv_blk_open_opts(bdf, &(struct vv_blk_opts){.num_queues = uo.queues}, &blk);
	if (ret == -EBUSY)
		cli_err("%s: busy: its IOMMU group is not viable, or another process opened it "
			"first (the error above says which)",
			bdf);
	else if (ret == -EINVAL && uo.queues)
		cli_err("%s: cannot open %u queues: %s", bdf, uo.queues, strerror(-ret));
	else if (ret)
		cli_err("%s: cannot open as a virtio-blk device: %s", bdf, strerror(-ret));
	if (!ret && pidfile && (ret = svc_pidfile_write(pidfile))) {
		cli_err("blk export: --pidfile %s: %s", pidfile, strerror(-ret));
		pidfile = NULL;
	}
	if (!ret) {
		/* Asked now, while no queue thread drives queue 0: for `virtio-vfio status`. */
		if (vv_blk_get_id(blk, ctx.serial))
			ctx.serial[0] = 0;
		ctx.blk = blk;
		uo.serving = serving;
		uo.serving_ctx = &ctx;
		ret = ublk_export_run(blk, bdf, &uo, on_ready, &ctx);
		status_srv_close(ctx.srv);
	}
	svc_notify("STOPPING=1");
	vv_blk_close(blk);
	svc_pidfile_remove(pidfile);
	logfwd_stop();
	return ret ? EXIT_FAIL : EXIT_OK;
}
