// SPDX-License-Identifier: MIT
/* blk.c - `virtio-vfio blk mount`: export attached virtio-blk devices as files over FUSE. */
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
#include "export.h"
#include "logfwd.h"

#define MAX_DEVS 16

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s blk mount [-f] [-o OPTIONS] DEVICE... MOUNTPOINT\n"
		"       %s blk bench [OPTIONS] DEVICE   (see blk bench --help)\n"
		"\n"
		"Export attached virtio-blk functions as regular files MOUNTPOINT/<BDF> whose\n"
		"size is the disk's capacity: usable by losetup, mkfs, fio and databases.\n"
		"Returns once the mount is ready and keeps serving in the background;\n"
		"umount (or SIGTERM) drains in-flight I/O, flushes and resets the devices.\n"
		"\n"
		"Options:\n"
		"  -f, --foreground  stay in the foreground\n"
		"  -o OPTIONS        comma-separated: ro, allow_other,\n"
		"                    queues=N (virtqueues per device, and worker threads;\n"
		"                    default 1)\n"
		"  -h, --help        show this help\n",
		prog, prog);
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
		else if (!strncmp(tok, "queues=", 7)) {
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

/* The parent of a daemonizing mount waits for one of these on the pipe. */
static void tell_parent(void *ctx)
{
	int *fd = ctx;

	if (*fd >= 0) {
		if (write(*fd, "OK", 2) != 2)
			(void)0;
		close(*fd);
		*fd = -1;
		/* Nobody reads our terminal any more: what we say goes to syslog (or nowhere). */
		logfwd_start("virtio-vfio");
	}
}

/*
 * Forks before any device is opened: DMA memory is pinned and not inherited across fork
 * (MADV_DONTFORK), so the process that serves must be the one that mapped it. The parent
 * returns 0 once the child says the mount is ready, 1 if the child failed (it printed why).
 */
static int daemonize(int *ret_fd)
{
	int p[2];
	pid_t pid;
	char buf[2];

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], buf, 2) == 2 && !memcmp(buf, "OK", 2))
			exit(EXIT_OK);
		waitpid(pid, NULL, 0);
		exit(EXIT_FAIL);
	}
	close(p[0]);
	setsid();
	*ret_fd = p[1];
	return 0;
}

static int blk_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct export_opts eo = {0};
	char bdfs[MAX_DEVS][PCI_BDF_LEN];
	const char *names[MAX_DEVS];
	struct vv_blk *blks[MAX_DEVS] = {0};
	bool foreground = false;
	const char *mnt;
	struct stat st;
	struct statfs sfs;
	int c, n, ret, pipe_fd = -1;

	while ((c = getopt_long(argc, argv, "+fo:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'o':
			if (parse_opts(optarg, &eo))
				return EXIT_USAGE;
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
		if (cli_blk_device(argv[optind + i],
				   "(mounted already? see 'findmnt -t fuse.virtio-vfio')", bdfs[i]))
			return EXIT_FAIL;
		names[i] = bdfs[i];
	}

	if (!foreground && (ret = daemonize(&pipe_fd))) {
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
	if (!ret)
		ret = export_run(blks, names, (unsigned)n, mnt, &eo, tell_parent, &pipe_fd);
	for (int i = 0; i < n; i++)
		vv_blk_close(blks[i]);
	logfwd_stop();
	return ret ? EXIT_FAIL : EXIT_OK;
}

int cmd_blk(int argc, char **argv)
{
	static char name[80];
	bool bench;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	bench = !strcmp(argv[1], "bench");
	if (!bench && strcmp(argv[1], "mount")) {
		cli_err("blk: unknown subcommand '%s' (mount, bench)", argv[1]);
		return EXIT_USAGE;
	}
	/* getopt's own messages then read "virtio-vfio blk mount: ..." */
	snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
	argv[1] = name;
	return bench ? blk_bench(argc - 1, argv + 1) : blk_mount(argc - 1, argv + 1);
}
