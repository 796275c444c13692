// SPDX-License-Identifier: MIT
/*
 * names.c - a virtio function by its PCI address, kernel name, serial or MAC: the live names
 * from /sys, the names `attach` recorded for a function the kernel no longer drives, and the
 * resolver over both.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/knames.h"
#include "host/names.h"
#include "util/compiler.h"
#include "util/escape.h"
#include "util/file.h"

/* Functions that answer one name; more than a handful is already an error to report. */
#define MAX_MATCHES 8

enum form { FORM_BDF, FORM_SERIAL, FORM_MAC, FORM_KNAME };

struct matches {
	char bdf[MAX_MATCHES][PCI_BDF_LEN];
	unsigned n;	/* how many were found, even beyond MAX_MATCHES */
	unsigned norec; /* functions with no virtio driver and no record: they may be it */
	char norec_bdf[PCI_BDF_LEN];
};

/* "52:54:00:12:34:56" in any case, to lower case; 0 or -EINVAL. */
static int parse_mac(const char *in, char out[18])
{
	if (strlen(in) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? in[i] != ':' : !isxdigit((unsigned char)in[i]))
			return -EINVAL;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[17] = '\0';
	return 0;
}

/*
 * A kernel name as the kernel allows it for disks and interfaces (dev_valid_name()): no
 * slash, colon or space, not "." or "..", at most 31 bytes. Anything else is no name at all.
 */
static bool valid_kname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 31 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    !isprint((unsigned char)s[i]))
			return false;
	return true;
}

/* The first line of a sysfs attribute, escaped; "" if it cannot be read. */
static void read_escaped(const char *path, char *out, size_t len)
{
	char raw[128];

	out[0] = '\0';
	if (sysfs_read(path, raw, sizeof(raw)) > 0)
		escape_bytes(raw, out, len);
}

int pci_names_live(const char *root, const char *bdf, struct pci_names *ret)
{
	struct kname names[PCI_MAX_KNAMES];
	struct pci_names out = {0};
	char path[PATH_MAX], mac[32];
	int n = pci_sysfs_knames(root, bdf, names, PCI_MAX_KNAMES);

	if (n < 0)
		return n;
	if (n == 0) {
		char drv[64];

		/* No class device: a driver that makes none, or no virtio driver at all. */
		if (pci_sysfs_virtio_driver(root, bdf, drv, sizeof(drv)))
			return -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		if (names[i].kind == KNAME_BLOCK && !*out.kname) {
			escape_bytes(names[i].name, out.kname, sizeof(out.kname));
			if (!sysfs_path(path, sizeof(path), root, "/sys/block/%s/serial",
					names[i].name))
				read_escaped(path, out.serial, sizeof(out.serial));
		} else if (names[i].kind == KNAME_NET && !*out.kname) {
			escape_bytes(names[i].name, out.kname, sizeof(out.kname));
			if (!sysfs_path(path, sizeof(path), root, "/sys/class/net/%s/address",
					names[i].name) &&
			    sysfs_read(path, mac, sizeof(mac)) > 0 && parse_mac(mac, out.mac))
				out.mac[0] = '\0';
		}
	}
	*ret = out;
	return 0;
}

static int record_path(char *buf, size_t len, const char *root, const char *bdf)
{
	char check[PCI_BDF_LEN];

	/* The BDF becomes a path: only the kernel's spelling of one gets through. */
	if (pci_bdf_parse(bdf, check) || strcmp(check, bdf))
		return -EINVAL;
	return sysfs_path(buf, len, root, VV_NAMES_DIR "/%s", bdf);
}

static int mkdir_p(const char *root)
{
	static const char *const dirs[] = {"/run", "/run/virtio-vfio", VV_NAMES_DIR};
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int ret = sysfs_path(path, sizeof(path), root, "%s", dirs[i]);

		if (ret)
			return ret;
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int pci_names_record(const char *root, const char *bdf, const struct pci_names *names)
{
	char path[PATH_MAX], buf[256];
	int len, ret = record_path(path, sizeof(path), root, bdf);

	if (!ret)
		ret = mkdir_p(root);
	if (ret)
		return ret;
	/* Written whole, then renamed: a reader sees the old record or the new, never half. */
	len = snprintf(buf, sizeof(buf), "kname=%s\nserial=%s\nmac=%s\n", names->kname,
		       names->serial, names->mac);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return -ENAMETOOLONG;
	return file_replace(path, buf, (size_t)len, false);
}

int pci_names_load(const char *root, const char *bdf, struct pci_names *ret)
{
	struct pci_names out = {0};
	char path[PATH_MAX], line[160];
	FILE *f;
	int err = record_path(path, sizeof(path), root, bdf);

	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *val;
		char *dst = NULL;
		size_t len = 0;

		if (!eq)
			continue;
		*eq = '\0';
		val = eq + 1;
		val[strcspn(val, "\n")] = '\0';
		if (!strcmp(line, "kname")) {
			dst = out.kname;
			len = sizeof(out.kname);
		} else if (!strcmp(line, "serial")) {
			dst = out.serial;
			len = sizeof(out.serial);
		} else if (!strcmp(line, "mac")) {
			dst = out.mac;
			len = sizeof(out.mac);
		}
		/* Root wrote it, but it is a file: escape again, so it stays printable. */
		if (dst)
			escape_bytes(val, dst, len);
	}
	fclose(f);
	*ret = out;
	return 0;
}

