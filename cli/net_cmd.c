// SPDX-License-Identifier: MIT
/*
 * net_cmd.c - `virtio-vfio net`: picks the subcommand. `net bench` needs only the library;
 * `net serve` comes with lwIP, so a build without liblwip-dev still has bench.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s net serve DEVICE --ip ADDR/PREFIX [OPTIONS]   (see net serve --help)\n"
		"       %s net bench [OPTIONS] DEVICE                    (see net bench --help)\n"
		"\n"
		"serve: a userspace TCP/IP stack (lwIP) on an attached virtio-net function%s.\n"
		"bench: frames/s, Gbit/s and round trips of an attached NIC, through the library\n"
		"       alone.\n",
		prog, prog,
#ifdef HAVE_LWIP
		""
#else
		" (not in this build: it was built without liblwip-dev)"
#endif
	);
}

#ifndef HAVE_LWIP
int net_serve(int argc, char **argv)
{
	cli_err("net serve: this virtio-vfio was built without lwIP (liblwip-dev); net bench "
		"works without it");
	return EXIT_FAIL;
}
#endif

int cmd_net(int argc, char **argv)
{
	static char name[80];
	bool bench;

	cli_skip_verbose(&argc, &argv);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	bench = !strcmp(argv[1], "bench");
	if (!bench && strcmp(argv[1], "serve")) {
		cli_err("net: unknown subcommand '%s' (serve, bench)", argv[1]);
		return EXIT_USAGE;
	}
	/* getopt's own messages then read "virtio-vfio net bench: ..." */
	snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
	argv[1] = name;
	return bench ? net_bench(argc - 1, argv + 1) : net_serve(argc - 1, argv + 1);
}
