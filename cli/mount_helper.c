// SPDX-License-Identifier: MIT
/*
 * mount_helper.c - mount.virtio-vfio, what mount(8) runs for fstab's "fuse.virtio-vfio" (and
 * "virtio-vfio") lines: "DEVICE DIR [-sfnv] [-o OPTIONS]" becomes "virtio-vfio blk mount
 * [-o OPTIONS] DEVICE DIR". The options mount(8), fstab and systemd add for themselves are
 * dropped here; the export sees only its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUSE_USE_VERSION 35
#include <fuse_opt.h>

#ifndef VV_CLI_PATH
#define VV_CLI_PATH "/usr/bin/virtio-vfio"
#endif

static const char prog[] = "mount.virtio-vfio";

enum {
	KEY_PASS,   /* an export option: handed to blk mount */
	KEY_IGNORE, /* mount(8)'s, fstab's or systemd's: not ours */
	KEY_FAKE,   /* -f: do everything but the mount */
	KEY_VERBOSE,
	KEY_SKIP, /* -s (sloppy), -n (no mtab): nothing to do */
	KEY_TYPE, /* -t fuse.virtio-vfio */
	KEY_NS,	  /* -N: another mount namespace, which we cannot enter */
};

static const struct fuse_opt opts[] = {
	FUSE_OPT_KEY("ro", KEY_PASS),
	FUSE_OPT_KEY("rw", KEY_PASS),
	FUSE_OPT_KEY("allow_other", KEY_PASS),
	FUSE_OPT_KEY("queues=", KEY_PASS),
	/* What mount(8) and fstab use for themselves, and mount flags FUSE needs not. */
	FUSE_OPT_KEY("defaults", KEY_IGNORE),
	FUSE_OPT_KEY("auto", KEY_IGNORE),
	FUSE_OPT_KEY("noauto", KEY_IGNORE),
	FUSE_OPT_KEY("user", KEY_IGNORE),
	FUSE_OPT_KEY("nouser", KEY_IGNORE),
	FUSE_OPT_KEY("users", KEY_IGNORE),
	FUSE_OPT_KEY("owner", KEY_IGNORE),
	FUSE_OPT_KEY("group", KEY_IGNORE),
	FUSE_OPT_KEY("_netdev", KEY_IGNORE),
	FUSE_OPT_KEY("nofail", KEY_IGNORE),
	FUSE_OPT_KEY("comment=", KEY_IGNORE),
	FUSE_OPT_KEY("suid", KEY_IGNORE),
	FUSE_OPT_KEY("nosuid", KEY_IGNORE),
	FUSE_OPT_KEY("dev", KEY_IGNORE),
	FUSE_OPT_KEY("nodev", KEY_IGNORE),
	FUSE_OPT_KEY("exec", KEY_IGNORE),
	FUSE_OPT_KEY("noexec", KEY_IGNORE),
	FUSE_OPT_KEY("async", KEY_IGNORE),
	FUSE_OPT_KEY("atime", KEY_IGNORE),
	FUSE_OPT_KEY("noatime", KEY_IGNORE),
	FUSE_OPT_KEY("relatime", KEY_IGNORE),
	FUSE_OPT_KEY("norelatime", KEY_IGNORE),
	FUSE_OPT_KEY("strictatime", KEY_IGNORE),
	FUSE_OPT_KEY("diratime", KEY_IGNORE),
	FUSE_OPT_KEY("nodiratime", KEY_IGNORE),
	FUSE_OPT_KEY("-f", KEY_FAKE),
	FUSE_OPT_KEY("-v", KEY_VERBOSE),
	FUSE_OPT_KEY("-s", KEY_SKIP),
	FUSE_OPT_KEY("-n", KEY_SKIP),
	FUSE_OPT_KEY("-t ", KEY_TYPE),
	FUSE_OPT_KEY("-N ", KEY_NS),
	FUSE_OPT_END,
};

struct ctx {
	char pass[1024]; /* the export's options, comma-separated */
	size_t len;
	const char *args[2]; /* DEVICE, DIR */
	int nargs;
	bool fake, verbose;
	int err;
};

