/* SPDX-License-Identifier: MIT */
/* cli.h - what the subcommands of the virtio-vfio tool share. */
#ifndef VV_CLI_H
#define VV_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "util/compiler.h"

/* Exit codes of every subcommand, as documented in virtio-vfio(1). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	/* the command could not do its job; the message says why */
	EXIT_USAGE = 2, /* bad command line */
};

extern const char *prog;
/*
 * Whether each line on stderr starts with "<N>", its syslog priority: set when stderr is the
 * journal, or logfwd's pipe to syslog, both of which read it (the library's log levels are
 * syslog's numbers).
 */
extern bool cli_log_levels;

/*
 * How to turn an IOMMU on, for attach and doctor. The no-IOMMU mode is named because users
 * find it, and its price with it: it is no way around the IOMMU for us.
 */
#define CLI_IOMMU_HOWTO                                                                            \
	"enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on (AMD: amd_iommu=on) "   \
	"iommu=pt; in QEMU add '-device intel-iommu,intremap=on,caching-mode=on' before every "    \
	"PCI device. (vfio.enable_unsafe_noiommu_mode=1 drives devices with no IOMMU at all, but " \
	"then a device can DMA anywhere in memory: no isolation, root only, it taints the "        \
	"kernel and needs CONFIG_VFIO_NOIOMMU; virtio-vfio does not use it.)"
/* What a kernel without VFIO lacks. */
#define CLI_VFIO_HOWTO                                                                         \
	"the kernel needs CONFIG_VFIO_PCI and CONFIG_VFIO_IOMMU_TYPE1 (Debian's kernels have " \
	"both, as modules): modprobe vfio-pci vfio_iommu_type1"

void cli_err(const char *fmt, ...) VV_PRINTF(1, 2);

#include <virtio-vfio/ids.h>

#include "util/sysfs.h"

int cli_parse_json_help(int argc, char **argv, void (*usage)(FILE *out), bool *ret_json);
/* device.c */
int cli_resolve_virtio(const char *arg, char bdf[PCI_BDF_LEN]);
int cli_virtio_type(const char *bdf);
int cli_attached_device(const char *arg, int type, const char *purpose, const char *busy_hint,
			char bdf[PCI_BDF_LEN]);
/* An attached virtio-blk function, for the blk commands. */
static inline int cli_blk_device(const char *arg, const char *busy_hint, char bdf[PCI_BDF_LEN])
{
	return cli_attached_device(arg, VV_VIRTIO_BLK, "the blk commands drive disks", busy_hint,
				   bdf);
}
int blk_bench(int argc, char **argv);
int blk_mount(int argc, char **argv);
int net_bench(int argc, char **argv);
int net_serve(int argc, char **argv);
int blk_export(int argc, char **argv);

/*
 * -v, --verbose: a global option that every command accepts too, so that it works after the
 * command name as well as before it. Each one raises the log level (info, then debug).
 */
#define CLI_OPT_VERBOSE                           \
	{                                         \
		"verbose", no_argument, NULL, 'v' \
	}
void cli_verbose(void);
void cli_skip_verbose(int *argc, char ***argv);

/* The "version" field of every --json document: the schema of virtio-vfio(1), JSON OUTPUT. */
#define CLI_JSON_SCHEMA 1

int cmd_attach(int argc, char **argv);
int cmd_blk(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif /* VV_CLI_H */
