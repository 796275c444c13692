// SPDX-License-Identifier: MIT
/*
 * blk_mount.c - `virtio-vfio blk mount`: export attached virtio-blk devices as files over
 * FUSE, each named by its serial when that is a safe file name, else vvblkN.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "daemon.h"
#include "export.h"
#include "logfwd.h"
#include "service.h"
#include "status.h"
#include "util/escape.h"

#define MAX_DEVS 16

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s blk mount [-F] [-o OPTIONS] [--pidfile FILE] DEVICE... MOUNTPOINT\n"
		"\n"
		"Export attached virtio-blk functions as regular files whose size is the disk's\n"
		"capacity: usable by losetup, mkfs, fio, tar, qemu-img and databases. Each file\n"
		"is named by the disk's serial when that is a safe file name (letters, digits,\n"
		"_ + . -), else vvblkN (N: its place among the DEVICEs); its PCI address also\n"
		"opens it (MOUNTPOINT/0000:01:00.0), though ls does not show that name.\n"
		"Returns once the mount is ready and keeps serving in the background;\n"
		"umount (or SIGTERM) drains in-flight I/O, flushes and resets the devices.\n"
		"\n"
		"Options:\n"
		"  -F, --foreground        stay in the foreground\n"
		"  -o, --options OPTIONS   comma-separated: ro, allow_other, fsname=NAME (the\n"
		"                          source /proc/mounts shows; default virtio-vfio),\n"
		"                          queues=N (virtqueues per device, and worker threads;\n"
		"                          default 1)\n"
		"      --pidfile FILE      write the serving process's pid to FILE\n"
		"  -v, --verbose           log what the library does\n"
		"  -h, --help              show this help\n"
		"\n"
		"Under systemd (Type=notify) it reports readiness once the mount is up; see\n"
		"virtio-vfio-blk@.service and mount.virtio-vfio(8) for fstab.\n",
		prog);
}

static int parse_opts(char *s, struct export_opts *o)
{
	for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "ro"))
			o->read_only = true;
		else if (!strcmp(tok, "rw"))
			o->read_only = false;
		else if (!strcmp(tok, "allow_other"))
			o->allow_other = true;
		else if (!strncmp(tok, "fsname=", 7)) {
			const char *v = tok + 7;

			/* It goes into FUSE's own option string and /proc/mounts: plain text only.
			 */
			if (!*v || strlen(v) > 200 || strpbrk(v, ",\\ \t\n") ||
			    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789:._-/@+=") != strlen(v)) {
				cli_err("blk mount: -o fsname wants letters, digits and :._-/@+= "
					"(at most 200), not '%s'",
					v);
				return EXIT_USAGE;
			}
			o->fsname = v;
		} else if (!strncmp(tok, "queues=", 7)) {
			char *end;
			long v;

			errno = 0;
			v = strtol(tok + 7, &end, 10);
			if (errno || end == tok + 7 || *end || v < 1 || v > 1024) {
				cli_err("blk mount: -o queues wants a number from 1 to 1024, not '%s'",
					tok + 7);
				return EXIT_USAGE;
			}
			o->queues = (unsigned)v;
		} else {
			cli_err("blk mount: unknown option '%s'", tok);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* The mount is up: the service manager and the parent waiting on the pipe hear it. */
static void tell_parent(void *ctx)
{
	daemon_ready(ctx, "OK", 2);
}

/*
 * The file names: a disk's serial (VIRTIO_BLK_T_GET_ID) when it is a safe file name and no
 * other disk of the mount has it, else vvblkN (N: its place on the command line). The serial
 * comes from the device, outside the trust boundary: escape_is_safe_name() decides, and a
 * serial spelled like one of our vvblkN names is not taken either.
 */
static void file_names(struct vv_blk **blks, int n, char files[][32])
{
	char serial[MAX_DEVS][21];

	for (int i = 0; i < n; i++) {
		if (vv_blk_get_id(blks[i], serial[i]) || !escape_is_safe_name(serial[i], 20) ||
		    (!strncmp(serial[i], "vvblk", 5) && isdigit((unsigned char)serial[i][5])))
			serial[i][0] = '\0';
	}
	for (int i = 0; i < n; i++) {
		bool dup = false;

		for (int k = 0; k < n && *serial[i]; k++)
			dup |= k != i && !strcmp(serial[i], serial[k]);
		if (*serial[i] && !dup)
			snprintf(files[i], 32, "%.20s", serial[i]);
		else
			snprintf(files[i], 32, "vvblk%d", i);
	}
}

int blk_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'F'},
		{"options", required_argument, NULL, 'o'},
		{"pidfile", required_argument, NULL, OPT_PIDFILE},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct export_opts eo = {0};
	const char *pidfile = NULL;
	struct blk_status bs;
	char bdfs[MAX_DEVS][PCI_BDF_LEN];
	const char *names[MAX_DEVS], *fnames[MAX_DEVS];
	char files[MAX_DEVS][32];
	struct vv_blk *blks[MAX_DEVS] = {0};
	bool foreground = false;
	const char *mnt;
	struct stat st;
	struct statfs sfs;
	int c, n, ret, pipe_fd = -1;

	while ((c = getopt_long(argc, argv, "+Fo:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			foreground = true;
			break;
		case 'v':
			cli_verbose();
			break;
		case 'o':
			if (parse_opts(optarg, &eo))
				return EXIT_USAGE;
			break;
		case OPT_PIDFILE:
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	n = argc - optind - 1;
	if (n < 1 || n > MAX_DEVS) {
		cli_err("blk mount: give 1 to %d DEVICEs and a MOUNTPOINT", MAX_DEVS);
		return EXIT_USAGE;
	}
	mnt = argv[argc - 1];
	/* statfs() always reaches a FUSE daemon (stat() may be answered from the attr cache). */
	if (stat(mnt, &st) || statfs(mnt, &sfs)) {
		if (errno == ENOTCONN)
			/* A FUSE mount whose daemon died: the kernel keeps it until unmounted. */
			cli_err("blk mount: %s is a stale FUSE mount (its daemon is gone): clear it "
				"with 'umount %s', then mount again",
				mnt, mnt);
		else
			cli_err("blk mount: mountpoint %s: %s", mnt, strerror(errno));
		return EXIT_FAIL;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_err("blk mount: mountpoint %s: not a directory", mnt);
		return EXIT_FAIL;
	}
	/* Checked before forking, so that the caller hears what is wrong. */
	for (int i = 0; i < n; i++) {
		ret = cli_blk_device(argv[optind + i],
				     "(mounted already? see 'findmnt -t fuse.virtio-vfio')",
				     bdfs[i]);
		if (ret)
			return ret;
		names[i] = bdfs[i];
	}

	if (!foreground && (ret = daemon_start(2, NULL, NULL, &pipe_fd))) {
		cli_err("blk mount: cannot daemonize: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	/* Writeback through our own mount must not wait on us (deadlock): best effort. */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);

	ret = 0;
	for (int i = 0; i < n && !ret; i++) {
		/* One queue unless asked: one worker drives it (fuse/export.c says why). */
		ret = vv_blk_open(bdfs[i], eo.queues ? eo.queues : 1, &blks[i]);
		if (ret == -EBUSY)
			cli_err("%s: busy: its IOMMU group is not viable, or another process opened "
				"it first (the error above says which)",
				bdfs[i]);
		else if (ret)
			cli_err("%s: cannot open as a virtio-blk device: %s", bdfs[i],
				strerror(-ret));
	}
	/* Before the parent returns: whoever reads the pidfile then finds the serving process. */
	if (!ret && pidfile && (ret = svc_pidfile_write(pidfile))) {
		cli_err("blk mount: --pidfile %s: %s", pidfile, strerror(-ret));
		pidfile = NULL;
	}
	if (!ret) {
		file_names(blks, n, files);
		for (int i = 0; i < n; i++)
			fnames[i] = files[i];
		/* `virtio-vfio status` reads this process's counters through a socket. */
		blk_status_init(&bs, blks, fnames, (unsigned)n, mnt, &eo);
		eo.serving = blk_status_serving;
		eo.serving_ctx = &bs;
		ret = export_run(blks, names, fnames, (unsigned)n, mnt, &eo, tell_parent, &pipe_fd);
		blk_status_fini(&bs);
	}
	/* Already unmounted, drained and flushed: what is left is closing the devices. */
	svc_notify("STOPPING=1");
	for (int i = 0; i < n; i++)
		vv_blk_close(blks[i]);
	svc_pidfile_remove(pidfile);
	logfwd_stop();
	return ret ? EXIT_FAIL : EXIT_OK;
}