static int add_pass(struct ctx *c, const char *opt)
{
	size_t l = strlen(opt);

	if (c->len + l + 2 > sizeof(c->pass)) {
		fprintf(stderr, "%s: options too long\n", prog);
		return -1;
	}
	if (c->len)
		c->pass[c->len++] = ',';
	memcpy(c->pass + c->len, opt, l + 1);
	c->len += l;
	return 0;
}

/* fuse_opt_parse's callback: 0 drops the argument (we keep what we need ourselves). */
static int proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct ctx *c = data;

	switch (key) {
	case KEY_PASS:
		return add_pass(c, arg) ? -1 : 0;
	case KEY_FAKE:
		c->fake = true;
		return 0;
	case KEY_VERBOSE:
		c->verbose = true;
		return 0;
	case KEY_TYPE:
		/* "-tTYPE": mount(8) says which type it took the line for; ours, or a mistake. */
		if (strcmp(arg + 2, "fuse.virtio-vfio") && strcmp(arg + 2, "virtio-vfio")) {
			fprintf(stderr, "%s: type %s is not ours\n", prog, arg + 2);
			return -1;
		}
		return 0;
	case KEY_NS:
		fprintf(stderr, "%s: -N (another mount namespace) is not supported\n", prog);
		return -1;
	case KEY_IGNORE:
	case KEY_SKIP:
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.*, x-initrd.mount and any x-: userspace's own, by convention. */
		if (!strncmp(arg, "x-", 2))
			return 0;
		fprintf(stderr,
			"%s: unknown option '%s' (export options: ro, rw, allow_other, "
			"queues=N)\n",
			prog, arg);
		return -1;
	case FUSE_OPT_KEY_NONOPT:
		if (c->nargs == 2) {
			fprintf(stderr, "%s: unexpected argument '%s'\n", prog, arg);
			return -1;
		}
		c->args[c->nargs++] = arg;
		return 0;
	default:
		fprintf(stderr, "%s: unknown option '%s'\n", prog, arg);
		return -1;
	}
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct ctx c = {0};
	const char *cmd[8];
	int n = 0;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: %s DEVICE MOUNTPOINT [-sfnv] [-o OPTIONS]\n"
		       "\n"
		       "mount(8)'s helper for fstab lines of type fuse.virtio-vfio: runs\n"
		       "'virtio-vfio blk mount [-o OPTIONS] DEVICE MOUNTPOINT'. Export options:\n"
		       "ro, rw, allow_other, queues=N; mount's and systemd's own (defaults, nofail,\n"
		       "_netdev, noauto, user, x-systemd.*, ...) are accepted and dropped.\n",
		       prog);
		return 0;
	}
	if (fuse_opt_parse(&args, &c, opts, proc) || c.nargs != 2) {
		if (!c.err && c.nargs != 2)
			fprintf(stderr, "Usage: %s DEVICE MOUNTPOINT [-sfnv] [-o OPTIONS]\n", prog);
		fuse_opt_free_args(&args);
		return 1; /* mount(8): "incorrect invocation or permissions" */
	}
	fuse_opt_free_args(&args);

	/*
	 * The source /proc/mounts shows is what fstab names: mount -a then knows the line is
	 * mounted already. A name blk mount would refuse there keeps the default.
	 */
	if (strlen(c.args[0]) <= 200 &&
	    strspn(c.args[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			      ":._-/@+=") == strlen(c.args[0])) {
		char fs[256];

		snprintf(fs, sizeof(fs), "fsname=%s", c.args[0]);
		if (add_pass(&c, fs))
			return 1;
	}
	cmd[n++] = "virtio-vfio";
	cmd[n++] = "blk";
	cmd[n++] = "mount";
	if (c.len) {
		cmd[n++] = "-o";
		cmd[n++] = c.pass;
	}
	cmd[n++] = c.args[0];
	cmd[n++] = c.args[1];
	cmd[n] = NULL;
	if (c.verbose || c.fake) {
		printf("%s", VV_CLI_PATH);
		for (int i = 1; i < n; i++)
			printf(" %s", cmd[i]);
		printf("\n");
		fflush(stdout);
	}
	if (c.fake)
		return 0;
	/* blk mount returns once the mount is ready, and its exit status is mount(8)'s. */
	execv(VV_CLI_PATH, (char *const *)cmd);
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, VV_CLI_PATH, strerror(errno));
	return 1;
}
