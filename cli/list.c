// SPDX-License-Identifier: MIT
/* list.c - `virtio-vfio list`: every virtio PCI function with its driver, group and users. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include <virtio-vfio/ids.h>

#include "cli.h"
#include "json.h"
#include "host/inuse.h"
#include "host/knames.h"
#include "host/persist.h"

#define SYSFS_PCI_DEVICES "/sys/bus/pci/devices"

struct entry {
	char bdf[PCI_BDF_LEN];
	uint16_t vendor, device;
	int type;
	char vendor_name[128];
	char device_name[128];
	char driver[64];
	int group; /* -1: no IOMMU group */
	struct kname knames[PCI_MAX_KNAMES];
	int nknames;
	int in_use;	      /* 1 yes, 0 no, < 0 could not tell (-errno) */
	struct pci_user user; /* user.what: the reason */
	int persistent;	      /* attach --persist recorded it: 1; 0 no; -EINVAL malformed */
	struct pci_persist rec;
};

/* libpci's error callback must not return; we jump back to the scan instead of exiting. */
static jmp_buf pci_error_jmp;
static char pci_error_msg[256];

static void __attribute__((noreturn, format(printf, 1, 2))) pci_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(pci_error_msg, sizeof(pci_error_msg), msg, ap);
	va_end(ap);
	longjmp(pci_error_jmp, 1);
}

static void __attribute__((format(printf, 1, 2))) pci_quiet(char *msg, ...)
{
}

static void lookup_names(struct pci_access *pacc, struct entry *e)
{
	char *s;

	s = pci_lookup_name(pacc, e->vendor_name, sizeof(e->vendor_name),
			    PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, e->vendor);
	if (!s)
		snprintf(e->vendor_name, sizeof(e->vendor_name), "Vendor %04x", e->vendor);
	s = pci_lookup_name(pacc, e->device_name, sizeof(e->device_name),
			    PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, e->vendor, e->device);
	if (!s)
		snprintf(e->device_name, sizeof(e->device_name), "Virtio %s device",
			 vv_virtio_type_name(e->type));
}

/* What sysfs says about a function beyond its identity: driver, group, names, users. */
static void fill_from_sysfs(struct entry *e)
{
	int ret;

	ret = pci_sysfs_driver(NULL, e->bdf, e->driver, sizeof(e->driver));
	if (ret)
		snprintf(e->driver, sizeof(e->driver), "?");
	ret = pci_sysfs_iommu_group(NULL, e->bdf);
	e->group = ret >= 0 ? ret : -1;
	ret = pci_persist_load(NULL, e->bdf, &e->rec);
	e->persistent = !ret ? 1 : ret == -EINVAL ? -EINVAL : 0;
	ret = pci_sysfs_knames(NULL, e->bdf, e->knames, PCI_MAX_KNAMES);
	e->nknames = ret > 0 ? ret : 0;
	e->in_use = pci_dev_in_use(NULL, e->bdf, &e->user);
	if (e->in_use < 0)
		snprintf(e->user.what, sizeof(e->user.what), "cannot tell: %s",
			 strerror(-e->in_use));
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->bdf, ((const struct entry *)b)->bdf);
}

/* Returns the number of entries, or -1 after printing why the scan failed. */
static int scan(struct entry **ret_entries)
{
	struct pci_access *volatile pacc = NULL;
	struct entry *volatile entries = NULL;
	volatile int n = 0;
	DIR *dir;

	/* libpci would fall back to other access methods or exit; say what is wrong instead. */
	dir = opendir(SYSFS_PCI_DEVICES);
	if (!dir) {
		cli_err("cannot read %s: %s (is sysfs mounted?)", SYSFS_PCI_DEVICES,
			strerror(errno));
		return -1;
	}
	closedir(dir);

	if (setjmp(pci_error_jmp)) {
		cli_err("libpci: %s", pci_error_msg);
		free(entries);
		/* pci_cleanup() is not safe after a failure part-way: leave it to exit. */
		return -1;
	}
	pacc = pci_alloc();
	pacc->error = pci_error;
	pacc->warning = pci_quiet;
	pacc->debug = pci_quiet;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	pci_init(pacc);
	pci_scan_bus(pacc);

	for (struct pci_dev *d = pacc->devices; d; d = d->next) {
		struct entry *e, *grown;

		pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_SUBSYS);
		if (!vv_pci_is_virtio(d->vendor_id, d->device_id))
			continue;
		grown = realloc(entries, (n + 1) * sizeof(*entries));
		if (!grown) {
			cli_err("out of memory");
			free(entries);
			pci_cleanup(pacc);
			return -1;
		}
		entries = grown;
		e = &entries[n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->bdf, sizeof(e->bdf), "%04x:%02x:%02x.%x", (unsigned)d->domain & 0xffff,
			 d->bus & 0xff, d->dev & 0x1f, d->func & 7);
		e->vendor = d->vendor_id;
		e->device = d->device_id;
		e->type = vv_pci_virtio_type(d->vendor_id, d->device_id, d->subsys_id);
		lookup_names(pacc, e);
		fill_from_sysfs(e);
	}
	pci_cleanup(pacc);
	if (n)
		qsort(entries, n, sizeof(*entries), cmp_entry);
	*ret_entries = entries;
	return n;
}

static const char *kname_kind_str(enum kname_kind k)
{
	switch (k) {
	case KNAME_BLOCK:
		return "block";
	case KNAME_NET:
		return "net";
	case KNAME_9P:
		return "9p";
	case KNAME_PORT:
		return "port";
	}
	return "?";
}

