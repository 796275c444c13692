// SPDX-License-Identifier: MIT
/*
 * status.c - `virtio-vfio status`: asks every serving process (`blk mount`, `net serve`) on
 * its status socket (status.h) and prints what they serve and their counters, as a table or
 * as one JSON document. A socket nobody answers on, of a process that is gone, is removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json_parse.h"
#include "status.h"

#define MAX_PROCS 256

struct proc {
	int pid;
	struct jnode *doc;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [--json] [DEVICE|MOUNTPOINT]\n"
		"\n"
		"List every running 'blk mount' and 'net serve': pid, devices, where they are\n"
		"served, queues, mode, uptime, and live counters (requests, bytes, errors, in\n"
		"flight, resets). DEVICE (a BDF, a serial, an exported file) or MOUNTPOINT shows\n"
		"only what serves it.\n"
		"\n"
		"Options:\n"
		"  --json      one JSON document (\"version\": %d), every counter exact\n"
		"  -h, --help  show this help\n",
		prog, STATUS_SCHEMA);
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits for @events on @fd until STATUS_IO_MS after @t0: true when it came. */
static bool wait_fd(int fd, short events, const struct timespec *t0)
{
	struct pollfd p = {.fd = fd, .events = events};
	long left = STATUS_IO_MS - elapsed_ms(t0);

	return left > 0 && poll(&p, 1, (int)left) > 0;
}

/*
 * One process's answer: connect, read to the end (at most STATUS_MAX_DOC bytes, within
 * STATUS_IO_MS), parse. -ECONNREFUSED / -ENOENT: nobody listens; -ETIMEDOUT, -EFBIG,
 * -EINVAL: someone does, badly.
 */
static int query(const char *path, struct jnode **ret_doc)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct timespec t0;
	size_t len = 0;
	char *buf;
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (errno != EAGAIN && errno != EINPROGRESS) {
			ret = -errno;
			close(fd);
			return ret;
		}
		/* A full backlog: the server is busy; it answers within its deadline or never. */
		if (!wait_fd(fd, POLLOUT, &t0)) {
			close(fd);
			return -ETIMEDOUT;
		}
	}
	buf = malloc(STATUS_MAX_DOC);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, STATUS_MAX_DOC - len);

		if (n > 0) {
			len += (size_t)n;
			if (len == STATUS_MAX_DOC) {
				ret = -EFBIG;
				break;
			}
			continue;
		}
		if (n == 0) {
			ret = jnode_parse(buf, len, ret_doc);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			ret = -errno;
			break;
		}
		if (!wait_fd(fd, POLLIN, &t0)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	free(buf);
	close(fd);
	return ret;
}

/*
 * Nobody listens on @path: if its process is gone (the name is its pid) and the socket is
 * ours to remove, it is a leftover of a crash (kill -9). Returns true when it was removed.
 */
static bool remove_stale(const char *path, int pid)
{
	struct stat st;

	if (kill(pid, 0) == 0 || errno != ESRCH)
		return false; /* alive (perhaps not ours to signal): only not listening yet */
	if (lstat(path, &st) || !S_ISSOCK(st.st_mode) || (geteuid() != 0 && st.st_uid != geteuid()))
		return false;
	return unlink(path) == 0;
}

/* "<pid>.sock": the pid, or -1 for a name that is not one of ours. */
static int sock_pid(const char *name)
{
	char *end;
	long v;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	errno = 0;
	v = strtol(name, &end, 10);
	if (errno || strcmp(end, ".sock") || v <= 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

/* Sockets of other users' processes: root's are mode 0600, and so are theirs. */
static unsigned denied;

static void scan_dir(const char *dir, struct proc *procs, unsigned *np)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && *np < MAX_PROCS) {
		char path[PATH_MAX];
		struct jnode *doc;
		int pid = sock_pid(e->d_name), ret;

		if (pid < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ret = query(path, &doc);
		if (ret == -ECONNREFUSED || ret == -ENOENT) {
			if (remove_stale(path, pid))
				fprintf(stderr, "%s: removed %s: its process %d is gone\n", prog,
					path, pid);
			continue;
		}
		if (ret == -EACCES || ret == -EPERM) {
			denied++;
			continue;
		}
		if (ret) {
			fprintf(stderr, "%s: warning: %s: no status: %s\n", prog, path,
				strerror(-ret));
			continue;
		}
		if (jnode_get_int(doc, "version", 0) != STATUS_SCHEMA) {
			fprintf(stderr, "%s: warning: %s: unknown status schema\n", prog, path);
			jnode_free(doc);
			continue;
		}
		procs[(*np)++] = (struct proc){pid, doc};
	}
	closedir(d);
}

/* Root sees every user's processes too: /run/user/UID/virtio-vfio, but @done once only. */
static void scan_users(const char *done, struct proc *procs, unsigned *np)
{
	DIR *d = opendir("/run/user");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char dir[PATH_MAX];

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/run/user/%s/%s", e->d_name, STATUS_DIR_USER);
		if (strcmp(dir, done))
			scan_dir(dir, procs, np);
	}
	closedir(d);
}

