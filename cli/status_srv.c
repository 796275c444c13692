// SPDX-License-Identifier: MIT
/*
 * status_srv.c - a serving process's status socket: a thread of its own accepts, renders one
 * JSON document (the render callback reads counters with relaxed loads: no lock of the I/O
 * path) and writes it with a deadline, then closes. It reads nothing from the peer, so no
 * client can make it hold anything, and it answers only root and its own user.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "status.h"

struct status_srv {
	const char *command;
	status_render_fn render;
	void *ctx;
	int lfd, stop_fd;
	pthread_t thread;
	time_t started;
	struct timespec mono;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int status_dir(bool root, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *dir = getenv("VV_STATUS_DIR");
	int n;

	if (dir && dir[0] == '/') /* tests: one directory for everyone */
		n = snprintf(buf, len, "%s", dir);
	else if (root)
		n = snprintf(buf, len, "%s", STATUS_DIR_ROOT);
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/%s", xdg, STATUS_DIR_USER);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* All of @buf, or nothing more once STATUS_IO_MS have passed: a peer that does not read. */
static void send_all(int fd, const char *buf, size_t len)
{
	struct timespec t0;
	size_t off = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (off < len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		long left;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		left = STATUS_IO_MS - ms_since(&t0);
		if (n == 0 || errno != EAGAIN || left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
	}
}

static void answer(struct status_srv *s, int fd)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	char *buf = NULL;
	size_t len = 0;
	struct json j;
	FILE *f;

	/* The socket's mode says the same; this holds even if someone loosens it. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) ||
	    (cr.uid != 0 && cr.uid != geteuid()))
		return;
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_int(&j, "version", STATUS_SCHEMA);
	json_kv_int(&j, "pid", getpid());
	json_kv_int(&j, "uid", geteuid());
	json_kv_str(&j, "command", s->command);
	json_kv_int(&j, "started", s->started);
	json_kv_int(&j, "uptime_s", ms_since(&s->mono) / 1000);
	s->render(&j, s->ctx);
	json_obj_end(&j);
	if (fclose(f) == 0)
		send_all(fd, buf, len);
	free(buf);
}

static void *srv_main(void *arg)
{
	struct status_srv *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
				      {.fd = s->stop_fd, .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue; /* gone already, or out of fds for now: the next one may do */
		answer(s, fd);
		close(fd);
	}
	return NULL;
}

/* DIR, made if missing: ours, a directory (not a link), nobody else's to write in. */
static int own_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

static int listen_on(struct status_srv *s)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char dir[sizeof(a.sun_path)];
	int ret, n;

	ret = status_dir(geteuid() == 0, dir, sizeof(dir));
	if (ret)
		return ret;
	ret = own_dir(dir);
	if (ret)
		return ret;
	n = snprintf(s->path, sizeof(s->path), "%s/%d.sock", dir, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(s->path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, s->path, sizeof(s->path));
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -errno;
	/* A socket of a process that had our pid before and died without cleaning up. */
	unlink(s->path);
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) || chmod(s->path, 0600) ||
	    listen(s->lfd, 8)) {
		ret = -errno;
		unlink(s->path);
		return ret;
	}
	return 0;
}

int status_srv_open(const char *command, status_render_fn render, void *ctx,
		    struct status_srv **ret_srv)
{
	struct status_srv *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int ret;

	if (!s)
		return -ENOMEM;
	*s = (struct status_srv){
		.command = command, .render = render, .ctx = ctx, .lfd = -1, .stop_fd = -1};
	s->started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	ret = listen_on(s);
	if (ret)
		goto fail;
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0) {
		ret = -errno;
		goto fail_unlink;
	}
	/* Signals are the serving loop's business, never this thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&s->thread, NULL, srv_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto fail_unlink;
	*ret_srv = s;
	return 0;

fail_unlink:
	unlink(s->path);
fail:
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->lfd >= 0)
		close(s->lfd);
	free(s);
	return ret;
}

void status_srv_close(struct status_srv *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	/* Gone from the directory first: a `status` from now on does not find us. */
	unlink(s->path);
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		(void)0; /* an eventfd write of 1 fails only on overflow: it is readable anyway */
	pthread_join(s->thread, NULL);
	close(s->stop_fd);
	close(s->lfd);
	free(s);
}