void pci_names_forget(const char *root, const char *bdf)
{
	char path[PATH_MAX];

	if (!record_path(path, sizeof(path), root, bdf))
		unlink(path);
}

static void add_match(struct matches *m, const char *bdf)
{
	for (unsigned i = 0; i < m->n && i < MAX_MATCHES; i++)
		if (!strcmp(m->bdf[i], bdf))
			return;
	if (m->n < MAX_MATCHES)
		snprintf(m->bdf[m->n], PCI_BDF_LEN, "%s", bdf);
	m->n++;
}

static bool names_match(const struct pci_names *nm, enum form form, const char *key)
{
	switch (form) {
	case FORM_SERIAL:
		return *nm->serial && !strcmp(nm->serial, key);
	case FORM_MAC:
		return *nm->mac && !strcmp(nm->mac, key);
	case FORM_KNAME:
		return *nm->kname && !strcmp(nm->kname, key);
	default:
		return false;
	}
}

/*
 * Looks through every PCI function for @key: the live names of those a virtio driver has,
 * the records of the others (@live false), or only the live ones (@live true).
 */
static int scan(const char *root, enum form form, const char *key, bool live, struct matches *m)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int ret = sysfs_path(dir, sizeof(dir), root, "/sys/bus/pci/devices");

	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct pci_names nm;
		char bdf[PCI_BDF_LEN];

		if (pci_bdf_parse(de->d_name, bdf) || strcmp(bdf, de->d_name))
			continue;
		ret = pci_names_live(root, bdf, &nm);
		if (ret == 0) {
			if (names_match(&nm, form, key))
				add_match(m, bdf);
			continue;
		}
		if (live)
			continue;
		if (pci_names_load(root, bdf, &nm) == 0) {
			if (names_match(&nm, form, key))
				add_match(m, bdf);
		} else {
			char drv[64];

			/* On vfio-pci with no record: attached by hand, or by an older version. */
			if (!pci_sysfs_driver(root, bdf, drv, sizeof(drv)) &&
			    !strcmp(drv, "vfio-pci")) {
				if (!m->norec)
					snprintf(m->norec_bdf, PCI_BDF_LEN, "%s", bdf);
				m->norec++;
			}
		}
	}
	closedir(d);
	return 0;
}

static void say(char *why, size_t len, const char *fmt, ...) VV_PRINTF(3, 4);
static void say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

int pci_name_resolve(const char *root, const char *name, char ret_bdf[PCI_BDF_LEN], char *why,
		     size_t why_len)
{
	static const char *const what[] = {"PCI address", "serial", "MAC", "kernel name"};
	char key[84], shown[84];
	struct matches m = {0};
	enum form form;
	int ret;

	if (!name)
		return -EINVAL;
	escape_bytes(name, shown, sizeof(shown));
	if (pci_bdf_parse(name, ret_bdf) == 0)
		return 0;
	if (!strncmp(name, "serial:", 7)) {
		form = FORM_SERIAL;
		if (!name[7] || strlen(name + 7) >= sizeof(key)) {
			say(why, why_len,
			    "'%s': expected serial:SERIAL, with the serial `info` shows", shown);
			return -EINVAL;
		}
		snprintf(key, sizeof(key), "%s", name + 7);
	} else if (!strncmp(name, "mac:", 4) || parse_mac(name, key) == 0) {
		form = FORM_MAC;
		if (!strncmp(name, "mac:", 4) && parse_mac(name + 4, key)) {
			say(why, why_len, "'%s': expected mac:52:54:00:12:34:56", shown);
			return -EINVAL;
		}
	} else if (valid_kname(name)) {
		form = FORM_KNAME;
		snprintf(key, sizeof(key), "%s", name);
	} else {
		say(why, why_len,
		    "'%s' is not a device name (expected a PCI address such as 0000:01:00.0 or "
		    "01:00.0, a kernel name such as vda or eth1, serial:SERIAL or a MAC address)",
		    shown);
		return -EINVAL;
	}

	/* From here on messages show the name itself: "serial 'vvdemo0'", not "serial:...". */
	escape_bytes(key, shown, sizeof(shown));

	/* The kernel reuses names: one it gives now beats one it gave before attach. */
	if (form == FORM_KNAME) {
		ret = scan(root, form, key, true, &m);
		if (ret)
			goto unreadable;
	}
	if (!m.n) {
		ret = scan(root, form, key, false, &m);
		if (ret)
			goto unreadable;
	}
	if (m.n == 1) {
		snprintf(ret_bdf, PCI_BDF_LEN, "%s", m.bdf[0]);
		return 0;
	}
	if (m.n > 1) {
		char list[128] = "";
		size_t pos = 0;

		for (unsigned i = 0; i < m.n && i < MAX_MATCHES && pos < sizeof(list); i++)
			pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%s",
						i ? ", " : "", m.bdf[i]);
		say(why, why_len, "%s '%s' names %u functions: %s; give a PCI address instead",
		    what[form], shown, m.n, list);
		return -ENOTUNIQ;
	}
	if (m.norec)
		say(why, why_len,
		    "no virtio function has the %s '%s' (%s%s is on vfio-pci with no record of "
		    "its names: attached without virtio-vfio attach; give its PCI address)",
		    what[form], shown, m.norec_bdf, m.norec > 1 ? " and others" : "");
	else
		say(why, why_len, "no virtio function has the %s '%s'", what[form], shown);
	return -ENOENT;

unreadable:
	say(why, why_len, "cannot look for '%s' in /sys: %s", shown, strerror(-ret));
	return ret;
}
