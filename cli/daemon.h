/* SPDX-License-Identifier: MIT */
/* daemon.h - going to the background with a readiness handshake (blk mount, blk export). */
#ifndef VV_CLI_DAEMON_H
#define VV_CLI_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Forks before any device is opened: DMA memory is pinned and not inherited across fork
 * (MADV_DONTFORK), so the process that serves must be the one that mapped it. The parent waits
 * for the child's ready message of @len bytes (daemon_ready()); it then calls @on_ready, when
 * given, with the message and the child's pid, and exits 0. If the child exits first (it said
 * why), the parent exits 1. The child returns 0 with the pipe's end in *@ret_fd; -errno if
 * no child could be made.
 */
int daemon_start(size_t len, void (*on_ready)(void *ctx, const void *msg, pid_t child), void *ctx,
		 int *ret_fd);

/*
 * The service is up. Tells the service manager (a daemonized child names itself as the main
 * process: systemd knows only the parent, which exits) and, when *@fd is a daemon_start()
 * pipe, the waiting parent with @msg; then our stderr goes to syslog, since nobody reads our
 * terminal any more. *@fd is -1 afterwards.
 */
void daemon_ready(int *fd, const void *msg, size_t len);

#endif /* VV_CLI_DAEMON_H */
