// SPDX-License-Identifier: MIT
/* attach.c - `attach` and `detach`: hand virtio functions to vfio-pci and back to the kernel. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <virtio-vfio/ids.h>

#include "cli.h"
#include "json.h"
#include "host/bind.h"
#include "host/inuse.h"
#include "host/knames.h"
#include "host/persist.h"
#include "host/names.h"

/* "; refusing (release it: umount /data; --force overrides)": the tail of a refusal. */
static void refuse_in_use(const char *bdf, const struct pci_user *u)
{
	if (*u->release)
		cli_err("%s is in use: %s; refusing (release it: %s; --force overrides)", bdf,
			u->what, u->release);
	else
		cli_err("%s is in use: %s; refusing (--force overrides)", bdf, u->what);
}

/*
 * The function, and every other function of its IOMMU group, must be unused. Its disks are
 * claimed first (@ret_claim), so that what was checked stays true until vfio-pci has them:
 * a mount, swapon or dm table that comes after the claim fails instead of racing the unbind.
 * With --force whatever could be claimed is, and the rest is named.
 */
static int check_unused(const char *bdf, bool force, struct pci_claim **ret_claim)
{
	struct pci_user u = {0};
	char dir[PATH_MAX];
	int group, ret;
	struct dirent *de;
	DIR *d;

	*ret_claim = NULL;
	ret = pci_claim_open(bdf, ret_claim, &u);
	if (ret == 0)
		ret = pci_dev_in_use(NULL, bdf, &u);
	if (ret < 0)
		snprintf(u.what, sizeof(u.what), "cannot tell whether anything uses it: %s",
			 strerror(-ret));
	if (ret) {
		if (force) {
			fprintf(stderr,
				"%s: warning: %s: in use: %s; attaching anyway (--force): its kernel "
				"driver, and whatever uses it, lose the device now\n",
				prog, bdf, u.what);
			return 0;
		}
		pci_claim_close(*ret_claim);
		*ret_claim = NULL;
		refuse_in_use(bdf, &u);
		return EXIT_FAIL;
	}
	group = pci_sysfs_iommu_group(NULL, bdf);
	if (group < 0)
		return 0; /* reported later, with the fix */
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", group);
	d = opendir(dir);
	if (!d)
		return 0;
	ret = 0;
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, bdf))
			continue;
		if (pci_dev_in_use(NULL, de->d_name, &u) > 0 && !force) {
			cli_err("%s shares IOMMU group %d with %s, which is in use: %s; refusing",
				bdf, group, de->d_name, u.what);
			ret = EXIT_FAIL;
		}
	}
	closedir(d);
	if (ret) {
		pci_claim_close(*ret_claim);
		*ret_claim = NULL;
	}
	return ret;
}

/*
 * modprobe by its absolute path with a fixed environment: attach runs as root, and root's
 * PATH, LD_PRELOAD or MODPROBE_OPTIONS are not for us to pass on to a module loader.
 */
