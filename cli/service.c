// SPDX-License-Identifier: MIT
/*
 * service.c - what a service manager wants from a daemon: systemd's readiness protocol
 * (sd_notify(3), spoken here directly: one datagram, so no libsystemd is needed), a pidfile,
 * and whether stderr is the journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "service.h"
#include "util/file.h"

int svc_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len, slen;
	ssize_t n;
	int fd, ret;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	/* A path, or an abstract name spelt with a leading '@'; nothing else is ours to use. */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	slen = strlen(state);
	n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	ret = n < 0 ? -errno : (size_t)n == slen ? 1 : -EIO;
	close(fd);
	return ret;
}

int svc_notify_pid(const char *state, pid_t pid)
{
	char buf[256];

	if ((size_t)snprintf(buf, sizeof(buf), "MAINPID=%ld\n%s", (long)pid, state) >= sizeof(buf))
		return -EINVAL;
	return svc_notify(buf);
}

int svc_pidfile_write(const char *path)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return file_replace(path, buf, (size_t)len, false);
}

void svc_pidfile_remove(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* A pidfile some later instance wrote over ours is not ours to remove. */
	if (n > 0) {
		buf[n] = '\0';
		if (strtol(buf, NULL, 10) == (long)getpid())
			unlink(path);
	}
}

bool svc_stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (!s || sscanf(s, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return false;
	return !fstat(STDERR_FILENO, &st) && (uintmax_t)st.st_dev == dev &&
	       (uintmax_t)st.st_ino == ino;
}
