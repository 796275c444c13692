// SPDX-License-Identifier: MIT
/* daemon.c - going to the background with a readiness handshake (blk mount, blk export). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/wait.h>

#include "cli.h"
#include "daemon.h"
#include "logfwd.h"
#include "service.h"

#define MSG_MAX 64

int daemon_start(size_t len, void (*on_ready)(void *ctx, const void *msg, pid_t child), void *ctx,
		 int *ret_fd)
{
	char msg[MSG_MAX];
	int p[2];
	pid_t pid;

	if (len > sizeof(msg))
		return -EINVAL;
	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], msg, len) == (ssize_t)len) {
			if (on_ready)
				on_ready(ctx, msg, pid);
			exit(EXIT_OK);
		}
		waitpid(pid, NULL, 0);
		exit(EXIT_FAIL);
	}
	close(p[0]);
	setsid();
	*ret_fd = p[1];
	return 0;
}

void daemon_ready(int *fd, const void *msg, size_t len)
{
	if (*fd < 0) {
		svc_notify("READY=1");
		return;
	}
	svc_notify_pid("READY=1", getpid());
	if (write(*fd, msg, len) != (ssize_t)len)
		(void)0; /* the parent is gone: it exits 1 and says nothing we could add */
	close(*fd);
	*fd = -1;
	logfwd_start("virtio-vfio");
}