static int by_pid(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* "00:05.0" -> "0000:00:05.0"; anything else as it is. */
static void full_bdf(const char *s, char *buf, size_t len)
{
	unsigned bus, dev, fn;
	char tail;

	if (sscanf(s, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) == 3 && strlen(s) == 7)
		snprintf(buf, len, "0000:%s", s);
	else
		snprintf(buf, len, "%s", s);
}

static bool str_is(const char *a, const char *b)
{
	return a && b && a[0] && !strcmp(a, b);
}

/*
 * @path made absolute and without trailing slashes, by its text alone: resolving it would
 * ask the FUSE mount it may name, and a daemon that does not answer would hang us.
 */
static void abs_path(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	size_t n;
	int r = -1;

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		r = snprintf(buf, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	if (r < 0 || (size_t)r >= len)
		snprintf(buf, len, "%s", path); /* too long to be one of ours anyway */
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
}

/* Whether @doc serves @what: a device's BDF, serial, file name or path, or its mountpoint. */
static bool matches(const struct jnode *doc, const char *what)
{
	char bdf[32], abs[PATH_MAX];
	const struct jnode *devs = jnode_get(doc, "devices");

	full_bdf(what, bdf, sizeof(bdf));
	abs_path(what, abs, sizeof(abs));
	if (str_is(jnode_get_str(doc, "mountpoint", NULL), abs))
		return true;
	for (const struct jnode *d = devs ? devs->child : NULL; d; d = d->next) {
		const char *b = jnode_get_str(d, "bdf", NULL);

		if (str_is(b, bdf) || str_is(jnode_get_str(d, "serial", NULL), what) ||
		    str_is(jnode_get_str(d, "name", NULL), what) ||
		    str_is(jnode_get_str(d, "path", NULL), abs))
			return true;
	}
	return false;
}

static void human_bytes(int64_t v, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRId64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

static void human_time(int64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
}

/* One line per device: IN/OUT are bytes read/written (blk), received/sent (net). */
static void print_table(const struct proc *procs, unsigned n)
{
	printf("%-7s %-9s %-12s %-28s %2s %-9s %7s %10s %10s %10s %6s %5s %s\n", "PID", "COMMAND",
	       "DEVICE", "WHERE", "Q", "MODE", "UPTIME", "REQUESTS", "IN", "OUT", "ERRORS", "INFL",
	       "STATE");
	for (unsigned i = 0; i < n; i++) {
		const struct jnode *doc = procs[i].doc, *devs = jnode_get(doc, "devices");
		const char *cmd = jnode_get_str(doc, "command", "?");
		bool net = !strcmp(cmd, "net serve");
		char up[32];

		human_time(jnode_get_int(doc, "uptime_s", 0), up, sizeof(up));
		for (const struct jnode *d = devs ? devs->child : NULL; d; d = d->next) {
			char in[32], out[32];
			const char *where =
				net ? jnode_get_str(d, "ip", "-") : jnode_get_str(d, "path", "-");
			const char *state = jnode_get_str(d, "state", "?");

			if (!strcmp(jnode_get_str(doc, "state", ""), "stopping"))
				state = "stopping";
			human_bytes(jnode_get_int(d, net ? "rx_bytes" : "bytes_read", 0), in,
				    sizeof(in));
			human_bytes(jnode_get_int(d, net ? "tx_bytes" : "bytes_written", 0), out,
				    sizeof(out));
			printf("%-7d %-9s %-12s %-28s %2" PRId64 " %-9s %7s %10" PRId64
			       " %10s %10s %6" PRId64 " %5" PRId64 " %s\n",
			       procs[i].pid, cmd, jnode_get_str(d, "bdf", "?"), where,
			       jnode_get_int(d, "queues", 0), jnode_get_str(d, "mode", "?"), up,
			       jnode_get_int(d, "requests", 0), in, out,
			       jnode_get_int(d, "errors", 0), jnode_get_int(d, "in_flight", 0),
			       state);
		}
	}
}

static void print_json(const struct proc *procs, unsigned n)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_int(&j, "version", STATUS_SCHEMA);
	json_key(&j, "processes");
	json_arr_begin(&j);
	for (unsigned i = 0; i < n; i++)
		jnode_write(&j, procs[i].doc);
	json_arr_end(&j);
	json_obj_end(&j);
}

int cmd_status(int argc, char **argv)
{
	static struct proc procs[MAX_PROCS];
	char dirs[2][PATH_MAX];
	const char *filter;
	unsigned n = 0, kept = 0;
	bool json;
	int ret;

	ret = cli_parse_json_help(argc, argv, usage, &json);
	if (ret >= 0)
		return ret;
	if (argc - optind > 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	filter = optind < argc ? argv[optind] : NULL;
	/* Root's processes, and this user's (a non-root `blk mount`), once each. */
	if (!status_dir(true, dirs[0], sizeof(dirs[0])))
		scan_dir(dirs[0], procs, &n);
	if (!status_dir(false, dirs[1], sizeof(dirs[1])) && strcmp(dirs[0], dirs[1]))
		scan_dir(dirs[1], procs, &n);
	else
		dirs[1][0] = 0;
	if (geteuid() == 0 && !getenv("VV_STATUS_DIR"))
		scan_users(dirs[1], procs, &n);
	qsort(procs, n, sizeof(*procs), by_pid);
	for (unsigned i = 0; i < n; i++) {
		if (filter && !matches(procs[i].doc, filter)) {
			jnode_free(procs[i].doc);
			continue;
		}
		procs[kept++] = procs[i];
	}
	if (json)
		print_json(procs, kept);
	else if (kept)
		print_table(procs, kept);
	else if (!filter)
		printf("nothing is served (no 'blk mount' or 'net serve' runs)\n");
	for (unsigned i = 0; i < kept; i++)
		jnode_free(procs[i].doc);
	if (denied)
		fprintf(stderr,
			"%s: %u serving process%s of other users not shown: their sockets are "
			"theirs (run as root to see all)\n",
			prog, denied, denied == 1 ? "" : "es");
	if (filter && !kept) {
		cli_err("status: nothing serves %s", filter);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