static void print_json(const struct entry *entries, int n)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_int(&j, "version", CLI_JSON_SCHEMA);
	json_key(&j, "devices");
	json_arr_begin(&j);
	for (int i = 0; i < n; i++) {
		const struct entry *e = &entries[i];
		char id[8];

		json_obj_begin(&j);
		json_kv_str(&j, "bdf", e->bdf);
		json_kv_str(&j, "type", vv_virtio_type_name(e->type));
		json_kv_int(&j, "type_id", e->type > 0 ? e->type : 0);
		snprintf(id, sizeof(id), "%04x", e->vendor);
		json_kv_str(&j, "vendor_id", id);
		snprintf(id, sizeof(id), "%04x", e->device);
		json_kv_str(&j, "device_id", id);
		json_kv_str(&j, "vendor_name", e->vendor_name);
		json_kv_str(&j, "device_name", e->device_name);
		json_kv_bool(&j, "transitional", vv_pci_is_transitional(e->device));
		json_kv_str(&j, "driver", *e->driver ? e->driver : NULL);
		json_key(&j, "iommu_group");
		if (e->group >= 0)
			json_int(&j, e->group);
		else
			json_null(&j);
		json_key(&j, "kernel_names");
		json_arr_begin(&j);
		for (int k = 0; k < e->nknames; k++) {
			json_obj_begin(&j);
			json_kv_str(&j, "kind", kname_kind_str(e->knames[k].kind));
			json_kv_str(&j, "name", e->knames[k].name);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "in_use");
		if (e->in_use >= 0)
			json_bool(&j, e->in_use);
		else
			json_null(&j);
		json_kv_str(&j, "in_use_reason", e->in_use ? e->user.what : NULL);
		json_kv_bool(&j, "persistent", e->persistent != 0);
		json_key(&j, "persistent_owner");
		if (e->persistent > 0 && e->rec.owner)
			json_int(&j, (long long)e->rec.uid);
		else
			json_null(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

static void format_knames(const struct entry *e, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < e->nknames && off < len; k++)
		off += snprintf(buf + off, len - off, "%s%s%s", k ? "," : "",
				e->knames[k].kind == KNAME_9P ? "9p:" : "", e->knames[k].name);
	if (!*buf)
		snprintf(buf, len, "-");
}

static void print_table(const struct entry *entries, int n)
{
	int wdrv = strlen("DRIVER"), wnames = strlen("KERNEL"), wtype = strlen("TYPE");
	char names[256];
	int notes = 0;

	if (!n) {
		printf("No virtio PCI functions found.\n");
		return;
	}
	for (int i = 0; i < n; i++) {
		int l = strlen(entries[i].driver);

		wdrv = l > wdrv ? l : wdrv;
		format_knames(&entries[i], names, sizeof(names));
		l = strlen(names);
		wnames = l > wnames ? l : wnames;
		l = strlen(vv_virtio_type_name(entries[i].type));
		wtype = l > wtype ? l : wtype;
	}
	printf("%-12s  %-*s  %-9s  %-*s  %5s  %-*s  %-6s  %s\n", "BDF", wtype, "TYPE", "ID", wdrv,
	       "DRIVER", "GROUP", wnames, "KERNEL", "IN-USE", "NAME");
	for (int i = 0; i < n; i++) {
		const struct entry *e = &entries[i];
		char group[16];

		format_knames(e, names, sizeof(names));
		if (e->group >= 0)
			snprintf(group, sizeof(group), "%d", e->group);
		else
			snprintf(group, sizeof(group), "-");
		printf("%-12s  %-*s  %04x:%04x  %-*s  %5s  %-*s  %-6s  %s %s\n", e->bdf, wtype,
		       vv_virtio_type_name(e->type), e->vendor, e->device, wdrv,
		       *e->driver ? e->driver : "-", group, wnames, names,
		       e->in_use > 0	? "yes"
		       : e->in_use == 0 ? "no"
					: "?",
		       e->vendor_name, e->device_name);
		notes += e->in_use != 0 || e->persistent != 0;
	}
	if (notes)
		printf("\n");
	for (int i = 0; i < n; i++) {
		const struct entry *e = &entries[i];

		if (e->in_use)
			printf("%s: %s\n", e->bdf, e->user.what);
		if (e->persistent < 0)
			printf("%s: persistent, but its record in %s is malformed\n", e->bdf,
			       VV_PERSIST_DIR);
		else if (e->persistent && e->rec.owner)
			printf("%s: persistent: vfio-pci at boot, /dev/vfio node owned by uid %u\n",
			       e->bdf, (unsigned)e->rec.uid);
		else if (e->persistent)
			printf("%s: persistent: vfio-pci at boot\n", e->bdf);
	}
}

static void list_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s list [--json]\n"
		"\n"
		"List every virtio PCI function (modern 1af4:1040-107f, transitional\n"
		"1af4:1000-103f): BDF, virtio type, IDs and names, bound driver, IOMMU group,\n"
		"the kernel's names for it, and whether the system uses it.\n"
		"\n"
		"Options:\n"
		"  --json         machine-readable output (format in virtio-vfio(1))\n"
		"  -v, --verbose  log what the library does\n"
		"  -h, --help     show this help\n",
		prog);
}

int cmd_list(int argc, char **argv)
{
	struct entry *entries = NULL;
	bool json;
	int c, n;

	c = cli_parse_json_help(argc, argv, list_usage, &json);
	if (c >= 0)
		return c;
	if (optind < argc) {
		cli_err("list: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}

	n = scan(&entries);
	if (n < 0)
		return EXIT_FAIL;
	if (json)
		print_json(entries, n);
	else
		print_table(entries, n);
	free(entries);
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("writing output: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
