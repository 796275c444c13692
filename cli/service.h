/* SPDX-License-Identifier: MIT */
/* service.h - what a service manager wants from a daemon: readiness, a pidfile, log levels. */
#ifndef VV_CLI_SERVICE_H
#define VV_CLI_SERVICE_H

#include <stdbool.h>
#include <sys/types.h>

/* getopt value of --pidfile, a long option only (no short letter can collide with it). */
#define OPT_PIDFILE 0x150

/*
 * Sends @state ("READY=1", "STOPPING=1", "MAINPID=123", newline-separated) to the socket named
 * by $NOTIFY_SOCKET, systemd's sd_notify(3) protocol: one datagram on an AF_UNIX socket, a
 * path or an abstract name ('@'). Without $NOTIFY_SOCKET it does nothing and returns 0.
 * Returns 1 when sent, 0 when nobody listens, or -errno.
 */
int svc_notify(const char *state);

/* Like svc_notify(), with "MAINPID=@pid" in front: the process systemd must watch. */
int svc_notify_pid(const char *state, pid_t pid);

/*
 * Writes our pid to @path, atomically (a temporary file renamed over it): a reader never
 * sees a half-written number. Returns 0 or -errno.
 */
int svc_pidfile_write(const char *path);

/* Removes @path if it still holds our pid (NULL: nothing). */
void svc_pidfile_remove(const char *path);

/*
 * Whether our stderr is the journal's stream ($JOURNAL_STREAM names its device and inode):
 * then each line may start with "<N>", its syslog priority, which journald honours.
 */
bool svc_stderr_is_journal(void);

#endif /* VV_CLI_SERVICE_H */