static void load_vfio_pci(void)
{
	static const char *const paths[] = {"/sbin/modprobe", "/usr/sbin/modprobe"};
	static char arg0[] = "modprobe", arg1[] = "vfio-pci";
	static char env0[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	char *const argv[] = {arg0, arg1, NULL};
	char *const envp[] = {env0, NULL};
	pid_t pid;
	int status;

	if (!access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (access(paths[i], X_OK))
			continue;
		if (posix_spawn(&pid, paths[i], NULL, NULL, argv, envp) == 0)
			waitpid(pid, &status, 0);
		return;
	}
}

struct opts {
	bool force;
	bool persist; /* --persist: record the binding (and owner) for the next boots */
	bool boot;    /* --boot: apply every recorded binding */
	bool json;    /* --json: the outcomes as one JSON object, at the end */
	bool owner;   /* --owner given: hand the group node to uid:gid */
	bool group;   /* ... with a GROUP, which may open it too */
	uid_t uid;
	gid_t gid; /* (gid_t)-1: leave the node's group */
};

/* What became of one DEVICE, for --json. */
struct outcome {
	const char *device;    /* as given */
	char bdf[PCI_BDF_LEN]; /* "" if it did not resolve */
	const char *result;    /* attached, already_attached, detached, not_attached, failed */
	char driver[64];       /* attach: the driver it had; detach: the driver it has now */
	int group;	       /* IOMMU group, or -1 */
	char knames[128];      /* detach: the kernel's names for it again, comma-separated */
};

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* --owner USER[:GROUP], names or numbers; without GROUP, the user's primary group. */
static int parse_owner(const char *arg, struct opts *o)
{
	char user[256];
	const char *colon = strchr(arg, ':');
	size_t ulen = colon ? (size_t)(colon - arg) : strlen(arg);
	struct passwd *pw;
	struct group *gr;

	if (!ulen || ulen >= sizeof(user) || (colon && !colon[1])) {
		cli_err("attach: --owner '%s': expected USER or USER:GROUP", arg);
		return EXIT_USAGE;
	}
	memcpy(user, arg, ulen);
	user[ulen] = '\0';
	if (all_digits(user)) {
		o->uid = (uid_t)strtoul(user, NULL, 10);
		pw = getpwuid(o->uid); /* may be NULL: a bare uid is allowed */
	} else {
		pw = getpwnam(user);
		if (!pw) {
			cli_err("attach: --owner: no user '%s' (not in the passwd database; a "
				"numeric uid works too)",
				user);
			return EXIT_USAGE;
		}
		o->uid = pw->pw_uid;
	}
	o->gid = pw ? pw->pw_gid : (gid_t)-1;
	if (colon) {
		o->group = true;
		if (all_digits(colon + 1)) {
			o->gid = (gid_t)strtoul(colon + 1, NULL, 10);
		} else {
			gr = getgrnam(colon + 1);
			if (!gr) {
				cli_err("attach: --owner: no group '%s' (not in the group database; "
					"a numeric gid works too)",
					colon + 1);
				return EXIT_USAGE;
			}
			o->gid = gr->gr_gid;
		}
	}
	o->owner = true;
	return 0;
}

/*
 * Gives /dev/vfio/GROUP to the --owner user: VFIO's only access check is the permission on
 * that node (the container node /dev/vfio/vfio is world-accessible), so this is what lets a
 * user drive the device. Mode 0600, or 0660 when a GROUP was named.
 */
static int give_node(const char *bdf, int group, const struct opts *o)
{
	char path[64];
	struct stat st;
	int i;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	/* devtmpfs creates it during the bind; udev-only systems may take a moment. */
	for (i = 0; i < 50 && lstat(path, &st); i++)
		usleep(100 * 1000);
	if (i == 50) {
		cli_err("%s: %s did not appear after binding to vfio-pci (is devtmpfs or udev "
			"running?); cannot give it to uid %u",
			bdf, path, (unsigned)o->uid);
		return EXIT_FAIL;
	}
	if (!S_ISCHR(st.st_mode)) {
		cli_err("%s: %s is not a character device; refusing to change its owner", bdf,
			path);
		return EXIT_FAIL;
	}
	if (lchown(path, o->uid, o->gid) || chmod(path, o->group ? 0660 : 0600)) {
		cli_err("%s: cannot give %s to uid %u: %s (attached, but only root can use it)",
			bdf, path, (unsigned)o->uid, strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

/* ", /dev/vfio/N" and, with --owner, who it now belongs to: the tail of attach's line. */
static void print_node(int group, const struct opts *o)
{
	printf("/dev/vfio/%d", group);
	if (o->owner && o->gid != (gid_t)-1)
		printf(" owned by uid %u gid %u", (unsigned)o->uid, (unsigned)o->gid);
	else if (o->owner)
		printf(" owned by uid %u", (unsigned)o->uid);
}

/*
 * A signal between unbind and probe would leave the function with no driver at all, so the
 * bind sequence runs with the terminating signals held: they act once it is over.
 */
static void hold_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void release_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * On vfio-pci the function has no kernel name, and its serial and MAC are the device's to
 * tell: record them now, so that vda, serial:... and the MAC keep naming it (host/names.h).
 */
static void record_names(const char *bdf)
{
	struct pci_names names;
	int ret = pci_names_live(NULL, bdf, &names);

	if (ret == -ENOENT)
		return; /* no virtio driver: there is nothing to record */
	if (!ret)
		ret = pci_names_record(NULL, bdf, &names);
	if (ret)
		fprintf(stderr,
			"%s: warning: %s: cannot record its names in %s (%s): once attached, "
			"only its PCI address names it\n",
			prog, bdf, VV_NAMES_DIR, strerror(-ret));
}

/*
 * The checks that need no user to release anything, then the bind itself, with the
 * terminating signals held. Returns 0 on vfio-pci, else EXIT_FAIL with the function back on
 * @orig and the message printed.
 */
static int bind_vfio(const char *bdf, const char *orig, int group, sigset_t *old)
{
	char why[256];
	int ret;

	if (group < 0) {
		cli_err("%s: in no IOMMU group: the kernel runs without an IOMMU, and VFIO needs "
			"one: " CLI_IOMMU_HOWTO " See '%s doctor'.",
			bdf, prog);
		return EXIT_FAIL;
	}
	if (pci_group_blockers(bdf, why, sizeof(why)) > 0) {
		cli_err("%s: %s; VFIO needs the whole group: attach it too", bdf, why);
		return EXIT_FAIL;
	}
	load_vfio_pci();
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK)) {
		cli_err("vfio-pci is not available ('modprobe vfio-pci' failed): " CLI_VFIO_HOWTO
			"; see '%s doctor'",
			prog);
		return EXIT_FAIL;
	}
	/* Record first: if we die between unbind and bind, detach still knows the way back. */
	if (*orig && pci_state_save_driver(bdf, orig))
		fprintf(stderr, "%s: warning: cannot record the original driver in %s\n", prog,
			VV_STATE_DIR);
	record_names(bdf);
	hold_signals(old);
	ret = pci_bind_driver(bdf, "vfio-pci");
	if (ret) {
		cli_err("%s: binding to vfio-pci failed: %s", bdf, strerror(-ret));
		if (*orig && pci_bind_driver(bdf, orig) == 0)
			pci_clear_override(bdf);
		pci_state_forget(bdf);
		release_signals(old);
		return EXIT_FAIL;
	}
	release_signals(old);
	return 0;
}

/* --persist: the binding, and the owner given now, are applied again at every boot. */
static int persist(const char *bdf, const struct opts *o)
{
	struct pci_persist p = {
		.owner = o->owner, .uid = o->uid, .gid = o->gid, .mode = o->group ? 0660 : 0600};
	int ret = pci_persist_save(NULL, bdf, &p);

	if (ret) {
		cli_err("%s: attached, but cannot record it in %s: %s (it will not survive a "
			"reboot)",
			bdf, VV_PERSIST_DIR, strerror(-ret));
		return EXIT_FAIL;
	}
	return 0;
}

static int attach_one(const char *arg, const struct opts *o, struct outcome *out)
{
	char *bdf = out->bdf, orig[64];
	struct pci_claim *claim;
	sigset_t old;
	int ret, group;

	ret = cli_resolve_virtio(arg, bdf);
	if (ret)
		return ret;
	if (pci_sysfs_driver(NULL, bdf, orig, sizeof(orig))) {
		cli_err("%s: cannot read its driver from sysfs", bdf);
		return EXIT_FAIL;
	}
	group = pci_sysfs_iommu_group(NULL, bdf);
	out->group = group;
	snprintf(out->driver, sizeof(out->driver), "%s", orig);
	if (!strcmp(orig, "vfio-pci")) {
		/* --owner on an attached function only changes the owner. */
		if (o->owner && group >= 0 && give_node(bdf, group, o))
			return EXIT_FAIL;
		if (o->persist && persist(bdf, o))
			return EXIT_FAIL;
		out->result = "already_attached";
		if (o->json)
			return 0;
		printf("%s: already attached (vfio-pci, ", bdf);
		print_node(group, o);
		printf(")%s\n", o->persist ? ", persistent" : "");
		return 0;
	}
	ret = check_unused(bdf, o->force, &claim);
	if (ret)
		return ret;
	ret = bind_vfio(bdf, orig, group, &old);
	/* vfio-pci has it now, or the kernel's driver has it back: the claim has done its job. */
	pci_claim_close(claim);
	if (ret) {
		pci_names_forget(NULL, bdf);
		return ret;
	}
	if (o->owner && give_node(bdf, group, o))
		return EXIT_FAIL;
	if (o->persist && persist(bdf, o))
		return EXIT_FAIL;
	out->result = "attached";
	if (o->json)
		return 0;
	printf("%s: attached (was %s), ", bdf, *orig ? orig : "unbound");
	print_node(group, o);
	printf("%s\n", o->persist ? ", persistent" : "");
	return 0;
}

/*
 * --boot, for one recorded function: what udev's rule started (driver_override, so that no
 * kernel driver took it) is finished here: vfio-pci bound, the owner applied. A function
 * the kernel's driver got first (no udev rule ran) goes through attach's usual checks.
 */
static int boot_one(const char *bdf, void *ctx)
{
	struct pci_persist p;
	struct opts o = {0};
	int *failed = ctx, ret;

	ret = pci_persist_load(NULL, bdf, &p);
	if (ret) {
		cli_err("%s: %s/%s: %s; skipped", bdf, VV_PERSIST_DIR, bdf,
			ret == -EINVAL ? "malformed record" : strerror(-ret));
		*failed = 1;
		return 0;
	}
	if (pci_sysfs_exists(NULL, bdf) < 0) {
		cli_err("%s: recorded with --persist, but there is no such PCI function now "
			"(removed? 'detach %s' forgets it)",
			bdf, bdf);
		*failed = 1;
		return 0;
	}
	o.owner = p.owner;
	o.uid = p.uid;
	o.gid = p.gid;
	o.group = p.mode & 0070;
	if (attach_one(bdf, &o, &(struct outcome){.device = bdf, .group = -1}))
		*failed = 1;
	return 0;
}

static int attach_boot(void)
{
	int failed = 0, ret = pci_persist_each(NULL, boot_one, &failed);

	if (ret) {
		cli_err("attach --boot: cannot read %s: %s", VV_PERSIST_DIR, strerror(-ret));
		return EXIT_FAIL;
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* Who owned a group node before detach took it back, to give it back on a refusal. */
struct node_state {
	char path[64];
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

/* Makes /dev/vfio/GROUP root's, 0600; returns whether anything changed (@st says what). */
static bool take_node(const char *bdf, struct node_state *st)
{
	int group = pci_sysfs_iommu_group(NULL, bdf);
	struct stat s;

	if (group < 0)
		return false;
	snprintf(st->path, sizeof(st->path), "/dev/vfio/%d", group);
	if (lstat(st->path, &s) || !S_ISCHR(s.st_mode))
		return false;
	st->uid = s.st_uid;
	st->gid = s.st_gid;
	st->mode = s.st_mode & 07777;
	if (s.st_uid == 0 && s.st_gid == 0 && !(s.st_mode & 077))
		return false;
	if (lchown(st->path, 0, 0) || chmod(st->path, 0600))
		fprintf(stderr, "%s: warning: %s: cannot take %s back to root: %s\n", prog, bdf,
			st->path, strerror(errno));
	return true;
}

static void restore_node(const char *bdf, const struct node_state *st)
{
	if (lchown(st->path, st->uid, st->gid) || chmod(st->path, st->mode))
		fprintf(stderr, "%s: warning: %s: cannot give %s back to uid %u: %s\n", prog, bdf,
			st->path, (unsigned)st->uid, strerror(errno));
}

static int detach_one(const char *arg, const struct opts *o, struct outcome *out)
{
	bool force = o->force, taken;
	char *bdf = out->bdf, cur[64], orig[64];
	struct kname names[PCI_MAX_KNAMES];
	struct node_state node;
	struct pci_user u;
	sigset_t old;
	int ret, n;

	ret = cli_resolve_virtio(arg, bdf);
	if (ret)
		return ret;
	if (pci_sysfs_driver(NULL, bdf, cur, sizeof(cur))) {
		cli_err("%s: cannot read its driver from sysfs", bdf);
		return EXIT_FAIL;
	}
	out->group = pci_sysfs_iommu_group(NULL, bdf);
	if (strcmp(cur, "vfio-pci")) {
		/* A record would bind it at the next boot: detach means "not any more". */
		ret = pci_persist_forget(NULL, bdf);
		if (ret) {
			cli_err("%s: cannot remove %s/%s: %s", bdf, VV_PERSIST_DIR, bdf,
				strerror(-ret));
			return EXIT_FAIL;
		}
		out->result = "not_attached";
		snprintf(out->driver, sizeof(out->driver), "%s", cur);
		if (!o->json)
			printf("%s: not attached (driver: %s)\n", bdf, *cur ? cur : "none");
		return 0;
	}
	ret = pci_dev_in_use(NULL, bdf, &u);
	if (ret > 0 && !force) {
		refuse_in_use(bdf, &u);
		return EXIT_FAIL;
	}
	/*
	 * Nobody holds the group now. Take its node back to root before anyone can open it:
	 * an --owner user could otherwise open it between this check and the unbind, which
	 * would then wait for that process. Then look again, for one who came before.
	 */
	taken = take_node(bdf, &node);
	if (ret <= 0)
		ret = pci_dev_in_use(NULL, bdf, &u);
	if (ret > 0 && !force) {
		if (taken)
			restore_node(bdf, &node);
		refuse_in_use(bdf, &u);
		return EXIT_FAIL;
	}
	if (ret > 0)
		fprintf(stderr,
			"%s: warning: %s: in use: %s; detaching anyway (--force): the kernel's unbind "
			"waits until that process lets go of the device (%s), and asks it to\n",
			prog, bdf, u.what, *u.release ? u.release : "stop it");
	if (pci_state_load_driver(bdf, orig, sizeof(orig)))
		snprintf(orig, sizeof(orig), "virtio-pci");
	hold_signals(&old);
	ret = pci_bind_driver(bdf, orig);
	pci_clear_override(bdf);
	release_signals(&old);
	if (ret) {
		cli_err("%s: giving it back to %s failed: %s", bdf, orig, strerror(-ret));
		return EXIT_FAIL;
	}
	pci_state_forget(bdf);
	ret = pci_persist_forget(NULL, bdf);
	if (ret)
		fprintf(stderr,
			"%s: warning: %s: cannot remove %s/%s: %s: it goes to vfio-pci "
			"again at the next boot\n",
			prog, bdf, VV_PERSIST_DIR, bdf, strerror(-ret));
	pci_names_forget(NULL, bdf);
	out->result = "detached";
	snprintf(out->driver, sizeof(out->driver), "%s", orig);
	n = pci_sysfs_knames(NULL, bdf, names, PCI_MAX_KNAMES);
	for (int i = 0, pos = 0; i < n && pos < (int)sizeof(out->knames); i++)
		pos += snprintf(out->knames + pos, sizeof(out->knames) - pos, "%s%s", i ? "," : "",
				names[i].name);
	if (o->json)
		return 0;
	printf("%s: detached, back on %s", bdf, orig);
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " (", names[i].name);
	printf("%s\n", n > 0 ? ")" : "");
	return 0;
}

static void usage(FILE *out, const char *cmd)
{
	if (!strcmp(cmd, "attach"))
		fprintf(out,
			"Usage: %s attach [--force] [--owner USER[:GROUP]] [--persist] [--json] DEVICE...\n"
			"       %s attach --boot\n"
			"\n"
			"Take virtio PCI functions from their kernel driver and bind them to vfio-pci,\n"
			"so that a virtio-vfio program can drive them. DEVICE is a PCI address such as\n"
			"0000:00:05.0 or 00:05.0, the kernel's name (vda, eth1), serial:SERIAL or a\n"
			"MAC; attach records those names, so that they keep naming it. Refuses a\n"
			"function the system uses (a mounted disk, swap, dm/LVM, a loop device or\n"
			"process on it, an interface in use in any network namespace, a mounted 9p\n"
			"share) or whose IOMMU group holds one, and says how to release it; its disks\n"
			"are held with O_EXCL from the check to the bind, so nothing can mount them in\n"
			"between. Already attached functions are left as they are (--owner still\n"
			"applies).\n"
			"\n"
			"Options:\n"
			"  -f, --force        attach even if in use (the kernel loses the device at once)\n"
			"  -u, --owner USER[:GROUP]\n"
			"                     give the device's /dev/vfio/GROUP node to USER (name or\n"
			"                     uid; mode 0600, 0660 with GROUP) so that USER can run\n"
			"                     blk mount, blk bench and net serve without root; DMA\n"
			"                     memory then counts against USER's RLIMIT_MEMLOCK\n"
			"      --persist      also at every boot: record the binding (and the owner)\n"
			"                     in " VV_PERSIST_DIR
			"; udev's rule keeps the kernel's\n"
			"                     driver off the function, virtio-vfio-persist.service\n"
			"                     binds it and applies the owner. detach forgets it\n"
			"      --boot         attach every recorded function, with its owner (what\n"
			"                     virtio-vfio-persist.service runs at boot)\n"
			"      --json         the outcome of each DEVICE as JSON (virtio-vfio(1))\n"
			"  -v, --verbose      log what the library does\n"
			"  -h, --help         show this help\n",
			prog, prog);
	else
		fprintf(out,
			"Usage: %s detach [--force] [--json] DEVICE...\n"
			"\n"
			"Give attached functions back to the driver they had before attach (virtio-pci\n"
			"if unknown), and forget any attach --persist record of them. Refuses while a\n"
			"process holds the device's VFIO group open.\n"
			"The /dev/vfio node, and any owner attach --owner gave it, goes with the\n"
			"group's last function on vfio-pci.\n"
			"\n"
			"Options:\n"
			"  -f, --force    detach even while a process uses it\n"
			"      --json     the outcome of each DEVICE as JSON (virtio-vfio(1))\n"
			"  -v, --verbose  log what the library does\n"
			"  -h, --help     show this help\n",
			prog);
}

/* Long options only: values no short option can take. */
enum { OPT_PERSIST = 256, OPT_BOOT };
/* --json: {"version": 1, "devices": [{device, bdf, result, driver, iommu_group, ...}]} */
static void print_json(const struct outcome *outs, int n, const struct opts *o, bool attach)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_int(&j, "version", CLI_JSON_SCHEMA);
	json_key(&j, "devices");
	json_arr_begin(&j);
	for (int i = 0; i < n; i++) {
		const struct outcome *r = &outs[i];

		json_obj_begin(&j);
		json_kv_str(&j, "device", r->device);
		json_kv_str(&j, "bdf", *r->bdf ? r->bdf : NULL);
		json_kv_str(&j, "result", r->result ? r->result : "failed");
		json_kv_str(&j, "driver", *r->driver ? r->driver : NULL);
		json_key(&j, "iommu_group");
		if (r->group >= 0)
			json_int(&j, r->group);
		else
			json_null(&j);
		if (attach) {
			json_key(&j, "owner_uid");
			if (o->owner && r->result)
				json_int(&j, o->uid);
			else
				json_null(&j);
		} else {
			json_kv_str(&j, "kernel_names", *r->knames ? r->knames : NULL);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

static int run(int argc, char **argv, const char *cmd,
	       int (*one)(const char *, const struct opts *, struct outcome *))
{
	static const struct option attach_opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"owner", required_argument, NULL, 'u'},
		{"persist", no_argument, NULL, OPT_PERSIST},
		{"boot", no_argument, NULL, OPT_BOOT},
		{"json", no_argument, NULL, 'j'},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* detach has no --owner: the node goes away with the group (see its help). */
	static const struct option detach_opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct outcome *outs;
	bool attach = !strcmp(cmd, "attach");
	struct opts o = {0};
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, attach ? "fu:vh" : "fvh",
				attach ? attach_opts : detach_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.force = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			cli_verbose();
			break;
		case 'u':
			ret = parse_owner(optarg, &o);
			if (ret)
				return ret;
			break;
		case OPT_PERSIST:
			o.persist = true;
			break;
		case OPT_BOOT:
			o.boot = true;
			break;
		case 'h':
			usage(stdout, cmd);
			return EXIT_OK;
		default:
			usage(stderr, cmd);
			return EXIT_USAGE;
		}
	}
	if (o.boot) {
		if (optind < argc || o.persist || o.owner || o.force) {
			cli_err("attach: --boot takes no DEVICE and no other option: it applies "
				"what --persist recorded");
			return EXIT_USAGE;
		}
		return attach_boot();
	}
	if (optind >= argc) {
		cli_err("%s: no DEVICE given", cmd);
		usage(stderr, cmd);
		return EXIT_USAGE;
	}
	if (geteuid() != 0)
		fprintf(stderr, "%s: warning: not root: sysfs writes will likely be refused\n",
			prog);
	/* A DEVICE that is no name at all is a usage error: found before anything is done. */
	for (int i = optind; i < argc; i++) {
		char bdf[PCI_BDF_LEN], why[320];

		if (pci_name_resolve(NULL, argv[i], bdf, why, sizeof(why)) == -EINVAL) {
			cli_err("%s", why);
			return EXIT_USAGE;
		}
	}
	outs = calloc((size_t)(argc - optind), sizeof(*outs));
	if (!outs) {
		cli_err("%s: out of memory", cmd);
		return EXIT_FAIL;
	}
	/* Every DEVICE is tried; the exit status is the worst: usage (2) over failure (1). */
	for (int i = optind; i < argc; i++) {
		struct outcome *out = &outs[i - optind];
		int r;

		out->device = argv[i];
		out->group = -1;
		r = one(argv[i], &o, out);
		if (r)
			out->result = NULL;
		if (r == EXIT_USAGE || (r && ret != EXIT_USAGE))
			ret = r;
	}
	/* A usage error leaves stdout empty, as for every command. */
	if (o.json && ret != EXIT_USAGE)
		print_json(outs, argc - optind, &o, attach);
	free(outs);
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	return run(argc, argv, "attach", attach_one);
}

int cmd_detach(int argc, char **argv)
{
	return run(argc, argv, "detach", detach_one);
}
