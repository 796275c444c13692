// SPDX-License-Identifier: MIT
/* main.c - entry point of the virtio-vfio tool: global options and subcommand dispatch. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "service.h"

const char *prog = "virtio-vfio";
bool cli_log_levels;

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"list", cmd_list, "list virtio PCI functions, their drivers, groups and users"},
	{"attach", cmd_attach, "bind virtio functions to vfio-pci, refusing ones in use"},
	{"detach", cmd_detach, "give attached functions back to their kernel driver"},
	{"doctor", cmd_doctor, "check IOMMU, VFIO, limits (and a DEVICE) and print fixes"},
	{"blk", cmd_blk, "blk mount: disks as files over FUSE; blk bench: the library's speed"},
	{"info", cmd_info, "open an attached function and show caps, features, queues, config"},
	{"net", cmd_net, "net serve: a TCP/IP stack (lwIP); net bench: the frame API's speed"},
	{"status", cmd_status, "what 'blk mount' and 'net serve' serve, with live counters"},
};

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s: ", cli_log_levels ? "<3>" : "", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Parses the options shared by the read-only commands: --json, --verbose and --help. Returns -1 to
 * go on (optind at the first operand), or the exit code to return now.
 */
int cli_parse_json_help(int argc, char **argv, void (*usage)(FILE *out), bool *ret_json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	*ret_json = false;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*ret_json = true;
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
	return -1;
}

static void log_to_stderr(void *opaque, enum vv_log_level level, const char *msg)
{
	const char *err = level <= VV_LOG_ERR ? "error: " : "";

	/* The library's levels are syslog's numbers: the journal (or logfwd) keeps them as such.
	 * One call, one write: the prefix must start the line whichever thread logs too. */
	if (cli_log_levels)
		fprintf(stderr, "<%d>%s: %s%s\n", (int)level, prog, err, msg);
	else
		fprintf(stderr, "%s: %s%s\n", prog, err, msg);
}

static int verbose;

void cli_verbose(void)
{
	verbose++;
	vv_set_log_fn(log_to_stderr, NULL, verbose > 1 ? VV_LOG_DEBUG : VV_LOG_INFO);
}

/* "blk -v bench": -v between a command and its subcommand, taken before the subcommand. */
void cli_skip_verbose(int *argc, char ***argv)
{
	while (*argc > 1 && (!strcmp((*argv)[1], "-v") || !strcmp((*argv)[1], "--verbose"))) {
		cli_verbose();
		(*argv)[1] = (*argv)[0];
		(*argv)++;
		(*argc)--;
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Drive virtio-pci devices from userspace through VFIO.\n"
		"\n"
		"Commands:\n",
		prog);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n"
		     "Options:\n"
		     "  -v, --verbose   log what the library does (repeat for debug output);\n"
		     "                  accepted after COMMAND too\n"
		     "  -h, --help      show this help; COMMAND --help shows a command's help\n"
		     "  -V, --version   show the version\n"
		     "\n"
		     "See virtio-vfio(1) for details.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	static char prog_name[] = "virtio-vfio";
	int c;

	/* getopt's messages name argv[0]: "virtio-vfio", not the path it was run by. */
	argv[0] = prog_name;
	/* Before anything is said: under systemd, each line carries its syslog priority. */
	cli_log_levels = svc_stderr_is_journal();
	/* '+': stop at the command name; the command parses its own options. */
	while ((c = getopt_long(argc, argv, "+vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_verbose();
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", prog, vv_version());
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!verbose && !getenv("VV_LOG"))
		vv_set_log_fn(log_to_stderr, NULL, VV_LOG_WARN);

	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			static char cmd_argv0[64];

			/* getopt's own messages then read "virtio-vfio list: ..." */
			snprintf(cmd_argv0, sizeof(cmd_argv0), "%s %s", prog, commands[i].name);
			argv += optind;
			argv[0] = cmd_argv0;
			argc -= optind;
			optind = 0; /* getopt restarts for the command's own options */
			return commands[i].fn(argc, argv);
		}
	}
	cli_err("unknown command '%s'; see '%s --help'", argv[optind], prog);
	return EXIT_USAGE;
}
