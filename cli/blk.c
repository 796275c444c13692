// SPDX-License-Identifier: MIT
/*
 * blk.c - `virtio-vfio blk`: picks the subcommand. `blk bench` needs only the library;
 * `blk mount` comes with the FUSE export, so a build without libfuse3 still has bench.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s blk mount [-F] [-o OPTIONS] DEVICE... MOUNTPOINT   (see blk mount --help)\n"
		"       %s blk export --ublk [OPTIONS] DEVICE                 (see blk export --help)\n"
		"       %s blk bench [OPTIONS] DEVICE                         (see blk bench --help)\n"
		"\n"
		"mount: export attached virtio-blk functions as files over FUSE%s.\n"
		"export: an attached virtio-blk function as a block device, /dev/ublkbN%s.\n"
		"bench: IOPS and latency of an attached disk, through the library alone.\n",
		prog, prog, prog,
#ifdef HAVE_FUSE
		"",
#else
		" (not in this build: it was built without libfuse3)",
#endif
#ifdef HAVE_UBLK
		""
#else
		" (not in this build: it was built without liburing)"
#endif
	);
}

#ifndef HAVE_FUSE
int blk_mount(int argc, char **argv)
{
	cli_err("blk mount: this virtio-vfio was built without libfuse3 (meson option 'fuse'); "
		"blk bench works without it");
	return EXIT_FAIL;
}
#endif

#ifndef HAVE_UBLK
int blk_export(int argc, char **argv)
{
	cli_err("blk export: this virtio-vfio was built without liburing (meson option 'ublk'); "
		"blk mount exports disks as files over FUSE");
	return EXIT_FAIL;
}
#endif

int cmd_blk(int argc, char **argv)
{
	static char name[80];
	bool bench, export;

	cli_skip_verbose(&argc, &argv);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	bench = !strcmp(argv[1], "bench");
	export = !strcmp(argv[1], "export");
	if (!bench && !export && strcmp(argv[1], "mount")) {
		cli_err("blk: unknown subcommand '%s' (mount, export, bench)", argv[1]);
		return EXIT_USAGE;
	}
	/* getopt's own messages then read "virtio-vfio blk mount: ..." */
	snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
	argv[1] = name;
	if (export)
		return blk_export(argc - 1, argv + 1);
	return bench ? blk_bench(argc - 1, argv + 1) : blk_mount(argc - 1, argv + 1);
}
